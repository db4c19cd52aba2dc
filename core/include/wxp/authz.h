/* SPDX-License-Identifier: MIT */
/* authz.h: the request's Authorization header:
 *   WECHATPAY2-SHA256-RSA2048
 * mchid="..",nonce_str="..",timestamp="..",serial_no="..",signature=".." rule: five key="value"
 * parameters in any order. src: docs/protocol.md#authorization-header */
#ifndef WXP_AUTHZ_H
#define WXP_AUTHZ_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "keys.h"
#include "str.h"

#define WXP_AUTHZ_SCHEME "WECHATPAY2-SHA256-RSA2048"
/* Longest header the parser looks at; a real one is about 500 bytes. */
#define WXP_AUTHZ_MAX 4096

/* A parsed header. Every slice borrows from the parsed input. */
struct wxp_authz {
    struct wxp_str mchid;
    struct wxp_str nonce_str;
    struct wxp_str timestamp; /* the digits exactly as sent: they are what was signed */
    struct wxp_str serial_no;
    struct wxp_str signature;
    int64_t ts;              /* the timestamp's value in seconds */
    bool spaces_after_comma; /* the official format rule forbids them; the caller decides */
};

/* Parses `hdr[0..len)` strictly and never reads past it. Accepts the parameters in any order and
 * optional spaces (SP/HTAB) after a comma (reported in out->spaces_after_comma). Returns WXP_OK or,
 * naming the parameter in err->field where there is one ("Authorization.timestamp"):
 *   WXP_E_AUTHZ_MISSING         empty (or all-blank) header
 *   WXP_E_AUTHZ_SCHEME          scheme other than WECHATPAY2-SHA256-RSA2048 (compared exactly)
 *   WXP_E_AUTHZ_SYNTAX          no single space after the scheme, a name not followed by '=',
 *                               garbage between parameters, a control byte, a trailing comma
 *   WXP_E_AUTHZ_PARAM_MISSING   one of the five is absent (the first absent one is named)
 *   WXP_E_AUTHZ_PARAM_DUPLICATE a parameter appears twice
 *   WXP_E_AUTHZ_PARAM_UNKNOWN   a parameter name outside the five
 *   WXP_E_AUTHZ_UNQUOTED        value not in double quotes (single quotes included)
 *   WXP_E_AUTHZ_UNTERMINATED    opening quote without a closing one
 *   WXP_E_AUTHZ_EMPTY_VALUE     ""
 *   WXP_E_AUTHZ_TIMESTAMP       non-digit timestamp or more than 18 digits
 *   WXP_E_TOO_LARGE             len > WXP_AUTHZ_MAX
 * Does not take ownership of `hdr`; `out` borrows from it. */
enum wxp_code wxp_authz_parse(const char *hdr, size_t len, struct wxp_authz *out,
                              struct wxp_err *err) WXP_MUST_CHECK;

/* Appends a header value in wechatpay-go's parameter order. Values must not contain '"'
 * (WXP_E_INVALID_ARG). */
enum wxp_code wxp_authz_build(struct wxp_buf *out, const char *mchid, const char *nonce,
                              int64_t timestamp, const char *serial_no, const char *signature,
                              struct wxp_err *err) WXP_MUST_CHECK;

/* What a client needs to sign: its private key, mchid and the serial of that key's certificate. */
struct wxp_signer {
    const struct wxp_key *key;
    const char *mchid;
    const char *serial_no;
};

/* Builds the signing string of (method, target, timestamp, nonce, body), signs it and appends
 * the complete Authorization header value to `out`. `target` is the path and query exactly as
 * they will be sent. Errors: those of wxp_signmsg_request, wxp_sign and wxp_authz_build. */
enum wxp_code wxp_authz_sign(struct wxp_buf *out, const struct wxp_signer *s, struct wxp_str method,
                             struct wxp_str target, struct wxp_str body, int64_t timestamp,
                             const char *nonce, struct wxp_err *err) WXP_MUST_CHECK;

/* Server side: verifies a parsed header's signature over the request as received, with the
 * merchant's certificate. Returns WXP_OK, WXP_E_SIG_BASE64, WXP_E_SIG_MISMATCH or a signing-string
 * error. When `msg_out` is not NULL the signing string that was checked is appended to it (what
 * the real server echoes in a SIGN_ERROR detail). */
enum wxp_code wxp_authz_verify(const struct wxp_key *cert, const struct wxp_authz *a,
                               struct wxp_str method, struct wxp_str target, struct wxp_str body,
                               struct wxp_buf *msg_out, struct wxp_err *err) WXP_MUST_CHECK;

#endif
