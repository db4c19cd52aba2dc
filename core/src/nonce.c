/* SPDX-License-Identifier: MIT */
/* nonce.c: 32 Base62 characters from the CSPRNG, like wechatpay-go utils/nonce.go. */
#include "wxp/nonce.h"

#include <openssl/rand.h>

static const char CHARS[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

enum wxp_code wxp_nonce(char out[WXP_NONCE_LEN + 1], struct wxp_err *err)
{
    unsigned char rnd[64];
    size_t n = 0;

    while (n < WXP_NONCE_LEN) {
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
            return wxp_err_openssl(err, WXP_E_CRYPTO, "RAND_bytes failed");
        }
        /* 62 * 4 = 248: bytes >= 248 are dropped so every character is equally likely. */
        for (size_t i = 0; i < sizeof rnd && n < WXP_NONCE_LEN; i++) {
            if (rnd[i] < 248) {
                out[n++] = CHARS[rnd[i] % 62];
            }
        }
    }
    out[WXP_NONCE_LEN] = '\0';
    return WXP_OK;
}
