/*
 * fuzz_gzip.c — the gzip path of stream.c.
 *
 * Input: byte 0 picks a mode, the rest is the payload.
 *   0  the payload is the file itself (seeds are real .gz files): read to
 *      the end; a failure is UF_ERR_FORMAT/UF_ERR_IO with a message;
 *   1  the payload is gzip-compressed here, possibly split into two
 *      concatenated members: reading gives back exactly the payload;
 *   2  compressed, then cut short at a point the input picks: reading
 *      fails (a truncated file never reads as a shorter good one), and
 *      what was delivered before is a prefix of the payload;
 *   3  compressed, then one byte flipped: reading fails or gives back
 *      exactly the payload (header bytes such as mtime are not checked).
 */
#include "fuzz_common.h"

#include "stream.h"

#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define READ_CAP (64u << 20) /* a gzip bomb stops here: the harness is not about zlib's speed */

static unsigned char *gzip_compress(const uint8_t *in, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&z, len) + 64;
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

/* Read the whole stream; returns the bytes (caller frees), *ok false on an error. */
static unsigned char *read_all(const char *path, size_t *len, bool *ok, bool *gzip, uf_error *err)
{
    uf_stream *s = uf_stream_open(path, err);
    FUZZ_CHECK(s != NULL, "cannot open the memfd: %s", err->message);
    *gzip = uf_stream_is_gzip(s);
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    *ok = true;
    for (;;) {
        if (cap - n < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t got = uf_stream_read(s, buf + n, cap - n, err);
        if (got < 0) {
            *ok = false;
            FUZZ_CHECK(err->code == UF_ERR_FORMAT || err->code == UF_ERR_IO, "read error code %d", err->code);
            FUZZ_CHECK(err->message[0] != '\0', "read error without a message");
            break;
        }
        if (got == 0 || n + (size_t)got >= READ_CAP) {
            n += (size_t)got;
            break;
        }
        n += (size_t)got;
    }
    uf_stream_close(s);
    *len = n;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 4;
    const uint8_t *payload = data + 1;
    size_t plen = size - 1;
    char path[64];
    uf_error err = {0};
    size_t got_len;
    bool ok, gzip;

    if (mode == 0) {
        fuzz_as_file(payload, plen, path);
        free(read_all(path, &got_len, &ok, &gzip, &err));
        return 0;
    }

    /* Modes 1-3 compress the payload; the first payload byte also picks a split or cut point. */
    uint8_t pick = plen ? payload[0] : 0;
    size_t zlen;
    unsigned char *z;
    if (mode == 1 && plen >= 2 && (pick & 1)) {
        size_t cut = pick % plen, alen, blen; /* two concatenated members, as gzip(1) writes with -c >> */
        unsigned char *a = gzip_compress(payload, cut, &alen), *b = gzip_compress(payload + cut, plen - cut, &blen);
        z = malloc(alen + blen);
        memcpy(z, a, alen);
        memcpy(z + alen, b, blen);
        zlen = alen + blen;
        free(a);
        free(b);
    } else {
        z = gzip_compress(payload, plen, &zlen);
    }

    if (mode == 1) {
        fuzz_as_file(z, zlen, path);
        unsigned char *got = read_all(path, &got_len, &ok, &gzip, &err);
        FUZZ_CHECK(gzip, "a gzip file not detected as gzip");
        FUZZ_CHECK(ok, "a good gzip file failed: %s", err.message);
        FUZZ_CHECK(got_len == plen && (plen == 0 || memcmp(got, payload, plen) == 0),
                   "round trip gave %zu bytes for %zu", got_len, plen);
        free(got);
    } else if (mode == 2) {
        size_t cut = zlen > 1 ? (size_t)pick * (zlen - 1) / 255 : 0; /* 0 .. zlen-1: always short */
        if (cut >= 2) { /* fewer than two bytes is not gzip at all: a plain file */
            fuzz_as_file(z, cut, path);
            unsigned char *got = read_all(path, &got_len, &ok, &gzip, &err);
            FUZZ_CHECK(!ok, "a gzip file cut to %zu of %zu bytes read as good (%zu bytes)", cut, zlen, got_len);
            FUZZ_CHECK(got_len <= plen && (got_len == 0 || memcmp(got, payload, got_len) == 0),
                       "a cut gzip file delivered bytes that are not a prefix");
            free(got);
        }
    } else {
        size_t at = (size_t)pick * (zlen - 1) / 255;
        uint8_t flip = plen >= 2 ? (payload[1] | 1) : 0x55; /* never 0: a real change */
        z[at] ^= flip;
        fuzz_as_file(z, zlen, path);
        unsigned char *got = read_all(path, &got_len, &ok, &gzip, &err);
        if (ok && gzip)
            FUZZ_CHECK(got_len == plen && (plen == 0 || memcmp(got, payload, plen) == 0),
                       "byte %zu of %zu flipped: read as good but different (%zu bytes for %zu)", at, zlen,
                       got_len, plen);
        free(got);
    }
    free(z);
    return 0;
}
