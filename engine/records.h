/*
 * records.h — the source records of one run, as every later stage sees them.
 *
 * Records are dense integer ids (uf_record_id) into a table of fixed-size
 * rows (uf_record). Each row points at a *blob*: the record's key,
 * normalized attributes (with their raw text where it differs) and
 * pass-through context, serialized into one contiguous run of bytes inside
 * an arena. One blob per record instead of one allocation per value keeps a
 * million-customer run at a few hundred bytes per record and no per-value
 * malloc/free.
 *
 * Record ids are assigned in a canonical order — sorted by (source name,
 * record key) — so every later stage, and its output, is independent of file
 * order and thread scheduling, and the store's (source, key) table can be
 * written and merge-joined in id order.
 *
 * Blob layout (all lengths one byte unless noted; values are at most 255
 * bytes, longer context values are cut at a UTF-8 boundary):
 *   u8  key_len, key bytes
 *   u8  attr_count, then per attribute:
 *       u8 kind | raw form << 6, u8 value_len, value bytes, and for raw form
 *       UF_RAW_STORED only: u8 raw_len, raw bytes (raw_len 0: equals value).
 *       The raw forms spare the raw text when it is the value itself or a
 *       plain transform of it ("emma" shown as "Emma" or "EMMA"): about a
 *       fifth of the blob bytes at 1 M customers. Kinds are < 64.
 *   u8  context_count, then per context value:
 *       u8 context index (into the source's context columns), u8 len, bytes
 */
#ifndef UF_RECORDS_H
#define UF_RECORDS_H

#include "common.h"
#include "keys.h"

typedef uint32_t uf_record_id;

#define UF_RECORD_NONE UINT32_MAX

/* Compact comparison fields, precomputed for guards and blocking. 0 = missing. */
typedef struct uf_record_compare {
    uint64_t first_name;  /* XXH3-64 of the nickname-canonical normalized first name */
    uint64_t last_name;   /* XXH3-64 of the normalized last name */
    uint32_t dob;         /* YYYYMMDD */
} uf_record_compare;

/*
 * 24 bytes: what the stages after linking read (survivorship, the record
 * index). The comparison fields live in a separate array of the table
 * (uf_record_table.cmp) so they can be freed once linking is done, and the
 * file line (needed only to order repeated keys while ingesting) is not kept.
 */
typedef struct uf_record {
    const unsigned char *blob;
    int64_t updated_at;   /* Unix seconds, 0 when unknown */
    uint32_t blob_len;
    uint16_t source;      /* index into config->sources */
    uint16_t file;        /* index into that source's paths */
} uf_record;

/* How an attribute's raw text is kept (the top two bits of its kind byte). */
enum {
    UF_RAW_SAME = 0,   /* the raw text is the normalized value */
    UF_RAW_STORED = 1, /* stored after the value */
    UF_RAW_TITLE = 2,  /* uf_title_case(value) */
    UF_RAW_UPPER = 3   /* value with ASCII a-z upper-cased */
};

/* Upper-case ASCII letters that start a word (after a space or '-'), in place. */
void uf_title_case(char *s, size_t len);

/*
 * One attribute as read back from a blob. value points into the blob; raw
 * points into the blob or, when the blob keeps it as a transform of the
 * value, into the cursor: valid until the next uf_attr_next on that cursor.
 */
typedef struct uf_attr_view {
    int kind;       /* index into config->kinds */
    uf_slice value; /* normalized */
    uf_slice raw;   /* as in the export (trimmed); equals value when not stored */
} uf_attr_view;

typedef struct uf_context_view {
    int index;      /* index into the source's context columns */
    uf_slice value;
} uf_context_view;

/* The record key (slice into the blob). */
uf_slice uf_record_key(const uf_record *record);

/* Iterate attributes: start with uf_attr_cursor_init, call uf_attr_next until false. */
typedef struct uf_attr_cursor {
    const unsigned char *pos;
    const unsigned char *end;
    unsigned remaining;
    char raw[255];  /* a raw text rebuilt from its value */
} uf_attr_cursor;

void uf_attr_cursor_init(uf_attr_cursor *cursor, const uf_record *record);
bool uf_attr_next(uf_attr_cursor *cursor, uf_attr_view *out);
/* The same for readers of normalized values only: no raw text is rebuilt. */
bool uf_attr_next_value(uf_attr_cursor *cursor, int *kind, uf_slice *value);

/* Iterate context values the same way. */
void uf_context_cursor_init(uf_attr_cursor *cursor, const uf_record *record);
bool uf_context_next(uf_attr_cursor *cursor, uf_context_view *out);

/*
 * An identifier occurrence: the key of (kind, value) held by a record. A run
 * collects these for every identifier attribute that normalized cleanly and
 * is not blocklisted; sorting them by key puts every record sharing an
 * identifier next to each other.
 */
typedef struct uf_identifier_ref {
    uf_key key;
    uf_record_id record;
    uint16_t kind;
} uf_identifier_ref;

/* The record table of one run. */
typedef struct uf_record_table {
    uf_record *records;
    size_t count;
    uf_identifier_ref *identifiers;   /* sorted by (key, record) once built */
    size_t identifier_count;
    uf_record_compare *cmp;           /* per record, read by the link guards; NULL
                                         (all missing) once a run has linked */
} uf_record_table;

/*
 * Blob builder: the reader threads serialize one record at a time into a
 * caller-provided buffer of UF_BLOB_MAX bytes, then copy the finished blob
 * into their arena. Values longer than 255 bytes are cut (at a UTF-8 boundary).
 */
#define UF_BLOB_MAX 8192

typedef struct uf_blob_builder {
    unsigned char buf[UF_BLOB_MAX];
    size_t len;
    size_t attr_count_at;     /* offset of the attribute count byte */
    size_t context_count_at;  /* offset of the context count byte, 0 before contexts */
    bool overflow;            /* a value did not fit: the record is still valid but cut */
} uf_blob_builder;

/* Start a blob with the record key. Attributes, then contexts, follow. */
void uf_blob_begin(uf_blob_builder *b, uf_slice key);
/* Add an attribute; `raw` may equal `value` (then it is not stored twice). */
void uf_blob_add_attr(uf_blob_builder *b, int kind, uf_slice value, uf_slice raw);
/* Add a context value (after all attributes). */
void uf_blob_add_context(uf_blob_builder *b, int index, uf_slice value);
/* Finish; returns the blob length. */
size_t uf_blob_finish(uf_blob_builder *b);

#endif /* UF_RECORDS_H */
