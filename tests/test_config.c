/*
 * test_config.c — the configuration loader: the reference fixture loads with
 * the values it spells out, defaults fill what it leaves out, and every kind
 * of mistake is reported at the right FILE:LINE:COLUMN with a message that
 * says what was expected.
 *
 * Each case writes its YAML to a fresh temporary folder (so relative paths
 * and globs resolve against a folder the test controls) and removes it
 * afterwards. The error table is walked by one test that checks every row
 * (cr_expect) and names the failing rows in its messages; one process per
 * row would cost a valgrind start-up each (72 rows).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef UF_TEST_SOURCE_DIR
#define UF_TEST_SOURCE_DIR "."
#endif

/* ------------------------------------------------------------------ */
/* Temporary configuration folders                                     */
/* ------------------------------------------------------------------ */

typedef struct tmp_config {
    char dir[64];
    char path[128];
} tmp_config;

static void tmp_write(const tmp_config *t, const char *relative, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", t->dir, relative);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    size_t len = strlen(text);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static void tmp_mkdir(const tmp_config *t, const char *relative)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", t->dir, relative);
    cr_assert_eq(mkdir(path, 0700), 0, "cannot create %s", path);
}

/* A fresh folder holding unify.yaml with `yaml` as its text. */
static void tmp_make(tmp_config *t, const char *yaml)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/uf-test-config-XXXXXX");
    cr_assert_not_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/unify.yaml", t->dir);
    tmp_write(t, "unify.yaml", yaml);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tmp_remove(const tmp_config *t)
{
    nftw(t->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Load `yaml` expecting success; the caller frees the config and removes `t`. */
static uf_config *load_ok(tmp_config *t, const char *yaml)
{
    tmp_make(t, yaml);
    uf_config *cfg = NULL;
    uf_error err;
    int rc = uf_config_load(t->path, &cfg, &err);
    cr_assert_eq(rc, UF_OK, "load failed: %s", err.message);
    cr_assert_not_null(cfg);
    return cfg;
}

static char *joined(const char *a, const char *b)
{
    char *out = malloc(strlen(a) + strlen(b) + 2);
    cr_assert_not_null(out);
    sprintf(out, "%s/%s", a, b);
    return out;
}

#define STORE "store: {path: store}\n"
#define SOURCE_HEAD "sources:\n  - name: crm\n    path: crm.csv\n    format: csv\n    key: id\n"
#define FIELDS "    fields: {email: email}\n"
#define MINIMAL STORE SOURCE_HEAD FIELDS

/* ------------------------------------------------------------------ */
/* The reference configuration                                         */
/* ------------------------------------------------------------------ */

Test(config, reference_fixture_loads_with_its_values)
{
    const char *dir = UF_TEST_SOURCE_DIR "/fixtures/small";
    const char *path = UF_TEST_SOURCE_DIR "/fixtures/small/unify.yaml";
    uf_config *cfg = NULL;
    uf_error err;
    int rc = uf_config_load(path, &cfg, &err);
    cr_assert_eq(rc, UF_OK, "%s", err.message);

    cr_expect_str_eq(cfg->path, path);
    cr_expect_str_eq(cfg->dir, dir);
    cr_expect_str_eq(cfg->store_path, UF_TEST_SOURCE_DIR "/fixtures/small/../../var/small-store");
    cr_expect_str_eq(cfg->rejects_path,
                     UF_TEST_SOURCE_DIR "/fixtures/small/../../var/small-rejects.txt");
    cr_expect_eq(cfg->map_size, (size_t)64 << 20);
    cr_expect_eq(cfg->threads, 2);
    cr_expect_str_eq(cfg->default_country, "US");
    cr_expect_eq(cfg->date_order, UF_DATE_MDY);

    /* Kinds: ten built-ins in enum order, then the four namespaces in file order. */
    cr_assert_eq(cfg->kind_count, 14);
    for (int k = 0; k < UF_KIND_BUILTIN_COUNT; k++) {
        cr_expect_str_eq(cfg->kinds[k].name, uf_builtin_kind_name((uf_builtin_kind)k));
        cr_expect_eq(cfg->kinds[k].is_identifier, k == UF_KIND_EMAIL || k == UF_KIND_PHONE);
    }
    cr_expect_eq(cfg->kinds[UF_KIND_EMAIL].strength, UF_STRENGTH_STRONG);
    cr_expect_eq(cfg->kinds[UF_KIND_PHONE].strength, UF_STRENGTH_WEAK);
    const char *namespaces[] = {"crm_id", "account_id", "loyalty_card", "device_id"};
    for (int i = 0; i < 4; i++) {
        cr_expect_str_eq(cfg->kinds[10 + i].name, namespaces[i]);
        cr_expect(cfg->kinds[10 + i].is_identifier);
    }
    const uf_kind_config *crm_id = &cfg->kinds[10], *loyalty = &cfg->kinds[12],
                         *device = &cfg->kinds[13];
    cr_expect_eq(crm_id->strength, UF_STRENGTH_STRONG);
    cr_expect_eq(crm_id->max_per_profile, 1);
    cr_expect_eq(crm_id->case_policy, UF_CASE_UPPER);
    cr_expect_eq(crm_id->strip_separators, false);
    cr_expect_eq(loyalty->strip_separators, true);
    cr_expect_eq(loyalty->case_policy, UF_CASE_UPPER);
    cr_expect_eq(loyalty->max_per_profile, 0);
    cr_expect_eq(device->strength, UF_STRENGTH_WEAK);
    cr_expect_eq(device->case_policy, UF_CASE_LOWER);
    cr_expect_eq(device->max_records, 8);

    cr_expect_eq(cfg->guards.max_records_per_identifier, 50);
    cr_expect_eq(cfg->guards.weak_link_requires, UF_AGREE_NAME_AND_DOB);
    cr_expect_eq(cfg->guards.profile_limit_override, UF_AGREE_NAME_AND_DOB);

    cr_assert_not_null(cfg->blocklist);
    cr_expect_gt(uf_blocklist_size(cfg->blocklist), 0);
    /* test@test.com and friends are junk to the e-mail normalizer already; no@email.com is not. */
    cr_expect(uf_blocklist_contains(cfg->blocklist, UF_KIND_EMAIL, "no@email.com", 12));
    /* "any" values are folded and hold for every kind. */
    cr_expect(uf_blocklist_contains(cfg->blocklist, UF_KIND_CITY, "unknown", 7));
    cr_expect_not(uf_blocklist_contains(cfg->blocklist, UF_KIND_EMAIL, "jane@example.com", 16));

    /* survivorship from the fixture: e-mail's own rules, the default for the rest. */
    cr_expect_eq(cfg->kinds[UF_KIND_EMAIL].survive_count, 2);
    cr_expect_eq(cfg->kinds[UF_KIND_EMAIL].survive[0], UF_SURVIVE_MOST_RECENT);
    cr_expect_eq(cfg->kinds[UF_KIND_CITY].survive_count, 4);
    cr_expect_eq(cfg->kinds[UF_KIND_CITY].survive[0], UF_SURVIVE_SOURCE_PRIORITY);

    cr_assert_eq(cfg->source_count, 5);
    const char *names[] = {"crm", "web", "pos", "tickets", "app"};
    const int lines[] = {39, 60, 75, 91, 107};
    for (int i = 0; i < 5; i++) {
        cr_expect_str_eq(cfg->sources[i].name, names[i]);
        cr_expect_eq(cfg->sources[i].line, lines[i], "source %s", names[i]);
        cr_expect_eq(cfg->sources[i].priority, i + 1);
    }

    const uf_source_config *crm = &cfg->sources[0];
    cr_expect_str_eq(crm->pattern, UF_TEST_SOURCE_DIR "/fixtures/small/crm.csv");
    cr_assert_eq(crm->path_count, 1);
    cr_expect_str_eq(crm->paths[0], crm->pattern);
    cr_expect_eq(crm->format, UF_FORMAT_CSV);
    cr_expect_eq(crm->delimiter, ',');
    cr_expect_str_eq(crm->key_column, "customer_no");
    cr_expect_str_eq(crm->updated_at_column, "updated_at");
    cr_expect_eq(crm->date_order, UF_DATE_DMY);
    cr_expect_str_eq(crm->country, "US");
    cr_assert_eq(crm->field_count, 10);
    cr_expect_str_eq(crm->fields[0].column, "customer_no");
    cr_expect_eq(crm->fields[0].kind, 10);
    cr_expect_str_eq(crm->fields[5].column, "date_of_birth");
    cr_expect_eq(crm->fields[5].kind, UF_KIND_DOB);
    cr_expect_str_eq(crm->fields[9].column, "country");
    cr_expect_eq(crm->fields[9].kind, UF_KIND_COUNTRY);
    cr_assert_eq(crm->context_count, 1);
    cr_expect_str_eq(crm->context_columns[0], "segment");

    const uf_source_config *web = &cfg->sources[1];
    cr_expect_eq(web->format, UF_FORMAT_JSONL);
    cr_expect_eq(web->date_order, UF_DATE_MDY, "inherits defaults.date_order");
    cr_assert_eq(web->field_count, 6);
    cr_expect_eq(web->fields[2].kind, UF_KIND_FULL_NAME);
    cr_expect_eq(web->fields[0].kind, 11);
    cr_assert_eq(web->context_count, 2);
    cr_expect_str_eq(web->context_columns[1], "created_at");

    cr_expect_eq(cfg->sources[2].delimiter, ';');
    cr_expect_str_eq(cfg->sources[3].pattern, UF_TEST_SOURCE_DIR "/fixtures/small/tickets.csv.gz");
    cr_expect_str_eq(cfg->sources[3].updated_at_column, "opened_at");
    cr_expect_eq(cfg->sources[4].fields[0].kind, 13);

    uf_config_free(cfg);
}

Test(config, kind_names_and_indices)
{
    cr_expect_str_eq(uf_builtin_kind_name(UF_KIND_EMAIL), "email");
    cr_expect_str_eq(uf_builtin_kind_name(UF_KIND_FULL_NAME), "full_name");
    cr_expect_str_eq(uf_builtin_kind_name(UF_KIND_COUNTRY), "country");
    cr_expect_null(uf_builtin_kind_name(UF_KIND_BUILTIN_COUNT));

    cr_expect_eq(uf_config_kind_index(NULL, "postcode", 8), UF_KIND_POSTCODE);
    cr_expect_eq(uf_config_kind_index(NULL, "crm_id", 6), -1);

    tmp_config t;
    uf_config *cfg = load_ok(&t, "identifiers: {crm_id: {}, device_id: ~}\n" MINIMAL);
    cr_expect_eq(uf_config_kind_index(cfg, "email", 5), UF_KIND_EMAIL);
    cr_expect_eq(uf_config_kind_index(cfg, "crm_id", 6), 10);
    cr_expect_eq(uf_config_kind_index(cfg, "device_id", 9), 11);
    /* Length-delimited: a prefix is not a match, a slice of a longer string is. */
    cr_expect_eq(uf_config_kind_index(cfg, "crm", 3), -1);
    cr_expect_eq(uf_config_kind_index(cfg, "crm_id,email", 6), 10);
    cr_expect_eq(uf_config_kind_index(cfg, "nope", 4), -1);
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, free_accepts_null)
{
    uf_config_free(NULL);
}

/* ------------------------------------------------------------------ */
/* Defaults and accepted forms                                         */
/* ------------------------------------------------------------------ */

Test(config, defaults_fill_what_the_file_leaves_out)
{
    tmp_config t;
    uf_config *cfg = load_ok(&t, MINIMAL);
    char *store = joined(t.dir, "store");
    char *rejects = joined(t.dir, "store.rejects");
    cr_expect_str_eq(cfg->dir, t.dir);
    cr_expect_str_eq(cfg->store_path, store);
    cr_expect_str_eq(cfg->rejects_path, rejects);
    cr_expect_eq(cfg->map_size, (size_t)1 << 30);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cr_expect_eq(cfg->threads, cpus < 1 ? 1 : (int)cpus);
    cr_expect_str_eq(cfg->default_country, "US");
    cr_expect_eq(cfg->date_order, UF_DATE_YMD);
    cr_expect_eq(cfg->kind_count, UF_KIND_BUILTIN_COUNT);
    cr_expect_eq(cfg->guards.max_records_per_identifier, 50);
    cr_expect_eq(cfg->guards.weak_link_requires, UF_AGREE_NAME_AND_DOB);
    cr_expect_eq(cfg->guards.profile_limit_override, UF_AGREE_NAME_AND_DOB);
    cr_assert_not_null(cfg->blocklist);

    const uf_source_config *s = &cfg->sources[0];
    cr_expect_eq(s->delimiter, ',');
    cr_expect_eq(s->priority, 100);
    cr_expect_eq(s->date_order, UF_DATE_YMD);
    cr_expect_str_eq(s->country, "US");
    cr_expect_null(s->updated_at_column);
    cr_expect_eq(s->context_count, 0);
    cr_expect_eq(s->field_count, 1);
    cr_expect_eq(s->line, 3);
    free(store);
    free(rejects);
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, survivorship_rules_per_kind_and_default)
{
    tmp_config t;
    uf_config *cfg = load_ok(&t, "survivorship:\n"
                                 "  email: [most_recent, most_frequent]\n"
                                 "  default: [most_frequent, source_priority]\n" MINIMAL);
    const uf_kind_config *email = &cfg->kinds[UF_KIND_EMAIL];
    cr_expect_eq(email->survive_count, 2, "a kind's own list wins over default, whatever the order");
    cr_expect_eq(email->survive[0], UF_SURVIVE_MOST_RECENT);
    cr_expect_eq(email->survive[1], UF_SURVIVE_MOST_FREQUENT);
    const uf_kind_config *city = &cfg->kinds[UF_KIND_CITY];
    cr_expect_eq(city->survive_count, 2);
    cr_expect_eq(city->survive[0], UF_SURVIVE_MOST_FREQUENT);
    cr_expect_eq(city->survive[1], UF_SURVIVE_SOURCE_PRIORITY);
    uf_config_free(cfg);
    tmp_remove(&t);

    cfg = load_ok(&t, MINIMAL);
    cr_expect_eq(cfg->kinds[UF_KIND_CITY].survive_count, 0, "no section: the built-in order");
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, namespace_defaults_and_builtin_overrides)
{
    tmp_config t;
    uf_config *cfg = load_ok(&t,
                             "identifiers:\n"
                             "  phone: {strength: strong, max_per_profile: 3, max_records: 20}\n"
                             "  email: {strength: weak}\n"
                             "  member_no:\n"
                             "  card: {case: preserve, strip_separators: yes, strength: weak}\n"
                             MINIMAL);
    cr_assert_eq(cfg->kind_count, 12);
    cr_expect_eq(cfg->kinds[UF_KIND_PHONE].strength, UF_STRENGTH_STRONG);
    cr_expect_eq(cfg->kinds[UF_KIND_PHONE].max_per_profile, 3);
    cr_expect_eq(cfg->kinds[UF_KIND_PHONE].max_records, 20);
    cr_expect_eq(cfg->kinds[UF_KIND_EMAIL].strength, UF_STRENGTH_WEAK);
    const uf_kind_config *member = &cfg->kinds[10], *card = &cfg->kinds[11];
    cr_expect_str_eq(member->name, "member_no");
    cr_expect(member->is_identifier);
    cr_expect_eq(member->strength, UF_STRENGTH_STRONG);
    cr_expect_eq(member->case_policy, UF_CASE_UPPER);
    cr_expect_eq(member->strip_separators, false);
    cr_expect_eq(member->max_per_profile, 0);
    cr_expect_str_eq(card->name, "card");
    cr_expect_eq(card->case_policy, UF_CASE_PRESERVE);
    cr_expect_eq(card->strip_separators, true);
    cr_expect_eq(card->strength, UF_STRENGTH_WEAK);
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, source_settings_override_defaults)
{
    tmp_config t;
    uf_config *cfg = load_ok(&t,
                             "defaults: {country: gb, date_order: dmy}\n"
                             "threads: '3'\n" STORE
                             "sources:\n"
                             "  - name: a-1\n"
                             "    path: a.csv\n"
                             "    format: csv\n"
                             "    key: id\n"
                             "    updated_at: ~\n"
                             "    priority: -5\n"
                             "    fields: {email: email}\n"
                             "  - name: b_2\n"
                             "    path: b.csv\n"
                             "    format: csv\n"
                             "    key: id\n"
                             "    date_order: YMD\n"
                             "    country: de\n"
                             "    fields: {phone: phone, mobile: phone}\n"
                             "    context: []\n");
    cr_expect_str_eq(cfg->default_country, "GB");
    cr_expect_eq(cfg->date_order, UF_DATE_DMY);
    cr_expect_eq(cfg->threads, 3);
    const uf_source_config *a = &cfg->sources[0], *b = &cfg->sources[1];
    cr_expect_str_eq(a->country, "GB");
    cr_expect_eq(a->date_order, UF_DATE_DMY);
    cr_expect_null(a->updated_at_column);
    cr_expect_eq(a->priority, -5);
    cr_expect_str_eq(b->country, "DE");
    cr_expect_eq(b->date_order, UF_DATE_YMD);
    cr_assert_eq(b->field_count, 2);
    cr_expect_eq(b->fields[1].kind, UF_KIND_PHONE);
    cr_expect_eq(b->context_count, 0);
    cr_expect_eq(b->line, 12);
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, anchors_and_aliases_share_settings)
{
    tmp_config t;
    uf_config *cfg = load_ok(&t, STORE
                             "sources:\n"
                             "  - name: a\n"
                             "    path: a.csv\n"
                             "    format: csv\n"
                             "    key: id\n"
                             "    fields: &shared {mail: email, tel: phone}\n"
                             "  - name: b\n"
                             "    path: b.jsonl\n"
                             "    format: jsonl\n"
                             "    key: id\n"
                             "    fields: *shared\n");
    cr_assert_eq(cfg->sources[1].field_count, 2);
    cr_expect_str_eq(cfg->sources[1].fields[1].column, "tel");
    cr_expect_eq(cfg->sources[1].fields[1].kind, UF_KIND_PHONE);
    /* Each source owns its copy: the pointers differ. */
    cr_expect_neq(cfg->sources[0].fields[0].column, cfg->sources[1].fields[0].column);
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, tab_delimiter_spellings_are_accepted)
{
    const char *spellings[] = {"\"\\t\"", "'\\t'", "tab", "TAB", "\"\t\""};
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml, STORE SOURCE_HEAD "    delimiter: %s\n" FIELDS, spellings[i]);
        tmp_config t;
        uf_config *cfg = load_ok(&t, yaml);
        cr_expect_eq(cfg->sources[0].delimiter, '\t', "spelling %s", spellings[i]);
        uf_config_free(cfg);
        tmp_remove(&t);
    }
    tmp_config t;
    uf_config *cfg = load_ok(&t, STORE SOURCE_HEAD "    delimiter: '|'\n" FIELDS);
    cr_expect_eq(cfg->sources[0].delimiter, '|');
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, map_size_units)
{
    static const struct {
        const char *text;
        size_t bytes;
    } sizes[] = {
        {"1073741824", (size_t)1 << 30}, {"64MiB", (size_t)64 << 20}, {"64M", (size_t)64 << 20},
        {"64 MiB", (size_t)64 << 20},    {"64mib", (size_t)64 << 20}, {"2048K", (size_t)2 << 20},
        {"2048KiB", (size_t)2 << 20},    {"5MB", 5000000},            {"2GB", 2000000000},
        {"1GiB", (size_t)1 << 30},       {"3G", (size_t)3 << 30},     {"1TiB", (size_t)1 << 40},
        {"2T", (size_t)2 << 40},         {"'16MiB'", (size_t)16 << 20},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml, "store: {path: s, map_size: %s}\n" SOURCE_HEAD FIELDS,
                 sizes[i].text);
        tmp_config t;
        uf_config *cfg = load_ok(&t, yaml);
        cr_expect_eq(cfg->map_size, sizes[i].bytes, "map_size %s gave %zu", sizes[i].text,
                     cfg->map_size);
        uf_config_free(cfg);
        tmp_remove(&t);
    }
}

Test(config, absolute_paths_are_kept)
{
    tmp_config t;
    uf_config *cfg = load_ok(&t,
                             "store: {path: /var/lib/unify/store/}\n"
                             "sources:\n"
                             "  - name: crm\n"
                             "    path: /data/exports/crm.csv\n"
                             "    format: csv\n"
                             "    key: id\n" FIELDS);
    cr_expect_str_eq(cfg->store_path, "/var/lib/unify/store");
    cr_expect_str_eq(cfg->rejects_path, "/var/lib/unify/store.rejects");
    cr_expect_str_eq(cfg->sources[0].pattern, "/data/exports/crm.csv");
    cr_assert_eq(cfg->sources[0].path_count, 1);
    cr_expect_str_eq(cfg->sources[0].paths[0], "/data/exports/crm.csv");
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, relative_paths_resolve_against_the_config_folder)
{
    tmp_config t;
    tmp_make(&t, "store: {path: var/store}\nrejects: logs/rejects.txt\n" SOURCE_HEAD FIELDS);
    /* Load through a path with a sub-folder component, from another working directory. */
    char *cwd = getcwd(NULL, 0);
    cr_assert_not_null(cwd);
    cr_assert_eq(chdir("/tmp"), 0);
    const char *relative = t.path + strlen("/tmp/");
    uf_config *cfg = NULL;
    uf_error err;
    int rc = uf_config_load(relative, &cfg, &err);
    cr_assert_eq(chdir(cwd), 0);
    free(cwd);
    cr_assert_eq(rc, UF_OK, "%s", err.message);
    char *dir = strndup(relative, strlen(relative) - strlen("/unify.yaml"));
    char *store = joined(dir, "var/store"), *rejects = joined(dir, "logs/rejects.txt"),
         *crm = joined(dir, "crm.csv");
    cr_expect_str_eq(cfg->dir, dir);
    cr_expect_str_eq(cfg->store_path, store);
    cr_expect_str_eq(cfg->rejects_path, rejects);
    cr_expect_str_eq(cfg->sources[0].pattern, crm);
    free(dir);
    free(store);
    free(rejects);
    free(crm);
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, glob_expands_to_sorted_regular_files)
{
    tmp_config t;
    tmp_make(&t, STORE
             "sources:\n"
             "  - name: crm\n"
             "    path: exports/crm-*.csv\n"
             "    format: csv\n"
             "    key: id\n" FIELDS
             "  - name: none\n"
             "    path: exports/missing-*.csv\n"
             "    format: csv\n"
             "    key: id\n" FIELDS
             "  - name: plain\n"
             "    path: exports/not-there.csv\n"
             "    format: csv\n"
             "    key: id\n" FIELDS);
    tmp_mkdir(&t, "exports");
    tmp_write(&t, "exports/crm-2024-03.csv", "id\n");
    tmp_write(&t, "exports/crm-2024-01.csv", "id\n");
    tmp_write(&t, "exports/crm-2024-02.csv", "id\n");
    tmp_write(&t, "exports/crm-notes.txt", "x\n");
    tmp_mkdir(&t, "exports/crm-old.csv"); /* a folder: not an export */

    uf_config *cfg = NULL;
    uf_error err;
    cr_assert_eq(uf_config_load(t.path, &cfg, &err), UF_OK, "%s", err.message);
    const uf_source_config *crm = &cfg->sources[0];
    char *pattern = joined(t.dir, "exports/crm-*.csv");
    cr_expect_str_eq(crm->pattern, pattern);
    cr_assert_eq(crm->path_count, 3);
    const char *months[] = {"01", "02", "03"};
    for (int i = 0; i < 3; i++) {
        char expect[256];
        snprintf(expect, sizeof expect, "%s/exports/crm-2024-%s.csv", t.dir, months[i]);
        cr_expect_str_eq(crm->paths[i], expect);
    }
    /* No match is not a config error: the pattern is kept for uf_check to report. */
    char *missing = joined(t.dir, "exports/missing-*.csv");
    cr_expect_str_eq(cfg->sources[1].pattern, missing);
    cr_expect_eq(cfg->sources[1].path_count, 0);
    /* Without glob characters the path is taken as written, existing or not. */
    cr_assert_eq(cfg->sources[2].path_count, 1);
    cr_expect_str_eq(cfg->sources[2].paths[0], cfg->sources[2].pattern);
    free(pattern);
    free(missing);
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, blocklist_values_are_normalized_per_kind)
{
    tmp_config t;
    uf_config *cfg = load_ok(&t,
                             "identifiers: {card: {strip_separators: true}}\n"
                             "blocklist:\n"
                             "  email: [' Blocked.User+news@GoogleMail.com ']\n"
                             "  card: [ab-12 34]\n"
                             "  any: [N/A, '-']\n"
                             "  city: ~\n" MINIMAL);
    cr_expect(uf_blocklist_contains(cfg->blocklist, UF_KIND_EMAIL, "blockeduser@gmail.com", 21));
    cr_expect(uf_blocklist_contains(cfg->blocklist, 10, "AB1234", 6));
    cr_expect(uf_blocklist_contains(cfg->blocklist, UF_KIND_CITY, "n a", 3));
    cr_expect_not(uf_blocklist_contains(cfg->blocklist, 10, "ab-12 34", 8));
    cr_expect_gt(uf_blocklist_size(cfg->blocklist), 1);
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, matching_is_off_without_its_section_and_has_defaults)
{
    tmp_config t;
    uf_config *cfg = load_ok(&t, MINIMAL);
    cr_expect(!cfg->matching.enabled);
    cr_expect_eq(cfg->matching.threshold, 0.99);
    cr_expect_eq(cfg->matching.rule_count, 3);
    cr_expect_eq(cfg->matching.rules[0].parts[0], UF_BLOCK_POSTCODE);
    cr_expect_eq(cfg->matching.rules[0].parts[1], UF_BLOCK_LAST_SOUNDEX);
    cr_expect_eq(cfg->matching.rules[0].parts[2], UF_BLOCK_FIRST_INITIAL);
    cr_expect_eq(cfg->matching.max_block_size, 64);
    cr_expect_null(cfg->matching.parameters_path);
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, matching_section_values)
{
    tmp_config t;
    uf_config *cfg = load_ok(&t, MINIMAL "identifiers: {crm_id: {strength: strong}}\n"
                                         "matching:\n  threshold: 0.95\n  max_block_size: 10\n"
                                         "  parameters: model.json\n  term_frequency: false\n"
                                         "  deterministic_recall: 0.8\n"
                                         "  blocking: [[dob, first_initial], phone, [crm_id, last_name]]\n");
    cr_expect(cfg->matching.enabled);
    cr_expect_eq(cfg->matching.threshold, 0.95);
    cr_expect_eq(cfg->matching.max_block_size, 10);
    cr_expect(!cfg->matching.term_frequency);
    cr_expect_eq(cfg->matching.deterministic_recall, 0.8);
    cr_expect(strstr(cfg->matching.parameters_path, "/model.json") != NULL, "%s", cfg->matching.parameters_path);
    cr_expect_eq(cfg->matching.rule_count, 3);
    cr_expect_eq(cfg->matching.rules[1].part_count, 1);
    cr_expect_eq(cfg->matching.rules[1].parts[0], UF_BLOCK_PHONE);
    int crm = uf_config_kind_index(cfg, "crm_id", 6);
    cr_expect_eq(cfg->matching.rules[2].parts[0], UF_BLOCK_IDENTIFIER + crm);
    cr_expect_str_eq(uf_block_part_name(cfg, cfg->matching.rules[2].parts[0]), "crm_id");
    cr_expect_str_eq(uf_block_part_name(cfg, cfg->matching.rules[2].parts[1]), "last_name");
    uf_config_free(cfg);
    tmp_remove(&t);
    cfg = load_ok(&t, MINIMAL "matching:\n  enabled: false\n");
    cr_expect(!cfg->matching.enabled);
    uf_config_free(cfg);
    tmp_remove(&t);
}

Test(config, missing_file_is_an_io_error_naming_the_file)
{
    uf_config *cfg = (uf_config *)&cfg; /* must be reset to NULL */
    uf_error err;
    int rc = uf_config_load("/nonexistent/unify-missing.yaml", &cfg, &err);
    cr_expect_eq(rc, UF_ERR_IO);
    cr_expect_eq(err.code, UF_ERR_IO);
    cr_expect_null(cfg);
    cr_expect(strstr(err.message, "/nonexistent/unify-missing.yaml") != NULL, "%s", err.message);
    cr_expect(strstr(err.message, "No such file") != NULL, "%s", err.message);
}

Test(config, errors_without_an_error_struct_are_still_reported)
{
    tmp_config t;
    tmp_make(&t, "bogus: 1\n" MINIMAL);
    uf_config *cfg = NULL;
    cr_expect_eq(uf_config_load(t.path, &cfg, NULL), UF_ERR_CONFIG);
    cr_expect_null(cfg);
    cr_expect_eq(uf_config_load(NULL, &cfg, NULL), UF_ERR_INVALID);
    cr_expect_eq(uf_config_load(t.path, NULL, NULL), UF_ERR_INVALID);
    tmp_remove(&t);
}

/* ------------------------------------------------------------------ */
/* Mistakes: one row per kind of error                                 */
/* ------------------------------------------------------------------ */

typedef struct bad_case {
    char name[48];
    char yaml[640];
    int code;
    char where[16];   /* "LINE:COLUMN" */
    char phrase[400]; /* must appear in the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"matching threshold 1", MINIMAL "matching: {threshold: 1}\n", UF_ERR_CONFIG, "8:23",
     "'threshold' in 'matching' (a match probability) must be strictly between 0 and 1, got 1"},
    {"matching threshold text", MINIMAL "matching: {threshold: high}\n", UF_ERR_CONFIG, "8:23",
     "'threshold' in 'matching' (a match probability) must be a number, got 'high'"},
    {"unknown blocking part", MINIMAL "matching: {blocking: [[dob, surname]]}\n", UF_ERR_CONFIG, "8:29",
     "a blocking rule part (or an identifier kind) must be one of: first_name, first_initial, last_name, "
     "last_soundex, dob, dob_year, postcode, city, phone; got 'surname'"},
    {"blocking part twice", MINIMAL "matching: {blocking: [[dob, dob]]}\n", UF_ERR_CONFIG, "8:29",
     "'dob' appears twice in one blocking rule"},
    {"empty blocking", MINIMAL "matching: {blocking: []}\n", UF_ERR_CONFIG, "8:22",
     "'blocking' in 'matching' must list at least one rule"},
    {"unknown matching key", MINIMAL "matching: {treshold: 0.9}\n", UF_ERR_CONFIG, "8:12",
     "unknown key 'treshold' in 'matching' (expected one of: enabled, threshold, blocking, max_block_size, "
     "parameters, em_max_iterations, em_tolerance, u_sample_pairs, term_frequency, deterministic_recall); "
     "did you mean 'threshold'?"},
    {"unknown top-level key", "colour: blue\n" MINIMAL, UF_ERR_CONFIG, "1:1",
     "unknown key 'colour' at top level (expected one of: store, threads, part_size, rejects, defaults, "
     "identifiers, guards, blocklist, survivorship, sources, matching)"},
    {"unknown source key", STORE SOURCE_HEAD "    delimter: ';'\n" FIELDS, UF_ERR_CONFIG, "7:5",
     "unknown key 'delimter' in source 'crm' (expected one of: name, path, format, delimiter, "
     "key, updated_at, priority, date_order, country, fields, context); did you mean "
     "'delimiter'?"},
    {"unknown store key", "store: {path: s, size: 1GiB}\n" SOURCE_HEAD FIELDS, UF_ERR_CONFIG,
     "1:18", "unknown key 'size' in 'store' (expected one of: path, map_size, max_map_size)"},
    {"string for int", STORE SOURCE_HEAD "    priority: high\n" FIELDS, UF_ERR_CONFIG, "7:15",
     "'priority' in source 'crm' must be an integer, got 'high'"},
    {"list for int", "threads: [1, 2]\n" MINIMAL, UF_ERR_CONFIG, "1:10",
     "'threads' must be an integer, got a list"},
    {"int out of range", "threads: 0\n" MINIMAL, UF_ERR_CONFIG, "1:10",
     "'threads' must be at least 1, got 0"},
    {"part size not a size", "part_size: lots\n" MINIMAL, UF_ERR_CONFIG, "1:12",
     "'part_size' must be a size such as 1073741824, 512MiB or 1GiB"},
    {"list for map", STORE SOURCE_HEAD "    fields: [email]\n", UF_ERR_CONFIG, "7:13",
     "'fields' in source 'crm' must be a mapping such as {email: email, customer_no: "
     "crm_id}, got a list"},
    {"map for scalar", "store: {path: {dir: x}}\n" SOURCE_HEAD FIELDS, UF_ERR_CONFIG, "1:15",
     "'path' in 'store' must be a string, got a mapping"},
    {"scalar for map", "store: var/store\n" SOURCE_HEAD FIELDS, UF_ERR_CONFIG, "1:8",
     "'store' must be a mapping such as {path: var/store}, got 'var/store'"},
    {"missing store.path", "store: {map_size: 1GiB}\n" SOURCE_HEAD FIELDS, UF_ERR_CONFIG,
     "1:8", "'store' is missing required key 'path'"},
    {"missing store", SOURCE_HEAD FIELDS, UF_ERR_CONFIG, "1:1",
     "the configuration is missing required key 'store'"},
    {"missing sources", STORE "threads: 2\n", UF_ERR_CONFIG, "1:1",
     "the configuration is missing required key 'sources'"},
    {"missing source key",
     STORE "sources:\n  - name: web\n    path: web.jsonl\n    format: jsonl\n" FIELDS,
     UF_ERR_CONFIG, "3:5", "source 'web' is missing required key 'key'"},
    {"missing fields", STORE SOURCE_HEAD, UF_ERR_CONFIG, "3:5",
     "source 'crm' is missing required key 'fields'"},
    {"missing format", STORE "sources:\n  - name: crm\n    path: crm.csv\n    key: id\n" FIELDS,
     UF_ERR_CONFIG, "3:5", "source 'crm' is missing required key 'format'"},
    {"missing source name", STORE "sources:\n  - path: crm.csv\n    format: csv\n" FIELDS,
     UF_ERR_CONFIG, "3:5", "source #1 is missing required key 'name'"},
    {"bad format", STORE "sources:\n  - name: crm\n    path: crm.csv\n    format: xml\n"
                   "    key: id\n" FIELDS,
     UF_ERR_CONFIG, "5:13", "'format' in source 'crm' must be one of: csv, jsonl; got 'xml'"},
    {"bad date order", "defaults: {date_order: DDMMYY}\n" MINIMAL, UF_ERR_CONFIG, "1:24",
     "'date_order' in 'defaults' must be one of: DMY, MDY, YMD; got 'DDMMYY'"},
    {"bad strength", "identifiers:\n  crm_id: {strength: very}\n" MINIMAL, UF_ERR_CONFIG,
     "2:22", "'strength' in identifier 'crm_id' must be one of: strong, weak; got 'very'"},
    {"bad guard agreement", "guards:\n  weak_link_requires: always\n" MINIMAL, UF_ERR_CONFIG,
     "2:23", "'weak_link_requires' in 'guards' must be one of: none, name, name_and_dob"},
    {"guard limit too small", "guards: {max_records_per_identifier: 1}\n" MINIMAL,
     UF_ERR_CONFIG, "1:38", "'max_records_per_identifier' in 'guards' must be at least 2"},
    {"bad bool", "identifiers:\n  loyalty: {strip_separators: maybe}\n" MINIMAL,
     UF_ERR_CONFIG, "2:31", "must be true or false, got 'maybe'"},
    {"negative per-profile limit", "identifiers: {crm_id: {max_per_profile: -1}}\n" MINIMAL,
     UF_ERR_CONFIG, "1:41", "'max_per_profile' in identifier 'crm_id' must be at least 0"},
    {"duplicate source name",
     MINIMAL "  - name: crm\n    path: b.csv\n    format: csv\n    key: id\n" FIELDS,
     UF_ERR_CONFIG, "8:11", "duplicate source name 'crm' (first defined at line 3)"},
    {"bad source name", STORE "sources:\n  - name: CRM Export\n    path: crm.csv\n"
                        "    format: csv\n    key: id\n" FIELDS,
     UF_ERR_CONFIG, "3:11", "invalid source name 'CRM Export'"},
    {"duplicate key", STORE "store: {path: other}\n" SOURCE_HEAD FIELDS, UF_ERR_CONFIG, "2:1",
     "duplicate key 'store' at top level (first given at line 1)"},
    {"duplicate column",
     STORE SOURCE_HEAD "    fields:\n      email: email\n      email: phone\n",
     UF_ERR_CONFIG, "9:7", "duplicate key 'email' in 'fields' of source 'crm'"},
    {"unknown kind in fields",
     "identifiers: {crm_id: {strength: strong}}\n" STORE SOURCE_HEAD
     "    fields:\n      customer_no: crm_idd\n",
     UF_ERR_CONFIG, "9:20",
     "unknown attribute kind 'crm_idd' for column 'customer_no' (expected a built-in kind: "
     "email, phone, first_name, last_name, full_name, dob, address, city, postcode, country, "
     "or an identifier declared under 'identifiers'); did you mean 'crm_id'?"},
    {"kind is a list", STORE SOURCE_HEAD "    fields: {email: [email]}\n", UF_ERR_CONFIG,
     "7:21", "the kind of column 'email' must be a string, got a list"},
    {"empty fields", STORE SOURCE_HEAD "    fields: {}\n", UF_ERR_CONFIG, "7:13",
     "'fields' in source 'crm' must map at least one column to an attribute kind"},
    {"bad map_size", "store: {path: s, map_size: lots}\n" SOURCE_HEAD FIELDS, UF_ERR_CONFIG,
     "1:28", "'map_size' in 'store' must be a size such as 1073741824, 512MiB or 1GiB"},
    {"bad map_size unit", "store: {path: s, map_size: 64XB}\n" SOURCE_HEAD FIELDS,
     UF_ERR_CONFIG, "1:28", "'map_size' in 'store' must be a size"},
    {"map_size without unit", "store: {path: s, map_size: 64}\n" SOURCE_HEAD FIELDS,
     UF_ERR_CONFIG, "1:28", "must be at least 1MiB, got 64 (did you forget a unit"},
    {"map_size overflow", "store: {path: s, map_size: 99999999999999999999TiB}\n" SOURCE_HEAD
                          FIELDS,
     UF_ERR_CONFIG, "1:28", "'map_size' in 'store' is too large"},
    {"bad delimiter", STORE SOURCE_HEAD "    delimiter: ab\n" FIELDS, UF_ERR_CONFIG, "7:16",
     "'delimiter' in source 'crm' must be a single character such as ',', ';', '|' or \"tab\""},
    {"quote delimiter", STORE SOURCE_HEAD "    delimiter: '\"'\n" FIELDS, UF_ERR_CONFIG,
     "7:16", "must be a single character"},
    {"delimiter on jsonl",
     STORE "sources:\n  - name: web\n    path: w.jsonl\n    format: jsonl\n    key: id\n"
           "    delimiter: ','\n" FIELDS,
     UF_ERR_CONFIG, "7:5", "'delimiter' in source 'web' applies to csv sources only"},
    {"bad namespace name", "identifiers:\n  Crm-ID: {strength: strong}\n" MINIMAL,
     UF_ERR_CONFIG, "2:3",
     "invalid identifier namespace name 'Crm-ID' (expected a lower-case letter"},
    {"namespace named any", "identifiers:\n  any: {}\n" MINIMAL, UF_ERR_CONFIG, "2:3",
     "invalid identifier namespace name 'any'"},
    {"built-in kind as namespace", "identifiers:\n  first_name: {strength: weak}\n" MINIMAL,
     UF_ERR_CONFIG, "2:3", "'first_name' is a built-in attribute kind, not an identifier"},
    {"namespace option on email", "identifiers:\n  email: {case: lower}\n" MINIMAL,
     UF_ERR_CONFIG, "2:11",
     "unknown key 'case' in identifier 'email' (expected one of: strength, max_per_profile, "
     "max_records)"},
    {"identifier settings not a map", "identifiers:\n  crm_id: strong\n" MINIMAL,
     UF_ERR_CONFIG, "2:11", "settings of identifier 'crm_id' must be a mapping"},
    {"blocklist unknown kind", "blocklist:\n  crm_id: [UNKNOWN]\n" MINIMAL, UF_ERR_CONFIG,
     "2:3", "unknown kind 'crm_id' in 'blocklist' (expected 'any', a built-in kind"},
    {"blocklist scalar", "blocklist: {email: test@test.com}\n" MINIMAL, UF_ERR_CONFIG, "1:20",
     "'email' in 'blocklist' must be a list of values such as [n/a, unknown], got "
     "'test@test.com'"},
    {"blocklist invalid value", "blocklist: {email: [not-an-email]}\n" MINIMAL, UF_ERR_CONFIG,
     "1:21", "blocklist value 'not-an-email' is not a valid email value"},
    {"survivorship unknown rule", "survivorship: {email: [newest]}\n" MINIMAL, UF_ERR_CONFIG,
     "1:24", "rules of 'email' in 'survivorship' must be one of: source_priority, most_recent, "
     "most_frequent, most_complete; got 'newest'"},
    {"survivorship unknown kind", "survivorship: {emial: [most_recent]}\n" MINIMAL, UF_ERR_CONFIG,
     "1:16", "unknown kind 'emial' in 'survivorship'"},
    {"survivorship rule twice", "survivorship: {default: [most_recent, most_recent]}\n" MINIMAL,
     UF_ERR_CONFIG, "1:39", "rule 'most_recent' is listed twice for 'default' in 'survivorship'"},
    {"survivorship not a list", "survivorship: {city: most_recent}\n" MINIMAL, UF_ERR_CONFIG,
     "1:22", "'city' in 'survivorship' must be a list of 1 to 4 rules"},
    {"unknown country", "defaults: {country: XX}\n" MINIMAL, UF_ERR_CONFIG, "1:21",
     "unknown country 'XX' for 'country' in 'defaults'"},
    {"country not a code", "defaults: {country: USA}\n" MINIMAL, UF_ERR_CONFIG, "1:21",
     "must be a two-letter ISO 3166 country code"},
    {"sources empty", STORE "sources: []\n", UF_ERR_CONFIG, "2:10",
     "'sources' must list at least one source"},
    {"sources a map", STORE "sources: {crm: {}}\n", UF_ERR_CONFIG, "2:10",
     "'sources' must be a list of sources"},
    {"source not a map", STORE "sources:\n  - crm.csv\n", UF_ERR_CONFIG, "3:5",
     "source #1 must be a mapping with name, path, format, key and fields, got 'crm.csv'"},
    {"context not a list", STORE SOURCE_HEAD "    context: segment\n" FIELDS, UF_ERR_CONFIG,
     "7:14", "'context' in source 'crm' must be a list of column names"},
    {"context item not a string", STORE SOURCE_HEAD "    context: [a, [b]]\n" FIELDS,
     UF_ERR_CONFIG, "7:18",
     "each item of 'context' in source 'crm' must be a string, got a list"},
    {"context repeated", STORE SOURCE_HEAD "    context: [a, b, a]\n" FIELDS, UF_ERR_CONFIG,
     "7:21", "column 'a' is listed twice in 'context' in source 'crm'"},
    {"null required string", "store:\n  path: ~\n" SOURCE_HEAD FIELDS, UF_ERR_CONFIG, "2:9",
     "'path' in 'store' must be a string, got nothing"},
    {"empty required string", "store: {path: ''}\n" SOURCE_HEAD FIELDS, UF_ERR_CONFIG, "1:15",
     "'path' in 'store' must not be empty"},
    {"root is a list", "- store\n- sources\n", UF_ERR_CONFIG, "1:1",
     "the configuration must be a mapping"},
    {"yaml syntax error", STORE "sources:\n  - name: crm\n   path: crm.csv\n", UF_ERR_CONFIG,
     "4:4", "YAML syntax error: did not find expected '-' indicator"},
    {"yaml unclosed flow", "store: {path: store\n" SOURCE_HEAD FIELDS, UF_ERR_CONFIG, "2:8",
     "YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping that "
     "starts at line 1, column 8)"},
    {"invalid utf-8", "store: {path: \xff}\n" SOURCE_HEAD FIELDS, UF_ERR_CONFIG, "1:15",
     "invalid text"},
    {"second document", MINIMAL "---\nthreads: 1\n", UF_ERR_CONFIG, "9:1",
     "unexpected second YAML document"},
    {"empty file", "", UF_ERR_CONFIG, "1:1", "the configuration is empty"},
    {"comments only", "# nothing here yet\n", UF_ERR_CONFIG, "1:1",
     "the configuration is empty"},
};

/* Every row, each in its own folder; a failing row does not hide the ones after it. */
Test(config, bad_configurations)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        tmp_config t;
        tmp_make(&t, c->yaml);
        uf_config *cfg = (uf_config *)&t; /* must be reset to NULL */
        uf_error err;
        int rc = uf_config_load(t.path, &cfg, &err);
        cr_expect_null(cfg, "[%s] no config on failure", c->name);
        uf_config_free(rc == UF_OK ? cfg : NULL);
        tmp_remove(&t);
        cr_expect_eq(rc, c->code, "[%s] rc %d, message: %s", c->name, rc, rc == UF_OK ? "" : err.message);
        if (rc != c->code)
            continue;
        cr_expect_eq(err.code, c->code, "[%s]", c->name);
        char prefix[200];
        snprintf(prefix, sizeof prefix, "%s:%s: ", t.path, c->where);
        cr_expect(strncmp(err.message, prefix, strlen(prefix)) == 0,
                  "[%s] expected the message to start with '%s', got: %s", c->name, prefix, err.message);
        cr_expect(strstr(err.message, c->phrase) != NULL,
                  "[%s] expected the message to contain \"%s\", got: %s", c->name, c->phrase, err.message);
    }
}
