/*
 * test_run_crash.c — the run's one-transaction guarantee under fire, with
 * real processes on a generated fixture of CRASH_CUSTOMERS customers:
 *
 *  - kill -9 during the write stage: the store opens afterwards and holds
 *    exactly the previous generation (export byte-identical, last run id
 *    unchanged), or — when the run got to commit first — exactly the new
 *    one; a later normal run completes;
 *  - a reader in this process keeps looking a customer up through the C API
 *    while a `unify run` child commits a new generation: every lookup
 *    succeeds with a complete profile, and the reader moves to the new
 *    generation without reopening.
 *
 * The generation-2 reference is computed first on a copy of the
 * generation-1 store (runs are deterministic), so "exactly generation 2" is
 * checked byte for byte too.
 */
#include "test_support.h"

#include <pthread.h>
#include <stdatomic.h>

#define CRASH_CUSTOMERS 20000
#define CRASH_CUSTOMERS_SMALL 1000 /* UF_TEST_SMALL=1: the valgrind pass, where every run is ~30x slower */
#define CRASH_SEED 20240917u
#define KILL_ATTEMPTS 8
/* Stop starting attempts after this (sanitizer builds are slow); under valgrind (UF_TEST_SMALL) after the
 * first two, early in the write stage, which each take ~5 CPU-seconds there. */
#define KILL_BUDGET_SECONDS T_SMALL_OR(40.0, 0.0)

static char *dir, *yaml, *store;

static void setup(void)
{
    dir = t_mkdtemp("crash");
    t_fixture_generated(dir, T_SMALL_OR(CRASH_CUSTOMERS, CRASH_CUSTOMERS_SMALL), CRASH_SEED);
    yaml = t_fmt("%s/unify.yaml", dir);
    store = t_fmt("%s/store", dir);
}

static void teardown(void)
{
    t_rmtree(dir);
    free(dir);
    free(yaml);
    free(store);
}

TestSuite(crash, .init = setup, .fini = teardown, .timeout = 600);

/* Generation 2 differs from 1: every 10th POS row is gone. */
static bool keep_nine_of_ten(size_t index, void *ctx)
{
    (void)ctx;
    return index % 10 != 3;
}

static void change_exports_for_generation_2(void)
{
    char *pos = t_fmt("%s/store_loyalty.csv", dir);
    size_t dropped = t_filter_export(pos, keep_nine_of_ten, NULL);
    cr_assert_gt(dropped, 10);
    free(pos);
}

/* Seconds the write stage took, from a --progress log ("unify: write   1.23s ..."). */
static double stage_seconds(const char *log, const char *stage)
{
    char *prefix = t_fmt("unify: %s ", stage);
    const char *at = strstr(log, prefix);
    cr_assert_not_null(at, "no '%s' progress line in:\n%s", prefix, log);
    double s = strtod(at + strlen(prefix), NULL);
    free(prefix);
    return s;
}

static void expect_store_is(const char *expected, size_t expected_len, uint64_t run_id, const char *what)
{
    size_t len;
    char *now = t_export_members(yaml, &len);
    cr_assert(len == expected_len && memcmp(now, expected, len) == 0,
              "after %s the store does not hold the expected generation (members export differs)", what);
    cr_assert_eq(t_last_run_id(store), run_id, "after %s: last run id", what);
    free(now);
}

/* Which whole generation the store holds (1 or 2); fails when it is neither, exactly. */
static int generation_held(const char *gen1, size_t len1, const char *gen2, size_t len2, const char *what)
{
    size_t len;
    char *now = t_export_members(yaml, &len);
    uint64_t run_id = t_last_run_id(store);
    int gen = len == len1 && memcmp(now, gen1, len) == 0 ? 1 : len == len2 && memcmp(now, gen2, len) == 0 ? 2 : 0;
    free(now);
    cr_assert(gen != 0, "after %s the store holds neither whole generation (members export differs; last run %" PRIu64
              ")", what, run_id);
    cr_assert_eq(run_id, (uint64_t)gen, "after %s the store holds generation %d's records but last run id %" PRIu64,
                 what, gen, run_id);
    return gen;
}

Test(crash, kill_9_during_write_keeps_a_whole_generation)
{
    double t_start = t_now();

    /* A first run killed in its write stage leaves "no store" (not a broken one). */
    t_child first;
    t_child_start(&first, (char *const[]){(char *)T_UNIFY, "run", "-c", yaml, "--progress", NULL});
    bool first_at_write = t_child_wait_line(&first, "unify: ids", 300);
    if (first_at_write) {
        t_sleep_ms(20);
        kill(first.pid, SIGKILL);
    }
    t_proc k = t_child_wait(&first);
    cr_assert(first_at_write, "the first run never reached its write stage: %s", k.err);
    if (k.signal == SIGKILL) {
        t_proc_free(&k);
        k = t_unify("lookup", "-c", yaml, "--email", "someone@mailhost.net");
        if (k.exit_code == 3) {
            cr_log_info("the first run was killed after its commit");
            t_rmtree(store); /* start over: generation 1 below must be run 1 */
        } else {
            cr_expect_eq(k.exit_code, 1, "lookup after a killed first run: exit %d, %s", k.exit_code, k.err);
            cr_expect(strstr(k.err, "no store here"), "%s", k.err);
        }
    } else {
        /* A small fixture (UF_TEST_SMALL) on a fast machine: the run finished within the 20 ms. */
        cr_assert_eq(k.exit_code, 0, "the first run failed: %s", k.err);
        cr_log_info("the first run finished before the kill");
        t_rmtree(store); /* start over: generation 1 below must be run 1 */
    }
    t_proc_free(&k);

    /* Generation 1, to completion. */
    t_proc p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "generation 1");
    t_proc_free(&p);
    size_t len1;
    char *gen1 = t_export_members(yaml, &len1);
    cr_assert_eq(t_last_run_id(store), 1);
    char *saved = t_fmt("%s/gen1-store", dir);
    t_copy_store(store, saved);

    /* The generation-2 reference, on a copy of the store. */
    change_exports_for_generation_2();
    char *ref_yaml = t_fmt("%s/ref.yaml", dir), *ref_store = t_fmt("%s/ref-store", dir),
         *ref_rejects = t_fmt("%s/ref-rejects.txt", dir);
    t_copy_file(yaml, ref_yaml);
    t_config_set_paths(ref_yaml, ref_store, ref_rejects);
    t_copy_store(store, ref_store);
    p = t_unify("run", "-c", ref_yaml, "--progress");
    t_assert_ok(p, "generation 2 (reference)");
    double write_seconds = stage_seconds(p.err, "write"); /* what the killed runs will take */
    t_proc_free(&p);
    size_t len2;
    char *gen2 = t_export_members(ref_yaml, &len2);
    cr_assert(len1 != len2 || memcmp(gen1, gen2, len1) != 0, "generation 2 must differ from generation 1");
    cr_assert_eq(t_last_run_id(ref_store), 2);

    /* Kill runs at spread-out moments of their write stage. */
    double window_ms = write_seconds * 1000.0 * 1.2 + 2.0;
    uint64_t rng = 0xC0FFEEull ^ (uint64_t)time(NULL);
    unsigned killed = 0, late = 0, finished = 0, attempts = 0;
    cr_log_info("write stage of generation 2: %.3f s; kill window %.0f ms", write_seconds, window_ms);
    for (unsigned i = 0; i < KILL_ATTEMPTS && (attempts < 2 || t_now() - t_start < KILL_BUDGET_SECONDS); i++) {
        attempts++;
        double u = (double)(t_rand(&rng) % 1000) / 1000.0;
        double delay = ((double)i + u) / KILL_ATTEMPTS * window_ms;
        t_child c;
        t_child_start(&c, (char *const[]){(char *)T_UNIFY, "run", "-c", yaml, "--progress", NULL});
        bool at_write = t_child_wait_line(&c, "unify: ids", 300);
        if (at_write) {
            t_sleep_ms(delay);
            kill(c.pid, SIGKILL);
        }
        t_proc r = t_child_wait(&c);
        cr_assert(at_write, "attempt %u: the run never reached its write stage: exit %d\n%s", i, r.exit_code, r.err);
        if (r.signal == SIGKILL) {
            /* Killed: before its commit (generation 1 intact) or just after it (generation 2 whole). */
            int gen = generation_held(gen1, len1, gen2, len2, "kill -9");
            if (gen == 1) {
                killed++;
                cr_log_info("attempt %u: killed %.1f ms into the write stage, generation 1 intact", i, delay);
            } else {
                late++;
                cr_log_info("attempt %u: killed %.1f ms in, after the commit: generation 2 whole", i, delay);
            }
        } else {
            cr_assert_eq(r.exit_code, 0, "attempt %u: exit %d signal %d\n%s", i, r.exit_code, r.signal, r.err);
            finished++;
            cr_log_info("attempt %u: finished before the kill at %.1f ms", i, delay);
            expect_store_is(gen2, len2, 2, "a run that finished");
        }
        if (t_last_run_id(store) != 1) {
            t_copy_store(saved, store); /* back to generation 1 for the next attempt */
            expect_store_is(gen1, len1, 1, "restoring generation 1");
        }
        t_proc_free(&r);
    }
    cr_log_info("%u attempts: %u killed mid-run, %u killed after their commit, %u finished first (%.1f s)", attempts,
                killed, late, finished, t_now() - t_start);
    cr_assert_geq(killed, 1, "no kill hit a running write (%u attempts all finished first)", attempts);

    /* After the crashes a normal run goes through and writes generation 2. */
    p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "the run after the crashes");
    t_proc_free(&p);
    expect_store_is(gen2, len2, 2, "the run after the crashes");

    free(gen1);
    free(gen2);
    free(saved);
    free(ref_yaml);
    free(ref_store);
    free(ref_rejects);
}

/* ------------------------------------------------------------------ */
/* A reader while a run commits                                        */
/* ------------------------------------------------------------------ */

/*
 * Extra reader threads on the same handle (the API allows any number): they
 * look the customer up until told to stop and keep the first failure.
 * Criterion's asserts must stay on the test's own thread, so they report.
 */
typedef struct reader_thread {
    uf_store *store;
    const uf_config *config;
    const char *email;
    atomic_bool *stop;
    uint64_t lookups, failures;
    char first_failure[1400];
} reader_thread;

static void *reader_loop(void *arg)
{
    reader_thread *t = arg;
    uf_error err = {0};
    while (!atomic_load(t->stop)) {
        uint64_t ids[8];
        size_t count = 0;
        char *json = NULL;
        size_t len = 0;
        uint64_t resolved = 0;
        int rc = uf_lookup_identifier(t->store, t->config, "email", t->email, ids, 8, &count, &err);
        if (rc == UF_OK && count >= 1)
            rc = uf_store_profile_json(t->store, ids[0], &json, &len, &resolved, &err);
        bool ok = rc == UF_OK && count >= 1 && json && t_json_valid(json, len);
        if (ok) {
            char g[24], q[48];
            uf_golden_id_format(resolved, g);
            snprintf(q, sizeof q, "\"golden_id\":\"%s\"", g);
            ok = strstr(json, q) != NULL;
        }
        if (!ok && t->failures++ == 0)
            snprintf(t->first_failure, sizeof t->first_failure, "rc %d count %zu: %s / %.200s", rc, count,
                     err.message, json ? json : "");
        free(json);
        t->lookups++;
    }
    return NULL;
}

Test(crash, reader_sees_whole_generations_while_a_run_commits)
{
    t_proc p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "generation 1");
    t_proc_free(&p);

    uf_config *config = NULL;
    uf_store *s = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_config_load(yaml, &config, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_open(store, &s, &err), UF_OK, "%s", err.message);

    /* A known customer: the first CRM e-mail that one profile holds. */
    char *crm = t_fmt("%s/crm.csv", dir);
    size_t len;
    char *data = t_read_file(crm, &len);
    t_row *rows;
    size_t n = t_split_rows(data, len, true, &rows);
    char *header[32];
    size_t hn = t_csv_fields(rows[0], ',', header, 32);
    int ce = t_column(header, hn, "email");
    cr_assert_geq(ce, 0);
    char email[256] = "";
    uint64_t ids[8];
    size_t count = 0;
    for (size_t i = 1; i < n && !email[0]; i++) {
        char *f[32];
        size_t fn = t_csv_fields(rows[i], ',', f, 32);
        if (fn == hn && strlen(f[ce]) < sizeof email &&
            uf_lookup_identifier(s, config, "email", f[ce], ids, 8, &count, &err) == UF_OK && count == 1)
            strcpy(email, f[ce]);
        t_free_fields(f, fn);
    }
    t_free_fields(header, hn);
    free(rows);
    free(data);
    free(crm);
    cr_assert(email[0], "no CRM e-mail held by exactly one profile");
    cr_log_info("looking up %s while a run commits", email);

    change_exports_for_generation_2();
    atomic_bool stop;
    atomic_init(&stop, false);
    reader_thread threads[2];
    pthread_t tids[2];
    for (int i = 0; i < 2; i++) {
        threads[i] = (reader_thread){.store = s, .config = config, .email = email, .stop = &stop};
        cr_assert_eq(pthread_create(&tids[i], NULL, reader_loop, &threads[i]), 0);
    }
    t_child c;
    t_child_start(&c, (char *const[]){(char *)T_UNIFY, "run", "-c", yaml, NULL});
    uint64_t lookups = 0, in_gen2 = 0, last_run = 1;
    double t0 = t_now();
    for (bool done = false; !done;) {
        done = t_child_exited(&c); /* one more round after the child is gone */
        t_child_pump(&c, 0);
        for (int k = 0; k < 64; k++) {
            count = 0;
            int rc = uf_lookup_identifier(s, config, "email", email, ids, 8, &count, &err);
            cr_assert_eq(rc, UF_OK, "lookup %" PRIu64 " of %s failed during the run: %s", lookups, email, err.message);
            cr_assert_geq(count, 1, "lookup %" PRIu64 ": no profile holds %s", lookups, email);
            char *json = NULL;
            size_t jlen = 0;
            uint64_t resolved = 0;
            rc = uf_store_profile_json(s, ids[0], &json, &jlen, &resolved, &err);
            cr_assert_eq(rc, UF_OK, "profile of lookup %" PRIu64 " failed during the run: %s", lookups, err.message);
            cr_assert(t_json_valid(json, jlen), "lookup %" PRIu64 ": incomplete profile: %.300s", lookups, json);
            char g[24];
            uf_golden_id_format(resolved, g);
            char *q = t_fmt("\"golden_id\":\"%s\"", g);
            cr_assert(strstr(json, q), "lookup %" PRIu64 ": profile is not %s: %.300s", lookups, g, json);
            free(q);
            free(json);
            lookups++;
        }
        uint64_t run_id = 0;
        char *rep = NULL;
        cr_assert_eq(uf_store_last_run(s, &run_id, &rep, NULL, &err), UF_OK, "%s", err.message);
        free(rep);
        cr_assert(run_id == last_run || run_id == last_run + 1, "run id went from %" PRIu64 " to %" PRIu64,
                  last_run, run_id);
        cr_assert_leq(run_id, 2);
        last_run = run_id;
        if (run_id == 2)
            in_gen2++;
    }
    atomic_store(&stop, true);
    uint64_t thread_lookups = 0;
    for (int i = 0; i < 2; i++) {
        pthread_join(tids[i], NULL);
        cr_expect_eq(threads[i].failures, 0, "reader thread %d: %" PRIu64 " of %" PRIu64 " lookups failed, first: %s",
                     i, threads[i].failures, threads[i].lookups, threads[i].first_failure);
        thread_lookups += threads[i].lookups;
    }
    t_proc r = t_child_wait(&c);
    t_assert_ok(r, "the run under readers");
    t_proc_free(&r);
    double seconds = t_now() - t0;
    cr_log_info("%" PRIu64 " more lookups on 2 other threads of the same handle", thread_lookups);
    cr_expect_gt(thread_lookups, 0);
    cr_log_info("%" PRIu64 " lookups during %.2f s of run (%.0f/s); the reader saw generation 2 in %" PRIu64
                " rounds",
                lookups, seconds, (double)lookups / seconds, in_gen2);
    cr_expect_gt(lookups, 64, "the reader must have looked up during the run");
    cr_expect_eq(last_run, 2, "the open handle sees the new generation without reopening");
    cr_expect_geq(in_gen2, 1);

    uf_store_close(s);
    uf_config_free(config);
}
