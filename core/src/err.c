/* SPDX-License-Identifier: MIT */
/* err.c: names and descriptions of the codes, and the helpers that fill struct wxp_err. */
#include "wxp/err.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wxp/str.h"

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
    int n;

    if (err == NULL) {
        return code;
    }
    err->code = code;
    /* A long field (a file path) keeps its end, the part that names the file. */
    wxp_str_tail(err->field, sizeof err->field, field);
    if (fmt == NULL) {
        snprintf(err->msg, sizeof err->msg, "%s", wxp_code_desc(code));
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* A cut message ends on a whole UTF-8 character. */
    if (n >= 0 && (size_t)n >= sizeof err->msg) {
        err->msg[wxp_utf8_prefix_len(err->msg, sizeof err->msg - 1)] = '\0';
    }
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
