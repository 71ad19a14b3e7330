/*
 * test_normalize_identifier.c — uf_normalize_identifier: separators, case
 * policies, Unicode compatibility forms, placeholders, control characters
 * and hostile lengths.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "normalize.h"

typedef struct id_case {
    const char *in;
    size_t len;
    uf_case_policy policy;
    bool strip;
    uf_norm_status status;
    const char *out;
} id_case;

#define CASE(in, policy, strip, status, out) {in, sizeof(in) - 1, policy, strip, status, out}
#define UP UF_CASE_UPPER
#define LO UF_CASE_LOWER
#define KEEP UF_CASE_PRESERVE

static const id_case cases[] = {
    /* Separators and case. */
    CASE(" ab-123 ", UP, true, UF_NORM_OK, "AB123"),
    CASE("ab-123", UP, false, UF_NORM_OK, "AB-123"),
    CASE("1234-5678 9012", KEEP, true, UF_NORM_OK, "123456789012"),
    CASE("1234  5678", KEEP, false, UF_NORM_OK, "1234 5678"),
    CASE("AbC", LO, false, UF_NORM_OK, "abc"),
    CASE("AbC", KEEP, false, UF_NORM_OK, "AbC"),
    CASE("AB/12.x_y", UP, true, UF_NORM_OK, "AB/12.X_Y"),
    CASE("0001", KEEP, true, UF_NORM_OK, "0001"),
    CASE("CRM-000123", UP, true, UF_NORM_OK, "CRM000123"),
    /* Unicode. */
    CASE("\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\x91\xef\xbc\x92", UP, true, UF_NORM_OK, "AB12"),
    CASE("ab\xc2\xa0" "12", KEEP, true, UF_NORM_OK, "ab12"),
    CASE("ab\xc2\xa0" "12", KEEP, false, UF_NORM_OK, "ab 12"),
    CASE("ab\xe2\x80\x93" "12", KEEP, true, UF_NORM_OK, "ab12"),            /* en dash */
    CASE("ab\xe2\x80\x93" "12", KEEP, false, UF_NORM_OK, "ab\xe2\x80\x93" "12"),
    CASE("m\xc3\xbcller-1", UP, true, UF_NORM_OK, "M\xc3\x9cLLER1"),
    CASE("\xc3\xbf" "1", UP, false, UF_NORM_OK, "\xc5\xb8" "1"),              /* ÿ -> Ÿ */
    CASE("\xc4\xb1" "d", UP, false, UF_NORM_OK, "ID"),                        /* ı */
    CASE("\xc4\xb0" "D", LO, false, UF_NORM_OK, "id"),                        /* İ */
    CASE("e\xcc\x81-1", UP, true, UF_NORM_OK, "\xc3\x89" "1"),     /* e + combining acute */
    CASE("\xe2\x80\x8b" "AB12", KEEP, true, UF_NORM_OK, "AB12"),   /* zero-width space */
    CASE("I\xc2\xa8" "3", UP, true, UF_NORM_OK, "\xc3\x8f" "3"),  /* I + ¨ composes to Ï */
    CASE("card\xf0\x9f\x98\x80" "1", UP, true, UF_NORM_OK, "CARD\xf0\x9f\x98\x80" "1"),
    /* Placeholders. */
    CASE("n/a", UP, true, UF_NORM_JUNK, NULL),
    CASE("N/A", KEEP, false, UF_NORM_JUNK, NULL),
    CASE("N.A.", KEEP, false, UF_NORM_JUNK, NULL),
    CASE("none", UP, true, UF_NORM_JUNK, NULL),
    CASE("NULL", LO, true, UF_NORM_JUNK, NULL),
    CASE("NaN", KEEP, true, UF_NORM_JUNK, NULL),
    CASE("unknown", KEEP, true, UF_NORM_JUNK, NULL),
    CASE("0", KEEP, true, UF_NORM_JUNK, NULL),
    CASE("0000", KEEP, true, UF_NORM_JUNK, NULL),
    CASE("0000-0000", KEEP, true, UF_NORM_JUNK, NULL),
    CASE("xxxx", UP, true, UF_NORM_JUNK, NULL),
    CASE("0 0", KEEP, false, UF_NORM_JUNK, NULL),
    CASE("0\xc2\xa0" "0", KEEP, false, UF_NORM_JUNK, NULL),
    CASE("\xef\xbc\x90\xef\xbc\x90", KEEP, true, UF_NORM_JUNK, NULL),       /* full-width 00 */
    /* Empty. */
    CASE("", UP, true, UF_NORM_EMPTY, NULL),
    CASE(" \t\r\n", UP, true, UF_NORM_EMPTY, NULL),
    CASE("-", UP, false, UF_NORM_EMPTY, NULL),
    CASE("---", UP, true, UF_NORM_EMPTY, NULL),
    CASE("?", UP, true, UF_NORM_EMPTY, NULL),
    CASE("\xe2\x80\x8b", UP, true, UF_NORM_EMPTY, NULL),
    /* Invalid. */
    CASE("ab\tcd", UP, true, UF_NORM_INVALID, NULL),
    CASE("ab\0cd", UP, true, UF_NORM_INVALID, NULL),
    CASE("abcd\0", UP, true, UF_NORM_INVALID, NULL),
    CASE("ab\x7f", UP, true, UF_NORM_INVALID, NULL),
    CASE("ab\xc2\x85" "cd", UP, true, UF_NORM_INVALID, NULL),                /* U+0085 NEL */
    CASE("\xff", UP, true, UF_NORM_INVALID, NULL),
    CASE("ab\xe2\x82", UP, true, UF_NORM_INVALID, NULL),
    CASE("\xed\xa0\x80", UP, true, UF_NORM_INVALID, NULL),
};

static char *out_buffer(void)
{
    char *out = malloc(UF_NORM_MAX);
    cr_assert_not_null(out);
    memset(out, 0x5a, UF_NORM_MAX);
    return out;
}

Test(normalize_identifier, table)
{
    cr_assert_geq(UF_ARRAY_LEN(cases), 15);
    char *out = out_buffer();
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        const id_case *c = &cases[i];
        size_t len = 9999;
        uf_norm_status st =
            uf_normalize_identifier(uf_slice_make(c->in, c->len), c->policy, c->strip, out, &len);
        cr_expect_eq(st, c->status, "case %zu \"%s\": status %s, expected %s", i, c->in,
                     uf_norm_status_name(st), uf_norm_status_name(c->status));
        if (c->status == UF_NORM_OK && st == UF_NORM_OK)
            cr_expect(len == strlen(c->out) && memcmp(out, c->out, len) == 0,
                      "case %zu \"%s\": got \"%.*s\", expected \"%s\"", i, c->in, (int)len, out,
                      c->out);
        else if (st != UF_NORM_OK)
            cr_expect_eq(len, 0, "case %zu: out_len must be 0 when not ok", i);
    }
    free(out);
}

Test(normalize_identifier, idempotent)
{
    char *out = out_buffer();
    char again[UF_NORM_MAX];
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        const id_case *c = &cases[i];
        size_t len = 0, len2 = 0;
        if (uf_normalize_identifier(uf_slice_make(c->in, c->len), c->policy, c->strip, out, &len) !=
            UF_NORM_OK)
            continue;
        cr_expect_eq(uf_normalize_identifier(uf_slice_make(out, len), c->policy, c->strip, again,
                                             &len2),
                     UF_NORM_OK, "case %zu", i);
        cr_expect(len == len2 && memcmp(out, again, len) == 0, "case %zu", i);
    }
    free(out);
}

Test(normalize_identifier, lengths)
{
    char *out = out_buffer();
    size_t len = 1;
    char *buf = malloc(10000);
    memset(buf, 'a', 10000);
    cr_expect_eq(uf_normalize_identifier(uf_slice_make(buf, UF_NORM_MAX), UP, true, out, &len),
                 UF_NORM_OK);
    cr_expect_eq(len, UF_NORM_MAX);
    cr_expect_eq(out[UF_NORM_MAX - 1], 'A');
    cr_expect_eq(uf_normalize_identifier(uf_slice_make(buf, UF_NORM_MAX + 1), UP, true, out, &len),
                 UF_NORM_INVALID);
    cr_expect_eq(len, 0);
    cr_expect_eq(uf_normalize_identifier(uf_slice_make(buf, 10000), UP, true, out, &len),
                 UF_NORM_INVALID);
    /* Separators that strip away still count against the input limit. */
    memset(buf, '-', 10000);
    buf[5000] = '7';
    cr_expect_eq(uf_normalize_identifier(uf_slice_make(buf, 10000), UP, true, out, &len),
                 UF_NORM_INVALID);
    cr_expect_eq(uf_normalize_identifier(uf_slice_make(buf + 4900, 200), UP, true, out, &len),
                 UF_NORM_OK);
    cr_expect(len == 1 && out[0] == '7');
    memset(buf, ' ', 10000);
    cr_expect_eq(uf_normalize_identifier(uf_slice_make(buf, 10000), UP, true, out, &len),
                 UF_NORM_EMPTY);
    /* Unicode path: 10k bytes of full-width letters. */
    for (size_t i = 0; i + 3 <= 9999; i += 3)
        memcpy(buf + i, "\xef\xbc\xa1", 3);
    cr_expect_eq(uf_normalize_identifier(uf_slice_make(buf, 9999), UP, true, out, &len),
                 UF_NORM_INVALID);
    cr_expect_eq(uf_normalize_identifier(uf_slice_make(buf, 3 * 256), UP, true, out, &len),
                 UF_NORM_OK);
    cr_expect_eq(len, 256);
    free(buf);
    free(out);
}

/* Every placeholder word, in upper and lower case: the table is binary-searched. */
Test(normalize_identifier, every_placeholder_is_junk)
{
    static const char *const placeholders[] = {
        "n.a", "n.a.", "n/a", "na", "nan", "nil", "none", "not applicable", "not available",
        "null", "tba", "tbd", "test", "undefined", "unk", "unknown", "void",
    };
    char *out = out_buffer();
    size_t len;
    for (size_t i = 0; i < UF_ARRAY_LEN(placeholders); i++) {
        uf_slice s = uf_slice_cstr(placeholders[i]);
        cr_expect_eq(uf_normalize_identifier(s, LO, false, out, &len), UF_NORM_JUNK, "%s", s.ptr);
        cr_expect_eq(uf_normalize_identifier(s, UP, false, out, &len), UF_NORM_JUNK, "%s", s.ptr);
    }
    free(out);
}
