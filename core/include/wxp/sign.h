/* SPDX-License-Identifier: MIT */
/* sign.h: RSASSA-PKCS1-v1_5 with SHA-256, signatures in standard padded base64.
 * rule: signature = base64(SHA256withRSA(signing string)). src: docs/protocol.md#signature */
#ifndef WXP_SIGN_H
#define WXP_SIGN_H

#include <stddef.h>

#include "err.h"
#include "keys.h"

/* Base64 of a 4096-bit signature is 684 characters; room for that and a NUL. */
#define WXP_SIG_B64_MAX 700

/* Signs `msg` with a private key, writes NUL-terminated base64 into out (cap >= WXP_SIG_B64_MAX
 * is always enough). Returns WXP_OK, WXP_E_INVALID_ARG (not a private key), WXP_E_TOO_LARGE,
 * WXP_E_CRYPTO. */
enum wxp_code wxp_sign(const struct wxp_key *key, const void *msg, size_t len, char *out,
                       size_t cap, size_t *outlen, struct wxp_err *err) WXP_MUST_CHECK;

/* Verifies base64 `sig` over `msg` with a certificate, public or private key. Returns WXP_OK,
 * WXP_E_SIG_BASE64 (not strict base64, or not the key's size) or WXP_E_SIG_MISMATCH. */
enum wxp_code wxp_verify(const struct wxp_key *key, const void *msg, size_t len, const char *sig,
                         size_t siglen, struct wxp_err *err) WXP_MUST_CHECK;

#endif
