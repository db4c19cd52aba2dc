/* SPDX-License-Identifier: MIT */
/* err.c: names and descriptions of the codes, and the helpers that fill struct wxp_err. */
#include "wxp/err.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AS_NAME(name, desc) #name,
#define AS_DESC(name, desc) desc,
static const char *const NAMES[] = {WXP_CODES(AS_NAME)};
static const char *const DESCS[] = {WXP_CODES(AS_DESC)};

const char *wxp_code_name(enum wxp_code code)
{
    if ((unsigned)code >= WXP_CODE_COUNT) {
        return "WXP_E_UNKNOWN";
    }
    return NAMES[code];
}

const char *wxp_code_desc(enum wxp_code code)
{
    if ((unsigned)code >= WXP_CODE_COUNT) {
        return "unknown error";
    }
    return DESCS[code];
}

void wxp_err_clear(struct wxp_err *err)
{
    if (err == NULL) {
        return;
    }
    err->code = WXP_OK;
    err->field[0] = '\0';
    err->msg[0] = '\0';
}

enum wxp_code wxp_err_set(struct wxp_err *err, enum wxp_code code, const char *field,
                          const char *fmt, ...)
{
    if (err == NULL) {
        return code;
    }
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    if (fmt == NULL) {
        snprintf(err->msg, sizeof err->msg, "%s", wxp_code_desc(code));
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

enum wxp_code wxp_err_openssl(struct wxp_err *err, enum wxp_code code, const char *what)
{
    char line[160];
    unsigned long e;
    size_t used;

    wxp_err_set(err, code, NULL, "%s", what);
    while ((e = ERR_get_error()) != 0) {
        if (err == NULL) {
            continue;
        }
        ERR_error_string_n(e, line, sizeof line);
        used = strlen(err->msg);
        if (used + 3 < sizeof err->msg) {
            snprintf(err->msg + used, sizeof err->msg - used, ": %s", line);
        }
    }
    return code;
}
