/*
 * stream.h — a byte stream over one export file, plain or gzip.
 *
 * Gzip is detected from the magic bytes (1f 8b), never from the file name.
 * Concatenated gzip members are read one after another, as gzip(1) does;
 * bytes after the last member that are not another member are reported as
 * corrupt gzip data (gzip(1) only warns), so a damaged file never reads as a
 * shorter good one. Memory is a fixed buffer: it never grows with the file
 * size. Plain files are read straight into the caller's buffer.
 */
#ifndef UF_STREAM_H
#define UF_STREAM_H

#include "common.h"

#include <sys/types.h>

typedef struct uf_stream uf_stream;

/*
 * Open `path`. On failure returns NULL and sets err (UF_ERR_IO naming the
 * file and the system's reason). The caller closes the stream.
 */
uf_stream *uf_stream_open(const char *path, uf_error *err);

/*
 * Read up to `cap` bytes of (decompressed) content into `buf`.
 * Returns the number of bytes read, 0 at the end of the content, or -1 on
 * error with err set: UF_ERR_IO for a read failure, UF_ERR_FORMAT for corrupt
 * or truncated gzip — the message names the file.
 */
ssize_t uf_stream_read(uf_stream *stream, void *buf, size_t cap, uf_error *err);

/*
 * Continue reading a plain (not gzip) file at byte `offset`, for reading a
 * file in parts (run_read.c). Bytes consumed count from the file's start,
 * so the end-of-file check still compares them with the size. Returns UF_OK,
 * UF_ERR_INVALID for a gzip stream (its bytes cannot be found by offset), or
 * UF_ERR_IO naming the file.
 */
int uf_stream_seek(uf_stream *stream, uint64_t offset, uf_error *err);

/* The path given to uf_stream_open (owned by the stream). */
const char *uf_stream_path(const uf_stream *stream);

/* True when the file is gzip-compressed. */
bool uf_stream_is_gzip(const uf_stream *stream);

/* Bytes consumed from the file so far (compressed bytes for gzip). */
uint64_t uf_stream_bytes_consumed(const uf_stream *stream);

/* Close the stream and free it. NULL is allowed. */
void uf_stream_close(uf_stream *stream);

#endif /* UF_STREAM_H */
