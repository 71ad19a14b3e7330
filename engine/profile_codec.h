/*
 * profile_codec.h — golden records as compact, versioned binary in the
 * store, rendered to the (unchanged) profile JSON of survive.h on read.
 *
 * Why. Profile JSON spells every member name ("sources", "last_seen", ...),
 * every source name and every timestamp as 22 bytes of text; at ~2 KB a
 * profile LMDB fit two per 4 KiB page and put a fifth of them in overflow
 * pages, and the write stage was dominated by copying those pages. The
 * binary form keeps only the data: names become indices into a *schema*
 * (stored once per generation, meta key "schema"), numbers are varints,
 * times are deltas from the profile's own updated_at, and the JSON is
 * produced only when someone reads a profile (a few hundred ns).
 *
 * Primitives:
 *   varint   unsigned LEB128 (7 bits per byte, low first, high bit = more),
 *            at most 10 bytes, no overlong padding beyond 64 bits;
 *   string   varint length + bytes (any bytes: escaping happens on render);
 *   set      a bit set as one LEB128 number of any length: bit i of the set
 *            is bit i%7 of byte i/7 (≤ 7 sources: one byte);
 *   time     varint: 0 = unknown (or outside years 0000..9999, which JSON
 *            omits too), else zigzag(base - t) + 1, where base is the
 *            profile's updated_at (0 when unknown).
 *
 * Schema (UF_PROFILE_SCHEMA_VERSION 1), the names the renderer needs:
 *   u8 version; varint kind_count (≤ 256); per kind: u8 flags (bit 0:
 *   identifier kind), string name; varint n + n × u8 kind: "attributes"
 *   order; varint n + n × u8 kind: "identifiers" order (identifier kinds
 *   only); varint source_count (≤ UF_PROFILE_MAX_SOURCES); per source:
 *   string name, varint column count (≤ 256), the column names as strings.
 *
 * Profile (UF_PROFILE_CODEC_VERSION 1):
 *   u8 version
 *   varint updated_at   0 unknown, else zigzag(t) + 1 (the base of times)
 *   set channels        sources with a member
 *   kind blocks, ascending kind, each: varint kind + 1, varint n (candidates
 *       in total), then min(n, cap) candidates in output order (survivor
 *       first); cap = UF_PROFILE_MAX_IDENTIFIERS for identifier kinds, else
 *       UF_PROFILE_MAX_ALTERNATIVES. A candidate: varint (display length << 1
 *       | has_normalized), display bytes, [string normalized] (only when it
 *       differs from the display spelling; identifier kinds only), set
 *       sources, varint count, time last_seen.
 *   varint 0            end of kind blocks
 *   varint records      members in total, then min(records,
 *       UF_PROFILE_MAX_RECORDS) × {varint source, string key, time}
 *   context blocks, ascending source, each: varint source + 1, time
 *       updated_at, set columns present, one string per present column in
 *       column order
 *   varint 0            end (and nothing after it)
 * The golden id is not stored: it is the LMDB key, and the renderer is given
 * its text.
 *
 * Rendering gives exactly the bytes uf_survive_profile documents (survive.h);
 * uf_survive_profile is itself encode + render, so the survive tests check
 * the round trip. Decoding checks every length and index against the data
 * and the schema: truncated, corrupt or foreign bytes give UF_ERR_STORE with
 * a message, never a read outside the value.
 *
 * Threads: a parsed schema is immutable and may be shared by any number of
 * threads; rendering uses only the caller's buffer.
 */
#ifndef UF_PROFILE_CODEC_H
#define UF_PROFILE_CODEC_H

#include "common.h"
#include "json_out.h"

#define UF_PROFILE_CODEC_VERSION 1
#define UF_PROFILE_SCHEMA_VERSION 1

/* Caps: part of the format (how many candidates a block holds). */
#define UF_PROFILE_MAX_RECORDS 1000
#define UF_PROFILE_MAX_ALTERNATIVES 50
#define UF_PROFILE_MAX_IDENTIFIERS 100

#define UF_PROFILE_MAX_KINDS 256
#define UF_PROFILE_MAX_COLUMNS 256
#define UF_PROFILE_MAX_SOURCES 4096

#define UF_PROFILE_KIND_IDENTIFIER 0x1u

/* ------------------------------------------------------------------ */
/* Schema                                                              */
/* ------------------------------------------------------------------ */

/* What a schema is built from (names are NUL-terminated; NULL reads as ""). */
typedef struct uf_profile_schema_desc {
    size_t kind_count;
    const char *const *kind_names;
    const unsigned char *kind_flags;       /* UF_PROFILE_KIND_* */
    size_t attribute_count;
    const unsigned *attribute_kinds;       /* "attributes" section order */
    size_t identifier_count;
    const unsigned *identifier_kinds;      /* "identifiers" section order */
    size_t source_count;
    const char *const *source_names;
    const size_t *column_counts;           /* per source */
    const char *const *const *column_names; /* per source, column_counts[i] names */
} uf_profile_schema_desc;

/* Append the stored schema bytes of `d` to `out`. UF_ERR_INVALID when over a limit, UF_ERR_NOMEM. */
int uf_profile_schema_encode(const uf_profile_schema_desc *d, uf_buf *out, uf_error *err);

typedef struct uf_profile_schema uf_profile_schema;

/* Parse stored schema bytes (copied). UF_ERR_STORE when malformed, UF_ERR_NOMEM. */
int uf_profile_schema_parse(const void *data, size_t len, uf_profile_schema **out, uf_error *err);

/* True when `data` is byte for byte the text `s` was parsed from. */
bool uf_profile_schema_same(const uf_profile_schema *s, const void *data, size_t len);

void uf_profile_schema_free(uf_profile_schema *s);

/* Kind k's name as stored ({NULL, 0} when k is not in the schema); valid while s lives. */
uf_slice uf_profile_schema_kind_name(const uf_profile_schema *s, size_t k);

/* ------------------------------------------------------------------ */
/* Encoding (survive.c writes profiles with these, in format order)    */
/* ------------------------------------------------------------------ */

typedef struct uf_profile_writer {
    uf_buf *out;
    int64_t base; /* times are deltas from this */
} uf_profile_writer;

/* Unknown time, as survive ranks it; also any time outside 0000..9999 is stored as unknown. */
#define UF_PROFILE_TIME_UNKNOWN INT64_MIN

/* Bit sets are arrays of 64-bit words, bit i = word i/64, bit i%64. */
void uf_profile_begin(uf_profile_writer *w, uf_buf *out, int64_t updated_at, const uint64_t *channels,
                      size_t words);
void uf_profile_kind(uf_profile_writer *w, unsigned kind, uint64_t total);
/* `normalized` with ptr NULL: same as the display spelling. */
void uf_profile_candidate(uf_profile_writer *w, uf_slice display, uf_slice normalized, const uint64_t *sources,
                          size_t words, uint64_t count, int64_t last_seen);
void uf_profile_records(uf_profile_writer *w, uint64_t total); /* ends the kind blocks */
void uf_profile_record(uf_profile_writer *w, unsigned source, uf_slice key, int64_t updated_at);
/* A context block: `values[i]` for column i when present (bit i of present). */
void uf_profile_context(uf_profile_writer *w, unsigned source, int64_t updated_at, const uint64_t *present,
                        size_t words, const uf_slice *values);
void uf_profile_end(uf_profile_writer *w);

/* ------------------------------------------------------------------ */
/* Rendering                                                           */
/* ------------------------------------------------------------------ */

/*
 * Append the profile JSON of binary profile `data` to `out`, with golden id
 * text `golden_id` (escaped as a JSON string). On error `out` keeps its
 * length: UF_ERR_STORE (malformed or not matching the schema; the message
 * says where), UF_ERR_NOMEM.
 */
int uf_profile_render(const uf_profile_schema *schema, const void *data, size_t len, uf_slice golden_id,
                      uf_buf *out, uf_error *err);

/*
 * The member records a profile lists (its "records", at most
 * UF_PROFILE_MAX_RECORDS of them), appended to `out` as they begin a links
 * value of format 1 (run_links.h): per record, string source name, string
 * key, in the profile's order. *listed: how many were appended; *total: the
 * profile's record count (more than *listed when it was cut). UF_ERR_STORE
 * for bytes that are not a profile of this schema, UF_ERR_NOMEM; on an
 * error nothing is appended.
 */
int uf_profile_member_list(const uf_profile_schema *schema, const void *data, size_t len, uf_buf *out,
                           size_t *listed, uint64_t *total, uf_error *err);

/* "YYYY-MM-DDTHH:MM:SSZ" plus NUL. */
#define UF_ISO8601_SIZE 21

/*
 * Format Unix seconds as ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ" into `out`
 * (NUL-terminated). Pure arithmetic (proleptic Gregorian calendar, no
 * gmtime/locale/time zone). Negative times are before 1970. Returns 20, or
 * 0 (and out = "") when the year is outside 0000..9999. Note 0 formats as
 * 1970-01-01T00:00:00Z: treating 0 as "unknown" is the caller's business.
 */
size_t uf_format_iso8601(int64_t unix_seconds, char out[UF_ISO8601_SIZE]);

#endif /* UF_PROFILE_CODEC_H */
