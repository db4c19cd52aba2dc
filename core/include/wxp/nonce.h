/* SPDX-License-Identifier: MIT */
/* nonce.h: random nonces as the official SDKs make them: 32 characters of [0-9A-Za-z]. */
#ifndef WXP_NONCE_H
#define WXP_NONCE_H

#include "err.h"

#define WXP_NONCE_LEN 32

/* Fills out[0..31] from OpenSSL's CSPRNG (unbiased: rejection sampling) and out[32] = '\0'.
 * Returns WXP_OK or WXP_E_CRYPTO. */
enum wxp_code wxp_nonce(char out[WXP_NONCE_LEN + 1], struct wxp_err *err) WXP_MUST_CHECK;

#endif
