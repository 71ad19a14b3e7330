/*
 * test_normalize_phone.c — uf_normalize_phone to E.164: national and
 * international forms, trunk prefixes, NANP rules, extensions, Unicode
 * separators and digits, junk and hostile input.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "normalize.h"

typedef struct phone_case {
    const char *in;
    size_t len;
    const char *country;
    uf_norm_status status;
    const char *out;
} phone_case;

#define CASE(in, country, status, out) {in, sizeof(in) - 1, country, status, out}

static const phone_case cases[] = {
    /* NANP. */
    CASE("(415) 555-2671", "US", UF_NORM_OK, "+14155552671"),
    CASE("415.555.2671", "us", UF_NORM_OK, "+14155552671"),
    CASE("1-415-555-2671", "US", UF_NORM_OK, "+14155552671"),
    CASE("+1 415 555 2671", "GB", UF_NORM_OK, "+14155552671"),
    CASE("1 604 555 0199", "CA", UF_NORM_OK, "+16045550199"),
    CASE("212-555-0123", "US", UF_NORM_OK, "+12125550123"),
    CASE("555-0123", "US", UF_NORM_INVALID, NULL),
    CASE("(015) 555-2671", "US", UF_NORM_INVALID, NULL),
    CASE("415 155 2671", "US", UF_NORM_INVALID, NULL),
    CASE("+1 415 555 26712", "US", UF_NORM_INVALID, NULL),
    CASE("2 415 555 2671", "US", UF_NORM_INVALID, NULL),
    /* International prefixes. */
    CASE("011 44 20 7946 0958", "US", UF_NORM_OK, "+442079460958"),
    CASE("0044 20 7946 0958", "DE", UF_NORM_OK, "+442079460958"),
    CASE("0044 7756 393107", "US", UF_NORM_OK, "+447756393107"),  /* "00" from abroad in a NANP source */
    CASE("0049 30 1234567", "CA", UF_NORM_OK, "+49301234567"),
    CASE("00 1 415 555 2671", "FR", UF_NORM_OK, "+14155552671"),
    CASE("0011 44 20 7946 0958", "AU", UF_NORM_OK, "+442079460958"),
    CASE("+44 (0)20 7946 0958", "US", UF_NORM_OK, "+442079460958"),
    CASE("+49 (0) 30 123456", "US", UF_NORM_OK, "+4930123456"),
    CASE("+354 555 1234", "US", UF_NORM_OK, "+3545551234"),
    CASE("+0 20 7946 0958", "US", UF_NORM_INVALID, NULL),
    CASE("+12", "US", UF_NORM_INVALID, NULL),
    /* National numbers with trunk prefixes. */
    CASE("020 7946 0958", "GB", UF_NORM_OK, "+442079460958"),
    CASE("07911 123456", "gb", UF_NORM_OK, "+447911123456"),
    CASE("447911123456", "GB", UF_NORM_OK, "+447911123456"),
    CASE("030 123456", "DE", UF_NORM_OK, "+4930123456"),
    CASE("0171 1234567", "DE", UF_NORM_OK, "+491711234567"),
    CASE("06 12 34 56 78", "FR", UF_NORM_OK, "+33612345678"),
    CASE("06 1234 5678", "IT", UF_NORM_OK, "+390612345678"),
    CASE("+39 06 1234 5678", "US", UF_NORM_OK, "+390612345678"),
    CASE("612 34 56 78", "ES", UF_NORM_OK, "+34612345678"),
    CASE("0412 345 678", "AU", UF_NORM_OK, "+61412345678"),
    CASE("8 (495) 123-45-67", "RU", UF_NORM_OK, "+74951234567"),
    CASE("06 12 34 56", "FR", UF_NORM_INVALID, NULL),
    /* Extensions and schemes. */
    CASE("(415) 555-2671 x123", "US", UF_NORM_OK, "+14155552671"),
    CASE("415-555-2671 ext. 12", "US", UF_NORM_OK, "+14155552671"),
    CASE("415-555-2671#9", "US", UF_NORM_OK, "+14155552671"),
    CASE("tel:+1-415-555-2671", "DE", UF_NORM_OK, "+14155552671"),
    /* Unicode: full-width digits and plus, NBSP and Unicode hyphen, emoji, dotted I. */
    CASE("\xef\xbc\x8b\xef\xbc\x91 \xef\xbc\x94\xef\xbc\x91\xef\xbc\x95 "
         "\xef\xbc\x95\xef\xbc\x95\xef\xbc\x95 \xef\xbc\x92\xef\xbc\x96\xef\xbc\x97\xef\xbc\x91",
         "US", UF_NORM_OK, "+14155552671"),
    CASE("415\xc2\xa0" "555\xe2\x80\x91" "2671", "US", UF_NORM_OK, "+14155552671"),
    CASE("\xf0\x9f\x93\x9e 415 555 2671", "US", UF_NORM_INVALID, NULL),
    CASE("\xc4\xb0", "US", UF_NORM_INVALID, NULL),
    CASE("\xd9\xa4\xd9\xa1\xd9\xa5", "US", UF_NORM_INVALID, NULL), /* Arabic-Indic digits */
    /* Empty. */
    CASE("", "US", UF_NORM_EMPTY, NULL),
    CASE("  \t ", "US", UF_NORM_EMPTY, NULL),
    CASE("--", "US", UF_NORM_EMPTY, NULL),
    CASE("( )", "US", UF_NORM_EMPTY, NULL),
    /* Junk. */
    CASE("1234567890", "US", UF_NORM_JUNK, NULL),
    CASE("0123456789", "GB", UF_NORM_JUNK, NULL),
    CASE("9876543210", "US", UF_NORM_JUNK, NULL),
    CASE("000-000-0000", "US", UF_NORM_JUNK, NULL),
    CASE("(555) 555-5555", "US", UF_NORM_JUNK, NULL),
    CASE("+44 0000 000000", "US", UF_NORM_JUNK, NULL),
    CASE("+44 1234 567890", "US", UF_NORM_JUNK, NULL),
    CASE("0", "US", UF_NORM_JUNK, NULL),
    CASE("n/a", "US", UF_NORM_JUNK, NULL),
    CASE("None", "US", UF_NORM_JUNK, NULL),
    CASE("NaN", "US", UF_NORM_JUNK, NULL),
    /* Invalid. */
    CASE("1-800-FLOWERS", "US", UF_NORM_INVALID, NULL),
    CASE("abc", "US", UF_NORM_INVALID, NULL),
    CASE("415+555+2671", "US", UF_NORM_INVALID, NULL),
    CASE("++1 415 555 2671", "US", UF_NORM_INVALID, NULL),
    CASE("415 555 2671", "XX", UF_NORM_INVALID, NULL),
    CASE("415 555 2671", NULL, UF_NORM_INVALID, NULL),
    CASE("+1 415 555 2671", NULL, UF_NORM_OK, "+14155552671"),
    CASE("415 555 2671", "USA", UF_NORM_INVALID, NULL),
    CASE("4155552671\0", "US", UF_NORM_INVALID, NULL),
    CASE("415\0" "5552671", "US", UF_NORM_INVALID, NULL),
    CASE("415\x01" "5552671", "US", UF_NORM_INVALID, NULL),
    CASE("415\xff" "5552671", "US", UF_NORM_INVALID, NULL),
    CASE("415\xe2\x82" "5552671", "US", UF_NORM_INVALID, NULL),
    CASE("1234567890123456789012345", "US", UF_NORM_INVALID, NULL),
    CASE("+1 415 555 2671 0000000000000", "US", UF_NORM_INVALID, NULL),
};

static char *out_buffer(void)
{
    char *out = malloc(UF_NORM_MAX);
    cr_assert_not_null(out);
    memset(out, 0x5a, UF_NORM_MAX);
    return out;
}

Test(normalize_phone, table)
{
    cr_assert_geq(UF_ARRAY_LEN(cases), 15);
    char *out = out_buffer();
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        const phone_case *c = &cases[i];
        size_t len = 9999;
        uf_norm_status st = uf_normalize_phone(uf_slice_make(c->in, c->len), c->country, out, &len);
        cr_expect_eq(st, c->status, "case %zu \"%s\" (%s): status %s, expected %s", i, c->in,
                     c->country ? c->country : "NULL", uf_norm_status_name(st),
                     uf_norm_status_name(c->status));
        if (c->status == UF_NORM_OK && st == UF_NORM_OK)
            cr_expect(len == strlen(c->out) && memcmp(out, c->out, len) == 0,
                      "case %zu \"%s\": got \"%.*s\", expected \"%s\"", i, c->in, (int)len, out,
                      c->out);
        else if (st != UF_NORM_OK)
            cr_expect_eq(len, 0, "case %zu: out_len must be 0 when not ok", i);
    }
    free(out);
}

Test(normalize_phone, e164_output_is_a_fixed_point)
{
    /* Normalizing an E.164 result again, under any default country, gives itself. */
    static const char *const countries[] = {"US", "GB", "DE", "FR", "IT", "AU", "RU", "JP"};
    char *out = out_buffer();
    char again[UF_NORM_MAX];
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        size_t len = 0;
        if (cases[i].status != UF_NORM_OK ||
            uf_normalize_phone(uf_slice_make(cases[i].in, cases[i].len), cases[i].country, out,
                               &len) != UF_NORM_OK)
            continue;
        for (size_t k = 0; k < UF_ARRAY_LEN(countries); k++) {
            size_t len2 = 0;
            cr_expect_eq(uf_normalize_phone(uf_slice_make(out, len), countries[k], again, &len2),
                         UF_NORM_OK, "case %zu under %s", i, countries[k]);
            cr_expect(len == len2 && memcmp(out, again, len) == 0);
        }
    }
    free(out);
}

Test(normalize_phone, country_known)
{
    cr_expect(uf_phone_country_known("US"));
    cr_expect(uf_phone_country_known("us"));
    cr_expect(uf_phone_country_known("Gb"));
    cr_expect(uf_phone_country_known("DE"));
    cr_expect(uf_phone_country_known("ZA"));
    cr_expect(uf_phone_country_known("AE"));
    cr_expect_not(uf_phone_country_known("XX"));
    cr_expect_not(uf_phone_country_known("USA"));
    cr_expect_not(uf_phone_country_known("U"));
    cr_expect_not(uf_phone_country_known(""));
    cr_expect_not(uf_phone_country_known(NULL));
}

Test(normalize_phone, at_least_25_countries)
{
    static const char *const expected[] = {
        "US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "IE", "PT", "SE",
        "NO", "DK", "FI", "PL", "CZ", "AU", "NZ", "JP", "CN", "IN", "BR", "MX", "ZA", "SG",
        "HK", "RU",
    };
    for (size_t i = 0; i < UF_ARRAY_LEN(expected); i++)
        cr_expect(uf_phone_country_known(expected[i]), "%s", expected[i]);
}

Test(normalize_phone, hostile_lengths)
{
    char *out = out_buffer();
    size_t n = 10000, len = 3;
    char *buf = malloc(n);
    memset(buf, '7', n);
    cr_expect_eq(uf_normalize_phone(uf_slice_make(buf, n), "US", out, &len), UF_NORM_INVALID);
    cr_expect_eq(len, 0);
    memset(buf, ' ', n);
    cr_expect_eq(uf_normalize_phone(uf_slice_make(buf, n), "US", out, &len), UF_NORM_EMPTY);
    for (size_t i = 0; i < n; i++)
        buf[i] = "0123456789"[i % 10];
    cr_expect_eq(uf_normalize_phone(uf_slice_make(buf, 300), "US", out, &len), UF_NORM_INVALID);
    free(buf);
    free(out);
}
