/*
 * test_faults.c — unify under fault injection, with real processes on a
 * generated fixture (FAULT_CUSTOMERS customers, five channels):
 *
 *  - kill -9 of `unify run` at many random moments spread over a whole run
 *    (start-up, ingest, link, write, commit): afterwards the store always
 *    opens and holds exactly the previous generation or exactly the new one;
 *  - a full disk (RLIMIT_FSIZE in the child: works unprivileged; and a real
 *    ENOSPC on a small tmpfs where mounting is allowed) and a map that may
 *    not grow (store.max_map_size): a clear error, the old generation intact,
 *    and the next run with room succeeds;
 *  - a corrupt store (truncated data.mdb, overwritten meta pages, not an
 *    LMDB file, random byte flips) and a store of another format version:
 *    `unify lookup`, `unify run` and `unify export` exit with a clear error
 *    and are never killed by a signal;
 *  - exports that change while a run reads them (appended, truncated,
 *    rewritten in place) fail the run cleanly; one replaced by rename(2) is
 *    read whole, as it was when opened;
 *  - two runs at once on one store: the second refuses at once with a clear
 *    message, the first completes.
 *
 * UF_TEST_SMALL=1 (the valgrind pass of test.sh) shrinks the fixture and the
 * number of kills, since every `unify` child then runs under valgrind too.
 */
#define T_PREPARED_FIXTURE /* t_prepared_copy: one run of the fixture per program */
#include "test_support.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "stream.h"

#define FAULT_SEED 20261206u

static unsigned fault_customers(void)
{
    return T_SMALL_OR(30000, 1000);
}

static char *dir, *yaml, *store;
static char *gen1;      /* members export of generation 1 */
static size_t gen1_len;

/* Generation 2 differs from 1: every 10th POS row is gone. */
static bool keep_nine_of_ten(size_t index, void *ctx)
{
    (void)ctx;
    return index % 10 != 3;
}

static void change_exports_for_generation_2(void)
{
    char *pos = t_fmt("%s/store_loyalty.csv", dir);
    cr_assert_gt(t_filter_export(pos, keep_nine_of_ten, NULL), 10);
    free(pos);
}

/* The generated fixture and generation 1, committed, with its members export in gen1.members. */
static void prepare(const char *d)
{
    t_fixture_generated(d, fault_customers(), FAULT_SEED);
    char *y = t_fmt("%s/unify.yaml", d), *members = t_fmt("%s/gen1.members", d);
    t_proc p = t_unify("run", "-c", y, "--quiet");
    t_assert_ok(p, "generation 1");
    t_proc_free(&p);
    size_t len;
    char *text = t_export_members(y, &len);
    t_write_file(members, text, len);
    free(text);
    free(members);
    free(y);
}

/* A fresh copy of the fixture and generation 1, committed. */
static void setup(void)
{
    dir = t_mkdtemp("faults");
    t_prepared_copy(dir, prepare);
    yaml = t_fmt("%s/unify.yaml", dir);
    store = t_fmt("%s/store", dir);
    char *members = t_fmt("%s/gen1.members", dir);
    gen1 = t_read_file(members, &gen1_len);
    free(members);
    cr_assert_gt(gen1_len, 100);
}

static void teardown(void)
{
    t_rmtree(dir);
    free(dir);
    free(yaml);
    free(store);
    free(gen1);
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 900);

/* The store holds generation 1 exactly: members export byte-identical and last run id 1. */
static void expect_generation_1(const char *what)
{
    size_t len;
    char *now = t_export_members(yaml, &len);
    cr_assert(len == gen1_len && memcmp(now, gen1, len) == 0,
              "after %s the store does not hold generation 1 exactly (members export differs)", what);
    cr_assert_eq(t_last_run_id(store), 1, "after %s: last run id", what);
    free(now);
}

/* The child was not killed by a signal and, when it failed, said why on stderr. */
#define expect_clean_exit(p, what)                                                                                \
    do {                                                                                                          \
        cr_assert_eq((p).signal, 0, "%s: killed by signal %d (%s)\nstderr: %.2000s", (what), (p).signal,          \
                     strsignal((p).signal), (p).err);                                                             \
        if ((p).exit_code != 0)                                                                                   \
            cr_assert(strstr((p).err, "unify: "), "%s: exit %d without a message: %.2000s", (what), (p).exit_code, \
                      (p).err);                                                                                   \
    } while (0)

/* ------------------------------------------------------------------ */
/* kill -9 at random moments                                           */
/* ------------------------------------------------------------------ */

/* Tallies of where the kills of kill_9_at_random_moments landed. */
typedef struct kill_tally {
    unsigned before_commit, after_commit, finished;
} kill_tally;

/*
 * Start `unify run` on the fixture, kill -9 it after `delay` ms (if it is
 * still running), check the store holds one whole generation and tally where
 * the kill landed; a store found at generation 2 is reset to `saved`.
 */
static void kill_run_after(unsigned i, double delay, const char *gen2, size_t gen2_len, const char *saved,
                           kill_tally *tally)
{
    t_child c;
    t_child_start(&c, (char *const[]){(char *)T_UNIFY, "run", "-c", yaml, "--progress", NULL});
    double t0 = t_now();
    while (!t_child_exited(&c) && (t_now() - t0) * 1000.0 < delay)
        t_child_pump(&c, 1);
    kill(c.pid, SIGKILL);
    t_proc r = t_child_wait(&c);
    /* Whatever happened, the store opens and holds one whole generation. */
    size_t len;
    char *now = t_export_members(yaml, &len);
    uint64_t run_id = t_last_run_id(store);
    int gen = len == gen1_len && memcmp(now, gen1, len) == 0   ? 1
              : len == gen2_len && memcmp(now, gen2, len) == 0 ? 2
                                                               : 0;
    free(now);
    cr_assert(gen != 0, "kill %u at %.1f ms: the store holds neither whole generation (last run %" PRIu64 ")", i,
              delay, run_id);
    cr_assert_eq(run_id, (uint64_t)gen, "kill %u: generation %d's records but last run id %" PRIu64, i, gen,
                 run_id);
    if (r.signal == SIGKILL) {
        gen == 1 ? tally->before_commit++ : tally->after_commit++;
        /* The last stage that finished, from the --progress lines. */
        const char *stage = "start-up or ingest", *at = r.err;
        static const char *const stages[] = {"ingest", "link", "ids", "write"};
        static const char *const next[] = {"link", "ids", "write", "commit"};
        for (size_t k = 0; k < 4; k++) {
            char line[32];
            snprintf(line, sizeof line, "unify: %s ", stages[k]);
            if ((at = strstr(r.err, line)))
                stage = next[k];
        }
        cr_log_info("kill %u at %.1f ms, in %s: generation %d whole", i, delay, stage, gen);
    } else {
        cr_assert_eq(r.exit_code, 0, "kill %u: exit %d signal %d\n%s", i, r.exit_code, r.signal, r.err);
        cr_assert_eq(gen, 2, "a run that finished must leave generation 2");
        tally->finished++;
    }
    t_proc_free(&r);
    if (gen == 2)
        t_copy_store(saved, store); /* back to generation 1 for the next kill */
}

Test(faults, kill_9_at_random_moments_keeps_a_whole_generation)
{
    /* Under valgrind (scripts/valgrind-tests.sh) a kill can land while valgrind itself is still
     * starting the traced child, which says nothing about unify; once in a CI run the fixture's
     * config was then missing (not reproduced in 3 further runs). The release and sanitizer
     * passes run this test. */
    if (getenv("UF_UNDER_VALGRIND")) {
        teardown(); /* a skipped test's .fini does not run */
        cr_skip_test("kill -9 at random moments runs in the release and sanitizer passes, not under valgrind");
    }
    /* The generation-2 reference, on a copy (runs are deterministic), and how long a run takes. */
    change_exports_for_generation_2();
    char *saved = t_fmt("%s/gen1-store", dir), *ref_yaml = t_fmt("%s/ref.yaml", dir),
         *ref_store = t_fmt("%s/ref-store", dir), *ref_rejects = t_fmt("%s/ref-rejects.txt", dir);
    t_copy_store(store, saved);
    t_copy_file(yaml, ref_yaml);
    t_config_set_paths(ref_yaml, ref_store, ref_rejects);
    t_copy_store(store, ref_store);
    t_proc p = t_unify("run", "-c", ref_yaml, "--quiet");
    t_assert_ok(p, "generation 2 (reference)");
    double run_ms = p.seconds * 1000.0;
    t_proc_free(&p);
    size_t gen2_len;
    char *gen2 = t_export_members(ref_yaml, &gen2_len);
    cr_assert(gen2_len != gen1_len || memcmp(gen1, gen2, gen1_len) != 0, "generation 2 must differ");

    /* Kills spread evenly (with jitter) from the start of the process to a bit past its usual end. */
    unsigned kills = t_small() ? 5 : 18;
    double window_ms = run_ms * 1.5;
    uint64_t rng = 0x5EED0000ull ^ (uint64_t)time(NULL);
    cr_log_info("a run takes %.0f ms; %u kills over %.0f ms", run_ms, kills, window_ms);
    kill_tally tally = {0};
    for (unsigned i = 0; i < kills; i++)
        kill_run_after(i, ((double)i + (double)(t_rand(&rng) % 1000) / 1000.0) / kills * window_ms, gen2, gen2_len,
                       saved, &tally);
    /* A loaded machine can make runs far slower than the reference run: kill later until one lands after the
     * commit (or the run finishes first), so the test always sees both sides of the commit. */
    for (unsigned extra = 0; tally.after_commit + tally.finished == 0 && extra < 4; extra++)
        kill_run_after(kills + extra, window_ms * (2 << extra), gen2, gen2_len, saved, &tally);
    unsigned before_commit = tally.before_commit, after_commit = tally.after_commit, finished = tally.finished;
    cr_log_info("%u kills: %u before the commit, %u after it, %u runs finished first", kills, before_commit,
                after_commit, finished);
    cr_assert_geq(before_commit, kills / 3, "too few kills landed inside a run (%u of %u)", before_commit, kills);
    cr_assert_geq(after_commit + finished, 1, "no kill came late enough to find the run committed");

    /* After all that, a normal run goes through and writes generation 2. */
    p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "the run after the kills");
    t_proc_free(&p);
    size_t len;
    char *now = t_export_members(yaml, &len);
    cr_assert(len == gen2_len && memcmp(now, gen2, len) == 0, "the run after the kills is not generation 2");
    free(now);
    free(gen2);
    free(saved);
    free(ref_yaml);
    free(ref_store);
    free(ref_rejects);
}

/* ------------------------------------------------------------------ */
/* Full disk and full map                                              */
/* ------------------------------------------------------------------ */

/*
 * Run `unify ARGS` with RLIMIT_FSIZE at `fsize` bytes (0: no limit) and
 * SIGXFSZ ignored, so a write past the limit fails with EFBIG the way a
 * full disk fails with ENOSPC. stdout is discarded, stderr captured.
 */
static t_proc run_with_file_limit(char *const argv[], rlim_t fsize)
{
    char *errpath = t_fmt("%s/child-stderr.txt", dir);
    double t0 = t_now();
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600), null = open("/dev/null", O_WRONLY);
        if (fd < 0 || null < 0)
            _exit(126);
        dup2(fd, 2);
        dup2(null, 1);
        if (fsize) {
            struct rlimit rl = {fsize, fsize};
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(125);
        }
        signal(SIGXFSZ, SIG_IGN);
        execv(argv[0], argv);
        _exit(127);
    }
    t_proc p = {0};
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    t_decode_status(&p, status);
    p.seconds = t_now() - t0;
    size_t len;
    /* the limit applies to the child only: reading the file here is fine */
    p.err = t_read_file(errpath, &len);
    p.err_len = len;
    p.out = calloc(1, 1);
    free(errpath);
    return p;
}

static off_t file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
    return st.st_size;
}

Test(faults, disk_full_fails_clearly_and_keeps_the_old_generation)
{
    change_exports_for_generation_2();
    char *data = t_fmt("%s/data.mdb", store);
    off_t before = file_size(data);
    /* The new generation is written next to the old one: data.mdb must grow, and may not. */
    rlim_t limit = (rlim_t)before + 64 * 1024;
    t_proc p = run_with_file_limit((char *const[]){(char *)T_UNIFY, "run", "-c", yaml, "--quiet", NULL}, limit);
    expect_clean_exit(p, "run on a full disk");
    cr_assert_eq(p.exit_code, 1, "a run on a full disk must fail: exit %d\n%s", p.exit_code, p.err);
    cr_assert(strstr(p.err, "is the disk full?"), "the error says the disk may be full: %s", p.err);
    cr_log_info("full disk (RLIMIT_FSIZE %llu bytes): %s", (unsigned long long)limit, p.err);
    t_proc_free(&p);
    expect_generation_1("a run on a full disk");

    /* With room again the same run goes through. */
    p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "the run with room on the disk");
    t_proc_free(&p);
    cr_assert_eq(t_last_run_id(store), 2);
    free(data);
}

Test(faults, disk_full_on_a_first_run_leaves_no_half_store)
{
    /* A fresh store on a disk with room for almost nothing. */
    t_rmtree(store);
    t_proc p = run_with_file_limit((char *const[]){(char *)T_UNIFY, "run", "-c", yaml, "--quiet", NULL}, 256 * 1024);
    expect_clean_exit(p, "first run on a full disk");
    cr_assert_eq(p.exit_code, 1, "exit %d\n%s", p.exit_code, p.err);
    t_proc_free(&p);
    p = t_unify("lookup", "-c", yaml, "--email", "nobody@example.org");
    expect_clean_exit(p, "lookup after a failed first run");
    cr_assert(p.exit_code == 1 || p.exit_code == 3, "lookup: exit %d %s", p.exit_code, p.err);
    cr_assert(p.exit_code == 3 || strstr(p.err, "no store here"), "lookup says there is no store: %s", p.err);
    t_proc_free(&p);
    p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "the first run with room");
    t_proc_free(&p);
    expect_generation_1("a first run after a full disk");
}

Test(faults, enospc_on_a_small_tmpfs_fails_clearly_and_keeps_the_old_generation)
{
    char *mnt = t_fmt("%s/tmpfs", dir);
    mkdir(mnt, 0700);
    char *data = t_fmt("%s/data.mdb", store);
    off_t size = file_size(data);
    free(data);
    /* Room for the store and its lock file, not for a second generation next to it. */
    char *opts = t_fmt("size=%lldk", ((long long)size * 5 / 4 + 256 * 1024) / 1024);
    if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0) {
        int e = errno;
        free(opts);
        free(mnt);
        cr_skip_test("cannot mount a tmpfs here (%s): the RLIMIT_FSIZE test covers a full disk", strerror(e));
    }
    char *mstore = t_fmt("%s/store", mnt);
    t_copy_store(store, mstore);
    char *rejects = t_fmt("%s/rejects.txt", dir);
    t_config_set_paths(yaml, mstore, rejects);
    free(rejects);
    change_exports_for_generation_2();
    t_proc p = t_unify("run", "-c", yaml, "--quiet");
    expect_clean_exit(p, "run on a full tmpfs");
    bool failed = p.exit_code == 1 && strstr(p.err, "is the disk full?");
    cr_log_info("full tmpfs (%s): exit %d: %s", opts, p.exit_code, p.err);
    t_proc_free(&p);
    /* The old generation is intact on the full file system. */
    char *old_store = store;
    store = mstore;
    if (failed)
        expect_generation_1("a run on a full tmpfs");
    store = old_store;
    umount2(mnt, MNT_DETACH);
    cr_assert(failed, "the run on a full tmpfs must fail saying the disk may be full");
    free(mstore);
    free(opts);
    free(mnt);
}

Test(faults, map_that_may_not_grow_fails_clearly_and_keeps_the_old_generation)
{
    /*
     * Generation 1 again, in a map grown only as far as it needed (the fixture's 64 MiB floor
     * would leave room to spare); then store.max_map_size at the size of the store: the new
     * generation, written beside the old one, cannot fit.
     */
    char *text = t_read_file(yaml, NULL), *line = strstr(text, "map_size:");
    cr_assert_not_null(line);
    char *eol = strchr(line, '\n');
    char *floor = t_fmt("%.*smap_size: 1MiB%s", (int)(line - text), text, eol);
    t_write_text(yaml, floor);
    t_rmtree(store);
    t_proc p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "generation 1 in a small map");
    t_proc_free(&p);
    expect_generation_1("generation 1 in a small map");
    char *data = t_fmt("%s/data.mdb", store);
    long long mib = ((long long)file_size(data) + (1 << 20) - 1) >> 20;
    char *changed = t_fmt("%.*smap_size: 1MiB\n  max_map_size: %lldMiB%s", (int)(line - text), text, mib, eol);
    t_write_text(yaml, changed);
    free(floor);
    change_exports_for_generation_2();
    p = t_unify("run", "-c", yaml, "--quiet");
    expect_clean_exit(p, "run with a full map");
    cr_assert_eq(p.exit_code, 1, "a run that needs a bigger map than allowed must fail: exit %d\n%s", p.exit_code,
                 p.err);
    cr_assert(strstr(p.err, "max_map_size") || strstr(p.err, "MDB_MAP_FULL") || strstr(p.err, "map"),
              "the error names the map limit: %s", p.err);
    cr_log_info("map full (max_map_size %lld MiB): %s", mib, p.err);
    t_proc_free(&p);
    expect_generation_1("a run with a full map");

    /* Without the limit the run goes through. */
    t_write_text(yaml, text);
    p = t_unify("run", "-c", yaml, "--quiet");
    t_assert_ok(p, "the run without the map limit");
    t_proc_free(&p);
    cr_assert_eq(t_last_run_id(store), 2);
    free(changed);
    free(text);
    free(data);
}

/* ------------------------------------------------------------------ */
/* Corrupt stores and other versions                                   */
/* ------------------------------------------------------------------ */

typedef void (*damage_fn)(const char *data_mdb, uint64_t seed);

static void damage_truncate_half(const char *p, uint64_t seed)
{
    (void)seed;
    cr_assert_eq(truncate(p, file_size(p) / 2), 0);
}

static void damage_truncate_last_page(const char *p, uint64_t seed)
{
    (void)seed;
    cr_assert_eq(truncate(p, file_size(p) - 4096), 0);
}

static void damage_truncate_tiny(const char *p, uint64_t seed)
{
    (void)seed;
    cr_assert_eq(truncate(p, 5000), 0);
}

static void damage_meta_pages(const char *p, uint64_t seed)
{
    /* Both meta pages (LMDB's magic and roots) overwritten with noise. */
    int fd = open(p, O_WRONLY);
    cr_assert_geq(fd, 0);
    unsigned char noise[8192];
    uint64_t rng = seed;
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (unsigned char)t_rand(&rng);
    cr_assert_eq(pwrite(fd, noise, sizeof noise, 0), (ssize_t)sizeof noise);
    close(fd);
}

static void damage_not_lmdb(const char *p, uint64_t seed)
{
    (void)seed;
    t_write_text(p, "customer_no,first_name\nC1,Ann\n");
}

/*
 * Damage unify's own data inside a well-formed LMDB file: for a share of the
 * entries of the profiles, records and redirects databases, flip bits of the
 * value, cut it short or extend it with noise (through LMDB itself, so the
 * B-tree stays valid). The readers must reject what they cannot decode.
 * (Random flips in LMDB's own page structure are another matter: LMDB keeps
 * no page checksums, see the README's guarantees.)
 */
static void damage_values(const char *store_path, uint64_t seed)
{
    MDB_env *env;
    MDB_txn *txn;
    cr_assert_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    cr_assert_eq(mdb_env_open(env, store_path, 0, 0600), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    const char *dbs[] = {"profiles", "records", "redirects"};
    uint64_t rng = seed;
    unsigned damaged = 0;
    for (size_t d = 0; d < 3; d++) {
        MDB_dbi dbi;
        if (mdb_dbi_open(txn, dbs[d], 0, &dbi) != 0)
            continue;
        MDB_cursor *cur;
        cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
        MDB_val k, v;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (t_rand(&rng) % 8 != 0)
                continue;
            size_t len = v.mv_size, cap = len + 64;
            unsigned char *copy = malloc(cap);
            memcpy(copy, v.mv_data, len);
            switch (t_rand(&rng) % 3) {
            case 0: /* bit flips */
                for (int i = 0; i < 3 && len; i++)
                    copy[t_rand(&rng) % len] ^= (unsigned char)(1u << (t_rand(&rng) % 8));
                break;
            case 1: /* cut short */
                len = len ? (size_t)(t_rand(&rng) % len) : 0;
                break;
            default: /* noise after (or instead of) the end */
                for (size_t i = 0; i < 64; i++)
                    copy[len > 8 ? len - 8 + i % 8 : i] = (unsigned char)t_rand(&rng);
                len = len > 8 ? len : 64;
                break;
            }
            /* The key must not point into the page being rewritten (LMDB copies it over itself). */
            unsigned char *key = malloc(k.mv_size ? k.mv_size : 1);
            memcpy(key, k.mv_data, k.mv_size);
            MDB_val nk = {k.mv_size, key}, nv = {len, copy};
            cr_assert_eq(mdb_cursor_put(cur, &nk, &nv, MDB_CURRENT), 0);
            free(key);
            free(copy);
            damaged++;
        }
        mdb_cursor_close(cur);
    }
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    cr_assert_gt(damaged, 0);
}

/* Put one meta value through LMDB itself, as another unify version would have written it. */
static void set_format_version(const char *store_path, uint32_t version)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    cr_assert_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    cr_assert_eq(mdb_env_open(env, store_path, 0, 0600), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    unsigned char v[4] = {(unsigned char)(version >> 24), (unsigned char)(version >> 16),
                          (unsigned char)(version >> 8), (unsigned char)version};
    MDB_val k = {sizeof "format_version" - 1, (void *)"format_version"}, val = {4, v};
    cr_assert_eq(mdb_put(txn, dbi, &k, &val, 0), 0);
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/*
 * Run lookup, export and run on the damaged store. `clear` (damage that can
 * be recognised: truncation, meta pages, not LMDB, version): each exits 1
 * with a message containing `expect`, and data.mdb is left byte for byte as
 * it was. Otherwise (random flips, which LMDB has no checksum for): no
 * signal, and any failure has a message.
 */
static void expect_refused(const char *what, bool clear, const char *expect)
{
    char *data = t_fmt("%s/data.mdb", store);
    size_t before_len;
    char *before = t_read_file(data, &before_len);
    const char *email = "nobody@example.org";
    t_proc runs[3] = {
        t_unify("lookup", "-c", yaml, "--email", (char *)email),
        t_unify("export", "-c", yaml, "--profiles", "-"),
        t_unify("run", "-c", yaml, "--quiet"),
    };
    const char *names[3] = {"lookup", "export", "run"};
    for (int i = 0; i < 3; i++) {
        char *label = t_fmt("%s on %s", names[i], what);
        expect_clean_exit(runs[i], label);
        if (clear) {
            cr_assert_eq(runs[i].exit_code, 1, "%s: exit %d, %.1000s", label, runs[i].exit_code, runs[i].err);
            cr_assert(strstr(runs[i].err, expect), "%s: the message says '%s': %s", label, expect, runs[i].err);
        }
        cr_log_info("%s: exit %d %.300s", label, runs[i].exit_code, runs[i].err);
        free(label);
        t_proc_free(&runs[i]);
    }
    if (clear) {
        size_t after_len;
        char *after = t_read_file(data, &after_len);
        cr_assert(after_len == before_len && memcmp(before, after, before_len) == 0,
                  "%s: the damaged store file was modified", what);
        free(after);
    }
    free(before);
    free(data);
}

static void with_damage(const char *what, damage_fn damage, uint64_t seed, bool clear, const char *expect)
{
    char *saved = t_fmt("%s/gen1-store", dir), *data = t_fmt("%s/data.mdb", store);
    if (!t_exists(saved))
        t_copy_store(store, saved);
    t_copy_store(saved, store);
    damage(data, seed);
    expect_refused(what, clear, expect);
    t_copy_store(saved, store);
    free(saved);
    free(data);
}

Test(faults, truncated_store_is_a_clear_error)
{
    with_damage("data.mdb cut in half", damage_truncate_half, 0, true, "is truncated");
    with_damage("data.mdb one page short", damage_truncate_last_page, 0, true, "is truncated");
    with_damage("data.mdb cut to 5000 bytes", damage_truncate_tiny, 0, true, "is truncated");
    expect_generation_1("restoring the store");
}

Test(faults, store_that_is_not_lmdb_is_a_clear_error)
{
    with_damage("data.mdb with noise over its meta pages", damage_meta_pages, 7, true, "not an LMDB store file");
    with_damage("data.mdb that is a CSV file", damage_not_lmdb, 0, true, "not an LMDB store file");
}

static void damage_values_of(const char *data_mdb, uint64_t seed)
{
    char *folder = strdup(data_mdb);
    *strrchr(folder, '/') = '\0';
    damage_values(folder, seed);
    free(folder);
}

Test(faults, damaged_entries_never_crash_a_reader_or_a_run)
{
    unsigned rounds = t_small() ? 2 : 6;
    for (unsigned i = 0; i < rounds; i++) {
        char *what = t_fmt("a store with damaged profile, record and redirect entries (seed %u)", i + 1);
        with_damage(what, damage_values_of, 0xF11Bull + i, false, NULL);
        free(what);
    }
}

Test(faults, store_of_another_format_version_is_a_clear_error)
{
    char *saved = t_fmt("%s/gen1-store", dir);
    t_copy_store(store, saved);
    uint32_t versions[] = {99, 1, 0};
    for (size_t i = 0; i < 3; i++) {
        set_format_version(store, versions[i]);
        char *what = t_fmt("a store of format_version %u", versions[i]);
        expect_refused(what, true, "format");
        free(what);
        t_copy_store(saved, store);
    }
    expect_generation_1("restoring the store");
    free(saved);
}

/* ------------------------------------------------------------------ */
/* Exports that change while they are read                             */
/* ------------------------------------------------------------------ */

/* Read `n` bytes of `path` through a stream, change the file with `change`, read on to the end. */
static int read_with_change(const char *path, void (*change)(const char *path), uf_error *err, size_t *total)
{
    uf_stream *s = uf_stream_open(path, err);
    cr_assert_not_null(s, "%s", err->message);
    char buf[4096];
    *total = 0;
    ssize_t n = uf_stream_read(s, buf, sizeof buf, err);
    cr_assert_gt(n, 0);
    *total += (size_t)n;
    change(path);
    int rc = UF_OK;
    for (;;) {
        n = uf_stream_read(s, buf, sizeof buf, err);
        if (n < 0) {
            rc = err->code;
            break;
        }
        if (n == 0)
            break;
        *total += (size_t)n;
    }
    uf_stream_close(s);
    return rc;
}

static void append_rows(const char *path)
{
    FILE *f = fopen(path, "a");
    fputs("C9999991,Late,Row,late@example.org,,,,,,,,\n", f);
    fclose(f);
}

static void truncate_to_half(const char *path)
{
    cr_assert_eq(truncate(path, file_size(path) / 2), 0);
}

static void rewrite_in_place(const char *path)
{
    /* Same size, other bytes, a later mtime: a system that rewrites its export in place. */
    int fd = open(path, O_WRONLY);
    cr_assert_eq(pwrite(fd, "X", 1, file_size(path) - 2), 1);
    struct timespec times[2] = {{0, UTIME_OMIT}, {time(NULL) + 5, 0}};
    futimens(fd, times);
    close(fd);
}

static void replace_by_rename(const char *path)
{
    char *tmp = t_fmt("%s.new", path);
    t_write_text(tmp, "customer_no,first_name\nC1,Other\n");
    cr_assert_eq(rename(tmp, path), 0);
    free(tmp);
}

Test(faults, export_changed_while_read_fails_the_read)
{
    char *crm = t_fmt("%s/crm.csv", dir), *copy = t_fmt("%s/crm-copy.csv", dir);
    size_t len;
    char *orig = t_read_file(crm, &len);
    struct {
        const char *what;
        void (*change)(const char *);
    } cases[] = {{"appended", append_rows}, {"truncated", truncate_to_half}, {"rewritten in place", rewrite_in_place}};
    for (size_t i = 0; i < 3; i++) {
        t_write_file(copy, orig, len);
        uf_error err = {0};
        size_t total;
        int rc = read_with_change(copy, cases[i].change, &err, &total);
        cr_assert_eq(rc, UF_ERR_IO, "an export %s while read: rc %d after %zu bytes", cases[i].what, rc, total);
        cr_assert(strstr(err.message, "changed while it was being read") && strstr(err.message, copy),
                  "the message names the file and the change: %s", err.message);
        cr_log_info("%s: %s", cases[i].what, err.message);
    }
    /* Replaced by rename: the open file is read whole, exactly as it was. */
    t_write_file(copy, orig, len);
    uf_error err = {0};
    size_t total;
    cr_assert_eq(read_with_change(copy, replace_by_rename, &err, &total), UF_OK, "%s", err.message);
    cr_assert_eq(total, len, "a file replaced by rename is read whole as opened");
    free(orig);
    free(crm);
    free(copy);
}

typedef struct appender {
    const char *path;
    atomic_bool stop;
    unsigned rows;
} appender;

static void *append_loop(void *arg)
{
    appender *a = arg;
    while (!atomic_load(&a->stop)) {
        FILE *f = fopen(a->path, "a");
        if (f) {
            fprintf(f, "{\"account_id\":\"LATE%u\",\"email\":\"late%u@example.org\"}\n", a->rows, a->rows);
            fclose(f);
            a->rows++;
        }
        usleep(500);
    }
    return NULL;
}

Test(faults, run_over_an_export_being_written_fails_and_keeps_the_old_generation)
{
    /* Another system keeps appending to an export for the whole run. */
    change_exports_for_generation_2();
    appender a = {.path = t_fmt("%s/web_accounts.jsonl", dir)};
    atomic_init(&a.stop, false);
    pthread_t tid;
    cr_assert_eq(pthread_create(&tid, NULL, append_loop, &a), 0);
    t_sleep_ms(20);
    t_proc p = t_unify("run", "-c", yaml, "--quiet");
    atomic_store(&a.stop, true);
    pthread_join(tid, NULL);
    expect_clean_exit(p, "run over a growing export");
    cr_assert_eq(p.exit_code, 1, "a run over an export being written must fail: exit %d\n%s", p.exit_code, p.err);
    cr_assert(strstr(p.err, "web_accounts.jsonl") && strstr(p.err, "changed while it was being read"),
              "the message names the file: %s", p.err);
    cr_log_info("%u rows appended during the run: %s", a.rows, p.err);
    t_proc_free(&p);
    expect_generation_1("a run over a changing export");
    free((char *)a.path);
}

/* ------------------------------------------------------------------ */
/* Two runs at once                                                    */
/* ------------------------------------------------------------------ */

Test(faults, second_concurrent_run_refuses_with_a_clear_message)
{
    change_exports_for_generation_2();
    t_child first;
    t_child_start(&first, (char *const[]){(char *)T_UNIFY, "run", "-c", yaml, "--progress", NULL});
    /* The lock is taken before reading starts: by the first stage line the first run holds it. */
    bool started = t_child_wait_line(&first, "unify: ingest", 300);
    /* Hold the first run where it is (it keeps its lock), so the second surely meets it. */
    if (started)
        kill(first.pid, SIGSTOP);
    t_proc second = t_unify("run", "-c", yaml, "--quiet");
    kill(first.pid, SIGCONT);
    t_proc r = t_child_wait(&first);
    cr_assert(started, "the first run never finished its ingest stage: %s", r.err);
    t_assert_ok(r, "the first run");
    expect_clean_exit(second, "the second run");
    cr_assert_eq(second.exit_code, 1, "the second run must refuse: exit %d %s", second.exit_code, second.err);
    cr_assert(strstr(second.err, "another unify run is writing this store"), "clear message: %s", second.err);
    cr_assert_lt(second.seconds, 5.0, "the second run refuses at once, not after reading (%.2f s)", second.seconds);
    cr_log_info("second run: %.3f s: %s", second.seconds, second.err);
    t_proc_free(&r);
    t_proc_free(&second);
    cr_assert_eq(t_last_run_id(store), 2, "the first run committed");

    /* Started at the same instant: one wins, any other refuses with the message, nothing breaks. */
    for (int round = 0; round < (t_small() ? 1 : 3); round++) {
        t_child a, b;
        t_child_start(&a, (char *const[]){(char *)T_UNIFY, "run", "-c", yaml, "--quiet", NULL});
        t_child_start(&b, (char *const[]){(char *)T_UNIFY, "run", "-c", yaml, "--quiet", NULL});
        t_proc ra = t_child_wait(&a), rb = t_child_wait(&b);
        t_proc *both[2] = {&ra, &rb};
        int ok = 0;
        for (int i = 0; i < 2; i++) {
            expect_clean_exit(*both[i], "a simultaneous run");
            if (both[i]->exit_code == 0)
                ok++;
            else
                cr_assert(both[i]->exit_code == 1 && strstr(both[i]->err, "another unify run is writing this store"),
                          "a simultaneous run: exit %d %s", both[i]->exit_code, both[i]->err);
        }
        cr_assert_geq(ok, 1, "at least one of two simultaneous runs completes");
        t_proc_free(&ra);
        t_proc_free(&rb);
    }
}
