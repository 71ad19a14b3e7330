/*
 * test_csv.c — the CSV reader, mostly table-driven.
 *
 * Each case writes an input file into a fresh temporary directory, reads it
 * through uf_stream + uf_csv and renders what came out as text, one line
 * per row: "H:[a][b]" for the header, "LINE:[f1][f2]" for a good row and
 * "LINE:reason" for a rejected one (control bytes shown as \n, \r, \xHH).
 * Comparing whole renderings checks fields, line numbers, reject reasons and
 * that reading goes on after a reject, all at once.
 *
 * The generated-file tests push rows across the reader's 256 KiB buffer
 * boundary at every offset, and read a large file to check memory stays
 * fixed.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "csv.h"
#include "reader_test_support.h"
#include "test_small.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

READER_TEST_SUITE(csv);

/* Read `path` completely and render it (see the top of the file). */
static char *render_file(const char *path, char delim)
{
    text t = {0};
    text_put(&t, "", 0);
    uf_error err = {0};
    uf_stream *s = uf_stream_open(path, &err);
    cr_assert(s, "open: %s", err.message);
    uf_csv_reader *r = uf_csv_open(s, delim, &err);
    if (!r) {
        const char *msg = err.message;
        bool named = strncmp(msg, path, strlen(path)) == 0;
        text_printf(&t, "ERR %d %s%s\n", err.code, named ? "FILE" : "", msg + (named ? strlen(path) : 0));
        uf_stream_close(s);
        return t.s;
    }
    size_t ncols;
    const uf_slice *h = uf_csv_header(r, &ncols);
    text_put(&t, "H:", 2);
    for (size_t i = 0; i < ncols; i++)
        text_field(&t, h[i]);
    text_put(&t, "\n", 1);
    uf_csv_row row;
    int rc;
    while ((rc = uf_csv_next(r, &row, &err)) == UF_CSV_ROW) {
        text_printf(&t, "%llu:", (unsigned long long)row.line);
        if (row.reject) {
            text_printf(&t, "%s", uf_reject_reason_name(row.reject));
        } else {
            cr_assert_eq(row.count, ncols, "a good row has the header's column count");
            for (size_t i = 0; i < row.count; i++)
                text_field(&t, row.fields[i]);
        }
        text_put(&t, "\n", 1);
    }
    cr_assert_eq(rc, UF_CSV_END, "read error: %s", err.message);
    cr_assert_eq(uf_csv_next(r, &row, &err), UF_CSV_END, "END is sticky");
    uf_csv_close(r);
    uf_stream_close(s);
    return t.s;
}

static char *render(const char *data, size_t len, char delim)
{
    return render_file(write_file("in.csv", data, len), delim);
}

typedef struct csv_case {
    const char *name;
    char delim;
    const char *input;
    size_t len;
    const char *expect;
} csv_case;

#define CASE(name, delim, input, expect) {name, delim, input, sizeof(input) - 1, expect}

static void run_cases(const csv_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *got = render(cases[i].input, cases[i].len, cases[i].delim);
        cr_expect_str_eq(got, cases[i].expect, "case \"%s\":\n--- got ---\n%s--- expected ---\n%s",
                         cases[i].name, got, cases[i].expect);
        free(got);
    }
}

/* ------------------------------------------------------------------ */
/* Tables                                                              */
/* ------------------------------------------------------------------ */

Test(csv, structure)
{
    static const csv_case cases[] = {
        CASE("LF", ',', "a,b\n1,2\n3,4\n", "H:[a][b]\n2:[1][2]\n3:[3][4]\n"),
        CASE("CRLF", ',', "a,b\r\n1,2\r\n3,4\r\n", "H:[a][b]\n2:[1][2]\n3:[3][4]\n"),
        CASE("lone CR", ',', "a,b\r1,2\r3,4", "H:[a][b]\n2:[1][2]\n3:[3][4]\n"),
        CASE("no final newline", ',', "a,b\n1,2\n3,4", "H:[a][b]\n2:[1][2]\n3:[3][4]\n"),
        CASE("quoted delimiter", ',', "a,b\n\"x,y\",z\n", "H:[a][b]\n2:[x,y][z]\n"),
        CASE("doubled quotes", ',', "a,b\n\"say \"\"hi\"\"\",\"\"\"\"\n",
             "H:[a][b]\n2:[say \"hi\"][\"]\n"),
        CASE("only doubled quotes", ',', "a\n\"\"\"\"\"\"\n", "H:[a]\n2:[\"\"]\n"),
        CASE("empty quoted field", ',', "a,b\n\"\",x\n", "H:[a][b]\n2:[][x]\n"),
        CASE("embedded LF", ',', "a,b\n\"l1\nl2\",x\n1,2\n",
             "H:[a][b]\n2:[l1\\nl2][x]\n4:[1][2]\n"),
        CASE("embedded CRLF", ',', "a,b\r\n\"l1\r\nl2\r\nl3\",x\r\n1,2\r\n",
             "H:[a][b]\n2:[l1\\r\\nl2\\r\\nl3][x]\n5:[1][2]\n"),
        CASE("embedded lone CR", ',', "a,b\n\"l1\rl2\",x\n1,2\n",
             "H:[a][b]\n2:[l1\\rl2][x]\n4:[1][2]\n"),
        CASE("multi-line header", ',', "\"a\nb\",c\n1,2\n", "H:[a\\nb][c]\n3:[1][2]\n"),
        CASE("quoted last field, EOF", ',', "a,b\n1,\"x\"", "H:[a][b]\n2:[1][x]\n"),
        CASE("quoted fields, CRLF", ',', "a,b\r\n\"1\",\"2\"\r\n", "H:[a][b]\n2:[1][2]\n"),
        CASE("BOM", ',', "\xEF\xBB\xBF" "a,b\n1,2\n", "H:[a][b]\n2:[1][2]\n"),
        CASE("BOM, quoted header", ',', "\xEF\xBB\xBF\"a\",b\n1,2\n", "H:[a][b]\n2:[1][2]\n"),
        CASE("BOM only at start", ',', "a,b\n\xEF\xBB\xBFx,2\n",
             "H:[a][b]\n2:[\xEF\xBB\xBFx][2]\n"),
        CASE("empty fields", ',', "a,b,c\n,,\n", "H:[a][b][c]\n2:[][][]\n"),
        CASE("trailing delimiter", ',', "a,b,\n1,2,\n", "H:[a][b][]\n2:[1][2][]\n"),
        CASE("trailing delimiter at EOF", ',', "a,b\n1,", "H:[a][b]\n2:[1][]\n"),
        CASE("spaces are data", ',', "a,b\n x , y \n", "H:[a][b]\n2:[ x ][ y ]\n"),
        CASE("quote inside unquoted field", ',', "a,b\nab\"c,d\"\n", "H:[a][b]\n2:[ab\"c][d\"]\n"),
        CASE("space before quote", ',', "a,b\n \"x\",y\n", "H:[a][b]\n2:[ \"x\"][y]\n"),
        CASE("blank lines", ',', "\n\na,b\n\n1,2\r\n\r\n\n3,4\n\n",
             "H:[a][b]\n5:[1][2]\n8:[3][4]\n"),
        CASE("header only", ',', "a,b\n", "H:[a][b]\n"),
        CASE("header only, no newline", ',', "a,b", "H:[a][b]\n"),
        CASE("single column", ',', "id\n1\n\"\"\n2\n", "H:[id]\n2:[1]\n3:[]\n4:[2]\n"),
        CASE("UTF-8 data", ',', "name,city\nJosé,Zürich\n日本,😀\n",
             "H:[name][city]\n2:[José][Zürich]\n3:[日本][😀]\n"),
        CASE("tab inside quotes", ',', "a,b\n\"x\ty\",z\n", "H:[a][b]\n2:[x\\ty][z]\n"),
    };
    run_cases(cases, UF_ARRAY_LEN(cases));
}

Test(csv, delimiters)
{
    static const csv_case cases[] = {
        CASE("semicolon", ';', "a;b\n\"x;y\";2\n1,5;3\n", "H:[a][b]\n2:[x;y][2]\n3:[1,5][3]\n"),
        CASE("tab", '\t', "a\tb\n1\t\"2\t3\"\n", "H:[a][b]\n2:[1][2\\t3]\n"),
        CASE("pipe", '|', "a|b|c\n|\"x|y\"|z\n", "H:[a][b][c]\n2:[][x|y][z]\n"),
        CASE("comma is data with ;", ';', "a;b\nx,y;z\n", "H:[a][b]\n2:[x,y][z]\n"),
        CASE("space", ' ', "a b\n\"1 2\" 3\n", "H:[a][b]\n2:[1 2][3]\n"),
    };
    run_cases(cases, UF_ARRAY_LEN(cases));
}

Test(csv, rejects_and_resumes)
{
    static const csv_case cases[] = {
        CASE("too few columns", ',', "a,b,c\n1,2\n4,5,6\n", "H:[a][b][c]\n2:column_count\n3:[4][5][6]\n"),
        CASE("too many columns", ',', "a,b\n1,2,3\n4,5\n", "H:[a][b]\n2:column_count\n3:[4][5]\n"),
        CASE("many too many", ',', "a\n1,2,3,4,5,6,7,8\n9\n", "H:[a]\n2:column_count\n3:[9]\n"),
        CASE("quote open at EOF", ',', "a,b\n1,\"open\n2,3\n4,5\n",
             "H:[a][b]\n2:unbalanced_quote\n3:[2][3]\n4:[4][5]\n"),
        CASE("quote open at EOF, last line", ',', "a,b\n1,2\n3,\"x", "H:[a][b]\n2:[1][2]\n3:unbalanced_quote\n"),
        CASE("text after closing quote", ',', "a,b\n\"x\"y,1\n2,3\n",
             "H:[a][b]\n2:unbalanced_quote\n3:[2][3]\n"),
        CASE("text after closing quote, CRLF", ',', "a,b\r\n\"x\"y,1\r\n2,3\r\n",
             "H:[a][b]\n2:unbalanced_quote\n3:[2][3]\n"),
        CASE("bad close after embedded newline", ',', "a,b\n\"l1\nl2\"x,1\n2,3\n",
             "H:[a][b]\n2:unbalanced_quote\n3:[l2\"x][1]\n4:[2][3]\n"),
        CASE("invalid byte", ',', "a,b\n\xff,1\n2,3\n", "H:[a][b]\n2:invalid_utf8\n3:[2][3]\n"),
        CASE("lone continuation", ',', "a,b\n\x80,1\n2,3\n", "H:[a][b]\n2:invalid_utf8\n3:[2][3]\n"),
        CASE("truncated sequence", ',', "a,b\n\"\xc3\",1\n2,3\n", "H:[a][b]\n2:invalid_utf8\n3:[2][3]\n"),
        CASE("truncated at EOF", ',', "a,b\n1,\xe2\x82", "H:[a][b]\n2:invalid_utf8\n"),
        CASE("overlong", ',', "a,b\n\xc0\xaf,1\n2,3\n", "H:[a][b]\n2:invalid_utf8\n3:[2][3]\n"),
        CASE("overlong 3-byte", ',', "a,b\n\xe0\x80\xaf,1\n2,3\n", "H:[a][b]\n2:invalid_utf8\n3:[2][3]\n"),
        CASE("surrogate", ',', "a,b\n\xed\xa0\x80,1\n2,3\n", "H:[a][b]\n2:invalid_utf8\n3:[2][3]\n"),
        CASE("above U+10FFFF", ',', "a,b\n\xf4\x90\x80\x80,1\n2,3\n",
             "H:[a][b]\n2:invalid_utf8\n3:[2][3]\n"),
        CASE("invalid in multi-line row", ',', "a,b\n\"x\ny\",\xff\n1,2\n",
             "H:[a][b]\n2:invalid_utf8\n4:[1][2]\n"),
        CASE("NUL unquoted", ',', "a,b\nx\0y,1\n2,3\n", "H:[a][b]\n2:nul_byte\n3:[2][3]\n"),
        CASE("NUL quoted", ',', "a,b\n\"x\0\",1\n2,3\n", "H:[a][b]\n2:nul_byte\n3:[2][3]\n"),
        CASE("NUL alone", ',', "a\n\0\nb\n", "H:[a]\n2:nul_byte\n3:[b]\n"),
        CASE("NUL beats bad UTF-8", ',', "a,b\n\xff,\0\n2,3\n", "H:[a][b]\n2:nul_byte\n3:[2][3]\n"),
        CASE("UTF-8 beats column count", ',', "a,b\n\xff\n2,3\n", "H:[a][b]\n2:invalid_utf8\n3:[2][3]\n"),
        CASE("reject then blank lines", ',', "a,b\n1\n\n\n2,3\n", "H:[a][b]\n2:column_count\n5:[2][3]\n"),
    };
    run_cases(cases, UF_ARRAY_LEN(cases));
}

Test(csv, open_failures)
{
    static const csv_case cases[] = {
        CASE("empty file", ',', "", "ERR 3 FILE: empty file, no header row\n"),
        CASE("blank lines only", ',', "\n\r\n\n", "ERR 3 FILE: empty file, no header row\n"),
        CASE("BOM only", ',', "\xEF\xBB\xBF", "ERR 3 FILE: empty file, no header row\n"),
        CASE("BOM and newline", ',', "\xEF\xBB\xBF\n", "ERR 3 FILE: empty file, no header row\n"),
        CASE("header with open quote", ',', "\"a,b\n1,2\n",
             "ERR 3 FILE:1: header row rejected (unbalanced_quote)\n"),
        CASE("header with bad UTF-8", ',', "a,\xff\n1,2\n",
             "ERR 3 FILE:1: header row rejected (invalid_utf8)\n"),
        CASE("header after blank lines", ',', "\n\na,\0\n",
             "ERR 3 FILE:3: header row rejected (nul_byte)\n"),
    };
    run_cases(cases, UF_ARRAY_LEN(cases));
}

Test(csv, bad_delimiters_refused)
{
    const char *path = write_file("d.csv", "a,b\n", 4);
    const char bad[] = {'"', '\n', '\r', '\0', (char)0xA7};
    for (size_t i = 0; i < sizeof bad; i++) {
        uf_error err = {0};
        uf_stream *s = uf_stream_open(path, &err);
        cr_assert(s);
        cr_expect_null(uf_csv_open(s, bad[i], &err), "delimiter 0x%02x", (unsigned char)bad[i]);
        cr_expect_eq(err.code, UF_ERR_INVALID);
        cr_expect(strstr(err.message, path), "message names the file: %s", err.message);
        uf_stream_close(s);
    }
}

Test(csv, stream_errors_reach_the_caller)
{
    /* A gzip file that is cut short: the header reads fine, then the
     * stream fails and uf_csv_next must say so rather than end quietly. */
    const char *path = tmp_path("cut.csv.gz");
    gzFile gz = gzopen(path, "wb1"); /* fast deflate: the file only has to be big */
    cr_assert(gz);
    gzputs(gz, "a,b\n");
    for (int i = 0; i < 400000; i++)
        gzprintf(gz, "%d,%u\n", i, (unsigned)i * 7919u % 100003u);
    cr_assert_eq(gzclose(gz), Z_OK);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_gt(st.st_size, 1000000);
    cr_assert_eq(truncate(path, 600000), 0);

    uf_error err = {0};
    uf_stream *s = uf_stream_open(path, &err);
    uf_csv_reader *r = uf_csv_open(s, ',', &err);
    cr_assert(r, "%s", err.message);
    uf_csv_row row;
    int rc;
    while ((rc = uf_csv_next(r, &row, &err)) == UF_CSV_ROW)
        cr_assert_eq(row.reject, UF_REJECT_NONE);
    cr_expect_eq(rc, UF_CSV_ERROR);
    cr_expect_eq(err.code, UF_ERR_FORMAT);
    cr_expect(strstr(err.message, "truncated gzip stream"), "%s", err.message);
    uf_csv_close(r);
    uf_stream_close(s);
}

/* ------------------------------------------------------------------ */
/* Long fields and rows                                                */
/* ------------------------------------------------------------------ */

/* Build "prefix" + n copies of `c` + "suffix" in a malloc'd buffer. */
static char *build(const char *prefix, char c, size_t n, const char *suffix, size_t *len)
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

/* Read a file and return the rendering without the header line. */
static char *render_rows(const char *data, size_t len, size_t *max_capacity)
{
    const char *path = write_file("long.csv", data, len);
    uf_error err = {0};
    uf_stream *s = uf_stream_open(path, &err);
    uf_csv_reader *r = uf_csv_open(s, ',', &err);
    cr_assert(r, "%s", err.message);
    text t = {0};
    text_put(&t, "", 0);
    uf_csv_row row;
    *max_capacity = 0;
    while (uf_csv_next(r, &row, &err) == UF_CSV_ROW) {
        size_t cap = uf_csv_buffer_capacity(r);
        *max_capacity = cap > *max_capacity ? cap : *max_capacity;
        text_printf(&t, "%llu:%s", (unsigned long long)row.line,
                    row.reject ? uf_reject_reason_name(row.reject) : "");
        for (size_t i = 0; !row.reject && i < row.count; i++)
            text_printf(&t, "[%zu]", row.fields[i].len);
        text_put(&t, "\n", 1);
    }
    uf_csv_close(r);
    uf_stream_close(s);
    return t.s;
}

Test(csv, field_length_limit)
{
    size_t len, cap;
    struct {
        const char *name, *prefix;
        char fill;
        size_t n;
        const char *suffix, *expect;
    } cases[] = {
        {"unquoted at the limit", "a,b\n", 'x', UF_MAX_FIELD_BYTES, ",1\n2,3\n", "2:[65536][1]\n3:[1][1]\n"},
        {"unquoted over the limit", "a,b\n", 'x', UF_MAX_FIELD_BYTES + 1, ",1\n2,3\n",
         "2:field_too_long\n3:[1][1]\n"},
        {"quoted at the limit", "a,b\n1,\"", 'y', UF_MAX_FIELD_BYTES, "\"\n2,3\n", "2:[1][65536]\n3:[1][1]\n"},
        {"quoted over the limit", "a,b\n1,\"", 'y', UF_MAX_FIELD_BYTES + 1, "\"\n2,3\n",
         "2:field_too_long\n3:[1][1]\n"},
        /* 65536 doubled quotes decode to 32768 quotes: raw length is not the limit. */
        {"doubled quotes count once", "a,b\n1,\"", '"', 2 * UF_MAX_FIELD_BYTES - 2, "\"\n2,3\n",
         "2:[1][65535]\n3:[1][1]\n"},
        /* A quote that never closes within the allowed span. */
        {"quote spanning too far", "a,b\n1,\"", 'z', 3 * UF_MAX_FIELD_BYTES, "\",1\n2,3\n",
         "2:unbalanced_quote\n3:[1][1]\n"},
        /* A row far larger than the buffer may grow: rejected, then skipped. */
        {"row over the buffer cap", "a,b\n", 'w', 3u << 20, ",1\n2,3\n", "2:field_too_long\n3:[1][1]\n"},
    };
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        char *data = build(cases[i].prefix, cases[i].fill, cases[i].n, cases[i].suffix, &len);
        char *got = render_rows(data, len, &cap);
        cr_expect_str_eq(got, cases[i].expect, "%s: got\n%s", cases[i].name, got);
        cr_expect_leq(cap, 1024 * 1024 + UF_MAX_FIELD_BYTES, "%s: buffer grew to %zu", cases[i].name, cap);
        free(got);
        free(data);
    }
}

Test(csv, unbalanced_quote_does_not_swallow_the_file)
{
    /* A stray quote early in a big file: the damage is one row. */
    text t = {0};
    text_put(&t, "id,name\n1,\"Smith\n", 17);
    for (int i = 2; i <= 50000; i++)
        text_printf(&t, "%d,name%d\n", i, i);
    size_t cap;
    char *got = render_rows(t.s, t.len, &cap);
    cr_assert(strncmp(got, "2:unbalanced_quote\n3:[1][5]\n", 28) == 0, "%.60s", got);
    size_t rows = 0;
    for (const char *p = got; *p; p++)
        rows += *p == '\n';
    cr_expect_eq(rows, 50000, "every later row is read (49 999 good + 1 reject)");
    cr_expect_leq(cap, 512 * 1024, "the buffer stays small: %zu", cap);
    free(got);
    free(t.s);
}

Test(csv, long_row_of_legal_fields_over_the_cap)
{
    /* 20 fields of 60 000 bytes: each field is legal, the row is not. */
    text t = {0};
    text_put(&t, "c1", 2);
    for (int i = 2; i <= 20; i++)
        text_printf(&t, ",c%d", i);
    text_put(&t, "\n", 1);
    char *field = malloc(60000);
    memset(field, 'f', 60000);
    for (int i = 0; i < 20; i++) {
        text_put(&t, field, 60000);
        text_put(&t, i < 19 ? "," : "\n", 1);
    }
    text_put(&t, "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20\n", 51);
    size_t cap;
    char *got = render_rows(t.s, t.len, &cap);
    cr_expect(strncmp(got, "2:field_too_long\n3:[1][1]", 25) == 0, "%.80s", got);
    free(got);
    free(field);
    free(t.s);
}

/* ------------------------------------------------------------------ */
/* Buffer boundaries                                                   */
/* ------------------------------------------------------------------ */

/*
 * A block of tricky rows, placed so that the reader's first 256 KiB refill
 * boundary falls on every one of its bytes in turn: inside a quote, between
 * doubled quotes, between CR and LF, inside a UTF-8 sequence, just before a
 * reject.
 */
static const char tricky[] =
    "\"q \"\"1\"\" \r\nnext\",plain,\"a,b\"\r\n"
    "é€😀,\"\",x\r"
    "\"open,1,2\n"
    "3,4,5\n"
    "\"x\"y,1,2\n"
    "\xff,1,2\n"
    "last,\"\"\"\",end";
static const char tricky_expect[] =
    "L+0:[q \"1\" \\r\\nnext][plain][a,b]\n"
    "L+2:[é€😀][][x]\n"
    "L+3:unbalanced_quote\n"
    "L+4:[3][4][5]\n"
    "L+5:unbalanced_quote\n"
    "L+6:invalid_utf8\n"
    "L+7:[last][\"][end]\n";

Test(csv, rows_across_the_buffer_boundary)
{
    enum { BOUNDARY = 256 * 1024 };
    const size_t header_len = 6; /* "a,b,c\n" */
    const size_t block = sizeof tricky - 1;
    for (size_t offset = 0; offset <= block + 1; offset++) {
        /* Filler rows "xx…x,y,z\n" up to exactly BOUNDARY - offset bytes:
         * 55-byte rows, then one row taking the 6..60 bytes left. */
        size_t target = BOUNDARY - offset;
        text t = {0};
        text_put(&t, "a,b,c\n", header_len);
        unsigned filler_rows = 0;
        char row[128];
        while (t.len < target) {
            size_t room = target - t.len;
            size_t n = room >= 61 ? 55 : room;
            memset(row, 'x', n - 5);
            memcpy(row + n - 5, ",y,z\n", 5);
            text_put(&t, row, n);
            filler_rows++;
        }
        cr_assert_eq(t.len, target, "offset %zu", offset);
        text_put(&t, tricky, block);

        char *got = render(t.s, t.len, ',');
        const char *tail = got;
        for (unsigned i = 0; i < filler_rows + 1; i++) /* header + fillers */
            tail = strchr(tail, '\n') + 1;
        /* Replace the line numbers of the tricky rows by "L+k". */
        text norm = {0};
        text_put(&norm, "", 0);
        uint64_t base = filler_rows + 2;
        for (const char *p = tail; *p;) {
            char *colon;
            unsigned long long line = strtoull(p, &colon, 10);
            const char *eol = strchr(colon, '\n');
            text_printf(&norm, "L+%llu", line - base);
            text_put(&norm, colon, (size_t)(eol + 1 - colon));
            p = eol + 1;
        }
        cr_assert_str_eq(norm.s, tricky_expect, "offset %zu:\n%s", offset, norm.s);
        free(norm.s);
        free(got);
        free(t.s);
    }
}

/* A deterministic row generator for the large-file tests. */
static size_t gen_row(char *out, unsigned i)
{
    unsigned k = i * 2654435761u;
    int n;
    switch (k % 4) {
    case 0:
        n = sprintf(out, "%u,Ann%u,\"Smith, Jr.\",ann%u@example.com,\"+1 555 %04u\"\n", i, k % 997, i,
                    k % 10000);
        break;
    case 1:
        n = sprintf(out, "%u,Zoë,\"O\"\"Brien\",z%u@mail.example,\"line one\nline two\"\r\n", i, k % 991);
        break;
    case 2:
        n = sprintf(out, "%u,,Müller,,%.*s\n", i, (int)(k % 200),
                    "0123456789012345678901234567890123456789012345678901234567890123456789"
                    "0123456789012345678901234567890123456789012345678901234567890123456789"
                    "012345678901234567890123456789012345678901234567890123456789");
        break;
    default:
        n = sprintf(out, "%u,\"\",\"\",\"\",\"\"\n", i);
        break;
    }
    return (size_t)n;
}

/* Write `rows` generated rows, through gzip when gz is set. */
static const char *write_generated(const char *name, unsigned rows, bool gz, uint64_t *bytes)
{
    const char *path = tmp_path(name);
    static const char header[] = "id,first,last,email,phone\n";
    char row[512];
    *bytes = sizeof header - 1;
    if (gz) {
        gzFile g = gzopen(path, "wb1");
        cr_assert(g);
        gzwrite(g, header, sizeof header - 1);
        for (unsigned i = 0; i < rows; i++) {
            size_t n = gen_row(row, i);
            cr_assert_eq(gzwrite(g, row, (unsigned)n), (int)n);
            *bytes += n;
        }
        cr_assert_eq(gzclose(g), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        cr_assert(f);
        setvbuf(f, NULL, _IOFBF, 1 << 20);
        fputs(header, f);
        for (unsigned i = 0; i < rows; i++) {
            size_t n = gen_row(row, i);
            fwrite(row, 1, n, f);
            *bytes += n;
        }
        cr_assert_eq(fclose(f), 0);
    }
    return path;
}

/* Read a generated file and check every field of every row and its line. */
static void check_generated(const char *path, unsigned rows, size_t *max_cap)
{
    uf_error err = {0};
    uf_stream *s = uf_stream_open(path, &err);
    cr_assert(s, "%s", err.message);
    uf_csv_reader *r = uf_csv_open(s, ',', &err);
    cr_assert(r, "%s", err.message);
    uf_csv_row row;
    unsigned i = 0;
    uint64_t line = 2;
    char expect[512];
    *max_cap = 0;
    while (uf_csv_next(r, &row, &err) == UF_CSV_ROW) {
        size_t cap = uf_csv_buffer_capacity(r);
        *max_cap = cap > *max_cap ? cap : *max_cap;
        cr_assert_eq(row.reject, UF_REJECT_NONE, "row %u", i);
        cr_assert_eq(row.line, line, "row %u", i);
        cr_assert_eq(row.count, 5);
        /* Re-render the row as CSV the way gen_row wrote it and compare. */
        size_t n = gen_row(expect, i);
        const char *p = expect;
        for (size_t f = 0; f < 5; f++) {
            bool quoted = *p == '"';
            char value[256];
            size_t vlen = 0;
            if (quoted) {
                p++;
                for (;;) {
                    if (*p == '"' && p[1] == '"') {
                        value[vlen++] = '"';
                        p += 2;
                    } else if (*p == '"') {
                        p++;
                        break;
                    } else {
                        value[vlen++] = *p++;
                    }
                }
            } else {
                while (*p != ',' && *p != '\n' && *p != '\r')
                    value[vlen++] = *p++;
            }
            p++; /* delimiter or line end */
            cr_assert_eq(row.fields[f].len, vlen, "row %u field %zu", i, f);
            cr_assert(memcmp(row.fields[f].ptr, value, vlen) == 0, "row %u field %zu", i, f);
        }
        for (size_t b = 0; b < n; b++)
            line += expect[b] == '\n';
        i++;
    }
    cr_assert_eq(err.code, UF_OK, "%s", err.message);
    cr_assert_eq(i, rows);
    uf_csv_close(r);
    uf_stream_close(s);
}

Test(csv, generated_file_plain_and_gzip)
{
    enum { ROWS = 60000 }; /* about 4 MB: many refills */
    uint64_t bytes;
    size_t cap;
    const char *plain = write_generated("gen.csv", ROWS, false, &bytes);
    cr_assert_gt(bytes, 3u << 20);
    check_generated(plain, ROWS, &cap);
    cr_expect_eq(cap, 256 * 1024, "no row needs a bigger buffer");
    const char *gz = write_generated("gen.csv.gz", ROWS, true, &bytes);
    check_generated(gz, ROWS, &cap);
}

Test(csv, large_file_streams_in_fixed_memory)
{
    /* About 33 MB; 6.6 MB under valgrind (UF_TEST_SMALL), still 25 buffers' worth. */
    const unsigned ROWS = T_SMALL_OR(500000, 100000);
    uint64_t bytes;
    const char *path = write_generated("big.csv", ROWS, false, &bytes);
    cr_assert_gt(bytes, T_SMALL_OR(30u, 6u) << 20);
    uf_error err = {0};
    uf_stream *s = uf_stream_open(path, &err);
    uf_csv_reader *r = uf_csv_open(s, ',', &err);
    cr_assert(r);
    uf_csv_row row;
    uint64_t rows = 0, field_bytes = 0;
    size_t max_cap = 0;
    while (uf_csv_next(r, &row, &err) == UF_CSV_ROW) {
        cr_assert_eq(row.reject, UF_REJECT_NONE);
        for (size_t f = 0; f < row.count; f++)
            field_bytes += row.fields[f].len;
        size_t cap = uf_csv_buffer_capacity(r);
        max_cap = cap > max_cap ? cap : max_cap;
        rows++;
    }
    cr_expect_eq(rows, ROWS);
    cr_expect_gt(field_bytes, bytes / 2);
    cr_expect_eq(max_cap, 256 * 1024, "the buffer never grows: %zu", max_cap);
    cr_expect_eq(uf_stream_bytes_consumed(s), bytes);
    uf_csv_close(r);
    uf_stream_close(s);
}
