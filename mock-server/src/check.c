/* SPDX-License-Identifier: MIT */
/* check.c: the checking order every API request goes through, whatever its operation: route
 * (by the core's operation table), header gate, Authorization, parameters; then the operation's
 * business handler (ops.c). The first failure answers. Each rule's source and the choices made
 * are in docs/mock-server.md#checking-order. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mock.h"
#include "wxp/authz.h"
#include "wxp/envelope.h"
#include "wxp/op.h"
#include "wxp/query.h"
#include "wxp/schema.h"
#include "wxp/signmsg.h"
#include "wxp/verify.h"

#define MSG_HEADERS "Http头缺少Accept或User-Agent"
#define MSG_CONTENT_TYPE "Http头Content-Type值必须为application/json"
#define MSG_TOO_LARGE "请求报文主体过大"
#define MSG_NO_CERT "商户未申请过证书。"
#define MSG_REPLAY "Http头Authorization中的nonce_str已被使用，请勿重放请求"
#define MSG_AUTHZ_TWICE "Http头Authorization出现多次，请求只能携带一个Authorization"

static void fail_status(struct mock_response *resp, const char *check, enum wxp_code code,
                        const char *detail_json)
{
    const struct wxp_status *st = wxp_status_of(code);
    resp->failed_check = check;
    mock_response_error(resp, (unsigned)st->http, st->code, st->message, detail_json);
}

/* How many times the header `name` (case-insensitive) was sent. */
static size_t header_count(const struct mock_request *req, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        n += strcasecmp(req->headers[i].name, name) == 0;
    }
    return n;
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

static bool has_body_rows(const struct wxp_op *op)
{
    for (size_t i = 0; i < op->params->count; i++) {
        if (op->params->fields[i].loc == WXP_LOC_BODY) {
            return true;
        }
    }
    return false;
}

/* Decoded path parameters for the scenarios: names from the template, values from the raw
 * segments (NULL when a segment's percent-encoding is bad or it is too long). */
struct path_params {
    char name[WXP_OP_PATH_PARAMS_MAX][48];
    char value[WXP_OP_PATH_PARAMS_MAX][4096];
    bool ok[WXP_OP_PATH_PARAMS_MAX];
    size_t n;
};

static void decode_params(const struct wxp_route *r, struct path_params *pp, struct mock_match *m)
{
    const char *t = r->op->path;
    size_t k = 0;

    for (const char *open = strchr(t, '{');
         open != NULL && k < r->nseg && k < MOCK_MATCH_PARAMS_MAX;
         open = strchr(open + 1, '{'), k++) {
        const char *close = strchr(open, '}');
        size_t n = 0;
        if (close == NULL) {
            break;
        }
        snprintf(pp->name[k], sizeof pp->name[k], "%.*s", (int)(close - open - 1), open + 1);
        pp->ok[k] = r->seg[k].len < sizeof pp->value[k] &&
                    wxp_pct_decode(r->seg[k], false, pp->value[k], sizeof pp->value[k], &n);
        m->name[k] = pp->name[k];
        m->value[k] = pp->ok[k] ? pp->value[k] : NULL;
    }
    pp->n = k;
    m->nparams = k;
}

/* rule: a parameter error names where it is: "path" (uri_template), "query" or "body".
 * src: docs/mock-server.md#checking-order */
static const char *param_check_name(const struct wxp_param_issue *issue)
{
    if (issue->location != NULL && strcmp(issue->location, "uri_template") == 0) {
        return "path";
    }
    if (issue->location != NULL && strcmp(issue->location, "query") == 0) {
        return "query";
    }
    return "body";
}

void mock_handle(struct mock_server *srv, const struct mock_request *req,
                 struct mock_response *resp)
{
    const char *target = req->target ? req->target : "";
    const char *q = strchr(target, '?');
    struct wxp_str path = {target, q ? (size_t)(q - target) : strlen(target)};
    struct wxp_str query = {q ? q + 1 : NULL, q ? strlen(q + 1) : 0};
    struct wxp_route route;
    enum wxp_route_result routed;
    struct path_params pp;
    struct mock_match match;
    const char *authz = mock_request_header(req, "Authorization");
    struct wxp_authz a;
    struct wxp_err authz_err;
    enum wxp_code authz_rc;
    bool authz_ok;
    const struct mock_merchant *m;
    struct wxp_err err;
    struct wxp_param_issue issue;
    struct wxp_values vals = {0};
    struct wxp_buf local, *msg;
    struct wxp_str body = {wxp_buf_cstr(&req->body), req->body.len};
    char mchid[32] = "";
    int64_t now = (int64_t)time(NULL);
    enum wxp_code rc;

    if (wxp_str_starts_with(path, "/__admin/") || wxp_str_eq(path, wxp_str_c("/__admin"))) {
        mock_admin_handle(srv, req, resp);
        return;
    }
    memset(&match, 0, sizeof match);
    routed = wxp_op_route(wxp_str_c(req->method), path, &route);
    if (routed != WXP_ROUTE_NOT_FOUND) {
        /* The path parameters are decoded for the scenarios before any check (as the openid
         * always was); a 405 has no operation but its path's parameters. */
        decode_params(&route, &pp, &match);
    }
    if (routed == WXP_ROUTE_OK) {
        match.operation = route.op->name;
        resp->operation = route.op->name;
    }
    /* Parsed once: for the scenarios' mchid here, and for step 3 below. */
    authz_rc = wxp_authz_parse(authz ? authz : "", authz ? strlen(authz) : 0, &a, &authz_err);
    authz_ok = authz != NULL && header_count(req, "Authorization") == 1 && authz_rc == WXP_OK;
    if (authz_ok) {
        snprintf(mchid, sizeof mchid, "%.*s", (int)(a.mchid.len < 31 ? a.mchid.len : 31),
                 a.mchid.ptr);
        match.mchid = mchid;
    }
    if (mock_scenarios_apply_match(srv->scenarios, req, &match, resp)) {
        goto out;
    }

    /* 1. Route and method: 404 / 405 with empty bodies, as observed ([TP-PROBE]). */
    if (routed == WXP_ROUTE_NOT_FOUND) {
        resp->status = 404;
        resp->failed_check = "route";
        goto out;
    }
    if (routed == WXP_ROUTE_METHOD) {
        resp->status = 405;
        resp->failed_check = "route";
        goto out;
    }
    /* 2. Header gate ([C-UA], [TP-PROBE]); Content-Type is our choice (docs), and only asked of
     * operations with a body: a GET's Content-Type is tolerated ([JAVA-PS] sends one). */
    if (mock_request_header(req, "Accept") == NULL ||
        mock_request_header(req, "User-Agent") == NULL) {
        fail(resp, "headers", 400, "INVALID_REQUEST", MSG_HEADERS);
        goto out;
    }
    if (has_body_rows(route.op) && !json_content_type(mock_request_header(req, "Content-Type"))) {
        fail(resp, "headers", 400, "INVALID_REQUEST", MSG_CONTENT_TYPE);
        goto out;
    }
    if (req->body_too_large) {
        fail(resp, "body", 413, "INVALID_REQUEST", MSG_TOO_LARGE);
        goto out;
    }

    /* 3. Authorization ([D-FAQ-401], [D-FAQ-AUTHFMT]). */
    /* rule: one credential per request. Two Authorization headers are refused whichever of them
     * verifies: serving either one leaves the mock and any proxy in front of it free to disagree
     * on which credential a request carried (the start of request smuggling), and RFC 9110 §5.3
     * allows a repeated field only where its grammar is a comma list, which Authorization's is
     * not. src: docs/mock-server.md#checking-order (our choice). case: AUTHZ-03, AUTHZ-04 */
    if (header_count(req, "Authorization") > 1) {
        fail(resp, "authorization", 401, "SIGN_ERROR", MSG_AUTHZ_TWICE);
        goto out;
    }
    rc = authz_rc;
    err = authz_err;
    if (rc == WXP_OK && a.spaces_after_comma && !srv->cfg.allow_spaces_in_authz) {
        rc = WXP_E_AUTHZ_SYNTAX;
    }
    if (rc != WXP_OK) {
        fail_status(resp, "authorization", rc == WXP_E_TOO_LARGE ? WXP_E_AUTHZ_SYNTAX : rc, NULL);
        goto out;
    }
    m = mock_config_merchant(&srv->cfg, a.mchid);
    if (m == NULL) {
        fail(resp, "merchant", 401, "SIGN_ERROR", MSG_NO_CERT);
        goto out;
    }
    /* Skew before signature, as observed ([TP-PROBE]); both directions. */
    rc = wxp_skew_check(a.ts, now, srv->cfg.skew);
    if (rc != WXP_OK) {
        fail_status(resp, "timestamp", rc, NULL);
        goto out;
    }
    /* Serial compared case-insensitively: some SDKs send lowercase hex. */
    if (!wxp_str_eq_nocase(a.serial_no, wxp_str_c(wxp_key_id(m->cert)))) {
        fail_status(resp, "serial", WXP_E_SERIAL_UNKNOWN, NULL);
        goto out;
    }
    /* rule: the signature covers the exact target, query included, and the body bytes, a GET's
     * too. src: docs/mock-server.md#checking-order ([GB-SIGN], [EXT-SIGN]) */
    msg = mock_scratch(req, &local);
    rc = wxp_authz_verify(m->cert, &a, wxp_str_c(req->method), wxp_str_c(target), body, msg, &err);
    if (rc != WXP_OK) {
        signature_error(resp, req->method, path, msg);
        mock_scratch_done(msg, &local);
        goto out;
    }
    mock_scratch_done(msg, &local);
    /* A request whose signature fails is never recorded, so the replay check follows it. */
    if (srv->cfg.replay_check &&
        mock_nonces_seen(srv->nonces, a.mchid, a.nonce_str, a.ts, now, srv->cfg.skew)) {
        fail(resp, "replay", 401, "SIGN_ERROR", MSG_REPLAY);
        goto out;
    }

    /* 4. Parameters: path, then query, then body, in the table's order ([D-TERM] and the
     * operation's doc anchor). */
    memset(&issue, 0, sizeof issue);
    rc = wxp_op_check_request(&route, query, body, &vals, &issue, &err);
    if (rc == WXP_E_NOMEM) {
        fail_status(resp, "body", rc, NULL);
        goto out;
    }
    if (rc != WXP_OK) {
        param_error(resp, param_check_name(&issue), &issue, &err);
        goto out;
    }

    /* 5. The operation's business rules and answer (ops.c). */
    {
        struct mock_op_ctx c = {srv, req, m, &route, &vals, now};
        mock_op_run(&c, resp);
    }
out:
    wxp_values_free(&vals);
}
