/* SPDX-License-Identifier: MIT */
/* aead.h: AEAD_AES_256_GCM as WeChat Pay APIv3 uses it for platform certificates and
 * notification resources (docs/protocol.md#aead_aes_256_gcm). */
#ifndef WXP_AEAD_H
#define WXP_AEAD_H

#include <stddef.h>

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "str.h"

#define WXP_AEAD_KEY_LEN 32   /* the APIv3 key: AES-256 */
#define WXP_AEAD_NONCE_LEN 12 /* the nonce string, bytes */
#define WXP_AEAD_TAG_LEN 16   /* appended to the ciphertext before base64 */
/* Bounds, checked before anything is allocated: a certificate list or a notification resource
 * is a few KiB; an associated_data is a short word ("certificate", "transaction"). */
#define WXP_AEAD_PLAINTEXT_MAX ((size_t)1024 * 1024)
#define WXP_AEAD_AAD_MAX ((size_t)1024)
#define WXP_AEAD_CIPHERTEXT_MAX WXP_BASE64_ENCODED_LEN(WXP_AEAD_PLAINTEXT_MAX + WXP_AEAD_TAG_LEN)

/* The inputs both directions share. Borrowed slices; the key is the APIv3 key's bytes (the
 * caller keeps and wipes it; these functions copy it nowhere but into OpenSSL's cipher context,
 * which OpenSSL cleanses when it is freed). `nonce` and `aad` are the bytes of the UTF-8 strings
 * of the JSON members `nonce` and `associated_data`; an absent associated_data is `aad` with
 * len 0 (ptr may then be NULL). */
struct wxp_aead_params {
    struct wxp_str key;
    struct wxp_str nonce;
    struct wxp_str aad;
};

/* Encrypts pt[0..pt_len) and appends base64(ciphertext || tag) to `out` (no NUL counted in
 * out->len; wxp_buf keeps one after it). Returns WXP_OK; WXP_E_AEAD_KEY (key not 32 bytes,
 * err->field "key"), WXP_E_AEAD_NONCE (nonce not 12 bytes, "nonce"), WXP_E_TOO_LARGE (pt_len
 * > WXP_AEAD_PLAINTEXT_MAX, aad longer than WXP_AEAD_AAD_MAX, or `out` would pass its max),
 * WXP_E_NOMEM or WXP_E_CRYPTO. On failure `out` keeps its previous contents. Does not take
 * ownership of anything. The nonce must never repeat under one key: the caller makes a fresh
 * one per message. */
enum wxp_code wxp_aead_encrypt(const struct wxp_aead_params *p, const void *pt, size_t pt_len,
                               struct wxp_buf *out, struct wxp_err *err) WXP_MUST_CHECK;

/* Decodes ct_b64[0..ct_len) (strict base64, as base64.h), checks the tag over the ciphertext
 * and the associated data, and only then appends the plaintext to `out`. Returns WXP_OK;
 * WXP_E_AEAD_KEY, WXP_E_AEAD_NONCE (as above); WXP_E_AEAD_FORMAT (field "ciphertext": not
 * base64, or fewer than 16 bytes once decoded); WXP_E_TOO_LARGE (ct_len above
 * WXP_AEAD_CIPHERTEXT_MAX, aad above WXP_AEAD_AAD_MAX, or `out` would pass its max);
 * WXP_E_AEAD_AUTH (the tag does not match: wrong key, nonce or associated_data, or altered
 * bytes); WXP_E_NOMEM or WXP_E_CRYPTO. On any failure nothing is appended and no byte of
 * unauthenticated plaintext is left in memory. The plaintext is bytes (a PEM certificate or a
 * JSON resource); its UTF-8 is the caller's to check. Does not take ownership of anything. */
enum wxp_code wxp_aead_decrypt(const struct wxp_aead_params *p, const char *ct_b64, size_t ct_len,
                               struct wxp_buf *out, struct wxp_err *err) WXP_MUST_CHECK;

#endif
