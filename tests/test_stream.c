/*
 * test_stream.c — plain and gzip byte streams.
 *
 * Content round trips (plain, gzip, several gzip members, data larger than
 * the 256 KiB input buffer, odd read sizes) and every way a file can be bad:
 * missing, a directory, corrupt gzip, truncated gzip, junk after the last
 * member. Gzip test data is written with zlib's gzopen/gzwrite.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "stream.h"

static char tmpdir[256];

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/uf_stream_XXXXXX", base && *base ? base : "/tmp");
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
            if (rmdir(path) != 0)
                unlink(path);
        }
    }
    closedir(d);
    rmdir(tmpdir);
}

TestSuite(stream, .init = make_tmpdir, .fini = remove_tmpdir);

static char *tmp_path(const char *name)
{
    char *path = malloc(512);
    cr_assert(path);
    snprintf(path, 512, "%s/%s", tmpdir, name);
    return path;
}

static char *write_plain(const char *name, const void *data, size_t len)
{
    char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    return path;
}

static char *write_gzip(const char *name, const void *data, size_t len)
{
    char *path = tmp_path(name);
    gzFile g = gzopen(path, "wb");
    cr_assert(g);
    cr_assert_eq(gzwrite(g, data, (unsigned)len), (int)len);
    cr_assert_eq(gzclose(g), Z_OK);
    return path;
}

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(*len + 1);
    cr_assert(buf);
    cr_assert_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

/* Pseudo-random bytes: incompressible, so gzip files get large. */
static char *noise(size_t len, unsigned seed)
{
    char *buf = malloc(len);
    cr_assert(buf);
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (char)(x >> 24);
    }
    return buf;
}

/* Repetitive text: compresses well, so one input buffer expands a lot. */
static char *csv_text(size_t len)
{
    char *buf = malloc(len);
    cr_assert(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = "id,name,email\n1,Ann,ann@example.com\n"[i % 36];
    return buf;
}

/*
 * Read a whole stream with reads of `chunk` bytes; returns the content and
 * its length, or NULL with *err set on a read error.
 */
static char *read_all(uf_stream *s, size_t chunk, size_t *len, uf_error *err)
{
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    cr_assert(out);
    for (;;) {
        if (n + chunk > cap) {
            cap = (n + chunk) * 2;
            out = realloc(out, cap);
            cr_assert(out);
        }
        ssize_t got = uf_stream_read(s, out + n, chunk, err);
        if (got < 0) {
            free(out);
            return NULL;
        }
        if (got == 0)
            break;
        cr_assert_leq((size_t)got, chunk);
        n += (size_t)got;
    }
    *len = n;
    return out;
}

static void expect_content(const char *path, const char *want, size_t want_len, bool gzip, size_t chunk)
{
    uf_error err = {0};
    uf_stream *s = uf_stream_open(path, &err);
    cr_assert(s, "open %s: %s", path, err.message);
    cr_expect_eq(uf_stream_is_gzip(s), gzip);
    cr_expect_str_eq(uf_stream_path(s), path);
    size_t len;
    char *got = read_all(s, chunk, &len, &err);
    cr_assert(got, "read %s: %s", path, err.message);
    cr_expect_eq(len, want_len, "length with %zu-byte reads", chunk);
    cr_expect(len == want_len && memcmp(got, want, len) == 0, "content with %zu-byte reads", chunk);
    cr_expect_eq(uf_stream_read(s, got, 1, &err), 0, "end is sticky");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(uf_stream_bytes_consumed(s), (uint64_t)st.st_size, "every file byte consumed");
    free(got);
    uf_stream_close(s);
}

static void expect_read_error(const char *path, int code, const char *needle)
{
    uf_error err = {0};
    uf_stream *s = uf_stream_open(path, &err);
    cr_assert(s, "open %s: %s", path, err.message);
    cr_expect(uf_stream_is_gzip(s));
    size_t len;
    char *got = read_all(s, 100000, &len, &err);
    cr_expect_null(got, "reading %s must fail", path);
    free(got);
    cr_expect_eq(err.code, code, "%s", err.message);
    cr_expect(strncmp(err.message, path, strlen(path)) == 0, "names the file: %s", err.message);
    cr_expect(strstr(err.message, needle), "says \"%s\": %s", needle, err.message);
    /* The error sticks. */
    uf_error again = {0};
    char b[16];
    cr_expect_eq(uf_stream_read(s, b, sizeof b, &again), -1);
    cr_expect_str_eq(again.message, err.message);
    uf_stream_close(s);
}

/* ------------------------------------------------------------------ */

Test(stream, plain_round_trip)
{
    size_t len = 700000;
    char *data = noise(len, 1);
    char *path = write_plain("plain.bin", data, len);
    size_t chunks[] = {7, 4096, 65537, 1 << 20};
    for (size_t i = 0; i < UF_ARRAY_LEN(chunks); i++)
        expect_content(path, data, len, false, chunks[i]);
    free(path);
    free(data);
}

Test(stream, tiny_plain_files)
{
    /* Shorter than the magic, a lone 1f, and "1f" followed by not-8b. */
    struct {
        const char *name, *data;
        size_t len;
    } cases[] = {
        {"empty", "", 0}, {"one", "x", 1}, {"lone1f", "\x1f", 1}, {"1f00", "\x1f\x00z", 3},
        {"two", "ab", 2}, {"8b1f", "\x8b\x1f", 2},
    };
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        char *path = write_plain(cases[i].name, cases[i].data, cases[i].len);
        expect_content(path, cases[i].data, cases[i].len, false, 1);
        expect_content(path, cases[i].data, cases[i].len, false, 64);
        free(path);
    }
}

Test(stream, gzip_round_trip)
{
    /* Small, compressible-and-large (expands many times per input buffer),
     * incompressible-and-large (the 256 KiB input buffer refills). */
    struct {
        const char *name;
        char *data;
        size_t len;
    } cases[] = {
        {"small.gz", csv_text(100), 100},
        {"text.gz", csv_text(5u << 20), 5u << 20},
        {"noise.gz", noise(1u << 20, 7), 1u << 20},
    };
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        char *path = write_gzip(cases[i].name, cases[i].data, cases[i].len);
        expect_content(path, cases[i].data, cases[i].len, true, 1 << 18);
        expect_content(path, cases[i].data, cases[i].len, true, 777);
        free(path);
        free(cases[i].data);
    }
}

Test(stream, gzip_of_empty_content)
{
    char *path = write_gzip("empty.gz", "", 0);
    expect_content(path, "", 0, true, 100);
    free(path);
}

Test(stream, gzip_detected_by_magic_not_name)
{
    char *gz = write_gzip("looks_plain.csv", "a,b\n1,2\n", 8);
    expect_content(gz, "a,b\n1,2\n", 8, true, 100);
    char *plain = write_plain("looks_gzip.csv.gz", "a,b\n1,2\n", 8);
    expect_content(plain, "a,b\n1,2\n", 8, false, 100);
    free(gz);
    free(plain);
}

Test(stream, multi_member_gzip)
{
    /* Three members, one of them empty and one bigger than the input
     * buffer, concatenated as `cat a.gz b.gz c.gz` would. */
    size_t big = 600000;
    char *part3 = noise(big, 3);
    char *p1 = write_gzip("m1.gz", "first member\n", 13);
    char *p2 = write_gzip("m2.gz", "", 0);
    char *p3 = write_gzip("m3.gz", part3, big);
    size_t l1, l2, l3;
    char *b1 = slurp(p1, &l1), *b2 = slurp(p2, &l2), *b3 = slurp(p3, &l3);
    char *cat = malloc(l1 + l2 + l3 + l1);
    memcpy(cat, b1, l1);
    memcpy(cat + l1, b2, l2);
    memcpy(cat + l1 + l2, b3, l3);
    memcpy(cat + l1 + l2 + l3, b1, l1);
    char *path = write_plain("multi.gz", cat, l1 + l2 + l3 + l1);

    size_t want_len = 13 + big + 13;
    char *want = malloc(want_len);
    memcpy(want, "first member\n", 13);
    memcpy(want + 13, part3, big);
    memcpy(want + 13 + big, "first member\n", 13);
    expect_content(path, want, want_len, true, 1 << 16);
    expect_content(path, want, want_len, true, 5);

    free(want);
    free(path);
    free(cat);
    free(b1);
    free(b2);
    free(b3);
    free(p1);
    free(p2);
    free(p3);
    free(part3);
}

/* The gzip file `gz` with `n` bytes of `tail` after it fails to read with UF_ERR_FORMAT and `needle`. */
static void expect_error_after(const unsigned char *gz, size_t glen, const char *tail, size_t n, const char *name,
                               const char *needle)
{
    unsigned char *bytes = malloc(glen + n);
    cr_assert_not_null(bytes);
    memcpy(bytes, gz, glen);
    memcpy(bytes + glen, tail, n);
    char *p = write_plain(name, bytes, glen + n);
    expect_read_error(p, UF_ERR_FORMAT, needle);
    free(p);
    free(bytes);
}

Test(stream, corrupt_gzip)
{
    size_t len = 400000;
    char *data = csv_text(len);
    char *good = write_gzip("good.gz", data, len);
    size_t glen;
    unsigned char *bytes = slurp(good, &glen);

    /* Bytes inside the deflate data flipped: inflate or the CRC catches it. */
    unsigned char *bad = malloc(glen);
    memcpy(bad, bytes, glen);
    for (size_t i = glen / 3; i < glen / 3 + 16; i++)
        bad[i] ^= 0x5a;
    char *p = write_plain("flipped.csv.gz", bad, glen);
    expect_read_error(p, UF_ERR_FORMAT, "corrupt gzip data (");
    free(p);

    /* A wrong CRC in the trailer. */
    memcpy(bad, bytes, glen);
    bad[glen - 8] ^= 1;
    p = write_plain("crc.csv.gz", bad, glen);
    expect_read_error(p, UF_ERR_FORMAT, "corrupt gzip data (incorrect data check)");
    free(p);

    /* An unknown compression method in the header. */
    memcpy(bad, bytes, glen);
    bad[2] = 7;
    p = write_plain("method.csv.gz", bad, glen);
    expect_read_error(p, UF_ERR_FORMAT, "corrupt gzip data (unknown compression method)");
    free(p);

    /* Junk after the last member is refused, not ignored. */
    expect_error_after(bytes, glen, "junk!", 5, "junk.csv.gz", "trailing garbage");
    /* A second "member" that starts right but is not gzip: a whole header with method 0 ... */
    expect_error_after(bytes, glen, "\x1f\x8b\x00\x00\x00\x00\x00\x00\x00\x03xy", 12, "junk2.csv.gz",
                       "corrupt gzip data (unknown compression method)");
    /* ... and five bytes, shorter than any gzip header: a member the file cuts off. */
    expect_error_after(bytes, glen, "\x1f\x8b\x00\x00\x00", 5, "junk3.csv.gz", "truncated gzip stream");

    free(bad);
    free(bytes);
    free(good);
    free(data);
}

/*
 * One gzip member of `len` bytes in stored (uncompressed) deflate blocks, so
 * its size is exact: 10 + 5 per 65 535 bytes + len + 8, plus, with
 * `header_crc`, a file name "x.csv" and the header's CRC-16 (FNAME, FHCRC:
 * what zlib never writes). Appended to *out (*out_len bytes, reallocated).
 */
static void stored_member(unsigned char **out, size_t *out_len, const char *data, size_t len, bool header_crc)
{
    size_t blocks = len ? (len + 65534) / 65535 : 1, max = 10 + 8 + 2 + 5 * blocks + len + 8;
    unsigned char *m = realloc(*out, *out_len + max), *p;
    cr_assert_not_null(m);
    *out = m;
    p = m + *out_len;
    const unsigned char head[10] = {0x1f, 0x8b, 8, header_crc ? 0x0a : 0, 0, 0, 0, 0, 0, 3};
    memcpy(p, head, 10);
    size_t at = 10;
    if (header_crc) {
        memcpy(p + at, "x.csv", 6);
        at += 6;
        uLong crc = crc32(0, p, (uInt)at);
        p[at++] = (unsigned char)crc;
        p[at++] = (unsigned char)(crc >> 8);
    }
    size_t done = 0;
    do {
        size_t n = len - done < 65535 ? len - done : 65535;
        p[at++] = done + n == len; /* BFINAL, BTYPE 00 (stored) */
        p[at++] = (unsigned char)n;
        p[at++] = (unsigned char)(n >> 8);
        p[at++] = (unsigned char)~n;
        p[at++] = (unsigned char)(~n >> 8);
        memcpy(p + at, data + done, n);
        at += n;
        done += n;
    } while (done < len);
    uLong crc = crc32(0, (const Bytef *)data, (uInt)len);
    for (int i = 0; i < 4; i++)
        p[at++] = (unsigned char)(crc >> (8 * i));
    for (int i = 0; i < 4; i++)
        p[at++] = (unsigned char)(len >> (8 * i));
    *out_len += at;
}

Test(stream, gzip_header_crc_and_headers_across_reads)
{
    /* A header with FHCRC and a file name reads back. */
    char *data = csv_text(300000);
    unsigned char *gz = NULL;
    size_t glen = 0;
    stored_member(&gz, &glen, data, 1000, true);
    char *p = write_plain("fhcrc.csv.gz", gz, glen);
    expect_content(p, data, 1000, true, 100);
    free(p);

    /* A second member whose header starts 5 bytes before the end of the first 256 KiB the stream
     * reads: the header reaches the decoder whole all the same (libisal 2.30 checks a split
     * header's CRC-16 wrongly). The first member: 10 + 4 x 5 + n + 8 bytes = 262 139. */
    free(gz);
    gz = NULL;
    glen = 0;
    size_t first = 262139 - 38;
    stored_member(&gz, &glen, data, first, false);
    cr_assert_eq(glen, 262139);
    stored_member(&gz, &glen, data + first, 5000, true);
    p = write_plain("straddle.csv.gz", gz, glen);
    for (size_t chunk = 1000; chunk <= 1000000; chunk *= 1000)
        expect_content(p, data, first + 5000, true, chunk);
    free(p);
    free(gz);
    free(data);
}

Test(stream, truncated_gzip)
{
    size_t len = 2000000;
    char *data = noise(len, 11);
    char *good = write_gzip("good.gz", data, len);
    size_t glen;
    char *bytes = slurp(good, &glen);
    /* Cut in the header, in the deflate data (before and after the first
     * input-buffer refill) and inside the 8-byte trailer. */
    size_t cuts[] = {2, 5, 11, 1000, 300000, glen / 2, glen - 8, glen - 1};
    for (size_t i = 0; i < UF_ARRAY_LEN(cuts); i++) {
        char name[64];
        snprintf(name, sizeof name, "cut%zu.csv.gz", cuts[i]);
        char *p = write_plain(name, bytes, cuts[i]);
        expect_read_error(p, UF_ERR_FORMAT, "truncated gzip stream");
        free(p);
    }
    free(bytes);
    free(good);
    free(data);
}

Test(stream, missing_file)
{
    char *path = tmp_path("does-not-exist.csv");
    uf_error err = {0};
    cr_assert_null(uf_stream_open(path, &err));
    cr_expect_eq(err.code, UF_ERR_IO);
    cr_expect(strncmp(err.message, path, strlen(path)) == 0, "%s", err.message);
    cr_expect(strstr(err.message, "No such file or directory"), "%s", err.message);
    free(path);
}

Test(stream, directory_instead_of_file)
{
    char *path = tmp_path("a-directory.csv");
    cr_assert_eq(mkdir(path, 0700), 0);
    uf_error err = {0};
    cr_assert_null(uf_stream_open(path, &err));
    cr_expect_eq(err.code, UF_ERR_IO);
    cr_expect(strncmp(err.message, path, strlen(path)) == 0, "%s", err.message);
    cr_expect(strstr(err.message, "Is a directory"), "%s", err.message);
    free(path);
}

Test(stream, unreadable_file)
{
    if (geteuid() == 0) {
        remove_tmpdir(); /* a skipped test does not run the suite's .fini */
        cr_skip_test("root can read any file");
    }
    char *path = write_plain("secret.csv", "a\n", 2);
    cr_assert_eq(chmod(path, 0), 0);
    uf_error err = {0};
    cr_assert_null(uf_stream_open(path, &err));
    cr_expect_eq(err.code, UF_ERR_IO);
    cr_expect(strstr(err.message, "Permission denied"), "%s", err.message);
    free(path);
}

Test(stream, close_null_is_allowed)
{
    uf_stream_close(NULL);
}
