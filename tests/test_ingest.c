/*
 * test_ingest.c — one export file to normalized records: the column plan,
 * normalization per kind, junk, identifier keys, rejects with file:line,
 * bad files, and `unify check`'s report built on it.
 */
#include "config.h"
#include "ingest.h"
#include "keys.h"
#include "test_support.h"

#include <criterion/criterion.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char *dir;

static void make_dir(void)
{
    dir = t_mkdtemp("ingest");
}

static void remove_dir(void)
{
    t_rmtree(dir);
    free(dir);
}

static void write_file(const char *name, const char *text)
{
    char *path = t_fmt("%s/%s", dir, name);
    t_write_text(path, text);
    free(path);
}

/* The file's contents, valid until the test ends. */
static char *read_file(const char *name)
{
    static char *last;
    char *path = t_fmt("%s/%s", dir, name);
    free(last);
    last = t_read_file(path, NULL);
    free(path);
    return last;
}

static uf_config *load(const char *yaml)
{
    write_file("unify.yaml", yaml);
    char path[512];
    snprintf(path, sizeof path, "%s/unify.yaml", dir);
    uf_config *config = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_config_load(path, &config, &err), UF_OK, "config: %s", err.message);
    return config;
}

#define CONFIG_HEAD                                                                                                   \
    "store: {path: store}\n"                                                                                          \
    "rejects: rejects.txt\n"                                                                                          \
    "identifiers:\n"                                                                                                  \
    "  crm_id: {strength: strong, case: upper}\n"                                                                     \
    "blocklist:\n"                                                                                                    \
    "  email: [blocked@example.org]\n"

/* ---- the sink keeps what it is handed ---- */

typedef struct captured {
    int records;
    char keys[16][32];
    uint64_t lines[16];
    int64_t updated_at[16];
    size_t key_counts[16];
    uf_key first_keys[16];
    char attrs[16][512];
    char contexts[16][256]; /* "index=value" of each context value, by column index */
    uf_record_compare cmp[16];
} captured;

static const uf_config *g_config;

static int capture(void *ctx, const uf_ingest_record *rec, uf_error *err)
{
    captured *c = ctx;
    (void)err;
    cr_assert_lt(c->records, 16);
    uf_record r = {.blob = rec->blob, .blob_len = (uint32_t)rec->blob_len};
    uf_slice key = uf_record_key(&r);
    snprintf(c->keys[c->records], sizeof c->keys[0], "%.*s", (int)key.len, key.ptr);
    c->lines[c->records] = rec->line;
    c->updated_at[c->records] = rec->updated_at;
    c->key_counts[c->records] = rec->key_count;
    if (rec->key_count)
        c->first_keys[c->records] = rec->keys[0];
    c->cmp[c->records] = rec->cmp;
    uf_attr_cursor cur;
    uf_attr_view a;
    uf_attr_cursor_init(&cur, &r);
    char *out = c->attrs[c->records];
    out[0] = '\0';
    while (uf_attr_next(&cur, &a)) {
        size_t used = strlen(out);
        snprintf(out + used, 512 - used, "%s%s=%.*s|%.*s", used ? " " : "", g_config->kinds[a.kind].name,
                 (int)a.value.len, a.value.ptr, (int)a.raw.len, a.raw.ptr);
    }
    uf_context_view cv;
    uf_context_cursor_init(&cur, &r);
    out = c->contexts[c->records];
    out[0] = '\0';
    while (uf_context_next(&cur, &cv)) {
        size_t used = strlen(out);
        snprintf(out + used, 256 - used, "%s%d=%.*s", used ? " " : "", cv.index, (int)cv.value.len, cv.value.ptr);
    }
    c->records++;
    return UF_OK;
}

static int ingest(uf_config *config, uf_source_stats *stats, captured *got, uf_error *err)
{
    uf_rejects rejects;
    g_config = config;
    memset(stats, 0, sizeof *stats);
    memset(got, 0, sizeof *got);
    cr_assert_eq(uf_rejects_open(&rejects, config->rejects_path, err), UF_OK);
    int rc = uf_ingest_file(config, 0, 0, &rejects, stats, capture, got, err);
    cr_assert_eq(uf_rejects_close(&rejects, err), UF_OK);
    return rc;
}

TestSuite(ingest, .init = make_dir, .fini = remove_dir);

Test(ingest, csv_rows_become_normalized_records)
{
    write_file("crm.csv", "\xEF\xBB\xBFid,mail,tel,first,last,born,updated\r\n"
                          "c-1, Bob.Smith+shop@GMail.com ,(555) 234-5678,Bob,SMITH,03/04/1985,2024-05-01T10:00:00Z\r\n"
                          "c-2,blocked@example.org,0000000000,José,Muñoz,,2024-05-02\r\n");
    uf_config *config = load(CONFIG_HEAD "sources:\n"
                                         "  - name: crm\n    path: crm.csv\n    format: csv\n    key: id\n"
                                         "    updated_at: updated\n    date_order: DMY\n    fields:\n"
                                         "      id: crm_id\n      mail: email\n      tel: phone\n"
                                         "      first: first_name\n      last: last_name\n      born: dob\n");
    uf_source_stats stats;
    captured got;
    uf_error err = {0};
    cr_assert_eq(ingest(config, &stats, &got, &err), UF_OK, "%s", err.message);
    cr_assert_eq(got.records, 2);
    cr_assert_str_eq(got.keys[0], "c-1");
    cr_assert_eq(got.lines[0], 2);
    cr_assert_eq(got.updated_at[0], 1714557600);
    cr_assert_str_eq(got.attrs[0], "crm_id=C-1|C-1 email=bobsmith@gmail.com|Bob.Smith+shop@GMail.com "
                                   "phone=+15552345678|+15552345678 first_name=bob|Bob last_name=smith|SMITH "
                                   "dob=1985-04-03|1985-04-03");
    cr_assert_eq(got.key_counts[0], 3, "crm_id, email and phone are identifiers");
    uf_key expected = uf_identifier_key(uf_slice_cstr("crm_id"), uf_slice_cstr("C-1"));
    cr_assert(uf_key_equal(got.first_keys[0], expected));
    cr_assert_eq(got.cmp[0].dob, 19850403);
    cr_assert_neq(got.cmp[0].first_name, 0);
    /* Second row: blocklisted e-mail and junk phone are dropped and counted; accents folded. */
    cr_assert_str_eq(got.attrs[1], "crm_id=C-2|C-2 first_name=jose|José last_name=munoz|Muñoz");
    cr_assert_eq(stats.junk[UF_KIND_EMAIL], 1);
    cr_assert_eq(stats.junk[UF_KIND_PHONE], 1);
    cr_assert_eq(stats.values[UF_KIND_EMAIL], 1);
    cr_assert_eq(stats.rows_read, 2);
    cr_assert_eq(stats.records, 2);
    uf_config_free(config);
}

Test(ingest, nickname_and_full_name_feed_the_guards)
{
    write_file("web.jsonl", "{\"id\":\"w1\",\"name\":\"SMITH, Bob\",\"born\":\"1985-04-03\"}\n"
                            "{\"id\":\"w2\",\"name\":\"Robert Smith\",\"born\":null,\"extra\":{\"a\":[1,2]}}\n");
    uf_config *config = load(CONFIG_HEAD "sources:\n"
                                         "  - name: web\n    path: web.jsonl\n    format: jsonl\n    key: id\n"
                                         "    fields:\n      name: full_name\n      born: dob\n");
    uf_source_stats stats;
    captured got;
    uf_error err = {0};
    cr_assert_eq(ingest(config, &stats, &got, &err), UF_OK, "%s", err.message);
    cr_assert_eq(got.records, 2);
    cr_assert_str_eq(got.attrs[0], "first_name=bob|Bob last_name=smith|Smith dob=1985-04-03|1985-04-03");
    /* bob and robert are one first name for the guards. */
    cr_assert_eq(got.cmp[0].first_name, got.cmp[1].first_name);
    cr_assert_eq(got.cmp[0].last_name, got.cmp[1].last_name);
    cr_assert_eq(got.cmp[1].dob, 0, "null is missing");
    uf_config_free(config);
}

/* JSONL members are matched to columns by name whatever their order on each line, including a member that feeds
 * several slots (key, field, context) and names too long to be remembered by position. */
Test(ingest, jsonl_members_found_by_name_in_any_order)
{
#define LONG_NAME "a_member_name_longer_than_forty_eight_bytes_of_text_x"
    write_file("web.jsonl",
               "{\"id\":\"a1\",\"mail\":\"ann.lee@mail.org\",\"" LONG_NAME "\":\"Ann\",\"tier\":\"gold\"}\n"
               "{\"mail\":\"bo.ray@mail.org\",\"id\":\"b2\",\"tier\":\"blue\",\"" LONG_NAME "\":\"Bo\"}\n"
               "{\"" LONG_NAME "\":\"Cy\",\"other\":1,\"mail\":null,\"id\":\"c3\"}\n"
               "{\"id\":\"d4\",\"mail\":\"di.fox@mail.org\",\"" LONG_NAME "\":\"Di\",\"tier\":\"gold\"}\n"
               /* same positions, two names of one length swapped */
               "{\"id\":\"e5\",\"tier\":\"gold\",\"" LONG_NAME "\":\"Ed\",\"mail\":\"ed.ng@mail.org\"}\n");
    uf_config *config = load(CONFIG_HEAD "sources:\n"
                                         "  - name: web\n    path: web.jsonl\n    format: jsonl\n    key: id\n"
                                         "    fields: {id: crm_id, mail: email, " LONG_NAME ": first_name}\n"
                                         "    context: [tier, id]\n");
    uf_source_stats stats;
    captured got;
    uf_error err = {0};
    cr_assert_eq(ingest(config, &stats, &got, &err), UF_OK, "%s", err.message);
    cr_assert_eq(got.records, 5);
    static const char *const want_keys[] = {"a1", "b2", "c3", "d4", "e5"};
    static const char *const want_attrs[] = {
        "crm_id=A1|A1 email=ann.lee@mail.org|ann.lee@mail.org first_name=ann|Ann",
        "crm_id=B2|B2 email=bo.ray@mail.org|bo.ray@mail.org first_name=bo|Bo",
        "crm_id=C3|C3 first_name=cy|Cy",
        "crm_id=D4|D4 email=di.fox@mail.org|di.fox@mail.org first_name=di|Di",
        "crm_id=E5|E5 email=ed.ng@mail.org|ed.ng@mail.org first_name=ed|Ed",
    };
    static const char *const want_contexts[] = {"0=gold 1=a1", "0=blue 1=b2", "1=c3", "0=gold 1=d4", "0=gold 1=e5"};
    for (int i = 0; i < 5; i++) {
        cr_expect_str_eq(got.keys[i], want_keys[i]);
        cr_expect_str_eq(got.attrs[i], want_attrs[i]);
        cr_expect_str_eq(got.contexts[i], want_contexts[i]);
    }
    uf_config_free(config);
#undef LONG_NAME
}

Test(ingest, bad_rows_are_rejected_with_file_and_line)
{
    write_file("pos.csv", "card;first\n"
                          "1001;Ann\n"
                          "1002;\"Bo\"b;x\n"
                          "1003;Cy;extra\n"
                          "1004;D\xff\n"
                          ";Eve\n"
                          "1005;Flo\n");
    uf_config *config = load(CONFIG_HEAD "sources:\n"
                                         "  - name: pos\n    path: pos.csv\n    format: csv\n    delimiter: \";\"\n"
                                         "    key: card\n    fields: {first: first_name}\n");
    uf_source_stats stats;
    captured got;
    uf_error err = {0};
    cr_assert_eq(ingest(config, &stats, &got, &err), UF_OK, "%s", err.message);
    cr_assert_eq(got.records, 2);
    cr_assert_str_eq(got.keys[1], "1005");
    cr_assert_eq(got.lines[1], 7);
    cr_assert_eq(stats.rows_read, 6);
    cr_assert_eq(uf_source_stats_rejected_total(&stats), 4);
    cr_assert_eq(stats.rejected[UF_REJECT_COLUMN_COUNT], 1);
    cr_assert_eq(stats.rejected[UF_REJECT_UNBALANCED_QUOTE], 1);
    cr_assert_eq(stats.rejected[UF_REJECT_INVALID_UTF8], 1);
    cr_assert_eq(stats.rejected[UF_REJECT_MISSING_KEY], 1);
    char *rejects = read_file("rejects.txt");
    char expect[2048];
    snprintf(expect, sizeof expect,
             "%s/pos.csv:3: unbalanced_quote\n%s/pos.csv:4: column_count\n%s/pos.csv:5: invalid_utf8\n"
             "%s/pos.csv:6: missing_key\n",
             dir, dir, dir, dir);
    cr_assert_str_eq(rejects, expect);
    uf_config_free(config);
}

Test(ingest, mapped_column_absent_is_a_bad_file)
{
    write_file("crm.csv", "id,mail\n1,a@b.com\n");
    uf_config *config = load(CONFIG_HEAD "sources:\n"
                                         "  - name: crm\n    path: crm.csv\n    format: csv\n    key: id\n"
                                         "    fields: {email: email}\n");
    uf_source_stats stats;
    captured got;
    uf_error err = {0};
    cr_assert_eq(ingest(config, &stats, &got, &err), UF_ERR_FORMAT);
    cr_assert(strstr(err.message, "crm.csv") && strstr(err.message, "'email'") && strstr(err.message, "header"),
              "message: %s", err.message);
    uf_config_free(config);
}

Test(ingest, jsonl_field_in_no_line_is_a_bad_file)
{
    write_file("app.jsonl", "{\"id\":\"1\",\"mail\":\"a@b.com\"}\n");
    uf_config *config = load(CONFIG_HEAD "sources:\n"
                                         "  - name: app\n    path: app.jsonl\n    format: jsonl\n    key: id\n"
                                         "    fields: {email: email}\n");
    uf_source_stats stats;
    captured got;
    uf_error err = {0};
    cr_assert_eq(ingest(config, &stats, &got, &err), UF_ERR_FORMAT);
    cr_assert(strstr(err.message, "app.jsonl") && strstr(err.message, "'email'"), "message: %s", err.message);
    uf_config_free(config);
}

Test(ingest, missing_and_corrupt_files_name_the_file)
{
    uf_config *config = load(CONFIG_HEAD "sources:\n"
                                         "  - name: crm\n    path: crm.csv.gz\n    format: csv\n    key: id\n"
                                         "    fields: {mail: email}\n");
    uf_source_stats stats;
    captured got;
    uf_error err = {0};
    cr_assert_eq(ingest(config, &stats, &got, &err), UF_ERR_IO);
    cr_assert(strstr(err.message, "crm.csv.gz"), "message: %s", err.message);

    /* A gzip file cut short. */
    char path[512];
    snprintf(path, sizeof path, "%s/crm.csv.gz", dir);
    gzFile gz = gzopen(path, "wb");
    for (int i = 0; i < 2000; i++)
        gzprintf(gz, "%s%d,user%d@example.com\n", i == 0 ? "id,mail\n" : "", i, i);
    gzclose(gz);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, st.st_size / 2), 0);
    err.message[0] = '\0';
    cr_assert_eq(ingest(config, &stats, &got, &err), UF_ERR_FORMAT);
    cr_assert(strstr(err.message, "crm.csv.gz"), "message: %s", err.message);
    uf_config_free(config);
}

/* ---- timestamps ---- */

typedef struct ts_case {
    const char *text;
    bool ok;
    int64_t expect;
} ts_case;

Test(ingest, timestamps)
{
    static const ts_case cases[] = {
        {"2024-05-01T10:00:00Z", true, 1714557600},
        {"2024-05-01 10:00:00", true, 1714557600},
        {"2024-05-01T12:00:00+02:00", true, 1714557600},
        {"2024-05-01T05:00:00-05:00", true, 1714557600},
        {"2024-05-01T10:00:00.123Z", true, 1714557600},
        {"2024-05-01", true, 1714521600},
        {"2024/05/01", true, 1714521600},
        {"1714557600", true, 1714557600},
        {"1714557600000", true, 1714557600},
        {"1970-01-01T00:00:00Z", true, 0},
        {"1969-12-31T23:59:59Z", true, -1},
        {"  2000-02-29  ", true, 951782400},
        {"", false, 0},
        {"yesterday", false, 0},
        {"2024-13-01", false, 0},
        {"2024-05-01T25:00", false, 0},
        {"2024-05-01Tjunk", false, 0},
        {"12345", false, 0},
        /* the fixed-offset reading of the usual shape, and its edges */
        {"2024-05-01 10:00:00Z", true, 1714557600},
        {"2024-05-01T10:00:00z", true, 1714557600},
        {"2016-12-31T23:59:60Z", true, 1483228800},
        {"0000-03-01T00:00:00Z", true, -62162035200},
        {"2024-05-01T10:0a:00Z", false, 0},
        {"2024-00-01T10:00:00Z", false, 0},
        {"2024-05-32T10:00:00Z", false, 0},
        {"2024-05-01T24:00:00Z", false, 0},
        {"2024-05-01T10:60:00Z", false, 0},
        {"2024-05-01t10:00:00Z", false, 0},
        {"2024-05-01T10:00:00X", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = 42;
        bool ok = uf_parse_timestamp(uf_slice_cstr(cases[i].text), &t);
        cr_assert_eq(ok, cases[i].ok, "'%s'", cases[i].text);
        if (ok)
            cr_assert_eq(t, cases[i].expect, "'%s' -> %lld", cases[i].text, (long long)t);
    }
}

/* The usual shape is read at fixed offsets, others by the general reader: both agree with timegm on random times. */
Test(ingest, timestamps_agree_with_timegm)
{
    uint64_t seed = 7;
    for (int i = 0; i < 5000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        struct tm tm = {.tm_year = (int)((seed >> 33) % 9000) + 1000 - 1900, .tm_mon = (int)((seed >> 20) % 12),
                        .tm_mday = (int)((seed >> 12) % 28) + 1, .tm_hour = (int)((seed >> 5) % 24),
                        .tm_min = (int)((seed >> 45) % 60), .tm_sec = (int)((seed >> 51) % 60)};
        int64_t want = (int64_t)timegm(&tm);
        char fixed[40], general[40];
        snprintf(fixed, sizeof fixed, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        snprintf(general, sizeof general, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        int64_t a = 0, b = 0;
        cr_assert(uf_parse_timestamp(uf_slice_cstr(fixed), &a), "%s", fixed);
        cr_assert(uf_parse_timestamp(uf_slice_cstr(general), &b), "%s", general);
        cr_assert(a == want && b == want, "%s: %lld, %s: %lld, timegm %lld", fixed, (long long)a, general,
                  (long long)b, (long long)want);
    }
}

/* ---- unify check's report ---- */

Test(ingest, check_reports_rows_rejects_identifiers_and_samples)
{
    write_file("crm.csv", "id,mail,first\n1,ann.lee@mail.com,Ann\n2,\"broken,Bo\n3,cy.ho@mail.com,Cy\n");
    uf_config *config = load(CONFIG_HEAD "sources:\n"
                                         "  - name: crm\n    path: crm.csv\n    format: csv\n    key: id\n"
                                         "    fields: {id: crm_id, mail: email, first: first_name}\n"
                                         "  - name: gone\n    path: missing-*.csv\n    format: csv\n    key: id\n"
                                         "    fields: {mail: email}\n");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    uf_error err = {0};
    int rc = uf_check(config, out, &err);
    fclose(out);
    cr_assert_eq(rc, UF_ERR_IO, "a source without files fails the check");
    cr_assert(strstr(err.message, "missing-*.csv"), "message: %s", err.message);
    cr_assert(strstr(text, "rows read: 3, records: 2, rejected: 1 (unbalanced_quote 1)"), "%s", text);
    cr_assert(strstr(text, "identifiers: email 2, crm_id 2"), "%s", text);
    cr_assert(strstr(text, "1: crm_id=1 email=ann.lee@mail.com first_name=ann"), "%s", text);
    cr_assert(strstr(text, "no file matches"), "%s", text);
    cr_assert(strstr(read_file("rejects.txt"), "crm.csv:3: unbalanced_quote"));
    free(text);
    uf_config_free(config);
}

/* A raw text that is the value, its title case or its upper case is rebuilt, not stored; any other is kept. */
Test(ingest_blob, raw_forms_round_trip_and_save_bytes)
{
    static const struct {
        const char *value, *raw;
    } attrs[] = {
        {"emma", "emma"},                    /* same */
        {"mary-jane o brien", "Mary-Jane O Brien"}, /* title */
        {"gomez", "GOMEZ"},                  /* upper */
        {"gomez", "Gómez"},                  /* stored */
        {"mcdonald", "McDonald"},            /* stored: not a plain transform */
        {"x", ""},                           /* empty raw: the value */
        {"", "Zed"},                         /* stored */
        {"1st street", "1st Street"},        /* title: a digit starts no word */
        {"x-y", "X-Y"},                      /* title and upper alike: title */
        {"ab cd", "AB CD"},                  /* upper, title fails at the second letter */
        {"o'brien", "O'Brien"},              /* stored: an apostrophe starts no word */
    };
    uf_blob_builder *b = malloc(sizeof *b);
    cr_assert_not_null(b);
    uf_blob_begin(b, uf_slice_cstr("K1"));
    size_t stored = 0;
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
        uf_blob_add_attr(b, (int)i + 1, uf_slice_cstr(attrs[i].value), uf_slice_cstr(attrs[i].raw));
        stored += 2 + strlen(attrs[i].value);
    }
    uf_blob_add_context(b, 0, uf_slice_cstr("gold"));
    size_t len = uf_blob_finish(b);
    /* key (3) + attr count (1) + kind/len/value each + raw_len and raw of the three stored + contexts (1 + 6). */
    stored += 3 + 1 + (1 + strlen("Gómez")) + (1 + strlen("McDonald")) + (1 + strlen("Zed")) +
              (1 + strlen("O'Brien")) + 7;
    cr_expect_eq(len, stored);
    cr_expect(!b->overflow);
    uf_record r = {.blob = b->buf, .blob_len = (uint32_t)len};
    uf_attr_cursor cur;
    uf_attr_view a;
    uf_attr_cursor_init(&cur, &r);
    size_t i = 0;
    while (uf_attr_next(&cur, &a)) {
        cr_assert_lt(i, sizeof attrs / sizeof attrs[0]);
        const char *want_raw = attrs[i].raw[0] ? attrs[i].raw : attrs[i].value;
        cr_expect_eq(a.kind, (int)i + 1);
        cr_expect(a.value.len == strlen(attrs[i].value) && memcmp(a.value.ptr, attrs[i].value, a.value.len) == 0,
                  "value %zu", i);
        cr_expect(a.raw.len == strlen(want_raw) && memcmp(a.raw.ptr, want_raw, a.raw.len) == 0, "raw %zu: %.*s", i,
                  (int)a.raw.len, a.raw.ptr);
        i++;
    }
    cr_expect_eq(i, sizeof attrs / sizeof attrs[0]);
    /* The value-only reader steps over stored and rebuilt raw texts alike. */
    uf_attr_cursor_init(&cur, &r);
    int kind;
    uf_slice value;
    for (i = 0; uf_attr_next_value(&cur, &kind, &value); i++) {
        cr_assert_lt(i, sizeof attrs / sizeof attrs[0]);
        cr_expect(kind == (int)i + 1 && value.len == strlen(attrs[i].value) &&
                      memcmp(value.ptr, attrs[i].value, value.len) == 0,
                  "value %zu", i);
    }
    cr_expect_eq(i, sizeof attrs / sizeof attrs[0]);
    uf_context_cursor_init(&cur, &r);
    uf_context_view cv;
    cr_assert(uf_context_next(&cur, &cv));
    cr_expect(cv.index == 0 && cv.value.len == 4 && memcmp(cv.value.ptr, "gold", 4) == 0);
    cr_expect(!uf_context_next(&cur, &cv));
    /* Kinds must fit the six bits the blob gives them. */
    uf_blob_begin(b, uf_slice_cstr("K2"));
    uf_blob_add_attr(b, 64, uf_slice_cstr("v"), uf_slice_cstr("v"));
    cr_expect(b->overflow);
    free(b);
}

/* Title case by its definition, one byte at a time: a-z upper-cased at the start and after ' ' or '-'. */
static void reference_title_case(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((i == 0 || s[i - 1] == ' ' || s[i - 1] == '-') && s[i] >= 'a' && s[i] <= 'z')
            s[i] = (char)(s[i] - 'a' + 'A');
}

/* The form the blob must choose, by the definitions in records.h, one byte at a time. */
static unsigned reference_raw_form(const char *value, size_t len, const char *raw, size_t raw_len)
{
    if (raw_len == 0 || (raw_len == len && memcmp(value, raw, len) == 0))
        return UF_RAW_SAME;
    if (raw_len != len)
        return UF_RAW_STORED;
    char title[256], upper[256];
    memcpy(title, value, len);
    reference_title_case(title, len);
    for (size_t i = 0; i < len; i++)
        upper[i] = value[i] >= 'a' && value[i] <= 'z' ? (char)(value[i] - 'a' + 'A') : value[i];
    return memcmp(raw, title, len) == 0 ? UF_RAW_TITLE : memcmp(raw, upper, len) == 0 ? UF_RAW_UPPER : UF_RAW_STORED;
}

/* Random values and spellings of them (the form is checked eight bytes at a time): every raw text comes back, and
 * the form chosen is the one the definitions give, whatever the length and wherever words start. */
Test(ingest_blob, raw_forms_of_random_spellings)
{
    static const char alphabet[] = "abcyzAZ@[`{ -09\xc3\xa9\xe1\xfa"; /* \xe1, \xfa: a, z with the high bit */
    uf_blob_builder *b = malloc(sizeof *b);
    cr_assert_not_null(b);
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    unsigned forms[4] = {0};
    for (int round = 0; round < 20000; round++) {
        char value[64], raw[64];
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t len = (size_t)(seed >> 58); /* 0..63 */
        for (size_t i = 0; i < len; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            value[i] = alphabet[(seed >> 40) % (sizeof alphabet - 1)];
        }
        /* Raw: the value, its title case, its upper case, or one of those with one byte changed. */
        memcpy(raw, value, len);
        char titled[64];
        memcpy(titled, value, len);
        uf_title_case(titled, len);
        reference_title_case(raw, len);
        cr_assert(memcmp(titled, raw, len) == 0, "round %d: title case of %.*s", round, (int)len, value);
        memcpy(raw, value, len);
        unsigned how = (unsigned)(seed >> 20) % 6;
        if (how % 3 == 1)
            reference_title_case(raw, len);
        else if (how % 3 == 2)
            for (size_t i = 0; i < len; i++)
                raw[i] = raw[i] >= 'a' && raw[i] <= 'z' ? (char)(raw[i] - 'a' + 'A') : raw[i];
        if (how >= 3 && len)
            raw[(seed >> 8) % len] ^= (char)(1 << ((seed >> 4) % 8));
        uf_blob_begin(b, uf_slice_cstr("K"));
        uf_blob_add_attr(b, 1, uf_slice_make(value, len), uf_slice_make(raw, len));
        size_t blob_len = uf_blob_finish(b);
        unsigned want = reference_raw_form(value, len, raw, len);
        unsigned got = b->buf[3] >> 6; /* key length, "K", attribute count, then the kind byte */
        cr_assert_eq(got, want, "round %d: %.*s / %.*s: form %u, want %u", round, (int)len, value, (int)len, raw, got,
                     want);
        forms[got]++;
        uf_record r = {.blob = b->buf, .blob_len = (uint32_t)blob_len};
        uf_attr_cursor cur;
        uf_attr_view a;
        uf_attr_cursor_init(&cur, &r);
        cr_assert(uf_attr_next(&cur, &a));
        const char *want_raw = len ? raw : value;
        cr_assert(a.raw.len == len && memcmp(a.raw.ptr, want_raw, len) == 0, "round %d: raw %.*s", round,
                  (int)a.raw.len, a.raw.ptr);
        cr_assert(!uf_attr_next(&cur, &a));
        /* The value-only reader steps over the same bytes. */
        int kind;
        uf_slice v;
        uf_attr_cursor_init(&cur, &r);
        cr_assert(uf_attr_next_value(&cur, &kind, &v));
        cr_assert(kind == 1 && v.len == len && (len == 0 || memcmp(v.ptr, value, len) == 0), "round %d", round);
        cr_assert(!uf_attr_next_value(&cur, &kind, &v));
    }
    for (unsigned f = 0; f < 4; f++)
        cr_expect_gt(forms[f], 1000, "form %u chosen %u times", f, forms[f]);
    free(b);
}

/* ---- repeated values ---- */

Test(ingest, repeated_values_normalize_alike)
{
    /* Each value comes back several times, among others: junk (blocklisted,
     * placeholder), invalid and good results each time the same. */
    write_file("crm.csv", "id,mail,first,last,born,city\n"
                          "c-1,a@mail.org,Bob,SMITH,03/04/1985,paris\n"
                          "c-2,blocked@example.org,Bob,SMITH,31/02/1985,Nowhere\n"
                          "c-3,b@mail.org,n/a,Smith,03/04/1985,paris\n"
                          "c-4,blocked@example.org,Bob,SMITH,31/02/1985,Nowhere\n"
                          "c-5,c@mail.org,n/a,SMITH,03/04/1985,  paris \n"
                          "c-6,d@mail.org,Bob,Smith,31/02/1985,PARIS\n");
    uf_config *config = load(CONFIG_HEAD "  city: [nowhere]\n"
                                         "sources:\n"
                                         "  - name: crm\n    path: crm.csv\n    format: csv\n    key: id\n"
                                         "    date_order: DMY\n    fields:\n"
                                         "      id: crm_id\n      mail: email\n      first: first_name\n"
                                         "      last: last_name\n      born: dob\n      city: city\n");
    uf_source_stats stats;
    captured got;
    uf_error err = {0};
    cr_assert_eq(ingest(config, &stats, &got, &err), UF_OK, "%s", err.message);
    cr_assert_eq(got.records, 6);
    cr_assert_str_eq(got.attrs[0], "crm_id=C-1|C-1 email=a@mail.org|a@mail.org first_name=bob|Bob "
                                   "last_name=smith|SMITH dob=1985-04-03|1985-04-03 city=paris|paris");
    cr_assert_str_eq(got.attrs[1], "crm_id=C-2|C-2 first_name=bob|Bob last_name=smith|SMITH");
    cr_assert_str_eq(got.attrs[2], "crm_id=C-3|C-3 email=b@mail.org|b@mail.org last_name=smith|Smith "
                                   "dob=1985-04-03|1985-04-03 city=paris|paris");
    cr_assert_str_eq(got.attrs[3], "crm_id=C-4|C-4 first_name=bob|Bob last_name=smith|SMITH");
    cr_assert_str_eq(got.attrs[4], "crm_id=C-5|C-5 email=c@mail.org|c@mail.org last_name=smith|SMITH "
                                   "dob=1985-04-03|1985-04-03 city=paris|paris");
    cr_assert_str_eq(got.attrs[5], "crm_id=C-6|C-6 email=d@mail.org|d@mail.org first_name=bob|Bob "
                                   "last_name=smith|Smith city=paris|PARIS");
    cr_assert_eq(got.cmp[0].first_name, got.cmp[5].first_name);
    cr_assert_eq(got.cmp[0].dob, got.cmp[4].dob);
    cr_assert_eq(stats.junk[UF_KIND_EMAIL], 2);
    cr_assert_eq(stats.junk[UF_KIND_FIRST_NAME], 2);
    cr_assert_eq(stats.invalid[UF_KIND_DOB], 3);
    cr_assert_eq(stats.values[UF_KIND_DOB], 3);
    cr_assert_eq(stats.values[UF_KIND_CITY], 4);
    cr_assert_eq(stats.junk[UF_KIND_CITY], 2, "blocklisted twice, the second time from the memo");
    cr_assert_eq(stats.values[UF_KIND_EMAIL], 4);
    uf_config_free(config);
}
