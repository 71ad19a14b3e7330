/*
 * store_write.c — the writer side of the store: one LMDB write transaction
 * per run, filled by sorted appends (layout and rationale in store.h).
 *
 * Trade-offs made here:
 *  - The whole generation is rewritten (mdb_drop(..., 0), then appends)
 *    rather than patched: appends are ~10× faster than random puts, the
 *    code has one path instead of insert/update/delete, and the result does
 *    not depend on the store's history. The cost, twice the disk space
 *    during a run, is what LMDB's copy-on-write needs anyway.
 *  - Order is verified here, before LMDB sees the key, so a violation is
 *    reported with both keys instead of as MDB_KEYEXIST, and a sorting bug
 *    in a caller cannot produce a store whose lookups silently miss.
 *  - A failure poisons the transaction: every later put and the commit
 *    return it. A run is all or nothing; half-written generations must
 *    never be committable.
 *  - The map cannot grow inside a transaction (mdb_env_set_mapsize needs no
 *    active transaction), so growth happens in begin(), from the caller's
 *    estimate, with abort-and-retry after MDB_MAP_FULL as the safety net.
 *  - Writers exclude each other with flock() on a separate file rather than
 *    relying on LMDB's write mutex: a second run must fail at once with a
 *    clear message, not wait behind the first for an hour.
 *  - Two small interventions keep disk and memory at their floor (figures
 *    in store.h): a one-page commit before each run lets LMDB reuse the
 *    generation before last (advance_txnid), and the pages mapped while
 *    emptying the old generation are handed back (release_map_pages).
 *  - A flusher thread starts the kernel's writeback of data.mdb while the
 *    transaction is written (see "Early writeback" below), so that the
 *    commit's fdatasync finds most pages already on their way to disk.
 */
#include "store.h"

#include "fsutil.h"
#include "store_block.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

enum { WRITE_DB_FIRST = UF_DB_PROFILES, WRITE_DB_END = UF_DB_RUNS }; /* the five rewritten indexes */

struct uf_store_writer {
    char *path;
    int lock_fd;
    MDB_env *env;
    unsigned env_flags;
    MDB_dbi dbi[UF_DB_COUNT];
    bool have_dbis;              /* dbi[] valid outside a write transaction */
    uint64_t next_golden_id;     /* committed values */
    uint64_t last_run_id;
    uint64_t profile_count;

    /* the open write transaction */
    MDB_txn *txn;
    MDB_cursor *cursor[UF_DB_COUNT];
    int failed;                  /* sticky status of the transaction */
    char failure[sizeof(((uf_error *)0)->message)];
    bool map_full;
    size_t max_map_size;         /* 0: the map may grow without limit */

    /* order state of the transaction */
    uint64_t last_profile, last_redirect, last_links, max_id;
    bool have_identifier;
    uf_key last_identifier;
    uint64_t last_identifier_id;
    /* The open blocks of the two blocked indexes (store_block.h); the
     * records writer's last key is the order check's previous record. */
    uf_block_writer identifier_block, record_block;
    uf_buf record_key;           /* source + '\0' + key of the record being put */
    uint32_t committed_format;   /* format_version of the committed generation (0: none) */

    /* early writeback of the transaction's pages (flusher_start) */
    bool flusher_running;
    bool flusher_quit;
    int flush_fd;
    pthread_t flusher;
    pthread_mutex_t flusher_lock;
    pthread_cond_t flusher_wake;
};

static char *path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* Open / close                                                        */
/* ------------------------------------------------------------------ */

static int make_folder(const char *path, uf_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return uf_error_set(err, UF_ERR_STORE, "STORE: %s exists and is not a store folder", path);
        return UF_OK;
    }
    if (errno != ENOENT)
        return uf_error_set(err, UF_ERR_IO, "STORE: cannot access %s: %s", path, strerror(errno));
    int rc = uf_mkdir_parent(path, err);
    if (rc != UF_OK)
        return rc;
    /* Owner-only: the store holds personal data. */
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return uf_error_set(err, UF_ERR_IO, "STORE: cannot create %s: %s", path, strerror(errno));
    return UF_OK;
}

static int take_writer_lock(uf_store_writer *w, uf_error *err)
{
    char *lock_path = path_join(w->path, "unify.lock");
    if (!lock_path)
        return uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory");
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        int rc = uf_error_set(err, UF_ERR_IO, "STORE: cannot open the writer lock %s: %s", lock_path, strerror(e));
        free(lock_path);
        return rc;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        int rc;
        if (e == EWOULDBLOCK) {
            char holder[32] = "";
            ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
            holder[n > 0 ? n : 0] = '\0';
            holder[strcspn(holder, "\n")] = '\0';
            rc = uf_error_set(err, UF_ERR_BUSY, "STORE: another unify run is writing this store (%s%s%s)",
                              w->path, holder[0] ? ", pid " : "", holder);
        } else {
            rc = uf_error_set(err, UF_ERR_IO, "STORE: cannot lock %s: %s", lock_path, strerror(e));
        }
        close(fd);
        free(lock_path);
        return rc;
    }
    free(lock_path);
    /* The holder's pid, for the message a second run prints. */
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* diagnostics only: the lock itself is held */
    }
    w->lock_fd = fd;
    return UF_OK;
}

static int open_environment(uf_store_writer *w, size_t map_size, unsigned flags, uf_error *err)
{
    int rc = uf_store_check_not_truncated_before_open(w->path, err);
    if (rc != UF_OK)
        return rc;
    rc = mdb_env_create(&w->env);
    if (rc != MDB_SUCCESS) {
        w->env = NULL;
        return uf_store_mdb_error(err, rc, w->path, "cannot create the environment");
    }
    mdb_env_set_maxdbs(w->env, 8);
    mdb_env_set_maxreaders(w->env, UF_STORE_MAX_READERS);
    w->env_flags = MDB_NOTLS | ((flags & UF_STORE_WRITEMAP) ? MDB_WRITEMAP : 0);
    rc = mdb_env_open(w->env, w->path, w->env_flags, 0600);
    if (rc != MDB_SUCCESS) {
        if (rc == MDB_INVALID)
            return uf_error_set(err, UF_ERR_STORE, "STORE: %s/data.mdb is not an LMDB store file (%s); not touching it",
                                w->path, mdb_strerror(rc));
        if (rc == MDB_VERSION_MISMATCH)
            return uf_error_set(err, UF_ERR_VERSION,
                                "STORE: %s was written by an incompatible LMDB version (%s)", w->path,
                                mdb_strerror(rc));
        return uf_store_mdb_error(err, rc, w->path, "cannot open the store");
    }
    if ((rc = uf_store_check_not_truncated(w->env, w->path, err)) != UF_OK)
        return rc;
    /* An existing store keeps its (larger) map; a small request only sets a floor. */
    MDB_envinfo info;
    mdb_env_info(w->env, &info);
    size_t want = map_size ? map_size : UF_STORE_DEFAULT_MAP_SIZE;
    if (info.me_mapsize < want) {
        rc = mdb_env_set_mapsize(w->env, want);
        if (rc != MDB_SUCCESS)
            return uf_store_mdb_error(err, rc, w->path, "cannot set the map size");
    }
    int dead = 0;
    mdb_reader_check(w->env, &dead); /* slots of killed readers would pin old pages */
    return UF_OK;
}

/* Read meta and open the database handles of a committed store. */
static int load_committed(uf_store_writer *w, uf_error *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, w->path, "cannot begin a read transaction");
    uf_store_meta meta;
    rc = uf_store_read_meta(txn, &w->dbi[UF_DB_META], UF_STORE_FORMAT_UPGRADABLE, &meta, w->path, err);
    if (rc == UF_ERR_NOT_FOUND) {
        /* Nothing committed yet: a new store. */
        mdb_txn_abort(txn);
        uf_error_clear(err);
        w->next_golden_id = 1;
        w->last_run_id = 0;
        w->have_dbis = false;
        return UF_OK;
    }
    if (rc != UF_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    for (int i = UF_DB_META + 1; i < UF_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, uf_store_dbs[i].name, uf_store_dbs[i].flags, &w->dbi[i]);
        if (rc == MDB_NOTFOUND && i == UF_DB_LINKS) {
            /* A store from before the links database: begin creates it. */
            rc = MDB_SUCCESS;
            continue;
        }
        if (rc != MDB_SUCCESS) {
            mdb_txn_abort(txn);
            if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
                return uf_error_set(err, UF_ERR_STORE, "STORE: %s: database \"%s\" is missing or malformed (corrupt store?)",
                                    w->path, uf_store_dbs[i].name);
            return uf_store_mdb_error(err, rc, w->path, "cannot open a database");
        }
    }
    MDB_stat profiles;
    rc = mdb_stat(txn, w->dbi[UF_DB_PROFILES], &profiles);
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return uf_store_mdb_error(err, rc, w->path, "cannot read the profile count");
    }
    w->profile_count = profiles.ms_entries;
    /* Committing a read transaction keeps its handles for the environment. */
    rc = mdb_txn_commit(txn);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, w->path, "cannot open the databases");
    w->next_golden_id = meta.next_golden_id;
    w->last_run_id = meta.last_run_id;
    w->committed_format = meta.format_version;
    w->have_dbis = true;
    return UF_OK;
}

int uf_store_writer_open_flags(const char *path, size_t map_size, unsigned flags, uf_store_writer **out,
                               uf_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return uf_error_set(err, UF_ERR_INVALID, "STORE: no store path given");
    uf_store_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory");
    }
    w->lock_fd = -1;
    uf_block_writer_init(&w->identifier_block);
    uf_block_writer_init(&w->record_block);
    uf_buf_init(&w->record_key);
    int rc = make_folder(path, err);
    if (rc == UF_OK)
        rc = take_writer_lock(w, err);
    if (rc == UF_OK)
        rc = uf_store_check_not_open_here(path, err);
    if (rc == UF_OK)
        rc = open_environment(w, map_size, flags, err);
    if (rc == UF_OK)
        rc = load_committed(w, err);
    if (rc != UF_OK) {
        uf_store_writer_close(w);
        return rc;
    }
    *out = w;
    return UF_OK;
}

int uf_store_writer_open(const char *path, size_t map_size, uf_store_writer **out, uf_error *err)
{
    return uf_store_writer_open_flags(path, map_size, 0, out, err);
}

uint64_t uf_store_writer_next_golden_id(const uf_store_writer *w)
{
    return w->next_golden_id;
}

uint64_t uf_store_writer_profile_count(const uf_store_writer *w)
{
    return w->profile_count;
}

uint64_t uf_store_writer_last_run_id(const uf_store_writer *w)
{
    return w->last_run_id;
}

void uf_store_writer_set_max_map_size(uf_store_writer *w, size_t bytes)
{
    w->max_map_size = bytes;
}

bool uf_store_writer_map_full(const uf_store_writer *w)
{
    return w->map_full;
}

/*
 * Early writeback. Without MDB_WRITEMAP, LMDB keeps up to 2^17 dirty pages
 * in memory and spills the excess to data.mdb during the transaction; the
 * commit then writes the rest and calls fdatasync, which on a machine with
 * plenty of memory (dirty_background_ratio of GiBs) has to write out the
 * whole generation (~550 MB at 1 M customers) at once, before the meta page.
 * The flusher thread calls sync_file_range(SYNC_FILE_RANGE_WRITE) on the
 * data file every FLUSH_INTERVAL_MS from begin until the commit returns,
 * so pages go to disk while the run still builds profiles, and during the
 * commit's own writes.
 *
 * Durability and atomicity are unchanged: SYNC_FILE_RANGE_WRITE only starts
 * writeback (no waiting, no metadata, no guarantee), LMDB's commit still
 * fdatasyncs the data file before it writes the meta page, and nothing but
 * the meta page makes the new pages reachable. An I/O error of the early
 * writeback is still reported by that fdatasync: sync_file_range without
 * SYNC_FILE_RANGE_WAIT_* does not consume the file's writeback error.
 * Pages of the transaction that LMDB rewrites after they went to disk are
 * simply written again. The flusher is an optimisation only: if it cannot
 * start, the run goes on without it.
 */
#define FLUSH_INTERVAL_MS 20

static void *flusher_main(void *arg)
{
    uf_store_writer *w = arg;
    pthread_mutex_lock(&w->flusher_lock);
    while (!w->flusher_quit) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += FLUSH_INTERVAL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!w->flusher_quit && pthread_cond_timedwait(&w->flusher_wake, &w->flusher_lock, &until) == 0) {
        }
        if (w->flusher_quit)
            break;
        pthread_mutex_unlock(&w->flusher_lock);
        (void)sync_file_range(w->flush_fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* best effort, see above */
        pthread_mutex_lock(&w->flusher_lock);
    }
    pthread_mutex_unlock(&w->flusher_lock);
    return NULL;
}

static void flusher_start(uf_store_writer *w)
{
    if (w->flusher_running || mdb_env_get_fd(w->env, &w->flush_fd) != MDB_SUCCESS)
        return;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return;
    bool ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&w->flusher_wake, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!ok)
        return;
    if (pthread_mutex_init(&w->flusher_lock, NULL) != 0) {
        pthread_cond_destroy(&w->flusher_wake);
        return;
    }
    w->flusher_quit = false;
    if (pthread_create(&w->flusher, NULL, flusher_main, w) != 0) {
        pthread_mutex_destroy(&w->flusher_lock);
        pthread_cond_destroy(&w->flusher_wake);
        return;
    }
    w->flusher_running = true;
}

static void flusher_stop(uf_store_writer *w)
{
    if (!w->flusher_running)
        return;
    pthread_mutex_lock(&w->flusher_lock);
    w->flusher_quit = true;
    pthread_cond_signal(&w->flusher_wake);
    pthread_mutex_unlock(&w->flusher_lock);
    pthread_join(w->flusher, NULL);
    pthread_mutex_destroy(&w->flusher_lock);
    pthread_cond_destroy(&w->flusher_wake);
    w->flusher_running = false;
}

void uf_store_writer_abort(uf_store_writer *w)
{
    if (w)
        flusher_stop(w);
    if (w && w->txn) {
        /* Cursors of a write transaction are freed with it. */
        mdb_txn_abort(w->txn);
        w->txn = NULL;
        memset(w->cursor, 0, sizeof w->cursor);
    }
}

void uf_store_writer_close(uf_store_writer *w)
{
    if (!w)
        return;
    uf_store_writer_abort(w);
    if (w->env)
        mdb_env_close(w->env);
    if (w->lock_fd >= 0)
        close(w->lock_fd); /* releases the flock */
    uf_block_writer_free(&w->identifier_block);
    uf_block_writer_free(&w->record_block);
    uf_buf_free(&w->record_key);
    free(w->path);
    free(w);
}

/* ------------------------------------------------------------------ */
/* Scans of the committed generation                                   */
/* ------------------------------------------------------------------ */

static int scan_stopped(uf_error *err, int rc, const char *what)
{
    return uf_error_set(err, rc, "STORE: scan of the previous %s stopped: %s", what, uf_strerror(rc));
}

int uf_store_writer_scan_records(uf_store_writer *w,
                                 int (*fn)(void *ctx, uf_slice source, uf_slice key, uint64_t golden_id),
                                 void *ctx, uf_error *err)
{
    if (!w->have_dbis)
        return UF_OK;
    MDB_txn *txn;
    MDB_cursor *cursor;
    int rc = mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, w->path, "cannot begin a read transaction");
    rc = mdb_cursor_open(txn, w->dbi[UF_DB_RECORDS], &cursor);
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return uf_store_mdb_error(err, rc, w->path, "cannot open a cursor on records");
    }
    bool stopped;
    if (w->committed_format == 2)
        rc = uf_store_scan_records_v2(cursor, fn, ctx, &stopped, w->path, err);
    else
        rc = uf_store_scan_record_blocks(cursor, fn, ctx, &stopped, w->path, err);
    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    return stopped ? scan_stopped(err, rc, "records") : rc;
}

int uf_store_writer_scan_redirects(uf_store_writer *w, int (*fn)(void *ctx, uint64_t old_id, uint64_t new_id),
                                   void *ctx, uf_error *err)
{
    if (!w->have_dbis)
        return UF_OK;
    MDB_txn *txn;
    MDB_cursor *cursor;
    int rc = mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, w->path, "cannot begin a read transaction");
    rc = mdb_cursor_open(txn, w->dbi[UF_DB_REDIRECTS], &cursor);
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return uf_store_mdb_error(err, rc, w->path, "cannot open a cursor on redirects");
    }
    int status = UF_OK;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 || v.mv_size != 8) {
            status = uf_error_set(err, UF_ERR_STORE, "STORE: %s: malformed entry in \"redirects\" (corrupt store?)",
                                  w->path);
            break;
        }
        int r = fn(ctx, uf_be64_get(k.mv_data), uf_be64_get(v.mv_data));
        if (r) {
            status = scan_stopped(err, r, "redirects");
            break;
        }
    }
    if (status == UF_OK && rc != MDB_NOTFOUND)
        status = uf_store_mdb_error(err, rc, w->path, "cannot scan redirects");
    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    return status;
}

/* ------------------------------------------------------------------ */
/* The write transaction                                               */
/* ------------------------------------------------------------------ */

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int grow_map(uf_store_writer *w, uint64_t estimated_bytes, uf_error *err)
{
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(w->env, &info);
    mdb_env_stat(w->env, &st);
    /* Pages in use now: the old generation and the free pages it will
     * reuse; the new generation is written next to it until commit. */
    uint64_t used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    uint64_t want = add_saturating(used, add_saturating(estimated_bytes, estimated_bytes));
    want = add_saturating(want, (uint64_t)1 << 20); /* branch pages, freelist, run log */
    if (w->map_full && want < (uint64_t)info.me_mapsize * 2)
        want = (uint64_t)info.me_mapsize * 2; /* the estimate was too low: at least double */
    if (want <= info.me_mapsize)
        return UF_OK;
    const uint64_t step = (uint64_t)1 << 20;
    want = (want + step - 1) / step * step;
    if (w->max_map_size && want > w->max_map_size) {
        if (info.me_mapsize >= w->max_map_size)
            return uf_error_set(err, UF_ERR_STORE,
                                "STORE: %s: the run needs a map larger than store.max_map_size (%zu bytes; "
                                "the store holds %" PRIu64 " bytes of pages); raise store.max_map_size "
                                "or free disk space. The previous generation is unchanged",
                                w->path, w->max_map_size, used);
        want = w->max_map_size; /* as far as allowed: the data may still fit */
    }
    if (want > SIZE_MAX)
        return uf_error_set(err, UF_ERR_STORE, "STORE: %s: map of %" PRIu64 " bytes is too large", w->path, want);
    int rc = mdb_env_set_mapsize(w->env, (size_t)want);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, w->path, "cannot grow the map");
    return UF_OK;
}

/*
 * LMDB reuses the pages freed by transaction N only in transactions after
 * N + 1 (it keeps the snapshot before the last commit reachable). With one
 * transaction per run, run N+1 could then never reuse the pages run N freed
 * and the file would settle at three generations instead of two. A tiny
 * commit just before the run's transaction moves the counter on; LMDB's
 * reader table still protects pages that a live reader can see.
 */
static int advance_txnid(uf_store_writer *w, uf_error *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(w->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, w->path, "cannot begin a write transaction");
    /* The committed generation's version: its data is still in that format. */
    uint32_t f = w->committed_format;
    unsigned char version[4] = {(unsigned char)(f >> 24), (unsigned char)(f >> 16), (unsigned char)(f >> 8),
                                (unsigned char)f};
    MDB_val k = {sizeof "format_version" - 1, (void *)"format_version"}, v = {4, version};
    rc = mdb_put(txn, w->dbi[UF_DB_META], &k, &v, 0);
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return uf_store_mdb_error(err, rc, w->path, "cannot write meta");
    }
    rc = mdb_txn_commit(txn);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, w->path, "cannot commit");
    return UF_OK;
}

/*
 * Emptying the old generation may read its trees (a DUPSORT database, as
 * format 2's identifiers, or one with overflow pages must visit every leaf
 * to free them, and the kernel maps 64 KiB around each fault), which left
 * ~20% of a format 2 store mapped in this process: ~190 MiB of RSS at 1 M
 * customers, on top of LMDB's dirty pages. Without MDB_WRITEMAP the map is
 * read-only (LMDB writes with
 * pwrite), so dropping its page-table entries is safe at any time: a page
 * touched again faults back in from the page cache. LMDB does not expose
 * the map's address (me_mapaddr is only set with MDB_FIXEDMAP), so it is
 * found in /proc/self/maps by the data file's inode; this process maps
 * data.mdb only once (uf_store_check_not_open_here). Best effort.
 */
static void release_map_pages(uf_store_writer *w)
{
    if (w->env_flags & MDB_WRITEMAP)
        return; /* the map holds this transaction's dirty pages */
    char *data = path_join(w->path, "data.mdb");
    struct stat st;
    FILE *f = NULL;
    if (data && stat(data, &st) == 0)
        f = fopen("/proc/self/maps", "re");
    free(data);
    if (!f)
        return;
    char line[4096 + 128];
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end;
        unsigned long long offset, ino;
        unsigned maj, min;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s %llx %x:%x %llu", &start, &end, perms, &offset, &maj, &min, &ino) == 7 &&
            ino == (unsigned long long)st.st_ino && maj == major(st.st_dev) && min == minor(st.st_dev) &&
            perms[1] == '-' && perms[3] == 's')
            madvise((void *)start, end - start, MADV_DONTNEED);
    }
    fclose(f);
}

int uf_store_writer_begin(uf_store_writer *w, uint64_t estimated_bytes, uf_error *err)
{
    if (w->txn)
        return uf_error_set(err, UF_ERR_INVALID, "STORE: %s: a write transaction is already open", w->path);
    int rc = grow_map(w, estimated_bytes, err);
    if (rc != UF_OK)
        return rc;
    int dead = 0;
    mdb_reader_check(w->env, &dead);
    if (w->have_dbis && (rc = advance_txnid(w, err)) != UF_OK)
        return rc;
    rc = mdb_txn_begin(w->env, NULL, 0, &w->txn);
    if (rc != MDB_SUCCESS) {
        w->txn = NULL;
        return uf_store_mdb_error(err, rc, w->path, "cannot begin the write transaction");
    }
    const char *what = "cannot open a database";
    for (int i = 0; i < UF_DB_COUNT && rc == MDB_SUCCESS; i++)
        rc = mdb_dbi_open(w->txn, uf_store_dbs[i].name, uf_store_dbs[i].flags | MDB_CREATE, &w->dbi[i]);
    if (rc == MDB_SUCCESS)
        what = "cannot empty the previous generation";
    /* An index of an older format with other LMDB flags (format 2 kept
     * identifiers as MDB_DUPSORT) is deleted and created anew; the others
     * are emptied. */
    for (int i = WRITE_DB_FIRST; i < WRITE_DB_END && rc == MDB_SUCCESS; i++) {
        unsigned flags = 0;
        rc = mdb_dbi_flags(w->txn, w->dbi[i], &flags);
        if (rc == MDB_SUCCESS && (flags & (MDB_DUPSORT | MDB_DUPFIXED)) != uf_store_dbs[i].flags) {
            rc = mdb_drop(w->txn, w->dbi[i], 1);
            if (rc == MDB_SUCCESS)
                rc = mdb_dbi_open(w->txn, uf_store_dbs[i].name, uf_store_dbs[i].flags | MDB_CREATE, &w->dbi[i]);
        }
        if (rc == MDB_SUCCESS)
            rc = mdb_drop(w->txn, w->dbi[i], 0);
    }
    if (rc == MDB_SUCCESS) {
        /* The schema belongs to the generation: a run that writes none leaves none. */
        MDB_val k = {sizeof UF_STORE_SCHEMA_KEY - 1, (void *)UF_STORE_SCHEMA_KEY};
        rc = mdb_del(w->txn, w->dbi[UF_DB_META], &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = MDB_SUCCESS;
    }
    if (rc == MDB_SUCCESS) {
        /* So is the matching model. */
        MDB_val k = {sizeof UF_STORE_MODEL_KEY - 1, (void *)UF_STORE_MODEL_KEY};
        rc = mdb_del(w->txn, w->dbi[UF_DB_META], &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = MDB_SUCCESS;
    }
    if (rc == MDB_SUCCESS) {
        what = "cannot open a cursor";
        release_map_pages(w);
    }
    for (int i = WRITE_DB_FIRST; i < WRITE_DB_END && rc == MDB_SUCCESS; i++)
        rc = mdb_cursor_open(w->txn, w->dbi[i], &w->cursor[i]);
    if (rc != MDB_SUCCESS) {
        w->map_full = rc == MDB_MAP_FULL;
        uf_store_writer_abort(w);
        return uf_store_mdb_error(err, rc, w->path, what);
    }
    w->failed = UF_OK;
    w->failure[0] = '\0';
    w->map_full = false;
    w->last_profile = w->last_redirect = w->last_links = w->max_id = 0;
    w->have_identifier = false;
    uf_block_writer_reset(&w->identifier_block);
    uf_block_writer_reset(&w->record_block);
    flusher_start(w);
    return UF_OK;
}

/* Record a failure of the transaction and report it. */
static int fail(uf_store_writer *w, uf_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(uf_store_writer *w, uf_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->failure, sizeof w->failure, fmt, ap);
    va_end(ap);
    w->failed = code;
    return uf_error_set(err, code, "%s", w->failure);
}

static int fail_mdb(uf_store_writer *w, uf_error *err, int rc, const char *what)
{
    uf_error e;
    int code = uf_store_mdb_error(&e, rc, w->path, what);
    if (rc == MDB_MAP_FULL) {
        w->map_full = true;
        return fail(w, err, code, "%s; abort and begin again with a larger estimate", e.message);
    }
    return fail(w, err, code, "%s", e.message);
}

static int check_writable(uf_store_writer *w, uf_error *err)
{
    if (!w->txn)
        return uf_error_set(err, UF_ERR_INVALID, "STORE: %s: no write transaction (call uf_store_writer_begin)",
                            w->path);
    if (w->failed)
        return uf_error_set(err, w->failed, "STORE: the transaction already failed: %s", w->failure);
    return UF_OK;
}

static void note_id(uf_store_writer *w, uint64_t id)
{
    if (id > w->max_id)
        w->max_id = id;
}

int uf_store_put_schema(uf_store_writer *w, const void *schema, size_t len, uf_error *err)
{
    int rc = check_writable(w, err);
    if (rc != UF_OK)
        return rc;
    MDB_val k = {sizeof UF_STORE_SCHEMA_KEY - 1, (void *)UF_STORE_SCHEMA_KEY}, v = {len, (void *)schema};
    rc = mdb_put(w->txn, w->dbi[UF_DB_META], &k, &v, 0);
    if (rc != MDB_SUCCESS)
        return fail_mdb(w, err, rc, "cannot write the profile schema");
    return UF_OK;
}

int uf_store_put_profile(uf_store_writer *w, uint64_t golden_id, const char *profile, size_t len, uf_error *err)
{
    int rc = check_writable(w, err);
    if (rc != UF_OK)
        return rc;
    if (golden_id == 0)
        return fail(w, err, UF_ERR_INVALID, "STORE: profiles: golden id 0 is invalid");
    if (golden_id <= w->last_profile)
        return fail(w, err, UF_ERR_INVALID,
                    "STORE: profiles out of order: G%09" PRIu64 " after G%09" PRIu64 " (ids must be strictly ascending)",
                    golden_id, w->last_profile);
    unsigned char kb[8];
    uf_be64_put(kb, golden_id);
    MDB_val k = {8, kb}, v = {len, (void *)profile};
    rc = mdb_cursor_put(w->cursor[UF_DB_PROFILES], &k, &v, MDB_APPEND);
    if (rc != MDB_SUCCESS)
        return fail_mdb(w, err, rc, "cannot write a profile");
    w->last_profile = golden_id;
    note_id(w, golden_id);
    return UF_OK;
}

/* Add an entry to a blocked index (store_block.h), storing the open block first when it is full. */
static int block_put(uf_store_writer *w, int db, uf_block_writer *b, const void *key, size_t len, uint64_t golden_id,
                     const char *what, uf_error *err)
{
    MDB_val k, v;
    if (uf_block_full_before(b, key, len) && uf_block_take(b, &k, &v)) {
        int rc = mdb_cursor_put(w->cursor[db], &k, &v, MDB_APPEND);
        if (rc != MDB_SUCCESS)
            return fail_mdb(w, err, rc, what);
        uf_block_taken(b);
    }
    if (!uf_block_add(b, key, len, golden_id))
        return fail(w, err, UF_ERR_NOMEM, "STORE: out of memory writing %s", uf_store_dbs[db].name);
    return UF_OK;
}

/* Store the open block of a blocked index, if any (before the commit). */
static int block_flush(uf_store_writer *w, int db, uf_block_writer *b, const char *what, uf_error *err)
{
    MDB_val k, v;
    if (!uf_block_take(b, &k, &v))
        return UF_OK;
    int rc = mdb_cursor_put(w->cursor[db], &k, &v, MDB_APPEND);
    if (rc != MDB_SUCCESS)
        return fail_mdb(w, err, rc, what);
    uf_block_taken(b);
    return UF_OK;
}

int uf_store_put_identifier(uf_store_writer *w, uf_key key, uint64_t golden_id, uf_error *err)
{
    int rc = check_writable(w, err);
    if (rc != UF_OK)
        return rc;
    if (golden_id == 0)
        return fail(w, err, UF_ERR_INVALID, "STORE: identifiers: golden id 0 is invalid");
    int c = w->have_identifier ? uf_key_compare(key, w->last_identifier) : 1;
    if (c == 0 && golden_id == w->last_identifier_id)
        return UF_OK; /* exact repeat: already stored */
    if (c < 0 || (c == 0 && golden_id < w->last_identifier_id))
        return fail(w, err, UF_ERR_INVALID,
                    "STORE: identifiers out of order: %016" PRIx64 "%016" PRIx64 "/G%09" PRIu64
                    " after %016" PRIx64 "%016" PRIx64 "/G%09" PRIu64 " (sort by key, then golden id)",
                    key.hi, key.lo, golden_id, w->last_identifier.hi, w->last_identifier.lo,
                    w->last_identifier_id);
    unsigned char kb[16];
    uf_key_to_bytes(key, kb);
    rc = block_put(w, UF_DB_IDENTIFIERS, &w->identifier_block, kb, sizeof kb, golden_id, "cannot write identifiers",
                   err);
    if (rc != UF_OK)
        return rc;
    w->have_identifier = true;
    w->last_identifier = key;
    w->last_identifier_id = golden_id;
    note_id(w, golden_id);
    return UF_OK;
}

/*
 * The checks of a record put against the index's previous key, and its
 * stored key into `stored`: UF_OK, or UF_ERR_INVALID / UF_ERR_NOMEM with
 * `err` set. Shared by the writer and uf_record_blocks.
 */
static int record_checked_key(const uf_block_writer *blocks, uf_buf *stored, uf_slice source, uf_slice key,
                              uint64_t golden_id, uf_error *err)
{
    if (golden_id == 0)
        return uf_error_set(err, UF_ERR_INVALID, "STORE: records: golden id 0 is invalid");
    if (!uf_store_record_key(source, key, stored)) {
        if (stored->failed)
            return uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory writing records");
        return uf_error_set(err, UF_ERR_INVALID, "STORE: records: invalid source name \"%.*s\" (1..%d bytes, no NUL)",
                            (int)(source.len > 64 ? 64 : source.len), source.ptr ? source.ptr : "",
                            UF_STORE_SOURCE_MAX);
    }
    size_t last_len;
    const char *last = (const char *)uf_block_last_key(blocks, &last_len);
    if (last && uf_block_compare_keys(stored->data, stored->len, last, last_len) <= 0) {
        /* Stored keys compare like (source, key): sources hold no NUL. */
        const char *nul = memchr(last, '\0', last_len);
        size_t last_source = nul ? (size_t)(nul - last) : last_len;
        size_t last_key = nul ? last_len - last_source - 1 : 0;
        return uf_error_set(err, UF_ERR_INVALID,
                            "STORE: records out of order: %.*s:%.*s after %.*s:%.*s (sort by source name, then key, "
                            "as bytes; each pair once)",
                            (int)source.len, source.ptr, (int)(key.len > 80 ? 80 : key.len), key.ptr ? key.ptr : "",
                            (int)last_source, last, (int)(last_key > 80 ? 80 : last_key), nul ? nul + 1 : "");
    }
    return UF_OK;
}

int uf_store_put_record(uf_store_writer *w, uf_slice source, uf_slice key, uint64_t golden_id, uf_error *err)
{
    int rc = check_writable(w, err);
    if (rc != UF_OK)
        return rc;
    uf_error e;
    rc = record_checked_key(&w->record_block, &w->record_key, source, key, golden_id, &e);
    if (rc != UF_OK)
        return fail(w, err, rc, "%s", e.message);
    rc = block_put(w, UF_DB_RECORDS, &w->record_block, w->record_key.data, w->record_key.len, golden_id,
                   "cannot write records", err);
    if (rc != UF_OK)
        return rc;
    note_id(w, golden_id);
    return UF_OK;
}

/*
 * Finished blocks are kept in memory mapped for the purpose: the builder
 * runs on a worker thread, and malloc memory it took and the writer's
 * thread freed would stay in the worker's malloc arena, out of reach of
 * LMDB's page allocations on the writer's thread (the run's memory peak).
 */
struct uf_record_blocks {
    uf_block_writer open;   /* the block being filled */
    uf_buf stored;          /* the stored key of the record being added */
    unsigned char *done;    /* finished blocks: u32 key length, key, u32 value length, value */
    size_t done_len, done_cap;
    uint64_t max_id;
};

uf_record_blocks *uf_record_blocks_new(void)
{
    uf_record_blocks *b = calloc(1, sizeof *b);
    if (b) {
        uf_block_writer_init(&b->open);
        uf_buf_init(&b->stored);
    }
    return b;
}

void uf_record_blocks_free(uf_record_blocks *b)
{
    if (!b)
        return;
    uf_block_writer_free(&b->open);
    uf_buf_free(&b->stored);
    if (b->done)
        munmap(b->done, b->done_cap);
    free(b);
}

static bool done_reserve(uf_record_blocks *b, size_t extra)
{
    if (b->done_len + extra <= b->done_cap)
        return true;
    size_t cap = b->done_cap ? b->done_cap * 2 : (size_t)4 << 20;
    while (cap < b->done_len + extra)
        cap *= 2;
    void *p = b->done ? mremap(b->done, b->done_cap, cap, MREMAP_MAYMOVE)
                      : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    b->done = p;
    b->done_cap = cap;
    return true;
}

static void done_put(uf_record_blocks *b, const MDB_val *v)
{
    uint32_t n = (uint32_t)v->mv_size;
    memcpy(b->done + b->done_len, &n, sizeof n);
    memcpy(b->done + b->done_len + sizeof n, v->mv_data, n);
    b->done_len += sizeof n + n;
}

int uf_record_blocks_add(uf_record_blocks *b, uf_slice source, uf_slice key, uint64_t golden_id, uf_error *err)
{
    int rc = record_checked_key(&b->open, &b->stored, source, key, golden_id, err);
    if (rc != UF_OK)
        return rc;
    MDB_val k, v;
    if (uf_block_full_before(&b->open, b->stored.data, b->stored.len) && uf_block_take(&b->open, &k, &v)) {
        if (v.mv_size > UINT32_MAX || !done_reserve(b, 8 + k.mv_size + v.mv_size))
            return uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory building the record index");
        done_put(b, &k);
        done_put(b, &v);
        uf_block_taken(&b->open);
    }
    if (!uf_block_add(&b->open, b->stored.data, b->stored.len, golden_id))
        return uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory building the record index");
    if (golden_id > b->max_id)
        b->max_id = golden_id;
    return UF_OK;
}

int uf_store_put_record_blocks(uf_store_writer *w, uf_record_blocks *b, uf_error *err)
{
    int rc = check_writable(w, err);
    if (rc != UF_OK)
        return rc;
    size_t last_len;
    if (uf_block_last_key(&w->record_block, &last_len))
        return fail(w, err, UF_ERR_INVALID, "STORE: records: a built record index goes into an empty one");
    for (size_t at = 0; at < b->done_len;) {
        uint32_t klen, vlen;
        memcpy(&klen, b->done + at, sizeof klen);
        MDB_val k = {klen, b->done + at + sizeof klen};
        at += sizeof klen + klen;
        memcpy(&vlen, b->done + at, sizeof vlen);
        MDB_val v = {vlen, b->done + at + sizeof vlen};
        at += sizeof vlen + vlen;
        int mrc = mdb_cursor_put(w->cursor[UF_DB_RECORDS], &k, &v, MDB_APPEND);
        if (mrc != MDB_SUCCESS)
            return fail_mdb(w, err, mrc, "cannot write records");
    }
    /* The open block goes on in the writer: later puts continue after it, and the commit stores it. */
    uf_block_writer open = w->record_block;
    w->record_block = b->open;
    b->open = open;
    if (b->max_id)
        note_id(w, b->max_id);
    return UF_OK;
}

int uf_store_put_redirect(uf_store_writer *w, uint64_t old_id, uint64_t new_id, uf_error *err)
{
    int rc = check_writable(w, err);
    if (rc != UF_OK)
        return rc;
    if (old_id == 0 || new_id == 0 || old_id == new_id)
        return fail(w, err, UF_ERR_INVALID, "STORE: redirects: invalid redirect G%09" PRIu64 " -> G%09" PRIu64,
                    old_id, new_id);
    if (old_id <= w->last_redirect)
        return fail(w, err, UF_ERR_INVALID,
                    "STORE: redirects out of order: G%09" PRIu64 " after G%09" PRIu64 " (old ids strictly ascending)",
                    old_id, w->last_redirect);
    unsigned char kb[8], vb[8];
    uf_be64_put(kb, old_id);
    uf_be64_put(vb, new_id);
    MDB_val k = {8, kb}, v = {8, vb};
    rc = mdb_cursor_put(w->cursor[UF_DB_REDIRECTS], &k, &v, MDB_APPEND);
    if (rc != MDB_SUCCESS)
        return fail_mdb(w, err, rc, "cannot write a redirect");
    w->last_redirect = old_id;
    note_id(w, old_id);
    note_id(w, new_id);
    return UF_OK;
}

int uf_store_put_links(uf_store_writer *w, uint64_t golden_id, const void *links, size_t len, uf_error *err)
{
    int rc = check_writable(w, err);
    if (rc != UF_OK)
        return rc;
    if (golden_id == 0)
        return fail(w, err, UF_ERR_INVALID, "STORE: links: golden id 0 is invalid");
    if (golden_id <= w->last_links)
        return fail(w, err, UF_ERR_INVALID,
                    "STORE: links out of order: G%09" PRIu64 " after G%09" PRIu64 " (ids must be strictly ascending)",
                    golden_id, w->last_links);
    unsigned char kb[8];
    uf_be64_put(kb, golden_id);
    MDB_val k = {8, kb}, v = {len, (void *)links};
    rc = mdb_cursor_put(w->cursor[UF_DB_LINKS], &k, &v, MDB_APPEND);
    if (rc != MDB_SUCCESS)
        return fail_mdb(w, err, rc, "cannot write the links of a profile");
    w->last_links = golden_id;
    note_id(w, golden_id);
    return UF_OK;
}

int uf_store_put_model(uf_store_writer *w, const char *json, size_t len, uf_error *err)
{
    int rc = check_writable(w, err);
    if (rc != UF_OK)
        return rc;
    MDB_val k = {sizeof UF_STORE_MODEL_KEY - 1, (void *)UF_STORE_MODEL_KEY}, v = {len, (void *)json};
    rc = mdb_put(w->txn, w->dbi[UF_DB_META], &k, &v, 0);
    if (rc != MDB_SUCCESS)
        return fail_mdb(w, err, rc, "cannot write the matching model");
    return UF_OK;
}

static int put_meta(MDB_txn *txn, MDB_dbi dbi, const char *name, const void *data, size_t len, unsigned flags)
{
    MDB_val k = {strlen(name), (void *)name}, v = {len, (void *)data};
    return mdb_put(txn, dbi, &k, &v, flags);
}

/* Make a new store's directory entries durable (LMDB fsyncs the files only). */
static void sync_folder(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int uf_store_writer_commit(uf_store_writer *w, uint64_t next_golden_id, const char *report_json, size_t len,
                           uint64_t *run_id, uf_error *err)
{
    if (!w->txn)
        return uf_error_set(err, UF_ERR_INVALID, "STORE: %s: no write transaction to commit", w->path);
    /* The open blocks of the blocked indexes; a failure sets w->failed. */
    if (!w->failed && block_flush(w, UF_DB_IDENTIFIERS, &w->identifier_block, "cannot write identifiers", NULL) == 0)
        block_flush(w, UF_DB_RECORDS, &w->record_block, "cannot write records", NULL);
    if (w->failed) {
        int code = w->failed;
        uf_store_writer_abort(w);
        return uf_error_set(err, code, "STORE: nothing committed: an earlier write failed: %s", w->failure);
    }
    if (next_golden_id <= w->max_id || next_golden_id < w->next_golden_id) {
        uint64_t floor = w->max_id + 1 > w->next_golden_id ? w->max_id + 1 : w->next_golden_id;
        uf_store_writer_abort(w);
        return uf_error_set(err, UF_ERR_INVALID,
                            "STORE: nothing committed: next_golden_id G%09" PRIu64 " would reuse ids (at least G%09" PRIu64
                            " needed)",
                            next_golden_id, floor);
    }
    /* The run id follows the run log itself, so a damaged meta cannot make
     * it collide with a logged run. */
    uint64_t id = w->last_run_id;
    MDB_cursor *cursor;
    MDB_val k, v;
    int rc = mdb_cursor_open(w->txn, w->dbi[UF_DB_RUNS], &cursor);
    const char *what = "cannot read the run log";
    if (rc == MDB_SUCCESS) {
        rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
        if (rc == MDB_SUCCESS && k.mv_size == 8 && uf_be64_get(k.mv_data) > id)
            id = uf_be64_get(k.mv_data);
        if (rc == MDB_NOTFOUND || rc == MDB_SUCCESS) {
            id++;
            unsigned char kb[8];
            uf_be64_put(kb, id);
            static const char empty[] = "{}";
            k = (MDB_val){8, kb};
            v = report_json ? (MDB_val){len, (void *)report_json} : (MDB_val){2, (void *)empty};
            what = "cannot append to the run log";
            rc = mdb_cursor_put(cursor, &k, &v, MDB_APPEND);
        }
        mdb_cursor_close(cursor);
    }
    unsigned char version[4] = {0, 0, 0, UF_STORE_FORMAT_VERSION}, next[8], last[8];
    uf_be64_put(next, next_golden_id);
    uf_be64_put(last, id);
    if (rc == MDB_SUCCESS) {
        what = "cannot write meta";
        rc = put_meta(w->txn, w->dbi[UF_DB_META], "format_version", version, 4, 0);
    }
    if (rc == MDB_SUCCESS)
        rc = put_meta(w->txn, w->dbi[UF_DB_META], "next_golden_id", next, 8, 0);
    if (rc == MDB_SUCCESS)
        rc = put_meta(w->txn, w->dbi[UF_DB_META], "last_run_id", last, 8, 0);
    if (rc == MDB_SUCCESS) {
        rc = put_meta(w->txn, w->dbi[UF_DB_META], "created_by", UF_STORE_CREATED_BY, strlen(UF_STORE_CREATED_BY),
                      MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
            rc = MDB_SUCCESS; /* written by the run that created the store */
    }
    if (rc != MDB_SUCCESS) {
        w->map_full = rc == MDB_MAP_FULL;
        uf_store_writer_abort(w);
        return uf_store_mdb_error(err, rc, w->path, what);
    }
    bool first = !w->have_dbis;
    MDB_stat profiles = {0};
    if (mdb_stat(w->txn, w->dbi[UF_DB_PROFILES], &profiles) != MDB_SUCCESS)
        profiles.ms_entries = 0; /* only the next run's vanished-id count reads it */
    rc = mdb_txn_commit(w->txn); /* frees the transaction and its cursors, even on failure */
    flusher_stop(w); /* ran through the commit's writes: its fdatasync has less left to do */
    w->txn = NULL;
    memset(w->cursor, 0, sizeof w->cursor);
    if (rc != MDB_SUCCESS) {
        w->map_full = rc == MDB_MAP_FULL;
        return uf_store_mdb_error(err, rc, w->path, "cannot commit the run");
    }
    if (first)
        sync_folder(w->path);
    w->have_dbis = true;
    w->committed_format = UF_STORE_FORMAT_VERSION;
    w->next_golden_id = next_golden_id;
    w->last_run_id = id;
    w->profile_count = profiles.ms_entries;
    if (run_id)
        *run_id = id;
    return UF_OK;
}
