/*
 * fsutil.c — mkdir -p, used for the store folder and the rejects file so a
 * first run on a fresh checkout needs no manual setup.
 */
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int uf_mkdir_p(const char *dir, uf_error *err)
{
    char *copy = strdup(dir);
    if (!copy)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
    size_t len = strlen(copy);
    for (size_t i = 1; i <= len; i++) {
        if (copy[i] != '/' && copy[i] != '\0')
            continue;
        char saved = copy[i];
        copy[i] = '\0';
        if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            int rc = uf_error_set(err, UF_ERR_IO, "%s: cannot create folder: %s", copy, strerror(e));
            free(copy);
            return rc;
        }
        copy[i] = saved;
    }
    free(copy);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return uf_error_set(err, UF_ERR_IO, "%s: not a folder", dir);
    return UF_OK;
}

int uf_mkdir_parent(const char *path, uf_error *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return UF_OK;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return uf_error_set(err, UF_ERR_NOMEM, "out of memory");
    int rc = uf_mkdir_p(dir, err);
    free(dir);
    return rc;
}

int uf_read_file(const char *path, const char *what, size_t max_bytes, int too_large, char **out, size_t *len,
                 uf_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return uf_error_set(err, errno == ENOMEM ? UF_ERR_NOMEM : UF_ERR_IO, "%s: cannot open %s: %s", path, what,
                            strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? UF_OK : uf_error_set(err, UF_ERR_NOMEM, "%s: out of memory reading %s", path, what);
    while (rc == UF_OK) {
        if (n + 1 >= cap) {
            char *grown = cap <= max_bytes ? realloc(buf, cap * 2) : NULL;
            if (!grown) {
                rc = cap > max_bytes ? uf_error_set(err, too_large, "%s: %s is larger than %zu bytes", path, what,
                                                    max_bytes)
                                     : uf_error_set(err, UF_ERR_NOMEM, "%s: out of memory reading %s", path, what);
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = uf_error_set(err, UF_ERR_IO, "%s: cannot read %s: %s", path, what, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc == UF_OK && n > max_bytes)
        rc = uf_error_set(err, too_large, "%s: %s is larger than %zu bytes", path, what, max_bytes);
    if (rc != UF_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return UF_OK;
}
