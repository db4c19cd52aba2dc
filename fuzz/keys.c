/* SPDX-License-Identifier: MIT */
/* keys.c: the platform key store the targets verify responses with. */
#include <string.h>

#include "fuzz.h"
#include "keys.h"

struct wxp_keystore *fuzz_platform_keystore(void)
{
    struct wxp_keystore *ks = wxp_keystore_new();
    struct wxp_key *k = NULL;
    struct wxp_err err;

    FUZZ_CHECK(ks != NULL);
    FUZZ_CHECK(wxp_key_cert_pem(fuzz_embed_platform_cert, strlen(fuzz_embed_platform_cert), &k,
                                &err) == WXP_OK);
    FUZZ_CHECK(wxp_keystore_add(ks, k, &err) == WXP_OK);
    FUZZ_CHECK(wxp_key_pubkey_pem(fuzz_embed_platform_pubkey, strlen(fuzz_embed_platform_pubkey),
                                  FUZZ_PUBKEY_ID, &k, &err) == WXP_OK);
    FUZZ_CHECK(wxp_keystore_add(ks, k, &err) == WXP_OK);
    return ks;
}
