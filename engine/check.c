/*
 * check.c — `unify check`: validate the configuration and dry-read every
 * source without touching the store.
 *
 * It runs exactly the ingest path of a real run (same readers, normalizers,
 * blocklist and rejects file), so what check reports is what a run will see.
 * Unlike a run it does not stop at the first bad file: it reports every
 * source, then fails if any file could not be read, so one pass shows every
 * problem.
 */
#include "ingest.h"

#include <inttypes.h>
#include <stdlib.h>

#define CHECK_SAMPLES 3

typedef struct sample_sink {
    const uf_config *config;
    FILE *out;
    int printed;
} sample_sink;

static int print_sample(void *ctx, const uf_ingest_record *rec, uf_error *err)
{
    sample_sink *s = ctx;
    if (s->printed >= CHECK_SAMPLES)
        return UF_OK;
    s->printed++;
    uf_record r = {.blob = rec->blob, .blob_len = (uint32_t)rec->blob_len};
    uf_slice key = uf_record_key(&r);
    fprintf(s->out, "    %.*s:", (int)key.len, key.ptr);
    uf_attr_cursor cur;
    uf_attr_view a;
    uf_attr_cursor_init(&cur, &r);
    while (uf_attr_next(&cur, &a))
        fprintf(s->out, " %s=%.*s", s->config->kinds[a.kind].name, (int)a.value.len, a.value.ptr);
    fputc('\n', s->out);
    return UF_OK;
}

static void print_counts(FILE *out, const char *label, const uf_config *config, const uint64_t *counts,
                         bool identifiers_only, bool attributes_only)
{
    bool any = false;
    for (size_t k = 0; k < config->kind_count; k++) {
        if (!counts[k])
            continue;
        if ((identifiers_only && !config->kinds[k].is_identifier) ||
            (attributes_only && config->kinds[k].is_identifier))
            continue;
        fprintf(out, "%s %s %" PRIu64, any ? "," : label, config->kinds[k].name, counts[k]);
        any = true;
    }
    if (any)
        fputc('\n', out);
}

static void print_source(FILE *out, const uf_config *config, const uf_source_stats *st)
{
    uint64_t rejected = uf_source_stats_rejected_total(st);
    fprintf(out, "  rows read: %" PRIu64 ", records: %" PRIu64 ", rejected: %" PRIu64, st->rows_read,
            st->records, rejected);
    if (rejected) {
        fputs(" (", out);
        bool first = true;
        for (int r = 1; r < UF_REJECT_REASON_COUNT; r++) {
            if (st->rejected[r]) {
                fprintf(out, "%s%s %" PRIu64, first ? "" : ", ", uf_reject_reason_name((uf_reject_reason)r),
                        st->rejected[r]);
                first = false;
            }
        }
        fputc(')', out);
    }
    fputc('\n', out);
    print_counts(out, "  identifiers:", config, st->values, true, false);
    print_counts(out, "  attributes:", config, st->values, false, true);
    print_counts(out, "  invalid values:", config, st->invalid, false, false);
    print_counts(out, "  junk values:", config, st->junk, false, false);
    if (st->bad_timestamps)
        fprintf(out, "  unreadable updated_at: %" PRIu64 "\n", st->bad_timestamps);
}

int uf_check(const uf_config *config, FILE *out, uf_error *err)
{
    uf_rejects rejects;
    int rc = uf_rejects_open(&rejects, config->rejects_path, err);
    if (rc != UF_OK)
        return rc;
    int first_error = UF_OK;
    uf_error file_err;
    fprintf(out, "configuration %s: ok (%zu sources, %zu attribute kinds)\n", config->path,
            config->source_count, config->kind_count);
    for (size_t s = 0; s < config->source_count; s++) {
        const uf_source_config *src = &config->sources[s];
        uf_source_stats stats;
        memset(&stats, 0, sizeof stats);
        fprintf(out, "source %s (%s, %s, %zu file%s)\n", src->name, src->pattern,
                src->format == UF_FORMAT_CSV ? "csv" : "jsonl", src->path_count, src->path_count == 1 ? "" : "s");
        if (src->path_count == 0) {
            fprintf(out, "  ERROR: %s: no file matches\n", src->pattern);
            if (first_error == UF_OK)
                first_error = uf_error_set(err, UF_ERR_IO, "%s: no file matches (source '%s')", src->pattern,
                                           src->name);
            continue;
        }
        sample_sink sink = {config, out, 0};
        fputs("  samples:\n", out);
        for (size_t f = 0; f < src->path_count; f++) {
            uf_error_clear(&file_err);
            int frc = uf_ingest_file(config, s, f, &rejects, &stats, print_sample, &sink, &file_err);
            if (frc != UF_OK) {
                fprintf(out, "  ERROR: %s\n", file_err.message);
                if (first_error == UF_OK)
                    first_error = uf_error_set(err, frc, "%s", file_err.message);
            }
        }
        print_source(out, config, &stats);
    }
    if (rejects.written && config->rejects_path)
        fprintf(out, "%" PRIu64 " rejected rows listed in %s\n", rejects.written, config->rejects_path);
    rc = uf_rejects_close(&rejects, err);
    return first_error != UF_OK ? first_error : rc;
}
