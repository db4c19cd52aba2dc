/* Target: wxp_aead_decrypt */
/* SPDX-License-Identifier: MIT */
/* fuzz_aead.c: AEAD_AES_256_GCM decryption of what a client receives (a certificate list's or a
 * notification's encrypted member) under merchant A's TEST APIv3 key. Input: one byte, the nonce
 * length; one byte, the associated_data length; the nonce; the associated_data; the rest is the
 * base64 ciphertext. Invariants: a nonce that is not 12 bytes is WXP_E_AEAD_NONCE; a refusal is
 * one of the documented codes and appends nothing; an accepted ciphertext decrypts to its
 * length minus the tag, and encrypting the plaintext again gives the very same base64. */
#include <string.h>

#include "fuzz.h"
#include "wxp/aead.h"

/* fixtures/keys/test-merchant-a.apiv3.key (TEST ONLY, public). */
#define KEY_A "TestOnlyApiV3KeyA1900000109zYxWv"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wxp_aead_params p = {WXP_STR_LIT(KEY_A), {NULL, 0}, {NULL, 0}};
    const char *in = (const char *)data;
    struct wxp_buf pt;
    struct wxp_buf again;
    struct wxp_err err;
    size_t nonce_len, aad_len, ct_len;
    enum wxp_code rc;

    if (size < 2) {
        return 0;
    }
    nonce_len = data[0];
    aad_len = data[1];
    if (nonce_len + aad_len > size - 2) {
        return 0;
    }
    p.nonce.ptr = in + 2;
    p.nonce.len = nonce_len;
    p.aad.ptr = in + 2 + nonce_len;
    p.aad.len = aad_len;
    ct_len = size - 2 - nonce_len - aad_len;

    wxp_buf_init(&pt, WXP_AEAD_PLAINTEXT_MAX);
    wxp_buf_init(&again, WXP_AEAD_CIPHERTEXT_MAX);
    wxp_err_clear(&err);
    rc = wxp_aead_decrypt(&p, in + 2 + nonce_len + aad_len, ct_len, &pt, &err);
    FUZZ_CHECK(rc < WXP_CODE_COUNT && err.code == rc);
    if (nonce_len != WXP_AEAD_NONCE_LEN) {
        FUZZ_CHECK(rc == WXP_E_AEAD_NONCE);
    }
    if (rc != WXP_OK) {
        FUZZ_CHECK(rc == WXP_E_AEAD_NONCE || rc == WXP_E_AEAD_FORMAT || rc == WXP_E_AEAD_AUTH ||
                   rc == WXP_E_TOO_LARGE);
        FUZZ_CHECK(pt.len == 0);
        goto out;
    }
    FUZZ_CHECK(ct_len % 4 == 0 && pt.len + WXP_AEAD_TAG_LEN <= ct_len / 4 * 3);
    FUZZ_CHECK(wxp_aead_encrypt(&p, pt.ptr, pt.len, &again, &err) == WXP_OK);
    FUZZ_CHECK(again.len == ct_len && memcmp(again.ptr, in + 2 + nonce_len + aad_len, ct_len) == 0);
out:
    wxp_buf_free(&pt);
    wxp_buf_free(&again);
    return 0;
}
