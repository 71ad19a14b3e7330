/*
 * test_match.c — scored matching end to end (issue 4): quality on the
 * bundled fixture, determinism, fixed parameters, explain; and the pieces
 * the run stores for explain (block keys, the links value).
 */
#include "test_support.h"

#include "match.h"
#include "run_links.h"
#include "sort.h"

static char *dir;

static void setup(void)
{
    dir = t_mkdtemp("match");
}

static void teardown(void)
{
    t_rmtree(dir);
    free(dir);
    dir = NULL;
}

TestSuite(match, .init = setup, .fini = teardown, .timeout = 240);

/* The small fixture in `d`: its unify.yaml ends with the `matching:` section. */
static char *fixture_with_matching(const char *d)
{
    t_fixture_small(d);
    char *yaml = t_fmt("%s/unify.yaml", d);
    size_t len;
    char *text = t_read_file(yaml, &len);
    cr_assert(strstr(text, "\nmatching:") != NULL, "fixtures/small/unify.yaml has no matching section");
    free(text);
    return yaml;
}

/* The same fixture with identifiers only: the `matching:` section cut off. */
static char *fixture_without_matching(const char *d)
{
    char *yaml = fixture_with_matching(d);
    size_t len;
    char *text = t_read_file(yaml, &len);
    *strstr(text, "\nmatching:") = '\0';
    t_write_text(yaml, text);
    free(text);
    return yaml;
}

static double eval_number(const char *yaml, const char *truth, const char *what)
{
    t_proc p = t_unify("eval", "-c", (char *)yaml, "--truth", (char *)truth, "--json");
    t_assert_ok(p, "unify eval");
    double v = t_json_number_at(p.out, NULL, what);
    t_proc_free(&p);
    return v;
}

Test(match, scored_matching_raises_recall_and_keeps_precision)
{
    char *plain = t_fmt("%s/plain", dir), *scored = t_fmt("%s/scored", dir);
    cr_assert_eq(mkdir(plain, 0700), 0);
    cr_assert_eq(mkdir(scored, 0700), 0);
    char *yaml_plain = fixture_without_matching(plain), *truth = t_fmt("%s/truth.csv", plain);
    char *yaml = fixture_with_matching(scored);
    char *report = t_fmt("%s/report.json", scored);

    t_proc p = t_unify("run", "-c", yaml_plain, "--quiet");
    t_assert_ok(p, "unify run (identifiers only)");
    t_proc_free(&p);
    p = t_unify("run", "-c", yaml, "--report", report);
    t_assert_ok(p, "unify run (scored)");
    cr_expect(strstr(p.err, "scored matching:") != NULL, "the text report says nothing of scoring: %s", p.err);
    t_proc_free(&p);

    double recall_plain = eval_number(yaml_plain, truth, "recall");
    double precision = eval_number(yaml, truth, "precision"), recall = eval_number(yaml, truth, "recall");
    cr_log_info("small fixture: recall %.5f -> %.5f with scoring, precision %.5f", recall_plain, recall, precision);
    cr_expect_geq(precision, 0.995, "precision %.5f < 0.995", precision);
    cr_expect_gt(recall, recall_plain + 0.02, "recall %.5f does not improve on %.5f", recall, recall_plain);

    size_t len;
    char *json = t_read_file(report, &len);
    cr_assert(t_json_valid(json, len), "report is not JSON");
    cr_expect_gt(t_json_u64_at(json, "\"matching\"", "candidate_pairs"), 1000);
    cr_expect_gt(t_json_u64_at(json, "\"by_rule\"", "scored"), 10);
    cr_expect(strstr(json, "\"rule\":\"postcode+last_soundex+first_initial\"") != NULL);
    cr_expect(strstr(json, "\"source\":\"trained\"") != NULL);
    cr_expect(strstr(json, "\"refused_disagree\":") && strstr(json, "\"links_by_probability\":{"));
    free(json);
    free(report);
    free(yaml);
    free(yaml_plain);
    free(truth);
    free(plain);
    free(scored);
}

Test(match, same_links_whatever_the_threads_and_with_fixed_parameters)
{
    char *a = t_fmt("%s/a", dir), *b = t_fmt("%s/b", dir);
    cr_assert_eq(mkdir(a, 0700), 0);
    cr_assert_eq(mkdir(b, 0700), 0);
    char *yaml_a = fixture_with_matching(a);
    char *yaml_b = fixture_with_matching(b);
    t_file_replace(yaml_b, "threads: 2", "threads: 1");

    t_proc p = t_unify("run", "-c", yaml_a, "--quiet");
    t_assert_ok(p, "run (2 threads)");
    t_proc_free(&p);
    p = t_unify("run", "-c", yaml_b, "--quiet");
    t_assert_ok(p, "run (1 thread)");
    t_proc_free(&p);
    size_t la, lb;
    char *ma = t_export_members(yaml_a, &la), *mb = t_export_members(yaml_b, &lb);
    cr_expect(la == lb && memcmp(ma, mb, la) == 0, "clusters differ between 1 and 2 threads");

    /* The stored model, written to a file and fixed by configuration, gives the same links. */
    char *model = t_fmt("%s/model.json", a);
    p = t_unify("export", "-c", yaml_a, "--model", model);
    t_assert_ok(p, "export --model");
    t_proc_free(&p);
    t_file_replace(yaml_b, "  threshold: 0.99 ", "  parameters: ../a/model.json\n  threshold: 0.99 ");
    char *report = t_fmt("%s/report.json", b);
    p = t_unify("run", "-c", yaml_b, "--quiet", "--report", report);
    t_assert_ok(p, "run with fixed parameters");
    t_proc_free(&p);
    char *mc = t_export_members(yaml_b, &lb);
    cr_expect(la == lb && memcmp(ma, mc, la) == 0, "fixed parameters give other clusters");
    size_t rlen;
    char *json = t_read_file(report, &rlen);
    cr_expect(strstr(json, "\"source\":\"file\"") != NULL, "the report does not say the model came from the file");

    /* A broken parameters file stops the run before the store changes, naming the file and line. */
    t_write_text(model, "{\"format\":1,\n\"lambda\":2}\n");
    p = t_unify("run", "-c", yaml_b, "--quiet");
    cr_expect_eq(p.exit_code, 1);
    cr_expect(strstr(p.err, "model.json:2") != NULL, "no file:line in: %s", p.err);
    t_proc_free(&p);
    char *md = t_export_members(yaml_b, &lb);
    cr_expect(la == lb && memcmp(ma, md, la) == 0, "a failed run changed the store");

    free(json);
    free(report);
    free(ma);
    free(mb);
    free(mc);
    free(md);
    free(model);
    free(yaml_a);
    free(yaml_b);
    free(a);
    free(b);
}

typedef struct id_list {
    uint64_t *ids;
    size_t count, cap;
} id_list;

static int collect_id(void *ctx, uint64_t golden_id, const char *json, size_t len)
{
    (void)json;
    (void)len;
    id_list *l = ctx;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->ids = realloc(l->ids, l->cap * sizeof *l->ids);
        cr_assert_not_null(l->ids);
    }
    l->ids[l->count++] = golden_id;
    return 0;
}

/* "source":"x","key":"y" of the JSON object at member index `m` of an explain --json "records" array. */
static void member_at(const char *json, int m, char *out, size_t cap)
{
    const char *p = strstr(json, "\"records\":[");
    cr_assert_not_null(p);
    for (int i = 0; i <= m; i++) {
        p = strstr(p + 1, "{\"source\":\"");
        cr_assert_not_null(p);
    }
    const char *s = p + strlen("{\"source\":\""), *se = strchr(s, '"');
    const char *k = strstr(se, "\"key\":\"") + strlen("\"key\":\""), *ke = strchr(k, '"');
    snprintf(out, cap, "%.*s:%.*s", (int)(se - s), s, (int)(ke - k), k);
}

Test(match, explain_answers_from_the_store)
{
    char *yaml = fixture_with_matching(dir);
    /* Before any run there is no store: an error (exit 1), never "not found" (exit 3). */
    t_proc p = t_unify("explain", "-c", yaml, "--golden", "G000000001");
    cr_expect_eq(p.exit_code, 1, "explain without a store: exit %d: %s", p.exit_code, p.err);
    t_proc_free(&p);
    p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "unify run");
    t_proc_free(&p);

    uf_config *config = NULL;
    uf_error err;
    cr_assert_eq(uf_config_load(yaml, &config, &err), UF_OK, "%s", err.message);
    uf_store *store = NULL;
    cr_assert_eq(uf_store_open(uf_config_store_path(config), &store, &err), UF_OK, "%s", err.message);
    id_list ids = {NULL, 0, 0};
    cr_assert_eq(uf_store_scan_profiles(store, collect_id, &ids, &err), UF_OK, "%s", err.message);

    /* A profile held together by a scored link, and one by identifiers. */
    char *scored = NULL, *by_id = NULL;
    size_t members_of_scored = 0;
    for (size_t i = 0; i < ids.count && (!scored || !by_id); i++) {
        char *json = NULL;
        size_t len = 0;
        cr_assert_eq(uf_store_explain(store, ids.ids[i], UF_EXPLAIN_JSON, &json, &len, &err), UF_OK, "%s",
                     err.message);
        cr_assert(t_json_valid(json, len), "explain JSON invalid: %s", json);
        cr_assert_eq(t_count(json, "\"a\":"), t_count(json, "{\"source\":") ? t_count(json, "{\"source\":") - 1 : 0,
                     "a profile of n records must have n-1 links: %s", json);
        if (!scored && strstr(json, "\"rule\":\"scored\"")) {
            scored = json;
            members_of_scored = t_count(json, "{\"source\":");
        } else if (!by_id && strstr(json, "\"rule\":\"strong_identifier\"") && !strstr(json, "\"rule\":\"scored\"")) {
            by_id = json;
        } else {
            free(json);
        }
    }
    cr_assert_not_null(scored, "no profile has a scored link");
    cr_assert_not_null(by_id);
    cr_expect(strstr(scored, "\"comparisons\":[{\"field\":\"first_name\"") != NULL, "%s", scored);
    cr_expect(strstr(scored, "\"probability\":") && strstr(scored, "\"prior_weight\":"), "%s", scored);
    cr_expect(strstr(by_id, "\"kind\":\"") && strstr(by_id, "\"value\":\""), "%s", by_id);
    cr_expect_geq(members_of_scored, 2);

    /* The first scored link: its two records are together, and the chain names the scored link. */
    const char *link = strstr(scored, "\"rule\":\"scored\"");
    const char *obj = link;
    while (obj > scored && strncmp(obj, "{\"a\":", 5) != 0)
        obj--;
    int ia = -1, ib = -1;
    cr_assert_eq(sscanf(obj, "{\"a\":%d,\"b\":%d", &ia, &ib), 2, "%s", obj);
    char ra[600], rb[600];
    member_at(scored, ia, ra, sizeof ra);
    member_at(scored, ib, rb, sizeof rb);
    p = t_unify("explain", "-c", yaml, "--record", ra, "--record", rb);
    t_assert_ok(p, "explain --record --record (together)");
    cr_expect(strstr(p.out, "are together in G") && strstr(p.out, "scored, weight"), "%s", p.out);
    cr_expect(strstr(p.out, "first_name") != NULL, "%s", p.out);
    t_proc_free(&p);

    /* Two records of different profiles: why not, read from the exports. */
    char other[600];
    member_at(by_id, 0, other, sizeof other);
    p = t_unify("explain", "-c", yaml, "--record", ra, "--record", other, "--json");
    t_assert_ok(p, "explain apart --json");
    cr_expect(t_json_valid(p.out, p.out_len), "%s", p.out);
    cr_expect(strstr(p.out, "\"together\":false") && strstr(p.out, "\"verdict\":") &&
                  strstr(p.out, "\"from\":\"current exports\""),
              "%s", p.out);
    t_proc_free(&p);
    p = t_unify("explain", "-c", yaml, "--record", ra, "--record", other);
    t_assert_ok(p, "explain apart");
    cr_expect(strstr(p.out, "not one profile") && strstr(p.out, "scored matching:"), "%s", p.out);
    t_proc_free(&p);

    /* Text form of a golden id; unknown ids and records say not found (exit 3). */
    char gid[24];
    uf_golden_id_format(ids.ids[0], gid);
    p = t_unify("explain", "-c", yaml, "--golden", gid);
    t_assert_ok(p, "explain --golden");
    cr_expect(strstr(p.out, gid) != NULL, "%s", p.out);
    t_proc_free(&p);
    p = t_unify("explain", "-c", yaml, "--golden", "G999999999");
    cr_expect_eq(p.exit_code, 3, "%s", p.err);
    t_proc_free(&p);
    p = t_unify("explain", "-c", yaml, "--record", ra, "--record", "crm:NO-SUCH-KEY");
    cr_expect_eq(p.exit_code, 3, "%s", p.err);
    t_proc_free(&p);
    p = t_unify("explain", "-c", yaml, "--record", ra);
    cr_expect_eq(p.exit_code, 2);
    t_proc_free(&p);

    free(scored);
    free(by_id);
    free(ids.ids);
    uf_store_close(store);
    uf_config_free(config);
    free(yaml);
}

/* The (source, key) pairs of the first JSON array named `array` in `json`, as "s:k s:k ...". */
static char *record_list(const char *json, const char *array)
{
    char *name = t_fmt("\"%s\":[", array);
    const char *p = strstr(json, name);
    cr_assert_not_null(p, "no %s in %.200s", array, json);
    const char *end = strchr(p, ']');
    uf_buf out;
    uf_buf_init(&out);
    while ((p = strstr(p, "{\"source\":\"")) && p < end) {
        const char *s = p + strlen("{\"source\":\""), *se = strchr(s, '"');
        const char *k = strstr(se, "\"key\":\"") + strlen("\"key\":\""), *ke = strchr(k, '"');
        uf_buf_printf(&out, "%s%.*s:%.*s", out.len ? " " : "", (int)(se - s), s, (int)(ke - k), k);
        p = ke;
    }
    free(name);
    char *text = strdup(uf_buf_cstr(&out));
    uf_buf_free(&out);
    return text;
}

/*
 * The links of a profile name its records through the profile (format 2):
 * explain lists them as the profile does. A profile of more records than it
 * lists (UF_PROFILE_MAX_RECORDS) keeps them in its links value (format 1):
 * explain still names every one.
 */
Test(match, explain_names_the_records_of_small_and_over_the_cap_profiles)
{
    char *yaml = t_fmt("%s/unify.yaml", dir), *csv = t_fmt("%s/people.csv", dir);
    t_write_text(yaml, "store:\n  path: store\nrejects: rejects.txt\n"
                       "identifiers:\n  email: {strength: strong}\n"
                       "sources:\n  - name: people\n    path: people.csv\n    format: csv\n    key: key\n"
                       "    fields:\n      email: email\n      email2: email\n");
    /* A chain of 1 005 records (r0 and r1 share an address, r1 and r2 another, ...), and a pair. */
    enum { CHAIN = UF_PROFILE_MAX_RECORDS + 5 };
    uf_buf rows;
    uf_buf_init(&rows);
    uf_buf_puts(&rows, "key,email,email2\n");
    for (int i = 0; i < CHAIN; i++)
        uf_buf_printf(&rows, "r%04d,m%d@mailhost.net,n%d@mailhost.net\n", i, i / 2, (i + 1) / 2);
    uf_buf_puts(&rows, "pair-b,pair@postbox.org,\npair-a,pair@postbox.org,\n");
    t_write_text(csv, uf_buf_cstr(&rows));
    uf_buf_free(&rows);
    t_proc p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "unify run");
    t_proc_free(&p);

    /* The pair: explain's records are the profile's, in its order. */
    p = t_unify("lookup", "-c", yaml, "--record", "people:pair-b");
    t_assert_ok(p, "lookup the pair");
    char *profile_records = record_list(p.out, "records");
    cr_expect_str_eq(profile_records, "people:pair-a people:pair-b");
    const char *gid = strstr(p.out, "\"golden_id\":\"") + strlen("\"golden_id\":\"");
    char pair_id[16];
    snprintf(pair_id, sizeof pair_id, "%.10s", gid);
    t_proc_free(&p);
    p = t_unify("explain", "-c", yaml, "--golden", pair_id, "--json");
    t_assert_ok(p, "explain the pair");
    char *explained = record_list(p.out, "records");
    cr_expect_str_eq(explained, profile_records, "%s", p.out);
    cr_expect(strstr(p.out, "\"kind\":\"email\",\"value\":\"pair@postbox.org\""), "%s", p.out);
    t_proc_free(&p);

    /* The chain: the profile lists 1 000 of 1 005 records, explain all of them and 1 004 links. */
    p = t_unify("lookup", "-c", yaml, "--record", "people:r0000");
    t_assert_ok(p, "lookup the chain");
    cr_expect(strstr(p.out, "\"records_truncated\":5"), "%.300s", p.out);
    gid = strstr(p.out, "\"golden_id\":\"") + strlen("\"golden_id\":\"");
    char chain_id[16];
    snprintf(chain_id, sizeof chain_id, "%.10s", gid);
    t_proc_free(&p);
    p = t_unify("explain", "-c", yaml, "--golden", chain_id, "--json");
    t_assert_ok(p, "explain the chain");
    cr_expect_eq(t_count(p.out, "{\"source\":"), CHAIN);
    cr_expect_eq(t_count(p.out, "{\"a\":"), CHAIN - 1);
    cr_expect(strstr(p.out, "\"key\":\"r1004\"") != NULL, "the last record, past the profile's list");
    t_proc_free(&p);
    free(explained);
    free(profile_records);
    free(csv);
    free(yaml);
}

/* ---- the pieces -------------------------------------------------------- */

/* A blob with key "k" and the given (kind, value) attributes. */
static uf_record record_of(uf_blob_builder *b, const int *kinds, const char *const *values, size_t n)
{
    uf_blob_begin(b, uf_slice_cstr("k"));
    for (size_t i = 0; i < n; i++)
        uf_blob_add_attr(b, kinds[i], uf_slice_cstr(values[i]), uf_slice_cstr(values[i]));
    size_t len = uf_blob_finish(b);
    uf_record r = {b->buf, 0, (uint32_t)len, 0, 0};
    return r;
}

Test(match, values_block_keys_and_vectors)
{
    static uf_blob_builder ba, bb;
    const int kinds[] = {UF_KIND_FIRST_NAME, UF_KIND_LAST_NAME, UF_KIND_DOB, UF_KIND_POSTCODE, UF_KIND_PHONE};
    const char *va[] = {"robert", "smith", "1980-02-03", "10001", "+15551234567"};
    const char *vb[] = {"bob", "smyth", "1980-03-02", "10001", "+16661234567"};
    uf_record ra = record_of(&ba, kinds, va, 5), rb = record_of(&bb, kinds, vb, 5);
    uf_match_values a, b;
    uf_match_values_of(&ra, &a);
    uf_match_values_of(&rb, &b);
    cr_expect_eq(a.dob, 19800203u);
    cr_expect(uf_slice_equals(a.field[UF_CMP_POSTCODE], "10001"));
    cr_expect_eq(a.field[UF_CMP_EMAIL].len, 0u);
    uf_cmp_vector v;
    uf_match_compare(&a, &b, &v);
    cr_expect_eq(v.level[UF_CMP_FIRST_NAME], UF_FIRST_NICKNAME);
    cr_expect_eq(v.level[UF_CMP_DOB], UF_DOB_TRANSPOSED);
    cr_expect_eq(v.level[UF_CMP_POSTCODE], UF_POSTCODE_EXACT);
    cr_expect_eq(v.level[UF_CMP_PHONE], UF_PHONE_LAST_DIGITS);
    cr_expect_eq(v.level[UF_CMP_EMAIL], UF_CMP_MISSING);
    cr_expect_eq(v.level[UF_CMP_IDENTIFIER], UF_CMP_MISSING);
    uf_cmp_vector back = uf_match_key_vector(uf_match_vector_key(&v));
    cr_expect_eq(memcmp(back.level, v.level, sizeof v.level), 0, "vector does not survive the edge key");

    /* postcode + surname sound: smith and smyth share S530; the first-name rule is nickname-aware. */
    uf_block_rule sound = {{UF_BLOCK_POSTCODE, UF_BLOCK_LAST_SOUNDEX}, 2};
    uf_block_rule first = {{UF_BLOCK_FIRST_NAME}, 1};
    uf_block_rule dob = {{UF_BLOCK_DOB}, 1};
    uf_block_rule email = {{UF_BLOCK_POSTCODE, UF_BLOCK_IDENTIFIER + UF_KIND_EMAIL}, 2};
    uint64_t ka, kb;
    cr_assert(uf_match_block_key(&sound, 0, &ra, &a, &ka) && uf_match_block_key(&sound, 0, &rb, &b, &kb));
    cr_expect_eq(ka, kb);
    cr_assert(uf_match_block_key(&first, 1, &ra, &a, &ka) && uf_match_block_key(&first, 1, &rb, &b, &kb));
    cr_expect_eq(ka, kb, "bob and robert should share a first-name block");
    cr_assert(uf_match_block_key(&dob, 2, &ra, &a, &ka) && uf_match_block_key(&dob, 2, &rb, &b, &kb));
    cr_expect_neq(ka, kb);
    cr_expect(!uf_match_block_key(&email, 3, &ra, &a, &ka), "a record without the part has no key");
    /* The same parts under another rule index are another block. */
    uint64_t k0, k1;
    uf_match_block_key(&dob, 0, &ra, &a, &k0);
    uf_match_block_key(&dob, 1, &ra, &a, &k1);
    cr_expect_neq(k0, k1);
}

Test(match, links_value_rejects_corrupt_bytes)
{
    /* A well-formed value: two members, one scored link. */
    static const unsigned char good[] = {1, 2, 3, 'c', 'r', 'm', 1, 'A', 3, 'p', 'o', 's', 1, 'B',
                                         1, 0, 1, UF_RULE_SCORED, 0, 0, 0x80, 0x41, 2, 4, 3};
    uf_links_view v;
    uf_error err;
    cr_assert_eq(uf_links_decode(good, sizeof good, &v, &err), UF_OK, "%s", err.message);
    cr_expect_eq(v.member_count, 2u);
    cr_expect(uf_slice_equals(v.members[1].source, "pos") && uf_slice_equals(v.members[1].key, "B"));
    cr_expect_eq(v.link_count, 1u);
    cr_expect_eq(v.links[0].weight, 16.0f);
    cr_expect_eq(v.links[0].vector.level[0], 4);
    cr_expect_eq(v.links[0].vector.level[2], UF_CMP_MISSING, "levels the value lacks read as missing");
    uf_links_view_free(&v);
    /* Every truncation, a wrong format byte, a member index out of range, trailing bytes: errors, no crash. */
    for (size_t n = 0; n < sizeof good; n++)
        cr_expect_eq(uf_links_decode(good, n, &v, &err), UF_ERR_STORE, "truncated at %zu decoded", n);
    unsigned char bad[sizeof good + 1];
    memcpy(bad, good, sizeof good);
    bad[0] = 9;
    cr_expect_eq(uf_links_decode(bad, sizeof good, &v, &err), UF_ERR_STORE);
    memcpy(bad, good, sizeof good);
    bad[15] = 7; /* member a = 7 of 2 */
    cr_expect_eq(uf_links_decode(bad, sizeof good, &v, &err), UF_ERR_STORE);
    memcpy(bad, good, sizeof good);
    bad[sizeof good] = 0;
    cr_expect_eq(uf_links_decode(bad, sizeof bad, &v, &err), UF_ERR_STORE);
    memcpy(bad, good, sizeof good);
    bad[1] = 0x7f; /* 127 members in 25 bytes */
    cr_expect_eq(uf_links_decode(bad, sizeof good, &v, &err), UF_ERR_STORE);
}

Test(match, disagreement_guard_is_one_function_for_run_and_explain)
{
    uf_match_values a, b;
    uf_cmp_vector v;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    struct {
        const char *first_a, *last_a, *first_b, *last_b;
        bool disagree;
    } cases[] = {
        {"jo", "smith", "bo", "smith", true},            /* one edit, but Jaro-Winkler 0.67 */
        {"mary", "smith", "john", "smith", true},         /* a household */
        {"ann", "catherine", "ann", "kathryn", false},    /* JW 0.76: a spelling, not another person */
        {"bob", "smith", "robert", "smith", false},       /* nicknames */
        {"jon", "smith", "john", "smith", false},
        {"", "smith", "mary", "smith", false},            /* missing is neutral */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        a.field[UF_CMP_FIRST_NAME] = uf_slice_cstr(cases[i].first_a);
        a.field[UF_CMP_LAST_NAME] = uf_slice_cstr(cases[i].last_a);
        b.field[UF_CMP_FIRST_NAME] = uf_slice_cstr(cases[i].first_b);
        b.field[UF_CMP_LAST_NAME] = uf_slice_cstr(cases[i].last_b);
        a.first_canonical = a.field[UF_CMP_FIRST_NAME].len ? uf_nickname_canonical(cases[i].first_a, strlen(cases[i].first_a)) : NULL;
        b.first_canonical = b.field[UF_CMP_FIRST_NAME].len ? uf_nickname_canonical(cases[i].first_b, strlen(cases[i].first_b)) : NULL;
        uf_match_compare(&a, &b, &v);
        cr_expect_eq(uf_match_disagree(&a, &b, &v, UF_AGREE_NAME), cases[i].disagree, "case %zu (%s %s / %s %s)", i,
                     cases[i].first_a, cases[i].last_a, cases[i].first_b, cases[i].last_b);
        cr_expect(!uf_match_disagree(&a, &b, &v, UF_AGREE_NONE));
    }
    /* Dates of birth count only under name_and_dob, and only at level ELSE. */
    a.field[UF_CMP_FIRST_NAME] = b.field[UF_CMP_FIRST_NAME] = uf_slice_cstr("ann");
    a.field[UF_CMP_LAST_NAME] = b.field[UF_CMP_LAST_NAME] = uf_slice_cstr("lee");
    a.first_canonical = b.first_canonical = NULL;
    a.dob = 19800102;
    b.dob = 19751230;
    uf_match_compare(&a, &b, &v);
    cr_expect(!uf_match_disagree(&a, &b, &v, UF_AGREE_NAME));
    cr_expect(uf_match_disagree(&a, &b, &v, UF_AGREE_NAME_AND_DOB));
    b.dob = 19800201; /* day and month swapped: a typo, not another person */
    uf_match_compare(&a, &b, &v);
    cr_expect(!uf_match_disagree(&a, &b, &v, UF_AGREE_NAME_AND_DOB));
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

Test(match, candidate_pairs_sort_like_qsort)
{
    /* Pairs (a << 32 | b) with small ids leave the top digits equal: those passes are skipped. */
    size_t n = 100000;
    uint64_t *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w), state = 42;
    cr_assert(v && w);
    for (size_t i = 0; i < n; i++)
        v[i] = i % 3 ? (t_rand(&state) % 5000) << 32 | t_rand(&state) % 5000 : t_rand(&state);
    memcpy(w, v, n * sizeof *v);
    cr_assert(uf_sort_u64(v, n));
    qsort(w, n, sizeof *w, cmp_u64);
    cr_expect_eq(memcmp(v, w, n * sizeof *v), 0);
    cr_assert(uf_sort_u64(v, 0) && uf_sort_u64(v, 1));
    free(v);
    free(w);
}
