/*
 * parallel.c — see parallel.h.
 *
 * The threads are started and joined on every call, as every site did
 * before this helper, rather than kept in a pool: a stage runs a few
 * parallel sections, each far longer than starting a thread.
 */
#include "parallel.h"

void uf_parallel_run(void *(*fn)(void *), void *const *args, size_t n)
{
    if (n == 0)
        return;
    pthread_t tids[UF_PARALLEL_MAX];
    bool started[UF_PARALLEL_MAX] = {false};
    size_t threaded = n < UF_PARALLEL_MAX ? n : UF_PARALLEL_MAX;
    for (size_t t = 1; t < threaded; t++)
        started[t] = pthread_create(&tids[t], NULL, fn, args[t]) == 0;
    fn(args[0]);
    for (size_t t = 1; t < n; t++) {
        if (t < threaded && started[t])
            pthread_join(tids[t], NULL);
        else
            fn(args[t]); /* no thread of its own: do its share here */
    }
}

void uf_task_start(uf_task *task, void *(*fn)(void *), void *arg)
{
    task->started = pthread_create(&task->thread, NULL, fn, arg) == 0;
    if (!task->started)
        fn(arg); /* no thread of its own: do the job here */
}

void uf_task_finish(uf_task *task)
{
    if (task->started)
        pthread_join(task->thread, NULL);
    task->started = false;
}
