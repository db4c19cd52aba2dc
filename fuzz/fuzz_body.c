/* Target: wxp_schema_check_body */
/* SPDX-License-Identifier: MIT */
/* fuzz_body.c: the terminate request body (strict JSON, then the schema rows of
 * WXP_SCHEMA_TERMINATE_BY_OPENID). Invariants: an accepted body is strict JSON and yields every
 * required value within its row; a refused one names a known code. */
#include <string.h>

#include "fuzz.h"
#include "wxp/json.h"
#include "wxp/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct wxp_schema *s = &WXP_SCHEMA_TERMINATE_BY_OPENID;
    const char *p = (const char *)data;
    struct wxp_values v;
    struct wxp_param_issue issue;
    struct wxp_err err;
    enum wxp_code rc;

    memset(&v, 0, sizeof v);
    memset(&issue, 0, sizeof issue);
    wxp_err_clear(&err);
    rc = wxp_schema_check_body(s, p, size, &v, &issue, &err);
    FUZZ_CHECK(rc < WXP_CODE_COUNT);
    if (rc == WXP_OK) {
        FUZZ_CHECK(wxp_json_check(p, size, NULL, NULL) == WXP_OK);
        for (size_t i = 0; i < s->count; i++) {
            const struct wxp_field *f = &s->fields[i];
            struct wxp_str val;
            if (f->loc != WXP_LOC_BODY) {
                continue;
            }
            val = wxp_values_get(&v, f->name);
            if (f->required) {
                FUZZ_CHECK(val.ptr != NULL);
            }
            if (val.ptr != NULL) {
                FUZZ_CHECK(val.ptr[val.len] == '\0');
                FUZZ_CHECK(wxp_schema_check_value(f, val.ptr, val.len, NULL, NULL) == WXP_OK);
            }
        }
    } else {
        FUZZ_CHECK(err.code == rc);
        FUZZ_CHECK(memchr(issue.pointer, '\0', sizeof issue.pointer) != NULL);
    }
    wxp_values_free(&v);
    return 0;
}
