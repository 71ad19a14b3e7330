/*
 * normalize.h — one pure function per attribute kind: input slice in,
 * normalized value out into a caller buffer of UF_NORM_MAX bytes. No global
 * state and no allocation on the common (ASCII) path, so every normalizer can
 * run on any thread and be fuzzed on its own.
 *
 * Each returns UF_NORM_OK with the value written (not NUL-terminated unless
 * stated; *out_len set), or a status saying why there is no value (then
 * *out_len is 0 and the buffer contents are unspecified):
 * UF_NORM_EMPTY (blank), UF_NORM_INVALID (not a plausible value of the kind),
 * UF_NORM_JUNK (a well-known placeholder such as test@test.com, 0000000000).
 * Junk from the configurable blocklist is checked by blocklist.h afterwards.
 */
#ifndef UF_NORMALIZE_H
#define UF_NORMALIZE_H

#include "common.h"

#define UF_NORM_MAX 256

/*
 * Longest input (after trimming surrounding ASCII whitespace) a text
 * normalizer looks at; anything longer is UF_NORM_INVALID. It bounds the work
 * and the stack buffer of the Unicode path, so nothing ever allocates.
 */
#define UF_NORM_INPUT_MAX 4096

typedef enum uf_norm_status {
    UF_NORM_OK = 0,
    UF_NORM_EMPTY,
    UF_NORM_INVALID,
    UF_NORM_JUNK
} uf_norm_status;

typedef enum uf_date_order {
    UF_DATE_DMY,
    UF_DATE_MDY,
    UF_DATE_YMD
} uf_date_order;

typedef enum uf_case_policy {
    UF_CASE_UPPER,
    UF_CASE_LOWER,
    UF_CASE_PRESERVE
} uf_case_policy;

const char *uf_norm_status_name(uf_norm_status status);

/*
 * Unicode fold used by names, cities and addresses: NFKC, case-fold, strip
 * accents (combining marks), map punctuation to spaces except those in
 * `keep` (may be NULL), collapse runs of spaces and trim.
 * Returns UF_NORM_EMPTY when nothing is left, UF_NORM_INVALID on invalid
 * UTF-8 or when the result does not fit in UF_NORM_MAX.
 * Details (normalize_text.c): "ß" -> "ss", "ﬁ" -> "fi", full-width -> ASCII,
 * "İ"/"ı" -> "i"; letters without a decomposition get their usual ASCII
 * spelling (ø -> o, ł -> l, đ/ð -> d, æ -> ae, œ -> oe, þ -> th); other
 * scripts stay as case-folded letters; typographic apostrophes count as "'";
 * symbols and emoji are separators; controls and NUL are separators.
 */
uf_norm_status uf_fold_text(uf_slice in, const char *keep, char *out, size_t *out_len);

/*
 * E-mail: trim, lower-case, validate shape (one @, non-empty local part,
 * domain with a dot, allowed characters). Provider rules: gmail.com and
 * googlemail.com ignore dots and +tags (googlemail.com becomes gmail.com);
 * other major providers ignore +tags. Placeholder addresses are UF_NORM_JUNK.
 */
uf_norm_status uf_normalize_email(uf_slice in, char *out, size_t *out_len);

/*
 * Phone to E.164 ("+15551234567"). `default_country` is an ISO 3166 alpha-2
 * code ("US", "GB", "DE", ...) used when the number has no + or 00 prefix.
 * Impossible lengths are UF_NORM_INVALID; repeated or sequential digits
 * (0000000000, 1234567890) are UF_NORM_JUNK. Extensions ("x123") are dropped.
 */
uf_norm_status uf_normalize_phone(uf_slice in, const char *default_country,
                                  char *out, size_t *out_len);

/* True when `country` (alpha-2, any case) is known to the phone normalizer. */
bool uf_phone_country_known(const char *country);

/*
 * One name part (first or last name): uf_fold_text, keeping inner hyphens
 * and apostrophes removed ("O'Brien" -> "obrien", "Jean-Luc" -> "jean luc").
 * Titles and placeholders alone ("mr", "n/a", "unknown") are UF_NORM_JUNK;
 * with other words, a leading title, trailing suffix ("Smith Jr") and
 * placeholder words are dropped.
 */
uf_norm_status uf_normalize_name(uf_slice in, char *out, size_t *out_len);

/*
 * A full name, "First [Middle] Last" or "LAST, First [Middle]", split into
 * normalized first and last name (middle names dropped, titles and suffixes
 * such as "Mr", "Dr", "Jr" removed). Either part may come back empty
 * (length 0) when the input has one word only (then it is the last name).
 * Surname particles stay with the last name ("van beethoven"); a hyphenated
 * part stays whole ("mary jane"), as uf_normalize_name writes it.
 */
uf_norm_status uf_normalize_full_name(uf_slice in, char *first, size_t *first_len,
                                      char *last, size_t *last_len);

/*
 * Canonical form of a normalized first name for nickname-aware comparison
 * ("bob" -> "robert", "liz" -> "elizabeth"). Returns the canonical name
 * (static storage) or NULL when the name is not a known nickname.
 */
const char *uf_nickname_canonical(const char *name, size_t len);

/*
 * Date of birth to "YYYY-MM-DD" (10 bytes). Accepts ISO (YYYY-MM-DD,
 * YYYY/MM/DD, YYYYMMDD, with an optional time part), numeric dates with
 * separators / . - in the given order (two-digit years taken as 19xx or
 * 20xx, whichever is not in the future), and month names ("3 Mar 1985",
 * "March 3, 1985"). Impossible dates and years before 1900 or in the future
 * are UF_NORM_INVALID; placeholders (1900-01-01, 1970-01-01, 00/00/0000,
 * 9999-12-31, "n/a") are UF_NORM_JUNK. The output buffer needs 10 bytes.
 */
uf_norm_status uf_normalize_dob(uf_slice in, uf_date_order order, char *out, size_t *out_len);

/*
 * uf_normalize_dob with "today" given as the integer YYYYMMDD (e.g. 20240229)
 * instead of read from the clock, so that the future and two-digit-year rules
 * are testable and a batch can pin one date for the whole run.
 */
uf_norm_status uf_normalize_dob_at(uf_slice in, uf_date_order order, int32_t today_yyyymmdd,
                                   char *out, size_t *out_len);

/* Today's date (UTC) as the integer YYYYMMDD, as used by uf_normalize_dob. */
int32_t uf_today_yyyymmdd(void);

/*
 * Street address: uf_fold_text, then common abbreviations expanded word by
 * word ("st" -> "street", "rd" -> "road", "ave" -> "avenue", "apt" ->
 * "apartment", "n" -> "north", ...). "#" is dropped like other punctuation
 * ("Apt #5" -> "apartment 5"); "St" starting a street name is "saint".
 * Placeholders ("n/a", "unknown", "no address") are UF_NORM_JUNK.
 */
uf_norm_status uf_normalize_address(uf_slice in, char *out, size_t *out_len);

/*
 * City: uf_fold_text ("SAN FRANCISCO " -> "san francisco"), with the
 * place-name abbreviations st, ste, ft, mt expanded ("St. Louis" ->
 * "saint louis"). Placeholders are UF_NORM_JUNK.
 */
uf_norm_status uf_normalize_city(uf_slice in, char *out, size_t *out_len);

/*
 * Postcode: upper-case letters and digits only ("sw1a 1aa" -> "SW1A1AA");
 * a nine-digit US ZIP+4 keeps its first five digits ("94105-1234" -> "94105").
 * 3 to 10 characters; one repeated character ("00000") and "n/a"-style
 * words are UF_NORM_JUNK.
 */
uf_norm_status uf_normalize_postcode(uf_slice in, char *out, size_t *out_len);

/*
 * Country to ISO 3166 alpha-2 ("us", "USA", "United States" -> "US"):
 * every alpha-2 code, alpha-3 codes of common countries, English and native
 * names ("Deutschland", "Österreich"); "UK" is GB. Unknown names are
 * UF_NORM_INVALID; placeholders ("n/a", "unknown", "XX") are UF_NORM_JUNK.
 */
uf_norm_status uf_normalize_country(uf_slice in, char *out, size_t *out_len);

/*
 * Generic identifier (account number, loyalty card, device id): trim, drop
 * inner spaces and dashes when `strip_separators`, apply the case policy.
 * Placeholders ("n/a", "none", "0", all zeros) are UF_NORM_JUNK; control
 * characters are UF_NORM_INVALID.
 */
uf_norm_status uf_normalize_identifier(uf_slice in, uf_case_policy case_policy,
                                       bool strip_separators, char *out, size_t *out_len);

/* ------------------------------------------------------------------ */
/* Helpers shared by the normalizer files (not normalizers themselves) */
/* ------------------------------------------------------------------ */

/*
 * Decode the UTF-8 slice `in` into code points in NFKC form — and, when
 * `fold`, also case-folded, with combining marks and default-ignorable
 * characters (soft hyphen, zero-width joiner, ...) removed. Writes at most
 * `cap` code points to `cps` and returns how many, or -1 when `in` is not
 * valid UTF-8 or needs more than `cap` code points.
 */
ptrdiff_t uf_utf8_normalize(uf_slice in, bool fold, int32_t *cps, size_t cap);

/*
 * Word tables (titles, placeholders, abbreviations, ...): a literal with its
 * length, so a lookup never calls strlen on the hot path.
 */
typedef struct uf_word {
    const char *text;
    size_t len;
} uf_word;

#define UF_WORD(literal) {literal, sizeof(literal) - 1}

/*
 * Binary search of a table whose `count` entries, `stride` bytes apart, each
 * start with a uf_word, sorted in byte order (a prefix before its
 * extensions, as strcmp orders them). Returns the index of the entry equal
 * to the `n` bytes at `s`, or -1.
 */
static inline ptrdiff_t uf_word_search(const char *s, size_t n, const void *table, size_t count,
                                       size_t stride)
{
    if (n == 0)
        return -1;
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const uf_word *w = (const uf_word *)(const void *)((const char *)table + mid * stride);
        /* Most probes differ in the first byte: decide that before the full compare. */
        int c = (unsigned char)s[0] - (unsigned char)w->text[0];
        if (c == 0) {
            size_t common = n < w->len ? n : w->len, k = 1;
            while (k < common && s[k] == w->text[k])
                k++;
            c = k < common ? (unsigned char)s[k] - (unsigned char)w->text[k]
                           : (n < w->len ? -1 : (n > w->len ? 1 : 0));
        }
        if (c == 0)
            return (ptrdiff_t)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/* True when the `n` bytes at `s` equal one of the `count` words of `sorted` (byte order). */
static inline bool uf_word_in_sorted(const char *s, size_t n, const uf_word *sorted, size_t count)
{
    return uf_word_search(s, n, sorted, count, sizeof *sorted) >= 0;
}

/* True when the `n` bytes at `s` equal one of the `count` words (any order). */
static inline bool uf_word_in(const char *s, size_t n, const uf_word *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (list[i].len == n && (n == 0 || (list[i].text[0] == s[0] &&
                                            memcmp(list[i].text, s, n) == 0)))
            return true;
    return false;
}

#endif /* UF_NORMALIZE_H */
