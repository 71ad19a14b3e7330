/*
 * test_survive.c — the golden record stage (engine/survive.c).
 *
 * Every test builds its configuration and records by hand (the YAML loader
 * and the normalizers are separate modules), runs uf_survive_profile and
 * checks the JSON: exact strings for small clusters, a small JSON path
 * reader for bigger ones, and a strict validator (RFC 8259 grammar, UTF-8,
 * no control characters, no duplicate member names) on every profile.
 *
 * Record ids are assigned in insertion order, so "larger id" means "added
 * later" in these tests.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "json_out.h"
#include "records.h"
#include "survive.h"

/* 2026-03-01T10:00:00Z > 2026-02-01T09:30:00Z > 2025-12-24T18:45:10Z */
#define T1 INT64_C(1772359200)
#define T2 INT64_C(1769938200)
#define T3 INT64_C(1766601910)
#define S1 "2026-03-01T10:00:00Z"
#define S2 "2026-02-01T09:30:00Z"
#define S3 "2025-12-24T18:45:10Z"

enum { SRC_CRM, SRC_POS, SRC_WEB, SRC_TICKETS, SRC_COUNT };
enum { KIND_CRM_ID = UF_KIND_BUILTIN_COUNT, KIND_LOYALTY, KIND_COUNT };

/* ------------------------------------------------------------------ */
/* Fixture: a config of four sources and twelve kinds, and a table.    */
/* ------------------------------------------------------------------ */

typedef struct fx {
    uf_config config;
    uf_kind_config kinds[KIND_COUNT];
    uf_source_config sources[SRC_COUNT];
    char *pos_context[2];
    char *tickets_context[2];

    uf_record *records;
    size_t record_cap;
    uf_record_table table;
    uf_blob_builder builder;
    uf_record pending;

    uf_survivor *survivor; /* created on first use so tests can edit the config first */
    uf_buf out;
    char *strings[512];    /* extracted JSON fragments, freed with the fixture */
    size_t string_count;
} fx;

static const char *const kind_names[KIND_COUNT] = {
    "email", "phone", "first_name", "last_name", "full_name", "dob",
    "address", "city", "postcode", "country", "crm_id", "loyalty_card",
};

static fx *fx_new(void)
{
    fx *f = calloc(1, sizeof *f);
    cr_assert_not_null(f);
    for (int k = 0; k < KIND_COUNT; k++) {
        f->kinds[k].name = (char *)kind_names[k];
        f->kinds[k].is_identifier = k == UF_KIND_EMAIL || k == UF_KIND_PHONE || k >= KIND_CRM_ID;
    }
    static const char *const source_names[SRC_COUNT] = {"crm", "pos", "web", "tickets"};
    static const int priorities[SRC_COUNT] = {10, 30, 50, 90};
    for (int i = 0; i < SRC_COUNT; i++) {
        f->sources[i].name = (char *)source_names[i];
        f->sources[i].priority = priorities[i];
    }
    f->pos_context[0] = "last_purchase";
    f->pos_context[1] = "last_store";
    f->sources[SRC_POS].context_columns = f->pos_context;
    f->sources[SRC_POS].context_count = 2;
    f->tickets_context[0] = "topic";
    f->tickets_context[1] = "channel";
    f->sources[SRC_TICKETS].context_columns = f->tickets_context;
    f->sources[SRC_TICKETS].context_count = 2;
    f->config.kinds = f->kinds;
    f->config.kind_count = KIND_COUNT;
    f->config.sources = f->sources;
    f->config.source_count = SRC_COUNT;
    uf_buf_init(&f->out);
    return f;
}

static void fx_free(fx *f)
{
    for (size_t i = 0; i < f->table.count; i++)
        free((void *)f->records[i].blob);
    free(f->records);
    for (size_t i = 0; i < f->string_count; i++)
        free(f->strings[i]);
    uf_survivor_free(f->survivor);
    uf_buf_free(&f->out);
    free(f);
}

static void set_rules(fx *f, int kind, int count, ...)
{
    va_list ap;
    va_start(ap, count);
    for (int i = 0; i < count; i++)
        f->kinds[kind].survive[i] = (uf_survive_rule)va_arg(ap, int);
    va_end(ap);
    f->kinds[kind].survive_count = count;
}

/* Start a record; add attributes and context; then rec_done. */
static void rec(fx *f, int source, const char *key, int64_t updated_at)
{
    memset(&f->pending, 0, sizeof f->pending);
    f->pending.source = (uint16_t)source;
    f->pending.updated_at = updated_at;
    uf_blob_begin(&f->builder, uf_slice_cstr(key));
}

static void attr_n(fx *f, int kind, const char *value, size_t vlen, const char *raw, size_t rlen)
{
    uf_blob_add_attr(&f->builder, kind, uf_slice_make(value, vlen), uf_slice_make(raw, rlen));
}

/* raw NULL: the raw text equals the normalized value. */
static void attr(fx *f, int kind, const char *value, const char *raw)
{
    if (!raw)
        raw = value;
    attr_n(f, kind, value, strlen(value), raw, strlen(raw));
}

static void ctx(fx *f, int index, const char *value)
{
    uf_blob_add_context(&f->builder, index, uf_slice_cstr(value));
}

static uf_record_id rec_done(fx *f)
{
    size_t len = uf_blob_finish(&f->builder);
    unsigned char *blob = malloc(len);
    cr_assert_not_null(blob);
    memcpy(blob, f->builder.buf, len);
    if (f->table.count == f->record_cap) {
        f->record_cap = f->record_cap ? f->record_cap * 2 : 64;
        f->records = realloc(f->records, f->record_cap * sizeof *f->records);
        cr_assert_not_null(f->records);
    }
    f->pending.blob = blob;
    f->pending.blob_len = (uint32_t)len;
    f->records[f->table.count] = f->pending;
    f->table.records = f->records;
    return (uf_record_id)f->table.count++;
}

/* A one-attribute record, the most common shape in these tests. */
static uf_record_id rec1(fx *f, int source, const char *key, int64_t t, int kind, const char *value, const char *raw)
{
    rec(f, source, key, t);
    attr(f, kind, value, raw);
    return rec_done(f);
}

/* ------------------------------------------------------------------ */
/* A strict JSON validator                                             */
/* ------------------------------------------------------------------ */

typedef struct jv {
    const unsigned char *p, *end;
    int depth;
} jv;

static void jv_ws(jv *v)
{
    while (v->p < v->end && (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r'))
        v->p++;
}

static bool jv_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* One UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
static bool jv_utf8(jv *v)
{
    unsigned c = *v->p;
    size_t n;
    unsigned cp, min;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
    else return false;
    if ((size_t)(v->end - v->p) < n)
        return false;
    cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((v->p[i] & 0xC0) != 0x80)
            return false;
        cp = (cp << 6) | (v->p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
    v->p += n;
    return true;
}

static bool jv_string(jv *v)
{
    if (v->p >= v->end || *v->p != '"')
        return false;
    v->p++;
    while (v->p < v->end) {
        unsigned char c = *v->p;
        if (c == '"') {
            v->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (v->end - v->p < 2)
                return false;
            unsigned char e = v->p[1];
            if (e == 'u') {
                if (v->end - v->p < 6)
                    return false;
                for (int i = 2; i < 6; i++)
                    if (!jv_hex(v->p[i]))
                        return false;
                v->p += 6;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                v->p += 2;
            } else {
                return false;
            }
        } else if (c >= 0x80) {
            if (!jv_utf8(v))
                return false;
        } else {
            v->p++;
        }
    }
    return false;
}

static bool jv_digits(jv *v)
{
    const unsigned char *start = v->p;
    while (v->p < v->end && *v->p >= '0' && *v->p <= '9')
        v->p++;
    return v->p > start;
}

static bool jv_number(jv *v)
{
    if (v->p < v->end && *v->p == '-')
        v->p++;
    if (v->p < v->end && *v->p == '0')
        v->p++;
    else if (!jv_digits(v))
        return false;
    if (v->p < v->end && *v->p == '.') {
        v->p++;
        if (!jv_digits(v))
            return false;
    }
    if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
        v->p++;
        if (v->p < v->end && (*v->p == '+' || *v->p == '-'))
            v->p++;
        if (!jv_digits(v))
            return false;
    }
    return true;
}

static bool jv_literal(jv *v, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(v->end - v->p) < n || memcmp(v->p, lit, n) != 0)
        return false;
    v->p += n;
    return true;
}

static bool jv_value(jv *v);

static bool jv_object(jv *v)
{
    /* Member names seen, as raw bytes: duplicates are invalid for us. */
    enum { MAX_KEYS = 256 };
    const unsigned char *key_at[MAX_KEYS];
    size_t key_len[MAX_KEYS], keys = 0;
    v->p++;
    jv_ws(v);
    if (v->p < v->end && *v->p == '}') {
        v->p++;
        return true;
    }
    for (;;) {
        jv_ws(v);
        const unsigned char *k = v->p;
        if (!jv_string(v))
            return false;
        size_t klen = (size_t)(v->p - k);
        for (size_t i = 0; i < keys; i++)
            if (key_len[i] == klen && memcmp(key_at[i], k, klen) == 0)
                return false;
        if (keys < MAX_KEYS) {
            key_at[keys] = k;
            key_len[keys++] = klen;
        }
        jv_ws(v);
        if (v->p >= v->end || *v->p++ != ':')
            return false;
        if (!jv_value(v))
            return false;
        jv_ws(v);
        if (v->p >= v->end)
            return false;
        if (*v->p == '}') {
            v->p++;
            return true;
        }
        if (*v->p++ != ',')
            return false;
    }
}

static bool jv_array(jv *v)
{
    v->p++;
    jv_ws(v);
    if (v->p < v->end && *v->p == ']') {
        v->p++;
        return true;
    }
    for (;;) {
        if (!jv_value(v))
            return false;
        jv_ws(v);
        if (v->p >= v->end)
            return false;
        if (*v->p == ']') {
            v->p++;
            return true;
        }
        if (*v->p++ != ',')
            return false;
    }
}

static bool jv_value(jv *v)
{
    jv_ws(v);
    if (v->p >= v->end || ++v->depth > 64)
        return false;
    bool ok;
    switch (*v->p) {
    case '{': ok = jv_object(v); break;
    case '[': ok = jv_array(v); break;
    case '"': ok = jv_string(v); break;
    case 't': ok = jv_literal(v, "true"); break;
    case 'f': ok = jv_literal(v, "false"); break;
    case 'n': ok = jv_literal(v, "null"); break;
    default: ok = jv_number(v); break;
    }
    v->depth--;
    return ok;
}

static bool json_valid(const char *s, size_t len)
{
    jv v = {(const unsigned char *)s, (const unsigned char *)s + len, 0};
    if (!jv_value(&v))
        return false;
    jv_ws(&v);
    return v.p == v.end;
}

/* ------------------------------------------------------------------ */
/* A JSON path reader for assertions on valid JSON                      */
/* ------------------------------------------------------------------ */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *skip_string(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\')
            p++;
    return *p ? p + 1 : p;
}

static const char *skip_value(const char *p)
{
    p = skip_ws(p);
    if (*p == '"')
        return skip_string(p);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        do {
            if (*p == '"') {
                p = skip_string(p);
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if (*p == '}' || *p == ']')
                depth--;
            p++;
        } while (*p && depth > 0);
        return p;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']')
        p++;
    return p;
}

/* The value at a path of member names ("#3" = array element 3), or NULL. */
static const char *locate(const char *json, const char *path[], size_t depth)
{
    const char *p = skip_ws(json);
    for (size_t d = 0; d < depth; d++) {
        const char *step = path[d];
        if (step[0] == '#') {
            if (*p != '[')
                return NULL;
            long index = atol(step + 1);
            p = skip_ws(p + 1);
            for (long i = 0; i < index; i++) {
                if (*p == ']')
                    return NULL;
                p = skip_ws(skip_value(p));
                if (*p != ',')
                    return NULL;
                p = skip_ws(p + 1);
            }
            if (*p == ']')
                return NULL;
            continue;
        }
        if (*p != '{')
            return NULL;
        p = skip_ws(p + 1);
        size_t n = strlen(step);
        for (;;) {
            if (*p != '"')
                return NULL;
            const char *key_end = skip_string(p);
            bool match = (size_t)(key_end - p - 2) == n && memcmp(p + 1, step, n) == 0;
            p = skip_ws(key_end);
            if (*p != ':')
                return NULL;
            p = skip_ws(p + 1);
            if (match)
                break;
            p = skip_ws(skip_value(p));
            if (*p != ',')
                return NULL;
            p = skip_ws(p + 1);
        }
    }
    return p;
}

/* JSON text of the value at the path (owned by the fixture), or NULL. */
static const char *jget_path(fx *f, const char *json, const char *path[], size_t depth)
{
    const char *p = locate(json, path, depth);
    if (!p)
        return NULL;
    const char *end = skip_value(p);
    cr_assert(f->string_count < UF_ARRAY_LEN(f->strings));
    char *copy = strndup(p, (size_t)(end - p));
    f->strings[f->string_count++] = copy;
    return copy;
}

#define JGET(f, json, ...) \
    jget_path((f), (json), (const char *[]){__VA_ARGS__}, \
              sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *))

/* Number of elements of the array at `json`. */
static size_t array_len(const char *json)
{
    const char *p = skip_ws(json);
    cr_assert_eq(*p, '[');
    p = skip_ws(p + 1);
    if (*p == ']')
        return 0;
    size_t n = 1;
    for (;;) {
        p = skip_ws(skip_value(p));
        if (*p != ',')
            return n;
        n++;
        p = skip_ws(p + 1);
    }
}

/* ------------------------------------------------------------------ */
/* Running the stage                                                   */
/* ------------------------------------------------------------------ */

static const char *profile_ids(fx *f, const uf_record_id *ids, size_t n, const char *golden)
{
    if (!f->survivor) {
        f->survivor = uf_survivor_new(&f->config);
        cr_assert_not_null(f->survivor);
    }
    uf_error err = {0};
    uf_buf_reset(&f->out);
    int rc = uf_survive_profile(f->survivor, &f->table, ids, n, golden, &f->out, &err);
    cr_assert_eq(rc, UF_OK, "uf_survive_profile: %s", err.message);
    const char *json = uf_buf_cstr(&f->out);
    cr_assert_eq(strlen(json), f->out.len, "profile contains a NUL byte");
    cr_assert(json_valid(json, f->out.len), "invalid JSON: %s", json);
    return json;
}

#define IDS(...) (const uf_record_id[]){__VA_ARGS__}, \
    sizeof((const uf_record_id[]){__VA_ARGS__}) / sizeof(uf_record_id)

#define PROFILE(f, ...) profile_ids((f), IDS(__VA_ARGS__), "G1")

/* All records of the table as one cluster. */
static const char *profile_all(fx *f)
{
    uf_record_id *ids = malloc(f->table.count * sizeof *ids);
    cr_assert_not_null(ids);
    for (size_t i = 0; i < f->table.count; i++)
        ids[i] = (uf_record_id)i;
    const char *json = profile_ids(f, ids, f->table.count, "G1");
    free(ids);
    return json;
}

/* The surviving display value of an attribute kind, as JSON text. */
static const char *winner(fx *f, const char *json, const char *kind)
{
    const char *w = JGET(f, json, "attributes", kind, "value");
    cr_assert_not_null(w, "no attribute %s in %s", kind, json);
    return w;
}

/* ------------------------------------------------------------------ */
/* The validator itself must be able to say no                         */
/* ------------------------------------------------------------------ */

Test(survive_json_check, validator_accepts_and_rejects)
{
    static const char *const good[] = {
        "{}", "[]", "{\"a\":[1,-2.5e3,0,\"x\\u00e9\\n\",true,false,null]}", "\"\xc3\xa9\"",
        " { \"a\" : { \"b\" : [ ] } } ",
    };
    static const char *const bad[] = {
        "", "{", "{\"a\":1,}", "{\"a\":1,\"a\":2}", "\"\x01\"", "\"\xff\"", "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"", "[1 2]", "{\"a\"}", "{} x", "01", "[1,]", "\"\\x\"", "\"abc",
        "{\"a\":tru}", "-", "1.", "\"\\u12\"",
    };
    for (size_t i = 0; i < UF_ARRAY_LEN(good); i++)
        cr_expect(json_valid(good[i], strlen(good[i])), "should accept: %s", good[i]);
    for (size_t i = 0; i < UF_ARRAY_LEN(bad); i++)
        cr_expect(!json_valid(bad[i], strlen(bad[i])), "should reject: %s", bad[i]);
}

/* ------------------------------------------------------------------ */
/* Dates                                                               */
/* ------------------------------------------------------------------ */

Test(survive_time, known_values)
{
    static const struct {
        int64_t t;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {1, "1970-01-01T00:00:01Z"},
        {-1, "1969-12-31T23:59:59Z"},
        {-86400, "1969-12-31T00:00:00Z"},
        {-86401, "1969-12-30T23:59:59Z"},
        {951782400, "2000-02-29T00:00:00Z"},
        {951868800, "2000-03-01T00:00:00Z"},
        {1709251199, "2024-02-29T23:59:59Z"},
        {2147483647, "2038-01-19T03:14:07Z"},
        {2147483648, "2038-01-19T03:14:08Z"},
        {T1, S1},
        {T3, S3},
        {-14182940, "1969-07-20T20:17:40Z"},
        {INT64_C(-2203891200), "1900-03-01T00:00:00Z"},
        {INT64_C(-11670955200), "1600-02-29T12:00:00Z"},
        {INT64_C(-62167219200), "0000-01-01T00:00:00Z"},
        {INT64_C(253402300799), "9999-12-31T23:59:59Z"},
    };
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        char text[UF_ISO8601_SIZE];
        size_t n = uf_format_iso8601(cases[i].t, text);
        cr_expect_eq(n, 20, "length for %lld", (long long)cases[i].t);
        cr_expect_str_eq(text, cases[i].text, "for %lld", (long long)cases[i].t);
    }
}

Test(survive_time, out_of_range_is_empty)
{
    static const int64_t cases[] = {INT64_C(253402300800), INT64_C(-62167219201), INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        char text[UF_ISO8601_SIZE] = "junk";
        cr_expect_eq(uf_format_iso8601(cases[i], text), 0);
        cr_expect_str_eq(text, "");
    }
}

/* Cross-check against the C library over the whole range (gmtime_r is UTC-only, fine in a test). */
Test(survive_time, agrees_with_gmtime)
{
    uint64_t state = 0x243F6A8885A308D3u;
    const int64_t lo = INT64_C(-62167219200), span = INT64_C(253402300799) - lo + 1;
    for (int i = 0; i < 200000; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        int64_t t = i < 100000 ? lo + (int64_t)((state >> 11) % (uint64_t)span)
                               : (int64_t)((state >> 33) % 8000000000u) - 4000000000; /* near 1970 */
        time_t tt = (time_t)t;
        struct tm tm;
        cr_assert_not_null(gmtime_r(&tt, &tm));
        char want[64], got[UF_ISO8601_SIZE];
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        uf_format_iso8601(t, got);
        cr_assert_str_eq(got, want, "t = %lld", (long long)t);
    }
}

Test(survive_time, unknown_omitted_negative_kept)
{
    fx *f = fx_new();
    rec1(f, SRC_CRM, "C1", 0, UF_KIND_FIRST_NAME, "robert", "Robert");
    const char *json = PROFILE(f, 0);
    cr_expect_null(strstr(json, "updated_at"), "%s", json);
    cr_expect_null(strstr(json, "last_seen"), "%s", json);
    cr_expect_str_eq(JGET(f, json, "records"), "[{\"source\":\"crm\",\"key\":\"C1\"}]");

    rec1(f, SRC_WEB, "W1", -14182940, UF_KIND_FIRST_NAME, "robert", "Robert");
    json = PROFILE(f, 0, 1);
    cr_expect_str_eq(JGET(f, json, "updated_at"), "\"1969-07-20T20:17:40Z\"");
    /* One candidate: its fields are inline, there are no alternatives. */
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name", "last_seen"), "\"1969-07-20T20:17:40Z\"");
    cr_expect_null(JGET(f, json, "attributes", "first_name", "alternatives"), "%s", json);
    fx_free(f);
}

/* ------------------------------------------------------------------ */
/* Exact profiles                                                      */
/* ------------------------------------------------------------------ */

Test(survive_exact, single_record)
{
    fx *f = fx_new();
    rec(f, SRC_CRM, "C1", T1);
    attr(f, UF_KIND_FIRST_NAME, "robert", "Robert");
    attr(f, UF_KIND_LAST_NAME, "smith", "Smith");
    attr(f, UF_KIND_EMAIL, "bobsmith@gmail.com", "Bob.Smith+shop@gmail.com");
    attr(f, KIND_CRM_ID, "C1", NULL);
    rec_done(f);
    const char *json = profile_ids(f, IDS(0), "G000000042");
    cr_expect_str_eq(json,
        "{\"golden_id\":\"G000000042\",\"updated_at\":\"" S1 "\",\"channels\":[\"crm\"],"
        "\"attributes\":{"
        "\"first_name\":{\"value\":\"Robert\",\"sources\":[\"crm\"],\"count\":1,\"last_seen\":\"" S1 "\"},"
        "\"last_name\":{\"value\":\"Smith\",\"sources\":[\"crm\"],\"count\":1,\"last_seen\":\"" S1 "\"},"
        "\"email\":{\"value\":\"Bob.Smith+shop@gmail.com\"}},"
        "\"identifiers\":{"
        "\"email\":[{\"value\":\"Bob.Smith+shop@gmail.com\",\"normalized\":\"bobsmith@gmail.com\",\"sources\":[\"crm\"],\"count\":1,\"last_seen\":\"" S1 "\"}],"
        "\"crm_id\":[{\"value\":\"C1\",\"sources\":[\"crm\"],\"count\":1,\"last_seen\":\"" S1 "\"}]},"
        "\"records\":[{\"source\":\"crm\",\"key\":\"C1\",\"updated_at\":\"" S1 "\"}],"
        "\"context\":{}}");
    fx_free(f);
}

Test(survive_exact, two_sources_with_context)
{
    fx *f = fx_new();
    rec1(f, SRC_CRM, "C1", T2, UF_KIND_FIRST_NAME, "robert", "Robert");
    rec(f, SRC_POS, "P1", T1);
    attr(f, UF_KIND_FIRST_NAME, "bob", "Bob");
    ctx(f, 0, "2026-02-28");
    ctx(f, 1, "Store 12");
    rec_done(f);
    const char *json = PROFILE(f, 0, 1);
    cr_expect_str_eq(json,
        "{\"golden_id\":\"G1\",\"updated_at\":\"" S1 "\",\"channels\":[\"crm\",\"pos\"],"
        "\"attributes\":{\"first_name\":{\"value\":\"Robert\",\"sources\":[\"crm\"],\"count\":1,\"last_seen\":\"" S2 "\","
        "\"alternatives\":[{\"value\":\"Bob\",\"sources\":[\"pos\"],\"count\":1,\"last_seen\":\"" S1 "\"}]}},"
        "\"identifiers\":{},"
        "\"records\":[{\"source\":\"crm\",\"key\":\"C1\",\"updated_at\":\"" S2 "\"},"
        "{\"source\":\"pos\",\"key\":\"P1\",\"updated_at\":\"" S1 "\"}],"
        "\"context\":{\"pos\":{\"last_purchase\":\"2026-02-28\",\"last_store\":\"Store 12\",\"updated_at\":\"" S1 "\"}}}");
    fx_free(f);
}

Test(survive_exact, appends_to_out)
{
    fx *f = fx_new();
    rec1(f, SRC_CRM, "C1", T1, UF_KIND_CITY, "paris", "Paris");
    f->survivor = uf_survivor_new(&f->config);
    cr_assert_not_null(f->survivor);
    uf_buf_puts(&f->out, "[");
    uf_error err;
    cr_assert_eq(uf_survive_profile(f->survivor, &f->table, IDS(0), "G1", &f->out, &err), UF_OK);
    uf_buf_putc(&f->out, ',');
    cr_assert_eq(uf_survive_profile(f->survivor, &f->table, IDS(0), "G2", &f->out, &err), UF_OK);
    uf_buf_putc(&f->out, ']');
    const char *json = uf_buf_cstr(&f->out);
    cr_expect(json_valid(json, f->out.len), "%s", json);
    cr_expect_eq(strncmp(json, "[{\"golden_id\":\"G1\"", 18), 0, "%s", json);
    cr_expect_str_eq(JGET(f, json, "#1", "golden_id"), "\"G2\"");
    fx_free(f);
}

/* ------------------------------------------------------------------ */
/* Survivorship rules                                                  */
/* ------------------------------------------------------------------ */

Test(survive_rules, source_priority_beats_recency_and_frequency)
{
    fx *f = fx_new();
    rec1(f, SRC_CRM, "C1", T3, UF_KIND_FIRST_NAME, "robert", "Robert");
    rec1(f, SRC_WEB, "W1", T1, UF_KIND_FIRST_NAME, "bob", "Bob");
    rec1(f, SRC_WEB, "W2", T1, UF_KIND_FIRST_NAME, "bob", "Bob");
    cr_expect_str_eq(winner(f, profile_all(f), "first_name"), "\"Robert\"");
    fx_free(f);
}

Test(survive_rules, lower_priority_number_wins_whatever_config_order)
{
    fx *f = fx_new();
    f->sources[SRC_TICKETS].priority = 1; /* last in config order, first in priority */
    rec1(f, SRC_CRM, "C1", T1, UF_KIND_LAST_NAME, "smith", "Smith");
    rec1(f, SRC_TICKETS, "K1", T3, UF_KIND_LAST_NAME, "smyth", "Smyth");
    cr_expect_str_eq(winner(f, profile_all(f), "last_name"), "\"Smyth\"");
    fx_free(f);
}

Test(survive_rules, most_recent)
{
    fx *f = fx_new();
    set_rules(f, UF_KIND_FIRST_NAME, 1, UF_SURVIVE_MOST_RECENT);
    rec1(f, SRC_CRM, "C1", T3, UF_KIND_FIRST_NAME, "robert", "Robert");
    rec1(f, SRC_WEB, "W1", T1, UF_KIND_FIRST_NAME, "bob", "Bob");
    rec1(f, SRC_POS, "P1", T2, UF_KIND_FIRST_NAME, "rob", "Rob");
    cr_expect_str_eq(winner(f, profile_all(f), "first_name"), "\"Bob\"");
    fx_free(f);
}

Test(survive_rules, unknown_time_ranks_below_any_known_time)
{
    fx *f = fx_new();
    set_rules(f, UF_KIND_FIRST_NAME, 1, UF_SURVIVE_MOST_RECENT);
    rec1(f, SRC_CRM, "C1", 0, UF_KIND_FIRST_NAME, "aaron", "Aaron");     /* unknown */
    rec1(f, SRC_WEB, "W1", -14182940, UF_KIND_FIRST_NAME, "zed", "Zed"); /* 1969: known */
    cr_expect_str_eq(winner(f, profile_all(f), "first_name"), "\"Zed\"");
    fx_free(f);
}

Test(survive_rules, most_frequent_counts_records_not_occurrences)
{
    fx *f = fx_new();
    set_rules(f, UF_KIND_FIRST_NAME, 1, UF_SURVIVE_MOST_FREQUENT);
    rec1(f, SRC_CRM, "C1", T1, UF_KIND_FIRST_NAME, "robert", "Robert");
    rec1(f, SRC_WEB, "W1", T3, UF_KIND_FIRST_NAME, "bob", "Bob");
    rec1(f, SRC_WEB, "W2", T3, UF_KIND_FIRST_NAME, "bob", "Bob");
    const char *json = profile_all(f);
    cr_expect_str_eq(winner(f, json, "first_name"), "\"Bob\"");

    /* One record holding "robert" three times still counts once: 1 vs 1,
       then the final tie-break (smallest normalized value) picks "bob". */
    fx *g = fx_new();
    set_rules(g, UF_KIND_FIRST_NAME, 1, UF_SURVIVE_MOST_FREQUENT);
    rec(g, SRC_CRM, "C1", T1);
    attr(g, UF_KIND_FIRST_NAME, "robert", "Robert");
    attr(g, UF_KIND_FIRST_NAME, "robert", "ROBERT");
    attr(g, UF_KIND_FIRST_NAME, "robert", "Robert");
    rec_done(g);
    rec1(g, SRC_WEB, "W1", T3, UF_KIND_FIRST_NAME, "bob", "Bob");
    json = profile_all(g);
    cr_expect_str_eq(winner(g, json, "first_name"), "\"Bob\"");
    cr_expect_str_eq(JGET(g, json, "attributes", "first_name", "count"), "1");
    const char *alts = JGET(g, json, "attributes", "first_name", "alternatives");
    cr_assert_not_null(alts, "%s", json);
    cr_expect_eq(array_len(alts), 1);
    cr_expect_str_eq(JGET(g, alts, "#0", "count"), "1");
    fx_free(f);
    fx_free(g);
}

Test(survive_rules, most_complete_by_code_points)
{
    fx *f = fx_new();
    set_rules(f, UF_KIND_ADDRESS, 1, UF_SURVIVE_MOST_COMPLETE);
    rec1(f, SRC_CRM, "C1", T1, UF_KIND_ADDRESS, "12 main street", "12 Main St");
    rec1(f, SRC_WEB, "W1", T3, UF_KIND_ADDRESS, "12 main street apartment 4", "12 Main St Apt 4");
    cr_expect_str_eq(winner(f, profile_all(f), "address"), "\"12 Main St Apt 4\"");

    /* "ééé" is 6 bytes but 3 code points; "zzzz" is 4 and 4. */
    fx *g = fx_new();
    set_rules(g, UF_KIND_CITY, 1, UF_SURVIVE_MOST_COMPLETE);
    rec1(g, SRC_CRM, "C1", T1, UF_KIND_CITY, "\xc3\xa9\xc3\xa9\xc3\xa9", NULL);
    rec1(g, SRC_WEB, "W1", T1, UF_KIND_CITY, "zzzz", NULL);
    cr_expect_str_eq(winner(g, profile_all(g), "city"), "\"zzzz\"");
    fx_free(f);
    fx_free(g);
}

Test(survive_rules, default_cascade_falls_through_each_rule)
{
    /* Same priority -> most recent decides. */
    fx *f = fx_new();
    rec1(f, SRC_CRM, "C1", T3, UF_KIND_FIRST_NAME, "robert", "Robert");
    rec1(f, SRC_CRM, "C2", T1, UF_KIND_FIRST_NAME, "bob", "Bob");
    cr_expect_str_eq(winner(f, profile_all(f), "first_name"), "\"Bob\"");
    fx_free(f);

    /* Same priority and time -> most frequent. */
    f = fx_new();
    rec1(f, SRC_CRM, "C1", T1, UF_KIND_FIRST_NAME, "robert", "Robert");
    rec1(f, SRC_CRM, "C2", T1, UF_KIND_FIRST_NAME, "bob", "Bob");
    rec1(f, SRC_CRM, "C3", T1, UF_KIND_FIRST_NAME, "bob", "Bob");
    cr_expect_str_eq(winner(f, profile_all(f), "first_name"), "\"Bob\"");
    fx_free(f);

    /* ... and count -> most complete. */
    f = fx_new();
    rec1(f, SRC_CRM, "C1", T1, UF_KIND_FIRST_NAME, "bob", "Bob");
    rec1(f, SRC_CRM, "C2", T1, UF_KIND_FIRST_NAME, "robert", "Robert");
    cr_expect_str_eq(winner(f, profile_all(f), "first_name"), "\"Robert\"");
    fx_free(f);

    /* ... and length -> smallest normalized value, whatever the member order. */
    f = fx_new();
    rec1(f, SRC_CRM, "C1", T1, UF_KIND_FIRST_NAME, "jon", "Jon");
    rec1(f, SRC_CRM, "C2", T1, UF_KIND_FIRST_NAME, "ian", "Ian");
    cr_expect_str_eq(winner(f, PROFILE(f, 0, 1), "first_name"), "\"Ian\"");
    cr_expect_str_eq(winner(f, PROFILE(f, 1, 0), "first_name"), "\"Ian\"");
    fx_free(f);
}

Test(survive_rules, custom_order_per_kind)
{
    fx *f = fx_new();
    set_rules(f, UF_KIND_ADDRESS, 2, UF_SURVIVE_MOST_RECENT, UF_SURVIVE_MOST_FREQUENT);
    rec(f, SRC_CRM, "C1", T3);
    attr(f, UF_KIND_FIRST_NAME, "robert", "Robert");
    attr(f, UF_KIND_ADDRESS, "1 old road", "1 Old Rd");
    rec_done(f);
    rec(f, SRC_WEB, "W1", T1);
    attr(f, UF_KIND_FIRST_NAME, "bob", "Bob");
    attr(f, UF_KIND_ADDRESS, "2 new street", "2 New St");
    rec_done(f);
    const char *json = profile_all(f);
    cr_expect_str_eq(winner(f, json, "first_name"), "\"Robert\""); /* default: priority */
    cr_expect_str_eq(winner(f, json, "address"), "\"2 New St\"");  /* custom: recency */
    fx_free(f);
}

Test(survive_rules, only_the_listed_rules_apply)
{
    /* MOST_FREQUENT only: a 1-1 tie goes to the final tie-break, not to priority. */
    fx *f = fx_new();
    set_rules(f, UF_KIND_LAST_NAME, 1, UF_SURVIVE_MOST_FREQUENT);
    rec1(f, SRC_CRM, "C1", T1, UF_KIND_LAST_NAME, "smyth", "Smyth");
    rec1(f, SRC_WEB, "W1", T1, UF_KIND_LAST_NAME, "smith", "Smith");
    cr_expect_str_eq(winner(f, profile_all(f), "last_name"), "\"Smith\"");
    fx_free(f);
}

Test(survive_rules, ties_are_independent_of_insertion_order)
{
    /* The same logical records added in two different orders (so with different
       record ids): everything but the record list must be byte-identical. */
    char *first = NULL;
    for (int round = 0; round < 2; round++) {
        fx *f = fx_new();
        static const struct { int src; const char *key; int64_t t; int kind; const char *v, *raw; } rows[] = {
            {SRC_CRM, "C1", T1, UF_KIND_FIRST_NAME, "jon", "Jon"},
            {SRC_CRM, "C2", T1, UF_KIND_FIRST_NAME, "ian", "IAN"},
            {SRC_CRM, "C3", T1, UF_KIND_FIRST_NAME, "ian", "Ian"},
            {SRC_CRM, "C4", T1, UF_KIND_FIRST_NAME, "jon", "JON"},
            {SRC_WEB, "W1", T2, UF_KIND_EMAIL, "a@x.com", "A@x.com"},
            {SRC_WEB, "W2", T2, UF_KIND_EMAIL, "b@x.com", "B@x.com"},
            {SRC_POS, "P1", T3, UF_KIND_CITY, "paris", "Paris"},
            {SRC_POS, "P2", T2, UF_KIND_CITY, "lyon", "Lyon"},
        };
        size_t n = UF_ARRAY_LEN(rows);
        for (size_t i = 0; i < n; i++) {
            size_t j = round == 0 ? i : n - 1 - i;
            rec1(f, rows[j].src, rows[j].key, rows[j].t, rows[j].kind, rows[j].v, rows[j].raw);
        }
        const char *json = profile_all(f);
        const char *records = strstr(json, ",\"records\":");
        const char *context = strstr(json, ",\"context\":");
        cr_assert(records && context);
        char *stripped = malloc(strlen(json) + 1);
        size_t head = (size_t)(records - json);
        memcpy(stripped, json, head);
        strcpy(stripped + head, context);
        if (round == 0)
            first = stripped;
        else {
            cr_expect_str_eq(stripped, first);
            free(stripped);
        }
        fx_free(f);
    }
    free(first);
}

/* ------------------------------------------------------------------ */
/* Display spelling, alternatives, identifiers                         */
/* ------------------------------------------------------------------ */

Test(survive_values, display_spelling_by_majority_then_recency_then_bytes)
{
    fx *f = fx_new();
    rec1(f, SRC_CRM, "C1", T3, UF_KIND_FIRST_NAME, "robert", "ROBERT");
    rec1(f, SRC_WEB, "W1", T3, UF_KIND_FIRST_NAME, "robert", "ROBERT");
    rec1(f, SRC_POS, "P1", T1, UF_KIND_FIRST_NAME, "robert", "Robert");
    cr_expect_str_eq(winner(f, profile_all(f), "first_name"), "\"ROBERT\"");
    cr_expect_str_eq(winner(f, PROFILE(f, 0, 2), "first_name"), "\"Robert\""); /* 1-1: most recent */
    rec1(f, SRC_WEB, "W2", T1, UF_KIND_FIRST_NAME, "robert", "ROBERT");
    cr_expect_str_eq(winner(f, PROFILE(f, 2, 3), "first_name"), "\"ROBERT\""); /* 1-1, same time: bytes */
    cr_expect_str_eq(winner(f, PROFILE(f, 3, 2), "first_name"), "\"ROBERT\"");
    fx_free(f);
}

Test(survive_values, alternatives_complete_and_ordered)
{
    fx *f = fx_new();
    rec1(f, SRC_CRM, "C1", T3, UF_KIND_FIRST_NAME, "robert", "Robert");
    rec1(f, SRC_WEB, "W1", T1, UF_KIND_FIRST_NAME, "robert", "Robert");
    rec1(f, SRC_POS, "P1", T2, UF_KIND_FIRST_NAME, "bob", "Bob");
    rec1(f, SRC_WEB, "W2", 0, UF_KIND_FIRST_NAME, "rob", "Rob");
    rec1(f, SRC_TICKETS, "K1", T3, UF_KIND_FIRST_NAME, "bob", "Bob");
    rec1(f, SRC_TICKETS, "K2", T3, UF_KIND_FIRST_NAME, "bobby", "Bobby");
    const char *json = profile_all(f);
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name"),
        "{\"value\":\"Robert\",\"sources\":[\"crm\",\"web\"],\"count\":2,\"last_seen\":\"" S1 "\","
        "\"alternatives\":["
        "{\"value\":\"Bob\",\"sources\":[\"pos\",\"tickets\"],\"count\":2,\"last_seen\":\"" S2 "\"},"
        "{\"value\":\"Bobby\",\"sources\":[\"tickets\"],\"count\":1,\"last_seen\":\"" S3 "\"},"
        "{\"value\":\"Rob\",\"sources\":[\"web\"],\"count\":1}]}");
    fx_free(f);
}

/* The survivor is shown inline even when it is the rarest value, and never among the alternatives. */
Test(survive_values, survivor_inline_even_when_rarest)
{
    fx *f = fx_new();
    rec1(f, SRC_CRM, "C1", T3, UF_KIND_FIRST_NAME, "robert", "Robert");
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "W%d", i);
        rec1(f, SRC_WEB, key, T1, UF_KIND_FIRST_NAME, "bob", "Bob");
    }
    rec1(f, SRC_POS, "P1", T2, UF_KIND_FIRST_NAME, "rob", "Rob");
    rec1(f, SRC_POS, "P2", T2, UF_KIND_FIRST_NAME, "rob", "Rob");
    const char *json = profile_all(f);
    cr_expect_str_eq(winner(f, json, "first_name"), "\"Robert\"");
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name", "count"), "1");
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name", "sources"), "[\"crm\"]");
    const char *alts = JGET(f, json, "attributes", "first_name", "alternatives");
    cr_assert_not_null(alts, "%s", json);
    cr_expect_eq(array_len(alts), 2);
    cr_expect_str_eq(JGET(f, alts, "#0", "value"), "\"Bob\"");
    cr_expect_str_eq(JGET(f, alts, "#0", "count"), "3");
    cr_expect_str_eq(JGET(f, alts, "#1", "value"), "\"Rob\"");
    cr_expect_str_eq(JGET(f, alts, "#1", "sources"), "[\"pos\"]");
    fx_free(f);
}

Test(survive_values, identifiers_section)
{
    fx *f = fx_new();
    rec(f, SRC_CRM, "C1", T3);
    attr(f, UF_KIND_EMAIL, "bobsmith@gmail.com", "Bob.Smith+shop@gmail.com");
    attr(f, UF_KIND_PHONE, "+15551234567", "(555) 123-4567");
    attr(f, UF_KIND_FULL_NAME, "robert smith", "Robert Smith");
    attr(f, UF_KIND_FIRST_NAME, "robert", "Robert");
    attr(f, KIND_CRM_ID, "C1", NULL);
    rec_done(f);
    rec(f, SRC_WEB, "W1", T1);
    attr(f, UF_KIND_EMAIL, "bobsmith@gmail.com", "BOB.SMITH@gmail.com");
    attr(f, UF_KIND_EMAIL, "rob@example.com", "Rob@Example.com");
    attr(f, KIND_LOYALTY, "L99", "L-99");
    rec_done(f);
    rec(f, SRC_POS, "P1", T2);
    attr(f, KIND_LOYALTY, "L99", "l 99");
    attr(f, UF_KIND_DOB, "1985-03-02", "02/03/1985");
    rec_done(f);
    const char *json = profile_all(f);

    cr_expect_null(strstr(json, "full_name"), "full names do not survive: %s", json);
    cr_expect_null(strstr(json, "Robert Smith"), "%s", json);
    cr_expect_null(JGET(f, json, "attributes", "crm_id"));
    cr_expect_null(JGET(f, json, "attributes", "loyalty_card"));
    cr_expect_null(JGET(f, json, "identifiers", "first_name"));
    cr_expect_null(JGET(f, json, "identifiers", "dob"));
    cr_expect_str_eq(winner(f, json, "dob"), "\"02/03/1985\"");

    cr_expect_str_eq(JGET(f, json, "identifiers", "email"),
        "[{\"value\":\"BOB.SMITH@gmail.com\",\"normalized\":\"bobsmith@gmail.com\",\"sources\":[\"crm\",\"web\"],\"count\":2,\"last_seen\":\"" S1 "\"},"
        "{\"value\":\"Rob@Example.com\",\"normalized\":\"rob@example.com\",\"sources\":[\"web\"],\"count\":1,\"last_seen\":\"" S1 "\"}]");
    cr_expect_str_eq(JGET(f, json, "identifiers", "phone"),
        "[{\"value\":\"(555) 123-4567\",\"normalized\":\"+15551234567\",\"sources\":[\"crm\"],\"count\":1,\"last_seen\":\"" S3 "\"}]");
    cr_expect_null(JGET(f, json, "identifiers", "crm_id", "#0", "normalized"), "normalized is left out when it equals the value");
    /* Two spellings, one record each: the most recent one is shown. */
    cr_expect_str_eq(JGET(f, json, "identifiers", "loyalty_card", "#0", "value"), "\"L-99\"");
    cr_expect_str_eq(JGET(f, json, "identifiers", "loyalty_card", "#0", "count"), "2");
    cr_expect_str_eq(JGET(f, json, "identifiers", "loyalty_card", "#0", "sources"), "[\"pos\",\"web\"]");
    /* E-mail and phone are attributes too (best value by the rules: crm
       priority), shown in their most recent spelling (1 record each). */
    cr_expect_str_eq(winner(f, json, "email"), "\"BOB.SMITH@gmail.com\"");
    cr_expect_str_eq(winner(f, json, "phone"), "\"(555) 123-4567\"");
    /* ... and only that value there: their lineage is under "identifiers". */
    cr_expect_str_eq(JGET(f, json, "attributes", "email"), "{\"value\":\"BOB.SMITH@gmail.com\"}");
    cr_expect_str_eq(JGET(f, json, "attributes", "phone"), "{\"value\":\"(555) 123-4567\"}");

    /* Section order: names and places first, e-mail and phone last; identifiers in kind order. */
    const char *a = strstr(json, "\"attributes\":");
    cr_assert_not_null(a);
    const char *fn = strstr(a, "\"first_name\":"), *dob = strstr(a, "\"dob\":"),
               *em = strstr(a, "\"email\":"), *ph = strstr(a, "\"phone\":");
    cr_expect(fn && dob && em && ph && fn < dob && dob < em && em < ph, "%s", json);
    const char *ids = strstr(json, "\"identifiers\":");
    const char *ie = strstr(ids, "\"email\":"), *ip = strstr(ids, "\"phone\":"),
               *ic = strstr(ids, "\"crm_id\":"), *il = strstr(ids, "\"loyalty_card\":");
    cr_expect(ie && ip && ic && il && ie < ip && ip < ic && ic < il, "%s", json);
    fx_free(f);
}

Test(survive_values, empty_values_are_ignored)
{
    fx *f = fx_new();
    rec(f, SRC_CRM, "C1", T1);
    attr(f, UF_KIND_CITY, "", "");
    attr(f, UF_KIND_EMAIL, "", "   ");
    rec_done(f);
    const char *json = profile_all(f);
    cr_expect_str_eq(JGET(f, json, "attributes"), "{}");
    cr_expect_str_eq(JGET(f, json, "identifiers"), "{}");
    fx_free(f);
}

/* ------------------------------------------------------------------ */
/* Context, channels, records                                          */
/* ------------------------------------------------------------------ */

Test(survive_context, most_recent_record_per_source)
{
    fx *f = fx_new();
    rec(f, SRC_POS, "P1", T1); /* most recent pos record: only last_store */
    ctx(f, 1, "Store 2");
    rec_done(f);
    rec(f, SRC_POS, "P2", T2);
    ctx(f, 0, "2026-01-30");
    ctx(f, 1, "Store 1");
    rec_done(f);
    rec(f, SRC_TICKETS, "K1", T2);
    ctx(f, 0, "delivery");
    rec_done(f);
    rec(f, SRC_TICKETS, "K2", T2); /* same time as K1, larger id: wins */
    ctx(f, 1, "email");            /* written out of column order */
    ctx(f, 0, "refund");
    ctx(f, 0, "duplicate index");  /* first value kept */
    ctx(f, 7, "no such column");   /* ignored */
    rec_done(f);
    rec(f, SRC_TICKETS, "K3", 0);  /* unknown time: never the most recent */
    ctx(f, 0, "old");
    rec_done(f);
    rec1(f, SRC_CRM, "C1", T1, UF_KIND_CITY, "paris", "Paris"); /* no context columns */
    const char *json = profile_all(f);
    cr_expect_str_eq(JGET(f, json, "context"),
        "{\"pos\":{\"last_store\":\"Store 2\",\"updated_at\":\"" S1 "\"},"
        "\"tickets\":{\"topic\":\"refund\",\"channel\":\"email\",\"updated_at\":\"" S2 "\"}}");
    /* Without K2 the tie goes to K1 over the unknown K3. */
    json = PROFILE(f, 2, 4);
    cr_expect_str_eq(JGET(f, json, "context"),
        "{\"tickets\":{\"topic\":\"delivery\",\"updated_at\":\"" S2 "\"}}");
    /* Only unknown times: the larger id. */
    rec(f, SRC_TICKETS, "K4", 0);
    rec_done(f);
    json = PROFILE(f, 4, 6);
    cr_expect_str_eq(JGET(f, json, "context"), "{\"tickets\":{}}");
    json = PROFILE(f, 6, 4); /* member order does not matter */
    cr_expect_str_eq(JGET(f, json, "context"), "{\"tickets\":{}}");
    fx_free(f);
}

Test(survive_context, column_named_updated_at_is_not_duplicated)
{
    fx *f = fx_new();
    f->pos_context[1] = "updated_at";
    rec(f, SRC_POS, "P1", T1);
    ctx(f, 1, "yesterday");
    rec_done(f);
    const char *json = profile_all(f); /* the validator rejects duplicate members */
    cr_expect_str_eq(JGET(f, json, "context"), "{\"pos\":{\"updated_at\":\"yesterday\"}}");
    fx_free(f);
}

Test(survive_context, channels_in_config_order)
{
    fx *f = fx_new();
    rec1(f, SRC_TICKETS, "K1", T1, UF_KIND_CITY, "paris", NULL);
    rec1(f, SRC_WEB, "W1", T1, UF_KIND_CITY, "paris", NULL);
    rec1(f, SRC_CRM, "C1", T1, UF_KIND_CITY, "paris", NULL);
    rec1(f, SRC_WEB, "W2", T1, UF_KIND_CITY, "paris", NULL);
    const char *json = profile_all(f);
    cr_expect_str_eq(JGET(f, json, "channels"), "[\"crm\",\"web\",\"tickets\"]");
    cr_expect_str_eq(JGET(f, json, "attributes", "city", "sources"), "[\"crm\",\"web\",\"tickets\"]");
    cr_expect_null(JGET(f, json, "attributes", "city", "alternatives"), "%s", json);
    cr_expect_str_eq(JGET(f, json, "records", "#0", "key"), "\"K1\"");
    cr_expect_str_eq(JGET(f, json, "records", "#3", "key"), "\"W2\"");
    cr_expect_str_eq(JGET(f, json, "updated_at"), "\"" S1 "\"");
    fx_free(f);
}

Test(survive_context, many_sources_beyond_one_bitset_word)
{
    /* 70 sources: source bitsets span two words; order stays config order. */
    fx *f = fx_new();
    enum { N = 70 };
    uf_source_config many[N];
    char names[N][16];
    memset(many, 0, sizeof many);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "s%02d", i);
        many[i].name = names[i];
        many[i].priority = 100 - i;
    }
    f->config.sources = many;
    f->config.source_count = N;
    rec1(f, 69, "a", T1, UF_KIND_CITY, "paris", NULL);
    rec1(f, 3, "b", T1, UF_KIND_CITY, "paris", NULL);
    rec1(f, 64, "c", T1, UF_KIND_CITY, "lyon", NULL);
    const char *json = profile_all(f);
    cr_expect_str_eq(JGET(f, json, "channels"), "[\"s03\",\"s64\",\"s69\"]");
    cr_expect_str_eq(JGET(f, json, "attributes", "city", "sources"), "[\"s03\",\"s69\"]");
    cr_expect_str_eq(JGET(f, json, "attributes", "city", "alternatives", "#0", "sources"), "[\"s64\"]");
    cr_expect_str_eq(winner(f, json, "city"), "\"paris\""); /* s69 has priority 31 */
    uf_survivor_free(f->survivor);
    f->survivor = NULL;
    f->config.sources = f->sources; /* `many` goes out of scope */
    fx_free(f);
}

/* ------------------------------------------------------------------ */
/* Giant clusters and hostile values                                   */
/* ------------------------------------------------------------------ */

Test(survive_caps, giant_cluster_is_capped)
{
    fx *f = fx_new();
    enum { N = 1500 };
    for (int i = 0; i < N; i++) {
        char key[16], name[16], email[32];
        snprintf(key, sizeof key, "C%04d", i);
        snprintf(name, sizeof name, "name%02d", i % 60);
        snprintf(email, sizeof email, "e%03d@x.com", i % 150);
        rec(f, SRC_CRM, key, T3 + i);
        attr(f, UF_KIND_FIRST_NAME, name, NULL);
        attr(f, UF_KIND_EMAIL, email, NULL);
        attr(f, UF_KIND_CITY, "paris", "Paris");
        rec_done(f);
    }
    const char *json = profile_all(f);
    cr_expect_lt(f->out.len, 400000, "profile is %zu bytes", f->out.len);
    cr_expect_eq(array_len(JGET(f, json, "records")), UF_SURVIVE_MAX_RECORDS);
    cr_expect_str_eq(JGET(f, json, "records_truncated"), "500");
    cr_expect_str_eq(JGET(f, json, "records", "#999", "key"), "\"C0999\"");
    /* The cap counts the survivor: 60 names = 1 inline + 49 alternatives + 10 left out. */
    cr_expect_eq(array_len(JGET(f, json, "attributes", "first_name", "alternatives")), UF_SURVIVE_MAX_ALTERNATIVES - 1);
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name", "alternatives_truncated"), "10");
    /* E-mail in "attributes" is the display value only; its 150 values are under "identifiers". */
    cr_expect_str_eq(JGET(f, json, "attributes", "email"), "{\"value\":\"e149@x.com\"}");
    cr_expect_null(JGET(f, json, "attributes", "city", "alternatives"));
    cr_expect_null(JGET(f, json, "attributes", "city", "alternatives_truncated"));
    cr_expect_eq(array_len(JGET(f, json, "identifiers", "email")), UF_SURVIVE_MAX_IDENTIFIERS);
    cr_expect_str_eq(JGET(f, json, "identifiers_truncated"), "{\"email\":50}");
    /* Caps cut the output, not the evidence: every record counts. */
    cr_expect_str_eq(JGET(f, json, "attributes", "city", "count"), "1500");
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name", "count"), "25");
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name", "alternatives", "#0", "count"), "25");
    /* Most recent: record 1499 holds name59 (1499 % 60 = 59) and e149. */
    cr_expect_str_eq(winner(f, json, "first_name"), "\"name59\"");
    cr_expect_str_eq(winner(f, json, "email"), "\"e149@x.com\"");
    /* The alternatives start after the survivor (all count 25: most recent first) and stop at the cap. */
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name", "alternatives", "#0", "value"), "\"name58\"");
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name", "alternatives", "#48", "value"), "\"name10\"");

    /* At the cap exactly: records 0..49 hold 50 names, all shown (1 + 49), nothing truncated. */
    uf_record_id ids[UF_SURVIVE_MAX_ALTERNATIVES + 1];
    for (size_t i = 0; i < UF_ARRAY_LEN(ids); i++)
        ids[i] = (uf_record_id)i;
    json = profile_ids(f, ids, UF_SURVIVE_MAX_ALTERNATIVES, "G1");
    cr_expect_str_eq(winner(f, json, "first_name"), "\"name49\"");
    cr_expect_eq(array_len(JGET(f, json, "attributes", "first_name", "alternatives")), UF_SURVIVE_MAX_ALTERNATIVES - 1);
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name", "alternatives", "#48", "value"), "\"name00\"");
    cr_expect_null(JGET(f, json, "attributes", "first_name", "alternatives_truncated"), "%s", json);
    /* One over: 51 names, the oldest one is left out. */
    json = profile_ids(f, ids, UF_SURVIVE_MAX_ALTERNATIVES + 1, "G1");
    cr_expect_str_eq(winner(f, json, "first_name"), "\"name50\"");
    cr_expect_eq(array_len(JGET(f, json, "attributes", "first_name", "alternatives")), UF_SURVIVE_MAX_ALTERNATIVES - 1);
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name", "alternatives", "#48", "value"), "\"name01\"");
    cr_expect_str_eq(JGET(f, json, "attributes", "first_name", "alternatives_truncated"), "1");
    fx_free(f);
}

Test(survive_caps, huge_junk_cluster_stays_small)
{
    fx *f = fx_new();
    enum { N = 20000 };
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "W%05d", i);
        rec(f, SRC_WEB, key, T1);
        attr(f, UF_KIND_EMAIL, "test@test.com", i % 2 ? "TEST@test.com" : "test@test.com");
        attr(f, UF_KIND_PHONE, "+10000000000", NULL);
        rec_done(f);
    }
    const char *json = profile_all(f);
    cr_expect_lt(f->out.len, 100000, "profile is %zu bytes", f->out.len);
    cr_expect_str_eq(JGET(f, json, "identifiers", "email", "#0", "count"), "20000");
    cr_expect_str_eq(JGET(f, json, "records_truncated"), "19000");
    fx_free(f);
}

Test(survive_escape, hostile_values_stay_valid_json)
{
    fx *f = fx_new();
    f->sources[SRC_POS].name = "p\"o\\s";
    f->pos_context[0] = "last\npurchase";
    rec(f, SRC_POS, "K\"1\n\x01", T1);
    attr(f, UF_KIND_FIRST_NAME, "bob", "Bob \"The Builder\" \\ \x01\t\x7f");
    attr_n(f, UF_KIND_LAST_NAME, "sm\xffith", 6, "Sm\xff\xfeith\xc0\xaf", 9);
    attr_n(f, UF_KIND_CITY, "a\0b", 3, "A\0B", 3);
    ctx(f, 0, "\x1f</script>\xe2\x80\xa8");
    rec_done(f);
    const char *json = profile_ids(f, IDS(0), "G\"1");
    cr_expect_str_eq(JGET(f, json, "golden_id"), "\"G\\\"1\"");
    cr_expect_str_eq(winner(f, json, "first_name"), "\"Bob \\\"The Builder\\\" \\\\ \\u0001\\t\x7f\"");
    cr_expect_str_eq(winner(f, json, "last_name"), "\"Sm\xef\xbf\xbd\xef\xbf\xbdith\xef\xbf\xbd\xef\xbf\xbd\"");
    cr_expect_str_eq(winner(f, json, "city"), "\"A\\u0000B\"");
    cr_expect_str_eq(JGET(f, json, "records", "#0", "key"), "\"K\\\"1\\n\\u0001\"");
    cr_expect_str_eq(JGET(f, json, "channels"), "[\"p\\\"o\\\\s\"]");
    cr_expect_not_null(strstr(json, "\"last\\npurchase\":\"\\u001f</script>\xe2\x80\xa8\""), "%s", json);
    fx_free(f);
}

/* ------------------------------------------------------------------ */
/* Errors and scratch reuse                                            */
/* ------------------------------------------------------------------ */

Test(survive_errors, invalid_input_leaves_out_unchanged)
{
    fx *f = fx_new();
    rec1(f, SRC_CRM, "C1", T1, UF_KIND_CITY, "paris", NULL);
    rec1(f, 9, "X1", T1, UF_KIND_CITY, "paris", NULL);       /* source not in config */
    rec1(f, SRC_CRM, "C2", T1, 40, "what", NULL);           /* kind not in config */
    f->survivor = uf_survivor_new(&f->config);
    cr_assert_not_null(f->survivor);
    uf_error err;
    struct { const uf_record_id *ids; size_t n; } cases[] = {
        {IDS(0)}, /* n replaced below for the empty case */
        {IDS(0, 7)},
        {IDS(0, 1)},
        {IDS(0, 2)},
    };
    cases[0].n = 0;
    for (size_t i = 0; i < UF_ARRAY_LEN(cases); i++) {
        uf_buf_reset(&f->out);
        uf_buf_puts(&f->out, "prefix");
        err.code = UF_OK;
        int rc = uf_survive_profile(f->survivor, &f->table, cases[i].ids, cases[i].n, "G1", &f->out, &err);
        cr_expect_eq(rc, UF_ERR_INVALID, "case %zu", i);
        cr_expect_eq(err.code, UF_ERR_INVALID, "case %zu", i);
        cr_expect_neq(err.message[0], '\0', "case %zu", i);
        cr_expect_str_eq(uf_buf_cstr(&f->out), "prefix", "case %zu", i);
    }
    cr_expect_eq(uf_survive_profile(f->survivor, &f->table, IDS(0), NULL, &f->out, &err), UF_ERR_INVALID);
    /* The survivor still works after errors. */
    const char *json = PROFILE(f, 0);
    cr_expect_str_eq(winner(f, json, "city"), "\"paris\"");
    fx_free(f);
}

Test(survive_reuse, reused_scratch_matches_fresh_survivor)
{
    fx *f = fx_new();
    static const char *const names[] = {"ann", "bob", "cy", "dee", "eve", "flo", "gus"};
    static const char *const cities[] = {"paris", "lyon", "nice"};
    enum { N = 600 };
    for (int i = 0; i < N; i++) {
        char key[16], raw[16];
        snprintf(key, sizeof key, "R%04d", i);
        const char *name = names[(i * 3 + i / 7) % 7];
        snprintf(raw, sizeof raw, i % 3 ? "%s" : "%.1s", name);
        rec(f, i % SRC_COUNT, key, i % 5 ? T3 + (i % 11) * 3600 : 0);
        attr(f, UF_KIND_FIRST_NAME, name, raw);
        attr(f, UF_KIND_CITY, cities[i % 3], NULL);
        if (i % 4 == 0)
            attr(f, UF_KIND_EMAIL, names[i % 5], NULL);
        ctx(f, 0, key);
        rec_done(f);
    }
    f->survivor = uf_survivor_new(&f->config);
    cr_assert_not_null(f->survivor);
    uint64_t state = 42;
    uf_record_id ids[N];
    uf_buf fresh_out;
    uf_buf_init(&fresh_out);
    for (int round = 0; round < 300; round++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        /* Mostly small clusters, now and then one of hundreds of records. */
        size_t n = round % 50 == 7 ? 400 + (size_t)(state >> 60) : 1 + (size_t)((state >> 40) % 6);
        size_t base = (size_t)((state >> 20) % (N - n));
        for (size_t i = 0; i < n; i++)
            ids[i] = (uf_record_id)(base + i);
        uf_error err;
        uf_buf_reset(&f->out);
        cr_assert_eq(uf_survive_profile(f->survivor, &f->table, ids, n, "G", &f->out, &err), UF_OK);
        uf_survivor *fresh = uf_survivor_new(&f->config);
        cr_assert_not_null(fresh);
        uf_buf_reset(&fresh_out);
        cr_assert_eq(uf_survive_profile(fresh, &f->table, ids, n, "G", &fresh_out, &err), UF_OK);
        uf_survivor_free(fresh);
        cr_assert_eq(f->out.len, fresh_out.len, "round %d", round);
        cr_assert(memcmp(f->out.data, fresh_out.data, f->out.len) == 0, "round %d", round);
        cr_assert(json_valid(f->out.data, f->out.len), "round %d", round);
    }
    uf_buf_free(&fresh_out);
    fx_free(f);
}

/* ------------------------------------------------------------------ */
/* The profile's own escaper must agree with uf_json_string            */
/* ------------------------------------------------------------------ */

Test(survive_escape, same_bytes_as_uf_json_string)
{
    static const unsigned char alphabet[] = {
        0x00, 0x01, 0x08, 0x09, 0x0a, 0x0d, 0x1f, 0x20, '"', '\\', '/', 'a', 'Z', 0x7f,
        0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xa9, 0xdf, 0xe0, 0xe2, 0x82, 0xac, 0xed,
        0xa0, 0xef, 0xbb, 0xf0, 0x9f, 0x98, 0x80, 0xf4, 0x8f, 0xf5, 0xfe, 0xff,
    };
    fx *f = fx_new();
    uint64_t state = 7;
    uf_buf want;
    uf_buf_init(&want);
    for (int round = 0; round < 6000; round++) {
        unsigned char raw[64];
        state = state * 6364136223846793005u + 1442695040888963407u;
        size_t n = 1 + (size_t)(state >> 59);
        /* Half the rounds mostly plain ASCII (the word-at-a-time paths), half mostly special. */
        bool plain = round % 2 == 0;
        for (size_t i = 0; i < n; i++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            if (plain && (state >> 40) % 16 != 0)
                raw[i] = (unsigned char)(0x20 + (state >> 20) % 0x5F);
            else
                raw[i] = alphabet[(state >> 33) % sizeof alphabet];
        }
        rec(f, SRC_CRM, "C1", T1);
        attr_n(f, UF_KIND_FIRST_NAME, "x", 1, (const char *)raw, n);
        uf_record_id id = rec_done(f);
        const char *json = profile_ids(f, &id, 1, "G1");
        uf_buf_reset(&want);
        uf_json_string(&want, uf_slice_make((const char *)raw, n));
        const char *w = winner(f, json, "first_name");
        cr_assert_str_eq(w, uf_buf_cstr(&want), "round %d", round);
        /* One record at a time: drop it and the extracted string. */
        free((void *)f->records[0].blob);
        f->table.count = 0;
        f->string_count--;
        free(f->strings[f->string_count]);
    }
    uf_buf_free(&want);
    fx_free(f);
}

/* ------------------------------------------------------------------ */
/* Long lists switch to the hash table without changing anything       */
/* ------------------------------------------------------------------ */

Test(survive_values, many_spellings_and_values_use_the_index)
{
    fx *f = fx_new();
    enum { N = 40 };
    /* One normalized e-mail in N spellings (spelling k held by k+1 records
       for k < 3, else 1), and N other values of the same kind. */
    size_t id = 0;
    for (int k = 0; k < N; k++) {
        for (int copy = 0; copy <= (k < 3 ? k : 0); copy++) {
            char key[16], raw[32], other[32];
            snprintf(key, sizeof key, "W%03zu", id++);
            snprintf(raw, sizeof raw, "Bob%02d@X.com", k);
            snprintf(other, sizeof other, "other%02d@x.com", k);
            rec(f, SRC_WEB, key, T3);
            attr(f, UF_KIND_EMAIL, "bob@x.com", raw);
            attr(f, UF_KIND_EMAIL, other, NULL);
            rec_done(f);
        }
    }
    const char *json = profile_all(f);
    const char *ids = JGET(f, json, "identifiers", "email");
    cr_expect_eq(array_len(ids), N + 1);
    cr_expect_str_eq(JGET(f, ids, "#0", "normalized"), "\"bob@x.com\"");
    cr_expect_str_eq(JGET(f, ids, "#0", "value"), "\"Bob02@X.com\""); /* 3 records */
    cr_expect_str_eq(JGET(f, ids, "#0", "count"), "43");
    cr_expect_str_eq(JGET(f, ids, "#1", "value"), "\"other02@x.com\""); /* count 3 */
    cr_expect_str_eq(JGET(f, ids, "#2", "value"), "\"other01@x.com\""); /* count 2 */
    cr_expect_str_eq(JGET(f, ids, "#3", "value"), "\"other00@x.com\"");
    cr_expect_str_eq(JGET(f, ids, "#40", "value"), "\"other39@x.com\"");
    cr_expect_null(JGET(f, ids, "#40", "normalized"), "the display spelling is the normalized value");
    fx_free(f);
}

Test(survive_reuse, giant_then_small_then_giant)
{
    /* A cluster big enough to make the survivor give its scratch back
       afterwards (see trim_scratch); before and after must not differ. */
    fx *f = fx_new();
    enum { N = 7000 };
    for (int i = 0; i < N; i++) {
        char key[24], email[32], phone[24], name[24];
        snprintf(key, sizeof key, "W%05d", i);
        snprintf(email, sizeof email, "u%05d@x.com", i);
        snprintf(phone, sizeof phone, "+1555%07d", i);
        snprintf(name, sizeof name, "n%05d", i % 3000);
        rec(f, i % SRC_COUNT, key, T3 + i % 17);
        attr(f, UF_KIND_EMAIL, email, NULL);
        attr(f, UF_KIND_PHONE, phone, NULL);
        attr(f, UF_KIND_FIRST_NAME, name, i % 2 ? "N" : NULL);
        ctx(f, 0, key);
        rec_done(f);
    }
    char *giant = strdup(profile_all(f));
    char *small = strdup(PROFILE(f, 5, 17, 4000));
    cr_assert_str_eq(profile_all(f), giant);
    cr_assert_str_eq(PROFILE(f, 5, 17, 4000), small);
    uf_survivor_free(f->survivor);
    f->survivor = NULL; /* fresh one */
    cr_assert_str_eq(PROFILE(f, 5, 17, 4000), small);
    cr_assert_str_eq(profile_all(f), giant);
    cr_expect_str_eq(JGET(f, giant, "identifiers_truncated"), "{\"email\":6900,\"phone\":6900}");
    free(giant);
    free(small);
    fx_free(f);
}
