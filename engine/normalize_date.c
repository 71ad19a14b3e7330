/*
 * normalize_date.c — dates of birth to ISO "YYYY-MM-DD".
 *
 * The idea: read what exports actually contain — ISO dates with or without
 * a time part, numeric dates in the source's configured order, compact
 * digit strings, month names — and write one form, or say precisely why not.
 *
 * Accepted (after trimming; any time part — the text from the "T" or space
 * before the first ":" on — is ignored):
 *   - ISO: 1985-03-07, 1985/03/07, 1985.03.07, 19850307. A four-digit first
 *     field is always a year, whatever the configured order.
 *   - Numeric with one separator kind (/ . - or space) in the source's
 *     order: DMY 07/03/1985, MDY 03/07/1985, YMD 85-03-07.
 *   - Six digits (DDMMYY, MMDDYY, YYMMDD by order); eight digits that are not
 *     a valid YYYYMMDD are read as DDMMYYYY or MMDDYYYY by order.
 *   - Month names, English (and the common ASCII German spellings), full or
 *     abbreviated, with optional ordinals and weekday: "7 Mar 1985",
 *     "07-MAR-85", "March 7th, 1985", "Thu, 7 March 1985".
 *   - Two-digit years are 20yy unless that date is after today, then 19yy.
 *
 * Rejected:
 *   - UF_NORM_INVALID: impossible dates (month 13, 31 April, 29 February
 *     in a non-leap year — 1900 is not a leap year, 2000 is), years before
 *     1900, dates after today, anything with other characters.
 *   - UF_NORM_EMPTY: blank, or punctuation only ("-", "//").
 *   - UF_NORM_JUNK: placeholder words ("n/a", "unknown", "none") and system
 *     defaults and sentinels that are not birthdays:
 *     1900-01-01, 1970-01-01 (Unix epoch), 1899-12-30/31 (spreadsheet
 *     epochs), 1753-01-01 (SQL Server minimum), 0001-01-01 (.NET minimum),
 *     9999-12-31, and all-zero dates (00/00/0000).
 *
 * "Today" is a parameter (uf_normalize_dob_at) so that tests and a batch run
 * can pin it; uf_normalize_dob reads the UTC clock with time(), which is a
 * vDSO call — no time zone database, no locks, no allocation.
 */
#include "normalize.h"

#include <time.h>

#define DATE_INPUT_MAX 64
#define MAX_TOKENS 8

typedef enum token_kind { TOK_NUM, TOK_WORD } token_kind;

typedef struct token {
    token_kind kind;
    int value;      /* TOK_NUM: value; TOK_WORD: month 1..12, or 0 for a weekday */
    int digits;     /* TOK_NUM: number of digits */
    char sep_after; /* separator that followed the token, 0 if none */
} token;

/* Days since 1970-01-01 to civil date (H. Hinnant's algorithm). */
static int32_t civil_from_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    return (int32_t)(y * 10000 + m * 100 + d);
}

int32_t uf_today_yyyymmdd(void)
{
    time_t now = time(NULL);
    int64_t days = (int64_t)now / 86400;
    if ((int64_t)now < 0 && (int64_t)now % 86400)
        days--;
    return civil_from_days(days);
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static bool valid_ymd(int y, int m, int d)
{
    return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* Month 1..12 for a month name, 0 for a weekday name, -1 otherwise. */
static int month_word(const char *w, size_t n)
{
    static const struct {
        uf_word name;
        int month;
    } words[] = {
        {UF_WORD("jan"), 1}, {UF_WORD("january"), 1}, {UF_WORD("januar"), 1}, {UF_WORD("feb"), 2},
        {UF_WORD("february"), 2}, {UF_WORD("februar"), 2}, {UF_WORD("mar"), 3},
        {UF_WORD("march"), 3}, {UF_WORD("apr"), 4}, {UF_WORD("april"), 4}, {UF_WORD("may"), 5},
        {UF_WORD("mai"), 5}, {UF_WORD("jun"), 6}, {UF_WORD("june"), 6}, {UF_WORD("juni"), 6},
        {UF_WORD("jul"), 7}, {UF_WORD("july"), 7}, {UF_WORD("juli"), 7}, {UF_WORD("aug"), 8},
        {UF_WORD("august"), 8}, {UF_WORD("sep"), 9}, {UF_WORD("sept"), 9},
        {UF_WORD("september"), 9}, {UF_WORD("oct"), 10}, {UF_WORD("october"), 10},
        {UF_WORD("okt"), 10}, {UF_WORD("oktober"), 10}, {UF_WORD("nov"), 11},
        {UF_WORD("november"), 11}, {UF_WORD("dec"), 12}, {UF_WORD("december"), 12},
        {UF_WORD("dez"), 12}, {UF_WORD("dezember"), 12}, {UF_WORD("mon"), 0},
        {UF_WORD("monday"), 0}, {UF_WORD("tue"), 0}, {UF_WORD("tues"), 0}, {UF_WORD("tuesday"), 0},
        {UF_WORD("wed"), 0}, {UF_WORD("wednesday"), 0}, {UF_WORD("thu"), 0}, {UF_WORD("thur"), 0},
        {UF_WORD("thurs"), 0}, {UF_WORD("thursday"), 0}, {UF_WORD("fri"), 0},
        {UF_WORD("friday"), 0}, {UF_WORD("sat"), 0}, {UF_WORD("saturday"), 0}, {UF_WORD("sun"), 0},
        {UF_WORD("sunday"), 0},
    };
    for (size_t i = 0; i < UF_ARRAY_LEN(words); i++)
        if (words[i].name.len == n && memcmp(words[i].name.text, w, n) == 0)
            return words[i].month;
    return -1;
}

static inline bool is_sep(unsigned char c)
{
    return c == '/' || c == '.' || c == '-' || c == ' ' || c == ',' || c == '\t';
}

/* Split into numbers and words. Returns the token count, or -1 on a bad character. */
static int tokenize(const unsigned char *p, size_t n, token *toks)
{
    int count = 0;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (is_sep(c)) {
            if (count > 0 && toks[count - 1].sep_after == 0)
                toks[count - 1].sep_after = (char)(c == '\t' ? ' ' : c);
            else if (count > 0 && c != ' ' && toks[count - 1].sep_after == ' ')
                toks[count - 1].sep_after = (char)c; /* "7 ,1985": the punctuation counts */
            i++;
            continue;
        }
        if (count == MAX_TOKENS)
            return -1;
        token *t = &toks[count];
        t->sep_after = 0;
        if (c >= '0' && c <= '9') {
            int v = 0, digits = 0;
            while (i < n && p[i] >= '0' && p[i] <= '9') {
                if (digits == 8)
                    return -1;
                v = v * 10 + (p[i] - '0');
                digits++;
                i++;
            }
            /* Ordinal suffix glued to the number: 1st 2nd 3rd 4th. */
            if (i + 2 <= n) {
                char a = (char)(p[i] | 0x20), b = (char)(p[i + 1] | 0x20);
                if ((a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') ||
                    (a == 't' && b == 'h')) {
                    if (i + 2 == n || is_sep(p[i + 2]))
                        i += 2;
                }
            }
            t->kind = TOK_NUM;
            t->value = v;
            t->digits = digits;
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
            char w[12];
            size_t wl = 0;
            while (i < n && (p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z') {
                if (wl == sizeof w)
                    return -1;
                w[wl++] = (char)(p[i] | 0x20);
                i++;
            }
            int m = month_word(w, wl);
            if (m < 0)
                return -1;
            t->kind = TOK_WORD;
            t->value = m;
            t->digits = 0;
        } else {
            return -1;
        }
        count++;
    }
    return count;
}

/* Resolve a two-digit year against today; -1 stays -1. */
static int full_year(int y, int digits, int m, int d, int32_t today)
{
    if (digits == 4)
        return y;
    if (digits != 2)
        return -1;
    int y20 = 2000 + y;
    return (int32_t)(y20 * 10000 + m * 100 + d) > today ? 1900 + y : y20;
}

static bool is_placeholder(int y, int m, int d)
{
    static const int junk[][3] = {
        {1900, 1, 1}, {1970, 1, 1}, {1899, 12, 30}, {1899, 12, 31}, {1753, 1, 1},
        {1, 1, 1}, {9999, 12, 31}, {9999, 1, 1},
    };
    if (y == 0 && m == 0 && d == 0)
        return true;
    for (size_t i = 0; i < UF_ARRAY_LEN(junk); i++)
        if (junk[i][0] == y && junk[i][1] == m && junk[i][2] == d)
            return true;
    return false;
}

/* "n/a", "unknown", ... in any case. */
static bool is_placeholder_text(const unsigned char *p, size_t n)
{
    static const uf_word words[] = {
        UF_WORD("n/a"), UF_WORD("na"), UF_WORD("n.a."), UF_WORD("none"), UF_WORD("unknown"),
        UF_WORD("null"), UF_WORD("nil"), UF_WORD("nan"), UF_WORD("tbd"), UF_WORD("unk"),
    };
    enum { PLACEHOLDER_MAX = 7 }; /* longest word above */
    if (n > PLACEHOLDER_MAX)
        return false;
    char lower[PLACEHOLDER_MAX];
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    return uf_word_in(lower, n, words, UF_ARRAY_LEN(words));
}

/* Split a 6- or 8-digit compact date by field widths (order of fields given). */
static void split_compact(int v, int digits, uf_date_order order, int *y, int *yd, int *m, int *d)
{
    int ylen = digits == 8 ? 4 : 2;
    int pow_y = ylen == 4 ? 10000 : 100;
    switch (order) {
    case UF_DATE_YMD:
        *y = v / 10000;
        *m = (v / 100) % 100;
        *d = v % 100;
        break;
    case UF_DATE_DMY:
        *d = v / (100 * pow_y);
        *m = (v / pow_y) % 100;
        *y = v % pow_y;
        break;
    case UF_DATE_MDY:
        *m = v / (100 * pow_y);
        *d = (v / pow_y) % 100;
        *y = v % pow_y;
        break;
    }
    *yd = ylen;
}

uf_norm_status uf_normalize_dob_at(uf_slice in, uf_date_order order, int32_t today,
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
    if (n > DATE_INPUT_MAX)
        return UF_NORM_INVALID;
    if (is_placeholder_text(p, n))
        return UF_NORM_JUNK;
    bool any_alnum = false;
    for (size_t i = 0; i < n && !any_alnum; i++)
        any_alnum = (p[i] >= '0' && p[i] <= '9') || ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z');
    if (!any_alnum) {
        bool ascii_punct = true;
        for (size_t i = 0; i < n; i++)
            ascii_punct = ascii_punct && p[i] > 0x20 && p[i] < 0x7f;
        return ascii_punct ? UF_NORM_EMPTY : UF_NORM_INVALID;
    }

    /* Drop a time part: from the "T" or space before the first ":". */
    const unsigned char *colon = memchr(p, ':', n);
    if (colon) {
        size_t c = (size_t)(colon - p);
        while (c > 0 && p[c - 1] != 'T' && p[c - 1] != 't' && p[c - 1] != ' ')
            c--;
        if (c == 0)
            return UF_NORM_INVALID;
        n = c - 1;
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == ','))
            n--;
        if (n == 0)
            return UF_NORM_INVALID;
    }

    token all[MAX_TOKENS];
    int count = tokenize(p, n, all);
    if (count <= 0)
        return UF_NORM_INVALID;
    /* Weekdays carry nothing. */
    token toks[MAX_TOKENS];
    int nt = 0, words = 0, word_pos = -1;
    for (int i = 0; i < count; i++) {
        if (all[i].kind == TOK_WORD && all[i].value == 0)
            continue;
        if (all[i].kind == TOK_WORD) {
            words++;
            word_pos = nt;
        }
        toks[nt++] = all[i];
    }

    int y = -1, m = -1, d = -1, ydigits = 0;
    if (nt == 1 && words == 0 && (toks[0].digits == 8 || toks[0].digits == 6)) {
        int v = toks[0].value;
        if (toks[0].digits == 8) {
            split_compact(v, 8, UF_DATE_YMD, &y, &ydigits, &m, &d);
            if (!valid_ymd(y, m, d) && !is_placeholder(y, m, d) && order != UF_DATE_YMD)
                split_compact(v, 8, order, &y, &ydigits, &m, &d);
        } else {
            split_compact(v, 6, order, &y, &ydigits, &m, &d);
        }
    } else if (nt == 3 && words == 0) {
        char s1 = toks[0].sep_after, s2 = toks[1].sep_after;
        if (s1 == 0 || s1 != s2 || s1 == ',')
            return UF_NORM_INVALID;
        const token *a = &toks[0], *b = &toks[1], *c = &toks[2];
        if (a->digits == 4 || (order == UF_DATE_YMD && a->digits == 2)) {
            if (b->digits > 2 || c->digits > 2)
                return UF_NORM_INVALID;
            y = a->value;
            ydigits = a->digits;
            m = b->value;
            d = c->value;
        } else {
            if (order == UF_DATE_YMD || a->digits > 2 || b->digits > 2)
                return UF_NORM_INVALID;
            y = c->value;
            ydigits = c->digits;
            const token *day = order == UF_DATE_DMY ? a : b;
            const token *month = order == UF_DATE_DMY ? b : a;
            d = day->value;
            m = month->value;
        }
    } else if (nt == 3 && words == 1) {
        const token *nums[2];
        int k = 0;
        for (int i = 0; i < 3; i++)
            if (i != word_pos)
                nums[k++] = &toks[i];
        m = toks[word_pos].value;
        /* The four-digit number is the year; with two short ones the order decides. */
        int year_index;
        if (nums[0]->digits == 4 && nums[1]->digits <= 2)
            year_index = 0;
        else if (nums[1]->digits == 4 && nums[0]->digits <= 2)
            year_index = 1;
        else if (nums[0]->digits <= 2 && nums[1]->digits <= 2)
            year_index = order == UF_DATE_YMD ? 0 : 1;
        else
            return UF_NORM_INVALID;
        y = nums[year_index]->value;
        ydigits = nums[year_index]->digits;
        d = nums[1 - year_index]->value;
    } else {
        return UF_NORM_INVALID;
    }

    if (ydigits == 4 && is_placeholder(y, m, d))
        return UF_NORM_JUNK;
    if (ydigits == 2 && y == 0 && m == 0 && d == 0)
        return UF_NORM_JUNK;
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return UF_NORM_INVALID;
    y = full_year(y, ydigits, m, d, today);
    if (y < 0 || !valid_ymd(y, m, d))
        return UF_NORM_INVALID;
    if (is_placeholder(y, m, d))
        return UF_NORM_JUNK;
    if (y < 1900 || (int32_t)(y * 10000 + m * 100 + d) > today)
        return UF_NORM_INVALID;

    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + (y / 100) % 10);
    out[2] = (char)('0' + (y / 10) % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    *out_len = 10;
    return UF_NORM_OK;
}

uf_norm_status uf_normalize_dob(uf_slice in, uf_date_order order, char *out, size_t *out_len)
{
    return uf_normalize_dob_at(in, order, uf_today_yyyymmdd(), out, out_len);
}
