/*
 * match.h — scored matching: records that share no identifier are linked on
 * the evidence of their attributes (Fellegi–Sunter, fs_model.h), inside the
 * same run and through the same guarded union as identifier links.
 *
 * The steps, after the linker has linked the shared identifiers:
 *  1. features: per record, where its first and last name, postcode,
 *     address, city, phone and e-mail sit in its blob, and its dob.
 *  2. blocking: for every rule (config matching.blocking, OR-ed) a 64-bit
 *     key per record that has every part of the rule; records sorted by key;
 *     every pair inside a block is a candidate. A block larger than
 *     max_block_size is compared in a sliding window of that size over the
 *     block sorted by full name (so the capped block still meets its most
 *     likely duplicates) and counted as capped, with the pairs it skipped; a
 *     block above 8 × max_block_size is a value too common to mean anything
 *     (a shop's phone number, a placeholder postcode) and is skipped whole:
 *     memory and time stay linear, nothing explodes silently. Pairs already
 *     in one cluster are dropped on the spot (the identifiers said it);
 *     the rest are deduplicated across rules by sorting.
 *  3. comparison vectors (compare.h) for every candidate pair, on the
 *     configured threads.
 *  4. the model: u from random record pairs, then m and lambda by EM over
 *     the candidate pairs' distinct vectors — or read from
 *     matching.parameters, which fixes them.
 *  5. weights: the vector's weight plus term-frequency adjustments for exact
 *     first and last names (a rare surname is stronger evidence than a
 *     common one); pairs at or above the threshold probability are tried in
 *     order of falling weight (ties by record ids) through
 *     uf_linker_try_union(UF_RULE_SCORED). The edge keeps the weight and the
 *     comparison vector (in the key: uf_match_vector_key).
 *
 * Determinism: keys, sorts, the random pairs (a fixed-seed generator) and
 * the link order depend only on the records, so the same input gives the
 * same links whatever the thread count.
 *
 * Memory (per record, freed before the call returns): features 48 bytes
 * (match_internal.h), cluster roots 4, name frequencies 8; per blocking pass
 * 32 bytes per blocked record; per candidate pair 8 bytes (16 while
 * deduplicating) plus 9 for its vector; the random pairs for u 9 bytes each
 * plus 16 while counting them (u_sample_pairs; 400 000 by default).
 */
#ifndef UF_MATCH_H
#define UF_MATCH_H

#include "config.h"
#include "fs_model.h"
#include "link.h"
#include "records.h"

/* Match-probability bands of the scored links in the report. */
#define UF_MATCH_BANDS 4
/* Lower bounds of the bands: [threshold, 0.999), [0.999, 0.9999), [0.9999, 0.99999), [0.99999, 1]. */
extern const double uf_match_band_floor[UF_MATCH_BANDS];

typedef struct uf_match_stats {
    uint64_t blocked_records[UF_MAX_BLOCK_RULES]; /* records holding every part of the rule */
    uint64_t blocks[UF_MAX_BLOCK_RULES];          /* blocks of two or more records */
    uint64_t largest_block[UF_MAX_BLOCK_RULES];
    uint64_t capped_blocks[UF_MAX_BLOCK_RULES];   /* blocks above max_block_size */
    uint64_t capped_pairs[UF_MAX_BLOCK_RULES];    /* pairs the cap left out */
    uint64_t rule_pairs[UF_MAX_BLOCK_RULES];      /* pairs the rule produced (not yet together) */
    uint64_t together_pairs;  /* blocked pairs the identifiers had already joined */
    uint64_t candidate_pairs; /* distinct pairs compared */
    uint64_t patterns;        /* distinct comparison vectors among them */
    uint64_t above_threshold; /* candidate pairs at or above the threshold */
    uint64_t links_by_band[UF_MATCH_BANDS];
    uint64_t refused_disagree; /* above the threshold, but names (or dob) disagree (guards.weak_link_requires) */
    uint64_t refused;         /* above the threshold but refused by the linker's profile limit */
    uint64_t already_linked;  /* above the threshold, already together by an earlier scored link */
    bool model_from_file;     /* the parameters came from matching.parameters */
    double seconds_blocking, seconds_comparing, seconds_training, seconds_linking;
} uf_match_stats;

/*
 * Run scored matching on `linker` after uf_linker_link_identifiers (steps
 * above). `table->cmp` must still be present. *model receives the model used
 * (trained or read). Returns UF_OK, UF_ERR_NOMEM, UF_ERR_IO / UF_ERR_FORMAT
 * for a parameters file that cannot be read, UF_ERR_INVALID when the linker
 * has already failed or finished, or the linker's error.
 */
int uf_match_run(const uf_config *config, const uf_record_table *table, uf_linker *linker, int threads,
                 uf_fs_model *model, uf_match_stats *stats, uf_error *err);

/* The comparison vector of a scored edge, packed into / read from its key. */
uf_key uf_match_vector_key(const uf_cmp_vector *v);
uf_cmp_vector uf_match_key_vector(uf_key key);

/*
 * The compared values of one record, read from its blob (slices into it;
 * empty when absent). Used by the matcher and by `explain`.
 */
typedef struct uf_match_values {
    uf_slice field[UF_CMP_TEXT_FIELDS]; /* by uf_cmp_field; dob is the "YYYY-MM-DD" text */
    uint32_t dob;                       /* YYYYMMDD, 0 when missing */
    uint32_t identifiers[UF_CMP_MAX_IDENTIFIERS]; /* hashes of the first identifiers of namespace
                                                     kinds (not e-mail or phone); 0 = none */
    const char *first_canonical;        /* uf_nickname_canonical of the first name (NULL: none) */
} uf_match_values;

void uf_match_values_of(const uf_record *record, uf_match_values *out);

/* The comparison vector of two records' values. */
void uf_match_compare(const uf_match_values *a, const uf_match_values *b, uf_cmp_vector *out);

/*
 * The blocking key of `rule` for a record (its values, as
 * uf_match_values_of gives them; identifier parts are read from the blob); false when the record
 * lacks a part of the rule (it is in no block of that rule).
 */
bool uf_match_block_key(const uf_block_rule *rule, int rule_index, const uf_record *record, const uf_match_values *v,
                        uint64_t *key);

/*
 * The disagreement guard of scored links: guards.weak_link_requires, which
 * keeps a weak identifier from joining people whose names or dates of birth
 * disagree, holds for scored pairs too, judged on their values: first names
 * (unless nicknames of one another) or last names with Jaro–Winkler below
 * UF_MATCH_NAME_DISAGREE_JW, and with NAME_AND_DOB dates of birth at level
 * ELSE. A household — same surname, address, postcode and phone, other first
 * names — scores high on correlated fields; this keeps it apart. The run and
 * `explain` both ask this function.
 */
#define UF_MATCH_NAME_DISAGREE_JW 0.75
bool uf_match_disagree(const uf_match_values *a, const uf_match_values *b, const uf_cmp_vector *v,
                       uf_agreement requires);

#endif /* UF_MATCH_H */
