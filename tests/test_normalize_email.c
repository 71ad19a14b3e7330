/*
 * test_normalize_email.c — uf_normalize_email: shape, case, provider rules,
 * junk placeholders and hostile input, as one table plus a few generated
 * inputs. The output buffer is heap-allocated with exactly UF_NORM_MAX bytes
 * so AddressSanitizer catches any write past it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "normalize.h"

typedef struct email_case {
    const char *in;
    size_t len;
    uf_norm_status status;
    const char *out;
} email_case;

#define CASE(in, status, out) {in, sizeof(in) - 1, status, out}

static const email_case cases[] = {
    /* Plain, case, trimming. */
    CASE("john.smith@example.co.uk", UF_NORM_OK, "john.smith@example.co.uk"),
    CASE("  John.Smith@Company.COM \t", UF_NORM_OK, "john.smith@company.com"),
    CASE("mailto:Anna@Firma.de", UF_NORM_OK, "anna@firma.de"),
    CASE("<anna@firma.de>", UF_NORM_OK, "anna@firma.de"),
    CASE("anna@firma.de.", UF_NORM_OK, "anna@firma.de"),
    CASE("o'brien+news@firma.ie", UF_NORM_OK, "o'brien+news@firma.ie"),
    CASE("a.b-c_d@sub.domain.xn--p1ai", UF_NORM_OK, "a.b-c_d@sub.domain.xn--p1ai"),
    /* Provider rules. */
    CASE("John.Smith+promo@GMail.com", UF_NORM_OK, "johnsmith@gmail.com"),
    CASE("j.o.h.n.smith@googlemail.com", UF_NORM_OK, "johnsmith@gmail.com"),
    CASE("john.smith+x+y@outlook.com", UF_NORM_OK, "john.smith@outlook.com"),
    CASE("jane+shop@icloud.com", UF_NORM_OK, "jane@icloud.com"),
    CASE("jane+shop@yahoo.com", UF_NORM_OK, "jane+shop@yahoo.com"),
    CASE("jane-shop@yahoo.com", UF_NORM_OK, "jane-shop@yahoo.com"),
    CASE("+promo@gmail.com", UF_NORM_INVALID, NULL),
    /* Empty and blank. */
    CASE("", UF_NORM_EMPTY, NULL),
    CASE("   \t\r\n ", UF_NORM_EMPTY, NULL),
    CASE("<>", UF_NORM_EMPTY, NULL),
    /* Bad shape. */
    CASE("john.smith", UF_NORM_INVALID, NULL),
    CASE("@example.com", UF_NORM_INVALID, NULL),
    CASE("john@", UF_NORM_INVALID, NULL),
    CASE("john@@firma.de", UF_NORM_INVALID, NULL),
    CASE("john@firma@de.com", UF_NORM_INVALID, NULL),
    CASE("john@localhost", UF_NORM_INVALID, NULL),
    CASE("john@firma.c", UF_NORM_INVALID, NULL),
    CASE("john@firma.123", UF_NORM_INVALID, NULL),
    CASE("john@-firma.de", UF_NORM_INVALID, NULL),
    CASE("john@firma..de", UF_NORM_INVALID, NULL),
    CASE(".john@firma.de", UF_NORM_INVALID, NULL),
    CASE("john.@firma.de", UF_NORM_INVALID, NULL),
    CASE("jo..hn@firma.de", UF_NORM_INVALID, NULL),
    CASE("john smith@firma.de", UF_NORM_INVALID, NULL),
    CASE("john(at)firma.de", UF_NORM_INVALID, NULL),
    CASE("\"john\"@firma.de", UF_NORM_INVALID, NULL),
    CASE("john@[192.168.0.1]", UF_NORM_INVALID, NULL),
    CASE("n/a", UF_NORM_INVALID, NULL),
    /* Unicode: accents, full-width @, emoji, Turkish dotted I. */
    CASE("jos\xc3\xa9@firma.de", UF_NORM_INVALID, NULL),
    CASE("john\xef\xbc\xa0" "firma.de", UF_NORM_INVALID, NULL),
    CASE("\xf0\x9f\x98\x80@firma.de", UF_NORM_INVALID, NULL),
    CASE("\xc4\xb0" "lker@firma.com.tr", UF_NORM_INVALID, NULL),
    CASE("john@m\xc3\xbcller.de", UF_NORM_INVALID, NULL),
    /* Hostile: NUL inside, control characters, invalid UTF-8. */
    CASE("john\0@firma.de", UF_NORM_INVALID, NULL),
    CASE("john@firma.de\0", UF_NORM_INVALID, NULL),
    CASE("jo\x01hn@firma.de", UF_NORM_INVALID, NULL),
    CASE("john@fi\x7frma.de", UF_NORM_INVALID, NULL),
    CASE("\xff\xfe@firma.de", UF_NORM_INVALID, NULL),
    CASE("@@@...", UF_NORM_INVALID, NULL),
    /* Junk placeholders. */
    CASE("test@test.com", UF_NORM_JUNK, NULL),
    CASE("TEST@Test.com ", UF_NORM_JUNK, NULL),
    CASE("someone@example.com", UF_NORM_JUNK, NULL),
    CASE("noemail@firma.de", UF_NORM_JUNK, NULL),
    CASE("no-reply@shop.com", UF_NORM_JUNK, NULL),
    CASE("none@none.com", UF_NORM_JUNK, NULL),
    CASE("a@a.com", UF_NORM_JUNK, NULL),
    CASE("xxx@xxx.com", UF_NORM_JUNK, NULL),
    CASE("anna@shop.test", UF_NORM_JUNK, NULL),
    CASE("unknown@gmail.com", UF_NORM_JUNK, NULL),
    /* Not junk: one-letter local part at a real domain. */
    CASE("a@firma.de", UF_NORM_OK, "a@firma.de"),
    CASE("testa@firma.de", UF_NORM_OK, "testa@firma.de"),
};

static char *out_buffer(void)
{
    char *out = malloc(UF_NORM_MAX);
    cr_assert_not_null(out);
    memset(out, 0x5a, UF_NORM_MAX);
    return out;
}

Test(normalize_email, table)
{
    cr_assert_geq(UF_ARRAY_LEN(cases), 15);
    char *out = out_buffer();
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        const email_case *c = &cases[i];
        size_t len = 9999;
        uf_norm_status st = uf_normalize_email(uf_slice_make(c->in, c->len), out, &len);
        cr_expect_eq(st, c->status, "case %zu \"%s\": status %s, expected %s", i, c->in,
                     uf_norm_status_name(st), uf_norm_status_name(c->status));
        if (c->status == UF_NORM_OK && st == UF_NORM_OK) {
            cr_expect(len == strlen(c->out) && memcmp(out, c->out, len) == 0,
                      "case %zu \"%s\": got \"%.*s\", expected \"%s\"", i, c->in, (int)len, out,
                      c->out);
        } else if (st != UF_NORM_OK) {
            cr_expect_eq(len, 0, "case %zu: out_len must be 0 when not ok", i);
        }
    }
    free(out);
}

Test(normalize_email, null_slice_is_empty)
{
    char *out = out_buffer();
    size_t len = 1;
    cr_expect_eq(uf_normalize_email(uf_slice_make(NULL, 0), out, &len), UF_NORM_EMPTY);
    cr_expect_eq(len, 0);
    free(out);
}

Test(normalize_email, length_limits)
{
    char *out = out_buffer();
    char buf[400];
    size_t len;

    /* 64-byte local part is fine, 65 is not. */
    memset(buf, 'a', 64);
    buf[0] = 'b';
    memcpy(buf + 64, "@firma.de", 9);
    cr_expect_eq(uf_normalize_email(uf_slice_make(buf, 73), out, &len), UF_NORM_OK);
    cr_expect_eq(len, 73);
    memset(buf, 'a', 65);
    buf[0] = 'b';
    memcpy(buf + 65, "@firma.de", 9);
    cr_expect_eq(uf_normalize_email(uf_slice_make(buf, 74), out, &len), UF_NORM_INVALID);

    /* A label of 64 bytes is too long. */
    memcpy(buf, "ann@", 4);
    memset(buf + 4, 'd', 64);
    memcpy(buf + 68, ".com", 4);
    cr_expect_eq(uf_normalize_email(uf_slice_make(buf, 72), out, &len), UF_NORM_INVALID);

    /* Total over 254 bytes: many 50-byte labels. */
    size_t n = 0;
    memcpy(buf, "ann@", 4);
    n = 4;
    while (n < 300) {
        memset(buf + n, 'd', 50);
        buf[n + 50] = '.';
        n += 51;
    }
    memcpy(buf + n, "com", 3);
    n += 3;
    cr_expect_eq(uf_normalize_email(uf_slice_make(buf, n), out, &len), UF_NORM_INVALID);
    free(out);
}

Test(normalize_email, ten_thousand_repeated_chars)
{
    char *out = out_buffer();
    size_t n = 10000, len = 7;
    char *buf = malloc(n + 16);
    memset(buf, 'a', n);
    memcpy(buf + n, "@firma.de", 9);
    cr_expect_eq(uf_normalize_email(uf_slice_make(buf, n + 9), out, &len), UF_NORM_INVALID);
    cr_expect_eq(len, 0);
    memset(buf, ' ', n);
    cr_expect_eq(uf_normalize_email(uf_slice_make(buf, n), out, &len), UF_NORM_EMPTY);
    memset(buf, '@', n);
    cr_expect_eq(uf_normalize_email(uf_slice_make(buf, n), out, &len), UF_NORM_INVALID);
    free(buf);
    free(out);
}

Test(normalize_email, idempotent)
{
    char *out = out_buffer();
    char again[UF_NORM_MAX];
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        size_t len = 0, len2 = 0;
        if (uf_normalize_email(uf_slice_make(cases[i].in, cases[i].len), out, &len) != UF_NORM_OK)
            continue;
        cr_expect_eq(uf_normalize_email(uf_slice_make(out, len), again, &len2), UF_NORM_OK);
        cr_expect(len == len2 && memcmp(out, again, len) == 0, "case %zu not idempotent", i);
    }
    free(out);
}

/*
 * Every entry of the word tables, through the public function: the tables are
 * binary-searched, so an entry out of order would silently stop matching.
 */
Test(normalize_email, every_table_entry_matches)
{
    static const char *const junk_locals[] = {
        "abc", "asdf", "declined", "do-not-reply", "donotreply", "dontreply", "dummy", "email",
        "fake", "na", "nil", "no-email", "no-mail", "no-one", "no-reply", "no_email", "no_reply",
        "noaddress", "nobody", "noemail", "nomail", "none", "noone", "noreply", "not-provided",
        "notprovided", "null", "qwerty", "refused", "sample", "test", "tester", "testing",
        "unknown", "void", "xyz",
    };
    static const char *const junk_domains[] = {
        "domain.com", "email.invalid", "example.com", "example.net", "example.org", "fake.com",
        "invalid.com", "localhost.localdomain", "mailinator.invalid", "no-email.com",
        "noemail.com", "nomail.com", "none.com", "noreply.com", "null.com", "sample.com",
        "test.com", "test.net", "test.org", "unknown.com",
    };
    static const char *const plus_tag_domains[] = {
        "fastmail.com", "fastmail.fm", "hey.com", "hotmail.co.uk", "hotmail.com", "hotmail.de",
        "hotmail.fr", "icloud.com", "live.co.uk", "live.com", "mac.com", "me.com", "msn.com",
        "outlook.com", "pm.me", "proton.me", "protonmail.ch", "protonmail.com",
    };
    char *out = out_buffer();
    char buf[128];
    size_t len;
    for (size_t i = 0; i < UF_ARRAY_LEN(junk_locals); i++) {
        int n = snprintf(buf, sizeof buf, "%s@firma.de", junk_locals[i]);
        cr_expect_eq(uf_normalize_email(uf_slice_make(buf, (size_t)n), out, &len), UF_NORM_JUNK,
                     "%s", buf);
    }
    for (size_t i = 0; i < UF_ARRAY_LEN(junk_domains); i++) {
        int n = snprintf(buf, sizeof buf, "anna.meyer@%s", junk_domains[i]);
        cr_expect_eq(uf_normalize_email(uf_slice_make(buf, (size_t)n), out, &len), UF_NORM_JUNK,
                     "%s", buf);
    }
    for (size_t i = 0; i < UF_ARRAY_LEN(plus_tag_domains); i++) {
        char want[128];
        int n = snprintf(buf, sizeof buf, "anna+shop@%s", plus_tag_domains[i]);
        int wn = snprintf(want, sizeof want, "anna@%s", plus_tag_domains[i]);
        cr_expect_eq(uf_normalize_email(uf_slice_make(buf, (size_t)n), out, &len), UF_NORM_OK,
                     "%s", buf);
        cr_expect(len == (size_t)wn && memcmp(out, want, len) == 0, "%s", buf);
    }
    free(out);
}
