/*
 * match.c — scored matching (the steps and the memory plan are in match.h).
 *
 * Parallel parts (features, the blocking keys, comparison vectors, random
 * pairs, weights) split an index range between threads; each thread writes
 * only its own slots or its own list, and lists are merged in range order,
 * so results never depend on the thread count. The linking itself is one
 * thread: the linker is not thread-safe and links are few.
 */
#include "match_internal.h"

#include "fsutil.h"
#include "parallel.h"
#include "sort.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <xxhash.h>

const double uf_match_band_floor[UF_MATCH_BANDS] = {0.0, 0.999, 0.9999, 0.99999};

#define MAX_THREADS 16
/* A model file is a few kilobytes; anything much larger is the wrong file. */
#define MAX_PARAMETERS_BYTES (1u << 20)
/* A block above this many times max_block_size is not compared at all (see match.h). */
#define JUNK_BLOCK_FACTOR 8
/* Blocked pairs per rule EM trains on (a deterministic sample when there are more). */
#define TRAIN_PAIRS_PER_RULE 300000u
/* Seed of the random pairs u is estimated from: fixed, so a run is reproducible. */
#define U_SAMPLE_SEED 0x756e696679u


/* ---- threads ------------------------------------------------------------ */

typedef struct matcher matcher;
typedef void (*range_fn)(matcher *m, int thread, size_t from, size_t to);

typedef struct range_job {
    matcher *m;
    range_fn fn;
    int thread;
    size_t from, to;
} range_job;

static void *range_job_run(void *arg)
{
    range_job *job = arg;
    job->fn(job->m, job->thread, job->from, job->to);
    return NULL;
}

/* A scored pair above the threshold. */
typedef struct scored_pair {
    double weight;
    uint32_t a, b;
    uf_cmp_vector vector;
} scored_pair;

typedef struct pair_list {
    uint64_t *items;
    size_t count, cap;
    bool failed;
} pair_list;

typedef struct scored_list {
    scored_pair *items;
    size_t count, cap;
    bool failed;
} scored_list;

/* Per-thread counters and output of one blocking pass. */
typedef struct block_thread {
    pair_list pairs;
    pair_list together_pairs; /* this rule's pairs already together: training only */
    size_t rule_start;        /* pairs.count when the rule began */
    uint64_t blocks, largest, capped_blocks, capped_pairs, together, rule_pairs;
    uf_sort_pair *window; /* scratch for a capped block */
    size_t window_cap;
} block_thread;

struct matcher {
    const uf_config *config;
    const uf_record_table *table;
    int threads;
    uf_match_features *features;
    uint32_t *roots;
    /* blocking pass */
    int rule;
    uf_sort_pair *entries;
    size_t entry_count;
    size_t *block_starts; /* starts of blocks of >= 2 entries, + end */
    size_t block_count;
    block_thread bt[MAX_THREADS];
    bool training;        /* estimate m per rule (no parameters file) */
    uf_fs_model rule_model[UF_MAX_BLOCK_RULES];
    double rule_matches[UF_MAX_BLOCK_RULES]; /* expected matches among the rule's training pairs */
    /* the pairs vectors_range works on */
    const uint64_t *work_pairs;
    uf_cmp_vector *work_vectors;
    /* pairs */
    uint64_t *pairs; /* (a << 32 | b), a < b, sorted, distinct */
    size_t pair_count;
    uf_cmp_vector *vectors;
    /* random pairs for u */
    uf_cmp_vector *random_vectors;
    /* term frequencies */
    uint32_t *tf_first, *tf_last;
    uint64_t first_total, last_total;
    /* scoring */
    const uf_fs_model *base;  /* start values and u, for the per-rule EM */
    const uf_fs_model *model;
    double prior_weight;
    double level_weight[UF_CMP_FIELD_COUNT][UF_CMP_MAX_LEVELS]; /* log2(m/u), computed once */
    double threshold_weight;
    scored_list scored[MAX_THREADS];
};

/* Run fn over [0, n) split into one contiguous range per thread, in order. */
static bool parallel(matcher *m, size_t n, range_fn fn)
{
    int threads = m->threads < 1 ? 1 : m->threads > MAX_THREADS ? MAX_THREADS : m->threads;
    if ((size_t)threads > n / 1024 + 1)
        threads = (int)(n / 1024 + 1);
    range_job jobs[MAX_THREADS];
    void *args[MAX_THREADS];
    for (int t = 0; t < threads; t++) {
        jobs[t] = (range_job){m, fn, t, n * (size_t)t / (size_t)threads, n * (size_t)(t + 1) / (size_t)threads};
        args[t] = &jobs[t];
    }
    uf_parallel_run(range_job_run, args, (size_t)threads);
    return true;
}

static int thread_count(const matcher *m)
{
    return m->threads < 1 ? 1 : m->threads > MAX_THREADS ? MAX_THREADS : m->threads;
}


static void pair_push(pair_list *l, uint32_t a, uint32_t b)
{
    if (l->failed || !uf_grow((void **)&l->items, &l->cap, l->count + 1, sizeof *l->items)) {
        l->failed = true;
        return;
    }
    l->items[l->count++] = a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
}

/* ---- step 1: features --------------------------------------------------- */

static void features_range(matcher *m, int thread, size_t from, size_t to)
{
    (void)thread;
    for (size_t r = from; r < to; r++)
        uf_match_features_of(&m->table->records[r], &m->features[r]);
}

/* ---- step 2: blocking --------------------------------------------------- */

static void block_keys_range(matcher *m, int thread, size_t from, size_t to)
{
    (void)thread;
    const uf_block_rule *rule = &m->config->matching.rules[m->rule];
    for (size_t r = from; r < to; r++) {
        uf_match_values v;
        uf_match_values_from_features(&m->table->records[r], &m->features[r], &v);
        uint64_t key;
        /* A record without every part gets key 0 and the record id UF_RECORD_NONE: dropped below. */
        if (uf_match_block_key(rule, m->rule, &m->table->records[r], &v, &key))
            m->entries[r] = (uf_sort_pair){key, (uint32_t)r};
        else
            m->entries[r] = (uf_sort_pair){0, UF_RECORD_NONE};
    }
}

/*
 * A sort key in name order: the first 6 bytes of the last name and 2 of the
 * first, big-endian, so that "smith jon" and "smith john" sit side by side
 * in a capped block's window (record ids break ties).
 */
static uint64_t name_order_key(const matcher *m, uint32_t r)
{
    const uf_match_features *f = &m->features[r];
    const unsigned char *blob = m->table->records[r].blob;
    uint64_t key = 0;
    for (unsigned i = 0; i < 6; i++)
        key = key << 8 | (i < f->len[UF_CMP_LAST_NAME] ? blob[f->offset[UF_CMP_LAST_NAME] + i] : 0);
    for (unsigned i = 0; i < 2; i++)
        key = key << 8 | (i < f->len[UF_CMP_FIRST_NAME] ? blob[f->offset[UF_CMP_FIRST_NAME] + i] : 0);
    return key;
}

static int compare_sort_pair(const void *x, const void *y)
{
    const uf_sort_pair *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->value < b->value ? -1 : a->value > b->value;
}

static void emit(matcher *m, block_thread *bt, uint32_t a, uint32_t b)
{
    if (m->roots[a] == m->roots[b]) {
        bt->together++;
        if (m->training)
            pair_push(&bt->together_pairs, a, b);
        return;
    }
    bt->rule_pairs++;
    pair_push(&bt->pairs, a, b);
}

static void block_pairs_range(matcher *m, int thread, size_t from, size_t to)
{
    block_thread *bt = &m->bt[thread];
    size_t cap = (size_t)m->config->matching.max_block_size;
    for (size_t k = from; k < to; k++) {
        const uf_sort_pair *block = m->entries + m->block_starts[k];
        size_t n = m->block_starts[k + 1] - m->block_starts[k];
        bt->blocks++;
        if (n > bt->largest)
            bt->largest = n;
        if (n <= cap) {
            for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                    emit(m, bt, block[i].value, block[j].value);
            continue;
        }
        bt->capped_blocks++;
        if (n > cap * JUNK_BLOCK_FACTOR) {
            /* A value this many records share is junk (a shop's phone): nothing to learn from it. */
            bt->capped_pairs += (uint64_t)n * (n - 1) / 2;
            continue;
        }
        /* Too large: a window of `cap` over the block in name order. */
        if (!uf_grow((void **)&bt->window, &bt->window_cap, n, sizeof *bt->window)) {
            bt->pairs.failed = true;
            return;
        }
        for (size_t i = 0; i < n; i++)
            bt->window[i] = (uf_sort_pair){name_order_key(m, block[i].value), block[i].value};
        qsort(bt->window, n, sizeof *bt->window, compare_sort_pair);
        uint64_t compared = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n && j < i + cap; j++, compared++)
                emit(m, bt, bt->window[i].value, bt->window[j].value);
        bt->capped_pairs += (uint64_t)n * (n - 1) / 2 - compared;
    }
}

static int block_rule(matcher *m, int rule, uf_match_stats *stats, uf_error *err)
{
    const uf_record_table *t = m->table;
    m->rule = rule;
    parallel(m, t->count, block_keys_range);
    size_t n = 0;
    for (size_t r = 0; r < t->count; r++)
        if (m->entries[r].value != UF_RECORD_NONE)
            m->entries[n++] = m->entries[r];
    m->entry_count = n;
    stats->blocked_records[rule] = n;
    if (uf_sort_pairs(m->entries, n, err) != UF_OK)
        return UF_ERR_NOMEM;
    /* Keep only blocks of two or more records, packed: block k is entries[starts[k] .. starts[k+1]). */
    m->block_count = 0;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && m->entries[j].key == m->entries[i].key)
            j++;
        if (j - i >= 2) {
            memmove(m->entries + w, m->entries + i, (j - i) * sizeof *m->entries);
            m->block_starts[m->block_count++] = w;
            w += j - i;
        }
        i = j;
    }
    m->block_starts[m->block_count] = w;

    int threads = thread_count(m);
    for (int i = 0; i < threads; i++) {
        block_thread *bt = &m->bt[i];
        bt->blocks = bt->largest = bt->capped_blocks = bt->capped_pairs = bt->together = bt->rule_pairs = 0;
        bt->rule_start = bt->pairs.count;
    }
    parallel(m, m->block_count, block_pairs_range);
    for (int i = 0; i < threads; i++) {
        block_thread *bt = &m->bt[i];
        if (bt->pairs.failed || bt->together_pairs.failed)
            return uf_error_set(err, UF_ERR_NOMEM, "out of memory collecting candidate pairs");
        stats->blocks[rule] += bt->blocks;
        if (bt->largest > stats->largest_block[rule])
            stats->largest_block[rule] = bt->largest;
        stats->capped_blocks[rule] += bt->capped_blocks;
        stats->capped_pairs[rule] += bt->capped_pairs;
        stats->together_pairs += bt->together;
        stats->rule_pairs[rule] += bt->rule_pairs;
    }
    return UF_OK;
}

static int train_rule(matcher *m, int rule, uf_match_stats *stats, uf_error *err);

/* Every rule's pairs, merged, sorted and made distinct into m->pairs. */
static int block_all(matcher *m, uf_match_stats *stats, uf_error *err)
{
    size_t n = m->table->count;
    m->entries = malloc((n ? n : 1) * sizeof *m->entries);
    m->block_starts = malloc((n / 2 + 2) * sizeof *m->block_starts);
    if (!m->entries || !m->block_starts)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory blocking %zu records", n);
    int rc = UF_OK;
    for (int r = 0; rc == UF_OK && r < m->config->matching.rule_count; r++) {
        rc = block_rule(m, r, stats, err);
        if (rc == UF_OK && m->training)
            rc = train_rule(m, r, stats, err);
    }
    free(m->entries);
    m->entries = NULL;
    free(m->block_starts);
    m->block_starts = NULL;
    int threads = thread_count(m);
    size_t total = 0;
    for (int i = 0; i < threads; i++) {
        free(m->bt[i].window);
        m->bt[i].window = NULL;
        total += m->bt[i].pairs.count;
    }
    if (rc == UF_OK && !(m->pairs = malloc((total ? total : 1) * sizeof *m->pairs)))
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory: %zu candidate pairs", total);
    size_t at = 0;
    for (int i = 0; i < threads; i++) {
        if (rc == UF_OK && m->bt[i].pairs.count)
            memcpy(m->pairs + at, m->bt[i].pairs.items, m->bt[i].pairs.count * sizeof *m->pairs);
        at += m->bt[i].pairs.count;
        free(m->bt[i].pairs.items);
        m->bt[i].pairs = (pair_list){NULL, 0, 0, false};
    }
    if (rc != UF_OK)
        return rc;
    if (!uf_sort_u64(m->pairs, total))
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory sorting %zu candidate pairs", total);
    size_t distinct = 0;
    for (size_t i = 0; i < total; i++)
        if (distinct == 0 || m->pairs[i] != m->pairs[distinct - 1])
            m->pairs[distinct++] = m->pairs[i];
    m->pair_count = distinct;
    stats->candidate_pairs = distinct;
    return UF_OK;
}

/* ---- step 3: comparison vectors ----------------------------------------- */

static void compare_records(const matcher *m, uint32_t a, uint32_t b, uf_cmp_vector *out)
{
    uf_match_values va, vb;
    uf_match_values_from_features(&m->table->records[a], &m->features[a], &va);
    uf_match_values_from_features(&m->table->records[b], &m->features[b], &vb);
    /* The nickname table was searched once per record, not twice per pair. */
    uf_match_compare_values(&va, &vb, m->features[a].first_canonical, m->features[b].first_canonical, out);
}

static void vectors_range(matcher *m, int thread, size_t from, size_t to)
{
    (void)thread;
    const uint64_t *pairs = m->work_pairs;
    for (size_t i = from; i < to; i++) {
        if (i + 8 < to) {
            uint32_t a = (uint32_t)(pairs[i + 8] >> 32), b = (uint32_t)pairs[i + 8];
            __builtin_prefetch(&m->features[a]);
            __builtin_prefetch(&m->features[b]);
        }
        compare_records(m, (uint32_t)(pairs[i] >> 32), (uint32_t)pairs[i], &m->work_vectors[i]);
    }
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Random pair i: a function of i alone, so any split over threads draws the same pairs. */
static void random_range(matcher *m, int thread, size_t from, size_t to)
{
    (void)thread;
    uint64_t n = m->table->count;
    for (size_t i = from; i < to; i++) {
        uint64_t x = splitmix64(U_SAMPLE_SEED + 2 * (uint64_t)i), y = splitmix64(U_SAMPLE_SEED + 2 * (uint64_t)i + 1);
        uint32_t a = (uint32_t)(x % n), b = (uint32_t)(y % n);
        if (a == b)
            b = (uint32_t)((b + 1) % n);
        compare_records(m, a, b, &m->random_vectors[i]);
    }
}

/* ---- patterns: distinct vectors with counts ---------------------------- */

typedef struct pattern_table {
    uf_cmp_vector *patterns;
    uint64_t *counts;
    size_t count;
} pattern_table;

/* Sorting the vectors' bits groups equal vectors; patterns come out in bit order (deterministic). */
static int patterns_of(const uf_cmp_vector *vectors, size_t n, pattern_table *out, uf_error *err)
{
    memset(out, 0, sizeof *out);
    uint64_t *bits = malloc((n ? n : 1) * sizeof *bits);
    if (!bits)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory counting comparison patterns");
    for (size_t i = 0; i < n; i++)
        bits[i] = uf_match_vector_bits(&vectors[i]);
    if (!uf_sort_u64(bits, n)) {
        free(bits);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory counting comparison patterns");
    }
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || bits[i] != bits[i - 1])
            distinct++;
    out->patterns = malloc((distinct ? distinct : 1) * sizeof *out->patterns);
    out->counts = malloc((distinct ? distinct : 1) * sizeof *out->counts);
    if (!out->patterns || !out->counts) {
        free(bits);
        free(out->patterns);
        free(out->counts);
        memset(out, 0, sizeof *out);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory counting comparison patterns");
    }
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || bits[i] != bits[i - 1]) {
            out->patterns[out->count] = uf_match_vector_of_bits(bits[i]);
            out->counts[out->count++] = 0;
        }
        out->counts[out->count - 1]++;
    }
    free(bits);
    return UF_OK;
}

static void patterns_free(pattern_table *p)
{
    free(p->patterns);
    free(p->counts);
    memset(p, 0, sizeof *p);
}

/* ---- step 4: the model -------------------------------------------------- */

/*
 * The model before blocking: read from matching.parameters (then nothing is
 * estimated), or start values with u from random record pairs — needed
 * first, because the per-rule EM holds u fixed.
 */
static int prepare_model(matcher *m, uf_fs_model *model, uf_match_stats *stats, uf_error *err)
{
    const uf_matching_config *mc = &m->config->matching;
    uf_fs_model_init(model);
    if (mc->parameters_path) {
        char *text = NULL;
        size_t len = 0;
        int rc = uf_read_file(mc->parameters_path, "matching parameters file", MAX_PARAMETERS_BYTES, UF_ERR_FORMAT,
                              &text, &len, err);
        if (rc == UF_OK)
            rc = uf_fs_model_from_json(model, text, len, mc->parameters_path, err);
        free(text);
        stats->model_from_file = rc == UF_OK;
        return rc;
    }
    m->training = true;
    size_t samples = m->table->count >= 2 ? (size_t)mc->u_sample_pairs : 0;
    if (!samples)
        return UF_OK;
    if (!(m->random_vectors = malloc(samples * sizeof *m->random_vectors)))
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory sampling random pairs");
    parallel(m, samples, random_range);
    pattern_table pt;
    int rc = patterns_of(m->random_vectors, samples, &pt, err);
    free(m->random_vectors);
    m->random_vectors = NULL;
    if (rc != UF_OK)
        return rc;
    uf_fs_estimate_u(model, pt.patterns, pt.counts, pt.count);
    model->u_pairs = samples;
    patterns_free(&pt);
    return UF_OK;
}

/* The compared fields a blocking rule is made of (bit per uf_cmp_field). */
static unsigned rule_fields(const uf_block_rule *rule)
{
    unsigned mask = 0;
    for (int i = 0; i < rule->part_count; i++) {
        switch (rule->parts[i]) {
        case UF_BLOCK_FIRST_NAME:
        case UF_BLOCK_FIRST_INITIAL: mask |= 1u << UF_CMP_FIRST_NAME; break;
        case UF_BLOCK_LAST_NAME:
        case UF_BLOCK_LAST_SOUNDEX: mask |= 1u << UF_CMP_LAST_NAME; break;
        case UF_BLOCK_DOB:
        case UF_BLOCK_DOB_YEAR: mask |= 1u << UF_CMP_DOB; break;
        /* A postcode names its city and the other way round: inside a block on
         * either, both agree by construction. */
        case UF_BLOCK_POSTCODE:
        case UF_BLOCK_CITY: mask |= 1u << UF_CMP_POSTCODE | 1u << UF_CMP_CITY; break;
        case UF_BLOCK_PHONE: mask |= 1u << UF_CMP_PHONE; break;
        default:
            /* An identifier kind: e-mail is its own field, the others are "identifier". */
            if ((unsigned)rule->parts[i] >= UF_BLOCK_IDENTIFIER)
                mask |= (int)rule->parts[i] - UF_BLOCK_IDENTIFIER == UF_KIND_EMAIL ? 1u << UF_CMP_EMAIL
                                                                                  : 1u << UF_CMP_IDENTIFIER;
            break;
        }
    }
    return mask;
}

/*
 * EM over one rule's blocked pairs — those the identifiers already joined
 * as well as the rest — with u fixed (Splink's way). Inside a rule's blocks
 * its own fields agree by construction, so they say nothing there: they are
 * treated as missing, and their m comes from the other rules.
 */
static int train_rule(matcher *m, int rule, uf_match_stats *stats, uf_error *err)
{
    int threads = thread_count(m);
    size_t total = 0;
    for (int t = 0; t < threads; t++)
        total += m->bt[t].pairs.count - m->bt[t].rule_start + m->bt[t].together_pairs.count;
    /* EM needs a few hundred thousand pairs, not millions: a deterministic sample (by pair hash). */
    uint64_t keep_below = total > TRAIN_PAIRS_PER_RULE ? TRAIN_PAIRS_PER_RULE : total;
    uint64_t *pairs = malloc((keep_below ? keep_below * 2 : 1) * sizeof *pairs);
    size_t n = 0, cap = keep_below ? keep_below * 2 : 1;
    for (int t = 0; pairs && t < threads; t++) {
        block_thread *bt = &m->bt[t];
        for (int list = 0; list < 2; list++) {
            const uint64_t *items = list ? bt->together_pairs.items : bt->pairs.items + bt->rule_start;
            size_t count = list ? bt->together_pairs.count : bt->pairs.count - bt->rule_start;
            for (size_t i = 0; i < count && n < cap; i++)
                if (total <= TRAIN_PAIRS_PER_RULE || splitmix64(items[i]) % total < keep_below)
                    pairs[n++] = items[i];
        }
    }
    for (int t = 0; t < threads; t++) {
        free(m->bt[t].together_pairs.items);
        m->bt[t].together_pairs = (pair_list){NULL, 0, 0, false};
    }
    uf_cmp_vector *vectors = pairs ? malloc((n ? n : 1) * sizeof *vectors) : NULL;
    if (!pairs || !vectors) {
        free(pairs);
        free(vectors);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory training on %zu blocked pairs", n);
    }
    m->work_pairs = pairs;
    m->work_vectors = vectors;
    parallel(m, n, vectors_range);
    free(pairs);
    unsigned mask = rule_fields(&m->config->matching.rules[rule]);
    for (size_t i = 0; i < n; i++)
        for (int f = 0; f < UF_CMP_FIELD_COUNT; f++)
            if (mask & (1u << f))
                vectors[i].level[f] = UF_CMP_MISSING;
    pattern_table pt;
    int rc = patterns_of(vectors, n, &pt, err);
    free(vectors);
    if (rc != UF_OK)
        return rc;
    uf_fs_model *rm = &m->rule_model[rule];
    *rm = *m->base;
    if (pt.count)
        uf_fs_em(rm, pt.patterns, pt.counts, pt.count, m->config->matching.em_max_iterations,
                 m->config->matching.em_tolerance);
    m->rule_matches[rule] = pt.count ? rm->lambda * (double)total : 0;
    stats->patterns += pt.count;
    patterns_free(&pt);
    return UF_OK;
}

/*
 * The final model: m per field averaged over the rules that estimated it,
 * weighted by the matches each rule's EM found; lambda, the probability
 * that two records picked at random match, from the identifier clusters
 * (pairs inside them, divided by the share of true pairs the identifiers
 * are assumed to find: matching.deterministic_recall), as Splink estimates
 * it from deterministic rules.
 */
static void finish_model(matcher *m, uf_fs_model *model, double together_pairs)
{
    const uf_matching_config *mc = &m->config->matching;
    int rules = mc->rule_count;
    uint64_t em_pairs = 0;
    int iterations = 0;
    bool converged = true;
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
        double total = 0, sum[UF_CMP_MAX_LEVELS] = {0};
        int levels = uf_cmp_level_count((uf_cmp_field)f);
        for (int r = 0; r < rules; r++) {
            if ((rule_fields(&mc->rules[r]) & (1u << f)) || m->rule_matches[r] <= 0)
                continue;
            total += m->rule_matches[r];
            for (int l = 0; l < levels; l++)
                sum[l] += m->rule_matches[r] * m->rule_model[r].m[f][l];
        }
        if (total > 0)
            for (int l = 0; l < levels; l++)
                model->m[f][l] = sum[l] / total;
    }
    for (int r = 0; r < rules; r++) {
        em_pairs += m->rule_model[r].em_pairs;
        if (m->rule_model[r].em_iterations > iterations)
            iterations = m->rule_model[r].em_iterations;
        converged &= m->rule_model[r].em_converged || m->rule_model[r].em_pairs == 0;
    }
    model->em_pairs = em_pairs;
    model->em_iterations = iterations;
    model->em_converged = converged;
    double n = (double)m->table->count;
    double all_pairs = n * (n - 1) / 2;
    double lambda = all_pairs > 0 ? together_pairs / mc->deterministic_recall / all_pairs : 0.5;
    model->lambda = lambda < 1e-12 ? 1e-12 : lambda > 0.5 ? 0.5 : lambda;
}

/* ---- term frequencies --------------------------------------------------- */

/* counts[r] = records holding r's value of `field` (0 when r has none); returns how many hold one. */
static int value_counts(matcher *m, int field, uint32_t *counts, uint64_t *holders, uf_error *err)
{
    size_t n = m->table->count, k = 0;
    uf_sort_pair *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory counting names");
    for (size_t r = 0; r < n; r++) {
        counts[r] = 0;
        const uf_match_features *f = &m->features[r];
        if (f->len[field])
            v[k++] = (uf_sort_pair){XXH3_64bits(m->table->records[r].blob + f->offset[field], f->len[field]),
                                    (uint32_t)r};
    }
    if (uf_sort_pairs(v, k, err) != UF_OK) {
        free(v);
        return UF_ERR_NOMEM;
    }
    for (size_t i = 0; i < k;) {
        size_t j = i + 1;
        while (j < k && v[j].key == v[i].key)
            j++;
        for (size_t x = i; x < j; x++)
            counts[v[x].value] = (uint32_t)(j - i);
        i = j;
    }
    *holders = k;
    free(v);
    return UF_OK;
}

/* ---- step 5: weights and links ----------------------------------------- */

static double pair_weight(const matcher *m, uint32_t a, const uf_cmp_vector *v)
{
    double w = m->prior_weight;
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++)
        if (v->level[f] < UF_CMP_MAX_LEVELS)
            w += m->level_weight[f][v->level[f]];
    if (m->tf_first && v->level[UF_CMP_FIRST_NAME] == UF_FIRST_EXACT && m->first_total)
        w += uf_fs_tf_adjustment(m->model, UF_CMP_FIRST_NAME, (double)m->tf_first[a] / (double)m->first_total);
    if (m->tf_last && v->level[UF_CMP_LAST_NAME] == UF_LAST_EXACT && m->last_total)
        w += uf_fs_tf_adjustment(m->model, UF_CMP_LAST_NAME, (double)m->tf_last[a] / (double)m->last_total);
    return w;
}

static void score_range(matcher *m, int thread, size_t from, size_t to)
{
    scored_list *l = &m->scored[thread];
    for (size_t i = from; i < to; i++) {
        uint32_t a = (uint32_t)(m->pairs[i] >> 32), b = (uint32_t)m->pairs[i];
        double w = pair_weight(m, a, &m->vectors[i]);
        if (w < m->threshold_weight)
            continue;
        if (l->failed || !uf_grow((void **)&l->items, &l->cap, l->count + 1, sizeof *l->items)) {
            l->failed = true;
            return;
        }
        l->items[l->count++] = (scored_pair){w, a, b, m->vectors[i]};
    }
}

/* Falling weight; ties by record ids. */
static int compare_scored(const void *x, const void *y)
{
    const scored_pair *a = x, *b = y;
    if (a->weight != b->weight)
        return a->weight > b->weight ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->b < b->b ? -1 : a->b > b->b;
}

static int band_of(double probability)
{
    int band = 0;
    for (int i = 1; i < UF_MATCH_BANDS; i++)
        if (probability >= uf_match_band_floor[i])
            band = i;
    return band;
}

/* The disagreement guard (uf_match_disagree) on a pair above the threshold. */
static bool disagrees(const matcher *m, uf_agreement requires, const scored_pair *p)
{
    if (requires == UF_AGREE_NONE)
        return false;
    uf_match_values va, vb;
    uf_match_values_from_features(&m->table->records[p->a], &m->features[p->a], &va);
    uf_match_values_from_features(&m->table->records[p->b], &m->features[p->b], &vb);
    return uf_match_disagree(&va, &vb, &p->vector, requires);
}

static int score_and_link(matcher *m, uf_linker *linker, uf_match_stats *stats, uf_error *err)
{
    int threads = thread_count(m);
    parallel(m, m->pair_count, score_range);
    size_t total = 0;
    bool failed = false;
    for (int i = 0; i < threads; i++) {
        total += m->scored[i].count;
        failed |= m->scored[i].failed;
    }
    scored_pair *all = failed ? NULL : malloc((total ? total : 1) * sizeof *all);
    size_t at = 0;
    for (int i = 0; i < threads; i++) {
        if (all && m->scored[i].count)
            memcpy(all + at, m->scored[i].items, m->scored[i].count * sizeof *all);
        at += m->scored[i].count;
        free(m->scored[i].items);
        m->scored[i] = (scored_list){NULL, 0, 0, false};
    }
    if (!all)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory scoring %zu candidate pairs", m->pair_count);
    qsort(all, total, sizeof *all, compare_scored);
    stats->above_threshold = total;
    for (size_t i = 0; i < total; i++) {
        const scored_pair *p = &all[i];
        if (uf_linker_same_cluster(linker, p->a, p->b)) {
            stats->already_linked++;
            continue;
        }
        if (disagrees(m, m->config->guards.weak_link_requires, p)) {
            stats->refused_disagree++;
            continue;
        }
        if (uf_linker_try_union(linker, p->a, p->b, UF_RULE_SCORED, UF_LINK_NO_KIND, uf_match_vector_key(&p->vector),
                                (float)p->weight))
            stats->links_by_band[band_of(uf_fs_probability(p->weight))]++;
        else
            stats->refused++;
    }
    free(all);
    return UF_OK;
}

/* ---- the whole step ----------------------------------------------------- */

/* Record pairs inside the clusters the identifiers made: sum of size * (size - 1) / 2. */
static double pairs_inside_clusters(const uint32_t *roots, size_t n)
{
    uint32_t *size = calloc(n ? n : 1, sizeof *size);
    double pairs = 0;
    if (!size)
        return -1; /* out of memory */
    for (size_t r = 0; r < n; r++)
        size[roots[r]]++;
    for (size_t r = 0; r < n; r++)
        pairs += (double)size[r] * (double)(size[r] - (size[r] > 0)) / 2;
    free(size);
    return pairs;
}

static void matcher_free(matcher *m)
{
    free(m->features);
    free(m->roots);
    free(m->pairs);
    free(m->vectors);
    free(m->random_vectors);
    free(m->tf_first);
    free(m->tf_last);
    free(m->entries);
    free(m->block_starts);
    for (int i = 0; i < MAX_THREADS; i++) {
        free(m->bt[i].pairs.items);
        free(m->bt[i].together_pairs.items);
        free(m->bt[i].window);
        free(m->scored[i].items);
    }
}

int uf_match_run(const uf_config *config, const uf_record_table *table, uf_linker *linker, int threads,
                 uf_fs_model *model, uf_match_stats *stats, uf_error *err)
{
    memset(stats, 0, sizeof *stats);
    matcher m;
    memset(&m, 0, sizeof m);
    m.config = config;
    m.table = table;
    m.threads = threads;
    m.model = model;
    size_t n = table->count;
    double t = uf_now_seconds();

    int rc = UF_OK;
    m.features = malloc((n ? n : 1) * sizeof *m.features);
    m.roots = malloc((n ? n : 1) * sizeof *m.roots);
    if (!m.features || !m.roots)
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory preparing %zu records for matching", n);
    if (rc == UF_OK && !uf_linker_roots(linker, m.roots))
        rc = uf_error_set(err, UF_ERR_INVALID, "scored matching: the linker has failed or finished");
    double together = 0;
    if (rc == UF_OK) {
        parallel(&m, n, features_range);
        together = pairs_inside_clusters(m.roots, n);
        rc = together < 0 ? uf_error_set(err, UF_ERR_NOMEM, "out of memory counting cluster pairs")
                          : prepare_model(&m, model, stats, err);
    }
    stats->seconds_training = uf_now_seconds() - t;
    t = uf_now_seconds();
    m.base = model;
    if (rc == UF_OK)
        rc = block_all(&m, stats, err);
    free(m.roots);
    m.roots = NULL;
    if (rc == UF_OK && m.training)
        finish_model(&m, model, together);
    stats->seconds_blocking = uf_now_seconds() - t;
    t = uf_now_seconds();

    if (rc == UF_OK && !(m.vectors = malloc((m.pair_count ? m.pair_count : 1) * sizeof *m.vectors)))
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory comparing %zu candidate pairs", m.pair_count);
    if (rc == UF_OK) {
        m.work_pairs = m.pairs;
        m.work_vectors = m.vectors;
        parallel(&m, m.pair_count, vectors_range);
    }
    stats->seconds_comparing = uf_now_seconds() - t;
    t = uf_now_seconds();

    if (rc == UF_OK && config->matching.term_frequency) {
        m.tf_first = malloc((n ? n : 1) * sizeof *m.tf_first);
        m.tf_last = malloc((n ? n : 1) * sizeof *m.tf_last);
        if (!m.tf_first || !m.tf_last)
            rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory counting names");
        if (rc == UF_OK)
            rc = value_counts(&m, UF_CMP_FIRST_NAME, m.tf_first, &m.first_total, err);
        if (rc == UF_OK)
            rc = value_counts(&m, UF_CMP_LAST_NAME, m.tf_last, &m.last_total, err);
    }
    if (rc == UF_OK) {
        m.threshold_weight = uf_fs_weight_of_probability(config->matching.threshold);
        m.prior_weight = uf_fs_prior_weight(model);
        for (int f = 0; f < UF_CMP_FIELD_COUNT; f++)
            for (int l = 0; l < UF_CMP_MAX_LEVELS; l++)
                m.level_weight[f][l] = uf_fs_level_weight(model, (uf_cmp_field)f, l);
        rc = score_and_link(&m, linker, stats, err);
    }
    stats->seconds_linking = uf_now_seconds() - t;
    matcher_free(&m);
    return rc;
}
