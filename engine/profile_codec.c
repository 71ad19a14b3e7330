/*
 * profile_codec.c — golden records as compact binary and their JSON
 * rendering (format and reasons in profile_codec.h).
 *
 * Trade-offs worth knowing:
 *  - Rendering is the read path of every lookup, so it is written like the
 *    JSON writer it replaced: names are escaped once per schema, output goes
 *    through plain stores after one capacity check per item, plain ASCII is
 *    copied eight bytes per step. The escaper is byte for byte
 *    uf_json_string's (RFC 8259, \u00XX for control characters, U+FFFD for
 *    each invalid UTF-8 byte); a survive test compares the two.
 *  - The decoder never trusts the value: every read is bounds-checked by a
 *    cursor that turns "bad" instead of reading past the end, and indices
 *    are checked against the schema, so a corrupt store gives an error.
 *  - A first pass over the kind blocks validates them and notes where each
 *    starts, because the JSON shows them in section order (attributes, then
 *    identifiers), not in stored (kind) order.
 */
#include "profile_codec.h"

#include "varint.h"

#include <stdlib.h>

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: four-digit years only. */
#define SV_ISO_MIN INT64_C(-62167219200)
#define SV_ISO_MAX INT64_C(253402300799)

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

size_t uf_format_iso8601(int64_t t, char out[UF_ISO8601_SIZE])
{
    if (t < SV_ISO_MIN || t > SV_ISO_MAX) {
        out[0] = '\0';
        return 0;
    }
    /* Floor division, so times before 1970 land on the previous day. */
    int64_t days = t / 86400;
    int64_t secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    /* civil_from_days: eras of 400 years (146097 days) starting 0000-03-01,
       so the leap day is the last day of a "year" and months need no table. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                           /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                     /* [0, 11], March = 0 */
    unsigned day = doy - (153 * mp + 2) / 5 + 1;
    unsigned month = mp < 10 ? mp + 3 : mp - 9;
    unsigned year = (unsigned)((int64_t)yoe + era * 400 + (month <= 2));
    unsigned s = (unsigned)secs;

    put2(out, year / 100);
    put2(out + 2, year % 100);
    out[4] = '-';
    put2(out + 5, month);
    out[7] = '-';
    put2(out + 8, day);
    out[10] = 'T';
    put2(out + 11, s / 3600);
    out[13] = ':';
    put2(out + 14, s / 60 % 60);
    out[16] = ':';
    put2(out + 17, s % 60);
    out[19] = 'Z';
    out[20] = '\0';
    return 20;
}

/* ------------------------------------------------------------------ */
/* JSON writing primitives                                             */
/* ------------------------------------------------------------------ */

/* An escaped name, pointing into the schema's `names`. */
typedef struct pc_text {
    const char *ptr;
    size_t len;
    size_t off; /* into the schema's names, until ptr is resolved */
} pc_text;

#define PUT_LIT(w, lit) (memcpy((w), (lit), sizeof(lit) - 1), (w) += sizeof(lit) - 1)

/*
 * Copy a short run (names, times, UTF-8 sequences) without a library call:
 * two overlapping fixed-size moves cover every length in a size class.
 */
static inline char *put_mem(char *w, const void *src, size_t n)
{
    const char *p = src;
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
        memcpy(w, &a, 8);
        memcpy(w + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        memcpy(w, &a, 4);
        memcpy(w + n - 4, &b, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++)
            w[i] = p[i];
    } else {
        memcpy(w, p, n);
    }
    return w + n;
}

static inline char *put_text(char *w, pc_text t)
{
    return put_mem(w, t.ptr, t.len);
}

static char *put_u64(char *w, uint64_t v)
{
    if (v < 10) {
        *w++ = (char)('0' + v);
        return w;
    }
    char tmp[20];
    size_t n = 0;
    do {
        tmp[sizeof tmp - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return put_mem(w, tmp + sizeof tmp - n, n);
}

/* Length of the valid UTF-8 sequence at p (2..4), or 0: as json_out.c. */
static size_t utf8_sequence(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    size_t n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
    else return 0;
    if (left < n)
        return 0;
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/*
 * True when one of the 8 bytes of x needs more than a copy: a control
 * character, '"', '\\' or a non-ASCII byte. Word-at-a-time tests: (v - 0x01..)
 * & ~v has a high bit set iff some byte of v is zero, (x - 0x20..) iff some
 * byte is below 0x20 (borrows only spread upward from a real hit), and x
 * itself for bytes >= 0x80.
 */
static inline bool needs_escape8(uint64_t x)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
    uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
    uint64_t t = (x - ones * 0x20) | x | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash);
    return (t & high) != 0;
}

static inline bool needs_escape4(uint32_t x)
{
    const uint32_t ones = 0x01010101u, high = 0x80808080u;
    uint32_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
    uint32_t t = (x - ones * 0x20) | x | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash);
    return (t & high) != 0;
}

/* 1 for bytes copied as they are into a JSON string: printable ASCII but '"' and '\\'. */
#define PC_R16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const unsigned char pc_plain[256] = {
    PC_R16(0), PC_R16(0),                                   /* 0x00-0x1f: control */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         /* 0x20-0x2f: '"' */
    PC_R16(1), PC_R16(1),                                   /* 0x30-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,         /* 0x50-0x5f: '\\' */
    PC_R16(1), PC_R16(1),                                   /* 0x60-0x7f */
    PC_R16(0), PC_R16(0), PC_R16(0), PC_R16(0),             /* 0x80-0xff: UTF-8 */
    PC_R16(0), PC_R16(0), PC_R16(0), PC_R16(0),
};
#undef PC_R16

/* A JSON string literal; at most 2 + 6 * s.len bytes. Same bytes as uf_json_string. */
static char *put_string(char *w, uf_slice s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0, n = s.len;
    *w++ = '"';
    if (n >= 4 && n <= 8) {
        /* Short and plain (most names, postcodes, ids): two overlapping words. */
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        if (!needs_escape4(a) && !needs_escape4(b)) {
            memcpy(w, &a, 4);
            memcpy(w + n - 4, &b, 4);
            w += n;
            *w++ = '"';
            return w;
        }
    }
    while (i < n) {
        /* Plain ASCII is most of every export: eight bytes per step. */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, p + i, 8);
            if (needs_escape8(x))
                break;
            memcpy(w, &x, 8);
            w += 8;
            i += 8;
        }
        if (i < n && n >= 8 && i + 8 > n) {
            /* A short tail: if the last 8 bytes are all plain, those before
               the tail were copied one to one, so rewriting them is harmless. */
            uint64_t x;
            memcpy(&x, p + n - 8, 8);
            if (!needs_escape8(x)) {
                w += n - i;
                memcpy(w - 8, &x, 8);
                break;
            }
        }
        while (i < n && pc_plain[p[i]])
            *w++ = (char)p[i++];
        if (i >= n)
            break;
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            *w++ = '\\';
            *w++ = (char)c;
            i++;
        } else if (c < 0x20) {
            *w++ = '\\';
            if (c == '\n') *w++ = 'n';
            else if (c == '\r') *w++ = 'r';
            else if (c == '\t') *w++ = 't';
            else {
                w = put_mem(w, "u00", 3);
                *w++ = hex[c >> 4];
                *w++ = hex[c & 15];
            }
            i++;
        } else {
            size_t len = utf8_sequence(p + i, n - i);
            if (len == 0) {
                w = put_mem(w, "\xEF\xBF\xBD", 3); /* U+FFFD */
                i++;
            } else {
                w = put_mem(w, p + i, len);
                i += len;
            }
        }
    }
    *w++ = '"';
    return w;
}
/* ------------------------------------------------------------------ */
/* Varints and the other primitives: writing                           */
/* ------------------------------------------------------------------ */


static void w_wide_set(uf_buf *b, const uint64_t *set, size_t words);

/* A bit set of `words` 64-bit words as one LEB128 number (at least one byte). */
static inline void w_set(uf_buf *b, const uint64_t *set, size_t words)
{
    if (words == 1) { /* up to 64 sources or columns: every candidate's sources, most contexts */
        uf_buf_append_varint(b, set[0]);
        return;
    }
    w_wide_set(b, set, words);
}

static void w_wide_set(uf_buf *b, const uint64_t *set, size_t words)
{
    bool high_words = false;
    for (size_t i = 1; i < words; i++)
        high_words |= set[i] != 0;
    if (!high_words) { /* one word's worth of bits is one varint */
        uf_buf_append_varint(b, words ? set[0] : 0);
        return;
    }
    size_t top = 0; /* bits up to and including the highest set bit */
    for (size_t i = words; i-- > 0;)
        if (set[i]) {
            top = i * 64 + 64 - (size_t)__builtin_clzll(set[i]);
            break;
        }
    size_t bytes = top ? (top + 6) / 7 : 1;
    char tmp[64];
    size_t n = 0;
    for (size_t j = 0; j < bytes; j++) {
        /* Seven bits from bit j*7 on, taken word-wise (a group may straddle two words). */
        uint64_t v = 0;
        if (top) {
            size_t w = j * 7 / 64, shift = j * 7 % 64;
            v = set[w] >> shift;
            if (shift > 57 && w + 1 < words)
                v |= set[w + 1] << (64 - shift);
        }
        tmp[n++] = (char)((v & 0x7F) | (j + 1 < bytes ? 0x80 : 0));
        if (n == sizeof tmp) {
            uf_buf_append(b, tmp, n);
            n = 0;
        }
    }
    uf_buf_append(b, tmp, n);
}

static inline uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline bool representable(int64_t t)
{
    return t != UF_PROFILE_TIME_UNKNOWN && t >= SV_ISO_MIN && t <= SV_ISO_MAX;
}

static inline void w_time(uf_profile_writer *w, int64_t t)
{
    uf_buf_append_varint(w->out, representable(t) ? zigzag(w->base - t) + 1 : 0);
}

/* ------------------------------------------------------------------ */
/* Profile encoding                                                    */
/* ------------------------------------------------------------------ */

void uf_profile_begin(uf_profile_writer *w, uf_buf *out, int64_t updated_at, const uint64_t *channels, size_t words)
{
    w->out = out;
    char version = UF_PROFILE_CODEC_VERSION;
    uf_buf_append(out, &version, 1);
    if (representable(updated_at)) {
        w->base = updated_at;
        uf_buf_append_varint(out, zigzag(updated_at) + 1);
    } else {
        w->base = 0;
        uf_buf_append_varint(out, 0);
    }
    w_set(out, channels, words);
}

void uf_profile_kind(uf_profile_writer *w, unsigned kind, uint64_t total)
{
    uf_buf_append_varint(w->out, (uint64_t)kind + 1);
    uf_buf_append_varint(w->out, total);
}

/*
 * Room for `need` more bytes at once, so that the fields after it are
 * written with no check each (a profile is ~20 candidates and records of a
 * few varints: the checks were a tenth of encoding one). NULL when the buffer
 * has failed.
 */
static inline unsigned char *w_room(uf_buf *b, size_t need)
{
    if (b->len + need >= b->cap && !uf_buf_reserve(b, need))
        return NULL;
    return (unsigned char *)b->data + b->len;
}

static inline unsigned char *w_put_time(const uf_profile_writer *w, unsigned char *p, int64_t t)
{
    return p + uf_varint_put(p, representable(t) ? zigzag(w->base - t) + 1 : 0);
}

void uf_profile_candidate(uf_profile_writer *w, uf_slice display, uf_slice normalized, const uint64_t *sources,
                          size_t words, uint64_t count, int64_t last_seen)
{
    bool has_norm = normalized.ptr != NULL;
    unsigned char *p;
    if (words == 1 && !has_norm && (p = w_room(w->out, display.len + 4 * UF_VARINT_MAX))) {
        /* The common candidate, in one go: head, display bytes, one-word sources, count, time. */
        p += uf_varint_put(p, (uint64_t)display.len << 1);
        if (display.len)
            memcpy(p, display.ptr, display.len);
        p += display.len;
        p += uf_varint_put(p, sources[0]);
        p += uf_varint_put(p, count);
        p = w_put_time(w, p, last_seen);
        w->out->len = (size_t)((char *)p - w->out->data);
        return;
    }
    uf_buf_append_varint(w->out, (uint64_t)display.len << 1 | has_norm);
    if (display.len)
        uf_buf_append(w->out, display.ptr, display.len);
    if (has_norm)
        uf_buf_append_sized(w->out, normalized);
    w_set(w->out, sources, words);
    uf_buf_append_varint(w->out, count);
    w_time(w, last_seen);
}

void uf_profile_records(uf_profile_writer *w, uint64_t total)
{
    uf_buf_append_varint(w->out, 0);
    uf_buf_append_varint(w->out, total);
}

void uf_profile_record(uf_profile_writer *w, unsigned source, uf_slice key, int64_t updated_at)
{
    unsigned char *p = w_room(w->out, key.len + 3 * UF_VARINT_MAX);
    if (!p)
        return;
    p += uf_varint_put(p, source);
    p += uf_varint_put(p, key.len);
    if (key.len)
        memcpy(p, key.ptr, key.len);
    p = w_put_time(w, p + key.len, updated_at);
    w->out->len = (size_t)((char *)p - w->out->data);
}

void uf_profile_context(uf_profile_writer *w, unsigned source, int64_t updated_at, const uint64_t *present,
                        size_t words, const uf_slice *values)
{
    uf_buf_append_varint(w->out, (uint64_t)source + 1);
    w_time(w, updated_at);
    w_set(w->out, present, words);
    for (size_t word = 0; word < words; word++) /* the present columns, in column order */
        for (uint64_t bits = present[word]; bits; bits &= bits - 1)
            uf_buf_append_sized(w->out, values[word * 64 + (size_t)__builtin_ctzll(bits)]);
}

void uf_profile_end(uf_profile_writer *w)
{
    uf_buf_append_varint(w->out, 0);
}

/* ------------------------------------------------------------------ */
/* Reading primitives                                                  */
/* ------------------------------------------------------------------ */

typedef struct rd {
    const unsigned char *p, *end;
    bool bad;
} rd;

static inline uint64_t rd_varint(rd *r)
{
    uint64_t v;
    if (uf_varint_get(&r->p, r->end, &v))
        return v;
    r->bad = true;
    return 0;
}

static inline uf_slice rd_bytes(rd *r, uint64_t n)
{
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return uf_slice_make("", 0);
    }
    uf_slice s = uf_slice_make((const char *)r->p, (size_t)n);
    r->p += n;
    return s;
}

static inline uf_slice rd_string(rd *r)
{
    return rd_bytes(r, rd_varint(r));
}

/* A set: its bytes (LEB128), each bit below `limit`. */
static uf_slice rd_set(rd *r, size_t limit)
{
    const unsigned char *start = r->p;
    for (size_t j = 0;; j++) {
        if (r->bad || r->p >= r->end) {
            r->bad = true;
            return uf_slice_make("", 0);
        }
        unsigned c = *r->p++;
        unsigned bits = c & 0x7F;
        if (bits && j * 7 + (size_t)(31 - __builtin_clz(bits)) >= limit) {
            r->bad = true;
            return uf_slice_make("", 0);
        }
        if (!(c & 0x80))
            break;
    }
    return uf_slice_make((const char *)start, (size_t)(r->p - start));
}

/* ------------------------------------------------------------------ */
/* Schema                                                              */
/* ------------------------------------------------------------------ */

struct uf_profile_schema {
    unsigned char *raw; /* the stored bytes, for uf_profile_schema_same */
    size_t raw_len;
    uf_buf names;       /* escaped names */
    size_t kind_count;
    unsigned char *kind_flags;
    pc_text *kind_key;  /* `"first_name":` */
    uf_slice *kind_name;    /* as stored, into raw */
    uf_slice *source_name;  /* as stored, into raw */
    unsigned *attribute_kinds;
    size_t attribute_count;
    unsigned *identifier_kinds;
    size_t identifier_count;
    size_t source_count;
    pc_text *source_text;          /* `"crm"` */
    size_t *column_first;          /* per source, into column_key */
    size_t *column_count;
    pc_text *column_key;           /* `"last_purchase":` */
    bool *shadows_updated_at;      /* a context column is itself named updated_at */
    size_t name_max;               /* longest escaped name */
};

int uf_profile_schema_encode(const uf_profile_schema_desc *d, uf_buf *out, uf_error *err)
{
    if (d->kind_count > UF_PROFILE_MAX_KINDS || d->source_count > UF_PROFILE_MAX_SOURCES)
        return uf_error_set(err, UF_ERR_INVALID, "profile schema: %zu kinds, %zu sources (at most %d, %d)",
                            d->kind_count, d->source_count, UF_PROFILE_MAX_KINDS, UF_PROFILE_MAX_SOURCES);
    char version = UF_PROFILE_SCHEMA_VERSION;
    uf_buf_append(out, &version, 1);
    uf_buf_append_varint(out, d->kind_count);
    for (size_t k = 0; k < d->kind_count; k++) {
        char flags = (char)d->kind_flags[k];
        uf_buf_append(out, &flags, 1);
        uf_buf_append_sized(out, uf_slice_cstr(d->kind_names[k] ? d->kind_names[k] : ""));
    }
    uf_buf_append_varint(out, d->attribute_count);
    for (size_t i = 0; i < d->attribute_count; i++) {
        char k = (char)d->attribute_kinds[i];
        uf_buf_append(out, &k, 1);
    }
    uf_buf_append_varint(out, d->identifier_count);
    for (size_t i = 0; i < d->identifier_count; i++) {
        char k = (char)d->identifier_kinds[i];
        uf_buf_append(out, &k, 1);
    }
    uf_buf_append_varint(out, d->source_count);
    for (size_t i = 0; i < d->source_count; i++) {
        if (d->column_counts[i] > UF_PROFILE_MAX_COLUMNS)
            return uf_error_set(err, UF_ERR_INVALID, "profile schema: source %zu has %zu context columns (at most %d)",
                                i, d->column_counts[i], UF_PROFILE_MAX_COLUMNS);
        uf_buf_append_sized(out, uf_slice_cstr(d->source_names[i] ? d->source_names[i] : ""));
        uf_buf_append_varint(out, d->column_counts[i]);
        for (size_t j = 0; j < d->column_counts[i]; j++)
            uf_buf_append_sized(out, uf_slice_cstr(d->column_names[i][j] ? d->column_names[i][j] : ""));
    }
    if (out->failed)
        return uf_error_set(err, UF_ERR_NOMEM, "profile schema: out of memory");
    return UF_OK;
}

void uf_profile_schema_free(uf_profile_schema *s)
{
    if (!s)
        return;
    free(s->raw);
    uf_buf_free(&s->names);
    free(s->kind_flags);
    free(s->kind_key);
    free(s->kind_name);
    free(s->source_name);
    free(s->attribute_kinds);
    free(s->identifier_kinds);
    free(s->source_text);
    free(s->column_first);
    free(s->column_count);
    free(s->column_key);
    free(s->shadows_updated_at);
    free(s);
}

uf_slice uf_profile_schema_kind_name(const uf_profile_schema *s, size_t k)
{
    return s && k < s->kind_count ? s->kind_name[k] : uf_slice_make(NULL, 0);
}

bool uf_profile_schema_same(const uf_profile_schema *s, const void *data, size_t len)
{
    return s && s->raw_len == len && memcmp(s->raw, data, len) == 0;
}

/* Escape `name` into s->names; offsets are resolved to pointers at the end. */
static pc_text add_name(uf_profile_schema *s, uf_slice name, bool key)
{
    pc_text t = {NULL, 0, s->names.len};
    uf_json_string(&s->names, name);
    if (key)
        uf_buf_putc(&s->names, ':');
    t.len = s->names.len - t.off;
    if (t.len > s->name_max)
        s->name_max = t.len;
    return t;
}

static void resolve(const uf_profile_schema *s, pc_text *t)
{
    t->ptr = s->names.data + t->off;
}

static int schema_bad(uf_profile_schema *s, uf_error *err, const char *what)
{
    uf_profile_schema_free(s);
    return uf_error_set(err, UF_ERR_STORE, "profile schema: %s (corrupt store?)", what);
}

int uf_profile_schema_parse(const void *data, size_t len, uf_profile_schema **out, uf_error *err)
{
    *out = NULL;
    uf_profile_schema *s = calloc(1, sizeof *s);
    if (!s || !(s->raw = malloc(len ? len : 1))) {
        free(s);
        return uf_error_set(err, UF_ERR_NOMEM, "profile schema: out of memory");
    }
    memcpy(s->raw, data, len);
    s->raw_len = len;
    uf_buf_init(&s->names);
    rd r = {s->raw, s->raw + len, false};
    if (len == 0 || *r.p != UF_PROFILE_SCHEMA_VERSION) {
        int v = len ? *r.p : -1;
        uf_profile_schema_free(s);
        return uf_error_set(err, UF_ERR_STORE, "profile schema: version %d, this program reads version %d", v,
                            UF_PROFILE_SCHEMA_VERSION);
    }
    r.p++;
    uint64_t kinds = rd_varint(&r);
    if (r.bad || kinds > UF_PROFILE_MAX_KINDS || kinds > (uint64_t)(r.end - r.p))
        return schema_bad(s, err, "bad kind count");
    s->kind_count = (size_t)kinds;
    s->kind_flags = calloc(kinds + 1, 1);
    s->kind_key = calloc(kinds + 1, sizeof *s->kind_key);
    s->kind_name = calloc(kinds + 1, sizeof *s->kind_name);
    if (!s->kind_flags || !s->kind_key || !s->kind_name)
        return schema_bad(s, err, "out of memory");
    for (size_t k = 0; k < kinds; k++) {
        uf_slice f = rd_bytes(&r, 1);
        uf_slice name = rd_string(&r);
        if (r.bad)
            return schema_bad(s, err, "truncated kind names");
        s->kind_flags[k] = (unsigned char)f.ptr[0];
        s->kind_name[k] = name;
        s->kind_key[k] = add_name(s, name, true);
    }
    for (int section = 0; section < 2; section++) {
        uint64_t n = rd_varint(&r);
        if (r.bad || n > kinds)
            return schema_bad(s, err, "bad section kind count");
        unsigned *list = calloc(n + 1, sizeof *list);
        if (!list)
            return schema_bad(s, err, "out of memory");
        if (section == 0) {
            s->attribute_kinds = list;
            s->attribute_count = (size_t)n;
        } else {
            s->identifier_kinds = list;
            s->identifier_count = (size_t)n;
        }
        for (size_t i = 0; i < n; i++) {
            uf_slice k = rd_bytes(&r, 1);
            if (r.bad || (unsigned char)k.ptr[0] >= kinds)
                return schema_bad(s, err, "bad section kind");
            list[i] = (unsigned char)k.ptr[0];
            if (section == 1 && !(s->kind_flags[list[i]] & UF_PROFILE_KIND_IDENTIFIER))
                return schema_bad(s, err, "a kind listed under identifiers is not an identifier kind");
        }
    }
    uint64_t sources = rd_varint(&r);
    if (r.bad || sources > UF_PROFILE_MAX_SOURCES || sources > (uint64_t)(r.end - r.p))
        return schema_bad(s, err, "bad source count");
    s->source_count = (size_t)sources;
    s->source_text = calloc(sources + 1, sizeof *s->source_text);
    s->column_first = calloc(sources + 1, sizeof *s->column_first);
    s->column_count = calloc(sources + 1, sizeof *s->column_count);
    s->shadows_updated_at = calloc(sources + 1, sizeof *s->shadows_updated_at);
    s->source_name = calloc(sources + 1, sizeof *s->source_name);
    if (!s->source_text || !s->column_first || !s->column_count || !s->shadows_updated_at || !s->source_name)
        return schema_bad(s, err, "out of memory");
    size_t columns = 0, column_cap = 0;
    for (size_t i = 0; i < sources; i++) {
        uf_slice name = rd_string(&r);
        uint64_t n = rd_varint(&r);
        if (r.bad || n > UF_PROFILE_MAX_COLUMNS)
            return schema_bad(s, err, "bad source entry");
        s->source_name[i] = name;
        s->source_text[i] = add_name(s, name, false);
        s->column_first[i] = columns;
        s->column_count[i] = (size_t)n;
        for (size_t j = 0; j < n; j++) {
            uf_slice col = rd_string(&r);
            if (r.bad)
                return schema_bad(s, err, "truncated column names");
            if (columns == column_cap) {
                size_t cap = column_cap ? column_cap * 2 : 16;
                pc_text *grown = realloc(s->column_key, cap * sizeof *grown);
                if (!grown)
                    return schema_bad(s, err, "out of memory");
                s->column_key = grown;
                column_cap = cap;
            }
            s->column_key[columns++] = add_name(s, col, true);
            if (col.len == 10 && memcmp(col.ptr, "updated_at", 10) == 0)
                s->shadows_updated_at[i] = true;
        }
    }
    if (r.p != r.end)
        return schema_bad(s, err, "trailing bytes");
    if (s->names.failed)
        return schema_bad(s, err, "out of memory");
    for (size_t k = 0; k < s->kind_count; k++)
        resolve(s, &s->kind_key[k]);
    for (size_t i = 0; i < s->source_count; i++)
        resolve(s, &s->source_text[i]);
    for (size_t i = 0; i < columns; i++)
        resolve(s, &s->column_key[i]);
    *out = s;
    return UF_OK;
}

/* ------------------------------------------------------------------ */
/* Rendering                                                           */
/* ------------------------------------------------------------------ */

typedef struct render {
    const uf_profile_schema *schema;
    uf_buf *out;
    char *w, *end;     /* writing position and end of out's capacity (less one byte for a NUL) */
    bool failed;       /* out of memory: nothing more is written */
    int64_t base;
} render;

static bool grow_slow(render *r, size_t n)
{
    uf_buf *b = r->out;
    if (r->failed)
        return false;
    size_t used = r->w ? (size_t)(r->w - b->data) : b->len;
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < used + n + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        r->failed = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    r->w = d + used;
    r->end = d + cap - 1;
    return true;
}

/* Room for `n` more bytes at r->w; false once out of memory (then write nothing). */
static inline bool need(render *r, size_t n)
{
    if (r->w && (size_t)(r->end - r->w) >= n)
        return true;
    return grow_slow(r, n);
}

static void r_time(render *r, const char *member, size_t member_len, uint64_t stored)
{
    if (stored == 0)
        return;
    int64_t t = (int64_t)((uint64_t)r->base - (uint64_t)unzigzag(stored - 1));
    char text[UF_ISO8601_SIZE];
    if (uf_format_iso8601(t, text) == 0)
        return;
    if (!need(r, member_len + 24))
        return;
    r->w = put_mem(r->w, member, member_len);
    *r->w++ = '"';
    r->w = put_mem(r->w, text, 20);
    *r->w++ = '"';
}

#define R_TIME(r, lit, stored) r_time((r), (lit), sizeof(lit) - 1, (stored))

static void r_lit(render *r, const char *lit, size_t n)
{
    if (need(r, n)) {
        memcpy(r->w, lit, n);
        r->w += n;
    }
}

#define R_LIT(r, lit) r_lit((r), (lit), sizeof(lit) - 1)

static inline void r_text(render *r, pc_text t)
{
    if (need(r, t.len))
        r->w = put_text(r->w, t);
}

static inline void r_string(render *r, uf_slice s)
{
    if (need(r, 2 + 6 * s.len))
        r->w = put_string(r->w, s);
}

static inline void r_u64(render *r, uint64_t v)
{
    if (need(r, 24))
        r->w = put_u64(r->w, v);
}

static inline void r_char(render *r, char c)
{
    if (need(r, 1))
        *r->w++ = c;
}

/* A set (already validated) as a JSON array of source names. */
static void r_sources(render *r, uf_slice set)
{
    const pc_text *names = r->schema->source_text;
    bool first = true;
    r_char(r, '[');
    for (size_t j = 0; j < set.len; j++) {
        unsigned bits = (unsigned char)set.ptr[j] & 0x7F;
        while (bits) {
            size_t i = j * 7 + (size_t)__builtin_ctz(bits);
            bits &= bits - 1;
            if (!need(r, names[i].len + 1))
                return;
            if (!first)
                *r->w++ = ',';
            first = false;
            r->w = put_text(r->w, names[i]);
        }
    }
    r_char(r, ']');
}

typedef struct cand {
    uf_slice display, normalized, sources;
    bool has_norm;
    uint64_t count, last_seen;
} cand;

static void rd_candidate(rd *in, const uf_profile_schema *schema, cand *c)
{
    uint64_t head = rd_varint(in);
    c->has_norm = head & 1;
    c->display = rd_bytes(in, head >> 1);
    c->normalized = c->has_norm ? rd_string(in) : uf_slice_make("", 0);
    c->sources = rd_set(in, schema->source_count);
    c->count = rd_varint(in);
    c->last_seen = rd_varint(in);
}

/* "value":...,["normalized":...,]"sources":[...],"count":N,"last_seen":"..." */
static void r_candidate_fields(render *r, const cand *c, bool with_normalized)
{
    R_LIT(r, "\"value\":");
    r_string(r, c->display);
    if (with_normalized && c->has_norm) {
        R_LIT(r, ",\"normalized\":");
        r_string(r, c->normalized);
    }
    R_LIT(r, ",\"sources\":");
    r_sources(r, c->sources);
    R_LIT(r, ",\"count\":");
    r_u64(r, c->count);
    R_TIME(r, ",\"last_seen\":", c->last_seen);
}

static size_t kind_cap(const uf_profile_schema *schema, unsigned kind)
{
    return (schema->kind_flags[kind] & UF_PROFILE_KIND_IDENTIFIER) ? UF_PROFILE_MAX_IDENTIFIERS
                                                                  : UF_PROFILE_MAX_ALTERNATIVES;
}

typedef struct kind_block {
    const unsigned char *at; /* first candidate; NULL: kind absent */
    uint64_t total;
} kind_block;

static void r_attributes(render *r, const kind_block *blocks, const unsigned char *end)
{
    const uf_profile_schema *schema = r->schema;
    bool first = true;
    R_LIT(r, ",\"attributes\":{");
    for (size_t i = 0; i < schema->attribute_count; i++) {
        unsigned k = schema->attribute_kinds[i];
        if (!blocks[k].at)
            continue;
        if (!first)
            r_char(r, ',');
        first = false;
        r_text(r, schema->kind_key[k]);
        r_char(r, '{');
        rd in = {blocks[k].at, end, false};
        cand c;
        rd_candidate(&in, schema, &c);
        if (schema->kind_flags[k] & UF_PROFILE_KIND_IDENTIFIER) {
            /* E-mail and phone: the best value here, every value with its lineage under "identifiers". */
            R_LIT(r, "\"value\":");
            r_string(r, c.display);
        } else {
            r_candidate_fields(r, &c, false);
            uint64_t n = blocks[k].total;
            size_t shown = n < UF_PROFILE_MAX_ALTERNATIVES ? (size_t)n : UF_PROFILE_MAX_ALTERNATIVES;
            if (shown > 1) {
                R_LIT(r, ",\"alternatives\":[");
                for (size_t j = 1; j < shown; j++) {
                    rd_candidate(&in, schema, &c);
                    if (j > 1)
                        r_char(r, ',');
                    r_char(r, '{');
                    r_candidate_fields(r, &c, false);
                    r_char(r, '}');
                }
                r_char(r, ']');
            }
            if (n > shown) {
                R_LIT(r, ",\"alternatives_truncated\":");
                r_u64(r, n - shown);
            }
        }
        r_char(r, '}');
    }
    r_char(r, '}');
}

static void r_identifiers(render *r, const kind_block *blocks, const unsigned char *end)
{
    const uf_profile_schema *schema = r->schema;
    bool first = true, truncated = false;
    R_LIT(r, ",\"identifiers\":{");
    for (size_t i = 0; i < schema->identifier_count; i++) {
        unsigned k = schema->identifier_kinds[i];
        if (!blocks[k].at)
            continue;
        if (!first)
            r_char(r, ',');
        first = false;
        r_text(r, schema->kind_key[k]);
        r_char(r, '[');
        uint64_t n = blocks[k].total;
        size_t shown = n < UF_PROFILE_MAX_IDENTIFIERS ? (size_t)n : UF_PROFILE_MAX_IDENTIFIERS;
        rd in = {blocks[k].at, end, false};
        for (size_t j = 0; j < shown; j++) {
            cand c;
            rd_candidate(&in, schema, &c);
            if (j > 0)
                r_char(r, ',');
            r_char(r, '{');
            r_candidate_fields(r, &c, true);
            r_char(r, '}');
        }
        r_char(r, ']');
        truncated |= n > shown;
    }
    r_char(r, '}');
    if (!truncated)
        return;
    first = true;
    R_LIT(r, ",\"identifiers_truncated\":{");
    for (size_t i = 0; i < schema->identifier_count; i++) {
        unsigned k = schema->identifier_kinds[i];
        if (!blocks[k].at || blocks[k].total <= UF_PROFILE_MAX_IDENTIFIERS)
            continue;
        if (!first)
            r_char(r, ',');
        first = false;
        r_text(r, schema->kind_key[k]);
        r_u64(r, blocks[k].total - UF_PROFILE_MAX_IDENTIFIERS);
    }
    r_char(r, '}');
}

static int corrupt(uf_error *err, const char *what)
{
    return uf_error_set(err, UF_ERR_STORE, "profile: %s (corrupt store?)", what);
}

/*
 * Validate the header and the kind blocks (in: just after the version byte),
 * noting where each kind starts (blocks: schema->kind_count entries); in is
 * left at the records block.
 */
static int read_kind_blocks(const uf_profile_schema *schema, rd *in, uint64_t *updated, uf_slice *channels,
                            kind_block *blocks, uf_error *err)
{
    for (size_t k = 0; k < schema->kind_count; k++)
        blocks[k].at = NULL;
    *updated = rd_varint(in);
    *channels = rd_set(in, schema->source_count);
    if (in->bad)
        return corrupt(err, "truncated header");
    for (uint64_t prev = 0;;) {
        uint64_t k1 = rd_varint(in);
        if (in->bad)
            return corrupt(err, "truncated kind blocks");
        if (k1 == 0)
            break;
        if (k1 <= prev || k1 > schema->kind_count)
            return corrupt(err, "kind out of order or not in the schema");
        prev = k1;
        unsigned k = (unsigned)(k1 - 1);
        uint64_t n = rd_varint(in);
        if (n == 0)
            return corrupt(err, "empty kind block");
        blocks[k].at = in->p;
        blocks[k].total = n;
        size_t cap = kind_cap(schema, k), stored = n < cap ? (size_t)n : cap;
        for (size_t j = 0; j < stored && !in->bad; j++) {
            cand c;
            rd_candidate(in, schema, &c);
        }
        if (in->bad)
            return corrupt(err, "truncated candidates");
    }
    return UF_OK;
}

/*
 * Start reading a profile: a schema to read it with, the version byte this
 * program writes, then read_kind_blocks. *in is left at the records block.
 */
static int read_head(const uf_profile_schema *schema, const void *data, size_t len, rd *in, uint64_t *updated,
                     uf_slice *channels, kind_block *blocks, uf_error *err)
{
    if (!schema)
        return uf_error_set(err, UF_ERR_STORE, "profile: no schema in the store (corrupt store?)");
    *in = (rd){data, (const unsigned char *)data + len, false};
    if (len == 0 || in->p[0] != UF_PROFILE_CODEC_VERSION)
        return uf_error_set(err, UF_ERR_STORE, "profile: format version %d, this program reads version %d",
                            len ? in->p[0] : -1, UF_PROFILE_CODEC_VERSION);
    in->p++;
    return read_kind_blocks(schema, in, updated, channels, blocks, err);
}

int uf_profile_member_list(const uf_profile_schema *schema, const void *data, size_t len, uf_buf *out,
                           size_t *listed, uint64_t *total, uf_error *err)
{
    *listed = 0;
    *total = 0;
    rd in;
    kind_block blocks[UF_PROFILE_MAX_KINDS];
    uint64_t updated;
    uf_slice channels;
    int rc = read_head(schema, data, len, &in, &updated, &channels, blocks, err);
    if (rc != UF_OK)
        return rc;
    uint64_t n = rd_varint(&in);
    size_t shown = n < UF_PROFILE_MAX_RECORDS ? (size_t)n : UF_PROFILE_MAX_RECORDS, start = out->len;
    for (size_t m = 0; m < shown && !in.bad; m++) {
        uint64_t source = rd_varint(&in);
        uf_slice key = rd_string(&in);
        rd_varint(&in); /* updated_at */
        if (!in.bad && source >= schema->source_count)
            in.bad = true;
        if (!in.bad) {
            uf_buf_append_sized(out, schema->source_name[source]);
            uf_buf_append_sized(out, key);
        }
    }
    if (in.bad || out->failed) {
        out->len = start < out->len ? start : out->len;
        return in.bad ? corrupt(err, "bad or truncated record list")
                      : uf_error_set(err, UF_ERR_NOMEM, "profile: out of memory");
    }
    *listed = shown;
    *total = n;
    return UF_OK;
}

int uf_profile_render(const uf_profile_schema *schema, const void *data, size_t len, uf_slice golden_id,
                      uf_buf *out, uf_error *err)
{
    /* Pass 1: validate the header and the kind blocks, note where each kind starts. */
    rd in;
    kind_block blocks[UF_PROFILE_MAX_KINDS];
    uint64_t updated;
    uf_slice channels;
    int rc = read_head(schema, data, len, &in, &updated, &channels, blocks, err);
    if (rc != UF_OK)
        return rc;

    size_t start_len = out->len;
    render r = {.schema = schema, .out = out};
    if (out->failed)
        return uf_error_set(err, UF_ERR_NOMEM, "profile: out of memory rendering");
    if (out->data && out->cap > out->len) {
        r.w = out->data + out->len;
        r.end = out->data + out->cap - 1;
    }
    r.base = updated ? unzigzag(updated - 1) : 0;

    R_LIT(&r, "{\"golden_id\":");
    r_string(&r, golden_id);
    R_TIME(&r, ",\"updated_at\":", updated ? 1 : 0); /* the base itself: delta 0 */
    R_LIT(&r, ",\"channels\":");
    r_sources(&r, channels);
    r_attributes(&r, blocks, in.end);
    r_identifiers(&r, blocks, in.end);

    /* Records. */
    uint64_t total = rd_varint(&in);
    size_t shown = total < UF_PROFILE_MAX_RECORDS ? (size_t)total : UF_PROFILE_MAX_RECORDS;
    R_LIT(&r, ",\"records\":[");
    for (size_t m = 0; m < shown && !in.bad; m++) {
        uint64_t source = rd_varint(&in);
        uf_slice key = rd_string(&in);
        uint64_t t = rd_varint(&in);
        if (in.bad || source >= schema->source_count) {
            in.bad = true;
            break;
        }
        if (m)
            r_char(&r, ',');
        R_LIT(&r, "{\"source\":");
        r_text(&r, schema->source_text[source]);
        R_LIT(&r, ",\"key\":");
        r_string(&r, key);
        R_TIME(&r, ",\"updated_at\":", t);
        r_char(&r, '}');
    }
    r_char(&r, ']');
    if (total > shown) {
        R_LIT(&r, ",\"records_truncated\":");
        r_u64(&r, total - shown);
    }

    /* Context. */
    R_LIT(&r, ",\"context\":{");
    for (uint64_t prev = 0, first = 1; !in.bad;) {
        uint64_t s1 = rd_varint(&in);
        if (in.bad || s1 == 0)
            break;
        if (s1 <= prev || s1 > schema->source_count) {
            in.bad = true;
            break;
        }
        prev = s1;
        size_t src = (size_t)(s1 - 1), columns = schema->column_count[src];
        uint64_t t = rd_varint(&in);
        uf_slice present = rd_set(&in, columns);
        if (in.bad)
            break;
        if (!first)
            r_char(&r, ',');
        first = 0;
        r_text(&r, schema->source_text[src]);
        R_LIT(&r, ":{");
        bool first_member = true;
        for (size_t j = 0; j < present.len && !in.bad; j++) {
            unsigned bits = (unsigned char)present.ptr[j] & 0x7F;
            while (bits && !in.bad) {
                size_t idx = j * 7 + (size_t)__builtin_ctz(bits);
                bits &= bits - 1;
                uf_slice value = rd_string(&in);
                if (!first_member)
                    r_char(&r, ',');
                first_member = false;
                r_text(&r, schema->column_key[schema->column_first[src] + idx]);
                r_string(&r, value);
            }
        }
        if (!schema->shadows_updated_at[src]) {
            if (first_member)
                R_TIME(&r, "\"updated_at\":", t);
            else
                R_TIME(&r, ",\"updated_at\":", t);
        }
        r_char(&r, '}');
    }
    R_LIT(&r, "}}");
    if (!in.bad && in.p != in.end)
        in.bad = true; /* trailing bytes */
    if (in.bad || r.failed) {
        out->len = start_len;
        return in.bad ? corrupt(err, "truncated or malformed records or context")
                      : uf_error_set(err, UF_ERR_NOMEM, "profile: out of memory rendering");
    }
    if (r.w) {
        out->len = (size_t)(r.w - out->data);
        out->data[out->len] = '\0';
    }
    return UF_OK;
}
