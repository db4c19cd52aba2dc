/* Target: wxp_json_check */
/* SPDX-License-Identifier: MIT */
/* fuzz_json.c: the strict RFC 8259 check run before cJSON. Differential invariant: whatever the
 * strict check accepts, cJSON (the lenient parser behind it) parses completely. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "wxp/json.h"

static bool json_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t bad = (size_t)-1;
    struct wxp_err err;
    enum wxp_code rc;

    wxp_err_clear(&err);
    rc = wxp_json_check(p, size, &bad, &err);
    if (rc != WXP_OK) {
        FUZZ_CHECK(rc == WXP_E_UTF8 || rc == WXP_E_JSON_SYNTAX || rc == WXP_E_TOO_LARGE);
        FUZZ_CHECK(rc == WXP_E_TOO_LARGE || bad <= size);
        return 0;
    }
    {
        const char *end = NULL;
        cJSON *root = cJSON_ParseWithLengthOpts(p, size, &end, 0);
        FUZZ_CHECK(root != NULL);
        FUZZ_CHECK(end != NULL && end >= p && end <= p + size);
        while (end < p + size && json_ws(*end)) {
            end++;
        }
        FUZZ_CHECK(end == p + size);
        cJSON_Delete(root);
    }
    return 0;
}
