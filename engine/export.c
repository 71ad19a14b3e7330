/*
 * export.c — the store's content as files for other systems:
 * `source,record_key,golden_id` CSV and one profile per JSONL line. Both
 * stream from one read snapshot, so an export taken during a run is still
 * one consistent generation.
 */
#include "common.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>

/* One CSV field, quoted when it holds a delimiter, quote or line break (RFC 4180). */
static void csv_field(FILE *out, const char *s, size_t len)
{
    bool quote = false;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        fwrite(s, 1, len, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            fputc('"', out);
        fputc(s[i], out);
    }
    fputc('"', out);
}

static int member_row(void *ctx, const char *source, size_t source_len, const char *key, size_t key_len,
                      uint64_t golden_id)
{
    FILE *out = ctx;
    char id[24];
    uf_golden_id_format(golden_id, id);
    csv_field(out, source, source_len);
    fputc(',', out);
    csv_field(out, key, key_len);
    fprintf(out, ",%s\n", id);
    return ferror(out) ? UF_ERR_IO : 0;
}

static int finish(FILE *out, int rc, uf_error *err)
{
    if (rc == UF_ERR_IO || (rc == UF_OK && (fflush(out) != 0 || ferror(out))))
        return uf_error_set(err, UF_ERR_IO, "cannot write the export: %s", strerror(errno));
    return rc;
}

int uf_export_members(uf_store *store, FILE *out, uf_error *err)
{
    fputs("source,record_key,golden_id\n", out);
    return finish(out, uf_store_scan_records(store, member_row, out, err), err);
}

static int profile_line(void *ctx, uint64_t golden_id, const char *json, size_t len)
{
    FILE *out = ctx;
    (void)golden_id;
    fwrite(json, 1, len, out);
    fputc('\n', out);
    return ferror(out) ? UF_ERR_IO : 0;
}

int uf_export_profiles(uf_store *store, FILE *out, uf_error *err)
{
    return finish(out, uf_store_scan_profiles(store, profile_line, out, err), err);
}

int uf_export_model(uf_store *store, FILE *out, uf_error *err)
{
    uf_buf model;
    uf_buf_init(&model);
    int rc = uf_store_read_model(store, &model, err);
    if (rc == UF_OK && model.len == 0)
        rc = uf_error_set(err, UF_ERR_NOT_FOUND,
                          "the store holds no matching model: the run that wrote it did not score "
                          "(no 'matching' section)");
    if (rc == UF_OK) {
        fwrite(model.data, 1, model.len, out);
        fputc('\n', out);
        rc = finish(out, UF_OK, err);
    }
    uf_buf_free(&model);
    return rc;
}
