/*
 * eval.c — score the stored clustering against a truth file.
 *
 * Pairwise precision and recall are computed from the contingency table of
 * (golden id, true customer) without enumerating pairs: for cells n_ij, rows
 * a_i (profiles) and columns b_j (customers), correct = Σ C(n_ij, 2),
 * predicted = Σ C(a_i, 2), true = Σ C(b_j, 2). Sorting (profile, customer)
 * pairs gives the cells in one pass, so memory is a few words per record.
 *
 * The truth is read with the project's own CSV reader (quoting, BOM, gzip
 * all work) into a hash table from (source, record key) to a dense
 * customer number; the store's records are then scanned once.
 */
#include "csv.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#define WORST_LISTED 5

typedef struct truth_entry {
    uint64_t hash;      /* 0 = empty slot */
    char *record;       /* "source\0key" */
    size_t record_len;
    uint32_t customer;
    bool seen;          /* matched by a stored record */
} truth_entry;

typedef struct name_entry {
    uint64_t hash;
    char *name;
    uint32_t id;
} name_entry;

typedef struct eval_state {
    truth_entry *truth;
    size_t truth_cap, truth_count;
    name_entry *names;            /* customer id text → dense number */
    size_t names_cap, names_count;
    char **customer_names;        /* dense number → text (borrowed from names) */
    struct pair { uint64_t golden; uint32_t customer; } *cells;
    size_t cell_count, cell_cap;
    uint64_t without_truth;
    bool oom;
} eval_state;

static uint64_t hash_bytes(const void *p, size_t n)
{
    uint64_t h = XXH3_64bits(p, n);
    return h ? h : 1;
}

static bool grow_truth(eval_state *e)
{
    size_t cap = e->truth_cap ? e->truth_cap * 2 : 1024;
    truth_entry *t = calloc(cap, sizeof *t);
    if (!t)
        return false;
    for (size_t i = 0; i < e->truth_cap; i++) {
        if (!e->truth[i].hash)
            continue;
        size_t j = e->truth[i].hash & (cap - 1);
        while (t[j].hash)
            j = (j + 1) & (cap - 1);
        t[j] = e->truth[i];
    }
    free(e->truth);
    e->truth = t;
    e->truth_cap = cap;
    return true;
}

static truth_entry *truth_find(eval_state *e, const char *rec, size_t len, uint64_t h)
{
    if (!e->truth_cap)
        return NULL;
    size_t j = h & (e->truth_cap - 1);
    while (e->truth[j].hash) {
        if (e->truth[j].hash == h && e->truth[j].record_len == len && memcmp(e->truth[j].record, rec, len) == 0)
            return &e->truth[j];
        j = (j + 1) & (e->truth_cap - 1);
    }
    return NULL;
}

static int intern_customer(eval_state *e, uf_slice name, uint32_t *id)
{
    if (e->names_count * 2 >= e->names_cap) {
        size_t cap = e->names_cap ? e->names_cap * 2 : 1024;
        name_entry *t = calloc(cap, sizeof *t);
        char **names = realloc(e->customer_names, cap * sizeof *names);
        if (!t || !names) {
            free(t);
            if (names)
                e->customer_names = names;
            return UF_ERR_NOMEM;
        }
        e->customer_names = names;
        for (size_t i = 0; i < e->names_cap; i++) {
            if (!e->names[i].hash)
                continue;
            size_t j = e->names[i].hash & (cap - 1);
            while (t[j].hash)
                j = (j + 1) & (cap - 1);
            t[j] = e->names[i];
        }
        free(e->names);
        e->names = t;
        e->names_cap = cap;
    }
    uint64_t h = hash_bytes(name.ptr, name.len);
    size_t j = h & (e->names_cap - 1);
    while (e->names[j].hash) {
        if (e->names[j].hash == h && uf_slice_equals(name, e->names[j].name)) {
            *id = e->names[j].id;
            return UF_OK;
        }
        j = (j + 1) & (e->names_cap - 1);
    }
    char *copy = strndup(name.ptr, name.len);
    if (!copy)
        return UF_ERR_NOMEM;
    e->names[j] = (name_entry){h, copy, (uint32_t)e->names_count};
    e->customer_names[e->names_count] = copy;
    *id = (uint32_t)e->names_count++;
    return UF_OK;
}

static int load_truth(eval_state *e, const char *path, uf_error *err)
{
    uf_stream *stream = uf_stream_open(path, err);
    if (!stream)
        return err ? err->code : UF_ERR_IO;
    int rc = UF_OK;
    uf_csv_reader *reader = uf_csv_open(stream, ',', err);
    if (!reader) {
        uf_stream_close(stream);
        return err ? err->code : UF_ERR_FORMAT;
    }
    size_t header_count;
    const uf_slice *header = uf_csv_header(reader, &header_count);
    if (header_count < 3 || !uf_slice_equals(header[0], "source") || !uf_slice_equals(header[1], "record_key") ||
        !uf_slice_equals(header[2], "customer_id")) {
        rc = uf_error_set(err, UF_ERR_FORMAT, "%s: expected the header source,record_key,customer_id", path);
    }
    uf_csv_row row;
    char buf[1024];
    while (rc == UF_OK) {
        int got = uf_csv_next(reader, &row, err);
        if (got == UF_CSV_END)
            break;
        if (got == UF_CSV_ERROR) {
            rc = err ? err->code : UF_ERR_IO;
            break;
        }
        if (row.reject != UF_REJECT_NONE || row.fields[0].len + row.fields[1].len + 1 > sizeof buf) {
            rc = uf_error_set(err, UF_ERR_FORMAT, "%s:%llu: bad truth row (%s)", path, (unsigned long long)row.line,
                              row.reject ? uf_reject_reason_name(row.reject) : "key too long");
            break;
        }
        size_t len = row.fields[0].len + 1 + row.fields[1].len;
        memcpy(buf, row.fields[0].ptr, row.fields[0].len);
        buf[row.fields[0].len] = '\0';
        memcpy(buf + row.fields[0].len + 1, row.fields[1].ptr, row.fields[1].len);
        uint64_t h = hash_bytes(buf, len);
        if (truth_find(e, buf, len, h)) {
            rc = uf_error_set(err, UF_ERR_FORMAT, "%s:%llu: record %.*s:%.*s listed twice", path,
                              (unsigned long long)row.line, (int)row.fields[0].len, row.fields[0].ptr,
                              (int)row.fields[1].len, row.fields[1].ptr);
            break;
        }
        if ((e->truth_count + 1) * 2 > e->truth_cap && !grow_truth(e)) {
            rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory reading %s", path);
            break;
        }
        uint32_t customer;
        char *copy = malloc(len);
        if (!copy || intern_customer(e, row.fields[2], &customer) != UF_OK) {
            free(copy);
            rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory reading %s", path);
            break;
        }
        memcpy(copy, buf, len);
        size_t j = h & (e->truth_cap - 1);
        while (e->truth[j].hash)
            j = (j + 1) & (e->truth_cap - 1);
        e->truth[j] = (truth_entry){h, copy, len, customer, false};
        e->truth_count++;
    }
    uf_csv_close(reader);
    uf_stream_close(stream);
    return rc;
}

static int scan_record(void *ctx, const char *source, size_t source_len, const char *key, size_t key_len,
                       uint64_t golden_id)
{
    eval_state *e = ctx;
    char buf[1024];
    if (source_len + 1 + key_len > sizeof buf) {
        e->without_truth++;
        return 0;
    }
    memcpy(buf, source, source_len);
    buf[source_len] = '\0';
    memcpy(buf + source_len + 1, key, key_len);
    size_t len = source_len + 1 + key_len;
    truth_entry *t = truth_find(e, buf, len, hash_bytes(buf, len));
    if (!t) {
        e->without_truth++;
        return 0;
    }
    t->seen = true;
    if (e->cell_count == e->cell_cap) {
        size_t cap = e->cell_cap ? e->cell_cap * 2 : 4096;
        struct pair *c = realloc(e->cells, cap * sizeof *c);
        if (!c) {
            e->oom = true;
            return UF_ERR_NOMEM;
        }
        e->cells = c;
        e->cell_cap = cap;
    }
    e->cells[e->cell_count].golden = golden_id;
    e->cells[e->cell_count].customer = t->customer;
    e->cell_count++;
    return 0;
}

static int compare_cells(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->golden != y->golden)
        return x->golden < y->golden ? -1 : 1;
    return x->customer < y->customer ? -1 : x->customer > y->customer;
}

static uint64_t choose2(uint64_t n)
{
    return n * (n - (n > 0)) / 2;
}

typedef struct worst {
    uint64_t id;       /* golden id or customer number */
    uint64_t spread;   /* customers in the profile, or profiles of the customer */
    uint64_t records;
} worst;

static void keep_worst(worst *list, size_t *count, worst w)
{
    size_t pos = *count;
    while (pos > 0 && list[pos - 1].spread < w.spread)
        pos--;
    if (pos >= WORST_LISTED)
        return;
    size_t last = *count < WORST_LISTED ? *count : WORST_LISTED - 1;
    memmove(&list[pos + 1], &list[pos], (last - pos) * sizeof *list);
    list[pos] = w;
    if (*count < WORST_LISTED)
        (*count)++;
}

static int compare_by_customer(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->customer != y->customer)
        return x->customer < y->customer ? -1 : 1;
    return x->golden < y->golden ? -1 : x->golden > y->golden;
}

int uf_eval(uf_store *store, const char *truth_path, FILE *out, uf_eval_result *result, uf_error *err)
{
    eval_state e;
    memset(&e, 0, sizeof e);
    uf_eval_result r;
    memset(&r, 0, sizeof r);
    int rc = load_truth(&e, truth_path, err);
    if (rc == UF_OK) {
        rc = uf_store_scan_records(store, scan_record, &e, err);
        if (e.oom)
            rc = uf_error_set(err, UF_ERR_NOMEM, "out of memory scoring");
    }
    if (rc != UF_OK)
        goto done;

    worst over[WORST_LISTED], under[WORST_LISTED];
    size_t over_count = 0, under_count = 0;
    /* Cells by profile: predicted pairs, correct pairs, over-merges. */
    qsort(e.cells, e.cell_count, sizeof *e.cells, compare_cells);
    for (size_t i = 0; i < e.cell_count;) {
        size_t j = i, customers = 0;
        while (j < e.cell_count && e.cells[j].golden == e.cells[i].golden) {
            size_t k = j;
            while (k < e.cell_count && e.cells[k].golden == e.cells[j].golden &&
                   e.cells[k].customer == e.cells[j].customer)
                k++;
            r.correct_pairs += choose2(k - j);
            customers++;
            j = k;
        }
        r.predicted_pairs += choose2(j - i);
        r.clusters++;
        if (j - i > r.largest_cluster)
            r.largest_cluster = j - i;
        if (customers > 1)
            keep_worst(over, &over_count, (worst){e.cells[i].golden, customers, j - i});
        i = j;
    }
    /* Cells by customer: true pairs, under-merges. */
    qsort(e.cells, e.cell_count, sizeof *e.cells, compare_by_customer);
    for (size_t i = 0; i < e.cell_count;) {
        size_t j = i, profiles = 0;
        while (j < e.cell_count && e.cells[j].customer == e.cells[i].customer) {
            if (j == i || e.cells[j].golden != e.cells[j - 1].golden)
                profiles++;
            j++;
        }
        r.true_pairs += choose2(j - i);
        r.true_clusters++;
        if (profiles > 1)
            keep_worst(under, &under_count, (worst){e.cells[i].customer, profiles, j - i});
        i = j;
    }
    r.records_scored = e.cell_count;
    r.records_without_truth = e.without_truth;
    for (size_t i = 0; i < e.truth_cap; i++)
        if (e.truth[i].hash && !e.truth[i].seen)
            r.truth_not_stored++;
    r.precision = r.predicted_pairs ? (double)r.correct_pairs / (double)r.predicted_pairs : 1.0;
    r.recall = r.true_pairs ? (double)r.correct_pairs / (double)r.true_pairs : 1.0;
    r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0;

    if (out) {
        fprintf(out, "records scored      %llu (in the store but not the truth: %llu; in the truth but not stored: %llu)\n",
                (unsigned long long)r.records_scored, (unsigned long long)r.records_without_truth,
                (unsigned long long)r.truth_not_stored);
        fprintf(out, "profiles            %llu (true customers: %llu, largest profile: %llu records)\n",
                (unsigned long long)r.clusters, (unsigned long long)r.true_clusters,
                (unsigned long long)r.largest_cluster);
        fprintf(out, "pairwise precision  %.5f  (%llu of %llu linked pairs are right)\n", r.precision,
                (unsigned long long)r.correct_pairs, (unsigned long long)r.predicted_pairs);
        fprintf(out, "pairwise recall     %.5f  (%llu of %llu true pairs are linked)\n", r.recall,
                (unsigned long long)r.correct_pairs, (unsigned long long)r.true_pairs);
        fprintf(out, "pairwise F1         %.5f\n", r.f1);
        if (over_count) {
            fputs("worst over-merges (profiles holding several customers):\n", out);
            for (size_t i = 0; i < over_count; i++) {
                char id[24];
                uf_golden_id_format(over[i].id, id);
                fprintf(out, "  %s: %llu records of %llu customers\n", id, (unsigned long long)over[i].records,
                        (unsigned long long)over[i].spread);
            }
        }
        if (under_count) {
            fputs("worst under-merges (customers split over several profiles):\n", out);
            for (size_t i = 0; i < under_count; i++)
                fprintf(out, "  customer %s: %llu records in %llu profiles\n", e.customer_names[under[i].id],
                        (unsigned long long)under[i].records, (unsigned long long)under[i].spread);
        }
    }
    if (result)
        *result = r;
done:
    for (size_t i = 0; i < e.truth_cap; i++)
        free(e.truth[i].record);
    free(e.truth);
    for (size_t i = 0; i < e.names_count; i++)
        free(e.customer_names[i]);
    free(e.customer_names);
    free(e.names);
    free(e.cells);
    return rc;
}
