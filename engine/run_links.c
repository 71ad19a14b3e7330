/*
 * run_links.c — encode and decode the links value (format in run_links.h).
 */
#include "run_links.h"

#include "keys.h"
#include "match.h"
#include "varint.h"

#include <inttypes.h>
#include <stdlib.h>

int uf_links_group(uf_clustering *cl, uint32_t **edge_start, uf_error *err)
{
    size_t clusters = cl->cluster_count, n = cl->edge_count;
    uint32_t *start = calloc(clusters + 1, sizeof *start);
    uf_link_edge *grouped = malloc((n ? n : 1) * sizeof *grouped);
    if (!start || !grouped) {
        free(start);
        free(grouped);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory grouping %zu links by profile", n);
    }
    for (size_t i = 0; i < n; i++)
        start[cl->cluster_of[cl->edges[i].a] + 1]++;
    for (size_t c = 0; c < clusters; c++)
        start[c + 1] += start[c];
    /* Counting sort, stable: each cluster's links keep the order they were made in. */
    uint32_t *next = malloc((clusters ? clusters : 1) * sizeof *next);
    if (!next) {
        free(start);
        free(grouped);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory grouping %zu links by profile", n);
    }
    memcpy(next, start, clusters * sizeof *next);
    for (size_t i = 0; i < n; i++)
        grouped[next[cl->cluster_of[cl->edges[i].a]]++] = cl->edges[i];
    free(next);
    free(cl->edges);
    cl->edges = grouped;
    *edge_start = start;
    return UF_OK;
}

/* ---- encoding ----------------------------------------------------------- */


/* Index of record r among the cluster's members (ascending record ids). */
static uint32_t member_index(const uf_clustering *cl, uint32_t c, uf_record_id r)
{
    size_t lo = cl->member_start[c], hi = cl->member_start[c + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cl->members[mid] < r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)(lo - cl->member_start[c]);
}

/* The normalized value of record r whose key is `key` among its attributes of `kind`; empty if none. */
static uf_slice identifier_value(const uf_config *config, const uf_record *record, int kind, uf_key key)
{
    uf_attr_cursor cur;
    int attr_kind;
    uf_slice value;
    uf_slice kind_name = uf_slice_make(config->kinds[kind].name, config->kinds[kind].name_len);
    uf_attr_cursor_init(&cur, record);
    while (uf_attr_next_value(&cur, &attr_kind, &value))
        if (attr_kind == kind && uf_key_equal(uf_identifier_key(kind_name, value), key))
            return value;
    return uf_slice_make(NULL, 0);
}

/* A scored link's weight and levels (both formats). */
static void put_scored(uf_buf *out, const uf_link_edge *edge)
{
    uint32_t bits;
    memcpy(&bits, &edge->weight, sizeof bits);
    unsigned char w[4] = {(unsigned char)bits, (unsigned char)(bits >> 8), (unsigned char)(bits >> 16),
                          (unsigned char)(bits >> 24)};
    uf_buf_append(out, (const char *)w, 4);
    unsigned char n = UF_CMP_FIELD_COUNT;
    uf_buf_append(out, (const char *)&n, 1);
    uf_cmp_vector v = uf_match_key_vector(edge->key);
    uf_buf_append(out, (const char *)v.level, UF_CMP_FIELD_COUNT);
}

void uf_links_encode(const uf_config *config, const uf_record_table *table, const uf_clustering *cl,
                     const uint32_t *edge_start, uint32_t c, uf_buf *out)
{
    size_t from = cl->member_start[c], to = cl->member_start[c + 1];
    /* The profile lists its records in member order (survive.c), all of them up to
     * UF_PROFILE_MAX_RECORDS: then the value need not name them (format 2); past that it does (format 1). */
    bool names_members = to - from > UF_PROFILE_MAX_RECORDS;
    unsigned char format = names_members ? UF_LINKS_FORMAT_LISTED : UF_LINKS_FORMAT;
    uf_buf_append(out, (const char *)&format, 1);
    uf_buf_append_varint(out, to - from);
    for (size_t i = from; names_members && i < to; i++) {
        const uf_record *r = &table->records[cl->members[i]];
        uf_buf_append_sized(out, uf_slice_cstr(config->sources[r->source].name));
        uf_buf_append_sized(out, uf_record_key(r));
    }
    uf_buf_append_varint(out, edge_start[c + 1] - edge_start[c]);
    for (uint32_t e = edge_start[c]; e < edge_start[c + 1]; e++) {
        const uf_link_edge *edge = &cl->edges[e];
        uf_buf_append_varint(out, member_index(cl, c, edge->a));
        uf_buf_append_varint(out, member_index(cl, c, edge->b));
        unsigned char rule = edge->rule;
        uf_buf_append(out, (const char *)&rule, 1);
        bool known = edge->kind < config->kind_count;
        if (edge->rule == UF_RULE_SCORED) {
            put_scored(out, edge);
        } else if (names_members) {
            uf_buf_append_sized(out, known ? uf_slice_make(config->kinds[edge->kind].name, config->kinds[edge->kind].name_len)
                                  : uf_slice_make(NULL, 0));
        } else {
            /* The schema lists the config's kinds in order (survive.c); one past them reads as no name. */
            uf_buf_append_varint(out, known ? edge->kind : config->kind_count);
        }
        if (edge->rule != UF_RULE_SCORED)
            uf_buf_append_sized(out, known ? identifier_value(config, &table->records[edge->a], edge->kind, edge->key)
                                  : uf_slice_make(NULL, 0));
    }
}

/* ---- decoding ----------------------------------------------------------- */

typedef struct reader {
    const unsigned char *p, *end;
    bool bad;
} reader;

static uint64_t get_varint(reader *r)
{
    uint64_t v;
    if (uf_varint_get(&r->p, r->end, &v))
        return v;
    r->bad = true;
    return 0;
}

static uf_slice get_bytes(reader *r, uint64_t n)
{
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return uf_slice_make(NULL, 0);
    }
    uf_slice s = uf_slice_make((const char *)r->p, (size_t)n);
    r->p += n;
    return s;
}

static uf_slice get_string(reader *r)
{
    return get_bytes(r, get_varint(r));
}

static int malformed(uf_error *err, const char *what)
{
    return uf_error_set(err, UF_ERR_STORE, "STORE: malformed links value (%s)", what);
}

int uf_links_expand(const void *data, size_t len, const uf_profile_schema *schema, const void *profile,
                    size_t profile_len, uf_buf *out, uf_error *err)
{
    reader r = {data, (const unsigned char *)data + len, false};
    uf_slice format = get_bytes(&r, 1);
    if (!r.bad && (unsigned char)format.ptr[0] == UF_LINKS_FORMAT_LISTED) {
        uf_buf_append(out, data, len);
        return out->failed ? uf_error_set(err, UF_ERR_NOMEM, "out of memory reading links") : UF_OK;
    }
    if (r.bad || (unsigned char)format.ptr[0] != UF_LINKS_FORMAT)
        return uf_error_set(err, UF_ERR_STORE, "STORE: links value of an unknown format (written by a newer unify?)");
    uint64_t members = get_varint(&r);
    if (r.bad)
        return malformed(err, "member count");
    size_t start = out->len, listed = 0;
    uint64_t total = 0;
    unsigned char listed_format = UF_LINKS_FORMAT_LISTED;
    uf_buf_append(out, (const char *)&listed_format, 1);
    uf_buf_append_varint(out, members);
    int rc = uf_profile_member_list(schema, profile, profile_len, out, &listed, &total, err);
    if (rc == UF_OK && (total != members || listed != members))
        rc = uf_error_set(err, UF_ERR_STORE,
                          "STORE: links value names %" PRIu64 " records, its profile lists %zu of %" PRIu64,
                          members, listed, total);
    /* The links: kind indices become names, the rest is copied as it is. */
    uint64_t links = rc == UF_OK ? get_varint(&r) : 0;
    if (rc == UF_OK && r.bad)
        rc = malformed(err, "link count");
    if (rc == UF_OK)
        uf_buf_append_varint(out, links);
    for (uint64_t i = 0; rc == UF_OK && i < links; i++) {
        uint64_t a = get_varint(&r), b = get_varint(&r);
        uf_slice rule = get_bytes(&r, 1);
        if (r.bad) {
            rc = malformed(err, "truncated link");
            break;
        }
        uf_buf_append_varint(out, a);
        uf_buf_append_varint(out, b);
        uf_buf_append(out, rule.ptr, 1);
        if ((unsigned char)rule.ptr[0] == UF_RULE_SCORED) {
            const unsigned char *at = r.p;
            get_bytes(&r, 4);
            uf_slice n = get_bytes(&r, 1);
            if (!r.bad)
                get_bytes(&r, (unsigned char)n.ptr[0]);
            if (!r.bad)
                uf_buf_append(out, (const char *)at, (size_t)(r.p - at));
        } else if ((unsigned char)rule.ptr[0] == UF_RULE_STRONG_IDENTIFIER ||
                   (unsigned char)rule.ptr[0] == UF_RULE_WEAK_IDENTIFIER) {
            uint64_t kind = get_varint(&r);
            uf_slice value = get_string(&r);
            if (!r.bad) {
                uf_buf_append_sized(out, uf_profile_schema_kind_name(schema, kind));
                uf_buf_append_sized(out, value);
            }
        } else {
            rc = malformed(err, "unknown rule");
            break;
        }
        if (r.bad)
            rc = malformed(err, "truncated link");
    }
    if (rc == UF_OK && r.p != r.end)
        rc = malformed(err, "trailing bytes");
    if (rc == UF_OK && out->failed)
        rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory reading links");
    if (rc != UF_OK)
        out->len = start < out->len ? start : out->len;
    return rc;
}

int uf_links_decode(const void *data, size_t len, uf_links_view *out, uf_error *err)
{
    memset(out, 0, sizeof *out);
    reader r = {data, (const unsigned char *)data + len, false};
    uf_slice format = get_bytes(&r, 1);
    if (!r.bad && (unsigned char)format.ptr[0] == UF_LINKS_FORMAT)
        return uf_error_set(err, UF_ERR_STORE, "STORE: a links value of format 2 is read with its profile "
                                               "(uf_links_expand)");
    if (r.bad || (unsigned char)format.ptr[0] != UF_LINKS_FORMAT_LISTED)
        return uf_error_set(err, UF_ERR_STORE, "STORE: links value of an unknown format (written by a newer unify?)");
    uint64_t members = get_varint(&r);
    /* Every member takes at least two bytes: a count beyond that is corrupt, not an allocation to try. */
    if (r.bad || members > len / 2)
        return uf_error_set(err, UF_ERR_STORE, "STORE: malformed links value (member count)");
    out->members = calloc(members ? members : 1, sizeof *out->members);
    if (!out->members)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory reading links");
    for (uint64_t i = 0; i < members && !r.bad; i++) {
        out->members[i].source = get_string(&r);
        out->members[i].key = get_string(&r);
    }
    out->member_count = (size_t)members;
    uint64_t links = get_varint(&r);
    if (r.bad || links > len / 3) {
        uf_links_view_free(out);
        return uf_error_set(err, UF_ERR_STORE, "STORE: malformed links value (link count)");
    }
    out->links = calloc(links ? links : 1, sizeof *out->links);
    if (!out->links) {
        uf_links_view_free(out);
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory reading links");
    }
    for (uint64_t i = 0; i < links && !r.bad; i++) {
        uf_links_link *l = &out->links[i];
        uint64_t a = get_varint(&r), b = get_varint(&r);
        uf_slice rule = get_bytes(&r, 1);
        if (r.bad || a >= members || b >= members) {
            r.bad = true;
            break;
        }
        l->a = (uint32_t)a;
        l->b = (uint32_t)b;
        l->rule = (unsigned char)rule.ptr[0];
        memset(l->vector.level, UF_CMP_MISSING, sizeof l->vector.level);
        if (l->rule == UF_RULE_SCORED) {
            uf_slice w = get_bytes(&r, 4);
            uf_slice n = get_bytes(&r, 1);
            if (r.bad)
                break;
            const unsigned char *wb = (const unsigned char *)w.ptr;
            uint32_t bits = (uint32_t)wb[0] | (uint32_t)wb[1] << 8 | (uint32_t)wb[2] << 16 | (uint32_t)wb[3] << 24;
            memcpy(&l->weight, &bits, sizeof l->weight);
            unsigned count = (unsigned char)n.ptr[0];
            uf_slice levels = get_bytes(&r, count);
            if (r.bad)
                break;
            for (unsigned f = 0; f < count && f < UF_CMP_FIELD_COUNT; f++)
                l->vector.level[f] = (uint8_t)levels.ptr[f];
        } else if (l->rule == UF_RULE_STRONG_IDENTIFIER || l->rule == UF_RULE_WEAK_IDENTIFIER) {
            l->kind = get_string(&r);
            l->value = get_string(&r);
        } else {
            r.bad = true;
        }
    }
    out->link_count = (size_t)links;
    if (r.bad || r.p != r.end) {
        uf_links_view_free(out);
        return uf_error_set(err, UF_ERR_STORE, "STORE: malformed links value");
    }
    return UF_OK;
}

void uf_links_view_free(uf_links_view *v)
{
    free(v->members);
    free(v->links);
    memset(v, 0, sizeof *v);
}
