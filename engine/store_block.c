/*
 * store_block.c — index blocks (layout and rules in store_block.h).
 */
#include "store_block.h"

#include "varint.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

void uf_block_writer_init(uf_block_writer *b)
{
    memset(b, 0, sizeof *b);
    uf_buf_init(&b->value);
    uf_buf_init(&b->last_key);
}

void uf_block_writer_free(uf_block_writer *b)
{
    uf_buf_free(&b->value);
    uf_buf_free(&b->last_key);
}

void uf_block_writer_reset(uf_block_writer *b)
{
    uf_buf_reset(&b->value);
    uf_buf_reset(&b->last_key);
    b->value.failed = b->last_key.failed = false;
    b->entries = 0;
    b->first_len = 0;
    b->have_last = false;
}

static size_t cut_len(size_t len)
{
    return len < UF_BLOCK_KEY_MAX ? len : UF_BLOCK_KEY_MAX;
}

bool uf_block_full_before(const uf_block_writer *b, const void *key, size_t len)
{
    if (b->entries == 0)
        return false;
    if (b->entries < UF_BLOCK_ENTRIES && b->value.len < UF_BLOCK_BYTES)
        return false;
    /* Equal keys stay in one block... */
    if (len == b->last_key.len && memcmp(key, b->last_key.data, len) == 0)
        return false;
    /* ...and so do keys whose cut equals the open block's cut first key. */
    return !(cut_len(len) == b->first_len && memcmp(key, b->first, b->first_len) == 0);
}

/* Bytes a and b have in common at their start, up to max; a word at a time
 * (a run appends ~7 M entries at 1 M customers). */
static size_t shared_prefix(const unsigned char *a, const unsigned char *b, size_t max)
{
    size_t n = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (n + 8 <= max) {
        uint64_t x, y;
        memcpy(&x, a + n, 8);
        memcpy(&y, b + n, 8);
        if (x != y)
            return n + (size_t)__builtin_ctzll(x ^ y) / 8; /* the first differing byte is the lowest */
        n += 8;
    }
#endif
    while (n < max && a[n] == b[n])
        n++;
    return n;
}

bool uf_block_add(uf_block_writer *b, const void *key, size_t len, uint64_t golden_id)
{
    const unsigned char *k = key;
    size_t shared = 0;
    if (b->entries == 0) {
        b->first_len = cut_len(len);
        memcpy(b->first, k, b->first_len);
    } else {
        shared = shared_prefix((const unsigned char *)b->last_key.data, k,
                               len < b->last_key.len ? len : b->last_key.len);
    }
    uf_buf_append_varint(&b->value, shared);
    uf_buf_append_varint(&b->value, len - shared);
    uf_buf_append(&b->value, (const char *)k + shared, len - shared);
    uf_buf_append_varint(&b->value, golden_id);
    /* Only the differing tail of the previous key changes. */
    b->last_key.len = shared;
    uf_buf_append(&b->last_key, (const char *)k + shared, len - shared);
    b->have_last = true;
    b->entries++;
    return !b->value.failed && !b->last_key.failed;
}

bool uf_block_take(const uf_block_writer *b, MDB_val *key, MDB_val *value)
{
    if (b->entries == 0)
        return false;
    key->mv_size = b->first_len;
    key->mv_data = (void *)b->first;
    value->mv_size = b->value.len;
    value->mv_data = b->value.data;
    return true;
}

void uf_block_taken(uf_block_writer *b)
{
    uf_buf_reset(&b->value);
    b->entries = 0;
}

const unsigned char *uf_block_last_key(const uf_block_writer *b, size_t *len)
{
    *len = b->have_last ? b->last_key.len : 0;
    return b->have_last ? (const unsigned char *)b->last_key.data : NULL;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

void uf_block_reader_init(uf_block_reader *r, const MDB_val *block)
{
    r->at = block->mv_data;
    r->end = r->at + block->mv_size;
    r->key = r->small;
    r->key_cap = sizeof r->small;
    r->key_len = 0;
    r->started = false;
}

void uf_block_reader_free(uf_block_reader *r)
{
    if (r->key != r->small)
        free(r->key);
    r->key = r->small;
    r->key_cap = sizeof r->small;
}

int uf_block_next(uf_block_reader *r, uint64_t *golden_id)
{
    if (r->at == r->end)
        return UF_BLOCK_END;
    uint64_t shared, rest;
    if (!uf_varint_get(&r->at, r->end, &shared) || !uf_varint_get(&r->at, r->end, &rest))
        return UF_BLOCK_MALFORMED;
    if ((r->started ? shared > r->key_len : shared != 0) || rest > (size_t)(r->end - r->at))
        return UF_BLOCK_MALFORMED;
    if (shared + rest > r->key_cap) {
        size_t cap = (shared + rest) * 2;
        unsigned char *k = malloc(cap);
        if (!k)
            return UF_BLOCK_NOMEM;
        memcpy(k, r->key, shared);
        if (r->key != r->small)
            free(r->key);
        r->key = k;
        r->key_cap = cap;
    }
    memcpy(r->key + shared, r->at, rest);
    r->key_len = shared + rest;
    r->at += rest;
    uint64_t id;
    if (!uf_varint_get(&r->at, r->end, &id) || id == 0)
        return UF_BLOCK_MALFORMED;
    *golden_id = id;
    r->started = true;
    return UF_BLOCK_ENTRY;
}

int uf_block_compare_keys(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Does `block` start at or before `key`? (A malformed first entry says yes: the caller's decode reports it.) */
static bool starts_at_or_before(const MDB_val *block, const void *key, size_t len)
{
    uf_block_reader r;
    uf_block_reader_init(&r, block);
    uint64_t id;
    bool before = uf_block_next(&r, &id) != UF_BLOCK_ENTRY || uf_block_compare_keys(r.key, r.key_len, key, len) <= 0;
    uf_block_reader_free(&r);
    return before;
}

int uf_block_seek(MDB_cursor *cursor, const void *key, size_t len, MDB_val *block)
{
    size_t cut = cut_len(len);
    MDB_val k = {cut, (void *)key}, v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS) {
        /* The first block whose cut first key is ≥ the cut key: it holds
         * `key` only if it starts at or before it; else the one before. */
        if (k.mv_size == cut && memcmp(k.mv_data, key, cut) == 0 && starts_at_or_before(&v, key, len)) {
            *block = v;
            return MDB_SUCCESS;
        }
        rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
    }
    if (rc == MDB_SUCCESS)
        *block = v;
    return rc;
}

int uf_block_find(const MDB_val *block, const void *key, size_t len, uint64_t *ids, size_t cap, size_t *count)
{
    uf_block_reader r;
    uf_block_reader_init(&r, block);
    *count = 0;
    int rc;
    uint64_t id;
    while ((rc = uf_block_next(&r, &id)) == UF_BLOCK_ENTRY) {
        int c = uf_block_compare_keys(r.key, r.key_len, key, len);
        if (c > 0)
            break; /* past it: entries ascend */
        if (c == 0) {
            if (*count < cap)
                ids[*count] = id;
            (*count)++;
        }
    }
    uf_block_reader_free(&r);
    if (rc < 0)
        return rc;
    return *count ? UF_BLOCK_ENTRY : UF_BLOCK_END;
}
