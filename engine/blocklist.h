/*
 * blocklist.h — configurable junk values per attribute kind.
 *
 * Values are stored normalized, so "TEST@Test.com " in a config matches
 * test@test.com in an export. A value registered for UF_BLOCKLIST_ANY_KIND
 * is junk for every kind. Lookups are a hash probe: cheap on the hot path.
 */
#ifndef UF_BLOCKLIST_H
#define UF_BLOCKLIST_H

#include "common.h"

#define UF_BLOCKLIST_ANY_KIND (-1)

typedef struct uf_blocklist uf_blocklist;

/* An empty blocklist; NULL when out of memory. */
uf_blocklist *uf_blocklist_new(void);

/* Add a normalized value for `kind` (or UF_BLOCKLIST_ANY_KIND). UF_OK or UF_ERR_NOMEM. */
int uf_blocklist_add(uf_blocklist *list, int kind, const char *value, size_t len);

/* True when `value` is junk for `kind` (registered for it or for any kind). */
bool uf_blocklist_contains(const uf_blocklist *list, int kind, const char *value, size_t len);

/* Number of values registered. */
size_t uf_blocklist_size(const uf_blocklist *list);

void uf_blocklist_free(uf_blocklist *list);

#endif /* UF_BLOCKLIST_H */
