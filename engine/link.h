/*
 * link.h — deterministic linking of records into clusters, with over-merge
 * guards.
 *
 * The model
 * ---------
 * A *linker* owns a union-find over the run's record ids (unionfind.h) and,
 * for every cluster of two or more records, a small *summary*: the distinct
 * first-name hashes, last-name hashes and dates of birth of its records (up
 * to UF_LINK_SUMMARY_VALUES of each, from the table's cmp array; 0 = missing) and
 * the distinct keys of every identifier kind that has a per-profile limit
 * (kinds[k].max_per_profile > 0, e.g. "at most one CRM customer number").
 * A single record's cluster needs no summary: its values are read from the
 * record itself when a guard asks.
 *
 * Every link goes through one guarded union, uf_linker_try_union(), whether
 * it comes from a shared identifier (here) or from a scored comparison (the
 * matcher, later), so the same guards hold for every kind of evidence:
 *
 *  1. Weak-link guard (rule UF_RULE_WEAK_IDENTIFIER only; config
 *     guards.weak_link_requires). A field *disagrees* when both clusters
 *     have values for it and their sets do not intersect. NAME refuses when
 *     first or last name disagree; NAME_AND_DOB also when the dob disagrees;
 *     NONE never refuses. Missing is neutral, so a weak identifier may join
 *     an anonymous app install to a person. Counted in refused_disagree[kind
 *     of the identifier].
 *  2. Per-profile limit (every rule). For each kind with max_per_profile > 0,
 *     if the two clusters together hold more distinct keys of that kind than
 *     the limit, the union is refused — unless the clusters positively
 *     *agree* (both have values and the sets intersect) on what
 *     guards.profile_limit_override names: NAME = first and last name,
 *     NAME_AND_DOB = first, last name and dob, NONE = never. This lets a
 *     duplicate CRM account of the same person merge while a shared e-mail
 *     cannot glue two customers together. A union in which one side brings
 *     no key the other lacks is never refused by the limit, so a profile
 *     that an override let exceed it can still take records without such
 *     keys. Counted once per refusal in refused_profile_limit[the lowest
 *     limited kind that would overflow].
 *
 * Scored links (UF_RULE_SCORED) face the limit guard only: the matcher has
 * compared names and dates itself, with fuzzy levels that exact hashes here
 * would wrongly call disagreement.
 *
 * Identifier linking (uf_linker_link_identifiers):
 *  - the table's identifier refs are sorted by (key, record) and duplicate
 *    (key, record) refs collapsed; a run of equal keys is a *group*: the
 *    records sharing one identifier. The group's kind is its first ref's.
 *  - junk by frequency: a group with more records than the kind's
 *    max_records (if > 0, else guards.max_records_per_identifier; <= 0 means
 *    no limit) is suppressed entirely: it links nothing, its keys count in no
 *    profile limit, and it is listed in uf_clustering.junk for the store and
 *    the report. A group of exactly the limit is kept.
 *  - phase 1, STRONG kinds, groups in key order: every record of the group
 *    is united with the group's first (lowest) record ("star").
 *  - phase 2, WEAK kinds, groups in key order: every pair (i < j) of the
 *    group is tried (groups are small: the frequency limit caps them — a
 *    weak kind without any frequency limit costs len^2 tries per group).
 *    Strong links go first so clusters already carry the names and dates the
 *    weak-link guard judges. Trying all pairs (not a star) lets a weak
 *    identifier join the members that agree even when the first does not.
 *
 * Determinism: refs are sorted by a total order on all their fields, the
 * phases are sequential per connected component (components never interact,
 * so threads may take different ones; edges are merged back into the serial
 * order) and every union and tie is decided by record ids (unionfind.h), so
 * the same records and refs give the same clusters, edges and stats
 * whatever their input order or the thread count. Summary value
 * sets are capped at UF_LINK_SUMMARY_VALUES each; past the cap a cluster
 * keeps its first values in union order (deterministic), which can only make
 * a guard stricter, never looser, for such an already odd cluster.
 *
 * Explain: every accepted union of two clusters is kept as an edge (the two
 * records whose evidence joined them, the identifier or the score). The
 * edges form a spanning forest: exactly records - clusters of them.
 *
 * Memory (bytes; figures for 2.7 M records, 8 M refs, ~0.84 M live
 * summaries as measured by bench_link):
 *  - union-find {parent, size}        8 per record              22 MB
 *  - summary slot per root            4 per record              11 MB
 *  - summaries                        128 per live cluster of   ~107 MB
 *                                     >= 2 records (slots reused, 4 MB
 *                                     chunks: no doubling, no copy)
 *  - limited-key index (only when a   4 per record + 1 bit +    11 MB +
 *    kind has max_per_profile)        16 per ref of such kinds  35 MB
 *  - edges                            32 per accepted union,    53 MB
 *                                     in 2 MB chunks
 *  - the sort: in place, plus a scratch of the largest top-byte bucket per
 *    thread (~0.8 MB for uniform keys, capped at 6 MB).
 *  - parallel linking only: a component id per record (4, freed before
 *    the phases), the start of every linking group and its thread (5 per
 *    group), and an 8-byte order key per edge until the edges are merged.
 * Measured peak: ~210 MB above the records and refs (~250 MB linking on
 * two threads). The per-record arrays
 * are mapped directly, so freeing them returns the memory (bigarray.h). uf_linker_finish
 * frees the summaries and the index first; then a helper thread gathers
 * the edges into one array (freeing each chunk once copied) while the
 * clusters are numbered into cluster_of (4 per record), and members (4 per
 * record) and member_start (4 per cluster) follow. The chunks and
 * cluster_of overlap briefly; measured at 1 M customers, the run's peak
 * (in the write stage) is unchanged.
 *
 * Errors: functions returning int return UF_OK or a uf_status and fill the
 * uf_error. uf_linker_try_union returns bool for the matcher's hot loop; an
 * out-of-memory or invalid argument inside it makes the linker sticky-failed
 * (every later union refuses) and uf_linker_finish reports the error.
 * Not thread-safe: one linker is driven by one thread.
 */
#ifndef UF_LINK_H
#define UF_LINK_H

#include "common.h"
#include "config.h"
#include "records.h"

typedef enum uf_link_rule {
    UF_RULE_STRONG_IDENTIFIER = 1,
    UF_RULE_WEAK_IDENTIFIER = 2,
    UF_RULE_SCORED = 3
} uf_link_rule;

/* "strong_identifier", "weak_identifier", "scored" (reports and explain); "unknown" otherwise. */
const char *uf_link_rule_name(int rule);

/* Arrays indexed by uf_link_rule have this many slots (slot 0 unused). */
#define UF_LINK_RULE_SLOTS 4

/* The `kind` of a link that did not come from an identifier (scored). */
#define UF_LINK_NO_KIND UINT16_MAX

/* Distinct first names, last names and dobs remembered per cluster. */
#define UF_LINK_SUMMARY_VALUES 4

/*
 * An accepted union. a and b are the records whose evidence linked their
 * clusters; key and kind name the shared identifier (zero key and
 * UF_LINK_NO_KIND for scored links); weight is the match weight of a scored
 * link (0 for identifier rules).
 */
typedef struct uf_link_edge {
    uf_record_id a, b;
    uf_key key;
    uint16_t kind;
    uint8_t rule; /* uf_link_rule */
    float weight;
} uf_link_edge;

/* An identifier suppressed as junk by frequency. */
typedef struct uf_junk_identifier {
    uf_key key;
    uint32_t records; /* distinct records holding it */
    uint16_t kind;
} uf_junk_identifier;

/*
 * Counters, exact and deterministic. Arrays by kind are indexed by the
 * config's kind index; arrays by rule by uf_link_rule. Every try of a union
 * ends up in exactly one of links_by_rule, already_linked_by_rule or
 * refused_by_rule; sum over kinds of refused_disagree + refused_profile_limit
 * equals the sum of refused_by_rule.
 */
typedef struct uf_link_stats {
    uint64_t identifier_refs;      /* refs after collapsing duplicate (key, record) */
    uint64_t duplicate_refs;       /* refs collapsed */
    uint64_t distinct_identifiers; /* groups, junk included */
    uint64_t junk_keys[UF_MAX_KINDS], junk_refs[UF_MAX_KINDS];
    uint64_t links[UF_MAX_KINDS];                 /* accepted unions by identifier kind */
    uint64_t refused_disagree[UF_MAX_KINDS];      /* by identifier kind */
    uint64_t refused_profile_limit[UF_MAX_KINDS]; /* by the limited kind that overflowed */
    uint64_t links_by_rule[UF_LINK_RULE_SLOTS];
    uint64_t already_linked_by_rule[UF_LINK_RULE_SLOTS]; /* the records were already together */
    uint64_t refused_by_rule[UF_LINK_RULE_SLOTS];
} uf_link_stats;

/*
 * The result of a run's linking; every array is owned by the struct (free
 * with uf_clustering_free). Clusters are numbered 0..cluster_count-1 in the
 * order of each cluster's smallest record id; members of cluster c are
 * members[member_start[c] .. member_start[c+1]), ascending. Singletons are
 * clusters too.
 */
typedef struct uf_clustering {
    uint32_t *cluster_of;     /* per record */
    uint32_t *member_start;   /* cluster_count + 1 */
    uf_record_id *members;    /* record_count, grouped by cluster */
    size_t record_count;
    size_t cluster_count;
    uf_link_edge *edges;      /* accepted unions, in the order they were made */
    size_t edge_count;        /* == record_count - cluster_count */
    uf_junk_identifier *junk; /* suppressed identifiers, ascending by key */
    size_t junk_count;
} uf_clustering;

typedef struct uf_linker uf_linker;

/*
 * A linker over the records of `table` (every record its own cluster). The
 * config and the table's records are borrowed and must outlive the linker;
 * the table's cmp array (NULL: every record's names and dob missing) is read
 * by the guards and must outlive the linker too. Returns NULL on failure
 * (err says why: UF_ERR_NOMEM, or UF_ERR_INVALID for > 2^32-2 records or
 * more than UF_MAX_KINDS kinds).
 */
uf_linker *uf_linker_new(const uf_config *config, const uf_record_table *table, uf_error *err);

/*
 * Link the records that share identifiers (rules in the header comment).
 * Sorts table->identifiers in place with `threads` threads (<= 1: calling
 * thread only), and with two or more threads also links on that many
 * threads, each taking whole connected components of the identifier graph
 * (link.c says why that cannot change a thing: clusters, edges in their
 * order and stats are the serial loop's, byte for byte). It collapses
 * duplicate (key, record) refs, so on return the
 * refs are sorted and table->identifier_count may have shrunk. Call once,
 * before any uf_linker_try_union of other evidence (a table without refs is
 * fine). Returns UF_OK, UF_ERR_INVALID (a ref names a record outside the
 * table or a kind that is not an identifier kind — nothing is linked then —
 * or the call comes second, or after uf_linker_try_union), or UF_ERR_NOMEM.
 * The refs are not referenced after the call returns.
 */
int uf_linker_link_identifiers(uf_linker *l, uf_record_table *table, int threads, uf_error *err);

/*
 * The guarded union: link the clusters of records a and b unless a guard
 * refuses (see the header comment). `kind` is the identifier kind for
 * identifier rules, UF_LINK_NO_KIND otherwise; `key` and `weight` are kept in
 * the edge. Returns true when the records are together afterwards (linked
 * now or already), false when refused or when the linker has failed.
 */
bool uf_linker_try_union(uf_linker *l, uf_record_id a, uf_record_id b, uf_link_rule rule,
                         uint16_t kind, uf_key key, float weight);

/*
 * The cluster of every record as it stands: out[r] is the root record of
 * r's cluster (out holds the table's record count). Records a and b are
 * together exactly when out[a] == out[b] — until the next union. The scored
 * matcher reads this snapshot from several threads instead of asking the
 * (single-threaded) linker pair by pair. Returns false when the linker has
 * failed or finished.
 */
bool uf_linker_roots(uf_linker *l, uint32_t *out);

/* True when a and b are in one cluster now (b, a < record count). */
bool uf_linker_same_cluster(uf_linker *l, uf_record_id a, uf_record_id b);

/*
 * Produce the clustering into *out (owned by the caller: uf_clustering_free).
 * Consumes the linker's cluster state: afterwards only uf_linker_stats and
 * uf_linker_free may be called. Returns UF_OK, the linker's sticky error, or
 * UF_ERR_NOMEM; on failure *out is empty.
 */
int uf_linker_finish(uf_linker *l, uf_clustering *out, uf_error *err);

/* Counters so far (valid until uf_linker_free). */
const uf_link_stats *uf_linker_stats(const uf_linker *l);

/* Release the linker (NULL allowed). */
void uf_linker_free(uf_linker *l);

/* Release the clustering's arrays and empty it (NULL allowed). */
void uf_clustering_free(uf_clustering *c);

#endif /* UF_LINK_H */
