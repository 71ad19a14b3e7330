/*
 * test_normalize_address.c — street address, city, postcode and country
 * normalizers: one table each, plus hostile lengths.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "normalize.h"

typedef struct addr_case {
    const char *in;
    size_t len;
    uf_norm_status status;
    const char *out;
} addr_case;

#define CASE(in, status, out) {in, sizeof(in) - 1, status, out}

typedef uf_norm_status (*normalizer)(uf_slice, char *, size_t *);

static char *out_buffer(void)
{
    char *out = malloc(UF_NORM_MAX);
    cr_assert_not_null(out);
    memset(out, 0x5a, UF_NORM_MAX);
    return out;
}

static void check_table(const char *what, normalizer fn, const addr_case *cases, size_t count)
{
    cr_assert_geq(count, 15);
    char *out = out_buffer();
    for (size_t i = 0; i < count; i++) {
        const addr_case *c = &cases[i];
        size_t len = 9999;
        uf_norm_status st = fn(uf_slice_make(c->in, c->len), out, &len);
        cr_expect_eq(st, c->status, "%s case %zu \"%s\": status %s, expected %s", what, i, c->in,
                     uf_norm_status_name(st), uf_norm_status_name(c->status));
        if (c->status == UF_NORM_OK && st == UF_NORM_OK)
            cr_expect(len == strlen(c->out) && memcmp(out, c->out, len) == 0,
                      "%s case %zu \"%s\": got \"%.*s\", expected \"%s\"", what, i, c->in,
                      (int)len, out, c->out);
        else if (st != UF_NORM_OK)
            cr_expect_eq(len, 0, "%s case %zu: out_len must be 0 when not ok", what, i);
    }
    free(out);
}

static void check_hostile(normalizer fn)
{
    char *out = out_buffer();
    size_t len = 3;
    char *buf = malloc(10000);
    memset(buf, 'a', 10000);
    cr_expect_eq(fn(uf_slice_make(buf, 10000), out, &len), UF_NORM_INVALID);
    cr_expect_eq(len, 0);
    memset(buf, ' ', 10000);
    cr_expect_eq(fn(uf_slice_make(buf, 10000), out, &len), UF_NORM_EMPTY);
    for (size_t i = 0; i < 5000; i++)
        memcpy(buf + 2 * i, "\xc3\xa9", 2);
    cr_expect_eq(fn(uf_slice_make(buf, 10000), out, &len), UF_NORM_INVALID);
    free(buf);
    free(out);
}

/* ------------------------------------------------------------------ */
/* Street address                                                      */
/* ------------------------------------------------------------------ */

static const addr_case address_cases[] = {
    CASE("12 N Main St.", UF_NORM_OK, "12 north main street"),
    CASE("12 North Main Street", UF_NORM_OK, "12 north main street"),
    CASE("  12  NORTH   MAIN  STREET ", UF_NORM_OK, "12 north main street"),
    CASE("500 Oak Ave, Apt #5", UF_NORM_OK, "500 oak avenue apartment 5"),
    CASE("500 Oak Av. Apt. 5", UF_NORM_OK, "500 oak avenue apartment 5"),
    CASE("1 Sunset Blvd Ste 200", UF_NORM_OK, "1 sunset boulevard suite 200"),
    CASE("9 Elm Rd NW", UF_NORM_OK, "9 elm road northwest"),
    CASE("3 Park Ln Fl 2", UF_NORM_OK, "3 park lane floor 2"),
    CASE("77 Pine Ct", UF_NORM_OK, "77 pine court"),
    CASE("8 Bay Pkwy", UF_NORM_OK, "8 bay parkway"),
    CASE("Route 9 Hwy", UF_NORM_OK, "route 9 highway"),
    CASE("4 Market Sq", UF_NORM_OK, "4 market square"),
    CASE("22 Orchard Pl", UF_NORM_OK, "22 orchard place"),
    CASE("10 Oak Dr", UF_NORM_OK, "10 oak drive"),
    CASE("12 St Johns Rd", UF_NORM_OK, "12 saint johns road"),
    CASE("12 Rue St Denis", UF_NORM_OK, "12 rue saint denis"),
    CASE("Main St Apt E", UF_NORM_OK, "main street apartment e"),
    CASE("Unit N, 4 W 5th St", UF_NORM_OK, "unit n 4 west 5th street"),
    CASE("Hauptstra\xc3\x9f" "e 5", UF_NORM_OK, "hauptstrasse 5"),
    CASE("Hauptstr. 5", UF_NORM_OK, "hauptstr 5"),
    CASE("Haupt Str. 5", UF_NORM_OK, "haupt strasse 5"),
    CASE("\xef\xbc\x91\xef\xbc\x92 Main St", UF_NORM_OK, "12 main street"),  /* full-width */
    CASE("5 Chemin de l\xe2\x80\x99\xc3\x89glise", UF_NORM_OK, "5 chemin de l eglise"),
    CASE("\xc4\xb0stiklal Cd. 5", UF_NORM_OK, "istiklal cd 5"),
    CASE("12 Main St \xf0\x9f\x8f\xa0", UF_NORM_OK, "12 main street"),
    CASE("12\0Main St", UF_NORM_OK, "12 main street"),
    CASE("12 Main\x01St", UF_NORM_OK, "12 main street"),
    CASE("n/a", UF_NORM_JUNK, NULL),
    CASE("Unknown", UF_NORM_JUNK, NULL),
    CASE("No Address", UF_NORM_JUNK, NULL),
    CASE("St.", UF_NORM_JUNK, NULL),
    CASE("", UF_NORM_EMPTY, NULL),
    CASE("   ", UF_NORM_EMPTY, NULL),
    CASE("#,.-/", UF_NORM_EMPTY, NULL),
    CASE("12 Main St\xff", UF_NORM_INVALID, NULL),
    CASE("\xe2\x82", UF_NORM_INVALID, NULL),
};

Test(normalize_address, table)
{
    check_table("address", uf_normalize_address, address_cases, UF_ARRAY_LEN(address_cases));
}

Test(normalize_address, hostile)
{
    check_hostile(uf_normalize_address);
}

Test(normalize_address, expansion_past_the_limit_is_invalid)
{
    /* 120 "st" words fold to 239 bytes but expand to ~840. */
    char buf[300];
    size_t n = 0;
    for (int i = 0; i < 80; i++) {
        memcpy(buf + n, "st ", 3);
        n += 3;
    }
    char *out = out_buffer();
    size_t len = 1;
    cr_expect_eq(uf_normalize_address(uf_slice_make(buf, n), out, &len), UF_NORM_INVALID);
    cr_expect_eq(len, 0);
    free(out);
}

/* ------------------------------------------------------------------ */
/* City                                                                */
/* ------------------------------------------------------------------ */

static const addr_case city_cases[] = {
    CASE("SAN FRANCISCO ", UF_NORM_OK, "san francisco"),
    CASE("San  Francisco", UF_NORM_OK, "san francisco"),
    CASE("St. Louis", UF_NORM_OK, "saint louis"),
    CASE("Saint Louis", UF_NORM_OK, "saint louis"),
    CASE("Ste-Foy", UF_NORM_OK, "sainte foy"),
    CASE("Ft. Worth", UF_NORM_OK, "fort worth"),
    CASE("Mt Vernon", UF_NORM_OK, "mount vernon"),
    CASE("M\xc3\xbcnchen", UF_NORM_OK, "munchen"),
    CASE("MU\xcc\x88NCHEN", UF_NORM_OK, "munchen"),
    CASE("Z\xc3\xbcrich", UF_NORM_OK, "zurich"),
    CASE("K\xc3\xb8" "benhavn", UF_NORM_OK, "kobenhavn"),
    CASE("\xc5\x81\xc3\xb3" "d\xc5\xba", UF_NORM_OK, "lodz"),
    CASE("\xc4\xb0ZM\xc4\xb0R", UF_NORM_OK, "izmir"),
    CASE("Gie\xc3\x9f" "en", UF_NORM_OK, "giessen"),
    CASE("\xef\xbc\xae\xef\xbc\xb9\xef\xbc\xa3", UF_NORM_OK, "nyc"),
    CASE("\xe6\x9d\xb1\xe4\xba\xac", UF_NORM_OK, "\xe6\x9d\xb1\xe4\xba\xac"), /* 東京 */
    CASE("Paris \xf0\x9f\x97\xbc", UF_NORM_OK, "paris"),
    CASE("Winston-Salem", UF_NORM_OK, "winston salem"),
    CASE("N/A", UF_NORM_JUNK, NULL),
    CASE("unknown", UF_NORM_JUNK, NULL),
    CASE("", UF_NORM_EMPTY, NULL),
    CASE(" \t", UF_NORM_EMPTY, NULL),
    CASE("...", UF_NORM_EMPTY, NULL),
    CASE("Paris\0", UF_NORM_OK, "paris"),
    CASE("Par\xc3", UF_NORM_INVALID, NULL),
};

Test(normalize_city, table)
{
    check_table("city", uf_normalize_city, city_cases, UF_ARRAY_LEN(city_cases));
}

Test(normalize_city, hostile)
{
    check_hostile(uf_normalize_city);
}

/* ------------------------------------------------------------------ */
/* Postcode                                                            */
/* ------------------------------------------------------------------ */

static const addr_case postcode_cases[] = {
    CASE("sw1a 1aa", UF_NORM_OK, "SW1A1AA"),
    CASE(" SW1A  1AA ", UF_NORM_OK, "SW1A1AA"),
    CASE("94105", UF_NORM_OK, "94105"),
    CASE("94105-1234", UF_NORM_OK, "94105"),
    CASE("941051234", UF_NORM_OK, "94105"),
    CASE("10115", UF_NORM_OK, "10115"),
    CASE("75008", UF_NORM_OK, "75008"),
    CASE("1012 AB", UF_NORM_OK, "1012AB"),
    CASE("K1A 0B1", UF_NORM_OK, "K1A0B1"),
    CASE("100-0001", UF_NORM_OK, "1000001"),
    CASE("01310-200", UF_NORM_OK, "01310200"),
    CASE("D02 X285", UF_NORM_OK, "D02X285"),
    CASE("1234", UF_NORM_OK, "1234"),
    CASE("12", UF_NORM_INVALID, NULL),
    CASE("12345678901", UF_NORM_INVALID, NULL),
    CASE("SW1A#1AA", UF_NORM_INVALID, NULL),
    CASE("941\xc3\xa9", UF_NORM_INVALID, NULL),
    CASE("\xef\xbc\x99\xef\xbc\x94\xef\xbc\x91\xef\xbc\x90\xef\xbc\x95", UF_NORM_INVALID, NULL),
    CASE("94105\0", UF_NORM_INVALID, NULL),
    CASE("94\x01" "105", UF_NORM_INVALID, NULL),
    CASE("00000", UF_NORM_JUNK, NULL),
    CASE("99999", UF_NORM_JUNK, NULL),
    CASE("55555-5553", UF_NORM_JUNK, NULL),
    CASE("XXXXX", UF_NORM_JUNK, NULL),
    CASE("0", UF_NORM_JUNK, NULL),
    CASE("n/a", UF_NORM_JUNK, NULL),
    CASE("none", UF_NORM_JUNK, NULL),
    CASE("", UF_NORM_EMPTY, NULL),
    CASE("  - ", UF_NORM_EMPTY, NULL),
    CASE("?", UF_NORM_EMPTY, NULL),
};

Test(normalize_postcode, table)
{
    check_table("postcode", uf_normalize_postcode, postcode_cases, UF_ARRAY_LEN(postcode_cases));
}

Test(normalize_postcode, hostile)
{
    char *out = out_buffer();
    size_t len = 3;
    char *buf = malloc(10000);
    memset(buf, 'A', 10000);
    cr_expect_eq(uf_normalize_postcode(uf_slice_make(buf, 10000), out, &len), UF_NORM_INVALID);
    cr_expect_eq(uf_normalize_postcode(uf_slice_make(buf, 10), out, &len), UF_NORM_JUNK);
    for (size_t i = 0; i < 10000; i++)
        buf[i] = (char)('A' + i % 26);
    cr_expect_eq(uf_normalize_postcode(uf_slice_make(buf, 10000), out, &len), UF_NORM_INVALID);
    cr_expect_eq(len, 0);
    memset(buf, ' ', 10000);
    cr_expect_eq(uf_normalize_postcode(uf_slice_make(buf, 10000), out, &len), UF_NORM_EMPTY);
    free(buf);
    free(out);
}

/* ------------------------------------------------------------------ */
/* Country                                                             */
/* ------------------------------------------------------------------ */

static const addr_case country_cases[] = {
    CASE("us", UF_NORM_OK, "US"),
    CASE("US", UF_NORM_OK, "US"),
    CASE("USA", UF_NORM_OK, "US"),
    CASE("U.S.A.", UF_NORM_OK, "US"),
    CASE("u.s.", UF_NORM_OK, "US"),
    CASE("United States", UF_NORM_OK, "US"),
    CASE("United States of America", UF_NORM_OK, "US"),
    CASE("UK", UF_NORM_OK, "GB"),
    CASE("U.K.", UF_NORM_OK, "GB"),
    CASE("gb", UF_NORM_OK, "GB"),
    CASE("GBR", UF_NORM_OK, "GB"),
    CASE("Great Britain", UF_NORM_OK, "GB"),
    CASE("United Kingdom", UF_NORM_OK, "GB"),
    CASE("England", UF_NORM_OK, "GB"),
    CASE("Deutschland", UF_NORM_OK, "DE"),
    CASE("GERMANY", UF_NORM_OK, "DE"),
    CASE("deu", UF_NORM_OK, "DE"),
    CASE("The Netherlands", UF_NORM_OK, "NL"),
    CASE("\xc3\x96sterreich", UF_NORM_OK, "AT"),
    CASE("Espa\xc3\xb1" "a", UF_NORM_OK, "ES"),
    CASE("M\xc3\xa9xico", UF_NORM_OK, "MX"),
    CASE("T\xc3\xbcrkiye", UF_NORM_OK, "TR"),
    CASE("\xef\xbc\xa6\xef\xbc\xb2", UF_NORM_OK, "FR"), /* full-width FR */
    CASE("People's Republic of China", UF_NORM_OK, "CN"),
    CASE("Republic of Korea", UF_NORM_OK, "KR"),
    CASE("NA", UF_NORM_OK, "NA"), /* Namibia */
    CASE("xk", UF_NORM_OK, "XK"),
    CASE(" fr ", UF_NORM_OK, "FR"),
    CASE("Atlantis", UF_NORM_INVALID, NULL),
    CASE("QQ", UF_NORM_INVALID, NULL),
    CASE("U", UF_NORM_INVALID, NULL),
    CASE("\xf0\x9f\x87\xba\xf0\x9f\x87\xb8", UF_NORM_EMPTY, NULL), /* flag emoji: symbols */
    CASE("\xc4\xb0talya", UF_NORM_INVALID, NULL),
    CASE("US\0", UF_NORM_OK, "US"),
    CASE("U\0S", UF_NORM_OK, "US"),
    CASE("\xff", UF_NORM_INVALID, NULL),
    CASE("n/a", UF_NORM_JUNK, NULL),
    CASE("Unknown", UF_NORM_JUNK, NULL),
    CASE("XX", UF_NORM_JUNK, NULL),
    CASE("", UF_NORM_EMPTY, NULL),
    CASE(" . ", UF_NORM_EMPTY, NULL),
};

Test(normalize_country, table)
{
    check_table("country", uf_normalize_country, country_cases, UF_ARRAY_LEN(country_cases));
}

Test(normalize_country, hostile)
{
    check_hostile(uf_normalize_country);
}

Test(normalize_country, every_result_is_a_fixed_point)
{
    char *out = out_buffer();
    char again[UF_NORM_MAX];
    for (size_t i = 0; i < UF_ARRAY_LEN(country_cases); i++) {
        size_t len = 0, len2 = 0;
        if (uf_normalize_country(uf_slice_make(country_cases[i].in, country_cases[i].len), out,
                                 &len) != UF_NORM_OK)
            continue;
        cr_expect_eq(uf_normalize_country(uf_slice_make(out, len), again, &len2), UF_NORM_OK);
        cr_expect(len2 == 2 && memcmp(out, again, 2) == 0, "case %zu", i);
    }
    free(out);
}

/*
 * Every entry of the binary-searched tables, through the public functions:
 * an entry out of order would silently stop matching.
 */
Test(normalize_address, every_abbreviation_expands)
{
    static const char *const table[][2] = {
        {"aly", "alley"}, {"apt", "apartment"}, {"av", "avenue"}, {"ave", "avenue"},
        {"avn", "avenue"}, {"bldg", "building"}, {"blvd", "boulevard"}, {"bvd", "boulevard"},
        {"cir", "circle"}, {"cl", "close"}, {"cres", "crescent"}, {"crt", "court"},
        {"ct", "court"}, {"ctr", "center"}, {"cv", "cove"}, {"dept", "department"},
        {"dr", "drive"}, {"e", "east"}, {"expy", "expressway"}, {"fl", "floor"}, {"flr", "floor"},
        {"ft", "fort"}, {"fwy", "freeway"}, {"gdns", "gardens"}, {"grn", "green"},
        {"grv", "grove"}, {"hts", "heights"}, {"hwy", "highway"}, {"jct", "junction"},
        {"ln", "lane"}, {"mt", "mount"}, {"mtn", "mountain"}, {"n", "north"}, {"ne", "northeast"},
        {"nw", "northwest"}, {"pkwy", "parkway"}, {"pky", "parkway"}, {"pl", "place"},
        {"plz", "plaza"}, {"pt", "point"}, {"rd", "road"}, {"rdg", "ridge"}, {"rm", "room"},
        {"rte", "route"}, {"s", "south"}, {"se", "southeast"}, {"sq", "square"},
        {"str", "strasse"}, {"sw", "southwest"}, {"ter", "terrace"}, {"terr", "terrace"},
        {"tpke", "turnpike"}, {"trl", "trail"}, {"w", "west"}, {"xing", "crossing"},
    };
    char *out = out_buffer();
    char buf[64], want[64];
    size_t len;
    for (size_t i = 0; i < UF_ARRAY_LEN(table); i++) {
        /* After a plain word and before a number, no context rule applies. */
        int n = snprintf(buf, sizeof buf, "oak %s 9", table[i][0]);
        int wn = snprintf(want, sizeof want, "oak %s 9", table[i][1]);
        cr_expect_eq(uf_normalize_address(uf_slice_make(buf, (size_t)n), out, &len), UF_NORM_OK,
                     "%s", buf);
        cr_expect(len == (size_t)wn && memcmp(out, want, len) == 0, "%s: got %.*s", buf, (int)len,
                  out);
    }
    free(out);
}

Test(normalize_address, every_placeholder_is_junk)
{
    static const char *const address_placeholders[] = {
        "address", "city", "n a", "na", "nan", "nfa", "nil", "no address", "no fixed abode",
        "none", "not available", "not known", "not provided", "null", "same", "same as above",
        "street", "tba", "tbd", "test", "unknown", "x", "xx", "xxx",
    };
    static const char *const postcode_placeholders[] = {
        "NA", "NAN", "NIL", "NONE", "NOPOSTCODE", "NOZIP", "NULL", "TBA", "TBD", "UNK", "UNKNOWN",
    };
    static const char *const country_placeholders[] = {
        "country", "n a", "nan", "nil", "none", "not known", "not provided", "null", "other",
        "tbd", "test", "unk", "unknown", "xx", "xxx", "zz",
    };
    char *out = out_buffer();
    size_t len;
    for (size_t i = 0; i < UF_ARRAY_LEN(address_placeholders); i++) {
        uf_slice s = uf_slice_cstr(address_placeholders[i]);
        cr_expect_eq(uf_normalize_address(s, out, &len), UF_NORM_JUNK, "%s", s.ptr);
        cr_expect_eq(uf_normalize_city(s, out, &len), UF_NORM_JUNK, "%s", s.ptr);
    }
    for (size_t i = 0; i < UF_ARRAY_LEN(postcode_placeholders); i++)
        cr_expect_eq(uf_normalize_postcode(uf_slice_cstr(postcode_placeholders[i]), out, &len),
                     UF_NORM_JUNK, "%s", postcode_placeholders[i]);
    for (size_t i = 0; i < UF_ARRAY_LEN(country_placeholders); i++)
        cr_expect_eq(uf_normalize_country(uf_slice_cstr(country_placeholders[i]), out, &len),
                     UF_NORM_JUNK, "%s", country_placeholders[i]);
    free(out);
}

Test(normalize_country, every_iso_code_and_only_those)
{
    /* All 249 assigned ISO 3166-1 alpha-2 codes plus XK are accepted, as themselves. */
    char *out = out_buffer();
    size_t len, accepted = 0;
    for (char a = 'A'; a <= 'Z'; a++) {
        for (char b = 'A'; b <= 'Z'; b++) {
            char code[2] = {a, b};
            if (uf_normalize_country(uf_slice_make(code, 2), out, &len) != UF_NORM_OK)
                continue;
            accepted++;
            if (!(a == 'U' && b == 'K'))
                cr_expect(len == 2 && out[0] == a && out[1] == b, "%c%c -> %.*s", a, b, (int)len,
                          out);
        }
    }
    cr_expect_eq(accepted, 250 + 1, "accepted %zu codes (249 ISO + XK + UK)", accepted);
    free(out);
}

Test(normalize_country, every_alias_resolves)
{
    static const char *const aliases[][2] = {
        {"albania", "AL"}, {"algeria", "DZ"}, {"america", "US"}, {"and", "AD"}, {"andorra", "AD"},
        {"are", "AE"}, {"arg", "AR"}, {"argentina", "AR"}, {"armenia", "AM"}, {"aus", "AU"},
        {"australia", "AU"}, {"austria", "AT"}, {"aut", "AT"}, {"azerbaijan", "AZ"},
        {"bahrain", "BH"}, {"bangladesh", "BD"}, {"bel", "BE"}, {"belarus", "BY"},
        {"belgie", "BE"}, {"belgique", "BE"}, {"belgium", "BE"}, {"bgd", "BD"}, {"bgr", "BG"},
        {"bolivia", "BO"}, {"bosnia", "BA"}, {"bosnia and herzegovina", "BA"}, {"bra", "BR"},
        {"brasil", "BR"}, {"brazil", "BR"}, {"britain", "GB"}, {"bulgaria", "BG"}, {"can", "CA"},
        {"canada", "CA"}, {"che", "CH"}, {"chile", "CL"}, {"china", "CN"}, {"chl", "CL"},
        {"chn", "CN"}, {"col", "CO"}, {"colombia", "CO"}, {"costa rica", "CR"}, {"croatia", "HR"},
        {"cuba", "CU"}, {"cyp", "CY"}, {"cyprus", "CY"}, {"cze", "CZ"}, {"czech republic", "CZ"},
        {"czechia", "CZ"}, {"danmark", "DK"}, {"denmark", "DK"}, {"deu", "DE"},
        {"deutschland", "DE"}, {"dnk", "DK"}, {"dominican republic", "DO"}, {"ecuador", "EC"},
        {"egy", "EG"}, {"egypt", "EG"}, {"eire", "IE"}, {"england", "GB"}, {"esp", "ES"},
        {"espana", "ES"}, {"est", "EE"}, {"estonia", "EE"}, {"ethiopia", "ET"},
        {"federal republic of germany", "DE"}, {"fin", "FI"}, {"finland", "FI"}, {"fra", "FR"},
        {"france", "FR"}, {"gbr", "GB"}, {"georgia", "GE"}, {"germany", "DE"}, {"ghana", "GH"},
        {"grc", "GR"}, {"great britain", "GB"}, {"greece", "GR"}, {"guatemala", "GT"},
        {"hkg", "HK"}, {"holland", "NL"}, {"holy see", "VA"}, {"hong kong", "HK"}, {"hrv", "HR"},
        {"hun", "HU"}, {"hungary", "HU"}, {"iceland", "IS"}, {"idn", "ID"}, {"ind", "IN"},
        {"india", "IN"}, {"indonesia", "ID"}, {"iran", "IR"}, {"iraq", "IQ"}, {"ireland", "IE"},
        {"irl", "IE"}, {"isl", "IS"}, {"isr", "IL"}, {"israel", "IL"}, {"ita", "IT"},
        {"italia", "IT"}, {"italy", "IT"}, {"jamaica", "JM"}, {"japan", "JP"}, {"jordan", "JO"},
        {"jpn", "JP"}, {"kaz", "KZ"}, {"kazakhstan", "KZ"}, {"ken", "KE"}, {"kenya", "KE"},
        {"kor", "KR"}, {"korea", "KR"}, {"korea republic of", "KR"}, {"kosovo", "XK"},
        {"kuwait", "KW"}, {"kwt", "KW"}, {"latvia", "LV"}, {"lebanon", "LB"}, {"lie", "LI"},
        {"liechtenstein", "LI"}, {"lithuania", "LT"}, {"lka", "LK"}, {"ltu", "LT"}, {"lux", "LU"},
        {"luxembourg", "LU"}, {"lva", "LV"}, {"macao", "MO"}, {"macau", "MO"}, {"macedonia", "MK"},
        {"malaysia", "MY"}, {"malta", "MT"}, {"mar", "MA"}, {"mco", "MC"}, {"mex", "MX"},
        {"mexico", "MX"}, {"mlt", "MT"}, {"moldova", "MD"}, {"monaco", "MC"}, {"montenegro", "ME"},
        {"morocco", "MA"}, {"mys", "MY"}, {"nederland", "NL"}, {"nepal", "NP"},
        {"netherlands", "NL"}, {"new zealand", "NZ"}, {"nga", "NG"}, {"nigeria", "NG"},
        {"nippon", "JP"}, {"nld", "NL"}, {"nor", "NO"}, {"norge", "NO"}, {"north korea", "KP"},
        {"north macedonia", "MK"}, {"northern ireland", "GB"}, {"norway", "NO"}, {"nzl", "NZ"},
        {"oesterreich", "AT"}, {"oman", "OM"}, {"osterreich", "AT"}, {"pak", "PK"},
        {"pakistan", "PK"}, {"panama", "PA"}, {"paraguay", "PY"},
        {"people s republic of china", "CN"}, {"peoples republic of china", "CN"}, {"per", "PE"},
        {"peru", "PE"}, {"philippines", "PH"}, {"phl", "PH"}, {"pol", "PL"}, {"poland", "PL"},
        {"polska", "PL"}, {"portugal", "PT"}, {"prc", "CN"}, {"pri", "PR"}, {"prt", "PT"},
        {"puerto rico", "PR"}, {"qat", "QA"}, {"qatar", "QA"}, {"republic of china", "TW"},
        {"republic of ireland", "IE"}, {"republic of korea", "KR"}, {"romania", "RO"},
        {"rou", "RO"}, {"rus", "RU"}, {"russia", "RU"}, {"russian federation", "RU"},
        {"san marino", "SM"}, {"sau", "SA"}, {"saudi arabia", "SA"}, {"schweiz", "CH"},
        {"scotland", "GB"}, {"serbia", "RS"}, {"sgp", "SG"}, {"singapore", "SG"},
        {"slovakia", "SK"}, {"slovenia", "SI"}, {"south africa", "ZA"}, {"south korea", "KR"},
        {"spain", "ES"}, {"srb", "RS"}, {"sri lanka", "LK"}, {"suisse", "CH"}, {"suomi", "FI"},
        {"sverige", "SE"}, {"svizzera", "CH"}, {"svk", "SK"}, {"svn", "SI"}, {"swe", "SE"},
        {"sweden", "SE"}, {"switzerland", "CH"}, {"taiwan", "TW"}, {"tanzania", "TZ"},
        {"tha", "TH"}, {"thailand", "TH"}, {"tunisia", "TN"}, {"tur", "TR"}, {"turkey", "TR"},
        {"turkiye", "TR"}, {"twn", "TW"}, {"uae", "AE"}, {"uk", "GB"}, {"ukr", "UA"},
        {"ukraine", "UA"}, {"united arab emirates", "AE"}, {"united kingdom", "GB"},
        {"united kingdom of great britain and northern ireland", "GB"}, {"united states", "US"},
        {"united states of america", "US"}, {"uruguay", "UY"}, {"usa", "US"}, {"vatican", "VA"},
        {"vatican city", "VA"}, {"venezuela", "VE"}, {"viet nam", "VN"}, {"vietnam", "VN"},
        {"vnm", "VN"}, {"wales", "GB"}, {"zaf", "ZA"},
    };
    char *out = out_buffer();
    size_t len;
    for (size_t i = 0; i < UF_ARRAY_LEN(aliases); i++) {
        cr_expect_eq(uf_normalize_country(uf_slice_cstr(aliases[i][0]), out, &len), UF_NORM_OK,
                     "%s", aliases[i][0]);
        cr_expect(len == 2 && memcmp(out, aliases[i][1], 2) == 0, "%s -> %.*s, expected %s",
                  aliases[i][0], (int)len, out, aliases[i][1]);
    }
    free(out);
}
