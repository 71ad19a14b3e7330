/*
 * fsutil.c — mkdir -p, used for the store folder and the rejects file so a
 * first run on a fresh checkout needs no manual setup.
 */
#include "fsutil.h"

#include <errno.h>
#include <stdlib.h>
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
