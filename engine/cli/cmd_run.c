/*
 * cmd_run.c — `unify run -c FILE [--report OUT.json] [--quiet] [--background]
 * [--cpus LIST]`:
 * the nightly job. The report goes to stderr (with per-stage progress when
 * stderr is a terminal) and, as JSON, to --report and the store's run log.
 */
#include "cli.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ioprio_set(2) has no glibc wrapper; values from linux/ioprio.h. */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_BE 2
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_LOWEST_BE ((IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | 7)

/*
 * --background: give the cores to everything else first. On a host that
 * also runs `unify serve`, a run at normal priority takes both cores for
 * seconds and an agent's lookup waits for a time slice (p99 2.5-5.6 ms
 * instead of < 1 ms); under SCHED_IDLE the scheduler runs the run's threads
 * only when no other thread wants the core, and preempts them at once when
 * a lookup arrives. Every thread the run starts inherits the policy. I/O
 * gets the lowest best-effort priority (not the idle class, which could
 * starve the commit's fsync behind any other I/O). No privileges needed.
 * Returns 0, or -1 with errno when the scheduling policy cannot be set.
 */
static int enter_background(FILE *log)
{
    struct sched_param param = {.sched_priority = 0};
    if (sched_setscheduler(0, SCHED_IDLE, &param) != 0)
        return -1;
    bool io = syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_LOWEST_BE) == 0;
    if (log)
        fprintf(log, "unify run: in the background (scheduling policy %s%s)\n",
                sched_getscheduler(0) == SCHED_IDLE ? "SCHED_IDLE" : "unchanged",
                io ? ", lowest best-effort I/O priority" : "");
    return 0;
}

int uf_cmd_run(int argc, char **argv)
{
    const char *config_path = NULL;
    bool background = false;
    const char *cpus = NULL;
    uf_run_options options = {.log = stderr, .progress = isatty(STDERR_FILENO)};
    for (int i = 1; i < argc; i++) {
        int took = uf_cli_take_config(argc, argv, &i, &config_path);
        if (took < 0)
            return UF_EXIT_USAGE;
        if (took)
            continue;
        if (strcmp(argv[i], "--report") == 0 && i + 1 < argc) {
            options.report_path = argv[++i];
        } else if (strcmp(argv[i], "--quiet") == 0) {
            options.log = NULL;
        } else if (strcmp(argv[i], "--progress") == 0) {
            options.progress = 1;
        } else if (strcmp(argv[i], "--background") == 0) {
            background = true;
        } else if (strcmp(argv[i], "--cpus") == 0) {
            if (i + 1 >= argc) {
                fputs("unify run: --cpus needs a list of CPUs (e.g. 1 or 0-1)\n", stderr);
                return UF_EXIT_USAGE;
            }
            cpus = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            puts("usage: unify run -c CONFIG [--report FILE] [--quiet] [--progress] [--background] [--cpus LIST]\n\n"
                 "Read every source, link and cluster the records and write one golden record\n"
                 "per customer into the store, in one transaction.\n"
                 "  --report FILE  also write the run report as JSON to FILE\n"
                 "  --quiet        print nothing unless the run fails\n"
                 "  --progress     print a line per stage even when stderr is not a terminal\n"
                 "  --background   use the cores only when nothing else wants them (SCHED_IDLE):\n"
                 "                 for hosts that also serve lookups (`unify serve`)\n"
                 "  --cpus LIST    run only on these CPUs (taskset syntax: 1, 0-1, 0,2-3), e.g. to\n"
                 "                 leave a core to `unify serve`");
            return UF_EXIT_OK;
        } else {
            fprintf(stderr, "unify run: unknown option '%s'\n", argv[i]);
            return UF_EXIT_USAGE;
        }
    }
    if (cpus) {
        int pinned = uf_cli_pin_cpus("run", cpus, options.log);
        if (pinned != UF_EXIT_OK)
            return pinned;
    }
    if (background && enter_background(options.log) != 0) {
        fprintf(stderr, "unify run: --background: cannot set the scheduling policy SCHED_IDLE: %s\n",
                strerror(errno));
        return UF_EXIT_ERROR;
    }
    uf_config *config = NULL;
    int rc = uf_cli_load_config(config_path, &config);
    if (rc != UF_EXIT_OK)
        return rc;
    uf_error err = {0};
    uf_run_summary summary;
    rc = uf_run(config, &options, &summary, &err) == UF_OK ? UF_EXIT_OK : uf_cli_fail(&err);
    uf_config_free(config);
    return rc;
}
