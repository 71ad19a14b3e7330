/*
 * cpus.c — `--cpus LIST` for `unify run` and `unify serve`: keep the process
 * (and every thread it starts afterwards) on some of the machine's cores.
 *
 * Why it is an option and not a job for taskset: on a 2-core host that also
 * serves lookups, the run's threads on the server's core cost the agents
 * milliseconds of p99 even under SCHED_IDLE (README, Load), and the fix that
 * holds is giving the run a core of its own. Operators should not need to
 * know taskset's syntax or wrap a cron line in it to get that.
 *
 * LIST is taskset's list syntax: CPU numbers and ranges joined by commas
 * ("1", "0-1", "0,2-3"). Every CPU named must be one this process may
 * already use, so a typo fails loudly instead of pinning to nothing.
 */
#include "cli.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse one CPU number at *p and advance past it; -1 (*p unmoved) when there is none or it is too large. */
static long take_cpu(const char **p)
{
    if (**p < '0' || **p > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(*p, &end, 10);
    if (errno || v >= CPU_SETSIZE)
        return -1;
    *p = end;
    return (long)v;
}

/* `set` = the CPUs in `list`; 0, or -1 with the reason in `why`. */
static int parse_cpu_list(const char *list, cpu_set_t *set, char *why, size_t why_size)
{
    CPU_ZERO(set);
    const char *p = list;
    for (;;) {
        long first = take_cpu(&p), last = first;
        if (first >= 0 && *p == '-') {
            p++;
            last = take_cpu(&p);
        }
        if (first < 0 || last < 0) {
            snprintf(why, why_size, "expected a CPU number (0 to %d) %s%s%s", CPU_SETSIZE - 1,
                     *p ? "at '" : "at the end", p, *p ? "'" : "");
            return -1;
        }
        if (last < first) {
            snprintf(why, why_size, "range %ld-%ld runs backwards", first, last);
            return -1;
        }
        for (long cpu = first; cpu <= last; cpu++)
            CPU_SET((int)cpu, set);
        if (*p == '\0')
            return 0;
        if (*p != ',') {
            snprintf(why, why_size, "expected ',' or the end of the list at '%s'", p);
            return -1;
        }
        p++;
    }
}

/* "0-1,3" for `set`, into buf. */
static void format_cpu_list(const cpu_set_t *set, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int cpu = 0; cpu < CPU_SETSIZE && used < size; cpu++) {
        if (!CPU_ISSET(cpu, set))
            continue;
        int last = cpu;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
            last++;
        int n = last == cpu ? snprintf(buf + used, size - used, "%s%d", used ? "," : "", cpu)
                            : snprintf(buf + used, size - used, "%s%d-%d", used ? "," : "", cpu, last);
        used += n > 0 ? (size_t)n : 0;
        cpu = last;
    }
}

int uf_cli_pin_cpus(const char *command, const char *list, FILE *log)
{
    cpu_set_t wanted, allowed;
    char why[160];
    if (parse_cpu_list(list, &wanted, why, sizeof why) != 0) {
        fprintf(stderr, "unify %s: --cpus '%s': %s\n", command, list, why);
        return UF_EXIT_USAGE;
    }
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
        fprintf(stderr, "unify %s: --cpus: cannot read the CPUs this process may use: %s\n", command,
                strerror(errno));
        return UF_EXIT_ERROR;
    }
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &wanted) && !CPU_ISSET(cpu, &allowed)) {
            char have[256];
            format_cpu_list(&allowed, have, sizeof have);
            fprintf(stderr, "unify %s: --cpus '%s': CPU %d is not available (this process may use %s)\n",
                    command, list, cpu, have);
            return UF_EXIT_USAGE;
        }
    }
    if (sched_setaffinity(0, sizeof wanted, &wanted) != 0) {
        fprintf(stderr, "unify %s: --cpus '%s': %s\n", command, list, strerror(errno));
        return UF_EXIT_ERROR;
    }
    if (log) {
        char on[256];
        format_cpu_list(&wanted, on, sizeof on);
        fprintf(log, "unify %s: on CPU%s %s\n", command, CPU_COUNT(&wanted) > 1 ? "s" : "", on);
    }
    return UF_EXIT_OK;
}
