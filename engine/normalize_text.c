/*
 * normalize_text.c — the Unicode text fold shared by names, cities and
 * addresses, and the status names.
 *
 * The idea: two spellings of the same word should become the same bytes.
 * "Müller", "MÜLLER", "Mu\u0308ller" (decomposed), "Ｍüller" (full-width)
 * and "muller" all fold to "muller"; "Straße" to "strasse"; "ﬁnn" to "finn".
 * The steps are NFKC (compatibility forms: full-width letters, ligatures,
 * superscripts), case-folding (not lower-casing: ß -> ss, ς -> σ), stripping
 * combining marks (accents) and default-ignorable characters (soft hyphen,
 * zero-width joiner), then punctuation, symbols (emoji included), controls
 * and spaces all become one separator; runs of separators collapse to a
 * single space and the ends are trimmed.
 *
 * Trade-offs:
 *  - Hot path. Nearly all customer data is ASCII, for which NFKC is the
 *    identity and case-folding is tolower, so ASCII input is folded by a
 *    256-entry table straight into the output buffer: no decoding, no
 *    allocation. The first non-ASCII byte switches to the utf8proc path
 *    (utf8proc_decompose_custom + utf8proc_normalize_utf32 into a code point
 *    buffer on the stack, never utf8proc_map, which mallocs).
 *  - Letters without a Unicode decomposition (ø, ł, đ, ð, þ, æ, œ, ħ, ı, ŧ)
 *    would survive accent stripping, so "Søren" and "Soren" would differ.
 *    A small table maps them to their usual ASCII transliteration (ø -> o,
 *    æ -> ae, þ -> th, ...). Other scripts (Cyrillic, Greek, CJK, ...) are
 *    kept as case-folded letters, not transliterated: a transliteration is
 *    language-specific and would create false agreements.
 *  - Turkish: "İ" (dotted capital I) case-folds to "i" + combining dot, and
 *    the dot is stripped, so İstanbul -> istanbul; dotless "ı" is mapped to
 *    "i" by the table. Locale-specific Turkish casing (I -> ı) is not done:
 *    the data has no reliable locale, and "i" is what people type.
 *  - Typographic apostrophes (’ ‘ ʼ ´ ′) are read as ASCII "'", so a caller
 *    that keeps or deletes apostrophes treats them all the same.
 *  - The middle dot (·, Catalan "l·l") is deleted rather than spaced.
 *  - Control characters and NUL are separators here (the reader rejects NUL
 *    rows before this point; a separator is the harmless reading).
 *  - Input longer than UF_NORM_INPUT_MAX bytes after trimming and results
 *    longer than UF_NORM_MAX bytes are UF_NORM_INVALID: a normalized value
 *    that does not fit is not a plausible name, and the bound keeps the
 *    stack buffer fixed.
 */
#include "normalize.h"

#include <utf8proc.h>

const char *uf_norm_status_name(uf_norm_status status)
{
    switch (status) {
    case UF_NORM_OK: return "ok";
    case UF_NORM_EMPTY: return "empty";
    case UF_NORM_INVALID: return "invalid";
    case UF_NORM_JUNK: return "junk";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ */
/* Unicode helper                                                      */
/* ------------------------------------------------------------------ */

/* Apostrophe look-alikes become ASCII "'" before any other transformation. */
static utf8proc_int32_t map_apostrophes(utf8proc_int32_t cp, void *data)
{
    (void)data;
    switch (cp) {
    case 0x2018: /* left single quotation mark */
    case 0x2019: /* right single quotation mark */
    case 0x201B: /* single high-reversed-9 quotation mark */
    case 0x02BC: /* modifier letter apostrophe */
    case 0x00B4: /* acute accent (NFKC would make it space + mark) */
    case 0x2032: /* prime */
    case 0xFF07: /* full-width apostrophe */
        return '\'';
    default:
        return cp;
    }
}

ptrdiff_t uf_utf8_normalize(uf_slice in, bool fold, int32_t *cps, size_t cap)
{
    utf8proc_option_t options = UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE;
    utf8proc_custom_func custom = NULL;
    if (fold) {
        options |= UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_IGNORE;
        custom = map_apostrophes;
    }
    if (in.len > (size_t)PTRDIFF_MAX || cap > (size_t)PTRDIFF_MAX)
        return -1;
    utf8proc_ssize_t n = utf8proc_decompose_custom((const utf8proc_uint8_t *)in.ptr,
                                                   (utf8proc_ssize_t)in.len, cps,
                                                   (utf8proc_ssize_t)cap, options, custom, NULL);
    if (n < 0 || (size_t)n > cap)
        return -1;
    n = utf8proc_normalize_utf32(cps, n, options);
    return n < 0 ? -1 : (ptrdiff_t)n;
}

/* ------------------------------------------------------------------ */
/* Fold                                                                */
/* ------------------------------------------------------------------ */

/*
 * ASCII classes: 0 separator, otherwise the byte to emit (lower-cased).
 * Built at compile time so the table is const and shared by all threads.
 * Bytes >= 0x80 read as separators too, so a run of letters stops at them
 * without a test of its own.
 */
#define SEP 0
#define L(c) [c] = c
#define U(c) [c] = (c) + 32
static const unsigned char ascii_fold[256] = {
    L('0'), L('1'), L('2'), L('3'), L('4'), L('5'), L('6'), L('7'), L('8'), L('9'),
    L('a'), L('b'), L('c'), L('d'), L('e'), L('f'), L('g'), L('h'), L('i'), L('j'),
    L('k'), L('l'), L('m'), L('n'), L('o'), L('p'), L('q'), L('r'), L('s'), L('t'),
    L('u'), L('v'), L('w'), L('x'), L('y'), L('z'),
    U('A'), U('B'), U('C'), U('D'), U('E'), U('F'), U('G'), U('H'), U('I'), U('J'),
    U('K'), U('L'), U('M'), U('N'), U('O'), U('P'), U('Q'), U('R'), U('S'), U('T'),
    U('U'), U('V'), U('W'), U('X'), U('Y'), U('Z'),
};
#undef L
#undef U

/* True when the ASCII separator c is one of the `keep` bytes (keep not NULL). */
static inline bool kept(const char *keep, unsigned char c)
{
    for (; *keep; keep++)
        if ((unsigned char)*keep == c)
            return true; /* NUL is never kept: the loop stops before keep's terminator */
    return false;
}

static inline bool is_ascii_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Output being built: a pending separator is written only before the next token byte. */
typedef struct fold_out {
    char *buf;
    size_t len;
    bool pending_space;
    bool overflow;
} fold_out;

static inline void put_byte(fold_out *o, char c)
{
    if (o->pending_space) {
        o->pending_space = false;
        if (o->len > 0) {
            if (o->len >= UF_NORM_MAX) {
                o->overflow = true;
                return;
            }
            o->buf[o->len++] = ' ';
        }
    }
    if (o->len >= UF_NORM_MAX) {
        o->overflow = true;
        return;
    }
    o->buf[o->len++] = c;
}

static inline void put_ascii(fold_out *o, unsigned char c, const char *keep)
{
    unsigned char f = ascii_fold[c];
    if (f != SEP)
        put_byte(o, (char)f);
    else if (keep && c != 0 && strchr(keep, c))
        put_byte(o, (char)c);
    else
        o->pending_space = true;
}

/* Letters that survive decomposition, as their common ASCII spelling (case-folded input). */
static const char *latin_extra(int32_t cp)
{
    switch (cp) {
    case 0x00E6: return "ae"; /* æ */
    case 0x00F0: return "d";  /* ð */
    case 0x00F8: return "o";  /* ø */
    case 0x00FE: return "th"; /* þ */
    case 0x0111: return "d";  /* đ */
    case 0x0127: return "h";  /* ħ */
    case 0x0131: return "i";  /* ı dotless i */
    case 0x0142: return "l";  /* ł */
    case 0x014B: return "n";  /* ŋ */
    case 0x0153: return "oe"; /* œ */
    case 0x0167: return "t";  /* ŧ */
    case 0x0192: return "f";  /* ƒ */
    default: return NULL;
    }
}

static bool is_word_category(utf8proc_category_t cat)
{
    switch (cat) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

static void fold_unicode(uf_slice in, const char *keep, fold_out *o)
{
    int32_t cps[UF_NORM_INPUT_MAX];
    ptrdiff_t n = uf_utf8_normalize(in, true, cps, UF_ARRAY_LEN(cps));
    if (n < 0) {
        o->overflow = true; /* reported as invalid by the caller */
        return;
    }
    for (ptrdiff_t i = 0; i < n && !o->overflow; i++) {
        int32_t cp = cps[i];
        if (cp < 0x80) {
            put_ascii(o, (unsigned char)cp, keep);
            continue;
        }
        if (map_apostrophes(cp, NULL) == '\'') {
            /* Also when produced by a decomposition (U+0149 ŉ -> U+02BC n). */
            put_ascii(o, '\'', keep);
            continue;
        }
        const char *extra = latin_extra(cp);
        if (extra) {
            for (; *extra; extra++)
                put_byte(o, *extra);
            continue;
        }
        if (cp == 0x00B7) /* middle dot: deleted, "l·l" -> "ll" */
            continue;
        utf8proc_category_t cat = utf8proc_category(cp);
        if (is_word_category(cat)) {
            utf8proc_uint8_t enc[4];
            utf8proc_ssize_t k = utf8proc_encode_char(cp, enc);
            for (utf8proc_ssize_t j = 0; j < k; j++)
                put_byte(o, (char)enc[j]);
        } else if (cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_MN ||
                   cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME) {
            continue; /* invisible formatting or a mark: no separator */
        } else {
            o->pending_space = true;
        }
    }
}

/*
 * ASCII fast path: the table folds, locals keep the loop in registers, and
 * a run of letters and digits is copied by a loop with one test per byte.
 * When `bounded` (input of at most UF_NORM_MAX bytes) the output is never
 * longer than the input, so there are no capacity checks at all. Returns
 * false at the first non-ASCII byte; true when done, with *pos < end when the
 * output did not fit.
 */
static inline __attribute__((always_inline)) bool
fold_ascii(const unsigned char *p, size_t *pos, size_t end, const char *keep, bool bounded,
           char *out, size_t *out_len)
{
    size_t len = 0, i = *pos;
    bool pending = false;
    while (i < end) {
        unsigned char c = p[i];
        if (c >= 0x80)
            return false;
        unsigned char f = ascii_fold[c];
        if (f == SEP) {
            if (!keep || !kept(keep, c)) {
                pending = true;
                i++;
                continue;
            }
            f = c;
        }
        if (!bounded && len + (pending && len) >= UF_NORM_MAX)
            break;
        if (pending) {
            if (len)
                out[len++] = ' ';
            pending = false;
        }
        out[len++] = (char)f;
        i++;
        /* The rest of a run of letters and digits. */
        if (bounded) {
            while (i < end && (f = ascii_fold[p[i]]) != SEP) {
                out[len++] = (char)f;
                i++;
            }
        }
    }
    *pos = i;
    *out_len = len;
    return true;
}

uf_norm_status uf_fold_text(uf_slice in, const char *keep, char *out, size_t *out_len)
{
    *out_len = 0;
    const unsigned char *p = (const unsigned char *)in.ptr;
    size_t start = 0, end = in.len;
    if (!p)
        return UF_NORM_EMPTY;
    while (start < end && is_ascii_space(p[start]))
        start++;
    while (end > start && is_ascii_space(p[end - 1]))
        end--;
    if (start == end)
        return UF_NORM_EMPTY;
    if (end - start > UF_NORM_INPUT_MAX)
        return UF_NORM_INVALID;
    if (keep && !*keep)
        keep = NULL;

    size_t len = 0, i = start;
    bool ascii = end - start <= UF_NORM_MAX
                     ? fold_ascii(p, &i, end, keep, true, out, &len)
                     : fold_ascii(p, &i, end, keep, false, out, &len);
    if (ascii) {
        if (i < end)
            return UF_NORM_INVALID; /* longer than UF_NORM_MAX */
        *out_len = len;
        return len ? UF_NORM_OK : UF_NORM_EMPTY;
    }

    /* Non-ASCII: restart on the Unicode path so composition sees the whole text. */
    fold_out o = {out, 0, false, false};
    fold_unicode(uf_slice_make(in.ptr + start, end - start), keep, &o);
    if (o.overflow)
        return UF_NORM_INVALID;
    *out_len = o.len;
    return o.len ? UF_NORM_OK : UF_NORM_EMPTY;
}
