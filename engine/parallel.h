/*
 * parallel.h — run the shares of a stage on threads, and always finish.
 *
 * The stages split their work into shares (a contiguous range each, or one
 * shared queue that every worker pulls from) and run one function on each.
 * A thread that cannot be started (pthread_create fails: out of threads or
 * memory) must neither lose its share nor fail the run: the calling thread
 * runs that share itself, so the work is always done, only slower.
 *
 * One job beside the caller's own work (run.c: the join with the previous
 * generation during the link stage, the links grouped during the id
 * assignment) is a uf_task, with the same rule: no thread, then the caller
 * does the job.
 *
 * Sites with another shape keep their own pthread calls: link.c's
 * limited-key index, two different functions side by side (run_ingest.c's
 * layout), long-lived workers fed through a queue (run_write.c,
 * store_write.c's flusher, serve_http.c's watchdog).
 */
#ifndef UF_PARALLEL_H
#define UF_PARALLEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* At most this many shares get a thread of their own; the rest run on the caller. */
#define UF_PARALLEL_MAX 64

/*
 * Run fn(args[t]) for every t < n and return when all have returned.
 * args[0] runs on the calling thread, every other share on a thread of its
 * own, started before args[0] runs. A share whose thread cannot be started
 * (or t >= UF_PARALLEL_MAX) runs on the calling thread after args[0], in
 * order of t — so a share must not wait for another one to start. fn's
 * return value is ignored. n == 0 does nothing.
 */
void uf_parallel_run(void *(*fn)(void *), void *const *args, size_t n);

/* One job on a thread of its own, waited for later (uf_task_finish). */
typedef struct uf_task {
    pthread_t thread;
    bool started;
} uf_task;

/*
 * Start fn(arg) on a thread of its own; when none can be started, run it
 * here and now, so it is done by the time uf_task_finish returns either way.
 */
void uf_task_start(uf_task *task, void *(*fn)(void *), void *arg);

/* Wait for the job (nothing to do when it ran inline, or for a zeroed task never started). */
void uf_task_finish(uf_task *task);

#endif /* UF_PARALLEL_H */
