/*
 * store_read.c — the reader side of the store (public API in unify.h,
 * layout in store.h).
 *
 * Every call is one short read-only LMDB transaction: it sees one whole
 * generation, never blocks on the writer (MVCC), and ends before the call
 * returns so it never pins old pages (a long-lived reader would stop the
 * next run from reusing the space of the generation before, and the file
 * would grow run after run).
 *
 * Trade-offs:
 *  - MDB_NOTLS ties reader slots to transactions, not threads, so any
 *    thread may call any function and there is no per-thread setup.
 *  - Ended read transactions are kept in a small per-store pool, reset
 *    (mdb_txn_reset), and the next call renews one (mdb_txn_renew) instead
 *    of beginning a new one: no allocation, no reader-slot search under
 *    LMDB's shared reader mutex (with MDB_NOTLS a reset transaction keeps
 *    its slot). A reset transaction marks its slot as reading nothing, so
 *    it pins no generation; a renewed one reads the latest committed
 *    generation exactly as a fresh one would (a run is never half-seen).
 *    The pool is a mutex-guarded stack, not thread-local storage, so that
 *    closing the store can abort every pooled transaction before the
 *    environment goes; at most READ_POOL_MAX are kept (more concurrent
 *    calls than that simply begin and abort their own).
 *  - When a run grows the map beyond what this process has mapped, LMDB
 *    answers MDB_MAP_RESIZED and the map must be re-established, which is
 *    only legal while no transaction of this process is open. A rwlock
 *    makes that safe: calls hold it shared, the remap takes it exclusive.
 *    To make remapping rare, the reader reserves a large address range up
 *    front (UF_STORE_READER_MAP_RESERVE, 1 TiB of address space, no memory:
 *    the pages are the file's); the store would have to outgrow it first.
 *  - Values are copied out (profile JSON, report) because map pages are
 *    only valid inside the transaction; scans hand out map pointers (run
 *    records) or one reused buffer (profiles) so that exporting millions
 *    of profiles allocates nothing per profile.
 *  - Profiles are stored binary (profile_codec.h) and rendered to JSON here,
 *    with the generation's schema (meta "schema") read in the SAME read
 *    transaction as the profile, so a run committing between two calls can
 *    never pair a profile with another generation's names. The parsed schema
 *    is cached per uf_store and keyed by its stored bytes (a ~300-byte
 *    memcmp per lookup, no re-parse): a generation with other names simply
 *    replaces the entry. Entries are reference-counted under a mutex, so a
 *    thread still rendering with the old schema keeps it alive while another
 *    thread installs the new one.
 */
#include "store.h"
#include "store_block.h"

#include "profile_codec.h"
#include "run_links.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Reset read transactions kept for reuse (see the top of the file). */
#define READ_POOL_MAX 16

/* A parsed schema; refs = callers using it + 1 while it is the store's current one. */
typedef struct schema_entry {
    uf_profile_schema *schema;
    size_t refs;
} schema_entry;

struct uf_store {
    char *path;
    MDB_env *env;
    MDB_dbi dbi[UF_DB_COUNT];
    bool have_links;        /* the store has the links database (see store.h) */
    pthread_rwlock_t remap; /* shared: a transaction is open; exclusive: the map is being resized */
    pthread_mutex_t schema_lock;
    schema_entry *schema;   /* the last schema seen (NULL: none yet) */
    pthread_mutex_t pool_lock;
    MDB_txn *pool[READ_POOL_MAX]; /* reset read transactions, ready to renew */
    size_t pool_count;
};

static int not_found_here(uf_error *err, const char *path)
{
    return uf_error_set(err, UF_ERR_NOT_FOUND, "STORE: no store here (run `unify run` first): %s", path);
}

/* What is at `path`, before LMDB is asked: clear messages for the common cases. */
static int check_folder(const char *path, uf_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return not_found_here(err, path);
        return uf_error_set(err, UF_ERR_IO, "STORE: cannot access %s: %s", path, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return uf_error_set(err, UF_ERR_STORE, "STORE: %s is not a store folder (a store is a folder with data.mdb)",
                            path);
    size_t n = strlen(path);
    char *data = malloc(n + sizeof "/data.mdb");
    if (!data)
        return uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory");
    memcpy(data, path, n);
    memcpy(data + n, "/data.mdb", sizeof "/data.mdb");
    int rc = UF_OK;
    if (stat(data, &st) != 0) {
        rc = errno == ENOENT ? not_found_here(err, path)
                             : uf_error_set(err, UF_ERR_IO, "STORE: cannot access %s: %s", data, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = uf_error_set(err, UF_ERR_STORE, "STORE: %s is not a regular file", data);
    } else if (st.st_size == 0) {
        rc = not_found_here(err, path); /* a first run died before writing anything */
    }
    free(data);
    return rc;
}

static int open_env(uf_store *s, uint64_t map_reserve, uf_error *err)
{
    int checked = uf_store_check_not_truncated_before_open(s->path, err);
    if (checked != UF_OK)
        return checked;
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = mdb_env_create(&s->env);
        if (rc != MDB_SUCCESS) {
            s->env = NULL;
            return uf_store_mdb_error(err, rc, s->path, "cannot create the environment");
        }
        mdb_env_set_maxdbs(s->env, 8);
        mdb_env_set_maxreaders(s->env, UF_STORE_MAX_READERS);
        if (map_reserve && map_reserve <= SIZE_MAX)
            mdb_env_set_mapsize(s->env, (size_t)map_reserve);
        rc = mdb_env_open(s->env, s->path, MDB_RDONLY | MDB_NOTLS, 0600);
        if (rc == MDB_SUCCESS && (checked = uf_store_check_not_truncated(s->env, s->path, err)) != UF_OK) {
            mdb_env_close(s->env);
            s->env = NULL;
            return checked;
        }
        if (rc == MDB_SUCCESS) {
            int dead = 0;
            mdb_reader_check(s->env, &dead);
            return UF_OK;
        }
        mdb_env_close(s->env);
        s->env = NULL;
        if ((rc == ENOMEM || rc == EINVAL) && map_reserve) {
            /* Address space limited (ulimit -v: ENOMEM; valgrind refuses a 1 TiB mapping with
             * EINVAL): map just the store. */
            map_reserve = 0;
            continue;
        }
        if (rc == MDB_INVALID)
            return uf_error_set(err, UF_ERR_STORE, "STORE: %s/data.mdb is not an LMDB store file (%s)", s->path,
                                mdb_strerror(rc));
        if (rc == MDB_VERSION_MISMATCH)
            return uf_error_set(err, UF_ERR_VERSION, "STORE: %s was written by an incompatible LMDB version (%s)",
                                s->path, mdb_strerror(rc));
        if (rc == ENOENT)
            return not_found_here(err, s->path);
        return uf_store_mdb_error(err, rc, s->path, "cannot open the store");
    }
    return uf_error_set(err, UF_ERR_NOMEM, "STORE: %s: cannot map the store", s->path);
}

static int open_databases(uf_store *s, uf_error *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, s->path, "cannot begin a read transaction");
    uf_store_meta meta;
    rc = uf_store_read_meta(txn, &s->dbi[UF_DB_META], UF_STORE_FORMAT_VERSION, &meta, s->path, err);
    for (int i = UF_DB_META + 1; i < UF_DB_COUNT && rc == UF_OK; i++) {
        int mrc = mdb_dbi_open(txn, uf_store_dbs[i].name, 0, &s->dbi[i]);
        if (mrc == MDB_NOTFOUND && i == UF_DB_LINKS) {
            s->have_links = false; /* written before the links database existed */
            continue;
        }
        if (i == UF_DB_LINKS)
            s->have_links = true;
        unsigned flags = 0;
        if (mrc == MDB_SUCCESS)
            mrc = mdb_dbi_flags(txn, s->dbi[i], &flags);
        if (mrc == MDB_NOTFOUND || mrc == MDB_INCOMPATIBLE ||
            (mrc == MDB_SUCCESS && (flags & (MDB_DUPSORT | MDB_DUPFIXED)) != uf_store_dbs[i].flags))
            rc = uf_error_set(err, UF_ERR_STORE, "STORE: %s: database \"%s\" is missing or malformed (corrupt store?)",
                              s->path, uf_store_dbs[i].name);
        else if (mrc != MDB_SUCCESS)
            rc = uf_store_mdb_error(err, mrc, s->path, "cannot open a database");
    }
    if (rc != UF_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    /* Committing the read transaction keeps the handles for the environment. */
    rc = mdb_txn_commit(txn);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, s->path, "cannot open the databases");
    return UF_OK;
}

int uf_store_open_reserve(const char *path, uint64_t map_reserve, uf_store **out, uf_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return uf_error_set(err, UF_ERR_INVALID, "STORE: no store path given");
    int rc = check_folder(path, err);
    if (rc == UF_OK)
        rc = uf_store_check_not_open_here(path, err);
    if (rc != UF_OK)
        return rc;
    uf_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory");
    }
    if (pthread_rwlock_init(&s->remap, NULL) != 0) {
        free(s->path);
        free(s);
        return uf_error_set(err, UF_ERR_NOMEM, "STORE: cannot create a lock");
    }
    if (pthread_mutex_init(&s->schema_lock, NULL) != 0) {
        pthread_rwlock_destroy(&s->remap);
        free(s->path);
        free(s);
        return uf_error_set(err, UF_ERR_NOMEM, "STORE: cannot create a lock");
    }
    if (pthread_mutex_init(&s->pool_lock, NULL) != 0) {
        pthread_mutex_destroy(&s->schema_lock);
        pthread_rwlock_destroy(&s->remap);
        free(s->path);
        free(s);
        return uf_error_set(err, UF_ERR_NOMEM, "STORE: cannot create a lock");
    }
    rc = open_env(s, map_reserve, err);
    if (rc == UF_OK)
        rc = open_databases(s, err);
    if (rc != UF_OK) {
        uf_store_close(s);
        return rc;
    }
    *out = s;
    return UF_OK;
}

int uf_store_open(const char *path, uf_store **out, uf_error *err)
{
    return uf_store_open_reserve(path, UF_STORE_READER_MAP_RESERVE, out, err);
}

static void pool_drain(uf_store *s);

void uf_store_close(uf_store *s)
{
    if (!s)
        return;
    pool_drain(s); /* pooled transactions belong to the environment: abort them first */
    if (s->env)
        mdb_env_close(s->env);
    if (s->schema) {
        uf_profile_schema_free(s->schema->schema);
        free(s->schema);
    }
    pthread_mutex_destroy(&s->pool_lock);
    pthread_mutex_destroy(&s->schema_lock);
    pthread_rwlock_destroy(&s->remap);
    free(s->path);
    free(s);
}

/* ------------------------------------------------------------------ */
/* Read transactions                                                   */
/* ------------------------------------------------------------------ */

/* Abort every pooled transaction (closing, or the map is being resized). */
static void pool_drain(uf_store *s)
{
    pthread_mutex_lock(&s->pool_lock);
    while (s->pool_count)
        mdb_txn_abort(s->pool[--s->pool_count]);
    pthread_mutex_unlock(&s->pool_lock);
}

static MDB_txn *pool_take(uf_store *s)
{
    MDB_txn *txn = NULL;
    pthread_mutex_lock(&s->pool_lock);
    if (s->pool_count)
        txn = s->pool[--s->pool_count];
    pthread_mutex_unlock(&s->pool_lock);
    return txn;
}

/* Keep a reset transaction for the next call; false when the pool is full. */
static bool pool_put(uf_store *s, MDB_txn *txn)
{
    pthread_mutex_lock(&s->pool_lock);
    bool kept = s->pool_count < READ_POOL_MAX;
    if (kept)
        s->pool[s->pool_count++] = txn;
    pthread_mutex_unlock(&s->pool_lock);
    return kept;
}

/*
 * Begin a read transaction (a pooled one renewed, else a new one); on
 * success the remap lock is held shared until read_end.
 */
static int read_begin(uf_store *s, MDB_txn **txn, uf_error *err)
{
    for (int attempt = 0;; attempt++) {
        pthread_rwlock_rdlock(&s->remap);
        MDB_txn *reused = pool_take(s);
        if (reused) {
            if (mdb_txn_renew(reused) == MDB_SUCCESS) {
                *txn = reused;
                return UF_OK;
            }
            mdb_txn_abort(reused); /* MDB_MAP_RESIZED among others: a fresh begin says which */
        }
        int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
        if (rc == MDB_SUCCESS)
            return UF_OK;
        pthread_rwlock_unlock(&s->remap);
        if (rc != MDB_MAP_RESIZED || attempt == 8)
            return uf_store_mdb_error(err, rc, s->path, "cannot begin a read transaction");
        /* A run grew the map: adopt its size once no read of ours is open (pooled ones are dropped). */
        pthread_rwlock_wrlock(&s->remap);
        pool_drain(s);
        rc = mdb_env_set_mapsize(s->env, 0);
        pthread_rwlock_unlock(&s->remap);
        if (rc != MDB_SUCCESS)
            return uf_store_mdb_error(err, rc, s->path, "cannot remap the grown store");
    }
}

static void read_end(uf_store *s, MDB_txn *txn)
{
    mdb_txn_reset(txn); /* its snapshot is released here: nothing stays pinned */
    if (!pool_put(s, txn))
        mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->remap);
}

static int corrupt(uf_store *s, uf_error *err, const char *db)
{
    return uf_error_set(err, UF_ERR_STORE, "STORE: %s: malformed entry in \"%s\" (corrupt store?)", s->path, db);
}

static char *copy_text(const MDB_val *v)
{
    char *p = malloc(v->mv_size + 1);
    if (p) {
        if (v->mv_size)
            memcpy(p, v->mv_data, v->mv_size);
        p[v->mv_size] = '\0';
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* The profile schema                                                  */
/* ------------------------------------------------------------------ */

static void schema_release(uf_store *s, schema_entry *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&s->schema_lock);
    bool last = --e->refs == 0;
    pthread_mutex_unlock(&s->schema_lock);
    if (last) {
        uf_profile_schema_free(e->schema);
        free(e);
    }
}

/*
 * The schema of the generation `txn` sees, parsed (cached); release it with
 * schema_release. *out = NULL when the generation has none (a store whose
 * profiles cannot be rendered; rendering reports it).
 */
static int schema_acquire(uf_store *s, MDB_txn *txn, schema_entry **out, uf_error *err)
{
    *out = NULL;
    MDB_val k = {sizeof UF_STORE_SCHEMA_KEY - 1, (void *)UF_STORE_SCHEMA_KEY}, v;
    int mrc = mdb_get(txn, s->dbi[UF_DB_META], &k, &v);
    if (mrc == MDB_NOTFOUND)
        return UF_OK;
    if (mrc != MDB_SUCCESS)
        return uf_store_mdb_error(err, mrc, s->path, "cannot read the profile schema");
    pthread_mutex_lock(&s->schema_lock);
    schema_entry *e = s->schema;
    if (e && uf_profile_schema_same(e->schema, v.mv_data, v.mv_size)) {
        e->refs++;
        pthread_mutex_unlock(&s->schema_lock);
        *out = e;
        return UF_OK;
    }
    pthread_mutex_unlock(&s->schema_lock);

    /* Another generation's names (or the first call): parse outside the lock. */
    e = calloc(1, sizeof *e);
    if (!e)
        return uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory");
    uf_error perr = {0};
    int rc = uf_profile_schema_parse(v.mv_data, v.mv_size, &e->schema, &perr);
    if (rc != UF_OK) {
        free(e);
        return uf_error_set(err, rc, "STORE: %s: %s", s->path, perr.message);
    }
    e->refs = 2; /* the caller, and the store as its current entry */
    pthread_mutex_lock(&s->schema_lock);
    schema_entry *old = s->schema;
    s->schema = e;
    bool free_old = old && --old->refs == 0;
    pthread_mutex_unlock(&s->schema_lock);
    if (free_old) {
        uf_profile_schema_free(old->schema);
        free(old);
    }
    *out = e;
    return UF_OK;
}

/* Render binary profile `v` of `id` as JSON into `out` (appended). */
static int render_profile(uf_store *s, const schema_entry *e, uint64_t id, const MDB_val *v, uf_buf *out,
                          uf_error *err)
{
    char text[24];
    uf_golden_id_format(id, text);
    uf_error rerr = {0};
    int rc = uf_profile_render(e ? e->schema : NULL, v->mv_data, v->mv_size, uf_slice_cstr(text), out, &rerr);
    if (rc != UF_OK)
        return uf_error_set(err, rc, "STORE: %s: %s: %s", s->path, text, rerr.message);
    return UF_OK;
}

/* ------------------------------------------------------------------ */
/* Lookups                                                             */
/* ------------------------------------------------------------------ */

/*
 * Follow golden_id through the redirects of merges (at most
 * UF_STORE_REDIRECT_HOPS) to the id holding a profile, in `txn`: *id gets
 * it and *profile its stored value. UF_ERR_NOT_FOUND, UF_ERR_STORE.
 */
static int resolve_profile(uf_store *s, MDB_txn *txn, uint64_t golden_id, uint64_t *id, MDB_val *profile,
                           uf_error *err)
{
    uint64_t at = golden_id;
    unsigned char kb[8];
    MDB_val k = {8, kb}, v;
    for (int hops = 0;; hops++) {
        uf_be64_put(kb, at);
        int mrc = mdb_get(txn, s->dbi[UF_DB_PROFILES], &k, profile);
        if (mrc == MDB_SUCCESS) {
            *id = at;
            return UF_OK;
        }
        if (mrc == MDB_NOTFOUND)
            mrc = mdb_get(txn, s->dbi[UF_DB_REDIRECTS], &k, &v);
        if (mrc == MDB_NOTFOUND)
            return at == golden_id
                       ? uf_error_set(err, UF_ERR_NOT_FOUND, "STORE: no profile G%09" PRIu64, golden_id)
                       : uf_error_set(err, UF_ERR_NOT_FOUND,
                                      "STORE: G%09" PRIu64 " redirects to G%09" PRIu64 ", which has no profile",
                                      golden_id, at);
        if (mrc != MDB_SUCCESS)
            return uf_store_mdb_error(err, mrc, s->path, "cannot read a profile");
        if (v.mv_size != 8)
            return corrupt(s, err, "redirects");
        if (hops == UF_STORE_REDIRECT_HOPS)
            return uf_error_set(err, UF_ERR_STORE,
                                "STORE: %s: redirect chain from G%09" PRIu64 " longer than %d hops (a cycle?)",
                                s->path, golden_id, UF_STORE_REDIRECT_HOPS);
        at = uf_be64_get(v.mv_data);
    }
}

int uf_store_profile_json(uf_store *s, uint64_t golden_id, char **json, size_t *len, uint64_t *resolved_id,
                          uf_error *err)
{
    *json = NULL;
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != UF_OK)
        return rc;
    uint64_t id = 0;
    MDB_val v;
    schema_entry *e = NULL;
    rc = resolve_profile(s, txn, golden_id, &id, &v, err);
    if (rc == UF_OK)
        rc = schema_acquire(s, txn, &e, err);
    if (rc == UF_OK) {
        /* JSON is ~3x the binary: one allocation in the common case. */
        uf_buf b;
        uf_buf_init(&b);
        b.cap = v.mv_size * 4 + 512;
        if (!(b.data = malloc(b.cap)))
            b.cap = 0;
        rc = render_profile(s, e, id, &v, &b, err);
        schema_release(s, e);
        if (rc != UF_OK) {
            uf_buf_free(&b);
        } else {
            *json = b.data;
            if (len)
                *len = b.len;
            if (resolved_id)
                *resolved_id = id;
        }
    }
    read_end(s, txn);
    return rc;
}

/* A read snapshot and a cursor on one database; read_end(s, txn) after mdb_cursor_close. */
static int read_cursor(uf_store *s, int db, const char *name, MDB_txn **txn, MDB_cursor **cursor, uf_error *err)
{
    int rc = read_begin(s, txn, err);
    if (rc != UF_OK)
        return rc;
    int mrc = mdb_cursor_open(*txn, s->dbi[db], cursor);
    if (mrc != MDB_SUCCESS) {
        read_end(s, *txn);
        char what[64];
        snprintf(what, sizeof what, "cannot open a cursor on %s", name);
        return uf_store_mdb_error(err, mrc, s->path, what);
    }
    return UF_OK;
}

/* Look `key` up in a blocked index (store_block.h): up to `cap` golden ids, their number in *count. */
static int find_in_blocks(uf_store *s, int db, const void *key, size_t len, uint64_t *ids, size_t cap, size_t *count,
                          uf_error *err)
{
    *count = 0;
    MDB_txn *txn;
    MDB_cursor *cursor;
    int rc = read_cursor(s, db, uf_store_dbs[db].name, &txn, &cursor, err);
    if (rc != UF_OK)
        return rc;
    MDB_val block;
    int mrc = uf_block_seek(cursor, key, len, &block);
    if (mrc == MDB_SUCCESS) {
        int got = uf_block_find(&block, key, len, ids, cap, count);
        if (got == UF_BLOCK_MALFORMED)
            rc = corrupt(s, err, uf_store_dbs[db].name);
        else if (got == UF_BLOCK_NOMEM)
            rc = uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory");
        else if (got == UF_BLOCK_END)
            mrc = MDB_NOTFOUND;
    }
    if (rc == UF_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = uf_store_mdb_error(err, mrc, s->path, "cannot read an index");
    else if (rc == UF_OK && mrc == MDB_NOTFOUND)
        rc = UF_ERR_NOT_FOUND;
    mdb_cursor_close(cursor);
    read_end(s, txn);
    return rc;
}

int uf_store_find_identifier(uf_store *s, const unsigned char key[16], uint64_t *ids, size_t cap, size_t *count,
                             uf_error *err)
{
    int rc = find_in_blocks(s, UF_DB_IDENTIFIERS, key, 16, ids, cap, count, err);
    if (rc == UF_ERR_NOT_FOUND)
        rc = uf_error_set(err, UF_ERR_NOT_FOUND, "STORE: no profile holds this identifier");
    return rc;
}

int uf_store_find_record(uf_store *s, const char *source, const char *key, uint64_t *golden_id, uf_error *err)
{
    *golden_id = 0;
    uf_buf stored;
    uf_buf_init(&stored);
    if (!uf_store_record_key(uf_slice_cstr(source), uf_slice_cstr(key), &stored)) {
        bool nomem = stored.failed;
        uf_buf_free(&stored);
        if (nomem)
            return uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory");
        return uf_error_set(err, UF_ERR_INVALID, "STORE: invalid source name \"%s\" (1..%d bytes)", source ? source : "",
                            UF_STORE_SOURCE_MAX);
    }
    size_t count = 0;
    int rc = find_in_blocks(s, UF_DB_RECORDS, stored.data, stored.len, golden_id, 1, &count, err);
    uf_buf_free(&stored);
    if (rc == UF_ERR_NOT_FOUND)
        rc = uf_error_set(err, UF_ERR_NOT_FOUND, "STORE: no record %s:%.200s", source, key);
    return rc;
}

/* The last run log entry: its id, and a copy of its report unless report_json is NULL. */
static int read_last_run(uf_store *s, uint64_t *run_id, char **report_json, size_t *len, uf_error *err)
{
    MDB_txn *txn;
    MDB_cursor *cursor;
    int rc = read_cursor(s, UF_DB_RUNS, "runs", &txn, &cursor, err);
    if (rc != UF_OK)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
    if (mrc == MDB_NOTFOUND)
        rc = uf_error_set(err, UF_ERR_NOT_FOUND, "STORE: the run log of %s is empty", s->path);
    else if (mrc != MDB_SUCCESS)
        rc = uf_store_mdb_error(err, mrc, s->path, "cannot read the run log");
    else if (k.mv_size != 8)
        rc = corrupt(s, err, "runs");
    else if (report_json && !(*report_json = copy_text(&v)))
        rc = uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory");
    else {
        *run_id = uf_be64_get(k.mv_data);
        if (len)
            *len = v.mv_size;
    }
    mdb_cursor_close(cursor);
    read_end(s, txn);
    return rc;
}

int uf_store_last_run(uf_store *s, uint64_t *run_id, char **report_json, size_t *len, uf_error *err)
{
    *report_json = NULL;
    return read_last_run(s, run_id, report_json, len, err);
}

/* The id of the last committed run only (no copy of its report): cheap enough for every /healthz. */
int uf_store_last_run_id(uf_store *s, uint64_t *run_id, uf_error *err)
{
    *run_id = 0;
    return read_last_run(s, run_id, NULL, NULL, err);
}

int uf_store_read_explain(uf_store *s, uint64_t golden_id, uint64_t *resolved_id, uf_buf *links, uf_buf *model,
                          bool *have_links, uf_error *err)
{
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != UF_OK)
        return rc;
    *have_links = s->have_links;
    uint64_t id = 0;
    MDB_val profile, v;
    rc = resolve_profile(s, txn, golden_id, &id, &profile, err);
    if (rc != UF_OK) {
        read_end(s, txn);
        return rc;
    }
    unsigned char kb[8];
    uf_be64_put(kb, id);
    MDB_val k = {8, kb};
    *resolved_id = id;
    if (s->have_links) {
        int mrc = mdb_get(txn, s->dbi[UF_DB_LINKS], &k, &v);
        if (mrc == MDB_SUCCESS) {
            /* Format 2 takes its member names from the profile and its kind names from the schema;
             * format 1 needs neither (nor a readable schema). */
            schema_entry *schema = NULL;
            bool format_2 = v.mv_size > 0 && *(const unsigned char *)v.mv_data == UF_LINKS_FORMAT;
            if (format_2)
                rc = schema_acquire(s, txn, &schema, err);
            if (rc == UF_OK)
                rc = uf_links_expand(v.mv_data, v.mv_size, schema ? schema->schema : NULL, profile.mv_data,
                                     profile.mv_size, links, err);
            if (schema)
                schema_release(s, schema);
        } else if (mrc != MDB_NOTFOUND) {
            rc = uf_store_mdb_error(err, mrc, s->path, "cannot read the links of a profile");
        }
    }
    if (rc == UF_OK) {
        MDB_val mk = {sizeof UF_STORE_MODEL_KEY - 1, (void *)UF_STORE_MODEL_KEY};
        int mrc = mdb_get(txn, s->dbi[UF_DB_META], &mk, &v);
        if (mrc == MDB_SUCCESS)
            uf_buf_append(model, v.mv_data, v.mv_size);
        else if (mrc != MDB_NOTFOUND)
            rc = uf_store_mdb_error(err, mrc, s->path, "cannot read the matching model");
    }
    if (rc == UF_OK && (links->failed || model->failed))
        rc = uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory");
    read_end(s, txn);
    return rc;
}

int uf_store_read_model(uf_store *s, uf_buf *model, uf_error *err)
{
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != UF_OK)
        return rc;
    MDB_val k = {sizeof UF_STORE_MODEL_KEY - 1, (void *)UF_STORE_MODEL_KEY}, v;
    int mrc = mdb_get(txn, s->dbi[UF_DB_META], &k, &v);
    if (mrc == MDB_SUCCESS)
        uf_buf_append(model, v.mv_data, v.mv_size);
    else if (mrc != MDB_NOTFOUND)
        rc = uf_store_mdb_error(err, mrc, s->path, "cannot read the matching model");
    read_end(s, txn);
    if (rc == UF_OK && model->failed)
        rc = uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory");
    return rc;
}

/* ------------------------------------------------------------------ */
/* Scans                                                               */
/* ------------------------------------------------------------------ */

static int scan_stopped(uf_error *err, int r)
{
    return uf_error_set(err, r, "STORE: scan stopped by its callback (%d: %s)", r, uf_strerror(r));
}

int uf_store_scan_profiles(uf_store *s, int (*fn)(void *ctx, uint64_t golden_id, const char *json, size_t len),
                           void *ctx, uf_error *err)
{
    MDB_txn *txn;
    MDB_cursor *cursor;
    int rc = read_cursor(s, UF_DB_PROFILES, "profiles", &txn, &cursor, err);
    if (rc != UF_OK)
        return rc;
    int mrc;
    schema_entry *e = NULL;
    rc = schema_acquire(s, txn, &e, err);
    uf_buf b;
    uf_buf_init(&b);
    MDB_val k, v;
    for (mrc = rc == UF_OK ? mdb_cursor_get(cursor, &k, &v, MDB_FIRST) : MDB_NOTFOUND; mrc == MDB_SUCCESS;
         mrc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) {
            rc = corrupt(s, err, "profiles");
            break;
        }
        uint64_t id = uf_be64_get(k.mv_data);
        uf_buf_reset(&b);
        rc = render_profile(s, e, id, &v, &b, err);
        if (rc != UF_OK)
            break;
        int r = fn(ctx, id, b.data, b.len);
        if (r) {
            rc = scan_stopped(err, r);
            break;
        }
    }
    if (rc == UF_OK && mrc != MDB_NOTFOUND)
        rc = uf_store_mdb_error(err, mrc, s->path, "cannot scan profiles");
    uf_buf_free(&b);
    schema_release(s, e);
    mdb_cursor_close(cursor);
    read_end(s, txn);
    return rc;
}

typedef struct record_adapter {
    int (*fn)(void *ctx, const char *source, size_t source_len, const char *key, size_t key_len, uint64_t golden_id);
    void *ctx;
} record_adapter;

static int adapt_record(void *ctx, uf_slice source, uf_slice key, uint64_t golden_id)
{
    record_adapter *a = ctx;
    return a->fn(a->ctx, source.ptr, source.len, key.ptr, key.len, golden_id);
}

int uf_store_scan_records(uf_store *s,
                          int (*fn)(void *ctx, const char *source, size_t source_len, const char *key,
                                    size_t key_len, uint64_t golden_id),
                          void *ctx, uf_error *err)
{
    MDB_txn *txn;
    MDB_cursor *cursor;
    int rc = read_cursor(s, UF_DB_RECORDS, "records", &txn, &cursor, err);
    if (rc != UF_OK)
        return rc;
    record_adapter a = {fn, ctx};
    bool stopped;
    rc = uf_store_scan_record_blocks(cursor, adapt_record, &a, &stopped, s->path, err);
    if (stopped)
        rc = scan_stopped(err, rc);
    mdb_cursor_close(cursor);
    read_end(s, txn);
    return rc;
}
