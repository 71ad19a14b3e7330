/*
 * fs_model.c — Fellegi–Sunter parameters: estimation (u by frequencies, m
 * and lambda by EM), match weights, and the JSON form a run stores.
 *
 * The idea: everything works on aggregated patterns (distinct comparison
 * vectors with counts), so one EM iteration costs the number of distinct
 * vectors — at most a few hundred thousand — whatever the number of pairs.
 * The E-step works in log space (a sum of per-field log ratios), so eight
 * fields of probabilities near the 1e-6 clamp never underflow.
 *
 * Trade-offs:
 *  - Pseudo-counts (one pair's worth spread over the levels of a field)
 *    keep every level possible; with the hundreds of thousands of pairs a
 *    run estimates from, they move no estimate measurably.
 *  - A level byte that is neither a valid level nor UF_CMP_MISSING is read
 *    as missing: a corrupt vector cannot index out of the tables.
 *  - The JSON reader is a small strict recursive-descent parser for this
 *    one shape, with line numbers in errors: no dependency, no allocation.
 *    Unknown keys are errors, so a typo in a hand-written parameters file
 *    ("lamda") is reported instead of silently ignored.
 */
#include "fs_model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#define START_LAMBDA 0.1
/* Start values grow (m) or shrink (u) by this factor per level. */
#define START_LEVEL_RATIO 4.0
/* Pseudo-count per level, in pairs, for both u and m. */
#define PSEUDO_COUNT_PER_FIELD 1.0
/* Term-frequency adjustments are clamped to +-this many bits. */
#define TF_ADJUSTMENT_LIMIT 8.0

static double clamp_probability(double p)
{
    if (!(p >= UF_FS_MIN_PROBABILITY)) /* also NaN */
        return UF_FS_MIN_PROBABILITY;
    if (p > 1.0 - UF_FS_MIN_PROBABILITY)
        return 1.0 - UF_FS_MIN_PROBABILITY;
    return p;
}

/* The level of field f in v, or -1 when it is missing (or not a level of f). */
static inline int vector_level(const uf_cmp_vector *v, int f)
{
    int l = v->level[f];
    return l < uf_cmp_level_count((uf_cmp_field)f) ? l : -1;
}

void uf_fs_model_init(uf_fs_model *model)
{
    memset(model, 0, sizeof *model);
    model->lambda = START_LAMBDA;
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
        int levels = uf_cmp_level_count((uf_cmp_field)f);
        double msum = 0, usum = 0, rise = 1;
        for (int l = 0; l < levels; l++, rise *= START_LEVEL_RATIO) {
            model->m[f][l] = rise;
            model->u[f][levels - 1 - l] = rise;
            msum += rise;
            usum += rise;
        }
        for (int l = 0; l < levels; l++) {
            model->m[f][l] = clamp_probability(model->m[f][l] / msum);
            model->u[f][l] = clamp_probability(model->u[f][l] / usum);
        }
    }
}

void uf_fs_estimate_u(uf_fs_model *model, const uf_cmp_vector *patterns, const uint64_t *counts,
                      size_t pattern_count)
{
    double seen[UF_CMP_FIELD_COUNT][UF_CMP_MAX_LEVELS] = {{0}};
    double total[UF_CMP_FIELD_COUNT] = {0};
    uint64_t pairs = 0;
    for (size_t p = 0; p < pattern_count; p++) {
        double c = (double)counts[p];
        pairs += counts[p];
        for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
            int l = vector_level(&patterns[p], f);
            if (l >= 0) {
                seen[f][l] += c;
                total[f] += c;
            }
        }
    }
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
        if (total[f] <= 0)
            continue; /* never compared: keep the start values */
        int levels = uf_cmp_level_count((uf_cmp_field)f);
        double pseudo = PSEUDO_COUNT_PER_FIELD / levels;
        for (int l = 0; l < levels; l++)
            model->u[f][l] = clamp_probability((seen[f][l] + pseudo) / (total[f] + PSEUDO_COUNT_PER_FIELD));
    }
    model->u_pairs = pairs;
}

void uf_fs_em(uf_fs_model *model, const uf_cmp_vector *patterns, const uint64_t *counts, size_t pattern_count,
              int max_iterations, double tolerance)
{
    if (max_iterations < 1)
        max_iterations = 1;
    uint64_t pairs = 0;
    for (size_t p = 0; p < pattern_count; p++)
        pairs += counts[p];
    model->em_pairs = pairs;
    model->em_iterations = 0;
    model->em_converged = false;
    if (pairs == 0)
        return;

    for (int it = 1; it <= max_iterations; it++) {
        /* Natural-log ratios of this iteration's parameters. */
        double log_ratio[UF_CMP_FIELD_COUNT][UF_CMP_MAX_LEVELS];
        for (int f = 0; f < UF_CMP_FIELD_COUNT; f++)
            for (int l = 0; l < uf_cmp_level_count((uf_cmp_field)f); l++)
                log_ratio[f][l] = log(model->m[f][l]) - log(model->u[f][l]);
        double log_prior = log(model->lambda) - log1p(-model->lambda);

        double match_level[UF_CMP_FIELD_COUNT][UF_CMP_MAX_LEVELS] = {{0}};
        double match_field[UF_CMP_FIELD_COUNT] = {0};
        double match_total = 0, all_total = 0;
        for (size_t p = 0; p < pattern_count; p++) {
            if (counts[p] == 0)
                continue;
            double w = log_prior;
            for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
                int l = vector_level(&patterns[p], f);
                if (l >= 0)
                    w += log_ratio[f][l];
            }
            double posterior = 1.0 / (1.0 + exp(-w));
            double c = (double)counts[p];
            double cp = c * posterior;
            all_total += c;
            match_total += cp;
            for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
                int l = vector_level(&patterns[p], f);
                if (l >= 0) {
                    match_level[f][l] += cp;
                    match_field[f] += cp;
                }
            }
        }

        double change = 0;
        double lambda = clamp_probability(match_total / all_total);
        change = fabs(lambda - model->lambda);
        model->lambda = lambda;
        for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
            if (match_field[f] <= 0)
                continue; /* no evidence on this field: m stays */
            int levels = uf_cmp_level_count((uf_cmp_field)f);
            double pseudo = PSEUDO_COUNT_PER_FIELD / levels;
            for (int l = 0; l < levels; l++) {
                double m = clamp_probability((match_level[f][l] + pseudo) / (match_field[f] + PSEUDO_COUNT_PER_FIELD));
                double d = fabs(m - model->m[f][l]);
                if (d > change)
                    change = d;
                model->m[f][l] = m;
            }
        }
        model->em_iterations = it;
        if (change <= tolerance) {
            model->em_converged = true;
            break;
        }
    }
}

double uf_fs_level_weight(const uf_fs_model *model, uf_cmp_field f, int level)
{
    if ((unsigned)f >= UF_CMP_FIELD_COUNT || level < 0 || level >= uf_cmp_level_count(f))
        return 0.0; /* UF_CMP_MISSING (or not a level): neutral */
    return log2(model->m[f][level]) - log2(model->u[f][level]);
}

double uf_fs_prior_weight(const uf_fs_model *model)
{
    return log2(model->lambda) - log1p(-model->lambda) / M_LN2;
}

double uf_fs_vector_weight(const uf_fs_model *model, const uf_cmp_vector *v)
{
    double w = uf_fs_prior_weight(model);
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++)
        w += uf_fs_level_weight(model, (uf_cmp_field)f, v->level[f]);
    return w;
}

double uf_fs_tf_adjustment(const uf_fs_model *model, uf_cmp_field f, double tf)
{
    if (!(tf > 0) || (unsigned)f >= UF_CMP_FIELD_COUNT)
        return 0.0;
    if (tf > 1)
        tf = 1;
    double u_exact = model->u[f][uf_cmp_level_count(f) - 1];
    double adj = log2(u_exact) - log2(tf);
    if (adj > TF_ADJUSTMENT_LIMIT)
        return TF_ADJUSTMENT_LIMIT;
    if (adj < -TF_ADJUSTMENT_LIMIT)
        return -TF_ADJUSTMENT_LIMIT;
    return adj;
}

double uf_fs_probability(double weight)
{
    /* 2^-|w| never overflows; it underflows to 0 for |w| > ~1074, which is exact enough. */
    if (weight >= 0)
        return 1.0 / (1.0 + exp2(-weight));
    double e = exp2(weight);
    return e / (1.0 + e);
}

double uf_fs_weight_of_probability(double p)
{
    if (!(p > 0))
        return -INFINITY;
    if (p >= 1)
        return INFINITY;
    return log2(p) - log1p(-p) / M_LN2;
}

/* ------------------------------------------------------------------ */
/* JSON writing                                                        */
/* ------------------------------------------------------------------ */

typedef struct json_writer {
    char *buf;
    size_t size;
    size_t len; /* bytes the whole text needs, also past `size` */
} json_writer;

__attribute__((format(printf, 2, 3))) static void jw_printf(json_writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = w->len < w->size ? w->buf + w->len : NULL;
    size_t room = w->len < w->size ? w->size - w->len : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->len += (size_t)n;
}

static void jw_array(json_writer *w, const double *values, int count)
{
    jw_printf(w, "[");
    for (int i = 0; i < count; i++)
        jw_printf(w, "%s%.17g", i ? "," : "", values[i]);
    jw_printf(w, "]");
}

size_t uf_fs_model_to_json(const uf_fs_model *model, char *buf, size_t size)
{
    json_writer w = {buf, size, 0};
    if (buf && size > 0)
        buf[0] = '\0';
    jw_printf(&w,
              "{\"format\":1,\"lambda\":%.17g,\"u_pairs\":%llu,\"em_pairs\":%llu,\"em_iterations\":%d,"
              "\"em_converged\":%s,\"fields\":{",
              model->lambda, (unsigned long long)model->u_pairs, (unsigned long long)model->em_pairs,
              model->em_iterations, model->em_converged ? "true" : "false");
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
        int levels = uf_cmp_level_count((uf_cmp_field)f);
        jw_printf(&w, "%s\"%s\":{\"m\":", f ? "," : "", uf_cmp_field_name((uf_cmp_field)f));
        jw_array(&w, model->m[f], levels);
        jw_printf(&w, ",\"u\":");
        jw_array(&w, model->u[f], levels);
        jw_printf(&w, "}");
    }
    jw_printf(&w, "}}");
    return w.len;
}

/* ------------------------------------------------------------------ */
/* JSON reading                                                        */
/* ------------------------------------------------------------------ */

typedef struct json_reader {
    const char *p, *end;
    int line;
    const char *origin;
    uf_error *err;
} json_reader;

#define JR_KEY_MAX 64

__attribute__((format(printf, 2, 3))) static int jr_fail(json_reader *r, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return uf_error_set(r->err, UF_ERR_FORMAT, "%s:%d: %s", r->origin, r->line, reason);
}

static void jr_space(json_reader *r)
{
    while (r->p < r->end) {
        char c = *r->p;
        if (c == '\n')
            r->line++;
        else if (c != ' ' && c != '\t' && c != '\r')
            return;
        r->p++;
    }
}

/* What the reader found, for error messages. */
static const char *jr_found(const json_reader *r)
{
    if (r->p >= r->end)
        return "end of text";
    switch (*r->p) {
    case '{': return "'{'";
    case '}': return "'}'";
    case '[': return "'['";
    case ']': return "']'";
    case ',': return "','";
    case ':': return "':'";
    case '"': return "a string";
    default: return "an unexpected character";
    }
}

/* Consume `c` after optional white space. */
static int jr_expect(json_reader *r, char c, const char *what)
{
    jr_space(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return UF_OK;
    }
    return jr_fail(r, "expected %s, found %s", what, jr_found(r));
}

/* True (and consumed) when the next token is `c`. */
static bool jr_accept(json_reader *r, char c)
{
    jr_space(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return true;
    }
    return false;
}

/*
 * A string into key (NUL-terminated, cut at JR_KEY_MAX - 1 bytes; a cut key
 * matches no known name). Escapes are decoded; \u to UTF-8.
 */
static int jr_string(json_reader *r, char *key)
{
    int rc = jr_expect(r, '"', "a string");
    if (rc)
        return rc;
    size_t n = 0;
    for (;;) {
        if (r->p >= r->end)
            return jr_fail(r, "unterminated string");
        unsigned char c = (unsigned char)*r->p++;
        if (c == '"')
            break;
        if (c < 0x20)
            return jr_fail(r, "control character in a string");
        if (c == '\\') {
            if (r->p >= r->end)
                return jr_fail(r, "unterminated string");
            char e = *r->p++;
            switch (e) {
            case '"': case '\\': case '/': c = (unsigned char)e; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                unsigned cp = 0;
                for (int i = 0; i < 4; i++) {
                    if (r->p >= r->end)
                        return jr_fail(r, "unterminated string");
                    char h = *r->p++;
                    cp <<= 4;
                    if (h >= '0' && h <= '9') cp |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f') cp |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') cp |= (unsigned)(h - 'A' + 10);
                    else return jr_fail(r, "bad \\u escape in a string");
                }
                /* Keys are ASCII: any other code point makes the key unknown, so a marker byte will do. */
                c = cp < 0x80 ? (unsigned char)cp : 0x80;
                break;
            }
            default: return jr_fail(r, "bad escape '\\%c' in a string", e);
            }
        }
        if (n < JR_KEY_MAX - 1)
            key[n] = (char)c;
        n++;
    }
    key[n < JR_KEY_MAX - 1 ? n : JR_KEY_MAX - 1] = '\0';
    if (n >= JR_KEY_MAX - 1)
        key[0] = '\x80'; /* too long to be a known name */
    return UF_OK;
}

/* A JSON number token (strict grammar); *integer tells whether it has no fraction or exponent. */
static int jr_number_token(json_reader *r, const char **start, size_t *len, bool *integer)
{
    jr_space(r);
    const char *p = r->p, *s = p;
    *integer = true;
    if (p < r->end && *p == '-')
        p++;
    if (p >= r->end || *p < '0' || *p > '9')
        return jr_fail(r, "expected a number, found %s", jr_found(r));
    if (*p == '0')
        p++;
    else
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    if (p < r->end && *p == '.') {
        *integer = false;
        p++;
        if (p >= r->end || *p < '0' || *p > '9')
            return jr_fail(r, "bad number: digits must follow '.'");
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < r->end && (*p == 'e' || *p == 'E')) {
        *integer = false;
        p++;
        if (p < r->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= r->end || *p < '0' || *p > '9')
            return jr_fail(r, "bad number: digits must follow the exponent");
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    }
    /* A number runs into the next delimiter, never into letters ("0.5x", "1true"). */
    if (p < r->end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' && *p != '\n' &&
        *p != '\r')
        return jr_fail(r, "bad number");
    if ((size_t)(p - s) >= 64)
        return jr_fail(r, "number too long");
    *start = s;
    *len = (size_t)(p - s);
    r->p = p;
    return UF_OK;
}

static int jr_double(json_reader *r, double *out)
{
    const char *s;
    size_t len;
    bool integer;
    int rc = jr_number_token(r, &s, &len, &integer);
    if (rc)
        return rc;
    char tmp[64];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *out = strtod(tmp, NULL);
    if (!isfinite(*out))
        return jr_fail(r, "number out of range");
    return UF_OK;
}

static int jr_count(json_reader *r, const char *name, uint64_t *out)
{
    const char *s;
    size_t len;
    bool integer;
    int rc = jr_number_token(r, &s, &len, &integer);
    if (rc)
        return rc;
    if (!integer || s[0] == '-')
        return jr_fail(r, "\"%s\" must be a whole number >= 0", name);
    char tmp[64];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    unsigned long long v = strtoull(tmp, NULL, 10);
    if (errno == ERANGE)
        return jr_fail(r, "\"%s\" is too large", name);
    *out = (uint64_t)v;
    return UF_OK;
}

static int jr_bool(json_reader *r, bool *out)
{
    jr_space(r);
    size_t left = (size_t)(r->end - r->p);
    if (left >= 4 && memcmp(r->p, "true", 4) == 0) {
        r->p += 4;
        *out = true;
    } else if (left >= 5 && memcmp(r->p, "false", 5) == 0) {
        r->p += 5;
        *out = false;
    } else {
        return jr_fail(r, "expected true or false, found %s", jr_found(r));
    }
    return UF_OK;
}

static int jr_probability(json_reader *r, const char *what, double *out)
{
    double v;
    int rc = jr_double(r, &v);
    if (rc)
        return rc;
    /* Numbers hold no newline: the reader is still on the number's line. */
    if (!(v > 0 && v < 1))
        return jr_fail(r, "%s %.17g is not a probability in (0, 1)", what, v);
    *out = clamp_probability(v);
    return UF_OK;
}

/* "m" or "u" of one field: exactly level-count probabilities. */
static int jr_levels(json_reader *r, int f, const char *which, double *out)
{
    int rc = jr_expect(r, '[', "'['");
    if (rc)
        return rc;
    int levels = uf_cmp_level_count((uf_cmp_field)f);
    const char *name = uf_cmp_field_name((uf_cmp_field)f);
    char what[96];
    double values[UF_CMP_MAX_LEVELS];
    int n = 0;
    if (!jr_accept(r, ']')) {
        do {
            snprintf(what, sizeof what, "%s.%s[%d]", name, which, n);
            double v;
            if ((rc = jr_probability(r, what, &v)))
                return rc;
            if (n < levels)
                values[n] = v;
            n++;
        } while (jr_accept(r, ','));
        if ((rc = jr_expect(r, ']', "',' or ']'")))
            return rc;
    }
    if (n != levels)
        return jr_fail(r, "%s.%s has %d levels, expected %d", name, which, n, levels);
    memcpy(out, values, (size_t)levels * sizeof *values);
    return UF_OK;
}

static int jr_field(json_reader *r, uf_fs_model *model, int f)
{
    int rc = jr_expect(r, '{', "'{'");
    if (rc)
        return rc;
    bool seen_m = false, seen_u = false;
    if (jr_accept(r, '}'))
        return UF_OK;
    do {
        char key[JR_KEY_MAX];
        if ((rc = jr_string(r, key)) || (rc = jr_expect(r, ':', "':'")))
            return rc;
        bool is_m = strcmp(key, "m") == 0;
        if (!is_m && strcmp(key, "u") != 0)
            return jr_fail(r, "unknown key \"%s\" in field \"%s\" (expected \"m\" or \"u\")", key,
                           uf_cmp_field_name((uf_cmp_field)f));
        bool *seen = is_m ? &seen_m : &seen_u;
        if (*seen)
            return jr_fail(r, "duplicate key \"%s\"", key);
        *seen = true;
        if ((rc = jr_levels(r, f, key, is_m ? model->m[f] : model->u[f])))
            return rc;
    } while (jr_accept(r, ','));
    return jr_expect(r, '}', "',' or '}'");
}

static int jr_fields(json_reader *r, uf_fs_model *model)
{
    int rc = jr_expect(r, '{', "'{'");
    if (rc)
        return rc;
    bool seen[UF_CMP_FIELD_COUNT] = {false};
    if (jr_accept(r, '}'))
        return UF_OK;
    do {
        char key[JR_KEY_MAX];
        if ((rc = jr_string(r, key)) || (rc = jr_expect(r, ':', "':'")))
            return rc;
        int f = 0;
        while (f < UF_CMP_FIELD_COUNT && strcmp(key, uf_cmp_field_name((uf_cmp_field)f)) != 0)
            f++;
        if (f == UF_CMP_FIELD_COUNT)
            return jr_fail(r, "unknown field \"%s\"", key);
        if (seen[f])
            return jr_fail(r, "duplicate field \"%s\"", key);
        seen[f] = true;
        if ((rc = jr_field(r, model, f)))
            return rc;
    } while (jr_accept(r, ','));
    return jr_expect(r, '}', "',' or '}'");
}

int uf_fs_model_from_json(uf_fs_model *model, const char *text, size_t len, const char *origin,
                          uf_error *err)
{
    json_reader r = {text, text + len, 1, origin ? origin : "model", err};
    uf_fs_model tmp;
    uf_fs_model_init(&tmp);

    enum { K_FORMAT, K_LAMBDA, K_U_PAIRS, K_EM_PAIRS, K_EM_ITERATIONS, K_EM_CONVERGED, K_FIELDS, K_COUNT };
    static const char *const keys[K_COUNT] = {"format",        "lambda",       "u_pairs", "em_pairs",
                                              "em_iterations", "em_converged", "fields"};
    bool seen[K_COUNT] = {false};

    int rc = jr_expect(&r, '{', "'{' (a JSON object)");
    if (rc)
        return rc;
    if (!jr_accept(&r, '}')) {
        do {
            char key[JR_KEY_MAX];
            if ((rc = jr_string(&r, key)) || (rc = jr_expect(&r, ':', "':'")))
                return rc;
            int k = 0;
            while (k < K_COUNT && strcmp(key, keys[k]) != 0)
                k++;
            if (k == K_COUNT)
                return jr_fail(&r, "unknown key \"%s\"", key);
            if (seen[k])
                return jr_fail(&r, "duplicate key \"%s\"", key);
            seen[k] = true;
            switch (k) {
            case K_FORMAT: {
                double v;
                if ((rc = jr_double(&r, &v)))
                    return rc;
                if (v != 1)
                    return jr_fail(&r, "unsupported format %.17g (this version reads format 1)", v);
                break;
            }
            case K_LAMBDA:
                if ((rc = jr_probability(&r, "lambda", &tmp.lambda)))
                    return rc;
                break;
            case K_U_PAIRS: rc = jr_count(&r, key, &tmp.u_pairs); break;
            case K_EM_PAIRS: rc = jr_count(&r, key, &tmp.em_pairs); break;
            case K_EM_ITERATIONS: {
                uint64_t v = 0;
                if ((rc = jr_count(&r, key, &v)))
                    return rc;
                if (v > INT32_MAX)
                    return jr_fail(&r, "\"em_iterations\" is too large");
                tmp.em_iterations = (int)v;
                break;
            }
            case K_EM_CONVERGED: rc = jr_bool(&r, &tmp.em_converged); break;
            case K_FIELDS: rc = jr_fields(&r, &tmp); break;
            }
            if (rc)
                return rc;
        } while (jr_accept(&r, ','));
        if ((rc = jr_expect(&r, '}', "',' or '}'")))
            return rc;
    }
    jr_space(&r);
    if (r.p != r.end)
        return jr_fail(&r, "unexpected text after the model object");
    *model = tmp;
    uf_error_clear(err);
    return UF_OK;
}
