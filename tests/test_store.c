/*
 * test_store.c — the LMDB store's guarantees, each with the test that
 * proves it: whole generations replace each other, order violations commit
 * nothing, writers exclude each other (also across processes), a kill -9
 * at any moment leaves the previous generation, readers never fail or see
 * half a run while another process commits, the map grows, and corrupt or
 * foreign stores give clear errors instead of crashes.
 *
 * Processes are real (fork + kill) where the guarantee is about processes:
 * LMDB's and flock's semantics differ within one process. A forked child
 * reports through its exit status and never uses an environment its parent
 * opened; the parent opens its own handles only after forking.
 *
 * UF_TEST_SMALL=1 (valgrind, see test_small.h): the map tests write 5 000
 * profiles instead of 50 000 (still well past the maps they must outgrow),
 * the random kills take 10 rounds instead of 24, the concurrent readers meet
 * generations of 1 000 profiles instead of 3 000, and the mid-write kill
 * comes after 2 000 profiles instead of 20 000; the file settles over generations of 1 000
 * profiles, not 5 000.
 */
#include <criterion/criterion.h>

#include "test_small.h"

#include "profile_codec.h"
#include "store.h"
#include "store_block.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Fixture: a fresh temporary folder per test                          */
/* ------------------------------------------------------------------ */

static char tmp_root[256];
static char store_path[300];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void setup(void)
{
    strcpy(tmp_root, "/tmp/uf_test_store_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_root));
    snprintf(store_path, sizeof store_path, "%s/store", tmp_root);
}

static void teardown(void)
{
    if (tmp_root[0])
        nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 120);

/*
 * fork() for tests: the child dies with the test process (a test that times
 * out must not leave a writer behind holding the store and the output pipe).
 */
static pid_t fork_child(void)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(99);
    }
    return pid;
}

/* ------------------------------------------------------------------ */
/* Generations of test data                                            */
/* ------------------------------------------------------------------ */

/* One generation: profiles first_id .. first_id+count-1, tagged with gen. */
typedef struct gen_params {
    int gen;
    uint64_t first_id;
    size_t count;
    size_t pad;      /* bytes of padding in each profile JSON */
    size_t map_size; /* writer's initial map size (0: default) */
} gen_params;

static uf_key ident_key(int gen, uint64_t i)
{
    return (uf_key){((uint64_t)gen << 40) | i, i * 0x9E3779B97F4A7C15ull};
}

/* A weak identifier shared by three profiles of the generation. */
static uf_key shared_key(int gen)
{
    return (uf_key){UINT64_MAX, (uint64_t)gen};
}

static uint64_t redirect_old(int gen, int j)
{
    return 5000000 + (uint64_t)gen * 10 + (uint64_t)j;
}

static void record_key(char *buf, size_t cap, char prefix, uint64_t i)
{
    snprintf(buf, cap, "%c%08" PRIu64, prefix, i);
}

/*
 * Profiles are stored binary (profile_codec.h) and read back as JSON: a test
 * profile is one record of source "crm" whose key carries the generation,
 * the id and `pad` bytes of padding ("gen=1;id=42;pad=abc..."), rendered
 * with the test schema below. Returns the binary length (at most cap).
 */
static size_t profile_text(char *buf, size_t cap, int gen, uint64_t id, size_t pad)
{
    char key[64];
    int n = snprintf(key, sizeof key, "gen=%d;id=%" PRIu64 ";pad=", gen, id);
    uf_buf text, bin;
    uf_buf_init(&text);
    uf_buf_init(&bin);
    uf_buf_append(&text, key, (size_t)n);
    for (size_t i = 0; i < pad; i++)
        uf_buf_putc(&text, (char)('a' + (id + i) % 26));
    uint64_t channels = 1;
    uf_profile_writer pw;
    uf_profile_begin(&pw, &bin, 1700000000 + (int64_t)gen, &channels, 1);
    uf_profile_records(&pw, 1);
    uf_profile_record(&pw, 0, uf_slice_make(text.data, text.len), 1700000000);
    uf_profile_end(&pw);
    size_t len = bin.len < cap ? bin.len : cap;
    memcpy(buf, bin.data, len);
    uf_buf_free(&text);
    uf_buf_free(&bin);
    return len;
}

/* The schema the test profiles are rendered with: sources crm and web, no kinds. */
static int put_test_schema(uf_store_writer *w, uf_error *err)
{
    static const char *const sources[] = {"crm", "web"};
    static const size_t columns[] = {0, 0};
    static const char *const *const column_names[] = {NULL, NULL};
    uf_profile_schema_desc d = {.source_count = 2, .source_names = sources, .column_counts = columns,
                                .column_names = column_names};
    uf_buf b;
    uf_buf_init(&b);
    int rc = uf_profile_schema_encode(&d, &b, err);
    if (rc == UF_OK)
        rc = uf_store_put_schema(w, b.data, b.len, err);
    uf_buf_free(&b);
    return rc;
}

/* The generation of a rendered test profile (or of a run report {"gen":N}). */
static int profile_gen(const char *json)
{
    int gen = -1;
    if (sscanf(json, "{\"gen\":%d", &gen) == 1)
        return gen;
    const char *key = strstr(json, "\"key\":\"gen=");
    if (!key || sscanf(key, "\"key\":\"gen=%d;", &gen) != 1 || !strstr(json, "\"source\":\"crm\""))
        return -1;
    return gen;
}

/* Fill an open transaction with generation p; returns the first failure. */
static int put_generation(uf_store_writer *w, const gen_params *p, uf_error *err)
{
    size_t cap = p->pad + 128;
    char *json = malloc(cap);
    int rc = put_test_schema(w, err);
    for (size_t i = 0; i < p->count && rc == UF_OK; i++) {
        size_t len = profile_text(json, cap, p->gen, p->first_id + i, p->pad);
        rc = uf_store_put_profile(w, p->first_id + i, json, len, err);
    }
    free(json);
    for (size_t i = 0; i < p->count && rc == UF_OK; i++)
        rc = uf_store_put_identifier(w, ident_key(p->gen, p->first_id + i), p->first_id + i, err);
    for (uint64_t j = 0; j < 3 && rc == UF_OK && p->count >= 3; j++)
        rc = uf_store_put_identifier(w, shared_key(p->gen), p->first_id + j, err);
    static const struct { const char *source; char prefix; } sources[] = {{"crm", 'C'}, {"web", 'W'}};
    for (size_t s = 0; s < 2; s++)
        for (size_t i = 0; i < p->count && rc == UF_OK; i++) {
            char key[32];
            record_key(key, sizeof key, sources[s].prefix, p->first_id + i);
            rc = uf_store_put_record(w, uf_slice_cstr(sources[s].source), uf_slice_cstr(key), p->first_id + i, err);
        }
    for (int j = 0; j < 3 && rc == UF_OK && p->count >= 3; j++)
        rc = uf_store_put_redirect(w, redirect_old(p->gen, j), p->first_id + (uint64_t)j, err);
    return rc;
}

static uint64_t generation_next_id(const uf_store_writer *w, const gen_params *p)
{
    uint64_t next = p->first_id + p->count;
    if (redirect_old(p->gen, 2) + 1 > next)
        next = redirect_old(p->gen, 2) + 1;
    uint64_t prev = uf_store_writer_next_golden_id(w);
    return next > prev ? next : prev;
}

/* Write generation p as one run. */
static int write_generation(const char *path, const gen_params *p, uint64_t *run_id, uf_error *err)
{
    uf_store_writer *w;
    int rc = uf_store_writer_open(path, p->map_size, &w, err);
    if (rc != UF_OK)
        return rc;
    rc = uf_store_writer_begin(w, (uint64_t)p->count * (p->pad + 200), err);
    if (rc == UF_OK)
        rc = put_generation(w, p, err);
    if (rc == UF_OK) {
        char report[64];
        int n = snprintf(report, sizeof report, "{\"gen\":%d}", p->gen);
        rc = uf_store_writer_commit(w, generation_next_id(w, p), report, (size_t)n, run_id, err);
    }
    uf_store_writer_close(w);
    return rc;
}

static void write_ok(const char *path, const gen_params *p, uint64_t *run_id)
{
    uf_error err = {0};
    int rc = write_generation(path, p, run_id, &err);
    cr_assert_eq(rc, UF_OK, "write generation %d: %s", p->gen, err.message);
}

typedef struct scan_check {
    int gen;           /* -1 until the first profile */
    size_t count;
    uint64_t last_id;
    bool mixed, unordered;
} scan_check;

static int check_profile(void *ctx, uint64_t id, const char *json, size_t len)
{
    scan_check *c = ctx;
    char *text = malloc(len + 1);
    memcpy(text, json, len);
    text[len] = '\0';
    int gen = profile_gen(text);
    char golden[24];
    uf_golden_id_format(id, golden);
    if (!strstr(text, golden))
        gen = -2; /* rendered with another id */
    free(text);
    if (c->gen == -1)
        c->gen = gen;
    else if (gen != c->gen)
        c->mixed = true;
    if (id <= c->last_id)
        c->unordered = true;
    c->last_id = id;
    c->count++;
    return 0;
}

/* Everything of generation p, through the public reader. */
static void verify_generation(uf_store *s, const gen_params *p, uint64_t run_id)
{
    uf_error err = {0};
    for (size_t i = 0; i < p->count; i++) {
        uint64_t id = p->first_id + i, resolved = 0, ids[4];
        char *json = NULL;
        size_t len = 0, count = 0;
        cr_assert_eq(uf_store_profile_json(s, id, &json, &len, &resolved, &err), UF_OK, "%s", err.message);
        cr_assert_eq(resolved, id);
        cr_assert_eq(strlen(json), len);
        cr_assert_eq(profile_gen(json), p->gen, "profile %" PRIu64 ": %s", id, json);
        free(json);
        unsigned char kb[16];
        uf_key_to_bytes(ident_key(p->gen, id), kb);
        cr_assert_eq(uf_store_find_identifier(s, kb, ids, 4, &count, &err), UF_OK, "%s", err.message);
        cr_assert_eq(count, 1);
        cr_assert_eq(ids[0], id);
        char key[32];
        uint64_t gid = 0;
        record_key(key, sizeof key, 'C', id);
        cr_assert_eq(uf_store_find_record(s, "crm", key, &gid, &err), UF_OK, "%s", err.message);
        cr_assert_eq(gid, id);
        record_key(key, sizeof key, 'W', id);
        cr_assert_eq(uf_store_find_record(s, "web", key, &gid, &err), UF_OK, "%s", err.message);
        cr_assert_eq(gid, id);
    }
    if (p->count >= 3) {
        unsigned char kb[16];
        uint64_t ids[8];
        size_t count = 0;
        uf_key_to_bytes(shared_key(p->gen), kb);
        cr_assert_eq(uf_store_find_identifier(s, kb, ids, 8, &count, &err), UF_OK, "%s", err.message);
        cr_assert_eq(count, 3);
        for (int j = 0; j < 3; j++)
            cr_assert_eq(ids[j], p->first_id + (uint64_t)j);
        /* A short buffer: cut, with the full count. */
        cr_assert_eq(uf_store_find_identifier(s, kb, ids, 2, &count, &err), UF_OK);
        cr_assert_eq(count, 3);
        cr_assert_eq(ids[1], p->first_id + 1);
        for (int j = 0; j < 3; j++) {
            char *json = NULL;
            uint64_t resolved = 0;
            cr_assert_eq(uf_store_profile_json(s, redirect_old(p->gen, j), &json, NULL, &resolved, &err), UF_OK,
                         "%s", err.message);
            cr_assert_eq(resolved, p->first_id + (uint64_t)j);
            free(json);
        }
    }
    scan_check c = {.gen = -1};
    cr_assert_eq(uf_store_scan_profiles(s, check_profile, &c, &err), UF_OK, "%s", err.message);
    cr_assert_eq(c.count, p->count);
    cr_assert(!c.mixed && !c.unordered);
    cr_assert_eq(c.gen, p->gen);
    uint64_t last = 0;
    char *report = NULL;
    cr_assert_eq(uf_store_last_run(s, &last, &report, NULL, &err), UF_OK, "%s", err.message);
    cr_assert_eq(last, run_id);
    cr_assert_eq(profile_gen(report), p->gen, "%s", report);
    free(report);
}

static uf_store *open_reader(const char *path)
{
    uf_store *s = NULL;
    uf_error err = {0};
    int rc = uf_store_open(path, &s, &err);
    cr_assert_eq(rc, UF_OK, "open reader: %s", err.message);
    return s;
}

/* Raw LMDB access, for what the public API does not show or must refuse. */
static MDB_env *raw_open(const char *path, MDB_txn **txn, unsigned txn_flags)
{
    MDB_env *env;
    cr_assert_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    cr_assert_eq(mdb_env_open(env, path, 0, 0600), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, txn_flags, txn), 0);
    return env;
}

static size_t raw_count(const char *path, const char *db)
{
    MDB_txn *txn;
    MDB_env *env = raw_open(path, &txn, MDB_RDONLY);
    MDB_dbi dbi;
    MDB_stat st;
    cr_assert_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
    cr_assert_eq(mdb_stat(txn, dbi, &st), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return st.ms_entries;
}

/*
 * Entries of a blocked index (store_block.h), read raw, checking the block
 * rules: each LMDB key is its block's first key cut to 511 bytes, keys
 * ascend over the whole index, equal keys never straddle two blocks, and a
 * block has more than UF_BLOCK_ENTRIES entries only when they share the
 * block's cut first key. *blocks (optional) gets the number of blocks.
 */
static size_t index_entries(const char *path, const char *db, size_t *blocks)
{
    MDB_txn *txn;
    MDB_env *env = raw_open(path, &txn, MDB_RDONLY);
    MDB_dbi dbi;
    MDB_cursor *cur;
    cr_assert_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
    cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
    static unsigned char last[2048];
    size_t last_len = 0, entries = 0, n_blocks = 0;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uf_block_reader r;
        uf_block_reader_init(&r, &v);
        uint64_t id;
        size_t in_block = 0, beyond_cut = 0;
        int got;
        while ((got = uf_block_next(&r, &id)) == UF_BLOCK_ENTRY) {
            cr_assert_lt(r.key_len, sizeof last);
            if (in_block == 0) {
                size_t cut = r.key_len < UF_BLOCK_KEY_MAX ? r.key_len : UF_BLOCK_KEY_MAX;
                cr_assert_eq(k.mv_size, cut, "%s block %zu: LMDB key is not the cut first key", db, n_blocks);
                cr_assert_eq(memcmp(k.mv_data, r.key, cut), 0);
                if (entries > 0)
                    cr_assert(r.key_len != last_len || memcmp(r.key, last, last_len) != 0,
                              "%s: equal keys straddle blocks %zu and %zu", db, n_blocks - 1, n_blocks);
            } else if (r.key_len < k.mv_size || memcmp(r.key, k.mv_data, k.mv_size) != 0) {
                beyond_cut++;
            }
            if (entries > 0) {
                size_t m = r.key_len < last_len ? r.key_len : last_len;
                int c = memcmp(last, r.key, m);
                cr_assert(c < 0 || (c == 0 && last_len <= r.key_len), "%s: keys descend at entry %zu", db, entries);
            }
            memcpy(last, r.key, r.key_len);
            last_len = r.key_len;
            in_block++;
            entries++;
        }
        cr_assert_eq(got, UF_BLOCK_END, "%s block %zu is malformed", db, n_blocks);
        cr_assert_gt(in_block, 0);
        cr_assert(in_block <= UF_BLOCK_ENTRIES || beyond_cut < UF_BLOCK_ENTRIES,
                  "%s block %zu: %zu entries, %zu not sharing its cut key", db, n_blocks, in_block, beyond_cut);
        uf_block_reader_free(&r);
        n_blocks++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    if (blocks)
        *blocks = n_blocks;
    return entries;
}

/* ------------------------------------------------------------------ */
/* Generations                                                         */
/* ------------------------------------------------------------------ */

Test(store, generation_written_and_replaced)
{
    gen_params g1 = {.gen = 1, .first_id = 1, .count = 500, .pad = 100};
    gen_params g2 = {.gen = 2, .first_id = 1001, .count = 300, .pad = 50};
    uint64_t run1 = 0, run2 = 0;
    write_ok(store_path, &g1, &run1);
    cr_assert_eq(run1, 1);

    uf_store *s = open_reader(store_path);
    verify_generation(s, &g1, run1);
    uf_store_close(s);

    /* Meta, as a later writer sees it and as stored. */
    uf_store_writer *w;
    uf_error err;
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_next_golden_id(w), redirect_old(1, 2) + 1);
    cr_assert_eq(uf_store_writer_last_run_id(w), 1);
    uf_store_writer_close(w);
    MDB_txn *txn;
    MDB_env *env = raw_open(store_path, &txn, MDB_RDONLY);
    MDB_dbi meta;
    cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_val k = {14, "format_version"}, v;
    cr_assert_eq(mdb_get(txn, meta, &k, &v), 0);
    cr_assert_eq(v.mv_size, 4);
    cr_assert_eq(memcmp(v.mv_data, "\0\0\0\3", 4), 0);
    k = (MDB_val){6, "schema"};
    cr_assert_eq(mdb_get(txn, meta, &k, &v), 0);
    cr_assert_gt(v.mv_size, 1);
    k = (MDB_val){10, "created_by"};
    cr_assert_eq(mdb_get(txn, meta, &k, &v), 0);
    cr_assert_eq(v.mv_size, strlen("unify 0.1.0"));
    cr_assert_eq(memcmp(v.mv_data, "unify 0.1.0", v.mv_size), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);

    write_ok(store_path, &g2, &run2);
    cr_assert_eq(run2, 2);
    s = open_reader(store_path);
    verify_generation(s, &g2, run2);
    /* Nothing of generation 1 is left but the run log. */
    char *json = NULL;
    uint64_t gid;
    size_t count = 9;
    uint64_t ids[2];
    unsigned char kb[16];
    cr_assert_eq(uf_store_profile_json(s, 1, &json, NULL, NULL, &err), UF_ERR_NOT_FOUND);
    cr_assert_null(json);
    cr_assert_eq(uf_store_profile_json(s, redirect_old(1, 0), &json, NULL, NULL, &err), UF_ERR_NOT_FOUND);
    uf_key_to_bytes(ident_key(1, 1), kb);
    cr_assert_eq(uf_store_find_identifier(s, kb, ids, 2, &count, &err), UF_ERR_NOT_FOUND);
    cr_assert_eq(count, 0);
    cr_assert_eq(uf_store_find_record(s, "crm", "C00000001", &gid, &err), UF_ERR_NOT_FOUND);
    uf_store_close(s);
    cr_assert_eq(raw_count(store_path, "runs"), 2);
    cr_assert_eq(raw_count(store_path, "profiles"), g2.count);
    size_t blocks;
    cr_assert_eq(index_entries(store_path, "records", &blocks), 2 * g2.count);
    cr_assert_geq(blocks, (2 * g2.count + UF_BLOCK_ENTRIES - 1) / UF_BLOCK_ENTRIES);
    cr_assert_lt(blocks, 2 * g2.count / 8, "records are not blocked: %zu blocks", blocks);
    cr_assert_eq(raw_count(store_path, "records"), blocks);
    cr_assert_eq(raw_count(store_path, "redirects"), 3);
    cr_assert_eq(index_entries(store_path, "identifiers", &blocks), g2.count + 3);
    cr_assert_eq(raw_count(store_path, "identifiers"), blocks);
}

enum { LONG_KEYS = 82, LONG_KEY_MAX = 700 };

typedef struct record_list {
    char keys[LONG_KEYS][LONG_KEY_MAX];
    size_t lens[LONG_KEYS];
    char sources[LONG_KEYS][8];
    uint64_t ids[LONG_KEYS];
    size_t count;
} record_list;

static int collect_record(void *ctx, const char *source, size_t source_len, const char *key, size_t key_len,
                          uint64_t id)
{
    record_list *l = ctx;
    if (l->count == LONG_KEYS || key_len >= LONG_KEY_MAX || source_len >= 8)
        return 99;
    memcpy(l->sources[l->count], source, source_len);
    l->sources[l->count][source_len] = '\0';
    memcpy(l->keys[l->count], key, key_len);
    l->lens[l->count] = key_len;
    l->ids[l->count++] = id;
    return 0;
}

typedef struct writer_scan {
    size_t count;
    char first_key[LONG_KEY_MAX];
    size_t first_len;
} writer_scan;

static int writer_record(void *ctx, uf_slice source, uf_slice key, uint64_t id)
{
    writer_scan *w = ctx;
    (void)source;
    (void)id;
    if (w->count++ == 0) {
        memcpy(w->first_key, key.ptr, key.len);
        w->first_len = key.len;
    }
    return 0;
}

static uint64_t find_long(uf_store *s, const char *key, size_t len, int expect)
{
    char z[LONG_KEY_MAX + 1];
    memcpy(z, key, len);
    z[len] = '\0';
    uint64_t gid = 0;
    uf_error err;
    cr_assert_eq(uf_store_find_record(s, "crm", z, &gid, &err), expect, "key of %zu bytes: %s", len, err.message);
    return gid;
}

Test(store, long_record_keys_keep_order_and_are_found)
{
    /* Keys in ascending order (crm + '\0' + key is the stored key):
     *  - 31 short ones, "k000".."k030": with the next they fill a block;
     *  - 41 of 600 bytes, 599 × 'k' + one letter: the first ends that
     *    block, the rest share their first 511 bytes (LMDB's key limit), so
     *    they must stay in one block, beyond UF_BLOCK_ENTRIES;
     *  - 10 of 520 bytes with a 'z' at byte 300: blocks start again. */
    static char keys[LONG_KEYS][LONG_KEY_MAX];
    size_t lens[LONG_KEYS];
    int n = 0;
    for (int i = 0; i < 31; i++, n++)
        lens[n] = (size_t)snprintf(keys[n], LONG_KEY_MAX, "k%03d", i);
    for (int i = 0; i < 41; i++, n++) {
        memset(keys[n], 'k', 599);
        keys[n][599] = (char)('A' + i);
        lens[n] = 600;
    }
    for (int i = 0; i < 10; i++, n++) {
        memset(keys[n], 'k', 519);
        keys[n][300] = 'z';
        keys[n][519] = (char)('A' + i);
        lens[n] = 520;
    }
    cr_assert_eq(n, LONG_KEYS);
    uf_store_writer *w;
    uf_error err;
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_begin(w, 1 << 20, &err), UF_OK, "%s", err.message);
    for (int i = 0; i < n; i++)
        cr_assert_eq(uf_store_put_record(w, uf_slice_cstr("crm"), uf_slice_make(keys[i], lens[i]), (uint64_t)i + 1,
                                         &err),
                     UF_OK, "key %d: %s", i, err.message);
    uint64_t run;
    cr_assert_eq(uf_store_writer_commit(w, LONG_KEYS + 1, NULL, 0, &run, &err), UF_OK, "%s", err.message);
    /* The writer's scan (the next run's join) sees the full keys too. */
    writer_scan ws = {0};
    cr_assert_eq(uf_store_writer_scan_records(w, writer_record, &ws, &err), UF_OK, "%s", err.message);
    cr_assert_eq(ws.count, LONG_KEYS);
    cr_assert_eq(ws.first_len, lens[0]);
    uf_store_writer_close(w);
    size_t blocks;
    cr_assert_eq(index_entries(store_path, "records", &blocks), LONG_KEYS);
    cr_assert_eq(blocks, 3, "short keys + the first long one, the other long ones, the 'z' keys");

    uf_store *s = open_reader(store_path);
    for (int i = 0; i < n; i++)
        cr_assert_eq(find_long(s, keys[i], lens[i], UF_OK), (uint64_t)i + 1, "key %d", i);
    /* Missing keys around the block edges: 511 × 'k' + 'a' sorts after the
     * short keys and before every long one, and its cut is the second
     * block's key, whose first entry is above it; one between two long
     * keys; a key shorter than all; one above all. */
    char other[LONG_KEY_MAX];
    memset(other, 'k', 511);
    other[511] = 'a';
    find_long(s, other, 512, UF_ERR_NOT_FOUND);
    memcpy(other, keys[40], 600);
    other[600] = '0';
    find_long(s, other, 601, UF_ERR_NOT_FOUND);
    find_long(s, "a", 1, UF_ERR_NOT_FOUND);
    find_long(s, "zz", 2, UF_ERR_NOT_FOUND);
    find_long(s, keys[31], 599, UF_ERR_NOT_FOUND); /* a prefix of a stored key */
    uint64_t gid;
    cr_assert_eq(uf_store_find_record(s, "crn", "k000", &gid, &err), UF_ERR_NOT_FOUND, "another source");
    cr_assert_eq(uf_store_find_record(s, "", "k000", &gid, &err), UF_ERR_INVALID);
    static record_list list;
    list.count = 0;
    cr_assert_eq(uf_store_scan_records(s, collect_record, &list, &err), UF_OK, "%s", err.message);
    cr_assert_eq(list.count, LONG_KEYS);
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(list.sources[i], "crm");
        cr_assert_eq(list.lens[i], lens[i], "position %d", i);
        cr_assert_eq(memcmp(list.keys[i], keys[i], lens[i]), 0, "position %d", i);
        cr_assert_eq(list.ids[i], (uint64_t)i + 1);
    }
    uf_store_close(s);
    /* Stored keys: source + NUL + key; no empty source, none with a NUL. */
    uf_buf b;
    uf_buf_init(&b);
    cr_assert(uf_store_record_key(uf_slice_cstr("crm"), uf_slice_make(keys[31], 600), &b));
    cr_assert_eq(b.len, 604);
    cr_assert_eq(memcmp(b.data, "crm\0kkk", 7), 0);
    cr_assert_not(uf_store_record_key(uf_slice_cstr(""), uf_slice_cstr("k"), &b));
    cr_assert_not(uf_store_record_key(uf_slice_make("a\0b", 3), uf_slice_cstr("k"), &b));
    uf_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Order and argument violations                                       */
/* ------------------------------------------------------------------ */

typedef enum violation { V_PROFILE, V_IDENTIFIER, V_IDENTIFIER_ID, V_RECORD, V_RECORD_SOURCE, V_REDIRECT, V_ZERO } violation;

static int put_violation(uf_store_writer *w, violation v, uf_error *err)
{
    uf_slice crm = uf_slice_cstr("crm"), web = uf_slice_cstr("web");
    switch (v) {
    case V_PROFILE:
        uf_store_put_profile(w, 10, "{}", 2, err);
        return uf_store_put_profile(w, 9, "{}", 2, err);
    case V_IDENTIFIER:
        uf_store_put_identifier(w, (uf_key){5, 5}, 1, err);
        return uf_store_put_identifier(w, (uf_key){5, 4}, 1, err);
    case V_IDENTIFIER_ID:
        uf_store_put_identifier(w, (uf_key){5, 5}, 2, err);
        return uf_store_put_identifier(w, (uf_key){5, 5}, 1, err);
    case V_RECORD:
        uf_store_put_record(w, crm, uf_slice_cstr("B"), 1, err);
        return uf_store_put_record(w, crm, uf_slice_cstr("A"), 1, err);
    case V_RECORD_SOURCE:
        uf_store_put_record(w, web, uf_slice_cstr("A"), 1, err);
        return uf_store_put_record(w, crm, uf_slice_cstr("Z"), 1, err);
    case V_REDIRECT:
        uf_store_put_redirect(w, 7, 1, err);
        return uf_store_put_redirect(w, 7, 2, err);
    case V_ZERO:
        return uf_store_put_profile(w, 0, "{}", 2, err);
    }
    return UF_OK;
}

Test(store, order_violation_commits_nothing)
{
    gen_params g1 = {.gen = 1, .first_id = 1, .count = 50, .pad = 10};
    uint64_t run1;
    write_ok(store_path, &g1, &run1);
    for (violation v = V_PROFILE; v <= V_ZERO; v++) {
        uf_store_writer *w;
        uf_error err = {0};
        cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_OK, "%s", err.message);
        cr_assert_eq(uf_store_writer_begin(w, 1 << 20, &err), UF_OK, "%s", err.message);
        cr_assert_eq(put_violation(w, v, &err), UF_ERR_INVALID, "violation %d: %s", v, err.message);
        cr_assert_eq(err.code, UF_ERR_INVALID);
        /* The transaction stays failed: later puts and commit repeat it. */
        cr_assert_eq(uf_store_put_profile(w, 1000, "{}", 2, &err), UF_ERR_INVALID);
        cr_assert_eq(uf_store_writer_commit(w, (uint64_t)1 << 40, NULL, 0, NULL, &err), UF_ERR_INVALID);
        cr_assert(strstr(err.message, "nothing committed"), "%s", err.message);
        /* The writer is still usable afterwards. */
        cr_assert_eq(uf_store_writer_begin(w, 1 << 20, &err), UF_OK, "%s", err.message);
        uf_store_writer_abort(w);
        uf_store_writer_close(w);
        uf_store *s = open_reader(store_path);
        verify_generation(s, &g1, run1);
        uf_store_close(s);
    }
}

Test(store, argument_checks)
{
    uf_store_writer *w;
    uf_error err = {0};
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_OK, "%s", err.message);
    /* No transaction yet. */
    cr_assert_eq(uf_store_put_profile(w, 1, "{}", 2, &err), UF_ERR_INVALID);
    cr_assert_eq(uf_store_writer_commit(w, 2, NULL, 0, NULL, &err), UF_ERR_INVALID);
    cr_assert_eq(uf_store_writer_begin(w, 0, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_begin(w, 0, &err), UF_ERR_INVALID);
    /* An exact repeat of an identifier pair is accepted and stored once. */
    cr_assert_eq(uf_store_put_identifier(w, (uf_key){1, 1}, 3, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_identifier(w, (uf_key){1, 1}, 3, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_identifier(w, (uf_key){1, 1}, 4, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_profile(w, 3, "{\"a\":1}", 7, &err), UF_OK);
    cr_assert_eq(uf_store_put_redirect(w, 5, 5, &err), UF_ERR_INVALID);
    uf_store_writer_abort(w);
    /* Commit refuses a next_golden_id that would hand out an id again. */
    cr_assert_eq(uf_store_writer_begin(w, 0, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_profile(w, 3, "{}", 2, &err), UF_OK);
    cr_assert_eq(uf_store_writer_commit(w, 3, NULL, 0, NULL, &err), UF_ERR_INVALID);
    cr_assert_eq(uf_store_writer_begin(w, 0, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_identifier(w, (uf_key){1, 1}, 3, &err), UF_OK);
    cr_assert_eq(uf_store_put_identifier(w, (uf_key){1, 1}, 3, &err), UF_OK);
    cr_assert_eq(uf_store_put_identifier(w, (uf_key){1, 1}, 4, &err), UF_OK);
    cr_assert_eq(uf_store_put_profile(w, 3, "{}", 2, &err), UF_OK);
    cr_assert_eq(uf_store_put_profile(w, 4, "{}", 2, &err), UF_OK);
    cr_assert_eq(uf_store_writer_commit(w, 10, NULL, 0, NULL, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_next_golden_id(w), 10);
    /* ...and one below the previous next_golden_id. */
    cr_assert_eq(uf_store_writer_begin(w, 0, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_commit(w, 9, NULL, 0, NULL, &err), UF_ERR_INVALID);
    uf_store_writer_close(w);
    cr_assert_eq(index_entries(store_path, "identifiers", NULL), 2);
    uf_store *s = open_reader(store_path);
    unsigned char kb[16];
    uint64_t ids[4];
    size_t count;
    uf_key_to_bytes((uf_key){1, 1}, kb);
    cr_assert_eq(uf_store_find_identifier(s, kb, ids, 4, &count, &err), UF_OK);
    cr_assert_eq(count, 2);
    cr_assert_eq(ids[0], 3);
    cr_assert_eq(ids[1], 4);
    char *report = NULL;
    uint64_t run = 0;
    cr_assert_eq(uf_store_last_run(s, &run, &report, NULL, &err), UF_OK);
    cr_assert_eq(run, 1);
    cr_assert_str_eq(report, "{}");
    free(report);
    uint64_t gid;
    cr_assert_eq(uf_store_find_record(s, "", "x", &gid, &err), UF_ERR_INVALID);
    uf_store_close(s);
}

Test(store, redirect_chains)
{
    uf_store_writer *w;
    uf_error err = {0};
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_begin(w, 0, &err), UF_OK, "%s", err.message);
    char profile[256];
    size_t plen = profile_text(profile, sizeof profile, 7, 100, 3);
    cr_assert_eq(put_test_schema(w, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_profile(w, 100, profile, plen, &err), UF_OK);
    /* 1 -> 2 -> ... -> 16 -> 100: 16 hops, the most that is followed. */
    for (uint64_t i = 1; i <= 16; i++)
        cr_assert_eq(uf_store_put_redirect(w, i, i == 16 ? 100 : i + 1, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_redirect(w, 50, 51, &err), UF_OK); /* 51: nothing */
    cr_assert_eq(uf_store_put_redirect(w, 60, 61, &err), UF_OK); /* a cycle */
    cr_assert_eq(uf_store_put_redirect(w, 61, 60, &err), UF_OK);
    cr_assert_eq(uf_store_put_redirect(w, 70, 1, &err), UF_OK);  /* 17 hops */
    cr_assert_eq(uf_store_writer_commit(w, 101, NULL, 0, NULL, &err), UF_OK, "%s", err.message);
    uf_store_writer_close(w);
    uf_store *s = open_reader(store_path);
    char *json = NULL;
    uint64_t resolved = 0;
    cr_assert_eq(uf_store_profile_json(s, 1, &json, NULL, &resolved, &err), UF_OK, "%s", err.message);
    cr_assert_eq(resolved, 100);
    cr_assert_str_eq(json, "{\"golden_id\":\"G000000100\",\"updated_at\":\"2023-11-14T22:13:27Z\",\"channels\":[\"crm\"],"
                           "\"attributes\":{},\"identifiers\":{},\"records\":[{\"source\":\"crm\",\"key\":"
                           "\"gen=7;id=100;pad=wxy\",\"updated_at\":\"2023-11-14T22:13:20Z\"}],\"context\":{}}");
    free(json);
    cr_assert_eq(uf_store_profile_json(s, 50, &json, NULL, &resolved, &err), UF_ERR_NOT_FOUND);
    cr_assert_eq(uf_store_profile_json(s, 60, &json, NULL, &resolved, &err), UF_ERR_STORE);
    cr_assert(strstr(err.message, "hops"), "%s", err.message);
    cr_assert_eq(uf_store_profile_json(s, 70, &json, NULL, &resolved, &err), UF_ERR_STORE);
    cr_assert_eq(uf_store_profile_json(s, 999, &json, NULL, &resolved, &err), UF_ERR_NOT_FOUND);
    uf_store_close(s);
}

/* ------------------------------------------------------------------ */
/* Writers exclude each other                                          */
/* ------------------------------------------------------------------ */

/* Exit status of a forked child running fn(path). */
static int run_child(int (*fn)(const char *path), const char *path)
{
    pid_t pid = fork_child();
    if (pid == 0)
        _exit(fn(path));
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "child died by signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

static int child_expects_busy(const char *path)
{
    uf_store_writer *w;
    uf_error err = {0};
    int rc = uf_store_writer_open(path, 0, &w, &err);
    if (rc == UF_OK)
        return 1;
    if (rc != UF_ERR_BUSY || !strstr(err.message, "another unify run is writing this store"))
        return 2;
    return 0;
}

static int child_reads_generation_1(const char *path)
{
    uf_store *s;
    uf_error err;
    if (uf_store_open(path, &s, &err) != UF_OK)
        return 1;
    char *json = NULL;
    int rc = uf_store_profile_json(s, 1, &json, NULL, NULL, &err);
    int ok = rc == UF_OK && profile_gen(json) == 1;
    free(json);
    uf_store_close(s);
    return ok ? 0 : 3;
}

Test(store, second_writer_is_busy)
{
    gen_params g1 = {.gen = 1, .first_id = 1, .count = 10, .pad = 10};
    uint64_t run1;
    write_ok(store_path, &g1, &run1);
    uf_store_writer *w;
    uf_error err = {0};
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_begin(w, 0, &err), UF_OK, "%s", err.message);
    /* Another process, with the lock held by this one. */
    cr_assert_eq(run_child(child_expects_busy, store_path), 0);
    /* Readers in other processes do not take the lock. */
    cr_assert_eq(run_child(child_reads_generation_1, store_path), 0);
    /* This process, a second handle. */
    uf_store_writer *w2 = NULL;
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w2, &err), UF_ERR_BUSY);
    cr_assert_null(w2);
    cr_assert(strstr(err.message, "another unify run is writing this store"), "%s", err.message);
    cr_assert(strstr(err.message, store_path), "%s", err.message);
    /* A reader in the writer's process would be a second LMDB handle. */
    uf_store *s = NULL;
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_BUSY);
    cr_assert(strstr(err.message, "already open in this process"), "%s", err.message);
    uf_store_writer_close(w);
    /* Released: both work again. */
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_OK, "%s", err.message);
    uf_store_writer_close(w);
    s = open_reader(store_path);
    uf_store *s2 = NULL;
    cr_assert_eq(uf_store_open(store_path, &s2, &err), UF_ERR_BUSY, "%s", err.message);
    uf_store_close(s);
}

/* ------------------------------------------------------------------ */
/* Crashes                                                             */
/* ------------------------------------------------------------------ */

/* Child: writes profiles forever (slowly), telling the parent once some are in. */
static void child_write_until_killed(const char *path, int signal_fd)
{
    const uint64_t some = T_SMALL_OR(20000, 2000);
    uf_store_writer *w;
    uf_error err;
    if (uf_store_writer_open(path, 0, &w, &err) != UF_OK || uf_store_writer_begin(w, 64 << 20, &err) != UF_OK)
        _exit(10);
    char json[1100];
    if (put_test_schema(w, &err) != UF_OK)
        _exit(12);
    for (uint64_t id = 1;; id++) {
        size_t len = profile_text(json, sizeof json, 99, id, 1000);
        if (uf_store_put_profile(w, id, json, len, &err) != UF_OK) {
            if (id <= some)
                _exit(13); /* the parent sees EOF instead of the signal */
            pause();       /* map full after signalling: wait for the kill */
        }
        if (id == some) {
            if (write(signal_fd, "x", 1) != 1)
                _exit(11);
        }
        if (id % 1000 == 0)
            usleep(1000);
    }
}

Test(store, kill_mid_write_keeps_previous_generation)
{
    gen_params g1 = {.gen = 1, .first_id = 1, .count = 1000, .pad = 200};
    gen_params g2 = {.gen = 2, .first_id = 1, .count = 1500, .pad = 300};
    uint64_t run1, run2;
    write_ok(store_path, &g1, &run1);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork_child();
    if (pid == 0) {
        close(fds[0]);
        child_write_until_killed(store_path, fds[1]);
        _exit(12);
    }
    close(fds[1]);
    char c;
    cr_assert_eq(read(fds[0], &c, 1), 1, "the child never wrote its first profiles");
    usleep(20000); /* let it write some more: the kill lands mid-append */
    cr_assert_eq(kill(pid, SIGKILL), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child was not killed (status %d)", status);
    close(fds[0]);

    /* Exactly generation 1. */
    uf_store *s = open_reader(store_path);
    verify_generation(s, &g1, run1);
    uf_store_close(s);
    cr_assert_eq(raw_count(store_path, "runs"), 1);
    /* The dead writer's lock went with it: a full run commits. */
    write_ok(store_path, &g2, &run2);
    cr_assert_eq(run2, 2);
    s = open_reader(store_path);
    verify_generation(s, &g2, run2);
    uf_store_close(s);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Whatever the kill hit, the store holds one whole generation: the previous
 * one or the one being written, complete, with a run log to match.
 */
static int committed_generation(const char *path, int previous, int attempted, size_t *runs)
{
    uf_store *s = open_reader(path);
    scan_check c = {.gen = -1};
    uf_error err;
    cr_assert_eq(uf_store_scan_profiles(s, check_profile, &c, &err), UF_OK, "%s", err.message);
    cr_assert(!c.mixed, "a snapshot mixes generations");
    cr_assert(c.gen == previous || c.gen == attempted, "store holds generation %d, expected %d or %d", c.gen,
              previous, attempted);
    if (c.gen == attempted)
        (*runs)++;
    gen_params p = {.gen = c.gen, .first_id = 1, .count = 2000 + (size_t)c.gen * 10, .pad = 400};
    verify_generation(s, &p, *runs);
    uf_store_close(s);
    return c.gen;
}

Test(store, kill_at_random_moments_including_commit, .timeout = 240)
{
    gen_params g = {.gen = 1, .first_id = 1, .count = 2010, .pad = 400};
    uint64_t run;
    write_ok(store_path, &g, &run);
    /* How long one whole run takes in a child, to spread the kills over it. */
    double t0 = now_seconds();
    g = (gen_params){.gen = 2, .first_id = 1, .count = 2020, .pad = 400};
    pid_t calibration = fork_child();
    if (calibration == 0) {
        uf_error err;
        _exit(write_generation(store_path, &g, &run, &err) == UF_OK ? 0 : 1);
    }
    int calibration_status;
    cr_assert_eq(waitpid(calibration, &calibration_status, 0), calibration);
    cr_assert(WIFEXITED(calibration_status) && WEXITSTATUS(calibration_status) == 0);
    double duration = now_seconds() - t0;
    int current = 2;
    size_t runs = 2;
    unsigned seed = 12345;
    int survived = 0, killed = 0;
    double scale = 1.5;
    int rounds = T_SMALL_OR(24, 10);
    for (int round = 3; round < 3 + rounds; round++) {
        g = (gen_params){.gen = round, .first_id = 1, .count = 2000 + (size_t)round * 10, .pad = 400};
        pid_t pid = fork_child();
        if (pid == 0) {
            uf_error err;
            uint64_t r;
            _exit(write_generation(store_path, &g, &r, &err) == UF_OK ? 0 : 1);
        }
        /* The spread adapts towards the moment of the commit: shorter after
         * a round that committed, longer after one that was killed first. */
        seed = seed * 1103515245u + 12345u;
        double delay = duration * scale * (double)((seed >> 8) % 1000) / 1000.0;
        usleep((useconds_t)(delay * 1e6));
        kill(pid, SIGKILL);
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) || WEXITSTATUS(status) == 0, "writer failed before the kill");
        int gen = committed_generation(store_path, current, round, &runs);
        if (gen == round) {
            survived++;
            scale *= 0.8;
        } else {
            killed++;
            scale *= 1.25;
        }
        current = gen;
    }
    cr_log_info("kill test: %d rounds committed before the kill, %d killed first", survived, killed);
    cr_assert_gt(killed, 0, "no kill landed before a commit: the test proves nothing");
    cr_assert_gt(survived, 0, "no round got to commit: the timing is off");
}

/* ------------------------------------------------------------------ */
/* Readers while another process commits                               */
/* ------------------------------------------------------------------ */

enum { CONCURRENT_LAST_GEN = 8 };
#define CONCURRENT_PROFILES ((size_t)T_SMALL_OR(3000, 1000))

static gen_params concurrent_gen(int gen)
{
    /* Growing generations, so that the writer must grow the map too. */
    return (gen_params){.gen = gen, .first_id = 1, .count = CONCURRENT_PROFILES, .pad = 200 + (size_t)gen * 400,
                        .map_size = 1 << 20};
}

typedef struct reader_ctx {
    uf_store *store;
    atomic_bool *stop;
    unsigned seed;
    long reads, failures, torn;
    unsigned gens_seen; /* bit per generation */
    char failure[1100];
} reader_ctx;

static void reader_failure(reader_ctx *r, const char *what, const uf_error *err)
{
    if (r->failures++ == 0)
        snprintf(r->failure, sizeof r->failure, "%.40s: %.1000s", what, err ? err->message : "");
}

static void *reader_thread(void *arg)
{
    reader_ctx *r = arg;
    uf_error err;
    while (!atomic_load(r->stop)) {
        /* One snapshot: one generation, complete. */
        scan_check c = {.gen = -1};
        if (uf_store_scan_profiles(r->store, check_profile, &c, &err) != UF_OK)
            reader_failure(r, "scan", &err);
        else if (c.mixed || c.count != CONCURRENT_PROFILES || c.gen < 1 || c.gen > CONCURRENT_LAST_GEN)
            r->torn++;
        else
            __atomic_fetch_or(&r->gens_seen, 1u << c.gen, __ATOMIC_RELAXED);
        /* Point lookups: each sees some whole generation. */
        for (int i = 0; i < 200; i++) {
            r->seed = r->seed * 1103515245u + 12345u;
            uint64_t id = 1 + (r->seed >> 8) % (uint64_t)CONCURRENT_PROFILES;
            char *json = NULL;
            uint64_t resolved = 0;
            if (uf_store_profile_json(r->store, id, &json, NULL, &resolved, &err) != UF_OK) {
                reader_failure(r, "profile", &err);
                continue;
            }
            int gen = profile_gen(json);
            free(json);
            if (gen < 1 || gen > CONCURRENT_LAST_GEN || resolved != id)
                r->torn++;
            /* The identifier of the generation just seen: it may have moved
             * on since, but then the newer generation holds the key. */
            uint64_t ids[2];
            size_t count = 0;
            unsigned char kb[16];
            uf_key_to_bytes(ident_key(gen, id), kb);
            int rc = uf_store_find_identifier(r->store, kb, ids, 2, &count, &err);
            if (rc == UF_OK && (count != 1 || ids[0] != id))
                r->torn++;
            else if (rc != UF_OK && rc != UF_ERR_NOT_FOUND)
                reader_failure(r, "identifier", &err);
            uint64_t gid = 0;
            char key[32];
            record_key(key, sizeof key, 'W', id);
            if (uf_store_find_record(r->store, "web", key, &gid, &err) != UF_OK)
                reader_failure(r, "record", &err);
            else if (gid != id)
                r->torn++;
            r->reads += 3;
        }
    }
    return NULL;
}

Test(store, readers_never_fail_while_another_process_commits, .timeout = 240)
{
    gen_params g1 = concurrent_gen(1);
    uint64_t run;
    write_ok(store_path, &g1, &run);
    int go[2];
    cr_assert_eq(pipe(go), 0);
    pid_t pid = fork_child(); /* before this process opens the store */
    if (pid == 0) {
        close(go[1]);
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(20);
        for (int gen = 2; gen <= CONCURRENT_LAST_GEN; gen++) {
            gen_params g = concurrent_gen(gen);
            uf_error err;
            uint64_t r;
            if (write_generation(store_path, &g, &r, &err) != UF_OK) {
                fprintf(stderr, "writer: %s\n", err.message);
                _exit(21);
            }
            usleep(20000);
        }
        _exit(0);
    }
    close(go[0]);
    /* Map only what exists now, so the writer's growth exercises the remap path. */
    uf_store *s = NULL;
    uf_error err;
    cr_assert_eq(uf_store_open_reserve(store_path, 0, &s, &err), UF_OK, "%s", err.message);
    atomic_bool stop = false;
    reader_ctx readers[3];
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        readers[i] = (reader_ctx){.store = s, .stop = &stop, .seed = 7u + (unsigned)i};
        cr_assert_eq(pthread_create(&threads[i], NULL, reader_thread, &readers[i]), 0);
    }
    usleep(50000);
    cr_assert_eq(write(go[1], "g", 1), 1);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    /* Give the readers time to meet the last generation: 50 ms normally, up to 10 s when
     * they crawl (valgrind runs one thread at a time). */
    for (int wait = 0; wait < 200; wait++) {
        usleep(50000);
        unsigned now = 0;
        for (int i = 0; i < 3; i++)
            now |= __atomic_load_n(&readers[i].gens_seen, __ATOMIC_RELAXED);
        if (now & (1u << CONCURRENT_LAST_GEN))
            break;
    }
    atomic_store(&stop, true);
    unsigned seen = 0;
    long reads = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        cr_assert_eq(readers[i].failures, 0, "reader %d: %ld failures, first: %s", i, readers[i].failures,
                     readers[i].failure);
        cr_assert_eq(readers[i].torn, 0, "reader %d saw %ld torn reads", i, readers[i].torn);
        seen |= readers[i].gens_seen;
        reads += readers[i].reads;
    }
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer process failed (%d)", status);
    cr_log_info("concurrent readers: %ld lookups, generations seen 0x%x", reads, seen);
    cr_assert(seen & (1u << 1), "never saw generation 1");
    cr_assert(seen & (1u << CONCURRENT_LAST_GEN), "never saw the last generation");
    gen_params last = concurrent_gen(CONCURRENT_LAST_GEN);
    verify_generation(s, &last, CONCURRENT_LAST_GEN);
    uf_store_close(s);
    close(go[1]);
}

/* ------------------------------------------------------------------ */
/* Map growth                                                          */
/* ------------------------------------------------------------------ */

enum { BIG_PAD = 1000 };
#define BIG_PROFILES ((size_t)T_SMALL_OR(50000, 5000)) /* ~50 MB of profiles (5 MB) */

static uint64_t data_file_size(const char *path)
{
    char data[400];
    snprintf(data, sizeof data, "%s/data.mdb", path);
    struct stat st;
    cr_assert_eq(stat(data, &st), 0);
    return (uint64_t)st.st_size;
}

Test(store, file_settles_at_two_generations)
{
    /* Run after run, the pages of the generation before last are reused. */
    uint64_t after_two = 0;
    for (int gen = 1; gen <= 6; gen++) {
        gen_params g = {.gen = gen, .first_id = 1, .count = T_SMALL_OR(5000, 1000), .pad = 1000};
        uint64_t run;
        write_ok(store_path, &g, &run);
        if (gen == 2)
            after_two = data_file_size(store_path);
    }
    uint64_t after_six = data_file_size(store_path);
    cr_assert_leq(after_six, after_two + after_two / 10, "data.mdb grew from %" PRIu64 " to %" PRIu64 " bytes",
                  after_two, after_six);
}

Test(store, map_grows_from_estimate)
{
    uf_store_writer *w;
    uf_error err = {0};
    cr_assert_eq(uf_store_writer_open(store_path, 1 << 20, &w, &err), UF_OK, "%s", err.message);
    gen_params g = {.gen = 1, .first_id = 1, .count = BIG_PROFILES, .pad = BIG_PAD};
    cr_assert_eq(uf_store_writer_begin(w, (uint64_t)BIG_PROFILES * (BIG_PAD + 150), &err), UF_OK, "%s", err.message);
    cr_assert_eq(put_generation(w, &g, &err), UF_OK, "%s", err.message);
    uint64_t run;
    cr_assert_eq(uf_store_writer_commit(w, generation_next_id(w, &g), "{\"gen\":1}", 9, &run, &err), UF_OK, "%s",
                 err.message);
    cr_assert_not(uf_store_writer_map_full(w));
    uf_store_writer_close(w);
    struct stat st;
    char data[400];
    snprintf(data, sizeof data, "%s/data.mdb", store_path);
    cr_assert_eq(stat(data, &st), 0);
    cr_assert_gt(st.st_size, (off_t)(BIG_PROFILES * BIG_PAD));
    uf_store *s = open_reader(store_path);
    verify_generation(s, &g, run);
    uf_store_close(s);
}

static int child_write_big_generation(const char *path)
{
    gen_params g = {.gen = 2, .first_id = 1, .count = BIG_PROFILES, .pad = BIG_PAD};
    uf_error err;
    uint64_t run;
    return write_generation(path, &g, &run, &err) == UF_OK ? 0 : 1;
}

Test(store, map_full_then_retry_with_larger_estimate)
{
    /* The caller's path: a put fails with MAP_FULL, abort, begin bigger. */
    uf_error err = {0};
    uint64_t run;
    const char *path2 = store_path;
    uf_store_writer *w;
    cr_assert_eq(uf_store_writer_open(path2, 1 << 20, &w, &err), UF_OK, "%s", err.message);
    gen_params g = {.gen = 1, .first_id = 1, .count = BIG_PROFILES, .pad = BIG_PAD};
    cr_assert_eq(uf_store_writer_begin(w, 0, &err), UF_OK, "%s", err.message);
    int rc = put_generation(w, &g, &err);
    cr_assert_eq(rc, UF_ERR_STORE, "a %zu MB generation fit a ~2 MiB map?", BIG_PROFILES * BIG_PAD / 1000000);
    cr_assert(uf_store_writer_map_full(w));
    cr_assert(strstr(err.message, "larger estimate"), "%s", err.message);
    uf_store_writer_abort(w);
    cr_assert_eq(uf_store_writer_begin(w, (uint64_t)BIG_PROFILES * (BIG_PAD + 150), &err), UF_OK, "%s", err.message);
    cr_assert_not(uf_store_writer_map_full(w));
    cr_assert_eq(put_generation(w, &g, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_commit(w, generation_next_id(w, &g), "{\"gen\":1}", 9, &run, &err), UF_OK, "%s",
                 err.message);

    /* A caller that keeps a bad estimate still gets there: each retry after
     * MAP_FULL at least doubles the map. */
    gen_params g2 = {.gen = 2, .first_id = 1, .count = BIG_PROFILES * 2, .pad = BIG_PAD};
    int attempts = 0;
    for (;; attempts++) {
        cr_assert_lt(attempts, 12);
        cr_assert_eq(uf_store_writer_begin(w, 0, &err), UF_OK, "%s", err.message);
        rc = put_generation(w, &g2, &err);
        if (rc == UF_OK)
            rc = uf_store_writer_commit(w, generation_next_id(w, &g2), "{\"gen\":2}", 9, &run, &err);
        if (rc == UF_OK)
            break;
        cr_assert(uf_store_writer_map_full(w), "%s", err.message);
        uf_store_writer_abort(w);
    }
    cr_assert_gt(attempts, 0);
    uf_store_writer_close(w);
    uf_store *s = open_reader(path2);
    verify_generation(s, &g2, 2);
    uf_store_close(s);
}

Test(store, reader_remaps_after_another_process_grows_the_map)
{
    /* A small store on a small map: the big generation outgrows what the reader maps at any size. */
    gen_params small = {.gen = 1, .first_id = 1, .count = 10, .pad = 10, .map_size = 1 << 20};
    uint64_t run;
    write_ok(store_path, &small, &run);
    /* Open the reader after forking is not possible here (it must be open
     * during the growth), so the child is forked first and waits. */
    int go[2];
    cr_assert_eq(pipe(go), 0);
    pid_t pid = fork_child();
    if (pid == 0) {
        close(go[1]);
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(30);
        _exit(child_write_big_generation(store_path));
    }
    close(go[0]);
    uf_store *s = NULL;
    uf_error err;
    cr_assert_eq(uf_store_open_reserve(store_path, 0, &s, &err), UF_OK, "%s", err.message);
    verify_generation(s, &small, 1);
    cr_assert_eq(write(go[1], "g", 1), 1);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    gen_params big = {.gen = 2, .first_id = 1, .count = BIG_PROFILES, .pad = BIG_PAD};
    verify_generation(s, &big, 2);
    uf_store_close(s);
    close(go[1]);
}

/* ------------------------------------------------------------------ */
/* Missing, foreign, corrupt and incompatible stores                   */
/* ------------------------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t len, off_t offset, bool truncate)
{
    int fd = open(path, O_WRONLY | O_CREAT | (truncate ? O_TRUNC : 0), 0600);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(pwrite(fd, data, len, offset), (ssize_t)len);
    close(fd);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(*len + 1);
    cr_assert_eq(fread(p, 1, *len, f), *len);
    fclose(f);
    return p;
}

Test(store, missing_store_is_not_found)
{
    uf_store *s = (uf_store *)1;
    uf_error err = {0};
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_NOT_FOUND);
    cr_assert_null(s);
    cr_assert(strstr(err.message, "no store here (run `unify run` first)"), "%s", err.message);
    /* An empty folder, and a writer that never committed. */
    cr_assert_eq(mkdir(store_path, 0700), 0);
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_NOT_FOUND, "%s", err.message);
    uf_store_writer *w;
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_next_golden_id(w), 1);
    cr_assert_eq(uf_store_writer_last_run_id(w), 0);
    cr_assert_eq(uf_store_writer_begin(w, 0, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_profile(w, 1, "{}", 2, &err), UF_OK);
    uf_store_writer_close(w); /* aborts */
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_NOT_FOUND, "%s", err.message);
    cr_assert_null(s);
}

Test(store, garbage_data_file_is_a_clear_error)
{
    cr_assert_eq(mkdir(store_path, 0700), 0);
    char data[400];
    snprintf(data, sizeof data, "%s/data.mdb", store_path);
    unsigned char junk[65536];
    unsigned x = 42;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (unsigned char)(x >> 16);
    }
    write_file(data, junk, sizeof junk, 0, true);
    uf_store *s = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_STORE, "%s", err.message);
    cr_assert(strstr(err.message, store_path), "%s", err.message);
    cr_assert(strstr(err.message, "not an LMDB store"), "%s", err.message);
    uf_store_writer *w = NULL;
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_ERR_STORE, "%s", err.message);
    cr_assert(strstr(err.message, store_path), "%s", err.message);
    /* Neither touched the file. */
    size_t len;
    unsigned char *after = read_all(data, &len);
    cr_assert_eq(len, sizeof junk);
    cr_assert_eq(memcmp(after, junk, len), 0);
    free(after);
    /* A short garbage file too. */
    write_file(data, "hello", 5, 0, true);
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_STORE, "%s", err.message);
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_ERR_STORE, "%s", err.message);
}

Test(store, clobbered_meta_pages_are_a_clear_error)
{
    gen_params g = {.gen = 1, .first_id = 1, .count = 100, .pad = 10};
    uint64_t run;
    write_ok(store_path, &g, &run);
    char data[400];
    snprintf(data, sizeof data, "%s/data.mdb", store_path);
    unsigned char junk[2 * 4096];
    memset(junk, 0xA5, sizeof junk);
    write_file(data, junk, sizeof junk, 0, false);
    uf_store *s = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_STORE, "%s", err.message);
    cr_assert(strstr(err.message, store_path), "%s", err.message);
    uf_store_writer *w = NULL;
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_ERR_STORE, "%s", err.message);
}

static void set_meta(const char *path, const char *key, const void *value, size_t len)
{
    MDB_txn *txn;
    MDB_env *env = raw_open(path, &txn, 0);
    MDB_dbi meta;
    cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)value};
    if (value)
        cr_assert_eq(mdb_put(txn, meta, &k, &v, 0), 0);
    else
        cr_assert_eq(mdb_del(txn, meta, &k, NULL), 0);
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

Test(store, other_format_version_is_refused)
{
    gen_params g = {.gen = 1, .first_id = 1, .count = 10, .pad = 10};
    uint64_t run;
    write_ok(store_path, &g, &run);
    /* Version 1 stored profile JSON: an old store is refused, not misread. */
    set_meta(store_path, "format_version", "\0\0\0\1", 4);
    uf_store *s = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_VERSION, "%s", err.message);
    cr_assert(strstr(err.message, "version 1"), "%s", err.message);
    uf_store_writer *w = NULL;
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_ERR_VERSION, "%s", err.message);
    /* A newer one too. */
    set_meta(store_path, "format_version", "\0\0\0\4", 4);
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_VERSION, "%s", err.message);
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_ERR_VERSION, "%s", err.message);
    /* Version 2 is upgraded by a run (store_format_2_is_upgraded_by_a_run): readers say so. */
    set_meta(store_path, "format_version", "\0\0\0\2", 4);
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_VERSION, "%s", err.message);
    cr_assert(strstr(err.message, "version 2") && strstr(err.message, "unify run"), "%s", err.message);
    /* Malformed meta is corruption, not a version question. */
    set_meta(store_path, "format_version", "\1", 1);
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_STORE, "%s", err.message);
    set_meta(store_path, "format_version", "\0\0\0\3", 4);
    set_meta(store_path, "next_golden_id", NULL, 0);
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_STORE, "%s", err.message);
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_ERR_STORE, "%s", err.message);
}

typedef struct record_digest {
    uint64_t hash;
    size_t count;
} record_digest;

static int digest_record(void *ctx, const char *source, size_t source_len, const char *key, size_t key_len,
                         uint64_t id)
{
    record_digest *d = ctx;
    d->hash = d->hash * 1000003 ^ id;
    for (size_t i = 0; i < source_len; i++)
        d->hash = d->hash * 31 + (unsigned char)source[i];
    d->hash = d->hash * 31 + 0xff;
    for (size_t i = 0; i < key_len; i++)
        d->hash = d->hash * 31 + (unsigned char)key[i];
    d->count++;
    return 0;
}

/* Record i of the test index: three sources, keys of 4..40 bytes. */
static void test_record(int i, const char **source, char *key, size_t *len)
{
    static const char *sources[] = {"app", "crm", "web"};
    *source = sources[i / 700];
    *len = (size_t)snprintf(key, 64, "K%05d%.*s", i % 700, (i * 7) % 35, "abcdefghijklmnopqrstuvwxyz0123456789");
}

static record_digest write_records_two_ways(const char *path, bool built)
{
    uf_store_writer *w;
    uf_error err;
    cr_assert_eq(uf_store_writer_open(path, 0, &w, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_begin(w, 1 << 20, &err), UF_OK, "%s", err.message);
    uf_record_blocks *b = uf_record_blocks_new();
    cr_assert(b);
    char key[64];
    size_t len;
    const char *source;
    /* The first 2 000 built (or put), the last 100 put after them either way. */
    for (int i = 0; i < 2100; i++) {
        test_record(i, &source, key, &len);
        int rc = built && i < 2000
                     ? uf_record_blocks_add(b, uf_slice_cstr(source), uf_slice_make(key, len), (uint64_t)i + 1, &err)
                     : uf_store_put_record(w, uf_slice_cstr(source), uf_slice_make(key, len), (uint64_t)i + 1, &err);
        cr_assert_eq(rc, UF_OK, "record %d: %s", i, err.message);
        if (built && i == 1999)
            cr_assert_eq(uf_store_put_record_blocks(w, b, &err), UF_OK, "%s", err.message);
    }
    uf_record_blocks_free(b);
    cr_assert_eq(uf_store_writer_commit(w, 2101, NULL, 0, NULL, &err), UF_OK, "%s", err.message);
    uf_store_writer_close(w);
    cr_assert_eq(index_entries(path, "records", NULL), 2100);
    uf_store *s = open_reader(path);
    record_digest d = {0};
    cr_assert_eq(uf_store_scan_records(s, digest_record, &d, &err), UF_OK, "%s", err.message);
    for (int i = 0; i < 2100; i += 7) {
        test_record(i, &source, key, &len);
        key[len] = '\0';
        uint64_t gid = 0;
        cr_assert_eq(uf_store_find_record(s, source, key, &gid, &err), UF_OK, "record %d: %s", i, err.message);
        cr_assert_eq(gid, (uint64_t)i + 1);
    }
    uf_store_close(s);
    return d;
}

Test(store, record_index_built_off_the_writer_equals_the_one_put)
{
    char other[4096];
    snprintf(other, sizeof other, "%s2", store_path);
    record_digest put = write_records_two_ways(store_path, false);
    record_digest built = write_records_two_ways(other, true);
    cr_assert_eq(put.count, 2100);
    cr_assert_eq(built.count, put.count);
    cr_assert_eq(built.hash, put.hash);


    /* The builder makes the checks of a put. */
    uf_error err;
    uf_record_blocks *b = uf_record_blocks_new();
    cr_assert_eq(uf_record_blocks_add(b, uf_slice_cstr("crm"), uf_slice_cstr("B"), 1, &err), UF_OK);
    cr_assert_eq(uf_record_blocks_add(b, uf_slice_cstr("crm"), uf_slice_cstr("A"), 2, &err), UF_ERR_INVALID);
    cr_assert(strstr(err.message, "records out of order: crm:A after crm:B"), "%s", err.message);
    cr_assert_eq(uf_record_blocks_add(b, uf_slice_cstr("crm"), uf_slice_cstr("C"), 0, &err), UF_ERR_INVALID);
    cr_assert_eq(uf_record_blocks_add(b, uf_slice_cstr(""), uf_slice_cstr("C"), 3, &err), UF_ERR_INVALID);
    /* ...and goes only into an empty record index; the transaction then fails as a whole. */
    uf_store_writer *w;
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_begin(w, 1 << 20, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_record(w, uf_slice_cstr("app"), uf_slice_cstr("A"), 1, &err), UF_OK);
    cr_assert_eq(uf_store_put_record_blocks(w, b, &err), UF_ERR_INVALID);
    cr_assert_eq(uf_store_writer_commit(w, 5, NULL, 0, NULL, &err), UF_ERR_INVALID, "%s", err.message);
    uf_store_writer_close(w);
    uf_record_blocks_free(b);
    uf_store *s = open_reader(store_path);
    record_digest d = {0};
    cr_assert_eq(uf_store_scan_records(s, digest_record, &d, &err), UF_OK, "%s", err.message);
    cr_assert_eq(d.count, 2100, "the first generation stays");
    uf_store_close(s);
}

/*
 * A damaged block (a bit flipped anywhere, or cut anywhere) decodes to an
 * error or to some entries, never reads outside its bytes (ASan and
 * valgrind watch) and never loops.
 */
Test(store, damaged_index_blocks_never_read_outside_them)
{
    uf_block_writer w;
    uf_block_writer_init(&w);
    char key[64];
    for (int i = 0; i < UF_BLOCK_ENTRIES; i++) {
        int n = snprintf(key, sizeof key, "crm%cK%06d%.*s", 0, i * 37, i % 9, "abcdefghi");
        cr_assert(uf_block_add(&w, key, (size_t)n, (uint64_t)i * 977 + 1));
    }
    MDB_val k, v;
    cr_assert(uf_block_take(&w, &k, &v));
    size_t len = v.mv_size;
    unsigned char *good = malloc(len);
    cr_assert(good);
    memcpy(good, v.mv_data, len);
    uf_block_writer_free(&w);
    int probe_len = snprintf(key, sizeof key, "crm%cK%06d%.*s", 0, 5 * 37, 5, "abcdefghi");
    uint64_t ids[4];
    size_t count, malformed = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        for (size_t bit = 0; bit <= 8 * cut; bit++) {
            if (bit < 8 * cut && bit % 3 != cut % 3 && cut != len)
                continue; /* every bit of the whole block, a third of them for the cut ones */
            /* An exact-size copy, so that any read past the end is caught. */
            unsigned char *b = cut ? malloc(cut) : NULL;
            if (cut)
                memcpy(b, good, cut);
            if (bit < 8 * cut)
                b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            MDB_val block = {cut, b};
            int found = uf_block_find(&block, key, (size_t)probe_len, ids, 4, &count);
            cr_assert(found == UF_BLOCK_ENTRY || found == UF_BLOCK_END || found == UF_BLOCK_MALFORMED);
            uf_block_reader r;
            uf_block_reader_init(&r, &block);
            uint64_t id;
            int got, steps = 0;
            while ((got = uf_block_next(&r, &id)) == UF_BLOCK_ENTRY)
                cr_assert_lt(++steps, 2 * UF_BLOCK_ENTRIES + (int)cut, "no end");
            cr_assert(got == UF_BLOCK_END || got == UF_BLOCK_MALFORMED);
            malformed += got == UF_BLOCK_MALFORMED;
            uf_block_reader_free(&r);
            free(b);
        }
    }
    cr_assert_gt(malformed, 1000, "damage must be noticed, not only survived");
    /* The intact block finds the probe. */
    MDB_val intact = {len, good};
    cr_assert_eq(uf_block_find(&intact, key, (size_t)probe_len, ids, 4, &count), UF_BLOCK_ENTRY);
    cr_assert_eq(count, 1);
    cr_assert_eq(ids[0], 5 * 977 + 1);
    free(good);
}

/* A format 2 store, as unify wrote it before index blocks (store.c, V2_*): raw LMDB. */
static void write_format_2_store(const char *path, const char *long_key)
{
    cr_assert_eq(mkdir(path, 0700), 0);
    MDB_txn *txn;
    MDB_env *env = raw_open(path, &txn, 0);
    MDB_dbi meta, profiles, identifiers, records, redirects, runs;
    cr_assert_eq(mdb_dbi_open(txn, "meta", MDB_CREATE, &meta), 0);
    cr_assert_eq(mdb_dbi_open(txn, "profiles", MDB_CREATE, &profiles), 0);
    cr_assert_eq(mdb_dbi_open(txn, "identifiers", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED, &identifiers), 0);
    cr_assert_eq(mdb_dbi_open(txn, "records", MDB_CREATE, &records), 0);
    cr_assert_eq(mdb_dbi_open(txn, "redirects", MDB_CREATE, &redirects), 0);
    cr_assert_eq(mdb_dbi_open(txn, "runs", MDB_CREATE, &runs), 0);
    unsigned char next[8], last[8], id7[8], id8[8], run1[8];
    uf_be64_put(next, 9);
    uf_be64_put(last, 1);
    uf_be64_put(id7, 7);
    uf_be64_put(id8, 8);
    uf_be64_put(run1, 1);
    MDB_val k = {14, "format_version"}, v = {4, "\0\0\0\2"};
    cr_assert_eq(mdb_put(txn, meta, &k, &v, 0), 0);
    k = (MDB_val){14, "next_golden_id"}, v = (MDB_val){8, next};
    cr_assert_eq(mdb_put(txn, meta, &k, &v, 0), 0);
    k = (MDB_val){11, "last_run_id"}, v = (MDB_val){8, last};
    cr_assert_eq(mdb_put(txn, meta, &k, &v, 0), 0);
    /* A landline in two profiles, as DUPSORT duplicates. */
    unsigned char kb[16];
    uf_key_to_bytes((uf_key){3, 3}, kb);
    k = (MDB_val){16, kb}, v = (MDB_val){8, id7};
    cr_assert_eq(mdb_put(txn, identifiers, &k, &v, 0), 0);
    v = (MDB_val){8, id8};
    cr_assert_eq(mdb_put(txn, identifiers, &k, &v, 0), 0);
    /* A plain record key, and a hashed one: 511 bytes, the full key after the id. */
    k = (MDB_val){8, "crm\0C001"}, v = (MDB_val){8, id7};
    cr_assert_eq(mdb_put(txn, records, &k, &v, 0), 0);
    unsigned char hashed[511], value[8 + 600];
    memcpy(hashed, "crm", 4);
    memcpy(hashed + 4, long_key, 490);
    memset(hashed + 494, 0x5a, 17);
    memcpy(value, id8, 8);
    memcpy(value + 8, long_key, 600);
    k = (MDB_val){511, hashed}, v = (MDB_val){sizeof value, value};
    cr_assert_eq(mdb_put(txn, records, &k, &v, 0), 0);
    k = (MDB_val){8, run1}, v = (MDB_val){2, "{}"};
    cr_assert_eq(mdb_put(txn, runs, &k, &v, 0), 0);
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

typedef struct v2_record {
    char key[700];
    size_t len;
    uint64_t id;
} v2_record;

static int collect_v2(void *ctx, uf_slice source, uf_slice key, uint64_t id)
{
    v2_record *r = ctx;
    size_t i = r[0].len == 0 && r[0].id == 0 ? 0 : 1;
    if (i && r[1].id)
        return 99;
    cr_assert_eq(source.len, 3);
    memcpy(r[i].key, key.ptr, key.len);
    r[i].len = key.len;
    r[i].id = id;
    return 0;
}

static unsigned raw_flags(const char *path, const char *db)
{
    MDB_txn *txn;
    MDB_env *env = raw_open(path, &txn, MDB_RDONLY);
    MDB_dbi dbi;
    unsigned flags = 0;
    cr_assert_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
    cr_assert_eq(mdb_dbi_flags(txn, dbi, &flags), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return flags;
}

Test(store, store_format_2_is_upgraded_by_a_run)
{
    static char long_key[601];
    memset(long_key, 'q', 600);
    long_key[599] = 'x';
    write_format_2_store(store_path, long_key);
    uf_error err = {0};
    uf_store *s = NULL;
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_VERSION, "%s", err.message);

    /* The writer reads the old records (for stable ids), plain and hashed, in order. */
    uf_store_writer *w;
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_writer_next_golden_id(w), 9);
    static v2_record got[2];
    memset(got, 0, sizeof got);
    cr_assert_eq(uf_store_writer_scan_records(w, collect_v2, got, &err), UF_OK, "%s", err.message);
    cr_assert_eq(got[0].len, 4);
    cr_assert_eq(memcmp(got[0].key, "C001", 4), 0);
    cr_assert_eq(got[0].id, 7);
    cr_assert_eq(got[1].len, 600);
    cr_assert_eq(memcmp(got[1].key, long_key, 600), 0);
    cr_assert_eq(got[1].id, 8);

    /* A run that fails leaves the format 2 store as it was. */
    cr_assert_eq(uf_store_writer_begin(w, 1 << 20, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_identifier(w, (uf_key){3, 3}, 7, &err), UF_OK, "%s", err.message);
    uf_store_writer_abort(w);
    cr_assert(raw_flags(store_path, "identifiers") & MDB_DUPSORT);
    memset(got, 0, sizeof got);
    cr_assert_eq(uf_store_writer_scan_records(w, collect_v2, got, &err), UF_OK, "%s", err.message);
    cr_assert_eq(got[1].id, 8);
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_VERSION, "%s", err.message);

    /* One that commits writes format 3: identifiers without DUPSORT, in blocks. */
    cr_assert_eq(uf_store_writer_begin(w, 1 << 20, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_profile(w, 7, "{}", 2, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_identifier(w, (uf_key){3, 3}, 7, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_identifier(w, (uf_key){3, 3}, 8, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_store_put_record(w, uf_slice_cstr("crm"), uf_slice_cstr("C001"), 7, &err), UF_OK);
    cr_assert_eq(uf_store_put_record(w, uf_slice_cstr("crm"), uf_slice_make(long_key, 600), 7, &err), UF_OK);
    cr_assert_eq(uf_store_writer_commit(w, 9, NULL, 0, NULL, &err), UF_OK, "%s", err.message);
    memset(got, 0, sizeof got);
    cr_assert_eq(uf_store_writer_scan_records(w, collect_v2, got, &err), UF_OK, "%s", err.message);
    cr_assert_eq(got[1].len, 600);
    cr_assert_eq(got[1].id, 7);
    uf_store_writer_close(w);
    cr_assert_eq(raw_flags(store_path, "identifiers") & (MDB_DUPSORT | MDB_DUPFIXED), 0);
    cr_assert_eq(index_entries(store_path, "identifiers", NULL), 2);
    s = open_reader(store_path);
    unsigned char kb[16];
    uint64_t ids[4];
    size_t count = 0;
    uf_key_to_bytes((uf_key){3, 3}, kb);
    cr_assert_eq(uf_store_find_identifier(s, kb, ids, 4, &count, &err), UF_OK, "%s", err.message);
    cr_assert_eq(count, 2);
    cr_assert_eq(ids[0], 7);
    cr_assert_eq(ids[1], 8);
    uint64_t gid = 0;
    cr_assert_eq(uf_store_find_record(s, "crm", long_key, &gid, &err), UF_OK, "%s", err.message);
    cr_assert_eq(gid, 7);
    uint64_t run = 0;
    cr_assert_eq(uf_store_last_run_id(s, &run, &err), UF_OK, "%s", err.message);
    cr_assert_eq(run, 2, "the run log goes on");
    uf_store_close(s);
}

Test(store, foreign_lmdb_environment_and_plain_file_are_refused)
{
    cr_assert_eq(mkdir(store_path, 0700), 0);
    MDB_txn *txn;
    MDB_env *env = raw_open(store_path, &txn, 0);
    MDB_dbi dbi;
    cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    MDB_val k = {5, "hello"}, v = {5, "world"};
    cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    uf_store *s = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_store_open(store_path, &s, &err), UF_ERR_STORE, "%s", err.message);
    cr_assert(strstr(err.message, "not a unify store"), "%s", err.message);
    uf_store_writer *w = NULL;
    cr_assert_eq(uf_store_writer_open(store_path, 0, &w, &err), UF_ERR_STORE, "%s", err.message);
    /* A regular file where the folder should be. */
    char file[400];
    snprintf(file, sizeof file, "%s/plain", tmp_root);
    write_file(file, "x", 1, 0, true);
    cr_assert_eq(uf_store_open(file, &s, &err), UF_ERR_STORE, "%s", err.message);
    cr_assert(strstr(err.message, file), "%s", err.message);
    cr_assert_eq(uf_store_writer_open(file, 0, &w, &err), UF_ERR_STORE, "%s", err.message);
}

/* ------------------------------------------------------------------ */
/* Golden id text                                                      */
/* ------------------------------------------------------------------ */

Test(store, golden_id_text)
{
    char out[24];
    uf_golden_id_format(42, out);
    cr_assert_str_eq(out, "G000000042");
    uf_golden_id_format(1234567890123ull, out);
    cr_assert_str_eq(out, "G1234567890123");
    uf_golden_id_format(UINT64_MAX, out);
    cr_assert_str_eq(out, "G18446744073709551615");
    static const struct { const char *text; int rc; uint64_t id; } cases[] = {
        {"G000000042", UF_OK, 42}, {"g42", UF_OK, 42}, {"42", UF_OK, 42},
        {"G18446744073709551615", UF_OK, UINT64_MAX},
        {"G18446744073709551616", UF_ERR_INVALID, 0}, {"G", UF_ERR_INVALID, 0}, {"", UF_ERR_INVALID, 0},
        {"G0", UF_ERR_INVALID, 0}, {"G12a", UF_ERR_INVALID, 0}, {" G1", UF_ERR_INVALID, 0},
        {"G-1", UF_ERR_INVALID, 0}, {"GG1", UF_ERR_INVALID, 0},
    };
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        uint64_t id = 0;
        cr_assert_eq(uf_golden_id_parse(cases[i].text, &id), cases[i].rc, "\"%s\"", cases[i].text);
        if (cases[i].rc == UF_OK)
            cr_assert_eq(id, cases[i].id, "\"%s\"", cases[i].text);
    }
    uint64_t id;
    uf_golden_id_format(7, out);
    cr_assert_eq(uf_golden_id_parse(out, &id), UF_OK);
    cr_assert_eq(id, 7);
}
