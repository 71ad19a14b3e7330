/*
 * run_ids.c — stable golden ids across runs.
 *
 * Agents bookmark, export and quote golden ids, so a run must not rename a
 * customer because a new record arrived. The rules:
 *  - a cluster keeps the previous golden id that holds most of its records
 *    (ties: the oldest, i.e. smallest, id);
 *  - when the records of one previous id are now spread over several
 *    clusters (a split), the id stays with the cluster holding most of them
 *    (ties: the larger cluster, then the earlier one); the other parts get
 *    new ids;
 *  - a previous id that no cluster keeps although its records are still
 *    there (a merge) becomes a redirect to the cluster that holds most of its
 *    records; older redirects are carried forward and re-pointed, so any id
 *    ever handed out keeps resolving while its records exist;
 *  - clusters with no previous id get fresh ids in cluster order.
 *
 * The previous (source, key) → id table is merge-joined with the records in
 * one cursor scan: both are in (source name, key) byte order (run_ingest.c).
 */
#include "run_ids.h"

#include "sort.h"
#include "store.h"
#include "util.h"

#include <stdlib.h>

typedef struct join_ctx {
    const uf_run_state *state;
    uint64_t *previous;        /* per record: previous golden id, 0 = new record */
    size_t pos;                /* next record to compare */
} join_ctx;

static int compare_record(const uf_run_state *state, uf_record_id id, uf_slice source, uf_slice key)
{
    const uf_record *r = &state->table.records[id];
    const char *name = state->config->sources[r->source].name;
    size_t nlen = strlen(name);
    size_t n = nlen < source.len ? nlen : source.len;
    int c = memcmp(name, source.ptr, n);
    if (c)
        return c;
    if (nlen != source.len)
        return nlen < source.len ? -1 : 1;
    uf_slice k = uf_record_key(r);
    n = k.len < key.len ? k.len : key.len;
    c = memcmp(k.ptr, key.ptr, n);
    if (c)
        return c;
    return k.len == key.len ? 0 : (k.len < key.len ? -1 : 1);
}

#define JOIN_PREFETCH 16

static int join_previous(void *ctx, uf_slice source, uf_slice key, uint64_t golden_id)
{
    join_ctx *j = ctx;
    while (j->pos < j->state->table.count) {
        /* Blobs are in file order, records in key order: fetch ahead. */
        if (j->pos + JOIN_PREFETCH < j->state->table.count)
            __builtin_prefetch(j->state->table.records[j->pos + JOIN_PREFETCH].blob);
        int c = compare_record(j->state, (uf_record_id)j->pos, source, key);
        if (c < 0) {
            j->pos++;
            continue;
        }
        if (c == 0)
            j->previous[j->pos++] = golden_id;
        break;
    }
    return UF_OK;
}

typedef struct redirect_list {
    uint64_t *from, *to;
    size_t count, cap;
} redirect_list;

static int redirect_add(redirect_list *list, uint64_t from, uint64_t to)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 1024;
        uint64_t *f = realloc(list->from, cap * sizeof *f);
        if (!f)
            return UF_ERR_NOMEM;
        list->from = f;
        uint64_t *t = realloc(list->to, cap * sizeof *t);
        if (!t)
            return UF_ERR_NOMEM;
        list->to = t;
        list->cap = cap;
    }
    list->from[list->count] = from;
    list->to[list->count] = to;
    list->count++;
    return UF_OK;
}

/* Binary search in the sorted redirects made this run. */
static uint64_t redirect_target(const redirect_list *list, size_t sorted_count, uint64_t from)
{
    size_t lo = 0, hi = sorted_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (list->from[mid] < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < sorted_count && list->from[lo] == from ? list->to[lo] : 0;
}

static bool sorted_contains(const uint64_t *a, size_t n, uint64_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == v;
}

typedef struct carried_ctx {
    redirect_list *list;
    size_t sorted_count;       /* redirects of this run, sorted, at the front of list */
    const uint64_t *current;   /* sorted golden ids of this run */
    size_t current_count;
} carried_ctx;

static int carry_redirect(void *ctx, uint64_t old_id, uint64_t new_id)
{
    carried_ctx *c = ctx;
    uint64_t target = new_id;
    if (!sorted_contains(c->current, c->current_count, target))
        target = redirect_target(c->list, c->sorted_count, target);
    if (target == 0 || target == old_id || sorted_contains(c->current, c->current_count, old_id))
        return UF_OK; /* its target vanished, or the id is live again */
    if (redirect_target(c->list, c->sorted_count, old_id))
        return UF_OK; /* already redirected by this run */
    return redirect_add(c->list, old_id, target);
}

/* Sort the parallel arrays by `from`: the lookups after it bisect them. */
static int sort_redirects(redirect_list *list, uf_error *err)
{
    typedef struct { uint64_t from, to; } pair;
    pair *p = malloc((list->count ? list->count : 1) * sizeof *p);
    if (!p)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory sorting the golden-id redirects");
    for (size_t i = 0; i < list->count; i++)
        p[i] = (pair){list->from[i], list->to[i]};
    qsort(p, list->count, sizeof *p, uf_compare_u64); /* `from` is the first member */
    for (size_t i = 0; i < list->count; i++) {
        list->from[i] = p[i].from;
        list->to[i] = p[i].to;
    }
    free(p);
    return UF_OK;
}

int uf_run_join_previous(const uf_run_state *state, struct uf_store_writer *writer, uf_run_previous *out,
                         uf_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n = state->table.count;
    join_ctx join = {.state = state, .previous = calloc(n ? n : 1, sizeof *join.previous)};
    if (!join.previous)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory reading the previous golden ids");
    int rc = uf_store_writer_scan_records(writer, join_previous, &join, err);
    if (rc != UF_OK) {
        free(join.previous);
        return rc;
    }
    out->golden_of_record = join.previous;
    /* Every profile holds at least one record and every record a profile:
     * the previous generation's profile count is its number of distinct ids. */
    out->profile_count = uf_store_writer_profile_count(writer);
    return UF_OK;
}

void uf_run_previous_free(uf_run_previous *previous)
{
    free(previous->golden_of_record);
    memset(previous, 0, sizeof *previous);
}

int uf_run_assign_ids(uf_run_state *state, const uf_run_previous *previous, uf_store_writer *writer, uf_error *err)
{
    size_t clusters = state->clustering.cluster_count;
    int rc = UF_OK;
    const uint64_t *old_of_record = previous->golden_of_record;
    uf_sort_pair *claims = NULL;
    uint64_t *current = NULL;
    redirect_list redirects = {0};
    state->golden_of_cluster = calloc(clusters ? clusters : 1, sizeof *state->golden_of_cluster);
    if (!state->golden_of_cluster) {
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory assigning golden ids");
        goto done;
    }

    /* Claims (old id, cluster), one per record that had an old id, made
     * cluster by cluster and then stably sorted by old id: within an old id
     * they stay in cluster order, so a cluster's claims are side by side. */
    size_t claim_count = 0;
    size_t n = state->table.count;
    claims = malloc((n ? n : 1) * sizeof *claims);
    if (!claims) {
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory assigning golden ids");
        goto done;
    }
    const uf_clustering *cl = &state->clustering;
    for (uint32_t c = 0; c < clusters; c++)
        for (uint32_t m = cl->member_start[c]; m < cl->member_start[c + 1]; m++)
            if (old_of_record && old_of_record[cl->members[m]])
                claims[claim_count++] = (uf_sort_pair){old_of_record[cl->members[m]], c};
    rc = uf_sort_pairs(claims, claim_count, err);
    if (rc != UF_OK)
        goto done;

    /* Per old id, the cluster holding most of its records (ties: the larger
     * cluster, then the earlier one) is its best claim; several clusters
     * holding its records make a split. Each cluster keeps the strongest of
     * the best claims pointing at it (ties: the oldest id). The best claims
     * are compacted to the front of `claims`, in old-id order. */
    uint32_t *kept_count = calloc(clusters ? clusters : 1, sizeof *kept_count);
    if (!kept_count) {
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory assigning golden ids");
        goto done;
    }
    size_t distinct_matched = 0;
    for (size_t i = 0; i < claim_count;) {
        uint64_t old_id = claims[i].key;
        uint32_t best = 0, best_count = 0, best_size = 0, parts = 0;
        while (i < claim_count && claims[i].key == old_id) {
            uint32_t c = claims[i].value, count = 0;
            for (; i < claim_count && claims[i].key == old_id && claims[i].value == c; i++)
                count++;
            uint32_t size = cl->member_start[c + 1] - cl->member_start[c];
            if (parts++ == 0 || count > best_count || (count == best_count && size > best_size)) {
                best = c;
                best_count = count;
                best_size = size;
            }
        }
        if (parts > 1)
            state->splits++;
        claims[distinct_matched++] = (uf_sort_pair){old_id, best};
        uint64_t *gid = &state->golden_of_cluster[best];
        if (*gid == 0 || best_count > kept_count[best] || (best_count == kept_count[best] && old_id < *gid)) {
            *gid = old_id;
            kept_count[best] = best_count;
        }
    }
    /* Old ids whose best cluster kept another id: merged into it. */
    for (size_t i = 0; i < distinct_matched; i++) {
        uint64_t keeper = state->golden_of_cluster[claims[i].value];
        if (keeper != claims[i].key) {
            if (redirect_add(&redirects, claims[i].key, keeper) != UF_OK) {
                free(kept_count);
                rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory assigning golden ids");
                goto done;
            }
            state->merges++;
        }
    }
    free(kept_count);

    state->next_golden_id = uf_store_writer_next_golden_id(writer);
    for (size_t c = 0; c < clusters; c++) {
        if (state->golden_of_cluster[c]) {
            state->kept_ids++;
        } else {
            state->golden_of_cluster[c] = state->next_golden_id++;
            state->new_ids++;
        }
    }
    state->vanished_ids = previous->profile_count > distinct_matched ? previous->profile_count - distinct_matched : 0;

    /* Carry older redirects forward, re-pointed at today's ids. */
    current = malloc((clusters ? clusters : 1) * sizeof *current);
    if (!current) {
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory assigning golden ids");
        goto done;
    }
    memcpy(current, state->golden_of_cluster, clusters * sizeof *current);
    if (!uf_sort_u64(current, clusters)) {
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory assigning golden ids");
        goto done;
    }
    if ((rc = sort_redirects(&redirects, err)) != UF_OK)
        goto done;
    carried_ctx carried = {&redirects, redirects.count, current, clusters};
    rc = uf_store_writer_scan_redirects(writer, carry_redirect, &carried, err);
    if (rc != UF_OK || (rc = sort_redirects(&redirects, err)) != UF_OK)
        goto done;
    state->redirect_from = redirects.from;
    state->redirect_to = redirects.to;
    state->redirect_count = redirects.count;
    redirects.from = redirects.to = NULL;
done:
    free(claims);
    free(current);
    free(redirects.from);
    free(redirects.to);
    return rc;
}
