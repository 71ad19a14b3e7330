/*
 * store_block.h — index blocks: how the identifiers and records indexes lie
 * in LMDB (store format 3).
 *
 * Both indexes map byte-string keys, in memcmp order, to golden ids. Each
 * LMDB entry holds a block of up to UF_BLOCK_ENTRIES consecutive entries
 * instead of one: the LMDB key is the block's first key (cut to
 * UF_BLOCK_KEY_MAX, LMDB's limit), the value its entries, each stored as
 *
 *   varint shared     bytes in common with the previous entry's key (0 for
 *                     the block's first entry)
 *   varint rest_len   then the rest of the key
 *   rest bytes
 *   varint golden_id  never 0 (three bytes up to 2 M profiles, against
 *                     eight: 33 MB less at 1 M customers)
 *
 * (varint: unsigned LEB128). Why: LMDB spends ~1 000 instructions per put,
 * whatever its size, and a run at 1 M customers appends ~6.8 M index
 * entries (4.1 M identifiers, 2.7 M records); one put per block takes the
 * two indexes from ~1.2 s to ~0.6 s of the writer's time (figures in the
 * README), and shared prefixes make them smaller. A lookup decodes one
 * block of at most 32 entries after LMDB's search: lookups by e-mail at 1 M
 * took 5.3 / 7.0-7.6 us (p50 / p99) against 5.1-5.2 / 6.5-8.4 us before.
 *
 * Rules that put every key in exactly one findable block:
 *  - entries are in ascending key order over the whole index; equal keys
 *    are allowed (an identifier held by several profiles: ids ascending)
 *    and never straddle two blocks;
 *  - a new block starts only where the cut key is greater than the cut
 *    first key of the open block (keys sharing their first 511 bytes stay
 *    together; a block may then exceed UF_BLOCK_ENTRIES);
 * so the block holding key K is the last one whose first key is ≤ K.
 */
#ifndef UF_STORE_BLOCK_H
#define UF_STORE_BLOCK_H

#include "common.h"
#include "json_out.h"

#include <lmdb.h>

#define UF_BLOCK_ENTRIES 32   /* entries per block, at most (see the rules above) */
#define UF_BLOCK_BYTES 1024   /* ...or fewer, once the block's value reaches this size */
#define UF_BLOCK_KEY_MAX 511  /* LMDB's key limit: longer first keys are cut */

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

typedef struct uf_block_writer {
    uf_buf value;                        /* the open block's entries */
    uf_buf last_key;                     /* the previous entry's key (whole) */
    unsigned char first[UF_BLOCK_KEY_MAX]; /* the open block's first key, cut */
    size_t first_len;
    size_t entries;                      /* in the open block; 0: none open */
    bool have_last;
} uf_block_writer;

void uf_block_writer_init(uf_block_writer *b);
void uf_block_writer_free(uf_block_writer *b);
/* Forget the open block and the previous key (a new transaction). */
void uf_block_writer_reset(uf_block_writer *b);

/*
 * Must the open block be stored (uf_block_take) before `key` is added? True
 * when it is full and `key` may start a block by the rules above. The
 * caller has checked that key ≥ the previous key.
 */
bool uf_block_full_before(const uf_block_writer *b, const void *key, size_t len);

/* Append an entry to the open block (starting one if none is open). false: out of memory. */
bool uf_block_add(uf_block_writer *b, const void *key, size_t len, uint64_t golden_id);

/*
 * The open block as an LMDB key and value (valid until the next add or
 * reset); false when no block is open. Then uf_block_taken.
 */
bool uf_block_take(const uf_block_writer *b, MDB_val *key, MDB_val *value);
void uf_block_taken(uf_block_writer *b);

/* memcmp order of byte strings, a prefix first: the order of every blocked index. */
int uf_block_compare_keys(const void *a, size_t alen, const void *b, size_t blen);

/* The previous entry's key (NULL before the first entry). */
const unsigned char *uf_block_last_key(const uf_block_writer *b, size_t *len);

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

typedef struct uf_block_reader {
    const unsigned char *at, *end;
    unsigned char *key;                  /* the current entry's key */
    size_t key_len, key_cap;
    bool started;
    unsigned char small[256];            /* key storage until a key outgrows it */
} uf_block_reader;

void uf_block_reader_init(uf_block_reader *r, const MDB_val *block);
void uf_block_reader_free(uf_block_reader *r);

enum { UF_BLOCK_END = 0, UF_BLOCK_ENTRY = 1, UF_BLOCK_MALFORMED = -1, UF_BLOCK_NOMEM = -2 };

/*
 * The next entry: UF_BLOCK_ENTRY with r->key / r->key_len and *golden_id
 * set, UF_BLOCK_END, UF_BLOCK_MALFORMED (a length past the value's end, a
 * prefix longer than the previous key, golden id 0: a corrupt store) or
 * UF_BLOCK_NOMEM. Reading never goes outside the block.
 */
int uf_block_next(uf_block_reader *r, uint64_t *golden_id);

/*
 * Position `cursor` on the block that holds `key` if any: MDB_SUCCESS with
 * *block set, MDB_NOTFOUND when every block starts after `key` (or there
 * are none), or another LMDB error.
 */
int uf_block_seek(MDB_cursor *cursor, const void *key, size_t len, MDB_val *block);

/*
 * The golden ids stored under `key` in `block` (from uf_block_seek): up to
 * `cap` into ids, and their number into *count (which may exceed cap).
 * UF_BLOCK_ENTRY when found, UF_BLOCK_END when not, or an error as above.
 */
int uf_block_find(const MDB_val *block, const void *key, size_t len, uint64_t *ids, size_t cap, size_t *count);

#endif
