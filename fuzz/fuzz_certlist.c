/* Target: wxp_certlist_parse */
/* SPDX-License-Identifier: MIT */
/* fuzz_certlist.c: the answer of GET /v3/certificates as a client reads it, under merchant A's
 * TEST APIv3 key and a fixed clock. Input: the whole body. Invariants: a refusal is one of the
 * documented codes, with err.code equal to it; an accepted list holds 1..WXP_CERTLIST_MAX
 * certificates, each with a serial, a PEM, a validity that has not ended, serials all different,
 * and every certificate becomes a verification key. */
#include <string.h>

#include "fuzz.h"
#include "wxp/certlist.h"
#include "wxp/verify.h"

/* fixtures/keys/test-merchant-a.apiv3.key (TEST ONLY, public). */
#define KEY_A "TestOnlyApiV3KeyA1900000109zYxWv"
/* 2026-12-04T00:00:00Z: deterministic. */
#define NOW ((int64_t)1796342400)

static bool documented(enum wxp_code rc)
{
    static const enum wxp_code CODES[] = {
        WXP_E_TOO_LARGE,    WXP_E_NOMEM,           WXP_E_UTF8,
        WXP_E_JSON_SYNTAX,  WXP_E_JSON_NOT_OBJECT, WXP_E_JSON_DUPLICATE_KEY,
        WXP_E_CERTLIST,     WXP_E_AEAD_KEY,        WXP_E_AEAD_NONCE,
        WXP_E_AEAD_FORMAT,  WXP_E_AEAD_AUTH,       WXP_E_CRYPTO,
        WXP_E_KEY_PEM,      WXP_E_KEY_NOT_RSA,     WXP_E_KEY_TOO_SMALL,
        WXP_E_KEY_ID,       WXP_E_CERT_SERIAL,     WXP_E_CERT_VALIDITY,
        WXP_E_CERT_EXPIRED,
    };
    for (size_t i = 0; i < sizeof CODES / sizeof CODES[0]; i++) {
        if (CODES[i] == rc) {
            return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wxp_certlist l;
    struct wxp_keystore *ks = NULL;
    struct wxp_err err;
    enum wxp_code rc;

    wxp_certlist_init(&l);
    wxp_err_clear(&err);
    rc = wxp_certlist_parse(&l, (const char *)data, size, WXP_STR_LIT(KEY_A), NOW, &err);
    FUZZ_CHECK(rc < WXP_CODE_COUNT);
    if (rc != WXP_OK) {
        FUZZ_CHECK(err.code == rc && documented(rc));
        goto out;
    }
    FUZZ_CHECK(l.count >= 1 && l.count <= WXP_CERTLIST_MAX);
    for (size_t i = 0; i < l.count; i++) {
        FUZZ_CHECK(l.cert[i].serial[0] != '\0' && l.cert[i].pem.len > 0);
        FUZZ_CHECK(l.cert[i].not_after > NOW && l.cert[i].not_before <= l.cert[i].not_after);
        for (size_t j = 0; j < i; j++) {
            FUZZ_CHECK(strcmp(l.cert[i].serial, l.cert[j].serial) != 0);
        }
    }
    ks = wxp_keystore_new();
    FUZZ_CHECK(ks != NULL);
    FUZZ_CHECK(wxp_certlist_add_keys(&l, ks, NULL) == WXP_OK);
    FUZZ_CHECK(wxp_keystore_count(ks) == l.count);
out:
    wxp_keystore_free(ks);
    wxp_certlist_free(&l);
    return 0;
}
