/* SPDX-License-Identifier: MIT */
/* err.h: the one error type of libwxp-core: a code from one table plus a caller-owned buffer
 * that names the field and says what is wrong. */
#ifndef WXP_ERR_H
#define WXP_ERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define WXP_MUST_CHECK __attribute__((warn_unused_result))
#define WXP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define WXP_MUST_CHECK
#define WXP_PRINTF(fmt, args)
#endif

/* Every code the core can return. The HTTP status and WeChat error code that a server answers
 * for each lives in a second table, envelope.c (wxp_status_of). */
#define WXP_CODES(X)                                                                               \
    X(WXP_OK, "ok")                                                                                \
    X(WXP_E_NOMEM, "out of memory")                                                                \
    X(WXP_E_INVALID_ARG, "invalid argument")                                                       \
    X(WXP_E_TOO_LARGE, "input exceeds its size limit")                                             \
    X(WXP_E_IO, "cannot read file")                                                                \
    X(WXP_E_CRYPTO, "cryptographic library failure")                                               \
    X(WXP_E_KEY_PEM, "not a PEM object of the expected type")                                      \
    X(WXP_E_KEY_NOT_RSA, "key is not an RSA key")                                                  \
    X(WXP_E_KEY_TOO_SMALL, "RSA key is shorter than 2048 bits")                                    \
    X(WXP_E_KEY_ID, "key id or serial is malformed")                                               \
    X(WXP_E_AUTHZ_MISSING, "Authorization header is missing or empty")                             \
    X(WXP_E_AUTHZ_SCHEME, "Authorization scheme is not WECHATPAY2-SHA256-RSA2048")                 \
    X(WXP_E_AUTHZ_SYNTAX, "Authorization header is malformed")                                     \
    X(WXP_E_AUTHZ_PARAM_MISSING, "Authorization lacks a required parameter")                       \
    X(WXP_E_AUTHZ_PARAM_DUPLICATE, "Authorization repeats a parameter")                            \
    X(WXP_E_AUTHZ_PARAM_UNKNOWN, "Authorization has an unknown parameter")                         \
    X(WXP_E_AUTHZ_UNQUOTED, "Authorization parameter value is not double-quoted")                  \
    X(WXP_E_AUTHZ_UNTERMINATED, "Authorization parameter value has no closing quote")              \
    X(WXP_E_AUTHZ_EMPTY_VALUE, "Authorization parameter value is empty")                           \
    X(WXP_E_AUTHZ_TIMESTAMP, "Authorization timestamp is not a decimal number of seconds")         \
    X(WXP_E_TIMESTAMP_STALE, "timestamp is older than the allowed window")                         \
    X(WXP_E_TIMESTAMP_FUTURE, "timestamp is further in the future than the allowed window")        \
    X(WXP_E_SIG_BASE64, "signature is not valid base64")                                           \
    X(WXP_E_SIG_MISMATCH, "signature does not verify")                                             \
    X(WXP_E_SIG_PROBE, "signature is a WECHATPAY/SIGNTEST/ probe")                                 \
    X(WXP_E_RESP_HEADER_MISSING, "response lacks a signature header")                              \
    X(WXP_E_RESP_TIMESTAMP, "Wechatpay-Timestamp is not a decimal number of seconds")              \
    X(WXP_E_SERIAL_UNKNOWN, "no key is known for that serial or key id")                           \
    X(WXP_E_UTF8, "text is not valid UTF-8")                                                       \
    X(WXP_E_JSON_SYNTAX, "body is not valid JSON")                                                 \
    X(WXP_E_JSON_NOT_OBJECT, "body is not a JSON object")                                          \
    X(WXP_E_JSON_DUPLICATE_KEY, "body repeats a member name")                                      \
    X(WXP_E_PARAM_MISSING, "required parameter is missing")                                        \
    X(WXP_E_PARAM_TYPE, "parameter has the wrong type")                                            \
    X(WXP_E_PARAM_TOO_SHORT, "parameter is shorter than its minimum")                              \
    X(WXP_E_PARAM_TOO_LONG, "parameter is longer than its maximum")                                \
    X(WXP_E_PARAM_CHARSET, "parameter has a character that is not allowed")                        \
    X(WXP_E_ENVELOPE, "body is not an APIv3 error envelope")                                       \
    X(WXP_E_PARAM_DUPLICATE, "query parameter is given more than once")                            \
    X(WXP_E_AEAD_KEY, "APIv3 key is not 32 bytes")                                                 \
    X(WXP_E_AEAD_NONCE, "AEAD nonce is not 12 bytes")                                              \
    X(WXP_E_AEAD_FORMAT, "AEAD ciphertext is not base64 of at least a 16-byte tag")                \
    X(WXP_E_AEAD_AUTH, "AEAD ciphertext does not authenticate (wrong APIv3 key, nonce, "           \
                       "associated_data, or tampered)")                                            \
    X(WXP_E_CERTLIST, "certificate list is malformed")                                             \
    X(WXP_E_CERT_SERIAL, "certificate serial differs from the listed serial_no")                   \
    X(WXP_E_CERT_VALIDITY, "certificate validity differs from the listed effective/expire time")   \
    X(WXP_E_CERT_EXPIRED, "certificate has expired")                                               \
    X(WXP_E_NOTIFY_SIG_TYPE, "Wechatpay-Signature-Type is not WECHATPAY2-SHA256-RSA2048")          \
    X(WXP_E_NOTIFY_ENVELOPE, "notification body is not a well-formed envelope")                    \
    X(WXP_E_NOTIFY_RESOURCE_TYPE, "notification resource_type is not encrypt-resource")            \
    X(WXP_E_NOTIFY_ALGORITHM, "notification resource.algorithm is not AEAD_AES_256_GCM")           \
    X(WXP_E_NOTIFY_PLAINTEXT, "decrypted notification resource is not a JSON object")

#define WXP_AS_ENUM(name, desc) name,
enum wxp_code { WXP_CODES(WXP_AS_ENUM) WXP_CODE_COUNT };
#undef WXP_AS_ENUM

/* Caller-owned error buffer, like curl's CURLOPT_ERRORBUFFER. Functions that take one accept NULL.
 * On failure `code` is set, `field` names what failed ("Authorization.serial_no", "/body/reason",
 * "Wechatpay-Nonce"; may be empty) and `msg` is one line saying why. Never holds key material. */
struct wxp_err {
    enum wxp_code code;
    char field[64];
    char msg[320];
};

/* The enum name ("WXP_E_AUTHZ_SCHEME") and the table's description. Never NULL. */
const char *wxp_code_name(enum wxp_code code);
const char *wxp_code_desc(enum wxp_code code);

/* Resets `err` to WXP_OK with empty strings. NULL-safe. */
void wxp_err_clear(struct wxp_err *err);

/* Fills `err` (if not NULL) and returns `code`, so callers write `return wxp_err_set(...)`.
 * `field` may be NULL. A NULL `fmt` uses the table's description. Never overflows: a field
 * longer than err->field keeps its end behind a leading "…" (wxp_str_tail: a path keeps its file
 * name), and a message longer than err->msg is cut at its end, on a UTF-8 character boundary. */
enum wxp_code wxp_err_set(struct wxp_err *err, enum wxp_code code, const char *field,
                          const char *fmt, ...) WXP_PRINTF(4, 5);

/* Like wxp_err_set with `what` as the message, then appends OpenSSL's queued errors and empties
 * the queue, so no stale error leaks into a later call. */
enum wxp_code wxp_err_openssl(struct wxp_err *err, enum wxp_code code, const char *what);

#endif
