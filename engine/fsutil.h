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

/*
 * Read the whole file at `path` into *out (malloc'd, NUL-terminated; *len
 * without the NUL). `what` names the file in errors ("configuration
 * file"): UF_ERR_IO with the system's reason when it cannot be opened or
 * read, `too_large` when it is longer than max_bytes, UF_ERR_NOMEM.
 */
int uf_read_file(const char *path, const char *what, size_t max_bytes, int too_large, char **out, size_t *len,
                 uf_error *err);

#endif /* UF_FSUTIL_H */
