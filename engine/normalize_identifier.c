/*
 * normalize_identifier.c — generic identifiers: account numbers, loyalty
 * cards, device ids, customer numbers of other systems.
 *
 * The idea: an identifier is an opaque token; normalizing must only undo
 * what typing and exporting add, never merge two different ids. So: trim,
 * collapse inner whitespace to one space, and — per namespace, from the
 * configuration — drop spaces and dashes ("1234-5678 9012" ->
 * "123456789012") and apply a case policy (upper, lower or preserve).
 * Other punctuation is kept: "AB/12" and "AB12" may well be different ids.
 *
 * Decisions:
 *  - Control characters (including NUL and inner tabs) are UF_NORM_INVALID:
 *    an id containing them is corrupt, and keeping it would create a key
 *    nobody can look up.
 *  - Non-ASCII input is brought to NFKC (full-width "ＡＢ１２" -> "AB12", the
 *    no-break space -> space) through the shared utf8proc helper; Unicode
 *    dashes count as dashes; the case policy uses Unicode simple case
 *    mapping. Default-ignorable characters (zero-width space, BOM) are
 *    dropped. Invalid UTF-8 is UF_NORM_INVALID.
 *  - Junk: "n/a", "na", "none", "null", "nil", "nan", "unknown", "tbd",
 *    "test", ... (any case), all zeros ("0", "0000") and all "x".
 *    A value made only of punctuation ("-", "?", "...") is UF_NORM_EMPTY,
 *    as for every other kind: it says "nothing here".
 *  - Longer than UF_NORM_MAX after normalization: UF_NORM_INVALID.
 *
 * ASCII input takes one pass straight into `out`, noting on the way whether
 * the value is all zeros or all x, so the junk checks cost nothing extra.
 */
#include "normalize.h"

#include <utf8proc.h>

static inline bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static inline char apply_case(char c, uf_case_policy policy)
{
    if (policy == UF_CASE_UPPER && c >= 'a' && c <= 'z')
        return (char)(c - 32);
    if (policy == UF_CASE_LOWER && c >= 'A' && c <= 'Z')
        return (char)(c + 32);
    return c;
}

typedef struct id_out {
    char *buf;
    size_t len;
    bool pending_space;
    bool overflow;
} id_out;

static inline void put(id_out *o, const char *bytes, size_t n)
{
    size_t need = n + (o->pending_space && o->len ? 1 : 0);
    if (o->len + need > UF_NORM_MAX) {
        o->overflow = true;
        return;
    }
    if (o->pending_space && o->len)
        o->buf[o->len++] = ' ';
    o->pending_space = false;
    memcpy(o->buf + o->len, bytes, n);
    o->len += n;
}

static bool is_dash(int32_t cp)
{
    return cp == '-' || (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0xFE63 ||
           cp == 0xFF0D;
}

/*
 * One NFKC pass of the Unicode path into `o`; false on invalid input (bad
 * UTF-8, control characters). *dropped says whether anything between two
 * kept characters was removed.
 */
static bool unicode_pass(uf_slice in, uf_case_policy policy, bool strip, id_out *o, bool *dropped)
{
    int32_t cps[UF_NORM_INPUT_MAX];
    ptrdiff_t n = uf_utf8_normalize(in, false, cps, UF_ARRAY_LEN(cps));
    if (n < 0)
        return false;
    *dropped = false;
    for (ptrdiff_t i = 0; i < n && !o->overflow; i++) {
        int32_t cp = cps[i];
        utf8proc_category_t cat = utf8proc_category(cp);
        if (cat == UTF8PROC_CATEGORY_CC)
            return false;
        if (cat == UTF8PROC_CATEGORY_CF) {
            *dropped = true;
            continue;
        }
        if (cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
            cat == UTF8PROC_CATEGORY_ZP) {
            if (strip)
                *dropped = true;
            else
                o->pending_space = true;
            continue;
        }
        if (strip && is_dash(cp)) {
            *dropped = true;
            continue;
        }
        if (policy == UF_CASE_UPPER)
            cp = utf8proc_toupper(cp);
        else if (policy == UF_CASE_LOWER)
            cp = utf8proc_tolower(cp);
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t k = utf8proc_encode_char(cp, enc);
        put(o, (const char *)enc, (size_t)k);
    }
    return true;
}

/*
 * Unicode path. Removing a separator can bring a base letter and a combining
 * mark together ("I¨" is "I", space, U+0308 after NFKC): then the result is
 * normalized once more, so that normalizing an output again changes nothing.
 */
static bool normalize_unicode(uf_slice in, uf_case_policy policy, bool strip, id_out *o)
{
    bool dropped = false;
    if (!unicode_pass(in, policy, strip, o, &dropped))
        return false;
    if (!dropped || o->overflow)
        return true;
    char first[UF_NORM_MAX];
    memcpy(first, o->buf, o->len);
    uf_slice again = uf_slice_make(first, o->len);
    o->len = 0;
    o->pending_space = false;
    return unicode_pass(again, policy, strip, o, &dropped);
}

/* A placeholder word such as "n/a" or "none", in any case. */
static bool is_placeholder_word(const char *s, size_t n)
{
    static const uf_word id_placeholders[] = {
    UF_WORD("n.a"), UF_WORD("n.a."), UF_WORD("n/a"), UF_WORD("na"), UF_WORD("nan"), UF_WORD("nil"),
    UF_WORD("none"), UF_WORD("not applicable"), UF_WORD("not available"), UF_WORD("null"),
    UF_WORD("tba"), UF_WORD("tbd"), UF_WORD("test"), UF_WORD("undefined"), UF_WORD("unk"),
    UF_WORD("unknown"), UF_WORD("void"),
};
    enum { PLACEHOLDER_MAX = 14 }; /* longest word above */
    if (n > PLACEHOLDER_MAX)
        return false;
    char lower[PLACEHOLDER_MAX];
    for (size_t i = 0; i < n; i++)
        lower[i] = apply_case(s[i], UF_CASE_LOWER);
    return uf_word_in_sorted(lower, n, id_placeholders, UF_ARRAY_LEN(id_placeholders));
}

/* Shape of an ASCII identifier, for the placeholder checks, and the case of its letters. */
enum {
    S_ZEROS = 1,    /* every kept byte is "0" (or none) */
    S_XS = 2,       /* every kept byte is "x" or "X" (or none) */
    S_DIGIT = 4,    /* some byte is a digit */
    S_WORD = 8,     /* some byte is a letter or digit */
    S_UPPER = 0x20, /* A-Z: the bit that flips the case */
    S_LOWER = 0x40, /* a-z */
};

/* Per printable ASCII byte: the shape bits it keeps (ZEROS, XS) and adds (DIGIT, WORD), its case. */
#define DIGIT_CLASS(c) [c] = S_DIGIT | S_WORD
#define LETTER_CLASS(c) [c] = S_WORD | S_LOWER, [(c) - 32] = S_WORD | S_UPPER
static const unsigned char id_shape[128] = {
    ['0'] = S_ZEROS | S_DIGIT | S_WORD, DIGIT_CLASS('1'), DIGIT_CLASS('2'), DIGIT_CLASS('3'),
    DIGIT_CLASS('4'), DIGIT_CLASS('5'), DIGIT_CLASS('6'), DIGIT_CLASS('7'), DIGIT_CLASS('8'),
    DIGIT_CLASS('9'),
    LETTER_CLASS('a'), LETTER_CLASS('b'), LETTER_CLASS('c'), LETTER_CLASS('d'), LETTER_CLASS('e'),
    LETTER_CLASS('f'), LETTER_CLASS('g'), LETTER_CLASS('h'), LETTER_CLASS('i'), LETTER_CLASS('j'),
    LETTER_CLASS('k'), LETTER_CLASS('l'), LETTER_CLASS('m'), LETTER_CLASS('n'), LETTER_CLASS('o'),
    LETTER_CLASS('p'), LETTER_CLASS('q'), LETTER_CLASS('r'), LETTER_CLASS('s'), LETTER_CLASS('t'),
    LETTER_CLASS('u'), LETTER_CLASS('v'), LETTER_CLASS('w'),
    ['x'] = S_XS | S_WORD | S_LOWER, ['X'] = S_XS | S_WORD | S_UPPER, LETTER_CLASS('y'),
    LETTER_CLASS('z'),
};
#undef DIGIT_CLASS
#undef LETTER_CLASS

/*
 * The ASCII pass from p[*pos] up to `end` or the first non-ASCII byte (left
 * in *pos), written to out. Returns the shape bits, or -1 for a control
 * character or a result longer than UF_NORM_MAX. Inlined once per case
 * policy and separator setting, so the loop has no policy branches; when
 * `bounded` (input of at most UF_NORM_MAX bytes: the output is never longer
 * than the input) it needs no capacity checks either.
 */
static inline __attribute__((always_inline)) int
ascii_pass(const unsigned char *p, size_t *pos, size_t end, uf_case_policy policy, bool strip,
           bool bounded, char *out, size_t *out_len)
{
    size_t len = 0, i = *pos;
    bool pending = false;
    unsigned keep = S_ZEROS | S_XS, seen = 0;
    for (; i < end; i++) {
        unsigned char c = p[i];
        if ((unsigned char)(c - 0x21) >= 0x5e) { /* space, control, DEL or non-ASCII */
            if (c >= 0x80)
                break;
            if (c != ' ')
                return -1; /* control character or NUL */
            pending = !strip;
            continue;
        }
        if (strip && c == '-')
            continue;
        if (!strip && pending) { /* with strip_separators nothing is ever pending */
            if (len) {
                if (!bounded && len >= UF_NORM_MAX)
                    return -1;
                out[len++] = ' ';
            }
            pending = false;
        }
        if (!bounded && len >= UF_NORM_MAX)
            return -1;
        unsigned shape = id_shape[c];
        if (policy == UF_CASE_UPPER)
            c ^= (unsigned char)((shape & S_LOWER) >> 1); /* a-z: clear 0x20 */
        else if (policy == UF_CASE_LOWER)
            c ^= (unsigned char)(shape & S_UPPER); /* A-Z: set 0x20 */
        out[len++] = (char)c;
        keep &= shape;
        seen |= shape;
    }
    *pos = i;
    *out_len = len;
    return (int)((keep & (S_ZEROS | S_XS)) | (seen & (S_DIGIT | S_WORD)));
}

uf_norm_status uf_normalize_identifier(uf_slice in, uf_case_policy case_policy,
                                       bool strip_separators, char *out, size_t *out_len)
{
    *out_len = 0;
    const unsigned char *p = (const unsigned char *)in.ptr;
    size_t s = 0, e = p ? in.len : 0;
    while (s < e && is_space(p[s]))
        s++;
    while (e > s && is_space(p[e - 1]))
        e--;
    if (s == e)
        return UF_NORM_EMPTY;
    if (e - s > UF_NORM_INPUT_MAX)
        return UF_NORM_INVALID;

    /* ASCII fast path, in registers; placeholder shapes are tracked on the way. */
    size_t len = 0, i = s;
    int st;
    if (e - s > UF_NORM_MAX) {
        st = ascii_pass(p, &i, e, case_policy, strip_separators, false, out, &len);
    } else {
        switch (case_policy) {
        case UF_CASE_UPPER:
            st = strip_separators ? ascii_pass(p, &i, e, UF_CASE_UPPER, true, true, out, &len)
                                  : ascii_pass(p, &i, e, UF_CASE_UPPER, false, true, out, &len);
            break;
        case UF_CASE_LOWER:
            st = strip_separators ? ascii_pass(p, &i, e, UF_CASE_LOWER, true, true, out, &len)
                                  : ascii_pass(p, &i, e, UF_CASE_LOWER, false, true, out, &len);
            break;
        default:
            st = strip_separators ? ascii_pass(p, &i, e, UF_CASE_PRESERVE, true, true, out, &len)
                                  : ascii_pass(p, &i, e, UF_CASE_PRESERVE, false, true, out, &len);
            break;
        }
    }
    if (st < 0)
        return UF_NORM_INVALID;
    if (i == e) {
        unsigned shape = (unsigned)st;
        if (!(shape & S_WORD))
            return UF_NORM_EMPTY; /* only punctuation */
        /* No placeholder word has a digit; most identifiers do. */
        if ((shape & (S_ZEROS | S_XS)) ||
            (!(shape & S_DIGIT) && is_placeholder_word(out, len)))
            return UF_NORM_JUNK;
        *out_len = len;
        return UF_NORM_OK;
    }

    id_out o = {out, 0, false, false};
    if (!normalize_unicode(uf_slice_make(in.ptr + s, e - s), case_policy, strip_separators, &o))
        return UF_NORM_INVALID;
    if (o.overflow)
        return UF_NORM_INVALID;
    bool zeros = true, xs = true, word = false;
    for (size_t k = 0; k < o.len; k++) {
        unsigned char c = (unsigned char)out[k];
        if (c == ' ')
            continue; /* as on the ASCII path: "0 0" is all zeros */
        word = word || c >= 0x80 || (c >= '0' && c <= '9') ||
               ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
        zeros = zeros && c == '0';
        xs = xs && (c | 0x20) == 'x';
    }
    if (!word)
        return UF_NORM_EMPTY; /* only punctuation */
    if (zeros || xs || is_placeholder_word(out, o.len))
        return UF_NORM_JUNK;
    *out_len = o.len;
    return UF_NORM_OK;
}
