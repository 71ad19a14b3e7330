/*
 * store.c — what the store's writer (store_write.c) and reader
 * (store_read.c) share: the database table, record keys, the ordered
 * record scan (format 3 blocks, and format 2 for the run that upgrades a
 * store), meta validation, error mapping, the guard against a second
 * environment handle in one process, and golden id text.
 */
#include "store.h"

#include "store_block.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

const uf_store_db_spec uf_store_dbs[UF_DB_COUNT] = {
    [UF_DB_META] = {"meta", 0},
    [UF_DB_PROFILES] = {"profiles", 0},
    [UF_DB_IDENTIFIERS] = {"identifiers", 0}, /* MDB_DUPSORT | MDB_DUPFIXED in format 2 */
    [UF_DB_RECORDS] = {"records", 0},
    [UF_DB_REDIRECTS] = {"redirects", 0},
    [UF_DB_LINKS] = {"links", 0},
    [UF_DB_RUNS] = {"runs", 0},
};

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

int uf_store_mdb_error(uf_error *err, int mdb_rc, const char *path, const char *what)
{
    int code;
    switch (mdb_rc) {
    case ENOMEM:
        code = UF_ERR_NOMEM;
        break;
    case ENOSPC:
    case EIO:
    case EACCES:
    case EPERM:
    case EROFS:
    case EDQUOT:
    case EFBIG:
        code = UF_ERR_IO;
        break;
    case MDB_VERSION_MISMATCH:
        code = UF_ERR_VERSION;
        break;
    case MDB_READERS_FULL:
        code = UF_ERR_BUSY;
        break;
    default:
        code = UF_ERR_STORE;
        break;
    }
    /*
     * LMDB reports a short write as EIO, and a full disk usually shows up as
     * one (the last pwrite is cut short): say so, with the free space.
     */
    struct statvfs fs;
    if ((mdb_rc == EIO || mdb_rc == ENOSPC || mdb_rc == EFBIG || mdb_rc == EDQUOT) && path && statvfs(path, &fs) == 0)
        return uf_error_set(err, code,
                            "STORE: %s (%s): %s: a write failed; is the disk full? (%.1f MiB free there, or a "
                            "file size limit)",
                            what, path, mdb_strerror(mdb_rc),
                            (double)fs.f_bavail * (double)fs.f_frsize / (1024.0 * 1024.0));
    return uf_error_set(err, code, "STORE: %s (%s): %s", what, path ? path : "?", mdb_strerror(mdb_rc));
}

/* ------------------------------------------------------------------ */
/* Truncated files                                                     */
/* ------------------------------------------------------------------ */

static int truncated(uf_error *err, const char *path, long long size, long long needed)
{
    return uf_error_set(err, UF_ERR_STORE,
                        "STORE: %s/data.mdb is truncated (%lld bytes; the store needs at least %lld); "
                        "not touching it: restore it from a backup or run into a fresh folder",
                        path, size, needed);
}

int uf_store_check_not_truncated_before_open(const char *path, uf_error *err)
{
    char file[4096];
    snprintf(file, sizeof file, "%s/data.mdb", path);
    struct stat st;
    if (stat(file, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return UF_OK; /* missing or empty: LMDB creates (writer) or the caller reports "no store here" */
    long page = sysconf(_SC_PAGESIZE);
    if (page < 4096)
        page = 4096;
    if (st.st_size >= 2 * page)
        return UF_OK;
    /* Too short for LMDB's two meta pages: truncated if it starts like LMDB, else not LMDB at all. */
    unsigned char head[20] = {0};
    FILE *f = fopen(file, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f)
        fclose(f);
    const uint32_t lmdb_magic = 0xBEEFC0DE; /* MDB_meta.mm_magic, after the 16-byte page header */
    uint32_t magic = (uint32_t)head[16] | (uint32_t)head[17] << 8 | (uint32_t)head[18] << 16 | (uint32_t)head[19] << 24;
    if (got < sizeof head || magic != lmdb_magic)
        return uf_error_set(err, UF_ERR_STORE, "STORE: %s/data.mdb is not an LMDB store file (%lld bytes, no LMDB "
                            "header); not touching it", path, (long long)st.st_size);
    return truncated(err, path, (long long)st.st_size, 2LL * page);
}

int uf_store_check_not_truncated(MDB_env *env, const char *path, uf_error *err)
{
    mdb_filehandle_t fd;
    struct stat st;
    MDB_envinfo info;
    MDB_stat ms;
    if (mdb_env_get_fd(env, &fd) != MDB_SUCCESS || fstat(fd, &st) != 0 || mdb_env_info(env, &info) != MDB_SUCCESS ||
        mdb_env_stat(env, &ms) != MDB_SUCCESS)
        return UF_OK; /* nothing to compare: LMDB reports its own errors later */
    if (st.st_size == 0)
        return UF_OK; /* a new environment: nothing written yet */
    long long needed = ((long long)info.me_last_pgno + 1) * (long long)ms.ms_psize;
    if ((long long)st.st_size < needed)
        return truncated(err, path, (long long)st.st_size, needed);
    return UF_OK;
}

/* ------------------------------------------------------------------ */
/* One environment handle per process                                  */
/* ------------------------------------------------------------------ */

/*
 * LMDB holds a POSIX read lock on byte 0 of lock.mdb for as long as an
 * environment is open, and POSIX locks belong to the process. /proc/locks
 * lists them with the owner's pid and the file's device and inode, so
 * "this pid holds a POSIX lock on that inode" means "this process has the
 * environment open". A forked child does not inherit POSIX locks, so it is
 * (rightly) not refused. Device numbers are compared too, to avoid a false
 * refusal for an equal inode number on another file system; where the two
 * disagree (btrfs subvolumes) the guard just stays silent.
 */
int uf_store_check_not_open_here(const char *path, uf_error *err)
{
    char lock_path[4096];
    if (snprintf(lock_path, sizeof lock_path, "%s/lock.mdb", path) >= (int)sizeof lock_path)
        return UF_OK;
    struct stat st;
    if (stat(lock_path, &st) != 0)
        return UF_OK; /* no lock file: nobody has the environment open */
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return UF_OK;
    long me = (long)getpid();
    bool found = false;
    char line[512];
    while (!found && fgets(line, sizeof line, f)) {
        const char *p = strchr(line, ':');
        if (!p || strstr(p, "->"))
            continue; /* a waiter, not a holder */
        char type[32], mode[32], rw[32];
        long pid;
        unsigned maj, min;
        unsigned long long ino;
        if (sscanf(p + 1, "%31s %31s %31s %ld %x:%x:%llu", type, mode, rw, &pid, &maj, &min, &ino) != 7)
            continue;
        if (strcmp(type, "POSIX") == 0 && pid == me && ino == (unsigned long long)st.st_ino &&
            maj == major(st.st_dev) && min == minor(st.st_dev))
            found = true;
    }
    fclose(f);
    if (found)
        return uf_error_set(err, UF_ERR_BUSY,
                            "STORE: %s is already open in this process; LMDB allows one handle per "
                            "environment and process (share the open uf_store between threads, and "
                            "close the writer before opening a reader)",
                            path);
    return UF_OK;
}

/* ------------------------------------------------------------------ */
/* Meta                                                                */
/* ------------------------------------------------------------------ */

static int meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *out, const char *path, uf_error *err)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS && v.mv_size != 8))
        return uf_error_set(err, UF_ERR_STORE, "STORE: %s: meta entry \"%s\" is missing or malformed", path, name);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, path, "cannot read meta");
    *out = uf_be64_get(v.mv_data);
    return UF_OK;
}

int uf_store_read_meta(MDB_txn *txn, MDB_dbi *meta_dbi, uint32_t oldest_version, uf_store_meta *meta, const char *path,
                       uf_error *err)
{
    int rc = mdb_dbi_open(txn, uf_store_dbs[UF_DB_META].name, 0, meta_dbi);
    if (rc == MDB_NOTFOUND) {
        /* No meta: either nothing was ever committed, or this is some other
         * LMDB environment, which we must not rewrite. */
        MDB_dbi main_dbi;
        MDB_stat st;
        rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
        if (rc == MDB_SUCCESS)
            rc = mdb_stat(txn, main_dbi, &st);
        if (rc != MDB_SUCCESS)
            return uf_store_mdb_error(err, rc, path, "cannot read the main database");
        if (st.ms_entries == 0)
            return uf_error_set(err, UF_ERR_NOT_FOUND, "STORE: no store here (run `unify run` first): %s", path);
        return uf_error_set(err, UF_ERR_STORE,
                            "STORE: %s is an LMDB environment but not a unify store (no \"meta\" database)", path);
    }
    if (rc == MDB_INCOMPATIBLE)
        return uf_error_set(err, UF_ERR_STORE, "STORE: %s is not a unify store (\"meta\" is not a database)", path);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, path, "cannot open the meta database");

    static const char version_key[] = "format_version";
    MDB_val k = {sizeof version_key - 1, (void *)version_key}, v;
    rc = mdb_get(txn, *meta_dbi, &k, &v);
    if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS && v.mv_size != 4))
        return uf_error_set(err, UF_ERR_STORE, "STORE: %s: meta has no valid format_version (corrupt store?)", path);
    if (rc != MDB_SUCCESS)
        return uf_store_mdb_error(err, rc, path, "cannot read meta");
    const unsigned char *b = v.mv_data;
    meta->format_version = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if (meta->format_version >= UF_STORE_FORMAT_UPGRADABLE && meta->format_version < oldest_version)
        return uf_error_set(err, UF_ERR_VERSION,
                            "STORE: %s has store format version %" PRIu32 "; this unify (%s) reads version %d: "
                            "run `unify run` with it once to upgrade the store (golden ids are kept)",
                            path, meta->format_version, UF_VERSION_STRING, UF_STORE_FORMAT_VERSION);
    if (meta->format_version < oldest_version || meta->format_version > UF_STORE_FORMAT_VERSION)
        return uf_error_set(err, UF_ERR_VERSION,
                            "STORE: %s has store format version %" PRIu32 "; this unify (%s) reads version %d",
                            path, meta->format_version, UF_VERSION_STRING, UF_STORE_FORMAT_VERSION);
    rc = meta_u64(txn, *meta_dbi, "next_golden_id", &meta->next_golden_id, path, err);
    if (rc == UF_OK)
        rc = meta_u64(txn, *meta_dbi, "last_run_id", &meta->last_run_id, path, err);
    if (rc == UF_OK && meta->next_golden_id == 0)
        rc = uf_error_set(err, UF_ERR_STORE, "STORE: %s: meta next_golden_id is 0 (corrupt store?)", path);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Record keys                                                         */
/* ------------------------------------------------------------------ */

bool uf_store_record_key(uf_slice source, uf_slice key, uf_buf *out)
{
    uf_buf_reset(out);
    if (source.len == 0 || source.len > UF_STORE_SOURCE_MAX || memchr(source.ptr, '\0', source.len))
        return false;
    uf_buf_append(out, source.ptr, source.len);
    uf_buf_putc(out, '\0');
    uf_buf_append(out, key.ptr ? key.ptr : "", key.len);
    return !out->failed;
}

/* Split a stored record key into (source, key); false when it has no NUL or an empty source. */
static bool split_record_key(const unsigned char *stored, size_t len, uf_slice *source, uf_slice *key)
{
    const unsigned char *nul = memchr(stored, '\0', len);
    if (!nul || nul == stored)
        return false;
    *source = uf_slice_make((const char *)stored, (size_t)(nul - stored));
    *key = uf_slice_make((const char *)nul + 1, len - source->len - 1);
    return true;
}

int uf_store_scan_record_blocks(MDB_cursor *cursor,
                                int (*fn)(void *ctx, uf_slice source, uf_slice key, uint64_t golden_id),
                                void *ctx, bool *stopped, const char *path, uf_error *err)
{
    *stopped = false;
    int status = UF_OK;
    MDB_val k, v;
    int rc;
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && status == UF_OK;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        uf_block_reader r;
        uf_block_reader_init(&r, &v);
        uint64_t id;
        int got;
        while ((got = uf_block_next(&r, &id)) == UF_BLOCK_ENTRY) {
            uf_slice source, key;
            if (!split_record_key(r.key, r.key_len, &source, &key)) {
                got = UF_BLOCK_MALFORMED;
                break;
            }
            int stop = fn(ctx, source, key, id);
            if (stop) {
                *stopped = true;
                status = stop;
                break;
            }
        }
        uf_block_reader_free(&r);
        if (got == UF_BLOCK_MALFORMED)
            status = uf_error_set(err, UF_ERR_STORE, "STORE: %s: malformed entry in \"records\" (corrupt store?)",
                                  path);
        else if (got == UF_BLOCK_NOMEM)
            status = uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory scanning records");
    }
    if (status == UF_OK && rc != MDB_NOTFOUND)
        status = uf_store_mdb_error(err, rc, path, "cannot scan records");
    return status;
}

/*
 * Format 2 records, read once by the run that upgrades such a store: keys
 * up to 494 bytes (source + '\0' + key) were stored as is, longer ones as
 * their first 494 bytes + the 16-byte XXH3-128 of the rest (511 bytes in
 * all) with the full key after the golden id in the value. Hashing breaks
 * byte order only among hashed keys sharing their whole prefix, so the scan
 * re-sorts exactly those runs and callers see (source, key) order.
 */
#define V2_RECORD_KEY_MAX 511
#define V2_RECORD_HASH_LEN 16

typedef struct record_entry {
    uf_slice source, key;
    uint64_t id;
    bool hashed;
} record_entry;

static bool decode_record(const MDB_val *k, const MDB_val *v, record_entry *e)
{
    const char *p = k->mv_data;
    const char *nul = memchr(p, '\0', k->mv_size);
    if (!nul || nul == p || v->mv_size < 8)
        return false;
    e->source = uf_slice_make(p, (size_t)(nul - p));
    e->id = uf_be64_get(v->mv_data);
    e->hashed = k->mv_size == V2_RECORD_KEY_MAX;
    if (e->hashed)
        e->key = uf_slice_make((const char *)v->mv_data + 8, v->mv_size - 8);
    else if (v->mv_size == 8)
        e->key = uf_slice_make(nul + 1, k->mv_size - e->source.len - 1);
    else
        return false;
    return e->id != 0;
}

static int compare_entry_key(const void *a, const void *b)
{
    const record_entry *x = a, *y = b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = n ? memcmp(x->key.ptr, y->key.ptr, n) : 0;
    if (c)
        return c;
    return x->key.len < y->key.len ? -1 : x->key.len > y->key.len;
}

int uf_store_scan_records_v2(MDB_cursor *cursor,
                             int (*fn)(void *ctx, uf_slice source, uf_slice key, uint64_t golden_id),
                             void *ctx, bool *stopped, const char *path, uf_error *err)
{
    const size_t shared = V2_RECORD_KEY_MAX - V2_RECORD_HASH_LEN;
    record_entry *group = NULL;
    size_t group_cap = 0;
    int status = UF_OK;
    *stopped = false;
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    while (rc == MDB_SUCCESS) {
        record_entry e;
        if (!decode_record(&k, &v, &e)) {
            status = uf_error_set(err, UF_ERR_STORE, "STORE: %s: malformed entry in \"records\" (corrupt store?)", path);
            break;
        }
        if (!e.hashed) {
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
            int r = fn(ctx, e.source, e.key, e.id);
            if (r) {
                *stopped = true;
                status = r;
                break;
            }
            continue;
        }
        /* A run of hashed keys with one prefix: sort by the original key. */
        const void *prefix = k.mv_data;
        size_t count = 0;
        for (;;) {
            if (count == group_cap) {
                size_t cap = group_cap ? group_cap * 2 : 8;
                record_entry *g = realloc(group, cap * sizeof *g);
                if (!g) {
                    free(group);
                    return uf_error_set(err, UF_ERR_NOMEM, "STORE: out of memory scanning records");
                }
                group = g;
                group_cap = cap;
            }
            group[count++] = e;
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
            if (rc != MDB_SUCCESS || k.mv_size != V2_RECORD_KEY_MAX || memcmp(k.mv_data, prefix, shared) != 0)
                break;
            if (!decode_record(&k, &v, &e)) {
                free(group);
                return uf_error_set(err, UF_ERR_STORE, "STORE: %s: malformed entry in \"records\" (corrupt store?)",
                                    path);
            }
        }
        if (count > 1)
            qsort(group, count, sizeof *group, compare_entry_key);
        for (size_t i = 0; i < count && !*stopped; i++) {
            int r = fn(ctx, group[i].source, group[i].key, group[i].id);
            if (r) {
                *stopped = true;
                status = r;
            }
        }
        if (*stopped)
            break;
    }
    free(group);
    if (status == UF_OK && rc != MDB_NOTFOUND)
        status = uf_store_mdb_error(err, rc, path, "cannot scan records");
    return status;
}

/* ------------------------------------------------------------------ */
/* Golden id text                                                      */
/* ------------------------------------------------------------------ */

void uf_golden_id_format(uint64_t id, char out[24])
{
    snprintf(out, 24, "G%09" PRIu64, id);
}

int uf_golden_id_parse(const char *text, uint64_t *id)
{
    if (!text || !id)
        return UF_ERR_INVALID;
    const char *p = text;
    if (*p == 'G' || *p == 'g')
        p++;
    if (*p == '\0')
        return UF_ERR_INVALID;
    uint64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return UF_ERR_INVALID;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return UF_ERR_INVALID;
        v = v * 10 + d;
    }
    if (v == 0)
        return UF_ERR_INVALID; /* ids start at 1 */
    *id = v;
    return UF_OK;
}
