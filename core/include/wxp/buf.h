/* SPDX-License-Identifier: MIT */
/* buf.h: a growable byte buffer with a hard cap (curl's dynbuf). Always NUL-terminated so its
 * contents can be handed to C APIs, but the length is what counts. */
#ifndef WXP_BUF_H
#define WXP_BUF_H

#include <stddef.h>

#include "err.h"

struct wxp_buf {
    char *ptr; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* appends that would make len exceed max fail with WXP_E_TOO_LARGE */
};

/* Cannot fail; allocates nothing. */
void wxp_buf_init(struct wxp_buf *b, size_t max);
/* Frees the memory (zeroed first: buffers may hold signing strings) and re-inits. NULL-safe. */
void wxp_buf_free(struct wxp_buf *b);
/* Empties the buffer, keeping its memory. */
void wxp_buf_reset(struct wxp_buf *b);

/* Append bytes / a C string / printf output. Return WXP_OK, WXP_E_NOMEM or WXP_E_TOO_LARGE; on
 * failure the buffer keeps its previous contents. */
enum wxp_code wxp_buf_add(struct wxp_buf *b, const void *p, size_t n) WXP_MUST_CHECK;
enum wxp_code wxp_buf_addstr(struct wxp_buf *b, const char *s) WXP_MUST_CHECK;
enum wxp_code wxp_buf_addf(struct wxp_buf *b, const char *fmt, ...) WXP_PRINTF(2, 3) WXP_MUST_CHECK;

/* The contents as a C string: "" for a buffer that was never appended to. */
const char *wxp_buf_cstr(const struct wxp_buf *b);

#endif
