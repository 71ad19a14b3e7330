/*
 * reader_test_support.h — what the reader tests (test_csv.c, test_jsonl.c)
 * share: a temporary folder per test and a growable text for renderings,
 * with control bytes shown as \n, \r, \t, \xHH so expected renderings
 * stay readable in the source.
 *
 * Include once per test file, after <criterion/criterion.h>, then declare
 * the suite with READER_TEST_SUITE(name).
 */
#ifndef UF_READER_TEST_SUPPORT_H
#define UF_READER_TEST_SUPPORT_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

static char tmpdir[256];

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/uf_reader_XXXXXX", base && *base ? base : "/tmp");
    cr_assert(mkdtemp(tmpdir), "mkdtemp failed");
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
    rmdir(tmpdir);
}

#define READER_TEST_SUITE(name) TestSuite(name, .init = make_tmpdir, .fini = remove_tmpdir)

static const char *tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static const char *write_file(const char *name, const char *data, size_t len)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    return path;
}

/* A growable string for renderings. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void text_put(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        cr_assert(t->s);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_printf(text *t, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && (size_t)n < sizeof buf, "text_printf: %d bytes do not fit its buffer", n);
    text_put(t, buf, (size_t)n);
}

/* The bytes of f with control bytes escaped. */
static void text_escaped(text *t, uf_slice f)
{
    cr_assert(f.ptr || f.len == 0);
    for (size_t i = 0; i < f.len; i++) {
        size_t plain = i; /* a run of bytes that need no escape, copied at once */
        while (plain < f.len && (unsigned char)f.ptr[plain] >= 0x20)
            plain++;
        text_put(t, f.ptr + i, plain - i);
        if (plain == f.len)
            break;
        i = plain;
        unsigned char c = (unsigned char)f.ptr[i];
        if (c == '\n')
            text_put(t, "\\n", 2);
        else if (c == '\r')
            text_put(t, "\\r", 2);
        else if (c == '\t')
            text_put(t, "\\t", 2);
        else
            text_printf(t, "\\x%02x", c);
    }
}

/* "[" escaped bytes "]" */
static __attribute__((unused)) void text_field(text *t, uf_slice f)
{
    text_put(t, "[", 1);
    text_escaped(t, f);
    text_put(t, "]", 1);
}

#endif /* UF_READER_TEST_SUPPORT_H */
