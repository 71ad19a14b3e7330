/*
 * match_values.c — what scored matching compares: the values of a record
 * (read from its blob), the comparison vector of two records, how a vector
 * packs into 64 bits (and an edge's key), and the blocking key of a rule.
 * Pure functions; match.c runs them over the candidate pairs.
 */
#include "match_internal.h"

#include <xxhash.h>

/* ---- values of a record ------------------------------------------------- */

/* The compared field an attribute kind feeds, or -1. */
static int field_of_kind(int kind)
{
    switch (kind) {
    case UF_KIND_FIRST_NAME: return UF_CMP_FIRST_NAME;
    case UF_KIND_LAST_NAME: return UF_CMP_LAST_NAME;
    case UF_KIND_DOB: return UF_CMP_DOB;
    case UF_KIND_POSTCODE: return UF_CMP_POSTCODE;
    case UF_KIND_ADDRESS: return UF_CMP_ADDRESS;
    case UF_KIND_CITY: return UF_CMP_CITY;
    case UF_KIND_PHONE: return UF_CMP_PHONE;
    case UF_KIND_EMAIL: return UF_CMP_EMAIL;
    default: return -1;
    }
}

static uint32_t dob_number(uf_slice s)
{
    if (s.len != 10)
        return 0;
    uint32_t v = 0;
    for (size_t i = 0; i < 10; i++) {
        if (i == 4 || i == 7)
            continue;
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return 0;
        v = v * 10 + (uint32_t)(s.ptr[i] - '0');
    }
    return v;
}

/*
 * Walk the blob's attributes (layout in records.h) without rebuilding raw
 * texts: the first value of every compared kind wins.
 */
/* A nonzero 32-bit hash of (kind, value): a collision only adds weak evidence. */
static uint32_t identifier_hash(int kind, const char *value, size_t len)
{
    uint32_t h = (uint32_t)XXH3_64bits_withSeed(value, len, (uint64_t)kind);
    return h ? h : 1;
}

void uf_match_values_of(const uf_record *record, uf_match_values *out)
{
    memset(out, 0, sizeof *out);
    int ids = 0;
    const unsigned char *p = record->blob + 1 + record->blob[0];
    unsigned count = *p++;
    for (unsigned i = 0; i < count; i++) {
        unsigned form = *p >> 6;
        int kind = *p++ & 63;
        size_t vlen = *p++;
        int f = field_of_kind(kind);
        if (f >= 0 && out->field[f].len == 0)
            out->field[f] = uf_slice_make((const char *)p, vlen);
        else if (kind >= UF_KIND_BUILTIN_COUNT && ids < UF_CMP_MAX_IDENTIFIERS && vlen)
            out->identifiers[ids++] = identifier_hash(kind, (const char *)p, vlen);
        p += vlen;
        if (form == UF_RAW_STORED)
            p += 1 + *p;
    }
    out->dob = dob_number(out->field[UF_CMP_DOB]);
    uf_slice first = out->field[UF_CMP_FIRST_NAME];
    out->first_canonical = first.len ? uf_nickname_canonical(first.ptr, first.len) : NULL;
}

void uf_match_features_of(const uf_record *record, uf_match_features *f)
{
    uf_match_values v;
    uf_match_values_of(record, &v);
    for (int i = 0; i < UF_CMP_TEXT_FIELDS; i++) {
        f->offset[i] = v.field[i].len ? (uint16_t)((const unsigned char *)v.field[i].ptr - record->blob) : 0;
        f->len[i] = (uint8_t)v.field[i].len;
    }
    f->dob = v.dob;
    memcpy(f->identifiers, v.identifiers, sizeof f->identifiers);
    f->first_canonical = v.first_canonical;
}

void uf_match_compare_values(const uf_match_values *a, const uf_match_values *b, const char *ca, const char *cb,
                           uf_cmp_vector *out)
{
    out->level[UF_CMP_FIRST_NAME] =
        (uint8_t)uf_cmp_first_name_canonical(a->field[UF_CMP_FIRST_NAME], b->field[UF_CMP_FIRST_NAME], ca, cb);
    out->level[UF_CMP_LAST_NAME] = (uint8_t)uf_cmp_last_name(a->field[UF_CMP_LAST_NAME], b->field[UF_CMP_LAST_NAME]);
    out->level[UF_CMP_DOB] = (uint8_t)uf_cmp_dob(a->dob, b->dob);
    out->level[UF_CMP_POSTCODE] = (uint8_t)uf_cmp_postcode(a->field[UF_CMP_POSTCODE], b->field[UF_CMP_POSTCODE]);
    out->level[UF_CMP_ADDRESS] = (uint8_t)uf_cmp_address(a->field[UF_CMP_ADDRESS], b->field[UF_CMP_ADDRESS]);
    out->level[UF_CMP_CITY] = (uint8_t)uf_cmp_city(a->field[UF_CMP_CITY], b->field[UF_CMP_CITY]);
    out->level[UF_CMP_PHONE] = (uint8_t)uf_cmp_phone(a->field[UF_CMP_PHONE], b->field[UF_CMP_PHONE]);
    out->level[UF_CMP_EMAIL] = (uint8_t)uf_cmp_email(a->field[UF_CMP_EMAIL], b->field[UF_CMP_EMAIL]);
    out->level[UF_CMP_IDENTIFIER] = (uint8_t)uf_cmp_identifier(a->identifiers, b->identifiers);
}

void uf_match_compare(const uf_match_values *a, const uf_match_values *b, uf_cmp_vector *out)
{
    uf_match_compare_values(a, b, a->first_canonical, b->first_canonical, out);
}

/* Levels are < 16 or UF_CMP_MISSING: four bits each (15 = missing), so a vector fits 64 bits. */
_Static_assert(UF_CMP_FIELD_COUNT * 4 <= 64, "a comparison vector must pack into 64 bits");
_Static_assert(UF_CMP_MAX_LEVELS < 15, "levels must fit in four bits");

uint64_t uf_match_vector_bits(const uf_cmp_vector *v)
{
    uint64_t x = 0;
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++)
        x |= (uint64_t)(v->level[f] == UF_CMP_MISSING ? 15 : v->level[f] & 15) << (4 * f);
    return x;
}

uf_cmp_vector uf_match_vector_of_bits(uint64_t x)
{
    uf_cmp_vector v;
    for (int f = 0; f < UF_CMP_FIELD_COUNT; f++) {
        unsigned level = (x >> (4 * f)) & 15;
        v.level[f] = (uint8_t)(level == 15 ? UF_CMP_MISSING : level);
    }
    return v;
}

uf_key uf_match_vector_key(const uf_cmp_vector *v)
{
    uf_key key = {0, uf_match_vector_bits(v)};
    return key;
}

uf_cmp_vector uf_match_key_vector(uf_key key)
{
    return uf_match_vector_of_bits(key.lo);
}

/* ---- blocking keys ------------------------------------------------------ */

static size_t append_part(unsigned char *buf, size_t n, uf_slice s)
{
    buf[n++] = (unsigned char)s.len;
    memcpy(buf + n, s.ptr, s.len);
    return n + s.len;
}

/* The first value of attribute kind `kind` in the record's blob (empty when none). */
static uf_slice first_value_of_kind(const uf_record *record, int kind)
{
    const unsigned char *p = record->blob + 1 + record->blob[0];
    unsigned count = *p++;
    for (unsigned i = 0; i < count; i++) {
        unsigned form = *p >> 6;
        int k = *p++ & 63;
        size_t vlen = *p++;
        if (k == kind)
            return uf_slice_make((const char *)p, vlen);
        p += vlen;
        if (form == UF_RAW_STORED)
            p += 1 + *p;
    }
    return uf_slice_make(NULL, 0);
}

bool uf_match_block_key(const uf_block_rule *rule, int rule_index, const uf_record *record, const uf_match_values *v,
                        uint64_t *key)
{
    unsigned char buf[1 + UF_MAX_BLOCK_PARTS * 256];
    size_t n = 0;
    buf[n++] = (unsigned char)rule_index;
    for (int i = 0; i < rule->part_count; i++) {
        uf_slice s = {NULL, 0};
        uint32_t number = 0;
        switch (rule->parts[i]) {
        case UF_BLOCK_FIRST_NAME:
            s = v->first_canonical ? uf_slice_cstr(v->first_canonical) : v->field[UF_CMP_FIRST_NAME];
            break;
        case UF_BLOCK_FIRST_INITIAL: {
            /* Of the nickname-canonical name: Bob and Robert share R. */
            s = v->first_canonical ? uf_slice_cstr(v->first_canonical) : v->field[UF_CMP_FIRST_NAME];
            if (s.len)
                s.len = 1;
            break;
        }
        case UF_BLOCK_LAST_NAME: s = v->field[UF_CMP_LAST_NAME]; break;
        case UF_BLOCK_LAST_SOUNDEX:
            number = v->field[UF_CMP_LAST_NAME].len
                         ? uf_soundex(v->field[UF_CMP_LAST_NAME].ptr, v->field[UF_CMP_LAST_NAME].len)
                         : 0;
            break;
        case UF_BLOCK_DOB: number = v->dob; break;
        case UF_BLOCK_DOB_YEAR: number = v->dob / 10000; break;
        case UF_BLOCK_POSTCODE: s = v->field[UF_CMP_POSTCODE]; break;
        case UF_BLOCK_CITY: s = v->field[UF_CMP_CITY]; break;
        case UF_BLOCK_PHONE: s = v->field[UF_CMP_PHONE]; break;
        default:
            if ((unsigned)rule->parts[i] < UF_BLOCK_IDENTIFIER)
                return false;
            s = first_value_of_kind(record, (int)rule->parts[i] - UF_BLOCK_IDENTIFIER);
            break;
        }
        bool numeric = rule->parts[i] == UF_BLOCK_LAST_SOUNDEX || rule->parts[i] == UF_BLOCK_DOB ||
                       rule->parts[i] == UF_BLOCK_DOB_YEAR;
        if (numeric) {
            if (!number)
                return false;
            memcpy(buf + n, &number, sizeof number);
            n += sizeof number;
        } else {
            if (!s.len)
                return false;
            n = append_part(buf, n, s);
        }
    }
    *key = XXH3_64bits(buf, n);
    return true;
}


/*
 * Names disagree when both are present and their Jaro–Winkler similarity is
 * below UF_MATCH_NAME_DISAGREE_JW — lower than the comparison levels, because
 * a typo-ridden spelling ("wagnwj") is weak evidence for a match but no
 * evidence of another person, while "john" and "mary" are.
 */
static bool names_disagree(uf_slice a, uf_slice b)
{
    return a.len && b.len && uf_jaro_winkler(a.ptr, a.len, b.ptr, b.len) < UF_MATCH_NAME_DISAGREE_JW;
}

bool uf_match_disagree(const uf_match_values *a, const uf_match_values *b, const uf_cmp_vector *v,
                       uf_agreement requires)
{
    if (requires == UF_AGREE_NONE)
        return false;
    if (names_disagree(a->field[UF_CMP_FIRST_NAME], b->field[UF_CMP_FIRST_NAME]) &&
        v->level[UF_CMP_FIRST_NAME] != UF_FIRST_NICKNAME)
        return true;
    if (names_disagree(a->field[UF_CMP_LAST_NAME], b->field[UF_CMP_LAST_NAME]))
        return true;
    return requires == UF_AGREE_NAME_AND_DOB && v->level[UF_CMP_DOB] == UF_DOB_ELSE;
}
