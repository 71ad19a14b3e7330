/*
 * hugemem.c — memory for the big arrays that are read at random.
 */
#include "hugemem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/*
 * Arrays read at random (one entry per record) get transparent huge pages
 * when the system allows it: here (a VM, THP on madvise) a dependent random
 * read over 256 MB measured ~330 ns with 4 KB pages and ~200 ns with 2 MB
 * pages, because each TLB miss is a nested page walk. Big arrays are mapped
 * directly (2 MB aligned) so that freeing them returns the memory to the
 * system at once — malloc may keep freed blocks, and the end of linking is
 * the memory peak of a run. madvise is advisory: if it fails the memory is
 * simply ordinary.
 */
#define HUGE_PAGE_BYTES ((size_t)2 << 20)

void *uf_alloc_random_access(size_t bytes)
{
    if (bytes < HUGE_PAGE_BYTES)
        return aligned_alloc(64, bytes < 64 ? 64 : (bytes + 63) & ~(size_t)63);
    size_t rounded = (bytes + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
    size_t span = rounded + HUGE_PAGE_BYTES;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* Keep the 2 MB-aligned middle, unmap the ends. */
    size_t head = (HUGE_PAGE_BYTES - (uintptr_t)p % HUGE_PAGE_BYTES) % HUGE_PAGE_BYTES;
    if (head)
        munmap(p, head);
    if (span - head > rounded)
        munmap(p + head + rounded, span - head - rounded);
#ifdef MADV_HUGEPAGE
    madvise(p + head, rounded, MADV_HUGEPAGE);
#endif
    return p + head;
}

/* Free what uf_alloc_random_access(bytes) returned (NULL allowed). */
void uf_free_random_access(void *p, size_t bytes)
{
    if (!p)
        return;
    if (bytes < HUGE_PAGE_BYTES)
        free(p);
    else
        munmap(p, (bytes + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1));
}
