/*
 * fuzz_config.c — the configuration loader (config_yaml.c + config.c) on
 * arbitrary YAML.
 *
 * uf_config_load takes a path, so the input is written to a file in a
 * private temporary folder (relative source paths resolve there; globs
 * find nothing). Properties: no crash, no sanitizer report, no leak; a
 * failure is a known error code with a message; a loaded config has a
 * store path.
 */
#include "fuzz_common.h"

#include "unify.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char config_dir[64], config_path[256];

static void remove_config_dir(void)
{
    unlink(config_path);
    rmdir(config_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!config_path[0]) {
        snprintf(config_dir, sizeof config_dir, "/tmp/uf-fuzz-config-XXXXXX");
        if (!mkdtemp(config_dir))
            abort();
        snprintf(config_path, sizeof config_path, "%s/unify.yaml", config_dir);
        atexit(remove_config_dir);
    }
    FILE *f = fopen(config_path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);

    uf_config *config = NULL;
    uf_error err = {0};
    int rc = uf_config_load(config_path, &config, &err);
    if (rc == UF_OK) {
        FUZZ_CHECK(config != NULL, "UF_OK without a config");
        const char *store = uf_config_store_path(config);
        FUZZ_CHECK(store != NULL && store[0] != '\0', "a config without a store path");
        uf_config_free(config);
    } else {
        FUZZ_CHECK(config == NULL, "a failed load left a config");
        FUZZ_CHECK(err.code == rc && err.message[0] != '\0', "error %d without a message", rc);
    }
    return 0;
}
