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
 * through its bool, so the linker remembers it (l->error), refuses every
 * later union and reports it from uf_linker_finish.
 */
#include "link.h"

#include "sort.h"
#include "unionfind.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

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

struct uf_linker {
    const uf_config *config;
    const uf_record *records;
    size_t record_count;
    uf_unionfind uf;

    uint32_t *summary_of; /* per record: slot of the cluster rooted there, or NO_SLOT */
    cluster_summary **summary_chunks;
    size_t summary_chunk_count, summary_chunk_cap;
    size_t summary_count; /* slots ever handed out (high-water mark) */
    uint32_t free_slot;

    int max_per_profile[UF_MAX_KINDS]; /* 0 = no limit */
    bool any_limited;
    uint32_t *limited_start; /* record_count + 1, NULL when no kind is limited */
    limited_value *limited;  /* per record, by (kind, key) */
    size_t limited_total;    /* entries of limited */
    uint64_t *has_limited;   /* bit per record: holds a limited key */
    limited_value *merge_buf; /* scratch for merging two limited lists */
    size_t merge_cap;
    uint32_t *group_roots;    /* scratch: current roots of a weak group's records */
    size_t group_roots_cap;

    uf_link_edge **edge_chunks;
    size_t edge_chunk_count, edge_chunk_cap;
    size_t edge_count;
    uf_junk_identifier *junk;
    size_t junk_count, junk_cap;

    uf_link_stats stats;
    int error;      /* sticky: UF_OK while healthy */
    bool finished;  /* cluster state handed to a uf_clustering */
    bool identifiers_linked;
    bool others_tried; /* uf_linker_try_union was called */
};

/* ---- small helpers ------------------------------------------------------ */

/*
 * Arrays read at random (one entry per record) get transparent huge pages
 * when the system allows it: here (a VM, THP on madvise) a dependent random
 * read over 256 MB measured ~330 ns with 4 KB pages and ~200 ns with 2 MB
 * pages, because each TLB miss is a nested page walk. Big arrays are mapped
 * directly (2 MB aligned) so that freeing them returns the memory to the
 * system at once — malloc may keep freed blocks, and the end of linking is
 * the memory peak of a run. madvise is advisory: if it fails the memory is
 * simply ordinary.
 */
#define HUGE_PAGE_BYTES ((size_t)2 << 20)

static void *alloc_random_access(size_t bytes)
{
    if (bytes < HUGE_PAGE_BYTES)
        return aligned_alloc(64, bytes < 64 ? 64 : (bytes + 63) & ~(size_t)63);
    size_t rounded = (bytes + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
    size_t span = rounded + HUGE_PAGE_BYTES;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* Keep the 2 MB-aligned middle, unmap the ends. */
    size_t head = (HUGE_PAGE_BYTES - (uintptr_t)p % HUGE_PAGE_BYTES) % HUGE_PAGE_BYTES;
    if (head)
        munmap(p, head);
    if (span - head > rounded)
        munmap(p + head + rounded, span - head - rounded);
#ifdef MADV_HUGEPAGE
    madvise(p + head, rounded, MADV_HUGEPAGE);
#endif
    return p + head;
}

/* Free what alloc_random_access(bytes) returned (NULL allowed). */
static void free_random_access(void *p, size_t bytes)
{
    if (!p)
        return;
    if (bytes < HUGE_PAGE_BYTES)
        free(p);
    else
        munmap(p, (bytes + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1));
}

/* Grow *array (elements of `size` bytes) to hold at least `need`. */
static bool grow(void **array, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*array, n * size);
    if (!p)
        return false;
    *array = p;
    *cap = n;
    return true;
}

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
    return &l->summary_chunks[slot >> SUMMARY_CHUNK_BITS][slot & (SUMMARY_CHUNK - 1)];
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
    const uf_record_compare *c = &l->records[r].cmp;
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

/* A fresh, empty summary slot. NO_SLOT when out of memory. */
static uint32_t slot_alloc(uf_linker *l)
{
    uint32_t s;
    if (l->free_slot != NO_SLOT) {
        s = l->free_slot;
        l->free_slot = summary_at(l, s)->next_free;
    } else {
        if (l->summary_count >= NO_SLOT)
            return NO_SLOT;
        if (l->summary_count == l->summary_chunk_count * SUMMARY_CHUNK) {
            if (!grow((void **)&l->summary_chunks, &l->summary_chunk_cap, l->summary_chunk_count + 1,
                      sizeof *l->summary_chunks))
                return NO_SLOT;
            cluster_summary *chunk = alloc_random_access(SUMMARY_CHUNK * sizeof *chunk);
            if (!chunk)
                return NO_SLOT;
            l->summary_chunks[l->summary_chunk_count++] = chunk;
        }
        s = (uint32_t)l->summary_count++;
    }
    memset(summary_at(l, s), 0, sizeof(cluster_summary));
    return s;
}

static void slot_release(uf_linker *l, uint32_t s)
{
    cluster_summary *sum = summary_at(l, s);
    if (sum->limited_cap)
        free(sum->lim.heap);
    sum->limited_cap = 0;
    sum->limited_count = 0;
    sum->next_free = l->free_slot;
    l->free_slot = s;
}

/* Add everything `src` holds to summary slot `dst`. UF_OK or UF_ERR_NOMEM. */
static int summary_absorb(uf_linker *l, uint32_t dst_slot, const cluster_view *src)
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
    if (!grow((void **)&l->merge_buf, &l->merge_cap, na + nb, sizeof *l->merge_buf))
        return UF_ERR_NOMEM;
    const limited_value *a = summary_limited(dst);
    size_t i = 0, j = 0, m = 0;
    while (i < na || j < nb) {
        limited_value y = j < nb ? src->limited[j] : a[i];
        int c = i >= na ? 1 : j >= nb ? -1 : limited_compare(&a[i], &y);
        if (c <= 0) {
            l->merge_buf[m++] = a[i++];
            if (c == 0)
                j++;
        } else {
            l->merge_buf[m++] = y;
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
    memcpy(dst->limited_cap ? dst->lim.heap : dst->lim.inline_values, l->merge_buf, m * sizeof *l->merge_buf);
    dst->limited_count = (uint32_t)m;
    return UF_OK;
}

/*
 * Unite two roots whose union the guards accepted, and merge their
 * summaries into the new root's slot.
 */
static int merge_clusters(uf_linker *l, uint32_t ra, uint32_t rb)
{
    uint32_t root = uf_unionfind_link_roots(&l->uf, ra, rb);
    uint32_t child = root == ra ? rb : ra;
    uint32_t root_slot = l->summary_of[root], child_slot = l->summary_of[child];
    cluster_view v;
    int rc = UF_OK;
    if (root_slot != NO_SLOT && child_slot != NO_SLOT) {
        view_of_root(l, child, &v);
        rc = summary_absorb(l, root_slot, &v);
        slot_release(l, child_slot);
    } else if (root_slot != NO_SLOT) {
        view_of_record(l, child, &v);
        rc = summary_absorb(l, root_slot, &v);
    } else if (child_slot != NO_SLOT) {
        /* The root is a lone record yet won: impossible with union by size
         * (a slot means two or more records), handled for robustness. */
        l->summary_of[root] = child_slot;
        view_of_record(l, root, &v);
        rc = summary_absorb(l, child_slot, &v);
    } else {
        uint32_t slot = slot_alloc(l);
        if (slot == NO_SLOT)
            return UF_ERR_NOMEM;
        l->summary_of[root] = slot;
        view_of_record(l, root, &v);
        rc = summary_absorb(l, slot, &v);
        if (rc == UF_OK) {
            view_of_record(l, child, &v);
            rc = summary_absorb(l, slot, &v);
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
static bool guarded_union_roots(uf_linker *l, uf_record_id a, uf_record_id b, uint32_t ra, uint32_t rb,
                                uf_link_rule rule, uint16_t kind, uf_key key, float weight)
{
    /* Start every load the guards and the merge may need, side by side. */
    __builtin_prefetch(&l->summary_of[ra]);
    __builtin_prefetch(&l->summary_of[rb]);
    __builtin_prefetch(&l->records[ra].cmp);
    __builtin_prefetch(&l->records[rb].cmp);
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
            l->stats.refused_disagree[kind]++;
        l->stats.refused_by_rule[rule]++;
        return false;
    }
    if (l->any_limited) {
        int over = profile_limit_overflow(l, &va, &vb);
        if (over >= 0 && !override_agrees(l->config->guards.profile_limit_override, &va, &vb)) {
            l->stats.refused_profile_limit[over]++;
            l->stats.refused_by_rule[rule]++;
            return false;
        }
    }

    if (l->edge_count == l->edge_chunk_count * EDGE_CHUNK) {
        uf_link_edge *chunk = NULL;
        if (!grow((void **)&l->edge_chunks, &l->edge_chunk_cap, l->edge_chunk_count + 1, sizeof *l->edge_chunks) ||
            !(chunk = malloc(EDGE_CHUNK * sizeof *chunk))) {
            l->error = UF_ERR_NOMEM;
            return false;
        }
        l->edge_chunks[l->edge_chunk_count++] = chunk;
    }
    int rc = merge_clusters(l, ra, rb);
    if (rc != UF_OK) {
        l->error = rc;
        return false;
    }
    uf_link_edge *e = &l->edge_chunks[l->edge_count >> EDGE_CHUNK_BITS][l->edge_count & (EDGE_CHUNK - 1)];
    l->edge_count++;
    memset(e, 0, sizeof *e);
    e->a = a;
    e->b = b;
    e->key = key;
    e->kind = kind;
    e->rule = (uint8_t)rule;
    e->weight = weight;
    if (kind < UF_MAX_KINDS)
        l->stats.links[kind]++;
    l->stats.links_by_rule[rule]++;
    return true;
}

static bool guarded_union(uf_linker *l, uf_record_id a, uf_record_id b, uf_link_rule rule, uint16_t kind,
                          uf_key key, float weight)
{
    uint32_t ra = uf_unionfind_find(&l->uf, a), rb = uf_unionfind_find(&l->uf, b);
    if (ra == rb) {
        l->stats.already_linked_by_rule[rule]++;
        return true;
    }
    return guarded_union_roots(l, a, b, ra, rb, rule, kind, key, weight);
}

bool uf_linker_try_union(uf_linker *l, uf_record_id a, uf_record_id b, uf_link_rule rule,
                         uint16_t kind, uf_key key, float weight)
{
    if (!l || l->error != UF_OK || l->finished)
        return false;
    l->others_tried = true;
    if (a >= l->record_count || b >= l->record_count ||
        (rule != UF_RULE_STRONG_IDENTIFIER && rule != UF_RULE_WEAK_IDENTIFIER && rule != UF_RULE_SCORED) ||
        (kind != UF_LINK_NO_KIND && kind >= l->config->kind_count)) {
        l->error = UF_ERR_INVALID; /* a caller bug: fail the run rather than link wrongly */
        return false;
    }
    return guarded_union(l, a, b, rule, kind, key, weight);
}

bool uf_linker_same_cluster(uf_linker *l, uf_record_id a, uf_record_id b)
{
    if (!l || l->finished || l->error != UF_OK || a >= l->record_count || b >= l->record_count)
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
    l->record_count = table->count;
    l->free_slot = NO_SLOT;
    for (size_t k = 0; k < config->kind_count; k++) {
        const uf_kind_config *kc = &config->kinds[k];
        if (kc->is_identifier && kc->max_per_profile > 0) {
            l->max_per_profile[k] = kc->max_per_profile;
            l->any_limited = true;
        }
    }
    l->summary_of = alloc_random_access(table->count * sizeof *l->summary_of);
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
    for (size_t s = 0; s < l->summary_count; s++) {
        cluster_summary *sum = summary_at(l, (uint32_t)s);
        if (sum->limited_cap)
            free(sum->lim.heap);
    }
    for (size_t c = 0; c < l->summary_chunk_count; c++)
        free_random_access(l->summary_chunks[c], SUMMARY_CHUNK * sizeof(cluster_summary));
    free(l->summary_chunks);
    l->summary_chunks = NULL;
    l->summary_chunk_count = l->summary_chunk_cap = l->summary_count = 0;
    l->free_slot = NO_SLOT;
}

static void free_edges(uf_linker *l)
{
    for (size_t c = 0; c < l->edge_chunk_count; c++)
        free(l->edge_chunks[c]);
    free(l->edge_chunks);
    l->edge_chunks = NULL;
    l->edge_chunk_count = l->edge_chunk_cap = l->edge_count = 0;
}

void uf_linker_free(uf_linker *l)
{
    if (!l)
        return;
    free_summaries(l);
    free_random_access(l->summary_of, l->record_count * sizeof *l->summary_of);
    free_random_access(l->limited_start, (l->record_count + 1) * sizeof *l->limited_start);
    free_random_access(l->limited, l->limited_total * sizeof *l->limited);
    free(l->has_limited);
    free(l->merge_buf);
    free(l->group_roots);
    free_edges(l);
    free(l->junk);
    uf_unionfind_free(&l->uf);
    free(l);
}

const uf_link_stats *uf_linker_stats(const uf_linker *l)
{
    return &l->stats;
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
    uint32_t *start = alloc_random_access((records + 1) * sizeof *start);
    uint64_t *bits = calloc(records / 64 + 1, sizeof *bits);
    if (!start || !bits) {
        free_random_access(start, (records + 1) * sizeof *start);
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
    limited_value *values = alloc_random_access(total * sizeof *values);
    if (!values) {
        free_random_access(start, (records + 1) * sizeof *start);
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
 * carried from union to union instead of found again.
 */
static void link_strong_group(uf_linker *l, const uf_identifier_ref *group, size_t len, uint16_t kind)
{
    uf_record_id centre = group[0].record;
    uint32_t root = uf_unionfind_find(&l->uf, centre);
    for (size_t i = 1; i < len; i++) {
        uint32_t other = uf_unionfind_find(&l->uf, group[i].record);
        if (other == root) {
            l->stats.already_linked_by_rule[UF_RULE_STRONG_IDENTIFIER]++;
            continue;
        }
        if (guarded_union_roots(l, centre, group[i].record, root, other, UF_RULE_STRONG_IDENTIFIER, kind,
                                group[0].key, 0.0f))
            root = uf_unionfind_find(&l->uf, root);
        else if (l->error != UF_OK)
            return;
    }
}

/*
 * Phase 2 for one group: every pair, in (i, j) order. The group's current
 * roots are found once and kept up to date after each accepted union (only
 * this group's unions happen meanwhile), so the pairs that are already
 * together — most of them, after phase 1 — cost no find at all.
 */
static int link_weak_group(uf_linker *l, const uf_identifier_ref *group, size_t len, uint16_t kind)
{
    if (!grow((void **)&l->group_roots, &l->group_roots_cap, len, sizeof *l->group_roots))
        return l->error = UF_ERR_NOMEM;
    uint32_t *roots = l->group_roots;
    for (size_t i = 0; i < len; i++)
        roots[i] = uf_unionfind_find(&l->uf, group[i].record);
    for (size_t i = 0; i < len; i++) {
        for (size_t j = i + 1; j < len; j++) {
            if (roots[i] == roots[j]) {
                l->stats.already_linked_by_rule[UF_RULE_WEAK_IDENTIFIER]++;
                continue;
            }
            uint32_t ra = roots[i], rb = roots[j];
            if (!guarded_union_roots(l, group[i].record, group[j].record, ra, rb, UF_RULE_WEAK_IDENTIFIER, kind,
                                     group[0].key, 0.0f)) {
                if (l->error != UF_OK)
                    return l->error;
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
enum { PREFETCH_AHEAD = 32 };

static inline void prefetch_ahead(const uf_linker *l, const uf_identifier_ref *refs, size_t n, size_t *cursor,
                                  size_t upto)
{
    size_t end = upto + PREFETCH_AHEAD < n ? upto + PREFETCH_AHEAD : n;
    for (size_t i = *cursor; i < end; i++) {
        uf_record_id r = refs[i].record;
        __builtin_prefetch(&l->uf.nodes[r]);
        __builtin_prefetch(&l->records[r].cmp);
        __builtin_prefetch(&l->summary_of[r]); /* the right slot while r is its own root */
        if (l->has_limited && (l->has_limited[r >> 6] >> (r & 63) & 1))
            __builtin_prefetch(&l->limited_start[r]);
    }
    if (end > *cursor)
        *cursor = end;
}

int uf_linker_link_identifiers(uf_linker *l, uf_record_table *table, int threads, uf_error *err)
{
    if (l->error != UF_OK)
        return uf_error_set(err, l->error, "linker: failed earlier (%s)", uf_strerror(l->error));
    if (l->finished || l->identifiers_linked)
        return uf_error_set(err, UF_ERR_INVALID, "linker: identifiers already linked");
    if (l->others_tried) /* their summaries would lack the limited keys indexed here */
        return uf_error_set(err, UF_ERR_INVALID, "linker: identifiers must be linked before other evidence");
    if (table->records != l->records || table->count != l->record_count)
        return uf_error_set(err, UF_ERR_INVALID, "linker: not the record table it was made for");
    uf_identifier_ref *refs = table->identifiers;
    size_t n = table->identifier_count;
    const uf_config *config = l->config;
    for (size_t i = 0; i < n; i++) {
        const uf_identifier_ref *r = &refs[i];
        if (r->record >= l->record_count)
            return uf_error_set(err, UF_ERR_INVALID, "linker: identifier ref %zu names record %u of %zu", i,
                                r->record, l->record_count);
        if (r->kind >= config->kind_count || !config->kinds[r->kind].is_identifier)
            return uf_error_set(err, UF_ERR_INVALID, "linker: identifier ref %zu has kind %u, not an identifier kind",
                                i, (unsigned)r->kind);
    }
    if (n >= UINT32_MAX)
        return uf_error_set(err, UF_ERR_INVALID, "linker: %zu identifier refs exceed the limit of %u", n,
                            UINT32_MAX - 1);
    l->identifiers_linked = true;

    if (!refs_sorted(refs, n))
        uf_sort_identifier_refs(refs, n, threads);

    /* Collapse duplicate (key, record): one record listing an e-mail twice
     * holds it once. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && uf_key_equal(refs[m - 1].key, refs[i].key) && refs[m - 1].record == refs[i].record)
            continue;
        refs[m++] = refs[i];
    }
    l->stats.duplicate_refs = n - m;
    l->stats.identifier_refs = m;
    n = table->identifier_count = m;

    /* Junk by frequency, counted once, listed in key order. */
    for (size_t g = 0; g < n;) {
        size_t end = group_end(refs, n, g);
        uint16_t kind = refs[g].kind;
        l->stats.distinct_identifiers++;
        if (group_is_junk(l, kind, end - g)) {
            if (!grow((void **)&l->junk, &l->junk_cap, l->junk_count + 1, sizeof *l->junk))
                return uf_error_set(err, l->error = UF_ERR_NOMEM, "linker: out of memory");
            uf_junk_identifier *j = &l->junk[l->junk_count++];
            memset(j, 0, sizeof *j);
            j->key = refs[g].key;
            j->records = (uint32_t)(end - g);
            j->kind = kind;
            l->stats.junk_keys[kind]++;
            l->stats.junk_refs[kind] += end - g;
        }
        g = end;
    }

    if (l->any_limited) {
        int rc = build_limited_index(l, refs, n, err);
        if (rc != UF_OK)
            return l->error = rc;
    }

    /* Phase 1: strong identifiers, star from the group's first record. */
    size_t ahead = 0;
    for (size_t g = 0; g < n;) {
        size_t end = group_end(refs, n, g);
        uint16_t kind = refs[g].kind;
        prefetch_ahead(l, refs, n, &ahead, end);
        if (end - g > 1 && config->kinds[kind].strength == UF_STRENGTH_STRONG && !group_is_junk(l, kind, end - g))
            link_strong_group(l, refs + g, end - g, kind);
        g = end;
    }
    /* Phase 2: weak identifiers, every pair, judged against what phase 1 built. */
    ahead = 0;
    for (size_t g = 0; g < n;) {
        size_t end = group_end(refs, n, g);
        uint16_t kind = refs[g].kind;
        prefetch_ahead(l, refs, n, &ahead, end);
        if (end - g > 1 && config->kinds[kind].strength == UF_STRENGTH_WEAK && !group_is_junk(l, kind, end - g)) {
            int rc = link_weak_group(l, refs + g, end - g, kind);
            if (rc != UF_OK)
                return uf_error_set(err, rc, "linker: out of memory");
        }
        g = end;
    }
    if (l->error != UF_OK)
        return uf_error_set(err, l->error, "linker: %s while linking identifiers", uf_strerror(l->error));
    return UF_OK;
}

/* ---- result ------------------------------------------------------------- */

int uf_linker_finish(uf_linker *l, uf_clustering *out, uf_error *err)
{
    memset(out, 0, sizeof *out);
    if (l->error != UF_OK)
        return uf_error_set(err, l->error, "linker: failed earlier (%s)", uf_strerror(l->error));
    if (l->finished)
        return uf_error_set(err, UF_ERR_INVALID, "linker: already finished");
    size_t n = l->record_count;

    /* The guards' state is no longer needed: free it before allocating the result. */
    free_summaries(l);
    free_random_access(l->limited_start, (n + 1) * sizeof *l->limited_start);
    free_random_access(l->limited, l->limited_total * sizeof *l->limited);
    free(l->has_limited);
    free(l->merge_buf);
    l->limited_start = NULL;
    l->limited = NULL;
    l->has_limited = NULL;
    l->merge_buf = NULL;
    l->merge_cap = 0;

    /* The edges into one array, now that the summaries' memory is free. */
    uf_link_edge *edges = malloc((l->edge_count ? l->edge_count : 1) * sizeof *edges);
    if (!edges)
        return uf_error_set(err, l->error = UF_ERR_NOMEM, "linker: out of memory for %zu edges", l->edge_count);
    for (size_t c = 0; c < l->edge_chunk_count; c++) {
        size_t first = c * EDGE_CHUNK, len = l->edge_count - first < EDGE_CHUNK ? l->edge_count - first : EDGE_CHUNK;
        memcpy(edges + first, l->edge_chunks[c], len * sizeof *edges);
        free(l->edge_chunks[c]); /* as we go: the edges never exist twice */
        l->edge_chunks[c] = NULL;
    }
    size_t edge_count = l->edge_count;
    free_edges(l);

    uint32_t *member_start = NULL;
    uf_record_id *members = malloc((n ? n : 1) * sizeof *members);
    if (!members) {
        free(edges);
        return uf_error_set(err, l->error = UF_ERR_NOMEM, "linker: out of memory for %zu cluster members", n);
    }

    /* Number clusters in order of their smallest record (the first record
     * seen of each); summary_of becomes root -> cluster number. */
    uint32_t *cluster_of = malloc((n ? n : 1) * sizeof *cluster_of);
    if (!cluster_of) {
        free(members);
        free(edges);
        return uf_error_set(err, l->error = UF_ERR_NOMEM, "linker: out of memory for %zu records", n);
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

    member_start = calloc((size_t)clusters + 1, sizeof *member_start);
    if (!member_start) {
        free(members);
        free(cluster_of);
        free(edges);
        return uf_error_set(err, l->error = UF_ERR_NOMEM, "linker: out of memory for %u clusters", clusters);
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

    free_random_access(l->summary_of, n * sizeof *l->summary_of);
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
