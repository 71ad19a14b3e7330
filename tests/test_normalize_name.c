/*
 * test_normalize_name.c — the Unicode fold (uf_fold_text), one name part
 * (uf_normalize_name), full-name splitting (uf_normalize_full_name) and the
 * nickname table (uf_nickname_canonical).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "normalize.h"

typedef struct text_case {
    const char *in;
    size_t len;
    const char *keep;
    uf_norm_status status;
    const char *out;
} text_case;

#define TCASE(in, keep, status, out) {in, sizeof(in) - 1, keep, status, out}

static char *out_buffer(void)
{
    char *out = malloc(UF_NORM_MAX);
    cr_assert_not_null(out);
    memset(out, 0x5a, UF_NORM_MAX);
    return out;
}

/* ------------------------------------------------------------------ */
/* uf_fold_text                                                        */
/* ------------------------------------------------------------------ */

static const text_case fold_cases[] = {
    TCASE("  Jos\xc3\xa9  GARC\xc3\x8d" "A ", NULL, UF_NORM_OK, "jose garcia"),
    TCASE("Stra\xc3\x9f" "e", NULL, UF_NORM_OK, "strasse"),                       /* ß */
    TCASE("\xef\xac\x81nn", NULL, UF_NORM_OK, "finn"),                         /* ﬁ ligature */
    TCASE("\xef\xbc\xad\xc3\x9c\xef\xbc\xac\xef\xbc\xac\xef\xbc\xa5\xef\xbc\xb2", NULL,
          UF_NORM_OK, "muller"),                                                   /* full-width */
    TCASE("Mu\xcc\x88ller", NULL, UF_NORM_OK, "muller"),                           /* combining */
    TCASE("S\xc3\xb8ren \xc3\x98rsted", NULL, UF_NORM_OK, "soren orsted"),         /* ø Ø */
    TCASE("\xc5\x81\xc3\xb3" "d\xc5\xba", NULL, UF_NORM_OK, "lodz"),               /* Łódź */
    TCASE("\xc4\xb0stanbul", NULL, UF_NORM_OK, "istanbul"),                        /* İ */
    TCASE("ISTANBUL", NULL, UF_NORM_OK, "istanbul"),
    TCASE("\xc4\xb1spanak", NULL, UF_NORM_OK, "ispanak"),                          /* ı */
    TCASE("\xc3\x86sir \xc5\x92uvre \xc3\x9e\xc3\xb3r", NULL, UF_NORM_OK, "aesir oeuvre thor"),
    TCASE("\xc4\x90or\xc4\x91" "e", NULL, UF_NORM_OK, "dorde"),                    /* Đorđe */
    TCASE("Nguy\xe1\xbb\x85n", NULL, UF_NORM_OK, "nguyen"),                        /* ễ */
    TCASE("col\xc2\xb7lecci\xc3\xb3", NULL, UF_NORM_OK, "colleccio"),              /* l·l */
    TCASE("Jo\xf0\x9f\x98\x80hn", NULL, UF_NORM_OK, "jo hn"),                      /* emoji */
    TCASE("\xf0\x9f\x98\x80\xf0\x9f\x91\x8d", NULL, UF_NORM_EMPTY, NULL),
    TCASE("\xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac", NULL, UF_NORM_OK,
          "\xce\xb5\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xb1"),    /* Greek */
    TCASE("\xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90", NULL, UF_NORM_OK,
          "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0"),                    /* МОСКВА */
    TCASE("\xe5\x8c\x97\xe4\xba\xac", NULL, UF_NORM_OK, "\xe5\x8c\x97\xe4\xba\xac"), /* 北京 */
    TCASE("soft\xc2\xadhyphen", NULL, UF_NORM_OK, "softhyphen"),                   /* U+00AD */
    TCASE("zero\xe2\x80\x8bwidth", NULL, UF_NORM_OK, "zerowidth"),                 /* U+200B */
    TCASE("a\xc2\xa0" "b", NULL, UF_NORM_OK, "a b"),                               /* NBSP */
    TCASE("x\xc2\xb2 \xe2\x85\xab \xe2\x91\xa0", NULL, UF_NORM_OK, "x2 xii 1"),   /* ² Ⅻ ① */
    TCASE("O\xe2\x80\x99" "Brien", "'", UF_NORM_OK, "o'brien"),                    /* ’ */
    TCASE("\xc5\x89s", NULL, UF_NORM_OK, "ns"),                                    /* ŉ */
    TCASE("\xc5\x89s", "'", UF_NORM_OK, "'ns"),
    TCASE("o'brien-smith", "'-", UF_NORM_OK, "o'brien-smith"),
    TCASE("o'brien-smith", NULL, UF_NORM_OK, "o brien smith"),
    TCASE("o'brien-smith", "", UF_NORM_OK, "o brien smith"),
    TCASE("!!!...???", NULL, UF_NORM_EMPTY, NULL),
    TCASE("", NULL, UF_NORM_EMPTY, NULL),
    TCASE(" \t\r\n ", NULL, UF_NORM_EMPTY, NULL),
    TCASE("a\0b", NULL, UF_NORM_OK, "a b"),
    TCASE("a\0b", "\0", UF_NORM_OK, "a b"),
    TCASE("a\x01\x02\x7f" "b", NULL, UF_NORM_OK, "a b"),
    TCASE("\xc0\xaf", NULL, UF_NORM_INVALID, NULL),                                /* overlong */
    TCASE("\xed\xa0\x80", NULL, UF_NORM_INVALID, NULL),                            /* surrogate */
    TCASE("x\xf4\x90\x80\x80", NULL, UF_NORM_INVALID, NULL),                       /* > U+10FFFF */
    TCASE("abc\xe2\x82", NULL, UF_NORM_INVALID, NULL),                             /* truncated */
    TCASE("\xff", NULL, UF_NORM_INVALID, NULL),
};

static void check_table(const char *what, const text_case *cases, size_t count,
                        uf_norm_status (*fn)(uf_slice, char *, size_t *))
{
    char *out = out_buffer();
    for (size_t i = 0; i < count; i++) {
        const text_case *c = &cases[i];
        size_t len = 9999;
        uf_norm_status st = fn ? fn(uf_slice_make(c->in, c->len), out, &len)
                               : uf_fold_text(uf_slice_make(c->in, c->len), c->keep, out, &len);
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

Test(fold_text, table)
{
    cr_assert_geq(UF_ARRAY_LEN(fold_cases), 15);
    check_table("fold", fold_cases, UF_ARRAY_LEN(fold_cases), NULL);
}

Test(fold_text, ascii_and_unicode_paths_agree)
{
    /* The same ASCII text with one accented letter appended folds to the same prefix. */
    static const char *const inputs[] = {
        "  Hello,   World!  ", "A-B_C.D/E", "\tTabs\tand\nnewlines ", "MiXeD 123 CaSe",
    };
    char *a = out_buffer(), *b = out_buffer();
    for (size_t i = 0; i < UF_ARRAY_LEN(inputs); i++) {
        char with_accent[128];
        size_t n = strlen(inputs[i]);
        memcpy(with_accent, inputs[i], n);
        memcpy(with_accent + n, " \xc3\xa9", 3);
        size_t la = 0, lb = 0;
        cr_assert_eq(uf_fold_text(uf_slice_make(inputs[i], n), NULL, a, &la), UF_NORM_OK);
        cr_assert_eq(uf_fold_text(uf_slice_make(with_accent, n + 3), NULL, b, &lb), UF_NORM_OK);
        cr_expect_eq(lb, la + 2, "\"%s\"", inputs[i]);
        cr_expect(memcmp(a, b, la) == 0 && memcmp(b + la, " e", 2) == 0, "\"%s\"", inputs[i]);
    }
    free(a);
    free(b);
}

Test(fold_text, limits)
{
    char *out = out_buffer();
    size_t len = 5;
    char *buf = malloc(20000);

    /* Exactly UF_NORM_MAX letters fit; one more does not. */
    memset(buf, 'a', UF_NORM_MAX + 1);
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, UF_NORM_MAX), NULL, out, &len), UF_NORM_OK);
    cr_expect_eq(len, UF_NORM_MAX);
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, UF_NORM_MAX + 1), NULL, out, &len),
                 UF_NORM_INVALID);
    cr_expect_eq(len, 0);

    /* Same on the Unicode path: 128 two-byte letters fit (256 bytes), 129 do not. */
    for (size_t i = 0; i < 129; i++)
        memcpy(buf + 2 * i, "\xc3\xa9", 2); /* é folds to e: 1 byte each */
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, 258), NULL, out, &len), UF_NORM_OK);
    cr_expect_eq(len, 129);
    for (size_t i = 0; i < 129; i++)
        memcpy(buf + 2 * i, "\xd0\x96", 2); /* Ж -> ж: 2 bytes each */
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, 256), NULL, out, &len), UF_NORM_OK);
    cr_expect_eq(len, 256);
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, 258), NULL, out, &len), UF_NORM_INVALID);

    /* 10k repeated characters. */
    memset(buf, 'x', 10000);
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, 10000), NULL, out, &len), UF_NORM_INVALID);
    memset(buf, '-', 10000);
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, 10000), NULL, out, &len), UF_NORM_INVALID);
    memset(buf, '-', UF_NORM_INPUT_MAX);
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, UF_NORM_INPUT_MAX), NULL, out, &len),
                 UF_NORM_EMPTY);
    /* Surrounding whitespace does not count against the input limit. */
    memset(buf, ' ', 10000);
    memcpy(buf + 5000, "Ann", 3);
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, 10000), NULL, out, &len), UF_NORM_OK);
    cr_expect(len == 3 && memcmp(out, "ann", 3) == 0);
    memcpy(buf + 5000, "\xc3\x89va", 4);
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, 10000), NULL, out, &len), UF_NORM_OK);
    cr_expect(len == 3 && memcmp(out, "eva", 3) == 0);
    /* 10k repeated multi-byte characters. */
    for (size_t i = 0; i < 5000; i++)
        memcpy(buf + 2 * i, "\xc3\xa9", 2);
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, 10000), NULL, out, &len), UF_NORM_INVALID);
    /* Many combining marks on one letter: stripped, and within the input limit. */
    buf[0] = 'a';
    for (size_t i = 0; i < 1000; i++)
        memcpy(buf + 1 + 2 * i, "\xcc\x81", 2);
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, 2001), NULL, out, &len), UF_NORM_OK);
    cr_expect(len == 1 && out[0] == 'a');
    /* Expanding compatibility characters (U+FDFA is 18 code points) cannot overflow. */
    for (size_t i = 0; i < 1300; i++)
        memcpy(buf + 3 * i, "\xef\xb7\xba", 3);
    cr_expect_eq(uf_fold_text(uf_slice_make(buf, 3900), NULL, out, &len), UF_NORM_INVALID);
    free(buf);
    free(out);
}

Test(fold_text, status_names)
{
    cr_expect_str_eq(uf_norm_status_name(UF_NORM_OK), "ok");
    cr_expect_str_eq(uf_norm_status_name(UF_NORM_EMPTY), "empty");
    cr_expect_str_eq(uf_norm_status_name(UF_NORM_INVALID), "invalid");
    cr_expect_str_eq(uf_norm_status_name(UF_NORM_JUNK), "junk");
    cr_expect_str_eq(uf_norm_status_name((uf_norm_status)42), "unknown");
}

/* ------------------------------------------------------------------ */
/* uf_normalize_name                                                   */
/* ------------------------------------------------------------------ */

static const text_case name_cases[] = {
    TCASE("O'Brien", NULL, UF_NORM_OK, "obrien"),
    TCASE("O\xe2\x80\x99" "Brien", NULL, UF_NORM_OK, "obrien"),
    TCASE("D\xc2\xb4" "Angelo", NULL, UF_NORM_OK, "dangelo"),
    TCASE("Jean-Luc", NULL, UF_NORM_OK, "jean luc"),
    TCASE("  MARY  ", NULL, UF_NORM_OK, "mary"),
    TCASE("van der Berg", NULL, UF_NORM_OK, "van der berg"),
    TCASE("Mr. Smith", NULL, UF_NORM_OK, "smith"),
    TCASE("Smith Jr.", NULL, UF_NORM_OK, "smith"),
    TCASE("Jos\xc3\xa9", NULL, UF_NORM_OK, "jose"),
    TCASE("Zo\xc3\xab", NULL, UF_NORM_OK, "zoe"),
    TCASE("\xc5\x81UKASZ", NULL, UF_NORM_OK, "lukasz"),
    TCASE("\xc3\x96mer", NULL, UF_NORM_OK, "omer"),
    TCASE("\xc4\xb0lker", NULL, UF_NORM_OK, "ilker"),
    TCASE("Wei\xc3\x9f", NULL, UF_NORM_OK, "weiss"),
    TCASE("\xef\xbc\xaa\xef\xbc\xaf\xef\xbc\xa8\xef\xbc\xae", NULL, UF_NORM_OK, "john"),
    TCASE("John \xf0\x9f\x98\x80", NULL, UF_NORM_OK, "john"),
    TCASE("Nguy\xe1\xbb\x85n", NULL, UF_NORM_OK, "nguyen"),
    TCASE("Na", NULL, UF_NORM_OK, "na"),
    TCASE("J", NULL, UF_NORM_OK, "j"),
    TCASE("a\0b", NULL, UF_NORM_OK, "a b"),
    TCASE("Mr", NULL, UF_NORM_JUNK, NULL),
    TCASE("DR.", NULL, UF_NORM_JUNK, NULL),
    TCASE("Jr", NULL, UF_NORM_JUNK, NULL),
    TCASE("n/a", NULL, UF_NORM_JUNK, NULL),
    TCASE("N.A.", NULL, UF_NORM_JUNK, NULL),
    TCASE("Unknown", NULL, UF_NORM_JUNK, NULL),
    TCASE("FNU", NULL, UF_NORM_JUNK, NULL),
    TCASE("x", NULL, UF_NORM_JUNK, NULL),
    TCASE("Test Test", NULL, UF_NORM_JUNK, NULL),
    TCASE("first name", NULL, UF_NORM_JUNK, NULL),
    TCASE("X xx", NULL, UF_NORM_JUNK, NULL),
    TCASE("'", NULL, UF_NORM_EMPTY, NULL),
    TCASE("---", NULL, UF_NORM_EMPTY, NULL),
    TCASE("", NULL, UF_NORM_EMPTY, NULL),
    TCASE("   ", NULL, UF_NORM_EMPTY, NULL),
    TCASE("\xf0\x9f\x98\x80", NULL, UF_NORM_EMPTY, NULL),
    TCASE("\xff" "Ann", NULL, UF_NORM_INVALID, NULL),
    TCASE("Ann\xc3", NULL, UF_NORM_INVALID, NULL),
};

Test(normalize_name, table)
{
    cr_assert_geq(UF_ARRAY_LEN(name_cases), 15);
    check_table("name", name_cases, UF_ARRAY_LEN(name_cases), uf_normalize_name);
}

Test(normalize_name, hostile_lengths)
{
    char *out = out_buffer();
    size_t len = 1;
    char *buf = malloc(10000);
    memset(buf, 'a', 10000);
    cr_expect_eq(uf_normalize_name(uf_slice_make(buf, 10000), out, &len), UF_NORM_INVALID);
    cr_expect_eq(len, 0);
    memset(buf, '\'', 1000);
    cr_expect_eq(uf_normalize_name(uf_slice_make(buf, 1000), out, &len), UF_NORM_INVALID);
    memset(buf, '\'', 200);
    cr_expect_eq(uf_normalize_name(uf_slice_make(buf, 200), out, &len), UF_NORM_EMPTY);
    /* 128 one-letter words: 255 bytes, the most words a name can hold. */
    for (size_t i = 0; i < 128; i++) {
        buf[2 * i] = 'b';
        buf[2 * i + 1] = ' ';
    }
    cr_expect_eq(uf_normalize_name(uf_slice_make(buf, 255), out, &len), UF_NORM_OK);
    cr_expect_eq(len, 255);
    free(buf);
    free(out);
}

/* ------------------------------------------------------------------ */
/* uf_normalize_full_name                                              */
/* ------------------------------------------------------------------ */

typedef struct full_case {
    const char *in;
    size_t len;
    uf_norm_status status;
    const char *first;
    const char *last;
} full_case;

#define FCASE(in, status, first, last) {in, sizeof(in) - 1, status, first, last}

static const full_case full_cases[] = {
    FCASE("John Smith", UF_NORM_OK, "john", "smith"),
    FCASE("John Quincy Adams", UF_NORM_OK, "john", "adams"),
    FCASE("SMITH, John", UF_NORM_OK, "john", "smith"),
    FCASE("Smith, John Paul", UF_NORM_OK, "john", "smith"),
    FCASE("Smith ,John", UF_NORM_OK, "john", "smith"),
    FCASE("van der Berg, Anna", UF_NORM_OK, "anna", "van der berg"),
    FCASE("Ludwig van Beethoven", UF_NORM_OK, "ludwig", "van beethoven"),
    FCASE("Maria de la Cruz", UF_NORM_OK, "maria", "de la cruz"),
    FCASE("Dr. Jane Doe PhD", UF_NORM_OK, "jane", "doe"),
    FCASE("Jane Doe, Ph.D.", UF_NORM_OK, "jane", "doe"),
    FCASE("Mr John Smith Jr.", UF_NORM_OK, "john", "smith"),
    FCASE("John Smith, Jr.", UF_NORM_OK, "john", "smith"),
    FCASE("Smith, John, Jr.", UF_NORM_OK, "john", "smith"),
    FCASE("Smith, Dr. John", UF_NORM_OK, "john", "smith"),
    FCASE("Prof. Dr. Hans M\xc3\xbcller", UF_NORM_OK, "hans", "muller"),
    FCASE("Mrs Mary Ann Smith III", UF_NORM_OK, "mary", "smith"),
    FCASE("Madonna", UF_NORM_OK, "", "madonna"),
    FCASE("Mary-Jane Smith-Jones", UF_NORM_OK, "mary jane", "smith jones"),
    FCASE("O'Neil, Se\xc3\xa1n", UF_NORM_OK, "sean", "oneil"),
    FCASE("J. R. R. Tolkien", UF_NORM_OK, "j", "tolkien"),
    FCASE("Smith, Mr", UF_NORM_OK, "", "smith"),
    FCASE("SMITH, D", UF_NORM_OK, "d", "smith"),
    FCASE("Smith, J. D.", UF_NORM_OK, "j", "smith"),
    FCASE("John Smith, Jr., PhD", UF_NORM_OK, "john", "smith"),
    FCASE("Unknown, John", UF_NORM_OK, "john", ""),
    FCASE("\xef\xbc\xaa\xef\xbc\xaf\xef\xbc\xa8\xef\xbc\xae \xef\xbc\xb3\xef\xbc\xad\xef\xbc\xa9"
          "\xef\xbc\xb4\xef\xbc\xa8",
          UF_NORM_OK, "john", "smith"),                               /* full-width */
    FCASE("\xc4\xb0lker Y\xc4\xb1lmaz", UF_NORM_OK, "ilker", "yilmaz"), /* İlker Yılmaz */
    FCASE("Jos\xc3\xa9 Garc\xc3\xad" "a M\xc3\xa1rquez", UF_NORM_OK, "jose", "marquez"),
    FCASE("SMITH\xef\xbc\x8c John", UF_NORM_OK, "john", "smith"),     /* full-width comma */
    FCASE("John\0Smith", UF_NORM_OK, "john", "smith"),
    FCASE("John \xf0\x9f\x8e\x89 Smith", UF_NORM_OK, "john", "smith"),
    FCASE("Mr", UF_NORM_JUNK, "", ""),
    FCASE("n/a", UF_NORM_JUNK, "", ""),
    FCASE("Unknown Unknown", UF_NORM_JUNK, "", ""),
    FCASE("Test User", UF_NORM_JUNK, "", ""),
    FCASE("", UF_NORM_EMPTY, "", ""),
    FCASE(" , , ", UF_NORM_EMPTY, "", ""),
    FCASE("\xc3\x28", UF_NORM_INVALID, "", ""),
};

Test(normalize_full_name, table)
{
    cr_assert_geq(UF_ARRAY_LEN(full_cases), 15);
    char *first = out_buffer(), *last = out_buffer();
    for (size_t i = 0; i < UF_ARRAY_LEN(full_cases); i++) {
        const full_case *c = &full_cases[i];
        size_t fl = 999, ll = 999;
        uf_norm_status st =
            uf_normalize_full_name(uf_slice_make(c->in, c->len), first, &fl, last, &ll);
        cr_expect_eq(st, c->status, "case %zu \"%s\": status %s, expected %s", i, c->in,
                     uf_norm_status_name(st), uf_norm_status_name(c->status));
        if (st != c->status)
            continue;
        cr_expect(fl == strlen(c->first) && memcmp(first, c->first, fl) == 0,
                  "case %zu \"%s\": first \"%.*s\", expected \"%s\"", i, c->in, (int)fl, first,
                  c->first);
        cr_expect(ll == strlen(c->last) && memcmp(last, c->last, ll) == 0,
                  "case %zu \"%s\": last \"%.*s\", expected \"%s\"", i, c->in, (int)ll, last,
                  c->last);
    }
    free(first);
    free(last);
}

Test(normalize_full_name, agrees_with_name_parts)
{
    /* Splitting "First Last" gives what uf_normalize_name gives on each part. */
    static const char *const pairs[][2] = {
        {"Jean-Luc", "Picard"}, {"Zo\xc3\xab", "O'Brien"}, {"\xc3\x85sa", "Str\xc3\xb6m"},
        {"Mary-Jane", "Watson-Parker"},
    };
    char *a = out_buffer(), *b = out_buffer(), *first = out_buffer(), *last = out_buffer();
    for (size_t i = 0; i < UF_ARRAY_LEN(pairs); i++) {
        char full[128];
        int n = snprintf(full, sizeof full, "%s %s", pairs[i][0], pairs[i][1]);
        size_t la, lb, fl, ll;
        cr_assert_eq(uf_normalize_name(uf_slice_cstr(pairs[i][0]), a, &la), UF_NORM_OK);
        cr_assert_eq(uf_normalize_name(uf_slice_cstr(pairs[i][1]), b, &lb), UF_NORM_OK);
        cr_assert_eq(uf_normalize_full_name(uf_slice_make(full, (size_t)n), first, &fl, last, &ll),
                     UF_NORM_OK);
        cr_expect(fl == la && memcmp(first, a, la) == 0, "first of \"%s\"", full);
        cr_expect(ll == lb && memcmp(last, b, lb) == 0, "last of \"%s\"", full);
    }
    free(a);
    free(b);
    free(first);
    free(last);
}

Test(normalize_full_name, hostile_lengths)
{
    char *first = out_buffer(), *last = out_buffer();
    size_t fl = 1, ll = 1;
    char *buf = malloc(10000);
    memset(buf, ',', 10000);
    cr_expect_eq(uf_normalize_full_name(uf_slice_make(buf, 10000), first, &fl, last, &ll),
                 UF_NORM_INVALID);
    memset(buf, ',', 300);
    cr_expect_eq(uf_normalize_full_name(uf_slice_make(buf, 300), first, &fl, last, &ll),
                 UF_NORM_INVALID);
    memset(buf, ',', 200);
    cr_expect_eq(uf_normalize_full_name(uf_slice_make(buf, 200), first, &fl, last, &ll),
                 UF_NORM_EMPTY);
    for (size_t i = 0; i < 128; i++) {
        buf[2 * i] = (char)('a' + i % 26);
        buf[2 * i + 1] = i % 2 ? ',' : ' ';
    }
    cr_expect_eq(uf_normalize_full_name(uf_slice_make(buf, 255), first, &fl, last, &ll),
                 UF_NORM_OK);
    /* "a b,c d,e f,...": family "a b", given "c d" (first "c"), the rest dropped. */
    cr_expect(fl == 1 && first[0] == 'c');
    cr_expect(ll == 3 && memcmp(last, "a b", 3) == 0);
    free(buf);
    free(first);
    free(last);
}

/* ------------------------------------------------------------------ */
/* Nicknames                                                           */
/* ------------------------------------------------------------------ */

Test(nicknames, canonical_names)
{
    static const char *const table[][2] = {
        {"bob", "robert"},       {"rob", "robert"},       {"robbie", "robert"},
        {"bobby", "robert"},     {"bill", "william"},     {"will", "william"},
        {"billy", "william"},    {"liam", "william"},     {"wm", "william"},
        {"liz", "elizabeth"},    {"beth", "elizabeth"},   {"betty", "elizabeth"},
        {"eliza", "elizabeth"},  {"lizzie", "elizabeth"}, {"jim", "james"},
        {"jimmy", "james"},      {"jamie", "james"},      {"mike", "michael"},
        {"mikey", "michael"},    {"micheal", "michael"},  {"kate", "katherine"},
        {"katie", "katherine"},  {"kathy", "katherine"},  {"cathy", "katherine"},
        {"catherine", "katherine"}, {"kathryn", "katherine"}, {"abby", "abigail"},
        {"al", "albert"},        {"andy", "andrew"},      {"tony", "anthony"},
        {"chuck", "charles"},    {"dick", "richard"},     {"peggy", "margaret"},
        {"jack", "john"},        {"johnny", "john"},      {"ted", "edward"},
        {"hank", "henry"},       {"sally", "sarah"},      {"steve", "steven"},
        {"stephen", "steven"},   {"tom", "thomas"},       {"zach", "zachary"},
        {"xander", "alexander"}, {"wally", "walter"},     {"vicky", "victoria"},
    };
    for (size_t i = 0; i < UF_ARRAY_LEN(table); i++) {
        const char *got = uf_nickname_canonical(table[i][0], strlen(table[i][0]));
        cr_expect(got && strcmp(got, table[i][1]) == 0, "%s -> %s, expected %s", table[i][0],
                  got ? got : "NULL", table[i][1]);
    }
}

Test(nicknames, not_nicknames)
{
    static const char *const names[] = {
        "robert", "william", "elizabeth", "katherine", "chris", "alex", "sam", "pat", "jo",
        "b", "bo", "bobx", "bobb", "zzzz", "aaaa", "Bob", "BOB", " bob",
    };
    for (size_t i = 0; i < UF_ARRAY_LEN(names); i++)
        cr_expect_null(uf_nickname_canonical(names[i], strlen(names[i])), "\"%s\"", names[i]);
    cr_expect_null(uf_nickname_canonical("", 0));
    cr_expect_null(uf_nickname_canonical(NULL, 0));
    /* Length is honoured: "bobby" cut to 3 bytes is "bob". */
    cr_expect_str_eq(uf_nickname_canonical("bobby", 3), "robert");
    cr_expect_null(uf_nickname_canonical("bob\0x", 5));
}

Test(nicknames, canonical_of_normalized_name)
{
    char *out = out_buffer();
    size_t len = 0;
    cr_assert_eq(uf_normalize_name(uf_slice_cstr("  BOBBY "), out, &len), UF_NORM_OK);
    cr_expect_str_eq(uf_nickname_canonical(out, len), "robert");
    free(out);
}

/*
 * Every entry of the binary-searched word tables, through the public
 * functions: an entry out of order would silently stop matching.
 */
Test(normalize_name, every_title_suffix_and_placeholder_alone_is_junk)
{
    static const char *const noise[] = {
        "anon", "anonymous", "asdf", "bsc", "cpa", "customer", "dame", "dds", "dott", "dr",
        "dummy", "dvm", "esq", "fnu", "fr", "frau", "fru", "guest", "herr", "hr", "ii", "iii",
        "ing", "iv", "jnr", "jr", "junior", "lady", "lnu", "lord", "madam", "madame", "mba", "md",
        "miss", "mlle", "mme", "mr", "mrs", "ms", "msc", "mx", "nfn", "nil", "nmn", "nobody",
        "noname", "none", "null", "phd", "prof", "professor", "qwerty", "rev", "revd", "reverend",
        "rn", "sample", "senior", "sir", "snr", "sr", "sra", "srta", "tba", "tbd", "test",
        "testing", "undefined", "unk", "unknown", "user", "xx", "xxx",
    };
    char *out = out_buffer();
    size_t len;
    for (size_t i = 0; i < UF_ARRAY_LEN(noise); i++)
        cr_expect_eq(uf_normalize_name(uf_slice_cstr(noise[i]), out, &len), UF_NORM_JUNK, "%s",
                     noise[i]);
    free(out);
}

Test(normalize_full_name, every_particle_stays_with_the_surname)
{
    static const char *const particles[] = {
        "al", "bin", "binti", "da", "das", "de", "del", "della", "den", "der", "di", "do", "dos",
        "du", "el", "ibn", "la", "le", "st", "ste", "ten", "ter", "van", "von", "zu",
    };
    char *first = out_buffer(), *last = out_buffer();
    char buf[64], want[64];
    size_t fl, ll;
    for (size_t i = 0; i < UF_ARRAY_LEN(particles); i++) {
        int n = snprintf(buf, sizeof buf, "Anna %s Berg", particles[i]);
        int wn = snprintf(want, sizeof want, "%s berg", particles[i]);
        cr_expect_eq(uf_normalize_full_name(uf_slice_make(buf, (size_t)n), first, &fl, last, &ll),
                     UF_NORM_OK, "%s", buf);
        cr_expect(ll == (size_t)wn && memcmp(last, want, ll) == 0, "%s: last %.*s", buf, (int)ll,
                  last);
    }
    free(first);
    free(last);
}

Test(nicknames, every_entry_resolves)
{
    static const char *const table[][2] = {
        {"abbie", "abigail"}, {"abby", "abigail"}, {"al", "albert"}, {"alf", "alfred"},
        {"alfie", "alfred"}, {"allan", "alan"}, {"allen", "alan"}, {"andy", "andrew"},
        {"ann", "anne"}, {"annie", "anne"}, {"art", "arthur"}, {"artie", "arthur"},
        {"babs", "barbara"}, {"barb", "barbara"}, {"barbie", "barbara"}, {"becca", "rebecca"},
        {"becky", "rebecca"}, {"bella", "isabella"}, {"ben", "benjamin"}, {"benji", "benjamin"},
        {"benny", "benjamin"}, {"bertie", "albert"}, {"bess", "elizabeth"},
        {"bessie", "elizabeth"}, {"beth", "elizabeth"}, {"betsy", "elizabeth"},
        {"bettie", "elizabeth"}, {"betty", "elizabeth"}, {"bill", "william"}, {"billy", "william"},
        {"bob", "robert"}, {"bobby", "robert"}, {"brad", "bradley"}, {"carrie", "caroline"},
        {"cate", "katherine"}, {"cath", "katherine"}, {"catherine", "katherine"},
        {"cathy", "katherine"}, {"charlie", "charles"}, {"chas", "charles"}, {"chaz", "charles"},
        {"chuck", "charles"}, {"cindy", "cynthia"}, {"dan", "daniel"}, {"danny", "daniel"},
        {"dave", "david"}, {"davey", "david"}, {"davy", "david"}, {"deb", "deborah"},
        {"debbie", "deborah"}, {"debby", "deborah"}, {"debra", "deborah"}, {"dick", "richard"},
        {"dickie", "richard"}, {"dolly", "dorothy"}, {"dom", "dominic"}, {"don", "donald"},
        {"donnie", "donald"}, {"donny", "donald"}, {"dot", "dorothy"}, {"dottie", "dorothy"},
        {"doug", "douglas"}, {"drew", "andrew"}, {"ed", "edward"}, {"eddie", "edward"},
        {"eddy", "edward"}, {"elisabeth", "elizabeth"}, {"eliza", "elizabeth"},
        {"ellie", "eleanor"}, {"em", "emily"}, {"emmy", "emily"}, {"ernie", "ernest"},
        {"fanny", "frances"}, {"frank", "francis"}, {"fred", "alfred"}, {"freddie", "alfred"},
        {"freddy", "frederick"}, {"fritz", "frederick"}, {"gabe", "gabriel"}, {"gene", "eugene"},
        {"geoff", "jeffrey"}, {"geoffrey", "jeffrey"}, {"gerry", "gerald"}, {"ginny", "virginia"},
        {"greg", "gregory"}, {"greta", "margaret"}, {"gus", "augustus"}, {"hank", "henry"},
        {"harry", "henry"}, {"isabel", "isabella"}, {"izzy", "isabella"}, {"jack", "john"},
        {"jackie", "jacqueline"}, {"jake", "jacob"}, {"jamie", "james"}, {"jeff", "jeffrey"},
        {"jeffery", "jeffrey"}, {"jem", "james"}, {"jen", "jennifer"}, {"jenn", "jennifer"},
        {"jennie", "jennifer"}, {"jenny", "jennifer"}, {"jerry", "gerald"}, {"jess", "jessica"},
        {"jessie", "jessica"}, {"jim", "james"}, {"jimmie", "james"}, {"jimmy", "james"},
        {"joe", "joseph"}, {"joey", "joseph"}, {"johnny", "john"}, {"josh", "joshua"},
        {"josie", "josephine"}, {"judy", "judith"}, {"kat", "katherine"}, {"kate", "katherine"},
        {"katharine", "katherine"}, {"kathrine", "katherine"}, {"kathryn", "katherine"},
        {"kathy", "katherine"}, {"katie", "katherine"}, {"katy", "katherine"}, {"ken", "kenneth"},
        {"kenny", "kenneth"}, {"kim", "kimberly"}, {"kitty", "katherine"}, {"larry", "lawrence"},
        {"laurence", "lawrence"}, {"len", "leonard"}, {"lenny", "leonard"}, {"liam", "william"},
        {"libby", "elizabeth"}, {"lisbeth", "elizabeth"}, {"liz", "elizabeth"},
        {"lizzie", "elizabeth"}, {"lizzy", "elizabeth"}, {"lou", "louis"}, {"madge", "margaret"},
        {"maggie", "margaret"}, {"mags", "margaret"}, {"marge", "margaret"},
        {"margie", "margaret"}, {"matt", "matthew"}, {"matty", "matthew"}, {"meg", "margaret"},
        {"micheal", "michael"}, {"mick", "michael"}, {"mickey", "michael"}, {"micky", "michael"},
        {"mike", "michael"}, {"mikey", "michael"}, {"molly", "mary"}, {"monty", "montgomery"},
        {"mort", "mortimer"}, {"nan", "anne"}, {"nat", "nathaniel"}, {"nate", "nathaniel"},
        {"ned", "edward"}, {"nell", "eleanor"}, {"nellie", "eleanor"}, {"nick", "nicholas"},
        {"nicky", "nicholas"}, {"nico", "nicholas"}, {"ollie", "oliver"}, {"paddy", "patrick"},
        {"pam", "pamela"}, {"patty", "patricia"}, {"peggy", "margaret"}, {"penny", "penelope"},
        {"pete", "peter"}, {"phil", "philip"}, {"phillip", "philip"}, {"pip", "philip"},
        {"polly", "mary"}, {"ray", "raymond"}, {"rich", "richard"}, {"richie", "richard"},
        {"rick", "richard"}, {"ricky", "richard"}, {"rob", "robert"}, {"robbie", "robert"},
        {"robby", "robert"}, {"ron", "ronald"}, {"ronnie", "ronald"}, {"ronny", "ronald"},
        {"rudy", "rudolph"}, {"sadie", "sarah"}, {"sally", "sarah"}, {"sara", "sarah"},
        {"stan", "stanley"}, {"stephen", "steven"}, {"steve", "steven"}, {"stevie", "steven"},
        {"sue", "susan"}, {"susie", "susan"}, {"suzie", "susan"}, {"suzy", "susan"},
        {"ted", "edward"}, {"teddy", "edward"}, {"theo", "theodore"}, {"thom", "thomas"},
        {"tim", "timothy"}, {"timmy", "timothy"}, {"tom", "thomas"}, {"tommy", "thomas"},
        {"tony", "anthony"}, {"topher", "christopher"}, {"tori", "victoria"},
        {"tricia", "patricia"}, {"trish", "patricia"}, {"vicki", "victoria"},
        {"vicky", "victoria"}, {"vince", "vincent"}, {"vinny", "vincent"}, {"wally", "walter"},
        {"walt", "walter"}, {"will", "william"}, {"willie", "william"}, {"willy", "william"},
        {"wm", "william"}, {"xander", "alexander"}, {"zac", "zachary"}, {"zach", "zachary"},
        {"zack", "zachary"},
    };
    cr_expect_geq(UF_ARRAY_LEN(table), 150);
    for (size_t i = 0; i < UF_ARRAY_LEN(table); i++) {
        const char *got = uf_nickname_canonical(table[i][0], strlen(table[i][0]));
        cr_expect(got && strcmp(got, table[i][1]) == 0, "%s -> %s, expected %s", table[i][0],
                  got ? got : "NULL", table[i][1]);
        /* Canonical names are not nicknames themselves: one lookup is enough. */
        cr_expect_null(uf_nickname_canonical(table[i][1], strlen(table[i][1])), "%s", table[i][1]);
    }
}

/*
 * Every entry of the nickname table, read from its source: the lookup
 * binary-searches names zero-padded to 16 bytes, so an entry out of byte
 * order, or one of 16 bytes or more (no padding left), would silently stop
 * matching. Each must be found and give its canonical name.
 */
Test(nicknames, every_entry_of_the_table_is_found)
{
    FILE *f = fopen(UF_TEST_SOURCE_DIR "/engine/nicknames.c", "rb");
    cr_assert(f, "cannot open engine/nicknames.c");
    char *source = calloc(1, 1 << 20);
    cr_assert(source);
    fread(source, 1, (1 << 20) - 1, f);
    fclose(f);
    char previous[64] = "";
    size_t entries = 0;
    for (const char *line = strstr(source, "\n    {\""); line; line = strstr(line + 1, "\n    {\"")) {
        char name[64], canonical[64];
        cr_assert_eq(sscanf(line, "\n    {\"%63[^\"]\", \"%63[^\"]\"},", name, canonical), 2, "%.60s", line + 1);
        cr_expect_lt(strlen(name), 16, "'%s' is too long for the padded lookup", name);
        cr_expect_gt(strcmp(name, previous), 0, "'%s' after '%s': the table must be in byte order", name, previous);
        const char *got = uf_nickname_canonical(name, strlen(name));
        cr_expect(got && strcmp(got, canonical) == 0, "%s -> %s, expected %s", name, got ? got : "NULL", canonical);
        snprintf(previous, sizeof previous, "%s", name);
        entries++;
    }
    cr_expect_geq(entries, 200, "read %zu entries from engine/nicknames.c", entries);
    free(source);
}
