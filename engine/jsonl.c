/*
 * jsonl.c — streaming JSON Lines reader with a small hand-written parser.
 *
 * The idea: the reader keeps whole lines in one buffer (as csv.c does),
 * finds each line end with memchr, and parses the line in place. Top-level
 * member names and string values are unescaped in place — an escape is
 * never shorter than what it decodes to, so the write position never passes
 * the read position — and handed out as slices into the buffer. Nested
 * objects and arrays are validated but not decoded: their raw text is the
 * value, which is what a pass-through context column wants.
 *
 * The line end is overwritten with a NUL before parsing. NUL bytes are
 * rejected before the parser runs, so inside the parser a NUL can only mean
 * "end of line": no token contains one, every rule fails on it, and the
 * parser needs no bounds checks. The buffer keeps readable padding behind
 * the data for the 16-byte SSE2 loads that find the end of a string.
 *
 * Checks, in the order they decide the reason: NUL byte (raw, or a \u0000
 * escape in a top-level key or string — a C consumer could not hold it),
 * invalid UTF-8 (whole line, before parsing, so the parser can trust its
 * input), JSON syntax (including lone or mismatched UTF-16 surrogates and
 * nesting deeper than JSONL_MAX_DEPTH), not an object, a key or value longer
 * than UF_MAX_FIELD_BYTES. A line longer than JSONL_MAX_LINE_BYTES is
 * rejected as field_too_long and skipped without being held in memory.
 *
 * Duplicate keys are all returned, in line order; a consumer that wants
 * JSON's usual "last one wins" takes the last match.
 */
#include "jsonl.h"

#include <stdlib.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum {
    JSONL_INITIAL_BYTES = 256 * 1024,
    JSONL_MAX_LINE_BYTES = 1024 * 1024 + UF_MAX_FIELD_BYTES,
    JSONL_PAD = 64,
    JSONL_MAX_DEPTH = 64, /* nesting below the top-level object */
};

struct uf_jsonl_reader {
    uf_stream *stream;
    bool eof;
    bool skipping;      /* discarding the rest of an over-long line */
    uint64_t line;      /* line number of buf[pos] */
    uint64_t buf_offset; /* content offset of buf[0] */
    char *buf;          /* cap + JSONL_PAD bytes; buf[len] is a NUL */
    size_t cap, len, pos;
    size_t scanned;     /* no '\n' in [pos, scanned): resume memchr here */

    uf_slice *keys;
    uf_slice *values;
    uf_json_type *types;
    size_t members_cap;
};

/* ------------------------------------------------------------------ */
/* The parser                                                          */
/* ------------------------------------------------------------------ */

typedef struct parser {
    char *p;
    bool nul_escape; /* a top-level string decoded to a NUL */
} parser;

static inline void skip_ws(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n')
        ps->p++;
}

/* First '"', '\\' or control byte (NUL included) at or after p. */
static inline char *scan_string(char *p)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x1f), zero = _mm_setzero_si128();
    for (;;) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmpeq_epi8(_mm_subs_epu8(v, ctl), zero)); /* v <= 0x1f */
        unsigned hit = (unsigned)_mm_movemask_epi8(m);
        if (hit)
            return p + __builtin_ctz(hit);
        p += 16;
    }
#else
    while (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
        p++;
    return p;
#endif
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i]; /* stops at the NUL sentinel, never reads past it */
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

static size_t put_utf8(char *w, uint32_t cp)
{
    if (cp < 0x80) {
        w[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (char)(0xC0 | cp >> 6);
        w[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (char)(0xE0 | cp >> 12);
        w[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        w[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    w[0] = (char)(0xF0 | cp >> 18);
    w[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    w[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    w[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Decode the escape after a backslash at q (q points at the character after
 * the backslash). Returns the position after the escape or NULL when it is
 * invalid. The decoded bytes go to *w (when w is not NULL).
 */
static char *decode_escape(parser *ps, char *q, char **w)
{
    char c = *q++;
    uint32_t cp;
    switch (c) {
    case '"': case '\\': case '/': cp = (unsigned char)c; break;
    case 'b': cp = '\b'; break;
    case 'f': cp = '\f'; break;
    case 'n': cp = '\n'; break;
    case 'r': cp = '\r'; break;
    case 't': cp = '\t'; break;
    case 'u': {
        int hi = hex4(q);
        if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
            return NULL; /* bad hex, or a low surrogate with no high one */
        q += 4;
        cp = (uint32_t)hi;
        if (hi >= 0xD800 && hi <= 0xDBFF) {
            int lo = q[0] == '\\' && q[1] == 'u' ? hex4(q + 2) : -1;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return NULL; /* a high surrogate must be followed by a low one */
            q += 6;
            cp = 0x10000 + ((uint32_t)(hi - 0xD800) << 10) + (uint32_t)(lo - 0xDC00);
        }
        break;
    }
    default:
        return NULL;
    }
    if (w) {
        if (cp == 0)
            ps->nul_escape = true;
        *w += put_utf8(*w, cp);
    }
    return q;
}

/*
 * ps->p is at an opening quote. With `out`, unescape the string in place and
 * return it there; without, only validate it. Leaves ps->p after the
 * closing quote.
 */
static bool parse_string(parser *ps, uf_slice *out)
{
    char *p = ps->p + 1, *start = p;
    char *w = NULL; /* write position, once the first escape is seen */
    for (;;) {
        char *q = scan_string(p);
        if (w && w != p)
            memmove(w, p, (size_t)(q - p));
        if (w)
            w += q - p;
        if (*q == '"') {
            if (out)
                *out = uf_slice_make(start, (size_t)((w ? w : q) - start));
            ps->p = q + 1;
            return true;
        }
        if (*q != '\\')
            return false; /* raw control byte, or the line ended */
        if (out && !w)
            w = q;
        p = decode_escape(ps, q + 1, out ? &w : NULL);
        if (!p)
            return false;
    }
}

static bool parse_number(parser *ps)
{
    char *p = ps->p;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    ps->p = p;
    return true;
}

static bool parse_literal(parser *ps, const char *word)
{
    size_t i = 0;
    while (word[i] && ps->p[i] == word[i]) /* stops at the NUL sentinel */
        i++;
    if (word[i])
        return false;
    ps->p += i;
    return true;
}

/* Validate any JSON value, without decoding it. */
static bool skip_value(parser *ps, int depth)
{
    char open = *ps->p;
    if (open == '"')
        return parse_string(ps, NULL);
    if (open == 't')
        return parse_literal(ps, "true");
    if (open == 'f')
        return parse_literal(ps, "false");
    if (open == 'n')
        return parse_literal(ps, "null");
    if (open != '{' && open != '[')
        return parse_number(ps);
    if (depth > JSONL_MAX_DEPTH)
        return false;
    char close = open == '{' ? '}' : ']';
    ps->p++;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        return true;
    }
    for (;;) {
        if (open == '{') {
            if (*ps->p != '"' || !parse_string(ps, NULL))
                return false;
            skip_ws(ps);
            if (*ps->p != ':')
                return false;
            ps->p++;
            skip_ws(ps);
        }
        if (!skip_value(ps, depth + 1))
            return false;
        skip_ws(ps);
        if (*ps->p == close) {
            ps->p++;
            return true;
        }
        if (*ps->p != ',')
            return false;
        ps->p++;
        skip_ws(ps);
    }
}

/* ------------------------------------------------------------------ */
/* One line → one record                                               */
/* ------------------------------------------------------------------ */

static bool grow_members(uf_jsonl_reader *r)
{
    size_t cap = r->members_cap ? r->members_cap * 2 : 32;
    uf_slice *k = realloc(r->keys, cap * sizeof *k);
    if (k)
        r->keys = k;
    uf_slice *v = realloc(r->values, cap * sizeof *v);
    if (v)
        r->values = v;
    uf_json_type *t = realloc(r->types, cap * sizeof *t);
    if (t)
        r->types = t;
    if (!k || !v || !t)
        return false;
    r->members_cap = cap;
    return true;
}

/* Parse the top-level value of one NUL-terminated line into r's members. */
static uf_reject_reason parse_record(uf_jsonl_reader *r, char *text, size_t *count, bool *oom)
{
    parser ps = {text, false};
    bool too_long = false;
    size_t n = 0;
    skip_ws(&ps);
    if (*ps.p != '{') {
        if (!skip_value(&ps, 0))
            return UF_REJECT_JSON_SYNTAX;
        skip_ws(&ps);
        return *ps.p ? UF_REJECT_JSON_SYNTAX : UF_REJECT_JSON_NOT_OBJECT;
    }
    ps.p++;
    skip_ws(&ps);
    if (*ps.p == '}')
        ps.p++;
    else
        for (;;) {
            if (n == r->members_cap && !grow_members(r)) {
                *oom = true;
                return UF_REJECT_NONE;
            }
            uf_slice *key = &r->keys[n], *value = &r->values[n];
            if (*ps.p != '"' || !parse_string(&ps, key))
                return UF_REJECT_JSON_SYNTAX;
            skip_ws(&ps);
            if (*ps.p != ':')
                return UF_REJECT_JSON_SYNTAX;
            ps.p++;
            skip_ws(&ps);
            char *start = ps.p;
            uf_json_type type;
            bool ok;
            switch (*start) {
            case '"':
                type = UF_JSON_STRING;
                ok = parse_string(&ps, value);
                break;
            case '{': case '[':
                type = UF_JSON_NESTED;
                ok = skip_value(&ps, 1);
                *value = uf_slice_make(start, (size_t)(ps.p - start));
                break;
            case 't': case 'f':
                type = UF_JSON_BOOL;
                ok = parse_literal(&ps, *start == 't' ? "true" : "false");
                *value = uf_slice_make(start, (size_t)(ps.p - start));
                break;
            case 'n':
                type = UF_JSON_NULL;
                ok = parse_literal(&ps, "null");
                *value = uf_slice_make(start, 0);
                break;
            default:
                type = UF_JSON_NUMBER;
                ok = parse_number(&ps);
                *value = uf_slice_make(start, (size_t)(ps.p - start));
                break;
            }
            if (!ok)
                return UF_REJECT_JSON_SYNTAX;
            r->types[n++] = type;
            too_long |= key->len > UF_MAX_FIELD_BYTES || value->len > UF_MAX_FIELD_BYTES;
            skip_ws(&ps);
            if (*ps.p == '}') {
                ps.p++;
                break;
            }
            if (*ps.p != ',')
                return UF_REJECT_JSON_SYNTAX;
            ps.p++;
            skip_ws(&ps);
        }
    skip_ws(&ps);
    if (*ps.p)
        return UF_REJECT_JSON_SYNTAX; /* something after the object */
    if (ps.nul_escape)
        return UF_REJECT_NUL_BYTE;
    if (too_long)
        return UF_REJECT_FIELD_TOO_LONG;
    *count = n;
    return UF_REJECT_NONE;
}

/* ------------------------------------------------------------------ */
/* Lines from the stream                                               */
/* ------------------------------------------------------------------ */

/*
 * Move the partial line to the front and read more behind it. Returns 1
 * when bytes (or the end of file) were added, 0 when the line already fills
 * a buffer of JSONL_MAX_LINE_BYTES, -1 on a stream error.
 */
static int refill(uf_jsonl_reader *r, uf_error *err)
{
    if (r->pos > 0) {
        r->buf_offset += r->pos;
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->scanned -= r->pos;
        r->pos = 0;
    }
    if (r->len == r->cap) {
        if (r->cap >= JSONL_MAX_LINE_BYTES)
            return 0;
        size_t cap = r->cap * 2 < JSONL_MAX_LINE_BYTES ? r->cap * 2 : JSONL_MAX_LINE_BYTES;
        char *b = realloc(r->buf, cap + JSONL_PAD);
        if (!b) {
            uf_error_set(err, UF_ERR_NOMEM, "%s: out of memory for a %zu-byte line",
                         uf_stream_path(r->stream), cap);
            return -1;
        }
        memset(b + r->cap, 0, cap - r->cap + JSONL_PAD);
        r->buf = b;
        r->cap = cap;
    }
    ssize_t n = uf_stream_read(r->stream, r->buf + r->len, r->cap - r->len, err);
    if (n < 0)
        return -1;
    r->eof = n == 0;
    r->len += (size_t)n;
    r->buf[r->len] = '\0';
    return 1;
}

static bool is_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p == end;
}

uf_jsonl_reader *uf_jsonl_open(uf_stream *stream, uf_error *err)
{
    uf_jsonl_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->buf = calloc(1, JSONL_INITIAL_BYTES + JSONL_PAD)) || !grow_members(r)) {
        uf_jsonl_close(r);
        uf_error_set(err, UF_ERR_NOMEM, "%s: out of memory", uf_stream_path(stream));
        return NULL;
    }
    r->stream = stream;
    r->cap = JSONL_INITIAL_BYTES;
    r->line = 1;
    /* A byte-order mark before the first line is not data. */
    while (r->len < 3 && !r->eof) {
        if (refill(r, err) < 0) {
            uf_jsonl_close(r);
            return NULL;
        }
    }
    if (r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
        r->pos = r->scanned = 3;
    return r;
}

int uf_jsonl_next(uf_jsonl_reader *r, uf_jsonl_record *rec, uf_error *err)
{
    for (;;) {
        if (r->skipping) {
            char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
            r->pos = nl ? (size_t)(nl - r->buf) + 1 : r->len;
            r->scanned = r->pos;
            r->line += nl != NULL;
            r->skipping = !nl && !r->eof;
        }
        if (!r->skipping) {
            if (r->pos == r->len && r->eof)
                return UF_JSONL_END;
            char *nl = memchr(r->buf + r->scanned, '\n', r->len - r->scanned);
            if (nl || r->eof) {
                char *start = r->buf + r->pos;
                char *stop = nl ? nl : r->buf + r->len;
                uint64_t line = r->line++, offset = r->buf_offset + r->pos;
                r->pos = r->scanned = (size_t)(stop - r->buf) + (nl != NULL);
                if (is_blank(start, stop))
                    continue;
                *stop = '\0'; /* the parser's end marker, see the top of the file */
                size_t count = 0;
                bool oom = false;
                uf_reject_reason why = uf_reject_check_text(start, (size_t)(stop - start));
                if (!why)
                    why = parse_record(r, start, &count, &oom);
                if (oom) {
                    uf_error_set(err, UF_ERR_NOMEM, "%s: out of memory", uf_stream_path(r->stream));
                    return UF_JSONL_ERROR;
                }
                *rec = (uf_jsonl_record){r->keys, r->values, r->types, why ? 0 : count, line, offset, why};
                return UF_JSONL_RECORD;
            }
            r->scanned = r->len;
        }
        int got = refill(r, err);
        if (got < 0)
            return UF_JSONL_ERROR;
        if (got == 0) {
            /* One line fills the largest buffer we allow: refuse it, skip the rest. */
            *rec = (uf_jsonl_record){r->keys, r->values, r->types, 0, r->line, r->buf_offset + r->pos,
                                     UF_REJECT_FIELD_TOO_LONG};
            r->pos = r->scanned = r->len;
            r->skipping = true;
            return UF_JSONL_RECORD;
        }
    }
}

int uf_jsonl_restart(uf_jsonl_reader *r, uint64_t offset, bool align, uf_error *err)
{
    /* Aligning starts one byte early in skip mode: the skipper drops the rest
     * of a partial line, its '\n' included. */
    bool skip = align && offset > 0;
    uint64_t at = skip ? offset - 1 : offset;
    int rc = uf_stream_seek(r->stream, at, err);
    if (rc != UF_OK)
        return rc;
    r->len = r->pos = r->scanned = 0;
    r->buf[0] = '\0';
    r->eof = false;
    r->buf_offset = at;
    r->skipping = skip;
    r->line = skip ? 0 : 1; /* skipping past that '\n' counts line 1 */
    return UF_OK;
}

void uf_jsonl_position(const uf_jsonl_reader *r, uint64_t *offset, uint64_t *line)
{
    *offset = r->buf_offset + r->pos;
    *line = r->line;
}

size_t uf_jsonl_buffer_capacity(const uf_jsonl_reader *r)
{
    return r->cap;
}

void uf_jsonl_close(uf_jsonl_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r->keys);
    free(r->values);
    free(r->types);
    free(r);
}
