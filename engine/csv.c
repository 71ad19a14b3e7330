/*
 * csv.c — streaming RFC 4180 reader.
 *
 * The idea: one buffer holds whole rows. A row is scanned in place from its
 * first byte; fields become slices into the buffer, so an unquoted field is
 * never copied. When the scan reaches the end of the buffered bytes before
 * the row ends, the partial row is moved to the front of the buffer, more
 * bytes are read behind it, and the row is scanned again from its start.
 * Re-scanning costs one row per refill (a few hundred bytes per 256 KiB) and
 * buys a parser with no state between bytes: nothing has to survive a refill
 * except "where does the row start", which keeps the hot loop simple.
 * For the same reason quoted fields with doubled quotes are unescaped (in
 * place) only once the whole row is known to be complete.
 *
 * Speed: the scan looks for the few bytes that matter — delimiter, CR, LF,
 * NUL outside quotes; quote, CR, LF, NUL inside — 16 bytes at a time with
 * SSE2 (a 256-entry class table on CPUs without it). The byte after the data is a
 * NUL sentinel, so the scan needs no bounds check: reaching the sentinel is
 * how the end of the buffered data shows up. The same loads collect the
 * high bits of the bytes passed over, so the UTF-8 check runs only for rows
 * that contain non-ASCII bytes.
 *
 * Bad rows (see reject.h) are returned with `reject` set and reading goes
 * on. An unbalanced quote is the dangerous one: a stray `"` would otherwise
 * swallow the rest of the file as one field. So a quoted field that hits the
 * end of the file, whose closing quote is followed by anything but a
 * delimiter or line end, or that spans more than CSV_MAX_QUOTED_SPAN bytes
 * is rejected as unbalanced_quote, and reading resumes on the physical line
 * after the one where the row started.
 *
 * Memory: the buffer starts at 256 KiB and grows (doubling) only for a row
 * that does not fit, up to CSV_MAX_ROW_BYTES. A longer row is rejected as
 * field_too_long and the rest of it is skipped without being held. Data rows
 * store at most header-count + 1 field slices (more than that is a
 * column_count reject whatever the exact number).
 *
 * Line endings: LF, CRLF and a lone CR each end a physical line, inside
 * quoted fields too, so `line` counts what an editor shows.
 */
#include "csv.h"

#include <stdlib.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum {
    CSV_INITIAL_BYTES = 256 * 1024,
    CSV_MAX_ROW_BYTES = 1024 * 1024 + UF_MAX_FIELD_BYTES,
    /* Raw bytes of one quoted field, quotes included: a legal field of
     * UF_MAX_FIELD_BYTES made only of doubled quotes needs twice that. */
    CSV_MAX_QUOTED_SPAN = 2 * UF_MAX_FIELD_BYTES + 2,
    /* Readable bytes past the data, so 16-byte loads never leave the buffer. */
    CSV_PAD = 64,
};

/* Outcome of scanning at the current position. */
enum scan_result { SCAN_ROW, SCAN_END, SCAN_NEED_MORE, SCAN_UNBALANCED };

struct uf_csv_reader {
    uf_stream *stream;
    char delim;
    bool eof;          /* the stream has returned 0 */
    bool skipping;     /* discarding the rest of an over-long line */
    uint64_t line;     /* physical line of buf[pos] */
    uint64_t buf_offset; /* content offset of buf[0] */

    char *buf;         /* cap + CSV_PAD bytes; buf[len] is a NUL sentinel */
    size_t cap, len, pos;

    uf_slice *fields;  /* slices of the current row */
    bool *escaped;     /* field i holds doubled quotes still to unescape */
    size_t fields_cap;
    size_t max_fields; /* stored per data row: header count + 1 */

    uf_slice *header;
    char *header_text;
    size_t header_count;

#ifndef __SSE2__
    unsigned char cls[256]; /* CLS_* bits: which bytes stop a scan */
#endif
};

/* What the scan of one row found besides its fields. */
typedef struct row_scan {
    size_t count;      /* fields in the row (may exceed what is stored) */
    size_t newlines;   /* line ends inside quoted fields */
    bool in_quote;     /* SCAN_NEED_MORE stopped inside a quoted field */
    uf_reject_reason reject;
} row_scan;

/* ------------------------------------------------------------------ */
/* Finding the next special byte                                       */
/* ------------------------------------------------------------------ */

/* Which bytes stop a scan, outside and inside quotes (table fallback). */
enum { CLS_UNQUOTED = 1, CLS_QUOTED = 2 };

#ifdef __SSE2__
typedef struct scan_set {
    __m128i a, lf, cr, nul; /* `a` is the delimiter or the quote */
} scan_set;

static inline scan_set scan_set_make(const uf_csv_reader *r, char a, int cls_bit)
{
    (void)r;
    (void)cls_bit;
    scan_set s = {_mm_set1_epi8(a), _mm_set1_epi8('\n'), _mm_set1_epi8('\r'), _mm_setzero_si128()};
    return s;
}

/*
 * First byte at or after p that is in the set. Terminates at the sentinel.
 * `high` collects the high bits of the bytes skipped (bit i = byte i of a
 * block), which is all the UTF-8 check needs to know: "any non-ASCII?".
 */
static inline char *scan_special(char *p, const scan_set *s, unsigned *high)
{
    for (;;) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, s->a), _mm_cmpeq_epi8(v, s->lf)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, s->cr), _mm_cmpeq_epi8(v, s->nul)));
        unsigned hit = (unsigned)_mm_movemask_epi8(m);
        unsigned hi = (unsigned)_mm_movemask_epi8(v);
        if (hit) {
            *high |= hi & ((hit & -hit) - 1); /* only the bytes before the hit */
            return p + __builtin_ctz(hit);
        }
        *high |= hi;
        p += 16;
    }
}
#else

typedef struct scan_set {
    const unsigned char *cls;
    unsigned char bit;
} scan_set;

static inline scan_set scan_set_make(const uf_csv_reader *r, char a, int cls_bit)
{
    (void)a;
    scan_set s = {r->cls, (unsigned char)cls_bit};
    return s;
}

static inline char *scan_special(char *p, const scan_set *s, unsigned *high)
{
    while (!(s->cls[(unsigned char)*p] & s->bit)) {
        *high |= (unsigned char)*p & 0x80;
        p++;
    }
    return p;
}
#endif

/* ------------------------------------------------------------------ */
/* Scanning one row                                                    */
/* ------------------------------------------------------------------ */

static bool grow_fields(uf_csv_reader *r, size_t want)
{
    size_t cap = r->fields_cap ? r->fields_cap : 16;
    while (cap < want)
        cap *= 2;
    uf_slice *f = realloc(r->fields, cap * sizeof *f);
    if (!f)
        return false;
    r->fields = f;
    bool *e = realloc(r->escaped, cap * sizeof *e);
    if (!e)
        return false;
    r->escaped = e;
    r->fields_cap = cap;
    return true;
}

/* Turn every `""` of a quoted field into `"`, in place; returns the new length. */
static size_t unescape_quotes(char *s, size_t len)
{
    char *w = memchr(s, '"', len);
    if (!w)
        return len;
    const char *src = w, *end = s + len;
    while (src < end) {
        /* src points at a doubled quote: keep one, skip the other. */
        *w++ = '"';
        src += 2;
        const char *next = memchr(src, '"', (size_t)(end - src));
        size_t run = (size_t)((next ? next : end) - src);
        memmove(w, src, run);
        w += run;
        src += run;
    }
    return (size_t)(w - s);
}

/*
 * Scan the row starting at r->pos. On SCAN_ROW the fields are in r->fields
 * (unescaped), rs is filled in, and r->pos / r->line are past the row.
 * On anything else nothing is consumed.
 */
static enum scan_result scan_row(uf_csv_reader *r, row_scan *rs, bool *oom)
{
    char *const row = r->buf + r->pos;
    char *const end = r->buf + r->len;
    char *p = row;
    const char delim = r->delim;
    const bool eof = r->eof;
    const scan_set unquoted = scan_set_make(r, delim, CLS_UNQUOTED);
    const scan_set quoted = scan_set_make(r, '"', CLS_QUOTED);
    unsigned high = 0;
    bool nul = false, any_escaped = false, too_long = false;
    size_t nf = 0, newlines = 0;

    rs->in_quote = false;
    for (;;) {
        char *start;
        size_t flen;
        bool escaped = false;
        if (*p == '"') { /* never the sentinel: that is a NUL */
            char *q = p + 1;
            for (;;) {
                q = scan_special(q, &quoted, &high);
                if (q - p > CSV_MAX_QUOTED_SPAN)
                    return SCAN_UNBALANCED; /* decided by the bytes alone, not by where refills fall */
                if (q == end)
                    goto quote_at_end;
                if (*q == '"') {
                    if (q + 1 == end && !eof)
                        goto quote_at_end;
                    if (q[1] != '"')
                        break; /* the closing quote */
                    escaped = true;
                    q += 2;
                } else if (*q == '\n') {
                    newlines++;
                    q++;
                } else if (*q == '\r') {
                    if (q + 1 == end && !eof)
                        goto quote_at_end;
                    newlines += q[1] != '\n'; /* CRLF counts once, at the LF */
                    q++;
                } else {
                    nul = true;
                    q++;
                }
            }
            start = p + 1;
            flen = (size_t)(q - start);
            p = q + 1;
            if (p != end && *p != delim && *p != '\n' && *p != '\r')
                return SCAN_UNBALANCED; /* `"ab"c`: text after the closing quote */
            any_escaped |= escaped;
        } else {
            start = p;
            /* A quote inside an unquoted field (`ab"c`) is kept as it is. */
            while ((p = scan_special(p, &unquoted, &high)) != end && *p == '\0') {
                nul = true;
                p++;
            }
            if (p == end && !eof)
                goto need_more;
            flen = (size_t)(p - start);
        }
        if (flen > UF_MAX_FIELD_BYTES && !escaped)
            too_long = true; /* escaped fields are measured after unescaping */
        if (nf < r->max_fields) {
            if (nf == r->fields_cap && !grow_fields(r, nf + 1)) {
                *oom = true;
                goto need_more;
            }
            r->fields[nf] = uf_slice_make(start, flen);
            r->escaped[nf] = escaped;
        }
        nf++;
        if (p == end)
            break; /* last row of the file, no line end */
        if (*p == delim) {
            p++;
            continue;
        }
        if (*p == '\r') {
            if (p + 1 == end && !eof)
                goto need_more; /* is it CRLF? */
            p += p[1] == '\n' ? 2 : 1;
        } else {
            p++;
        }
        newlines++; /* the row's own line end */
        break;
    }

    size_t stored = nf < r->max_fields ? nf : r->max_fields;
    rs->count = stored;
    rs->newlines = newlines;
    rs->reject = UF_REJECT_NONE;
    if (nul)
        rs->reject = UF_REJECT_NUL_BYTE;
    else if (high)
        rs->reject = uf_reject_check_text(row, (size_t)(p - row));
    /* Unescape only now: a re-scan after a refill needs the raw bytes. */
    for (size_t i = 0; any_escaped && i < stored; i++) {
        if (r->escaped[i]) {
            char *s = (char *)r->fields[i].ptr;
            r->fields[i].len = unescape_quotes(s, r->fields[i].len);
            too_long |= r->fields[i].len > UF_MAX_FIELD_BYTES;
        }
    }
    if (!rs->reject && too_long)
        rs->reject = UF_REJECT_FIELD_TOO_LONG;
    if (!rs->reject && r->header && nf != r->header_count)
        rs->reject = UF_REJECT_COLUMN_COUNT;
    r->pos = (size_t)(p - r->buf);
    return SCAN_ROW;

quote_at_end:
    /* Inside a quoted field at the end of the buffered bytes. */
    if (eof)
        return SCAN_UNBALANCED; /* the quote never closes */
    rs->in_quote = true;
need_more:
    rs->newlines = newlines;
    return SCAN_NEED_MORE;
}

/* ------------------------------------------------------------------ */
/* Buffer management and resynchronisation                             */
/* ------------------------------------------------------------------ */

/* Consume blank lines at r->pos. */
static enum scan_result skip_blank_lines(uf_csv_reader *r)
{
    while (r->pos < r->len) {
        char c = r->buf[r->pos];
        if (c == '\n') {
            r->pos++;
        } else if (c == '\r') {
            if (r->pos + 1 == r->len && !r->eof)
                return SCAN_NEED_MORE;
            r->pos += r->buf[r->pos + 1] == '\n' ? 2 : 1;
        } else {
            return SCAN_ROW;
        }
        r->line++;
    }
    return r->eof ? SCAN_END : SCAN_NEED_MORE;
}

/* First CR or LF in [from, r->len), or NULL. */
static char *find_line_end(uf_csv_reader *r, size_t from)
{
    char *p = r->buf + from, *end = r->buf + r->len;
    char *lf = memchr(p, '\n', (size_t)(end - p));
    char *cr = memchr(p, '\r', (size_t)((lf ? lf : end) - p));
    return cr ? cr : lf;
}

/* In skip mode: drop bytes up to the next line end (which is kept). */
static void skip_to_line_end(uf_csv_reader *r)
{
    char *e = find_line_end(r, r->pos);
    if (e) {
        r->pos = (size_t)(e - r->buf);
        r->skipping = false;
    } else {
        r->pos = r->len;
        r->skipping = !r->eof;
    }
}

/*
 * After an unbalanced quote: continue on the line after the one where the
 * row starts. r->line still names the row's line; the blank-line skipper
 * consumes the line end and counts it.
 */
static void resume_after_row_start(uf_csv_reader *r)
{
    r->skipping = true;
    skip_to_line_end(r);
}

/*
 * Make room and read more bytes behind the partial row at r->pos.
 * Returns 1 when bytes (or the end of file) were added, 0 when the row
 * already fills a buffer of CSV_MAX_ROW_BYTES, -1 on a stream error.
 */
static int refill(uf_csv_reader *r, uf_error *err)
{
    if (r->pos > 0) {
        r->buf_offset += r->pos;
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len == r->cap) {
        if (r->cap >= CSV_MAX_ROW_BYTES)
            return 0;
        size_t cap = r->cap * 2 < CSV_MAX_ROW_BYTES ? r->cap * 2 : CSV_MAX_ROW_BYTES;
        char *b = realloc(r->buf, cap + CSV_PAD);
        if (!b) {
            uf_error_set(err, UF_ERR_NOMEM, "%s: out of memory for a %zu-byte row",
                         uf_stream_path(r->stream), cap);
            return -1;
        }
        memset(b + cap, 0, CSV_PAD);
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

/*
 * The next row, whatever it is (header or data). Returns UF_CSV_ROW,
 * UF_CSV_END or UF_CSV_ERROR.
 */
static int next_row(uf_csv_reader *r, uf_csv_row *row, uf_error *err)
{
    for (;;) {
        enum scan_result res = SCAN_NEED_MORE;
        row_scan rs = {0};
        bool oom = false;
        if (r->skipping)
            skip_to_line_end(r);
        if (!r->skipping) {
            res = skip_blank_lines(r);
            if (res == SCAN_END)
                return UF_CSV_END;
        }
        uint64_t line = r->line, offset = r->buf_offset + r->pos;
        if (res == SCAN_ROW)
            res = scan_row(r, &rs, &oom);
        if (oom) {
            uf_error_set(err, UF_ERR_NOMEM, "%s: out of memory", uf_stream_path(r->stream));
            return UF_CSV_ERROR;
        }
        if (res == SCAN_ROW) {
            *row = (uf_csv_row){r->fields, rs.count, line, offset, rs.reject};
            r->line += rs.newlines;
            return UF_CSV_ROW;
        }
        if (res == SCAN_UNBALANCED) {
            *row = (uf_csv_row){r->fields, 0, line, offset, UF_REJECT_UNBALANCED_QUOTE};
            resume_after_row_start(r);
            return UF_CSV_ROW;
        }
        int got = refill(r, err);
        if (got < 0)
            return UF_CSV_ERROR;
        if (got == 0) {
            /* One row fills the largest buffer we allow: refuse it. */
            if (rs.in_quote) {
                *row = (uf_csv_row){r->fields, 0, line, offset, UF_REJECT_UNBALANCED_QUOTE};
                resume_after_row_start(r);
            } else {
                *row = (uf_csv_row){r->fields, 0, line, offset, UF_REJECT_FIELD_TOO_LONG};
                r->line += rs.newlines;
                r->pos = r->len;
                r->skipping = true; /* outside quotes the next line end ends the row */
            }
            return UF_CSV_ROW;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Public interface                                                    */
/* ------------------------------------------------------------------ */

/* Copy the header row out of the buffer: it must outlive every refill. */
static bool keep_header(uf_csv_reader *r, const uf_csv_row *row)
{
    size_t total = 1;
    for (size_t i = 0; i < row->count; i++)
        total += row->fields[i].len;
    r->header = malloc((row->count ? row->count : 1) * sizeof *r->header);
    r->header_text = malloc(total);
    if (!r->header || !r->header_text)
        return false;
    char *w = r->header_text;
    for (size_t i = 0; i < row->count; i++) {
        memcpy(w, row->fields[i].ptr, row->fields[i].len);
        r->header[i] = uf_slice_make(w, row->fields[i].len);
        w += row->fields[i].len;
    }
    r->header_count = row->count;
    r->max_fields = row->count + 1;
    return grow_fields(r, r->max_fields);
}

uf_csv_reader *uf_csv_open(uf_stream *stream, char delimiter, uf_error *err)
{
    const char *path = uf_stream_path(stream);
    unsigned char d = (unsigned char)delimiter;
    if (d == '"' || d == '\n' || d == '\r' || d == '\0' || d >= 0x80) {
        uf_error_set(err, UF_ERR_INVALID, "%s: delimiter 0x%02x cannot be used "
                     "(quote, line end, NUL and non-ASCII bytes are not allowed)", path, d);
        return NULL;
    }
    uf_csv_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->buf = calloc(1, CSV_INITIAL_BYTES + CSV_PAD))) {
        free(r);
        uf_error_set(err, UF_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    r->stream = stream;
    r->delim = delimiter;
    r->cap = CSV_INITIAL_BYTES;
    r->line = 1;
    r->max_fields = SIZE_MAX; /* the header row may have any number of columns */
#ifndef __SSE2__
    r->cls[(unsigned char)delimiter] |= CLS_UNQUOTED;
    r->cls['"'] |= CLS_QUOTED;
    r->cls['\n'] = r->cls['\r'] = r->cls[0] = CLS_UNQUOTED | CLS_QUOTED;
#endif

    /* The byte-order mark some tools write at the start is not data. */
    while (r->len < 3 && !r->eof) {
        if (refill(r, err) < 0)
            goto fail;
    }
    if (r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;

    uf_csv_row row;
    int rc = next_row(r, &row, err);
    if (rc == UF_CSV_ERROR)
        goto fail;
    if (rc == UF_CSV_END) {
        uf_error_set(err, UF_ERR_FORMAT, "%s: empty file, no header row", path);
        goto fail;
    }
    if (row.reject) {
        uf_error_set(err, UF_ERR_FORMAT, "%s:%llu: header row rejected (%s)", path,
                     (unsigned long long)row.line, uf_reject_reason_name(row.reject));
        goto fail;
    }
    if (!keep_header(r, &row)) {
        uf_error_set(err, UF_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    return r;

fail:
    uf_csv_close(r);
    return NULL;
}

const uf_slice *uf_csv_header(const uf_csv_reader *r, size_t *count)
{
    if (count)
        *count = r->header_count;
    return r->header;
}

int uf_csv_next(uf_csv_reader *r, uf_csv_row *row, uf_error *err)
{
    return next_row(r, row, err);
}

int uf_csv_restart(uf_csv_reader *r, uint64_t offset, bool align, uf_error *err)
{
    /* Aligning starts one byte early in skip mode: the skipper drops the rest
     * of a partial line and the blank-line skipper consumes its line end. */
    bool skip = align && offset > 0;
    uint64_t at = skip ? offset - 1 : offset;
    int rc = uf_stream_seek(r->stream, at, err);
    if (rc != UF_OK)
        return rc;
    r->len = r->pos = 0;
    r->buf[0] = '\0';
    r->eof = false;
    r->buf_offset = at;
    r->skipping = skip;
    r->line = skip ? 0 : 1; /* consuming that line end counts line 1 */
    return UF_OK;
}

void uf_csv_position(const uf_csv_reader *r, uint64_t *offset, uint64_t *line)
{
    *offset = r->buf_offset + r->pos;
    *line = r->line;
}

size_t uf_csv_buffer_capacity(const uf_csv_reader *r)
{
    return r->cap;
}

void uf_csv_close(uf_csv_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r->fields);
    free(r->escaped);
    free(r->header);
    free(r->header_text);
    free(r);
}
