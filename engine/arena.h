/*
 * arena.h — bump allocator for per-run data: big blocks, freed all at once.
 *
 * A run stores millions of small record blobs; one malloc each would cost
 * time and 16+ bytes of overhead apiece. An arena hands out slices of 4 MiB
 * blocks and frees them together when the run ends. Not thread-safe: each
 * reader thread owns its own arena.
 */
#ifndef UF_ARENA_H
#define UF_ARENA_H

#include <stddef.h>

typedef struct uf_arena_block uf_arena_block;

typedef struct uf_arena {
    uf_arena_block *head;
    size_t used;          /* bytes used in head */
    size_t capacity;      /* bytes in head */
    size_t total;         /* bytes reserved in all blocks */
} uf_arena;

void uf_arena_init(uf_arena *arena);
/* `size` bytes aligned to 8; NULL when out of memory. */
void *uf_arena_alloc(uf_arena *arena, size_t size);
/* Copy `size` bytes into the arena. */
void *uf_arena_copy(uf_arena *arena, const void *data, size_t size);
/* Copy `size` bytes into the arena without aligning them (byte data: record blobs). */
void *uf_arena_copy_bytes(uf_arena *arena, const void *data, size_t size);
void uf_arena_free(uf_arena *arena);

#endif /* UF_ARENA_H */
