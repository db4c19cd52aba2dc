/* SPDX-License-Identifier: MIT */
/* log.h: the request log line (docs/mock-server.md#request-log), written into a buffer so that
 * the daemon prints it and the fuzz target checks it. */
#ifndef MOCK_LOG_H
#define MOCK_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "mock.h"

/* The path in a log line is cut to this many bytes (the query is left out too). */
#define MOCK_LOG_PATH_MAX 300

/* Appends the line for one answer, '\n' included, to out: a JSON object when `json` (with `when`,
 * an RFC 3339 time), else "wxpay-mock: seq=… method=… …". Every field is escaped, whatever bytes
 * the request or a scenario put in it (docs/mock-server.md#request-log): the JSON line is always
 * strict JSON, the text line holds no byte below 0x21, no DEL, no C1 control, no invalid UTF-8
 * and no space inside a value. `request_id` may be NULL (none sent). Returns WXP_OK or
 * WXP_E_NOMEM / WXP_E_TOO_LARGE (out's cap); on failure out keeps its earlier length. */
enum wxp_code mock_log_line(struct wxp_buf *out, bool json, const char *when,
                            const struct mock_request *req, const struct mock_response *resp,
                            const char *request_id, long long latency_ms) WXP_MUST_CHECK;

/* One outbound notification attempt or refusal (docs/notifications.md#admin-api). Strings are
 * NUL-terminated, never NULL ("" when unset). */
struct mock_log_notify {
    uint64_t n;
    const char *id;
    const char *url;
    long status; /* 0: no HTTP answer */
    long long latency_ms;
    const char *fault;
    const char *error;
};

/* Appends its log line, escaped like mock_log_line's: "wxpay-mock: notify n=… id=… direction=out
 * url=… status=… latency_ms=… fault=…[ error=…]", or one strict JSON object. Same returns. */
enum wxp_code mock_log_notify_line(struct wxp_buf *out, bool json,
                                   const struct mock_log_notify *o) WXP_MUST_CHECK;

#endif
