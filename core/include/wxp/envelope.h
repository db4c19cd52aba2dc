/* SPDX-License-Identifier: MIT */
/* envelope.h: the APIv3 error body {"code","message"[,"detail":{...}]} and the table that maps
 * each core error to the HTTP status, WeChat code and message a server answers with.
 * rule: error body shape. src: docs/protocol.md#error-envelope */
#ifndef WXP_ENVELOPE_H
#define WXP_ENVELOPE_H

#include <stdbool.h>

#include "buf.h"
#include "err.h"

/* The documented detail members; NULL members are omitted. `value_num` is used instead of
 * `value` when has_value_num is set (the live server puts lengths there as numbers). */
struct wxp_detail {
    const char *field;
    const char *value;
    long long value_num;
    bool has_value_num;
    const char *issue;
    const char *location;
};

/* Appends {"code":..,"message":..} plus "detail" when `detail_json` (a JSON object's text, e.g.
 * from wxp_detail_build) is not NULL. Strings are JSON-escaped; non-ASCII stays UTF-8.
 * WXP_E_INVALID_ARG when code/message are NULL or not valid UTF-8. */
enum wxp_code wxp_envelope_build(struct wxp_buf *out, const char *code, const char *message,
                                 const char *detail_json, struct wxp_err *err) WXP_MUST_CHECK;
/* Appends a detail object's JSON text. */
enum wxp_code wxp_detail_build(struct wxp_buf *out, const struct wxp_detail *d,
                               struct wxp_err *err) WXP_MUST_CHECK;
/* Appends `s` as a JSON string literal (quotes included). */
enum wxp_code wxp_json_quote(struct wxp_buf *out, const char *s, size_t len,
                             struct wxp_err *err) WXP_MUST_CHECK;

/* A parsed error body; every string is owned (free with wxp_envelope_free) and NULL when absent.
 * `value` holds a string value as is and any other JSON value as its JSON text. */
struct wxp_envelope {
    char *code;
    char *message;
    char *field;
    char *value;
    char *issue;
    char *location;
    char *detail_json; /* the whole "detail" member as compact JSON, when present */
};

#define WXP_ENVELOPE_MAX (1024 * 1024)

/* Parses an error body. Requires a JSON object with string "code" and "message" (WXP_E_ENVELOPE
 * names the problem otherwise); "detail" is optional and, when an object, its documented members
 * are extracted. Other members are ignored. Also WXP_E_NOMEM, WXP_E_TOO_LARGE (> 1 MiB). */
enum wxp_code wxp_envelope_parse(const char *body, size_t len, struct wxp_envelope *out,
                                 struct wxp_err *err) WXP_MUST_CHECK;
void wxp_envelope_free(struct wxp_envelope *e);

/* How a server answers a core error: HTTP status, WeChat code and the real server's message
 * (sources in docs/protocol.md#error-table). */
struct wxp_status {
    int http;
    const char *code;
    const char *message;
};
/* Never NULL: codes a server never answers with map to 500 SYSTEM_ERROR. */
const struct wxp_status *wxp_status_of(enum wxp_code c);

#endif
