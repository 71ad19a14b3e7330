/*
 * lookup.c — from what an agent holds (a raw e-mail, a phone typed any way,
 * a loyalty card) to the golden ids that hold it. The value goes through the
 * same normalizer and the same key hash as the run's exports did.
 */
#include "config.h"
#include "keys.h"

#include <stdio.h>

const char *uf_config_store_path(const uf_config *config)
{
    return config->store_path;
}

int uf_identifier_key_for(const uf_config *config, const char *kind, const char *value, unsigned char key[16],
                          uf_error *err)
{
    int k = uf_config_kind_index(config, kind, strlen(kind));
    if (k < 0 || !config->kinds[k].is_identifier) {
        char known[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < config->kind_count; i++) {
            if (!config->kinds[i].is_identifier)
                continue;
            int n = snprintf(known + used, sizeof known - used, "%s%s", used ? ", " : "", config->kinds[i].name);
            if (n < 0 || (size_t)n >= sizeof known - used)
                break;
            used += (size_t)n;
        }
        return uf_error_set(err, UF_ERR_INVALID, "'%s' is not an identifier kind of %s (expected one of: %s)", kind,
                            config->path, known);
    }
    char out[UF_NORM_MAX];
    size_t len = 0;
    uf_norm_status st =
        uf_normalize_kind(config, k, config->default_country, config->date_order, uf_slice_cstr(value), out, &len);
    if (st == UF_NORM_OK && config->blocklist && uf_blocklist_contains(config->blocklist, k, out, len))
        st = UF_NORM_JUNK;
    if (st != UF_NORM_OK)
        return uf_error_set(err, UF_ERR_INVALID, "%s '%s' is %s", kind, value,
                            st == UF_NORM_EMPTY ? "empty" : st == UF_NORM_JUNK ? "a junk value (never linked)" : "not valid");
    uf_key_to_bytes(uf_identifier_key(uf_slice_cstr(config->kinds[k].name), uf_slice_make(out, len)), key);
    return UF_OK;
}

int uf_lookup_identifier(uf_store *store, const uf_config *config, const char *kind, const char *value,
                         uint64_t *ids, size_t cap, size_t *count, uf_error *err)
{
    unsigned char key[16];
    *count = 0;
    int rc = uf_identifier_key_for(config, kind, value, key, err);
    if (rc != UF_OK)
        return rc;
    return uf_store_find_identifier(store, key, ids, cap, count, err);
}
