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
 *   u8      format (UF_LINKS_FORMAT = 1)
 *   varint  member count, then per member (in record order — the order of
 *           the profile's "records"): string source name, string record key
 *   varint  link count, then per link, in the order the run made them:
 *           varint member a, varint member b, u8 rule (uf_link_rule), then
 *             identifier rules: string kind name, string normalized value
 *             scored:           u32 LE weight (IEEE float bits), u8 n,
 *                               n comparison levels (compare.h field order)
 * varint = unsigned LEB128; string = varint length + bytes.
 *
 * Why names and keys rather than indices into the run: the value must stay
 * readable after the configuration changes, and explain should not need a
 * second lookup per member. Cost at 1 M customers: about 15 bytes per
 * record of a multi-record profile plus ~20 per link.
 */
#ifndef UF_RUN_LINKS_H
#define UF_RUN_LINKS_H

#include "fs_model.h"
#include "config.h"
#include "json_out.h"
#include "link.h"
#include "records.h"

#define UF_LINKS_FORMAT 1

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

/* Decode; UF_ERR_STORE for malformed bytes (never reads outside them), UF_ERR_NOMEM. */
int uf_links_decode(const void *data, size_t len, uf_links_view *out, uf_error *err);
void uf_links_view_free(uf_links_view *v);

#endif /* UF_RUN_LINKS_H */
