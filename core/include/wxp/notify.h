/* SPDX-License-Identifier: MIT */
/* notify.h: WeChat Pay APIv3 notifications (callbacks such as PAYSCORE.USER_OPEN_SERVICE): the
 * envelope a sender builds and signs, and the receiver's check: signature first, then the
 * envelope, then AEAD_AES_256_GCM decryption of the resource with the APIv3 key.
 * rule: the envelope is {"id","create_time","resource_type":"encrypt-resource","event_type",
 *       "resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext","nonce","associated_data",
 *       "original_type"},"summary"}; the headers are signed like a response (TIMESTAMP\nNONCE\n
 *       BODY\n) with the platform key. src:
 * docs/notifications.md#verifying-and-decrypting-a-notification
 */
#ifndef WXP_NOTIFY_H
#define WXP_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "keys.h"
#include "str.h"
#include "verify.h"

/* The only Wechatpay-Signature-Type this core verifies (an absent or empty header reads as it). */
#define WXP_NOTIFY_SIG_TYPE "WECHATPAY2-SHA256-RSA2048"
#define WXP_NOTIFY_RESOURCE_TYPE "encrypt-resource"
#define WXP_NOTIFY_ALGORITHM "AEAD_AES_256_GCM"
/* Largest notification body read (a Pay Score notification is under 1 KiB). */
#define WXP_NOTIFY_BODY_MAX ((size_t)256 * 1024)
/* Longest envelope string member kept (id, create_time, event_type, resource_type, summary,
 * algorithm, original_type, associated_data); the documented ones are at most 64 characters. */
#define WXP_NOTIFY_MEMBER_MAX 256
/* Length of the nonce wxp_notify_build makes (the live server's resource nonces are 12). */
#define WXP_NOTIFY_NONCE_LEN 12
/* Length of a generated id: UUID form, 8-4-4-4-12. */
#define WXP_NOTIFY_ID_LEN 36

/* A fresh id: a version-4 UUID in its 36-character text form (real notification ids look like
 * this). WXP_OK, or WXP_E_CRYPTO when no random bytes. */
enum wxp_code wxp_notify_id(char out[WXP_NOTIFY_ID_LEN + 1], struct wxp_err *err) WXP_MUST_CHECK;

/* What a notification says; NULL members get the documented default. Borrowed. */
struct wxp_notify_spec {
    const char *id;              /* NULL: a fresh UUID-form id (36 chars) */
    const char *create_time;     /* NULL: now, RFC 3339 with +08:00 */
    const char *event_type;      /* required, e.g. "PAYSCORE.USER_OPEN_SERVICE" */
    const char *summary;         /* required, e.g. "授权成功" */
    const char *resource_type;   /* NULL: "encrypt-resource" */
    const char *algorithm;       /* NULL: "AEAD_AES_256_GCM"; the label written (faults may lie);
                                    the encryption is always AES-256-GCM */
    const char *original_type;   /* NULL: "payscore" */
    const char *associated_data; /* NULL: "" */
    const char *nonce;           /* NULL: a fresh 12-character nonce */
    struct wxp_str plaintext;    /* the resource JSON to encrypt */
};

/* Encrypts s->plaintext with `apiv3_key` (32 bytes; borrowed) under s->nonce and
 * s->associated_data, and appends the envelope JSON to `out`, members in this order: id,
 * create_time, resource_type, event_type, resource{original_type, algorithm, ciphertext,
 * associated_data, nonce}, summary. Strings are JSON-escaped; the plaintext is not checked (a
 * sender may encrypt anything, faults included). Returns WXP_OK; WXP_E_INVALID_ARG (event_type or
 * summary NULL, a member not valid UTF-8: err->field names it), the codes of wxp_aead_encrypt
 * (WXP_E_AEAD_KEY, WXP_E_AEAD_NONCE: a given nonce not 12 bytes), WXP_E_CRYPTO (no randomness),
 * WXP_E_TOO_LARGE, WXP_E_NOMEM. On failure `out` may hold a partial envelope: reset it. */
enum wxp_code wxp_notify_build(const struct wxp_notify_spec *s, struct wxp_str apiv3_key,
                               struct wxp_buf *out, struct wxp_err *err) WXP_MUST_CHECK;

/* The Wechatpay-* headers of a notification (same signing string as a response:
 * TIMESTAMP\nNONCE\nBODY\n, with the platform private key). NUL-terminated strings. */
struct wxp_notify_headers {
    char timestamp[24];
    char nonce[64];
    char serial[128];        /* certificate serial or PUB_KEY_ID_... */
    char signature[1024];    /* base64 */
    char signature_type[64]; /* "WECHATPAY2-SHA256-RSA2048" */
};

/* Signs `body` (borrowed) as sent at Unix time `ts` with `platform_key` (a private key) and fills
 * `out`; `serial` is written as Wechatpay-Serial. nonce NULL: fresh (32 characters of
 * [0-9A-Za-z], as wxp_nonce). Returns WXP_OK; WXP_E_INVALID_ARG (serial NULL or too long, nonce
 * too long or holding a newline, ts negative), the codes of wxp_sign (WXP_E_INVALID_ARG: not a
 * private key), WXP_E_CRYPTO, WXP_E_TOO_LARGE (body over WXP_SIGNMSG_MAX), WXP_E_NOMEM. */
enum wxp_code wxp_notify_sign(const struct wxp_key *platform_key, const char *serial, int64_t ts,
                              const char *nonce, struct wxp_str body,
                              struct wxp_notify_headers *out, struct wxp_err *err) WXP_MUST_CHECK;

/* A notification as received: the headers (struct wxp_resp from verify.h: timestamp, nonce,
 * signature, serial, request_id, body) plus Wechatpay-Signature-Type (absent: ptr NULL, read as
 * WECHATPAY2-SHA256-RSA2048 as wechatpay-go and wechatpay-java do). */
struct wxp_notify_in {
    struct wxp_resp r;
    struct wxp_str signature_type;
};

/* A parsed, verified, decrypted notification; owned strings, free with wxp_notify_free. */
struct wxp_notify {
    char *id, *create_time, *event_type, *resource_type, *summary;
    char *algorithm, *original_type, *associated_data;
    char *resource; /* the decrypted resource JSON, NUL-terminated */
    size_t resource_len;
};

/* Checks and opens a received notification, in this order, returning the first failure:
 *   WXP_E_TOO_LARGE             body over WXP_NOTIFY_BODY_MAX (field "body"; checked first, before
 *                               anything is hashed)
 *   WXP_E_NOTIFY_SIG_TYPE       Wechatpay-Signature-Type present, not empty, and not
 *                               WECHATPAY2-SHA256-RSA2048 (the only suite this core has)
 *   wxp_resp_verify's codes     WXP_E_RESP_HEADER_MISSING, WXP_E_RESP_TIMESTAMP,
 *                               WXP_E_TIMESTAMP_STALE/_FUTURE, WXP_E_SERIAL_UNKNOWN,
 * WXP_E_SIG_PROBE (a WECHATPAY/SIGNTEST/ probe fails as a forged signature does),
 *                               WXP_E_SIG_MISMATCH; `p` is the window and Request-ID policy
 *   WXP_E_UTF8, WXP_E_JSON_SYNTAX  the body is not strict JSON (wxp_json_check)
 *   WXP_E_NOTIFY_ENVELOPE       not an object; a member repeated; id, create_time, event_type,
 *                               resource_type, summary, resource.algorithm, resource.ciphertext or
 *                               resource.nonce missing or not a string; resource not an object;
 *                               resource.associated_data or resource.original_type present but not
 *                               a string (absent reads as ""); a string over WXP_NOTIFY_MEMBER_MAX
 *   WXP_E_NOTIFY_RESOURCE_TYPE  resource_type is not "encrypt-resource"
 *   WXP_E_NOTIFY_ALGORITHM      resource.algorithm is not "AEAD_AES_256_GCM"
 *   wxp_aead_decrypt's codes    WXP_E_AEAD_KEY (apiv3_key not 32 bytes), WXP_E_AEAD_NONCE,
 *                               WXP_E_AEAD_FORMAT, WXP_E_AEAD_AUTH (wrong APIv3 key, tampered
 *                               ciphertext or tag, altered nonce or associated_data)
 *   WXP_E_NOTIFY_PLAINTEXT      the decrypted resource is not a strict-JSON object
 *   WXP_E_NOMEM
 * err->field names the header or member ("Wechatpay-Signature", "body.resource.algorithm").
 * Verification always comes before decryption: nothing of the body is read unless the signature
 * verifies. On WXP_OK `out` owns copies of every member; on failure `out` is zeroed (freeing it
 * is still harmless). Does not take ownership of `ks`, `apiv3_key` or `in`. */
enum wxp_code wxp_notify_parse(const struct wxp_keystore *ks, struct wxp_str apiv3_key,
                               const struct wxp_notify_in *in, const struct wxp_resp_policy *p,
                               struct wxp_notify *out, struct wxp_err *err) WXP_MUST_CHECK;

/* Frees every member and zeroes `n`; NULL-safe, and safe on a zeroed struct. */
void wxp_notify_free(struct wxp_notify *n);

#endif
