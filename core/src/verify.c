/* SPDX-License-Identifier: MIT */
/* verify.c: the timestamp window, the platform key store, and a client's response check. */
#include "wxp/verify.h"

#include <stdio.h>
#include <string.h>

#include "wxp/buf.h"
#include "wxp/mem.h"
#include "wxp/sign.h"
#include "wxp/signmsg.h"

/* rule: |now - ts| <= 300 s passes; outside it fails, both directions. The doc says "within
 * 5 minutes"; Go/Java SDKs reject at exactly 300, PHP/axios accept it, the real server accepts
 * it (see docs). src: docs/protocol.md#timestamp-window case: CORE-SKEW-001 */
enum wxp_code wxp_skew_check(int64_t ts, int64_t now, int64_t window)
{
    if (ts < now && now - ts > window) {
        return WXP_E_TIMESTAMP_STALE;
    }
    if (ts > now && ts - now > window) {
        return WXP_E_TIMESTAMP_FUTURE;
    }
    return WXP_OK;
}

bool wxp_parse_seconds(struct wxp_str s, int64_t *out)
{
    int64_t v = 0;

    if (s.ptr == NULL || s.len == 0 || s.len > 18) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9') {
            return false;
        }
        v = v * 10 + (s.ptr[i] - '0');
    }
    *out = v;
    return true;
}

struct wxp_keystore {
    struct wxp_key **keys;
    size_t n;
    size_t cap;
};

struct wxp_keystore *wxp_keystore_new(void)
{
    struct wxp_keystore *ks = wxp_malloc(sizeof *ks);
    if (ks != NULL) {
        ks->keys = NULL;
        ks->n = 0;
        ks->cap = 0;
    }
    return ks;
}

void wxp_keystore_free(struct wxp_keystore *ks)
{
    if (ks == NULL) {
        return;
    }
    for (size_t i = 0; i < ks->n; i++) {
        wxp_key_free(ks->keys[i]);
    }
    wxp_free(ks->keys);
    wxp_free(ks);
}

enum wxp_code wxp_keystore_add(struct wxp_keystore *ks, struct wxp_key *key, struct wxp_err *err)
{
    const char *id = wxp_key_id(key);

    if (wxp_key_kind(key) == WXP_KEY_PRIVATE) {
        wxp_key_free(key);
        return wxp_err_set(err, WXP_E_INVALID_ARG, "key",
                           "the key store holds verification keys, not private keys");
    }
    if (id[0] == '\0' || wxp_keystore_find(ks, wxp_str_c(id)) != NULL) {
        wxp_err_set(err, WXP_E_KEY_ID, "key", "key id \"%s\" is empty or already present", id);
        wxp_key_free(key);
        return WXP_E_KEY_ID;
    }
    if (ks->n == ks->cap) {
        size_t ncap = ks->cap ? ks->cap * 2 : 4;
        struct wxp_key **p = wxp_realloc(ks->keys, ncap * sizeof *p);
        if (p == NULL) {
            wxp_key_free(key);
            return wxp_err_set(err, WXP_E_NOMEM, "key", NULL);
        }
        ks->keys = p;
        ks->cap = ncap;
    }
    ks->keys[ks->n++] = key;
    return WXP_OK;
}

/* rule: the serial/key id lookup is an exact string match (Go map, PHP array_key_exists, axios
 * hasOwnProperty). src: docs/protocol.md#response-verification */
const struct wxp_key *wxp_keystore_find(const struct wxp_keystore *ks, struct wxp_str id)
{
    for (size_t i = 0; i < ks->n; i++) {
        if (wxp_str_eq(wxp_str_c(wxp_key_id(ks->keys[i])), id)) {
            return ks->keys[i];
        }
    }
    return NULL;
}

size_t wxp_keystore_count(const struct wxp_keystore *ks)
{
    return ks->n;
}

const struct wxp_key *wxp_keystore_at(const struct wxp_keystore *ks, size_t i)
{
    return i < ks->n ? ks->keys[i] : NULL;
}

static bool absent(struct wxp_str s)
{
    return s.ptr == NULL || s.len == 0;
}

enum wxp_code wxp_resp_verify(const struct wxp_keystore *ks, const struct wxp_resp *r,
                              const struct wxp_resp_policy *p, struct wxp_err *err)
{
    const struct {
        struct wxp_str v;
        const char *name;
    } need[] = {
        {r->timestamp, "Wechatpay-Timestamp"},
        {r->nonce, "Wechatpay-Nonce"},
        {r->signature, "Wechatpay-Signature"},
        {r->serial, "Wechatpay-Serial"},
    };
    const struct wxp_key *key;
    struct wxp_buf msg;
    int64_t ts;
    enum wxp_code rc;

    /* rule: a 2xx without its signature headers is forged. src:
     * docs/protocol.md#response-verification case: CORE-RESP-001 */
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (absent(need[i].v)) {
            return wxp_err_set(err, WXP_E_RESP_HEADER_MISSING, need[i].name,
                               "response has no %s header", need[i].name);
        }
    }
    if (p->require_request_id && absent(r->request_id)) {
        return wxp_err_set(err, WXP_E_RESP_HEADER_MISSING, "Request-ID",
                           "response has no Request-ID header");
    }
    if (!wxp_parse_seconds(r->timestamp, &ts)) {
        return wxp_err_set(err, WXP_E_RESP_TIMESTAMP, "Wechatpay-Timestamp",
                           "Wechatpay-Timestamp \"%.*s\" is not decimal Unix seconds",
                           (int)(r->timestamp.len > 24 ? 24 : r->timestamp.len), r->timestamp.ptr);
    }
    rc = wxp_skew_check(ts, p->now, p->window);
    if (rc != WXP_OK) {
        return wxp_err_set(err, rc, "Wechatpay-Timestamp",
                           "Wechatpay-Timestamp is %lld s %s the local clock; the window is %lld s",
                           (long long)(ts > p->now ? ts - p->now : p->now - ts),
                           rc == WXP_E_TIMESTAMP_STALE ? "behind" : "ahead of",
                           (long long)p->window);
    }
    key = wxp_keystore_find(ks, r->serial);
    if (key == NULL) {
        return wxp_err_set(err, WXP_E_SERIAL_UNKNOWN, "Wechatpay-Serial",
                           "no platform certificate or public key has id \"%.*s\"",
                           (int)(r->serial.len > 64 ? 64 : r->serial.len), r->serial.ptr);
    }
    /* rule: WECHATPAY/SIGNTEST/ signatures are the real server's deliberate probes; they fail
     * like any bad signature. src: docs/protocol.md#signature-probe case: CORE-RESP-PROBE */
    if (wxp_str_starts_with(r->signature, WXP_PROBE_PREFIX)) {
        return wxp_err_set(err, WXP_E_SIG_PROBE, "Wechatpay-Signature",
                           "signature is a " WXP_PROBE_PREFIX
                           " probe from the server; it never verifies");
    }
    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    rc = wxp_signmsg_response(&msg, r->timestamp, r->nonce, r->body, err);
    if (rc == WXP_OK) {
        rc = wxp_verify(key, msg.ptr, msg.len, r->signature.ptr, r->signature.len, err);
    }
    wxp_buf_free(&msg);
    if (rc == WXP_E_SIG_BASE64) {
        rc = wxp_err_set(err, WXP_E_SIG_MISMATCH, "Wechatpay-Signature",
                         "Wechatpay-Signature is not standard padded base64");
    } else if (rc == WXP_E_SIG_MISMATCH && err != NULL) {
        snprintf(err->field, sizeof err->field, "Wechatpay-Signature");
    }
    return rc;
}
