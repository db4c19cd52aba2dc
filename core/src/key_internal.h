/* SPDX-License-Identifier: MIT */
/* key_internal.h: the layout of struct wxp_key, shared by keys.c and sign.c only. */
#ifndef WXP_KEY_INTERNAL_H
#define WXP_KEY_INTERNAL_H

#include <openssl/evp.h>

#include "wxp/keys.h"

struct wxp_key {
    EVP_PKEY *pkey;
    enum wxp_key_kind kind;
    char id[WXP_KEY_ID_MAX + 1];
};

#endif
