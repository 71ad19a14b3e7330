/*
 * explain.c — why records are, or are not, in one profile.
 *
 * Together: answered from the store alone. The run kept the spanning links
 * of every profile (run_links.h) — for each, the identifier both records
 * hold, or the comparison vector and weight of a scored pair — and the
 * model it weighed them with (meta "match_model"), so each comparison's
 * weight is shown as it was when the run decided.
 *
 * Apart: the store keeps no per-record attributes (that would cost the
 * store a third of its size), so the two records are read again from the
 * exports as they are now, normalized as a run would, and judged with the
 * stored model: shared identifiers (and why each did not link: junk, or a
 * guard), the blocking rules that pair them, their comparison vector,
 * weight and probability against the threshold, and the disagreement
 * guard. The output says that it comes from the current exports.
 */
#include "config.h"
#include "ingest.h"
#include "json_out.h"
#include "keys.h"
#include "match.h"
#include "run_links.h"
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- a profile's links, loaded ----------------------------------------- */

typedef struct explanation {
    uint64_t golden_id;
    uf_buf links_raw, model_raw;
    bool have_links, have_model;
    uf_links_view view;
    uf_fs_model model;
} explanation;

static void explanation_free(explanation *e)
{
    uf_links_view_free(&e->view);
    uf_buf_free(&e->links_raw);
    uf_buf_free(&e->model_raw);
}

static int explanation_load(uf_store *s, uint64_t golden_id, explanation *e, uf_error *err)
{
    memset(e, 0, sizeof *e);
    uf_buf_init(&e->links_raw);
    uf_buf_init(&e->model_raw);
    int rc = uf_store_read_explain(s, golden_id, &e->golden_id, &e->links_raw, &e->model_raw, &e->have_links, err);
    if (rc == UF_OK && e->links_raw.len)
        rc = uf_links_decode(e->links_raw.data, e->links_raw.len, &e->view, err);
    if (rc == UF_OK && e->model_raw.len) {
        uf_fs_model_init(&e->model);
        rc = uf_fs_model_from_json(&e->model, e->model_raw.data, e->model_raw.len, "the store's match_model", err);
        e->have_model = rc == UF_OK;
    }
    if (rc != UF_OK)
        explanation_free(e);
    return rc;
}

/* ---- rendering ---------------------------------------------------------- */

static void json_record(uf_buf *b, uf_slice source, uf_slice key)
{
    uf_buf_puts(b, "{\"source\":");
    uf_json_string(b, source);
    uf_buf_puts(b, ",\"key\":");
    uf_json_string(b, key);
    uf_buf_putc(b, '}');
}

/* The comparisons of a scored vector, as JSON members or text lines. */
static void render_comparisons(uf_buf *b, const uf_fs_model *model, bool have_model, const uf_cmp_vector *v,
                               double weight, bool json)
{
    double sum = have_model ? uf_fs_prior_weight(model) : 0;
    if (json)
        uf_buf_puts(b, ",\"comparisons\":[");
    bool first = true;
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
        int level = v->level[f];
        double w = have_model && level != UF_CMP_MISSING ? uf_fs_level_weight(model, (uf_cmp_field)f, level) : 0;
        sum += w;
        const char *field = uf_cmp_field_name((uf_cmp_field)f), *name = uf_cmp_level_name((uf_cmp_field)f, level);
        if (json) {
            uf_buf_printf(b, "%s{\"field\":\"%s\",\"level\":\"%s\"", first ? "" : ",", field, name);
            if (have_model)
                uf_buf_printf(b, ",\"weight\":%.3f", w);
            uf_buf_putc(b, '}');
        } else {
            uf_buf_printf(b, "      %-12s %-28s", field, name);
            if (have_model && level != UF_CMP_MISSING)
                uf_buf_printf(b, " %+7.2f", w);
            uf_buf_putc(b, '\n');
        }
        first = false;
    }
    if (json)
        uf_buf_putc(b, ']');
    if (!have_model)
        return;
    double prior = uf_fs_prior_weight(model), adjust = weight - sum;
    if (json) {
        uf_buf_printf(b, ",\"prior_weight\":%.3f,\"term_frequency_adjustment\":%.3f", prior, adjust);
    } else {
        uf_buf_printf(b, "      %-41s %+7.2f\n", "prior (two random records match)", prior);
        if (adjust > 0.005 || adjust < -0.005)
            uf_buf_printf(b, "      %-41s %+7.2f\n", "name frequency adjustment", adjust);
    }
}

static void render_link(uf_buf *b, const explanation *e, const uf_links_link *l, bool json)
{
    const uf_links_member *ma = &e->view.members[l->a], *mb = &e->view.members[l->b];
    if (json) {
        uf_buf_printf(b, "{\"a\":%u,\"b\":%u,\"rule\":\"%s\"", l->a, l->b, uf_link_rule_name(l->rule));
        if (l->rule == UF_RULE_SCORED) {
            uf_buf_printf(b, ",\"weight\":%.3f,\"probability\":%.9g", l->weight, uf_fs_probability(l->weight));
            render_comparisons(b, &e->model, e->have_model, &l->vector, l->weight, true);
        } else {
            uf_buf_puts(b, ",\"kind\":");
            uf_json_string(b, l->kind);
            uf_buf_puts(b, ",\"value\":");
            uf_json_string(b, l->value);
        }
        uf_buf_putc(b, '}');
        return;
    }
    uf_buf_printf(b, "  %.*s:%.*s + %.*s:%.*s: ", (int)ma->source.len, ma->source.ptr, (int)ma->key.len, ma->key.ptr,
                  (int)mb->source.len, mb->source.ptr, (int)mb->key.len, mb->key.ptr);
    if (l->rule == UF_RULE_SCORED) {
        uf_buf_printf(b, "scored, weight %.2f, match probability %.6f\n", l->weight, uf_fs_probability(l->weight));
        render_comparisons(b, &e->model, e->have_model, &l->vector, l->weight, false);
    } else {
        uf_buf_printf(b, "share %.*s %.*s (%s)\n", (int)l->kind.len, l->kind.ptr, (int)l->value.len, l->value.ptr,
                      l->rule == UF_RULE_STRONG_IDENTIFIER ? "strong identifier"
                                                            : "weak identifier, names and dates agree");
    }
}

static void render_golden(uf_buf *b, const explanation *e, bool json)
{
    char id[24];
    uf_golden_id_format(e->golden_id, id);
    size_t members = e->view.member_count ? e->view.member_count : 1;
    if (json) {
        uf_buf_printf(b, "{\"golden_id\":\"%s\",\"records\":[", id);
        for (size_t i = 0; i < e->view.member_count; i++) {
            if (i)
                uf_buf_putc(b, ',');
            json_record(b, e->view.members[i].source, e->view.members[i].key);
        }
        uf_buf_printf(b, "],\"links_stored\":%s,\"links\":[", e->have_links ? "true" : "false");
        for (size_t i = 0; i < e->view.link_count; i++) {
            if (i)
                uf_buf_putc(b, ',');
            render_link(b, e, &e->view.links[i], true);
        }
        uf_buf_puts(b, "]}");
        return;
    }
    if (!e->have_links) {
        uf_buf_printf(b, "%s: this store was written before unify kept the reasons for links; the next run adds them\n",
                      id);
        return;
    }
    if (e->view.member_count == 0) {
        uf_buf_printf(b, "%s: one record; nothing links it to another\n", id);
        return;
    }
    uf_buf_printf(b, "%s: %zu records joined by %zu links\n", id, members, e->view.link_count);
    for (size_t i = 0; i < e->view.link_count; i++)
        render_link(b, e, &e->view.links[i], false);
}

static int finish(uf_buf *b, char **out, size_t *len, uf_error *err)
{
    if (b->failed) {
        uf_buf_free(b);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory explaining");
    }
    uf_buf_cstr(b);
    *out = b->data;
    if (len)
        *len = b->len;
    return UF_OK;
}

int uf_store_explain(uf_store *s, uint64_t golden_id, uf_explain_format format, char **out, size_t *len,
                     uf_error *err)
{
    *out = NULL;
    explanation e;
    int rc = explanation_load(s, golden_id, &e, err);
    if (rc != UF_OK)
        return rc;
    uf_buf b;
    uf_buf_init(&b);
    render_golden(&b, &e, format == UF_EXPLAIN_JSON);
    explanation_free(&e);
    return finish(&b, out, len, err);
}

/* ---- two records -------------------------------------------------------- */

static int member_of(const explanation *e, const char *source, const char *key)
{
    for (size_t i = 0; i < e->view.member_count; i++)
        if (uf_slice_equals(e->view.members[i].source, source) && uf_slice_equals(e->view.members[i].key, key))
            return (int)i;
    return -1;
}

/*
 * The links on the tree path from member a to member b (breadth-first over
 * the spanning tree, through an adjacency list: members + links steps).
 * Writes the link indices in path order to `path`, returns how many, -1
 * when there is no path (a store written otherwise), -2 when out of memory.
 */
static int tree_path(const explanation *e, int a, int b, size_t *path)
{
    size_t n = e->view.member_count, links = e->view.link_count;
    size_t *start = calloc(n + 1, sizeof *start);    /* adjacency: member -> its links */
    size_t *adjacent = malloc((2 * links + 1) * sizeof *adjacent);
    int *via = malloc(n * sizeof *via);               /* link that reached the member */
    size_t *queue = malloc(n * sizeof *queue);
    bool *seen = calloc(n, sizeof *seen);
    int count = -2;
    if (start && adjacent && via && queue && seen) {
        for (size_t i = 0; i < links; i++) {
            start[e->view.links[i].a + 1]++;
            start[e->view.links[i].b + 1]++;
        }
        for (size_t m = 0; m < n; m++)
            start[m + 1] += start[m];
        size_t *fill = queue; /* borrowed as the fill cursor before the search */
        memcpy(fill, start, n * sizeof *fill);
        for (size_t i = 0; i < links; i++) {
            adjacent[fill[e->view.links[i].a]++] = i;
            adjacent[fill[e->view.links[i].b]++] = i;
        }
        size_t head = 0, tail = 0;
        queue[tail++] = (size_t)a;
        seen[a] = true;
        via[a] = -1;
        while (head < tail && !seen[b]) {
            size_t x = queue[head++];
            for (size_t k = start[x]; k < start[x + 1]; k++) {
                const uf_links_link *l = &e->view.links[adjacent[k]];
                size_t y = l->a == x ? l->b : l->a;
                if (!seen[y]) {
                    seen[y] = true;
                    via[y] = (int)adjacent[k];
                    queue[tail++] = y;
                }
            }
        }
        count = -1;
        if (seen[b]) {
            /* Walk back from b, then reverse into a-to-b order. */
            count = 0;
            for (size_t x = (size_t)b; via[x] >= 0;) {
                const uf_links_link *l = &e->view.links[via[x]];
                path[count++] = (size_t)via[x];
                x = l->a == x ? l->b : l->a;
            }
            for (int i = 0; i < count / 2; i++) {
                size_t t = path[i];
                path[i] = path[count - 1 - i];
                path[count - 1 - i] = t;
            }
        }
    }
    free(start);
    free(adjacent);
    free(via);
    free(queue);
    free(seen);
    return count;
}

/* A record as the exports hold it now (the newest row with the key, as a run keeps). */
typedef struct export_record {
    const char *key;
    size_t key_len;
    bool found;
    int64_t updated_at;
    unsigned char *blob;
    size_t blob_len;
    uf_key keys[64];
    uint16_t kinds[64];
    size_t key_count;
    char file[512];
    uint64_t line;
} export_record;

static int capture(void *ctx, const uf_ingest_record *r, uf_error *err)
{
    export_record *x = ctx;
    const unsigned char *blob = r->blob;
    if (blob[0] != x->key_len || memcmp(blob + 1, x->key, x->key_len) != 0)
        return UF_OK;
    if (x->found && r->updated_at < x->updated_at)
        return UF_OK;
    unsigned char *copy = malloc(r->blob_len);
    if (!copy)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory reading a record");
    memcpy(copy, r->blob, r->blob_len);
    free(x->blob);
    x->blob = copy;
    x->blob_len = r->blob_len;
    x->updated_at = r->updated_at;
    x->found = true;
    x->line = r->line;
    x->key_count = r->key_count < 64 ? r->key_count : 64;
    memcpy(x->keys, r->keys, x->key_count * sizeof *x->keys);
    memcpy(x->kinds, r->key_kinds, x->key_count * sizeof *x->kinds);
    return UF_OK;
}

static int read_export_record(const uf_config *config, int source, const char *key, export_record *x, uf_error *err)
{
    memset(x, 0, sizeof *x);
    x->key = key;
    x->key_len = strlen(key);
    if (x->key_len > 255)
        return UF_OK; /* no record key is that long: not found */
    uf_rejects rejects;
    int rc = uf_rejects_open(&rejects, NULL, err);
    if (rc != UF_OK)
        return rc;
    const uf_source_config *src = &config->sources[source];
    for (size_t f = 0; f < src->path_count && rc == UF_OK; f++) {
        uf_source_stats stats;
        memset(&stats, 0, sizeof stats);
        bool before = x->found;
        uint64_t line_before = x->line;
        rc = uf_ingest_file(config, (size_t)source, f, &rejects, &stats, capture, x, err);
        if (x->found && (!before || x->line != line_before))
            snprintf(x->file, sizeof x->file, "%s", src->paths[f]);
    }
    uf_error ignored;
    uf_rejects_close(&rejects, &ignored);
    return rc;
}

static int source_index(const uf_config *config, const char *name)
{
    for (size_t i = 0; i < config->source_count; i++)
        if (strcmp(config->sources[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The normalized value of identifier `key` in the record's blob. */
static uf_slice value_of_key(const uf_config *config, const export_record *x, uf_key key, int kind)
{
    uf_record r = {x->blob, 0, (uint32_t)x->blob_len, 0, 0};
    uf_attr_cursor cur;
    uf_attr_view a;
    uf_attr_cursor_init(&cur, &r);
    while (uf_attr_next(&cur, &a))
        if (a.kind == kind &&
            uf_key_equal(uf_identifier_key(uf_slice_make(config->kinds[kind].name, config->kinds[kind].name_len), a.value),
                         key))
            return a.value;
    return uf_slice_make(NULL, 0);
}

/* Why two records of different profiles were not linked, from the current exports. */
static int explain_apart(const uf_config *config, uf_store *s, const char *sa, const char *ka, uint64_t ga,
                         const char *sb, const char *kb, uint64_t gb, uf_buf *b, bool json, uf_error *err)
{
    export_record xa, xb;
    int ia = source_index(config, sa), ib = source_index(config, sb);
    if (ia < 0 || ib < 0)
        return uf_error_set(err, UF_ERR_INVALID, "no source named '%s' in %s", ia < 0 ? sa : sb, config->path);
    int rc = read_export_record(config, ia, ka, &xa, err);
    if (rc == UF_OK)
        rc = read_export_record(config, ib, kb, &xb, err);
    else
        memset(&xb, 0, sizeof xb);
    if (rc == UF_OK && (!xa.found || !xb.found))
        rc = uf_error_set(err, UF_ERR_NOT_FOUND,
                          "record %s:%s is in the store but no longer in the exports: cannot compare it",
                          !xa.found ? sa : sb, !xa.found ? ka : kb);
    explanation ea;
    memset(&ea, 0, sizeof ea);
    if (rc == UF_OK)
        rc = explanation_load(s, ga, &ea, err);
    if (rc != UF_OK) {
        free(xa.blob);
        free(xb.blob);
        return rc;
    }

    char ida[24], idb[24];
    uf_golden_id_format(ga, ida);
    uf_golden_id_format(gb, idb);
    if (json) {
        uf_buf_printf(b, "{\"together\":false,\"a\":{\"source\":");
        uf_json_string(b, uf_slice_cstr(sa));
        uf_buf_puts(b, ",\"key\":");
        uf_json_string(b, uf_slice_cstr(ka));
        uf_buf_printf(b, ",\"golden_id\":\"%s\"},\"b\":{\"source\":", ida);
        uf_json_string(b, uf_slice_cstr(sb));
        uf_buf_puts(b, ",\"key\":");
        uf_json_string(b, uf_slice_cstr(kb));
        uf_buf_printf(b, ",\"golden_id\":\"%s\"},\"from\":\"current exports\",\"shared_identifiers\":[", idb);
    } else {
        uf_buf_printf(b, "%s:%s is in %s, %s:%s is in %s: not one profile.\n", sa, ka, ida, sb, kb, idb);
        uf_buf_printf(b, "Evidence, from the exports as they are now (%s line %" PRIu64 ", %s line %" PRIu64 "):\n",
                      xa.file, xa.line, xb.file, xb.line);
    }

    /* 1. identifiers both hold */
    size_t shared = 0;
    for (size_t i = 0; i < xa.key_count; i++) {
        for (size_t j = 0; j < xb.key_count; j++) {
            if (!uf_key_equal(xa.keys[i], xb.keys[j]))
                continue;
            int kind = xa.kinds[i];
            uf_slice value = value_of_key(config, &xa, xa.keys[i], kind);
            unsigned char kbytes[16];
            uf_key_to_bytes(xa.keys[i], kbytes);
            uint64_t ids[64];
            size_t count = 0;
            uf_error ferr;
            int frc = uf_store_find_identifier(s, kbytes, ids, 64, &count, &ferr);
            const char *why;
            if (frc == UF_ERR_NOT_FOUND)
                why = "junk: held by too many records (guards.max_records_per_identifier), so it links nothing";
            else if (frc != UF_OK)
                why = "unknown (the identifier index could not be read)";
            else if (config->kinds[kind].strength == UF_STRENGTH_WEAK)
                why = "weak identifier: the guard refused it because names or dates of birth disagree "
                      "(guards.weak_link_requires)";
            else
                why = "refused by a per-profile limit (max_per_profile): the profiles hold different "
                      "identifiers of a limited kind";
            if (json) {
                uf_buf_printf(b, "%s{\"kind\":\"%s\",\"value\":", shared ? "," : "", config->kinds[kind].name);
                uf_json_string(b, value);
                uf_buf_puts(b, ",\"why_no_link\":");
                uf_json_string(b, uf_slice_cstr(why));
                uf_buf_putc(b, '}');
            } else {
                uf_buf_printf(b, "  both hold %s %.*s — %s\n", config->kinds[kind].name, (int)value.len, value.ptr,
                              why);
            }
            shared++;
        }
    }
    if (!json && shared == 0)
        uf_buf_puts(b, "  no identifier in common\n");

    /* 2. scored matching */
    const uf_matching_config *mc = &config->matching;
    uf_record ra = {xa.blob, 0, (uint32_t)xa.blob_len, 0, 0}, rb = {xb.blob, 0, (uint32_t)xb.blob_len, 0, 0};
    uf_match_values va, vb;
    uf_match_values_of(&ra, &va);
    uf_match_values_of(&rb, &vb);
    uf_cmp_vector v;
    uf_match_compare(&va, &vb, &v);
    uf_buf rules; /* the blocking rules that put both in one block, "a+b, c" */
    uf_buf_init(&rules);
    for (int r = 0; r < mc->rule_count; r++) {
        uint64_t k1, k2;
        if (uf_match_block_key(&mc->rules[r], r, &ra, &va, &k1) && uf_match_block_key(&mc->rules[r], r, &rb, &vb, &k2) &&
            k1 == k2) {
            for (int p = 0; p < mc->rules[r].part_count; p++)
                uf_buf_printf(&rules, "%s%s", p ? "+" : (rules.len ? ", " : ""),
                              uf_block_part_name(config, mc->rules[r].parts[p]));
        }
    }
    size_t rules_len = rules.len;
    double weight = ea.have_model ? uf_fs_vector_weight(&ea.model, &v) : 0;
    double probability = ea.have_model ? uf_fs_probability(weight) : 0;
    bool vetoed = uf_match_disagree(&va, &vb, &v, config->guards.weak_link_requires);
    const char *verdict;
    if (!mc->enabled)
        verdict = "scored matching is off (no 'matching' section in the configuration)";
    else if (!rules_len)
        verdict = "not a candidate pair: no blocking rule puts them in one block";
    else if (!ea.have_model)
        verdict = "the store holds no matching model (the run that wrote it did not score)";
    else if (probability < mc->threshold)
        verdict = "below the match threshold (before the name-frequency adjustment, which the run adds "
                  "for exact names and this cannot recompute)";
    else if (vetoed)
        verdict = "above the threshold, but names or dates of birth disagree (guards.weak_link_requires)";
    else
        verdict = "above the threshold: the link was refused by a per-profile limit, their shared block was capped "
                  "(max_block_size), or the exports changed since the run";
    if (json) {
        uf_buf_puts(b, "],\"scored\":{\"blocking_rules\":");
        uf_json_string(b, uf_slice_make(uf_buf_cstr(&rules), rules_len));
        if (ea.have_model)
            uf_buf_printf(b, ",\"weight\":%.3f,\"probability\":%.9g,\"threshold\":%g", weight, probability,
                          mc->threshold);
        render_comparisons(b, &ea.model, ea.have_model, &v, weight, true);
        uf_buf_puts(b, ",\"verdict\":");
        uf_json_string(b, uf_slice_cstr(verdict));
        uf_buf_puts(b, "}}");
    } else {
        uf_buf_printf(b, "  scored matching: %s\n", verdict);
        uf_buf_printf(b, "    blocking rules pairing them: %s\n", rules_len ? uf_buf_cstr(&rules) : "none");
        if (ea.have_model)
            uf_buf_printf(b, "    weight %.2f, match probability %.6f (threshold %g), without name frequency adjustment\n",
                          weight, probability, mc->threshold);
        render_comparisons(b, &ea.model, ea.have_model, &v, weight, false);
    }
    bool failed = rules.failed;
    uf_buf_free(&rules);
    explanation_free(&ea);
    free(xa.blob);
    free(xb.blob);
    return failed ? uf_error_set(err, UF_ERR_NOMEM, "out of memory explaining") : UF_OK;
}

int uf_explain_records(const uf_config *config, uf_store *s, const char *source_a, const char *key_a,
                       const char *source_b, const char *key_b, uf_explain_format format, char **out, size_t *len,
                       uf_error *err)
{
    *out = NULL;
    uint64_t ga, gb;
    int rc = uf_store_find_record(s, source_a, key_a, &ga, err);
    if (rc == UF_OK)
        rc = uf_store_find_record(s, source_b, key_b, &gb, err);
    if (rc != UF_OK)
        return rc;
    bool json = format == UF_EXPLAIN_JSON;
    uf_buf b;
    uf_buf_init(&b);
    if (ga != gb) {
        rc = explain_apart(config, s, source_a, key_a, ga, source_b, key_b, gb, &b, json, err);
        if (rc != UF_OK) {
            uf_buf_free(&b);
            return rc;
        }
        return finish(&b, out, len, err);
    }
    explanation e;
    rc = explanation_load(s, ga, &e, err);
    if (rc != UF_OK) {
        uf_buf_free(&b);
        return rc;
    }
    char id[24];
    uf_golden_id_format(e.golden_id, id);
    int ma = member_of(&e, source_a, key_a), mb = member_of(&e, source_b, key_b);
    size_t *path = malloc((e.view.link_count + 1) * sizeof *path);
    int n = !path ? -2 : ma >= 0 && mb >= 0 ? tree_path(&e, ma, mb, path) : -1;
    if (n == -2) {
        free(path);
        explanation_free(&e);
        uf_buf_free(&b);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory explaining");
    }
    if (json) {
        uf_buf_printf(&b, "{\"together\":true,\"golden_id\":\"%s\",\"path\":[", id);
        for (int i = 0; i < n; i++) {
            if (i)
                uf_buf_putc(&b, ',');
            const uf_links_link *l = &e.view.links[path[i]];
            uf_buf_puts(&b, "{\"from\":");
            json_record(&b, e.view.members[l->a].source, e.view.members[l->a].key);
            uf_buf_puts(&b, ",\"to\":");
            json_record(&b, e.view.members[l->b].source, e.view.members[l->b].key);
            uf_buf_puts(&b, ",\"link\":");
            render_link(&b, &e, l, true);
            uf_buf_putc(&b, '}');
        }
        uf_buf_printf(&b, "],\"links_stored\":%s}", e.have_links && n >= 0 ? "true" : "false");
    } else if (n < 0) {
        uf_buf_printf(&b, "%s:%s and %s:%s are both in %s, but the store keeps no links for it "
                          "(written before unify kept them; the next run adds them)\n",
                      source_a, key_a, source_b, key_b, id);
    } else if (n == 0) {
        uf_buf_printf(&b, "%s:%s is one record of %s (the same record twice)\n", source_a, key_a, id);
    } else {
        uf_buf_printf(&b, "%s:%s and %s:%s are together in %s, through %d link%s:\n", source_a, key_a, source_b,
                      key_b, id, n, n == 1 ? "" : "s");
        for (int i = 0; i < n; i++)
            render_link(&b, &e, &e.view.links[path[i]], false);
    }
    free(path);
    explanation_free(&e);
    return finish(&b, out, len, err);
}
