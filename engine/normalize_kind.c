/*
 * normalize_kind.c — normalize a value of any configured attribute kind.
 *
 * One dispatch from kind to normalizer, shared by the reader (ingest.c), the
 * blocklist loader (config.c) and lookups (lookup.c), so a value typed by an
 * agent, listed in a blocklist or read from an export always becomes the
 * same normalized text — and the same identifier key.
 */
#include "config.h"

uf_norm_status uf_normalize_kind(const uf_config *config, int kind, const char *country, uf_date_order order,
                                 uf_slice in, char *out, size_t *out_len)
{
    switch (kind) {
    case UF_KIND_EMAIL: return uf_normalize_email(in, out, out_len);
    case UF_KIND_PHONE: return uf_normalize_phone(in, country, out, out_len);
    case UF_KIND_FIRST_NAME:
    case UF_KIND_LAST_NAME:
    case UF_KIND_FULL_NAME: return uf_normalize_name(in, out, out_len);
    case UF_KIND_DOB: return uf_normalize_dob_at(in, order, config->today, out, out_len);
    case UF_KIND_ADDRESS: return uf_normalize_address(in, out, out_len);
    case UF_KIND_CITY: return uf_normalize_city(in, out, out_len);
    case UF_KIND_POSTCODE: return uf_normalize_postcode(in, out, out_len);
    case UF_KIND_COUNTRY: return uf_normalize_country(in, out, out_len);
    default: {
        const uf_kind_config *k = &config->kinds[kind];
        return uf_normalize_identifier(in, k->case_policy, k->strip_separators, out, out_len);
    }
    }
}
