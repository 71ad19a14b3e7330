/*
 * records.c — reading and writing record blobs (layout in records.h).
 *
 * The builder never fails: a value that does not fit in 255 bytes, or a
 * record whose blob would exceed UF_BLOB_MAX, is cut and flagged, because a
 * long free-text field must not cost a customer their record.
 */
#include "records.h"

#include "config.h"

/* A kind shares its byte with the two bits of its raw form. */
_Static_assert(UF_MAX_KINDS <= 64, "attribute kinds must fit in six bits");

static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    /* Step back over continuation bytes so no code point is split. */
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

static void put_byte(uf_blob_builder *b, unsigned v)
{
    if (b->len < UF_BLOB_MAX)
        b->buf[b->len++] = (unsigned char)v;
    else
        b->overflow = true;
}

static void put_bytes(uf_blob_builder *b, const char *p, size_t n)
{
    if (b->len + n > UF_BLOB_MAX) {
        b->overflow = true;
        n = UF_BLOB_MAX - b->len;
    }
    if (n)
        memcpy(b->buf + b->len, p, n);
    b->len += n;
}

/* A short value: u8 length then bytes; false when the blob has no room. */
static bool put_value(uf_blob_builder *b, uf_slice v)
{
    size_t n = utf8_cut(v.ptr, v.len, 255);
    if (b->len + 1 + n > UF_BLOB_MAX) {
        b->overflow = true;
        return false;
    }
    if (n < v.len)
        b->overflow = true;
    put_byte(b, (unsigned)n);
    put_bytes(b, v.ptr, n);
    return true;
}

void uf_blob_begin(uf_blob_builder *b, uf_slice key)
{
    b->len = 0;
    b->overflow = false;
    b->context_count_at = 0;
    put_value(b, key);
    b->attr_count_at = b->len;
    put_byte(b, 0);
}

void uf_title_case(char *s, size_t len)
{
    bool start = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (start && c >= 'a' && c <= 'z')
            s[i] = (char)(c - 'a' + 'A');
        start = c == ' ' || c == '-';
    }
}

static void upper_ascii(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] >= 'a' && s[i] <= 'z')
            s[i] = (char)(s[i] - 'a' + 'A');
}

/*
 * How `raw` can be rebuilt from `value` (both already cut to 255 bytes).
 * This runs for every value of every record: a memcmp for the common "same"
 * case, then one pass that checks both transforms without copying — eight
 * bytes at a time where words are little-endian (a byte loop was a third of
 * uf_blob_add_attr's instructions in `unify check`).
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BYTES_01 0x0101010101010101ULL
#define BYTES_80 0x8080808080808080ULL

/* High bit of every byte of w that is an ASCII lower-case letter. */
static inline uint64_t lower_letters(uint64_t w)
{
    uint64_t low7 = w & ~BYTES_80; /* so no byte carries into the next one below */
    uint64_t at_least_a = low7 + BYTES_01 * (0x80 - 'a');
    uint64_t past_z = low7 + BYTES_01 * (0x80 - 'z' - 1);
    return at_least_a & ~past_z & ~w & BYTES_80; /* & ~w: no byte of a UTF-8 sequence */
}

/* High bit of every byte of w equal to c. */
static inline uint64_t bytes_equal(uint64_t w, unsigned char c)
{
    uint64_t x = w ^ (BYTES_01 * c);
    return ~(((x & ~BYTES_80) + ~BYTES_80) | x) & BYTES_80;
}

/* transforms_by_byte on words: byte i of a word is its bits 8i..8i+7 (little-endian). */
static unsigned transforms_by_word(const char *value, size_t vlen, const char *raw)
{
    bool title = true, upper = true;
    uint64_t word_start = 0x80; /* the value's first byte starts a word */
    for (size_t i = 0; i < vlen && (title | upper); i += 8) {
        size_t n = vlen - i < 8 ? vlen - i : 8;
        uint64_t v = 0, r = 0; /* a short tail leaves zeros in both */
        memcpy(&v, value + i, n);
        memcpy(&r, raw + i, n);
        uint64_t lower = lower_letters(v);
        uint64_t separators = bytes_equal(v, ' ') | bytes_equal(v, '-');
        uint64_t starts = separators << 8 | word_start; /* the byte after ' ' or '-' starts a word */
        word_start = separators >> 56;
        title &= (v ^ (lower & starts) >> 2) == r; /* 0x80 >> 2 is the case bit */
        upper &= (v ^ lower >> 2) == r;
    }
    return title ? UF_RAW_TITLE : upper ? UF_RAW_UPPER : UF_RAW_STORED;
}
#else
/* Big-endian words: one byte at a time. */
static unsigned transforms_by_byte(const char *value, size_t vlen, const char *raw)
{
    bool title = true, upper = true, start = true;
    for (size_t i = 0; i < vlen && (title | upper); i++) {
        unsigned char c = (unsigned char)value[i], r = (unsigned char)raw[i];
        unsigned char up = c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
        title &= r == (start ? up : c); /* uf_title_case */
        upper &= r == up;
        start = c == ' ' || c == '-';
    }
    return title ? UF_RAW_TITLE : upper ? UF_RAW_UPPER : UF_RAW_STORED;
}
#endif

static unsigned raw_form(const char *value, size_t vlen, const char *raw, size_t rlen)
{
    /* The same bytes: canonical kinds (phones, dates, codes) pass their value as its raw text. */
    if (rlen == 0 || (rlen == vlen && (raw == value || memcmp(raw, value, vlen) == 0)))
        return UF_RAW_SAME;
    if (rlen != vlen)
        return UF_RAW_STORED;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return transforms_by_word(value, vlen, raw);
#else
    return transforms_by_byte(value, vlen, raw);
#endif
}

/*
 * memcpy of a value cut to 255 bytes. Knowing that bound, GCC 12 (-O2)
 * inlines the copy as `rep movsq`, whose start-up cost dwarfs a short value:
 * it was a third of uf_blob_add_attr, the hottest function of ingest, in a
 * perf profile of the 1 M run. Hiding the bound keeps the C library's memcpy.
 */
static void copy_value(unsigned char *dst, const char *src, size_t n)
{
#if defined(__GNUC__)
    __asm__("" : "+r"(n));
#endif
    if (n) /* src may be NULL when n is 0 */
        memcpy(dst, src, n);
}

void uf_blob_add_attr(uf_blob_builder *b, int kind, uf_slice value, uf_slice raw)
{
    size_t vlen = utf8_cut(value.ptr, value.len, 255), rlen = utf8_cut(raw.ptr, raw.len, 255);
    /* Worst case: kind + two length bytes + two values. */
    if (b->context_count_at != 0 || b->buf[b->attr_count_at] == 255 || kind < 0 || kind >= 64 ||
        b->len + 3 + vlen + rlen > UF_BLOB_MAX - 1) {
        b->overflow = true;
        return;
    }
    unsigned form = raw_form(value.ptr, vlen, raw.ptr, rlen);
    unsigned char *p = b->buf + b->len;
    *p++ = (unsigned char)((unsigned)kind | form << 6);
    *p++ = (unsigned char)vlen;
    copy_value(p, value.ptr, vlen);
    p += vlen;
    if (vlen < value.len)
        b->overflow = true; /* cut: the record is still valid */
    if (form == UF_RAW_STORED) {
        *p++ = (unsigned char)rlen;
        copy_value(p, raw.ptr, rlen);
        p += rlen;
        if (rlen < raw.len)
            b->overflow = true;
    }
    b->len = (size_t)(p - b->buf);
    b->buf[b->attr_count_at]++;
}

void uf_blob_add_context(uf_blob_builder *b, int index, uf_slice value)
{
    if (b->context_count_at == 0) {
        b->context_count_at = b->len;
        put_byte(b, 0);
    }
    if (b->buf[b->context_count_at] == 255 ||
        b->len + 2 + utf8_cut(value.ptr, value.len, 255) > UF_BLOB_MAX) {
        b->overflow = true;
        return;
    }
    put_byte(b, (unsigned)index);
    put_value(b, value);
    b->buf[b->context_count_at]++;
}

size_t uf_blob_finish(uf_blob_builder *b)
{
    if (b->context_count_at == 0) {
        b->context_count_at = b->len;
        put_byte(b, 0);
    }
    return b->len;
}

uf_slice uf_record_key(const uf_record *record)
{
    return uf_slice_make((const char *)record->blob + 1, record->blob[0]);
}

void uf_attr_cursor_init(uf_attr_cursor *cursor, const uf_record *record)
{
    const unsigned char *p = record->blob + 1 + record->blob[0];
    cursor->remaining = *p++;
    cursor->pos = p;
    cursor->end = record->blob + record->blob_len;
}

/* Step over one attribute: its form, kind and value; *stored_raw is the raw text kept after the value, if any. */
static unsigned attr_step(uf_attr_cursor *cursor, int *kind, uf_slice *value, uf_slice *stored_raw)
{
    const unsigned char *p = cursor->pos;
    unsigned form = *p >> 6;
    *kind = *p++ & 63;
    size_t vlen = *p++;
    *value = uf_slice_make((const char *)p, vlen);
    p += vlen;
    if (form == UF_RAW_STORED) {
        size_t rlen = *p++;
        *stored_raw = rlen ? uf_slice_make((const char *)p, rlen) : *value;
        p += rlen;
    }
    cursor->pos = p;
    cursor->remaining--;
    return form;
}

bool uf_attr_next(uf_attr_cursor *cursor, uf_attr_view *out)
{
    if (cursor->remaining == 0)
        return false;
    unsigned form = attr_step(cursor, &out->kind, &out->value, &out->raw);
    size_t vlen = out->value.len;
    if (form == UF_RAW_SAME || (form != UF_RAW_STORED && vlen == 0)) {
        out->raw = out->value;
    } else if (form != UF_RAW_STORED) {
        memcpy(cursor->raw, out->value.ptr, vlen);
        if (form == UF_RAW_TITLE)
            uf_title_case(cursor->raw, vlen);
        else
            upper_ascii(cursor->raw, vlen);
        out->raw = uf_slice_make(cursor->raw, vlen);
    }
    return true;
}

bool uf_attr_next_value(uf_attr_cursor *cursor, int *kind, uf_slice *value)
{
    if (cursor->remaining == 0)
        return false;
    uf_slice stored_raw;
    attr_step(cursor, kind, value, &stored_raw);
    return true;
}

void uf_context_cursor_init(uf_attr_cursor *cursor, const uf_record *record)
{
    /* Step over the attributes without rebuilding their raw texts. */
    const unsigned char *p = record->blob + 1 + record->blob[0];
    for (unsigned n = *p++; n > 0; n--) {
        unsigned form = *p++ >> 6;
        size_t vlen = *p++;
        p += vlen;
        if (form == UF_RAW_STORED) {
            size_t rlen = *p++;
            p += rlen;
        }
    }
    cursor->remaining = *p++;
    cursor->pos = p;
    cursor->end = record->blob + record->blob_len;
}

bool uf_context_next(uf_attr_cursor *cursor, uf_context_view *out)
{
    if (cursor->remaining == 0)
        return false;
    const unsigned char *p = cursor->pos;
    out->index = *p++;
    size_t len = *p++;
    out->value = uf_slice_make((const char *)p, len);
    cursor->pos = p + len;
    cursor->remaining--;
    return true;
}
