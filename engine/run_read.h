/*
 * run_read.h — the reading half of the ingest stage (run_read.c): every
 * export file, big plain ones in parts, read on the run's threads into
 * chunks, one per part; run_ingest.c joins the chunks into the canonical
 * record table.
 */
#ifndef UF_RUN_READ_H
#define UF_RUN_READ_H

#include "run.h"

/* A rejected row, kept until its part's first line number is known. */
typedef struct uf_held_reject {
    uint64_t line;
    uf_reject_reason reason;
} uf_held_reject;

/* One part of one file (a whole file unless it is read in parts), as read. */
typedef struct uf_chunk {
    size_t source, file;
    uint64_t cost;                 /* estimated bytes to parse, for scheduling */
    uf_ingest_range range;         /* whole file: 0, 0, false */
    size_t part, parts;            /* which part of its file, of how many */
    uf_ingest_part where;          /* where the part started and stopped */
    uf_held_reject *rejects;
    size_t reject_count, reject_cap;
    bool reject_oom;
    uf_arena *arena;
    uf_record *records;
    uf_record_compare *cmp;        /* per record */
    uint64_t *lines;               /* per record: its line, to order repeated keys */
    size_t count, cap;
    uf_identifier_ref *refs;       /* .record is the index within this chunk */
    size_t ref_count, ref_cap;
    uf_source_stats stats;
} uf_chunk;

/*
 * Read every source file into *chunks (*count of them, in source, file,
 * part order), write the rejects file, and create state->arenas (one per
 * chunk). On failure nothing is left to free but the state.
 */
int uf_run_read_all(uf_run_state *state, uf_chunk **chunks, size_t *count, uf_error *err);

/* Free what the chunks hold (not the arenas: the state owns them) and the array. */
void uf_run_chunks_free(uf_chunk *chunks, size_t n);

#endif /* UF_RUN_READ_H */
