/* SPDX-License-Identifier: MIT */
/* schema.h: request parameters as data. A schema is a table of rows; checking walks the table.
 * A new API adds a table, not code.
 * rule: terminate-by-openid takes openid string(1..128) in the path and service_id (1..32),
 *       appid (1..32), reason (1..50) in the body, all required. src:
 * docs/protocol.md#terminate-schema */
#ifndef WXP_SCHEMA_H
#define WXP_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "str.h"

enum wxp_loc { WXP_LOC_BODY, WXP_LOC_URI_TEMPLATE, WXP_LOC_QUERY };
/* What a length counts: UTF-8 bytes or code points. */
enum wxp_unit { WXP_UNIT_BYTES, WXP_UNIT_CHARS };

struct wxp_field {
    const char *name;  /* "reason"; in a path, the template variable */
    const char *label; /* the documented Chinese field name the live server's messages quote */
    enum wxp_loc loc;
    enum wxp_unit unit;
    size_t min;
    size_t max;
    bool required;
    /* Optional character table, 256 entries, non-zero = allowed byte; NULL = any character
     * (after the UTF-8, 4-byte and control checks). `charset_desc` names the allowed set in the
     * message ("数字、大小写字母或_-|*"). */
    const uint8_t *charset;
    const char *charset_desc;
};

struct wxp_schema {
    const char *name;
    const struct wxp_field *fields;
    size_t count;
};

/* POST /v3/payscore/permissions/openid/{openid}/terminate */
extern const struct wxp_schema WXP_SCHEMA_TERMINATE_BY_OPENID;

/* The bigger of the body caps our programs apply. */
#define WXP_BODY_MAX ((size_t)1024 * 1024)
#define WXP_SCHEMA_MAX_FIELDS 16

/* What a server puts in a PARAM_ERROR: location ("body", "uri_template"), the JSON pointer of
 * the field ("/body/reason"), and the number the live server puts in detail.value (the length
 * that broke the rule), when there is one. */
struct wxp_param_issue {
    const char *location;
    char pointer[64];
    long long value;
    bool has_value;
};

/* Values extracted from a checked body, decoded, each NUL-terminated, owned by the struct. */
struct wxp_values {
    const struct wxp_schema *schema;
    char *val[WXP_SCHEMA_MAX_FIELDS];
    size_t len[WXP_SCHEMA_MAX_FIELDS];
};

/* Checks one string value against a row. Returns WXP_OK, WXP_E_UTF8, WXP_E_PARAM_CHARSET (a
 * 4-byte UTF-8 character or a control character; then a byte outside the row's `charset`),
 * WXP_E_PARAM_TOO_SHORT, WXP_E_PARAM_TOO_LONG.
 * err->msg is the message in the live server's style; `issue` (may be NULL) is filled. */
enum wxp_code wxp_schema_check_value(const struct wxp_field *f, const char *p, size_t len,
                                     struct wxp_param_issue *issue,
                                     struct wxp_err *err) WXP_MUST_CHECK;

/* Checks a raw request body against the schema's body rows: strict JSON (wxp_json_check), an
 * object, no repeated member among the schema's names, each required row present, each a string
 * (null is a wrong type), each value within its row. Unknown members are ignored. On success, and
 * when `out` is not NULL, fills it (free with wxp_values_free). Returns WXP_OK or the first
 * failure: WXP_E_TOO_LARGE, WXP_E_UTF8, WXP_E_JSON_SYNTAX, WXP_E_JSON_NOT_OBJECT,
 * WXP_E_JSON_DUPLICATE_KEY, WXP_E_PARAM_MISSING, WXP_E_PARAM_TYPE, then wxp_schema_check_value's.
 */
enum wxp_code wxp_schema_check_body(const struct wxp_schema *s, const char *body, size_t len,
                                    struct wxp_values *out, struct wxp_param_issue *issue,
                                    struct wxp_err *err) WXP_MUST_CHECK;

/* The row of that name and location, or NULL. */
const struct wxp_field *wxp_schema_field(const struct wxp_schema *s, const char *name,
                                         enum wxp_loc loc);
/* A value by name; absent slice when the body lacked it. Borrowed from `v`. */
struct wxp_str wxp_values_get(const struct wxp_values *v, const char *name);
void wxp_values_free(struct wxp_values *v);

/* "body", "uri_template", "query". */
const char *wxp_loc_name(enum wxp_loc loc);

#endif
