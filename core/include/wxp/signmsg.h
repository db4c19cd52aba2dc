/* SPDX-License-Identifier: MIT */
/* signmsg.h: the exact byte strings that APIv3 signs.
 * rule: request string is METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n, every line ending in \n,
 *       URL = path and query exactly as sent. src: docs/protocol.md#request-signing-string
 * rule: response string is TIMESTAMP\nNONCE\nBODY\n; an empty body leaves the last line "\n".
 *       src: docs/protocol.md#response-signing-string */
#ifndef WXP_SIGNMSG_H
#define WXP_SIGNMSG_H

#include "buf.h"
#include "err.h"
#include "str.h"

/* Cap on a signing string: body cap (1 MiB) plus headroom. */
#define WXP_SIGNMSG_MAX ((size_t)1024 * 1024 + 8192)

/* Appends the request signing string to `out` (which the caller initialised). `body` is the raw
 * bytes sent, possibly empty (GET). method, target, timestamp and nonce must not contain '\n'
 * (they would forge a line): WXP_E_INVALID_ARG with err->field naming which. Also
 * WXP_E_NOMEM, WXP_E_TOO_LARGE. */
enum wxp_code wxp_signmsg_request(struct wxp_buf *out, struct wxp_str method, struct wxp_str target,
                                  struct wxp_str timestamp, struct wxp_str nonce,
                                  struct wxp_str body, struct wxp_err *err) WXP_MUST_CHECK;

/* Appends the response signing string. Same errors. */
enum wxp_code wxp_signmsg_response(struct wxp_buf *out, struct wxp_str timestamp,
                                   struct wxp_str nonce, struct wxp_str body,
                                   struct wxp_err *err) WXP_MUST_CHECK;

#endif
