/*
 * survive.c — golden records (the model and the JSON shape are in survive.h).
 *
 * The idea: one pass over the members' blobs gathers every (kind, normalized
 * value) into a *candidate* and every (candidate, raw spelling) into a
 * *spelling*. Then, per kind, a few small passes pick the display spelling
 * and the surviving value, one sort orders the alternatives, and the JSON is
 * written in one go.
 *
 * Trade-offs worth knowing:
 *  - Most clusters have 1–6 records, so the fixed cost per cluster matters
 *    more than asymptotics. Values are found by a linear scan of a short
 *    list (the candidates of one kind, the spellings of one candidate);
 *    only a list that grows past SV_LIST_MAX moves into an open-addressing
 *    hash table, so a 100 000-record junk cluster stays linear while a
 *    typical cluster never computes a hash.
 *  - Nothing is cleared between clusters: per-kind state, hash slots and
 *    per-source state carry the generation (cluster number) that wrote
 *    them, and an older generation reads as empty. Scratch grows to the
 *    largest cluster seen and stays, so steady state does no malloc; only
 *    what a giant cluster needed beyond SV_KEEP_ENTRIES is given back.
 *  - Candidates and spellings point into the record blobs: no copies.
 *  - Hash values only *find* equal values; no output order depends on them,
 *    so the unkeyed, endian-dependent hash cannot change a profile.
 *  - Counts are records, not occurrences: a record holding one e-mail in two
 *    columns counts once (`last_record` detects the repeat; one record's
 *    attributes are read together).
 *  - The profile is written in the binary form of profile_codec.h (what the
 *    store keeps); uf_survive_profile renders that to JSON with the codec,
 *    so the JSON tests of survive check the codec's round trip as well.
 *  - A cluster's members are scattered over the record table, so the first
 *    step prefetches every member's row, then every blob: the cache misses
 *    overlap instead of queueing.
 */
#include "survive.h"

#include "profile_codec.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>

/* An unknown updated_at (0) ranks below every known time. */
#define SV_TIME_UNKNOWN INT64_MIN

#define SV_NONE UINT32_MAX

/* Lists longer than this move into the hash table. */
#define SV_LIST_MAX 8

/* Slot references with this bit set are spellings, otherwise candidates. */
#define SV_SPELLING_BIT 0x80000000u

#define SV_INITIAL_SLOTS 1024

/* Up to this many items insertion sort; above, merge sort. */
#define SV_SMALL_SORT 16

/* Context indices are one byte in the blob. */
#define SV_MAX_CONTEXT 256

/* Members prefetched ahead of the gathering pass. */
#define SV_PREFETCH 16

/* Scratch kept after a cluster: enough for ~1500-record clusters (~3 MiB);
   what a giant junk cluster needed beyond it is given back. */
#define SV_KEEP_ENTRIES 16384

typedef struct sv_slot {
    uint64_t hash;
    uint32_t stamp; /* generation that wrote the slot; older = empty */
    uint32_t ref;   /* candidate index, or spelling index | SV_SPELLING_BIT */
} sv_slot;

typedef struct sv_kind {
    uint32_t gen;       /* == survivor gen: the fields below are this cluster's */
    uint32_t head;      /* candidate list */
    uint32_t count;
    uint32_t order_at;  /* first index in `order` once decided */
    bool hashed;        /* the list is also in the hash table */
} sv_kind;

typedef struct sv_cand {
    uf_slice value;          /* normalized, borrowed from a blob */
    int64_t last_seen;       /* SV_TIME_UNKNOWN when no holder has a time */
    uint64_t hash;           /* valid when in the table */
    uint32_t count;          /* records holding it */
    uint32_t last_record;    /* last record counted */
    uint32_t sources_at;     /* offset of its source bitset in `words` */
    uint32_t next;           /* next candidate of the same kind */
    uint32_t spellings;      /* head of its spelling list */
    uint32_t spelling_count;
    uint32_t display;        /* chosen spelling */
    uint32_t length;         /* code points of value (MOST_COMPLETE); SV_NONE = not counted yet */
    int best_priority;       /* lowest priority number among its sources */
    uint16_t kind;
    bool winner;
    bool spellings_hashed;
} sv_cand;

typedef struct sv_spelling {
    uf_slice raw;
    int64_t last_seen;
    uint64_t hash;           /* valid when in the table */
    uint32_t cand;
    uint32_t count;
    uint32_t last_record;
    uint32_t next;           /* next spelling of the same candidate */
    bool in_table;
} sv_spelling;

/* Copies of raw spellings that a blob keeps as a transform of the value (records.h). */
#define SV_TEXT_BLOCK 16384

typedef struct sv_text_block {
    struct sv_text_block *next;
    size_t used;
    char data[SV_TEXT_BLOCK];
} sv_text_block;

struct uf_survivor {
    const uf_config *config;

    uf_profile_schema *schema; /* names for rendering JSON (uf_survive_profile) */
    size_t words_per_set;    /* uint64 words in one source bitset */

    /* Per-cluster scratch, reused. */
    uint32_t gen;
    sv_kind *kinds;
    sv_slot *slots;
    size_t slot_cap, slot_used; /* cap: power of two */
    sv_cand *cands;
    size_t cand_count, cand_cap;
    sv_spelling *spellings;
    size_t spelling_count, spelling_cap;
    uint64_t *words;
    size_t word_count, word_cap;
    sv_cand **order, **order_tmp;
    size_t order_cap, order_tmp_cap;
    uint32_t *source_gen;    /* == gen: the source has a member in this cluster */
    uint32_t *source_best;   /* its most recent member */
    int64_t *source_best_time;
    uf_slice context_value[SV_MAX_CONTEXT];
    uint64_t context_present[SV_MAX_CONTEXT / 64];

    uint64_t *channels;      /* sources with a member, words_per_set words */
    uf_buf bin;              /* the binary profile, for uf_survive_profile */
    sv_text_block *text_first, *text_cur; /* per-cluster spelling copies, blocks reused */
};

static int64_t rank_time(int64_t updated_at)
{
    return updated_at == 0 ? SV_TIME_UNKNOWN : updated_at;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/* Bytewise order, a proper prefix first. Total on distinct slices. */
static int slice_compare(uf_slice a, uf_slice b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

static inline bool slice_same(uf_slice a, uf_slice b)
{
    return a.len == b.len && (a.len == 0 || (a.ptr[0] == b.ptr[0] && memcmp(a.ptr, b.ptr, a.len) == 0));
}

/* A fast 64-bit hash of short strings, 8 bytes per step. */
static uint64_t hash_bytes(const char *p, size_t n, uint64_t seed)
{
    uint64_t h = seed ^ ((uint64_t)n * UINT64_C(0x9E3779B97F4A7C15));
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * UINT64_C(0xBF58476D1CE4E5B9);
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        for (size_t i = 0; i < n; i++)
            w |= (uint64_t)(unsigned char)p[i] << (8 * i);
        h = (h ^ w) * UINT64_C(0x94D049BB133111EB);
    }
    h ^= h >> 32;
    h *= UINT64_C(0x9E3779B97F4A7C15);
    h ^= h >> 29;
    return h;
}

static uint32_t code_points(uf_slice s)
{
    uint32_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return n;
}

/* Grow `*p` (elements of `size`) to hold at least `need`; false when out of memory. */

/* ------------------------------------------------------------------ */
/* Survivor lifetime                                                   */
/* ------------------------------------------------------------------ */

/* Section order of kinds: names and addresses first, e-mail and phone close the
   attributes and open the identifiers. */
static void section_kinds(const uf_config *config, unsigned *attributes, size_t *attribute_count,
                          unsigned *identifiers, size_t *identifier_count)
{
    size_t kinds = config->kind_count, na = 0, ni = 0;
    for (size_t k = 0; k < kinds; k++)
        if (k != UF_KIND_FULL_NAME && !config->kinds[k].is_identifier)
            attributes[na++] = (unsigned)k;
    for (size_t k = 0; k < kinds && k < UF_KIND_BUILTIN_COUNT; k++)
        if (k != UF_KIND_FULL_NAME && config->kinds[k].is_identifier)
            attributes[na++] = (unsigned)k;
    for (size_t k = 0; k < kinds; k++)
        if (k != UF_KIND_FULL_NAME && config->kinds[k].is_identifier)
            identifiers[ni++] = (unsigned)k;
    *attribute_count = na;
    *identifier_count = ni;
}

int uf_survive_schema(const uf_config *config, uf_buf *out, uf_error *err)
{
    if (!config || config->kind_count > UF_PROFILE_MAX_KINDS || config->kind_count > 2 * UF_MAX_KINDS)
        return uf_error_set(err, UF_ERR_INVALID, "survive: no config or too many kinds");
    const char *kind_names[2 * UF_MAX_KINDS];
    unsigned char flags[2 * UF_MAX_KINDS];
    unsigned attributes[2 * UF_MAX_KINDS], identifiers[2 * UF_MAX_KINDS];
    size_t sources = config->source_count;
    const char **source_names = calloc(sources + 1, sizeof *source_names);
    size_t *column_counts = calloc(sources + 1, sizeof *column_counts);
    const char *const **column_names = calloc(sources + 1, sizeof *column_names);
    int rc;
    if (!source_names || !column_counts || !column_names) {
        rc = uf_error_set(err, UF_ERR_NOMEM, "survive: out of memory");
    } else {
        for (size_t k = 0; k < config->kind_count; k++) {
            kind_names[k] = config->kinds[k].name;
            flags[k] = config->kinds[k].is_identifier ? UF_PROFILE_KIND_IDENTIFIER : 0;
        }
        for (size_t i = 0; i < sources; i++) {
            source_names[i] = config->sources[i].name;
            column_counts[i] = config->sources[i].context_count;
            column_names[i] = (const char *const *)config->sources[i].context_columns;
        }
        uf_profile_schema_desc d = {.kind_count = config->kind_count, .kind_names = kind_names, .kind_flags = flags,
                                    .attribute_kinds = attributes, .identifier_kinds = identifiers,
                                    .source_count = sources, .source_names = source_names,
                                    .column_counts = column_counts, .column_names = column_names};
        section_kinds(config, attributes, &d.attribute_count, identifiers, &d.identifier_count);
        rc = uf_profile_schema_encode(&d, out, err);
    }
    free(source_names);
    free(column_counts);
    free(column_names);
    return rc;
}

uf_survivor *uf_survivor_new(const uf_config *config)
{
    if (!config || config->kind_count > UF_PROFILE_MAX_KINDS)
        return NULL;
    uf_survivor *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->config = config;
    uf_buf_init(&s->bin);
    size_t kinds = config->kind_count, sources = config->source_count;
    s->words_per_set = sources ? (sources + 63) / 64 : 1;
    s->kinds = calloc(kinds + 1, sizeof *s->kinds);
    s->source_gen = calloc(sources + 1, sizeof *s->source_gen);
    s->source_best = calloc(sources + 1, sizeof *s->source_best);
    s->source_best_time = calloc(sources + 1, sizeof *s->source_best_time);
    s->channels = calloc(s->words_per_set, sizeof *s->channels);
    s->slot_cap = SV_INITIAL_SLOTS;
    s->slots = calloc(s->slot_cap, sizeof *s->slots);
    if (!s->kinds || !s->source_gen || !s->source_best || !s->source_best_time || !s->channels || !s->slots) {
        uf_survivor_free(s);
        return NULL;
    }
    uf_buf schema;
    uf_buf_init(&schema);
    int rc = uf_survive_schema(config, &schema, NULL);
    if (rc == UF_OK)
        rc = uf_profile_schema_parse(schema.data, schema.len, &s->schema, NULL);
    uf_buf_free(&schema);
    if (rc != UF_OK) {
        uf_survivor_free(s);
        return NULL;
    }
    return s;
}

void uf_survivor_free(uf_survivor *s)
{
    if (!s)
        return;
    uf_profile_schema_free(s->schema);
    uf_buf_free(&s->bin);
    free(s->kinds);
    free(s->slots);
    free(s->cands);
    free(s->spellings);
    free(s->words);
    free(s->order);
    free(s->order_tmp);
    free(s->source_gen);
    free(s->source_best);
    free(s->source_best_time);
    free(s->channels);
    while (s->text_first) {
        sv_text_block *next = s->text_first->next;
        free(s->text_first);
        s->text_first = next;
    }
    free(s);
}

/* ------------------------------------------------------------------ */
/* Gathering                                                           */
/* ------------------------------------------------------------------ */

static void begin_cluster(uf_survivor *s)
{
    s->gen++;
    if (s->gen == 0) {
        /* After 2^32 clusters the stamps would alias: clear them once. */
        memset(s->slots, 0, s->slot_cap * sizeof *s->slots);
        memset(s->kinds, 0, (s->config->kind_count + 1) * sizeof *s->kinds);
        memset(s->source_gen, 0, (s->config->source_count + 1) * sizeof *s->source_gen);
        s->gen = 1;
    }
    s->cand_count = s->spelling_count = s->word_count = s->slot_used = 0;
    s->text_cur = s->text_first;
    if (s->text_cur)
        s->text_cur->used = 0;
}

/* A copy of `t` (at most 255 bytes) that lives until the next cluster; NULL when out of memory. */
static const char *keep_text(uf_survivor *s, uf_slice t)
{
    sv_text_block *b = s->text_cur;
    if (!b || b->used + t.len > SV_TEXT_BLOCK) {
        sv_text_block *next = b ? b->next : s->text_first;
        if (!next) {
            next = malloc(sizeof *next);
            if (!next)
                return NULL;
            next->next = NULL;
            if (b)
                b->next = next;
            else
                s->text_first = next;
        }
        next->used = 0;
        s->text_cur = b = next;
    }
    char *p = b->data + b->used;
    if (t.len)
        memcpy(p, t.ptr, t.len);
    b->used += t.len;
    return p;
}

static void slot_put(uf_survivor *s, uint64_t hash, uint32_t ref)
{
    size_t mask = s->slot_cap - 1;
    size_t i = (size_t)hash & mask;
    while (s->slots[i].stamp == s->gen)
        i = (i + 1) & mask;
    s->slots[i].hash = hash;
    s->slots[i].stamp = s->gen;
    s->slots[i].ref = ref;
}

/*
 * Room for `extra` more entries with the table at most half full. Growing
 * re-inserts what is already in the table: the candidates of hashed kinds
 * and the spellings marked in_table, so callers mark new entries only after
 * reserving.
 */
static bool table_reserve(uf_survivor *s, size_t extra)
{
    if ((s->slot_used + extra) * 2 > s->slot_cap) {
        size_t cap = s->slot_cap * 2;
        while ((s->slot_used + extra) * 2 > cap)
            cap *= 2;
        sv_slot *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return false;
        free(s->slots);
        s->slots = slots;
        s->slot_cap = cap;
        for (size_t k = 0; k < s->config->kind_count; k++) {
            const sv_kind *ks = &s->kinds[k];
            if (ks->gen == s->gen && ks->hashed)
                for (uint32_t i = ks->head; i != SV_NONE; i = s->cands[i].next)
                    slot_put(s, s->cands[i].hash, i);
        }
        for (size_t i = 0; i < s->spelling_count; i++)
            if (s->spellings[i].in_table)
                slot_put(s, s->spellings[i].hash, (uint32_t)i | SV_SPELLING_BIT);
    }
    return true;
}

/* Insert after table_reserve. */
static void table_put(uf_survivor *s, uint64_t hash, uint32_t ref)
{
    slot_put(s, hash, ref);
    s->slot_used++;
}

static uint64_t cand_hash(int kind, uf_slice value)
{
    return hash_bytes(value.ptr, value.len, (uint64_t)kind + 1);
}

static uint64_t spelling_hash(uint32_t cand, uf_slice raw)
{
    return hash_bytes(raw.ptr, raw.len, ((uint64_t)cand << 8) ^ UINT64_C(0x5350454C4C494E47));
}

/* Index of the candidate (kind, value), created when new; -1 when out of memory. */
static int64_t find_candidate(uf_survivor *s, int kind, uf_slice value)
{
    sv_kind *ks = &s->kinds[kind];
    if (ks->gen != s->gen) {
        ks->gen = s->gen;
        ks->head = SV_NONE;
        ks->count = 0;
        ks->hashed = false;
    }
    uint64_t hash = 0;
    if (!ks->hashed) {
        for (uint32_t i = ks->head; i != SV_NONE; i = s->cands[i].next)
            if (slice_same(s->cands[i].value, value))
                return i;
    } else {
        hash = cand_hash(kind, value);
        size_t mask = s->slot_cap - 1;
        for (size_t i = (size_t)hash & mask; s->slots[i].stamp == s->gen; i = (i + 1) & mask) {
            const sv_slot *slot = &s->slots[i];
            if (slot->hash == hash && !(slot->ref & SV_SPELLING_BIT)) {
                const sv_cand *c = &s->cands[slot->ref];
                if (c->kind == kind && slice_same(c->value, value))
                    return slot->ref;
            }
        }
    }
    if ((ks->hashed && !table_reserve(s, 1)) || s->cand_count >= SV_SPELLING_BIT - 1 ||
        !uf_grow((void **)&s->cands, &s->cand_cap, s->cand_count + 1, sizeof *s->cands) ||
        !uf_grow((void **)&s->words, &s->word_cap, s->word_count + s->words_per_set, sizeof *s->words))
        return -1;
    uint32_t ref = (uint32_t)s->cand_count++;
    sv_cand *c = &s->cands[ref];
    c->value = value;
    c->last_seen = SV_TIME_UNKNOWN;
    c->hash = hash;
    c->count = 0;
    c->last_record = UF_RECORD_NONE;
    c->sources_at = (uint32_t)s->word_count;
    c->next = ks->head;
    c->spellings = SV_NONE;
    c->spelling_count = 0;
    c->display = SV_NONE;
    c->length = SV_NONE; /* counted only if MOST_COMPLETE is reached */
    c->best_priority = INT_MAX;
    c->kind = (uint16_t)kind;
    c->winner = false;
    c->spellings_hashed = false;
    if (s->words_per_set == 1) /* up to 64 sources: one word, not a call to memset per candidate */
        s->words[s->word_count] = 0;
    else
        memset(s->words + s->word_count, 0, s->words_per_set * sizeof *s->words);
    s->word_count += s->words_per_set;
    ks->head = ref;
    ks->count++;
    if (ks->hashed) {
        table_put(s, hash, ref);
    } else if (ks->count > SV_LIST_MAX) {
        /* The list got long (a junk cluster): index it from now on. */
        if (!table_reserve(s, ks->count))
            return -1;
        ks->hashed = true;
        for (uint32_t i = ks->head; i != SV_NONE; i = s->cands[i].next) {
            s->cands[i].hash = cand_hash(kind, s->cands[i].value);
            table_put(s, s->cands[i].hash, i);
        }
    }
    return ref;
}

/* Index of the spelling `raw` of candidate `cand`, created when new; -1 when out of memory. */
static int64_t find_spelling(uf_survivor *s, uint32_t cand, uf_slice raw)
{
    sv_cand *c = &s->cands[cand];
    uint64_t hash = 0;
    if (!c->spellings_hashed) {
        for (uint32_t i = c->spellings; i != SV_NONE; i = s->spellings[i].next)
            if (slice_same(s->spellings[i].raw, raw))
                return i;
    } else {
        hash = spelling_hash(cand, raw);
        size_t mask = s->slot_cap - 1;
        for (size_t i = (size_t)hash & mask; s->slots[i].stamp == s->gen; i = (i + 1) & mask) {
            const sv_slot *slot = &s->slots[i];
            if (slot->hash == hash && (slot->ref & SV_SPELLING_BIT)) {
                const sv_spelling *sp = &s->spellings[slot->ref & ~SV_SPELLING_BIT];
                if (sp->cand == cand && slice_same(sp->raw, raw))
                    return slot->ref & ~SV_SPELLING_BIT;
            }
        }
    }
    if ((c->spellings_hashed && !table_reserve(s, 1)) || s->spelling_count >= SV_SPELLING_BIT - 1 ||
        !uf_grow((void **)&s->spellings, &s->spelling_cap, s->spelling_count + 1, sizeof *s->spellings))
        return -1;
    uint32_t ref = (uint32_t)s->spelling_count++;
    c = &s->cands[cand];
    sv_spelling *sp = &s->spellings[ref];
    sp->raw = raw;
    sp->last_seen = SV_TIME_UNKNOWN;
    sp->hash = hash;
    sp->cand = cand;
    sp->count = 0;
    sp->last_record = UF_RECORD_NONE;
    sp->next = c->spellings;
    sp->in_table = false;
    c->spellings = ref;
    c->spelling_count++;
    if (c->spellings_hashed) {
        sp->in_table = true;
        table_put(s, hash, ref | SV_SPELLING_BIT);
    } else if (c->spelling_count > SV_LIST_MAX) {
        if (!table_reserve(s, c->spelling_count))
            return -1;
        c->spellings_hashed = true;
        for (uint32_t i = c->spellings; i != SV_NONE; i = s->spellings[i].next) {
            sv_spelling *x = &s->spellings[i];
            x->hash = spelling_hash(cand, x->raw);
            x->in_table = true;
            table_put(s, x->hash, i | SV_SPELLING_BIT);
        }
    }
    return ref;
}

/* Fold one record into the candidates and the per-source state. */
static int gather_record(uf_survivor *s, const uf_record *r, uf_record_id id, uf_error *err)
{
    const uf_config *config = s->config;
    int64_t t = rank_time(r->updated_at);
    unsigned source = r->source;

    if (s->source_gen[source] != s->gen || t > s->source_best_time[source] ||
        (t == s->source_best_time[source] && id > s->source_best[source])) {
        s->source_gen[source] = s->gen;
        s->source_best[source] = id;
        s->source_best_time[source] = t;
    }

    int priority = config->sources[source].priority;
    uint64_t source_bit = UINT64_C(1) << (source % 64);
    size_t source_word = source / 64;
    uf_attr_cursor cursor;
    uf_attr_view a;
    uf_attr_cursor_init(&cursor, r);
    while (uf_attr_next(&cursor, &a)) {
        if (a.kind < 0 || (size_t)a.kind >= config->kind_count)
            return uf_error_set(err, UF_ERR_INVALID, "survive: record %u holds attribute kind %d, config has %zu",
                                (unsigned)id, a.kind, config->kind_count);
        if (a.kind == UF_KIND_FULL_NAME || a.value.len == 0)
            continue;
        int64_t ci = find_candidate(s, a.kind, a.value);
        if (ci < 0)
            return uf_error_set(err, UF_ERR_NOMEM, "survive: out of memory");
        sv_cand *c = &s->cands[ci];
        if (c->last_record != id) {
            c->last_record = id;
            c->count++;
        }
        if (t > c->last_seen)
            c->last_seen = t;
        if (priority < c->best_priority)
            c->best_priority = priority;
        s->words[c->sources_at + source_word] |= source_bit;

        int64_t si = find_spelling(s, (uint32_t)ci, a.raw);
        if (si < 0)
            return uf_error_set(err, UF_ERR_NOMEM, "survive: out of memory");
        sv_spelling *sp = &s->spellings[si];
        if (sp->raw.ptr == cursor.raw) {
            /* A new spelling rebuilt in the cursor: keep a copy for the cluster. */
            const char *kept = keep_text(s, a.raw);
            if (!kept)
                return uf_error_set(err, UF_ERR_NOMEM, "survive: out of memory");
            sp->raw = uf_slice_make(kept, a.raw.len);
        }
        if (sp->last_record != id) {
            sp->last_record = id;
            sp->count++;
        }
        if (t > sp->last_seen)
            sp->last_seen = t;
    }
    return UF_OK;
}

/* ------------------------------------------------------------------ */
/* Choosing                                                            */
/* ------------------------------------------------------------------ */

/* Display spelling: most records, then most recent, then bytewise smallest. */
static void choose_display(const uf_survivor *s, sv_cand *c)
{
    uint32_t best = c->spellings;
    if (c->spelling_count == 1) {
        c->display = best;
        return;
    }
    for (uint32_t i = s->spellings[best].next; i != SV_NONE; i = s->spellings[i].next) {
        const sv_spelling *a = &s->spellings[i], *b = &s->spellings[best];
        if (a->count != b->count ? a->count > b->count
            : a->last_seen != b->last_seen ? a->last_seen > b->last_seen
            : slice_compare(a->raw, b->raw) < 0)
            best = i;
    }
    c->display = best;
}

/* Higher is better under `rule`. */
static int64_t rule_score(const sv_cand *c, uf_survive_rule rule)
{
    switch (rule) {
    case UF_SURVIVE_SOURCE_PRIORITY: return -(int64_t)c->best_priority;
    case UF_SURVIVE_MOST_RECENT: return c->last_seen;
    case UF_SURVIVE_MOST_FREQUENT: return c->count;
    case UF_SURVIVE_MOST_COMPLETE: return c->length;
    default: return 0;
    }
}

static const uf_survive_rule sv_default_rules[] = {
    UF_SURVIVE_SOURCE_PRIORITY, UF_SURVIVE_MOST_RECENT, UF_SURVIVE_MOST_FREQUENT, UF_SURVIVE_MOST_COMPLETE,
};

/* Mark the surviving candidate of one kind. Reorders `v` (sorted afterwards). */
static void choose_winner(const uf_kind_config *kind, sv_cand **v, size_t n)
{
    const uf_survive_rule *rules = kind->survive;
    size_t rule_count = (size_t)kind->survive_count;
    if (kind->survive_count <= 0 || rule_count > UF_SURVIVE_RULE_COUNT) {
        rules = sv_default_rules;
        rule_count = UF_ARRAY_LEN(sv_default_rules);
    }
    size_t live = n;
    for (size_t r = 0; r < rule_count && live > 1; r++) {
        if ((unsigned)rules[r] >= UF_SURVIVE_RULE_COUNT)
            continue;
        if (rules[r] == UF_SURVIVE_MOST_COMPLETE)
            for (size_t i = 0; i < live; i++)
                if (v[i]->length == SV_NONE)
                    v[i]->length = code_points(v[i]->value);
        int64_t best = INT64_MIN;
        for (size_t i = 0; i < live; i++) {
            int64_t score = rule_score(v[i], rules[r]);
            if (score > best)
                best = score;
        }
        size_t kept = 0;
        for (size_t i = 0; i < live; i++)
            if (rule_score(v[i], rules[r]) == best) {
                sv_cand *tmp = v[kept];
                v[kept++] = v[i];
                v[i] = tmp;
            }
        live = kept;
    }
    size_t win = 0;
    for (size_t i = 1; i < live; i++)
        if (slice_compare(v[i]->value, v[win]->value) < 0)
            win = i;
    v[win]->winner = true;
}

/* Alternatives order: survivor, count desc, last_seen desc, value asc. */
static int cand_order(const sv_cand *a, const sv_cand *b)
{
    if (a->winner != b->winner)
        return a->winner ? -1 : 1;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->last_seen != b->last_seen)
        return a->last_seen > b->last_seen ? -1 : 1;
    return slice_compare(a->value, b->value);
}

static void insertion_sort(sv_cand **v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        sv_cand *x = v[i];
        size_t j = i;
        for (; j > 0 && cand_order(x, v[j - 1]) < 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Merge sort into scratch `tmp` (n entries): qsort may malloc, this never does. */
static void merge_sort(sv_cand **v, sv_cand **tmp, size_t n)
{
    if (n <= SV_SMALL_SORT) {
        insertion_sort(v, n);
        return;
    }
    size_t half = n / 2;
    merge_sort(v, tmp, half);
    merge_sort(v + half, tmp, n - half);
    if (cand_order(v[half - 1], v[half]) <= 0)
        return;
    memcpy(tmp, v, half * sizeof *v);
    size_t i = 0, j = half, k = 0;
    while (i < half && j < n)
        v[k++] = cand_order(v[j], tmp[i]) < 0 ? v[j++] : tmp[i++];
    while (i < half)
        v[k++] = tmp[i++];
}

/* Per kind present: display spellings, the survivor, the alternatives order. */
static bool decide(uf_survivor *s)
{
    const uf_config *config = s->config;
    if (!uf_grow((void **)&s->order, &s->order_cap, s->cand_count + 1, sizeof *s->order) ||
        !uf_grow((void **)&s->order_tmp, &s->order_tmp_cap, s->cand_count + 1, sizeof *s->order_tmp))
        return false;
    uint32_t at = 0;
    for (size_t k = 0; k < config->kind_count; k++) {
        sv_kind *ks = &s->kinds[k];
        if (ks->gen != s->gen || ks->count == 0)
            continue;
        ks->order_at = at;
        for (uint32_t i = ks->head; i != SV_NONE; i = s->cands[i].next) {
            choose_display(s, &s->cands[i]);
            s->order[at++] = &s->cands[i];
        }
        sv_cand **v = s->order + ks->order_at;
        if (ks->count == 1) {
            v[0]->winner = true;
            continue;
        }
        choose_winner(&config->kinds[k], v, ks->count);
        merge_sort(v, s->order_tmp, ks->count);
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Writing the profile (format: profile_codec.h)                       */
/* ------------------------------------------------------------------ */

/* Candidates of kind k in output order; *n = 0 when the kind is absent. */
static sv_cand *const *kind_candidates(const uf_survivor *s, int k, size_t *n)
{
    const sv_kind *ks = &s->kinds[k];
    *n = ks->gen == s->gen ? ks->count : 0;
    return s->order + (*n ? ks->order_at : 0);
}

static void put_kinds(uf_survivor *s, uf_profile_writer *pw)
{
    const uf_config *config = s->config;
    for (size_t k = 0; k < config->kind_count; k++) {
        size_t n;
        sv_cand *const *v = kind_candidates(s, (int)k, &n);
        if (n == 0 || k == UF_KIND_FULL_NAME)
            continue;
        bool identifier = config->kinds[k].is_identifier;
        size_t cap = identifier ? UF_PROFILE_MAX_IDENTIFIERS : UF_PROFILE_MAX_ALTERNATIVES;
        size_t shown = n < cap ? n : cap;
        uf_profile_kind(pw, (unsigned)k, n);
        for (size_t j = 0; j < shown; j++) {
            const sv_cand *c = v[j];
            uf_slice display = s->spellings[c->display].raw;
            /* "normalized" only where it is shown and says something the display value does not. */
            uf_slice normalized = {NULL, 0};
            if (identifier && !slice_same(display, c->value))
                normalized = c->value;
            uf_profile_candidate(pw, display, normalized, s->words + c->sources_at, s->words_per_set, c->count,
                                 c->last_seen);
        }
    }
}

static void put_records(uf_profile_writer *pw, const uf_record_table *table, const uf_record_id *members,
                        size_t count)
{
    size_t shown = count < UF_SURVIVE_MAX_RECORDS ? count : UF_SURVIVE_MAX_RECORDS;
    uf_profile_records(pw, count);
    for (size_t m = 0; m < shown; m++) {
        const uf_record *r = &table->records[members[m]];
        uf_profile_record(pw, r->source, uf_record_key(r), rank_time(r->updated_at));
    }
}

static void put_context(uf_survivor *s, uf_profile_writer *pw, const uf_record_table *table)
{
    const uf_config *config = s->config;
    for (size_t src = 0; src < config->source_count; src++) {
        size_t columns = config->sources[src].context_count;
        if (s->source_gen[src] != s->gen || columns == 0)
            continue;
        const uf_record *r = &table->records[s->source_best[src]];
        /* The blob's order is whatever the reader chose, and a repeated
           index must appear once: gather, the codec writes in column order. */
        memset(s->context_present, 0, sizeof s->context_present);
        uf_attr_cursor cursor;
        uf_context_view cv;
        uf_context_cursor_init(&cursor, r);
        while (uf_context_next(&cursor, &cv)) {
            size_t idx = (size_t)cv.index;
            if (idx >= columns || idx >= SV_MAX_CONTEXT ||
                (s->context_present[idx / 64] >> (idx % 64) & 1))
                continue;
            s->context_present[idx / 64] |= UINT64_C(1) << (idx % 64);
            s->context_value[idx] = cv.value;
        }
        uf_profile_context(pw, (unsigned)src, rank_time(r->updated_at), s->context_present,
                           UF_ARRAY_LEN(s->context_present), s->context_value);
    }
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */
/* ------------------------------------------------------------------ */

/* Members are scattered over the table: start every row, then every blob, loading. */
static void prefetch_members(const uf_record_table *table, const uf_record_id *members, size_t count)
{
    size_t n = count < SV_PREFETCH ? count : SV_PREFETCH;
    for (size_t m = 0; m < n; m++)
        if (members[m] < table->count)
            __builtin_prefetch(&table->records[members[m]]);
    for (size_t m = 0; m < n; m++)
        if (members[m] < table->count) {
            const uf_record *r = &table->records[members[m]];
            for (uint32_t off = 0; off < r->blob_len; off += 64)
                __builtin_prefetch(r->blob + off);
        }
}

/*
 * After a giant cluster, give its scratch back: one junk cluster of a
 * million records must not pin hundreds of MiB per thread for the rest of
 * the run. Typical clusters never reach the limit, so this never frees in
 * steady state.
 */
static void trim_scratch(uf_survivor *s)
{
    if (s->cand_cap > SV_KEEP_ENTRIES || s->spelling_cap > SV_KEEP_ENTRIES) {
        free(s->cands);
        free(s->spellings);
        free(s->words);
        free(s->order);
        free(s->order_tmp);
        s->cands = NULL;
        s->spellings = NULL;
        s->words = NULL;
        s->order = s->order_tmp = NULL;
        s->cand_cap = s->spelling_cap = s->word_cap = s->order_cap = s->order_tmp_cap = 0;
        s->cand_count = s->spelling_count = s->word_count = 0;
    }
    if (s->slot_cap > 4 * SV_KEEP_ENTRIES) {
        sv_slot *slots = calloc(SV_INITIAL_SLOTS, sizeof *slots);
        if (slots) { /* else keep the big table: still correct */
            free(s->slots);
            s->slots = slots;
            s->slot_cap = SV_INITIAL_SLOTS;
            s->slot_used = 0;
        }
    }
}

static int survive(uf_survivor *s, const uf_record_table *table, const uf_record_id *members, size_t count,
                   uf_buf *out, uf_error *err)
{
    if (!table || !members || !out || count == 0)
        return uf_error_set(err, UF_ERR_INVALID, "survive: empty cluster or missing argument");
    const uf_config *config = s->config;

    prefetch_members(table, members, count);
    begin_cluster(s);
    int64_t latest = SV_TIME_UNKNOWN;
    for (size_t m = 0; m < count; m++) {
        uf_record_id id = members[m];
        if (id >= table->count)
            return uf_error_set(err, UF_ERR_INVALID, "survive: record id %u outside the table (%zu records)",
                                (unsigned)id, table->count);
        const uf_record *r = &table->records[id];
        if (r->source >= config->source_count)
            return uf_error_set(err, UF_ERR_INVALID, "survive: record %u has source %u, config has %zu",
                                (unsigned)id, (unsigned)r->source, config->source_count);
        int rc = gather_record(s, r, id, err);
        if (rc != UF_OK)
            return rc;
        int64_t t = rank_time(r->updated_at);
        if (t > latest)
            latest = t;
    }
    if (!decide(s))
        return uf_error_set(err, UF_ERR_NOMEM, "survive: out of memory");

    memset(s->channels, 0, s->words_per_set * sizeof *s->channels);
    for (size_t src = 0; src < config->source_count; src++)
        if (s->source_gen[src] == s->gen)
            s->channels[src / 64] |= UINT64_C(1) << (src % 64);

    size_t start_len = out->len;
    uf_profile_writer pw;
    uf_profile_begin(&pw, out, latest, s->channels, s->words_per_set);
    put_kinds(s, &pw);
    put_records(&pw, table, members, count);
    put_context(s, &pw, table);
    uf_profile_end(&pw);
    if (out->failed) {
        out->len = start_len < out->len ? start_len : out->len;
        return uf_error_set(err, UF_ERR_NOMEM, "survive: out of memory writing the profile");
    }
    return UF_OK;
}

int uf_survive_profile_binary(uf_survivor *s, const uf_record_table *table, const uf_record_id *members,
                              size_t count, uf_buf *out, uf_error *err)
{
    if (!s)
        return uf_error_set(err, UF_ERR_INVALID, "survive: no survivor");
    int rc = survive(s, table, members, count, out, err);
    trim_scratch(s);
    return rc;
}

int uf_survive_profile(uf_survivor *s, const uf_record_table *table,
                       const uf_record_id *members, size_t count,
                       const char *golden_id_text, uf_buf *out, uf_error *err)
{
    if (!s)
        return uf_error_set(err, UF_ERR_INVALID, "survive: no survivor");
    if (!golden_id_text || !out)
        return uf_error_set(err, UF_ERR_INVALID, "survive: empty cluster or missing argument");
    uf_buf_reset(&s->bin);
    int rc = survive(s, table, members, count, &s->bin, err);
    trim_scratch(s);
    if (rc == UF_OK)
        rc = uf_profile_render(s->schema, s->bin.data, s->bin.len, uf_slice_cstr(golden_id_text), out, err);
    return rc;
}
