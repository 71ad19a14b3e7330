/*
 * run_links.h — the store's answer to "why are these records one profile?":
 * the links value (store.h, database "links") of every profile of two or
 * more records, written by the run and read by `explain`.
 *
 * The linker keeps, for every union it accepted, the two records whose
 * evidence joined their clusters (link.h, uf_link_edge): a spanning tree of
 * each profile, members - 1 links. The value spells that tree out so that
 * it reads without the run's memory:
 *
 *   u8      format (UF_LINKS_FORMAT_LISTED = 1)
 *   varint  member count, then per member (in record order — the order of
 *           the profile's "records"): string source name, string record key
 *   varint  link count, then per link, in the order the run made them:
 *           varint member a, varint member b, u8 rule (uf_link_rule), then
 *             identifier rules: string kind name, string normalized value
 *             scored:           u32 LE weight (IEEE float bits), u8 n,
 *                               n comparison levels (compare.h field order)
 * varint = unsigned LEB128; string = varint length + bytes.
 *
 * Format 2 (UF_LINKS_FORMAT), what a run writes for every profile that lists
 * all its records (at most UF_PROFILE_MAX_RECORDS): the same without the
 * member names, which the profile beside it holds in the same order, and
 * with kinds as indices into the generation's schema (meta "schema", the
 * profiles' names):
 *
 *   u8      format (2)
 *   varint  member count: the profile's records, in its order
 *   varint  link count, then per link: varint a, varint b, u8 rule, then
 *             identifier rules: varint kind (schema index), string value
 *             scored:           as format 1
 *
 * Names rather than run indices, so the value reads after the configuration
 * changes: format 1 spells them, format 2 takes them from the profile and
 * the schema written in the same transaction. uf_links_expand turns a
 * format 2 value back into format 1 with those two; uf_links_decode reads
 * format 1. Cost at 1 M customers: format 1 took 115 MB of a 550 MB store
 * (about 17 bytes per member and 29 per link); format 2 leaves out the
 * members and the kind names.
 */
#ifndef UF_RUN_LINKS_H
#define UF_RUN_LINKS_H

#include "fs_model.h"
#include "profile_codec.h"
#include "config.h"
#include "json_out.h"
#include "link.h"
#include "records.h"

#define UF_LINKS_FORMAT_LISTED 1 /* members spelled out (profiles that list only some records) */
#define UF_LINKS_FORMAT 2        /* members and kind names from the profile and the schema */

/*
 * Reorder cl->edges so that the links of each cluster are together, in
 * their original order: cluster c's are edges[(*edge_start)[c] ..
 * (*edge_start)[c + 1]) (*edge_start has cluster_count + 1 entries, owned
 * by the caller). Needs cl->cluster_of. UF_OK or UF_ERR_NOMEM.
 */
int uf_links_group(uf_clustering *cl, uint32_t **edge_start, uf_error *err);

/*
 * Encode cluster c's links value into *out (appended). The identifier value
 * of an identifier link is found in record a's blob (the value whose key is
 * the link's key).
 */
void uf_links_encode(const uf_config *config, const uf_record_table *table, const uf_clustering *cl,
                     const uint32_t *edge_start, uint32_t c, uf_buf *out);

typedef struct uf_links_member {
    uf_slice source, key;
} uf_links_member;

typedef struct uf_links_link {
    uint32_t a, b;        /* member indices */
    int rule;             /* uf_link_rule */
    uf_slice kind, value; /* identifier rules */
    float weight;         /* scored */
    uf_cmp_vector vector; /* scored: levels (UF_CMP_MISSING for fields the value lacks) */
} uf_links_link;

/* A decoded value; slices point into the value's bytes, which must outlive it. */
typedef struct uf_links_view {
    uf_links_member *members;
    size_t member_count;
    uf_links_link *links;
    size_t link_count;
} uf_links_view;

/*
 * A links value as format 1, appended to *out: format 1 is copied, format 2
 * gets its members from `profile` (the binary profile of the same golden id,
 * same snapshot) and its kind names from `schema` (that snapshot's).
 * UF_ERR_STORE when the bytes are malformed or do not fit the profile (its
 * record count differs), UF_ERR_NOMEM.
 */
int uf_links_expand(const void *data, size_t len, const uf_profile_schema *schema, const void *profile,
                    size_t profile_len, uf_buf *out, uf_error *err);

/* Decode format 1; UF_ERR_STORE for malformed bytes (never reads outside them), UF_ERR_NOMEM. */
int uf_links_decode(const void *data, size_t len, uf_links_view *out, uf_error *err);
void uf_links_view_free(uf_links_view *v);

#endif /* UF_RUN_LINKS_H */
