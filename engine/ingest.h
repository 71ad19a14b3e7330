/*
 * ingest.h — one export file in, normalized records out.
 *
 * This is the glue between the readers (csv.h, jsonl.h), the configuration's
 * mapping and the normalizers: for every row it resolves the mapped columns,
 * normalizes each value by its attribute kind, drops junk (pattern or
 * blocklist), hashes identifiers into keys and hands one finished record to a
 * sink. Bad rows go to the rejects file as `file:line: reason` and are
 * counted; a bad *file* (missing, unreadable, corrupt gzip, mapped column
 * absent) is an error that stops the caller before anything is stored.
 *
 * It holds no global state: two threads may ingest two files at once, each
 * with its own uf_source_stats, sharing one uf_rejects.
 */
#ifndef UF_INGEST_H
#define UF_INGEST_H

#include "config.h"
#include "records.h"
#include "reject.h"

#include <pthread.h>
#include <stdio.h>

/* Counters of one source (summed over its files). */
typedef struct uf_source_stats {
    uint64_t files;
    uint64_t bytes;                                  /* bytes consumed from the files */
    uint64_t rows_read;                              /* data rows, good and rejected */
    uint64_t records;                                /* rows that became records */
    uint64_t rejected[UF_REJECT_REASON_COUNT];       /* rejected rows by reason */
    uint64_t values[UF_MAX_KINDS];                   /* values that normalized cleanly */
    uint64_t invalid[UF_MAX_KINDS];                  /* values that failed to normalize */
    uint64_t junk[UF_MAX_KINDS];                     /* placeholders and blocklisted values */
    uint64_t bad_timestamps;                         /* updated_at present but unreadable */
    uint64_t cut_records;                            /* records whose values were cut to fit */
} uf_source_stats;

uint64_t uf_source_stats_rejected_total(const uf_source_stats *stats);
void uf_source_stats_add(uf_source_stats *into, const uf_source_stats *from);

/* The rejects file, shared by all ingesting threads. */
typedef struct uf_rejects {
    FILE *file;               /* NULL: rejects are only counted */
    pthread_mutex_t lock;
    uint64_t written;
} uf_rejects;

/* Open (truncate) the rejects file at `path`; NULL path counts only. */
int uf_rejects_open(uf_rejects *rejects, const char *path, uf_error *err);
void uf_rejects_write(uf_rejects *rejects, const char *file, uint64_t line, const char *reason);
int uf_rejects_close(uf_rejects *rejects, uf_error *err);

/* One finished record as handed to a sink; everything is borrowed for the call. */
typedef struct uf_ingest_record {
    const unsigned char *blob;
    size_t blob_len;
    uint16_t source;
    uint16_t file;
    uint64_t line;
    int64_t updated_at;
    uf_record_compare cmp;
    const uf_key *keys;        /* identifier keys of the record */
    const uint16_t *key_kinds; /* their kinds */
    size_t key_count;
} uf_ingest_record;

/* Receives each record; return UF_OK to continue or an error code to stop. */
typedef int (*uf_ingest_sink)(void *ctx, const uf_ingest_record *record, uf_error *err);

/*
 * Read file `file` of source `source` of `config`, handing every good record
 * to `sink`. Counts into *stats. Returns UF_OK, or the error that stopped it
 * (the file could not be read, a mapped column is absent, or the sink failed).
 */
int uf_ingest_file(const uf_config *config, size_t source, size_t file, uf_rejects *rejects,
                   uf_source_stats *stats, uf_ingest_sink sink, void *sink_ctx, uf_error *err);

/*
 * Parse an updated_at value: ISO 8601 date or date-time (with Z or a +hh:mm
 * offset), "YYYY-MM-DD HH:MM:SS", or Unix seconds. Returns false when it is
 * none of these.
 */
bool uf_parse_timestamp(uf_slice text, int64_t *unix_seconds);

#endif /* UF_INGEST_H */
