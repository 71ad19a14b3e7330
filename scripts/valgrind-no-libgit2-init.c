/*
 * valgrind-no-libgit2-init.c — preloaded (LD_PRELOAD) by scripts/valgrind-tests.sh only.
 *
 * Criterion 2.4 calls git_libgit2_init() in criterion_initialize(), that is in
 * every test process: the runner and each worker it execs (one per test).
 * libgit2 is there only to print diffs for the failures of Criterion's newer
 * assertion API (cr_assert(eq(str, ...))), which this suite does not use; its
 * init (Debian's libgit2 is built with mbedTLS) parses the system CA bundle
 * and seeds a DRBG: ~0.33 CPU-seconds per process under memcheck, ~320
 * processes per pass. Nothing of unify runs in it.
 *
 * With this library preloaded the init and shutdown do nothing. A new-API
 * assertion that failed under valgrind would then have no libgit2 to diff
 * with: keep to cr_assert_eq / cr_assert_str_eq and friends (the release and
 * sanitizer passes do not preload this).
 */
int git_libgit2_init(void);
int git_libgit2_shutdown(void);

int git_libgit2_init(void)
{
    return 1; /* the number of initialisations, as libgit2 counts them */
}

int git_libgit2_shutdown(void)
{
    return 0;
}
