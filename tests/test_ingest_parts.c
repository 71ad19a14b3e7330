/*
 * test_ingest_parts.c — reading one export file in parts (config
 * `part_size`, run_read.c) gives exactly what reading it whole gives: the
 * same records in the same order, the same identifier refs, the same
 * counters, the same rejects file with the same line numbers.
 *
 * The files are built to put every kind of boundary under a part's guessed
 * start: CRLF, lone CR and LF line ends, a byte-order mark, blank lines,
 * quoted fields holding line ends (one of them holding text that looks like
 * a whole row), doubled quotes, rejected rows of every shape, repeated keys
 * whose winner is decided by line number, a last row without a line end.
 * Every part size from 1 byte up is tried, so each boundary falls on every
 * byte of the files.
 */
#include "run.h"
#include "test_support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static char *dir;

static void make_dir(void)
{
    dir = t_mkdtemp("parts");
}

static void remove_dir(void)
{
    t_rmtree(dir);
    free(dir);
}

TestSuite(parts, .init = make_dir, .fini = remove_dir, .timeout = 120);

static void write_file(const char *name, const char *text)
{
    char *path = t_fmt("%s/%s", dir, name);
    t_write_text(path, text);
    free(path);
}

static const char crm_csv[] =
    "\xEF\xBB\xBFid,mail,first,last,note,updated\r\n"
    "c-1,ann@x.org,Ann,Lee,plain,2024-01-01\r\n"
    "c-2,bob@x.org,Bob,Ray,\"multi\nline\nnote\",2024-01-02\n"
    "\n"
    "c-3,\"cat@x.org\",Cat,\"O\"\"Hara\",\"quoted \"\"and\"\"\r\nCRLF inside\",2024-01-03\r"
    "c-4,dan@x.org,Dan,Fox,a lone CR ends this row,2024-01-04\r"
    "c-5,eve@x.org,Eve,Kim,\"unbalanced ,2024-01-05\n"
    "c-6,fay@x.org,Fay,Lo,too,many,columns,2024-01-06\n"
    "c-1,ann.lee@x.org,Ann,Lee,same key and time: the later line wins,2024-01-01\n"
    ",nokey@x.org,No,Key,,2024-01-07\n"
    "c-7,gil@x.org,Gil,Ng,\"a row inside a field:\nc-99,zed@x.org,Zed,Q,fake,2024-01-01\n"
    "c-98,yan@x.org,Yan,R,fake,2024-01-01\n\nend of field\",2024-01-08\n"
    "\r\n"
    "c-8,hal@x.org,Hal,Ode,\"\",\n"
    "c-1,ann@x.org,Ann,Lee,older than the first c-1,2023-12-31\n"
    "c-9,ivy@x.org,Ivy,Pau,\"no line end after this row\",2024-01-09";

static const char web_jsonl[] =
    "\xEF\xBB\xBF{\"id\":\"w-1\",\"email\":\"ann@x.org\",\"name\":\"Ann Lee\",\"ts\":\"2024-02-01\"}\n"
    "\n"
    "   \t \n"
    "{\"id\":\"w-2\",\"email\":\"bob@x.org\",\"name\":\"Bob Ray\",\"ts\":\"2024-02-02\"}\r\n"
    "{\"id\":\"w-3\", bad json\n"
    "{\"id\":\"w-1\",\"email\":\"ann2@x.org\",\"name\":\"Ann Lee\",\"ts\":\"2024-02-01\"}\n"
    "[\"not\",\"an object\"]\n"
    "{\"id\":\"w-4\",\"email\":\"cat@x.org\",\"name\":\"Cat O'Hara\",\"ts\":\"2024-02-03\","
    "\"nested\":{\"a\":\"b\\nc\"}}\n"
    "{\"email\":\"nokey@x.org\",\"name\":\"No Key\"}\n"
    "{\"id\":\"w-5\",\"email\":\"dan@x.org\",\"name\":\"Dan Fox\"}";

static const char config_yaml[] =
    "store: {path: store}\n"
    "rejects: rejects.txt\n"
    "threads: 2\n"
    "identifiers:\n"
    "  crm_id: {strength: strong, case: upper}\n"
    "  account_id: {strength: strong}\n"
    "sources:\n"
    "  - name: crm\n    path: crm.csv\n    format: csv\n    key: id\n    updated_at: updated\n"
    "    fields:\n      id: crm_id\n      mail: email\n      first: first_name\n      last: last_name\n"
    "    context: [note]\n"
    "  - name: web\n    path: web.jsonl\n    format: jsonl\n    key: id\n    updated_at: ts\n"
    "    fields:\n      id: account_id\n      email: email\n      name: full_name\n"
    "  - name: tickets\n    path: tickets.csv.gz\n    format: csv\n    key: t\n"
    "    fields:\n      mail: email\n";

/* Everything the ingest stage leaves behind, as text: records, refs, counters, superseded rows, rejects file. */
static char *snapshot(const uf_run_state *state)
{
    t_buf out = {0};
    char line[256];
    for (size_t r = 0; r < state->table.count; r++) {
        const uf_record *rec = &state->table.records[r];
        snprintf(line, sizeof line, "record %zu: source %u file %u updated %lld blob ", r, rec->source, rec->file,
                 (long long)rec->updated_at);
        t_buf_add(&out, line, strlen(line));
        for (uint32_t i = 0; i < rec->blob_len; i++) {
            snprintf(line, sizeof line, "%02x", rec->blob[i]);
            t_buf_add(&out, line, 2);
        }
        t_buf_add(&out, "\n", 1);
    }
    for (size_t i = 0; i < state->table.identifier_count; i++) {
        const uf_identifier_ref *ref = &state->table.identifiers[i];
        snprintf(line, sizeof line, "ref %016llx%016llx record %u kind %u\n", (unsigned long long)ref->key.hi,
                 (unsigned long long)ref->key.lo, ref->record, ref->kind);
        t_buf_add(&out, line, strlen(line));
    }
    for (size_t s = 0; s < state->config->source_count; s++) {
        const uf_source_stats *st = &state->source_stats[s];
        snprintf(line, sizeof line, "source %zu: files %llu bytes %llu rows %llu records %llu superseded %llu rejected",
                 s, (unsigned long long)st->files, (unsigned long long)st->bytes, (unsigned long long)st->rows_read,
                 (unsigned long long)st->records, (unsigned long long)state->superseded[s]);
        t_buf_add(&out, line, strlen(line));
        for (size_t k = 0; k < UF_REJECT_REASON_COUNT; k++) {
            snprintf(line, sizeof line, " %llu", (unsigned long long)st->rejected[k]);
            t_buf_add(&out, line, strlen(line));
        }
        for (size_t k = 0; k < UF_MAX_KINDS; k++) {
            snprintf(line, sizeof line, " %llu/%llu/%llu", (unsigned long long)st->values[k],
                     (unsigned long long)st->invalid[k], (unsigned long long)st->junk[k]);
            t_buf_add(&out, line, strlen(line));
        }
        t_buf_add(&out, "\n", 1);
    }
    char *rejects = t_read_file(state->config->rejects_path, NULL);
    t_buf_add(&out, "rejects:\n", 9);
    t_buf_add(&out, rejects, strlen(rejects));
    free(rejects);
    return out.data;
}

/* Ingest with `part_size` bytes per part (0: whole files); the snapshot, and the parts read twice. */
static char *ingest_with(uf_config *config, size_t part_size, uint64_t *reread)
{
    config->part_size = part_size;
    uf_run_state state = {.config = config};
    uf_error err = {0};
    int rc = uf_run_ingest(&state, &err);
    cr_assert_eq(rc, UF_OK, "part_size %zu: %s", part_size, err.message);
    char *snap = snapshot(&state);
    if (reread)
        *reread = state.ingest_parts_reread;
    uf_run_state_free(&state);
    return snap;
}

static uf_config *load_config(void)
{
    write_file("crm.csv", crm_csv);
    write_file("web.jsonl", web_jsonl);
    char *gz = t_fmt("%s/tickets.csv.gz", dir);
    const char tickets[] = "t,mail\nT1,ann@x.org\nT2,bob@x.org\n";
    t_gzip_file(gz, tickets, strlen(tickets));
    free(gz);
    write_file("unify.yaml", config_yaml);
    char *path = t_fmt("%s/unify.yaml", dir);
    uf_config *config = NULL;
    uf_error err = {0};
    cr_assert_eq(uf_config_load(path, &config, &err), UF_OK, "config: %s", err.message);
    free(path);
    return config;
}

/* Position of the first byte where a and b differ. */
static size_t first_difference(const char *a, const char *b)
{
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    return i;
}

Test(parts, every_part_size_reads_what_whole_files_read)
{
    uf_config *config = load_config();
    cr_expect_eq(config->part_size, (size_t)16 << 20, "the default part size is 16 MiB");
    char *whole = ingest_with(config, 0, NULL);

    /* The reference itself: line numbers of the rejects as an editor shows them, winners by line. */
    char *crm = t_fmt("%s/crm.csv", dir), *web = t_fmt("%s/web.jsonl", dir);
    char *expected = t_fmt("%s:10: unbalanced_quote\n" /* LF, CRLF and a lone CR each end a line */
                           "%s:11: column_count\n"
                           "%s:13: missing_key\n"
                           "%s:5: json_syntax\n"
                           "%s:7: json_not_object\n"
                           "%s:9: missing_key\n",
                           crm, crm, crm, web, web, web);
    const char *rejects = strstr(whole, "rejects:\n") + 9;
    cr_assert_str_eq(rejects, expected, "rejects of the whole files:\n%s", rejects);
    /* crm: 12 rows, 3 rejected, c-1 three times (two superseded), the fake rows inside c-7's quoted note not rows;
     * web: 8 rows, 3 rejected, w-1 twice; tickets (gzip, always whole): 2 rows. */
    char *counts = t_fmt("source 0: files 1 bytes %zu rows 12 records 9 superseded 2 ", sizeof crm_csv - 1);
    cr_expect(strstr(whole, counts), "%s\n%s", counts, whole);
    free(counts);
    counts = t_fmt("source 1: files 1 bytes %zu rows 8 records 5 superseded 1 ", sizeof web_jsonl - 1);
    cr_expect(strstr(whole, counts), "%s\n%s", counts, whole);
    free(counts);
    cr_expect(strstr(whole, "rows 2 records 2 superseded 0 "), "%s", whole);

    /* Every part size from one byte to a whole file (fewer under valgrind). */
    size_t largest = sizeof crm_csv + 16, step = T_SMALL_OR(1, 7);
    uint64_t rereads = 0;
    for (size_t part = 1; part <= largest; part += step) {
        uint64_t reread = 0;
        char *got = ingest_with(config, part, &reread);
        rereads += reread;
        size_t at = first_difference(whole, got);
        bool same = whole[at] == got[at];
        cr_expect(same, "part_size %zu differs at byte %zu:\n  whole: %.200s\n  parts: %.200s", part, at, whole + at,
                  got + at);
        free(got);
        if (!same)
            break;
    }
    cr_expect_gt(rereads, 0, "some part started inside a quoted field and was read again");
    free(expected);
    free(crm);
    free(web);
    free(whole);
    uf_config_free(config);
}

/* A JSONL member that no line of the whole file holds is still an error when the file is read in parts. */
Test(parts, member_in_no_line_is_an_error_across_parts)
{
    uf_config *config = load_config();
    uf_config_free(config);
    char *path = t_fmt("%s/unify.yaml", dir);
    t_file_replace(path, "      name: full_name\n", "      name: full_name\n      phone: phone\n");
    uf_error err = {0};
    cr_assert_eq(uf_config_load(path, &config, &err), UF_OK, "config: %s", err.message);
    for (size_t part = 0; part <= 64; part += 16) {
        config->part_size = part;
        uf_run_state state = {.config = config};
        uf_error_clear(&err);
        cr_expect_eq(uf_run_ingest(&state, &err), UF_ERR_FORMAT, "part_size %zu", part);
        cr_expect(strstr(err.message, "mapped column 'phone' of source 'web' occurs in no line of the file"),
                  "part_size %zu: %s", part, err.message);
        uf_run_state_free(&state);
    }
    free(path);
    uf_config_free(config);
}
