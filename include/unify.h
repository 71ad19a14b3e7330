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

#ifdef __cplusplus
}
#endif

#endif /* UNIFY_H */
