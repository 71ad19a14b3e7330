/*
 * test_link.c — deterministic linking and its over-merge guards.
 *
 * Each scenario builds a uf_config and a uf_record_table by hand (the
 * linker reads only the kinds' strength and limits, the guard settings and
 * the records' cmp fields), links, and checks clusters, edges and counters.
 * Scenarios follow the product's stories: a shared household landline, a
 * family tablet with anonymous installs, duplicate CRM accounts, chains of
 * weak links, junk identifiers; then properties: exact counters, spanning
 * forest, ordering, and independence from ref order and thread count.
 */
#include "link.h"
#include "sort.h"
#include "unionfind.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

/* ---- fixture ------------------------------------------------------------ */

/* Kind indices: the ten built-ins first (email, phone, names, ...), then namespaces. */
enum {
    K_EMAIL = UF_KIND_EMAIL,         /* strong */
    K_PHONE = UF_KIND_PHONE,         /* weak: household landlines */
    K_CRM = UF_KIND_BUILTIN_COUNT,   /* strong, at most 1 per profile */
    K_DEVICE,                        /* weak: family tablets */
    K_LOYALTY,                       /* strong */
    K_COUNT
};

#define MAX_RECORDS 64
#define MAX_REFS 512

typedef struct fixture {
    uf_config config;
    uf_kind_config kinds[K_COUNT];
    uf_record records[MAX_RECORDS];
    uf_record_compare cmp[MAX_RECORDS];
    unsigned char blobs[MAX_RECORDS][64];
    size_t record_count;
    uf_identifier_ref refs[MAX_REFS];
    size_t ref_count;
    uf_record_table table;
    uf_clustering clustering;
    uf_linker *linker;
} fixture;

static const char *const kind_names[K_COUNT] = {
    "email", "phone", "first_name", "last_name", "full_name", "dob", "address", "city", "postcode",
    "country", "crm_id", "device_id", "loyalty_card"};

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    for (int k = 0; k < K_COUNT; k++) {
        f->kinds[k].name = (char *)kind_names[k];
        f->kinds[k].is_identifier = k == K_EMAIL || k == K_PHONE || k >= K_CRM;
        f->kinds[k].strength = (k == K_PHONE || k == K_DEVICE) ? UF_STRENGTH_WEAK : UF_STRENGTH_STRONG;
    }
    f->kinds[K_CRM].max_per_profile = 1;
    f->config.kinds = f->kinds;
    f->config.kind_count = K_COUNT;
    f->config.guards.max_records_per_identifier = 50;
    f->config.guards.weak_link_requires = UF_AGREE_NAME_AND_DOB;
    f->config.guards.profile_limit_override = UF_AGREE_NAME_AND_DOB;
}

static uint64_t name_hash(const char *name)
{
    return name ? XXH3_64bits(name, strlen(name)) : 0;
}

/* Add a record; names may be NULL and dob 0 (missing). Returns its id. */
static uf_record_id add_record(fixture *f, const char *first, const char *last, uint32_t dob)
{
    cr_assert_lt(f->record_count, MAX_RECORDS);
    uf_record_id id = (uf_record_id)f->record_count++;
    char key[32];
    snprintf(key, sizeof key, "r%u", id);
    uf_blob_builder b;
    uf_blob_begin(&b, uf_slice_cstr(key));
    /* Raw text as an export would have it ("Anna"), so the blob stores both. */
    char raw[32];
    if (first) {
        snprintf(raw, sizeof raw, "%c%s", first[0] - 'a' + 'A', first + 1);
        uf_blob_add_attr(&b, UF_KIND_FIRST_NAME, uf_slice_cstr(first), uf_slice_cstr(raw));
    }
    if (last) {
        snprintf(raw, sizeof raw, "%c%s", last[0] - 'a' + 'A', last + 1);
        uf_blob_add_attr(&b, UF_KIND_LAST_NAME, uf_slice_cstr(last), uf_slice_cstr(raw));
    }
    size_t len = uf_blob_finish(&b);
    cr_assert_leq(len, sizeof f->blobs[id]);
    memcpy(f->blobs[id], b.buf, len);
    uf_record *r = &f->records[id];
    r->blob = f->blobs[id];
    r->blob_len = (uint32_t)len;
    f->cmp[id].first_name = name_hash(first);
    f->cmp[id].last_name = name_hash(last);
    f->cmp[id].dob = dob;
    return id;
}

static uf_key test_key(int kind, const char *value)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, "%s%c%s", kind_names[kind], 0, value);
    XXH128_hash_t h = XXH3_128bits(buf, (size_t)n);
    uf_key key = {h.high64, h.low64};
    return key;
}

static void add_ref(fixture *f, uf_record_id record, int kind, const char *value)
{
    cr_assert_lt(f->ref_count, MAX_REFS);
    uf_identifier_ref *r = &f->refs[f->ref_count++];
    memset(r, 0, sizeof *r);
    r->key = test_key(kind, value);
    r->record = record;
    r->kind = (uint16_t)kind;
}

/* Link identifiers and finish; asserts success. */
static void run(fixture *f, int threads)
{
    f->table.records = f->records;
    f->table.cmp = f->cmp;
    f->table.count = f->record_count;
    f->table.identifiers = f->refs;
    f->table.identifier_count = f->ref_count;
    uf_error err = {0};
    f->linker = uf_linker_new(&f->config, &f->table, &err);
    cr_assert_not_null(f->linker, "%s", err.message);
    cr_assert_eq(uf_linker_link_identifiers(f->linker, &f->table, threads, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_linker_finish(f->linker, &f->clustering, &err), UF_OK, "%s", err.message);
}

static void fixture_free(fixture *f)
{
    uf_clustering_free(&f->clustering);
    uf_linker_free(f->linker);
    f->linker = NULL;
}

static bool together(const fixture *f, uf_record_id a, uf_record_id b)
{
    return f->clustering.cluster_of[a] == f->clustering.cluster_of[b];
}

static const uf_link_stats *stats(const fixture *f)
{
    return uf_linker_stats(f->linker);
}

/* Invariants every clustering must satisfy. */
static void check_clustering_shape(const fixture *f)
{
    const uf_clustering *c = &f->clustering;
    cr_assert_eq(c->record_count, f->record_count);
    cr_assert_eq(c->edge_count, c->record_count - c->cluster_count, "edges must form a spanning forest");
    cr_assert_eq(c->member_start[0], 0);
    cr_assert_eq(c->member_start[c->cluster_count], c->record_count);
    for (size_t k = 0; k < c->cluster_count; k++) {
        uint32_t s = c->member_start[k], e = c->member_start[k + 1];
        cr_assert_lt(s, e, "cluster %zu is empty", k);
        if (k > 0) /* clusters numbered by smallest member */
            cr_assert_gt(c->members[s], c->members[c->member_start[k - 1]]);
        for (uint32_t i = s; i < e; i++) {
            cr_assert_eq(c->cluster_of[c->members[i]], k);
            if (i > s)
                cr_assert_gt(c->members[i], c->members[i - 1], "members ascending");
        }
    }
    /* Replaying the edges alone rebuilds exactly the clusters. */
    uf_unionfind uf;
    cr_assert_eq(uf_unionfind_init(&uf, c->record_count), UF_OK);
    for (size_t i = 0; i < c->edge_count; i++) {
        const uf_link_edge *e = &c->edges[i];
        cr_assert_eq(c->cluster_of[e->a], c->cluster_of[e->b]);
        cr_assert_neq(uf_unionfind_find(&uf, e->a), uf_unionfind_find(&uf, e->b), "edge %zu closes a cycle", i);
        uf_unionfind_union(&uf, e->a, e->b);
    }
    for (size_t r = 0; r < c->record_count; r++)
        cr_assert_eq(uf_unionfind_find(&uf, (uint32_t)r),
                     uf_unionfind_find(&uf, c->members[c->member_start[c->cluster_of[r]]]));
    uf_unionfind_free(&uf);
    /* Counter identities. */
    const uf_link_stats *s = stats(f);
    uint64_t by_rule = 0, refused_rule = 0, refused_kind = 0;
    for (int r = 1; r < UF_LINK_RULE_SLOTS; r++) {
        by_rule += s->links_by_rule[r];
        refused_rule += s->refused_by_rule[r];
    }
    for (int k = 0; k < UF_MAX_KINDS; k++)
        refused_kind += s->refused_disagree[k] + s->refused_profile_limit[k];
    cr_assert_eq(by_rule, c->edge_count);
    cr_assert_eq(refused_rule, refused_kind);
}

/* ---- strong links and junk ---------------------------------------------- */

Test(link, strong_identifiers_join)
{
    fixture f;
    fixture_init(&f);
    uf_record_id a = add_record(&f, "anna", "smith", 19800101);
    uf_record_id b = add_record(&f, NULL, NULL, 0);
    uf_record_id c = add_record(&f, "bob", "jones", 19700101);
    uf_record_id d = add_record(&f, "anna", "smith", 0);
    add_ref(&f, a, K_EMAIL, "anna@example.com");
    add_ref(&f, b, K_EMAIL, "anna@example.com");
    add_ref(&f, b, K_LOYALTY, "L-1");
    add_ref(&f, d, K_LOYALTY, "L-1");
    add_ref(&f, c, K_EMAIL, "bob@example.com");
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert(together(&f, a, b));
    cr_assert(together(&f, a, d), "transitive through b");
    cr_assert_not(together(&f, a, c));
    cr_assert_eq(f.clustering.cluster_count, 2);
    cr_assert_eq(stats(&f)->links[K_EMAIL], 1);
    cr_assert_eq(stats(&f)->links[K_LOYALTY], 1);
    cr_assert_eq(stats(&f)->links_by_rule[UF_RULE_STRONG_IDENTIFIER], 2);
    cr_assert_eq(stats(&f)->distinct_identifiers, 3);
    /* The edges explain the links: which records, which identifier. */
    bool seen_email = false;
    for (size_t i = 0; i < f.clustering.edge_count; i++) {
        const uf_link_edge *e = &f.clustering.edges[i];
        cr_assert_eq(e->rule, UF_RULE_STRONG_IDENTIFIER);
        if (e->kind == K_EMAIL) {
            seen_email = true;
            cr_assert(uf_key_equal(e->key, test_key(K_EMAIL, "anna@example.com")));
            cr_assert_eq(e->a, a);
            cr_assert_eq(e->b, b);
        }
    }
    cr_assert(seen_email);
    fixture_free(&f);
}

/* Records 0..n-1 share one e-mail; records n..2n share another. */
static void junk_scenario(fixture *f, size_t n)
{
    for (size_t i = 0; i < 2 * n + 1; i++) {
        uf_record_id r = add_record(f, NULL, NULL, 0);
        add_ref(f, r, K_EMAIL, i < n ? "shop@example.com" : "info@example.com");
    }
}

Test(link, junk_by_frequency_suppressed_above_limit_not_at_limit)
{
    fixture f;
    fixture_init(&f);
    f.config.guards.max_records_per_identifier = 3;
    junk_scenario(&f, 3); /* shop@: 3 records (at limit), info@: 4 records (limit + 1) */
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert(together(&f, 0, 2), "exactly at the limit: linked");
    for (uf_record_id r = 4; r < 7; r++)
        cr_assert_not(together(&f, 3, r), "above the limit: suppressed");
    cr_assert_eq(f.clustering.cluster_count, 1 + 4);
    cr_assert_eq(stats(&f)->junk_keys[K_EMAIL], 1);
    cr_assert_eq(stats(&f)->junk_refs[K_EMAIL], 4);
    cr_assert_eq(stats(&f)->distinct_identifiers, 2);
    cr_assert_eq(f.clustering.junk_count, 1);
    cr_assert(uf_key_equal(f.clustering.junk[0].key, test_key(K_EMAIL, "info@example.com")));
    cr_assert_eq(f.clustering.junk[0].records, 4);
    cr_assert_eq(f.clustering.junk[0].kind, K_EMAIL);
    fixture_free(&f);
}

Test(link, kind_max_records_overrides_default_limit)
{
    fixture f;
    fixture_init(&f);
    f.config.guards.max_records_per_identifier = 100;
    f.kinds[K_EMAIL].max_records = 2;
    junk_scenario(&f, 2); /* 2 records linked, 3 records junk */
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert(together(&f, 0, 1));
    cr_assert_not(together(&f, 2, 3));
    cr_assert_eq(stats(&f)->junk_keys[K_EMAIL], 1);
    cr_assert_eq(stats(&f)->junk_refs[K_EMAIL], 3);
    fixture_free(&f);
}

Test(link, junk_keys_do_not_count_toward_profile_limit)
{
    fixture f;
    fixture_init(&f);
    f.config.guards.max_records_per_identifier = 2;
    uf_record_id a = add_record(&f, "anna", "smith", 19800101);
    uf_record_id b = add_record(&f, "bob", "jones", 19700101);
    uf_record_id c = add_record(&f, "carl", "brown", 19600101);
    uf_record_id a2 = add_record(&f, "anna", "smith", 0);
    /* A placeholder CRM id on three records: junk, so it must not block a + a2. */
    add_ref(&f, a2, K_CRM, "000");
    add_ref(&f, b, K_CRM, "000");
    add_ref(&f, c, K_CRM, "000");
    add_ref(&f, a, K_CRM, "C-1");
    add_ref(&f, a, K_EMAIL, "anna@example.com");
    add_ref(&f, a2, K_EMAIL, "anna@example.com");
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert(together(&f, a, a2));
    cr_assert_not(together(&f, b, c));
    cr_assert_eq(stats(&f)->refused_profile_limit[K_CRM], 0);
    cr_assert_eq(stats(&f)->junk_keys[K_CRM], 1);
    fixture_free(&f);
}

/* ---- weak identifiers --------------------------------------------------- */

Test(link, household_landline_does_not_join_different_people)
{
    fixture f;
    fixture_init(&f);
    uf_record_id anna = add_record(&f, "anna", "smith", 19800101);
    uf_record_id bob = add_record(&f, "bob", "smith", 19750505);
    uf_record_id carl1 = add_record(&f, "carl", "jones", 19900303);
    uf_record_id carl2 = add_record(&f, "carl", "jones", 19900303);
    add_ref(&f, anna, K_PHONE, "+15550001");
    add_ref(&f, bob, K_PHONE, "+15550001");
    add_ref(&f, carl1, K_PHONE, "+15550002");
    add_ref(&f, carl2, K_PHONE, "+15550002");
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert_not(together(&f, anna, bob), "household landline joined two people");
    cr_assert(together(&f, carl1, carl2), "the same person's two records must join");
    cr_assert_eq(stats(&f)->refused_disagree[K_PHONE], 1);
    cr_assert_eq(stats(&f)->links[K_PHONE], 1);
    cr_assert_eq(stats(&f)->refused_by_rule[UF_RULE_WEAK_IDENTIFIER], 1);
    cr_assert_eq(stats(&f)->links_by_rule[UF_RULE_WEAK_IDENTIFIER], 1);
    fixture_free(&f);
}

/* Father and son: same name, different dates of birth, one landline. */
static void father_and_son(fixture *f)
{
    uf_record_id father = add_record(f, "john", "smith", 19500101);
    uf_record_id son = add_record(f, "john", "smith", 19800101);
    add_ref(f, father, K_PHONE, "+15550003");
    add_ref(f, son, K_PHONE, "+15550003");
}

Test(link, weak_guard_name_and_dob_separates_same_name_different_dob)
{
    fixture f;
    fixture_init(&f);
    father_and_son(&f);
    run(&f, 1);
    cr_assert_not(together(&f, 0, 1));
    cr_assert_eq(stats(&f)->refused_disagree[K_PHONE], 1);
    fixture_free(&f);
}

Test(link, weak_guard_name_only_ignores_dob)
{
    fixture f;
    fixture_init(&f);
    f.config.guards.weak_link_requires = UF_AGREE_NAME;
    father_and_son(&f);
    run(&f, 1);
    cr_assert(together(&f, 0, 1));
    cr_assert_eq(stats(&f)->refused_disagree[K_PHONE], 0);
    fixture_free(&f);
}

Test(link, weak_guard_name_checks_last_name_too)
{
    fixture f;
    fixture_init(&f);
    f.config.guards.weak_link_requires = UF_AGREE_NAME;
    uf_record_id a = add_record(&f, "anna", "smith", 19800101);
    uf_record_id b = add_record(&f, "anna", "jones", 19800101);
    add_ref(&f, a, K_PHONE, "+15550001");
    add_ref(&f, b, K_PHONE, "+15550001");
    run(&f, 1);
    cr_assert_not(together(&f, a, b), "same first name, different last name");
    cr_assert_eq(stats(&f)->refused_disagree[K_PHONE], 1);
    fixture_free(&f);
}

Test(link, weak_guard_none_links_household)
{
    fixture f;
    fixture_init(&f);
    f.config.guards.weak_link_requires = UF_AGREE_NONE;
    uf_record_id anna = add_record(&f, "anna", "smith", 19800101);
    uf_record_id bob = add_record(&f, "bob", "smith", 19750505);
    add_ref(&f, anna, K_PHONE, "+15550001");
    add_ref(&f, bob, K_PHONE, "+15550001");
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert(together(&f, anna, bob));
    cr_assert_eq(stats(&f)->refused_by_rule[UF_RULE_WEAK_IDENTIFIER], 0);
    fixture_free(&f);
}

Test(link, family_device_joins_anonymous_installs_not_family_members)
{
    fixture f;
    fixture_init(&f);
    /* Record ids fix the pair order: install(0)-anna(1) first, then bob. */
    uf_record_id install = add_record(&f, NULL, NULL, 0);
    uf_record_id anna = add_record(&f, "anna", "smith", 19800101);
    uf_record_id bob = add_record(&f, "bob", "smith", 19750505);
    uf_record_id install2 = add_record(&f, NULL, NULL, 0);
    add_ref(&f, install, K_DEVICE, "tablet-1");
    add_ref(&f, anna, K_DEVICE, "tablet-1");
    add_ref(&f, bob, K_DEVICE, "tablet-1");
    /* A second device seen only by two anonymous installs and anna's e-mail record. */
    add_ref(&f, install2, K_DEVICE, "phone-9");
    add_ref(&f, anna, K_DEVICE, "phone-9");
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert(together(&f, install, anna), "missing names are neutral");
    cr_assert(together(&f, install2, anna));
    cr_assert_not(together(&f, anna, bob));
    cr_assert_not(together(&f, install, bob), "the install already belongs to anna's cluster");
    /* Pairs of tablet-1: (install,anna) linked, (install,bob) refused, (anna,bob) refused. */
    cr_assert_eq(stats(&f)->refused_disagree[K_DEVICE], 2);
    cr_assert_eq(stats(&f)->links[K_DEVICE], 2);
    fixture_free(&f);
}

Test(link, weak_pairs_link_agreeing_members_when_first_disagrees)
{
    fixture f;
    fixture_init(&f);
    uf_record_id bob = add_record(&f, "bob", "smith", 19750505);
    uf_record_id anna1 = add_record(&f, "anna", "smith", 19800101);
    uf_record_id anna2 = add_record(&f, "anna", "smith", 19800101);
    add_ref(&f, bob, K_PHONE, "+15550001");
    add_ref(&f, anna1, K_PHONE, "+15550001");
    add_ref(&f, anna2, K_PHONE, "+15550001");
    run(&f, 1);
    cr_assert(together(&f, anna1, anna2), "a star from bob would have missed this pair");
    cr_assert_not(together(&f, bob, anna1));
    fixture_free(&f);
}

Test(link, strong_links_run_before_weak_ones)
{
    fixture f;
    fixture_init(&f);
    /* anon shares a weak phone with anna's sister; only after the strong
     * e-mail link carries anna's name into anon's cluster can the guard see
     * the disagreement. Key order alone would have phone before e-mail or
     * not: strong-first must hold either way. */
    uf_record_id anon = add_record(&f, NULL, NULL, 0);
    uf_record_id sister = add_record(&f, "beth", "smith", 19820202);
    uf_record_id anna = add_record(&f, "anna", "smith", 19800101);
    add_ref(&f, anon, K_PHONE, "+15550001");
    add_ref(&f, sister, K_PHONE, "+15550001");
    add_ref(&f, anon, K_EMAIL, "anna@example.com");
    add_ref(&f, anna, K_EMAIL, "anna@example.com");
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert(together(&f, anon, anna));
    cr_assert_not(together(&f, anon, sister));
    cr_assert_eq(stats(&f)->refused_disagree[K_PHONE], 1);
    fixture_free(&f);
}

/* ---- per-profile limits ------------------------------------------------- */

/* Two CRM accounts sharing an e-mail, with the given second person. */
static void two_crm_accounts(fixture *f, const char *first2, uint32_t dob2)
{
    uf_record_id a = add_record(f, "anna", "smith", 19800101);
    uf_record_id b = add_record(f, first2, "smith", dob2);
    add_ref(f, a, K_CRM, "C-1");
    add_ref(f, b, K_CRM, "C-2");
    add_ref(f, a, K_EMAIL, "smith.family@example.com");
    add_ref(f, b, K_EMAIL, "smith.family@example.com");
}

Test(link, duplicate_crm_account_of_same_person_merges)
{
    fixture f;
    fixture_init(&f);
    two_crm_accounts(&f, "anna", 19800101);
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert(together(&f, 0, 1), "names and dob agree: duplicate account");
    cr_assert_eq(stats(&f)->refused_profile_limit[K_CRM], 0);
    fixture_free(&f);
}

Test(link, two_crm_ids_refused_when_dob_differs)
{
    fixture f;
    fixture_init(&f);
    two_crm_accounts(&f, "anna", 19850505);
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert_not(together(&f, 0, 1));
    cr_assert_eq(stats(&f)->refused_profile_limit[K_CRM], 1);
    cr_assert_eq(stats(&f)->refused_by_rule[UF_RULE_STRONG_IDENTIFIER], 1);
    cr_assert_eq(stats(&f)->refused_disagree[K_EMAIL], 0, "strong links face no name check");
    fixture_free(&f);
}

Test(link, two_crm_ids_refused_when_names_missing)
{
    fixture f;
    fixture_init(&f);
    two_crm_accounts(&f, NULL, 0);
    run(&f, 1);
    cr_assert_not(together(&f, 0, 1), "override needs positive agreement, not absence of disagreement");
    fixture_free(&f);
}

Test(link, profile_override_name_accepts_different_dob)
{
    fixture f;
    fixture_init(&f);
    f.config.guards.profile_limit_override = UF_AGREE_NAME;
    two_crm_accounts(&f, "anna", 19850505);
    run(&f, 1);
    cr_assert(together(&f, 0, 1));
    fixture_free(&f);
}

Test(link, profile_override_name_needs_first_name_on_both_sides)
{
    fixture f;
    fixture_init(&f);
    f.config.guards.profile_limit_override = UF_AGREE_NAME;
    two_crm_accounts(&f, NULL, 19800101); /* last name and dob agree, first name missing */
    run(&f, 1);
    cr_assert_not(together(&f, 0, 1));
    cr_assert_eq(stats(&f)->refused_profile_limit[K_CRM], 1);
    fixture_free(&f);
}

Test(link, profile_override_none_refuses_even_agreeing_duplicates)
{
    fixture f;
    fixture_init(&f);
    f.config.guards.profile_limit_override = UF_AGREE_NONE;
    two_crm_accounts(&f, "anna", 19800101);
    run(&f, 1);
    cr_assert_not(together(&f, 0, 1));
    cr_assert_eq(stats(&f)->refused_profile_limit[K_CRM], 1);
    fixture_free(&f);
}

Test(link, profile_limit_off_when_kind_unlimited)
{
    fixture f;
    fixture_init(&f);
    f.kinds[K_CRM].max_per_profile = 0;
    two_crm_accounts(&f, "bob", 19700101);
    run(&f, 1);
    cr_assert(together(&f, 0, 1), "no limit configured: the shared e-mail links");
    fixture_free(&f);
}

Test(link, overridden_profile_still_takes_records_without_new_keys)
{
    fixture f;
    fixture_init(&f);
    two_crm_accounts(&f, "anna", 19800101); /* 0 + 1 merged: holds C-1 and C-2 */
    uf_record_id web = add_record(&f, NULL, NULL, 0);
    uf_record_id pos = add_record(&f, "anna", "smith", 0);
    add_ref(&f, web, K_EMAIL, "smith.family@example.com"); /* no CRM id */
    add_ref(&f, pos, K_CRM, "C-2");                        /* a key it has */
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert(together(&f, 0, web));
    cr_assert(together(&f, 0, pos));
    cr_assert_eq(f.clustering.cluster_count, 1);
    cr_assert_eq(stats(&f)->refused_by_rule[UF_RULE_STRONG_IDENTIFIER], 0);
    fixture_free(&f);
}

Test(link, many_accounts_of_one_person_and_a_stranger)
{
    fixture f;
    fixture_init(&f);
    /* Four CRM accounts of one person (more keys than a summary holds
     * inline), then a stranger sharing the family e-mail. */
    const char *ids[] = {"C-1", "C-2", "C-3", "C-4"};
    for (int i = 0; i < 4; i++) {
        uf_record_id r = add_record(&f, "anna", "smith", 19800101);
        add_ref(&f, r, K_CRM, ids[i]);
        add_ref(&f, r, K_EMAIL, "smith.family@example.com");
    }
    uf_record_id stranger = add_record(&f, "anna", "smith", 19990909);
    add_ref(&f, stranger, K_CRM, "C-9");
    add_ref(&f, stranger, K_EMAIL, "smith.family@example.com");
    run(&f, 1);
    check_clustering_shape(&f);
    for (uf_record_id r = 1; r < 4; r++)
        cr_assert(together(&f, 0, r));
    cr_assert_not(together(&f, 0, stranger));
    cr_assert_eq(stats(&f)->refused_profile_limit[K_CRM], 1);
    fixture_free(&f);
}

Test(link, limits_count_per_kind)
{
    fixture f;
    fixture_init(&f);
    f.kinds[K_LOYALTY].max_per_profile = 2;
    f.config.guards.profile_limit_override = UF_AGREE_NONE;
    /* One e-mail on three records holding loyalty cards L-1, L-2, L-3 and
     * one CRM id between them: two cards fit, the third does not; the CRM
     * id (limit 1) is never exceeded. */
    uf_record_id a = add_record(&f, NULL, NULL, 0);
    uf_record_id b = add_record(&f, NULL, NULL, 0);
    uf_record_id c = add_record(&f, NULL, NULL, 0);
    add_ref(&f, a, K_LOYALTY, "L-1");
    add_ref(&f, b, K_LOYALTY, "L-2");
    add_ref(&f, c, K_LOYALTY, "L-3");
    add_ref(&f, b, K_CRM, "C-1");
    add_ref(&f, c, K_CRM, "C-1");
    for (uf_record_id r = a; r <= c; r++)
        add_ref(&f, r, K_EMAIL, "shared@example.com");
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert_eq(f.clustering.cluster_count, 2);
    /* Whichever key sorts first, two tries meet a cluster holding the other
     * two cards: both refused. */
    cr_assert_eq(stats(&f)->refused_profile_limit[K_LOYALTY], 2);
    cr_assert_eq(stats(&f)->refused_profile_limit[K_CRM], 0);
    fixture_free(&f);
}

Test(link, shared_limited_key_counts_once)
{
    fixture f;
    fixture_init(&f);
    f.kinds[K_LOYALTY].max_per_profile = 2;
    f.config.guards.profile_limit_override = UF_AGREE_NONE;
    /* a and b share card L-1 (one key, held twice); c brings L-2: two
     * distinct cards, within the limit of 2. */
    uf_record_id a = add_record(&f, NULL, NULL, 0);
    uf_record_id b = add_record(&f, NULL, NULL, 0);
    uf_record_id c = add_record(&f, NULL, NULL, 0);
    add_ref(&f, a, K_LOYALTY, "L-1");
    add_ref(&f, b, K_LOYALTY, "L-1");
    add_ref(&f, c, K_LOYALTY, "L-2");
    add_ref(&f, b, K_DEVICE, "tablet");
    add_ref(&f, c, K_DEVICE, "tablet");
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert_eq(f.clustering.cluster_count, 1);
    cr_assert_eq(stats(&f)->refused_by_rule[UF_RULE_WEAK_IDENTIFIER], 0);
    fixture_free(&f);
}

Test(link, weak_chain_cannot_bridge_two_crm_customers)
{
    fixture f;
    fixture_init(&f);
    /* anna(C-1) -tablet- install -phone- anna2(C-2, no dob). Each weak step
     * passes the name guard (missing dob is neutral), but the second would
     * put two CRM ids in one profile without positive dob agreement. */
    uf_record_id anna = add_record(&f, "anna", "smith", 19800101);
    uf_record_id install = add_record(&f, NULL, NULL, 0);
    uf_record_id anna2 = add_record(&f, "anna", "smith", 0);
    add_ref(&f, anna, K_CRM, "C-1");
    add_ref(&f, anna2, K_CRM, "C-2");
    add_ref(&f, anna, K_DEVICE, "tablet-1");
    add_ref(&f, install, K_DEVICE, "tablet-1");
    add_ref(&f, install, K_PHONE, "+15550009");
    add_ref(&f, anna2, K_PHONE, "+15550009");
    run(&f, 1);
    check_clustering_shape(&f);
    /* Which side the install joins depends on which key sorts first. */
    cr_assert(together(&f, anna, install) != together(&f, anna2, install));
    cr_assert_not(together(&f, anna, anna2), "weak chain bridged two CRM customers");
    cr_assert_eq(stats(&f)->refused_profile_limit[K_CRM], 1);
    cr_assert_eq(stats(&f)->refused_disagree[K_PHONE] + stats(&f)->refused_disagree[K_DEVICE], 0);
    fixture_free(&f);
}

Test(link, weak_chain_of_anonymous_records_cannot_bridge_different_people)
{
    fixture f;
    fixture_init(&f);
    /* anna -dev1- anon1 -dev2- anon2 -dev3- bob: both anonymous steps are
     * free, the last meets anna's name in the cluster and is refused. */
    uf_record_id anna = add_record(&f, "anna", "smith", 19800101);
    uf_record_id anon1 = add_record(&f, NULL, NULL, 0);
    uf_record_id anon2 = add_record(&f, NULL, NULL, 0);
    uf_record_id bob = add_record(&f, "bob", "jones", 19700101);
    add_ref(&f, anna, K_DEVICE, "dev1");
    add_ref(&f, anon1, K_DEVICE, "dev1");
    add_ref(&f, anon1, K_DEVICE, "dev2");
    add_ref(&f, anon2, K_DEVICE, "dev2");
    add_ref(&f, anon2, K_DEVICE, "dev3");
    add_ref(&f, bob, K_DEVICE, "dev3");
    run(&f, 1);
    check_clustering_shape(&f);
    cr_assert_not(together(&f, anna, bob));
    cr_assert_eq(stats(&f)->refused_disagree[K_DEVICE], 1);
    fixture_free(&f);
}

/* ---- the guarded union for other evidence ------------------------------- */

Test(link, scored_union_faces_limit_guard_not_weak_guard)
{
    fixture f;
    fixture_init(&f);
    uf_record_id jon = add_record(&f, "jon", "smith", 19800101);
    uf_record_id john = add_record(&f, "john", "smith", 19800101);
    uf_record_id c1 = add_record(&f, "anna", "jones", 19800101);
    uf_record_id c2 = add_record(&f, "anne", "jones", 19800101);
    add_ref(&f, c1, K_CRM, "C-1");
    add_ref(&f, c2, K_CRM, "C-2");
    f.table.records = f.records;
    f.table.cmp = f.cmp;
    f.table.count = f.record_count;
    f.table.identifiers = f.refs;
    f.table.identifier_count = f.ref_count;
    uf_error err;
    f.linker = uf_linker_new(&f.config, &f.table, &err);
    cr_assert_not_null(f.linker);
    cr_assert_eq(uf_linker_link_identifiers(f.linker, &f.table, 1, &err), UF_OK);
    uf_key none = {0, 0};
    cr_assert(uf_linker_try_union(f.linker, jon, john, UF_RULE_SCORED, UF_LINK_NO_KIND, none, 12.5f),
              "fuzzy names are the matcher's call");
    cr_assert(uf_linker_same_cluster(f.linker, jon, john));
    cr_assert_not(uf_linker_try_union(f.linker, c1, c2, UF_RULE_SCORED, UF_LINK_NO_KIND, none, 30.0f),
                  "two CRM ids without name agreement");
    cr_assert(uf_linker_try_union(f.linker, john, jon, UF_RULE_SCORED, UF_LINK_NO_KIND, none, 1.0f),
              "already together counts as linked");
    const uf_link_stats *s = uf_linker_stats(f.linker);
    cr_assert_eq(s->links_by_rule[UF_RULE_SCORED], 1);
    cr_assert_eq(s->refused_by_rule[UF_RULE_SCORED], 1);
    cr_assert_eq(s->already_linked_by_rule[UF_RULE_SCORED], 1);
    cr_assert_eq(s->refused_profile_limit[K_CRM], 1);
    cr_assert_eq(uf_linker_finish(f.linker, &f.clustering, &err), UF_OK);
    check_clustering_shape(&f);
    cr_assert_eq(f.clustering.edge_count, 1);
    cr_assert_eq(f.clustering.edges[0].rule, UF_RULE_SCORED);
    cr_assert_eq(f.clustering.edges[0].kind, UF_LINK_NO_KIND);
    cr_assert_float_eq(f.clustering.edges[0].weight, 12.5f, 1e-6);
    fixture_free(&f);
}

Test(link, invalid_union_makes_linker_fail)
{
    fixture f;
    fixture_init(&f);
    add_record(&f, "anna", "smith", 0);
    add_record(&f, "anna", "smith", 0);
    f.table.records = f.records;
    f.table.cmp = f.cmp;
    f.table.count = f.record_count;
    uf_error err;
    f.linker = uf_linker_new(&f.config, &f.table, &err);
    cr_assert_not_null(f.linker);
    uf_key none = {0, 0};
    cr_assert_not(uf_linker_try_union(f.linker, 0, 7, UF_RULE_SCORED, UF_LINK_NO_KIND, none, 1.0f));
    cr_assert_not(uf_linker_try_union(f.linker, 0, 1, UF_RULE_SCORED, UF_LINK_NO_KIND, none, 1.0f),
                  "a failed linker refuses everything");
    cr_assert_eq(uf_linker_finish(f.linker, &f.clustering, &err), UF_ERR_INVALID);
    cr_assert_null(f.clustering.cluster_of);
    fixture_free(&f);
}

Test(link, identifiers_must_be_linked_first_and_once)
{
    fixture f;
    fixture_init(&f);
    add_record(&f, "anna", "smith", 0);
    add_record(&f, "anna", "smith", 0);
    f.table.records = f.records;
    f.table.cmp = f.cmp;
    f.table.count = f.record_count;
    uf_error err;
    f.linker = uf_linker_new(&f.config, &f.table, &err);
    uf_key none = {0, 0};
    cr_assert(uf_linker_try_union(f.linker, 0, 1, UF_RULE_SCORED, UF_LINK_NO_KIND, none, 1.0f));
    cr_assert_eq(uf_linker_link_identifiers(f.linker, &f.table, 1, &err), UF_ERR_INVALID,
                 "limited keys would be missing from the summaries already built");
    uf_linker_free(f.linker);

    f.linker = uf_linker_new(&f.config, &f.table, &err);
    cr_assert_eq(uf_linker_link_identifiers(f.linker, &f.table, 1, &err), UF_OK);
    cr_assert_eq(uf_linker_link_identifiers(f.linker, &f.table, 1, &err), UF_ERR_INVALID);
    fixture_free(&f);
}

Test(link, rejects_refs_of_non_identifier_kind_or_unknown_record)
{
    fixture f;
    fixture_init(&f);
    add_record(&f, "anna", "smith", 0);
    add_ref(&f, 0, UF_KIND_FIRST_NAME, "anna");
    f.table.records = f.records;
    f.table.cmp = f.cmp;
    f.table.count = f.record_count;
    f.table.identifiers = f.refs;
    f.table.identifier_count = f.ref_count;
    uf_error err;
    f.linker = uf_linker_new(&f.config, &f.table, &err);
    cr_assert_eq(uf_linker_link_identifiers(f.linker, &f.table, 1, &err), UF_ERR_INVALID);
    cr_assert(strstr(err.message, "kind") != NULL, "%s", err.message);
    uf_linker_free(f.linker);

    f.refs[0].kind = K_EMAIL;
    f.refs[0].record = 5;
    f.linker = uf_linker_new(&f.config, &f.table, &err);
    cr_assert_eq(uf_linker_link_identifiers(f.linker, &f.table, 1, &err), UF_ERR_INVALID);
    cr_assert(strstr(err.message, "record") != NULL, "%s", err.message);
    fixture_free(&f);
}

Test(link, empty_table)
{
    fixture f;
    fixture_init(&f);
    run(&f, 2);
    cr_assert_eq(f.clustering.cluster_count, 0);
    cr_assert_eq(f.clustering.edge_count, 0);
    cr_assert_eq(f.clustering.member_start[0], 0);
    fixture_free(&f);
}

/* ---- exact counters ----------------------------------------------------- */

Test(link, stats_counts_exact)
{
    fixture f;
    fixture_init(&f);
    f.config.guards.max_records_per_identifier = 3;
    uf_record_id anna = add_record(&f, "anna", "smith", 19800101);   /* 0 */
    uf_record_id anna_web = add_record(&f, NULL, "smith", 0);         /* 1 */
    uf_record_id bob = add_record(&f, "bob", "smith", 19750505);      /* 2 */
    uf_record_id anna_crm2 = add_record(&f, "anna", "smith", 19810101); /* 3 */
    uf_record_id x = add_record(&f, NULL, NULL, 0);                   /* 4 */
    uf_record_id y = add_record(&f, NULL, NULL, 0);                   /* 5 */
    add_ref(&f, anna, K_EMAIL, "anna@example.com");
    add_ref(&f, anna_web, K_EMAIL, "anna@example.com");
    add_ref(&f, anna_web, K_EMAIL, "anna@example.com"); /* duplicate (key, record) */
    add_ref(&f, anna, K_CRM, "C-1");
    add_ref(&f, anna_crm2, K_CRM, "C-2");
    add_ref(&f, anna_crm2, K_EMAIL, "anna@example.com"); /* refused: 2 CRM ids, dob differs */
    add_ref(&f, anna, K_PHONE, "+1555");
    add_ref(&f, bob, K_PHONE, "+1555"); /* refused: names disagree */
    /* junk: 4 records share one loyalty card */
    add_ref(&f, anna, K_LOYALTY, "0000");
    add_ref(&f, bob, K_LOYALTY, "0000");
    add_ref(&f, x, K_LOYALTY, "0000");
    add_ref(&f, y, K_LOYALTY, "0000");
    add_ref(&f, x, K_DEVICE, "d1");
    add_ref(&f, y, K_DEVICE, "d1");
    run(&f, 1);
    check_clustering_shape(&f);
    const uf_link_stats *s = stats(&f);
    cr_assert_eq(s->identifier_refs, 13);
    cr_assert_eq(s->duplicate_refs, 1);
    cr_assert_eq(f.table.identifier_count, 13, "duplicates collapsed in the table");
    cr_assert_eq(s->distinct_identifiers, 6); /* email, C-1, C-2, phone, loyalty, d1 */
    cr_assert_eq(s->junk_keys[K_LOYALTY], 1);
    cr_assert_eq(s->junk_refs[K_LOYALTY], 4);
    cr_assert_eq(s->links[K_EMAIL], 1);
    cr_assert_eq(s->links[K_DEVICE], 1);
    cr_assert_eq(s->links[K_PHONE], 0);
    cr_assert_eq(s->links_by_rule[UF_RULE_STRONG_IDENTIFIER], 1);
    cr_assert_eq(s->links_by_rule[UF_RULE_WEAK_IDENTIFIER], 1);
    cr_assert_eq(s->refused_profile_limit[K_CRM], 1);
    cr_assert_eq(s->refused_disagree[K_PHONE], 1);
    cr_assert_eq(s->refused_by_rule[UF_RULE_STRONG_IDENTIFIER], 1);
    cr_assert_eq(s->refused_by_rule[UF_RULE_WEAK_IDENTIFIER], 1);
    cr_assert_eq(s->already_linked_by_rule[UF_RULE_STRONG_IDENTIFIER], 0);
    for (int k = 0; k < UF_MAX_KINDS; k++) {
        if (k != K_LOYALTY) {
            cr_assert_eq(s->junk_keys[k], 0);
            cr_assert_eq(s->junk_refs[k], 0);
        }
        if (k != K_CRM)
            cr_assert_eq(s->refused_profile_limit[k], 0);
    }
    cr_assert_eq(f.clustering.cluster_count, 4); /* {0,1} {2} {3} {4,5} */
    cr_assert(together(&f, anna, anna_web));
    cr_assert(together(&f, x, y));
    cr_assert_eq(f.clustering.cluster_of[anna], 0);
    cr_assert_eq(f.clustering.cluster_of[bob], 1);
    cr_assert_eq(f.clustering.cluster_of[anna_crm2], 2);
    cr_assert_eq(f.clustering.cluster_of[x], 3);
    fixture_free(&f);
}

/* ---- determinism on a generated population ------------------------------ */

/*
 * A population of households: people with names/dobs, CRM ids, e-mails,
 * duplicate accounts, shared landlines and tablets, anonymous installs and
 * junk values — big enough (> 65 536 refs) for the parallel sort path.
 */
typedef struct population {
    uf_config config;
    uf_kind_config kinds[K_COUNT];
    uf_record *records;
    uf_record_compare *cmp;
    size_t record_count;
    uf_identifier_ref *refs;
    size_t ref_count;
} population;

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void pop_ref(population *p, uf_record_id r, int kind, uint64_t value)
{
    uf_identifier_ref *ref = &p->refs[p->ref_count++];
    memset(ref, 0, sizeof *ref);
    char buf[40];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)value);
    ref->key = test_key(kind, buf);
    ref->record = r;
    ref->kind = (uint16_t)kind;
}

static void population_build(population *p, size_t households)
{
    memset(p, 0, sizeof *p);
    fixture f; /* borrow the kind setup */
    fixture_init(&f);
    memcpy(p->kinds, f.kinds, sizeof p->kinds);
    p->config = f.config;
    p->config.kinds = p->kinds;
    p->config.guards.max_records_per_identifier = 20;
    size_t max_records = households * 16;
    p->records = calloc(max_records, sizeof *p->records);
    p->cmp = calloc(max_records, sizeof *p->cmp);
    p->refs = calloc(max_records * 8, sizeof *p->refs);
    cr_assert(p->records && p->cmp && p->refs);
    uint64_t rng = 12345;
    uint64_t person = 0;
    for (size_t h = 0; h < households; h++) {
        uint64_t landline = 1000000 + h;
        uint64_t tablet = 2000000 + h;
        int people = 1 + (int)(next_random(&rng) % 3);
        for (int i = 0; i < people; i++, person++) {
            uint64_t first = 1 + next_random(&rng) % 40; /* common first names collide */
            uint64_t last = 1000 + h % 500;
            uint32_t dob = (uint32_t)(19400101 + (next_random(&rng) % 60) * 10000);
            int recs = 1 + (int)(next_random(&rng) % 4);
            for (int k = 0; k < recs; k++) {
                uf_record_id r = (uf_record_id)p->record_count++;
                bool anonymous = next_random(&rng) % 5 == 0;
                if (!anonymous) {
                    p->cmp[r].first_name = first * 7919;
                    p->cmp[r].last_name = last * 104729;
                    p->cmp[r].dob = next_random(&rng) % 3 ? dob : 0;
                }
                uint64_t roll = next_random(&rng);
                if (!anonymous && roll % 3 == 0)
                    pop_ref(p, r, K_CRM, person * 2 + (roll % 7 == 0)); /* sometimes a 2nd account */
                if (roll % 2 == 0)
                    pop_ref(p, r, K_EMAIL, person);
                if (roll % 5 < 2)
                    pop_ref(p, r, K_PHONE, landline);
                if (roll % 4 == 1)
                    pop_ref(p, r, K_DEVICE, tablet);
                if (roll % 11 == 0)
                    pop_ref(p, r, K_LOYALTY, 7); /* junk: a shop's own card */
                if (roll % 13 == 0)
                    pop_ref(p, r, K_EMAIL, person); /* duplicate ref */
            }
        }
    }
}

static void population_free(population *p)
{
    free(p->records);
    free(p->cmp);
    free(p->refs);
}

/* Refs are checked in slices on several threads: the error still names the first bad ref, whichever slice has it. */
Test(link, reports_the_first_bad_ref_on_threads)
{
    population p;
    population_build(&p, 2000);
    cr_assert_gt(p.ref_count, 8192, "enough refs to check in slices");
    uf_record_table table = {.records = p.records, .cmp = p.cmp, .count = p.record_count};
    size_t late = p.ref_count - 10, early = p.ref_count / 2 + 7;
    struct {
        size_t at[2];
        bool bad_kind;
        const char *want;
    } cases[] = {
        {{late, late}, false, "names record"},          /* last slice only */
        {{late, early}, true, "not an identifier kind"}, /* the earlier one is named */
        {{3, late}, false, "names record"},              /* first slice */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uf_identifier_ref *refs = malloc(p.ref_count * sizeof *refs);
        cr_assert(refs);
        memcpy(refs, p.refs, p.ref_count * sizeof *refs);
        refs[cases[c].at[0]].record = (uf_record_id)p.record_count + 5;
        if (cases[c].bad_kind)
            refs[cases[c].at[1]].kind = UF_KIND_CITY;
        else
            refs[cases[c].at[1]].record = (uf_record_id)p.record_count;
        size_t first = cases[c].at[0] < cases[c].at[1] ? cases[c].at[0] : cases[c].at[1];
        char want_ref[64];
        snprintf(want_ref, sizeof want_ref, "identifier ref %zu ", first);
        for (int threads = 1; threads <= 3; threads++) {
            table.identifiers = refs;
            table.identifier_count = p.ref_count;
            uf_error err;
            uf_linker *l = uf_linker_new(&p.config, &table, &err);
            cr_assert_not_null(l);
            cr_assert_eq(uf_linker_link_identifiers(l, &table, threads, &err), UF_ERR_INVALID);
            cr_expect(strstr(err.message, want_ref) && strstr(err.message, cases[c].want), "case %zu, %d threads: %s",
                      c, threads, err.message);
            uf_linker_free(l);
        }
        free(refs);
    }
    population_free(&p);
}

typedef struct outcome {
    uf_clustering c;
    uf_link_stats stats;
} outcome;

static void link_population(const population *p, const uf_identifier_ref *refs, int threads, outcome *out)
{
    uf_identifier_ref *copy = malloc(p->ref_count * sizeof *copy);
    cr_assert(copy);
    memcpy(copy, refs, p->ref_count * sizeof *copy);
    uf_record_table table = {p->records, p->record_count, copy, p->ref_count, p->cmp};
    uf_error err;
    uf_linker *l = uf_linker_new(&p->config, &table, &err);
    cr_assert_not_null(l);
    cr_assert_eq(uf_linker_link_identifiers(l, &table, threads, &err), UF_OK, "%s", err.message);
    cr_assert_eq(uf_linker_finish(l, &out->c, &err), UF_OK, "%s", err.message);
    out->stats = *uf_linker_stats(l);
    uf_linker_free(l);
    free(copy);
}

static void assert_same_outcome(const outcome *a, const outcome *b)
{
    cr_assert_eq(a->c.cluster_count, b->c.cluster_count);
    cr_assert_eq(memcmp(a->c.cluster_of, b->c.cluster_of, a->c.record_count * sizeof *a->c.cluster_of), 0);
    cr_assert_eq(memcmp(a->c.members, b->c.members, a->c.record_count * sizeof *a->c.members), 0);
    cr_assert_eq(a->c.edge_count, b->c.edge_count);
    for (size_t i = 0; i < a->c.edge_count; i++) {
        const uf_link_edge *x = &a->c.edges[i], *y = &b->c.edges[i];
        cr_assert(x->a == y->a && x->b == y->b && uf_key_equal(x->key, y->key) && x->kind == y->kind &&
                      x->rule == y->rule,
                  "edge %zu differs", i);
    }
    cr_assert_eq(a->c.junk_count, b->c.junk_count);
    for (size_t i = 0; i < a->c.junk_count; i++)
        cr_assert(uf_key_equal(a->c.junk[i].key, b->c.junk[i].key) && a->c.junk[i].records == b->c.junk[i].records &&
                      a->c.junk[i].kind == b->c.junk[i].kind,
                  "junk identifier %zu differs", i);
    cr_assert_eq(memcmp(&a->stats, &b->stats, sizeof a->stats), 0, "stats differ");
}

Test(link, shuffled_refs_and_threads_give_identical_clustering, .timeout = 60)
{
    population p;
    population_build(&p, 14000);
    cr_assert_gt(p.ref_count, 65536, "too small to exercise the parallel sort");
    outcome base;
    link_population(&p, p.refs, 1, &base);

    /* The guards must have had work to do, or this proves little. */
    uint64_t refused = 0;
    for (int r = 1; r < UF_LINK_RULE_SLOTS; r++)
        refused += base.stats.refused_by_rule[r];
    cr_assert_gt(refused, 100);
    cr_assert_gt(base.stats.links_by_rule[UF_RULE_WEAK_IDENTIFIER], 100);
    cr_assert_gt(base.stats.junk_keys[K_LOYALTY], 0);
    cr_assert_gt(base.stats.duplicate_refs, 0);
    cr_assert_eq(base.c.edge_count, base.c.record_count - base.c.cluster_count);

    uint64_t rng = 99;
    for (int round = 0; round < 3; round++) {
        uf_identifier_ref *shuffled = malloc(p.ref_count * sizeof *shuffled);
        memcpy(shuffled, p.refs, p.ref_count * sizeof *shuffled);
        for (size_t i = p.ref_count - 1; i > 0; i--) {
            size_t j = next_random(&rng) % (i + 1);
            uf_identifier_ref t = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = t;
        }
        outcome other;
        link_population(&p, shuffled, 1 + round, &other);
        assert_same_outcome(&base, &other);
        uf_clustering_free(&other.c);
        free(shuffled);
    }
    uf_clustering_free(&base.c);
    population_free(&p);
}

Test(link, population_guards_hold)
{
    population p;
    population_build(&p, 3000);
    outcome o;
    link_population(&p, p.refs, 2, &o);
    /* No cluster holds two records with different first names, or two
     * different CRM ids without agreeing name and dob on some records
     * (the weak guard and the limit guard, checked from the outside). */
    const uf_clustering *c = &o.c;
    size_t largest = 0;
    for (size_t k = 0; k < c->cluster_count; k++) {
        size_t size = c->member_start[k + 1] - c->member_start[k];
        if (size > largest)
            largest = size;
    }
    cr_assert_lt(largest, 40, "a giant cluster formed (%zu records)", largest);
    uf_clustering_free(&o.c);
    population_free(&p);
}

/*
 * Identifier linking on several threads hands the linker back in the same
 * state as the serial loop: later scored unions (which reuse its summary
 * slots, free lists and edge list) give the same clusters, edges and stats.
 */
static void link_then_score(const population *p, int threads, outcome *out)
{
    uf_identifier_ref *copy = malloc(p->ref_count * sizeof *copy);
    cr_assert(copy);
    memcpy(copy, p->refs, p->ref_count * sizeof *copy);
    uf_record_table table = {p->records, p->record_count, copy, p->ref_count, p->cmp};
    uf_error err;
    uf_linker *l = uf_linker_new(&p->config, &table, &err);
    cr_assert_not_null(l);
    cr_assert_eq(uf_linker_link_identifiers(l, &table, threads, &err), UF_OK, "%s", err.message);
    uf_key none = {0, 0};
    uint64_t rng = 7;
    size_t accepted = 0;
    for (int i = 0; i < 20000; i++) {
        uf_record_id a = (uf_record_id)(next_random(&rng) % p->record_count);
        uf_record_id b = (uf_record_id)(next_random(&rng) % p->record_count);
        if (a != b && !uf_linker_same_cluster(l, a, b) &&
            uf_linker_try_union(l, a, b, UF_RULE_SCORED, UF_LINK_NO_KIND, none, (float)(i % 17)))
            accepted++;
    }
    cr_assert_gt(accepted, 100);
    cr_assert_eq(uf_linker_finish(l, &out->c, &err), UF_OK, "%s", err.message);
    out->stats = *uf_linker_stats(l);
    uf_linker_free(l);
    free(copy);
}

Test(link, scored_unions_after_parallel_identifier_linking_match_serial, .timeout = 60)
{
    population p;
    population_build(&p, 6000);
    outcome serial, parallel;
    link_then_score(&p, 1, &serial);
    link_then_score(&p, 2, &parallel);
    assert_same_outcome(&serial, &parallel);
    for (size_t i = 0; i < serial.c.edge_count; i++)
        cr_assert_eq(serial.c.edges[i].weight, parallel.c.edges[i].weight, "edge %zu differs", i);
    cr_assert_eq(serial.c.edge_count, serial.c.record_count - serial.c.cluster_count);
    uf_clustering_free(&serial.c);
    uf_clustering_free(&parallel.c);
    population_free(&p);
}
