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
    uint64_t parts;                                  /* parts the files were read in (run_read.c; a whole file is 1) */
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
 * Reading one plain export file in parts, one part per thread (run_read.c).
 * A part owns the rows that start in [begin, end). Its reader starts at
 * `begin`, or with `align` at the first line start at or after it (which is
 * a row start unless a quoted CSV field spans it: the caller checks that the
 * part starts where the previous one stopped, and reads it again from there
 * when not). It reads on past `end` to the first row starting at or after
 * it, and stops there without taking it.
 */
typedef struct uf_ingest_range {
    uint64_t begin;
    uint64_t end;        /* 0: to the end of the file */
    bool align;
} uf_ingest_range;

/* Where a part started and stopped. Lines are the part's own (1 = its first line). */
typedef struct uf_ingest_part {
    uint64_t first_row, first_line;  /* the first row the part read (== stop when it read none) */
    uint64_t stop, stop_line;        /* the first row at or after `end`, or the end of the file */
    bool *seen;                      /* JSONL: per mapped member, whether any line holds it (malloc'd) */
    size_t seen_count;
} uf_ingest_part;

/* Receives each rejected row of a part (line in the part's own numbering). */
typedef void (*uf_ingest_reject_sink)(void *ctx, uint64_t line, uf_reject_reason reason);

/*
 * Read the rows of `range` of file `file` of source `source`: like
 * uf_ingest_file, but rejected rows go to `on_reject` (the caller writes them
 * once the part's first line number is known), records carry part-relative
 * lines, stats->files and stats->bytes are left to the caller, and the JSONL
 * "member in no line" check is left to uf_ingest_check_members over all the
 * parts. Fills *part (free part->seen). Returns UF_OK or the error that
 * stopped it.
 */
int uf_ingest_range_read(const uf_config *config, size_t source, size_t file, const uf_ingest_range *range,
                         uf_ingest_reject_sink on_reject, void *reject_ctx, uf_source_stats *stats,
                         uf_ingest_sink sink, void *sink_ctx, uf_ingest_part *part, uf_error *err);

/*
 * The check uf_ingest_file makes at the end of a JSONL file, for a file read
 * in parts: `seen` is the OR of the parts' flags, `rows` their rows read.
 * UF_OK, or UF_ERR_FORMAT naming the member no line holds.
 */
int uf_ingest_check_members(const uf_config *config, size_t source, size_t file, const bool *seen,
                            size_t seen_count, uint64_t rows, uf_error *err);

/*
 * Parse an updated_at value: ISO 8601 date or date-time (with Z or a +hh:mm
 * offset), "YYYY-MM-DD HH:MM:SS", or Unix seconds. Returns false when it is
 * none of these.
 */
bool uf_parse_timestamp(uf_slice text, int64_t *unix_seconds);

#endif /* UF_INGEST_H */
