/*
 * test_parallel.c — uf_parallel_run: every share runs exactly once, args[0]
 * on the calling thread, and a share whose thread cannot be started (thread
 * creation made to fail, or beyond UF_PARALLEL_MAX) runs on the caller, in
 * order, so the work is always done. uf_task: the job runs exactly once,
 * on another thread, or on the caller when no thread can start.
 */
#include "parallel.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

enum { SHARES_MAX = UF_PARALLEL_MAX + 16 };

typedef struct share {
    atomic_int runs;
    pthread_t ran_on;
    int ran_as;            /* position in the order of execution */
    atomic_int *sequence;  /* shared counter that hands out ran_as */
} share;

static void *run_share(void *arg)
{
    share *s = arg;
    atomic_fetch_add(&s->runs, 1);
    s->ran_on = pthread_self();
    s->ran_as = atomic_fetch_add(s->sequence, 1);
    return NULL;
}

/* Run n shares; fill shares[] and return how many ran on the calling thread. */
static size_t run_shares(share *shares, size_t n, atomic_int *sequence)
{
    void *args[SHARES_MAX];
    atomic_init(sequence, 0);
    for (size_t t = 0; t < n; t++) {
        atomic_init(&shares[t].runs, 0);
        shares[t].ran_as = -1;
        shares[t].sequence = sequence;
        args[t] = &shares[t];
    }
    uf_parallel_run(run_share, args, n);
    size_t on_caller = 0;
    for (size_t t = 0; t < n; t++) {
        cr_assert_eq(atomic_load(&shares[t].runs), 1, "share %zu of %zu ran %d times", t, n,
                     atomic_load(&shares[t].runs));
        if (pthread_equal(shares[t].ran_on, pthread_self()))
            on_caller++;
    }
    return on_caller;
}

Test(parallel, every_share_runs_once_the_first_on_the_caller)
{
    static share shares[SHARES_MAX];
    atomic_int sequence;
    for (size_t n = 1; n <= 5; n++) {
        run_shares(shares, n, &sequence);
        cr_assert(pthread_equal(shares[0].ran_on, pthread_self()), "share 0 of %zu not on the caller", n);
    }
}

Test(parallel, no_shares_runs_nothing)
{
    uf_parallel_run(NULL, NULL, 0); /* fn is never called: NULL would crash */
}

Test(parallel, shares_beyond_the_cap_run_on_the_caller)
{
    static share shares[SHARES_MAX];
    atomic_int sequence;
    size_t on_caller = run_shares(shares, SHARES_MAX, &sequence);
    for (size_t t = UF_PARALLEL_MAX; t < SHARES_MAX; t++)
        cr_assert(pthread_equal(shares[t].ran_on, pthread_self()), "share %zu beyond the cap not on the caller", t);
    cr_assert_geq(on_caller, SHARES_MAX - UF_PARALLEL_MAX + 1);
}

static void *noop(void *arg)
{
    return arg;
}

/*
 * Make every later pthread_create fail: a default stack larger than the
 * address space (each test has its own process, so nothing else sees the
 * setting). Skips the test where threads still start.
 */
static void make_thread_creation_fail(void)
{
    pthread_attr_t attr;
    cr_assert_eq(pthread_attr_init(&attr), 0);
    size_t huge = (SIZE_MAX / 2) & ~(size_t)0xFFFFF;
    cr_assert_eq(pthread_attr_setstacksize(&attr, huge), 0);
    cr_assert_eq(pthread_setattr_default_np(&attr), 0);
    pthread_attr_destroy(&attr);
    pthread_t probe;
    if (pthread_create(&probe, NULL, noop, NULL) == 0) {
        pthread_join(probe, NULL);
        cr_skip_test("threads still start with a %zu-byte default stack", huge);
    }
}

Test(parallel, shares_whose_thread_cannot_start_run_on_the_caller_in_order)
{
    make_thread_creation_fail();

    static share shares[SHARES_MAX];
    atomic_int sequence;
    size_t n = 6;
    cr_assert_eq(run_shares(shares, n, &sequence), n, "every share on the caller");
    for (size_t t = 0; t < n; t++)
        cr_assert_eq(shares[t].ran_as, (int)t, "share %zu ran as number %d", t, shares[t].ran_as);
}

/* ---- uf_task --------------------------------------------------------- */

/* Start `job` (a share) as a task; the sequence counter must outlive it. */
static void start_job(uf_task *task, share *job, atomic_int *sequence)
{
    atomic_init(sequence, 0);
    *job = (share){.ran_as = -1, .sequence = sequence};
    atomic_init(&job->runs, 0);
    uf_task_start(task, run_share, job);
}

Test(parallel, a_task_runs_once_on_a_thread_of_its_own)
{
    atomic_int sequence;
    share job;
    uf_task task;
    start_job(&task, &job, &sequence);
    uf_task_finish(&task);
    cr_assert_eq(atomic_load(&job.runs), 1);
    cr_assert(!pthread_equal(job.ran_on, pthread_self()), "the job ran on the caller");
    uf_task_finish(&task); /* finishing twice waits for nothing */
    uf_task never = {0};
    uf_task_finish(&never); /* a zeroed task never started */
}

Test(parallel, a_task_whose_thread_cannot_start_runs_at_once_on_the_caller)
{
    make_thread_creation_fail();
    atomic_int sequence;
    share job;
    uf_task task;
    start_job(&task, &job, &sequence);
    cr_assert_eq(atomic_load(&job.runs), 1, "done before uf_task_start returned");
    cr_assert(pthread_equal(job.ran_on, pthread_self()));
    uf_task_finish(&task);
    cr_assert_eq(atomic_load(&job.runs), 1);
}
