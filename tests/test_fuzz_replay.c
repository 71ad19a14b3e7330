/*
 * test_fuzz_replay.c — every fuzz input kept in the repository, replayed
 * in the ordinary test suite (release, ASan + UBSan and valgrind builds):
 * the seed corpus fuzz/corpus/<harness>/ and, above all, the inputs that
 * once crashed a harness, fuzz/regressions/<harness>/.
 *
 * The harnesses themselves are compiled in here (each LLVMFuzzerTestOneInput
 * renamed), so a replay checks exactly the properties the fuzzer checks; no
 * clang or libFuzzer is needed. A harness aborts on a broken property, which
 * Criterion reports as a crashed test naming it.
 *
 * Each regression also has a test of its own below that states the fixed
 * behaviour in words.
 */
#include "test_support.h"

#define UF_FUZZ_SOURCE_DIR UF_TEST_SOURCE_DIR

#define LLVMFuzzerTestOneInput fuzz_csv_one
#include "../fuzz/fuzz_csv.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_jsonl_one
#include "../fuzz/fuzz_jsonl.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_gzip_one
#include "../fuzz/fuzz_gzip.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_normalize_one
#include "../fuzz/fuzz_normalize.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_http_one
#define LLVMFuzzerInitialize fuzz_http_init
#include "../fuzz/fuzz_http.c"
#undef LLVMFuzzerTestOneInput
#undef LLVMFuzzerInitialize

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

/* Feed every file of fuzz/<kind>/<harness>/ to `fn`; returns how many (a missing folder is 0). */
static size_t replay_folder(const char *kind, const char *harness, fuzz_fn fn)
{
    char *dir = t_fmt("%s/fuzz/%s/%s", UF_TEST_SOURCE_DIR, kind, harness);
    DIR *d = opendir(dir);
    size_t n = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char *path = t_fmt("%s/%s", dir, e->d_name);
            size_t len;
            char *data = t_read_file(path, &len);
            cr_log_info("%s/%s: %s (%zu bytes)", kind, harness, e->d_name, len);
            fn((const uint8_t *)data, len);
            free(data);
            free(path);
            n++;
        }
        closedir(d);
    }
    free(dir);
    return n;
}

static void replay(const char *harness, fuzz_fn fn)
{
    size_t seeds = replay_folder("corpus", harness, fn);
    size_t regressions = replay_folder("regressions", harness, fn);
    cr_assert_gt(seeds, 0, "fuzz/corpus/%s/ has no seeds", harness);
    cr_log_info("%s: %zu seeds and %zu regression inputs replayed", harness, seeds, regressions);
}

TestSuite(fuzz_replay, .timeout = 120);

Test(fuzz_replay, csv) { replay("fuzz_csv", fuzz_csv_one); }
Test(fuzz_replay, jsonl) { replay("fuzz_jsonl", fuzz_jsonl_one); }
Test(fuzz_replay, gzip) { replay("fuzz_gzip", fuzz_gzip_one); }
Test(fuzz_replay, normalize) { replay("fuzz_normalize", fuzz_normalize_one); }
Test(fuzz_replay, config) { replay("fuzz_config", fuzz_config_one); }

Test(fuzz_replay, http)
{
    fuzz_http_init(NULL, NULL);
    replay("fuzz_http", fuzz_http_one);
}

/* ------------------------------------------------------------------ */
/* The regressions, in words                                           */
/* ------------------------------------------------------------------ */

static int load_config_text(const char *text, uf_error *err)
{
    char *dir = t_mkdtemp("fuzzcfg");
    char *path = t_fmt("%s/unify.yaml", dir);
    t_write_text(path, text);
    uf_config *loaded = NULL;
    int rc = uf_config_load(path, &loaded, err);
    uf_config_free(loaded);
    t_rmtree(dir);
    free(path);
    free(dir);
    return rc;
}

/* Found by fuzz_config: a mapping used as a key inside a source made config.c pass NULL to strcmp. */
Test(fuzz_replay, config_mapping_as_a_key_in_a_source_is_a_clear_error)
{
    uf_error err = {0};
    int rc = load_config_text("store: {path: s, map_size: 1MiB}\n"
                              "sources:\n"
                              "  - {blname: a, {e: email}}\n",
                              &err);
    cr_assert_eq(rc, UF_ERR_CONFIG, "rc %d: %s", rc, err.message);
    cr_assert(strstr(err.message, "unify.yaml:3:"), "the message names the line: %s", err.message);
    cr_log_info("%s", err.message);
}
