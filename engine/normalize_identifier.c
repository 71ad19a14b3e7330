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
    bool pending = false, zeros = true, xs = true, word = false, digit = false;
    for (; i < e; i++) {
        unsigned char c = p[i];
        if (c >= 0x80)
            break;
        if (c <= ' ' || c == 0x7f) {
            if (c != ' ')
                return UF_NORM_INVALID; /* control character or NUL */
            pending = !strip_separators;
            continue;
        }
        if (c == '-' && strip_separators)
            continue;
        if (pending && len) {
            if (len >= UF_NORM_MAX)
                return UF_NORM_INVALID;
            out[len++] = ' ';
        }
        pending = false;
        if (len >= UF_NORM_MAX)
            return UF_NORM_INVALID;
        char ch = apply_case((char)c, case_policy);
        out[len++] = ch;
        zeros = zeros && c == '0';
        xs = xs && (c | 0x20) == 'x';
        digit = digit || (c >= '0' && c <= '9');
        word = word || digit || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    }
    if (i == e) {
        if (!word)
            return UF_NORM_EMPTY; /* only punctuation */
        /* No placeholder word has a digit; most identifiers do. */
        if (zeros || xs || (!digit && is_placeholder_word(out, len)))
            return UF_NORM_JUNK;
        *out_len = len;
        return UF_NORM_OK;
    }

    id_out o = {out, 0, false, false};
    if (!normalize_unicode(uf_slice_make(in.ptr + s, e - s), case_policy, strip_separators, &o))
        return UF_NORM_INVALID;
    if (o.overflow)
        return UF_NORM_INVALID;
    zeros = xs = true;
    word = false;
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
