/* SPDX-License-Identifier: MIT */
/* aead.c: AEAD_AES_256_GCM through OpenSSL's EVP API, framed as WeChat Pay APIv3 frames it:
 * key = APIv3 key, nonce and associated_data as UTF-8 bytes, base64(ciphertext || tag). */
#include "wxp/aead.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

#include "wxp/base64.h"
#include "wxp/mem.h"

/* rule: the key is the 32-byte APIv3 key; AES-256-GCM with a 16-byte tag appended to the
 * ciphertext, the whole base64-encoded. src: [GO-AES], [PHP-README], [D-NOTIFY] */
static enum wxp_code check_params(const struct wxp_aead_params *p, struct wxp_err *err)
{
    if (p == NULL || p->key.ptr == NULL) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, "key", "no APIv3 key given");
    }
    if (p->key.len != WXP_AEAD_KEY_LEN) {
        /* The length only: the key's bytes never go into a message. */
        return wxp_err_set(err, WXP_E_AEAD_KEY, "key", "APIv3 key is %zu bytes, must be %d",
                           p->key.len, WXP_AEAD_KEY_LEN);
    }
    /* rule: the nonce is 12 bytes: what WeChat sends, and the only length wechatpay-go's
     * cipher.NewGCM opens (wechatpay-java takes any). src: [GO-AES], [D-NOTIFY] */
    if (p->nonce.ptr == NULL || p->nonce.len != WXP_AEAD_NONCE_LEN) {
        return wxp_err_set(err, WXP_E_AEAD_NONCE, "nonce", "nonce is %zu bytes, must be %d",
                           p->nonce.ptr ? p->nonce.len : 0, WXP_AEAD_NONCE_LEN);
    }
    if (p->aad.len > 0 && p->aad.ptr == NULL) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, "associated_data", "no associated_data given");
    }
    if (p->aad.len > WXP_AEAD_AAD_MAX) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, "associated_data",
                           "associated_data is %zu bytes, at most %zu", p->aad.len,
                           WXP_AEAD_AAD_MAX);
    }
    return WXP_OK;
}

/* A cipher context with key, nonce and associated data loaded, for either direction. */
static enum wxp_code start(const struct wxp_aead_params *p, int enc, EVP_CIPHER_CTX **out,
                           struct wxp_err *err)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;

    *out = NULL;
    if (ctx == NULL) {
        return wxp_err_openssl(err, WXP_E_NOMEM, "cannot allocate a cipher context");
    }
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, WXP_AEAD_NONCE_LEN, NULL) != 1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, (const unsigned char *)p->key.ptr,
                          (const unsigned char *)p->nonce.ptr, enc) != 1 ||
        (p->aad.len > 0 && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)p->aad.ptr,
                                            (int)p->aad.len) != 1)) {
        EVP_CIPHER_CTX_free(ctx);
        return wxp_err_openssl(err, WXP_E_CRYPTO, "AES-256-GCM set-up failed");
    }
    *out = ctx;
    return WXP_OK;
}

enum wxp_code wxp_aead_encrypt(const struct wxp_aead_params *p, const void *pt, size_t pt_len,
                               struct wxp_buf *out, struct wxp_err *err)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *ct = NULL;
    char *b64 = NULL;
    size_t b64_cap = WXP_BASE64_ENCODED_LEN(pt_len + WXP_AEAD_TAG_LEN) + 1;
    size_t b64_len = 0;
    int n = 0;
    int fin = 0;
    enum wxp_code rc = check_params(p, err);

    if (rc != WXP_OK) {
        return rc;
    }
    if (pt_len > 0 && pt == NULL) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, "plaintext", "no plaintext given");
    }
    if (pt_len > WXP_AEAD_PLAINTEXT_MAX) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, "plaintext", "plaintext is %zu bytes, at most %zu",
                           pt_len, WXP_AEAD_PLAINTEXT_MAX);
    }
    ct = wxp_malloc(pt_len + WXP_AEAD_TAG_LEN);
    b64 = wxp_malloc(b64_cap);
    if (ct == NULL || b64 == NULL) {
        rc = wxp_err_set(err, WXP_E_NOMEM, NULL, NULL);
        goto out;
    }
    rc = start(p, 1, &ctx, err);
    if (rc != WXP_OK) {
        goto out;
    }
    if ((pt_len > 0 && EVP_EncryptUpdate(ctx, ct, &n, pt, (int)pt_len) != 1) ||
        EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, WXP_AEAD_TAG_LEN, ct + pt_len) != 1) {
        rc = wxp_err_openssl(err, WXP_E_CRYPTO, "AES-256-GCM encryption failed");
        goto out;
    }
    rc = wxp_base64_encode(ct, pt_len + WXP_AEAD_TAG_LEN, b64, b64_cap, &b64_len);
    if (rc == WXP_OK) {
        rc = wxp_buf_add(out, b64, b64_len);
    }
    if (rc != WXP_OK) {
        rc =
            wxp_err_set(err, rc, "ciphertext", "cannot hold the ciphertext: %s", wxp_code_desc(rc));
    }
out:
    EVP_CIPHER_CTX_free(ctx);
    wxp_free(ct);
    wxp_free(b64);
    return rc;
}

enum wxp_code wxp_aead_decrypt(const struct wxp_aead_params *p, const char *ct_b64, size_t ct_len,
                               struct wxp_buf *out, struct wxp_err *err)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *raw = NULL;
    unsigned char *pt = NULL;
    unsigned char tag[WXP_AEAD_TAG_LEN];
    size_t raw_cap = ct_len / 4 * 3 + 1;
    size_t raw_len = 0;
    size_t body = 0;
    int n = 0;
    int fin = 0;
    enum wxp_code rc = check_params(p, err);

    if (rc != WXP_OK) {
        return rc;
    }
    if (ct_len > WXP_AEAD_CIPHERTEXT_MAX) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, "ciphertext",
                           "ciphertext is %zu characters, at most %zu", ct_len,
                           (size_t)WXP_AEAD_CIPHERTEXT_MAX);
    }
    if (ct_len > 0 && ct_b64 == NULL) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, "ciphertext", "no ciphertext given");
    }
    raw = wxp_malloc(raw_cap);
    if (raw == NULL) {
        return wxp_err_set(err, WXP_E_NOMEM, NULL, NULL);
    }
    if (wxp_base64_decode(ct_b64, ct_len, raw, raw_cap, &raw_len) != WXP_OK) {
        rc = wxp_err_set(err, WXP_E_AEAD_FORMAT, "ciphertext",
                         "ciphertext is not standard base64 with padding");
        goto out;
    }
    /* rule: the last 16 decoded bytes are the tag. src: [GO-AES] */
    if (raw_len < WXP_AEAD_TAG_LEN) {
        rc = wxp_err_set(err, WXP_E_AEAD_FORMAT, "ciphertext",
                         "ciphertext is %zu bytes once decoded, shorter than the %d-byte tag",
                         raw_len, WXP_AEAD_TAG_LEN);
        goto out;
    }
    body = raw_len - WXP_AEAD_TAG_LEN;
    memcpy(tag, raw + body, sizeof tag);
    pt = wxp_malloc(body ? body : 1);
    if (pt == NULL) {
        rc = wxp_err_set(err, WXP_E_NOMEM, NULL, NULL);
        goto out;
    }
    rc = start(p, 0, &ctx, err);
    if (rc != WXP_OK) {
        goto out;
    }
    if ((body > 0 && EVP_DecryptUpdate(ctx, pt, &n, raw, (int)body) != 1) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, WXP_AEAD_TAG_LEN, tag) != 1) {
        rc = wxp_err_openssl(err, WXP_E_CRYPTO, "AES-256-GCM decryption failed");
        goto out;
    }
    /* The tag is checked here; until it passes, pt holds unauthenticated bytes. */
    if (EVP_DecryptFinal_ex(ctx, pt + n, &fin) != 1) {
        ERR_clear_error();
        rc = wxp_err_set(err, WXP_E_AEAD_AUTH, "ciphertext",
                         "the tag does not match: wrong APIv3 key, nonce or associated_data, or "
                         "altered ciphertext");
        goto out;
    }
    rc = wxp_buf_add(out, pt, body);
    if (rc != WXP_OK) {
        rc = wxp_err_set(err, rc, "plaintext", "cannot hold the plaintext: %s", wxp_code_desc(rc));
    }
out:
    EVP_CIPHER_CTX_free(ctx);
    if (pt != NULL) {
        OPENSSL_cleanse(pt, body ? body : 1);
    }
    wxp_free(pt);
    wxp_free(raw);
    return rc;
}
