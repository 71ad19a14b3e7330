/*
 * compare.h — attribute comparisons for scored matching (Fellegi–Sunter).
 *
 * Two layers:
 *  - string and date primitives (Jaro–Winkler similarity, optimal string
 *    alignment Damerau–Levenshtein distance, Soundex), pure functions on
 *    bytes;
 *  - one *level* function per compared field. A level is a small integer:
 *    0 = the values disagree, higher = stronger agreement, the highest level
 *    of a field is exact agreement. UF_CMP_MISSING means one side (or both)
 *    has no value: the field is neutral (adds no weight). The level names
 *    below are part of the stored model and of `unify explain`, so their
 *    numbers never change meaning; append new levels only.
 *
 * Inputs are *normalized* values as the run stores them (normalize.h):
 * names lower-case, accents stripped, single spaces; dates "YYYY-MM-DD";
 * phones E.164 "+15551234567"; postcodes and addresses normalized text.
 * Names are compared byte-wise: after normalization they are ASCII except
 * for scripts without a Latin folding, where byte comparison is still a
 * sound (if coarser) measure.
 *
 * Thread-safe: no state.
 */
#ifndef UF_COMPARE_H
#define UF_COMPARE_H

#include "common.h"

/* A field without a value on one side: neutral. */
#define UF_CMP_MISSING 255

/* Most levels any field has (level values are 0 .. level_count-1). */
#define UF_CMP_MAX_LEVELS 6

/* The compared fields, in the order of a comparison vector. */
typedef enum uf_cmp_field {
    UF_CMP_FIRST_NAME = 0,
    UF_CMP_LAST_NAME,
    UF_CMP_DOB,
    UF_CMP_POSTCODE,
    UF_CMP_ADDRESS,
    UF_CMP_CITY,
    UF_CMP_PHONE,
    UF_CMP_EMAIL,
    UF_CMP_IDENTIFIER, /* the records' other identifiers (customer numbers, cards, ...), see below */
    UF_CMP_FIELD_COUNT
} uf_cmp_field;

/* Fields compared as text (every field before UF_CMP_IDENTIFIER). */
#define UF_CMP_TEXT_FIELDS UF_CMP_IDENTIFIER

/* Other identifiers kept per record for the comparison (hashes). */
#define UF_CMP_MAX_IDENTIFIERS 2

/* first name: else, JW >= 0.88, JW >= 0.94 or DL <= 1, same nickname canonical, exact */
enum { UF_FIRST_ELSE, UF_FIRST_JW88, UF_FIRST_JW94_DL1, UF_FIRST_NICKNAME, UF_FIRST_EXACT, UF_FIRST_LEVELS };
/* last name: else, JW >= 0.88, JW >= 0.94 or DL <= 1, exact */
enum { UF_LAST_ELSE, UF_LAST_JW88, UF_LAST_JW94_DL1, UF_LAST_EXACT, UF_LAST_LEVELS };
/* date of birth: else, two of year/month/day equal, day and month transposed, exact */
enum { UF_DOB_ELSE, UF_DOB_ONE_FIELD_OFF, UF_DOB_TRANSPOSED, UF_DOB_EXACT, UF_DOB_LEVELS };
/* postcode: else, DL <= 1 (a typo), exact */
enum { UF_POSTCODE_ELSE, UF_POSTCODE_NEAR, UF_POSTCODE_EXACT, UF_POSTCODE_LEVELS };
/* address: else, same house number and street JW >= 0.90 (or whole JW >= 0.94), exact */
enum { UF_ADDRESS_ELSE, UF_ADDRESS_NEAR, UF_ADDRESS_EXACT, UF_ADDRESS_LEVELS };
/* city: else, JW >= 0.92, exact */
enum { UF_CITY_ELSE, UF_CITY_NEAR, UF_CITY_EXACT, UF_CITY_LEVELS };
/* phone: else, last 7 digits equal, exact */
enum { UF_PHONE_ELSE, UF_PHONE_LAST_DIGITS, UF_PHONE_EXACT, UF_PHONE_LEVELS };
/* e-mail: else, same local part (different domain) or DL <= 1 on the whole, exact */
enum { UF_EMAIL_ELSE, UF_EMAIL_NEAR, UF_EMAIL_EXACT, UF_EMAIL_LEVELS };
/*
 * other identifiers: both records hold some, none in common / they share
 * one. Identifiers a guard kept from linking (a weak one whose names
 * differ by a typo, a limited kind) still count as evidence here.
 */
enum { UF_IDENTIFIER_ELSE, UF_IDENTIFIER_SHARED, UF_IDENTIFIER_LEVELS };

/* Number of levels of `field`. */
int uf_cmp_level_count(uf_cmp_field field);
/* "first_name", ... (stable: used in stored models and explain output). */
const char *uf_cmp_field_name(uf_cmp_field field);
/* "exact", "jaro_winkler>=0.94|dl<=1", ... for explain; "missing" for UF_CMP_MISSING. */
const char *uf_cmp_level_name(uf_cmp_field field, int level);

/*
 * Jaro–Winkler similarity in [0, 1] (prefix scale 0.1, prefix up to 4). Empty vs empty is 1.
 * No allocation up to 256 bytes of input together (should a longer one fail to allocate: 0).
 */
double uf_jaro_winkler(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Optimal string alignment (restricted Damerau–Levenshtein) distance: insert,
 * delete, substitute, transpose adjacent. Stops early: returns max + 1 once
 * the distance is certainly above `max`. Any length, exact: the band of
 * 2 * max + 1 cells per row is on the stack up to max 64 and allocated
 * beyond (should that allocation fail: max + 1). A negative max counts as 0.
 */
int uf_damerau_levenshtein(const char *a, size_t alen, const char *b, size_t blen, int max);

/*
 * American Soundex of the first word's letters ("robert" -> "R163"), packed
 * as a uint32 (4 ASCII bytes, big-endian) for blocking; 0 when the name has
 * no ASCII letter.
 */
uint32_t uf_soundex(const char *name, size_t len);

/*
 * Level functions: missing (len 0 / dob 0) on either side gives
 * UF_CMP_MISSING. Dates are YYYYMMDD numbers (uf_record_compare.dob).
 */
int uf_cmp_first_name(uf_slice a, uf_slice b);
/* The same with uf_nickname_canonical of each name already looked up (NULL: not a nickname). */
int uf_cmp_first_name_canonical(uf_slice a, uf_slice b, const char *canonical_a, const char *canonical_b);
int uf_cmp_last_name(uf_slice a, uf_slice b);
int uf_cmp_dob(uint32_t a, uint32_t b);
int uf_cmp_postcode(uf_slice a, uf_slice b);
int uf_cmp_address(uf_slice a, uf_slice b);
int uf_cmp_city(uf_slice a, uf_slice b);
int uf_cmp_phone(uf_slice a, uf_slice b);
int uf_cmp_email(uf_slice a, uf_slice b);
/* Hashes of the records' other identifiers (0 = none; at most UF_CMP_MAX_IDENTIFIERS each). */
int uf_cmp_identifier(const uint32_t a[UF_CMP_MAX_IDENTIFIERS], const uint32_t b[UF_CMP_MAX_IDENTIFIERS]);

#endif /* UF_COMPARE_H */
