/*
 * test_fs_model.c — the Fellegi–Sunter model: u and EM estimation recover
 * known parameters from vectors simulated with a seeded PRNG, weights and
 * probabilities are consistent and never overflow, term-frequency
 * adjustments have the right sign and clamp, and the JSON form round-trips
 * exactly and reports errors with origin:line.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fs_model.h"

/* ------------------------------------------------------------------ */
/* Simulation                                                          */
/* ------------------------------------------------------------------ */

/* The truth the estimators must recover. */
static const double true_lambda = 0.2;
static const double true_m[UF_CMP_FIELD_COUNT][UF_CMP_MAX_LEVELS] = {
    {0.05, 0.03, 0.07, 0.05, 0.80}, /* first name */
    {0.05, 0.05, 0.10, 0.80},       /* last name */
    {0.05, 0.07, 0.03, 0.85},       /* dob */
    {0.10, 0.05, 0.85},             /* postcode */
    {0.15, 0.10, 0.75},             /* address */
    {0.05, 0.05, 0.90},             /* city */
    {0.30, 0.05, 0.65},             /* phone */
    {0.30, 0.10, 0.60},             /* email */
    {0.20, 0.80},                   /* other identifiers */
};
static const double true_u[UF_CMP_FIELD_COUNT][UF_CMP_MAX_LEVELS] = {
    {0.90, 0.05, 0.03, 0.01, 0.01},
    {0.93, 0.04, 0.02, 0.01},
    {0.97, 0.025, 0.001, 0.004},
    {0.90, 0.05, 0.05},
    {0.97, 0.02, 0.01},
    {0.70, 0.05, 0.25},
    {0.99, 0.005, 0.005},
    {0.995, 0.004, 0.001},
    {0.999, 0.001},
};
/* Share of pairs where the field is missing on one side. */
static const double missing_rate[UF_CMP_FIELD_COUNT] = {0, 0, 0.05, 0.1, 0.2, 0.1, 0.4, 0.5, 0.6};

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_uniform(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static int draw_level(rng *r, const double *probabilities, int levels)
{
    double x = rng_uniform(r), acc = 0;
    for (int l = 0; l < levels - 1; l++) {
        acc += probabilities[l];
        if (x < acc)
            return l;
    }
    return levels - 1;
}

/* Four bits per level (15 = missing): a vector packs into 64 bits. */
static uint64_t vector_key(const uf_cmp_vector *v)
{
    uint64_t k = 0;
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++)
        k = k << 4 | (v->level[f] == UF_CMP_MISSING ? 15u : v->level[f]);
    return k;
}

static int compare_keys(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct patterns {
    uf_cmp_vector *vectors;
    uint64_t *counts;
    size_t count;
} patterns;

/* `pairs` simulated vectors (a share `lambda` of matches), aggregated into sorted distinct patterns. */
static patterns simulate(uint64_t seed, size_t pairs, double lambda)
{
    rng r = {seed};
    uint64_t *keys = malloc(pairs * sizeof *keys);
    cr_assert_not_null(keys);
    for (size_t i = 0; i < pairs; i++) {
        bool match = rng_uniform(&r) < lambda;
        uf_cmp_vector v;
        for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
            int levels = uf_cmp_level_count((uf_cmp_field)f);
            if (rng_uniform(&r) < missing_rate[f])
                v.level[f] = UF_CMP_MISSING;
            else
                v.level[f] = (uint8_t)draw_level(&r, match ? true_m[f] : true_u[f], levels);
        }
        keys[i] = vector_key(&v);
    }
    qsort(keys, pairs, sizeof *keys, compare_keys);

    patterns p = {malloc(pairs * sizeof *p.vectors), malloc(pairs * sizeof *p.counts), 0};
    cr_assert(p.vectors && p.counts);
    for (size_t i = 0; i < pairs;) {
        size_t j = i;
        while (j < pairs && keys[j] == keys[i])
            j++;
        for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
            unsigned level = (unsigned)(keys[i] >> (4 * (UF_CMP_FIELD_COUNT - 1 - f))) & 15u;
            p.vectors[p.count].level[f] = (uint8_t)(level == 15 ? UF_CMP_MISSING : level);
        }
        p.counts[p.count++] = j - i;
        i = j;
    }
    free(keys);
    return p;
}

static void patterns_free(patterns *p)
{
    free(p->vectors);
    free(p->counts);
}

/* A model estimated from simulated data the way a run does it. */
static uf_fs_model estimated_model(void)
{
    uf_fs_model model;
    uf_fs_model_init(&model);
    patterns random_pairs = simulate(42, 300000, 0.0);
    uf_fs_estimate_u(&model, random_pairs.vectors, random_pairs.counts, random_pairs.count);
    patterns candidates = simulate(7, 200000, true_lambda);
    uf_fs_em(&model, candidates.vectors, candidates.counts, candidates.count, 500, 1e-7);
    patterns_free(&random_pairs);
    patterns_free(&candidates);
    return model;
}

/* ------------------------------------------------------------------ */
/* Estimation                                                          */
/* ------------------------------------------------------------------ */

Test(fs_model, start_values_are_distributions_rising_and_falling)
{
    uf_fs_model model;
    uf_fs_model_init(&model);
    cr_expect(model.lambda > 0 && model.lambda < 1);
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
        int levels = uf_cmp_level_count((uf_cmp_field)f);
        double msum = 0, usum = 0;
        for (int l = 0; l < levels; l++) {
            msum += model.m[f][l];
            usum += model.u[f][l];
            if (l > 0) {
                cr_expect(model.m[f][l] > model.m[f][l - 1]);
                cr_expect(model.u[f][l] < model.u[f][l - 1]);
            }
        }
        cr_expect(fabs(msum - 1) < 1e-9 && fabs(usum - 1) < 1e-9);
        /* Higher level, more weight. */
        for (int l = 1; l < levels; l++)
            cr_expect(uf_fs_level_weight(&model, (uf_cmp_field)f, l) > uf_fs_level_weight(&model, (uf_cmp_field)f, l - 1));
    }
}

Test(fs_model, u_is_the_level_frequency_among_non_missing)
{
    uf_fs_model model;
    uf_fs_model_init(&model);
    patterns p = simulate(1, 300000, 0.0);
    uf_fs_estimate_u(&model, p.vectors, p.counts, p.count);
    cr_expect_eq(model.u_pairs, 300000u);
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++)
        for (int l = 0; l < uf_cmp_level_count((uf_cmp_field)f); l++)
            cr_expect(fabs(model.u[f][l] - true_u[f][l]) < 0.005, "u[%s][%d] = %.4f, true %.4f",
                      uf_cmp_field_name((uf_cmp_field)f), l, model.u[f][l], true_u[f][l]);
    patterns_free(&p);
}

Test(fs_model, u_of_a_field_never_compared_keeps_its_start_values)
{
    uf_fs_model model, start;
    uf_fs_model_init(&model);
    start = model;
    uf_cmp_vector v;
    memset(v.level, UF_CMP_MISSING, sizeof v.level);
    v.level[UF_CMP_LAST_NAME] = UF_LAST_EXACT;
    uint64_t count = 10;
    uf_fs_estimate_u(&model, &v, &count, 1);
    cr_expect(memcmp(model.u[UF_CMP_EMAIL], start.u[UF_CMP_EMAIL], sizeof start.u[0]) == 0);
    /* Pseudo-counts: an unseen level is unlikely, not impossible. */
    cr_expect(model.u[UF_CMP_LAST_NAME][UF_LAST_ELSE] > 0);
    cr_expect(model.u[UF_CMP_LAST_NAME][UF_LAST_EXACT] > 0.9);
}

Test(fs_model, em_recovers_m_and_lambda)
{
    uf_fs_model model = estimated_model();
    cr_expect(model.em_converged, "EM did not converge in %d iterations", model.em_iterations);
    cr_expect_eq(model.em_pairs, 200000u);
    cr_expect(fabs(model.lambda - true_lambda) < 0.02, "lambda %.4f, true %.4f", model.lambda, true_lambda);
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++)
        for (int l = 0; l < uf_cmp_level_count((uf_cmp_field)f); l++)
            cr_expect(fabs(model.m[f][l] - true_m[f][l]) < 0.02, "m[%s][%d] = %.4f, true %.4f",
                      uf_cmp_field_name((uf_cmp_field)f), l, model.m[f][l], true_m[f][l]);
}

Test(fs_model, em_is_deterministic_and_counts_iterations)
{
    patterns p = simulate(3, 50000, 0.3);
    uf_fs_model a, b;
    uf_fs_model_init(&a);
    uf_fs_model_init(&b);
    uf_fs_em(&a, p.vectors, p.counts, p.count, 300, 1e-6);
    uf_fs_em(&b, p.vectors, p.counts, p.count, 300, 1e-6);
    cr_expect(memcmp(&a, &b, sizeof a) == 0);
    cr_expect(a.em_iterations >= 1 && a.em_iterations <= 300);

    uf_fs_model c;
    uf_fs_model_init(&c);
    uf_fs_em(&c, p.vectors, p.counts, p.count, 1, 1e-6);
    cr_expect_eq(c.em_iterations, 1);
    cr_expect(!c.em_converged);
    patterns_free(&p);
}

Test(fs_model, em_keeps_probabilities_clamped)
{
    /* Every pair agrees exactly on the first name: m and u of the other levels hit the floor. */
    uf_fs_model model;
    uf_fs_model_init(&model);
    uf_cmp_vector v[2];
    memset(v, UF_CMP_MISSING, sizeof v);
    v[0].level[UF_CMP_FIRST_NAME] = UF_FIRST_EXACT;
    v[1].level[UF_CMP_FIRST_NAME] = 250; /* not a level: read as missing */
    uint64_t counts[2] = {1000000000ull, 5};
    uf_fs_estimate_u(&model, v, counts, 2);
    uf_fs_em(&model, v, counts, 2, 50, 1e-9);
    for (int l = 0; l < UF_FIRST_LEVELS; l++) {
        cr_expect(model.m[UF_CMP_FIRST_NAME][l] >= UF_FS_MIN_PROBABILITY);
        cr_expect(model.m[UF_CMP_FIRST_NAME][l] <= 1 - UF_FS_MIN_PROBABILITY);
        cr_expect(model.u[UF_CMP_FIRST_NAME][l] >= UF_FS_MIN_PROBABILITY);
        cr_expect(isfinite(uf_fs_level_weight(&model, UF_CMP_FIRST_NAME, l)));
    }
    cr_expect(model.lambda >= UF_FS_MIN_PROBABILITY && model.lambda <= 1 - UF_FS_MIN_PROBABILITY);
}

/* ------------------------------------------------------------------ */
/* Weights                                                             */
/* ------------------------------------------------------------------ */

Test(fs_model, vector_weight_is_prior_plus_levels)
{
    uf_fs_model model = estimated_model();
    uf_cmp_vector v;
    memset(v.level, UF_CMP_MISSING, sizeof v.level);
    cr_expect_eq(uf_fs_vector_weight(&model, &v), uf_fs_prior_weight(&model));
    cr_expect_eq(uf_fs_level_weight(&model, UF_CMP_PHONE, UF_CMP_MISSING), 0.0);
    cr_expect(fabs(uf_fs_prior_weight(&model) - log2(model.lambda / (1 - model.lambda))) < 1e-12);

    v.level[UF_CMP_FIRST_NAME] = UF_FIRST_EXACT;
    v.level[UF_CMP_DOB] = UF_DOB_ELSE;
    double expected = uf_fs_prior_weight(&model) + log2(model.m[0][UF_FIRST_EXACT] / model.u[0][UF_FIRST_EXACT]) +
                      log2(model.m[UF_CMP_DOB][UF_DOB_ELSE] / model.u[UF_CMP_DOB][UF_DOB_ELSE]);
    cr_expect(fabs(uf_fs_vector_weight(&model, &v) - expected) < 1e-9);
    cr_expect(uf_fs_level_weight(&model, UF_CMP_FIRST_NAME, UF_FIRST_EXACT) > 0);
    cr_expect(uf_fs_level_weight(&model, UF_CMP_DOB, UF_DOB_ELSE) < 0);
}

Test(fs_model, probability_and_weight_round_trip)
{
    static const double ps[] = {1e-12, 1e-6, 0.001, 0.2, 0.5, 0.9, 0.999, 0.999999, 1 - 1e-12};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double w = uf_fs_weight_of_probability(ps[i]);
        double p = uf_fs_probability(w);
        cr_expect(fabs(p - ps[i]) <= 1e-9 * fmin(ps[i], 1 - ps[i]) + 1e-15, "p %.17g -> w %.17g -> p %.17g",
                  ps[i], w, p);
    }
    cr_expect_eq(uf_fs_probability(0), 0.5);
    cr_expect_eq(uf_fs_weight_of_probability(0.5), 0.0);
    cr_expect(fabs(uf_fs_weight_of_probability(0.8) - 2.0) < 1e-12); /* 0.8 / 0.2 = 4 = 2^2 */

    /* Extreme weights neither overflow nor give NaN. */
    double hi = uf_fs_probability(2000), lo = uf_fs_probability(-2000);
    cr_expect_eq(hi, 1.0);
    cr_expect(lo >= 0 && lo < 1e-300, "p(-2000) = %g", lo);
    cr_expect(!isnan(uf_fs_probability(1e308)) && !isnan(uf_fs_probability(-1e308)));
    cr_expect_eq(uf_fs_probability(INFINITY), 1.0);
    cr_expect_eq(uf_fs_probability(-INFINITY), 0.0);
    /* Monotone. */
    for (double w = -60; w < 60; w += 0.5)
        cr_expect(uf_fs_probability(w + 0.5) >= uf_fs_probability(w));
}

Test(fs_model, tf_adjustment_sign_and_clamping)
{
    uf_fs_model model;
    uf_fs_model_init(&model);
    model.u[UF_CMP_LAST_NAME][UF_LAST_EXACT] = 0.01;
    double rare = uf_fs_tf_adjustment(&model, UF_CMP_LAST_NAME, 0.0001);
    double common = uf_fs_tf_adjustment(&model, UF_CMP_LAST_NAME, 0.05);
    cr_expect(fabs(rare - log2(100)) < 1e-12, "rare %.6f", rare);
    cr_expect(fabs(common - log2(0.2)) < 1e-12, "common %.6f", common);
    cr_expect(rare > 0 && common < 0);
    cr_expect_eq(uf_fs_tf_adjustment(&model, UF_CMP_LAST_NAME, 0.01), 0.0);
    cr_expect_eq(uf_fs_tf_adjustment(&model, UF_CMP_LAST_NAME, 1e-9), 8.0);
    model.u[UF_CMP_LAST_NAME][UF_LAST_EXACT] = 0.001;
    cr_expect_eq(uf_fs_tf_adjustment(&model, UF_CMP_LAST_NAME, 1.0), -8.0);
    cr_expect_eq(uf_fs_tf_adjustment(&model, UF_CMP_LAST_NAME, 0.0), 0.0);
    cr_expect_eq(uf_fs_tf_adjustment(&model, UF_CMP_LAST_NAME, -0.5), 0.0);
    cr_expect_eq(uf_fs_tf_adjustment(&model, UF_CMP_LAST_NAME, NAN), 0.0);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

static char *model_json(const uf_fs_model *model)
{
    size_t need = uf_fs_model_to_json(model, NULL, 0);
    char *buf = malloc(need + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(uf_fs_model_to_json(model, buf, need + 1), need);
    cr_assert_eq(strlen(buf), need);
    return buf;
}

Test(fs_model, json_round_trip_scores_the_same)
{
    uf_fs_model model = estimated_model();
    char *json = model_json(&model);

    uf_fs_model back;
    uf_error err;
    int rc = uf_fs_model_from_json(&back, json, strlen(json), "params.json", &err);
    cr_assert_eq(rc, UF_OK, "%s", err.message);
    cr_expect_eq(back.lambda, model.lambda);
    cr_expect_eq(back.u_pairs, model.u_pairs);
    cr_expect_eq(back.em_pairs, model.em_pairs);
    cr_expect_eq(back.em_iterations, model.em_iterations);
    cr_expect_eq(back.em_converged, model.em_converged);
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++)
        for (int l = 0; l < uf_cmp_level_count((uf_cmp_field)f); l++) {
            cr_expect_eq(back.m[f][l], model.m[f][l]);
            cr_expect_eq(back.u[f][l], model.u[f][l]);
        }
    /* Identical weights for every vector the data has. */
    patterns p = simulate(11, 20000, 0.5);
    for (size_t i = 0; i < p.count; i++)
        cr_assert_eq(uf_fs_vector_weight(&back, &p.vectors[i]), uf_fs_vector_weight(&model, &p.vectors[i]));
    patterns_free(&p);

    /* Written again: the same text. */
    char *again = model_json(&back);
    cr_expect_str_eq(again, json);

    /* snprintf contract: a short buffer is cut and NUL-terminated, the return value the full size. */
    char small[16];
    memset(small, 'x', sizeof small);
    cr_expect_eq(uf_fs_model_to_json(&model, small, sizeof small), strlen(json));
    cr_expect_eq(small[15], '\0');
    cr_expect(strncmp(small, json, 15) == 0);
    free(json);
    free(again);
}

Test(fs_model, json_by_hand_keeps_start_values_of_fields_left_out)
{
    const char *text = "{\n"
                       "  \"lambda\": 0.05,\n"
                       "  \"fields\": {\n"
                       "    \"dob\": {\"m\": [0.01, 0.04, 0.05, 0.9]}\n"
                       "  }\n"
                       "}\n";
    uf_fs_model model, start;
    uf_fs_model_init(&start);
    uf_error err;
    cr_assert_eq(uf_fs_model_from_json(&model, text, strlen(text), "params.json", &err), UF_OK, "%s",
                 err.message);
    cr_expect_eq(model.lambda, 0.05);
    cr_expect_eq(model.m[UF_CMP_DOB][3], 0.9);
    cr_expect(memcmp(model.u[UF_CMP_DOB], start.u[UF_CMP_DOB], sizeof start.u[0]) == 0);
    cr_expect(memcmp(model.m[UF_CMP_EMAIL], start.m[UF_CMP_EMAIL], sizeof start.m[0]) == 0);
    cr_expect_eq(model.u_pairs, 0u);
}

typedef struct json_error_case {
    const char *text;
    const char *message; /* the error message must start with this */
} json_error_case;

static const json_error_case json_errors[] = {
    {"{\n\"lambda\": 0.x\n}", "params.json:2: bad number"},
    {"{\n\"lambda\": .5\n}", "params.json:2: expected a number"},
    {"{\"lambda\": 0.1,\n\"fields\": {\n\"first_nam\": {}\n}}", "params.json:3: unknown field \"first_nam\""},
    {"{\"fields\": {\n\"city\": {\n\"m\": [0.1, 0.2, 0.3, 0.4]}}}", "params.json:3: city.m has 4 levels, expected 3"},
    {"{\"fields\": {\"city\": {\"u\": []}}}", "params.json:1: city.u has 0 levels, expected 3"},
    {"{\n\n\n\"fields\": {\"phone\": {\"m\": [0, 0.5, 0.5]}}}", "params.json:4: phone.m[0] 0 is not a probability"},
    {"{\"fields\": {\"phone\": {\n\"u\": [0.5, 1.5, 0.5]}}}", "params.json:2: phone.u[1] 1.5 is not a probability"},
    {"{\"lambda\": 1}", "params.json:1: lambda 1 is not a probability"},
    {"{\"lambda\": -0.1}", "params.json:1: lambda -0.10000000000000001 is not a probability"},
    {"{\"lamda\": 0.1}", "params.json:1: unknown key \"lamda\""},
    {"{\"format\": 2}", "params.json:1: unsupported format 2"},
    {"{\"lambda\": 0.1,\n\"lambda\": 0.2}", "params.json:2: duplicate key \"lambda\""},
    {"{\"em_converged\": yes}", "params.json:1: expected true or false"},
    {"{\"u_pairs\": 1.5}", "params.json:1: \"u_pairs\" must be a whole number"},
    {"{\"fields\": {\"city\": {\"x\": []}}}", "params.json:1: unknown key \"x\" in field \"city\""},
    {"{\"lambda\": 0.1\n\n", "params.json:3: expected ',' or '}', found end of text"},
    {"{\"lambda\": 0.1} x", "params.json:1: unexpected text after the model object"},
    {"not json", "params.json:1: expected '{' (a JSON object)"},
    {"", "params.json:1: expected '{' (a JSON object)"},
    {"{\"lambda\" 0.1}", "params.json:1: expected ':'"},
    {"{\"lambda\": 0.1,}", "params.json:1: expected a string"},
    {"{\"lam\nbda\": 0.1}", "params.json:1: control character in a string"},
};

Test(fs_model, json_errors_name_origin_and_line)
{
    for (size_t i = 0; i < sizeof json_errors / sizeof json_errors[0]; i++) {
        const json_error_case *c = &json_errors[i];
        uf_fs_model model;
        uf_fs_model_init(&model);
        model.lambda = 0.123;
        uf_error err;
        uf_error_clear(&err);
        int rc = uf_fs_model_from_json(&model, c->text, strlen(c->text), "params.json", &err);
        cr_expect_eq(rc, UF_ERR_FORMAT, "case %zu: rc %d for %s", i, rc, c->text);
        cr_expect_eq(err.code, UF_ERR_FORMAT);
        cr_expect(strncmp(err.message, c->message, strlen(c->message)) == 0, "case %zu: message \"%s\", expected \"%s...\"",
                  i, err.message, c->message);
        cr_expect_eq(model.lambda, 0.123, "case %zu: the model changed on an error", i);
    }
}

Test(fs_model, json_is_read_only_within_its_length)
{
    /* Valid text followed by bytes outside the given length. */
    uf_fs_model model;
    uf_fs_model_init(&model);
    const char *text = "{\"lambda\": 0.25}garbage";
    uf_error err;
    cr_expect_eq(uf_fs_model_from_json(&model, text, 16, "x", &err), UF_OK, "%s", err.message);
    cr_expect_eq(model.lambda, 0.25);
    /* A number cut by the length is still read strictly. */
    cr_expect_eq(uf_fs_model_from_json(&model, "{\"lambda\": 0.", 13, "x", &err), UF_ERR_FORMAT);
}
