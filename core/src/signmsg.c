/* SPDX-License-Identifier: MIT */
/* signmsg.c: the request and response signing strings. */
#include "wxp/signmsg.h"

#include <string.h>

static bool has_newline(struct wxp_str s)
{
    return s.len > 0 && memchr(s.ptr, '\n', s.len) != NULL;
}

static enum wxp_code add_line(struct wxp_buf *out, struct wxp_str s)
{
    enum wxp_code rc = wxp_buf_add(out, s.ptr, s.len);
    return rc != WXP_OK ? rc : wxp_buf_add(out, "\n", 1);
}

/* Appends each part followed by "\n". Parts before the last must be single lines. */
static enum wxp_code lines(struct wxp_buf *out, const struct wxp_str *parts,
                           const char *const *names, size_t n, struct wxp_err *err)
{
    size_t start = out->len;
    enum wxp_code rc = WXP_OK;

    for (size_t i = 0; i + 1 < n; i++) {
        if (has_newline(parts[i])) {
            return wxp_err_set(err, WXP_E_INVALID_ARG, names[i],
                               "%s contains a newline, which would forge a line of the "
                               "signing string",
                               names[i]);
        }
    }
    for (size_t i = 0; i < n && rc == WXP_OK; i++) {
        rc = add_line(out, parts[i]);
    }
    if (rc != WXP_OK) {
        out->len = start;
        if (out->ptr) {
            out->ptr[start] = '\0';
        }
        return wxp_err_set(err, rc, "signing string", "cannot build the signing string: %s",
                           wxp_code_desc(rc));
    }
    return WXP_OK;
}

/* rule: METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n. src: docs/protocol.md#request-signing-string
 * case: CORE-SIGNMSG-001 */
enum wxp_code wxp_signmsg_request(struct wxp_buf *out, struct wxp_str method, struct wxp_str target,
                                  struct wxp_str timestamp, struct wxp_str nonce,
                                  struct wxp_str body, struct wxp_err *err)
{
    const struct wxp_str parts[] = {method, target, timestamp, nonce, body};
    static const char *const names[] = {"method", "url", "timestamp", "nonce", "body"};
    return lines(out, parts, names, 5, err);
}

/* rule: TIMESTAMP\nNONCE\nBODY\n; a 204 signs "TS\nNONCE\n\n". src:
 * docs/protocol.md#response-signing-string case: CORE-SIGNMSG-002 */
enum wxp_code wxp_signmsg_response(struct wxp_buf *out, struct wxp_str timestamp,
                                   struct wxp_str nonce, struct wxp_str body, struct wxp_err *err)
{
    const struct wxp_str parts[] = {timestamp, nonce, body};
    static const char *const names[] = {"timestamp", "nonce", "body"};
    return lines(out, parts, names, 3, err);
}
