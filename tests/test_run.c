/*
 * test_run.c — `unify run` end to end, through the built program:
 *
 *  - match quality on the bundled fixture (precision/recall floor);
 *  - same input, same output: shuffled rows and a source split over two
 *    files give a byte-identical export (golden ids included);
 *  - golden ids are stable across runs: merge keeps the id holding most
 *    records and redirects the other, a split keeps the id on the largest
 *    part (ties: the earlier cluster), new ids are above every earlier id,
 *    an unchanged run keeps every id, a vanished record's id stops
 *    resolving; the run report and the stored run log say so;
 *  - a bad file (missing, corrupt gzip, missing mapped column) fails the
 *    run naming the file and leaves the previous generation exactly;
 *  - bad rows are rejected with file:line: reason and counted, the run goes on;
 *  - a second run on a store that another run is writing fails at once.
 *
 * Every test works in its own mkdtemp folder (removed at the end): the
 * fixture is copied there and its store/rejects paths point there. Tests
 * that start from the fixture after one plain run copy it, store and
 * report.json included, from one prepared folder (t_prepared_copy).
 */
#define T_PREPARED_FIXTURE /* t_prepared_copy: one run of the fixture per program */
#include "test_support.h"

#include <sched.h>

#include <sys/file.h>

static char *dir;

static void setup(void)
{
    dir = t_mkdtemp("run");
}

static void teardown(void)
{
    t_rmtree(dir);
    free(dir);
    dir = NULL;
}

TestSuite(run, .init = setup, .fini = teardown, .timeout = 240);

/* ------------------------------------------------------------------ */
/* Quality guard                                                       */
/* ------------------------------------------------------------------ */

Test(run, fixture_precision_and_recall)
{
    t_prepared_copy(dir, t_prepare_small_run);
    char *yaml = t_fmt("%s/unify.yaml", dir);
    char *truth = t_fmt("%s/truth.csv", dir);
    t_proc p = t_unify("eval", "-c", yaml, "--truth", truth, "--json");
    t_assert_ok(p, "unify eval");
    cr_assert(t_json_valid(p.out, p.out_len), "eval --json is not JSON: %s", p.out);
    double precision = t_json_number_at(p.out, NULL, "precision");
    double recall = t_json_number_at(p.out, NULL, "recall");
    uint64_t scored = t_json_u64_at(p.out, NULL, "records_scored");
    cr_log_info("fixture quality: precision %.5f recall %.5f over %" PRIu64 " records", precision, recall, scored);
    cr_assert_gt(scored, 1000, "too few records scored: %s", p.out);
    cr_expect_geq(precision, 0.995, "pairwise precision %.5f < 0.995: %s", precision, p.out);
    cr_expect_geq(recall, 0.95, "pairwise recall %.5f < 0.95: %s", recall, p.out);
    t_proc_free(&p);

    /* The human-readable form says the same. */
    p = t_unify("eval", "-c", yaml, "--truth", truth);
    t_assert_ok(p, "unify eval (text)");
    cr_expect(strstr(p.out, "pairwise precision") && strstr(p.out, "pairwise recall"), "%s", p.out);
    t_proc_free(&p);
    free(yaml);
    free(truth);
}

/* ------------------------------------------------------------------ */
/* Same input, same output                                             */
/* ------------------------------------------------------------------ */

static bool keep_even(size_t index, void *ctx)
{
    (void)ctx;
    return index % 2 == 0;
}

static bool keep_odd(size_t index, void *ctx)
{
    (void)ctx;
    return index % 2 == 1;
}

Test(run, shuffled_and_split_input_gives_identical_export)
{
    char *a = t_fmt("%s/a", dir), *b = t_fmt("%s/b", dir);
    cr_assert_eq(mkdir(a, 0700), 0);
    cr_assert_eq(mkdir(b, 0700), 0);
    t_fixture_small(a);
    t_fixture_small(b);

    /* b: every export shuffled (tickets.csv.gz rewritten as shuffled gzip)... */
    for (size_t i = 0; i < T_FIXTURE_FILE_COUNT; i++) {
        char *f = t_fmt("%s/%s", b, t_fixture_files[i]);
        size_t before_len, after_len;
        char *before = t_read_export(f, &before_len);
        t_shuffle_export(f, 0x5eed0000u + i);
        char *after = t_read_export(f, &after_len);
        cr_assert_eq(before_len + (before_len && before[before_len - 1] != '\n'), after_len,
                     "%s: shuffling changed the size", f);
        cr_assert(memcmp(before, after, before_len) != 0, "%s: the shuffle did not change the order", f);
        free(before);
        free(after);
        free(f);
    }
    /* ...and the CRM export split in two files read through a glob. */
    char *crm = t_fmt("%s/crm.csv", b), *part1 = t_fmt("%s/crm_part1.csv", b), *part2 = t_fmt("%s/crm_part2.csv", b);
    t_copy_file(crm, part1);
    t_copy_file(crm, part2);
    size_t dropped1 = t_filter_export(part1, keep_odd, NULL);
    size_t dropped2 = t_filter_export(part2, keep_even, NULL);
    cr_assert(dropped1 > 0 && dropped2 > 0);
    cr_assert_eq(unlink(crm), 0);
    char *yaml_a = t_fmt("%s/unify.yaml", a), *yaml_b = t_fmt("%s/unify.yaml", b);
    t_file_replace(yaml_b, "path: crm.csv", "path: crm_part*.csv");

    t_proc p = t_unify("run", "-c", yaml_a, "--quiet");
    t_assert_ok(p, "unify run (original order)");
    t_proc_free(&p);
    p = t_unify("run", "-c", yaml_b, "--quiet");
    t_assert_ok(p, "unify run (shuffled, split)");
    t_proc_free(&p);

    size_t len_a, len_b;
    char *members_a = t_export_members(yaml_a, &len_a);
    char *members_b = t_export_members(yaml_b, &len_b);
    cr_assert_gt(t_count_lines(members_a, len_a), 1000, "export too small");
    cr_assert_eq(len_a, len_b, "members export differs in size: %zu vs %zu bytes", len_a, len_b);
    if (memcmp(members_a, members_b, len_a) != 0) {
        size_t i = 0;
        while (members_a[i] == members_b[i])
            i++;
        while (i > 0 && members_a[i - 1] != '\n')
            i--;
        cr_assert_fail("members export differs from byte %zu:\n  original: %.120s\n  shuffled: %.120s", i,
                       members_a + i, members_b + i);
    }

    /* The golden records too: survivorship must not depend on row order. */
    p = t_unify("export", "-c", yaml_a, "--profiles", "-");
    t_assert_ok(p, "export --profiles (a)");
    t_proc q = t_unify("export", "-c", yaml_b, "--profiles", "-");
    t_assert_ok(q, "export --profiles (b)");
    if (p.out_len != q.out_len || memcmp(p.out, q.out, p.out_len) != 0) {
        size_t i = 0;
        while (i < p.out_len && i < q.out_len && p.out[i] == q.out[i])
            i++;
        size_t start = i > 200 ? i - 200 : 0;
        cr_expect_fail("profiles export differs from byte %zu:\n  original: ...%.400s\n  shuffled: ...%.400s", i,
                       p.out + start, q.out + start);
    }
    t_proc_free(&p);
    t_proc_free(&q);

    free(members_a);
    free(members_b);
    free(crm);
    free(part1);
    free(part2);
    free(yaml_a);
    free(yaml_b);
    free(a);
    free(b);
}

/* ------------------------------------------------------------------ */
/* Stable golden ids                                                   */
/* ------------------------------------------------------------------ */

static const char ids_config[] = "store:\n"
                                 "  path: store\n"
                                 "rejects: rejects.txt\n"
                                 "defaults:\n"
                                 "  country: US\n"
                                 "  date_order: MDY\n"
                                 "identifiers:\n"
                                 "  email: {strength: strong}\n"
                                 "sources:\n"
                                 "  - name: people\n"
                                 "    path: people.csv\n"
                                 "    format: csv\n"
                                 "    key: key\n"
                                 "    fields:\n"
                                 "      email: email\n"
                                 "      email2: email\n"
                                 "      first: first_name\n"
                                 "      last: last_name\n"
                                 "      dob: dob\n";

/*
 * Run 1:  X = {r1, r2} (e-mail a), Y = {r3} (e-mail b), Z = {r4, r5} (a shared
 * family address c), W = {r7, r8, r9} (shared address e). Names and dates of
 * birth differ where a part must not come back together by scoring.
 */
static const char people_run1[] = "key,email,email2,first,last,dob\n"
                                  "r1,alice.archer@mailhost.net,,Alice,Archer,1980-01-01\n"
                                  "r2,ALICE.ARCHER@mailhost.net,,Alice,Archer,1980-01-01\n"
                                  "r3,aarcher77@postbox.org,,Alice,Archer,\n"
                                  "r4,cole.family@mailhost.net,,Carl,Cole,1970-05-05\n"
                                  "r5,cole.family@mailhost.net,,Dora,Cole,1972-03-03\n"
                                  "r7,west.home@postbox.org,,Erin,West,1990-09-09\n"
                                  "r8,west.home@postbox.org,,Frank,West,1988-08-08\n"
                                  "r9,west.home@postbox.org,,Frank,West,1988-08-08\n";

/*
 * Run 2: r6 holds a and b (same name and dob as X) → X and Y merge; r5 moves
 * to d → Z splits 1:1 (tie: the earlier cluster, r4's, keeps Z); r7 moves to
 * g → W splits 1:2 (the larger part {r8, r9} keeps W although r7 comes first).
 */
static const char people_run2[] = "key,email,email2,first,last,dob\n"
                                  "r1,alice.archer@mailhost.net,,Alice,Archer,1980-01-01\n"
                                  "r2,ALICE.ARCHER@mailhost.net,,Alice,Archer,1980-01-01\n"
                                  "r3,aarcher77@postbox.org,,Alice,Archer,\n"
                                  "r4,cole.family@mailhost.net,,Carl,Cole,1970-05-05\n"
                                  "r5,dora.cole@postbox.org,,Dora,Cole,1972-03-03\n"
                                  "r6,alice.archer@mailhost.net,aarcher77@postbox.org,Alice,Archer,1980-01-01\n"
                                  "r7,erin.west@mailhost.net,,Erin,West,1990-09-09\n"
                                  "r8,west.home@postbox.org,,Frank,West,1988-08-08\n"
                                  "r9,west.home@postbox.org,,Frank,West,1988-08-08\n";

typedef struct ids_env {
    char *yaml, *csv, *store, *report;
} ids_env;

static ids_env ids_setup(void)
{
    ids_env e = {t_fmt("%s/unify.yaml", dir), t_fmt("%s/people.csv", dir), t_fmt("%s/store", dir),
                 t_fmt("%s/report.json", dir)};
    t_write_text(e.yaml, ids_config);
    return e;
}

static void ids_free(ids_env *e)
{
    free(e->yaml);
    free(e->csv);
    free(e->store);
    free(e->report);
}

/* Write people.csv, run, return the members export; *report and *log get the report JSON and stderr. */
static char *ids_run(const ids_env *e, const char *people, char **report, char **log)
{
    t_write_text(e->csv, people);
    t_proc p = t_unify("run", "-c", e->yaml, "--report", e->report);
    t_assert_ok(p, "unify run");
    *log = p.err;
    free(p.out);
    *report = t_read_file(e->report, NULL);
    cr_assert(t_json_valid(*report, strlen(*report)), "report is not JSON: %s", *report);
    return t_export_members(e->yaml, NULL);
}

static uint64_t golden_of(const char *members, const char *key)
{
    char g[24];
    t_member_golden(members, "people", key, g);
    uint64_t id = 0;
    cr_assert_eq(uf_golden_id_parse(g, &id), UF_OK, "record people:%s has no golden id in:\n%s", key, members);
    return id;
}

static void expect_golden_ids(const char *report, uint64_t kept, uint64_t fresh, uint64_t merged, uint64_t split,
                              uint64_t vanished, uint64_t redirects)
{
    const char *g = "\"golden_ids\":";
    cr_expect_eq(t_json_u64_at(report, g, "kept"), kept, "kept: %s", strstr(report, g));
    cr_expect_eq(t_json_u64_at(report, g, "new"), fresh, "new: %s", strstr(report, g));
    cr_expect_eq(t_json_u64_at(report, g, "merged"), merged, "merged: %s", strstr(report, g));
    cr_expect_eq(t_json_u64_at(report, g, "split"), split, "split: %s", strstr(report, g));
    cr_expect_eq(t_json_u64_at(report, g, "vanished"), vanished, "vanished: %s", strstr(report, g));
    cr_expect_eq(t_json_u64_at(report, g, "redirects"), redirects, "redirects: %s", strstr(report, g));
}

/* The run log in the store holds the same report as --report wrote (up to timings). */
static void expect_run_log(const ids_env *e, uint64_t run_id, const char *report)
{
    uf_store *s = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_store_open(e->store, &s, &err), UF_OK, "%s", err.message);
    uint64_t last = 0;
    char *stored = NULL;
    cr_assert_eq(uf_store_last_run(s, &last, &stored, NULL, &err), UF_OK, "%s", err.message);
    uf_store_close(s);
    cr_expect_eq(last, run_id, "last run id %" PRIu64 ", expected %" PRIu64, last, run_id);
    cr_expect_eq(t_json_u64_at(stored, NULL, "run_id"), run_id, "stored report: %s", stored);
    cr_expect_eq(t_json_u64_at(report, NULL, "run_id"), run_id, "--report: %s", report);
    const char *keys[] = {"kept", "new", "merged", "split", "vanished", "redirects"};
    for (size_t i = 0; i < 6; i++)
        cr_expect_eq(t_json_u64_at(stored, "\"golden_ids\":", keys[i]), t_json_u64_at(report, "\"golden_ids\":", keys[i]),
                     "run log and --report disagree on golden_ids.%s:\n%s\n%s", keys[i], stored, report);
    free(stored);
}

Test(run, golden_ids_are_stable_across_runs)
{
    ids_env e = ids_setup();
    char *report, *log;

    /* Run 1. */
    char *m1 = ids_run(&e, people_run1, &report, &log);
    uint64_t X = golden_of(m1, "r1"), Y = golden_of(m1, "r3"), Z = golden_of(m1, "r4"), W = golden_of(m1, "r7");
    cr_assert_eq(golden_of(m1, "r2"), X, "run 1: r1 and r2 share an e-mail:\n%s", m1);
    cr_assert_eq(golden_of(m1, "r5"), Z, "run 1: r4 and r5 share an e-mail:\n%s", m1);
    cr_assert_eq(golden_of(m1, "r8"), W, "run 1:\n%s", m1);
    cr_assert_eq(golden_of(m1, "r9"), W, "run 1:\n%s", m1);
    cr_assert(X != Y && X != Z && X != W && Y != Z && Y != W && Z != W, "run 1: four profiles expected:\n%s", m1);
    uint64_t max1 = X > Y ? X : Y;
    max1 = max1 > Z ? max1 : Z;
    max1 = max1 > W ? max1 : W;
    expect_golden_ids(report, 0, 4, 0, 0, 0, 0);
    expect_run_log(&e, 1, report);
    free(report);
    free(log);

    /* Run 2: merge X+Y, split Z 1:1, split W 1:2. */
    char *m2 = ids_run(&e, people_run2, &report, &log);
    cr_expect_eq(golden_of(m2, "r1"), X, "merged cluster must keep X (most records, oldest):\n%s", m2);
    cr_expect_eq(golden_of(m2, "r2"), X, "%s", m2);
    cr_expect_eq(golden_of(m2, "r3"), X, "%s", m2);
    cr_expect_eq(golden_of(m2, "r6"), X, "%s", m2);
    cr_expect_eq(golden_of(m2, "r4"), Z, "1:1 split: the earlier cluster (r4) keeps Z:\n%s", m2);
    uint64_t n5 = golden_of(m2, "r5");
    cr_expect(n5 > max1, "r5's new id %" PRIu64 " must be above every earlier id (%" PRIu64 "):\n%s", n5, max1, m2);
    cr_expect_eq(golden_of(m2, "r8"), W, "1:2 split: the larger part keeps W:\n%s", m2);
    cr_expect_eq(golden_of(m2, "r9"), W, "%s", m2);
    uint64_t n7 = golden_of(m2, "r7");
    cr_expect(n7 > max1 && n7 != n5, "r7's new id %" PRIu64 " must be fresh:\n%s", n7, m2);
    expect_golden_ids(report, 3, 2, 1, 2, 0, 1);
    expect_run_log(&e, 2, report);
    cr_expect(strstr(log, "golden ids: 3 kept, 2 new, 1 merged, 2 split"), "run log on stderr:\n%s", log);
    free(report);
    free(log);

    /* Y redirects to X. */
    char y_text[24], x_text[24];
    uf_golden_id_format(Y, y_text);
    uf_golden_id_format(X, x_text);
    t_proc p = t_unify("lookup", "-c", e.yaml, "--golden", y_text);
    t_assert_ok(p, "lookup --golden Y after the merge");
    char shown[24];
    t_profile_golden(p.out, shown);
    cr_expect_str_eq(shown, x_text, "--golden %s must print %s's profile: %s", y_text, x_text, p.out);
    cr_expect(strstr(p.err, "merged") && strstr(p.err, x_text), "stderr must say %s was merged into %s: %s", y_text,
              x_text, p.err);
    cr_expect(strstr(p.out, "\"r6\"") && strstr(p.out, "\"r3\""), "%s", p.out);
    t_proc_free(&p);

    /* Run 3: unchanged input → every id kept, the redirect still resolves. */
    char *m3 = ids_run(&e, people_run2, &report, &log);
    cr_expect_str_eq(m3, m2, "an unchanged run must keep every id");
    expect_golden_ids(report, 5, 0, 0, 0, 0, 1);
    expect_run_log(&e, 3, report);
    free(report);
    free(log);
    p = t_unify("lookup", "-c", e.yaml, "--golden", y_text);
    t_assert_ok(p, "lookup --golden Y after run 3");
    t_profile_golden(p.out, shown);
    cr_expect_str_eq(shown, x_text, "%s", p.out);
    t_proc_free(&p);

    /* Run 4: r5 (alone in its profile) disappears → its id stops resolving. */
    char *people4 = strdup(people_run2);
    char *r5 = strstr(people4, "r5,");
    memmove(r5, strchr(r5, '\n') + 1, strlen(strchr(r5, '\n') + 1) + 1);
    char *m4 = ids_run(&e, people4, &report, &log);
    expect_golden_ids(report, 4, 0, 0, 0, 1, 1);
    cr_expect_eq(golden_of(m4, "r4"), Z);
    cr_expect_eq(golden_of(m4, "r7"), n7);
    char n5_text[24];
    uf_golden_id_format(n5, n5_text);
    p = t_unify("lookup", "-c", e.yaml, "--golden", n5_text);
    cr_expect_eq(p.exit_code, 3, "lookup of a vanished id: exit %d, stdout %s, stderr %s", p.exit_code, p.out, p.err);
    cr_expect(strstr(p.err, "not found"), "%s", p.err);
    t_proc_free(&p);
    p = t_unify("lookup", "-c", e.yaml, "--record", "people:r5");
    cr_expect_eq(p.exit_code, 3, "lookup of a vanished record: exit %d, %s", p.exit_code, p.err);
    t_proc_free(&p);
    p = t_unify("lookup", "-c", e.yaml, "--golden", y_text);
    t_assert_ok(p, "lookup --golden Y after run 4");
    t_profile_golden(p.out, shown);
    cr_expect_str_eq(shown, x_text, "%s", p.out);
    t_proc_free(&p);
    free(report);
    free(log);

    free(people4);
    free(m1);
    free(m2);
    free(m3);
    free(m4);
    ids_free(&e);
}

/*
 * Redirects are carried across runs and re-pointed: Q merges into P, then P
 * merges into R (R holds more of the new cluster's records, so R's id is
 * kept, run_ids.c) — Q's redirect must now lead to R, in one lookup.
 */
Test(run, redirects_are_repointed_across_merges)
{
    ids_env e = ids_setup();
    const char *base = "key,email,email2,first,last,dob\n"
                       "p1,p.person@mailhost.net,,Ann,Ames,1980-01-01\n"
                       "q1,q.person@mailhost.net,,Ann,Ames,1980-01-01\n"
                       "r1,r.person@mailhost.net,,Ann,Ames,1980-01-01\n"
                       "r2,r.person@mailhost.net,,Ann,Ames,1980-01-01\n"
                       "r3,r.person@mailhost.net,,Ann,Ames,1980-01-01\n"
                       "r4,r.person@mailhost.net,,Ann,Ames,1980-01-01\n";
    char *run2 = t_fmt("%spq,p.person@mailhost.net,q.person@mailhost.net,Ann,Ames,1980-01-01\n", base);
    char *run3 = t_fmt("%spr,p.person@mailhost.net,r.person@mailhost.net,Ann,Ames,1980-01-01\n", run2);
    char *report, *log;
    char *m1 = ids_run(&e, base, &report, &log);
    uint64_t P = golden_of(m1, "p1"), Q = golden_of(m1, "q1"), R = golden_of(m1, "r1");
    cr_assert(P != Q && Q != R && P != R, "%s", m1);
    free(report);
    free(log);
    char *m2 = ids_run(&e, run2, &report, &log);
    cr_expect_eq(golden_of(m2, "q1"), P, "%s", m2);
    expect_golden_ids(report, 2, 0, 1, 0, 0, 1);
    free(report);
    free(log);
    char *m3 = ids_run(&e, run3, &report, &log);
    cr_expect_eq(golden_of(m3, "p1"), R, "R holds 4 of the 8 records, P 3: R's id is kept:\n%s", m3);
    expect_golden_ids(report, 1, 0, 1, 0, 0, 2);
    free(report);
    free(log);
    char want[24];
    uf_golden_id_format(R, want);
    uint64_t old[2] = {P, Q};
    for (int i = 0; i < 2; i++) {
        char g[24], shown[24];
        uf_golden_id_format(old[i], g);
        t_proc p = t_unify("lookup", "-c", e.yaml, "--golden", g);
        t_assert_ok(p, "lookup of a redirected id");
        t_profile_golden(p.out, shown);
        cr_expect_str_eq(shown, want, "%s must lead to %s", g, want);
        t_proc_free(&p);
    }
    /* In-process: the resolved id is reported. */
    uf_store *s = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_store_open(e.store, &s, &err), UF_OK, "%s", err.message);
    char *json = NULL;
    uint64_t resolved = 0;
    cr_expect_eq(uf_store_profile_json(s, Q, &json, NULL, &resolved, &err), UF_OK, "%s", err.message);
    cr_expect_eq(resolved, R);
    free(json);
    uf_store_close(s);
    free(m1);
    free(m2);
    free(m3);
    free(run2);
    free(run3);
    ids_free(&e);
}

/* ------------------------------------------------------------------ */
/* Bad files leave the store as it was                                 */
/* ------------------------------------------------------------------ */

typedef enum bad_file { BAD_MISSING, BAD_GZIP, BAD_COLUMN } bad_file;

static void bad_file_leaves_store(bad_file what)
{
    t_prepared_copy(dir, t_prepare_small_run);
    char *yaml = t_fmt("%s/unify.yaml", dir), *store = t_fmt("%s/store", dir);
    size_t len1;
    char *before = t_export_members(yaml, &len1);
    t_proc p = t_unify("export", "-c", yaml, "--profiles", "-");
    t_assert_ok(p, "export --profiles");
    char *profiles_before = p.out;
    free(p.err);
    cr_assert_eq(t_last_run_id(store), 1);

    const char *file = NULL, *reason = NULL;
    char *path = NULL;
    switch (what) {
    case BAD_MISSING:
        file = "app_installs.jsonl";
        reason = "No such file";
        path = t_fmt("%s/%s", dir, file);
        cr_assert_eq(unlink(path), 0);
        break;
    case BAD_GZIP: {
        file = "tickets.csv.gz";
        reason = "gzip";
        path = t_fmt("%s/%s", dir, file);
        size_t len;
        char *gz = t_read_file(path, &len);
        cr_assert_gt(len, 200);
        for (size_t i = len / 2; i < len / 2 + 64; i++)
            gz[i] ^= 0x5a; /* damage the deflate stream in the middle */
        t_write_file(path, gz, len);
        free(gz);
        break;
    }
    case BAD_COLUMN:
        file = "crm.csv";
        reason = "'email'";
        path = t_fmt("%s/%s", dir, file);
        t_file_replace(path, ",email,", ",e_mail,"); /* the header names the column differently */
        break;
    }
    p = t_unify("run", "-c", yaml);
    cr_expect_eq(p.exit_code, 1, "run with a bad %s: exit %d (signal %d), stderr %s", file, p.exit_code, p.signal,
                 p.err);
    cr_expect(strstr(p.err, file), "stderr must name %s: %s", file, p.err);
    cr_expect(strstr(p.err, reason), "stderr must say why (%s): %s", reason, p.err);
    t_proc_free(&p);

    size_t len2;
    char *after = t_export_members(yaml, &len2);
    cr_expect(len1 == len2 && memcmp(before, after, len1) == 0, "a failed run changed the members");
    p = t_unify("export", "-c", yaml, "--profiles", "-");
    t_assert_ok(p, "export --profiles");
    cr_expect_str_eq(p.out, profiles_before, "a failed run changed the profiles");
    t_proc_free(&p);
    cr_expect_eq(t_last_run_id(store), 1, "a failed run must not log a run");
    free(before);
    free(after);
    free(profiles_before);
    free(path);
    free(yaml);
    free(store);
}

Test(run, missing_file_fails_and_keeps_store)
{
    bad_file_leaves_store(BAD_MISSING);
}

Test(run, corrupt_gzip_fails_and_keeps_store)
{
    bad_file_leaves_store(BAD_GZIP);
}

Test(run, missing_mapped_column_fails_and_keeps_store)
{
    bad_file_leaves_store(BAD_COLUMN);
}

/* A report path that cannot be written fails the run before it changes the store. */
Test(run, unwritable_report_fails_before_the_store_changes)
{
    ids_env e = ids_setup();
    char *report, *log;
    char *m1 = ids_run(&e, people_run1, &report, &log);
    free(report);
    free(log);
    t_write_text(e.csv, people_run2);
    char *bad = t_fmt("%s/no-such-folder/report.json", dir);
    t_proc p = t_unify("run", "-c", e.yaml, "--report", bad);
    cr_expect_eq(p.exit_code, 1, "exit %d: %s", p.exit_code, p.err);
    cr_expect(strstr(p.err, "no-such-folder/report.json"), "stderr names the report: %s", p.err);
    t_proc_free(&p);
    cr_expect_eq(t_last_run_id(e.store), 1, "a run that exits 1 must not have committed");
    char *m2 = t_export_members(e.yaml, NULL);
    cr_expect_str_eq(m2, m1);
    free(m2);
    /* A failing run leaves no empty report behind; an existing report survives it. */
    t_write_text(e.report, "previous report\n");
    char *missing = t_fmt("%s/people.csv", dir);
    cr_assert_eq(unlink(missing), 0);
    p = t_unify("run", "-c", e.yaml, "--report", e.report);
    cr_expect_eq(p.exit_code, 1);
    t_proc_free(&p);
    char *kept = t_read_file(e.report, NULL);
    cr_expect_str_eq(kept, "previous report\n", "a failed run must not truncate the last report");
    free(kept);
    char *fresh = t_fmt("%s/fresh-report.json", dir);
    p = t_unify("run", "-c", e.yaml, "--report", fresh);
    cr_expect_eq(p.exit_code, 1);
    t_proc_free(&p);
    cr_expect_not(t_exists(fresh), "a failed run must not leave an empty report file");
    free(fresh);
    free(missing);
    free(bad);
    free(m1);
    ids_free(&e);
}

/* ------------------------------------------------------------------ */
/* Bad rows are rejected, counted, and the run goes on                 */
/* ------------------------------------------------------------------ */

/* crm's counters in a run report (crm is the first source of the fixture). */
static uint64_t crm_counter(const char *report, const char *key)
{
    const char *crm = strstr(report, "{\"name\":\"crm\"");
    cr_assert_not_null(crm, "no crm source in %s", report);
    const char *next = strstr(crm + 1, "{\"name\":");
    char *k = t_fmt("\"%s\":", key);
    const char *at = strstr(crm, k);
    free(k);
    if (!at || (next && at > next))
        return 0; /* a reason that did not occur is not listed */
    return t_json_u64_at(crm, NULL, key);
}

Test(run, bad_rows_are_rejected_with_file_line_reason)
{
    t_prepared_copy(dir, t_prepare_small_run); /* the baseline run and its report */
    char *yaml = t_fmt("%s/unify.yaml", dir), *report_path = t_fmt("%s/report.json", dir);
    char *crm = t_fmt("%s/crm.csv", dir), *rejects = t_fmt("%s/rejects.txt", dir);
    t_proc p;
    char *base = t_read_file(report_path, NULL);
    uint64_t base_read = crm_counter(base, "rows_read"), base_records = crm_counter(base, "records");
    uint64_t base_total = crm_counter(base, "rejected_total");
    uint64_t base_cols = crm_counter(base, "column_count"), base_quote = crm_counter(base, "unbalanced_quote");
    uint64_t base_utf8 = crm_counter(base, "invalid_utf8");

    /* Insert a short row after data row 2, invalid UTF-8 after data row 4, an unclosed quote at the end. */
    size_t len;
    char *data = t_read_file(crm, &len);
    t_row *rows;
    size_t n = t_split_rows(data, len, true, &rows);
    cr_assert_gt(n, 10);
    t_buf out = {0};
    size_t line = 0, line_columns = 0, line_utf8 = 0, line_quote = 0;
    for (size_t i = 0; i < n; i++) {
        t_buf_add_row(&out, rows[i]);
        line += t_count_lines(rows[i].ptr, rows[i].len);
        if (i == 2) {
            t_buf_add(&out, "CUBAD00001,Too,Few,Columns\n", strlen("CUBAD00001,Too,Few,Columns\n"));
            line_columns = ++line;
        } else if (i == 4) {
            /* the header's 12 columns, with a Latin-1 byte in the first name */
            const char bad[] = "CUBAD00002,Ren\xe9,Dubois,rene.dubois@mailhost.net,,01/02/1970,1 Main St,Springfield,"
                               "12345,US,retail,2024-01-01T00:00:00Z\n";
            t_buf_add(&out, bad, strlen(bad));
            line_utf8 = ++line;
        }
    }
    const char quote[] = "CUBAD00003,\"Never,Closed,x@mailhost.net,,01/02/1970,x,y,12345,US,retail,2024-01-01T00:00:00Z\n";
    t_buf_add(&out, quote, strlen(quote));
    line_quote = ++line;
    t_write_file(crm, out.data, out.len);
    free(out.data);
    free(rows);
    free(data);

    p = t_unify("run", "-c", yaml, "--report", report_path);
    t_assert_ok(p, "run with bad rows");
    cr_expect(strstr(p.err, "rejected"), "the run log mentions rejects: %s", p.err);
    t_proc_free(&p);

    char *list = t_read_file(rejects, NULL);
    char *want_cols = t_fmt("crm.csv:%zu: column_count\n", line_columns);
    char *want_utf8 = t_fmt("crm.csv:%zu: invalid_utf8\n", line_utf8);
    char *want_quote = t_fmt("crm.csv:%zu: unbalanced_quote\n", line_quote);
    cr_expect(strstr(list, want_cols), "rejects file lacks '%s':\n%.3000s", want_cols, list);
    cr_expect(strstr(list, want_utf8), "rejects file lacks '%s':\n%.3000s", want_utf8, list);
    cr_expect(strstr(list, want_quote), "rejects file lacks '%s':\n%.3000s", want_quote, list);
    /* Every line of the rejects file has the file:line: reason shape. */
    for (const char *l = list; *l; l = strchr(l, '\n') + 1) {
        const char *colon = strstr(l, ": ");
        const char *nl = strchr(l, '\n');
        cr_assert_not_null(nl, "unterminated rejects line: %s", l);
        cr_expect(colon && colon < nl && colon > l && isdigit((unsigned char)colon[-1]), "bad rejects line: %.*s",
                  (int)(nl - l), l);
    }

    char *report = t_read_file(report_path, NULL);
    cr_expect_eq(crm_counter(report, "rows_read"), base_read + 3, "%s", report);
    cr_expect_eq(crm_counter(report, "records"), base_records, "bad rows must not become records: %s", report);
    cr_expect_eq(crm_counter(report, "rejected_total"), base_total + 3, "%s", report);
    cr_expect_eq(crm_counter(report, "column_count"), base_cols + 1, "%s", report);
    cr_expect_eq(crm_counter(report, "invalid_utf8"), base_utf8 + 1, "%s", report);
    cr_expect_eq(crm_counter(report, "unbalanced_quote"), base_quote + 1, "%s", report);
    char *store = t_fmt("%s/store", dir);
    cr_expect_eq(t_last_run_id(store), 2);
    free(store);

    free(report);
    free(list);
    free(want_cols);
    free(want_utf8);
    free(want_quote);
    free(base);
    free(yaml);
    free(report_path);
    free(crm);
    free(rejects);
}

/* ------------------------------------------------------------------ */
/* One writer at a time                                                */
/* ------------------------------------------------------------------ */

Test(run, second_run_fails_while_lock_is_held)
{
    t_prepared_copy(dir, t_prepare_small_run);
    char *yaml = t_fmt("%s/unify.yaml", dir), *store = t_fmt("%s/store", dir);
    t_proc p;
    size_t len1;
    char *before = t_export_members(yaml, &len1);

    /* Hold the writers' lock as a run would (a copied store has no lock file yet: a run creates it). */
    char *lock = t_fmt("%s/unify.lock", store);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    cr_assert(fd >= 0, "%s: %s", lock, strerror(errno));
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0, "flock: %s", strerror(errno));
    double t0 = t_now();
    p = t_unify("run", "-c", yaml);
    double waited = t_now() - t0;
    cr_expect_eq(p.exit_code, 1, "run while the lock is held: exit %d, stderr %s", p.exit_code, p.err);
    cr_expect(strstr(p.err, "another unify run is writing"), "stderr: %s", p.err);
    cr_expect(strstr(p.err, store), "stderr names the store: %s", p.err);
    cr_expect_lt(waited, 20.0, "the second run must fail at once, not wait (%.1fs)", waited);
    t_proc_free(&p);
    size_t len2;
    char *after = t_export_members(yaml, &len2); /* readers never take the lock */
    cr_expect(len1 == len2 && memcmp(before, after, len1) == 0);
    cr_expect_eq(t_last_run_id(store), 1);
    free(after);

    /* Released: the next run goes through. */
    close(fd);
    p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "run after the lock was released");
    t_proc_free(&p);
    cr_expect_eq(t_last_run_id(store), 2);
    free(before);
    free(lock);
    free(yaml);
    free(store);
}

Test(run, second_run_fails_while_first_is_running)
{
    t_fixture_small(dir);
    char *yaml = t_fmt("%s/unify.yaml", dir), *store = t_fmt("%s/store", dir);

    /* The first run on a fresh store, frozen right before its write stage. */
    t_child first;
    t_child_start(&first, (char *const[]){(char *)T_UNIFY, "run", "-c", yaml, "--progress", NULL});
    bool at_write = t_child_wait_line(&first, "unify: ids", 120);
    if (at_write)
        cr_assert_eq(kill(first.pid, SIGSTOP), 0);
    cr_assert(at_write, "the first run never reached its write stage: %s", first.err.data);

    t_proc p = t_unify("run", "-c", yaml);
    char *pid = t_fmt("pid %ld", (long)first.pid);
    cr_expect_eq(p.exit_code, 1, "second run: exit %d, stderr %s", p.exit_code, p.err);
    cr_expect(strstr(p.err, "another unify run is writing"), "stderr: %s", p.err);
    cr_expect(strstr(p.err, pid), "stderr names the holder (%s): %s", pid, p.err);
    t_proc_free(&p);

    cr_assert_eq(kill(first.pid, SIGCONT), 0);
    t_proc done = t_child_wait(&first);
    t_assert_ok(done, "the first run, resumed");
    t_proc_free(&done);
    cr_expect_eq(t_last_run_id(store), 1, "only the first run is logged");
    free(pid);
    free(yaml);
    free(store);
}

/* ------------------------------------------------------------------ */
/* Superseded rows: the most recent wins, whatever the row order       */
/* ------------------------------------------------------------------ */

static const char dup_config[] = "store:\n"
                                 "  path: store\n"
                                 "rejects: rejects.txt\n"
                                 "identifiers:\n"
                                 "  email: {strength: strong}\n"
                                 "sources:\n"
                                 "  - name: people\n"
                                 "    path: people*.csv\n"
                                 "    format: csv\n"
                                 "    key: key\n"
                                 "    updated_at: ts\n"
                                 "    fields:\n"
                                 "      email: email\n"
                                 "      first: first_name\n"
                                 "      last: last_name\n";

/* r1 three times (the 2024 row is the newest), r2 twice (the newest in the second file). */
static const char *const dup_rows[] = {
    "r1,old.one@mailhost.net,Ann,Old,2021-05-01T10:00:00Z\n",
    "r1,new.one@mailhost.net,Ann,New,2024-05-01T10:00:00Z\n",
    "r1,mid.one@mailhost.net,Ann,Mid,2023-05-01T10:00:00Z\n",
    "r2,bob.first@postbox.org,Bob,First,2022-01-01T00:00:00Z\n",
    "r3,carla@postbox.org,Carla,Alone,2022-01-01T00:00:00Z\n",
};

Test(run, superseded_rows_keep_the_most_recent_in_any_order)
{
    char *yaml = t_fmt("%s/unify.yaml", dir), *report_path = t_fmt("%s/report.json", dir);
    t_write_text(yaml, dup_config);
    char *first_export = NULL;
    /* Three orders of the same rows, the newest r2 always in the second file. */
    static const int orders[3][5] = {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 4, 0, 3, 1}};
    for (int o = 0; o < 3; o++) {
        char *store = t_fmt("%s/store", dir);
        t_rmtree(store);
        free(store);
        t_buf a = {0};
        t_buf_add(&a, "key,email,first,last,ts\n", strlen("key,email,first,last,ts\n"));
        for (int i = 0; i < 5; i++)
            t_buf_add(&a, dup_rows[orders[o][i]], strlen(dup_rows[orders[o][i]]));
        char *pa = t_fmt("%s/people_a.csv", dir), *pb = t_fmt("%s/people_b.csv", dir);
        t_write_file(pa, a.data, a.len);
        t_write_text(pb, "key,email,first,last,ts\nr2,bob.second@postbox.org,Bob,Second,2025-01-01T00:00:00Z\n");
        free(a.data);
        free(pa);
        free(pb);

        t_proc p = t_unify("run", "-c", yaml, "--quiet", "--report", report_path);
        t_assert_ok(p, "run");
        t_proc_free(&p);
        char *report = t_read_file(report_path, NULL);
        cr_expect_eq(t_json_u64_at(report, "{\"name\":\"people\"", "superseded"), 3, "order %d: %s", o, report);
        cr_expect_eq(t_json_u64_at(report, "{\"name\":\"people\"", "records"), 3, "order %d: %s", o, report);
        free(report);

        p = t_unify("lookup", "-c", yaml, "--record", "people:r1");
        t_assert_ok(p, "lookup r1");
        cr_expect(strstr(p.out, "new.one@mailhost.net") && !strstr(p.out, "old.one@") && !strstr(p.out, "mid.one@"),
                  "order %d: r1 must be its 2024 row only: %s", o, p.out);
        t_proc_free(&p);
        p = t_unify("lookup", "-c", yaml, "--email", "old.one@mailhost.net");
        cr_expect_eq(p.exit_code, 3, "order %d: a superseded row's e-mail must not be indexed (exit %d)", o,
                     p.exit_code);
        t_proc_free(&p);
        p = t_unify("lookup", "-c", yaml, "--record", "people:r2");
        t_assert_ok(p, "lookup r2");
        cr_expect(strstr(p.out, "bob.second@postbox.org") && !strstr(p.out, "bob.first@"),
                  "order %d: r2 must be its 2025 row: %s", o, p.out);
        t_proc_free(&p);

        p = t_unify("export", "-c", yaml, "--profiles", "-");
        t_assert_ok(p, "export");
        if (!first_export)
            first_export = strdup(p.out);
        else
            cr_expect_str_eq(p.out, first_export, "order %d gives other profiles", o);
        t_proc_free(&p);
    }
    free(first_export);
    free(yaml);
    free(report_path);
}

/* ------------------------------------------------------------------ */
/* Keys that need quoting                                              */
/* ------------------------------------------------------------------ */

Test(run, odd_record_keys_round_trip)
{
    char *yaml = t_fmt("%s/unify.yaml", dir), *csv = t_fmt("%s/people.csv", dir);
    t_write_text(yaml, ids_config);
    t_write_text(csv, "key,email,email2,first,last,dob\n"
                      "\"r,1\"\"x\",alice.archer@mailhost.net,,Alice,Archer,1980-01-01\n"
                      "\"multi\nline\",bob.b@mailhost.net,,Bob,B,1980-01-01\n"
                      "r:3,carl.c@mailhost.net,,Carl,C,\n"
                      "Ünïcødé-4,dora.d@mailhost.net,,Dora,D,\n");
    t_proc p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "run");
    t_proc_free(&p);

    size_t len;
    char *members = t_export_members(yaml, &len);
    t_row *rows;
    size_t n = t_split_rows(members, len, true, &rows);
    cr_assert_eq(n, 5, "header + 4 rows expected:\n%s", members);
    const char *want[] = {"multi\nline", "r,1\"x", "r:3", "Ünïcødé-4"}; /* byte order */
    for (size_t i = 1; i < n; i++) {
        char *f[4];
        size_t fn = t_csv_fields(rows[i], ',', f, 4);
        cr_expect_eq(fn, 3, "row %zu: %.*s", i, (int)rows[i].len, rows[i].ptr);
        if (fn == 3) {
            cr_expect_str_eq(f[0], "people");
            cr_expect_str_eq(f[1], want[i - 1], "row %zu key", i);
            /* The key as exported finds the record again. */
            char *rec = t_fmt("people:%s", f[1]);
            t_proc q = t_unify("lookup", "-c", yaml, "--record", rec);
            cr_expect_eq(q.exit_code, 0, "lookup --record '%s': exit %d %s", rec, q.exit_code, q.err);
            cr_expect(q.exit_code != 0 || strstr(q.out, f[2]), "lookup --record '%s' found another profile", rec);
            t_proc_free(&q);
            free(rec);
        }
        t_free_fields(f, fn);
    }
    free(rows);
    free(members);
    free(yaml);
    free(csv);
}

/* ------------------------------------------------------------------ */
/* Eval: exact pair counts on a tiny store                             */
/* ------------------------------------------------------------------ */

Test(run, eval_counts_pairs_exactly)
{
    ids_env e = ids_setup();
    char *report, *log;
    char *members = ids_run(&e, people_run1, &report, &log);
    free(report);
    free(log);
    free(members);
    /*
     * Store: {r1,r2} {r3} {r4,r5} {r7,r8,r9}.  Truth: P1={r1,r2,r3} P2={r4}
     * P3={r5} P4={r7,r8}; r9 has no truth; r99 is not stored.
     * Scored 7. Predicted pairs 3 (r1r2, r4r5, r7r8), true pairs 4 (3 in P1,
     * r7r8), correct 2 → precision 2/3, recall 1/2, F1 4/7.
     */
    char *truth = t_fmt("%s/truth.csv", dir);
    t_write_text(truth, "source,record_key,customer_id\n"
                        "people,r1,P1\npeople,r2,P1\npeople,r3,P1\npeople,r4,P2\npeople,r5,P3\n"
                        "people,r7,P4\npeople,r8,P4\npeople,r99,P5\n");
    t_proc p = t_unify("eval", "-c", e.yaml, "--truth", truth, "--json");
    t_assert_ok(p, "eval --json");
    cr_assert(t_json_valid(p.out, p.out_len), "%s", p.out);
    cr_expect_float_eq(t_json_number_at(p.out, NULL, "precision"), 2.0 / 3.0, 1e-5, "%s", p.out);
    cr_expect_float_eq(t_json_number_at(p.out, NULL, "recall"), 0.5, 1e-5, "%s", p.out);
    cr_expect_float_eq(t_json_number_at(p.out, NULL, "f1"), 4.0 / 7.0, 1e-5, "%s", p.out);
    cr_expect_eq(t_json_u64_at(p.out, NULL, "correct_pairs"), 2, "%s", p.out);
    cr_expect_eq(t_json_u64_at(p.out, NULL, "predicted_pairs"), 3, "%s", p.out);
    cr_expect_eq(t_json_u64_at(p.out, NULL, "true_pairs"), 4, "%s", p.out);
    cr_expect_eq(t_json_u64_at(p.out, NULL, "records_scored"), 7, "%s", p.out);
    cr_expect_eq(t_json_u64_at(p.out, NULL, "records_without_truth"), 1, "%s", p.out);
    cr_expect_eq(t_json_u64_at(p.out, NULL, "truth_not_stored"), 1, "%s", p.out);
    cr_expect_eq(t_json_u64_at(p.out, NULL, "profiles"), 4, "%s", p.out);
    cr_expect_eq(t_json_u64_at(p.out, NULL, "true_customers"), 4, "%s", p.out);
    cr_expect_eq(t_json_u64_at(p.out, NULL, "largest_profile"), 2, "%s", p.out);
    t_proc_free(&p);

    /* The text report names the worst over- and under-merge. */
    char *members2 = t_export_members(e.yaml, NULL);
    char z[24];
    t_member_golden(members2, "people", "r4", z);
    p = t_unify("eval", "-c", e.yaml, "--truth", truth);
    t_assert_ok(p, "eval");
    const char *over = strstr(p.out, "over-merges");
    cr_expect(over && strstr(over, z), "the over-merge %s is listed:\n%s", z, p.out);
    const char *under = strstr(p.out, "under-merges");
    cr_expect(under && strstr(under, "P1"), "customer P1 is listed as split:\n%s", p.out);
    t_proc_free(&p);
    free(members2);

    /* Bad truth files are clear errors. */
    t_write_text(truth, "a,b,c\npeople,r1,P1\n");
    p = t_unify("eval", "-c", e.yaml, "--truth", truth);
    cr_expect_eq(p.exit_code, 1);
    cr_expect(strstr(p.err, "source,record_key,customer_id"), "%s", p.err);
    t_proc_free(&p);
    t_write_text(truth, "source,record_key,customer_id\npeople,r1,P1\npeople,r1,P2\n");
    p = t_unify("eval", "-c", e.yaml, "--truth", truth);
    cr_expect_eq(p.exit_code, 1);
    cr_expect(strstr(p.err, "twice"), "%s", p.err);
    t_proc_free(&p);
    char *missing = t_fmt("%s/no-truth.csv", dir);
    p = t_unify("eval", "-c", e.yaml, "--truth", missing);
    cr_expect_eq(p.exit_code, 1);
    cr_expect(strstr(p.err, "no-truth.csv"), "%s", p.err);
    t_proc_free(&p);
    free(missing);
    free(truth);
    ids_free(&e);
}

/* ------------------------------------------------------------------ */
/* --background, --cpus                                                */
/* ------------------------------------------------------------------ */

/* Run without options and return the members export (malloc'd): what the other runs must match. */
static char *members_after_plain_run(const char *yaml)
{
    t_proc p = t_unify("run", "-c", (char *)yaml, "--quiet");
    t_assert_ok(p, "unify run");
    t_proc_free(&p);
    p = t_unify("export", "-c", (char *)yaml, "--members", "-");
    t_assert_ok(p, "export after the plain run");
    char *members = p.out;
    p.out = NULL;
    t_proc_free(&p);
    return members;
}

Test(run, background_run_is_idle_class_and_writes_the_same_store)
{
    t_fixture_small(dir);
    char *yaml = t_fmt("%s/unify.yaml", dir);
    char *normal = members_after_plain_run(yaml);
    t_proc p;

    /* The run reads its policy back after setting it: SCHED_IDLE, no privileges needed. */
    p = t_unify("run", "-c", yaml, "--background");
    t_assert_ok(p, "unify run --background");
    cr_expect(strstr(p.err, "in the background (scheduling policy SCHED_IDLE"), "%s", p.err);
    t_proc_free(&p);
    p = t_unify("export", "-c", yaml, "--members", "-");
    t_assert_ok(p, "export after the background run");
    cr_expect_str_eq(p.out, normal, "a background run writes the same store");
    t_proc_free(&p);

    p = t_unify("run", "-c", yaml, "--background", "--quiet");
    t_assert_ok(p, "unify run --background --quiet");
    cr_expect_eq(p.err_len, 0, "--quiet stays quiet: %s", p.err);
    t_proc_free(&p);
    free(normal);
    free(yaml);
}

/*
 * part_size: big exports are read in parts by every thread. A run reading
 * the bundled fixture in 8 KiB parts (every plain file cut into 15-44
 * parts, most boundaries inside a row; the report says so) writes exactly
 * the store a run reading whole files writes, with the same per-source
 * counts in its report.
 */
Test(run, reading_in_parts_writes_the_same_store)
{
    t_fixture_small(dir);
    char *yaml = t_fmt("%s/unify.yaml", dir), *report = t_fmt("%s/report.json", dir);
    char *outputs[2][3];
    const char *sizes[2] = {"part_size: 0\nthreads: 2\n", "part_size: 8KiB\nthreads: 2\n"};
    for (int v = 0; v < 2; v++) {
        t_file_replace(yaml, v == 0 ? "threads: 2\n" : sizes[0], sizes[v]);
        t_proc p = t_unify("run", "-c", yaml, "--quiet", "--report", report);
        t_assert_ok(p, v == 0 ? "unify run, whole files" : "unify run, 8 KiB parts");
        t_proc_free(&p);
        p = t_unify("export", "-c", yaml, "--members", "-");
        t_assert_ok(p, "export members");
        outputs[v][0] = p.out;
        p.out = NULL;
        t_proc_free(&p);
        p = t_unify("export", "-c", yaml, "--profiles", "-");
        t_assert_ok(p, "export profiles");
        outputs[v][1] = p.out;
        p.out = NULL;
        t_proc_free(&p);
        /* The report's sources section: files, bytes, rows, records, rejects and value counts per source. */
        char *json = t_read_file(report, NULL);
        char *from = strstr(json, "\"sources\":"), *to = from ? strstr(from, "\"identifiers\":") : NULL;
        cr_assert(from && to, "report without sources: %.200s", json);
        /* The part counts differ by design: check them, then compare the rest. */
        size_t plain_sources = 0, split_sources = 0;
        t_buf rest = {0};
        for (const char *at = from; at < to;) {
            const char *parts = strstr(at, "\"parts\":");
            if (!parts || parts >= to) {
                t_buf_add(&rest, at, (size_t)(to - at));
                break;
            }
            t_buf_add(&rest, at, (size_t)(parts - at));
            char *end = NULL;
            unsigned long n = strtoul(parts + strlen("\"parts\":"), &end, 10);
            plain_sources += n == 1;
            split_sources += n > 1;
            at = end;
        }
        if (v == 0)
            cr_expect_eq(plain_sources, 5, "whole files: every source in 1 part");
        else
            cr_expect_eq(split_sources, 4, "8 KiB parts: every plain source split (the gzip one is read whole)");
        outputs[v][2] = rest.data;
        free(json);
    }
    cr_expect_str_eq(outputs[1][0], outputs[0][0], "members");
    cr_expect_str_eq(outputs[1][1], outputs[0][1], "profiles");
    cr_expect_str_eq(outputs[1][2], outputs[0][2], "the report's sources");
    for (int v = 0; v < 2; v++)
        for (int k = 0; k < 3; k++)
            free(outputs[v][k]);
    free(report);
    free(yaml);
}

/* --cpus: the run says where it runs and writes the same store; bad lists are usage errors. */
Test(run, cpus_option_pins_the_run_and_refuses_bad_lists)
{
    t_fixture_small(dir);
    char *yaml = t_fmt("%s/unify.yaml", dir);
    char *normal = members_after_plain_run(yaml);
    t_proc p;

    cpu_set_t allowed;
    cr_assert_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    int cpu = 0;
    while (!CPU_ISSET(cpu, &allowed))
        cpu++;
    char *list = t_fmt("%d", cpu), *said = t_fmt("unify run: on CPU %d\n", cpu);
    p = t_unify("run", "-c", yaml, "--cpus", list, "--background");
    t_assert_ok(p, "unify run --cpus");
    cr_expect(strstr(p.err, said), "%s", p.err);
    t_proc_free(&p);
    p = t_unify("export", "-c", yaml, "--members", "-");
    t_assert_ok(p, "export after the pinned run");
    cr_expect_str_eq(p.out, normal, "a pinned run writes the same store");
    t_proc_free(&p);

    static const struct {
        const char *list, *message;
    } bad[] = {
        {"", "expected a CPU number (0 to 1023) at the end"},
        {"0,", "at the end"},
        {"0-", "at the end"},
        {"x", "at 'x'"},
        {"0;1", "expected ',' or the end of the list at ';1'"},
        {"1-0", "range 1-0 runs backwards"},
        {"99999", "at '99999'"},
        {"1023", "CPU 1023 is not available (this process may use "},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = t_unify("run", "-c", yaml, "--cpus", (char *)bad[i].list);
        cr_expect_eq(p.exit_code, 2, "--cpus '%s': exit %d %s", bad[i].list, p.exit_code, p.err);
        cr_expect(strstr(p.err, bad[i].message), "--cpus '%s': %s", bad[i].list, p.err);
        t_proc_free(&p);
    }
    p = t_unify("run", "-c", yaml, "--cpus");
    cr_expect_eq(p.exit_code, 2, "--cpus without a list: exit %d", p.exit_code);
    cr_expect(strstr(p.err, "--cpus needs a list"), "%s", p.err);
    t_proc_free(&p);
    /* Nothing the refused runs did touched the store. */
    p = t_unify("export", "-c", yaml, "--members", "-");
    t_assert_ok(p, "export after the refused runs");
    cr_expect_str_eq(p.out, normal);
    t_proc_free(&p);
    free(said);
    free(list);
    free(normal);
    free(yaml);
}
