/* Target: wxp_envelope_parse */
/* SPDX-License-Identifier: MIT */
/* fuzz_envelope.c: the APIv3 error body a client receives. Invariants: an accepted envelope has
 * code and message; building an envelope from them and parsing it again round-trips them. */
#include <string.h>

#include "fuzz.h"
#include "wxp/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wxp_envelope e;
    struct wxp_envelope again;
    struct wxp_buf b;
    struct wxp_err err;
    enum wxp_code rc;

    memset(&e, 0, sizeof e);
    memset(&again, 0, sizeof again);
    wxp_err_clear(&err);
    rc = wxp_envelope_parse((const char *)data, size, &e, &err);
    FUZZ_CHECK(rc < WXP_CODE_COUNT);
    if (rc != WXP_OK) {
        wxp_envelope_free(&e);
        return 0;
    }
    FUZZ_CHECK(e.code != NULL && e.message != NULL);
    wxp_buf_init(&b, WXP_ENVELOPE_MAX * 2);
    /* Strings with an embedded NUL cannot go through the C-string builder; skip those. */
    if (wxp_envelope_build(&b, e.code, e.message, e.detail_json, &err) == WXP_OK &&
        b.len <= WXP_ENVELOPE_MAX) {
        FUZZ_CHECK(wxp_envelope_parse(b.ptr, b.len, &again, &err) == WXP_OK);
        FUZZ_CHECK(strcmp(again.code, e.code) == 0);
        FUZZ_CHECK(strcmp(again.message, e.message) == 0);
    }
    wxp_buf_free(&b);
    wxp_envelope_free(&again);
    wxp_envelope_free(&e);
    return 0;
}
