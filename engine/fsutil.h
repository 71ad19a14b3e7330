/*
 * fsutil.h — the few file-system helpers the engine needs.
 */
#ifndef UF_FSUTIL_H
#define UF_FSUTIL_H

#include "common.h"

/* Create `dir` and any missing parents (like mkdir -p). UF_OK or UF_ERR_IO. */
int uf_mkdir_p(const char *dir, uf_error *err);

/* Create the folder that will hold file `path` (mkdir -p of its dirname). */
int uf_mkdir_parent(const char *path, uf_error *err);

#endif /* UF_FSUTIL_H */
