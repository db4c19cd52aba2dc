/* SPDX-License-Identifier: MIT */
/* envelope.c: the APIv3 error body, and the table from core errors to server answers. */
#include "wxp/envelope.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "wxp/json.h"
#include "wxp/mem.h"
#include "wxp/utf8.h"

/* Messages are the live server's, as quoted in docs/protocol.md#error-table (sources there). */
#define MSG_AUTHZ_FORMAT "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"
#define MSG_AUTHZ_SCHEME "HTTP头Authorization认证类型不正确"
#define MSG_TIMESTAMP "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"
#define MSG_SERIAL "商户证书序列号有误。请使用签名私钥匹配的证书序列号"
#define MSG_SIGNATURE "错误的签名，验签失败"
#define MSG_PARAM "参数错误"
#define MSG_SYSTEM "系统异常，请稍后重试"

static const struct wxp_status AUTHZ_FORMAT = {401, "SIGN_ERROR", MSG_AUTHZ_FORMAT};
static const struct wxp_status AUTHZ_SCHEME = {401, "SIGN_ERROR", MSG_AUTHZ_SCHEME};
static const struct wxp_status TIMESTAMP = {401, "SIGN_ERROR", MSG_TIMESTAMP};
static const struct wxp_status SERIAL = {401, "SIGN_ERROR", MSG_SERIAL};
static const struct wxp_status SIGNATURE = {401, "SIGN_ERROR", MSG_SIGNATURE};
static const struct wxp_status PARAM = {400, "PARAM_ERROR", MSG_PARAM};
static const struct wxp_status SYSTEM = {500, "SYSTEM_ERROR", MSG_SYSTEM};

/* One row per code a server answers with; every other code is a server fault (500). */
static const struct {
    enum wxp_code code;
    const struct wxp_status *status;
} TABLE[] = {
    {WXP_E_AUTHZ_MISSING, &AUTHZ_FORMAT},
    {WXP_E_AUTHZ_SYNTAX, &AUTHZ_FORMAT},
    {WXP_E_AUTHZ_PARAM_MISSING, &AUTHZ_FORMAT},
    {WXP_E_AUTHZ_PARAM_DUPLICATE, &AUTHZ_FORMAT},
    {WXP_E_AUTHZ_PARAM_UNKNOWN, &AUTHZ_FORMAT},
    {WXP_E_AUTHZ_UNQUOTED, &AUTHZ_FORMAT},
    {WXP_E_AUTHZ_UNTERMINATED, &AUTHZ_FORMAT},
    {WXP_E_AUTHZ_EMPTY_VALUE, &AUTHZ_FORMAT},
    {WXP_E_AUTHZ_TIMESTAMP, &AUTHZ_FORMAT},
    {WXP_E_AUTHZ_SCHEME, &AUTHZ_SCHEME},
    {WXP_E_TIMESTAMP_STALE, &TIMESTAMP},
    {WXP_E_TIMESTAMP_FUTURE, &TIMESTAMP},
    {WXP_E_SERIAL_UNKNOWN, &SERIAL},
    {WXP_E_SIG_BASE64, &SIGNATURE},
    {WXP_E_SIG_MISMATCH, &SIGNATURE},
    {WXP_E_UTF8, &PARAM},
    {WXP_E_JSON_SYNTAX, &PARAM},
    {WXP_E_JSON_NOT_OBJECT, &PARAM},
    {WXP_E_JSON_DUPLICATE_KEY, &PARAM},
    {WXP_E_PARAM_MISSING, &PARAM},
    {WXP_E_PARAM_TYPE, &PARAM},
    {WXP_E_PARAM_TOO_SHORT, &PARAM},
    {WXP_E_PARAM_TOO_LONG, &PARAM},
    {WXP_E_PARAM_CHARSET, &PARAM},
    /* rule: a query parameter given twice is a parameter error (our choice).
     * src: docs/protocol.md#query-string */
    {WXP_E_PARAM_DUPLICATE, &PARAM},
};

const struct wxp_status *wxp_status_of(enum wxp_code c)
{
    for (size_t i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++) {
        if (TABLE[i].code == c) {
            return TABLE[i].status;
        }
    }
    return &SYSTEM;
}

/* Whether none of the 8 bytes at p needs an escape: none below 0x20, none '"' or '\\' (bytes
 * from 0x80 up go through as they are, being UTF-8 already checked). Bit tricks of "Bit Twiddling
 * Hacks" (determine if a word has a zero byte, or one less than n). */
static bool word_plain(const char *p)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    uint64_t w, q, b;

    memcpy(&w, p, sizeof w);
    q = w ^ (ones * '"');
    b = w ^ (ones * '\\');
    /* A byte below 0x20, a zero byte of q (a quote) or of b (a backslash), among the ASCII bytes;
     * a byte from 0x80 up cannot be any of them, and ~w masks it out. */
    return (((w - ones * 0x20) | (q - ones) | (b - ones)) & ~w & highs) == 0;
}

enum wxp_code wxp_json_quote(struct wxp_buf *out, const char *s, size_t len, struct wxp_err *err)
{
    static const char HEX[] = "0123456789abcdef";
    enum wxp_code rc;
    size_t start = out->len;
    size_t run = 0;

    if (wxp_utf8_check(s, len, NULL) != WXP_OK) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, NULL, "text to quote is not valid UTF-8");
    }
    rc = wxp_buf_add(out, "\"", 1);
    for (size_t i = 0; i < len && rc == WXP_OK; i++) {
        unsigned char c;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t n = 2;

        while (len - i >= 8 && word_plain(s + i)) {
            i += 8;
            run += 8;
        }
        if (i == len) {
            break;
        }
        c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        rc = wxp_buf_add(out, s + i - run, run);
        run = 0;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = HEX[c >> 4];
            esc[5] = HEX[c & 15];
            n = 6;
            break;
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_add(out, esc, n);
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_add(out, s + len - run, run);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_add(out, "\"", 1);
    }
    if (rc != WXP_OK) {
        out->len = start;
        if (out->ptr) {
            out->ptr[start] = '\0';
        }
        return wxp_err_set(err, rc, NULL, "cannot build JSON: %s", wxp_code_desc(rc));
    }
    return WXP_OK;
}

/* Appends ,"name":"value" (or without the comma for the first member). */
static enum wxp_code member(struct wxp_buf *out, bool *first, const char *name, const char *value,
                            struct wxp_err *err)
{
    enum wxp_code rc = wxp_buf_addf(out, "%s\"%s\":", *first ? "" : ",", name);
    *first = false;
    if (rc != WXP_OK) {
        return wxp_err_set(err, rc, NULL, "cannot build JSON: %s", wxp_code_desc(rc));
    }
    return wxp_json_quote(out, value, strlen(value), err);
}

/* rule: error body is {"code","message","detail":{"field","value","issue","location"}}.
 * src: docs/protocol.md#error-envelope case: CORE-ENV-001 */
enum wxp_code wxp_envelope_build(struct wxp_buf *out, const char *code, const char *message,
                                 const char *detail_json, struct wxp_err *err)
{
    bool first = true;
    size_t start = out->len;
    enum wxp_code rc;

    if (code == NULL || message == NULL) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, NULL, "code and message are required");
    }
    rc = wxp_buf_add(out, "{", 1);
    if (rc == WXP_OK) {
        rc = member(out, &first, "code", code, err);
    }
    if (rc == WXP_OK && detail_json != NULL) {
        rc = wxp_buf_addf(out, ",\"detail\":%s", detail_json);
    }
    if (rc == WXP_OK) {
        rc = member(out, &first, "message", message, err);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_add(out, "}", 1);
    }
    if (rc != WXP_OK) {
        out->len = start;
        if (out->ptr) {
            out->ptr[start] = '\0';
        }
        if (err != NULL && err->code != rc) {
            wxp_err_set(err, rc, NULL, "cannot build JSON: %s", wxp_code_desc(rc));
        }
    }
    return rc;
}

enum wxp_code wxp_detail_build(struct wxp_buf *out, const struct wxp_detail *d, struct wxp_err *err)
{
    bool first = true;
    enum wxp_code rc = wxp_buf_add(out, "{", 1);

    if (rc == WXP_OK && d->field) {
        rc = member(out, &first, "field", d->field, err);
    }
    if (rc == WXP_OK && d->issue) {
        rc = member(out, &first, "issue", d->issue, err);
    }
    if (rc == WXP_OK && d->location) {
        rc = member(out, &first, "location", d->location, err);
    }
    if (rc == WXP_OK && d->has_value_num) {
        rc = wxp_buf_addf(out, "%s\"value\":%lld", first ? "" : ",", d->value_num);
        first = false;
    } else if (rc == WXP_OK && d->value) {
        rc = member(out, &first, "value", d->value, err);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_add(out, "}", 1);
    }
    if (rc != WXP_OK && err != NULL && err->code != rc) {
        wxp_err_set(err, rc, NULL, "cannot build JSON: %s", wxp_code_desc(rc));
    }
    return rc;
}

/* A value's compact JSON text as an owned copy. */
static enum wxp_code json_text(const cJSON *it, char **out)
{
    char *txt = cJSON_PrintUnformatted(it);

    *out = NULL;
    if (txt == NULL) {
        return WXP_E_NOMEM;
    }
    *out = wxp_strndup(txt, strlen(txt));
    cJSON_free(txt);
    return *out ? WXP_OK : WXP_E_NOMEM;
}

/* A string member as an owned copy; any other value as its JSON text; NULL when absent. */
static enum wxp_code take(const cJSON *obj, const char *name, bool text_ok, char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

    *out = NULL;
    if (it == NULL) {
        return WXP_OK;
    }
    if (cJSON_IsString(it)) {
        *out = wxp_strndup(it->valuestring, strlen(it->valuestring));
        return *out ? WXP_OK : WXP_E_NOMEM;
    }
    if (!text_ok) {
        return WXP_E_ENVELOPE;
    }
    return json_text(it, out);
}

void wxp_envelope_free(struct wxp_envelope *e)
{
    if (e == NULL) {
        return;
    }
    wxp_free(e->code);
    wxp_free(e->message);
    wxp_free(e->field);
    wxp_free(e->value);
    wxp_free(e->issue);
    wxp_free(e->location);
    wxp_free(e->detail_json);
    memset(e, 0, sizeof *e);
}

enum wxp_code wxp_envelope_parse(const char *body, size_t len, struct wxp_envelope *out,
                                 struct wxp_err *err)
{
    cJSON *root = NULL;
    const cJSON *detail;
    enum wxp_code rc;

    memset(out, 0, sizeof *out);
    if (len > WXP_ENVELOPE_MAX) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, "body", "error body is larger than %d bytes",
                           WXP_ENVELOPE_MAX);
    }
    if (wxp_json_check(body, len, NULL, err) != WXP_OK) {
        return wxp_err_set(err, WXP_E_ENVELOPE, "body", "error body is not valid JSON");
    }
    root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
    if (root == NULL) {
        return wxp_err_set(err, WXP_E_NOMEM, "body", "cannot parse the error body");
    }
    if (!cJSON_IsObject(root)) {
        rc = wxp_err_set(err, WXP_E_ENVELOPE, "body", "error body is not a JSON object");
        goto out;
    }
    rc = take(root, "code", false, &out->code);
    if (rc == WXP_OK) {
        rc = take(root, "message", false, &out->message);
    }
    if (rc == WXP_E_NOMEM) {
        wxp_err_set(err, rc, "body", NULL);
        goto out;
    }
    if (rc != WXP_OK || out->code == NULL || out->message == NULL) {
        rc = wxp_err_set(err, WXP_E_ENVELOPE, out->code ? "message" : "code",
                         "error body needs string members \"code\" and \"message\"");
        goto out;
    }
    detail = cJSON_GetObjectItemCaseSensitive(root, "detail");
    if (detail != NULL && !cJSON_IsNull(detail)) {
        /* JSON text whatever its type: a string detail keeps its quotes. */
        rc = json_text(detail, &out->detail_json);
        if (rc == WXP_OK && cJSON_IsObject(detail)) {
            rc = take(detail, "field", true, &out->field);
            if (rc == WXP_OK) {
                rc = take(detail, "value", true, &out->value);
            }
            if (rc == WXP_OK) {
                rc = take(detail, "issue", true, &out->issue);
            }
            if (rc == WXP_OK) {
                rc = take(detail, "location", true, &out->location);
            }
        }
        if (rc != WXP_OK) {
            wxp_err_set(err, rc, "detail", NULL);
            goto out;
        }
    }
    rc = WXP_OK;
out:
    cJSON_Delete(root);
    if (rc != WXP_OK) {
        wxp_envelope_free(out);
    }
    return rc;
}
