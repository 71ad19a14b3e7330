/*
 * bench_page_faults.c — what a first touch of fresh anonymous memory costs
 * on this machine, the floor under every array a run allocates.
 *
 * A 1 M-customer run takes ~460 000 minor page faults (most of its system
 * CPU): on a virtual machine a fault can cost several times what it costs
 * on bare metal, and that decides whether reusing memory, prefaulting or
 * huge pages are worth their complexity. Three ways of making 512 MiB
 * resident, three rounds each:
 *   touch     one write per 4 KiB page (what the engine's arrays do);
 *   populate  madvise(MADV_POPULATE_WRITE): the kernel allocates every page
 *             in one call, no fault per page (Linux >= 5.14);
 *   huge      madvise(MADV_HUGEPAGE) first, then touch: one fault per
 *             2 MiB when the kernel finds huge pages.
 * Each round also times a second pass over the now resident pages.
 *
 * usage: bench_page_faults [MiB]   (default 512)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void touch(volatile char *p, size_t bytes, char value)
{
    for (size_t i = 0; i < bytes; i += 4096)
        p[i] = value;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
    size_t bytes = mib << 20, pages = bytes / 4096;
    static const char *const modes[] = {"touch", "populate", "huge"};
    for (int mode = 0; mode < 3; mode++) {
        for (int round = 0; round < 3; round++) {
            char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) {
                perror("mmap");
                return 1;
            }
            double t0 = now();
            if (mode == 1 && madvise(p, bytes, MADV_POPULATE_WRITE) != 0) {
                perror("madvise(MADV_POPULATE_WRITE)");
                munmap(p, bytes);
                break;
            }
            if (mode == 2)
                (void)madvise(p, bytes, MADV_HUGEPAGE); /* advisory */
            if (mode != 1)
                touch(p, bytes, 1);
            double t1 = now();
            touch(p, bytes, 2);
            double t2 = now();
            printf("%-8s %zu MiB: first %.3f s (%.2f us per 4 KiB page), resident again %.3f s\n", modes[mode], mib,
                   t1 - t0, (t1 - t0) / (double)pages * 1e6, t2 - t1);
            munmap(p, bytes);
        }
    }
    return 0;
}
