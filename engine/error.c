/*
 * error.c — the one error type of the engine: a status code plus a message
 * buffer that the caller owns. No global error state, so every stage can run
 * on any thread.
 */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>

const char *uf_strerror(int code)
{
    switch (code) {
    case UF_OK: return "success";
    case UF_ERR_IO: return "input/output error";
    case UF_ERR_CONFIG: return "invalid configuration";
    case UF_ERR_FORMAT: return "malformed input file";
    case UF_ERR_NOMEM: return "out of memory";
    case UF_ERR_STORE: return "store error";
    case UF_ERR_NOT_FOUND: return "not found";
    case UF_ERR_INVALID: return "invalid argument";
    case UF_ERR_BUSY: return "store is busy (another run holds it)";
    case UF_ERR_VERSION: return "incompatible store version";
    default: return "unknown error";
    }
}

int uf_error_set(uf_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void uf_error_clear(uf_error *err)
{
    if (err) {
        err->code = UF_OK;
        err->message[0] = '\0';
    }
}
