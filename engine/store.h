/*
 * store.h — the LMDB store: one environment (a folder) holding the golden
 * records of the last committed run, written as one transaction per run.
 *
 * Why LMDB and one transaction per run. A run rewrites every index from
 * scratch (a nightly batch is simpler and more robust than incremental
 * patching), and agents read the store while the batch writes. LMDB's
 * copy-on-write B-trees give exactly that: the new generation is built in
 * one write transaction next to the old one; commit flips one meta page
 * after fsync. A crash or kill -9 at any moment leaves the previous
 * generation intact, and readers (other threads, other processes) never
 * block and always see one whole generation (MVCC). The price is disk
 * space: old and new generation coexist until the commit, so the map must
 * hold both (see uf_store_writer_begin).
 *
 * Why sorted appends. Every index is written in ascending key order with
 * MDB_APPEND, which fills pages completely and skips the B-tree search:
 * measured ~6 M appends/s against ~0.6 M random puts/s. The caller sorts
 * (radix sort of fixed-size keys); the writer verifies the order and
 * refuses a violation with UF_ERR_INVALID, so a sorting bug cannot silently
 * produce a store whose lookups miss.
 *
 * Layout (format_version 3). Version 2 (identifiers as MDB_DUPSORT
 * duplicates, one LMDB entry per record) is read by the writer and
 * rewritten as version 3 by the next run, golden ids kept; readers refuse
 * it until then with UF_ERR_VERSION saying so. Version 1 stored profile
 * JSON and is refused: rerun into a fresh folder. Folder PATH holds data.mdb and lock.mdb
 * (LMDB's) and unify.lock (the writers' lock, below). Integers are stored
 * big-endian so that LMDB's default memcmp order is numeric order and
 * mdb_dump output reads naturally. Named databases:
 *
 *   meta         "format_version" → u32 BE (UF_STORE_FORMAT_VERSION = 3)
 *                "schema"         → the profile schema of this generation
 *                                   (profile_codec.h: kind, source and
 *                                   context column names), written by each
 *                                   run in its transaction
 *                "next_golden_id" → u64 BE (ids are never reused)
 *                "last_run_id"    → u64 BE
 *                "created_by"     → "unify 0.1.0" (text, written once)
 *   profiles     golden id (u64 BE) → binary profile (profile_codec.h,
 *                ~35 % of the JSON's size), rendered to JSON on read
 *   identifiers  identifier key (16 bytes, uf_key_to_bytes) → golden id,
 *                in index blocks (store_block.h: up to 32 entries per LMDB
 *                entry); a weak identifier (a household landline) may
 *                belong to several profiles: equal keys, ids ascending
 *   records      source name + '\0' + record key → golden id, in index
 *                blocks; source names are 1..UF_STORE_SOURCE_MAX bytes
 *                without NUL, record keys any length
 *   redirects    old golden id (u64 BE) → new golden id (u64 BE); cumulative
 *                (every id ever merged away), rewritten each run
 *   links        golden id (u64 BE) → why its records are together
 *                (run_links.h: the members and the spanning links with
 *                their identifier or comparison vector and weight), for
 *                every profile of two or more records; rewritten each run.
 *                Added after format 2 first shipped: a store without it
 *                is read (explain says the next run adds the reasons) and
 *                the next run creates it.
 *                meta "match_model" holds the scored-matching model the
 *                generation was linked with (fs_model.h JSON), when any.
 *   runs         run id (u64 BE) → run report JSON; the run log, kept
 *                across generations (never dropped)
 *
 * Locking. Writers exclude each other with flock(LOCK_EX|LOCK_NB) on
 * PATH/unify.lock, held for the writer's lifetime; the kernel drops it when
 * the process dies, so a killed run never leaves a stale lock. Readers
 * never touch it. LMDB itself forbids opening one environment twice in one
 * process (closing either handle drops the other's POSIX locks, and a second
 * open can reset the reader table under live readers), so both the writer
 * and uf_store_open refuse with UF_ERR_BUSY when this process already has
 * the environment open (detected through /proc/locks; best effort where
 * /proc is missing).
 *
 * Write path per run:
 *   uf_store_writer_open → scan_records / scan_redirects (previous
 *   generation, for stable ids) → begin(estimate) → put_schema → put_profile* →
 *   put_identifier* → put_record* (or put_record_blocks of a uf_record_blocks
 *   built on any thread, then more put_record) → put_redirect* (each index in
 *   ascending order; the four may be written in any order relative to each
 *   other) →
 *   commit. Any failed put makes the transaction fail as a whole: later puts
 *   and commit return the same error and nothing is committed. After
 *   MDB_MAP_FULL (uf_store_writer_map_full), abort and begin again with a
 *   larger estimate.
 *
 * Disk. Old and new generation coexist until the commit, and LMDB reuses
 * the pages freed by transaction N only after transaction N+1; begin()
 * therefore commits a one-page transaction before the run's transaction, so
 * that each run reuses the pages of the generation before last and the file
 * settles at two generations (1.75 GiB at 1 M customers) instead of three.
 *
 * Memory: no MDB_WRITEMAP, by measurement (bench/bench_store.c, 1 M
 * profiles of 638 B, 3 M identifiers, 2.7 M records, 2 cores):
 *   default   peak RSS 521-528 MiB, first run and nightly run alike: LMDB
 *             keeps dirty pages in malloc'd memory and spills them to the
 *             file beyond 2^17 pages (512 MiB), so the writer's memory is
 *             bounded near 512 MiB whatever the store size. Writing takes
 *             1.6-1.7 s on a quiet machine, commit (fsync) 0.4-0.6 s.
 *   WRITEMAP  peak RSS 883 MiB on the first run, 1.7 GiB on nightly runs
 *             (every page written, and the old generation's, is mapped into
 *             the process); first runs 2× slower (page faults into a sparse
 *             file), steady state ~20% faster; data.mdb's apparent size
 *             becomes the map size; a full disk kills the process with
 *             SIGBUS instead of returning ENOSPC.
 * Emptying a format 2 generation mapped ~190 MiB of its pages into the
 * process (its DUPSORT leaves had to be read to be freed; format 3 has no
 * DUPSORT database: nightly runs at 1 M peak at 954-995 MiB, as fresh
 * ones); begin() drops such page-table entries again
 * (store_write.c, release_map_pages). UF_STORE_WRITEMAP remains for
 * measuring.
 */
#ifndef UF_STORE_H
#define UF_STORE_H

#include "common.h"
#include "json_out.h"
#include "keys.h"

#include <lmdb.h>

#define UF_STORE_FORMAT_VERSION 3
/* The oldest format a run reads and rewrites as UF_STORE_FORMAT_VERSION. */
#define UF_STORE_FORMAT_UPGRADABLE 2
#define UF_STORE_SCHEMA_KEY "schema"
#define UF_STORE_MODEL_KEY "match_model"
#define UF_STORE_CREATED_BY "unify " UF_VERSION_STRING

#define UF_STORE_SOURCE_MAX 255
#define UF_STORE_REDIRECT_HOPS 16                          /* longest redirect chain followed */

/* Initial map size when the caller passes 0; begin() grows it as needed. */
#define UF_STORE_DEFAULT_MAP_SIZE ((size_t)64 << 20)
/* Reader slots (concurrent read transactions over all processes). */
#define UF_STORE_MAX_READERS 1024
/* Address space a reader reserves for the map, so that a growing store
 * rarely makes it remap (remapping waits for the process's open reads). */
#define UF_STORE_READER_MAP_RESERVE ((uint64_t)1 << 40)

/* Flags for uf_store_writer_open_flags. */
#define UF_STORE_WRITEMAP 0x1u /* MDB_WRITEMAP: for measurement, see the header comment */

/* The named databases. */
enum {
    UF_DB_META,
    UF_DB_PROFILES,
    UF_DB_IDENTIFIERS,
    UF_DB_RECORDS,
    UF_DB_REDIRECTS,
    UF_DB_LINKS,
    UF_DB_RUNS,
    UF_DB_COUNT
};

typedef struct uf_store_db_spec {
    const char *name;
    unsigned int flags; /* MDB_DUPSORT etc., without MDB_CREATE */
} uf_store_db_spec;

extern const uf_store_db_spec uf_store_dbs[UF_DB_COUNT];

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

typedef struct uf_store_writer uf_store_writer;

/*
 * Open (creating if needed, mode 0700/0600: profiles are personal data) the
 * store at `path` for writing, with an initial map of `map_size` bytes (0:
 * UF_STORE_DEFAULT_MAP_SIZE; an existing store keeps its larger map).
 * Errors: UF_ERR_BUSY "STORE: another unify run is writing this store" when
 * another writer (any process, or this one) holds PATH/unify.lock, or when
 * this process has the store open for reading; UF_ERR_VERSION for a store
 * of another format_version (or another LMDB data format); UF_ERR_STORE for
 * a file that is not a unify LMDB store, naming the path; UF_ERR_IO when the
 * folder or lock file cannot be created. The store is never modified here.
 */
int uf_store_writer_open(const char *path, size_t map_size, uf_store_writer **out, uf_error *err);
int uf_store_writer_open_flags(const char *path, size_t map_size, unsigned flags,
                               uf_store_writer **out, uf_error *err);

/*
 * Never grow the map beyond `bytes` (0: no limit, the default). A run that
 * needs more fails with UF_ERR_STORE saying so (store.max_map_size), and the
 * previous generation stays as it was.
 */
void uf_store_writer_set_max_map_size(uf_store_writer *w, size_t bytes);

/* next_golden_id of the committed generation (1 for a new store). */
uint64_t uf_store_writer_next_golden_id(const uf_store_writer *w);
/* Profiles in the committed generation (0 for a new store). */
uint64_t uf_store_writer_profile_count(const uf_store_writer *w);
/* Id of the last committed run (0 for a new store). */
uint64_t uf_store_writer_last_run_id(const uf_store_writer *w);

/*
 * Visit the records of the committed generation in ascending (source, key)
 * byte order (the order puts require), in one read transaction; works
 * before and during a write transaction. `source` and `key` point into the
 * map and are valid during the call only. `fn` returns 0 to go on; any
 * other value stops the scan and is returned (with a generic message in
 * `err`). A new store has no records: fn is not called.
 */
int uf_store_writer_scan_records(uf_store_writer *w,
                                 int (*fn)(void *ctx, uf_slice source, uf_slice key, uint64_t golden_id),
                                 void *ctx, uf_error *err);
/* Same for the redirects, in ascending old id order. */
int uf_store_writer_scan_redirects(uf_store_writer *w,
                                   int (*fn)(void *ctx, uint64_t old_id, uint64_t new_id),
                                   void *ctx, uf_error *err);

/*
 * Begin the run's write transaction and empty profiles, identifiers, records
 * and redirects (the run log and meta stay). `estimated_bytes` is the size
 * of the new generation (keys + values; a little over is better than
 * under): the map grows so that the space used now (old generation and free
 * pages) plus 2 × estimate fits, and at least doubles after a MAP_FULL.
 * Errors: UF_ERR_INVALID when a transaction is already open; UF_ERR_STORE.
 */
int uf_store_writer_begin(uf_store_writer *w, uint64_t estimated_bytes, uf_error *err);

/*
 * Puts, each index in strictly ascending key order (checked):
 *  - profiles by golden id;
 *  - identifiers by (key bytes, golden id); an exact repeat of the previous
 *    pair is ignored, so a sorted list need not be deduplicated;
 *  - records by (source, key) byte order: source compared first, then key
 *    (equal to memcmp order of source + '\0' + key);
 *  - redirects by old id (old ≠ new).
 * Golden ids are nonzero. Violations return UF_ERR_INVALID naming the two
 * keys; MDB_MAP_FULL returns UF_ERR_STORE and sets map_full; any failure
 * fails the transaction as a whole (later puts and commit repeat it).
 */
int uf_store_put_profile(uf_store_writer *w, uint64_t golden_id, const char *profile, size_t len, uf_error *err);
/*
 * The generation's profile schema (profile_codec.h), needed to read its
 * profiles; any time inside the transaction (begin removes the previous
 * generation's). Failures fail the transaction like a put.
 */
int uf_store_put_schema(uf_store_writer *w, const void *schema, size_t len, uf_error *err);
int uf_store_put_identifier(uf_store_writer *w, uf_key key, uint64_t golden_id, uf_error *err);
int uf_store_put_record(uf_store_writer *w, uf_slice source, uf_slice key, uint64_t golden_id, uf_error *err);
int uf_store_put_redirect(uf_store_writer *w, uint64_t old_id, uint64_t new_id, uf_error *err);

/*
 * The record index built away from the writer (a run builds it on a worker
 * while the writer writes the identifier index): uf_record_blocks_add makes
 * the checks of uf_store_put_record and its blocks, in memory, on any
 * thread; uf_store_put_record_blocks then appends them to the open
 * transaction's record index, which must still be empty (UF_ERR_INVALID
 * otherwise); later uf_store_put_record calls go on after them. The builder
 * is not tied to a writer or transaction.
 */
typedef struct uf_record_blocks uf_record_blocks;
uf_record_blocks *uf_record_blocks_new(void);
void uf_record_blocks_free(uf_record_blocks *b);
int uf_record_blocks_add(uf_record_blocks *b, uf_slice source, uf_slice key, uint64_t golden_id, uf_error *err);
int uf_store_put_record_blocks(uf_store_writer *w, uf_record_blocks *b, uf_error *err);
/* links by golden id, strictly ascending (run_links.h encodes the value). */
int uf_store_put_links(uf_store_writer *w, uint64_t golden_id, const void *links, size_t len, uf_error *err);
/* The generation's scored-matching model (meta "match_model"); like the schema, removed by begin. */
int uf_store_put_model(uf_store_writer *w, const char *json, size_t len, uf_error *err);

/*
 * Append the run log entry (run id = last run id + 1, stored in *run_id when
 * not NULL; `report_json` NULL stores "{}"), write meta and commit with
 * fsync. `next_golden_id` must be above every id put this run and not below
 * the previous next_golden_id (ids are never reused): else UF_ERR_INVALID
 * and the transaction is aborted. When an earlier put failed, the
 * transaction is aborted and its error returned. After commit or a failure
 * no transaction is open.
 */
int uf_store_writer_commit(uf_store_writer *w, uint64_t next_golden_id, const char *report_json, size_t len,
                           uint64_t *run_id, uf_error *err);

/* True after a put or commit failed with MDB_MAP_FULL, until the next begin. */
bool uf_store_writer_map_full(const uf_store_writer *w);
/* Abort the open transaction (if any); the writer stays usable. */
void uf_store_writer_abort(uf_store_writer *w);
/* Abort any open transaction, close the environment, release the lock. NULL allowed. */
void uf_store_writer_close(uf_store_writer *w);

/* ------------------------------------------------------------------ */
/* Reader internals (public reader API: include/unify.h)               */
/* ------------------------------------------------------------------ */

/*
 * uf_store_open with an explicit address-space reservation for the map
 * (0: just the store's current map size). uf_store_open reserves
 * UF_STORE_READER_MAP_RESERVE; tests pass 0 to exercise MDB_MAP_RESIZED.
 */
int uf_store_open_reserve(const char *path, uint64_t map_reserve, uf_store **out, uf_error *err);

/*
 * Read, in one snapshot, what explains golden id `golden_id` (redirects
 * followed; *resolved_id gets the id holding the profile): its links value
 * in format 1 (run_links.h; a format 2 value is expanded with the profile
 * and the schema of the same snapshot; empty for a profile of one record)
 * appended to *links, and the model
 * JSON appended to *model (empty when the generation has none).
 * *have_links is false when the store predates the links database.
 * UF_ERR_NOT_FOUND when there is no such profile.
 */
int uf_store_read_explain(uf_store *s, uint64_t golden_id, uint64_t *resolved_id, uf_buf *links, uf_buf *model,
                          bool *have_links, uf_error *err);

/* Append the generation's matching model JSON (empty when none) to *model. */
int uf_store_read_model(uf_store *s, uf_buf *model, uf_error *err);

/* ------------------------------------------------------------------ */
/* Shared helpers (store.c)                                            */
/* ------------------------------------------------------------------ */

/*
 * The stored key of (source, key) into `out`: source + '\0' + key. false
 * when the source is empty, longer than UF_STORE_SOURCE_MAX or contains a
 * NUL byte (or out of memory: out->failed).
 */
bool uf_store_record_key(uf_slice source, uf_slice key, uf_buf *out);

/*
 * Visit a records database through `cursor` (a fresh cursor of any
 * transaction) in ascending (source, key) order. Returns UF_OK, the
 * callback's nonzero value (*stopped set), or an error (UF_ERR_STORE for a
 * malformed entry, UF_ERR_NOMEM) with `err` set. _blocks reads format 3
 * (store_block.h); _v2 the records of a format 2 store, for the run that
 * upgrades it.
 */
int uf_store_scan_record_blocks(MDB_cursor *cursor,
                                int (*fn)(void *ctx, uf_slice source, uf_slice key, uint64_t golden_id),
                                void *ctx, bool *stopped, const char *path, uf_error *err);
int uf_store_scan_records_v2(MDB_cursor *cursor,
                             int (*fn)(void *ctx, uf_slice source, uf_slice key, uint64_t golden_id),
                             void *ctx, bool *stopped, const char *path, uf_error *err);

/*
 * Map an LMDB (or errno) code to a uf_status and write
 * "STORE: <what> (<path>): <mdb_strerror>" into `err`. Returns the status.
 */
int uf_store_mdb_error(uf_error *err, int mdb_rc, const char *path, const char *what);

/*
 * UF_ERR_BUSY when this process already holds LMDB's lock on
 * PATH/lock.mdb, i.e. has the environment open; UF_OK otherwise (also when
 * /proc/locks cannot be read).
 */
int uf_store_check_not_open_here(const char *path, uf_error *err);

/*
 * A truncated data.mdb must be refused before LMDB touches it: LMDB maps
 * the file and trusts its meta page, so a page past the end of a short file
 * is a SIGBUS, not an error. uf_store_check_not_truncated_before_open
 * refuses a file too short to hold the two meta pages (an empty file is a
 * store not yet written: allowed); uf_store_check_not_truncated, after
 * mdb_env_open, refuses a file shorter than the pages its newest meta page
 * says are in use. Both return UF_ERR_STORE naming the file and both
 * sizes; the file is not modified.
 */
int uf_store_check_not_truncated_before_open(const char *path, uf_error *err);
int uf_store_check_not_truncated(MDB_env *env, const char *path, uf_error *err);

/*
 * Check the meta database of an open environment in `txn`: UF_OK with the
 * values when it holds a format_version from `oldest_version` (readers:
 * UF_STORE_FORMAT_VERSION; the writer: UF_STORE_FORMAT_UPGRADABLE, which
 * it rewrites in the current format) to UF_STORE_FORMAT_VERSION; UF_ERR_NOT_FOUND when the
 * environment has no meta database and an empty main database (nothing ever
 * committed); UF_ERR_STORE when it is another LMDB environment or meta is
 * malformed; UF_ERR_VERSION for another format_version (for an upgradable
 * one, the message says that a run upgrades it). *meta_dbi is set
 * when meta exists.
 */
typedef struct uf_store_meta {
    uint32_t format_version;
    uint64_t next_golden_id;
    uint64_t last_run_id;
} uf_store_meta;

int uf_store_read_meta(MDB_txn *txn, MDB_dbi *meta_dbi, uint32_t oldest_version, uf_store_meta *meta, const char *path,
                       uf_error *err);

/*
 * The id of the last committed run (the key of the run log's last entry), read
 * without copying its report: for /healthz and /metrics of `unify serve`.
 * Errors: UF_ERR_NOT_FOUND when the run log is empty; UF_ERR_STORE.
 */
int uf_store_last_run_id(uf_store *s, uint64_t *run_id, uf_error *err);

#endif /* UF_STORE_H */
