/*
 * fuzz_normalize.c — every normalizer of normalize.h, one harness.
 *
 * Input: byte 0 picks the normalizer (and its options), the rest is the
 * value. Properties, for every normalizer: no crash, no sanitizer report,
 * a known status, the output within UF_NORM_MAX (a date exactly 10 bytes),
 * *out_len 0 when there is no value, and no NUL inside a value. Output is
 * written into buffers exactly UF_NORM_MAX long on the heap, so ASan sees
 * any write past them.
 */
#include "fuzz_common.h"

#include "keys.h"
#include "normalize.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(uf_norm_status st, const char *out, size_t len, const char *what)
{
    FUZZ_CHECK(st <= UF_NORM_JUNK, "%s: status %d", what, (int)st);
    FUZZ_CHECK(len <= UF_NORM_MAX, "%s: %zu bytes", what, len);
    if (st != UF_NORM_OK)
        return;
    FUZZ_CHECK(memchr(out, 0, len) == NULL, "%s: NUL in the value", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const countries[] = {"US", "GB", "DE", "FR", "IN", "BR", "AU", "JP"};
    static const uf_date_order orders[] = {UF_DATE_DMY, UF_DATE_MDY, UF_DATE_YMD};
    static const uf_case_policy cases[] = {UF_CASE_UPPER, UF_CASE_LOWER, UF_CASE_PRESERVE};
    uint8_t sel = data[0];
    /* The value in its own heap block: a read past its end is an ASan report. */
    char *value = malloc(size - 1 ? size - 1 : 1);
    memcpy(value, data + 1, size - 1);
    uf_slice in = {value, size - 1};
    char *out = malloc(UF_NORM_MAX), *out2 = malloc(UF_NORM_MAX);
    size_t len = 0, len2 = 0;
    uf_norm_status st;

    switch (sel % 12) {
    case 0:
        st = uf_normalize_email(in, out, &len);
        check(st, out, len, "email");
        break;
    case 1:
        st = uf_normalize_phone(in, countries[(sel >> 4) % 8], out, &len);
        check(st, out, len, "phone");
        if (st == UF_NORM_OK)
            FUZZ_CHECK(len >= 2 && out[0] == '+', "phone not E.164: %.*s", (int)len, out);
        break;
    case 2:
        st = uf_normalize_name(in, out, &len);
        check(st, out, len, "name");
        break;
    case 3:
        st = uf_normalize_full_name(in, out, &len, out2, &len2);
        check(st, out, len, "full name (first)");
        check(st, out2, len2, "full name (last)");
        break;
    case 4:
        st = uf_normalize_dob_at(in, orders[(sel >> 4) % 3], 20240229, out, &len);
        check(st, out, len, "dob");
        if (st == UF_NORM_OK)
            FUZZ_CHECK(len == 10 && out[4] == '-' && out[7] == '-', "dob not YYYY-MM-DD: %.*s", (int)len, out);
        break;
    case 5:
        st = uf_normalize_address(in, out, &len);
        check(st, out, len, "address");
        break;
    case 6:
        st = uf_normalize_city(in, out, &len);
        check(st, out, len, "city");
        break;
    case 7:
        st = uf_normalize_postcode(in, out, &len);
        check(st, out, len, "postcode");
        break;
    case 8:
        st = uf_normalize_country(in, out, &len);
        check(st, out, len, "country");
        if (st == UF_NORM_OK)
            FUZZ_CHECK(len == 2, "country of %zu bytes", len);
        break;
    case 9:
        st = uf_normalize_identifier(in, cases[(sel >> 4) % 3], (sel >> 6) & 1, out, &len);
        check(st, out, len, "identifier");
        break;
    case 10:
        st = uf_fold_text(in, (sel >> 4) & 1 ? "-'" : NULL, out, &len);
        check(st, out, len, "fold");
        break;
    default: {
        /* nickname table and the key hash: pure lookups on any bytes */
        const char *canon = uf_nickname_canonical(value, size - 1);
        if (canon)
            FUZZ_CHECK(strlen(canon) < UF_NORM_MAX, "nickname canonical too long");
        uf_key k1 = uf_identifier_key(uf_slice_cstr("email"), in), k2 = uf_identifier_key(uf_slice_cstr("email"), in);
        FUZZ_CHECK(memcmp(&k1, &k2, sizeof k1) == 0, "identifier key not deterministic");
        break;
    }
    }
    free(value);
    free(out);
    free(out2);
    return 0;
}
