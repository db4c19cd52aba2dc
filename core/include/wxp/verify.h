/* SPDX-License-Identifier: MIT */
/* verify.h: the client's check of a signed response, a key store of platform keys, and the
 * timestamp window both sides apply.
 * rule: verify TIMESTAMP\nNONCE\nBODY\n with the key Wechatpay-Serial names (exact match); reject
 *       a timestamp more than the window (300 s) away. src: docs/protocol.md#response-verification
 */
#ifndef WXP_VERIFY_H
#define WXP_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"
#include "str.h"

#define WXP_SKEW_DEFAULT 300
#define WXP_PROBE_PREFIX "WECHATPAY/SIGNTEST/"

/* |ts - now| <= window passes. Returns WXP_OK, WXP_E_TIMESTAMP_STALE (ts < now - window) or
 * WXP_E_TIMESTAMP_FUTURE (ts > now + window). */
enum wxp_code wxp_skew_check(int64_t ts, int64_t now, int64_t window) WXP_MUST_CHECK;

/* Parses 1..18 ASCII digits; false for anything else (sign, space, empty, too long). */
bool wxp_parse_seconds(struct wxp_str s, int64_t *out);

/* A set of verification keys looked up by id: certificate serial or PUB_KEY_ID_... */
struct wxp_keystore;

struct wxp_keystore *wxp_keystore_new(void);
/* NULL-safe; frees the keys it owns. */
void wxp_keystore_free(struct wxp_keystore *ks);
/* Takes ownership of `key` on success and on failure. WXP_E_KEY_ID for a key without an id or
 * with an id already present; WXP_E_INVALID_ARG for a private key; WXP_E_NOMEM. */
enum wxp_code wxp_keystore_add(struct wxp_keystore *ks, struct wxp_key *key,
                               struct wxp_err *err) WXP_MUST_CHECK;
/* Exact, case-sensitive match, as every official SDK does. NULL when unknown. Borrowed. */
const struct wxp_key *wxp_keystore_find(const struct wxp_keystore *ks, struct wxp_str id);
size_t wxp_keystore_count(const struct wxp_keystore *ks);
const struct wxp_key *wxp_keystore_at(const struct wxp_keystore *ks, size_t i);

/* A response as received. An absent header has ptr == NULL. */
struct wxp_resp {
    struct wxp_str timestamp;  /* Wechatpay-Timestamp */
    struct wxp_str nonce;      /* Wechatpay-Nonce */
    struct wxp_str signature;  /* Wechatpay-Signature */
    struct wxp_str serial;     /* Wechatpay-Serial */
    struct wxp_str request_id; /* Request-ID */
    struct wxp_str body;       /* raw bytes; empty for a 204 */
};

struct wxp_resp_policy {
    int64_t now;             /* the client's clock, Unix seconds */
    int64_t window;          /* allowed skew both ways; WXP_SKEW_DEFAULT */
    bool require_request_id; /* apache-httpclient requires it; our client does too */
};

/* Checks, in this order, returning the first failure (err->field names the header):
 *   WXP_E_RESP_HEADER_MISSING  a Wechatpay-* header (or Request-ID if required) absent or empty
 *   WXP_E_RESP_TIMESTAMP       Wechatpay-Timestamp not 1..18 digits
 *   WXP_E_TIMESTAMP_STALE / WXP_E_TIMESTAMP_FUTURE  outside the window
 *   WXP_E_SERIAL_UNKNOWN       no key with exactly that id
 *   WXP_E_SIG_PROBE            signature starts WECHATPAY/SIGNTEST/ (a failed verification that
 *                              is also reported as the real server's deliberate probe)
 *   WXP_E_SIG_MISMATCH         signature not base64 or does not verify
 * Returns WXP_OK only for a response that verifies. */
enum wxp_code wxp_resp_verify(const struct wxp_keystore *ks, const struct wxp_resp *r,
                              const struct wxp_resp_policy *p, struct wxp_err *err) WXP_MUST_CHECK;

#endif
