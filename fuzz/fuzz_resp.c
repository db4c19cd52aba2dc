/* Target: wxp_resp_verify */
/* SPDX-License-Identifier: MIT */
/* fuzz_resp.c: the client's check of a signed response. The input is five lines, the values of
 * Wechatpay-Timestamp, Wechatpay-Nonce, Wechatpay-Signature, Wechatpay-Serial and Request-ID,
 * then the body (the rest). A header whose line is missing is absent. The key store (platform
 * certificate + public key) is loaded once; the clock is fixed at FUZZ_NOW. Invariant: a response
 * that verifies has its timestamp inside the window and names a known key. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "keys.h"

static struct wxp_keystore *ks;

static void free_keystore(void)
{
    wxp_keystore_free(ks);
    ks = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct wxp_str *hdr[5];
    struct wxp_resp r;
    const struct wxp_resp_policy pol = {FUZZ_NOW, WXP_SKEW_DEFAULT, true};
    struct wxp_err err;
    size_t pos = 0;
    enum wxp_code rc;
    int64_t ts;

    if (ks == NULL) {
        ks = fuzz_platform_keystore();
        atexit(free_keystore);
    }
    memset(&r, 0, sizeof r);
    hdr[0] = &r.timestamp;
    hdr[1] = &r.nonce;
    hdr[2] = &r.signature;
    hdr[3] = &r.serial;
    hdr[4] = &r.request_id;
    for (size_t i = 0; i < 5; i++) {
        const char *nl = pos < size ? memchr(p + pos, '\n', size - pos) : NULL;
        if (nl == NULL) {
            break;
        }
        *hdr[i] = (struct wxp_str){p + pos, (size_t)(nl - (p + pos))};
        pos = (size_t)(nl - p) + 1;
    }
    r.body = (struct wxp_str){p + pos, size - pos};
    wxp_err_clear(&err);
    rc = wxp_resp_verify(ks, &r, &pol, &err);
    FUZZ_CHECK(rc < WXP_CODE_COUNT);
    if (rc == WXP_OK) {
        FUZZ_CHECK(wxp_parse_seconds(r.timestamp, &ts));
        FUZZ_CHECK(wxp_skew_check(ts, FUZZ_NOW, WXP_SKEW_DEFAULT) == WXP_OK);
        FUZZ_CHECK(wxp_keystore_find(ks, r.serial) != NULL);
        FUZZ_CHECK(r.request_id.len > 0);
    } else {
        FUZZ_CHECK(err.code == rc);
    }
    return 0;
}
