/* SPDX-License-Identifier: MIT */
/* certlist.h: the answer of GET /v3/certificates (the platform certificates), read the way the
 * official SDKs' downloaders read it: each certificate decrypted with AEAD_AES_256_GCM under the
 * merchant's APIv3 key, parsed, and checked against the serial_no and times listed beside it.
 * rule: {"data":[{"serial_no","effective_time","expire_time","encrypt_certificate":{"algorithm":
 *       "AEAD_AES_256_GCM","nonce","associated_data","ciphertext"}}]}. src: [GB-CERTS] */
#ifndef WXP_CERTLIST_H
#define WXP_CERTLIST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "keys.h"
#include "str.h"
#include "verify.h"

/* Certificates one answer may list (the live server lists one, two during a rotation). */
#define WXP_CERTLIST_MAX 8
/* Longest effective_time/expire_time text kept ("2026-12-01T00:00:00+08:00" is 25). */
#define WXP_CERT_TIME_MAX 40
/* Largest answer body read. */
#define WXP_CERTLIST_BODY_MAX ((size_t)256 * 1024)

struct wxp_platcert {
    char serial[WXP_KEY_ID_MAX + 1];   /* serial_no, equal to the certificate's serial */
    char effective[WXP_CERT_TIME_MAX]; /* effective_time as listed */
    char expire[WXP_CERT_TIME_MAX];    /* expire_time as listed */
    int64_t not_before;                /* the certificate's validity, Unix seconds */
    int64_t not_after;
    struct wxp_buf pem; /* the decrypted PEM (owned, capped at WXP_PEM_MAX) */
};

struct wxp_certlist {
    struct wxp_platcert cert[WXP_CERTLIST_MAX];
    size_t count;
};

/* Cannot fail; allocates nothing. */
void wxp_certlist_init(struct wxp_certlist *l);
/* Frees every PEM and re-inits. NULL-safe. */
void wxp_certlist_free(struct wxp_certlist *l);

/* Reads the answer body[0..len) into `l` (initialised, empty). `apiv3_key` is the merchant's
 * APIv3 key (borrowed; only handed to wxp_aead_decrypt). `now` is the caller's clock. Each entry,
 * in order: the JSON shape above (strict JSON, members case-sensitive; algorithm must be
 * AEAD_AES_256_GCM), the ciphertext decrypted with nonce and associated_data, the plaintext a PEM
 * certificate, its serial equal to serial_no, its notBefore/notAfter equal to effective_time/
 * expire_time (RFC 3339 with an offset or Z), and notAfter after `now`. Returns WXP_OK with
 * l->count >= 1, or the first failure, err->field naming the entry ("data[1].serial_no"):
 * WXP_E_TOO_LARGE (body over WXP_CERTLIST_BODY_MAX, more than WXP_CERTLIST_MAX entries),
 * WXP_E_JSON_* (wxp_json_check), WXP_E_CERTLIST (shape, algorithm, a time that is not RFC 3339, an
 * empty list, a serial listed twice), the AEAD codes of wxp_aead_decrypt (WXP_E_AEAD_AUTH: wrong
 * APIv3 key or tampered ciphertext), WXP_E_KEY_* (the plaintext is not a certificate),
 * WXP_E_CERT_SERIAL, WXP_E_CERT_VALIDITY, WXP_E_CERT_EXPIRED, WXP_E_NOMEM. On failure `l` may hold
 * the entries before the failing one; free it in every case. */
enum wxp_code wxp_certlist_parse(struct wxp_certlist *l, const char *body, size_t len,
                                 struct wxp_str apiv3_key, int64_t now,
                                 struct wxp_err *err) WXP_MUST_CHECK;

/* Adds every certificate of `l` to `ks` as a verification key named by its serial. Returns WXP_OK,
 * or wxp_key_cert_pem's and wxp_keystore_add's codes (WXP_E_KEY_ID: a serial already in `ks`). */
enum wxp_code wxp_certlist_add_keys(const struct wxp_certlist *l, struct wxp_keystore *ks,
                                    struct wxp_err *err) WXP_MUST_CHECK;

/* Parses an RFC 3339 date-time with seconds and an offset: "2026-12-01T00:00:00+08:00" or
 * "...Z", optional fractional seconds ignored. Returns true and Unix seconds in *out. */
bool wxp_rfc3339_parse(struct wxp_str s, int64_t *out);

#endif
