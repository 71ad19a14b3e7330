/*
 * test_profile_codec.c — the binary profile format on its own: hand-built
 * profiles render to the exact JSON, hostile strings come out escaped as
 * uf_json_string escapes them, and truncated, corrupt or foreign bytes give
 * a clear error (UF_ERR_STORE), never a crash or a read outside the value
 * (the sanitizer build runs these too). The round trip through survive is
 * covered by test_survive.c, whose JSON is encode + render.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "profile_codec.h"
#include "run_links.h"

#define T0 INT64_C(1767225600) /* 2026-01-01T00:00:00Z */

/* Kinds: 0 first_name, 1 email (identifier), 2 crm_id (identifier). Sources crm, web (context newsletter, updated_at), pos (context last_purchase). */
static uf_profile_schema *test_schema(uf_buf *bytes)
{
    static const char *const kinds[] = {"first_name", "email", "crm_id"};
    static const unsigned char flags[] = {0, UF_PROFILE_KIND_IDENTIFIER, UF_PROFILE_KIND_IDENTIFIER};
    static const unsigned attributes[] = {0, 1};
    static const unsigned identifiers[] = {1, 2};
    static const char *const sources[] = {"crm", "web", "pos"};
    static const size_t columns[] = {0, 2, 1};
    static const char *const web_columns[] = {"newsletter", "updated_at"};
    static const char *const pos_columns[] = {"last_purchase"};
    static const char *const *const column_names[] = {NULL, web_columns, pos_columns};
    uf_profile_schema_desc d = {3, kinds, flags, 2, attributes, 2, identifiers, 3, sources, columns, column_names};
    uf_buf local;
    uf_buf *b = bytes ? bytes : &local;
    uf_buf_init(b);
    uf_error err = {0};
    cr_assert_eq(uf_profile_schema_encode(&d, b, &err), UF_OK, "%s", err.message);
    uf_profile_schema *s = NULL;
    cr_assert_eq(uf_profile_schema_parse(b->data, b->len, &s, &err), UF_OK, "%s", err.message);
    cr_assert(uf_profile_schema_same(s, b->data, b->len));
    if (!bytes)
        uf_buf_free(b);
    return s;
}

static const uf_slice NONE = {NULL, 0};

/* A profile using every part of the format. */
static void sample_profile(uf_buf *b)
{
    uint64_t all = 7, crm = 1, web = 2, crm_web = 3;
    uf_profile_writer w;
    uf_buf_init(b);
    uf_profile_begin(&w, b, T0, &all, 1);
    uf_profile_kind(&w, 0, 2);
    uf_profile_candidate(&w, uf_slice_cstr("Robert"), NONE, &crm_web, 1, 2, T0 - 86400);
    uf_profile_candidate(&w, uf_slice_cstr("Bob"), NONE, &web, 1, 1, UF_PROFILE_TIME_UNKNOWN);
    uf_profile_kind(&w, 1, 1);
    uf_profile_candidate(&w, uf_slice_cstr("Bob@X.com"), uf_slice_cstr("bob@x.com"), &crm, 1, 1, T0);
    uf_profile_records(&w, 3);
    uf_profile_record(&w, 0, uf_slice_cstr("C1"), T0);
    uf_profile_record(&w, 1, uf_slice_cstr("W\"1"), T0 - 86400);
    uf_profile_record(&w, 2, uf_slice_cstr("P1"), UF_PROFILE_TIME_UNKNOWN);
    uint64_t web_present = 1; /* newsletter only; updated_at shadows the time */
    uf_slice web_values[2] = {uf_slice_cstr("yes"), NONE};
    uf_profile_context(&w, 1, T0 - 86400, &web_present, 1, web_values);
    uint64_t pos_present = 0;
    uf_profile_context(&w, 2, T0 - 3600, &pos_present, 1, NULL);
    uf_profile_end(&w);
    cr_assert(!b->failed);
}

static const char sample_json[] =
    "{\"golden_id\":\"G000000042\",\"updated_at\":\"2026-01-01T00:00:00Z\",\"channels\":[\"crm\",\"web\",\"pos\"],"
    "\"attributes\":{\"first_name\":{\"value\":\"Robert\",\"sources\":[\"crm\",\"web\"],\"count\":2,"
    "\"last_seen\":\"2025-12-31T00:00:00Z\",\"alternatives\":[{\"value\":\"Bob\",\"sources\":[\"web\"],\"count\":1}]},"
    "\"email\":{\"value\":\"Bob@X.com\"}},"
    "\"identifiers\":{\"email\":[{\"value\":\"Bob@X.com\",\"normalized\":\"bob@x.com\",\"sources\":[\"crm\"],"
    "\"count\":1,\"last_seen\":\"2026-01-01T00:00:00Z\"}]},"
    "\"records\":[{\"source\":\"crm\",\"key\":\"C1\",\"updated_at\":\"2026-01-01T00:00:00Z\"},"
    "{\"source\":\"web\",\"key\":\"W\\\"1\",\"updated_at\":\"2025-12-31T00:00:00Z\"},{\"source\":\"pos\",\"key\":\"P1\"}],"
    "\"context\":{\"web\":{\"newsletter\":\"yes\"},\"pos\":{\"updated_at\":\"2025-12-31T23:00:00Z\"}}}";

Test(codec, hand_built_profile_renders_exactly)
{
    uf_profile_schema *s = test_schema(NULL);
    uf_buf bin, out;
    sample_profile(&bin);
    uf_buf_init(&out);
    uf_error err = {0};
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len, uf_slice_cstr("G000000042"), &out, &err), UF_OK, "%s",
                 err.message);
    cr_assert_str_eq(uf_buf_cstr(&out), sample_json);
    /* Compact: a fraction of the JSON. */
    cr_assert_lt(bin.len * 100, out.len * 40, "binary %zu bytes, JSON %zu", bin.len, out.len);
    /* Appends after what the buffer holds. */
    uf_buf_reset(&out);
    uf_buf_puts(&out, "X");
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len, uf_slice_cstr("G000000042"), &out, &err), UF_OK);
    cr_assert_eq(out.len, sizeof sample_json);
    cr_assert_eq(memcmp(out.data + 1, sample_json, sizeof sample_json - 1), 0);
    uf_buf_free(&bin);
    uf_buf_free(&out);
    uf_profile_schema_free(s);
}

Test(codec, minimal_profile_and_unknown_times)
{
    uf_profile_schema *s = test_schema(NULL);
    uf_buf bin, out;
    uf_buf_init(&bin);
    uf_buf_init(&out);
    uint64_t none = 0;
    uf_profile_writer w;
    /* Out of range years are stored as unknown (JSON omits both alike). */
    uf_profile_begin(&w, &bin, INT64_C(253402300800), &none, 1);
    uf_profile_records(&w, 0);
    uf_profile_end(&w);
    uf_error err = {0};
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len, uf_slice_cstr("G1"), &out, &err), UF_OK, "%s", err.message);
    cr_assert_str_eq(uf_buf_cstr(&out), "{\"golden_id\":\"G1\",\"channels\":[],\"attributes\":{},\"identifiers\":{},"
                                        "\"records\":[],\"context\":{}}");
    uf_buf_free(&bin);
    uf_buf_free(&out);
    uf_profile_schema_free(s);
}

Test(codec, caps_and_truncation_counts)
{
    uf_profile_schema *s = test_schema(NULL);
    uf_buf bin, out;
    uf_buf_init(&bin);
    uf_buf_init(&out);
    uint64_t crm = 1;
    uf_profile_writer w;
    uf_profile_begin(&w, &bin, T0, &crm, 1);
    uf_profile_kind(&w, 0, 53); /* 50 stored, 3 left out */
    for (int i = 0; i < UF_PROFILE_MAX_ALTERNATIVES; i++) {
        char v[16];
        snprintf(v, sizeof v, "n%02d", i);
        uf_profile_candidate(&w, uf_slice_cstr(v), NONE, &crm, 1, 1, T0);
    }
    uf_profile_kind(&w, 2, UF_PROFILE_MAX_IDENTIFIERS + 7);
    for (int i = 0; i < UF_PROFILE_MAX_IDENTIFIERS; i++) {
        char v[16];
        snprintf(v, sizeof v, "C%03d", i);
        uf_profile_candidate(&w, uf_slice_cstr(v), NONE, &crm, 1, 1, T0);
    }
    uf_profile_records(&w, UF_PROFILE_MAX_RECORDS + 5);
    for (int i = 0; i < UF_PROFILE_MAX_RECORDS; i++)
        uf_profile_record(&w, 0, uf_slice_cstr("k"), T0);
    uf_profile_end(&w);
    uf_error err = {0};
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len, uf_slice_cstr("G1"), &out, &err), UF_OK, "%s", err.message);
    const char *json = uf_buf_cstr(&out);
    cr_assert(strstr(json, "\"alternatives_truncated\":3}"), "%s", json);
    cr_assert(strstr(json, "\"identifiers_truncated\":{\"crm_id\":7}"));
    cr_assert(strstr(json, "\"records_truncated\":5,"));
    cr_assert(strstr(json, "n49") && !strstr(json, "n50"));
    /* One byte short: an error, and nothing appended. */
    uf_buf_reset(&out);
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len - 1, uf_slice_cstr("G1"), &out, &err), UF_ERR_STORE);
    cr_assert_eq(out.len, 0);
    uf_buf_free(&bin);
    uf_buf_free(&out);
    uf_profile_schema_free(s);
}

Test(codec, hostile_strings_escape_like_uf_json_string)
{
    static const char *const hostile[] = {
        "quote \" backslash \\ slash /",
        "control \x01\x02\x1f tab\t nl\n cr\r",
        "invalid \xff\xfe utf8 \xc3 and \xe2\x82 cut",
        "overlong \xc0\xaf surrogate \xed\xa0\x80 big \xf4\x90\x80\x80",
        "fine: \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        "",
        "12345678\"12345678",
    };
    uf_profile_schema *s = test_schema(NULL);
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        uf_slice v = uf_slice_cstr(hostile[i]);
        uf_slice with_nul = uf_slice_make("a\0b", 3);
        uf_buf bin, out, want;
        uf_buf_init(&bin);
        uf_buf_init(&out);
        uf_buf_init(&want);
        uint64_t crm = 1;
        uf_profile_writer w;
        uf_profile_begin(&w, &bin, T0, &crm, 1);
        uf_profile_kind(&w, 1, 1);
        uf_profile_candidate(&w, v, with_nul, &crm, 1, 1, T0);
        uf_profile_records(&w, 1);
        uf_profile_record(&w, 0, v, T0);
        uf_profile_end(&w);
        uf_error err = {0};
        cr_assert_eq(uf_profile_render(s, bin.data, bin.len, v, &out, &err), UF_OK, "%s", err.message);
        /* Every occurrence is escaped exactly as uf_json_string does. */
        uf_buf_puts(&want, "{\"golden_id\":");
        uf_json_string(&want, v);
        uf_buf_puts(&want, ",\"updated_at\":\"2026-01-01T00:00:00Z\",\"channels\":[\"crm\"],\"attributes\":{\"email\":{\"value\":");
        uf_json_string(&want, v);
        uf_buf_puts(&want, "}},\"identifiers\":{\"email\":[{\"value\":");
        uf_json_string(&want, v);
        uf_buf_puts(&want, ",\"normalized\":\"a\\u0000b\",\"sources\":[\"crm\"],\"count\":1,\"last_seen\":"
                           "\"2026-01-01T00:00:00Z\"}]},\"records\":[{\"source\":\"crm\",\"key\":");
        uf_json_string(&want, v);
        uf_buf_puts(&want, ",\"updated_at\":\"2026-01-01T00:00:00Z\"}],\"context\":{}}");
        cr_assert_str_eq(uf_buf_cstr(&out), uf_buf_cstr(&want), "case %zu", i);
        uf_buf_free(&bin);
        uf_buf_free(&out);
        uf_buf_free(&want);
    }
    uf_profile_schema_free(s);
}

Test(codec, every_truncation_is_an_error)
{
    uf_profile_schema *s = test_schema(NULL);
    uf_buf bin, out;
    sample_profile(&bin);
    uf_buf_init(&out);
    for (size_t n = 0; n < bin.len; n++) {
        /* A copy of exactly n bytes, so the sanitizer sees any read past it. */
        char *cut = malloc(n ? n : 1);
        memcpy(cut, bin.data, n);
        uf_error err = {0};
        uf_buf_reset(&out);
        cr_assert_eq(uf_profile_render(s, cut, n, uf_slice_cstr("G1"), &out, &err), UF_ERR_STORE, "length %zu", n);
        cr_assert_eq(out.len, 0);
        cr_assert(strstr(err.message, "profile"), "%s", err.message);
        free(cut);
    }
    /* Trailing bytes are corruption too. */
    uf_buf_putc(&bin, 0);
    uf_error err = {0};
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len, uf_slice_cstr("G1"), &out, &err), UF_ERR_STORE);
    uf_buf_free(&bin);
    uf_buf_free(&out);
    uf_profile_schema_free(s);
}

Test(codec, corrupt_bytes_never_crash)
{
    uf_profile_schema *s = test_schema(NULL);
    uf_buf bin, out;
    sample_profile(&bin);
    uf_buf_init(&out);
    unsigned seed = 12345;
    size_t ok = 0, bad = 0;
    for (int round = 0; round < 20000; round++) {
        char *copy = malloc(bin.len);
        memcpy(copy, bin.data, bin.len);
        int flips = 1 + round % 3;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % bin.len;
            seed = seed * 1103515245u + 12345u;
            copy[at] = (char)(seed >> 16);
        }
        uf_buf_reset(&out);
        uf_error err = {0};
        int rc = uf_profile_render(s, copy, bin.len, uf_slice_cstr("G1"), &out, &err);
        cr_assert(rc == UF_OK || rc == UF_ERR_STORE, "rc %d", rc);
        if (rc == UF_OK)
            ok++;
        else
            bad++;
        free(copy);
    }
    cr_assert_gt(bad, 0);
    cr_log_info("corrupt profiles: %zu rendered, %zu refused", ok, bad);
    /* Pure garbage, of every small length. */
    for (size_t n = 0; n < 64; n++) {
        char *g = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            g[i] = (char)(0xff - i);
        if (n)
            g[0] = UF_PROFILE_CODEC_VERSION;
        uf_error err = {0};
        uf_buf_reset(&out);
        int rc = uf_profile_render(s, g, n, uf_slice_cstr("G1"), &out, &err);
        cr_assert(rc == UF_OK || rc == UF_ERR_STORE);
        free(g);
    }
    uf_buf_free(&bin);
    uf_buf_free(&out);
    uf_profile_schema_free(s);
}

Test(codec, version_bytes_are_checked)
{
    uf_buf schema_bytes, bin, out;
    uf_profile_schema *s = test_schema(&schema_bytes);
    sample_profile(&bin);
    uf_buf_init(&out);
    uf_error err = {0};
    bin.data[0] = UF_PROFILE_CODEC_VERSION + 1;
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len, uf_slice_cstr("G1"), &out, &err), UF_ERR_STORE);
    cr_assert(strstr(err.message, "version"), "%s", err.message);
    cr_assert_eq(out.len, 0);
    /* A JSON profile of format 1 is not mistaken for binary. */
    cr_assert_eq(uf_profile_render(s, "{\"golden_id\"", 12, uf_slice_cstr("G1"), &out, &err), UF_ERR_STORE);
    cr_assert_eq(uf_profile_render(s, "", 0, uf_slice_cstr("G1"), &out, &err), UF_ERR_STORE);
    /* No schema. */
    bin.data[0] = UF_PROFILE_CODEC_VERSION;
    cr_assert_eq(uf_profile_render(NULL, bin.data, bin.len, uf_slice_cstr("G1"), &out, &err), UF_ERR_STORE);
    cr_assert(strstr(err.message, "schema"), "%s", err.message);

    /* The schema: its version, every truncation, trailing bytes. */
    uf_profile_schema *t = NULL;
    schema_bytes.data[0] = UF_PROFILE_SCHEMA_VERSION + 1;
    cr_assert_eq(uf_profile_schema_parse(schema_bytes.data, schema_bytes.len, &t, &err), UF_ERR_STORE);
    cr_assert(strstr(err.message, "version"), "%s", err.message);
    cr_assert_null(t);
    schema_bytes.data[0] = UF_PROFILE_SCHEMA_VERSION;
    for (size_t n = 0; n < schema_bytes.len; n++) {
        char *cut = malloc(n ? n : 1);
        memcpy(cut, schema_bytes.data, n);
        cr_assert_eq(uf_profile_schema_parse(cut, n, &t, &err), UF_ERR_STORE, "length %zu", n);
        cr_assert_null(t);
        free(cut);
    }
    uf_buf_putc(&schema_bytes, 'x');
    cr_assert_eq(uf_profile_schema_parse(schema_bytes.data, schema_bytes.len, &t, &err), UF_ERR_STORE);
    cr_assert(!uf_profile_schema_same(s, schema_bytes.data, schema_bytes.len));
    uf_buf_free(&schema_bytes);
    uf_buf_free(&bin);
    uf_buf_free(&out);
    uf_profile_schema_free(s);
}

Test(codec, profile_indices_are_checked_against_the_schema)
{
    uf_profile_schema *s = test_schema(NULL);
    uf_buf bin, out;
    uf_buf_init(&out);
    uf_error err = {0};
    uint64_t crm = 1, fourth = 8;
    uf_profile_writer w;
    /* A source the schema does not have. */
    uf_buf_init(&bin);
    uf_profile_begin(&w, &bin, T0, &fourth, 1);
    uf_profile_records(&w, 0);
    uf_profile_end(&w);
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len, uf_slice_cstr("G1"), &out, &err), UF_ERR_STORE);
    uf_buf_free(&bin);
    /* A kind the schema does not have. */
    uf_buf_init(&bin);
    uf_profile_begin(&w, &bin, T0, &crm, 1);
    uf_profile_kind(&w, 3, 1);
    uf_profile_candidate(&w, uf_slice_cstr("x"), NONE, &crm, 1, 1, T0);
    uf_profile_records(&w, 0);
    uf_profile_end(&w);
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len, uf_slice_cstr("G1"), &out, &err), UF_ERR_STORE);
    uf_buf_free(&bin);
    /* Kinds out of order, and a context column beyond the source's. */
    uf_buf_init(&bin);
    uf_profile_begin(&w, &bin, T0, &crm, 1);
    uf_profile_kind(&w, 1, 1);
    uf_profile_candidate(&w, uf_slice_cstr("x"), NONE, &crm, 1, 1, T0);
    uf_profile_kind(&w, 0, 1);
    uf_profile_candidate(&w, uf_slice_cstr("x"), NONE, &crm, 1, 1, T0);
    uf_profile_records(&w, 0);
    uf_profile_end(&w);
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len, uf_slice_cstr("G1"), &out, &err), UF_ERR_STORE);
    uf_buf_free(&bin);
    uf_buf_init(&bin);
    uf_profile_begin(&w, &bin, T0, &crm, 1);
    uf_profile_records(&w, 0);
    uint64_t second = 2;
    uf_slice values[2] = {NONE, uf_slice_cstr("v")};
    uf_profile_context(&w, 2, T0, &second, 1, values); /* pos has one column */
    uf_profile_end(&w);
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len, uf_slice_cstr("G1"), &out, &err), UF_ERR_STORE);
    cr_assert_eq(out.len, 0);
    uf_buf_free(&bin);
    uf_buf_free(&out);
    uf_profile_schema_free(s);
}

/*
 * Bit sets wider than one word: the encoder packs seven bits per byte
 * word-wise, and groups straddle word boundaries (bits 63-69, 126-132, ...).
 * A source with 200 context columns, some present around every boundary,
 * must render exactly those columns with their own values, and the set's
 * bytes must be the LEB128 of the bits, lowest seven first.
 */
Test(codec, wide_context_sets_round_trip)
{
    enum { COLUMNS = 200 };
    static const size_t present_columns[] = {0, 6, 7, 56, 57, 62, 63, 64, 69, 70, 125, 126, 127, 128, 132, 190, 199};
    char names[COLUMNS][8];
    const char *column_ptrs[COLUMNS];
    for (size_t i = 0; i < COLUMNS; i++) {
        snprintf(names[i], sizeof names[i], "c%zu", i);
        column_ptrs[i] = names[i];
    }
    static const char *const kinds[] = {"first_name"};
    static const unsigned char flags[] = {0};
    static const unsigned attributes[] = {0};
    static const char *const sources[] = {"wide"};
    const size_t columns[] = {COLUMNS};
    const char *const *column_names[] = {column_ptrs};
    uf_profile_schema_desc d = {1, kinds, flags, 1, attributes, 0, NULL, 1, sources, columns, column_names};
    uf_buf schema_bytes, bin, out, want;
    uf_buf_init(&schema_bytes);
    uf_error err = {0};
    cr_assert_eq(uf_profile_schema_encode(&d, &schema_bytes, &err), UF_OK, "%s", err.message);
    uf_profile_schema *s = NULL;
    cr_assert_eq(uf_profile_schema_parse(schema_bytes.data, schema_bytes.len, &s, &err), UF_OK, "%s", err.message);

    uint64_t present[4] = {0};
    uf_slice values[256] = {{NULL, 0}};
    char texts[COLUMNS][8];
    for (size_t i = 0; i < UF_ARRAY_LEN(present_columns); i++) {
        size_t c = present_columns[i];
        present[c / 64] |= UINT64_C(1) << (c % 64);
        snprintf(texts[c], sizeof texts[c], "v%zu", c);
        values[c] = uf_slice_cstr(texts[c]);
    }
    uint64_t channels = 1;
    uf_profile_writer w;
    uf_buf_init(&bin);
    uf_profile_begin(&w, &bin, T0, &channels, 1);
    uf_profile_records(&w, 0);
    uf_profile_context(&w, 0, UF_PROFILE_TIME_UNKNOWN, present, 4, values);
    uf_profile_end(&w);
    cr_assert(!bin.failed);

    uf_buf_init(&want);
    uf_buf_puts(&want, "{\"golden_id\":\"G1\",\"updated_at\":\"2026-01-01T00:00:00Z\",\"channels\":[\"wide\"],"
                       "\"attributes\":{},\"identifiers\":{},\"records\":[],\"context\":{\"wide\":{");
    for (size_t i = 0; i < UF_ARRAY_LEN(present_columns); i++)
        uf_buf_printf(&want, "%s\"c%zu\":\"v%zu\"", i ? "," : "", present_columns[i], present_columns[i]);
    uf_buf_puts(&want, "}}}");
    uf_buf_init(&out);
    cr_assert_eq(uf_profile_render(s, bin.data, bin.len, uf_slice_cstr("G1"), &out, &err), UF_OK, "%s", err.message);
    cr_assert_str_eq(uf_buf_cstr(&out), uf_buf_cstr(&want));

    /* The encoded set itself, against the definition (bit j*7+i of the set is bit i of byte j). */
    size_t top = 200, bytes = (top + 6) / 7;
    unsigned char expect[32];
    for (size_t j = 0; j < bytes; j++) {
        unsigned v = 0;
        for (size_t i = 0; i < 7; i++) {
            size_t bit = j * 7 + i;
            if (bit < top && (present[bit / 64] >> (bit % 64) & 1))
                v |= 1u << i;
        }
        expect[j] = (unsigned char)(v | (j + 1 < bytes ? 0x80 : 0));
    }
    bool found = false;
    for (size_t at = 0; !found && at + bytes <= bin.len; at++)
        found = memcmp(bin.data + at, expect, bytes) == 0;
    cr_assert(found, "the set's LEB128 bytes are not in the profile");
    uf_buf_free(&schema_bytes);
    uf_buf_free(&bin);
    uf_buf_free(&out);
    uf_buf_free(&want);
    uf_profile_schema_free(s);
}

/* ---- what links values of format 2 take from a profile (run_links.h) ---- */

/* The (string source, string key) pairs uf_profile_member_list appends, as one text "crm:C1 web:W1 ...". */
static void member_text(const uf_buf *list, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)list->data, *end = p + list->len;
    size_t at = 0;
    out[0] = '\0';
    while (p < end) {
        size_t n = *p++;
        cr_assert(n < 128 && p + n < end);
        at += (size_t)snprintf(out + at, cap - at, "%s%.*s:", at ? " " : "", (int)n, (const char *)p);
        p += n;
        n = *p++;
        cr_assert(n < 128 && p + n <= end);
        at += (size_t)snprintf(out + at, cap - at, "%.*s", (int)n, (const char *)p);
        p += n;
    }
}

Test(codec, member_list_names_the_profiles_records_in_order)
{
    uf_profile_schema *s = test_schema(NULL);
    uf_buf bin, list;
    sample_profile(&bin);
    uf_buf_init(&list);
    uf_error err = {0};
    size_t listed = 9;
    uint64_t total = 9;
    cr_assert_eq(uf_profile_member_list(s, bin.data, bin.len, &list, &listed, &total, &err), UF_OK, "%s",
                 err.message);
    cr_expect_eq(listed, 3);
    cr_expect_eq(total, 3);
    char text[256];
    member_text(&list, text, sizeof text);
    cr_expect_str_eq(text, "crm:C1 web:W\"1 pos:P1", "names as stored, not JSON-escaped");

    /* Cut anywhere before the last record's time: an error and nothing appended. The records end
     * where the context begins (the web block: varint source 2). */
    size_t records_end = bin.len;
    for (size_t n = bin.len; n-- > 0;) {
        uf_buf_reset(&list);
        if (uf_profile_member_list(s, bin.data, n, &list, &listed, &total, &err) != UF_OK) {
            records_end = n + 1;
            break;
        }
    }
    cr_assert_lt(records_end, bin.len, "the context is not needed for the list");
    cr_assert_gt(records_end, bin.len / 2);
    for (size_t n = 0; n < records_end; n++) {
        uf_buf_reset(&list);
        cr_expect_eq(uf_profile_member_list(s, bin.data, n, &list, &listed, &total, &err), UF_ERR_STORE,
                     "cut at %zu", n);
        cr_expect_eq(listed, 0);
        cr_expect_eq(list.len, 0, "cut at %zu: %zu bytes appended", n, list.len);
    }

    /* A record whose source is not in the schema is corrupt. */
    uf_buf bad;
    uf_buf_init(&bad);
    uint64_t crm = 1;
    uf_profile_writer w;
    uf_profile_begin(&w, &bad, T0, &crm, 1);
    uf_profile_records(&w, 1);
    uf_profile_record(&w, 3, uf_slice_cstr("X"), T0);
    uf_profile_end(&w);
    uf_buf_reset(&list);
    cr_expect_eq(uf_profile_member_list(s, bad.data, bad.len, &list, &listed, &total, &err), UF_ERR_STORE);
    cr_expect_eq(list.len, 0);

    /* Kind names as stored; none past the schema. */
    cr_expect(uf_slice_equals(uf_profile_schema_kind_name(s, 1), "email"));
    cr_expect_null(uf_profile_schema_kind_name(s, 3).ptr);
    uf_buf_free(&bad);
    uf_buf_free(&bin);
    uf_buf_free(&list);
    uf_profile_schema_free(s);
}

/* A format 2 links value over sample_profile's three records: an e-mail link and a scored one. */
static void links_value_2(uf_buf *v, unsigned members, unsigned kind)
{
    uf_buf_init(v);
    const unsigned char bytes[] = {UF_LINKS_FORMAT, (unsigned char)members, 2,
                                   0, 1, UF_RULE_STRONG_IDENTIFIER, (unsigned char)kind, 9, 'b', 'o', 'b', '@', 'x',
                                   '.', 'c', 'o', 'm',
                                   0, 2, UF_RULE_SCORED, 0, 0, 0x80, 0x41, 2, 4, 3};
    uf_buf_append(v, (const char *)bytes, sizeof bytes);
}

Test(codec, links_of_format_2_take_names_from_profile_and_schema)
{
    uf_profile_schema *s = test_schema(NULL);
    uf_buf bin, value, expanded;
    sample_profile(&bin);
    links_value_2(&value, 3, 1);
    uf_buf_init(&expanded);
    uf_error err = {0};
    cr_assert_eq(uf_links_expand(value.data, value.len, s, bin.data, bin.len, &expanded, &err), UF_OK, "%s",
                 err.message);
    uf_links_view view;
    cr_assert_eq(uf_links_decode(expanded.data, expanded.len, &view, &err), UF_OK, "%s", err.message);
    cr_assert_eq(view.member_count, 3);
    cr_expect(uf_slice_equals(view.members[0].source, "crm") && uf_slice_equals(view.members[0].key, "C1"));
    cr_expect(uf_slice_equals(view.members[1].source, "web") && uf_slice_equals(view.members[1].key, "W\"1"));
    cr_expect(uf_slice_equals(view.members[2].source, "pos") && uf_slice_equals(view.members[2].key, "P1"));
    cr_assert_eq(view.link_count, 2);
    cr_expect_eq(view.links[0].a, 0);
    cr_expect_eq(view.links[0].b, 1);
    cr_expect(uf_slice_equals(view.links[0].kind, "email") && uf_slice_equals(view.links[0].value, "bob@x.com"));
    cr_expect_eq(view.links[1].rule, UF_RULE_SCORED);
    cr_expect_eq(view.links[1].weight, 16.0f);
    cr_expect_eq(view.links[1].vector.level[1], 3);
    uf_links_view_free(&view);

    /* Read alone it is refused (it needs its profile); format 1 expands to itself. */
    cr_expect_eq(uf_links_decode(value.data, value.len, &view, &err), UF_ERR_STORE);
    uf_buf again;
    uf_buf_init(&again);
    cr_assert_eq(uf_links_expand(expanded.data, expanded.len, s, NULL, 0, &again, &err), UF_OK, "%s", err.message);
    cr_expect(again.len == expanded.len && memcmp(again.data, expanded.data, again.len) == 0);

    /* A member count other than the profile's, every truncation, an unknown rule, trailing bytes: errors, and
     * nothing appended. */
    uf_buf_reset(&expanded);
    uf_buf_puts(&expanded, "X");
    uf_buf wrong;
    links_value_2(&wrong, 2, 1);
    cr_expect_eq(uf_links_expand(wrong.data, wrong.len, s, bin.data, bin.len, &expanded, &err), UF_ERR_STORE);
    cr_expect(strstr(err.message, "names 2 records, its profile lists 3 of 3"), "%s", err.message);
    for (size_t n = 0; n < value.len; n++) {
        cr_expect_eq(uf_links_expand(value.data, n, s, bin.data, bin.len, &expanded, &err), UF_ERR_STORE,
                     "cut at %zu", n);
        cr_expect_eq(expanded.len, 1, "cut at %zu: %zu bytes left appended", n, expanded.len);
    }
    uf_buf_reset(&wrong);
    uf_buf_append(&wrong, value.data, value.len);
    wrong.data[5] = 9; /* no such rule */
    cr_expect_eq(uf_links_expand(wrong.data, wrong.len, s, bin.data, bin.len, &expanded, &err), UF_ERR_STORE);
    uf_buf_reset(&wrong);
    uf_buf_append(&wrong, value.data, value.len);
    uf_buf_putc(&wrong, 0);
    cr_expect_eq(uf_links_expand(wrong.data, wrong.len, s, bin.data, bin.len, &expanded, &err), UF_ERR_STORE);
    cr_expect_eq(uf_links_expand(value.data, value.len, s, bin.data, bin.len - 40, &expanded, &err), UF_ERR_STORE,
                 "a cut profile");
    cr_expect_eq(expanded.len, 1, "a failed expansion leaves the buffer as it was");

    /* A kind past the schema reads as no name (as format 1 writes a kind the run did not know). */
    uf_buf unknown;
    links_value_2(&unknown, 3, 7);
    uf_buf_reset(&expanded);
    cr_assert_eq(uf_links_expand(unknown.data, unknown.len, s, bin.data, bin.len, &expanded, &err), UF_OK, "%s",
                 err.message);
    cr_assert_eq(uf_links_decode(expanded.data, expanded.len, &view, &err), UF_OK, "%s", err.message);
    cr_expect_eq(view.links[0].kind.len, 0);
    uf_links_view_free(&view);
    uf_buf_free(&unknown);
    uf_buf_free(&wrong);
    uf_buf_free(&again);
    uf_buf_free(&value);
    uf_buf_free(&expanded);
    uf_buf_free(&bin);
    uf_profile_schema_free(s);
}
