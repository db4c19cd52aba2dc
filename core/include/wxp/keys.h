/* SPDX-License-Identifier: MIT */
/* keys.h: RSA keys as the protocol uses them: a merchant's private key, an X.509 certificate
 * (public key + serial), or a bare public key with a WeChat Pay key id ("PUB_KEY_ID_..."). */
#ifndef WXP_KEYS_H
#define WXP_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Opaque; no OpenSSL type crosses this header. */
struct wxp_key;

enum wxp_key_kind {
    WXP_KEY_PRIVATE, /* signs; id is "" unless set with wxp_key_set_id */
    WXP_KEY_CERT,    /* verifies; id is the certificate serial, uppercase hex */
    WXP_KEY_PUBKEY   /* verifies; id is the PUB_KEY_ID_... given at load */
};

/* Largest PEM file the loaders read. */
#define WXP_PEM_MAX (64 * 1024)
/* Longest key id: a serial of 20 bytes is 40 hex digits; PUB_KEY_ID_ ids are ~50 characters. */
#define WXP_KEY_ID_MAX 64
#define WXP_KEY_MIN_BITS 2048

/* Load from PEM text (`pem` need not be NUL-terminated). Private keys may be PKCS#8
 * ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"). Return WXP_OK and a new key in *out that the
 * caller frees with wxp_key_free, or: WXP_E_KEY_PEM (no PEM object of that type: a certificate
 * given where a key is expected, garbage, an encrypted key), WXP_E_KEY_NOT_RSA,
 * WXP_E_KEY_TOO_SMALL (< 2048 bits), WXP_E_KEY_ID (pubkey: id empty, too long or not
 * printable ASCII), WXP_E_TOO_LARGE, WXP_E_NOMEM. */
enum wxp_code wxp_key_private_pem(const char *pem, size_t len, struct wxp_key **out,
                                  struct wxp_err *err) WXP_MUST_CHECK;
enum wxp_code wxp_key_cert_pem(const char *pem, size_t len, struct wxp_key **out,
                               struct wxp_err *err) WXP_MUST_CHECK;
enum wxp_code wxp_key_pubkey_pem(const char *pem, size_t len, const char *id, struct wxp_key **out,
                                 struct wxp_err *err) WXP_MUST_CHECK;

/* The same from a file. Add WXP_E_IO (missing or unreadable file; err->field is the path, or a
 * placeholder when the "path" looks like key material: see wxp_keyfile_shown in keyfile.h; a
 * path longer than err->field keeps its end, the file name, behind "…": wxp_str_tail).
 * The file's bytes are wiped from memory after parsing. The file's permissions are not checked
 * here: wxp_keyfile_warning does that for the programs that print. */
enum wxp_code wxp_key_private_file(const char *path, struct wxp_key **out,
                                   struct wxp_err *err) WXP_MUST_CHECK;
enum wxp_code wxp_key_cert_file(const char *path, struct wxp_key **out,
                                struct wxp_err *err) WXP_MUST_CHECK;
enum wxp_code wxp_key_pubkey_file(const char *path, const char *id, struct wxp_key **out,
                                  struct wxp_err *err) WXP_MUST_CHECK;

/* Reads a whole file of at most `max` bytes into a new NUL-terminated buffer (free with
 * wxp_free). WXP_E_IO or WXP_E_TOO_LARGE (err->field = path, as wxp_keyfile_shown shows it:
 * messages never echo PEM text given where a file name belongs; a long path keeps its end, in
 * the field and in the message, whose reason is never cut for it). */
enum wxp_code wxp_file_read(const char *path, size_t max, char **out, size_t *len,
                            struct wxp_err *err) WXP_MUST_CHECK;

/* A second handle on the same key material (OpenSSL counts the references), with the same kind
 * and a copy of the id that wxp_key_set_id may then change: one parse serves two signers.
 * Both handles are freed with wxp_key_free, in any order. WXP_OK or WXP_E_NOMEM. */
enum wxp_code wxp_key_share(const struct wxp_key *k, struct wxp_key **out,
                            struct wxp_err *err) WXP_MUST_CHECK;

/* Frees a key; NULL-safe. Private key material is released through OpenSSL, which wipes it. */
void wxp_key_free(struct wxp_key *k);

enum wxp_key_kind wxp_key_kind(const struct wxp_key *k);
/* Serial (uppercase hex, whole bytes, as wechatpay-go prints it), PUB_KEY_ID_..., or "". */
const char *wxp_key_id(const struct wxp_key *k);
/* Sets the id (e.g. the serial a private key's certificate has). WXP_E_KEY_ID if malformed. */
enum wxp_code wxp_key_set_id(struct wxp_key *k, const char *id, struct wxp_err *err) WXP_MUST_CHECK;
int wxp_key_bits(const struct wxp_key *k);
/* True when both keys hold the same RSA public key (a private key and its certificate). */
bool wxp_key_same_public(const struct wxp_key *a, const struct wxp_key *b);

#endif
