/*
 * test_normalize_date.c — uf_normalize_dob_at / uf_normalize_dob: formats,
 * the three date orders, two-digit years, leap years, the future (with
 * "today" pinned to 2024-06-15), placeholders and hostile input.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "normalize.h"

#define TODAY 20240615

typedef struct date_case {
    const char *in;
    size_t len;
    uf_date_order order;
    uf_norm_status status;
    const char *out;
} date_case;

#define CASE(in, order, status, out) {in, sizeof(in) - 1, order, status, out}
#define DMY UF_DATE_DMY
#define MDY UF_DATE_MDY
#define YMD UF_DATE_YMD

static const date_case cases[] = {
    /* ISO, whatever the order, with and without a time part. */
    CASE("1985-03-07", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("1985/03/07", MDY, UF_NORM_OK, "1985-03-07"),
    CASE("1985.03.07", YMD, UF_NORM_OK, "1985-03-07"),
    CASE("19850307", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("1985-3-7", DMY, UF_NORM_OK, "1985-03-07"),
    CASE(" 1985-03-07T10:22:00Z ", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("1985-03-07 10:22:00", MDY, UF_NORM_OK, "1985-03-07"),
    CASE("1985-03-07T00:00:00.000+02:00", DMY, UF_NORM_OK, "1985-03-07"),
    /* Day-month-year. */
    CASE("07/03/1985", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("07.03.1985", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("7-3-1985", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("7 3 1985", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("07/03/1985 23:59", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("07031985", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("070385", DMY, UF_NORM_OK, "1985-03-07"),
    /* Month-day-year. */
    CASE("03/07/1985", MDY, UF_NORM_OK, "1985-03-07"),
    CASE("12/31/1999", MDY, UF_NORM_OK, "1999-12-31"),
    CASE("31/12/1999", MDY, UF_NORM_INVALID, NULL),
    CASE("03071985", MDY, UF_NORM_OK, "1985-03-07"),
    CASE("030785", MDY, UF_NORM_OK, "1985-03-07"),
    /* Year-month-day with a two-digit year. */
    CASE("85-03-07", YMD, UF_NORM_OK, "1985-03-07"),
    CASE("850307", YMD, UF_NORM_OK, "1985-03-07"),
    CASE("07/03/1985", YMD, UF_NORM_INVALID, NULL),
    /* Two-digit years: 20yy unless that is in the future. */
    CASE("07/03/85", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("07/03/05", DMY, UF_NORM_OK, "2005-03-07"),
    CASE("07/03/24", DMY, UF_NORM_OK, "2024-03-07"),
    CASE("15/06/24", DMY, UF_NORM_OK, "2024-06-15"),
    CASE("16/06/24", DMY, UF_NORM_OK, "1924-06-16"),
    CASE("01/01/00", DMY, UF_NORM_OK, "2000-01-01"),
    CASE("07/03/985", DMY, UF_NORM_INVALID, NULL),
    /* Month names. */
    CASE("7 Mar 1985", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("07-MAR-85", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("March 7th, 1985", MDY, UF_NORM_OK, "1985-03-07"),
    CASE("Thu, 7 March 1985", DMY, UF_NORM_OK, "1985-03-07"),
    CASE("7. Oktober 1985", DMY, UF_NORM_OK, "1985-10-07"),
    CASE("Sept 21 1985 10:00 AM", MDY, UF_NORM_OK, "1985-09-21"),
    CASE("1985 Dec 1st", YMD, UF_NORM_OK, "1985-12-01"),
    CASE("Mar 1985", DMY, UF_NORM_INVALID, NULL),
    CASE("7 Foo 1985", DMY, UF_NORM_INVALID, NULL),
    CASE("7 Mar Apr 1985", DMY, UF_NORM_INVALID, NULL),
    /* Leap years. */
    CASE("29/02/2000", DMY, UF_NORM_OK, "2000-02-29"),
    CASE("29/02/1900", DMY, UF_NORM_INVALID, NULL),
    CASE("29/02/2023", DMY, UF_NORM_INVALID, NULL),
    CASE("2024-02-29", DMY, UF_NORM_OK, "2024-02-29"),
    CASE("29/02/96", DMY, UF_NORM_OK, "1996-02-29"),
    CASE("31/04/1985", DMY, UF_NORM_INVALID, NULL),
    CASE("00/01/1985", DMY, UF_NORM_INVALID, NULL),
    CASE("13/13/1985", DMY, UF_NORM_INVALID, NULL),
    CASE("1985-00-10", DMY, UF_NORM_INVALID, NULL),
    /* Future and too old. */
    CASE("2024-06-15", DMY, UF_NORM_OK, "2024-06-15"),
    CASE("2024-06-16", DMY, UF_NORM_INVALID, NULL),
    CASE("2030-01-01", DMY, UF_NORM_INVALID, NULL),
    CASE("1899-05-01", DMY, UF_NORM_INVALID, NULL),
    CASE("1900-01-02", DMY, UF_NORM_OK, "1900-01-02"),
    /* Placeholders. */
    CASE("1900-01-01", DMY, UF_NORM_JUNK, NULL),
    CASE("01/01/1900", MDY, UF_NORM_JUNK, NULL),
    CASE("1970-01-01", DMY, UF_NORM_JUNK, NULL),
    CASE("00/00/0000", DMY, UF_NORM_JUNK, NULL),
    CASE("0000-00-00", DMY, UF_NORM_JUNK, NULL),
    CASE("00000000", DMY, UF_NORM_JUNK, NULL),
    CASE("9999-12-31", DMY, UF_NORM_JUNK, NULL),
    CASE("1753-01-01", DMY, UF_NORM_JUNK, NULL),
    CASE("N/A", DMY, UF_NORM_JUNK, NULL),
    CASE("unknown", DMY, UF_NORM_JUNK, NULL),
    /* Empty. */
    CASE("", DMY, UF_NORM_EMPTY, NULL),
    CASE(" \t ", DMY, UF_NORM_EMPTY, NULL),
    CASE("--/--/----", DMY, UF_NORM_EMPTY, NULL),
    /* Malformed. */
    CASE("1985-3", DMY, UF_NORM_INVALID, NULL),
    CASE("1985-03-07-01", DMY, UF_NORM_INVALID, NULL),
    CASE("07/03-1985", DMY, UF_NORM_INVALID, NULL),
    CASE("1985-03-07garbage", DMY, UF_NORM_INVALID, NULL),
    CASE("10:22", DMY, UF_NORM_INVALID, NULL),
    CASE("123456789012", DMY, UF_NORM_INVALID, NULL),
    CASE("1985", DMY, UF_NORM_INVALID, NULL),
    /* Unicode and hostile bytes. */
    CASE("\xef\xbc\x97/\xef\xbc\x93/\xef\xbc\x91\xef\xbc\x99\xef\xbc\x98\xef\xbc\x95", DMY,
         UF_NORM_INVALID, NULL),                                   /* full-width digits */
    CASE("7 M\xc3\xa4rz 1985", DMY, UF_NORM_INVALID, NULL),        /* März */
    CASE("1985\xe2\x80\x90" "03\xe2\x80\x90" "07", DMY, UF_NORM_INVALID, NULL), /* U+2010 */
    CASE("\xf0\x9f\x8e\x82 1985-03-07", DMY, UF_NORM_INVALID, NULL), /* emoji */
    CASE("\xc4\xb0", DMY, UF_NORM_INVALID, NULL),
    CASE("1985-03-07\0", DMY, UF_NORM_INVALID, NULL),
    CASE("1985\0-03-07", DMY, UF_NORM_INVALID, NULL),
    CASE("1985-03-07\x01", DMY, UF_NORM_INVALID, NULL),
    CASE("\xff\xfe", DMY, UF_NORM_INVALID, NULL),
    CASE("\x01\x02", DMY, UF_NORM_INVALID, NULL),
};

Test(normalize_dob, table)
{
    cr_assert_geq(UF_ARRAY_LEN(cases), 15);
    char *out = malloc(10); /* the documented minimum buffer */
    cr_assert_not_null(out);
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        const date_case *c = &cases[i];
        size_t len = 999;
        uf_norm_status st =
            uf_normalize_dob_at(uf_slice_make(c->in, c->len), c->order, TODAY, out, &len);
        cr_expect_eq(st, c->status, "case %zu \"%s\": status %s, expected %s", i, c->in,
                     uf_norm_status_name(st), uf_norm_status_name(c->status));
        if (c->status == UF_NORM_OK && st == UF_NORM_OK)
            cr_expect(len == 10 && memcmp(out, c->out, 10) == 0,
                      "case %zu \"%s\": got \"%.*s\", expected \"%s\"", i, c->in, (int)len, out,
                      c->out);
        else if (st != UF_NORM_OK)
            cr_expect_eq(len, 0, "case %zu: out_len must be 0 when not ok", i);
    }
    free(out);
}

Test(normalize_dob, every_day_of_a_leap_cycle_round_trips)
{
    /* 1996..2003 day by day: ISO in, same ISO out; DMY and MDY spellings agree. */
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    char out[10];
    int checked = 0;
    for (int y = 1996; y <= 2003; y++) {
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for (int m = 1; m <= 12; m++) {
            int days = mdays[m - 1] + (m == 2 && leap);
            for (int d = 1; d <= days + 1; d++) {
                char iso[40], dmy[40], mdy[40];
                snprintf(iso, sizeof iso, "%04d-%02d-%02d", y, m, d);
                snprintf(dmy, sizeof dmy, "%d/%d/%04d", d, m, y);
                snprintf(mdy, sizeof mdy, "%02d.%02d.%04d", m, d, y);
                size_t len = 0;
                uf_norm_status want = d <= days ? UF_NORM_OK : UF_NORM_INVALID;
                cr_assert_eq(uf_normalize_dob_at(uf_slice_cstr(iso), DMY, TODAY, out, &len), want,
                             "%s", iso);
                if (want == UF_NORM_OK)
                    cr_assert(memcmp(out, iso, 10) == 0, "%s", iso);
                cr_assert_eq(uf_normalize_dob_at(uf_slice_cstr(dmy), DMY, TODAY, out, &len), want,
                             "%s", dmy);
                if (want == UF_NORM_OK)
                    cr_assert(memcmp(out, iso, 10) == 0, "%s", dmy);
                cr_assert_eq(uf_normalize_dob_at(uf_slice_cstr(mdy), MDY, TODAY, out, &len), want,
                             "%s", mdy);
                checked++;
            }
        }
    }
    cr_expect_eq(checked, 8 * 365 + 2 + 8 * 12);
}

Test(normalize_dob, today_is_inclusive_at_any_date)
{
    char out[10];
    size_t len;
    cr_expect_eq(uf_normalize_dob_at(uf_slice_cstr("2000-02-29"), DMY, 20000229, out, &len),
                 UF_NORM_OK);
    cr_expect_eq(uf_normalize_dob_at(uf_slice_cstr("2000-03-01"), DMY, 20000229, out, &len),
                 UF_NORM_INVALID);
    /* Two-digit year pivot moves with today. */
    cr_expect_eq(uf_normalize_dob_at(uf_slice_cstr("01/01/10"), DMY, 20091231, out, &len),
                 UF_NORM_OK);
    cr_expect(memcmp(out, "1910-01-01", 10) == 0);
    cr_expect_eq(uf_normalize_dob_at(uf_slice_cstr("01/01/10"), DMY, 20100101, out, &len),
                 UF_NORM_OK);
    cr_expect(memcmp(out, "2010-01-01", 10) == 0);
}

Test(normalize_dob, real_clock)
{
    int32_t today = uf_today_yyyymmdd();
    cr_expect_gt(today, 20240101);
    cr_expect_lt(today, 21000101);
    int m = today / 100 % 100, d = today % 100;
    cr_expect(m >= 1 && m <= 12 && d >= 1 && d <= 31);
    char out[10];
    size_t len;
    cr_expect_eq(uf_normalize_dob(uf_slice_cstr("07/03/1985"), DMY, out, &len), UF_NORM_OK);
    cr_expect(len == 10 && memcmp(out, "1985-03-07", 10) == 0);
    cr_expect_eq(uf_normalize_dob(uf_slice_cstr("2999-01-01"), DMY, out, &len), UF_NORM_INVALID);
}

Test(normalize_dob, hostile_lengths)
{
    char out[10];
    size_t len = 4;
    char *buf = malloc(10000);
    memset(buf, '1', 10000);
    cr_expect_eq(uf_normalize_dob_at(uf_slice_make(buf, 10000), DMY, TODAY, out, &len),
                 UF_NORM_INVALID);
    cr_expect_eq(len, 0);
    memset(buf, ' ', 10000);
    memcpy(buf + 4000, "1985-03-07", 10);
    cr_expect_eq(uf_normalize_dob_at(uf_slice_make(buf, 10000), DMY, TODAY, out, &len),
                 UF_NORM_OK);
    memset(buf, '/', 10000);
    cr_expect_eq(uf_normalize_dob_at(uf_slice_make(buf, 10000), DMY, TODAY, out, &len),
                 UF_NORM_INVALID);
    for (size_t i = 0; i < 60; i += 2) {
        buf[i] = '1';
        buf[i + 1] = '/';
    }
    cr_expect_eq(uf_normalize_dob_at(uf_slice_make(buf, 59), DMY, TODAY, out, &len),
                 UF_NORM_INVALID);
    free(buf);
}
