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
 *  - Output is written with plain stores into a survivor-owned buffer, each
 *    item after one capacity check sized for its worst case (blob values are
 *    at most 255 bytes, and escaping grows a byte to at most 6), then copied
 *    to the caller's buffer once. The escaper follows uf_json_string byte for
 *    byte (RFC 8259, \u00XX for control characters, U+FFFD for each invalid
 *    UTF-8 byte); a test compares the two. The caller's golden id, of any
 *    length, goes through uf_json_string itself.
 *  - Names that appear in every profile (kinds, sources, context columns) are
 *    escaped once in uf_survivor_new. Timestamps are formatted with
 *    civil-from-days arithmetic (H. Hinnant's algorithm: no gmtime, TZ or
 *    locale) and remembered in a small cache, since a cluster repeats the
 *    same few times many times.
 *  - A cluster's members are scattered over the record table, so the first
 *    step prefetches every member's row, then every blob: the cache misses
 *    overlap instead of queueing.
 */
#include "survive.h"

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

/* A blob value escaped: quotes plus at most 6 bytes per byte. */
#define SV_VALUE_MAX (2 + 6 * 255)

/* Quoted timestamp. */
#define SV_TIME_TEXT 22

#define SV_TIME_CACHE 64

/* Scratch kept after a cluster: enough for ~1500-record clusters (~3 MiB);
   what a giant junk cluster needed beyond it is given back. */
#define SV_KEEP_ENTRIES 16384

typedef struct sv_text {
    const char *ptr;
    size_t len;
    size_t off; /* offset into `names`, resolved into ptr once names is final */
} sv_text;

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

typedef struct sv_time {
    int64_t t;
    size_t len;              /* 0: not representable */
    char text[SV_TIME_TEXT + 2];
} sv_time;

struct uf_survivor {
    const uf_config *config;

    /* Escaped names, built once; all point into `names`. */
    uf_buf names;
    sv_text *kind_key;       /* `"first_name":` per kind */
    sv_text *source_text;    /* `"crm"` per source */
    sv_text *context_key;    /* `"last_purchase":`, flat over sources */
    size_t *context_first;   /* per source: first index into context_key */
    bool *context_shadows_updated_at; /* a column is itself named updated_at */
    int *attribute_kinds;    /* "attributes" section order */
    size_t attribute_kind_count;
    int *identifier_kinds;   /* "identifiers" section order */
    size_t identifier_kind_count;
    size_t words_per_set;    /* uint64 words in one source bitset */
    size_t item_max;         /* worst case of one output item */

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

    char *text;              /* the profile after the golden id */
    size_t text_cap;
    bool text_failed;
    sv_time time_cache[SV_TIME_CACHE];
};

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: four-digit years only. */
#define SV_ISO_MIN INT64_C(-62167219200)
#define SV_ISO_MAX INT64_C(253402300799)

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

size_t uf_format_iso8601(int64_t t, char out[UF_ISO8601_SIZE])
{
    if (t < SV_ISO_MIN || t > SV_ISO_MAX) {
        out[0] = '\0';
        return 0;
    }
    /* Floor division, so times before 1970 land on the previous day. */
    int64_t days = t / 86400;
    int64_t secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    /* civil_from_days: eras of 400 years (146097 days) starting 0000-03-01,
       so the leap day is the last day of a "year" and months need no table. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                           /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                     /* [0, 11], March = 0 */
    unsigned day = doy - (153 * mp + 2) / 5 + 1;
    unsigned month = mp < 10 ? mp + 3 : mp - 9;
    unsigned year = (unsigned)((int64_t)yoe + era * 400 + (month <= 2));
    unsigned s = (unsigned)secs;

    put2(out, year / 100);
    put2(out + 2, year % 100);
    out[4] = '-';
    put2(out + 5, month);
    out[7] = '-';
    put2(out + 8, day);
    out[10] = 'T';
    put2(out + 11, s / 3600);
    out[13] = ':';
    put2(out + 14, s / 60 % 60);
    out[16] = ':';
    put2(out + 17, s % 60);
    out[19] = 'Z';
    out[20] = '\0';
    return 20;
}

static int64_t rank_time(int64_t updated_at)
{
    return updated_at == 0 ? SV_TIME_UNKNOWN : updated_at;
}

/* ------------------------------------------------------------------ */
/* Writing primitives                                                  */
/* ------------------------------------------------------------------ */

/*
 * Make room for `n` more bytes at `w`. On allocation failure the profile is
 * marked failed and writing restarts at the buffer's start (which always
 * holds item_max bytes), so callers never check: the result is dropped.
 */
static char *need_slow(uf_survivor *s, size_t used, size_t n)
{
    size_t cap = s->text_cap * 2;
    while (cap < used + n)
        cap *= 2;
    char *t = realloc(s->text, cap);
    if (!t) {
        s->text_failed = true;
        return s->text;
    }
    s->text = t;
    s->text_cap = cap;
    return t + used;
}

static inline char *need(uf_survivor *s, char *w, size_t n)
{
    size_t used = (size_t)(w - s->text);
    if (used + n <= s->text_cap)
        return w;
    return need_slow(s, used, n);
}

#define PUT_LIT(w, lit) (memcpy((w), (lit), sizeof(lit) - 1), (w) += sizeof(lit) - 1)

/*
 * Copy a short run (names, times, UTF-8 sequences) without a library call:
 * two overlapping fixed-size moves cover every length in a size class.
 */
static inline char *put_mem(char *w, const void *src, size_t n)
{
    const char *p = src;
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
        memcpy(w, &a, 8);
        memcpy(w + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        memcpy(w, &a, 4);
        memcpy(w + n - 4, &b, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++)
            w[i] = p[i];
    } else {
        memcpy(w, p, n);
    }
    return w + n;
}

static inline char *put_text(char *w, sv_text t)
{
    return put_mem(w, t.ptr, t.len);
}

static char *put_u64(char *w, uint64_t v)
{
    if (v < 10) {
        *w++ = (char)('0' + v);
        return w;
    }
    char tmp[20];
    size_t n = 0;
    do {
        tmp[sizeof tmp - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return put_mem(w, tmp + sizeof tmp - n, n);
}

/* Length of the valid UTF-8 sequence at p (2..4), or 0: as json_out.c. */
static size_t utf8_sequence(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    size_t n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
    else return 0;
    if (left < n)
        return 0;
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/*
 * True when one of the 8 bytes of x needs more than a copy: a control
 * character, '"', '\\' or a non-ASCII byte. Word-at-a-time tests: (v - 0x01..)
 * & ~v has a high bit set iff some byte of v is zero, (x - 0x20..) iff some
 * byte is below 0x20 (borrows only spread upward from a real hit), and x
 * itself for bytes >= 0x80.
 */
static inline bool needs_escape8(uint64_t x)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
    uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
    uint64_t t = (x - ones * 0x20) | x | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash);
    return (t & high) != 0;
}

static inline bool needs_escape4(uint32_t x)
{
    const uint32_t ones = 0x01010101u, high = 0x80808080u;
    uint32_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
    uint32_t t = (x - ones * 0x20) | x | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash);
    return (t & high) != 0;
}

/* 1 for bytes copied as they are into a JSON string: printable ASCII but '"' and '\\'. */
#define SV_R16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const unsigned char sv_plain[256] = {
    SV_R16(0), SV_R16(0),                                   /* 0x00-0x1f: control */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         /* 0x20-0x2f: '"' */
    SV_R16(1), SV_R16(1),                                   /* 0x30-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,         /* 0x50-0x5f: '\\' */
    SV_R16(1), SV_R16(1),                                   /* 0x60-0x7f */
    SV_R16(0), SV_R16(0), SV_R16(0), SV_R16(0),             /* 0x80-0xff: UTF-8 */
    SV_R16(0), SV_R16(0), SV_R16(0), SV_R16(0),
};
#undef SV_R16

/* A JSON string literal; at most 2 + 6 * s.len bytes. Same bytes as uf_json_string. */
static char *put_string(char *w, uf_slice s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0, n = s.len;
    *w++ = '"';
    if (n >= 4 && n <= 8) {
        /* Short and plain (most names, postcodes, ids): two overlapping words. */
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        if (!needs_escape4(a) && !needs_escape4(b)) {
            memcpy(w, &a, 4);
            memcpy(w + n - 4, &b, 4);
            w += n;
            *w++ = '"';
            return w;
        }
    }
    while (i < n) {
        /* Plain ASCII is most of every export: eight bytes per step. */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, p + i, 8);
            if (needs_escape8(x))
                break;
            memcpy(w, &x, 8);
            w += 8;
            i += 8;
        }
        if (i < n && n >= 8 && i + 8 > n) {
            /* A short tail: if the last 8 bytes are all plain, those before
               the tail were copied one to one, so rewriting them is harmless. */
            uint64_t x;
            memcpy(&x, p + n - 8, 8);
            if (!needs_escape8(x)) {
                w += n - i;
                memcpy(w - 8, &x, 8);
                break;
            }
        }
        while (i < n && sv_plain[p[i]])
            *w++ = (char)p[i++];
        if (i >= n)
            break;
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            *w++ = '\\';
            *w++ = (char)c;
            i++;
        } else if (c < 0x20) {
            *w++ = '\\';
            if (c == '\n') *w++ = 'n';
            else if (c == '\r') *w++ = 'r';
            else if (c == '\t') *w++ = 't';
            else {
                w = put_mem(w, "u00", 3);
                *w++ = hex[c >> 4];
                *w++ = hex[c & 15];
            }
            i++;
        } else {
            size_t len = utf8_sequence(p + i, n - i);
            if (len == 0) {
                w = put_mem(w, "\xEF\xBF\xBD", 3); /* U+FFFD */
                i++;
            } else {
                w = put_mem(w, p + i, len);
                i += len;
            }
        }
    }
    *w++ = '"';
    return w;
}

/* `member` and the quoted time; nothing when unknown or unrepresentable. */
static char *put_time(uf_survivor *s, char *w, const char *member, size_t member_len, int64_t t)
{
    if (t == SV_TIME_UNKNOWN)
        return w;
    sv_time *e = &s->time_cache[((uint64_t)t * UINT64_C(0x9E3779B97F4A7C15)) >> 58];
    if (e->t != t) {
        e->t = t;
        e->len = uf_format_iso8601(t, e->text + 1);
        if (e->len) {
            e->text[0] = '"';
            e->text[SV_TIME_TEXT - 1] = '"';
            e->len = SV_TIME_TEXT;
        }
    }
    if (e->len == 0)
        return w;
    w = put_mem(w, member, member_len);
    return put_mem(w, e->text, SV_TIME_TEXT);
}

#define PUT_TIME(s, w, lit, t) put_time((s), (w), (lit), sizeof(lit) - 1, (t))

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
static bool grow(void **p, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return true;
    size_t n = *cap ? *cap : 64;
    while (n < want)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

/* ------------------------------------------------------------------ */
/* Survivor lifetime                                                   */
/* ------------------------------------------------------------------ */

/* Append the escaped name (plus an optional ':'); resolved later. */
static sv_text add_name(uf_buf *names, const char *name, bool key)
{
    sv_text t = {NULL, 0, names->len};
    uf_json_string(names, uf_slice_cstr(name ? name : ""));
    if (key)
        uf_buf_putc(names, ':');
    t.len = names->len - t.off;
    return t;
}

static void resolve_name(const uf_buf *names, sv_text *t)
{
    t->ptr = names->data + t->off;
}

uf_survivor *uf_survivor_new(const uf_config *config)
{
    if (!config)
        return NULL;
    uf_survivor *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->config = config;
    uf_buf_init(&s->names);
    size_t kinds = config->kind_count, sources = config->source_count;
    size_t contexts = 0;
    for (size_t i = 0; i < sources; i++)
        contexts += config->sources[i].context_count;

    s->kind_key = calloc(kinds + 1, sizeof *s->kind_key);
    s->source_text = calloc(sources + 1, sizeof *s->source_text);
    s->context_key = calloc(contexts + 1, sizeof *s->context_key);
    s->context_first = calloc(sources + 1, sizeof *s->context_first);
    s->context_shadows_updated_at = calloc(sources + 1, sizeof *s->context_shadows_updated_at);
    s->attribute_kinds = calloc(kinds + 1, sizeof *s->attribute_kinds);
    s->identifier_kinds = calloc(kinds + 1, sizeof *s->identifier_kinds);
    s->kinds = calloc(kinds + 1, sizeof *s->kinds);
    s->source_gen = calloc(sources + 1, sizeof *s->source_gen);
    s->source_best = calloc(sources + 1, sizeof *s->source_best);
    s->source_best_time = calloc(sources + 1, sizeof *s->source_best_time);
    s->slot_cap = SV_INITIAL_SLOTS;
    s->slots = calloc(s->slot_cap, sizeof *s->slots);
    if (!s->kind_key || !s->source_text || !s->context_key || !s->context_first ||
        !s->context_shadows_updated_at || !s->attribute_kinds || !s->identifier_kinds ||
        !s->kinds || !s->source_gen || !s->source_best || !s->source_best_time || !s->slots) {
        uf_survivor_free(s);
        return NULL;
    }
    s->words_per_set = sources ? (sources + 63) / 64 : 1;

    size_t kind_key_max = 0, source_max = 0, sources_all = 2, context_key_max = 0;
    for (size_t k = 0; k < kinds; k++) {
        s->kind_key[k] = add_name(&s->names, config->kinds[k].name, true);
        if (s->kind_key[k].len > kind_key_max)
            kind_key_max = s->kind_key[k].len;
    }
    size_t c = 0;
    for (size_t i = 0; i < sources; i++) {
        const uf_source_config *src = &config->sources[i];
        s->source_text[i] = add_name(&s->names, src->name, false);
        sources_all += s->source_text[i].len + 1;
        if (s->source_text[i].len > source_max)
            source_max = s->source_text[i].len;
        s->context_first[i] = c;
        for (size_t j = 0; j < src->context_count; j++) {
            const char *col = src->context_columns[j];
            s->context_key[c] = add_name(&s->names, col, true);
            if (s->context_key[c].len > context_key_max)
                context_key_max = s->context_key[c].len;
            c++;
            if (col && strcmp(col, "updated_at") == 0)
                s->context_shadows_updated_at[i] = true;
        }
    }
    if (s->names.failed) {
        uf_survivor_free(s);
        return NULL;
    }
    for (size_t k = 0; k < kinds; k++)
        resolve_name(&s->names, &s->kind_key[k]);
    for (size_t i = 0; i < sources; i++)
        resolve_name(&s->names, &s->source_text[i]);
    for (size_t i = 0; i < c; i++)
        resolve_name(&s->names, &s->context_key[i]);

    /* Every need() asks for at most this: the largest item is a candidate
       (two values and the list of every source), the others are smaller. */
    s->item_max = 2 * SV_VALUE_MAX + sources_all + kind_key_max + source_max + context_key_max + 256;
    s->text_cap = s->item_max * 2 > 16384 ? s->item_max * 2 : 16384;
    s->text = malloc(s->text_cap);
    if (!s->text) {
        uf_survivor_free(s);
        return NULL;
    }
    for (size_t i = 0; i < SV_TIME_CACHE; i++)
        s->time_cache[i].t = SV_TIME_UNKNOWN; /* never looked up */

    /* Agents read names and addresses first; e-mail and phone close the
       attributes and open the identifiers. */
    for (size_t k = 0; k < kinds; k++)
        if (k != UF_KIND_FULL_NAME && !config->kinds[k].is_identifier)
            s->attribute_kinds[s->attribute_kind_count++] = (int)k;
    for (size_t k = 0; k < kinds && k < UF_KIND_BUILTIN_COUNT; k++)
        if (k != UF_KIND_FULL_NAME && config->kinds[k].is_identifier)
            s->attribute_kinds[s->attribute_kind_count++] = (int)k;
    for (size_t k = 0; k < kinds; k++)
        if (k != UF_KIND_FULL_NAME && config->kinds[k].is_identifier)
            s->identifier_kinds[s->identifier_kind_count++] = (int)k;
    return s;
}

void uf_survivor_free(uf_survivor *s)
{
    if (!s)
        return;
    uf_buf_free(&s->names);
    free(s->kind_key);
    free(s->source_text);
    free(s->context_key);
    free(s->context_first);
    free(s->context_shadows_updated_at);
    free(s->attribute_kinds);
    free(s->identifier_kinds);
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
    free(s->text);
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
        !grow((void **)&s->cands, &s->cand_cap, s->cand_count + 1, sizeof *s->cands) ||
        !grow((void **)&s->words, &s->word_cap, s->word_count + s->words_per_set, sizeof *s->words))
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
        !grow((void **)&s->spellings, &s->spelling_cap, s->spelling_count + 1, sizeof *s->spellings))
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
    if (!grow((void **)&s->order, &s->order_cap, s->cand_count + 1, sizeof *s->order) ||
        !grow((void **)&s->order_tmp, &s->order_tmp_cap, s->cand_count + 1, sizeof *s->order_tmp))
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
/* Writing the profile                                                 */
/* ------------------------------------------------------------------ */

/* Candidates of kind k in output order; *n = 0 when the kind is absent. */
static sv_cand *const *kind_candidates(const uf_survivor *s, int k, size_t *n)
{
    const sv_kind *ks = &s->kinds[k];
    *n = ks->gen == s->gen ? ks->count : 0;
    return s->order + (*n ? ks->order_at : 0);
}

static char *put_sources(const uf_survivor *s, char *w, const sv_cand *c)
{
    bool first = true;
    *w++ = '[';
    for (size_t word = 0; word < s->words_per_set; word++) {
        uint64_t bits = s->words[c->sources_at + word];
        while (bits) {
            size_t source = word * 64 + (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (!first)
                *w++ = ',';
            first = false;
            w = put_text(w, s->source_text[source]);
        }
    }
    *w++ = ']';
    return w;
}

/* "value":...,"sources":[...],"count":N,"last_seen":"..." (no braces); room for item_max reserved by the caller. */
static char *put_candidate_fields(uf_survivor *s, char *w, const sv_cand *c, bool with_normalized)
{
    uf_slice display = s->spellings[c->display].raw;
    PUT_LIT(w, "\"value\":");
    w = put_string(w, display);
    /* "normalized" only when it says something the display value does not. */
    if (with_normalized && !(display.len == c->value.len && memcmp(display.ptr, c->value.ptr, display.len) == 0)) {
        PUT_LIT(w, ",\"normalized\":");
        w = put_string(w, c->value);
    }
    PUT_LIT(w, ",\"sources\":");
    w = put_sources(s, w, c);
    PUT_LIT(w, ",\"count\":");
    w = put_u64(w, c->count);
    w = PUT_TIME(s, w, ",\"last_seen\":", c->last_seen);
    return w;
}

static char *put_candidate(uf_survivor *s, char *w, const sv_cand *c, bool comma, bool with_normalized)
{
    w = need(s, w, s->item_max);
    if (comma)
        *w++ = ',';
    *w++ = '{';
    w = put_candidate_fields(s, w, c, with_normalized);
    *w++ = '}';
    return w;
}

static char *put_attributes(uf_survivor *s, char *w)
{
    bool first = true;
    w = need(s, w, 32);
    PUT_LIT(w, ",\"attributes\":{");
    for (size_t i = 0; i < s->attribute_kind_count; i++) {
        int k = s->attribute_kinds[i];
        size_t n;
        sv_cand *const *v = kind_candidates(s, k, &n);
        if (n == 0)
            continue;
        w = need(s, w, s->item_max);
        if (!first)
            *w++ = ',';
        first = false;
        w = put_text(w, s->kind_key[k]);
        *w++ = '{';
        if (s->config->kinds[k].is_identifier) {
            /* E-mail and phone: the best value here, every value with its lineage under "identifiers". */
            PUT_LIT(w, "\"value\":");
            w = put_string(w, s->spellings[v[0]->display].raw);
        } else {
            /* The surviving value with its lineage, then only the other candidates. */
            w = put_candidate_fields(s, w, v[0], false);
            size_t shown = n < UF_SURVIVE_MAX_ALTERNATIVES ? n : UF_SURVIVE_MAX_ALTERNATIVES;
            if (shown > 1) {
                w = need(s, w, 32);
                PUT_LIT(w, ",\"alternatives\":[");
                for (size_t j = 1; j < shown; j++)
                    w = put_candidate(s, w, v[j], j > 1, false);
                w = need(s, w, 64);
                *w++ = ']';
            }
            if (n > shown) {
                w = need(s, w, 64);
                PUT_LIT(w, ",\"alternatives_truncated\":");
                w = put_u64(w, n - shown);
            }
        }
        w = need(s, w, 1);
        *w++ = '}';
    }
    w = need(s, w, 1);
    *w++ = '}';
    return w;
}

static char *put_identifiers(uf_survivor *s, char *w)
{
    bool first = true, truncated = false;
    w = need(s, w, 32);
    PUT_LIT(w, ",\"identifiers\":{");
    for (size_t i = 0; i < s->identifier_kind_count; i++) {
        int k = s->identifier_kinds[i];
        size_t n;
        sv_cand *const *v = kind_candidates(s, k, &n);
        if (n == 0)
            continue;
        w = need(s, w, s->item_max);
        if (!first)
            *w++ = ',';
        first = false;
        w = put_text(w, s->kind_key[k]);
        *w++ = '[';
        size_t shown = n < UF_SURVIVE_MAX_IDENTIFIERS ? n : UF_SURVIVE_MAX_IDENTIFIERS;
        for (size_t j = 0; j < shown; j++)
            w = put_candidate(s, w, v[j], j > 0, true);
        w = need(s, w, 1);
        *w++ = ']';
        truncated |= n > shown;
    }
    w = need(s, w, 1);
    *w++ = '}';
    if (!truncated)
        return w;
    first = true;
    w = need(s, w, 32);
    PUT_LIT(w, ",\"identifiers_truncated\":{");
    for (size_t i = 0; i < s->identifier_kind_count; i++) {
        int k = s->identifier_kinds[i];
        size_t n;
        kind_candidates(s, k, &n);
        if (n <= UF_SURVIVE_MAX_IDENTIFIERS)
            continue;
        w = need(s, w, s->item_max);
        if (!first)
            *w++ = ',';
        first = false;
        w = put_text(w, s->kind_key[k]);
        w = put_u64(w, n - UF_SURVIVE_MAX_IDENTIFIERS);
    }
    w = need(s, w, 1);
    *w++ = '}';
    return w;
}

static char *put_records(uf_survivor *s, char *w, const uf_record_table *table,
                         const uf_record_id *members, size_t count)
{
    size_t shown = count < UF_SURVIVE_MAX_RECORDS ? count : UF_SURVIVE_MAX_RECORDS;
    w = need(s, w, 32);
    PUT_LIT(w, ",\"records\":[");
    for (size_t m = 0; m < shown; m++) {
        const uf_record *r = &table->records[members[m]];
        w = need(s, w, s->item_max);
        if (m)
            *w++ = ',';
        PUT_LIT(w, "{\"source\":");
        w = put_text(w, s->source_text[r->source]);
        PUT_LIT(w, ",\"key\":");
        w = put_string(w, uf_record_key(r));
        w = PUT_TIME(s, w, ",\"updated_at\":", rank_time(r->updated_at));
        *w++ = '}';
    }
    w = need(s, w, 64);
    *w++ = ']';
    if (count > shown) {
        PUT_LIT(w, ",\"records_truncated\":");
        w = put_u64(w, count - shown);
    }
    return w;
}

static char *put_context(uf_survivor *s, char *w, const uf_record_table *table)
{
    const uf_config *config = s->config;
    bool first = true;
    w = need(s, w, 32);
    PUT_LIT(w, ",\"context\":{");
    for (size_t src = 0; src < config->source_count; src++) {
        size_t columns = config->sources[src].context_count;
        if (s->source_gen[src] != s->gen || columns == 0)
            continue;
        const uf_record *r = &table->records[s->source_best[src]];
        /* Gather first, then write in column order: the blob's order is
           whatever the reader chose, and a repeated index must not produce a
           duplicate JSON member. */
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
        w = need(s, w, s->item_max);
        if (!first)
            *w++ = ',';
        first = false;
        w = put_text(w, s->source_text[src]);
        PUT_LIT(w, ":{");
        bool first_member = true;
        for (size_t word = 0; word < UF_ARRAY_LEN(s->context_present); word++) {
            uint64_t bits = s->context_present[word];
            while (bits) {
                size_t idx = word * 64 + (size_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                w = need(s, w, s->item_max);
                if (!first_member)
                    *w++ = ',';
                first_member = false;
                w = put_text(w, s->context_key[s->context_first[src] + idx]);
                w = put_string(w, s->context_value[idx]);
            }
        }
        w = need(s, w, 64);
        if (!s->context_shadows_updated_at[src]) {
            if (first_member)
                w = PUT_TIME(s, w, "\"updated_at\":", rank_time(r->updated_at));
            else
                w = PUT_TIME(s, w, ",\"updated_at\":", rank_time(r->updated_at));
        }
        *w++ = '}';
    }
    w = need(s, w, 1);
    *w++ = '}';
    return w;
}

static char *put_channels(uf_survivor *s, char *w)
{
    bool first = true;
    w = need(s, w, 32);
    PUT_LIT(w, ",\"channels\":[");
    for (size_t src = 0; src < s->config->source_count; src++) {
        if (s->source_gen[src] != s->gen)
            continue;
        w = need(s, w, s->item_max);
        if (!first)
            *w++ = ',';
        first = false;
        w = put_text(w, s->source_text[src]);
    }
    w = need(s, w, 1);
    *w++ = ']';
    return w;
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
                   const char *golden_id_text, uf_buf *out, uf_error *err)
{
    if (!table || !members || !golden_id_text || !out || count == 0)
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

    s->text_failed = false;
    char *w = s->text;
    w = PUT_TIME(s, w, ",\"updated_at\":", latest);
    w = put_channels(s, w);
    w = put_attributes(s, w);
    w = put_identifiers(s, w);
    w = put_records(s, w, table, members, count);
    w = put_context(s, w, table);
    w = need(s, w, 1);
    *w++ = '}';
    if (s->text_failed)
        return uf_error_set(err, UF_ERR_NOMEM, "survive: out of memory writing the profile");

    size_t start_len = out->len;
    uf_buf_append(out, "{\"golden_id\":", 13);
    uf_json_string(out, uf_slice_cstr(golden_id_text));
    uf_buf_append(out, s->text, (size_t)(w - s->text));
    if (out->failed) {
        out->len = start_len < out->len ? start_len : out->len;
        return uf_error_set(err, UF_ERR_NOMEM, "survive: out of memory writing the profile");
    }
    return UF_OK;
}

int uf_survive_profile(uf_survivor *s, const uf_record_table *table,
                       const uf_record_id *members, size_t count,
                       const char *golden_id_text, uf_buf *out, uf_error *err)
{
    if (!s)
        return uf_error_set(err, UF_ERR_INVALID, "survive: no survivor");
    int rc = survive(s, table, members, count, golden_id_text, out, err);
    trim_scratch(s);
    return rc;
}
