/* SPDX-License-Identifier: MIT */
/* authz.c: the Authorization header: strict parser, builder, and sign/verify of a request. */
#include "wxp/authz.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "wxp/sign.h"
#include "wxp/signmsg.h"
#include "wxp/verify.h"

#define SCHEME_LEN (sizeof WXP_AUTHZ_SCHEME - 1)

/* Bytes allowed in a parameter name. */
static const uint8_t NAME_CHARS[256] = {
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1,
    ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['_'] = 1, ['-'] = 1,
};

/* The five parameters, in the order a missing one is reported. */
static const char *const PARAMS[] = {"mchid", "nonce_str", "timestamp", "serial_no", "signature"};
#define NPARAMS 5

static struct wxp_str *slot(struct wxp_authz *a, size_t i)
{
    /* cppcheck 2.10 asks for a const array: `*const slots` still draws the warning, and
     * `const struct wxp_str *` elements would not convert to the pointer returned. */
    /* cppcheck-suppress constVariable */
    struct wxp_str *slots[NPARAMS] = {&a->mchid, &a->nonce_str, &a->timestamp, &a->serial_no,
                                      &a->signature};
    return slots[i];
}

static enum wxp_code fail(struct wxp_err *err, enum wxp_code code, const char *param, size_t off,
                          const char *what)
{
    char field[64] = "Authorization";
    if (param != NULL) {
        snprintf(field, sizeof field, "Authorization.%s", param);
    }
    return wxp_err_set(err, code, field, "%s (at offset %zu)", what, off);
}

/* Index of `name` in PARAMS, or -1. */
static int param_index(const char *p, size_t n)
{
    for (int i = 0; i < NPARAMS; i++) {
        if (strlen(PARAMS[i]) == n && memcmp(PARAMS[i], p, n) == 0) {
            return i;
        }
    }
    return -1;
}

static bool all_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t') {
            return false;
        }
    }
    return true;
}

/* Offset of the first control byte, or n. HTAB counts as one except in the run of blanks after a
 * separating comma (outside quotes), where the header allows it. */
static size_t control_at(const char *p, size_t n)
{
    bool quoted = false;
    bool after_comma = false;
    size_t first = 0;

    /* Most headers hold no control byte at all: find the first one with a plain scan, and read
     * the quotes and commas only when there is one. */
    while (first < n && (unsigned char)p[first] >= 0x20 && (unsigned char)p[first] != 0x7F) {
        first++;
    }
    if (first == n) {
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\t' && after_comma) {
            continue;
        }
        if (c < 0x20 || c == 0x7F) {
            return i;
        }
        if (c == '"') {
            quoted = !quoted;
        }
        after_comma = (c == ',' && !quoted) || (after_comma && c == ' ');
    }
    return n;
}

/* rule: WECHATPAY2-SHA256-RSA2048, one space, five key="value" pairs, any order, comma-separated.
 * src: docs/protocol.md#authorization-header case: CORE-AUTHZ-* */
enum wxp_code wxp_authz_parse(const char *hdr, size_t len, struct wxp_authz *out,
                              struct wxp_err *err)
{
    char name[32];
    size_t i;
    const char *sp;

    memset(out, 0, sizeof *out);
    if (len > WXP_AUTHZ_MAX) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, "Authorization",
                           "Authorization header is %zu bytes; at most %d are read", len,
                           WXP_AUTHZ_MAX);
    }
    if (hdr == NULL || len == 0 || all_blank(hdr, len)) {
        return wxp_err_set(err, WXP_E_AUTHZ_MISSING, "Authorization", NULL);
    }
    i = control_at(hdr, len);
    if (i < len) {
        return fail(err, WXP_E_AUTHZ_SYNTAX, NULL, i,
                    "control character in the header; it must be one line of text");
    }

    /* rule: the scheme must be exactly WECHATPAY2-SHA256-RSA2048. src:
     * docs/protocol.md#authorization-header */
    sp = memchr(hdr, ' ', len);
    i = sp ? (size_t)(sp - hdr) : len;
    if (i != SCHEME_LEN || memcmp(hdr, WXP_AUTHZ_SCHEME, SCHEME_LEN) != 0) {
        return wxp_err_set(err, WXP_E_AUTHZ_SCHEME, "Authorization.scheme",
                           "scheme is \"%.*s\"; only " WXP_AUTHZ_SCHEME " is supported",
                           (int)(i > 40 ? 40 : i), hdr);
    }
    if (i == len || i + 1 == len) {
        return fail(err, WXP_E_AUTHZ_PARAM_MISSING, PARAMS[0], i,
                    "no parameters follow the scheme");
    }
    i++;
    if (hdr[i] == ' ' || hdr[i] == '\t') {
        return fail(err, WXP_E_AUTHZ_SYNTAX, NULL, i,
                    "exactly one space must separate the scheme from the parameters");
    }

    for (;;) {
        size_t name_start = i;
        size_t vstart;
        const char *close;
        int idx;

        while (i < len && NAME_CHARS[(unsigned char)hdr[i]]) {
            i++;
        }
        if (i == name_start) {
            return fail(err, WXP_E_AUTHZ_SYNTAX, NULL, i, "expected a parameter name");
        }
        if (i - name_start >= sizeof name) {
            return fail(err, WXP_E_AUTHZ_PARAM_UNKNOWN, NULL, name_start,
                        "parameter name is too long to be one of the five");
        }
        memcpy(name, hdr + name_start, i - name_start);
        name[i - name_start] = '\0';
        if (i == len || hdr[i] != '=') {
            return fail(err, WXP_E_AUTHZ_SYNTAX, name, i, "expected '=' after the parameter name");
        }
        i++;
        if (i == len || hdr[i] != '"') {
            return fail(err, WXP_E_AUTHZ_UNQUOTED, name, i,
                        "parameter value must be in double quotes");
        }
        vstart = ++i;
        close = memchr(hdr + i, '"', len - i);
        if (close == NULL) {
            return fail(err, WXP_E_AUTHZ_UNTERMINATED, name, vstart - 1,
                        "parameter value has no closing double quote");
        }
        i = (size_t)(close - hdr);
        idx = param_index(name, strlen(name));
        if (idx < 0) {
            return fail(err, WXP_E_AUTHZ_PARAM_UNKNOWN, name, name_start,
                        "unknown parameter; expected mchid, nonce_str, timestamp, serial_no, "
                        "signature");
        }
        if (slot(out, (size_t)idx)->ptr != NULL) {
            return fail(err, WXP_E_AUTHZ_PARAM_DUPLICATE, name, name_start,
                        "parameter appears more than once");
        }
        if (i == vstart) {
            return fail(err, WXP_E_AUTHZ_EMPTY_VALUE, name, vstart, "parameter value is empty");
        }
        slot(out, (size_t)idx)->ptr = hdr + vstart;
        slot(out, (size_t)idx)->len = i - vstart;
        i++;
        if (i == len) {
            break;
        }
        if (hdr[i] != ',') {
            return fail(err, WXP_E_AUTHZ_SYNTAX, name, i, "expected ',' between parameters");
        }
        i++;
        while (i < len && (hdr[i] == ' ' || hdr[i] == '\t')) {
            out->spaces_after_comma = true;
            i++;
        }
        if (i == len) {
            return fail(err, WXP_E_AUTHZ_SYNTAX, NULL, i,
                        "trailing comma after the last parameter");
        }
    }

    for (size_t k = 0; k < NPARAMS; k++) {
        if (slot(out, k)->ptr == NULL) {
            return fail(err, WXP_E_AUTHZ_PARAM_MISSING, PARAMS[k], len,
                        "required parameter is missing");
        }
    }
    /* rule: timestamp is Unix seconds in decimal. src: docs/protocol.md#authorization-header */
    if (!wxp_parse_seconds(out->timestamp, &out->ts)) {
        return fail(err, WXP_E_AUTHZ_TIMESTAMP, "timestamp", (size_t)(out->timestamp.ptr - hdr),
                    "timestamp must be 1 to 18 decimal digits of Unix seconds");
    }
    return WXP_OK;
}

static bool quote_free(const char *s)
{
    return s != NULL && strchr(s, '"') == NULL;
}

enum wxp_code wxp_authz_build(struct wxp_buf *out, const char *mchid, const char *nonce,
                              int64_t timestamp, const char *serial_no, const char *signature,
                              struct wxp_err *err)
{
    enum wxp_code rc;

    if (!quote_free(mchid) || !quote_free(nonce) || !quote_free(serial_no) ||
        !quote_free(signature)) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, "Authorization",
                           "Authorization values must be present and free of '\"'");
    }
    /* wechatpay-go's order (core/consts HeaderAuthorizationFormat); any order is valid. */
    rc = wxp_buf_addf(out,
                      WXP_AUTHZ_SCHEME " mchid=\"%s\",nonce_str=\"%s\",timestamp=\"%" PRId64
                                       "\",serial_no=\"%s\",signature=\"%s\"",
                      mchid, nonce, timestamp, serial_no, signature);
    if (rc != WXP_OK) {
        return wxp_err_set(err, rc, "Authorization", "cannot build the header: %s",
                           wxp_code_desc(rc));
    }
    return WXP_OK;
}

enum wxp_code wxp_authz_sign(struct wxp_buf *out, const struct wxp_signer *s, struct wxp_str method,
                             struct wxp_str target, struct wxp_str body, int64_t timestamp,
                             const char *nonce, struct wxp_err *err)
{
    char ts[24];
    char sig[WXP_SIG_B64_MAX];
    struct wxp_buf msg;
    enum wxp_code rc;

    snprintf(ts, sizeof ts, "%" PRId64, timestamp);
    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    rc = wxp_signmsg_request(&msg, method, target, wxp_str_c(ts), wxp_str_c(nonce), body, err);
    if (rc != WXP_OK) {
        goto out;
    }
    rc = wxp_sign(s->key, msg.ptr, msg.len, sig, sizeof sig, NULL, err);
    if (rc != WXP_OK) {
        goto out;
    }
    rc = wxp_authz_build(out, s->mchid, nonce, timestamp, s->serial_no, sig, err);
out:
    wxp_buf_free(&msg);
    return rc;
}

enum wxp_code wxp_authz_verify(const struct wxp_key *cert, const struct wxp_authz *a,
                               struct wxp_str method, struct wxp_str target, struct wxp_str body,
                               struct wxp_buf *msg_out, struct wxp_err *err)
{
    struct wxp_buf local;
    struct wxp_buf *msg = msg_out;
    size_t start;
    enum wxp_code rc;

    if (msg == NULL) {
        wxp_buf_init(&local, WXP_SIGNMSG_MAX);
        msg = &local;
    }
    start = msg->len;
    rc = wxp_signmsg_request(msg, method, target, a->timestamp, a->nonce_str, body, err);
    if (rc == WXP_OK) {
        rc = wxp_verify(cert, msg->ptr + start, msg->len - start, a->signature.ptr,
                        a->signature.len, err);
        if (rc != WXP_OK && err != NULL) {
            snprintf(err->field, sizeof err->field, "Authorization.signature");
        }
    }
    if (msg == &local) {
        wxp_buf_free(&local);
    }
    return rc;
}
