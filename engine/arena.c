/*
 * arena.c — bump allocator (see arena.h).
 */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

#define UF_ARENA_BLOCK (4u << 20)

struct uf_arena_block {
    uf_arena_block *next;
    size_t capacity;
    unsigned char data[];
};

void uf_arena_init(uf_arena *arena)
{
    memset(arena, 0, sizeof *arena);
}

static void *arena_take(uf_arena *arena, size_t size)
{
    if (!arena->head || arena->used + size > arena->capacity) {
        size_t cap = size > UF_ARENA_BLOCK ? size : UF_ARENA_BLOCK;
        uf_arena_block *b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = arena->head;
        b->capacity = cap;
        arena->head = b;
        arena->used = 0;
        arena->capacity = cap;
        arena->total += cap;
    }
    void *p = arena->head->data + arena->used;
    arena->used += size;
    return p;
}

void *uf_arena_alloc(uf_arena *arena, size_t size)
{
    /* Keep the next slice aligned too (after unaligned byte copies). */
    if (arena->head)
        arena->used = (arena->used + 7) & ~(size_t)7;
    return arena_take(arena, (size + 7) & ~(size_t)7);
}

void *uf_arena_copy_bytes(uf_arena *arena, const void *data, size_t size)
{
    void *p = arena_take(arena, size);
    if (p && size)
        memcpy(p, data, size);
    return p;
}

void *uf_arena_copy(uf_arena *arena, const void *data, size_t size)
{
    void *p = uf_arena_alloc(arena, size);
    if (p && size)
        memcpy(p, data, size);
    return p;
}

void uf_arena_free(uf_arena *arena)
{
    uf_arena_block *b = arena->head;
    while (b) {
        uf_arena_block *next = b->next;
        free(b);
        b = next;
    }
    uf_arena_init(arena);
}
