/* SPDX-License-Identifier: MIT */
/* keys.h: TEST ONLY fixture keys embedded into the fuzz binaries (generated embedded.c), so the
 * targets run from any directory. */
#ifndef WXP_FUZZ_KEYS_H
#define WXP_FUZZ_KEYS_H

#include "wxp/verify.h"

extern const char fuzz_embed_platform_cert[];
extern const char fuzz_embed_platform_pubkey[];
extern const char fuzz_embed_platform_key[];
extern const char fuzz_embed_merchant_a_key[];

#define FUZZ_PUBKEY_ID "PUB_KEY_ID_0119000001092025112400000000000001"
#define FUZZ_MCHID "1900000109"
#define FUZZ_SERIAL_A "3B2A4C1D5E6F708192A3B4C5D6E7F8091A2B3C4D"

/* A key store with the platform certificate and the platform public key (FUZZ_PUBKEY_ID): what
 * a client verifies the mock's answers with. Aborts when the fixtures do not load. */
struct wxp_keystore *fuzz_platform_keystore(void);

#endif
