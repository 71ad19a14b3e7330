/*
 * survive.h — the golden record: one profile per cluster, as compact binary
 * (stored; profile_codec.h) or as JSON (what readers see).
 *
 * The model
 * ---------
 * A cluster is a set of source records (record ids into the run's record
 * table). For every attribute kind, the *candidates* are the distinct
 * NORMALIZED values its members hold ("bob@gmail.com" and
 * "Bob@GMail.com" are one candidate). Each candidate carries:
 *   - sources     the distinct sources holding it, in config source order;
 *   - count       how many member records hold it (records, not occurrences);
 *   - last_seen   the latest updated_at of those records;
 *   - priority    the best (lowest) priority among its sources;
 *   - length      its completeness: code points of the normalized value;
 *   - display     the raw spelling shown to people: the spelling held by
 *                 most records, ties -> most recent, ties -> bytewise smallest.
 *
 * The surviving value of a kind is chosen by the kind's rules
 * (config->kinds[k].survive[0..survive_count), default SOURCE_PRIORITY,
 * MOST_RECENT, MOST_FREQUENT, MOST_COMPLETE): each rule keeps only the
 * candidates that are best under it, until one is left; if several remain
 * the bytewise smallest normalized value wins, so the result never depends
 * on input order. An unknown updated_at (0) ranks below every known time.
 *
 * Kind UF_KIND_FULL_NAME does not survive on its own (the reader stores a
 * full name as first_name + last_name attributes too). Empty values are
 * ignored. Identifier kinds (is_identifier) additionally list every value
 * in "identifiers"; e-mail and phone are in both sections.
 *
 * The profile (one line, no spaces, byte-identical for identical input):
 *   {"golden_id":"G000000042",
 *    "updated_at":"2026-03-01T10:00:00Z",            latest member time; omitted if unknown
 *    "channels":["crm","pos","web"],                   member sources, config order
 *    "attributes":{"first_name":{"value":"Robert","sources":["crm","web"],"count":2,
 *        "last_seen":"...",                            the survivor's own fields, inline
 *        "alternatives":[{"value":"Bob","sources":["pos"],"count":1,"last_seen":"..."},...],
 *        "alternatives_truncated":N}, ...,             N only when over the cap
 *      "email":{"value":"Bob.Smith+shop@gmail.com"},"phone":{"value":"..."}},
 *    "identifiers":{"email":[{"value":"Bob.Smith+shop@gmail.com",
 *        "normalized":"bobsmith@gmail.com","sources":[...],"count":2,"last_seen":"..."}],...},
 *    "identifiers_truncated":{"email":N},             only when some kind is over the cap
 *    "records":[{"source":"crm","key":"C0000123","updated_at":"..."},...],
 *    "records_truncated":N,                            only when over the cap
 *    "context":{"pos":{"last_purchase":"...","updated_at":"..."},...}}
 *
 * Sections:
 *   attributes   non-identifier kinds in config order (first_name, last_name,
 *                dob, address, city, postcode, country, ...), then the built-in
 *                identifier kinds (email, phone). A kind no member holds is
 *                absent. A non-identifier kind is the surviving value's own
 *                candidate fields (value = display spelling, sources, count,
 *                last_seen), then "alternatives": the OTHER candidates only
 *                (never the survivor), count desc, last_seen desc, normalized
 *                value asc; "alternatives" is absent when the survivor is the
 *                only candidate. E-mail and phone are just {"value":...}, the
 *                survivor's display spelling: their lineage is in "identifiers".
 *   identifiers  every identifier kind in config order, values in the same order.
 *   records      every member in the order given.
 *   context      per source with context columns: the context values of its
 *                most recent member (ties -> larger record id), keyed by the
 *                source's column names, in column order, plus that record's
 *                updated_at.
 * Every last_seen / updated_at is omitted when unknown (0).
 *
 * Caps keep a giant junk cluster from producing a 100 MB value: at most
 * UF_SURVIVE_MAX_RECORDS records, UF_SURVIVE_MAX_ALTERNATIVES candidates per
 * attribute kind (the survivor included, so at most MAX - 1 alternatives) and
 * UF_SURVIVE_MAX_IDENTIFIERS identifier values per kind are written; the
 * number left out is reported next to them (alternatives_truncated =
 * candidates - UF_SURVIVE_MAX_ALTERNATIVES). Caps only cut the output: every
 * member still counts towards the choice of the surviving values.
 *
 * Threads and memory: a uf_survivor is per-thread scratch (arrays and a
 * hash table reused from cluster to cluster), so steady state does no
 * allocation. Scratch grows with the largest cluster seen, up to what about
 * 1500 records need (a few MiB); beyond that it is given back after the
 * cluster, so a giant junk cluster does not pin memory for the rest of the
 * run. A survivor borrows `config`, which must outlive it and must not
 * change meanwhile. Any number of survivors may share one config and one
 * record table (read-only).
 *
 * Cost (measured when profiles were written as JSON; the binary form, ~300 B
 * instead of ~1.65 KB, costs less): about 1.2 µs of CPU per typical profile (2.7 records, ~1.6 KB of
 * JSON) with the records in cache, ~1.7 µs when the members are scattered
 * over a 2.7 M-record table (bench/bench_survive.c).
 */
#ifndef UF_SURVIVE_H
#define UF_SURVIVE_H

#include "common.h"
#include "config.h"
#include "json_out.h"
#include "profile_codec.h"
#include "records.h"

/* The caps are part of the stored format. */
#define UF_SURVIVE_MAX_RECORDS UF_PROFILE_MAX_RECORDS
#define UF_SURVIVE_MAX_ALTERNATIVES UF_PROFILE_MAX_ALTERNATIVES
#define UF_SURVIVE_MAX_IDENTIFIERS UF_PROFILE_MAX_IDENTIFIERS

typedef struct uf_survivor uf_survivor;

/*
 * New scratch for profiles of `config` (borrowed). Returns NULL when out of
 * memory or `config` is NULL. Free with uf_survivor_free.
 */
uf_survivor *uf_survivor_new(const uf_config *config);

/* Release a survivor. NULL is allowed. */
void uf_survivor_free(uf_survivor *s);

/*
 * Append the profile JSON of one cluster to `out`.
 * `members`: the cluster's record ids (ascending, as cluster produces them;
 * any order works, but records are listed in the order given), `count` >= 1.
 * `golden_id_text`: the golden id as shown ("G000000042"), NUL-terminated.
 * Returns UF_OK; UF_ERR_INVALID for an empty cluster, a record id outside
 * `table`, or a record whose source or attribute kind is not in the config;
 * UF_ERR_NOMEM when scratch or `out` could not grow. On error `out` is left
 * as it was (its length restored) and `err` says why.
 */
int uf_survive_profile(uf_survivor *s, const uf_record_table *table,
                       const uf_record_id *members, size_t count,
                       const char *golden_id_text, uf_buf *out, uf_error *err);

/*
 * Append the profile of one cluster in the binary form of profile_codec.h
 * (what the store keeps; the golden id is not part of it). Same arguments,
 * errors and guarantees as uf_survive_profile.
 */
int uf_survive_profile_binary(uf_survivor *s, const uf_record_table *table, const uf_record_id *members,
                              size_t count, uf_buf *out, uf_error *err);

/*
 * Append the schema of `config`'s profiles (profile_codec.h: kind, source
 * and context column names, section order) to `out`: a run stores it next
 * to the binary profiles so that readers can render them.
 */
int uf_survive_schema(const uf_config *config, uf_buf *out, uf_error *err);

/* uf_format_iso8601 (ISO 8601 times) is declared in profile_codec.h. */
#endif /* UF_SURVIVE_H */
