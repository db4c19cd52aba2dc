/* Target: wxp_notify_parse */
/* SPDX-License-Identifier: MIT */
/* fuzz_notify.c: a received notification checked and decrypted as a merchant does, with the
 * platform key store (certificate + public key) and merchant A's TEST APIv3 key. The input is six
 * lines, the values of Wechatpay-Timestamp, Wechatpay-Nonce, Wechatpay-Signature,
 * Wechatpay-Serial, Wechatpay-Signature-Type and Request-ID, then the body (the rest); a header
 * whose line is missing is absent. The clock is the input's own timestamp when it parses (else
 * FUZZ_NOW), so saved notifications of any date reach the envelope. A signature line of exactly
 * "SIGN" is replaced by the platform key's signature over the input (deterministic RSA PKCS#1
 * v1.5), so the fuzzer reaches the envelope, decryption and plaintext checks with bodies of its
 * own. Invariants: a refusal is a documented code equal to err.code, with `out` zeroed; an
 * accepted notification has every member set, resource_type encrypt-resource, algorithm
 * AEAD_AES_256_GCM, and a resource that starts with '{' after whitespace. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "keys.h"
#include "wxp/keys.h"
#include "wxp/notify.h"

/* fixtures/keys/test-merchant-a.apiv3.key (TEST ONLY, public). */
#define KEY_A "TestOnlyApiV3KeyA1900000109zYxWv"

static struct wxp_keystore *ks;
static struct wxp_key *signer;

static void free_keys(void)
{
    wxp_keystore_free(ks);
    wxp_key_free(signer);
    ks = NULL;
    signer = NULL;
}

static bool documented(enum wxp_code rc)
{
    static const enum wxp_code CODES[] = {
        WXP_E_TOO_LARGE,
        WXP_E_NOMEM,
        WXP_E_NOTIFY_SIG_TYPE,
        WXP_E_RESP_HEADER_MISSING,
        WXP_E_RESP_TIMESTAMP,
        WXP_E_TIMESTAMP_STALE,
        WXP_E_TIMESTAMP_FUTURE,
        WXP_E_SERIAL_UNKNOWN,
        WXP_E_SIG_PROBE,
        WXP_E_SIG_MISMATCH,
        WXP_E_UTF8,
        WXP_E_JSON_SYNTAX,
        WXP_E_NOTIFY_ENVELOPE,
        WXP_E_NOTIFY_RESOURCE_TYPE,
        WXP_E_NOTIFY_ALGORITHM,
        WXP_E_AEAD_KEY,
        WXP_E_AEAD_NONCE,
        WXP_E_AEAD_FORMAT,
        WXP_E_AEAD_AUTH,
        WXP_E_CRYPTO,
        WXP_E_NOTIFY_PLAINTEXT,
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
    const char *p = (const char *)data;
    struct wxp_str *hdr[6];
    struct wxp_notify_in in;
    struct wxp_notify n;
    struct wxp_notify_headers h;
    struct wxp_resp_policy pol = {FUZZ_NOW, WXP_SKEW_DEFAULT, false};
    struct wxp_err err;
    size_t pos = 0;
    enum wxp_code rc;
    int64_t ts = 0;

    if (ks == NULL) {
        ks = fuzz_platform_keystore();
        FUZZ_CHECK(wxp_key_private_pem(fuzz_embed_platform_key, strlen(fuzz_embed_platform_key),
                                       &signer, NULL) == WXP_OK);
        atexit(free_keys);
    }
    memset(&in, 0, sizeof in);
    hdr[0] = &in.r.timestamp;
    hdr[1] = &in.r.nonce;
    hdr[2] = &in.r.signature;
    hdr[3] = &in.r.serial;
    hdr[4] = &in.signature_type;
    hdr[5] = &in.r.request_id;
    for (size_t i = 0; i < 6; i++) {
        const char *nl = pos < size ? memchr(p + pos, '\n', size - pos) : NULL;
        if (nl == NULL) {
            break;
        }
        *hdr[i] = (struct wxp_str){p + pos, (size_t)(nl - (p + pos))};
        pos = (size_t)(nl - p) + 1;
    }
    in.r.body = (struct wxp_str){p + pos, size - pos};
    if (wxp_parse_seconds(in.r.timestamp, &ts)) {
        pol.now = ts;
    }
    if (wxp_str_eq(in.r.signature, WXP_STR_LIT("SIGN")) && in.r.nonce.ptr != NULL &&
        in.r.nonce.len < sizeof h.nonce && memchr(in.r.nonce.ptr, '\n', in.r.nonce.len) == NULL &&
        memchr(in.r.nonce.ptr, '\0', in.r.nonce.len) == NULL && ts >= 0) {
        char nonce[sizeof h.nonce];
        memcpy(nonce, in.r.nonce.ptr, in.r.nonce.len);
        nonce[in.r.nonce.len] = '\0';
        if (wxp_notify_sign(signer, "x", ts, nonce, in.r.body, &h, NULL) == WXP_OK) {
            in.r.signature = wxp_str_c(h.signature);
        }
    }
    wxp_err_clear(&err);
    rc = wxp_notify_parse(ks, WXP_STR_LIT(KEY_A), &in, &pol, &n, &err);
    FUZZ_CHECK(rc < WXP_CODE_COUNT);
    if (rc != WXP_OK) {
        FUZZ_CHECK(err.code == rc && documented(rc));
        FUZZ_CHECK(n.id == NULL && n.resource == NULL);
        return 0;
    }
    FUZZ_CHECK(n.id != NULL && n.create_time != NULL && n.event_type != NULL && n.summary != NULL &&
               n.original_type != NULL && n.associated_data != NULL);
    FUZZ_CHECK(strcmp(n.resource_type, WXP_NOTIFY_RESOURCE_TYPE) == 0);
    FUZZ_CHECK(strcmp(n.algorithm, WXP_NOTIFY_ALGORITHM) == 0);
    FUZZ_CHECK(n.resource != NULL && n.resource_len > 0 &&
               n.resource[strspn(n.resource, " \t\r\n")] == '{');
    FUZZ_CHECK(wxp_keystore_find(ks, in.r.serial) != NULL);
    wxp_notify_free(&n);
    return 0;
}
