/*
 * fs_model.h — the Fellegi–Sunter model of scored matching: m and u
 * probabilities per field and comparison level (compare.h), their
 * estimation, and the match weight of a comparison vector.
 *
 *  - m[f][l] = P(field f compares at level l | the pair is a match)
 *  - u[f][l] = P(field f compares at level l | the pair is not a match)
 *  - lambda  = P(match) among the candidate pairs the blocking rules produce
 *
 * The weight of a pair is log2(lambda / (1 - lambda)) plus, for every field
 * that is not UF_CMP_MISSING, log2(m / u) of its level, plus any term-
 * frequency adjustments; its match probability is 2^w / (1 + 2^w).
 *
 * Estimation, as in Splink: u from comparison vectors of *random* record
 * pairs (almost all non-matches), m and lambda by expectation-maximisation
 * over the vectors of the blocked candidate pairs with u held fixed. Both
 * take aggregated *patterns* (distinct vectors with their counts), so EM
 * iterations cost the number of distinct vectors, not of pairs.
 * Probabilities are clamped to [UF_FS_MIN_PROBABILITY, 1 - that] so no
 * weight is infinite, and every level keeps a small pseudo-count so an
 * unseen level is unlikely, not impossible.
 *
 * A model is plain data: it can be written as JSON (stored with the run and
 * written to a file) and read back, so a run is reproducible and the
 * parameters can be fixed by configuration.
 */
#ifndef UF_FS_MODEL_H
#define UF_FS_MODEL_H

#include "common.h"
#include "compare.h"

#include <stdio.h>

#define UF_FS_MIN_PROBABILITY 1e-6

/* One comparison vector: a level (or UF_CMP_MISSING) per uf_cmp_field. */
typedef struct uf_cmp_vector {
    uint8_t level[UF_CMP_FIELD_COUNT];
} uf_cmp_vector;

typedef struct uf_fs_model {
    double lambda;
    double m[UF_CMP_FIELD_COUNT][UF_CMP_MAX_LEVELS];
    double u[UF_CMP_FIELD_COUNT][UF_CMP_MAX_LEVELS];
    /* How the parameters came about (reported and stored; not used for scoring). */
    uint64_t u_pairs;       /* random pairs u was estimated from (0: defaults or a file) */
    uint64_t em_pairs;      /* candidate pairs EM ran over */
    int em_iterations;      /* iterations EM ran */
    bool em_converged;      /* the largest parameter change fell below the tolerance */
} uf_fs_model;

/* Start values: lambda 0.1 and, per field, m rising and u falling with the level. */
void uf_fs_model_init(uf_fs_model *model);

/*
 * u from the vectors of random pairs: for each field, the share of each
 * level among that field's non-missing values (with pseudo-counts). A field
 * that is missing in every vector keeps its start values.
 */
void uf_fs_estimate_u(uf_fs_model *model, const uf_cmp_vector *patterns, const uint64_t *counts,
                      size_t pattern_count);

/*
 * m and lambda by EM over the candidate pairs' patterns, u fixed. Runs at
 * most max_iterations (>= 1) and stops when no parameter moved more than
 * `tolerance`. Missing levels take no part in a field's estimate. Updates
 * model->em_* fields. Deterministic: same input, same result.
 */
void uf_fs_em(uf_fs_model *model, const uf_cmp_vector *patterns, const uint64_t *counts, size_t pattern_count,
              int max_iterations, double tolerance);

/* log2(m / u) of field f at level l; 0 for UF_CMP_MISSING. */
double uf_fs_level_weight(const uf_fs_model *model, uf_cmp_field f, int level);

/* log2(lambda / (1 - lambda)): the weight of a pair before any comparison. */
double uf_fs_prior_weight(const uf_fs_model *model);

/* Prior plus the level weights of the vector (no term-frequency adjustment). */
double uf_fs_vector_weight(const uf_fs_model *model, const uf_cmp_vector *v);

/*
 * Term-frequency adjustment for an exact agreement on field f on a value
 * held by a share `tf` (0 < tf <= 1) of the records: log2(u_exact / tf),
 * clamped to [-8, 8] (a rare surname is stronger evidence than "smith").
 * 0 when tf <= 0.
 */
double uf_fs_tf_adjustment(const uf_fs_model *model, uf_cmp_field f, double tf);

/* 2^w / (1 + 2^w), computed without overflow. */
double uf_fs_probability(double weight);

/* The weight whose probability is p (0 < p < 1): log2(p / (1 - p)). */
double uf_fs_weight_of_probability(double p);

/*
 * Write the model as one JSON object:
 *   {"format":1,"lambda":..,"u_pairs":..,"em_pairs":..,"em_iterations":..,"em_converged":..,
 *    "fields":{"first_name":{"m":[..],"u":[..]},...}}
 * Numbers with 17 significant digits, so a model read back scores the same.
 * Returns the bytes written into buf (NUL-terminated), or the size needed
 * (excluding the NUL) when it is >= size — snprintf's contract.
 */
size_t uf_fs_model_to_json(const uf_fs_model *model, char *buf, size_t size);

/*
 * Read a model written by uf_fs_model_to_json (or by hand in the same shape;
 * fields left out keep their start values). `origin` names the text in
 * errors ("params.json", "store run log"). Errors (UF_ERR_FORMAT with
 * origin:line and the reason): not JSON, unknown field name, wrong number of
 * levels, a probability outside (0, 1), lambda outside (0, 1).
 */
int uf_fs_model_from_json(uf_fs_model *model, const char *text, size_t len, const char *origin,
                          uf_error *err);

#endif /* UF_FS_MODEL_H */
