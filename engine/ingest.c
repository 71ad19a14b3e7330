/*
 * ingest.c — rows of one export file to normalized records (see ingest.h).
 *
 * Both formats are reduced to one shape before any attribute work: a vector
 * of *slots* (record key, updated_at, each mapped field, each context column)
 * filled per row. CSV fills slots by column index, resolved once from the
 * header (a mapped column absent from the header is a bad file); JSONL fills
 * them by member name per line (a mapped field that occurs in no line of the
 * file is reported as a bad file at the end). From there on the code does not
 * know which format it read.
 */
#include "ingest.h"

#include "csv.h"
#include "fsutil.h"
#include "jsonl.h"
#include "normalize.h"
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <xxhash.h>

/* ---- counters and the rejects file ---------------------------------- */

uint64_t uf_source_stats_rejected_total(const uf_source_stats *stats)
{
    uint64_t total = 0;
    for (int r = 0; r < UF_REJECT_REASON_COUNT; r++)
        total += stats->rejected[r];
    return total;
}

void uf_source_stats_add(uf_source_stats *into, const uf_source_stats *from)
{
    /* Every member is a uint64_t counter, so the struct adds as an array. */
    uint64_t *dst = (uint64_t *)into;
    const uint64_t *src = (const uint64_t *)from;
    for (size_t i = 0; i < sizeof *into / sizeof(uint64_t); i++)
        dst[i] += src[i];
}

int uf_rejects_open(uf_rejects *rejects, const char *path, uf_error *err)
{
    rejects->file = NULL;
    rejects->written = 0;
    pthread_mutex_init(&rejects->lock, NULL);
    if (!path)
        return UF_OK;
    int rc = uf_mkdir_parent(path, err);
    if (rc != UF_OK) {
        pthread_mutex_destroy(&rejects->lock);
        return rc;
    }
    rejects->file = fopen(path, "w");
    if (!rejects->file) {
        pthread_mutex_destroy(&rejects->lock);
        return uf_error_set(err, UF_ERR_IO, "%s: cannot open rejects file: %s", path, strerror(errno));
    }
    return UF_OK;
}

void uf_rejects_write(uf_rejects *rejects, const char *file, uint64_t line, const char *reason)
{
    pthread_mutex_lock(&rejects->lock);
    if (rejects->file)
        fprintf(rejects->file, "%s:%llu: %s\n", file, (unsigned long long)line, reason);
    rejects->written++;
    pthread_mutex_unlock(&rejects->lock);
}

int uf_rejects_close(uf_rejects *rejects, uf_error *err)
{
    int rc = UF_OK;
    if (rejects->file && fclose(rejects->file) != 0)
        rc = uf_error_set(err, UF_ERR_IO, "cannot write rejects file: %s", strerror(errno));
    rejects->file = NULL;
    pthread_mutex_destroy(&rejects->lock);
    return rc;
}

/* ---- timestamps ------------------------------------------------------ */

/* ASCII classes of the C locale, inline: <ctype.h> costs a call and a table
 * per byte, and every value of every row is trimmed. */
static inline bool is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10;
}

static inline bool is_space(unsigned char c)
{
    return c == ' ' || (unsigned)(c - '\t') < 5; /* \t \n \v \f \r */
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool read_digits(const char **p, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || !is_digit((unsigned char)**p))
            return false;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return true;
}

/*
 * The shape nearly every export writes, "YYYY-MM-DDTHH:MM:SSZ", read at
 * fixed offsets: false for anything else, which the general reader below
 * then takes (same result for this shape). One call a row: the general
 * reader's scanning was ~1.7 % of a run's instructions.
 */
static bool parse_iso_utc(const char *p, size_t n, int64_t *unix_seconds)
{
    static const unsigned char digit_at[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    if (n != 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':' || p[19] != 'Z')
        return false;
    unsigned d[sizeof digit_at];
    unsigned not_digit = 0;
#pragma GCC unroll 14
    for (size_t i = 0; i < sizeof digit_at; i++) {
        d[i] = (unsigned)((unsigned char)p[digit_at[i]] - '0');
        not_digit |= d[i] > 9;
    }
    if (not_digit)
        return false;
    unsigned y = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3], mo = d[4] * 10 + d[5], day = d[6] * 10 + d[7];
    unsigned h = d[8] * 10 + d[9], mi = d[10] * 10 + d[11], s = d[12] * 10 + d[13];
    if (mo < 1 || mo > 12 || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60)
        return false;
    *unix_seconds = days_from_civil(y, mo, day) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

bool uf_parse_timestamp(uf_slice text, int64_t *unix_seconds)
{
    if (parse_iso_utc(text.ptr, text.len, unix_seconds))
        return true;
    const char *p = text.ptr, *end = text.ptr + text.len;
    while (p < end && is_space((unsigned char)*p)) p++;
    while (end > p && is_space((unsigned char)end[-1])) end--;
    if (p == end)
        return false;

    /* All digits: Unix seconds (or milliseconds when implausibly large). */
    const char *q = p;
    while (q < end && is_digit((unsigned char)*q)) q++;
    if (q == end && end - p >= 9 && end - p <= 13) {
        int64_t v = 0;
        for (q = p; q < end; q++)
            v = v * 10 + (*q - '0');
        *unix_seconds = end - p >= 12 ? v / 1000 : v;
        return true;
    }

    int y, mo, d, h = 0, mi = 0, s = 0;
    if (!read_digits(&p, end, 4, &y) || p >= end || (*p != '-' && *p != '/'))
        return false;
    p++;
    if (!read_digits(&p, end, 2, &mo) || p >= end || (*p != '-' && *p != '/'))
        return false;
    p++;
    if (!read_digits(&p, end, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return false;
    int64_t offset = 0;
    if (p < end && (*p == 'T' || *p == ' ')) {
        p++;
        if (!read_digits(&p, end, 2, &h) || p >= end || *p != ':')
            return false;
        p++;
        if (!read_digits(&p, end, 2, &mi))
            return false;
        if (p < end && *p == ':') {
            p++;
            if (!read_digits(&p, end, 2, &s))
                return false;
        }
        if (p < end && *p == '.') { /* fractional seconds are ignored */
            p++;
            while (p < end && is_digit((unsigned char)*p)) p++;
        }
        if (h > 23 || mi > 59 || s > 60)
            return false;
        if (p < end && (*p == 'Z' || *p == 'z')) {
            p++;
        } else if (p < end && (*p == '+' || *p == '-')) {
            int sign = *p == '-' ? -1 : 1, oh, om = 0;
            p++;
            if (!read_digits(&p, end, 2, &oh))
                return false;
            if (p < end && *p == ':') p++;
            if (p < end && !read_digits(&p, end, 2, &om))
                return false;
            offset = sign * (oh * 3600 + om * 60);
        }
    }
    if (p != end)
        return false;
    *unix_seconds = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s - offset;
    return true;
}

/* ---- the slot plan ---------------------------------------------------- */

enum { SLOT_KEY = 0, SLOT_UPDATED_AT = 1, SLOT_FIRST_FIELD = 2 };

typedef struct slot_plan {
    size_t count;        /* 2 + fields + contexts */
    const char **names;  /* column/member name per slot (NULL: slot unused) */
    size_t *name_len;    /* their lengths, so JSONL member matching needs no strlen */
    int *column;         /* CSV: header index per slot, -1 when unused */
    bool *seen;          /* JSONL: slot filled by at least one line */
    uf_slice *values;    /* per row */
    bool *present;       /* per row */
} slot_plan;

static void plan_free(slot_plan *plan)
{
    free(plan->names);
    free(plan->name_len);
    free(plan->column);
    free(plan->seen);
    free(plan->values);
    free(plan->present);
}

static int plan_init(slot_plan *plan, const uf_source_config *src, uf_error *err)
{
    plan->count = SLOT_FIRST_FIELD + src->field_count + src->context_count;
    plan->names = calloc(plan->count, sizeof *plan->names);
    plan->name_len = calloc(plan->count, sizeof *plan->name_len);
    plan->column = malloc(plan->count * sizeof *plan->column);
    plan->seen = calloc(plan->count, sizeof *plan->seen);
    plan->values = calloc(plan->count, sizeof *plan->values);
    plan->present = calloc(plan->count, sizeof *plan->present);
    if (!plan->names || !plan->name_len || !plan->column || !plan->seen || !plan->values || !plan->present) {
        plan_free(plan);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
    }
    plan->names[SLOT_KEY] = src->key_column;
    plan->names[SLOT_UPDATED_AT] = src->updated_at_column;
    for (size_t i = 0; i < src->field_count; i++)
        plan->names[SLOT_FIRST_FIELD + i] = src->fields[i].column;
    for (size_t i = 0; i < src->context_count; i++)
        plan->names[SLOT_FIRST_FIELD + src->field_count + i] = src->context_columns[i];
    for (size_t i = 0; i < plan->count; i++) {
        plan->column[i] = -1;
        plan->name_len[i] = plan->names[i] ? strlen(plan->names[i]) : 0;
    }
    return UF_OK;
}

static const char *slot_role(const uf_source_config *src, size_t slot)
{
    if (slot == SLOT_KEY) return "record-key column";
    if (slot == SLOT_UPDATED_AT) return "updated_at column";
    if (slot < SLOT_FIRST_FIELD + src->field_count) return "mapped column";
    return "context column";
}

/* CSV: resolve every slot against the header once. */
static int plan_bind_header(slot_plan *plan, const uf_source_config *src, const char *path,
                            const uf_slice *header, size_t header_count, uf_error *err)
{
    for (size_t slot = 0; slot < plan->count; slot++) {
        if (!plan->names[slot])
            continue;
        for (size_t c = 0; c < header_count; c++) {
            uf_slice h = header[c];
            /* Header cells are compared trimmed: exports often pad them. */
            while (h.len && (h.ptr[0] == ' ' || h.ptr[0] == '\t')) { h.ptr++; h.len--; }
            while (h.len && (h.ptr[h.len - 1] == ' ' || h.ptr[h.len - 1] == '\t')) h.len--;
            if (uf_slice_equals(h, plan->names[slot])) {
                plan->column[slot] = (int)c;
                break;
            }
        }
        if (plan->column[slot] < 0)
            return uf_error_set(err, UF_ERR_FORMAT,
                                "%s: %s '%s' of source '%s' is not in the header (the file has %zu columns)",
                                path, slot_role(src, slot), plan->names[slot], src->name, header_count);
    }
    return UF_OK;
}

/* ---- one row to one record ------------------------------------------ */

typedef struct row_builder {
    uf_blob_builder blob;
    uf_key keys[64];
    uint16_t key_kinds[64];
    size_t key_count;
    uf_record_compare cmp;
} row_builder;

static uf_slice trim(uf_slice s)
{
    /* Most values start and end with a byte above ' ', which no space is. */
    if (s.len == 0 || ((unsigned char)s.ptr[0] > ' ' && (unsigned char)s.ptr[s.len - 1] > ' '))
        return s;
    while (s.len && is_space((unsigned char)s.ptr[0])) { s.ptr++; s.len--; }
    while (s.len && is_space((unsigned char)s.ptr[s.len - 1])) s.len--;
    return s;
}

static uint64_t name_hash(const char *s, size_t len, bool first_name)
{
    if (len == 0)
        return 0;
    if (first_name) {
        const char *canonical = uf_nickname_canonical(s, len);
        if (canonical) {
            s = canonical;
            len = strlen(canonical);
        }
    }
    uint64_t h = XXH3_64bits(s, len);
    return h ? h : 1;
}

/* "1965-11-04" -> 19651104 (the normalizer guarantees the shape). */
static uint32_t dob_number(uf_slice iso)
{
    uint32_t v = 0;
    for (size_t i = 0; i < iso.len; i++)
        if (iso.ptr[i] >= '0' && iso.ptr[i] <= '9')
            v = v * 10 + (uint32_t)(iso.ptr[i] - '0');
    return v;
}

static void add_value(row_builder *row, const uf_config *config, int kind, uf_slice value, uf_slice raw)
{
    uf_blob_add_attr(&row->blob, kind, value, raw);
    const uf_kind_config *k = &config->kinds[kind];
    if (k->is_identifier && row->key_count < UF_ARRAY_LEN(row->keys)) {
        row->keys[row->key_count] = uf_identifier_key(uf_slice_make(k->name, k->name_len), value);
        row->key_kinds[row->key_count] = (uint16_t)kind;
        row->key_count++;
    }
    if (kind == UF_KIND_FIRST_NAME && !row->cmp.first_name)
        row->cmp.first_name = name_hash(value.ptr, value.len, true);
    else if (kind == UF_KIND_LAST_NAME && !row->cmp.last_name)
        row->cmp.last_name = name_hash(value.ptr, value.len, false);
    else if (kind == UF_KIND_DOB && !row->cmp.dob && value.len == 10)
        row->cmp.dob = dob_number(value);
}

static bool is_junk(const uf_config *config, int kind, const char *value, size_t len)
{
    return config->blocklist && uf_blocklist_contains(config->blocklist, kind, value, len);
}

/* Normalize one mapped value and add what survives to the row. */
static void add_field(row_builder *row, const uf_config *config, const uf_source_config *src,
                      int kind, uf_slice raw, uf_source_stats *stats)
{
    char out[UF_NORM_MAX], last[UF_NORM_MAX];
    size_t out_len = 0, last_len = 0;
    uf_norm_status st;

    raw = trim(raw);
    if (raw.len == 0)
        return;
    if (kind == UF_KIND_FULL_NAME)
        st = uf_normalize_full_name(raw, out, &out_len, last, &last_len);
    else
        st = uf_normalize_kind(config, kind, src->country, src->date_order, raw, out, &out_len);
    if (st == UF_NORM_EMPTY)
        return;
    if (st == UF_NORM_OK && kind != UF_KIND_FULL_NAME && is_junk(config, kind, out, out_len))
        st = UF_NORM_JUNK;
    if (st == UF_NORM_JUNK) {
        stats->junk[kind]++;
        return;
    }
    if (st != UF_NORM_OK) {
        stats->invalid[kind]++;
        return;
    }
    stats->values[kind]++;
    if (kind != UF_KIND_FULL_NAME) {
        /* Canonical forms (E.164, ISO dates, codes) are what agents should see; free text keeps its spelling. */
        bool keep_raw = kind == UF_KIND_EMAIL || kind == UF_KIND_FIRST_NAME || kind == UF_KIND_LAST_NAME ||
                        kind == UF_KIND_ADDRESS || kind == UF_KIND_CITY;
        add_value(row, config, kind, uf_slice_make(out, out_len), keep_raw ? raw : uf_slice_make(out, out_len));
        return;
    }
    /* A full name becomes first and last name; their display text is title-cased. */
    char display[UF_NORM_MAX];
    if (out_len && !is_junk(config, UF_KIND_FIRST_NAME, out, out_len)) {
        memcpy(display, out, out_len);
        uf_title_case(display, out_len);
        add_value(row, config, UF_KIND_FIRST_NAME, uf_slice_make(out, out_len), uf_slice_make(display, out_len));
    }
    if (last_len && !is_junk(config, UF_KIND_LAST_NAME, last, last_len)) {
        memcpy(display, last, last_len);
        uf_title_case(display, last_len);
        add_value(row, config, UF_KIND_LAST_NAME, uf_slice_make(last, last_len), uf_slice_make(display, last_len));
    }
}

typedef struct ingest_ctx {
    const uf_config *config;
    size_t source, file;
    const uf_source_config *src;
    const char *path;
    uf_rejects *rejects;
    uf_ingest_reject_sink on_reject;  /* instead of `rejects` when reading a part */
    void *reject_ctx;
    uf_source_stats *stats;
    uf_ingest_sink sink;
    void *sink_ctx;
    slot_plan plan;
    row_builder row;
    const uf_ingest_range *range;     /* NULL: the whole file */
    uf_ingest_part *part;             /* where the range started and stopped */
} ingest_ctx;

static void reject(ingest_ctx *c, uint64_t line, uf_reject_reason reason)
{
    c->stats->rejected[reason]++;
    if (c->on_reject)
        c->on_reject(c->reject_ctx, line, reason);
    else
        uf_rejects_write(c->rejects, c->path, line, uf_reject_reason_name(reason));
}

/*
 * Part bookkeeping for a row starting at `offset` on `line`: false when it
 * is at or past the range's end (the part stops there, without the row).
 */
static bool row_in_range(ingest_ctx *c, uint64_t offset, uint64_t line)
{
    uf_ingest_part *p = c->part;
    if (p->first_row == UINT64_MAX) {
        p->first_row = offset;
        p->first_line = line;
    }
    if (c->range && c->range->end && offset >= c->range->end) {
        p->stop = offset;
        p->stop_line = line;
        return false;
    }
    return true;
}

/* The part read to the end of the file: it stops there (and starts there when it read no row). */
static void part_at_end(ingest_ctx *c, uint64_t offset, uint64_t line)
{
    row_in_range(c, offset, line);
    c->part->stop = offset;
    c->part->stop_line = line;
}

/* The slots of the current row are filled: build the record and hand it over. */
static int emit_row(ingest_ctx *c, uint64_t line, uf_error *err)
{
    slot_plan *plan = &c->plan;
    row_builder *row = &c->row;
    uf_slice key = plan->present[SLOT_KEY] ? trim(plan->values[SLOT_KEY]) : uf_slice_make(NULL, 0);
    if (key.len == 0) {
        reject(c, line, UF_REJECT_MISSING_KEY);
        return UF_OK;
    }
    int64_t updated_at = 0;
    if (plan->present[SLOT_UPDATED_AT] && trim(plan->values[SLOT_UPDATED_AT]).len &&
        !uf_parse_timestamp(plan->values[SLOT_UPDATED_AT], &updated_at)) {
        c->stats->bad_timestamps++;
        updated_at = 0;
    }

    uf_blob_begin(&row->blob, key);
    row->key_count = 0;
    memset(&row->cmp, 0, sizeof row->cmp);
    for (size_t i = 0; i < c->src->field_count; i++) {
        size_t slot = SLOT_FIRST_FIELD + i;
        if (plan->present[slot])
            add_field(row, c->config, c->src, c->src->fields[i].kind, plan->values[slot], c->stats);
    }
    for (size_t i = 0; i < c->src->context_count; i++) {
        size_t slot = SLOT_FIRST_FIELD + c->src->field_count + i;
        uf_slice v = plan->present[slot] ? trim(plan->values[slot]) : uf_slice_make(NULL, 0);
        if (v.len)
            uf_blob_add_context(&row->blob, (int)i, v);
    }
    size_t blob_len = uf_blob_finish(&row->blob);
    if (row->blob.overflow)
        c->stats->cut_records++;
    c->stats->records++;

    uf_ingest_record rec = {
        .blob = row->blob.buf, .blob_len = blob_len,
        .source = (uint16_t)c->source, .file = (uint16_t)c->file, .line = line,
        .updated_at = updated_at, .cmp = row->cmp,
        .keys = row->keys, .key_kinds = row->key_kinds, .key_count = row->key_count,
    };
    return c->sink(c->sink_ctx, &rec, err);
}

static int ingest_csv(ingest_ctx *c, uf_stream *stream, uf_error *err)
{
    uf_csv_reader *reader = uf_csv_open(stream, c->src->delimiter, err);
    if (!reader)
        return err ? err->code : UF_ERR_FORMAT;
    size_t header_count;
    const uf_slice *header = uf_csv_header(reader, &header_count);
    int rc = plan_bind_header(&c->plan, c->src, c->path, header, header_count, err);
    if (rc == UF_OK && c->range && (c->range->begin > 0 || c->range->align))
        rc = uf_csv_restart(reader, c->range->begin, c->range->align, err);
    uf_csv_row row;
    while (rc == UF_OK) {
        int got = uf_csv_next(reader, &row, err);
        if (got == UF_CSV_END) {
            uint64_t offset, line;
            uf_csv_position(reader, &offset, &line);
            part_at_end(c, offset, line);
            break;
        }
        if (got == UF_CSV_ERROR) {
            rc = err ? err->code : UF_ERR_IO;
            break;
        }
        if (!row_in_range(c, row.offset, row.line))
            break;
        c->stats->rows_read++;
        if (row.reject != UF_REJECT_NONE) {
            reject(c, row.line, row.reject);
            continue;
        }
        for (size_t slot = 0; slot < c->plan.count; slot++) {
            int col = c->plan.column[slot];
            c->plan.present[slot] = col >= 0;
            if (col >= 0)
                c->plan.values[slot] = row.fields[col];
        }
        rc = emit_row(c, row.line, err);
    }
    uf_csv_close(reader);
    return rc;
}

/*
 * The slots a JSONL member fills, found by its name. Lines of one export
 * nearly always list their members in the same order, so the answer for
 * the member at each position is remembered with its name and reused while
 * the name there stays the same: comparing every member with every slot
 * name was ~2.7 % of a run's instructions.
 */
#define MEMBER_NAME_MAX 48
#define MEMBER_POSITIONS 64

typedef struct member_slots {
    unsigned count;       /* slots this name fills (one column may feed several) */
    uint16_t slot[8];
    unsigned name_len;    /* 0: nothing remembered at this position */
    char name[MEMBER_NAME_MAX];
} member_slots;

typedef struct member_memo {
    member_slots at[MEMBER_POSITIONS];
    member_slots scratch; /* the answer for a position or name too long to remember */
} member_memo;

static bool name_is(const slot_plan *plan, size_t slot, uf_slice name)
{
    return plan->names[slot] && plan->name_len[slot] == name.len && memcmp(name.ptr, plan->names[slot], name.len) == 0;
}

/* Member m of the line fills `slot`. */
static void fill_slot(slot_plan *plan, size_t slot, const uf_jsonl_record *rec, size_t m, size_t context_start)
{
    plan->seen[slot] = true;
    /* null is missing; nested values count only as context text. */
    if (rec->types[m] != UF_JSON_NULL && (rec->types[m] != UF_JSON_NESTED || slot >= context_start)) {
        plan->present[slot] = true;
        plan->values[slot] = rec->values[m];
    }
}

/*
 * NULL when the name fills more slots than an entry holds: the caller then
 * looks at every slot. (Today a name fills at most four — key, updated_at,
 * one field, one context column — as the configuration refuses a column
 * listed twice; the fallback keeps this true if that ever changes.)
 */
static const member_slots *slots_of_member(const slot_plan *plan, member_memo *memo, size_t position,
                                           uf_slice name)
{
    member_slots *ms = position < MEMBER_POSITIONS ? &memo->at[position] : &memo->scratch;
    if (ms->name_len && ms->name_len == name.len && memcmp(ms->name, name.ptr, name.len) == 0)
        return ms;
    ms->count = 0;
    ms->name_len = 0;
    for (size_t slot = 0; slot < plan->count; slot++) {
        if (!name_is(plan, slot, name))
            continue;
        if (ms->count == UF_ARRAY_LEN(ms->slot) || slot > UINT16_MAX) {
            ms->count = 0;
            return NULL;
        }
        ms->slot[ms->count++] = (uint16_t)slot;
    }
    if (ms != &memo->scratch && name.len > 0 && name.len <= MEMBER_NAME_MAX) {
        memcpy(ms->name, name.ptr, name.len);
        ms->name_len = (unsigned)name.len;
    }
    return ms;
}

static int ingest_jsonl(ingest_ctx *c, uf_stream *stream, uf_error *err)
{
    uf_jsonl_reader *reader = uf_jsonl_open(stream, err);
    if (!reader)
        return err ? err->code : UF_ERR_FORMAT;
    int rc = UF_OK;
    uf_jsonl_record rec;
    member_memo members;
    memset(&members, 0, sizeof members);
    size_t context_start = SLOT_FIRST_FIELD + c->src->field_count;
    if (c->range && (c->range->begin > 0 || c->range->align))
        rc = uf_jsonl_restart(reader, c->range->begin, c->range->align, err);
    while (rc == UF_OK) {
        int got = uf_jsonl_next(reader, &rec, err);
        if (got == UF_JSONL_END) {
            uint64_t offset, line;
            uf_jsonl_position(reader, &offset, &line);
            part_at_end(c, offset, line);
            break;
        }
        if (got == UF_JSONL_ERROR) {
            rc = err ? err->code : UF_ERR_IO;
            break;
        }
        if (!row_in_range(c, rec.offset, rec.line))
            break;
        c->stats->rows_read++;
        if (rec.reject != UF_REJECT_NONE) {
            reject(c, rec.line, rec.reject);
            continue;
        }
        memset(c->plan.present, 0, c->plan.count * sizeof *c->plan.present);
        for (size_t m = 0; m < rec.count; m++) {
            const member_slots *ms = slots_of_member(&c->plan, &members, m, rec.keys[m]);
            if (ms) {
                for (unsigned i = 0; i < ms->count; i++)
                    fill_slot(&c->plan, ms->slot[i], &rec, m, context_start);
                continue;
            }
            for (size_t slot = 0; slot < c->plan.count; slot++)
                if (name_is(&c->plan, slot, rec.keys[m]))
                    fill_slot(&c->plan, slot, &rec, m, context_start);
        }
        rc = emit_row(c, rec.line, err);
    }
    uf_jsonl_close(reader);
    return rc;
}

/* A mapped member that no line contains is almost surely a typo in the mapping. */
static int check_members(const slot_plan *plan, const uf_source_config *src, const char *path, const bool *seen,
                         uint64_t rows, uf_error *err)
{
    if (rows == 0)
        return UF_OK;
    size_t context_start = SLOT_FIRST_FIELD + src->field_count;
    for (size_t slot = 0; slot < plan->count && slot < context_start; slot++) {
        if (plan->names[slot] && !seen[slot] && slot != SLOT_UPDATED_AT)
            return uf_error_set(err, UF_ERR_FORMAT, "%s: %s '%s' of source '%s' occurs in no line of the file",
                                path, slot_role(src, slot), plan->names[slot], src->name);
    }
    return UF_OK;
}

/* Read `range` (NULL: the whole file) with the context's sink and reject handling; fills c->part. */
static int ingest_range(ingest_ctx *c, uf_error *err)
{
    int rc = plan_init(&c->plan, c->src, err);
    if (rc != UF_OK)
        return rc;
    c->part->first_row = UINT64_MAX;
    uf_stream *stream = uf_stream_open(c->path, err);
    if (!stream) {
        rc = err ? err->code : UF_ERR_IO;
    } else {
        if (!c->range)
            c->stats->files++;
        rc = c->src->format == UF_FORMAT_CSV ? ingest_csv(c, stream, err) : ingest_jsonl(c, stream, err);
        if (!c->range)
            c->stats->bytes += uf_stream_bytes_consumed(stream);
        uf_stream_close(stream);
    }
    if (rc == UF_OK && c->src->format == UF_FORMAT_JSONL) {
        /* Hand the flags over: the plan is freed below. */
        c->part->seen = c->plan.seen;
        c->part->seen_count = c->plan.count;
        c->plan.seen = NULL;
    }
    plan_free(&c->plan);
    return rc;
}

/* Read `range` (NULL: the whole file) of one file; rejects go to `on_reject`, or to `rejects` when it is NULL. */
static int ingest_with(const uf_config *config, size_t source, size_t file, const uf_ingest_range *range,
                       uf_rejects *rejects, uf_ingest_reject_sink on_reject, void *reject_ctx,
                       uf_source_stats *stats, uf_ingest_sink sink, void *sink_ctx, uf_ingest_part *part,
                       uf_error *err)
{
    ingest_ctx *c = calloc(1, sizeof *c); /* holds an 8 KiB row builder: kept off the stack */
    if (!c)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
    c->config = config;
    c->source = source;
    c->file = file;
    c->src = &config->sources[source];
    c->path = c->src->paths[file];
    c->rejects = rejects;
    c->on_reject = on_reject;
    c->reject_ctx = reject_ctx;
    c->stats = stats;
    c->sink = sink;
    c->sink_ctx = sink_ctx;
    c->range = range;
    c->part = part;
    int rc = ingest_range(c, err);
    free(c);
    return rc;
}

int uf_ingest_range_read(const uf_config *config, size_t source, size_t file, const uf_ingest_range *range,
                         uf_ingest_reject_sink on_reject, void *reject_ctx, uf_source_stats *stats,
                         uf_ingest_sink sink, void *sink_ctx, uf_ingest_part *part, uf_error *err)
{
    memset(part, 0, sizeof *part);
    return ingest_with(config, source, file, range, NULL, on_reject, reject_ctx, stats, sink, sink_ctx, part, err);
}

int uf_ingest_check_members(const uf_config *config, size_t source, size_t file, const bool *seen,
                            size_t seen_count, uint64_t rows, uf_error *err)
{
    const uf_source_config *src = &config->sources[source];
    if (src->format != UF_FORMAT_JSONL)
        return UF_OK;
    slot_plan plan = {0};
    int rc = plan_init(&plan, src, err);
    if (rc == UF_OK && seen_count != plan.count)
        rc = uf_error_set(err, UF_ERR_INVALID, "%s: member flags for %zu slots, the mapping has %zu",
                          src->paths[file], seen_count, plan.count);
    if (rc == UF_OK)
        rc = check_members(&plan, src, src->paths[file], seen, rows, err);
    plan_free(&plan);
    return rc;
}

int uf_ingest_file(const uf_config *config, size_t source, size_t file, uf_rejects *rejects,
                   uf_source_stats *stats, uf_ingest_sink sink, void *sink_ctx, uf_error *err)
{
    uf_ingest_part part = {0};
    uint64_t rows_before = stats->rows_read;
    int rc = ingest_with(config, source, file, NULL, rejects, NULL, NULL, stats, sink, sink_ctx, &part, err);
    if (rc == UF_OK && part.seen)
        rc = uf_ingest_check_members(config, source, file, part.seen, part.seen_count,
                                     stats->rows_read - rows_before, err);
    free(part.seen);
    return rc;
}
