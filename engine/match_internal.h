/*
 * match_internal.h — what the files of scored matching share (match.c runs
 * the steps, match_values.c holds the per-record and per-pair functions).
 * Not part of the engine's interface: include match.h elsewhere.
 */
#ifndef UF_MATCH_INTERNAL_H
#define UF_MATCH_INTERNAL_H

#include "match.h"

/* 48 bytes per record: where the values sit in the blob (blobs are < 64 KiB). */
typedef struct uf_match_features {
    const char *first_canonical; /* uf_nickname_canonical of the first name, looked up once */
    uint16_t offset[UF_CMP_TEXT_FIELDS];
    uint8_t len[UF_CMP_TEXT_FIELDS];
    uint32_t dob;
    uint32_t identifiers[UF_CMP_MAX_IDENTIFIERS];
} uf_match_features;

/* The features of a record: its values' places in the blob, looked up once. */
void uf_match_features_of(const uf_record *record, uf_match_features *f);

/* The values of a record from its features (slices into its blob). */
static inline void uf_match_values_from_features(const uf_record *record, const uf_match_features *f,
                                                 uf_match_values *v)
{
    for (int i = 0; i < UF_CMP_TEXT_FIELDS; i++)
        v->field[i] = uf_slice_make((const char *)record->blob + f->offset[i], f->len[i]);
    v->dob = f->dob;
    memcpy(v->identifiers, f->identifiers, sizeof v->identifiers);
    v->first_canonical = f->first_canonical;
}

/*
 * The comparison vector of two records' values, with the nickname canonicals
 * of their first names already looked up (NULL: none).
 */
void uf_match_compare_values(const uf_match_values *a, const uf_match_values *b, const char *ca, const char *cb,
                             uf_cmp_vector *out);

/* A vector as 64 bits (four per level, 15 = missing), and back: sortable, and an edge's key. */
uint64_t uf_match_vector_bits(const uf_cmp_vector *v);
uf_cmp_vector uf_match_vector_of_bits(uint64_t x);

#endif /* UF_MATCH_INTERNAL_H */
