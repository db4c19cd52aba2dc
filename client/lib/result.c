/* SPDX-License-Identifier: MIT */
/* result.c: struct wxpay_result: freeing it, naming its enums, and the helpers every call uses to
 * clear and fill it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "wxp/mem.h"

void wxl_result_reset(struct wxpay_result *res)
{
    memset(res, 0, sizeof *res);
}

void wxpay_result_free(struct wxpay_result *r)
{
    if (r == NULL) {
        return;
    }
    wxp_free(r->body);
    memset(r, 0, sizeof *r);
}

/* A UTF-8 continuation byte: never the first byte of a character. */
static int is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

void wxl_copy(char *dst, size_t cap, const char *src, size_t n)
{
    if (cap == 0) {
        return;
    }
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    if (n >= cap) {
        n = cap - 1;
        /* Do not leave half a character behind: back up to the start of the cut one. */
        while (n > 0 && is_cont((unsigned char)src[n])) {
            n--;
        }
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

enum wxpay_result_kind wxl_fail(struct wxpay_result *res, enum wxpay_result_kind kind,
                                const char *fmt, ...)
{
    va_list ap;
    size_t n;

    res->kind = kind;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
    /* One line: server-supplied text must not break it. */
    for (char *p = res->error; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7F) {
            *p = ' ';
        }
    }
    /* vsnprintf may have cut a UTF-8 character in two. */
    n = strlen(res->error);
    if (n == sizeof res->error - 1) {
        char tmp[sizeof res->error];
        memcpy(tmp, res->error, n + 1);
        wxl_copy(res->error, sizeof res->error, tmp, n + 1);
    }
    return kind;
}

const char *wxpay_result_kind_name(enum wxpay_result_kind k)
{
    switch (k) {
    case WXPAY_OK:
        return "ok";
    case WXPAY_ERR_LOCAL:
        return "local";
    case WXPAY_ERR_TRANSPORT:
        return "transport";
    case WXPAY_ERR_VERIFY:
        return "verify";
    case WXPAY_ERR_WECHAT:
        return "wechat";
    case WXPAY_ERR_NOTIFY:
        return "notify";
    }
    return "unknown";
}

const char *wxpay_signature_name(enum wxpay_signature s)
{
    switch (s) {
    case WXPAY_SIG_NONE:
        return "none";
    case WXPAY_SIG_VALID:
        return "valid";
    case WXPAY_SIG_INVALID:
        return "invalid";
    case WXPAY_SIG_UNSIGNED:
        return "unsigned";
    }
    return "unknown";
}

const char *wxpay_verify_failure_name(enum wxpay_verify_failure f)
{
    switch (f) {
    case WXPAY_VF_NONE:
        return "none";
    case WXPAY_VF_MISSING_HEADER:
        return "missing_header";
    case WXPAY_VF_BAD_TIMESTAMP:
        return "bad_timestamp";
    case WXPAY_VF_STALE:
        return "stale";
    case WXPAY_VF_FUTURE:
        return "future";
    case WXPAY_VF_UNKNOWN_SERIAL:
        return "unknown_serial";
    case WXPAY_VF_PROBE:
        return "probe";
    case WXPAY_VF_BAD_SIGNATURE:
        return "bad_signature";
    case WXPAY_VF_UNSUPPORTED_TYPE:
        return "unsupported_type";
    case WXPAY_VF_BAD_ENVELOPE:
        return "bad_envelope";
    case WXPAY_VF_RESOURCE_TYPE:
        return "resource_type";
    case WXPAY_VF_ALGORITHM:
        return "algorithm";
    case WXPAY_VF_DECRYPT:
        return "decrypt";
    case WXPAY_VF_PLAINTEXT:
        return "plaintext";
    }
    return "unknown";
}
