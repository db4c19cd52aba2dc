/* SPDX-License-Identifier: MIT */
/* schema_internal.h: schema.c's PARAM_ERROR message machinery, shared with op.c (core only). */
#ifndef WXP_SCHEMA_INTERNAL_H
#define WXP_SCHEMA_INTERNAL_H

#include "wxp/schema.h"

/* Fills `err` (code, field "/<location>/<name>", the live-style message) and `issue` for a
 * failure of row `f`: WXP_E_PARAM_MISSING, WXP_E_PARAM_TYPE, WXP_E_PARAM_TOO_SHORT and
 * WXP_E_PARAM_TOO_LONG (`n` = the length that broke the rule), WXP_E_UTF8,
 * WXP_E_PARAM_DUPLICATE, WXP_E_PARAM_CHARSET. For WXP_E_PARAM_CHARSET, `why` (may be NULL: a
 * 4-byte or control character) says what is wrong ("百分号编码无效"). Returns the code. */
enum wxp_code wxp_schema_fail(struct wxp_err *err, struct wxp_param_issue *issue,
                              const struct wxp_field *f, enum wxp_code code, long long n,
                              const char *why);

#endif
