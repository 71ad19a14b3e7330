/*
 * test_support.h — helpers shared by the end-to-end tests (test_run.c,
 * test_lookup_cli.c, test_run_crash.c). Every test_*.c is its own
 * executable, so everything here is `static` and each test includes it.
 *
 * What is here:
 *  - temporary folders (mkdtemp) and their removal;
 *  - whole-file read/write, copy, gzip read/write (zlib);
 *  - the bundled fixture copied to a temporary folder with its `store:` and
 *    `rejects:` paths rewritten there, so tests never write into the repo;
 *  - running the built `unify` / `unify-fixtures` programs (posix_spawn)
 *    with stdout and stderr captured and the exit status decoded, or in the
 *    background with stderr on a pipe (to watch progress lines);
 *  - shuffling the data rows of an export (header kept, CSV quoting aware);
 *  - one prepared fixture per test program, copied for each test
 *    (#define T_PREPARED_FIXTURE, t_prepared_copy);
 *  - a small JSON validator and number extraction for reports.
 *
 * Helpers assert with Criterion (cr_assert_*) on setup failures, so a test
 * never goes on with a half-built fixture.
 */
#ifndef UF_TEST_SUPPORT_H
#define UF_TEST_SUPPORT_H

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/logging.h>

#include "test_small.h"
#include "unify.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

extern char **environ;

/* Each test uses some of the helpers: the others must not warn. */
#define T_UNUSED __attribute__((unused))

#define T_UNIFY UF_TEST_BINARY_DIR "/unify"
#define T_FIXTURES_GEN UF_TEST_BINARY_DIR "/unify-fixtures"
#define T_SMALL_DIR UF_TEST_SOURCE_DIR "/fixtures/small"

/* The five exports of the multichannel fixture, as unify.yaml maps them. */
static T_UNUSED const char *const t_fixture_files[] = {"crm.csv", "web_accounts.jsonl", "store_loyalty.csv", "tickets.csv.gz",
                                              "app_installs.jsonl"};
#define T_FIXTURE_FILE_COUNT 5

/* ------------------------------------------------------------------ */
/* Strings and time                                                    */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 1, 2))) static T_UNUSED char *t_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && s, "out of memory formatting a string");
    return s;
}

static T_UNUSED double t_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static T_UNUSED void t_sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Occurrences of `needle` in `hay`. */
static T_UNUSED size_t t_count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += len)
        n++;
    return n;
}

/* Lines in a buffer (a last line without '\n' counts). */
static T_UNUSED size_t t_count_lines(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    if (len && s[len - 1] != '\n')
        n++;
    return n;
}

/* xorshift64*: deterministic randomness for shuffles and delays. */
static T_UNUSED uint64_t t_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* ------------------------------------------------------------------ */
/* Files and folders                                                   */
/* ------------------------------------------------------------------ */

/* A new temporary folder /tmp/uf_<tag>_XXXXXX (malloc'd path). */
static T_UNUSED char *t_mkdtemp(const char *tag)
{
    char *path = t_fmt("/tmp/uf_%s_XXXXXX", tag);
    cr_assert_not_null(mkdtemp(path), "mkdtemp: %s", strerror(errno));
    return path;
}

static T_UNUSED int t_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove a folder and everything under it (NULL or missing: nothing). */
static T_UNUSED void t_rmtree(const char *path)
{
    if (path && path[0])
        nftw(path, t_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static T_UNUSED bool t_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The whole file, NUL-terminated (malloc'd); NULL when it cannot be read. */
static T_UNUSED char *t_read_file_opt(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    cr_assert_not_null(buf);
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        buf = realloc(buf, cap + 1);
        cr_assert_not_null(buf);
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static T_UNUSED char *t_read_file(const char *path, size_t *len)
{
    char *s = t_read_file_opt(path, len);
    cr_assert_not_null(s, "cannot read %s: %s", path, strerror(errno));
    return s;
}

static T_UNUSED void t_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len, "short write to %s", path);
    cr_assert_eq(fclose(f), 0, "cannot close %s", path);
}

static T_UNUSED void t_write_text(const char *path, const char *text)
{
    t_write_file(path, text, strlen(text));
}

static T_UNUSED void t_copy_file(const char *from, const char *to)
{
    size_t len;
    char *data = t_read_file(from, &len);
    t_write_file(to, data, len);
    free(data);
}

/* Copy the regular files of folder `from` into folder `to` (not recursive). */
static T_UNUSED void t_copy_dir_files(const char *from, const char *to)
{
    DIR *d = opendir(from);
    cr_assert_not_null(d, "cannot open %s: %s", from, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *src = t_fmt("%s/%s", from, e->d_name);
        struct stat st;
        if (stat(src, &st) == 0 && S_ISREG(st.st_mode)) {
            char *dst = t_fmt("%s/%s", to, e->d_name);
            t_copy_file(src, dst);
            free(dst);
        }
        free(src);
    }
    closedir(d);
}

/* The uncompressed content of a gzip file (malloc'd, NUL-terminated). */
static T_UNUSED char *t_gunzip_file(const char *path, size_t *len)
{
    gzFile gz = gzopen(path, "rb");
    cr_assert_not_null(gz, "cannot open %s", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    cr_assert_not_null(buf);
    for (;;) {
        int got = gzread(gz, buf + n, (unsigned)(cap - n));
        cr_assert(got >= 0, "%s: gzip read error", path);
        if (got == 0)
            break;
        n += (size_t)got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            cr_assert_not_null(buf);
        }
    }
    gzclose(gz);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static T_UNUSED void t_gzip_file(const char *path, const void *data, size_t len)
{
    gzFile gz = gzopen(path, "wb6");
    cr_assert_not_null(gz, "cannot write %s", path);
    cr_assert_eq(gzwrite(gz, data, (unsigned)len), (int)len, "%s: gzip write error", path);
    cr_assert_eq(gzclose(gz), Z_OK, "%s: gzip close error", path);
}

/* A file's content, gunzipped when its name ends in .gz. */
static T_UNUSED char *t_read_export(const char *path, size_t *len)
{
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0)
        return t_gunzip_file(path, len);
    return t_read_file(path, len);
}

static T_UNUSED void t_write_export(const char *path, const char *data, size_t len)
{
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0)
        t_gzip_file(path, data, len);
    else
        t_write_file(path, data, len);
}

/* ------------------------------------------------------------------ */
/* Rows of an export                                                   */
/* ------------------------------------------------------------------ */

/*
 * Split `data` into rows: JSONL and CSV both end a row at '\n', except that
 * in CSV (`csv` true) a '\n' inside double quotes belongs to the field. If
 * the quotes never balance (a deliberately broken row), rows are plain
 * lines instead. Each row keeps its '\n' (one is added to a last row
 * without). rows[i] points into `data`; returns the count, *rows malloc'd.
 */
typedef struct t_row {
    const char *ptr;
    size_t len;
} t_row;

static T_UNUSED size_t t_split_rows(const char *data, size_t len, bool csv, t_row **rows)
{
    for (int pass = 0; pass < 2; pass++) {
        bool quotes = csv && pass == 0;
        size_t cap = 1024, count = 0, start = 0;
        t_row *r = malloc(cap * sizeof *r);
        cr_assert_not_null(r);
        bool in_quotes = false;
        for (size_t i = 0; i < len; i++) {
            if (quotes && data[i] == '"')
                in_quotes = !in_quotes;
            if (data[i] == '\n' && !in_quotes) {
                if (count == cap)
                    r = realloc(r, (cap *= 2) * sizeof *r);
                cr_assert_not_null(r);
                r[count++] = (t_row){data + start, i + 1 - start};
                start = i + 1;
            }
        }
        if (in_quotes) {
            free(r);
            continue; /* unbalanced: fall back to plain lines */
        }
        if (start < len) {
            if (count == cap)
                r = realloc(r, (cap *= 2) * sizeof *r);
            cr_assert_not_null(r);
            r[count++] = (t_row){data + start, len - start};
        }
        *rows = r;
        return count;
    }
    cr_assert_fail("unreachable");
    return 0;
}

/* Append a row to a growing buffer, with a '\n' when it has none. */
typedef struct t_buf {
    char *data;
    size_t len, cap;
} t_buf;

static T_UNUSED void t_buf_add(t_buf *b, const char *p, size_t n)
{
    if (b->len + n + 2 > b->cap) {
        b->cap = (b->len + n + 2) * 2;
        b->data = realloc(b->data, b->cap);
        cr_assert_not_null(b->data);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static T_UNUSED void t_buf_add_row(t_buf *b, t_row r)
{
    t_buf_add(b, r.ptr, r.len);
    if (!r.len || r.ptr[r.len - 1] != '\n')
        t_buf_add(b, "\n", 1);
}

static T_UNUSED bool t_is_csv_name(const char *path)
{
    return strstr(path, ".csv") != NULL;
}

/* Rewrite export `path` (gzip kept) with its data rows shuffled; a CSV header stays first. */
static T_UNUSED void t_shuffle_export(const char *path, uint64_t seed)
{
    size_t len;
    char *data = t_read_export(path, &len);
    bool csv = t_is_csv_name(path);
    t_row *rows;
    size_t n = t_split_rows(data, len, csv, &rows);
    size_t first = csv ? 1 : 0;
    uint64_t st = seed;
    for (size_t i = n; i > first + 1; i--) {
        size_t j = first + (size_t)(t_rand(&st) % (i - first));
        t_row tmp = rows[i - 1];
        rows[i - 1] = rows[j];
        rows[j] = tmp;
    }
    t_buf out = {0};
    for (size_t i = 0; i < n; i++)
        t_buf_add_row(&out, rows[i]);
    t_write_export(path, out.data ? out.data : "", out.len);
    free(out.data);
    free(rows);
    free(data);
}

/*
 * Keep only the data rows of export `path` for which keep(row index among
 * data rows) is true (header kept). Returns the number of rows dropped.
 */
static T_UNUSED size_t t_filter_export(const char *path, bool (*keep)(size_t index, void *ctx), void *ctx)
{
    size_t len;
    char *data = t_read_export(path, &len);
    bool csv = t_is_csv_name(path);
    t_row *rows;
    size_t n = t_split_rows(data, len, csv, &rows);
    size_t first = csv ? 1 : 0, dropped = 0;
    t_buf out = {0};
    for (size_t i = 0; i < n; i++) {
        if (i < first || keep(i - first, ctx))
            t_buf_add_row(&out, rows[i]);
        else
            dropped++;
    }
    t_write_export(path, out.data ? out.data : "", out.len);
    free(out.data);
    free(rows);
    free(data);
    return dropped;
}

/*
 * The fields of one CSV row (RFC 4180 quoting, no trailing newline needed):
 * up to `max` malloc'd, unquoted copies in fields[]; returns the count.
 * A UTF-8 BOM at the start of the row is skipped.
 */
static T_UNUSED size_t t_csv_fields(t_row row, char delim, char **fields, size_t max)
{
    const char *p = row.ptr, *end = row.ptr + row.len;
    if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    size_t n = 0;
    for (;;) {
        t_buf f = {0};
        t_buf_add(&f, "", 0);
        if (p < end && *p == '"') {
            for (p++; p < end; p++) {
                if (*p == '"' && p + 1 < end && p[1] == '"') {
                    t_buf_add(&f, "\"", 1);
                    p++;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    t_buf_add(&f, p, 1);
                }
            }
        }
        while (p < end && *p != delim)
            t_buf_add(&f, p++, 1);
        if (n < max)
            fields[n] = f.data;
        else
            free(f.data);
        n++;
        if (p >= end)
            break;
        p++; /* the delimiter */
    }
    return n < max ? n : max;
}

static T_UNUSED void t_free_fields(char **fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(fields[i]);
}

/* Index of column `name` in a header row's fields, or -1. */
static T_UNUSED int t_column(char **header, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(header[i], name) == 0)
            return (int)i;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Configuration and fixture                                           */
/* ------------------------------------------------------------------ */

/*
 * Rewrite the YAML configuration at `path` in place: the `path:` line of
 * the top-level `store:` block becomes `store_path`, the top-level
 * `rejects:` line `rejects_path`. Everything else stays byte for byte.
 */
static T_UNUSED void t_config_set_paths(const char *path, const char *store_path, const char *rejects_path)
{
    size_t len;
    char *text = t_read_file(path, &len);
    t_buf out = {0};
    bool in_store = false, store_done = false, rejects_done = false;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        bool top = n && !isspace((unsigned char)p[0]) && p[0] != '#';
        if (top)
            in_store = strncmp(p, "store:", 6) == 0;
        const char *q = p;
        while (q < p + n && (*q == ' ' || *q == '\t'))
            q++;
        if (in_store && !top && strncmp(q, "path:", 5) == 0) {
            char *line = t_fmt("%.*spath: %s\n", (int)(q - p), p, store_path);
            t_buf_add(&out, line, strlen(line));
            free(line);
            store_done = true;
        } else if (top && strncmp(p, "rejects:", 8) == 0) {
            char *line = t_fmt("rejects: %s\n", rejects_path);
            t_buf_add(&out, line, strlen(line));
            free(line);
            rejects_done = true;
        } else {
            t_buf_add(&out, p, n);
        }
        p += n;
    }
    cr_assert(store_done, "%s: no `path:` under `store:` to rewrite", path);
    if (!rejects_done) {
        char *line = t_fmt("rejects: %s\n", rejects_path);
        t_buf_add(&out, line, strlen(line));
        free(line);
    }
    t_write_file(path, out.data, out.len);
    free(out.data);
    free(text);
}

/* Replace the first occurrence of `from` in file `path` by `to` (asserting it is there). */
static T_UNUSED void t_file_replace(const char *path, const char *from, const char *to)
{
    size_t len;
    char *text = t_read_file(path, &len);
    char *at = strstr(text, from);
    cr_assert_not_null(at, "%s: '%s' not found", path, from);
    t_buf out = {0};
    t_buf_add(&out, text, (size_t)(at - text));
    t_buf_add(&out, to, strlen(to));
    const char *rest = at + strlen(from);
    t_buf_add(&out, rest, strlen(rest));
    t_write_file(path, out.data, out.len);
    free(out.data);
    free(text);
}

/* ------------------------------------------------------------------ */
/* Running programs                                                    */
/* ------------------------------------------------------------------ */

typedef struct t_proc {
    int status;       /* raw waitpid status */
    int exit_code;    /* -1 when killed by a signal */
    int signal;       /* 0 unless killed by a signal */
    char *out, *err;  /* captured, NUL-terminated */
    size_t out_len, err_len;
    double seconds;
} t_proc;

static T_UNUSED void t_proc_free(t_proc *p)
{
    free(p->out);
    free(p->err);
    memset(p, 0, sizeof *p);
}

static T_UNUSED char *t_fd_contents(int fd, size_t *len)
{
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    cr_assert_not_null(buf);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)got);
        cr_assert(r > 0, "reading captured output: %s", strerror(errno));
        got += (size_t)r;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static T_UNUSED void t_decode_status(t_proc *p, int status)
{
    p->status = status;
    p->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    p->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* Run argv (argv[0] is a path) to completion with stdout/stderr captured. NULL-terminated argv. */
static T_UNUSED t_proc t_run_argv(char *const argv[])
{
    t_proc p;
    memset(&p, 0, sizeof p);
    int out_fd = memfd_create("uf_test_stdout", MFD_CLOEXEC);
    int err_fd = memfd_create("uf_test_stderr", MFD_CLOEXEC);
    cr_assert(out_fd >= 0 && err_fd >= 0, "memfd_create: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    double t0 = t_now();
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot start %s: %s", argv[0], strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
    p.seconds = t_now() - t0;
    t_decode_status(&p, status);
    p.out = t_fd_contents(out_fd, &p.out_len);
    p.err = t_fd_contents(err_fd, &p.err_len);
    close(out_fd);
    close(err_fd);
    return p;
}

/* Run `unify` with the given arguments (NULL-terminated list). */
#define t_unify(...) t_run_argv((char *const[]){(char *)T_UNIFY, __VA_ARGS__, NULL})

/* A run must have succeeded: print what it said otherwise. */
#define t_assert_ok(p, what)                                                                               \
    cr_assert_eq((p).exit_code, 0, "%s: exit %d (signal %d)\nstdout:\n%.4000s\nstderr:\n%.4000s", (what),    \
                 (p).exit_code, (p).signal, (p).out, (p).err)

/* A child running in the background with its stderr on a pipe (stdout to /dev/null). */
typedef struct t_child {
    pid_t pid;
    int err_fd;        /* read end, non-blocking */
    t_buf err;         /* everything read so far */
    size_t scanned;    /* bytes of err already returned as lines */
    bool reaped;
    int status;
} t_child;

static T_UNUSED void t_child_start(t_child *c, char *const argv[])
{
    memset(c, 0, sizeof *c);
    int fds[2];
    cr_assert_eq(pipe2(fds, O_CLOEXEC), 0, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    int rc = posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    cr_assert_eq(rc, 0, "cannot start %s: %s", argv[0], strerror(rc));
    c->err_fd = fds[0];
    fcntl(c->err_fd, F_SETFL, fcntl(c->err_fd, F_GETFL) | O_NONBLOCK);
    t_buf_add(&c->err, "", 0);
}

/* Read what stderr holds now (waiting at most timeout_ms); false at end of file. */
static T_UNUSED bool t_child_pump(t_child *c, int timeout_ms)
{
    if (c->err_fd < 0)
        return false;
    struct pollfd pfd = {c->err_fd, POLLIN, 0};
    int r = poll(&pfd, 1, timeout_ms);
    if (r <= 0)
        return true;
    char buf[4096];
    for (;;) {
        ssize_t n = read(c->err_fd, buf, sizeof buf);
        if (n > 0) {
            t_buf_add(&c->err, buf, (size_t)n);
            continue;
        }
        if (n == 0) {
            close(c->err_fd);
            c->err_fd = -1;
            return false;
        }
        return true; /* EAGAIN */
    }
}

/*
 * Wait until a complete stderr line starting with `prefix` appears (true)
 * or stderr ends / timeout_s passes (false).
 */
static T_UNUSED bool t_child_wait_line(t_child *c, const char *prefix, double timeout_s)
{
    double end = t_now() + timeout_s;
    for (;;) {
        while (c->err.data) {
            char *line = c->err.data + c->scanned;
            char *nl = strchr(line, '\n');
            if (!nl)
                break;
            c->scanned = (size_t)(nl + 1 - c->err.data);
            if (strncmp(line, prefix, strlen(prefix)) == 0)
                return true;
        }
        double left = end - t_now();
        if (left <= 0)
            return false;
        if (!t_child_pump(c, (int)(left * 1000) + 1) && c->err.data && !strchr(c->err.data + c->scanned, '\n'))
            return false;
    }
}

/* Wait for the child to exit (draining stderr); returns the decoded status. */
static T_UNUSED t_proc t_child_wait(t_child *c)
{
    while (t_child_pump(c, 100)) {
    }
    if (!c->reaped) {
        while (waitpid(c->pid, &c->status, 0) < 0)
            cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
        c->reaped = true;
    }
    t_proc p;
    memset(&p, 0, sizeof p);
    t_decode_status(&p, c->status);
    p.err = c->err.data ? c->err.data : strdup("");
    p.err_len = c->err.len;
    p.out = strdup("");
    c->err.data = NULL;
    return p;
}

/* Has the child exited? (non-blocking; reaps it) */
static T_UNUSED bool t_child_exited(t_child *c)
{
    if (c->reaped)
        return true;
    if (waitpid(c->pid, &c->status, WNOHANG) == c->pid)
        c->reaped = true;
    return c->reaped;
}

/* ------------------------------------------------------------------ */
/* The bundled fixture                                                 */
/* ------------------------------------------------------------------ */

/*
 * Copy fixtures/small into `dir` and point its store and rejects file into
 * `dir` (store: DIR/store, rejects: DIR/rejects.txt). If the data files are
 * not in the checkout yet (they are generated), generate an equivalent set
 * with unify-fixtures into `dir` and say so in the log.
 */
static T_UNUSED void t_fixture_small(const char *dir)
{
    t_copy_dir_files(T_SMALL_DIR, dir);
    char *crm = t_fmt("%s/crm.csv", dir);
    char *truth = t_fmt("%s/truth.csv", dir);
    if (!t_exists(crm) || !t_exists(truth)) {
        cr_log_warn("fixtures/small has no data files: generating 2000 customers with unify-fixtures");
        t_proc g = t_run_argv((char *const[]){(char *)T_FIXTURES_GEN, "--customers", "2000", "--seed", "42",
                                              "--out", (char *)dir, NULL});
        t_assert_ok(g, "unify-fixtures");
        t_proc_free(&g);
    }
    for (size_t i = 0; i < T_FIXTURE_FILE_COUNT; i++) {
        char *f = t_fmt("%s/%s", dir, t_fixture_files[i]);
        cr_assert(t_exists(f), "fixture file %s is missing", f);
        free(f);
    }
    free(crm);
    free(truth);
    char *yaml = t_fmt("%s/unify.yaml", dir);
    char *store = t_fmt("%s/store", dir);
    char *rejects = t_fmt("%s/rejects.txt", dir);
    t_config_set_paths(yaml, store, rejects);
    free(yaml);
    free(store);
    free(rejects);
}

/* Generate `customers` customers with unify-fixtures into `dir` and add the small fixture's config. */
static T_UNUSED void t_fixture_generated(const char *dir, unsigned customers, unsigned seed)
{
    char n[32], s[32];
    snprintf(n, sizeof n, "%u", customers);
    snprintf(s, sizeof s, "%u", seed);
    t_proc g = t_run_argv((char *const[]){(char *)T_FIXTURES_GEN, "--customers", n, "--seed", s, "--out",
                                          (char *)dir, NULL});
    t_assert_ok(g, "unify-fixtures");
    t_proc_free(&g);
    char *yaml = t_fmt("%s/unify.yaml", dir);
    t_copy_file(T_SMALL_DIR "/unify.yaml", yaml);
    char *store = t_fmt("%s/store", dir);
    char *rejects = t_fmt("%s/rejects.txt", dir);
    t_config_set_paths(yaml, store, rejects);
    free(yaml);
    free(store);
    free(rejects);
}

/* Copy the store folder `from` (not in use) to `to`: data.mdb; LMDB rebuilds its lock file. */
static T_UNUSED void t_copy_store(const char *from, const char *to)
{
    mkdir(to, 0700);
    char *src = t_fmt("%s/data.mdb", from), *dst = t_fmt("%s/data.mdb", to), *lock = t_fmt("%s/lock.mdb", to);
    t_copy_file(src, dst);
    unlink(lock);
    free(src);
    free(dst);
    free(lock);
}

/* `unify export --members -` of config `yaml` (asserts success; malloc'd). */
static T_UNUSED char *t_export_members(const char *yaml, size_t *len)
{
    t_proc p = t_unify("export", "-c", (char *)yaml, "--members", "-");
    t_assert_ok(p, "unify export --members");
    char *out = p.out;
    if (len)
        *len = p.out_len;
    free(p.err);
    return out;
}

/* The last run id in the store (in-process; the store is closed again). */
static T_UNUSED uint64_t t_last_run_id(const char *store_path)
{
    uf_store *s = NULL;
    uf_error err = {0};
    int rc = uf_store_open(store_path, &s, &err);
    cr_assert_eq(rc, UF_OK, "uf_store_open(%s): %s", store_path, err.message);
    uint64_t run_id = 0;
    char *report = NULL;
    rc = uf_store_last_run(s, &run_id, &report, NULL, &err);
    cr_assert_eq(rc, UF_OK, "uf_store_last_run: %s", err.message);
    free(report);
    uf_store_close(s);
    return run_id;
}

/* ------------------------------------------------------------------ */
/* One prepared fixture per test program                               */
/* ------------------------------------------------------------------ */

/*
 * Tests that all start from the same committed store (test_faults,
 * test_lookup_cli, test_serve) copy it from one folder prepared once per run
 * of the program instead of running `unify run` again in every test: runs are
 * deterministic, so the copy holds what a new run would write, and every test
 * still works on its own copy. Under valgrind one run of the fixture costs
 * ~3 CPU-seconds, the generated fault fixture ~5.
 *
 * A program that defines T_PREPARED_FIXTURE before it includes this file has
 * Criterion's runner create an empty folder before the first test, named to the test processes by
 * UF_TEST_PREPARED, and remove it after the last. The first test to call
 * t_prepared_copy fills it through `prepare` (a failure there fails that test;
 * the next one tries again). Without UF_TEST_PREPARED every test prepares its
 * own folder as before.
 */
#define T_PREPARED_ENV "UF_TEST_PREPARED"

#ifdef T_PREPARED_FIXTURE
ReportHook(PRE_ALL)(struct criterion_test_set *t_set)
{
    (void)t_set;
    char path[] = "/tmp/uf_prepared_XXXXXX";
    if (mkdtemp(path))
        setenv(T_PREPARED_ENV, path, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *t_stats)
{
    (void)t_stats;
    t_rmtree(getenv(T_PREPARED_ENV));
}
#endif

typedef void (*t_prepare_fn)(const char *dir);

/* A t_prepare_fn: the small fixture after one `unify run`, its report in DIR/report.json. */
static T_UNUSED void t_prepare_small_run(const char *d)
{
    t_fixture_small(d);
    char *yaml = t_fmt("%s/unify.yaml", d), *report_path = t_fmt("%s/report.json", d);
    t_proc p = t_unify("run", "-c", yaml, "--quiet", "--report", report_path);
    t_assert_ok(p, "unify run of the small fixture");
    t_proc_free(&p);
    free(report_path);
    free(yaml);
}

/*
 * Fill `dir` as `prepare` would, from the prepared folder: its files, its
 * store (DIR/store, when there is one) and unify.yaml's store and rejects
 * paths pointed into `dir` (DIR/store, DIR/rejects.txt).
 */
static T_UNUSED void t_prepared_copy(const char *dir, t_prepare_fn prepare)
{
    const char *prepared = getenv(T_PREPARED_ENV);
    if (!prepared || !*prepared) {
        prepare(dir);
        return;
    }
    char *fixture = t_fmt("%s/fixture", prepared), *lock = t_fmt("%s/lock", prepared),
         *ready = t_fmt("%s/ready", prepared);
    int fd = open(lock, O_RDWR | O_CREAT, 0600);
    cr_assert_geq(fd, 0, "%s: %s", lock, strerror(errno));
    cr_assert_eq(flock(fd, LOCK_EX), 0, "flock %s: %s", lock, strerror(errno)); /* --jobs=N: one prepares */
    if (!t_exists(ready)) {
        t_rmtree(fixture); /* what an earlier, failed attempt left */
        cr_assert_eq(mkdir(fixture, 0700), 0, "mkdir %s: %s", fixture, strerror(errno));
        prepare(fixture);
        t_write_file(ready, "", 0);
    }
    close(fd);
    t_copy_dir_files(fixture, dir);
    char *from_store = t_fmt("%s/store", fixture), *store = t_fmt("%s/store", dir);
    if (t_exists(from_store))
        t_copy_store(from_store, store);
    char *yaml = t_fmt("%s/unify.yaml", dir), *rejects = t_fmt("%s/rejects.txt", dir);
    t_config_set_paths(yaml, store, rejects);
    free(yaml);
    free(rejects);
    free(from_store);
    free(store);
    free(fixture);
    free(lock);
    free(ready);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

/* A strict RFC 8259 validator (recursive descent); depth-limited. */
static T_UNUSED const char *t_json_value(const char *p, const char *end, int depth);

static T_UNUSED const char *t_json_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static T_UNUSED const char *t_json_string(const char *p, const char *end)
{
    if (p >= end || *p != '"')
        return NULL;
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            if (++p >= end)
                return NULL;
            if (*p == 'u') {
                for (int i = 0; i < 4; i++)
                    if (++p >= end || !isxdigit((unsigned char)*p))
                        return NULL;
            } else if (!strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
    }
    return NULL;
}

static T_UNUSED const char *t_json_number(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p >= end || !isdigit((unsigned char)*p))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (p < end && isdigit((unsigned char)*p))
            p++;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !isdigit((unsigned char)*p))
            return NULL;
        while (p < end && isdigit((unsigned char)*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !isdigit((unsigned char)*p))
            return NULL;
        while (p < end && isdigit((unsigned char)*p))
            p++;
    }
    return p;
}

static T_UNUSED const char *t_json_value(const char *p, const char *end, int depth)
{
    if (depth > 64)
        return NULL;
    p = t_json_ws(p, end);
    if (p >= end)
        return NULL;
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool object = *p == '{';
        p = t_json_ws(p + 1, end);
        if (p < end && *p == close)
            return p + 1;
        for (;;) {
            if (object) {
                p = t_json_string(t_json_ws(p, end), end);
                if (!p)
                    return NULL;
                p = t_json_ws(p, end);
                if (p >= end || *p != ':')
                    return NULL;
                p++;
            }
            p = t_json_value(p, end, depth + 1);
            if (!p)
                return NULL;
            p = t_json_ws(p, end);
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            if (p < end && *p == close)
                return p + 1;
            return NULL;
        }
    }
    if (*p == '"')
        return t_json_string(p, end);
    if (end - p >= 4 && memcmp(p, "true", 4) == 0)
        return p + 4;
    if (end - p >= 5 && memcmp(p, "false", 5) == 0)
        return p + 5;
    if (end - p >= 4 && memcmp(p, "null", 4) == 0)
        return p + 4;
    return t_json_number(p, end);
}

/* True when text[0..len) is exactly one JSON value (surrounding whitespace allowed). */
static T_UNUSED bool t_json_valid(const char *text, size_t len)
{
    const char *end = text + len;
    const char *p = t_json_value(text, end, 0);
    return p && t_json_ws(p, end) == end;
}

/*
 * The number after the first `"key":` that follows the first occurrence of
 * the literal text `anchor` (NULL: from the start). Asserts it is there.
 * E.g. t_json_number_at(report, "\"golden_ids\":", "merged").
 */
static T_UNUSED double t_json_number_at(const char *json, const char *anchor, const char *key)
{
    const char *from = json;
    if (anchor) {
        from = strstr(json, anchor);
        cr_assert_not_null(from, "no '%s' in %.2000s", anchor, json);
    }
    char *k = t_fmt("\"%s\":", key);
    const char *at = strstr(from, k);
    cr_assert_not_null(at, "no \"%s\" (after '%s') in %.2000s", key, anchor ? anchor : "", json);
    at += strlen(k);
    free(k);
    char *end;
    double v = strtod(at, &end);
    cr_assert(end != at, "\"%s\" is not a number: %.100s", key, at);
    return v;
}

static T_UNUSED uint64_t t_json_u64_at(const char *json, const char *anchor, const char *key)
{
    return (uint64_t)t_json_number_at(json, anchor, key);
}

/* The golden id text of a profile JSON ("golden_id":"G..."), copied into out. */
static T_UNUSED void t_profile_golden(const char *json, char out[24])
{
    const char *at = strstr(json, "\"golden_id\":\"");
    cr_assert_not_null(at, "no golden_id in %.500s", json);
    at += strlen("\"golden_id\":\"");
    size_t n = strcspn(at, "\"");
    cr_assert(n > 0 && n < 24, "bad golden_id in %.500s", json);
    memcpy(out, at, n);
    out[n] = '\0';
}

/* ------------------------------------------------------------------ */
/* Members export (source,record_key,golden_id)                        */
/* ------------------------------------------------------------------ */

/* The golden id of (source, key) in a members export, or "" (out has room for 24). */
static T_UNUSED void t_member_golden(const char *export, const char *source, const char *key, char out[24])
{
    char *needle = t_fmt("\n%s,%s,", source, key);
    const char *at = strstr(export, needle);
    out[0] = '\0';
    if (at) {
        at += strlen(needle);
        size_t n = strcspn(at, "\n");
        if (n < 24) {
            memcpy(out, at, n);
            out[n] = '\0';
        }
    }
    free(needle);
}

#endif /* UF_TEST_SUPPORT_H */
