/*
 * fuzz_common.h — what the libFuzzer harnesses share: the fuzz input as a
 * file the engine can open by path (a memfd, so nothing touches the disk
 * and parallel fuzzers never collide), and an abort that names the broken
 * property, so a crash report says what was wrong, not only where.
 *
 * Every harness is built with -fsanitize=fuzzer,address,undefined (see
 * CMakeLists.txt, option UF_FUZZ) and run by fuzz/run.sh.
 */
#ifndef UF_FUZZ_COMMON_H
#define UF_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A property every input must keep; on violation abort so libFuzzer saves the input. */
#define FUZZ_CHECK(cond, ...)                                                                   \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "fuzz property violated at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                       \
            fputc('\n', stderr);                                                                \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

/*
 * The `size` bytes at `data` as a file: returns an fd (close it) and writes
 * "/proc/self/fd/N" into path. The memfd is created once per harness and
 * rewritten for each input.
 */
static int fuzz_memfd = -1;

static inline void fuzz_as_file(const uint8_t *data, size_t size, char path[64])
{
    if (fuzz_memfd < 0) {
        fuzz_memfd = memfd_create("fuzz-input", 0);
        if (fuzz_memfd < 0) {
            perror("memfd_create");
            abort();
        }
    }
    if (ftruncate(fuzz_memfd, 0) != 0) {
        perror("ftruncate");
        abort();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fuzz_memfd, data + done, size - done, (off_t)done);
        if (n <= 0) {
            perror("pwrite");
            abort();
        }
        done += (size_t)n;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fuzz_memfd);
}

/* A growing text buffer for comparing two readings of one input. */
typedef struct fuzz_text {
    char *data;
    size_t len, cap;
} fuzz_text;

static inline void fuzz_text_add(fuzz_text *t, const void *bytes, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->data, cap);
        if (!grown)
            abort();
        t->data = grown;
        t->cap = cap;
    }
    if (n)
        memcpy(t->data + t->len, bytes, n);
    t->len += n;
    t->data[t->len] = '\0';
}

#endif /* UF_FUZZ_COMMON_H */
