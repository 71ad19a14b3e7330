/*
 * link.c — the guarded union and identifier linking (model in link.h).
 *
 * Why summaries per cluster and not per record: guards judge *clusters*
 * (a weak link between two records must not bridge two people already
 * assembled from strong evidence), so each union compares two small fixed
 * sets instead of walking members. A summary exists only for clusters of two
 * or more records, in a slot array indexed from the root (summary_of);
 * singletons are read straight from their record, so a run with 2.7 M
 * records pays 128 bytes only for the clusters that actually form, and
 * slots freed by merges are reused.
 *
 * Speed is memory latency: groups come in key order, so every union touches
 * records scattered over the whole run. The layouts are chosen to touch few
 * cache lines — a summary is exactly two aligned lines with the name sets in
 * the first; parent and size share a line (unionfind.h); a bitmap (in cache:
 * 1 bit per record) says which records hold limited keys before the index
 * is read — and the loads a union will need are prefetched as soon as their
 * addresses are known, so they overlap instead of queueing.
 *
 * Keys of limited kinds (max_per_profile > 0) are kept per summary as a list
 * sorted by (kind, key), so the limit check is one merge walk that counts
 * the distinct keys of each kind. A record's own limited keys come from a
 * CSR index over record ids (limited_start/limited) built once from the
 * sorted refs. Such keys are stored in 16 bytes: the kind in the low 16 bits
 * of key.lo (a 112-bit comparison of 128-bit hashes: a false match would
 * need a 2^-112 collision), which fits two inline in a summary and saves a
 * third of the index against storing the kind beside the key.
 *
 * Failure inside uf_linker_try_union (out of memory) cannot be returned
 * through its bool, so the linker remembers it (l->main.error), refuses every
 * later union and reports it from uf_linker_finish.
 */
#include "link.h"

#include "bigarray.h"

#include "parallel.h"
#include "sort.h"
#include "unionfind.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NO_SLOT UINT32_MAX
#define LIMITED_INLINE 2 /* most profiles hold one or two keys of limited kinds */

/* A key of a limited kind: key.hi, and key.lo with its low 16 bits replaced by the kind. */
typedef struct limited_value {
    uint64_t hi;
    uint64_t lo_kind;
} limited_value;

static inline uint32_t lv_kind(limited_value v)
{
    return (uint32_t)(v.lo_kind & 0xFFFF);
}

static inline limited_value lv_make(uf_key key, uint16_t kind)
{
    limited_value v = {key.hi, (key.lo & ~(uint64_t)0xFFFF) | kind};
    return v;
}

/* Two cache lines, 64-byte aligned: names in the first, the rest in the second. */
typedef struct cluster_summary {
    _Alignas(64) uint64_t first[UF_LINK_SUMMARY_VALUES];
    uint64_t last[UF_LINK_SUMMARY_VALUES];
    uint32_t dob[UF_LINK_SUMMARY_VALUES];
    uint8_t first_count, last_count, dob_count;
    uint32_t limited_count;
    uint32_t limited_cap; /* 0: the values are inline */
    uint32_t next_free;   /* free-list link while the slot is unused */
    union {
        limited_value inline_values[LIMITED_INLINE];
        limited_value *heap;
    } lim;
} cluster_summary;

_Static_assert(sizeof(cluster_summary) == 128, "a summary should be two cache lines");

/*
 * Summaries and edges live in fixed-size chunks rather than one doubling
 * array: no copy when they grow, and no half-empty doubled array at the
 * memory peak of the run (which is the end of linking).
 */
#define SUMMARY_CHUNK_BITS 15 /* 32 768 summaries = 4 MB per chunk */
#define SUMMARY_CHUNK ((size_t)1 << SUMMARY_CHUNK_BITS)
#define EDGE_CHUNK_BITS 16    /* 65 536 edges = 2 MB per chunk */
#define EDGE_CHUNK ((size_t)1 << EDGE_CHUNK_BITS)

/* A chunk of summary slots, handed out by one worker at a time. */
typedef struct summary_chunk {
    cluster_summary *slots;
    uint32_t used; /* slots handed out from it (high-water mark) */
} summary_chunk;

/* A chunk of edges; `order` (parallel linking only) holds each edge's place in the serial order. */
typedef struct edge_chunk {
    uf_link_edge *edges;
    uint64_t *order;
} edge_chunk;

/*
 * What one thread mutates while it links: counters, the sticky error,
 * scratch, its summary slots and its edges. The linker's own worker (`main`)
 * serves the serial paths and uf_linker_try_union; parallel identifier
 * linking gives every further thread one of its own and folds it back in
 * afterwards (see link_parallel).
 */
typedef struct link_worker {
    uf_link_stats stats;
    int error;                /* sticky: UF_OK while healthy */
    uint32_t free_slot;       /* free list of released summary slots */
    uint32_t chunk;           /* summary chunk it hands out from, NO_SLOT before the first */
    limited_value *merge_buf; /* scratch for merging two limited lists */
    size_t merge_cap;
    uint32_t *group_roots;    /* scratch: current roots of a weak group's records */
    size_t group_roots_cap;
    edge_chunk *edge_chunks;
    size_t edge_chunk_count, edge_chunk_cap;
    size_t edge_count;
    bool keep_order;          /* record an order key per edge (parallel linking) */
    uint64_t order;           /* the order key of the next edge */
    size_t phase1_edges;      /* edges made in phase 1 (parallel linking) */
} link_worker;

struct uf_linker {
    const uf_config *config;
    const uf_record *records;
    const uf_record_compare *cmp; /* per record, the table's; NULL: every field missing */
    size_t record_count;
    uf_unionfind uf;

    uint32_t *summary_of; /* per record: slot of the cluster rooted there, or NO_SLOT */
    summary_chunk *summary_chunks;
    size_t summary_chunk_count, summary_chunk_cap;
    bool parallel;               /* workers are running: chunk table pre-sized, claims locked */
    pthread_mutex_t chunk_lock;  /* taken to claim a summary chunk while parallel */

    int max_per_profile[UF_MAX_KINDS]; /* 0 = no limit */
    bool any_limited;
    uint32_t *limited_start; /* record_count + 1, NULL when no kind is limited */
    limited_value *limited;  /* per record, by (kind, key) */
    size_t limited_total;    /* entries of limited */
    uint64_t *has_limited;   /* bit per record: holds a limited key */

    uf_junk_identifier *junk;
    size_t junk_count, junk_cap;

    link_worker main;
    bool finished;  /* cluster state handed to a uf_clustering */
    bool identifiers_linked;
    bool others_tried; /* uf_linker_try_union was called */
};

/* ---- small helpers ------------------------------------------------------ */

/* Order by (kind, key). */
static int limited_compare(const limited_value *a, const limited_value *b)
{
    uint32_t ka = lv_kind(*a), kb = lv_kind(*b);
    if (ka != kb)
        return ka < kb ? -1 : 1;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->lo_kind != b->lo_kind)
        return a->lo_kind < b->lo_kind ? -1 : 1;
    return 0;
}

static inline cluster_summary *summary_at(const uf_linker *l, uint32_t slot)
{
    return &l->summary_chunks[slot >> SUMMARY_CHUNK_BITS].slots[slot & (SUMMARY_CHUNK - 1)];
}

/* ---- cluster views ------------------------------------------------------ */

/* What the guards see of one cluster: its summary, or its only record. */
typedef struct cluster_view {
    const uint64_t *first, *last;
    const uint32_t *dob;
    unsigned first_count, last_count, dob_count;
    const limited_value *limited; /* sorted by (kind, key) */
    size_t limited_count;
    uint64_t own_first, own_last; /* storage when the cluster is one record */
    uint32_t own_dob;
} cluster_view;

static void view_of_record(const uf_linker *l, uf_record_id r, cluster_view *v)
{
    static const uf_record_compare missing;
    const uf_record_compare *c = l->cmp ? &l->cmp[r] : &missing;
    v->own_first = c->first_name;
    v->own_last = c->last_name;
    v->own_dob = c->dob;
    v->first = &v->own_first;
    v->last = &v->own_last;
    v->dob = &v->own_dob;
    v->first_count = c->first_name != 0;
    v->last_count = c->last_name != 0;
    v->dob_count = c->dob != 0;
    if (l->has_limited && (l->has_limited[r >> 6] >> (r & 63) & 1)) {
        v->limited = l->limited + l->limited_start[r];
        v->limited_count = l->limited_start[r + 1] - l->limited_start[r];
    } else {
        v->limited = NULL;
        v->limited_count = 0;
    }
}

static const limited_value *summary_limited(const cluster_summary *s)
{
    return s->limited_cap ? s->lim.heap : s->lim.inline_values;
}

static void view_of_root(const uf_linker *l, uint32_t root, cluster_view *v)
{
    uint32_t slot = l->summary_of[root];
    if (slot == NO_SLOT) {
        view_of_record(l, root, v);
        return;
    }
    const cluster_summary *s = summary_at(l, slot);
    v->first = s->first;
    v->last = s->last;
    v->dob = s->dob;
    v->first_count = s->first_count;
    v->last_count = s->last_count;
    v->dob_count = s->dob_count;
    v->limited = summary_limited(s);
    v->limited_count = s->limited_count;
}

/* ---- guards ------------------------------------------------------------- */

static bool intersect64(const uint64_t *a, unsigned na, const uint64_t *b, unsigned nb)
{
    for (unsigned i = 0; i < na; i++)
        for (unsigned j = 0; j < nb; j++)
            if (a[i] == b[j])
                return true;
    return false;
}

static bool intersect32(const uint32_t *a, unsigned na, const uint32_t *b, unsigned nb)
{
    for (unsigned i = 0; i < na; i++)
        for (unsigned j = 0; j < nb; j++)
            if (a[i] == b[j])
                return true;
    return false;
}

/* Both have values and none is shared. Missing on either side is neutral. */
static bool first_disagree(const cluster_view *a, const cluster_view *b)
{
    return a->first_count && b->first_count && !intersect64(a->first, a->first_count, b->first, b->first_count);
}
static bool last_disagree(const cluster_view *a, const cluster_view *b)
{
    return a->last_count && b->last_count && !intersect64(a->last, a->last_count, b->last, b->last_count);
}
static bool dob_disagree(const cluster_view *a, const cluster_view *b)
{
    return a->dob_count && b->dob_count && !intersect32(a->dob, a->dob_count, b->dob, b->dob_count);
}

/* Both have values and some value is shared: positive evidence. */
static bool first_agree(const cluster_view *a, const cluster_view *b)
{
    return intersect64(a->first, a->first_count, b->first, b->first_count);
}
static bool last_agree(const cluster_view *a, const cluster_view *b)
{
    return intersect64(a->last, a->last_count, b->last, b->last_count);
}
static bool dob_agree(const cluster_view *a, const cluster_view *b)
{
    return intersect32(a->dob, a->dob_count, b->dob, b->dob_count);
}

static bool weak_guard_refuses(uf_agreement requires, const cluster_view *a, const cluster_view *b)
{
    switch (requires) {
    case UF_AGREE_NONE:
        return false;
    case UF_AGREE_NAME:
        return first_disagree(a, b) || last_disagree(a, b);
    case UF_AGREE_NAME_AND_DOB:
        return first_disagree(a, b) || last_disagree(a, b) || dob_disagree(a, b);
    }
    return false;
}

static bool override_agrees(uf_agreement requires, const cluster_view *a, const cluster_view *b)
{
    switch (requires) {
    case UF_AGREE_NONE:
        return false;
    case UF_AGREE_NAME:
        return first_agree(a, b) && last_agree(a, b);
    case UF_AGREE_NAME_AND_DOB:
        return first_agree(a, b) && last_agree(a, b) && dob_agree(a, b);
    }
    return false;
}

/*
 * The lowest limited kind for which the union would overflow, or -1. A kind
 * overflows when a ∪ b holds more distinct keys of it than max_per_profile
 * *and* each side brings a key the other lacks. The second condition
 * matters only for a profile already over its limit by an override (the
 * same person's two CRM accounts): it may still take records that hold no
 * key of that kind, or only keys it has, without proving the override again.
 * Both lists are sorted by (kind, key), so one merge walk counts everything.
 */
static int profile_limit_overflow(const uf_linker *l, const cluster_view *a, const cluster_view *b)
{
    size_t i = 0, j = 0, na = a->limited_count, nb = b->limited_count;
    if (na == 0 || nb == 0)
        return -1; /* one side brings nothing */
    limited_value x = a->limited[0], y = b->limited[0];
    while (i < na || j < nb) {
        /* One kind at a time: the smaller of the two lists' current kinds. */
        uint32_t kx = lv_kind(x), ky = lv_kind(y);
        uint32_t kind = i >= na ? ky : j >= nb ? kx : kx < ky ? kx : ky;
        size_t in_a = 0, in_b = 0, in_union = 0;
        for (;;) {
            bool has_a = i < na && lv_kind(x) == kind;
            bool has_b = j < nb && lv_kind(y) == kind;
            if (!has_a && !has_b)
                break;
            int c = !has_a ? 1 : !has_b ? -1 : limited_compare(&x, &y);
            if (c <= 0) {
                in_a++;
                if (++i < na)
                    x = a->limited[i];
            }
            if (c >= 0) {
                in_b++;
                if (++j < nb)
                    y = b->limited[j];
            }
            in_union++;
        }
        if (in_union > (size_t)l->max_per_profile[kind] && in_union > in_a && in_union > in_b)
            return (int)kind;
    }
    return -1;
}

/* ---- summaries ---------------------------------------------------------- */

static void set_add64(uint64_t *set, uint8_t *count, uint64_t v)
{
    if (v == 0)
        return;
    for (unsigned i = 0; i < *count; i++)
        if (set[i] == v)
            return;
    if (*count < UF_LINK_SUMMARY_VALUES)
        set[(*count)++] = v;
}

static void set_add32(uint32_t *set, uint8_t *count, uint32_t v)
{
    if (v == 0)
        return;
    for (unsigned i = 0; i < *count; i++)
        if (set[i] == v)
            return;
    if (*count < UF_LINK_SUMMARY_VALUES)
        set[(*count)++] = v;
}

/*
 * A new summary chunk for worker w. While workers run in parallel the chunk
 * table was sized beforehand (it must not move under the other threads'
 * reads), so a claim only takes the lock and an index.
 */
static bool claim_summary_chunk(uf_linker *l, link_worker *w)
{
    bool ok = false;
    if (l->parallel)
        pthread_mutex_lock(&l->chunk_lock);
    size_t c = l->summary_chunk_count;
    if (c < (NO_SLOT >> SUMMARY_CHUNK_BITS) &&
        (c < l->summary_chunk_cap ||
         (!l->parallel && uf_grow((void **)&l->summary_chunks, &l->summary_chunk_cap, c + 1, sizeof *l->summary_chunks)))) {
        cluster_summary *slots = uf_alloc_random_access(SUMMARY_CHUNK * sizeof *slots);
        if (slots) {
            l->summary_chunks[c].slots = slots;
            l->summary_chunks[c].used = 0;
            l->summary_chunk_count = c + 1;
            w->chunk = (uint32_t)c;
            ok = true;
        }
    }
    if (l->parallel)
        pthread_mutex_unlock(&l->chunk_lock);
    return ok;
}

/* A fresh, empty summary slot. NO_SLOT when out of memory. */
static uint32_t slot_alloc(uf_linker *l, link_worker *w)
{
    uint32_t s;
    if (w->free_slot != NO_SLOT) {
        s = w->free_slot;
        w->free_slot = summary_at(l, s)->next_free;
    } else {
        if ((w->chunk == NO_SLOT || l->summary_chunks[w->chunk].used == SUMMARY_CHUNK) && !claim_summary_chunk(l, w))
            return NO_SLOT;
        s = (w->chunk << SUMMARY_CHUNK_BITS) | l->summary_chunks[w->chunk].used++;
    }
    memset(summary_at(l, s), 0, sizeof(cluster_summary));
    return s;
}

static void slot_release(uf_linker *l, link_worker *w, uint32_t s)
{
    cluster_summary *sum = summary_at(l, s);
    if (sum->limited_cap)
        free(sum->lim.heap);
    sum->limited_cap = 0;
    sum->limited_count = 0;
    sum->next_free = w->free_slot;
    w->free_slot = s;
}

/* Add everything `src` holds to summary slot `dst`. UF_OK or UF_ERR_NOMEM. */
static int summary_absorb(uf_linker *l, link_worker *w, uint32_t dst_slot, const cluster_view *src)
{
    cluster_summary *dst = summary_at(l, dst_slot);
    for (unsigned i = 0; i < src->first_count; i++)
        set_add64(dst->first, &dst->first_count, src->first[i]);
    for (unsigned i = 0; i < src->last_count; i++)
        set_add64(dst->last, &dst->last_count, src->last[i]);
    for (unsigned i = 0; i < src->dob_count; i++)
        set_add32(dst->dob, &dst->dob_count, src->dob[i]);
    if (src->limited_count == 0)
        return UF_OK;

    /* Merge the two sorted lists into scratch, then store the result. */
    size_t na = dst->limited_count, nb = src->limited_count;
    if (!uf_grow((void **)&w->merge_buf, &w->merge_cap, na + nb, sizeof *w->merge_buf))
        return UF_ERR_NOMEM;
    const limited_value *a = summary_limited(dst);
    size_t i = 0, j = 0, m = 0;
    while (i < na || j < nb) {
        limited_value y = j < nb ? src->limited[j] : a[i];
        int c = i >= na ? 1 : j >= nb ? -1 : limited_compare(&a[i], &y);
        if (c <= 0) {
            w->merge_buf[m++] = a[i++];
            if (c == 0)
                j++;
        } else {
            w->merge_buf[m++] = y;
            j++;
        }
    }
    size_t cap = dst->limited_cap ? dst->limited_cap : LIMITED_INLINE;
    if (m > cap) {
        size_t new_cap = cap * 2 > m ? cap * 2 : m;
        limited_value *p = malloc(new_cap * sizeof *p);
        if (!p)
            return UF_ERR_NOMEM;
        if (dst->limited_cap)
            free(dst->lim.heap);
        dst->lim.heap = p;
        dst->limited_cap = (uint32_t)new_cap;
    }
    memcpy(dst->limited_cap ? dst->lim.heap : dst->lim.inline_values, w->merge_buf, m * sizeof *w->merge_buf);
    dst->limited_count = (uint32_t)m;
    return UF_OK;
}

/*
 * Unite two roots whose union the guards accepted, and merge their
 * summaries into the new root's slot.
 */
static int merge_clusters(uf_linker *l, link_worker *w, uint32_t ra, uint32_t rb)
{
    uint32_t root = uf_unionfind_link_roots(&l->uf, ra, rb);
    uint32_t child = root == ra ? rb : ra;
    uint32_t root_slot = l->summary_of[root], child_slot = l->summary_of[child];
    cluster_view v;
    int rc = UF_OK;
    if (root_slot != NO_SLOT && child_slot != NO_SLOT) {
        view_of_root(l, child, &v);
        rc = summary_absorb(l, w, root_slot, &v);
        slot_release(l, w, child_slot);
    } else if (root_slot != NO_SLOT) {
        view_of_record(l, child, &v);
        rc = summary_absorb(l, w, root_slot, &v);
    } else if (child_slot != NO_SLOT) {
        /* The root is a lone record yet won: impossible with union by size
         * (a slot means two or more records), handled for robustness. */
        l->summary_of[root] = child_slot;
        view_of_record(l, root, &v);
        rc = summary_absorb(l, w, child_slot, &v);
    } else {
        uint32_t slot = slot_alloc(l, w);
        if (slot == NO_SLOT)
            return UF_ERR_NOMEM;
        l->summary_of[root] = slot;
        view_of_record(l, root, &v);
        rc = summary_absorb(l, w, slot, &v);
        if (rc == UF_OK) {
            view_of_record(l, child, &v);
            rc = summary_absorb(l, w, slot, &v);
        }
    }
    l->summary_of[child] = NO_SLOT;
    return rc;
}

/* ---- the guarded union -------------------------------------------------- */

/*
 * The guarded union of two clusters by their roots (ra != rb), for the
 * evidence that records a and b share. Counts and records the outcome.
 */
static bool guarded_union_roots(uf_linker *l, link_worker *w, uf_record_id a, uf_record_id b, uint32_t ra,
                                uint32_t rb, uf_link_rule rule, uint16_t kind, uf_key key, float weight)
{
    /* Start every load the guards and the merge may need, side by side. */
    __builtin_prefetch(&l->summary_of[ra]);
    __builtin_prefetch(&l->summary_of[rb]);
    if (l->cmp) {
        __builtin_prefetch(l->cmp + ra);
        __builtin_prefetch(l->cmp + rb);
    }
    uint32_t slot_a = l->summary_of[ra], slot_b = l->summary_of[rb];
    if (slot_a != NO_SLOT) {
        __builtin_prefetch(summary_at(l, slot_a));
        __builtin_prefetch((const char *)summary_at(l, slot_a) + 64);
    }
    if (slot_b != NO_SLOT) {
        __builtin_prefetch(summary_at(l, slot_b));
        __builtin_prefetch((const char *)summary_at(l, slot_b) + 64);
    }

    cluster_view va, vb;
    view_of_root(l, ra, &va);
    view_of_root(l, rb, &vb);

    if (rule == UF_RULE_WEAK_IDENTIFIER && weak_guard_refuses(l->config->guards.weak_link_requires, &va, &vb)) {
        if (kind < UF_MAX_KINDS)
            w->stats.refused_disagree[kind]++;
        w->stats.refused_by_rule[rule]++;
        return false;
    }
    if (l->any_limited) {
        int over = profile_limit_overflow(l, &va, &vb);
        if (over >= 0 && !override_agrees(l->config->guards.profile_limit_override, &va, &vb)) {
            w->stats.refused_profile_limit[over]++;
            w->stats.refused_by_rule[rule]++;
            return false;
        }
    }

    if (w->edge_count == w->edge_chunk_count * EDGE_CHUNK) {
        edge_chunk chunk = {NULL, NULL};
        if (!uf_grow((void **)&w->edge_chunks, &w->edge_chunk_cap, w->edge_chunk_count + 1, sizeof *w->edge_chunks) ||
            !(chunk.edges = malloc(EDGE_CHUNK * sizeof *chunk.edges)) ||
            (w->keep_order && !(chunk.order = malloc(EDGE_CHUNK * sizeof *chunk.order)))) {
            free(chunk.edges);
            w->error = UF_ERR_NOMEM;
            return false;
        }
        w->edge_chunks[w->edge_chunk_count++] = chunk;
    }
    int rc = merge_clusters(l, w, ra, rb);
    if (rc != UF_OK) {
        w->error = rc;
        return false;
    }
    edge_chunk *ec = &w->edge_chunks[w->edge_count >> EDGE_CHUNK_BITS];
    uf_link_edge *e = &ec->edges[w->edge_count & (EDGE_CHUNK - 1)];
    if (w->keep_order)
        ec->order[w->edge_count & (EDGE_CHUNK - 1)] = w->order;
    w->edge_count++;
    memset(e, 0, sizeof *e);
    e->a = a;
    e->b = b;
    e->key = key;
    e->kind = kind;
    e->rule = (uint8_t)rule;
    e->weight = weight;
    if (kind < UF_MAX_KINDS)
        w->stats.links[kind]++;
    w->stats.links_by_rule[rule]++;
    return true;
}

static bool guarded_union(uf_linker *l, link_worker *w, uf_record_id a, uf_record_id b, uf_link_rule rule, uint16_t kind,
                          uf_key key, float weight)
{
    uint32_t ra = uf_unionfind_find(&l->uf, a), rb = uf_unionfind_find(&l->uf, b);
    if (ra == rb) {
        w->stats.already_linked_by_rule[rule]++;
        return true;
    }
    return guarded_union_roots(l, w, a, b, ra, rb, rule, kind, key, weight);
}

bool uf_linker_try_union(uf_linker *l, uf_record_id a, uf_record_id b, uf_link_rule rule,
                         uint16_t kind, uf_key key, float weight)
{
    if (!l || l->main.error != UF_OK || l->finished)
        return false;
    l->others_tried = true;
    if (a >= l->record_count || b >= l->record_count ||
        (rule != UF_RULE_STRONG_IDENTIFIER && rule != UF_RULE_WEAK_IDENTIFIER && rule != UF_RULE_SCORED) ||
        (kind != UF_LINK_NO_KIND && kind >= l->config->kind_count)) {
        l->main.error = UF_ERR_INVALID; /* a caller bug: fail the run rather than link wrongly */
        return false;
    }
    return guarded_union(l, &l->main, a, b, rule, kind, key, weight);
}

const char *uf_link_rule_name(int rule)
{
    switch (rule) {
    case UF_RULE_STRONG_IDENTIFIER: return "strong_identifier";
    case UF_RULE_WEAK_IDENTIFIER: return "weak_identifier";
    case UF_RULE_SCORED: return "scored";
    default: return "unknown";
    }
}

bool uf_linker_roots(uf_linker *l, uint32_t *out)
{
    if (!l || l->finished || l->main.error != UF_OK)
        return false;
    for (size_t r = 0; r < l->record_count; r++)
        out[r] = uf_unionfind_find(&l->uf, (uint32_t)r);
    return true;
}

bool uf_linker_same_cluster(uf_linker *l, uf_record_id a, uf_record_id b)
{
    if (!l || l->finished || l->main.error != UF_OK || a >= l->record_count || b >= l->record_count)
        return false;
    return uf_unionfind_same(&l->uf, a, b);
}

/* ---- construction ------------------------------------------------------- */

uf_linker *uf_linker_new(const uf_config *config, const uf_record_table *table, uf_error *err)
{
    if (!config || !table || (table->count > 0 && !table->records)) {
        uf_error_set(err, UF_ERR_INVALID, "linker: no config or record table");
        return NULL;
    }
    if (table->count >= NO_SLOT) {
        uf_error_set(err, UF_ERR_INVALID, "linker: %zu records exceed the limit of %u", table->count,
                     NO_SLOT - 1);
        return NULL;
    }
    if (config->kind_count > UF_MAX_KINDS) {
        uf_error_set(err, UF_ERR_INVALID, "linker: %zu attribute kinds exceed the limit of %d",
                     config->kind_count, UF_MAX_KINDS);
        return NULL;
    }
    uf_linker *l = calloc(1, sizeof *l);
    if (!l) {
        uf_error_set(err, UF_ERR_NOMEM, "linker: out of memory");
        return NULL;
    }
    l->config = config;
    l->records = table->records;
    l->cmp = table->cmp;
    l->record_count = table->count;
    l->main.free_slot = NO_SLOT;
    l->main.chunk = NO_SLOT;
    pthread_mutex_init(&l->chunk_lock, NULL);
    for (size_t k = 0; k < config->kind_count; k++) {
        const uf_kind_config *kc = &config->kinds[k];
        if (kc->is_identifier && kc->max_per_profile > 0) {
            l->max_per_profile[k] = kc->max_per_profile;
            l->any_limited = true;
        }
    }
    l->summary_of = uf_alloc_random_access(table->count * sizeof *l->summary_of);
    if (!l->summary_of || uf_unionfind_init(&l->uf, table->count) != UF_OK) {
        uf_linker_free(l);
        uf_error_set(err, UF_ERR_NOMEM, "linker: out of memory for %zu records", table->count);
        return NULL;
    }
    for (size_t i = 0; i < table->count; i++)
        l->summary_of[i] = NO_SLOT;
    return l;
}

static void free_summaries(uf_linker *l)
{
    for (size_t c = 0; c < l->summary_chunk_count; c++) {
        summary_chunk *chunk = &l->summary_chunks[c];
        for (size_t s = 0; s < chunk->used; s++)
            if (chunk->slots[s].limited_cap)
                free(chunk->slots[s].lim.heap);
        uf_free_random_access(chunk->slots, SUMMARY_CHUNK * sizeof(cluster_summary));
    }
    free(l->summary_chunks);
    l->summary_chunks = NULL;
    l->summary_chunk_count = l->summary_chunk_cap = 0;
    l->main.free_slot = NO_SLOT;
    l->main.chunk = NO_SLOT;
}

static void free_edges(link_worker *w)
{
    for (size_t c = 0; c < w->edge_chunk_count; c++) {
        free(w->edge_chunks[c].edges);
        free(w->edge_chunks[c].order);
    }
    free(w->edge_chunks);
    w->edge_chunks = NULL;
    w->edge_chunk_count = w->edge_chunk_cap = w->edge_count = 0;
}

/* Everything a worker owns except its summary slots (those belong to the linker's chunk table). */
static void worker_free(link_worker *w)
{
    free(w->merge_buf);
    free(w->group_roots);
    w->merge_buf = NULL;
    w->group_roots = NULL;
    w->merge_cap = w->group_roots_cap = 0;
    free_edges(w);
}

void uf_linker_free(uf_linker *l)
{
    if (!l)
        return;
    free_summaries(l);
    uf_free_random_access(l->summary_of, l->record_count * sizeof *l->summary_of);
    uf_free_random_access(l->limited_start, (l->record_count + 1) * sizeof *l->limited_start);
    uf_free_random_access(l->limited, l->limited_total * sizeof *l->limited);
    free(l->has_limited);
    worker_free(&l->main);
    free(l->junk);
    uf_unionfind_free(&l->uf);
    pthread_mutex_destroy(&l->chunk_lock);
    free(l);
}

const uf_link_stats *uf_linker_stats(const uf_linker *l)
{
    return &l->main.stats;
}

/* ---- identifier linking ------------------------------------------------- */

static size_t group_end(const uf_identifier_ref *refs, size_t n, size_t i)
{
    size_t j = i + 1;
    while (j < n && uf_key_equal(refs[j].key, refs[i].key))
        j++;
    return j;
}

static bool group_is_junk(const uf_linker *l, uint16_t kind, size_t records)
{
    int limit = l->config->kinds[kind].max_records;
    if (limit <= 0)
        limit = l->config->guards.max_records_per_identifier;
    return limit > 0 && records > (size_t)limit;
}

static bool refs_sorted(const uf_identifier_ref *refs, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (uf_identifier_ref_compare(&refs[i - 1], &refs[i]) > 0)
            return false;
    return true;
}

/* Index the (non-junk) keys of limited kinds by record: CSR over record ids. */
static int build_limited_index(uf_linker *l, const uf_identifier_ref *refs, size_t n, uf_error *err)
{
    size_t records = l->record_count;
    uint32_t *start = uf_alloc_random_access((records + 1) * sizeof *start);
    uint64_t *bits = calloc(records / 64 + 1, sizeof *bits);
    if (!start || !bits) {
        uf_free_random_access(start, (records + 1) * sizeof *start);
        free(bits);
        return uf_error_set(err, UF_ERR_NOMEM, "linker: out of memory indexing limited identifiers");
    }
    memset(start, 0, (records + 1) * sizeof *start);
    size_t total = 0;
    for (size_t g = 0; g < n;) {
        size_t end = group_end(refs, n, g);
        uint16_t kind = refs[g].kind;
        if (l->max_per_profile[kind] > 0 && !group_is_junk(l, kind, end - g)) {
            for (size_t i = g; i < end; i++)
                start[refs[i].record]++;
            total += end - g;
        }
        g = end;
    }
    limited_value *values = uf_alloc_random_access(total * sizeof *values);
    if (!values) {
        uf_free_random_access(start, (records + 1) * sizeof *start);
        free(bits);
        return uf_error_set(err, UF_ERR_NOMEM, "linker: out of memory indexing limited identifiers");
    }
    /* Exclusive prefix sums, then fill with start[r]++ as the cursor, which
     * leaves start[r] at the end of r: shift back by one. */
    uint32_t pos = 0;
    for (size_t r = 0; r < records; r++) {
        uint32_t c = start[r];
        start[r] = pos;
        pos += c;
    }
    for (size_t g = 0; g < n;) {
        size_t end = group_end(refs, n, g);
        uint16_t kind = refs[g].kind;
        if (l->max_per_profile[kind] > 0 && !group_is_junk(l, kind, end - g))
            for (size_t i = g; i < end; i++)
                values[start[refs[i].record]++] = lv_make(refs[g].key, kind);
        g = end;
    }
    for (size_t r = records; r > 0; r--)
        start[r] = start[r - 1];
    start[0] = 0;
    for (size_t r = 0; r < records; r++) {
        limited_value *a = values + start[r];
        size_t len = start[r + 1] - start[r];
        if (len > 0)
            bits[r >> 6] |= 1ULL << (r & 63);
        /* Each record's keys arrived in key order; the guards want (kind, key). */
        for (size_t i = 1; i < len; i++) {
            limited_value v = a[i];
            size_t j = i;
            while (j > 0 && limited_compare(&v, &a[j - 1]) < 0) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
    }
    l->limited_start = start;
    l->limited = values;
    l->limited_total = total;
    l->has_limited = bits;
    return UF_OK;
}

/*
 * Phase 1 for one group: a star from the first record. The centre's root is
 * carried from union to union instead of found again. `at` is the group's
 * index in the sorted refs: the order key of the edge made for member i is
 * at + i (phase 1 makes one edge per member at most).
 */
static void link_strong_group(uf_linker *l, link_worker *w, const uf_identifier_ref *group, size_t len,
                              uint16_t kind, size_t at)
{
    uf_record_id centre = group[0].record;
    uint32_t root = uf_unionfind_find(&l->uf, centre);
    for (size_t i = 1; i < len; i++) {
        uint32_t other = uf_unionfind_find(&l->uf, group[i].record);
        if (other == root) {
            w->stats.already_linked_by_rule[UF_RULE_STRONG_IDENTIFIER]++;
            continue;
        }
        w->order = at + i;
        if (guarded_union_roots(l, w, centre, group[i].record, root, other, UF_RULE_STRONG_IDENTIFIER, kind,
                                group[0].key, 0.0f))
            root = uf_unionfind_find(&l->uf, root);
        else if (w->error != UF_OK)
            return;
    }
}

/*
 * Phase 2 for one group: every pair, in (i, j) order. The group's current
 * roots are found once and kept up to date after each accepted union (only
 * this group's unions happen meanwhile), so the pairs that are already
 * together — most of them, after phase 1 — cost no find at all. The order
 * key of the edge of pair (i, j) is (at + i, at + j) in the high and low
 * 32 bits (refs are fewer than 2^32).
 */
static int link_weak_group(uf_linker *l, link_worker *w, const uf_identifier_ref *group, size_t len, uint16_t kind,
                           size_t at)
{
    if (!uf_grow((void **)&w->group_roots, &w->group_roots_cap, len, sizeof *w->group_roots))
        return w->error = UF_ERR_NOMEM;
    uint32_t *roots = w->group_roots;
    for (size_t i = 0; i < len; i++)
        roots[i] = uf_unionfind_find(&l->uf, group[i].record);
    for (size_t i = 0; i < len; i++) {
        for (size_t j = i + 1; j < len; j++) {
            if (roots[i] == roots[j]) {
                w->stats.already_linked_by_rule[UF_RULE_WEAK_IDENTIFIER]++;
                continue;
            }
            uint32_t ra = roots[i], rb = roots[j];
            w->order = (uint64_t)(at + i) << 32 | (uint64_t)(at + j);
            if (!guarded_union_roots(l, w, group[i].record, group[j].record, ra, rb, UF_RULE_WEAK_IDENTIFIER,
                                     kind, group[0].key, 0.0f)) {
                if (w->error != UF_OK)
                    return w->error;
                continue;
            }
            uint32_t root = uf_unionfind_find(&l->uf, ra);
            for (size_t m = 0; m < len; m++)
                if (roots[m] == ra || roots[m] == rb)
                    roots[m] = root;
        }
    }
    return UF_OK;
}

/*
 * Software prefetching for the phase loops. Groups arrive in key order, so
 * their records are scattered over every per-record array and a union is a
 * chain of cache misses. Touching the union-find nodes, comparison fields,
 * summary slots and limited-key index entries of the records 32 refs ahead
 * (and, inside guarded_union_roots, the next links of the chain as soon as
 * their addresses are known) lets those misses overlap instead of queueing:
 * about 20% off the linking time on the 2.7 M-record bench (noisy machine,
 * repeated runs). A deeper pipeline (reading the prefetched entries to
 * prefetch the roots' summaries from a second, nearer cursor) measured no
 * better. No effect on results.
 */
enum { PREFETCH_AHEAD = 32, PREFETCH_GROUPS_AHEAD = 24 };

static inline void prefetch_record(const uf_linker *l, uf_record_id r)
{
    __builtin_prefetch(&l->uf.nodes[r]);
    if (l->cmp)
        __builtin_prefetch(l->cmp + r);
    __builtin_prefetch(&l->summary_of[r]); /* the right slot while r is its own root */
    if (l->has_limited && (l->has_limited[r >> 6] >> (r & 63) & 1))
        __builtin_prefetch(&l->limited_start[r]);
}

static inline void prefetch_ahead(const uf_linker *l, const uf_identifier_ref *refs, size_t n, size_t *cursor,
                                  size_t upto)
{
    size_t end = upto + PREFETCH_AHEAD < n ? upto + PREFETCH_AHEAD : n;
    for (size_t i = *cursor; i < end; i++)
        prefetch_record(l, refs[i].record);
    if (end > *cursor)
        *cursor = end;
}

/* ---- parallel identifier linking ---------------------------------------- */

/*
 * Why it may run on several threads without changing a thing: a guarded
 * union only ever joins records that share a (non-junk, linking) identifier,
 * so every cluster lies inside one connected component of the graph "records
 * sharing such an identifier", and a guard reads only the two clusters it
 * judges. Components therefore never interact: linking each one with its
 * own groups in the serial order (phase 1 groups in key order, then phase 2
 * groups in key order) makes exactly the unions, refusals and summaries the
 * serial loop makes, whichever thread does it and whatever the others do
 * meanwhile. The union-find, summary_of and the summaries are shared arrays,
 * but each element belongs to one component and so is touched by one thread.
 *
 * The components come from a plain union-find over the groups first (no
 * guards, no summaries: a few ns per ref plus the memory latency, and the
 * limited-key index is built on another thread meanwhile), linking each root
 * under the smaller record id, so after one forward flattening pass every
 * record points at the smallest record of its component: a canonical name,
 * hashed to pick the thread.
 *
 * What a worker keeps of its own (counters, edges, summary chunks, scratch)
 * is folded back afterwards: counters are sums; each edge carries its place
 * in the serial order (the ref index of the member it joined in phase 1, the
 * pair of ref indices in phase 2), and the workers' edge lists — each
 * ascending in that order per phase — are merged back into the exact serial
 * order. So clusters, edges and stats are byte-identical to the serial loop
 * and to any thread count.
 */
enum { LINK_PARALLEL_MIN = 4096, MAX_LINK_THREADS = 64 };

static inline uint32_t component_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        uint32_t grand = parent[parent[x]];
        parent[x] = grand;
        x = grand;
    }
    return x;
}

/* Does the group starting at g link anything in phase 1 or 2? */
static inline bool group_links(const uf_linker *l, uint16_t kind, size_t len)
{
    uf_strength strength = l->config->kinds[kind].strength;
    return len > 1 && (strength == UF_STRENGTH_STRONG || strength == UF_STRENGTH_WEAK) &&
           !group_is_junk(l, kind, len);
}

typedef struct limited_job {
    uf_linker *l;
    const uf_identifier_ref *refs;
    size_t n;
    int rc;
    uf_error err;
} limited_job;

static void *limited_job_run(void *arg)
{
    limited_job *job = arg;
    job->rc = build_limited_index(job->l, job->refs, job->n, &job->err);
    return NULL;
}

typedef struct link_job {
    uf_linker *l;
    link_worker *w;
    const uf_identifier_ref *refs;
    size_t n;
    const uint32_t *active;  /* starts of the groups that link, in key order */
    const uint8_t *owner;    /* per active group: the thread that links it */
    size_t active_count;
    unsigned me;
} link_job;

static void link_job_phase(link_job *job, uf_strength strength)
{
    uf_linker *l = job->l;
    link_worker *w = job->w;
    const uf_identifier_ref *refs = job->refs;
    size_t n = job->n, ahead = 0;
    for (size_t k = 0; k < job->active_count && w->error == UF_OK; k++) {
        if (job->owner[k] != job->me)
            continue;
        /* Prefetch the records of this thread's groups a few groups ahead. */
        size_t until = k + PREFETCH_GROUPS_AHEAD < job->active_count ? k + PREFETCH_GROUPS_AHEAD : job->active_count;
        if (ahead < k + 1)
            ahead = k + 1;
        for (; ahead < until; ahead++) {
            if (job->owner[ahead] != job->me)
                continue;
            size_t g = job->active[ahead];
            uint16_t kind = refs[g].kind;
            if (l->config->kinds[kind].strength != strength)
                continue;
            size_t end = group_end(refs, n, g);
            for (size_t i = g; i < end; i++)
                prefetch_record(l, refs[i].record);
        }
        size_t g = job->active[k];
        uint16_t kind = refs[g].kind;
        if (l->config->kinds[kind].strength != strength)
            continue;
        size_t end = group_end(refs, n, g);
        if (strength == UF_STRENGTH_STRONG)
            link_strong_group(l, w, refs + g, end - g, kind, g);
        else
            link_weak_group(l, w, refs + g, end - g, kind, g);
    }
}

static void *link_job_run(void *arg)
{
    link_job *job = arg;
    link_job_phase(job, UF_STRENGTH_STRONG);
    job->w->phase1_edges = job->w->edge_count;
    link_job_phase(job, UF_STRENGTH_WEAK);
    return NULL;
}

static inline const uf_link_edge *worker_edge(const link_worker *w, size_t i, uint64_t *order)
{
    const edge_chunk *c = &w->edge_chunks[i >> EDGE_CHUNK_BITS];
    *order = c->order[i & (EDGE_CHUNK - 1)];
    return &c->edges[i & (EDGE_CHUNK - 1)];
}

/*
 * Merge the workers' edges into one list in serial order (phase 1 keys,
 * then phase 2 keys), freeing each source chunk once it is consumed.
 * Returns the merged list in *out (no order keys), or UF_ERR_NOMEM.
 */
static int merge_worker_edges(link_worker *workers, unsigned count, link_worker *out)
{
    size_t cursor[MAX_LINK_THREADS] = {0};
    for (int phase = 1; phase <= 2; phase++) {
        for (;;) {
            int best = -1;
            uint64_t best_order = 0;
            for (unsigned t = 0; t < count; t++) {
                size_t end = phase == 1 ? workers[t].phase1_edges : workers[t].edge_count;
                if (cursor[t] >= end)
                    continue;
                uint64_t o;
                worker_edge(&workers[t], cursor[t], &o);
                if (best < 0 || o < best_order) {
                    best = (int)t;
                    best_order = o;
                }
            }
            if (best < 0)
                break;
            link_worker *src = &workers[best];
            uint64_t o;
            const uf_link_edge *e = worker_edge(src, cursor[best], &o);
            if (out->edge_count == out->edge_chunk_count * EDGE_CHUNK) {
                edge_chunk chunk = {malloc(EDGE_CHUNK * sizeof *chunk.edges), NULL};
                if (!chunk.edges ||
                    !uf_grow((void **)&out->edge_chunks, &out->edge_chunk_cap, out->edge_chunk_count + 1,
                          sizeof *out->edge_chunks)) {
                    free(chunk.edges);
                    return UF_ERR_NOMEM;
                }
                out->edge_chunks[out->edge_chunk_count++] = chunk;
            }
            out->edge_chunks[out->edge_count >> EDGE_CHUNK_BITS].edges[out->edge_count & (EDGE_CHUNK - 1)] = *e;
            out->edge_count++;
            cursor[best]++;
            if ((cursor[best] & (EDGE_CHUNK - 1)) == 0) {
                /* Chunk done (phase 2 follows phase 1 in the list, so nothing comes back to it). */
                edge_chunk *done = &src->edge_chunks[(cursor[best] >> EDGE_CHUNK_BITS) - 1];
                free(done->edges);
                free(done->order);
                done->edges = NULL;
                done->order = NULL;
            }
        }
        if (phase == 1) /* phase 2 starts where phase 1 ended */
            for (unsigned t = 0; t < count; t++)
                cursor[t] = workers[t].phase1_edges;
    }
    return UF_OK;
}

static void add_stats(uf_link_stats *into, const uf_link_stats *from)
{
    /* Every member is a uint64_t counter, so the struct adds as an array. */
    uint64_t *dst = (uint64_t *)into;
    const uint64_t *src = (const uint64_t *)from;
    for (size_t i = 0; i < sizeof *into / sizeof(uint64_t); i++)
        dst[i] += src[i];
}

/*
 * Phases 1 and 2 on `threads` threads (model above). The limited-key index
 * is built (if needed) on a helper thread while the components are found.
 * Returns UF_OK or the first error (the linker is then failed).
 */
static int link_parallel(uf_linker *l, const uf_identifier_ref *refs, size_t n, unsigned threads, uf_error *err)
{
    size_t records = l->record_count;
    limited_job lim = {l, refs, n, UF_OK, {0}};
    pthread_t lim_tid;
    bool lim_started = false;
    if (l->any_limited)
        lim_started = pthread_create(&lim_tid, NULL, limited_job_run, &lim) == 0;

    /* Components: every record joined to the others of each linking group. */
    uint32_t *parent = uf_alloc_random_access(records * sizeof *parent);
    uint32_t *active = malloc((n / 2 + 1) * sizeof *active);
    uint8_t *owner = NULL;
    size_t active_count = 0;
    int rc = UF_OK;
    if (!parent || !active) {
        rc = UF_ERR_NOMEM;
    } else {
        for (size_t r = 0; r < records; r++)
            parent[r] = (uint32_t)r;
        size_t ahead = 0;
        for (size_t g = 0; g < n;) {
            size_t end = group_end(refs, n, g);
            if (group_links(l, refs[g].kind, end - g)) {
                active[active_count++] = (uint32_t)g;
                size_t until = end + PREFETCH_AHEAD < n ? end + PREFETCH_AHEAD : n;
                for (ahead = ahead > end ? ahead : end; ahead < until; ahead++)
                    __builtin_prefetch(&parent[refs[ahead].record]);
                uint32_t root = component_find(parent, refs[g].record);
                for (size_t i = g + 1; i < end; i++) {
                    uint32_t other = component_find(parent, refs[i].record);
                    if (other < root) {
                        parent[root] = other;
                        root = other;
                    } else if (other > root) {
                        parent[other] = root;
                    }
                }
            }
            g = end;
        }
        /* Roots are the smallest ids and parents point down: one forward pass flattens. */
        for (size_t r = 0; r < records; r++)
            parent[r] = parent[parent[r]];
        owner = malloc(active_count ? active_count : 1);
        if (!owner) {
            rc = UF_ERR_NOMEM;
        } else {
            for (size_t k = 0; k < active_count; k++) {
                if (k + PREFETCH_AHEAD < active_count)
                    __builtin_prefetch(&parent[refs[active[k + PREFETCH_AHEAD]].record]);
                uint64_t h = (uint64_t)parent[refs[active[k]].record] * 0x9E3779B97F4A7C15ULL;
                owner[k] = (uint8_t)((h >> 32) % threads);
            }
        }
    }
    uf_free_random_access(parent, records * sizeof *parent);

    if (lim_started) {
        pthread_join(lim_tid, NULL);
    } else if (l->any_limited) {
        lim.rc = build_limited_index(l, refs, n, &lim.err);
    }
    if (lim.rc != UF_OK) {
        free(active);
        free(owner);
        if (err)
            *err = lim.err;
        return l->main.error = lim.rc;
    }
    if (rc != UF_OK) {
        free(active);
        free(owner);
        return uf_error_set(err, l->main.error = rc, "linker: out of memory finding components");
    }

    /* The chunk table must not move while the workers read it: room for the most they can claim. */
    size_t chunks_needed = l->summary_chunk_count + records / 2 / SUMMARY_CHUNK + threads + 1;
    link_worker workers[MAX_LINK_THREADS];
    link_job jobs[MAX_LINK_THREADS];
    void *args[MAX_LINK_THREADS];
    if (!uf_grow((void **)&l->summary_chunks, &l->summary_chunk_cap, chunks_needed, sizeof *l->summary_chunks)) {
        free(active);
        free(owner);
        return uf_error_set(err, l->main.error = UF_ERR_NOMEM, "linker: out of memory");
    }
    for (unsigned t = 0; t < threads; t++) {
        if (t == 0) {
            workers[0] = l->main; /* the linker's own state goes on as worker 0 */
        } else {
            memset(&workers[t], 0, sizeof workers[t]);
            workers[t].free_slot = NO_SLOT;
            workers[t].chunk = NO_SLOT;
        }
        workers[t].keep_order = true;
        jobs[t] = (link_job){l, &workers[t], refs, n, active, owner, active_count, t};
        args[t] = &jobs[t];
    }
    l->parallel = true;
    uf_parallel_run(link_job_run, args, threads);
    l->parallel = false;
    free(active);
    free(owner);

    /* Fold the workers back into the linker: counters, first error, edges in serial order. */
    link_worker merged;
    memset(&merged, 0, sizeof merged);
    rc = UF_OK;
    for (unsigned t = 0; t < threads; t++)
        if (rc == UF_OK && workers[t].error != UF_OK)
            rc = workers[t].error;
    if (rc == UF_OK)
        rc = merge_worker_edges(workers, threads, &merged);
    l->main = workers[0];
    l->main.keep_order = false;
    free_edges(&l->main);
    l->main.edge_chunks = merged.edge_chunks;
    l->main.edge_chunk_count = merged.edge_chunk_count;
    l->main.edge_chunk_cap = merged.edge_chunk_cap;
    l->main.edge_count = merged.edge_count;
    for (unsigned t = 1; t < threads; t++) {
        /* Their released slots stay unused (still freed with the chunks). */
        add_stats(&l->main.stats, &workers[t].stats);
        worker_free(&workers[t]);
    }
    if (rc != UF_OK)
        return uf_error_set(err, l->main.error = rc, "linker: %s while linking identifiers", uf_strerror(rc));
    return UF_OK;
}

/*
 * One pass over the sorted refs, in parallel slices that start at a new key
 * (a key's refs never straddle two): duplicate (key, record) pairs collapse
 * (one record listing an e-mail twice holds it once), keys are counted and
 * junk by frequency is listed, in key order. Each slice compacts in place;
 * the slices are then moved together (only when something collapsed).
 */
typedef struct collapse_job {
    const uf_linker *l;
    uf_identifier_ref *refs;
    size_t begin, end;          /* the slice */
    size_t kept;                /* refs left at refs + begin */
    uint64_t distinct;
    uint64_t junk_keys[UF_MAX_KINDS], junk_refs[UF_MAX_KINDS];
    uf_junk_identifier *junk;
    size_t junk_count, junk_cap;
    bool nomem;
} collapse_job;

static void *collapse_slice(void *arg)
{
    collapse_job *job = arg;
    uf_identifier_ref *refs = job->refs;
    size_t m = job->begin;
    for (size_t i = job->begin; i < job->end; i++) {
        if (m > job->begin && uf_key_equal(refs[m - 1].key, refs[i].key) && refs[m - 1].record == refs[i].record)
            continue;
        refs[m++] = refs[i];
    }
    job->kept = m - job->begin;
    for (size_t g = job->begin; g < m;) {
        size_t end = group_end(refs, m, g);
        uint16_t kind = refs[g].kind;
        job->distinct++;
        if (group_is_junk(job->l, kind, end - g)) {
            if (!uf_grow((void **)&job->junk, &job->junk_cap, job->junk_count + 1, sizeof *job->junk)) {
                job->nomem = true;
                return NULL;
            }
            uf_junk_identifier *j = &job->junk[job->junk_count++];
            memset(j, 0, sizeof *j);
            j->key = refs[g].key;
            j->records = (uint32_t)(end - g);
            j->kind = kind;
            job->junk_keys[kind]++;
            job->junk_refs[kind] += end - g;
        }
        g = end;
    }
    return NULL;
}

static int collapse_and_find_junk(uf_linker *l, uf_identifier_ref *refs, size_t *count, int threads, uf_error *err)
{
    size_t n = *count;
    size_t slices = threads > 1 && n >= LINK_PARALLEL_MIN ? 2 : 1;
    collapse_job jobs[2];
    void *args[2];
    size_t begin = 0;
    for (size_t t = 0; t < slices; t++) {
        size_t end = t + 1 == slices ? n : n / slices * (t + 1);
        while (end < n && end > begin && uf_key_equal(refs[end].key, refs[end - 1].key))
            end++; /* a slice ends where a key does */
        memset(&jobs[t], 0, sizeof jobs[t]);
        jobs[t].l = l;
        jobs[t].refs = refs;
        jobs[t].begin = begin;
        jobs[t].end = end;
        args[t] = &jobs[t];
        begin = end;
    }
    uf_parallel_run(collapse_slice, args, slices);
    link_worker *w = &l->main;
    size_t m = 0;
    int rc = UF_OK;
    for (size_t t = 0; t < slices; t++) {
        collapse_job *job = &jobs[t];
        if (job->nomem || (job->junk_count && !uf_grow((void **)&l->junk, &l->junk_cap,
                                                         l->junk_count + job->junk_count, sizeof *l->junk)))
            rc = UF_ERR_NOMEM;
        if (rc == UF_OK) {
            if (m != job->begin)
                memmove(refs + m, refs + job->begin, job->kept * sizeof *refs);
            m += job->kept;
            if (job->junk_count)
                memcpy(l->junk + l->junk_count, job->junk, job->junk_count * sizeof *job->junk);
            l->junk_count += job->junk_count;
            w->stats.distinct_identifiers += job->distinct;
            for (size_t k = 0; k < UF_MAX_KINDS; k++) {
                w->stats.junk_keys[k] += job->junk_keys[k];
                w->stats.junk_refs[k] += job->junk_refs[k];
            }
        }
        free(job->junk);
    }
    if (rc != UF_OK)
        return uf_error_set(err, UF_ERR_NOMEM, "linker: out of memory");
    w->stats.duplicate_refs = n - m;
    w->stats.identifier_refs = m;
    *count = m;
    return UF_OK;
}

/* The refs checked in slices on the run's threads (8 M refs at 1 M customers: 0.02 s of one core). */
typedef struct ref_check {
    const uf_linker *l;
    const uf_identifier_ref *refs;
    size_t begin, end;
    size_t bad; /* first ref of the slice naming an unknown record or a kind that is no identifier; end if none */
} ref_check;

static void *check_refs(void *arg)
{
    ref_check *c = arg;
    const uf_config *config = c->l->config;
    c->bad = c->end;
    for (size_t i = c->begin; i < c->end; i++) {
        const uf_identifier_ref *r = &c->refs[i];
        if (r->record >= c->l->record_count || r->kind >= config->kind_count ||
            !config->kinds[r->kind].is_identifier) {
            c->bad = i;
            break;
        }
    }
    return NULL;
}

/* The first invalid ref, or n when all are valid. */
static size_t first_bad_ref(const uf_linker *l, const uf_identifier_ref *refs, size_t n, int threads)
{
    size_t slices = threads > 1 && n >= LINK_PARALLEL_MIN ? (size_t)threads : 1;
    if (slices > UF_PARALLEL_MAX)
        slices = UF_PARALLEL_MAX;
    ref_check checks[UF_PARALLEL_MAX];
    void *args[UF_PARALLEL_MAX];
    for (size_t t = 0; t < slices; t++) {
        checks[t] = (ref_check){l, refs, n * t / slices, n * (t + 1) / slices, 0};
        args[t] = &checks[t];
    }
    uf_parallel_run(check_refs, args, slices);
    for (size_t t = 0; t < slices; t++)
        if (checks[t].bad < checks[t].end)
            return checks[t].bad;
    return n;
}

int uf_linker_link_identifiers(uf_linker *l, uf_record_table *table, int threads, uf_error *err)
{
    if (l->main.error != UF_OK)
        return uf_error_set(err, l->main.error, "linker: failed earlier (%s)", uf_strerror(l->main.error));
    if (l->finished || l->identifiers_linked)
        return uf_error_set(err, UF_ERR_INVALID, "linker: identifiers already linked");
    if (l->others_tried) /* their summaries would lack the limited keys indexed here */
        return uf_error_set(err, UF_ERR_INVALID, "linker: identifiers must be linked before other evidence");
    if (table->records != l->records || table->count != l->record_count)
        return uf_error_set(err, UF_ERR_INVALID, "linker: not the record table it was made for");
    uf_identifier_ref *refs = table->identifiers;
    size_t n = table->identifier_count;
    const uf_config *config = l->config;
    size_t bad = first_bad_ref(l, refs, n, threads);
    if (bad < n && refs[bad].record >= l->record_count)
        return uf_error_set(err, UF_ERR_INVALID, "linker: identifier ref %zu names record %u of %zu", bad,
                            refs[bad].record, l->record_count);
    if (bad < n)
        return uf_error_set(err, UF_ERR_INVALID, "linker: identifier ref %zu has kind %u, not an identifier kind",
                            bad, (unsigned)refs[bad].kind);
    if (n >= UINT32_MAX)
        return uf_error_set(err, UF_ERR_INVALID, "linker: %zu identifier refs exceed the limit of %u", n,
                            UINT32_MAX - 1);
    l->identifiers_linked = true;
    link_worker *w = &l->main;

    if (!refs_sorted(refs, n))
        uf_sort_identifier_refs(refs, n, threads);

    int collapsed = collapse_and_find_junk(l, refs, &n, threads, err);
    if (collapsed != UF_OK)
        return w->error = collapsed;
    table->identifier_count = n;

    if (threads > MAX_LINK_THREADS)
        threads = MAX_LINK_THREADS;
    if (threads > 1 && n >= LINK_PARALLEL_MIN)
        return link_parallel(l, refs, n, (unsigned)threads, err);

    if (l->any_limited) {
        int rc = build_limited_index(l, refs, n, err);
        if (rc != UF_OK)
            return w->error = rc;
    }

    /* Phase 1: strong identifiers, star from the group's first record. */
    size_t ahead = 0;
    for (size_t g = 0; g < n;) {
        size_t end = group_end(refs, n, g);
        uint16_t kind = refs[g].kind;
        prefetch_ahead(l, refs, n, &ahead, end);
        if (end - g > 1 && config->kinds[kind].strength == UF_STRENGTH_STRONG && !group_is_junk(l, kind, end - g))
            link_strong_group(l, w, refs + g, end - g, kind, g);
        g = end;
    }
    /* Phase 2: weak identifiers, every pair, judged against what phase 1 built. */
    ahead = 0;
    for (size_t g = 0; g < n;) {
        size_t end = group_end(refs, n, g);
        uint16_t kind = refs[g].kind;
        prefetch_ahead(l, refs, n, &ahead, end);
        if (end - g > 1 && config->kinds[kind].strength == UF_STRENGTH_WEAK && !group_is_junk(l, kind, end - g)) {
            int rc = link_weak_group(l, w, refs + g, end - g, kind, g);
            if (rc != UF_OK)
                return uf_error_set(err, rc, "linker: out of memory");
        }
        g = end;
    }
    if (w->error != UF_OK)
        return uf_error_set(err, w->error, "linker: %s while linking identifiers", uf_strerror(w->error));
    return UF_OK;
}

/* ---- result ------------------------------------------------------------- */

/* The worker's edge chunks copied into one array, each chunk freed once copied. */
typedef struct edge_gathering {
    link_worker *w;
    uf_link_edge *edges;
} edge_gathering;

static void *gather_edges(void *arg)
{
    edge_gathering *g = arg;
    link_worker *w = g->w;
    for (size_t c = 0; c < w->edge_chunk_count; c++) {
        size_t first = c * EDGE_CHUNK, len = w->edge_count - first < EDGE_CHUNK ? w->edge_count - first : EDGE_CHUNK;
        memcpy(g->edges + first, w->edge_chunks[c].edges, len * sizeof *g->edges);
        free(w->edge_chunks[c].edges); /* as we go: the edges never exist twice */
        w->edge_chunks[c].edges = NULL;
    }
    free_edges(w);
    return NULL;
}

int uf_linker_finish(uf_linker *l, uf_clustering *out, uf_error *err)
{
    memset(out, 0, sizeof *out);
    if (l->main.error != UF_OK)
        return uf_error_set(err, l->main.error, "linker: failed earlier (%s)", uf_strerror(l->main.error));
    if (l->finished)
        return uf_error_set(err, UF_ERR_INVALID, "linker: already finished");
    size_t n = l->record_count;

    /* The guards' state is no longer needed: free it before allocating the result. */
    free_summaries(l);
    uf_free_random_access(l->limited_start, (n + 1) * sizeof *l->limited_start);
    uf_free_random_access(l->limited, l->limited_total * sizeof *l->limited);
    free(l->has_limited);
    l->limited_start = NULL;
    l->limited = NULL;
    l->has_limited = NULL;
    link_worker *w = &l->main;
    free(w->merge_buf);
    w->merge_buf = NULL;
    w->merge_cap = 0;

    /* The edges into one array, now that the summaries' memory is free, on
     * a thread of their own while the clusters are numbered below. */
    uf_link_edge *edges = malloc((w->edge_count ? w->edge_count : 1) * sizeof *edges);
    if (!edges)
        return uf_error_set(err, w->error = UF_ERR_NOMEM, "linker: out of memory for %zu edges", w->edge_count);
    size_t edge_count = w->edge_count;
    edge_gathering gathering = {w, edges};
    uf_task gather_task = {0};
    if (l->config->threads > 1)
        uf_task_start(&gather_task, gather_edges, &gathering);
    else
        gather_edges(&gathering);

    /* Number clusters in order of their smallest record (the first record
     * seen of each); summary_of becomes root -> cluster number. */
    uint32_t *cluster_of = malloc((n ? n : 1) * sizeof *cluster_of);
    if (!cluster_of) {
        uf_task_finish(&gather_task);
        free(edges);
        return uf_error_set(err, w->error = UF_ERR_NOMEM, "linker: out of memory for %zu records", n);
    }
    uint32_t *cluster_of_root = l->summary_of;
    for (size_t r = 0; r < n; r++)
        cluster_of_root[r] = NO_SLOT;
    uint32_t clusters = 0;
    for (size_t r = 0; r < n; r++) {
        uint32_t root = uf_unionfind_find(&l->uf, (uint32_t)r);
        if (cluster_of_root[root] == NO_SLOT)
            cluster_of_root[root] = clusters++;
        cluster_of[r] = cluster_of_root[root];
    }
    uf_unionfind_free(&l->uf);
    uf_task_finish(&gather_task);

    uint32_t *member_start = NULL;
    uf_record_id *members = malloc((n ? n : 1) * sizeof *members);
    if (!members) {
        free(cluster_of);
        free(edges);
        return uf_error_set(err, w->error = UF_ERR_NOMEM, "linker: out of memory for %zu cluster members", n);
    }

    member_start = calloc((size_t)clusters + 1, sizeof *member_start);
    if (!member_start) {
        free(members);
        free(cluster_of);
        free(edges);
        return uf_error_set(err, w->error = UF_ERR_NOMEM, "linker: out of memory for %u clusters", clusters);
    }
    for (size_t r = 0; r < n; r++)
        member_start[cluster_of[r] + 1]++;
    for (uint32_t c = 0; c < clusters; c++)
        member_start[c + 1] += member_start[c];
    /* Records in ascending order land in ascending order within each cluster. */
    uint32_t *cursor = cluster_of_root;
    memcpy(cursor, member_start, (size_t)clusters * sizeof *cursor);
    for (size_t r = 0; r < n; r++)
        members[cursor[cluster_of[r]]++] = (uf_record_id)r;

    out->cluster_of = cluster_of;
    out->member_start = member_start;
    out->members = members;
    out->record_count = n;
    out->cluster_count = clusters;
    out->edges = edges;
    out->edge_count = edge_count;
    out->junk = l->junk;
    out->junk_count = l->junk_count;
    l->junk = NULL;
    l->junk_count = l->junk_cap = 0;

    uf_free_random_access(l->summary_of, n * sizeof *l->summary_of);
    l->summary_of = NULL;
    l->finished = true;
    return UF_OK;
}

void uf_clustering_free(uf_clustering *c)
{
    if (!c)
        return;
    free(c->cluster_of);
    free(c->member_start);
    free(c->members);
    free(c->edges);
    free(c->junk);
    memset(c, 0, sizeof *c);
}
