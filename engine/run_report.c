/*
 * run_report.c — what a run did, as JSON and as text (see run_report.h).
 *
 * The largest clusters and the size histogram are computed here from the
 * clustering; everything else is a counter some stage already kept.
 */
#include "run_report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sys/resource.h>

#define LARGEST_LISTED 5

uint64_t uf_peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

typedef struct cluster_facts {
    uint64_t singletons;
    uint64_t histogram[6];   /* 1, 2, 3-5, 6-10, 11-50, >50 */
    uint32_t largest[LARGEST_LISTED];   /* cluster indices, biggest first */
    size_t largest_count;
} cluster_facts;

static const char *const histogram_labels[6] = {"1", "2", "3-5", "6-10", "11-50", ">50"};

static uint32_t cluster_size(const uf_clustering *cl, size_t c)
{
    return cl->member_start[c + 1] - cl->member_start[c];
}

static void gather(const uf_run_state *state, cluster_facts *f)
{
    memset(f, 0, sizeof *f);
    const uf_clustering *cl = &state->clustering;
    for (size_t c = 0; c < cl->cluster_count; c++) {
        uint32_t n = cluster_size(cl, c);
        int bucket = n == 1 ? 0 : n == 2 ? 1 : n <= 5 ? 2 : n <= 10 ? 3 : n <= 50 ? 4 : 5;
        f->histogram[bucket]++;
        if (n == 1)
            f->singletons++;
        /* Keep the LARGEST_LISTED biggest, ties by cluster order (insertion into a tiny sorted list). */
        size_t pos = f->largest_count;
        while (pos > 0 && cluster_size(cl, f->largest[pos - 1]) < n)
            pos--;
        if (pos < LARGEST_LISTED) {
            size_t last = f->largest_count < LARGEST_LISTED ? f->largest_count : LARGEST_LISTED - 1;
            memmove(&f->largest[pos + 1], &f->largest[pos], (last - pos) * sizeof f->largest[0]);
            f->largest[pos] = (uint32_t)c;
            if (f->largest_count < LARGEST_LISTED)
                f->largest_count++;
        }
    }
}

static void json_counts_by_kind(uf_buf *b, const uf_config *config, const char *name, const uint64_t *counts)
{
    uf_json_key(b, name);
    uf_buf_putc(b, '{');
    bool first = true;
    for (size_t k = 0; k < config->kind_count; k++) {
        if (!counts[k])
            continue;
        if (!first)
            uf_buf_putc(b, ',');
        uf_json_key(b, config->kinds[k].name);
        uf_buf_printf(b, "%" PRIu64, counts[k]);
        first = false;
    }
    uf_buf_putc(b, '}');
}

/* ,"matching":{...}: what scored matching did (absent when it is off). */
static void json_matching(uf_buf *b, const uf_run_state *state)
{
    if (!state->matched)
        return;
    const uf_config *config = state->config;
    const uf_match_stats *ms = &state->match_stats;
    uf_buf_printf(b, ",\"matching\":{\"threshold\":%g,\"blocking\":[", config->matching.threshold);
    for (int r = 0; r < config->matching.rule_count; r++) {
        const uf_block_rule *rule = &config->matching.rules[r];
        uf_buf_puts(b, r ? ",{\"rule\":\"" : "{\"rule\":\"");
        for (int p = 0; p < rule->part_count; p++)
            uf_buf_printf(b, "%s%s", p ? "+" : "", uf_block_part_name(config, rule->parts[p]));
        uf_buf_printf(b,
                      "\",\"records\":%" PRIu64 ",\"blocks\":%" PRIu64 ",\"largest_block\":%" PRIu64
                      ",\"pairs\":%" PRIu64 ",\"capped_blocks\":%" PRIu64 ",\"capped_pairs\":%" PRIu64 "}",
                      ms->blocked_records[r], ms->blocks[r], ms->largest_block[r], ms->rule_pairs[r],
                      ms->capped_blocks[r], ms->capped_pairs[r]);
    }
    uf_buf_printf(b,
                  "],\"pairs_already_together\":%" PRIu64 ",\"candidate_pairs\":%" PRIu64 ",\"patterns\":%" PRIu64
                  ",\"above_threshold\":%" PRIu64 ",\"links_by_probability\":{",
                  ms->together_pairs, ms->candidate_pairs, ms->patterns, ms->above_threshold);
    for (int i = 0; i < UF_MATCH_BANDS; i++) {
        char floor[32];
        snprintf(floor, sizeof floor, "%g", i ? uf_match_band_floor[i] : config->matching.threshold);
        uf_buf_printf(b, "%s\">=%s\":%" PRIu64, i ? "," : "", floor, ms->links_by_band[i]);
    }
    uf_buf_printf(b,
                  "},\"refused_disagree\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"already_linked\":%" PRIu64
                  ",\"model\":{\"source\":\"%s\",\"lambda\":%.6g,\"u_pairs\":%" PRIu64 ",\"em_pairs\":%" PRIu64
                  ",\"em_iterations\":%d,\"em_converged\":%s},"
                  "\"seconds\":{\"blocking\":%.3f,\"comparing\":%.3f,\"training\":%.3f,\"linking\":%.3f}}",
                  ms->refused_disagree, ms->refused, ms->already_linked, ms->model_from_file ? "file" : "trained", state->model.lambda,
                  state->model.u_pairs, state->model.em_pairs, state->model.em_iterations,
                  state->model.em_converged ? "true" : "false", ms->seconds_blocking, ms->seconds_comparing,
                  ms->seconds_training, ms->seconds_linking);
}

void uf_run_report_json(const uf_run_state *state, uint64_t run_id, double total_seconds, uf_buf *b)
{
    const uf_config *config = state->config;
    const uf_link_stats *ls = &state->link_stats;
    cluster_facts f;
    gather(state, &f);

    uf_buf_printf(b, "{\"run_id\":%" PRIu64 ",\"unify_version\":\"%s\",", run_id, UF_VERSION_STRING);
    uf_json_key(b, "config");
    uf_json_string(b, uf_slice_cstr(config->path));
    uf_buf_puts(b, ",\"sources\":[");
    for (size_t s = 0; s < config->source_count; s++) {
        const uf_source_stats *st = &state->source_stats[s];
        if (s)
            uf_buf_putc(b, ',');
        uf_buf_puts(b, "{\"name\":");
        uf_json_string(b, uf_slice_cstr(config->sources[s].name));
        uf_buf_printf(b,
                      ",\"files\":%" PRIu64 ",\"parts\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"rows_read\":%" PRIu64
                      ",\"records\":%" PRIu64 ",\"superseded\":%" PRIu64 ",\"rejected_total\":%" PRIu64
                      ",\"rejected\":{",
                      st->files, st->parts, st->bytes, st->rows_read, st->records - state->superseded[s],
                      state->superseded[s], uf_source_stats_rejected_total(st));
        bool first = true;
        for (int r = 1; r < UF_REJECT_REASON_COUNT; r++) {
            if (!st->rejected[r])
                continue;
            uf_buf_printf(b, "%s\"%s\":%" PRIu64, first ? "" : ",", uf_reject_reason_name((uf_reject_reason)r),
                          st->rejected[r]);
            first = false;
        }
        uf_buf_putc(b, '}');
        uf_buf_putc(b, ',');
        json_counts_by_kind(b, config, "values", st->values);
        uf_buf_putc(b, ',');
        json_counts_by_kind(b, config, "invalid", st->invalid);
        uf_buf_putc(b, ',');
        json_counts_by_kind(b, config, "junk_blocklist", st->junk);
        uf_buf_printf(b, ",\"bad_timestamps\":%" PRIu64 "}", st->bad_timestamps);
    }
    uf_buf_printf(b, "],\"identifiers\":{\"refs\":%" PRIu64 ",\"distinct\":%" PRIu64 ",", ls->identifier_refs,
                  ls->distinct_identifiers);
    json_counts_by_kind(b, config, "junk_by_frequency_keys", ls->junk_keys);
    uf_buf_putc(b, ',');
    json_counts_by_kind(b, config, "junk_by_frequency_refs", ls->junk_refs);
    uf_buf_puts(b, "},\"links\":{\"by_rule\":{");
    for (int r = 1; r < UF_LINK_RULE_SLOTS; r++)
        uf_buf_printf(b, "%s\"%s\":%" PRIu64, r > 1 ? "," : "", uf_link_rule_name(r), ls->links_by_rule[r]);
    uf_buf_puts(b, "},\"refused_by_rule\":{");
    for (int r = 1; r < UF_LINK_RULE_SLOTS; r++)
        uf_buf_printf(b, "%s\"%s\":%" PRIu64, r > 1 ? "," : "", uf_link_rule_name(r), ls->refused_by_rule[r]);
    uf_buf_puts(b, "},");
    json_counts_by_kind(b, config, "by_kind", ls->links);
    uf_buf_putc(b, ',');
    json_counts_by_kind(b, config, "refused_disagree", ls->refused_disagree);
    uf_buf_putc(b, ',');
    json_counts_by_kind(b, config, "refused_profile_limit", ls->refused_profile_limit);

    uf_buf_putc(b, '}');
    json_matching(b, state);

    const uf_clustering *cl = &state->clustering;
    uf_buf_printf(b, ",\"clusters\":{\"records\":%zu,\"profiles\":%zu,\"singletons\":%" PRIu64 ",\"histogram\":{",
                  state->table.count, cl->cluster_count, f.singletons);
    for (int h = 0; h < 6; h++)
        uf_buf_printf(b, "%s\"%s\":%" PRIu64, h ? "," : "", histogram_labels[h], f.histogram[h]);
    uf_buf_puts(b, "},\"largest\":[");
    for (size_t i = 0; i < f.largest_count; i++) {
        char id[24] = "";
        if (state->golden_of_cluster)
            uf_golden_id_format(state->golden_of_cluster[f.largest[i]], id);
        uf_buf_printf(b, "%s{\"golden_id\":\"%s\",\"records\":%u}", i ? "," : "", id, cluster_size(cl, f.largest[i]));
    }
    bool alarm = f.largest_count && cluster_size(cl, f.largest[0]) > UF_CLUSTER_ALARM_SIZE;
    uf_buf_printf(b, "],\"size_alarm\":%s,\"alarm_threshold\":%d},", alarm ? "true" : "false", UF_CLUSTER_ALARM_SIZE);
    uf_buf_printf(b,
                  "\"golden_ids\":{\"kept\":%" PRIu64 ",\"new\":%" PRIu64 ",\"merged\":%" PRIu64 ",\"split\":%" PRIu64
                  ",\"vanished\":%" PRIu64 ",\"redirects\":%zu},",
                  state->kept_ids, state->new_ids, state->merges, state->splits, state->vanished_ids,
                  state->redirect_count);
    uf_buf_puts(b, "\"stages\":[");
    for (size_t i = 0; i < state->stage_count; i++)
        uf_buf_printf(b, "%s{\"name\":\"%s\",\"seconds\":%.3f,\"peak_rss_mb\":%.1f}", i ? "," : "",
                      state->stages[i].name, state->stages[i].seconds,
                      (double)state->stages[i].peak_rss_bytes / (1 << 20));
    uf_buf_printf(b, "],\"total_seconds\":%.3f,\"peak_rss_mb\":%.1f}", total_seconds,
                  (double)uf_peak_rss_bytes() / (1 << 20));
}

static void text_counts(FILE *out, const uf_config *config, const char *label, const uint64_t *counts)
{
    bool any = false;
    for (size_t k = 0; k < config->kind_count; k++) {
        if (!counts[k])
            continue;
        fprintf(out, "%s %s %" PRIu64, any ? "," : label, config->kinds[k].name, counts[k]);
        any = true;
    }
    if (any)
        fputc('\n', out);
}

void uf_run_report_text(const uf_run_state *state, uint64_t run_id, double total_seconds, FILE *out)
{
    const uf_config *config = state->config;
    const uf_link_stats *ls = &state->link_stats;
    cluster_facts f;
    gather(state, &f);
    fprintf(out, "unify run %" PRIu64 " — %s\n", run_id, config->path);
    for (size_t s = 0; s < config->source_count; s++) {
        const uf_source_stats *st = &state->source_stats[s];
        fprintf(out, "  source %-10s rows %" PRIu64 ", records %" PRIu64 ", rejected %" PRIu64, config->sources[s].name,
                st->rows_read, st->records - state->superseded[s], uf_source_stats_rejected_total(st));
        for (int r = 1; r < UF_REJECT_REASON_COUNT; r++)
            if (st->rejected[r])
                fprintf(out, " [%s %" PRIu64 "]", uf_reject_reason_name((uf_reject_reason)r), st->rejected[r]);
        if (state->superseded[s])
            fprintf(out, ", superseded duplicates %" PRIu64, state->superseded[s]);
        if (st->parts > st->files)
            fprintf(out, ", read in %" PRIu64 " parts", st->parts);
        fputc('\n', out);
    }
    uint64_t values[UF_MAX_KINDS] = {0}, junk[UF_MAX_KINDS] = {0};
    for (size_t s = 0; s < config->source_count; s++)
        for (size_t k = 0; k < config->kind_count; k++) {
            values[k] += state->source_stats[s].values[k];
            junk[k] += state->source_stats[s].junk[k];
        }
    text_counts(out, config, "  values:", values);
    text_counts(out, config, "  junk (blocklist/pattern):", junk);
    text_counts(out, config, "  junk (frequency):", ls->junk_keys);
    fprintf(out, "  links: strong %" PRIu64 ", weak %" PRIu64 ", scored %" PRIu64 "; refused %" PRIu64 "\n",
            ls->links_by_rule[UF_RULE_STRONG_IDENTIFIER], ls->links_by_rule[UF_RULE_WEAK_IDENTIFIER],
            ls->links_by_rule[UF_RULE_SCORED],
            ls->refused_by_rule[1] + ls->refused_by_rule[2] + ls->refused_by_rule[3]);
    text_counts(out, config, "  refused (names/dob disagree):", ls->refused_disagree);
    text_counts(out, config, "  refused (profile limit):", ls->refused_profile_limit);
    if (state->matched) {
        const uf_match_stats *ms = &state->match_stats;
        uint64_t capped = 0, links = 0;
        for (int r = 0; r < config->matching.rule_count; r++)
            capped += ms->capped_blocks[r];
        for (int i = 0; i < UF_MATCH_BANDS; i++)
            links += ms->links_by_band[i];
        fprintf(out,
                "  scored matching: %" PRIu64 " candidate pairs (%" PRIu64 " more already together), %" PRIu64
                " capped blocks; %" PRIu64 " above p %g, %" PRIu64 " linked, %" PRIu64 " refused (names/dob disagree), %" PRIu64 " refused (profile limit); model %s (lambda %.4g, EM %d iterations%s)\n",
                ms->candidate_pairs, ms->together_pairs, capped, ms->above_threshold, config->matching.threshold, links,
                ms->refused_disagree, ms->refused, ms->model_from_file ? "from file" : "trained", state->model.lambda,
                state->model.em_iterations, state->model.em_converged ? "" : ", not converged");
    }
    const uf_clustering *cl = &state->clustering;
    fprintf(out, "  profiles %zu from %zu records (%" PRIu64 " singletons); largest:", cl->cluster_count,
            state->table.count, f.singletons);
    for (size_t i = 0; i < f.largest_count; i++)
        fprintf(out, " %u", cluster_size(cl, f.largest[i]));
    fputc('\n', out);
    if (f.largest_count && cluster_size(cl, f.largest[0]) > UF_CLUSTER_ALARM_SIZE)
        fprintf(out, "  ALARM: a cluster holds %u records (> %d): check for junk identifiers\n",
                cluster_size(cl, f.largest[0]), UF_CLUSTER_ALARM_SIZE);
    fprintf(out, "  golden ids: %" PRIu64 " kept, %" PRIu64 " new, %" PRIu64 " merged, %" PRIu64 " split, %" PRIu64
                 " vanished, %zu redirects\n",
            state->kept_ids, state->new_ids, state->merges, state->splits, state->vanished_ids, state->redirect_count);
    fputs("  stages:", out);
    for (size_t i = 0; i < state->stage_count; i++)
        fprintf(out, " %s %.2fs;", state->stages[i].name, state->stages[i].seconds);
    fprintf(out, " total %.2fs, peak RSS %.0f MiB\n", total_seconds, (double)uf_peak_rss_bytes() / (1 << 20));
}
