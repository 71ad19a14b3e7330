/*
 * compare.c — string primitives and the per-field comparison levels of
 * scored matching.
 *
 * The idea: the level functions run for every candidate pair (tens of
 * millions per run), so each one tries the cheapest test first — an exact
 * memcmp, then integer or prefix checks — and only then the O(n·m) string
 * measures, which themselves work on the stack for the short values names,
 * postcodes and cities are. Nothing here allocates on that path; only
 * inputs far longer than any name (hundreds of bytes) fall back to malloc.
 *
 * Trade-offs:
 *  - Jaro–Winkler is plain Winkler (prefix scale 0.1, up to 4 bytes, no
 *    0.7 boost threshold), as in the literature the level thresholds come
 *    from (0.88 / 0.94 as in Splink's name comparisons). Up to 64 bytes it
 *    runs on 64-bit position sets (one AND per byte instead of a window
 *    scan); longer inputs use the textbook flag arrays.
 *  - Damerau–Levenshtein is the optimal string alignment variant (no
 *    substring edited twice): cheaper than the unrestricted distance and
 *    all that typo detection needs. It strips the common prefix and suffix
 *    (exact for OSA), then runs a band of width 2·max+1 over the rest, so
 *    the usual `max = 1` needs no table at all (what is left after the
 *    stripping decides it) and larger `max` stops as soon as two rows are
 *    entirely above `max`.
 *  - Comparison is byte-wise (compare.h): a multi-byte character counts as
 *    several, which only makes non-Latin names a little stricter.
 *  - Address: two addresses that both start with a house number and whose
 *    numbers differ are not NEAR however similar the street is ("12 main
 *    street" vs "14 main street" are neighbours, not one home); the
 *    whole-string Jaro–Winkler rule applies when at most one side has a
 *    leading number.
 */
#include "compare.h"

#include "normalize.h"

#include <limits.h>
#include <stdlib.h>

/* Threshold comparisons tolerate rounding in the last bits of a similarity. */
#define JW_EPSILON 1e-12

/* Stack space of the string measures; longer inputs allocate. */
#define JW_STACK_FLAGS 256
#define DL_STACK_CELLS (3 * 129)

/* ------------------------------------------------------------------ */
/* Names of fields and levels                                          */
/* ------------------------------------------------------------------ */

typedef struct field_info {
    const char *name;
    int level_count;
    const char *levels[UF_CMP_MAX_LEVELS];
} field_info;

static const field_info fields[UF_CMP_FIELD_COUNT] = {
    [UF_CMP_FIRST_NAME] = {"first_name", UF_FIRST_LEVELS,
                           {"else", "jaro_winkler>=0.88", "jaro_winkler>=0.94|dl<=1", "nickname", "exact"}},
    [UF_CMP_LAST_NAME] = {"last_name", UF_LAST_LEVELS,
                          {"else", "jaro_winkler>=0.88", "jaro_winkler>=0.94|dl<=1", "exact"}},
    [UF_CMP_DOB] = {"dob", UF_DOB_LEVELS, {"else", "one_field_off", "day_month_transposed", "exact"}},
    [UF_CMP_POSTCODE] = {"postcode", UF_POSTCODE_LEVELS, {"else", "dl<=1", "exact"}},
    [UF_CMP_ADDRESS] = {"address", UF_ADDRESS_LEVELS,
                        {"else", "house_number+jaro_winkler>=0.90|jaro_winkler>=0.94", "exact"}},
    [UF_CMP_CITY] = {"city", UF_CITY_LEVELS, {"else", "jaro_winkler>=0.92", "exact"}},
    [UF_CMP_PHONE] = {"phone", UF_PHONE_LEVELS, {"else", "last_7_digits", "exact"}},
    [UF_CMP_EMAIL] = {"email", UF_EMAIL_LEVELS, {"else", "same_local_part|dl<=1", "exact"}},
    [UF_CMP_IDENTIFIER] = {"identifier", UF_IDENTIFIER_LEVELS, {"else", "shared"}},
};

int uf_cmp_level_count(uf_cmp_field field)
{
    if ((unsigned)field >= UF_CMP_FIELD_COUNT)
        return 0;
    return fields[field].level_count;
}

const char *uf_cmp_field_name(uf_cmp_field field)
{
    if ((unsigned)field >= UF_CMP_FIELD_COUNT)
        return "unknown";
    return fields[field].name;
}

const char *uf_cmp_level_name(uf_cmp_field field, int level)
{
    if (level == UF_CMP_MISSING)
        return "missing";
    if ((unsigned)field >= UF_CMP_FIELD_COUNT || level < 0 || level >= fields[field].level_count)
        return "unknown";
    return fields[field].levels[level];
}

/* ------------------------------------------------------------------ */
/* Jaro–Winkler                                                        */
/* ------------------------------------------------------------------ */

static double jaro_with_flags(const char *a, size_t alen, const char *b, size_t blen, uint8_t *amatch,
                              uint8_t *bmatch)
{
    size_t longer = alen > blen ? alen : blen;
    size_t window = longer / 2 > 0 ? longer / 2 - 1 : 0;
    memset(amatch, 0, alen);
    memset(bmatch, 0, blen);

    size_t matches = 0;
    for (size_t i = 0; i < alen; i++) {
        size_t lo = i > window ? i - window : 0;
        size_t hi = i + window + 1 < blen ? i + window + 1 : blen;
        char c = a[i];
        for (size_t j = lo; j < hi; j++) {
            if (!bmatch[j] && b[j] == c) {
                amatch[i] = bmatch[j] = 1;
                matches++;
                break;
            }
        }
    }
    if (matches == 0)
        return 0.0;

    size_t half_transpositions = 0;
    size_t k = 0;
    for (size_t i = 0; i < alen; i++) {
        if (!amatch[i])
            continue;
        while (!bmatch[k])
            k++;
        if (a[i] != b[k])
            half_transpositions++;
        k++;
    }
    double m = (double)matches;
    double t = (double)(half_transpositions / 2);
    return (m / (double)alen + m / (double)blen + (m - t) / m) / 3.0;
}

/*
 * Jaro of strings of at most 64 bytes with bit sets: positions[c] holds the
 * positions of byte c in b, so each byte of a finds its match with one AND
 * and a count of trailing zeros instead of a scan of the window. Only the
 * entries of bytes that occur in a or b are written, and only those are read.
 */
static double jaro_short(const char *a, size_t alen, const char *b, size_t blen)
{
    uint64_t positions[256];
    const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
    for (size_t i = 0; i < alen; i++)
        positions[ua[i]] = 0;
    for (size_t j = 0; j < blen; j++)
        positions[ub[j]] = 0;
    for (size_t j = 0; j < blen; j++)
        positions[ub[j]] |= UINT64_C(1) << j;

    size_t longer = alen > blen ? alen : blen;
    size_t window = longer / 2 > 0 ? longer / 2 - 1 : 0;
    uint64_t amatch = 0, bfree = blen == 64 ? ~UINT64_C(0) : (UINT64_C(1) << blen) - 1;
    size_t matches = 0;
    for (size_t i = 0; i < alen; i++) {
        size_t lo = i > window ? i - window : 0;
        size_t hi = i + window + 1 < blen ? i + window + 1 : blen; /* exclusive, <= 64 */
        if (lo >= hi)
            continue;
        uint64_t in_window = (hi == 64 ? ~UINT64_C(0) : (UINT64_C(1) << hi) - 1) & ~((UINT64_C(1) << lo) - 1);
        uint64_t candidates = positions[ua[i]] & bfree & in_window;
        if (candidates) {
            bfree &= ~(candidates & (~candidates + 1)); /* take the lowest candidate */
            amatch |= UINT64_C(1) << i;
            matches++;
        }
    }
    if (matches == 0)
        return 0.0;

    uint64_t bmatch = ~bfree & (blen == 64 ? ~UINT64_C(0) : (UINT64_C(1) << blen) - 1);
    size_t half_transpositions = 0;
    while (amatch) {
        int i = __builtin_ctzll(amatch), j = __builtin_ctzll(bmatch);
        half_transpositions += a[i] != b[j];
        amatch &= amatch - 1;
        bmatch &= bmatch - 1;
    }
    double m = (double)matches;
    double t = (double)(half_transpositions / 2);
    return (m / (double)alen + m / (double)blen + (m - t) / m) / 3.0;
}

double uf_jaro_winkler(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen == 0 && blen == 0)
        return 1.0;
    if (alen == 0 || blen == 0)
        return 0.0;
    if (alen == blen && memcmp(a, b, alen) == 0)
        return 1.0;

    double jaro;
    if (alen <= 64 && blen <= 64) {
        jaro = jaro_short(a, alen, b, blen);
    } else {
        uint8_t stack_flags[JW_STACK_FLAGS];
        uint8_t *flags = stack_flags;
        if (alen + blen > sizeof stack_flags) {
            flags = malloc(alen + blen);
            if (!flags)
                return 0.0; /* out of memory: the conservative answer, "not similar" */
        }
        jaro = jaro_with_flags(a, alen, b, blen, flags, flags + alen);
        if (flags != stack_flags)
            free(flags);
    }

    size_t prefix = 0;
    while (prefix < 4 && prefix < alen && prefix < blen && a[prefix] == b[prefix])
        prefix++;
    return jaro + (double)prefix * 0.1 * (1.0 - jaro);
}

/* ------------------------------------------------------------------ */
/* Optimal string alignment distance                                   */
/* ------------------------------------------------------------------ */

static inline int min3(int x, int y, int z)
{
    int m = x < y ? x : y;
    return m < z ? m : z;
}

/*
 * The band: row i holds columns j = i-k .. i+k at slots d = j - i + k.
 * Cells outside the band or the matrix read as k + 1: every path through
 * them costs more than k, so any value <= k computed here is exact.
 */
static int osa_band(const char *a, int n, const char *b, int m, int k, int *cells)
{
    int width = 2 * k + 1;
    int over = k + 1;
    int *prev2 = cells, *prev = cells + width, *cur = cells + 2 * width;

    for (int d = 0; d < width; d++) {
        int j = d - k;
        prev[d] = (j >= 0 && j <= m) ? j : over;
        prev2[d] = over;
    }
    int prev_min = 0;
    for (int i = 1; i <= n; i++) {
        int row_min = over;
        char ai = a[i - 1];
        for (int d = 0; d < width; d++) {
            int j = i + d - k;
            int v;
            if (j < 0 || j > m) {
                v = over;
            } else if (j == 0) {
                v = i;
            } else {
                int up = d + 1 < width ? prev[d + 1] : over;  /* (i-1, j) */
                int left = d > 0 ? cur[d - 1] : over;         /* (i, j-1) */
                int diag = prev[d] + (ai != b[j - 1]);       /* (i-1, j-1) */
                v = min3(up + 1, left + 1, diag);
                if (i > 1 && j > 1 && ai == b[j - 2] && a[i - 2] == b[j - 1] && prev2[d] + 1 < v)
                    v = prev2[d] + 1; /* transposition from (i-2, j-2) */
            }
            if (v > over)
                v = over;
            cur[d] = v;
            if (v < row_min)
                row_min = v;
        }
        /* A transposition can step over one row, so two rows above k end it. */
        if (row_min > k && prev_min > k)
            return over;
        prev_min = row_min;
        int *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[m - n + k];
}

int uf_damerau_levenshtein(const char *a, size_t alen, const char *b, size_t blen, int max)
{
    if (max < 0)
        max = 0;
    /* Common prefix and suffix never change an OSA distance. */
    while (alen > 0 && blen > 0 && *a == *b) {
        a++, b++;
        alen--, blen--;
    }
    while (alen > 0 && blen > 0 && a[alen - 1] == b[blen - 1])
        alen--, blen--;

    size_t diff = alen > blen ? alen - blen : blen - alen;
    if (diff > (size_t)max)
        return max + 1;
    if (alen == 0 || blen == 0)
        return (int)diff;
    /*
     * After stripping, one edit leaves exactly one byte against at most one
     * byte, or two bytes against the same two swapped; anything else is at
     * least two edits. This answers the common max = 1 without any table.
     */
    if (max <= 1) {
        if (alen == 1 && blen == 1)
            return 1;
        if (alen == 2 && blen == 2 && a[0] == b[1] && a[1] == b[0])
            return 1;
        return max + 1;
    }

    if (alen > (size_t)INT_MAX / 4 || blen > (size_t)INT_MAX / 4)
        return max + 1; /* beyond any string the engine compares */
    /* The distance is at most the longer length: a wider band is wasted. */
    size_t longer = alen > blen ? alen : blen;
    int k = (size_t)max < longer ? max : (int)longer;

    int stack_cells[DL_STACK_CELLS];
    int *cells = stack_cells;
    size_t need = 3 * (2 * (size_t)k + 1);
    if (need > UF_ARRAY_LEN(stack_cells)) {
        cells = malloc(need * sizeof *cells);
        if (!cells)
            return max + 1; /* out of memory: "not within max" is the safe answer */
    }
    int d = osa_band(a, (int)alen, b, (int)blen, k, cells);
    if (cells != stack_cells)
        free(cells);
    return d > k ? max + 1 : d;
}

/* ------------------------------------------------------------------ */
/* Soundex                                                             */
/* ------------------------------------------------------------------ */

/* Soundex digit per lower-case letter; '0' for vowels and y, 0 for h and w. */
static const char soundex_code[26] = {
    '0', '1', '2', '3', '0', '1', '2', 0,   '0', '2', '2', '4', '5', /* a..m */
    '5', '0', '1', '2', '6', '2', '3', '0', '1', 0,   '2', '0', '2', /* n..z */
};

static inline int ascii_lower_letter(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        return c;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 'a';
    return 0;
}

uint32_t uf_soundex(const char *name, size_t len)
{
    size_t i = 0;
    int first = 0;
    while (i < len && !(first = ascii_lower_letter((unsigned char)name[i])))
        i++;
    if (!first)
        return 0;
    char out[4] = {(char)(first - 'a' + 'A'), '0', '0', '0'};
    int n = 1;
    char last = soundex_code[first - 'a'];
    for (i++; i < len && n < 4; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == ' ')
            break; /* the first word only */
        int l = ascii_lower_letter(c);
        if (!l)
            continue; /* apostrophes, digits, non-ASCII bytes: skipped like h and w */
        char code = soundex_code[l - 'a'];
        if (code == 0)
            continue; /* h, w: do not separate equal codes */
        if (code != '0' && code != last)
            out[n++] = code;
        last = code;
    }
    return (uint32_t)(unsigned char)out[0] << 24 | (uint32_t)(unsigned char)out[1] << 16 |
           (uint32_t)(unsigned char)out[2] << 8 | (uint32_t)(unsigned char)out[3];
}

/* ------------------------------------------------------------------ */
/* Levels                                                              */
/* ------------------------------------------------------------------ */

static inline bool slice_same(uf_slice a, uf_slice b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static inline double jw(uf_slice a, uf_slice b)
{
    return uf_jaro_winkler(a.ptr, a.len, b.ptr, b.len);
}

static inline bool within_one_edit(uf_slice a, uf_slice b)
{
    return uf_damerau_levenshtein(a.ptr, a.len, b.ptr, b.len, 1) <= 1;
}

/* The shared JW / DL ladder of first and last names: 2 = JW94_DL1, 1 = JW88, 0 = else. */
static inline int name_similarity(uf_slice a, uf_slice b)
{
    double s = jw(a, b);
    if (s >= 0.94 - JW_EPSILON)
        return 2;
    /* A length gap above one rules out DL <= 1 before any DP. */
    size_t diff = a.len > b.len ? a.len - b.len : b.len - a.len;
    if (diff <= 1 && within_one_edit(a, b))
        return 2;
    return s >= 0.88 - JW_EPSILON ? 1 : 0;
}

int uf_cmp_first_name(uf_slice a, uf_slice b)
{
    if (a.len == 0 || b.len == 0)
        return UF_CMP_MISSING;
    if (slice_same(a, b))
        return UF_FIRST_EXACT;
    return uf_cmp_first_name_canonical(a, b, uf_nickname_canonical(a.ptr, a.len), uf_nickname_canonical(b.ptr, b.len));
}

int uf_cmp_first_name_canonical(uf_slice a, uf_slice b, const char *ca, const char *cb)
{
    if (a.len == 0 || b.len == 0)
        return UF_CMP_MISSING;
    if (slice_same(a, b))
        return UF_FIRST_EXACT;
    if (ca || cb) {
        uf_slice sa = ca ? uf_slice_cstr(ca) : a;
        uf_slice sb = cb ? uf_slice_cstr(cb) : b;
        if (slice_same(sa, sb))
            return UF_FIRST_NICKNAME;
    }
    static const int ladder[3] = {UF_FIRST_ELSE, UF_FIRST_JW88, UF_FIRST_JW94_DL1};
    return ladder[name_similarity(a, b)];
}

int uf_cmp_last_name(uf_slice a, uf_slice b)
{
    if (a.len == 0 || b.len == 0)
        return UF_CMP_MISSING;
    if (slice_same(a, b))
        return UF_LAST_EXACT;
    static const int ladder[3] = {UF_LAST_ELSE, UF_LAST_JW88, UF_LAST_JW94_DL1};
    return ladder[name_similarity(a, b)];
}

int uf_cmp_dob(uint32_t a, uint32_t b)
{
    if (a == 0 || b == 0)
        return UF_CMP_MISSING;
    if (a == b)
        return UF_DOB_EXACT;
    uint32_t ya = a / 10000, ma = a / 100 % 100, da = a % 100;
    uint32_t yb = b / 10000, mb = b / 100 % 100, db = b % 100;
    if (ya == yb && ma == db && da == mb && da != ma)
        return UF_DOB_TRANSPOSED;
    int same = (ya == yb) + (ma == mb) + (da == db);
    return same == 2 ? UF_DOB_ONE_FIELD_OFF : UF_DOB_ELSE;
}

int uf_cmp_postcode(uf_slice a, uf_slice b)
{
    if (a.len == 0 || b.len == 0)
        return UF_CMP_MISSING;
    if (slice_same(a, b))
        return UF_POSTCODE_EXACT;
    return within_one_edit(a, b) ? UF_POSTCODE_NEAR : UF_POSTCODE_ELSE;
}

/* Length of the leading house-number token ("12", "12a"), 0 when the address starts otherwise. */
static size_t house_number_len(uf_slice s)
{
    if (s.len == 0 || s.ptr[0] < '0' || s.ptr[0] > '9')
        return 0;
    size_t n = 1;
    while (n < s.len && s.ptr[n] != ' ')
        n++;
    return n;
}

int uf_cmp_address(uf_slice a, uf_slice b)
{
    if (a.len == 0 || b.len == 0)
        return UF_CMP_MISSING;
    if (slice_same(a, b))
        return UF_ADDRESS_EXACT;
    size_t na = house_number_len(a), nb = house_number_len(b);
    if (na && nb) {
        if (na != nb || memcmp(a.ptr, b.ptr, na) != 0)
            return UF_ADDRESS_ELSE; /* different homes on one street */
        size_t sa = na < a.len ? na + 1 : na, sb = nb < b.len ? nb + 1 : nb;
        uf_slice ra = uf_slice_make(a.ptr + sa, a.len - sa), rb = uf_slice_make(b.ptr + sb, b.len - sb);
        return jw(ra, rb) >= 0.90 - JW_EPSILON ? UF_ADDRESS_NEAR : UF_ADDRESS_ELSE;
    }
    return jw(a, b) >= 0.94 - JW_EPSILON ? UF_ADDRESS_NEAR : UF_ADDRESS_ELSE;
}

int uf_cmp_city(uf_slice a, uf_slice b)
{
    if (a.len == 0 || b.len == 0)
        return UF_CMP_MISSING;
    if (slice_same(a, b))
        return UF_CITY_EXACT;
    return jw(a, b) >= 0.92 - JW_EPSILON ? UF_CITY_NEAR : UF_CITY_ELSE;
}

#define PHONE_TAIL_DIGITS 7

int uf_cmp_phone(uf_slice a, uf_slice b)
{
    if (a.len == 0 || b.len == 0)
        return UF_CMP_MISSING;
    if (slice_same(a, b))
        return UF_PHONE_EXACT;
    if (a.len >= PHONE_TAIL_DIGITS && b.len >= PHONE_TAIL_DIGITS &&
        memcmp(a.ptr + a.len - PHONE_TAIL_DIGITS, b.ptr + b.len - PHONE_TAIL_DIGITS, PHONE_TAIL_DIGITS) == 0)
        return UF_PHONE_LAST_DIGITS;
    return UF_PHONE_ELSE;
}

int uf_cmp_email(uf_slice a, uf_slice b)
{
    if (a.len == 0 || b.len == 0)
        return UF_CMP_MISSING;
    if (slice_same(a, b))
        return UF_EMAIL_EXACT;
    const char *at_a = memchr(a.ptr, '@', a.len);
    const char *at_b = memchr(b.ptr, '@', b.len);
    if (at_a && at_b) {
        size_t la = (size_t)(at_a - a.ptr), lb = (size_t)(at_b - b.ptr);
        if (la > 0 && la == lb && memcmp(a.ptr, b.ptr, la) == 0)
            return UF_EMAIL_NEAR;
    }
    size_t diff = a.len > b.len ? a.len - b.len : b.len - a.len;
    return diff <= 1 && within_one_edit(a, b) ? UF_EMAIL_NEAR : UF_EMAIL_ELSE;
}

int uf_cmp_identifier(const uint32_t a[UF_CMP_MAX_IDENTIFIERS], const uint32_t b[UF_CMP_MAX_IDENTIFIERS])
{
    if (!a[0] || !b[0])
        return UF_CMP_MISSING;
    for (int i = 0; i < UF_CMP_MAX_IDENTIFIERS && a[i]; i++)
        for (int j = 0; j < UF_CMP_MAX_IDENTIFIERS && b[j]; j++)
            if (a[i] == b[j])
                return UF_IDENTIFIER_SHARED;
    return UF_IDENTIFIER_ELSE;
}
