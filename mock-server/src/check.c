/* SPDX-License-Identifier: MIT */
/* check.c: the checking order of one terminate request; the first failure answers.
 * Each rule's source and the choices made are in docs/mock-server.md#checking-order. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mock.h"
#include "wxp/authz.h"
#include "wxp/envelope.h"
#include "wxp/query.h"
#include "wxp/schema.h"
#include "wxp/signmsg.h"
#include "wxp/verify.h"

#define PREFIX "/v3/payscore/permissions/openid/"
#define SUFFIX "/terminate"

#define MSG_HEADERS "Http头缺少Accept或User-Agent"
#define MSG_CONTENT_TYPE "Http头Content-Type值必须为application/json"
#define MSG_TOO_LARGE "请求报文主体过大"
#define MSG_NO_CERT "商户未申请过证书。"
#define MSG_REPLAY "Http头Authorization中的nonce_str已被使用，请勿重放请求"
#define MSG_APPID "商户信息不合法：appid与mchid不匹配"
#define MSG_SERVICE "请检查服务授权状态"
#define MSG_NOT_FOUND "用户授权关系不存在"
#define MSG_STATE "用户授权状态不允许解除（已解除或未授权）"

/* The raw openid segment of a terminate path, or false when the path is not that route. */
static bool route(struct wxp_str path, struct wxp_str *seg)
{
    size_t pre = sizeof PREFIX - 1, suf = sizeof SUFFIX - 1;
    if (path.len <= pre + suf || memcmp(path.ptr, PREFIX, pre) != 0 ||
        memcmp(path.ptr + path.len - suf, SUFFIX, suf) != 0) {
        return false;
    }
    seg->ptr = path.ptr + pre;
    seg->len = path.len - pre - suf;
    return memchr(seg->ptr, '/', seg->len) == NULL;
}

static void fail_status(struct mock_response *resp, const char *check, enum wxp_code code,
                        const char *detail_json)
{
    const struct wxp_status *st = wxp_status_of(code);
    resp->failed_check = check;
    mock_response_error(resp, (unsigned)st->http, st->code, st->message, detail_json);
}

static void fail(struct mock_response *resp, const char *check, unsigned status, const char *code,
                 const char *msg)
{
    resp->failed_check = check;
    mock_response_error(resp, status, code, msg, NULL);
}

/* rule: a PARAM_ERROR carries the generated sentence and {"location","value"}. src:
 * docs/protocol.md#param-error-messages */
static void param_error(struct mock_response *resp, const char *check,
                        const struct wxp_param_issue *issue, const struct wxp_err *err)
{
    struct wxp_buf d;
    struct wxp_detail det = {0};

    wxp_buf_init(&d, 1024);
    det.location = issue->location;
    det.value_num = issue->value;
    det.has_value_num = issue->has_value;
    resp->failed_check = check;
    if (wxp_detail_build(&d, &det, NULL) == WXP_OK) {
        mock_response_error(resp, 400, "PARAM_ERROR", err->msg, d.ptr);
    } else {
        mock_response_error(resp, 400, "PARAM_ERROR", err->msg, NULL);
    }
    wxp_buf_free(&d);
}

/* rule: a signature mismatch echoes what the server signed, as the live server does. src:
 * docs/mock-server.md#checking-order ([C-SIGNDETAIL]) */
static void signature_error(struct mock_response *resp, const char *method, struct wxp_str path,
                            const struct wxp_buf *msg)
{
    struct wxp_buf d;
    size_t shown = msg->len > 512 ? 512 : msg->len;
    enum wxp_code rc;

    wxp_buf_init(&d, 8192);
    rc = wxp_buf_addf(&d, "{\"detail\":{\"issue\":\"sign not match\"},\"field\":\"signature\","
                          "\"location\":\"authorization\",\"sign_information\":{\"method\":");
    if (rc == WXP_OK) {
        rc = wxp_json_quote(&d, method, strlen(method), NULL);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(&d, ",\"sign_message_length\":%zu,\"truncated_sign_message\":", msg->len);
    }
    if (rc == WXP_OK) {
        /* Stop before a NUL byte (a body may carry one): quoted as \u0000 it would make the whole
         * envelope unreadable to strict JSON readers such as wxp_envelope_parse. */
        const char *nul = msg->ptr ? memchr(msg->ptr, '\0', shown) : NULL;
        if (nul != NULL) {
            shown = (size_t)(nul - msg->ptr);
        }
        /* Cut at a UTF-8 boundary so the quoted text stays valid. */
        while (shown > 0 && shown < msg->len && ((unsigned char)msg->ptr[shown] & 0xC0) == 0x80) {
            shown--;
        }
        rc = wxp_json_quote(&d, msg->ptr ? msg->ptr : "", shown, NULL);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(&d, ",\"url\":");
    }
    if (rc == WXP_OK) {
        rc = wxp_json_quote(&d, path.ptr, path.len, NULL);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(&d, "}}");
    }
    fail_status(resp, "signature", WXP_E_SIG_MISMATCH, rc == WXP_OK ? d.ptr : NULL);
    wxp_buf_free(&d);
}

/* rule: Content-Type is application/json, optionally with parameters (charset=utf-8 from PHP,
 * OkHttp). The live rule is unverified. src: docs/mock-server.md#checking-order */
static bool json_content_type(const char *ct)
{
    static const char want[] = "application/json";
    size_t n = sizeof want - 1;
    if (ct == NULL || strncasecmp(ct, want, n) != 0) {
        return false;
    }
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static bool listed(char **v, size_t n, struct wxp_str s)
{
    if (n == 0) {
        return true; /* no list configured: anything goes */
    }
    for (size_t i = 0; i < n; i++) {
        if (wxp_str_eq(wxp_str_c(v[i]), s)) {
            return true;
        }
    }
    return false;
}

void mock_handle(struct mock_server *srv, const struct mock_request *req,
                 struct mock_response *resp)
{
    const char *target = req->target ? req->target : "";
    const char *q = strchr(target, '?');
    struct wxp_str path = {target, q ? (size_t)(q - target) : strlen(target)};
    struct wxp_str seg = {NULL, 0};
    char openid[4096];
    size_t openid_len = 0;
    bool routed, decoded = false;
    const char *authz = mock_request_header(req, "Authorization");
    struct wxp_authz a;
    bool authz_ok;
    const struct mock_merchant *m;
    struct wxp_err err;
    struct wxp_param_issue issue;
    struct wxp_values vals = {0};
    struct wxp_buf local, *msg;
    char mchid[32] = "";
    int64_t now = (int64_t)time(NULL);
    enum wxp_code rc;

    if (wxp_str_starts_with(path, "/__admin/") || wxp_str_eq(path, wxp_str_c("/__admin"))) {
        mock_admin_handle(srv, req, resp);
        return;
    }
    routed = route(path, &seg);
    if (routed && seg.len < sizeof openid) {
        decoded = wxp_pct_decode(seg, false, openid, sizeof openid, &openid_len);
    }
    authz_ok = authz != NULL && wxp_authz_parse(authz, strlen(authz), &a, NULL) == WXP_OK;
    if (authz_ok) {
        snprintf(mchid, sizeof mchid, "%.*s", (int)(a.mchid.len < 31 ? a.mchid.len : 31),
                 a.mchid.ptr);
    }
    if (mock_scenarios_apply(srv->scenarios, req, decoded ? openid : NULL, authz_ok ? mchid : NULL,
                             resp)) {
        return;
    }

    /* 1. Route and method: 404 / 405 with empty bodies, as observed ([TP-PROBE]). */
    if (!routed) {
        resp->status = 404;
        resp->failed_check = "route";
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        resp->status = 405;
        resp->failed_check = "route";
        return;
    }
    /* 2. Header gate ([C-UA], [TP-PROBE]); Content-Type is our choice (docs). */
    if (mock_request_header(req, "Accept") == NULL ||
        mock_request_header(req, "User-Agent") == NULL) {
        fail(resp, "headers", 400, "INVALID_REQUEST", MSG_HEADERS);
        return;
    }
    if (!json_content_type(mock_request_header(req, "Content-Type"))) {
        fail(resp, "headers", 400, "INVALID_REQUEST", MSG_CONTENT_TYPE);
        return;
    }
    if (req->body_too_large) {
        fail(resp, "body", 413, "INVALID_REQUEST", MSG_TOO_LARGE);
        return;
    }

    /* 3. Authorization ([D-FAQ-401], [D-FAQ-AUTHFMT]). */
    rc = wxp_authz_parse(authz ? authz : "", authz ? strlen(authz) : 0, &a, &err);
    if (rc == WXP_OK && a.spaces_after_comma && !srv->cfg.allow_spaces_in_authz) {
        rc = WXP_E_AUTHZ_SYNTAX;
    }
    if (rc != WXP_OK) {
        fail_status(resp, "authorization", rc == WXP_E_TOO_LARGE ? WXP_E_AUTHZ_SYNTAX : rc, NULL);
        return;
    }
    m = mock_config_merchant(&srv->cfg, a.mchid);
    if (m == NULL) {
        fail(resp, "merchant", 401, "SIGN_ERROR", MSG_NO_CERT);
        return;
    }
    /* Skew before signature, as observed ([TP-PROBE]); both directions. */
    rc = wxp_skew_check(a.ts, now, srv->cfg.skew);
    if (rc != WXP_OK) {
        fail_status(resp, "timestamp", rc, NULL);
        return;
    }
    /* Serial compared case-insensitively: some SDKs send lowercase hex. */
    if (!wxp_str_eq_nocase(a.serial_no, wxp_str_c(wxp_key_id(m->cert)))) {
        fail_status(resp, "serial", WXP_E_SERIAL_UNKNOWN, NULL);
        return;
    }
    msg = mock_scratch(req, &local);
    struct wxp_str body = {wxp_buf_cstr(&req->body), req->body.len};
    rc = wxp_authz_verify(m->cert, &a, wxp_str_c(req->method), wxp_str_c(target), body, msg, &err);
    if (rc != WXP_OK) {
        signature_error(resp, req->method, path, msg);
        mock_scratch_done(msg, &local);
        return;
    }
    mock_scratch_done(msg, &local);
    /* A request whose signature fails is never recorded, so the replay check follows it. */
    if (srv->cfg.replay_check &&
        mock_nonces_seen(srv->nonces, a.mchid, a.nonce_str, a.ts, now, srv->cfg.skew)) {
        fail(resp, "replay", 401, "SIGN_ERROR", MSG_REPLAY);
        return;
    }

    /* 4. Path openid, then the body ([D-TERM]). */
    if (!decoded) {
        struct wxp_param_issue bad_issue = {"uri_template", "/uri_template/openid", 0, false};
        wxp_err_set(&err, WXP_E_PARAM_CHARSET, "/uri_template/openid",
                    "输入源“/uri_template/openid”映射到值字段“用户标识”字符串规则校验失败，"
                    "百分号编码无效");
        param_error(resp, "path", &bad_issue, &err);
        return;
    }
    rc = wxp_schema_check_value(
        wxp_schema_field(&WXP_SCHEMA_TERMINATE_BY_OPENID, "openid", WXP_LOC_URI_TEMPLATE), openid,
        openid_len, &issue, &err);
    if (rc != WXP_OK) {
        param_error(resp, "path", &issue, &err);
        return;
    }
    rc = wxp_schema_check_body(&WXP_SCHEMA_TERMINATE_BY_OPENID, wxp_buf_cstr(&req->body),
                               req->body.len, &vals, &issue, &err);
    if (rc == WXP_E_NOMEM) {
        fail_status(resp, "body", rc, NULL);
        return;
    }
    if (rc != WXP_OK) {
        param_error(resp, "body", &issue, &err);
        return;
    }

    /* 5. Business rules ([D-TERM-NC] error table; choices in docs). */
    struct wxp_str appid = wxp_values_get(&vals, "appid");
    struct wxp_str service = wxp_values_get(&vals, "service_id");
    if (!listed(m->appids, m->nappids, appid)) {
        fail(resp, "business", 403, "NO_AUTH", MSG_APPID);
        goto out;
    }
    if (!listed(m->service_ids, m->nservice_ids, service)) {
        fail(resp, "business", 403, "NO_AUTH", MSG_SERVICE);
        goto out;
    }
    switch (mock_state_terminate(srv->state, m->mchid, openid, appid.ptr, service.ptr,
                                 wxp_values_get(&vals, "reason").ptr, now)) {
    case MOCK_TERM_OK:
        /* 6. Success: 204, empty body, signed. */
        resp->status = 204;
        resp->sign = true;
        break;
    case MOCK_TERM_NOT_FOUND:
        fail(resp, "business", 404, "ORDER_NOT_EXIST", MSG_NOT_FOUND);
        break;
    case MOCK_TERM_ALREADY:
        fail(resp, "business", 400, "INVALID_ORDER_STATE", MSG_STATE);
        break;
    }
out:
    wxp_values_free(&vals);
}
