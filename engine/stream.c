/*
 * stream.c — one export file as a byte stream, plain or gzip.
 *
 * The idea: readers (csv.c, jsonl.c) own one growing row buffer and ask the
 * stream to fill its tail. For a plain file we read(2) straight into that
 * buffer, so the bytes are copied once, by the kernel. For gzip we keep one
 * fixed 256 KiB input buffer of compressed bytes and inflate straight into
 * the caller's buffer. Either way the stream's memory is constant: it never
 * grows with the file.
 *
 * Inflating is ISA-L's (igzip): 2.5-3.2 times zlib's speed on this machine
 * (the 1 M fixture's 22 MB tickets export: 0.092 s against 0.226 s of one
 * core; bench_readers' 200 MB of CSV: 910 against 282 MB/s, 2026-12-06).
 * It checks what zlib checked: the header, the CRC-32 and the length in
 * every member's trailer.
 *
 * Trade-offs worth knowing:
 *  - gzip is recognised by its magic bytes (1f 8b), never by the file name,
 *    so `export.csv` that is secretly gzip works and `x.gz` that is plain too.
 *  - Concatenated gzip members (what `cat a.gz b.gz` or pigz produce) are
 *    read one after the other, as gzip(1) does. Anything after a member that
 *    is not another member is an error rather than silently ignored: a bad
 *    file must never look like a short, good one.
 *  - A file that ends inside a member is "truncated", distinct from corrupt
 *    data, because the fix differs (re-copy the file vs re-export it).
 *  - Errors are sticky: after one, every read fails the same way.
 *  - open/read instead of stdio: stdio would add a second buffer and a copy.
 *  - An export that changes while it is read (another system still writing
 *    it, or rewriting it in place) would give a run a mix of two versions or
 *    a silently short file. At the end of a regular file the size and mtime
 *    are compared with those seen at open, and with the bytes actually read;
 *    any difference is an error naming the file, so the run stops and the
 *    store keeps the previous generation. A file *replaced* by rename(2)
 *    during the read is not a change: the open descriptor keeps reading the
 *    complete version it opened.
 */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <isa-l/igzip_lib.h>

enum { UF_STREAM_INPUT_BYTES = 256 * 1024 };

struct uf_stream {
    int fd;
    char *path;
    bool gzip;
    bool file_eof;        /* read(2) returned 0 */
    bool failed;          /* sticky error, see `error` */
    uf_error error;
    uint64_t file_bytes;  /* bytes read from the file so far */

    /* A regular file's identity at open, checked again at its end. */
    bool regular;
    bool end_checked;
    off_t opened_size;
    struct timespec opened_mtime;

    /* Plain files: bytes peeked while sniffing the magic, served first. */
    unsigned char head[2];
    size_t head_len, head_pos;

    /* Gzip files. */
    struct inflate_state *z; /* ISA-L's decoder (~85 KB: allocated) */
    bool in_member;       /* between a member's first byte and its trailer */
    unsigned char *input; /* UF_STREAM_INPUT_BYTES of compressed bytes */
};

/* read(2) that retries on EINTR and fills `cap` unless the file ends. */
static ssize_t read_full(int fd, void *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, (char *)buf + got, cap - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/*
 * Remember an error so that every later read reports it again. The message
 * is "PATH: WHAT" or "PATH: WHAT (DETAIL)".
 */
static ssize_t fail(uf_stream *s, uf_error *err, int code, const char *what, const char *detail)
{
    s->failed = true;
    uf_error_set(&s->error, code, "%s: %s%s%s%s", s->path, what,
                 detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
    if (err)
        *err = s->error;
    return -1;
}

uf_stream *uf_stream_open(const char *path, uf_error *err)
{
    uf_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        uf_error_set(err, UF_ERR_NOMEM, "%s: out of memory opening file", path);
        return NULL;
    }
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (s->fd < 0 || fstat(s->fd, &st) != 0) {
        uf_error_set(err, UF_ERR_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        uf_error_set(err, UF_ERR_IO, "%s: %s", path, strerror(EISDIR));
        goto fail;
    }
    s->regular = S_ISREG(st.st_mode);
    s->opened_size = st.st_size;
    s->opened_mtime = st.st_mtim;
    /* Exports are read once, front to back: let the kernel read ahead. */
    (void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);

    ssize_t n = read_full(s->fd, s->head, sizeof s->head);
    if (n < 0) {
        uf_error_set(err, UF_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        goto fail;
    }
    s->head_len = (size_t)n;
    s->file_bytes = (uint64_t)n;
    s->file_eof = n < (ssize_t)sizeof s->head;
    s->gzip = n == 2 && s->head[0] == 0x1f && s->head[1] == 0x8b;
    if (!s->gzip)
        return s;

    s->input = malloc(UF_STREAM_INPUT_BYTES);
    s->z = malloc(sizeof *s->z);
    if (!s->input || !s->z) {
        uf_error_set(err, UF_ERR_NOMEM, "%s: out of memory starting gzip decoder", path);
        goto fail;
    }
    memcpy(s->input, s->head, 2); /* the magic is part of the first member */
    s->z->next_in = s->input;
    s->z->avail_in = 2;
    return s;

fail:
    uf_stream_close(s);
    return NULL;
}

int uf_stream_seek(uf_stream *s, uint64_t offset, uf_error *err)
{
    if (s->gzip)
        return uf_error_set(err, UF_ERR_INVALID, "%s: a gzip file cannot be read from an offset", s->path);
    if (s->failed) {
        if (err)
            *err = s->error;
        return s->error.code;
    }
    if (offset > (uint64_t)INT64_MAX || lseek(s->fd, (off_t)offset, SEEK_SET) < 0)
        return uf_error_set(err, UF_ERR_IO, "%s: cannot seek to byte %llu: %s", s->path,
                            (unsigned long long)offset, strerror(errno));
    s->head_len = s->head_pos = 0;
    s->file_bytes = offset;
    s->file_eof = false;
    s->end_checked = false;
    return UF_OK;
}

static ssize_t read_plain(uf_stream *s, unsigned char *out, size_t cap, uf_error *err)
{
    size_t got = 0;
    while (s->head_pos < s->head_len && got < cap)
        out[got++] = s->head[s->head_pos++];
    if (got == cap || s->file_eof)
        return (ssize_t)got;
    ssize_t n = read_full(s->fd, out + got, cap - got);
    if (n < 0)
        return fail(s, err, UF_ERR_IO, "read failed", strerror(errno));
    if ((size_t)n < cap - got)
        s->file_eof = true;
    s->file_bytes += (uint64_t)n;
    return (ssize_t)(got + (size_t)n);
}

/*
 * Top up the compressed input buffer as far as the file goes, the unread
 * bytes moved to its front. Returns false after setting an error. Called when
 * the buffer is empty, and before every member starts: libisal 2.30 checks a
 * header's CRC-16 (the FHCRC flag) wrongly when the header reaches it in two
 * calls, and rejects a good file, so a header always starts with a full
 * buffer (one longer than the 256 KiB buffer — file name, comment or extra
 * field — would still be split).
 */
static bool fill_input(uf_stream *s, uf_error *err)
{
    struct inflate_state *z = s->z;
    if (s->file_eof || z->avail_in == UF_STREAM_INPUT_BYTES)
        return true;
    memmove(s->input, z->next_in, z->avail_in);
    size_t room = UF_STREAM_INPUT_BYTES - z->avail_in;
    ssize_t n = read_full(s->fd, s->input + z->avail_in, room);
    if (n < 0) {
        fail(s, err, UF_ERR_IO, "read failed", strerror(errno));
        return false;
    }
    if ((size_t)n < room)
        s->file_eof = true;
    s->file_bytes += (uint64_t)n;
    z->next_in = s->input;
    z->avail_in += (uint32_t)n;
    return true;
}

/* Start a member at next_in; the buffers stay as they are (init resets them). */
static void start_member(struct inflate_state *z)
{
    uint8_t *next_in = z->next_in, *next_out = z->next_out;
    uint32_t avail_in = z->avail_in, avail_out = z->avail_out;
    isal_inflate_init(z);
    z->crc_flag = ISAL_GZIP; /* parse the header, check CRC-32 and length at the end */
    z->next_in = next_in;
    z->avail_in = avail_in;
    z->next_out = next_out;
    z->avail_out = avail_out;
}

/* What ISA-L's error codes mean, in the words zlib used for them. */
static const char *inflate_error(int rc)
{
    switch (rc) {
    case ISAL_INVALID_BLOCK: return "invalid block";
    case ISAL_INVALID_SYMBOL: return "invalid code";
    case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
    case ISAL_INVALID_WRAPPER: return "incorrect header";
    case ISAL_UNSUPPORTED_METHOD: return "unknown compression method";
    case ISAL_INCORRECT_CHECKSUM: return "incorrect data check";
    case ISAL_NEED_DICT: return "a preset dictionary, which gzip does not use";
    default: return "invalid deflate stream";
    }
}

/*
 * ISA-L's inflate runs AVX-512 code and returns without vzeroupper, leaving
 * the upper halves of the vector registers "dirty"; on Intel cores every
 * SSE instruction the thread runs afterwards then pays for them (a merge
 * with the upper state), and this program is compiled for plain x86-64, SSE
 * throughout. The thread that read a gzip export goes on to link and write:
 * without this the 1 M run's link and write stages took 0.2-0.3 s longer
 * when that was the main thread (user CPU 8.6-8.75 s, 7.45-7.9 s with it;
 * 2026-12-06). vzeroupper exists only with AVX, and ISA-L uses
 * the wide registers only where AVX is.
 */
static void clear_upper_state(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx"))
        __asm__ volatile("vzeroupper" ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                         "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
#endif
}

/*
 * Inflate into `out` until it is full or the content ends. ISA-L's avail_out
 * is 32-bit, so very large requests are simply served partially.
 */
static ssize_t read_gzip(uf_stream *s, unsigned char *out, size_t cap, uf_error *err)
{
    struct inflate_state *z = s->z;
    if (cap > UINT32_MAX)
        cap = UINT32_MAX;
    z->next_out = out;
    z->avail_out = (uint32_t)cap;
    while (z->avail_out > 0) {
        if (z->avail_in == 0 && !fill_input(s, err))
            return -1;
        if (z->avail_in == 0) {
            if (s->in_member)
                return fail(s, err, UF_ERR_FORMAT, "truncated gzip stream",
                            "the file ends inside a gzip member");
            break; /* clean end after the last member */
        }
        if (!s->in_member) {
            /* A new member must start with the magic; anything else is junk
             * after the data, which we refuse rather than ignore. */
            if (z->next_in[0] != 0x1f)
                return fail(s, err, UF_ERR_FORMAT, "corrupt gzip data",
                            "trailing garbage after the last gzip member");
            if (!fill_input(s, err))
                return -1;
            start_member(z);
            s->in_member = true;
        }
        uint32_t avail_in = z->avail_in, avail_out = z->avail_out;
        int rc = isal_inflate(z);
        clear_upper_state();
        if (rc < 0 || rc == ISAL_NEED_DICT)
            return fail(s, err, UF_ERR_FORMAT, "corrupt gzip data", inflate_error(rc));
        if (z->block_state == ISAL_BLOCK_FINISH)
            s->in_member = false; /* trailer checked; more input may start the next member */
        else if (z->avail_in == avail_in && z->avail_out == avail_out)
            return fail(s, err, UF_ERR_FORMAT, "corrupt gzip data", "the decoder made no progress");
        /* Otherwise it stopped for more input (the loop refills or reports truncation) or a full output. */
    }
    return (ssize_t)(cap - z->avail_out);
}

/*
 * At the end of the content: was the file the same from open to end? Returns
 * 0 (the end) or -1 with a sticky error. Not for pipes and devices, which
 * have no size to compare.
 */
static ssize_t check_unchanged(uf_stream *s, uf_error *err)
{
    s->end_checked = true;
    if (!s->regular)
        return 0;
    struct stat st;
    if (fstat(s->fd, &st) != 0)
        return fail(s, err, UF_ERR_IO, "cannot check the file after reading it", strerror(errno));
    bool same = st.st_size == s->opened_size && s->file_bytes == (uint64_t)s->opened_size &&
                st.st_mtim.tv_sec == s->opened_mtime.tv_sec && st.st_mtim.tv_nsec == s->opened_mtime.tv_nsec;
    if (same)
        return 0;
    char detail[200];
    snprintf(detail, sizeof detail, "%lld bytes when opened, %lld now, %llu read%s; run again once the export is "
             "complete", (long long)s->opened_size, (long long)st.st_size, (unsigned long long)s->file_bytes,
             st.st_size == s->opened_size && s->file_bytes == (uint64_t)s->opened_size ? ", rewritten in place" : "");
    return fail(s, err, UF_ERR_IO, "the file changed while it was being read", detail);
}

ssize_t uf_stream_read(uf_stream *s, void *buf, size_t cap, uf_error *err)
{
    if (s->failed) {
        if (err)
            *err = s->error;
        return -1;
    }
    if (cap == 0)
        return 0;
    ssize_t n = s->gzip ? read_gzip(s, buf, cap, err) : read_plain(s, buf, cap, err);
    if (n == 0 && !s->end_checked)
        return check_unchanged(s, err);
    return n;
}

const char *uf_stream_path(const uf_stream *s)
{
    return s->path;
}

bool uf_stream_is_gzip(const uf_stream *s)
{
    return s->gzip;
}

uint64_t uf_stream_bytes_consumed(const uf_stream *s)
{
    if (s->gzip)
        return s->file_bytes - s->z->avail_in;
    return s->file_bytes - (s->head_len - s->head_pos);
}

void uf_stream_close(uf_stream *s)
{
    if (!s)
        return;
    free(s->z);
    if (s->fd >= 0)
        close(s->fd);
    free(s->input);
    free(s->path);
    free(s);
}
