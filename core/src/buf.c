/* SPDX-License-Identifier: MIT */
/* buf.c: capped growable buffer. */
#include "wxp/buf.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wxp/mem.h"

void wxp_buf_init(struct wxp_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void wxp_buf_free(struct wxp_buf *b)
{
    if (b == NULL) {
        return;
    }
    if (b->ptr != NULL) {
        OPENSSL_cleanse(b->ptr, b->cap);
        wxp_free(b->ptr);
    }
    wxp_buf_init(b, b->max);
}

void wxp_buf_reset(struct wxp_buf *b)
{
    b->len = 0;
    if (b->ptr != NULL) {
        b->ptr[0] = '\0';
    }
}

static enum wxp_code grow(struct wxp_buf *b, size_t need)
{
    size_t cap;
    char *p;

    if (need > b->max) {
        return WXP_E_TOO_LARGE;
    }
    if (need + 1 <= b->cap) {
        return WXP_OK;
    }
    cap = b->cap ? b->cap : 64;
    while (cap < need + 1) {
        cap *= 2;
    }
    if (cap - 1 > b->max) { /* not cap > max + 1: max may be SIZE_MAX */
        cap = b->max + 1;
    }
    p = wxp_realloc(b->ptr, cap);
    if (p == NULL) {
        return WXP_E_NOMEM;
    }
    b->ptr = p;
    b->cap = cap;
    return WXP_OK;
}

enum wxp_code wxp_buf_add(struct wxp_buf *b, const void *p, size_t n)
{
    enum wxp_code rc;

    if (n > b->max - b->len) {
        return WXP_E_TOO_LARGE;
    }
    rc = grow(b, b->len + n);
    if (rc != WXP_OK) {
        return rc;
    }
    if (n > 0) {
        memcpy(b->ptr + b->len, p, n);
    }
    b->len += n;
    b->ptr[b->len] = '\0';
    return WXP_OK;
}

enum wxp_code wxp_buf_addstr(struct wxp_buf *b, const char *s)
{
    return wxp_buf_add(b, s, strlen(s));
}

/* Most formatted pieces (a header line, an Authorization value with a 4096-bit signature) fit in
 * this much: they are formatted once, into the stack, instead of measured and then formatted
 * (glibc's measuring pass over a long %s costs as much as the formatting). */
#define ADDF_STACK 1024

enum wxp_code wxp_buf_addf(struct wxp_buf *b, const char *fmt, ...)
{
    char tmp[ADDF_STACK];
    va_list ap;
    int n;
    enum wxp_code rc;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return WXP_E_INVALID_ARG;
    }
    if ((size_t)n > b->max - b->len) {
        rc = WXP_E_TOO_LARGE;
        goto out;
    }
    if ((size_t)n < sizeof tmp) {
        rc = wxp_buf_add(b, tmp, (size_t)n);
        goto out;
    }
    rc = grow(b, b->len + (size_t)n);
    if (rc != WXP_OK) {
        goto out;
    }
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
out:
    /* The text may be personal data or a signature: no copy stays on the stack. */
    OPENSSL_cleanse(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp);
    return rc;
}

const char *wxp_buf_cstr(const struct wxp_buf *b)
{
    return b->ptr ? b->ptr : "";
}
