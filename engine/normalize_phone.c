/*
 * normalize_phone.c — telephone numbers to E.164 ("+<country code><national
 * significant number>"), the one spelling every system can agree on.
 *
 * The idea: keep the digits, work out the country, drop the national trunk
 * prefix, check the length. A small table knows, per country, the calling
 * code, the trunk prefix ("0" in most of Europe, "1" in the NANP, "8" in
 * Russia, none in Spain or Italy — Italian numbers keep their leading 0 in
 * E.164), the international call prefix ("00", "011" in the NANP, "0011" in
 * Australia, ...) and the range of valid national lengths. This is a length
 * plausibility check, not libphonenumber: it rejects what cannot be a
 * number, not every unassigned range.
 *
 * Rules:
 *  - "+" (or a "tel:" scheme) marks an international number; so does the
 *    default country's international prefix ("00 44 ...", "011 44 ...").
 *    A calling code not in the table is accepted with the generic E.164
 *    bounds (8 to 15 digits, first digit not 0).
 *  - Otherwise the number is national to the default country: the trunk
 *    prefix is dropped. A number typed with its country code but without
 *    "+" ("447911123456" for GB) is recognised when it is not a valid
 *    national number as typed but is one after the code.
 *  - "+44 (0)20 ..." — the trunk prefix written after the country code —
 *    is dropped when the trunk prefix is "0"-based (no national significant
 *    number starts with 0 in those countries).
 *  - NANP (US, CA, ...): 10 digits, area code and exchange start with 2-9.
 *    The fictional 555-01xx range is accepted: it is valid syntax and test
 *    data should not vanish silently.
 *  - Separators: spaces (also NBSP and other Unicode spaces), - . / ( ) and
 *    Unicode dashes; full-width digits and plus are read as ASCII. Anything
 *    after "x", "ext", "#", ",", ";" or "p"/"w" (pause, wait) is an
 *    extension or dial string and is dropped. Other letters (vanity numbers
 *    such as 1-800-FLOWERS) and other characters are UF_NORM_INVALID.
 *  - With a NANP default country, "00" is read as international too (the
 *    form callers from Europe type; no NANP number starts with 0).
 *  - Without a known default country only "+" and "00" numbers are read.
 *  - Junk: all digits the same (0000000000, 5555555555, also as the national
 *    number after the country code), ascending or descending runs of six or
 *    more (1234567890, 0123456789, 9876543210), and placeholder words
 *    ("n/a", "none", "unknown", ...).
 *
 * Pure and allocation-free; the table is const and binary-searched by ISO
 * code.
 */
#include "normalize.h"

#include <utf8proc.h>

#define MAX_DIGITS 20   /* longest digit string looked at (E.164 is 15) */
#define E164_MAX 15

typedef struct phone_country {
    char iso[3];
    char cc[4];          /* calling code digits */
    char trunk[3];       /* national trunk prefix, "" when none */
    char intl[5];        /* international call prefix */
    unsigned char min_len, max_len; /* national significant number lengths */
    bool nanp;
} phone_country;

/* Sorted by ISO code (binary search). */
static const phone_country countries[] = {
    {"AE", "971", "0", "00", 8, 9, false},
    {"AR", "54", "0", "00", 10, 11, false},
    {"AT", "43", "0", "00", 4, 13, false},
    {"AU", "61", "0", "0011", 9, 9, false},
    {"BE", "32", "0", "00", 8, 9, false},
    {"BR", "55", "0", "00", 10, 11, false},
    {"CA", "1", "1", "011", 10, 10, true},
    {"CH", "41", "0", "00", 9, 9, false},
    {"CL", "56", "", "00", 9, 9, false},
    {"CN", "86", "0", "00", 9, 11, false},
    {"CO", "57", "", "00", 10, 10, false},
    {"CZ", "420", "", "00", 9, 9, false},
    {"DE", "49", "0", "00", 6, 13, false},
    {"DK", "45", "", "00", 8, 8, false},
    {"EG", "20", "0", "00", 9, 10, false},
    {"ES", "34", "", "00", 9, 9, false},
    {"FI", "358", "0", "00", 5, 12, false},
    {"FR", "33", "0", "00", 9, 9, false},
    {"GB", "44", "0", "00", 9, 10, false},
    {"GR", "30", "", "00", 10, 10, false},
    {"HK", "852", "", "001", 8, 8, false},
    {"HU", "36", "06", "00", 8, 9, false},
    {"ID", "62", "0", "001", 8, 12, false},
    {"IE", "353", "0", "00", 7, 9, false},
    {"IL", "972", "0", "00", 8, 9, false},
    {"IN", "91", "0", "00", 10, 10, false},
    {"IT", "39", "", "00", 6, 11, false},
    {"JP", "81", "0", "010", 9, 10, false},
    {"KR", "82", "0", "001", 8, 10, false},
    {"KZ", "7", "8", "810", 10, 10, false},
    {"LU", "352", "", "00", 4, 11, false},
    {"MX", "52", "", "00", 10, 10, false},
    {"MY", "60", "0", "00", 8, 10, false},
    {"NG", "234", "0", "009", 8, 10, false},
    {"NL", "31", "0", "00", 9, 9, false},
    {"NO", "47", "", "00", 8, 8, false},
    {"NZ", "64", "0", "00", 8, 10, false},
    {"PE", "51", "0", "00", 8, 9, false},
    {"PH", "63", "0", "00", 8, 10, false},
    {"PK", "92", "0", "00", 9, 10, false},
    {"PL", "48", "", "00", 9, 9, false},
    {"PR", "1", "1", "011", 10, 10, true},
    {"PT", "351", "", "00", 9, 9, false},
    {"RO", "40", "0", "00", 9, 9, false},
    {"RU", "7", "8", "810", 10, 10, false},
    {"SA", "966", "0", "00", 8, 9, false},
    {"SE", "46", "0", "00", 6, 10, false},
    {"SG", "65", "", "001", 8, 8, false},
    {"TH", "66", "0", "001", 8, 9, false},
    {"TR", "90", "0", "00", 10, 10, false},
    {"UA", "380", "0", "00", 9, 9, false},
    {"US", "1", "1", "011", 10, 10, true},
    {"VN", "84", "0", "00", 9, 10, false},
    {"ZA", "27", "0", "00", 9, 9, false},
};

/* Length of a short table string (at most 4 bytes); not strlen, to stay inline. */
static inline size_t short_len(const char *s)
{
    return !s[0] ? 0 : !s[1] ? 1 : !s[2] ? 2 : !s[3] ? 3 : 4;
}

static inline char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
}

static const phone_country *country_by_iso(const char *iso)
{
    if (!iso || !iso[0] || !iso[1] || iso[2])
        return NULL;
    char a = upper(iso[0]), b = upper(iso[1]);
    size_t lo = 0, hi = UF_ARRAY_LEN(countries);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const phone_country *c = &countries[mid];
        int cmp = a != c->iso[0] ? a - c->iso[0] : b - c->iso[1];
        if (cmp == 0)
            return c;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

bool uf_phone_country_known(const char *country)
{
    return country_by_iso(country) != NULL;
}

/* Does `d` start with the (non-empty) table string `prefix`? */
static bool starts_with(const char *d, size_t n, const char *prefix)
{
    size_t pl = short_len(prefix);
    if (pl == 0 || pl > n)
        return false;
    for (size_t i = 0; i < pl; i++)
        if (d[i] != prefix[i])
            return false;
    return true;
}

/* The country whose calling code starts `d` (codes are prefix-free). */
static const phone_country *country_by_code(const char *d, size_t n)
{
    for (size_t i = 0; i < UF_ARRAY_LEN(countries); i++) {
        if (starts_with(d, n, countries[i].cc))
            return &countries[i];
    }
    return NULL;
}

static bool all_same(const char *d, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (d[i] != d[0])
            return false;
    return n > 0;
}

/* Ascending (0123..., 1234567890) or descending run, wrapping 9-0, of six or more. */
static bool sequential(const char *d, size_t n)
{
    if (n < 6)
        return false;
    bool up = true, down = true;
    for (size_t i = 1; i < n && (up || down); i++) {
        char a = d[i - 1], b = d[i];
        up = up && (b == a + 1 || (a == '9' && b == '0'));
        down = down && (b == a - 1 || (a == '0' && b == '9'));
    }
    return up || down;
}

static bool nanp_valid(const char *nsn, size_t n)
{
    return n == 10 && nsn[0] >= '2' && nsn[3] >= '2';
}

/* Is `nsn` a plausible national significant number of `c`? */
static bool national_valid(const phone_country *c, const char *nsn, size_t n)
{
    if (c->nanp)
        return nanp_valid(nsn, n);
    /* Where the trunk prefix is 0-based, no national significant number starts with 0. */
    if (c->trunk[0] == '0' && n > 0 && nsn[0] == '0')
        return false;
    return n >= c->min_len && n <= c->max_len && short_len(c->cc) + n <= E164_MAX;
}

/* Read the digits; *plus when the number starts with "+". INVALID/EMPTY/JUNK or OK. */
static uf_norm_status collect_digits(const unsigned char *p, size_t n, char *digits,
                                     size_t *ndigits, bool *plus)
{
    static const uf_word placeholders[] = {
        UF_WORD("na"), UF_WORD("n a"), UF_WORD("nan"), UF_WORD("none"), UF_WORD("null"),
        UF_WORD("nil"), UF_WORD("unknown"), UF_WORD("no"), UF_WORD("no phone"),
        UF_WORD("nophone"), UF_WORD("not provided"), UF_WORD("not available"), UF_WORD("tbd"),
        UF_WORD("tba"), UF_WORD("test"), UF_WORD("xxx"), UF_WORD("x"), UF_WORD("unk"),
        UF_WORD("declined"), UF_WORD("refused"),
    };
    size_t nd = 0;
    bool seen_plus = false, letters = false;
    size_t i = 0;
    if (n >= 4 && upper((char)p[0]) == 'T' && upper((char)p[1]) == 'E' &&
        upper((char)p[2]) == 'L' && p[3] == ':') {
        i = 4;
    }
    for (; i < n; i++) {
        unsigned char c = p[i];
        int32_t cp = c;
        size_t step = 1;
        if (c >= 0x80) {
            utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
            if (k <= 0)
                return UF_NORM_INVALID;
            step = (size_t)k;
            if (cp >= 0xFF10 && cp <= 0xFF19)
                cp = '0' + (cp - 0xFF10);          /* full-width digit */
            else if (cp == 0xFF0B)
                cp = '+';
            else if (cp == 0x00A0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F ||
                     cp == 0x3000 || (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 ||
                     cp == 0xFF0D || cp == 0xFF0E || cp == 0xFF08 || cp == 0xFF09)
                cp = ' ';
            else
                return UF_NORM_INVALID;
        }
        i += step - 1;
        if (cp >= '0' && cp <= '9') {
            if (nd == MAX_DIGITS)
                return UF_NORM_INVALID;
            digits[nd++] = (char)cp;
        } else if (cp == '+') {
            if (nd > 0 || seen_plus)
                return UF_NORM_INVALID;
            seen_plus = true;
        } else if (cp == ' ' || cp == '-' || cp == '.' || cp == '(' || cp == ')' ||
                   cp == '/' || cp == '\t') {
            continue;
        } else if (nd > 0 && (cp == 'x' || cp == 'X' || cp == 'e' || cp == 'E' || cp == '#' ||
                              cp == ',' || cp == ';' || cp == 'p' || cp == 'P' ||
                              cp == 'w' || cp == 'W')) {
            break; /* extension or dial string */
        } else if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) {
            letters = true;
        } else if (cp < 0x20 || cp == 0x7f) {
            return UF_NORM_INVALID;
        } else if (nd > 0) {
            return UF_NORM_INVALID;
        }
    }
    *ndigits = nd;
    *plus = seen_plus;
    if (nd == 0) {
        if (!letters)
            return UF_NORM_EMPTY; /* only separators and punctuation */
        char folded[UF_NORM_MAX];
        size_t fl = 0;
        if (uf_fold_text(uf_slice_make((const char *)p, n), NULL, folded, &fl) == UF_NORM_OK &&
            uf_word_in(folded, fl, placeholders, UF_ARRAY_LEN(placeholders)))
            return UF_NORM_JUNK;
        return UF_NORM_INVALID;
    }
    if (letters)
        return UF_NORM_INVALID;
    return UF_NORM_OK;
}

static uf_norm_status emit(const char *cc, const char *nsn, size_t n, char *out, size_t *out_len)
{
    if ((n >= 5 && all_same(nsn, n)) || sequential(nsn, n))
        return UF_NORM_JUNK;
    size_t cl = short_len(cc);
    out[0] = '+';
    memcpy(out + 1, cc, cl);
    memcpy(out + 1 + cl, nsn, n);
    *out_len = 1 + cl + n;
    return UF_NORM_OK;
}

/* Digits after the international prefix: "<cc><nsn>". */
static uf_norm_status international(const char *d, size_t n, char *out, size_t *out_len)
{
    if (n == 0 || d[0] == '0')
        return UF_NORM_INVALID;
    const phone_country *c = country_by_code(d, n);
    if (!c) {
        if (n < 8 || n > E164_MAX)
            return UF_NORM_INVALID;
        if (all_same(d + 1, n - 1) || sequential(d, n))
            return UF_NORM_JUNK;
        out[0] = '+';
        memcpy(out + 1, d, n);
        *out_len = n + 1;
        return UF_NORM_OK;
    }
    size_t cl = short_len(c->cc);
    const char *nsn = d + cl;
    size_t nn = n - cl;
    if (c->trunk[0] == '0' && starts_with(nsn, nn, c->trunk)) {
        size_t tl = short_len(c->trunk);
        nsn += tl;
        nn -= tl;
    }
    if (nn >= 5 && (all_same(nsn, nn) || sequential(nsn, nn)))
        return UF_NORM_JUNK;
    if (!national_valid(c, nsn, nn))
        return UF_NORM_INVALID;
    return emit(c->cc, nsn, nn, out, out_len);
}

uf_norm_status uf_normalize_phone(uf_slice in, const char *default_country,
                                  char *out, size_t *out_len)
{
    *out_len = 0;
    const unsigned char *p = (const unsigned char *)in.ptr;
    size_t n = p ? in.len : 0;
    while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    if (n == 0)
        return UF_NORM_EMPTY;
    if (n > UF_NORM_INPUT_MAX)
        return UF_NORM_INVALID;

    char d[MAX_DIGITS];
    size_t nd = 0;
    bool plus = false;
    uf_norm_status st = collect_digits(p, n, d, &nd, &plus);
    if (st != UF_NORM_OK)
        return st;
    if (all_same(d, nd) || sequential(d, nd))
        return UF_NORM_JUNK;
    if (plus)
        return international(d, nd, out, out_len);

    const phone_country *c = country_by_iso(default_country);
    if (c && starts_with(d, nd, c->intl))
        return international(d + short_len(c->intl), nd - short_len(c->intl), out, out_len);
    /* "00" is the international prefix nearly everywhere outside the NANP, and no NANP number
       starts with 0: in a NANP source "0044 ..." is a caller from abroad, not a bad number. */
    if (c && c->nanp && starts_with(d, nd, "00"))
        return international(d + 2, nd - 2, out, out_len);
    if (!c) {
        /* No usable default: only an unambiguous international "00" form. */
        if (starts_with(d, nd, "00"))
            return international(d + 2, nd - 2, out, out_len);
        return UF_NORM_INVALID;
    }

    /* National number of the default country. */
    const char *nsn = d;
    size_t nn = nd;
    if (starts_with(nsn, nn, c->trunk)) {
        size_t tl = short_len(c->trunk);
        if (national_valid(c, nsn + tl, nn - tl)) {
            nsn += tl;
            nn -= tl;
        }
    }
    if (national_valid(c, nsn, nn))
        return emit(c->cc, nsn, nn, out, out_len);
    /* Country code typed without "+"? */
    if (starts_with(d, nd, c->cc)) {
        uf_norm_status ist = international(d, nd, out, out_len);
        if (ist == UF_NORM_OK || ist == UF_NORM_JUNK)
            return ist;
        *out_len = 0;
    }
    return UF_NORM_INVALID;
}
