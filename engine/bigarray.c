/*
 * bigarray.c — memory for the big arrays that are read at random.
 */
#include "bigarray.h"

#include <stdlib.h>
#include <sys/mman.h>

/*
 * Arrays of 2 MiB or more are mapped directly rather than taken from
 * malloc, which may keep freed blocks: freeing them here returns the memory
 * at once, and the end of linking is the memory peak of a run.
 *
 * They used to ask for transparent huge pages (madvise(MADV_HUGEPAGE)): a
 * dependent random read over 256 MB measured ~330 ns with 4 KiB pages and
 * ~200 ns with 2 MiB pages on this VM (each TLB miss is a nested page walk).
 * But making a huge page resident here costs anything from 0.5 to 34 µs per
 * 4 KiB of it (bench/bench_page_faults: the first huge-page round of a
 * process took 0.04-4.5 s for 256-512 MiB, later rounds 0.04-0.08 s; plain
 * 4 KiB pages a steady 1.4-1.5 µs each), and the link stage, where these
 * arrays live, showed it: at 1 M customers, six runs alternated with and
 * without the advice took 1.21-1.94 s (mean 1.65) with it and 1.28-1.42 s
 * (mean 1.33) without, user CPU within 0.2 s of each other (2026-12-06).
 * On a machine where huge pages are cheap to get, the advice would win back
 * the faster random reads; here predictability wins.
 */
#define DIRECT_MAP_BYTES ((size_t)2 << 20)
#define PAGE_BYTES ((size_t)4096)

static size_t mapped_bytes(size_t bytes)
{
    return (bytes + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1);
}

void *uf_alloc_random_access(size_t bytes)
{
    if (bytes < DIRECT_MAP_BYTES)
        return aligned_alloc(64, bytes < 64 ? 64 : (bytes + 63) & ~(size_t)63);
    void *p = mmap(NULL, mapped_bytes(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p; /* page-aligned, so 64-byte aligned */
}

/* Free what uf_alloc_random_access(bytes) returned (NULL allowed). */
void uf_free_random_access(void *p, size_t bytes)
{
    if (!p)
        return;
    if (bytes < DIRECT_MAP_BYTES)
        free(p);
    else
        munmap(p, mapped_bytes(bytes));
}
