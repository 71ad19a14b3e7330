/*
 * test_lookup_cli.c — the store's readers, end to end on the bundled
 * fixture: `unify lookup` by every selector (e-mail case and gmail variants,
 * phones typed any way, namespaced ids, source records, golden ids),
 * ambiguity, not-found, junk and usage errors with their exit codes;
 * `unify export` (members CSV, profiles JSONL); `unify check` (report,
 * rejects, missing file); and the same lookups through the C API.
 *
 * Values are taken from the fixture's own exports (crm.csv, store_loyalty.csv)
 * and confirmed in-process before the CLI is asked, so the test does not
 * depend on which rows the generator happened to write.
 */
#define T_PREPARED_FIXTURE /* t_prepared_copy: one run of the fixture per program */
#include "test_support.h"

static char *dir, *yaml, *store;
static char *report; /* the run's --report JSON */

/* Every test: a fresh copy of the fixture, run once. */
static void setup(void)
{
    dir = t_mkdtemp("lookup");
    t_prepared_copy(dir, t_prepare_small_run);
    yaml = t_fmt("%s/unify.yaml", dir);
    store = t_fmt("%s/store", dir);
    char *report_path = t_fmt("%s/report.json", dir);
    report = t_read_file(report_path, NULL);
    free(report_path);
}

static void teardown(void)
{
    t_rmtree(dir);
    free(dir);
    free(yaml);
    free(store);
    free(report);
}

TestSuite(lookup, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------------ */
/* Picking real values from the fixture                                */
/* ------------------------------------------------------------------ */

typedef struct reader {
    uf_config *config;
    uf_store *store;
} reader;

static reader reader_open(void)
{
    reader r = {0};
    uf_error err = {0};
    cr_assert_eq(uf_config_load(yaml, &r.config, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_open(store, &r.store, &err), UF_OK, "%s", err.message);
    return r;
}

static void reader_close(reader *r)
{
    uf_store_close(r->store);
    uf_config_free(r->config);
}

/* Golden ids holding (kind, value) in-process; 0 ids when not found or not linkable. */
static size_t ids_of(reader *r, const char *kind, const char *value, uint64_t *ids, size_t cap)
{
    size_t count = 0;
    uf_error err = {0};
    int rc = uf_lookup_identifier(r->store, r->config, kind, value, ids, cap, &count, &err);
    return rc == UF_OK ? count : 0;
}

static uint64_t record_golden(reader *r, const char *source, const char *key)
{
    uint64_t id = 0;
    uf_error err = {0};
    cr_assert_eq(uf_store_find_record(r->store, source, key, &id, &err), UF_OK, "%s:%s: %s", source, key,
                 err.message);
    return id;
}

/* A picked CRM row: its key and raw e-mail and phone. */
typedef struct crm_row {
    char key[64], email[256], phone[64];
    uint64_t golden;
} crm_row;

typedef bool (*row_filter)(reader *r, crm_row *row, void *ctx);

/* The first CRM row (in file order) the filter accepts. */
static bool find_crm_row(row_filter filter, void *ctx, crm_row *out)
{
    char *path = t_fmt("%s/crm.csv", dir);
    size_t len;
    char *data = t_read_file(path, &len);
    t_row *rows;
    size_t n = t_split_rows(data, len, true, &rows);
    char *header[32];
    size_t hn = t_csv_fields(rows[0], ',', header, 32);
    int ck = t_column(header, hn, "customer_no"), ce = t_column(header, hn, "email"), cp = t_column(header, hn, "phone");
    cr_assert(ck >= 0 && ce >= 0 && cp >= 0, "crm.csv header lacks customer_no/email/phone");
    reader r = reader_open();
    bool found = false;
    for (size_t i = 1; i < n && !found; i++) {
        char *f[32];
        size_t fn = t_csv_fields(rows[i], ',', f, 32);
        if (fn == hn && strlen(f[ck]) < sizeof out->key && strlen(f[ce]) < sizeof out->email &&
            strlen(f[cp]) < sizeof out->phone) {
            crm_row row;
            strcpy(row.key, f[ck]);
            strcpy(row.email, f[ce]);
            strcpy(row.phone, f[cp]);
            row.golden = record_golden(&r, "crm", row.key);
            if (filter(&r, &row, ctx)) {
                *out = row;
                found = true;
            }
        }
        t_free_fields(f, fn);
    }
    reader_close(&r);
    t_free_fields(header, hn);
    free(rows);
    free(data);
    free(path);
    return found;
}

/* `unify lookup` must print exactly the profile `golden` (exit 0, valid JSON). */
static void expect_lookup_finds(const char *option, const char *value, uint64_t golden)
{
    char want[24], got[24];
    uf_golden_id_format(golden, want);
    t_proc p = t_unify("lookup", "-c", yaml, (char *)option, (char *)value);
    cr_expect_eq(p.exit_code, 0, "lookup %s '%s': exit %d, stderr %s", option, value, p.exit_code, p.err);
    if (p.exit_code == 0) {
        cr_expect(t_json_valid(p.out, p.out_len), "lookup %s '%s' printed invalid JSON: %.2000s", option, value, p.out);
        cr_expect(strstr(p.out, "\"records\":["), "no records in %.500s", p.out);
        cr_expect_null(strstr(p.out, "\"ambiguous\""), "lookup %s '%s' is ambiguous: %.500s", option, value, p.out);
        t_profile_golden(p.out, got);
        cr_expect_str_eq(got, want, "lookup %s '%s' found %s, expected %s", option, value, got, want);
    }
    t_proc_free(&p);
}

/* ------------------------------------------------------------------ */
/* By e-mail                                                           */
/* ------------------------------------------------------------------ */

static bool linkable_gmail(reader *r, crm_row *row, void *ctx)
{
    (void)ctx;
    const char *at = strchr(row->email, '@');
    if (!at || strcmp(at, "@gmail.com") != 0 || strchr(row->email, '+') || strchr(row->email, ' ') ||
        at - row->email < 4)
        return false;
    uint64_t ids[4];
    return ids_of(r, "email", row->email, ids, 4) == 1 && ids[0] == row->golden;
}

Test(lookup, email_any_case_and_gmail_variants)
{
    crm_row row;
    cr_assert(find_crm_row(linkable_gmail, NULL, &row), "no CRM row with a linkable gmail address");
    cr_log_info("e-mail: %s (crm:%s)", row.email, row.key);
    expect_lookup_finds("--email", row.email, row.golden);

    /* Mixed case: every other letter upper-cased, domain too. */
    char mixed[256];
    strcpy(mixed, row.email);
    for (size_t i = 0; mixed[i]; i++) /* not i += 2: that steps over the NUL of an odd-length address */
        if (i % 2 == 0)
            mixed[i] = (char)toupper((unsigned char)mixed[i]);
    expect_lookup_finds("--email", mixed, row.golden);

    /* Gmail ignores dots and +tags in the local part. */
    const char *at = strchr(row.email, '@');
    char plain[256] = "", dotted[600] = "";
    size_t n = 0;
    for (const char *p = row.email; p < at; p++)
        if (*p != '.')
            plain[n++] = *p;
    plain[n] = '\0';
    snprintf(dotted, sizeof dotted, "%c.%s+newsletter%s", plain[0], plain + 1, at);
    strcat(plain, at);
    expect_lookup_finds("--email", plain, row.golden);
    expect_lookup_finds("--email", dotted, row.golden);
    char spaced[300];
    snprintf(spaced, sizeof spaced, "  %s  ", row.email);
    expect_lookup_finds("--email", spaced, row.golden);

    /* A different gmail local part is someone else (or no one). */
    char other[300];
    snprintf(other, sizeof other, "zz%s", row.email);
    t_proc p = t_unify("lookup", "-c", yaml, "--email", other);
    cr_expect_eq(p.exit_code, 3, "lookup of %s: exit %d, %s", other, p.exit_code, p.out);
    t_proc_free(&p);
}

/* ------------------------------------------------------------------ */
/* By phone                                                            */
/* ------------------------------------------------------------------ */

/* The 10 national digits of a US number written any way, or false. */
static bool us_digits(const char *raw, char out[11])
{
    char d[32];
    size_t n = 0;
    for (const char *p = raw; *p; p++)
        if (isdigit((unsigned char)*p)) {
            if (n + 1 >= sizeof d)
                return false;
            d[n++] = *p;
        }
    d[n] = '\0';
    const char *s = d;
    if (n == 11 && d[0] == '1')
        s++, n--;
    if (n != 10)
        return false;
    memcpy(out, s, 11);
    return true;
}

static bool unique_phone(reader *r, crm_row *row, void *ctx)
{
    (void)ctx;
    char d[11];
    uint64_t ids[4];
    return us_digits(row->phone, d) && ids_of(r, "phone", row->phone, ids, 4) == 1 && ids[0] == row->golden;
}

Test(lookup, phone_typed_any_way_finds_e164)
{
    crm_row row;
    cr_assert(find_crm_row(unique_phone, NULL, &row), "no CRM row with a phone held by one profile");
    char d[11];
    cr_assert(us_digits(row.phone, d));
    cr_log_info("phone: '%s' (crm:%s)", row.phone, row.key);
    char formatted[64], dotted[64], intl[64], e164[64];
    snprintf(formatted, sizeof formatted, "(%.3s) %.3s-%.4s", d, d + 3, d + 6);
    snprintf(dotted, sizeof dotted, "%.3s.%.3s.%.4s", d, d + 3, d + 6);
    snprintf(intl, sizeof intl, "+1 %.3s %.3s %.4s", d, d + 3, d + 6);
    snprintf(e164, sizeof e164, "+1%s", d);
    expect_lookup_finds("--phone", formatted, row.golden);
    expect_lookup_finds("--phone", dotted, row.golden);
    expect_lookup_finds("--phone", intl, row.golden);
    expect_lookup_finds("--phone", e164, row.golden);

    /* The profile shows the number in E.164. */
    t_proc p = t_unify("lookup", "-c", yaml, "--phone", formatted);
    t_assert_ok(p, "lookup --phone");
    char *quoted = t_fmt("\"%s\"", e164);
    cr_expect(strstr(p.out, quoted), "profile lacks %s: %.1500s", quoted, p.out);
    free(quoted);
    t_proc_free(&p);
}

/* A landline shared by a household: several profiles hold it. */
static bool shared_phone(reader *r, crm_row *row, void *ctx)
{
    uint64_t *ids = ctx;
    size_t count = ids_of(r, "phone", row->phone, ids + 1, 15);
    if (count < 2 || count > 15)
        return false;
    ids[0] = count;
    return true;
}

Test(lookup, shared_landline_is_ambiguous)
{
    crm_row row;
    uint64_t ids[16];
    cr_assert(find_crm_row(shared_phone, ids, &row), "the fixture has no phone shared by two profiles");
    size_t count = (size_t)ids[0];
    cr_log_info("landline '%s' is held by %zu profiles", row.phone, count);
    t_proc p = t_unify("lookup", "-c", yaml, "--phone", row.phone);
    t_assert_ok(p, "ambiguous lookup");
    cr_expect(t_json_valid(p.out, p.out_len), "invalid JSON: %.2000s", p.out);
    cr_expect_eq(strncmp(p.out, "{\"ambiguous\":true", 17), 0, "%.300s", p.out);
    cr_expect_eq(t_json_u64_at(p.out, NULL, "count"), count, "%.300s", p.out);
    cr_expect_eq(t_count(p.out, "\"golden_id\":"), count, "every holder's profile is printed: %.300s", p.out);
    for (size_t i = 1; i <= count; i++) {
        char g[24];
        uf_golden_id_format(ids[i], g);
        char *q = t_fmt("\"golden_id\":\"%s\"", g);
        cr_expect(strstr(p.out, q), "ambiguous answer lacks %s", g);
        free(q);
    }
    t_proc_free(&p);
}

/* ------------------------------------------------------------------ */
/* By namespaced id, source record, golden id                          */
/* ------------------------------------------------------------------ */

static bool any_row(reader *r, crm_row *row, void *ctx)
{
    (void)r;
    (void)ctx;
    return row->key[0] != '\0';
}

Test(lookup, by_id_record_and_golden)
{
    crm_row row;
    cr_assert(find_crm_row(any_row, NULL, &row));
    char g[24];
    uf_golden_id_format(row.golden, g);

    /* crm_id is upper-cased (case: upper): a lower-case query finds it. */
    char lower[80], id_arg[100];
    for (size_t i = 0; i <= strlen(row.key); i++)
        lower[i] = (char)tolower((unsigned char)row.key[i]);
    snprintf(id_arg, sizeof id_arg, "crm_id=%s", lower);
    expect_lookup_finds("--id", id_arg, row.golden);

    char rec[100];
    snprintf(rec, sizeof rec, "crm:%s", row.key);
    expect_lookup_finds("--record", rec, row.golden);
    t_proc p = t_unify("lookup", "-c", yaml, "--record", rec);
    char *member = t_fmt("{\"source\":\"crm\",\"key\":\"%s\"", row.key);
    cr_expect(strstr(p.out, member), "the profile lists its member %s: %.1500s", member, p.out);
    free(member);
    t_proc_free(&p);

    expect_lookup_finds("--golden", g, row.golden);
    char short_id[32];
    snprintf(short_id, sizeof short_id, "%" PRIu64, row.golden);
    expect_lookup_finds("--golden", short_id, row.golden);

    /* A loyalty card (strip_separators) typed with dashes. */
    char *pos = t_fmt("%s/store_loyalty.csv", dir);
    size_t len;
    char *data = t_read_file(pos, &len);
    t_row *rows;
    size_t n = t_split_rows(data, len, true, &rows);
    cr_assert_gt(n, 1);
    char *f[16];
    size_t fn = t_csv_fields(rows[1], ';', f, 16);
    char card[64];
    snprintf(card, sizeof card, "%s", f[0]);
    t_free_fields(f, fn);
    reader r = reader_open();
    uint64_t card_golden = record_golden(&r, "pos", card);
    reader_close(&r);
    char dashed[100] = "loyalty_card=";
    size_t k = strlen(dashed);
    for (size_t i = 0; card[i] && k + 2 < sizeof dashed; i++) {
        if (i && i % 4 == 0)
            dashed[k++] = '-';
        dashed[k++] = card[i];
    }
    dashed[k] = '\0';
    expect_lookup_finds("--id", dashed, card_golden);
    free(rows);
    free(data);
    free(pos);
}

/* ------------------------------------------------------------------ */
/* Not found, junk, usage                                              */
/* ------------------------------------------------------------------ */

static void expect_exit(int code, const char *needle, char *const args[])
{
    char *argv[16] = {(char *)T_UNIFY};
    size_t n = 1;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    t_proc p = t_run_argv(argv);
    char cmd[512] = "";
    for (size_t i = 1; i < n; i++) {
        strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
        strncat(cmd, argv[i], sizeof cmd - strlen(cmd) - 1);
    }
    cr_expect_eq(p.exit_code, code, "unify%s: exit %d, expected %d; stderr: %s", cmd, p.exit_code, code, p.err);
    if (needle)
        cr_expect(strstr(p.err, needle), "unify%s: stderr should say '%s': %s", cmd, needle, p.err);
    if (code != 0)
        cr_expect_eq(p.out_len, 0, "unify%s printed to stdout on failure: %s", cmd, p.out);
    cr_expect(code == 0 || p.err_len > 0, "unify%s failed silently", cmd);
    t_proc_free(&p);
}

#define EXPECT_EXIT(code, needle, ...) expect_exit((code), (needle), (char *const[]){__VA_ARGS__, NULL})

Test(lookup, not_found_junk_and_usage_errors)
{
    /* Not found: exit 3, clear message. */
    EXPECT_EXIT(3, "not found", "lookup", "-c", yaml, "--email", "nobody.anywhere.4711@mailhost.net");
    EXPECT_EXIT(3, "not found", "lookup", "-c", yaml, "--phone", "(646) 831-2975");
    EXPECT_EXIT(3, "not found", "lookup", "-c", yaml, "--id", "crm_id=CU00000000");
    EXPECT_EXIT(3, "not found", "lookup", "-c", yaml, "--record", "crm:NO-SUCH-KEY");
    EXPECT_EXIT(3, "not found", "lookup", "-c", yaml, "--record", "nosuchsource:1");
    EXPECT_EXIT(3, "not found", "lookup", "-c", yaml, "--golden", "G999999999");

    /* Junk and invalid values: exit 1 with the reason. */
    EXPECT_EXIT(1, "junk", "lookup", "-c", yaml, "--email", "test@test.com");
    EXPECT_EXIT(1, "junk", "lookup", "-c", yaml, "--phone", "555-555-5555");
    EXPECT_EXIT(1, "not valid", "lookup", "-c", yaml, "--email", "not-an-email");
    EXPECT_EXIT(1, "not valid", "lookup", "-c", yaml, "--phone", "12");
    EXPECT_EXIT(1, "empty", "lookup", "-c", yaml, "--email", "   ");
    EXPECT_EXIT(1, "not an identifier kind", "lookup", "-c", yaml, "--id", "shoe_size=42");
    EXPECT_EXIT(1, "not an identifier kind", "lookup", "-c", yaml, "--id", "first_name=Anna");
    EXPECT_EXIT(1, "not a golden id", "lookup", "-c", yaml, "--golden", "G12x");
    EXPECT_EXIT(1, "SOURCE:KEY", "lookup", "-c", yaml, "--record", "no-colon");

    /* Bad usage: exit 2. */
    EXPECT_EXIT(2, NULL, "lookup", "-c", yaml);
    EXPECT_EXIT(2, NULL, "lookup", "-c", yaml, "--email", "a@b.org", "--phone", "2125550123");
    EXPECT_EXIT(2, NULL, "lookup", "-c", yaml, "--shoe", "42");
    EXPECT_EXIT(2, NULL, "lookup", "-c", yaml, "--email");
    EXPECT_EXIT(2, NULL, "lookup", "-c", yaml, "--id", "no-equals-sign");
    EXPECT_EXIT(2, "-c", "lookup", "--email", "a@b.org");
    EXPECT_EXIT(2, NULL, "lookup", "-c");
    EXPECT_EXIT(2, NULL, "frobnicate", "-c", yaml);
    EXPECT_EXIT(2, NULL, "export", "-c", yaml);
    EXPECT_EXIT(2, NULL, "eval", "-c", yaml);

    /* A configuration whose store was never written: a clear error, not a crash. */
    char *other = t_fmt("%s/other.yaml", dir);
    t_copy_file(yaml, other);
    char *nowhere = t_fmt("%s/never-written", dir);
    t_config_set_paths(other, nowhere, "rejects2.txt");
    EXPECT_EXIT(1, "no store here", "lookup", "-c", other, "--email", "a@b.org");
    EXPECT_EXIT(1, "no store here", "export", "-c", other, "--members", "-");
    cr_expect_not(t_exists(nowhere), "a reader must not create the store");
    free(other);
    free(nowhere);
}

/* ------------------------------------------------------------------ */
/* Export                                                              */
/* ------------------------------------------------------------------ */

Test(lookup, export_members_and_profiles)
{
    uint64_t records = t_json_u64_at(report, "\"clusters\":", "records");
    uint64_t profiles = t_json_u64_at(report, "\"clusters\":", "profiles");
    cr_assert_gt(records, 1000);

    size_t len;
    char *members = t_export_members(yaml, &len);
    const char header[] = "source,record_key,golden_id\n";
    cr_assert_eq(strncmp(members, header, strlen(header)), 0, "header: %.80s", members);
    cr_expect_eq(t_count_lines(members, len), records + 1, "one row per record");
    /* Every row: source,key,Gnnnnnnnnn. */
    size_t rows = 0;
    for (const char *l = members + strlen(header); *l; rows++) {
        const char *nl = strchr(l, '\n');
        cr_assert_not_null(nl);
        const char *c1 = memchr(l, ',', (size_t)(nl - l));
        const char *c2 = c1 ? memchr(c1 + 1, ',', (size_t)(nl - c1 - 1)) : NULL;
        cr_assert(c1 && c2 && c1 > l && c2 > c1 + 1, "bad member row: %.*s", (int)(nl - l), l);
        char g[32];
        snprintf(g, sizeof g, "%.*s", (int)(nl - c2 - 1), c2 + 1);
        uint64_t id;
        cr_assert_eq(uf_golden_id_parse(g, &id), UF_OK, "bad golden id in %.*s", (int)(nl - l), l);
        cr_assert_eq(strlen(g), 10, "golden ids print as G + 9 digits: %s", g);
        l = nl + 1;
    }
    cr_expect_eq(rows, records);

    /* The same to a file. */
    char *file = t_fmt("%s/members.csv", dir);
    t_proc p = t_unify("export", "-c", yaml, "--members", file);
    t_assert_ok(p, "export --members FILE");
    t_proc_free(&p);
    char *from_file = t_read_file(file, NULL);
    cr_expect_str_eq(from_file, members);
    free(from_file);
    free(file);

    p = t_unify("export", "-c", yaml, "--profiles", "-");
    t_assert_ok(p, "export --profiles");
    cr_expect_eq(t_count_lines(p.out, p.out_len), profiles, "one line per profile");
    size_t member_refs = 0, lines = 0;
    char last[24] = "";
    for (char *l = p.out; *l; lines++) {
        char *nl = strchr(l, '\n');
        cr_assert_not_null(nl);
        cr_assert(t_json_valid(l, (size_t)(nl - l)), "profile line %zu is not JSON: %.300s", lines + 1, l);
        *nl = '\0';
        char g[24];
        t_profile_golden(l, g);
        cr_expect_gt(strcmp(g, last), 0, "profiles in ascending golden id order: %s after %s", g, last);
        strcpy(last, g);
        member_refs += t_count(l, "{\"source\":\"");
        /* Each profile's id is the id its members carry in the members export. */
        char *needle = t_fmt(",%s\n", g);
        cr_expect(strstr(members, needle), "profile %s has no member rows", g);
        free(needle);
        l = nl + 1;
    }
    cr_expect_eq(member_refs, records, "the profiles list every record once");
    t_proc_free(&p);
    free(members);
}

/* ------------------------------------------------------------------ */
/* Check                                                               */
/* ------------------------------------------------------------------ */

Test(lookup, check_reports_every_source)
{
    t_proc p = t_unify("check", "-c", yaml);
    t_assert_ok(p, "unify check");
    const char *sources[] = {"crm", "web", "pos", "tickets", "app"};
    for (size_t i = 0; i < 5; i++) {
        char *head = t_fmt("source %s (", sources[i]);
        const char *at = strstr(p.out, head);
        cr_expect_not_null(at, "check does not report %s:\n%s", sources[i], p.out);
        if (at) {
            const char *next = strstr(at + 1, "\nsource ");
            const char *rows = strstr(at, "rows read: "), *ids = strstr(at, "identifiers: "),
                       *samples = strstr(at, "samples:");
            cr_expect(rows && (!next || rows < next), "%s: no rows read", sources[i]);
            cr_expect(ids && (!next || ids < next), "%s: no identifiers by kind", sources[i]);
            cr_expect(samples && (!next || samples < next), "%s: no samples", sources[i]);
        }
        free(head);
    }
    cr_expect_eq(t_count(p.out, "rows read: "), 5, "%s", p.out);
    t_proc_free(&p);
}

Test(lookup, check_counts_rejected_rows_and_lists_them)
{
    char *pos = t_fmt("%s/store_loyalty.csv", dir);
    size_t len;
    char *data = t_read_file(pos, &len);
    size_t lines = t_count_lines(data, len);
    t_buf out = {0};
    t_buf_add(&out, data, len);
    if (len && data[len - 1] != '\n')
        t_buf_add(&out, "\n", 1);
    t_buf_add(&out, "601299999999;Only;Three\n", strlen("601299999999;Only;Three\n"));
    t_write_file(pos, out.data, out.len);
    free(out.data);
    free(data);
    char *store_path = t_fmt("%s/store", dir);
    t_rmtree(store_path); /* check must not create it */

    t_proc p = t_unify("check", "-c", yaml);
    t_assert_ok(p, "check with a bad row");
    const char *at = strstr(p.out, "source pos (");
    cr_assert_not_null(at, "%s", p.out);
    cr_expect(strstr(at, "rejected: 1 (column_count 1)"), "pos must report one column_count reject:\n%s", p.out);
    t_proc_free(&p);
    char *rejects_path = t_fmt("%s/rejects.txt", dir);
    char *rejects = t_read_file_opt(rejects_path, NULL);
    free(rejects_path);
    cr_assert_not_null(rejects, "check wrote no rejects file");
    char *want = t_fmt("store_loyalty.csv:%zu: column_count\n", lines + 1);
    cr_expect(strstr(rejects, want), "rejects file lacks '%s': %s", want, rejects);
    cr_expect_not(t_exists(store_path), "check must not write the store");
    free(want);
    free(rejects);
    free(store_path);
    free(pos);
}

Test(lookup, check_names_a_missing_file)
{
    char *web = t_fmt("%s/web_accounts.jsonl", dir);
    cr_assert_eq(unlink(web), 0);
    t_proc p = t_unify("check", "-c", yaml);
    cr_expect_eq(p.exit_code, 1, "check with a missing file: exit %d", p.exit_code);
    cr_expect(strstr(p.err, "web_accounts.jsonl"), "stderr names the file: %s", p.err);
    cr_expect(strstr(p.out, "source app ("), "check goes on with the other sources:\n%s", p.out);
    t_proc_free(&p);
    free(web);
}

/* ------------------------------------------------------------------ */
/* The C API in-process                                                */
/* ------------------------------------------------------------------ */

Test(lookup, c_api_in_process)
{
    crm_row row, landline;
    uint64_t shared[16];
    cr_assert(find_crm_row(linkable_gmail, NULL, &row));
    bool have_landline = find_crm_row(shared_phone, shared, &landline);
    uf_config *config = NULL;
    uf_store *s = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_config_load(yaml, &config, &err), UF_OK, "%s", err.message);
    cr_assert_str_eq(uf_config_store_path(config), store);
    cr_assert_eq(uf_store_open(uf_config_store_path(config), &s, &err), UF_OK, "%s", err.message);

    /* A second handle in the same process is refused (LMDB allows one). */
    uf_store *again = NULL;
    cr_expect_eq(uf_store_open(store, &again, &err), UF_ERR_BUSY, "second open: %s", err.message);
    cr_expect_null(again);

    uint64_t ids[8];
    size_t count = 0;
    char upper[256];
    for (size_t i = 0; i <= strlen(row.email); i++)
        upper[i] = (char)toupper((unsigned char)row.email[i]);
    cr_assert_eq(uf_lookup_identifier(s, config, "email", upper, ids, 8, &count, &err), UF_OK, "%s", err.message);
    cr_assert_eq(count, 1);
    cr_expect_eq(ids[0], row.golden);

    char *json = NULL;
    size_t len = 0;
    uint64_t resolved = 0;
    cr_assert_eq(uf_store_profile_json(s, ids[0], &json, &len, &resolved, &err), UF_OK, "%s", err.message);
    cr_expect_eq(resolved, ids[0]);
    cr_expect_eq(strlen(json), len);
    cr_expect(t_json_valid(json, len), "%.1000s", json);
    char g[24];
    uf_golden_id_format(ids[0], g);
    char *q = t_fmt("\"golden_id\":\"%s\"", g);
    cr_expect(strstr(json, q), "%.500s", json);
    free(q);
    char *member = t_fmt("{\"source\":\"crm\",\"key\":\"%s\"", row.key);
    cr_expect(strstr(json, member), "%.1500s", json);
    free(member);
    free(json);

    uint64_t id = 0;
    cr_expect_eq(uf_store_find_record(s, "crm", row.key, &id, &err), UF_OK, "%s", err.message);
    cr_expect_eq(id, row.golden);

    /* Not found, invalid, junk. */
    count = 99;
    cr_expect_eq(uf_lookup_identifier(s, config, "email", "nobody.anywhere.4711@mailhost.net", ids, 8, &count, &err),
                 UF_ERR_NOT_FOUND);
    cr_expect_eq(count, 0);
    cr_expect_eq(uf_lookup_identifier(s, config, "email", "test@test.com", ids, 8, &count, &err), UF_ERR_INVALID);
    cr_expect(strstr(err.message, "junk"), "%s", err.message);
    cr_expect_eq(uf_lookup_identifier(s, config, "shoe_size", "42", ids, 8, &count, &err), UF_ERR_INVALID);
    cr_expect_eq(uf_store_profile_json(s, 999999999, &json, NULL, NULL, &err), UF_ERR_NOT_FOUND);
    cr_expect_null(json);
    cr_expect_eq(uf_store_find_record(s, "crm", "NO-SUCH-KEY", &id, &err), UF_ERR_NOT_FOUND);
    cr_expect_eq(uf_store_find_record(s, "", "x", &id, &err), UF_ERR_INVALID);

    /* Cap smaller than the holders: count says how many there are. */
    if (have_landline) {
        uint64_t one[1];
        count = 0;
        cr_expect_eq(uf_lookup_identifier(s, config, "phone", landline.phone, one, 1, &count, &err), UF_OK,
                     "%s", err.message);
        cr_expect_eq(count, shared[0], "count is the total, not the cap");
        cr_expect_eq(one[0], shared[1], "the smallest id first");
    }

    /* The last run's report is in the run log. */
    uint64_t run_id = 0;
    char *stored = NULL;
    cr_expect_eq(uf_store_last_run(s, &run_id, &stored, &len, &err), UF_OK, "%s", err.message);
    cr_expect_eq(run_id, 1);
    cr_expect(stored && t_json_valid(stored, len), "%.500s", stored);
    free(stored);

    uf_store_close(s);
    uf_config_free(config);
}
