/*
 * test_small.h — UF_TEST_SMALL=1: the valgrind pass (scripts/valgrind-tests.sh).
 *
 * Under valgrind every program runs 20-50 times slower, every `unify` child
 * too, so tests that generate big fixtures, repeat kills or crunch big inputs
 * use smaller ones there: the same property, checked on less data or fewer
 * rounds. The release and sanitizer passes run the full versions.
 */
#ifndef UF_TEST_SMALL_H
#define UF_TEST_SMALL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool t_small(void)
{
    const char *s = getenv("UF_TEST_SMALL");
    return s && *s && strcmp(s, "0") != 0;
}

/* `full` normally, `small` under UF_TEST_SMALL=1. */
#define T_SMALL_OR(full, small) (t_small() ? (small) : (full))

#endif
