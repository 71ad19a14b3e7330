/*
 * test_jsonl.c — the JSON Lines reader, mostly table-driven.
 *
 * Each case writes a file, reads it through uf_stream + uf_jsonl and renders
 * the records as text, one per line: "LINE:{key=T:value}..." where T is
 * s(tring), n(umber), b(ool), z (null) or j (nested, raw JSON); rejected
 * records render as "LINE:reason". Control bytes show as \n, \r, \xHH.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "jsonl.h"
#include "reader_test_support.h"
#include "test_small.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

READER_TEST_SUITE(jsonl);

static char *render_file(const char *path)
{
    text t = {0};
    text_put(&t, "", 0);
    uf_error err = {0};
    uf_stream *s = uf_stream_open(path, &err);
    cr_assert(s, "%s", err.message);
    uf_jsonl_reader *r = uf_jsonl_open(s, &err);
    cr_assert(r, "%s", err.message);
    uf_jsonl_record rec;
    int rc;
    while ((rc = uf_jsonl_next(r, &rec, &err)) == UF_JSONL_RECORD) {
        text_printf(&t, "%llu:", (unsigned long long)rec.line);
        if (rec.reject) {
            cr_assert_eq(rec.count, 0);
            text_printf(&t, "%s", uf_reject_reason_name(rec.reject));
        }
        for (size_t i = 0; i < rec.count; i++) {
            text_put(&t, "{", 1);
            text_escaped(&t, rec.keys[i]);
            const char type[3] = {'=', "snbzj"[rec.types[i]], ':'};
            text_put(&t, type, sizeof type);
            if (rec.types[i] == UF_JSON_NULL)
                cr_assert_eq(rec.values[i].len, 0);
            text_escaped(&t, rec.values[i]);
            text_put(&t, "}", 1);
        }
        text_put(&t, "\n", 1);
    }
    cr_assert_eq(rc, UF_JSONL_END, "read error: %s", err.message);
    cr_assert_eq(uf_jsonl_next(r, &rec, &err), UF_JSONL_END, "END is sticky");
    uf_jsonl_close(r);
    uf_stream_close(s);
    return t.s;
}

static char *render(const char *data, size_t len)
{
    return render_file(write_file("in.jsonl", data, len));
}

typedef struct jsonl_case {
    const char *name;
    const char *input;
    size_t len;
    const char *expect;
} jsonl_case;

#define CASE(name, input, expect) {name, input, sizeof(input) - 1, expect}

static void run_cases(const jsonl_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *got = render(cases[i].input, cases[i].len);
        cr_expect_str_eq(got, cases[i].expect, "case \"%s\":\n--- got ---\n%s--- expected ---\n%s",
                         cases[i].name, got, cases[i].expect);
        free(got);
    }
}

/* ------------------------------------------------------------------ */
/* Tables                                                              */
/* ------------------------------------------------------------------ */

Test(jsonl, value_types)
{
    static const jsonl_case cases[] = {
        CASE("all scalar types",
             "{\"s\":\"Ann\",\"i\":42,\"f\":-1.5e3,\"t\":true,\"F\":false,\"z\":null}\n",
             "1:{s=s:Ann}{i=n:42}{f=n:-1.5e3}{t=b:true}{F=b:false}{z=z:}\n"),
        CASE("numbers as written", "{\"a\":0,\"b\":-0,\"c\":0.25,\"d\":1E+2,\"e\":12345678901234567890}\n",
             "1:{a=n:0}{b=n:-0}{c=n:0.25}{d=n:1E+2}{e=n:12345678901234567890}\n"),
        CASE("nested object raw", "{\"addr\": {\"city\" : \"Bern\", \"zip\":[3000, 3001]} ,\"n\":1}\n",
             "1:{addr=j:{\"city\" : \"Bern\", \"zip\":[3000, 3001]}}{n=n:1}\n"),
        CASE("nested array raw, escapes untouched", "{\"tags\":[\"a\\\"b\",{},[],null,true,-2]}\n",
             "1:{tags=j:[\"a\\\"b\",{},[],null,true,-2]}\n"),
        CASE("empty object", "{}\n", "1:\n"),
        CASE("empty string and key", "{\"\":\"\"}\n", "1:{=s:}\n"),
        CASE("whitespace everywhere", " \t{ \"a\" :\t\"x\" , \"b\" : 1 } \t\n", "1:{a=s:x}{b=n:1}\n"),
        CASE("duplicate keys kept in order", "{\"a\":1,\"a\":2}\n", "1:{a=n:1}{a=n:2}\n"),
        CASE("UTF-8 passes through", "{\"name\":\"José 日本 😀\"}\n", "1:{name=s:José 日本 😀}\n"),
        CASE("number at end of object", "{\"n\":7}", "1:{n=n:7}\n"),
    };
    run_cases(cases, UF_ARRAY_LEN(cases));
}

Test(jsonl, escapes)
{
    static const jsonl_case cases[] = {
        CASE("simple escapes", "{\"e\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"}\n",
             "1:{e=s:q\" b\\ s/ \\x08\\x0c\\n\\r\\t}\n"),
        CASE("unicode BMP", "{\"e\":\"\\u00e9\\u20AC\\u0041\"}\n", "1:{e=s:é€A}\n"),
        CASE("surrogate pair", "{\"e\":\"\\ud83d\\ude00!\"}\n", "1:{e=s:😀!}\n"),
        CASE("escaped key", "{\"k\\u00e9y\\n\":1}\n", "1:{kéy\\n=n:1}\n"),
        CASE("escape at both ends", "{\"e\":\"\\tmid\\t\"}\n", "1:{e=s:\\tmid\\t}\n"),
        CASE("long string after escape", "{\"e\":\"\\\"0123456789abcdefghijklmnopqrstuvwxyz0123456789\"}\n",
             "1:{e=s:\"0123456789abcdefghijklmnopqrstuvwxyz0123456789}\n"),
        CASE("lone high surrogate", "{\"e\":\"\\ud83d\"}\n", "1:json_syntax\n"),
        CASE("high surrogate + non-low", "{\"e\":\"\\ud83d\\u0041\"}\n", "1:json_syntax\n"),
        CASE("lone low surrogate", "{\"e\":\"\\ude00\"}\n", "1:json_syntax\n"),
        CASE("bad hex", "{\"e\":\"\\u12g4\"}\n", "1:json_syntax\n"),
        CASE("short \\u at end", "{\"e\":\"\\u12", "1:json_syntax\n"),
        CASE("unknown escape", "{\"e\":\"\\x41\"}\n", "1:json_syntax\n"),
        CASE("raw tab in string", "{\"e\":\"a\tb\"}\n", "1:json_syntax\n"),
        CASE("bad surrogate in nested", "{\"n\":[\"\\udc00\"]}\n", "1:json_syntax\n"),
        CASE("\\u0000 decoded is a NUL", "{\"e\":\"a\\u0000b\"}\n", "1:nul_byte\n"),
        CASE("\\u0000 kept raw in nested", "{\"n\":[\"\\u0000\"]}\n", "1:{n=j:[\"\\u0000\"]}\n"),
    };
    run_cases(cases, UF_ARRAY_LEN(cases));
}

Test(jsonl, malformed_lines_and_resume)
{
    static const jsonl_case cases[] = {
        CASE("not JSON", "hello\n{\"a\":1}\n", "1:json_syntax\n2:{a=n:1}\n"),
        CASE("array is not an object", "[1,2]\n{\"a\":1}\n", "1:json_not_object\n2:{a=n:1}\n"),
        CASE("string is not an object", "\"x\"\n", "1:json_not_object\n"),
        CASE("number is not an object", " 42 \n", "1:json_not_object\n"),
        CASE("null is not an object", "null\n", "1:json_not_object\n"),
        CASE("broken array is syntax", "[1,\n", "1:json_syntax\n"),
        CASE("trailing garbage", "{\"a\":1} x\n{\"b\":2}\n", "1:json_syntax\n2:{b=n:2}\n"),
        CASE("two objects on a line", "{\"a\":1}{\"b\":2}\n", "1:json_syntax\n"),
        CASE("trailing comma", "{\"a\":1,}\n", "1:json_syntax\n"),
        CASE("trailing comma nested", "{\"a\":[1,]}\n", "1:json_syntax\n"),
        CASE("missing colon", "{\"a\" 1}\n", "1:json_syntax\n"),
        CASE("missing value", "{\"a\":}\n", "1:json_syntax\n"),
        CASE("unquoted key", "{a:1}\n", "1:json_syntax\n"),
        CASE("single quotes", "{'a':1}\n", "1:json_syntax\n"),
        CASE("unterminated string", "{\"a\":\"xyz}\n{\"b\":2}\n", "1:json_syntax\n2:{b=n:2}\n"),
        CASE("unterminated object", "{\"a\":1\n", "1:json_syntax\n"),
        CASE("object split over lines", "{\"a\":\n1}\n", "1:json_syntax\n2:json_syntax\n"),
        CASE("bad literal", "{\"a\":tru}\n", "1:json_syntax\n"),
        CASE("literal prefix", "{\"a\":nulll}\n", "1:json_syntax\n"),
        CASE("leading zero", "{\"a\":01}\n", "1:json_syntax\n"),
        CASE("bare minus", "{\"a\":-}\n", "1:json_syntax\n"),
        CASE("dot without digits", "{\"a\":1.}\n", "1:json_syntax\n"),
        CASE("leading dot", "{\"a\":.5}\n", "1:json_syntax\n"),
        CASE("plus sign", "{\"a\":+1}\n", "1:json_syntax\n"),
        CASE("exponent without digits", "{\"a\":1e}\n", "1:json_syntax\n"),
        CASE("NaN", "{\"a\":NaN}\n", "1:json_syntax\n"),
        CASE("nested unterminated", "{\"a\":{\"b\":1}\n", "1:json_syntax\n"),
        CASE("nested mismatched", "{\"a\":[1}]}\n", "1:json_syntax\n"),
        CASE("invalid UTF-8", "{\"a\":\"\xff\"}\n{\"b\":1}\n", "1:invalid_utf8\n2:{b=n:1}\n"),
        CASE("overlong UTF-8", "{\"a\":\"\xc0\x80\"}\n", "1:invalid_utf8\n"),
        CASE("bad UTF-8 beats syntax", "\xfe garbage\n", "1:invalid_utf8\n"),
        CASE("NUL byte", "{\"a\":\"x\0\"}\n{\"b\":1}\n", "1:nul_byte\n2:{b=n:1}\n"),
        CASE("NUL beats bad UTF-8", "{\"a\":\"\xff\0\"}\n", "1:nul_byte\n"),
        CASE("NUL after the object", "{\"a\":1}\0\n", "1:nul_byte\n"),
    };
    run_cases(cases, UF_ARRAY_LEN(cases));
}

Test(jsonl, lines)
{
    static const jsonl_case cases[] = {
        CASE("CRLF", "{\"a\":1}\r\n{\"b\":\"x\"}\r\n", "1:{a=n:1}\n2:{b=s:x}\n"),
        CASE("BOM on first line", "\xEF\xBB\xBF{\"a\":1}\n", "1:{a=n:1}\n"),
        CASE("BOM on a later line is an error", "{\"a\":1}\n\xEF\xBB\xBF{\"b\":1}\n",
             "1:{a=n:1}\n2:json_syntax\n"),
        CASE("blank lines skipped", "\n{\"a\":1}\n\n  \t\r\n{\"b\":2}\n\n", "2:{a=n:1}\n5:{b=n:2}\n"),
        CASE("no final newline", "{\"a\":1}\n{\"b\":2}", "1:{a=n:1}\n2:{b=n:2}\n"),
        CASE("empty file", "", ""),
        CASE("BOM only", "\xEF\xBB\xBF", ""),
        CASE("newlines only", "\n\n\r\n", ""),
        CASE("escaped newline stays in its line", "{\"a\":\"l1\\nl2\"}\n{\"b\":1}\n",
             "1:{a=s:l1\\nl2}\n2:{b=n:1}\n"),
    };
    run_cases(cases, UF_ARRAY_LEN(cases));
}

/* ------------------------------------------------------------------ */
/* Generated inputs                                                    */
/* ------------------------------------------------------------------ */

Test(jsonl, nesting_depth_limit)
{
    /* 64 levels inside the top-level object are fine; 65 are not. */
    char line[512];
    for (int depth = 63; depth <= 66; depth++) {
        int n = sprintf(line, "{\"deep\":");
        for (int i = 0; i < depth; i++)
            line[n++] = '[';
        for (int i = 0; i < depth; i++)
            line[n++] = ']';
        n += sprintf(line + n, "}\n");
        char *got = render(line, (size_t)n);
        bool ok = strstr(got, "deep=j:") != NULL;
        cr_expect_eq(ok, depth <= 64, "depth %d: %s", depth, got);
        free(got);
    }
}

static char *repeat(const char *prefix, char c, size_t n, const char *suffix, size_t *len)
{
    size_t a = strlen(prefix), b = strlen(suffix);
    char *s = malloc(a + n + b + 1);
    cr_assert(s);
    memcpy(s, prefix, a);
    memset(s + a, c, n);
    memcpy(s + a + n, suffix, b + 1);
    *len = a + n + b;
    return s;
}

/* Render records as "LINE:reason-or-lengths" for long-value cases. */
static char *render_lengths(const char *data, size_t len, size_t *max_cap)
{
    const char *path = write_file("long.jsonl", data, len);
    uf_error err = {0};
    uf_stream *s = uf_stream_open(path, &err);
    uf_jsonl_reader *r = uf_jsonl_open(s, &err);
    cr_assert(r);
    text t = {0};
    text_put(&t, "", 0);
    uf_jsonl_record rec;
    *max_cap = 0;
    while (uf_jsonl_next(r, &rec, &err) == UF_JSONL_RECORD) {
        size_t cap = uf_jsonl_buffer_capacity(r);
        *max_cap = cap > *max_cap ? cap : *max_cap;
        text_printf(&t, "%llu:%s", (unsigned long long)rec.line,
                    rec.reject ? uf_reject_reason_name(rec.reject) : "");
        for (size_t i = 0; i < rec.count; i++)
            text_printf(&t, "[%zu]", rec.values[i].len);
        text_put(&t, "\n", 1);
    }
    cr_assert_eq(err.code, UF_OK, "%s", err.message);
    uf_jsonl_close(r);
    uf_stream_close(s);
    return t.s;
}

Test(jsonl, value_length_limit)
{
    struct {
        const char *name, *prefix;
        char fill;
        size_t n;
        const char *suffix, *expect;
    } cases[] = {
        {"string at the limit", "{\"a\":\"", 'x', UF_MAX_FIELD_BYTES, "\"}\n{\"b\":1}\n", "1:[65536]\n2:[1]\n"},
        {"string over the limit", "{\"a\":\"", 'x', UF_MAX_FIELD_BYTES + 1, "\"}\n{\"b\":1}\n",
         "1:field_too_long\n2:[1]\n"},
        {"number over the limit", "{\"a\":", '7', UF_MAX_FIELD_BYTES + 1, "}\n{\"b\":1}\n",
         "1:field_too_long\n2:[1]\n"},
        {"key over the limit", "{\"", 'k', UF_MAX_FIELD_BYTES + 1, "\":1}\n{\"b\":1}\n",
         "1:field_too_long\n2:[1]\n"},
        {"line over the buffer cap", "{\"a\":\"", 'y', 3u << 20, "\"}\n{\"b\":1}\n",
         "1:field_too_long\n2:[1]\n"},
        {"syntax beats length", "{\"a\":\"", 'x', UF_MAX_FIELD_BYTES + 1, "\",}\n", "1:json_syntax\n"},
    };
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        size_t len, cap;
        char *data = repeat(cases[i].prefix, cases[i].fill, cases[i].n, cases[i].suffix, &len);
        char *got = render_lengths(data, len, &cap);
        cr_expect_str_eq(got, cases[i].expect, "%s: got %s", cases[i].name, got);
        cr_expect_leq(cap, 1024 * 1024 + UF_MAX_FIELD_BYTES + 0u, "%s: buffer %zu", cases[i].name, cap);
        free(got);
        free(data);
    }
}

Test(jsonl, escaped_value_measured_after_decoding)
{
    /* 20 000 × "\u00e9" = 120 000 bytes of JSON, 40 000 bytes decoded. */
    text t = {0};
    text_put(&t, "{\"a\":\"", 6);
    for (int i = 0; i < 20000; i++)
        text_put(&t, "\\u00e9", 6);
    text_put(&t, "\"}\n", 3);
    size_t cap;
    char *got = render_lengths(t.s, t.len, &cap);
    cr_expect_str_eq(got, "1:[40000]\n");
    free(got);
    free(t.s);
}

/* A deterministic record generator for the large-file tests. */
static size_t gen_record(char *out, unsigned i)
{
    unsigned k = i * 2654435761u;
    int n;
    switch (k % 3) {
    case 0:
        n = sprintf(out, "{\"id\":%u,\"name\":\"Ann \\\"%u\\\"\",\"vip\":true,\"tags\":[\"a\",{\"b\":%u}]}\n", i,
                    k % 997, k % 13);
        break;
    case 1:
        n = sprintf(out, "{\"id\":%u,\"name\":\"Zo\\u00eb M\u00fcller\",\"score\":-%u.5e-3,\"x\":null}\r\n", i,
                    k % 1000);
        break;
    default:
        n = sprintf(out, "{\"id\":%u,\"pad\":\"%.*s\"}\n", i, (int)(k % 300),
                    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij"
                    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij"
                    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij"
                    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
        break;
    }
    return (size_t)n;
}

static void check_generated(const char *path, unsigned records, size_t *max_cap)
{
    uf_error err = {0};
    uf_stream *s = uf_stream_open(path, &err);
    cr_assert(s, "%s", err.message);
    uf_jsonl_reader *r = uf_jsonl_open(s, &err);
    cr_assert(r);
    uf_jsonl_record rec;
    unsigned i = 0;
    char name[64];
    *max_cap = 0;
    while (uf_jsonl_next(r, &rec, &err) == UF_JSONL_RECORD) {
        size_t cap = uf_jsonl_buffer_capacity(r);
        *max_cap = cap > *max_cap ? cap : *max_cap;
        cr_assert_eq(rec.reject, UF_REJECT_NONE, "record %u", i);
        cr_assert_eq(rec.line, i + 1);
        unsigned k = i * 2654435761u;
        char id[16];
        int idlen = sprintf(id, "%u", i);
        cr_assert(rec.count >= 2);
        cr_assert(uf_slice_equals(rec.keys[0], "id"));
        cr_assert(rec.values[0].len == (size_t)idlen && memcmp(rec.values[0].ptr, id, (size_t)idlen) == 0);
        switch (k % 3) {
        case 0:
            sprintf(name, "Ann \"%u\"", k % 997);
            cr_assert_eq(rec.count, 4);
            cr_assert(uf_slice_equals(rec.values[1], name), "record %u", i);
            cr_assert_eq(rec.types[3], UF_JSON_NESTED);
            break;
        case 1:
            cr_assert_eq(rec.count, 4);
            cr_assert(uf_slice_equals(rec.values[1], "Zoë Müller"), "record %u", i);
            cr_assert_eq(rec.types[3], UF_JSON_NULL);
            break;
        default:
            cr_assert_eq(rec.count, 2);
            cr_assert_eq(rec.values[1].len, k % 300, "record %u", i);
            break;
        }
        i++;
    }
    cr_assert_eq(err.code, UF_OK, "%s", err.message);
    cr_assert_eq(i, records);
    uf_jsonl_close(r);
    uf_stream_close(s);
}

static const char *write_generated(const char *name, unsigned records, bool gz, uint64_t *bytes)
{
    const char *path = tmp_path(name);
    char line[1024];
    *bytes = 0;
    gzFile g = gz ? gzopen(path, "wb1") : NULL;
    FILE *f = gz ? NULL : fopen(path, "wb");
    cr_assert(g || f);
    for (unsigned i = 0; i < records; i++) {
        size_t n = gen_record(line, i);
        if (g)
            cr_assert_eq(gzwrite(g, line, (unsigned)n), (int)n);
        else
            fwrite(line, 1, n, f);
        *bytes += n;
    }
    if (g)
        cr_assert_eq(gzclose(g), Z_OK);
    else
        cr_assert_eq(fclose(f), 0);
    return path;
}

Test(jsonl, generated_file_plain_and_gzip)
{
    enum { RECORDS = 40000 }; /* about 4.5 MB: lines cross many refills */
    uint64_t bytes;
    size_t cap;
    check_generated(write_generated("gen.jsonl", RECORDS, false, &bytes), RECORDS, &cap);
    cr_assert_gt(bytes, 3u << 20);
    cr_expect_eq(cap, 256 * 1024);
    check_generated(write_generated("gen.jsonl.gz", RECORDS, true, &bytes), RECORDS, &cap);
}

Test(jsonl, large_file_streams_in_fixed_memory)
{
    /* About 37 MB; 7 MB under valgrind (UF_TEST_SMALL), still 28 buffers' worth. */
    const unsigned RECORDS = T_SMALL_OR(350000, 70000);
    uint64_t bytes;
    size_t cap;
    const char *path = write_generated("big.jsonl", RECORDS, false, &bytes);
    cr_assert_gt(bytes, T_SMALL_OR(30u, 6u) << 20);
    check_generated(path, RECORDS, &cap);
    cr_expect_eq(cap, 256 * 1024, "the buffer never grows: %zu", cap);
}

Test(jsonl, lines_across_the_buffer_boundary)
{
    /* Put the first 256 KiB boundary on every byte of some tricky lines:
     * inside escapes, surrogate pairs, nested values, CRLF, bad UTF-8. */
    enum { BOUNDARY = 256 * 1024, FILLER_MIN = 9 /* {"f":""}\n */ };
    static const char tricky[] = "{\"k\\u00e9\":\"a\\\"b\\ud83d\\ude00\",\"n\":[1,{\"x\":\"y\"}],\"z\":null}\r\n"
                                 "{\"bad\":\"\xff\"}\n"
                                 "{\"last\":-1.5}";
    static const char expect[] = "L+0:{ké=s:a\"b😀}{n=j:[1,{\"x\":\"y\"}]}{z=z:}\n"
                                 "L+1:invalid_utf8\n"
                                 "L+2:{last=n:-1.5}\n";
    static const char xs[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    for (size_t offset = 0; offset <= sizeof tricky; offset++) {
        /* Filler lines of 59 bytes, then one of the 9..67 bytes left. */
        text t = {0};
        unsigned filler = 0;
        size_t target = BOUNDARY - offset;
        while (t.len < target) {
            size_t room = target - t.len;
            size_t n = room >= 59 + FILLER_MIN ? 59 : room;
            text_put(&t, "{\"f\":\"", 6);
            text_put(&t, xs, n - FILLER_MIN);
            text_put(&t, "\"}\n", 3);
            filler++;
        }
        cr_assert_eq(t.len, target);
        text_put(&t, tricky, sizeof tricky - 1);
        char *got = render(t.s, t.len);
        const char *tail = got;
        for (unsigned i = 0; i < filler; i++)
            tail = strchr(tail, '\n') + 1;
        text norm = {0};
        text_put(&norm, "", 0);
        for (const char *p = tail; *p;) {
            char *colon;
            unsigned long long line = strtoull(p, &colon, 10);
            const char *eol = strchr(colon, '\n');
            text_printf(&norm, "L+%llu", line - (filler + 1));
            text_put(&norm, colon, (size_t)(eol + 1 - colon));
            p = eol + 1;
        }
        cr_assert_str_eq(norm.s, expect, "offset %zu:\n%s", offset, norm.s);
        free(norm.s);
        free(got);
        free(t.s);
    }
}
