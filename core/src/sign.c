/* SPDX-License-Identifier: MIT */
/* sign.c: SHA256withRSA (RSASSA-PKCS1-v1_5) over EVP_DigestSign/EVP_DigestVerify. */
#include "wxp/sign.h"

#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "key_internal.h"
#include "wxp/base64.h"

/* Largest RSA modulus we handle: 4096 bits. */
#define SIG_RAW_MAX 512

enum wxp_code wxp_sign(const struct wxp_key *key, const void *msg, size_t len, char *out,
                       size_t cap, size_t *outlen, struct wxp_err *err)
{
    unsigned char raw[SIG_RAW_MAX];
    size_t rawlen = sizeof raw;
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    enum wxp_code rc;

    if (key->kind != WXP_KEY_PRIVATE) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, "key", "signing needs a private key");
    }
    if ((size_t)EVP_PKEY_get_size(key->pkey) > sizeof raw) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, "key",
                           "RSA keys above 4096 bits are not supported");
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        rc = wxp_err_openssl(err, WXP_E_NOMEM, "EVP_MD_CTX_new");
        goto out;
    }
    if (EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key->pkey) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_DigestSign(ctx, raw, &rawlen, msg, len) != 1) {
        rc = wxp_err_openssl(err, WXP_E_CRYPTO, "RSA-SHA256 signing failed");
        goto out;
    }
    rc = wxp_base64_encode(raw, rawlen, out, cap, outlen);
    if (rc != WXP_OK) {
        wxp_err_set(err, rc, "signature", "output buffer of %zu bytes is too small", cap);
    }
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

enum wxp_code wxp_verify(const struct wxp_key *key, const void *msg, size_t len, const char *sig,
                         size_t siglen, struct wxp_err *err)
{
    unsigned char raw[SIG_RAW_MAX];
    size_t rawlen = 0;
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    enum wxp_code rc;
    int ok;

    rc = wxp_base64_decode(sig, siglen, raw, sizeof raw, &rawlen);
    if (rc != WXP_OK) {
        return wxp_err_set(err, WXP_E_SIG_BASE64, "signature",
                           "signature is not standard padded base64");
    }
    /* A PKCS#1 v1.5 signature is exactly as long as the modulus; sign.h reports any other
     * length as WXP_E_SIG_BASE64. */
    if (rawlen != (size_t)EVP_PKEY_get_size(key->pkey)) {
        return wxp_err_set(err, WXP_E_SIG_BASE64, "signature",
                           "signature is %zu bytes; the key's signatures are %d bytes", rawlen,
                           EVP_PKEY_get_size(key->pkey));
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        rc = wxp_err_openssl(err, WXP_E_NOMEM, "EVP_MD_CTX_new");
        goto out;
    }
    if (EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, key->pkey) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
        rc = wxp_err_openssl(err, WXP_E_CRYPTO, "RSA-SHA256 verification setup failed");
        goto out;
    }
    ok = EVP_DigestVerify(ctx, raw, rawlen, msg, len);
    /* A mismatch leaves errors on OpenSSL's queue; drain them so none leaks into a later call. */
    ERR_clear_error();
    if (ok != 1) {
        rc = wxp_err_set(err, WXP_E_SIG_MISMATCH, "signature",
                         "RSA-SHA256 signature does not verify with key %s",
                         key->id[0] ? key->id : "(no id)");
        goto out;
    }
    rc = WXP_OK;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}
