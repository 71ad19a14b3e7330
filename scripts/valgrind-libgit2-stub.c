/*
 * valgrind-libgit2-stub.c — a stand-in for libgit2, built and put first on
 * LD_LIBRARY_PATH by scripts/valgrind-tests.sh only (under the soname that
 * libcriterion needs, e.g. libgit2.so.1.5).
 *
 * Criterion 2.4 calls git_libgit2_init() in criterion_initialize(), that is in
 * every test process: the runner and each worker it execs (one per test).
 * libgit2 is there only to print diffs for failures of Criterion's newer
 * assertion API (cr_assert(eq(str, ...))), which this suite does not use.
 * Under memcheck it is costly: Debian's libgit2 pulls in mbedTLS, libssh2,
 * OpenSSL's libcrypto and Kerberos (thousands of relocations for the dynamic
 * linker) and its init parses the system CA bundle: ~0.45 CPU-seconds per
 * test process, ~320 test processes per pass. No code of unify runs in it.
 *
 * The stub answers the three functions libcriterion imports. A new-API
 * assertion that failed under valgrind would print no diff (git_diff_buffers
 * fails): keep to cr_assert_eq / cr_assert_str_eq and friends. The release and
 * sanitizer passes use the real libgit2.
 */
int git_libgit2_init(void);
int git_libgit2_shutdown(void);
int git_diff_buffers(void);

int git_libgit2_init(void)
{
    return 1; /* the number of initialisations, as libgit2 counts them */
}

int git_libgit2_shutdown(void)
{
    return 0;
}

int git_diff_buffers(void)
{
    return -1; /* GIT_ERROR: no diff */
}
