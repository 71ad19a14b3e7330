/*
 * unify.h — the public contract of the unify identity-resolution engine.
 *
 * unify reads the exports of many customer-facing systems (CRM, web shop,
 * app, point of sale, contact centre), normalizes and hashes their
 * identifiers, links the records that belong to one person and stores one
 * golden record per customer in LMDB.
 *
 * Conventions used throughout this header:
 *  - Every public name starts with `uf_` (types and functions) or `UF_`
 *    (constants and macros).
 *  - Functions that can fail return an `int` status: `UF_OK` (0) on
 *    success, one of `uf_status` otherwise. When they take a `uf_error *`
 *    they also write a human-readable message into it (the caller owns the
 *    struct; passing NULL is allowed and drops the message).
 *  - There is no global state: every object is created by a `_open`/`_load`
 *    function and released by the matching `_close`/`_free`.
 */
#ifndef UNIFY_H
#define UNIFY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UF_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* Status codes. 0 is success; every other value names a class of failure. */
typedef enum uf_status {
    UF_OK = 0,
    UF_ERR_IO = 1,           /* a file could not be opened, read or written */
    UF_ERR_CONFIG = 2,       /* the configuration file is invalid */
    UF_ERR_FORMAT = 3,       /* an input file is malformed as a whole (not one row) */
    UF_ERR_NOMEM = 4,        /* an allocation failed */
    UF_ERR_STORE = 5,        /* the LMDB store failed or is corrupt */
    UF_ERR_NOT_FOUND = 6,    /* a lookup found nothing */
    UF_ERR_INVALID = 7,      /* an argument was invalid */
    UF_ERR_BUSY = 8,         /* another run holds the store */
    UF_ERR_VERSION = 9       /* the store was written by an incompatible version */
} uf_status;

/* A status plus a message naming file, line and reason. Owned by the caller. */
typedef struct uf_error {
    int code;
    char message[1024];
} uf_error;

/* Short, static description of a status code (never NULL). */
const char *uf_strerror(int code);

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

/* A loaded, validated configuration (sources, mappings, rules). Opaque. */
typedef struct uf_config uf_config;

/*
 * Load and validate the YAML configuration at `path`.
 * On success stores a new config in *out (free it with uf_config_free) and
 * returns UF_OK. On failure returns UF_ERR_IO or UF_ERR_CONFIG and the
 * message names the file, line and column and what was expected.
 * Relative paths inside the file are resolved against the file's folder.
 */
int uf_config_load(const char *path, uf_config **out, uf_error *err);

/* Release a configuration. NULL is allowed. */
void uf_config_free(uf_config *config);

/* The store folder the configuration names, resolved against its folder (owned by config). */
const char *uf_config_store_path(const uf_config *config);

/* ------------------------------------------------------------------ */
/* Dry run: `unify check`                                              */
/* ------------------------------------------------------------------ */

/*
 * Read every source of `config` without writing the store and print, per
 * source, rows read, rows rejected by reason, identifiers by kind and a few
 * normalized samples to `out`. Bad rows are listed in the rejects file named
 * by the configuration. Returns UF_OK when every source could be read
 * (rejected rows do not count as failure), or the error of the first file
 * that could not be read.
 */
int uf_check(const uf_config *config, FILE *out, uf_error *err);

/* ------------------------------------------------------------------ */
/* The nightly run: `unify run`                                        */
/* ------------------------------------------------------------------ */

typedef struct uf_run_options {
    const char *report_path;  /* also write the report as JSON to this file (NULL: don't) */
    FILE *log;                /* human-readable report goes here (NULL: nowhere) */
    int progress;             /* non-zero: print a line as each stage ends (for terminals) */
} uf_run_options;

typedef struct uf_run_summary {
    uint64_t run_id;          /* id of the run in the store's run log */
    uint64_t records;         /* source records read */
    uint64_t profiles;        /* golden records written */
    double seconds;           /* wall time of the whole run */
} uf_run_summary;

/*
 * Read every source of `config`, normalize, link, cluster and write one
 * golden record per customer into the store, in ONE write transaction: on
 * any failure (a bad file, a full disk, a crash or kill at any moment) the
 * previous generation stays intact and readable. Golden ids are stable
 * across runs (see README). Readers of the store are never blocked.
 * Returns UF_OK and fills *summary (may be NULL); UF_ERR_BUSY when another
 * run holds the store; otherwise the error of the failing stage, with a
 * message naming the file, line and reason where there is one.
 */
int uf_run(const uf_config *config, const uf_run_options *options, uf_run_summary *summary, uf_error *err);

/* ------------------------------------------------------------------ */
/* Store (reading)                                                     */
/* ------------------------------------------------------------------ */

/*
 * The store is one LMDB environment (a folder) holding the last committed
 * run: golden id → profile (stored compact, returned as JSON), identifier key → golden ids,
 * (source, record key) → golden id, old golden id → new golden id, and the
 * run log (layout: README, "Store layout").
 *
 * Snapshots. Every call below runs in its own short read-only transaction,
 * so it sees one whole generation (never half a run) and never waits for a
 * writer: a run may commit at any time, and the next call sees the new
 * generation. A scan sees one generation from its first entry to its last.
 *
 * Threads and processes. A uf_store may be used by any number of threads at
 * once. Open a store once per process and share it: LMDB forbids two
 * handles on one environment in one process, so a second uf_store_open of
 * the same folder in one process (or one while this process's writer has
 * it open) fails with UF_ERR_BUSY. Readers never take the writers' lock.
 *
 * Memory. Functions that return text allocate it with malloc; the caller
 * releases it with free(). Pointers passed to scan callbacks point into the
 * store's map and are valid during the call only.
 */
typedef struct uf_store uf_store;

/*
 * Open the store in folder `path` for reading (usable while a run writes).
 * On success stores a new handle in *out (release it with uf_store_close).
 * Errors:
 *  - UF_ERR_NOT_FOUND "STORE: no store here (run `unify run` first)" when
 *    the folder does not exist or no run has committed yet;
 *  - UF_ERR_VERSION when the store has another format version (a store of
 *    the previous format says so: the next `unify run` upgrades it, keeping
 *    its golden ids);
 *  - UF_ERR_STORE when the folder holds something that is not a unify
 *    store, or a corrupt one (the message names the path);
 *  - UF_ERR_BUSY when this process already has the store open;
 *  - UF_ERR_IO when the folder cannot be read (permissions).
 */
int uf_store_open(const char *path, uf_store **out, uf_error *err);

/* Release a store handle. NULL is allowed. No call may be running on it. */
void uf_store_close(uf_store *store);

/*
 * The profile of golden id `golden_id` as JSON text, following redirects
 * left by merges (at most 16 hops). On success *json is a malloc'd,
 * NUL-terminated copy (caller frees), *len its length without the NUL (len
 * may be NULL) and *resolved_id the id whose profile it is (may be NULL;
 * differs from golden_id after a merge).
 * Errors: UF_ERR_NOT_FOUND when no profile or redirect has that id;
 * UF_ERR_STORE for a redirect chain longer than 16 hops or a corrupt
 * store; UF_ERR_NOMEM.
 */
int uf_store_profile_json(uf_store *s, uint64_t golden_id, char **json, size_t *len, uint64_t *resolved_id,
                          uf_error *err);

/*
 * All golden ids holding identifier key `key` (16 bytes: the identifier's
 * 128-bit key, big-endian), in ascending order. Writes at most `cap` ids to
 * `ids` and the total number held to *count (greater than cap: the list was
 * cut). A weak identifier (a household phone) may belong to several ids.
 * Errors: UF_ERR_NOT_FOUND (and *count = 0) when no profile holds the key;
 * UF_ERR_STORE.
 */
int uf_store_find_identifier(uf_store *s, const unsigned char key[16], uint64_t *ids, size_t cap, size_t *count,
                             uf_error *err);

/*
 * The golden id holding source record `key` of source `source` (both
 * NUL-terminated, as in the configuration and the export).
 * Errors: UF_ERR_NOT_FOUND; UF_ERR_INVALID for an empty or over-long
 * (> 255 bytes) source name; UF_ERR_STORE.
 */
int uf_store_find_record(uf_store *s, const char *source, const char *key, uint64_t *golden_id, uf_error *err);

/*
 * The last committed run: its id and its report JSON (malloc'd,
 * NUL-terminated, caller frees; len may be NULL).
 * Errors: UF_ERR_NOT_FOUND when the run log is empty; UF_ERR_STORE.
 */
int uf_store_last_run(uf_store *s, uint64_t *run_id, char **report_json, size_t *len, uf_error *err);

/*
 * Call fn for every profile in ascending golden id order, all from one
 * snapshot. `json` is NOT NUL-terminated and valid during the call only.
 * fn returns 0 to go on; any other value stops the scan and is returned.
 * fn must not call functions on the same store (the scan holds its
 * snapshot; a nested call could wait for a map resize forever).
 * Errors: UF_ERR_STORE.
 */
int uf_store_scan_profiles(uf_store *s, int (*fn)(void *ctx, uint64_t golden_id, const char *json, size_t len),
                           void *ctx, uf_error *err);

/*
 * Call fn for every (source, record key) → golden id, in ascending
 * (source, key) byte order, from one snapshot. The strings are NOT
 * NUL-terminated and valid during the call only. Return values and the
 * nesting rule as for uf_store_scan_profiles.
 */
int uf_store_scan_records(uf_store *s,
                          int (*fn)(void *ctx, const char *source, size_t source_len, const char *key,
                                    size_t key_len, uint64_t golden_id),
                          void *ctx, uf_error *err);

/* Output of the explain functions. */
typedef enum uf_explain_format {
    UF_EXPLAIN_TEXT = 0, /* for people: one line per link, comparisons indented */
    UF_EXPLAIN_JSON = 1  /* one JSON object (documented in the README, "unify explain") */
} uf_explain_format;

/*
 * Why the records of golden id `golden_id` (redirects followed) are one
 * profile, from the store alone: its records and the links the run made
 * between them — the identifier two records share (strong, or weak with
 * names and dates agreeing), or for a scored link each field's comparison
 * level and weight under the run's model, the prior, the name-frequency
 * adjustment, the total weight and the match probability. *out is a
 * malloc'd NUL-terminated text (caller frees; len may be NULL).
 * Errors: UF_ERR_NOT_FOUND, UF_ERR_STORE, UF_ERR_NOMEM.
 */
int uf_store_explain(uf_store *s, uint64_t golden_id, uf_explain_format format, char **out, size_t *len,
                     uf_error *err);

/*
 * Why two source records are, or are not, in one profile. Together: the
 * chain of links between them, from the store. Apart: both records are
 * read again from the exports named by `config` (as they are now) and
 * judged: identifiers they share and why each linked nothing, the blocking
 * rules that pair them, their comparisons, weight and probability under the
 * stored model against the threshold, and the disagreement guard.
 * Errors: UF_ERR_NOT_FOUND (a record is in neither the store nor, when
 * needed, the exports), UF_ERR_INVALID (unknown source), UF_ERR_IO and
 * UF_ERR_FORMAT (an export cannot be read), UF_ERR_STORE, UF_ERR_NOMEM.
 */
int uf_explain_records(const uf_config *config, uf_store *s, const char *source_a, const char *key_a,
                       const char *source_b, const char *key_b, uf_explain_format format, char **out, size_t *len,
                       uf_error *err);

/*
 * Golden ids as text: "G" and at least 9 digits, zero-padded (G000000042).
 * `out` receives at most 22 bytes including the NUL.
 */
void uf_golden_id_format(uint64_t id, char out[24]);

/*
 * Parse "G000000042" (also "g42" or "42") into *id. Returns UF_OK, or
 * UF_ERR_INVALID for anything else (empty, non-digits, overflow, zero).
 */
int uf_golden_id_parse(const char *text, uint64_t *id);

/* ------------------------------------------------------------------ */
/* Lookup by what an agent holds                                       */
/* ------------------------------------------------------------------ */

/*
 * The 16-byte key of identifier `value` of kind `kind` ("email", "phone" or
 * a namespace of `config` such as "crm_id"), normalized exactly as a run
 * normalizes exports (phones with defaults.country), so "(555) 123-4567"
 * finds +15551234567. Errors: UF_ERR_INVALID when the kind is unknown or not
 * an identifier kind, or the value does not normalize (the message says why:
 * empty, invalid, junk).
 */
int uf_identifier_key_for(const uf_config *config, const char *kind, const char *value, unsigned char key[16],
                          uf_error *err);

/*
 * Golden ids holding identifier `value` of kind `kind`: uf_identifier_key_for
 * then uf_store_find_identifier (same errors, same cap/count contract).
 */
int uf_lookup_identifier(uf_store *store, const uf_config *config, const char *kind, const char *value,
                         uint64_t *ids, size_t cap, size_t *count, uf_error *err);

/* ------------------------------------------------------------------ */
/* HTTP service: `unify serve`                                         */
/* ------------------------------------------------------------------ */

/*
 * The lookup API over HTTP (libmicrohttpd), answering from `store` with
 * `config`'s normalizers. Routes, JSON bodies and error codes are
 * documented in engine/serve_openapi.yaml and the README ("Agent service").
 */
typedef struct uf_server uf_server;

typedef struct uf_server_options {
    const char *listen;        /* "HOST:PORT" or "[IPV6]:PORT"; NULL: "127.0.0.1:8080"; port 0: any free port */
    const char *token;         /* bearer token every route but /healthz needs; NULL or "": none */
    unsigned threads;          /* worker threads answering requests (0: 2) */
    unsigned timeout_seconds;  /* each request head must arrive within this of the connection being accepted
                                  or answered, and idle connections close after it (0: 10) */
} uf_server_options;

/*
 * Listen and answer on background threads until uf_server_stop. `store`
 * and `config` are borrowed and must outlive the server; the store is
 * shared by every request thread (it is thread-safe).
 * Errors: UF_ERR_INVALID for a bad listen address; UF_ERR_IO when the
 * address cannot be bound (in use, not local); UF_ERR_NOMEM.
 */
int uf_server_start(uf_store *store, const uf_config *config, const uf_server_options *options, uf_server **out,
                    uf_error *err);

/* The port the server listens on (the chosen one when asked for port 0). */
unsigned uf_server_port(const uf_server *server);

/* Stop listening, finish the requests in flight and release the server. NULL is allowed. */
void uf_server_stop(uf_server *server);

/* ------------------------------------------------------------------ */
/* Export and evaluation                                               */
/* ------------------------------------------------------------------ */

/* Write `source,record_key,golden_id` (CSV with header, RFC 4180 quoting) for every record. */
int uf_export_members(uf_store *store, FILE *out, uf_error *err);

/* Write every golden record as one JSON object per line. */
int uf_export_profiles(uf_store *store, FILE *out, uf_error *err);

/*
 * Write the scored-matching model the stored generation was linked with
 * (JSON: lambda, and m and u per field and level), the file that
 * `matching: {parameters: FILE}` reads to fix the parameters of later runs.
 * UF_ERR_NOT_FOUND when the run that wrote the store did not score.
 */
int uf_export_model(uf_store *store, FILE *out, uf_error *err);

typedef struct uf_eval_result {
    double precision, recall, f1;      /* pairwise */
    uint64_t correct_pairs;            /* record pairs together in the store and in the truth */
    uint64_t predicted_pairs;          /* record pairs together in the store */
    uint64_t true_pairs;               /* record pairs together in the truth */
    uint64_t records_scored;           /* records in both the store and the truth */
    uint64_t records_without_truth;    /* in the store, not in the truth */
    uint64_t truth_not_stored;         /* in the truth, not in the store (rejected rows, ...) */
    uint64_t clusters, true_clusters;  /* among scored records */
    uint64_t largest_cluster;          /* records */
} uf_eval_result;

/*
 * Score the stored clustering against a truth file `source,record_key,
 * customer_id` (CSV with header): pairwise precision, recall and F1, cluster
 * counts, the largest cluster; when `out` is not NULL also print the report
 * with the worst over-merges (profiles holding most customers) and
 * under-merges (customers spread over most profiles).
 */
int uf_eval(uf_store *store, const char *truth_path, FILE *out, uf_eval_result *result, uf_error *err);

#ifdef __cplusplus
}
#endif

#endif /* UNIFY_H */
