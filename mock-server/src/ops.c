/* SPDX-License-Identifier: MIT */
/* ops.c: the business rules of each operation, one handler per row of the core's operation table
 * (WXP_OPS), like redis's command table. Everything before them (route, headers, Authorization,
 * parameters) is common and lives in check.c; a handler sees typed parameters, the merchant and
 * the state, and fills the answer. Each rule's source: docs/mock-server.md#business-rules. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mock.h"
#include "wxp/aead.h"
#include "wxp/envelope.h"
#include "wxp/json.h"
#include "wxp/nonce.h"
#include "wxp/op.h"

/* The live server's messages; the codes come from [D-TERM-NC] and [D-APPLY]. */
#define MSG_APPID "商户信息不合法：appid与mchid不匹配"
#define MSG_SERVICE "请检查服务授权状态"
#define MSG_NOT_FOUND "用户授权关系不存在"
#define MSG_STATE "用户授权状态不允许解除（已解除或未授权）"
#define MSG_CODE_USED "授权协议号已被使用，同一商户号下授权协议号需唯一"
#define MSG_BUSY "系统繁忙，请稍后重试"
/* The live answer to a merchant without platform certificates ([I-JAVA354]); the live message
 * goes on with a link to a guide, left out here. */
#define MSG_NO_CERTS "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥"
#define MSG_ALGORITHM "algorithm_type 只能是 RSA、SM2 或 ALL"
#define MSG_NO_APIV3 "商户未设置APIv3密钥"

/* An apply_permissions_token: this prefix and a 32-character nonce. */
#define TOKEN_PREFIX "MOCKAPPLYTOKEN"

static void fail(struct mock_response *resp, unsigned status, const char *code, const char *msg)
{
    resp->failed_check = "business";
    mock_response_error(resp, status, code, msg, NULL);
}

/* The state holds MOCK_STATE_RECORDS_MAX records (or memory ran out): an answer of the mock's
 * own, never the live server's, naming the cap and how to make room. */
static void state_full(struct mock_response *resp)
{
    char msg[200];

    snprintf(msg, sizeof msg,
             "wxpay-mock: the authorization state is full (its cap is %zu records); "
             "POST /__admin/reset or PUT /__admin/state makes room",
             MOCK_STATE_RECORDS_MAX);
    fail(resp, 500, "SYSTEM_ERROR", msg);
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

/* A parameter by name: NUL-terminated (wxp_values keeps a NUL after each value), or NULL. */
static const char *param(const struct mock_op_ctx *c, const char *name)
{
    return wxp_values_get(c->vals, name).ptr;
}

/* rule: the appid must be bound to the merchant, and the service_id must be the merchant's, or
 * 403 NO_AUTH. src: docs/mock-server.md#business-rules ([D-TERM-NC], [C-NOAUTH]) */
static bool allowed(const struct mock_op_ctx *c, struct mock_response *resp)
{
    struct wxp_str appid = wxp_values_get(c->vals, "appid");
    struct wxp_str service = wxp_values_get(c->vals, "service_id");

    if (appid.ptr != NULL && !listed(c->m->appids, c->m->nappids, appid)) {
        fail(resp, 403, "NO_AUTH", MSG_APPID);
        return false;
    }
    if (service.ptr != NULL && !listed(c->m->service_ids, c->m->nservice_ids, service)) {
        fail(resp, 403, "NO_AUTH", MSG_SERVICE);
        return false;
    }
    return true;
}

/* A 204 without a body, signed. */
static void no_content(struct mock_response *resp)
{
    wxp_buf_reset(&resp->body);
    resp->status = 204;
    resp->code[0] = '\0';
    resp->sign = true;
}

/* A 200 with the operation's response body built from vals (indexed like op->response->fields),
 * signed over it. */
static void ok_body(const struct wxp_op *op, const char *const *vals, struct mock_response *resp)
{
    struct wxp_err err;

    wxp_buf_reset(&resp->body);
    if (wxp_op_response_build(op, vals, &resp->body, &err) != WXP_OK) {
        resp->failed_check = "internal";
        mock_response_error(resp, 500, "SYSTEM_ERROR", MSG_BUSY, NULL);
        return;
    }
    resp->status = 200;
    resp->code[0] = '\0';
    resp->sign = true;
}

/* Where each member of the authorization entity comes from: a string of the record, or one of
 * the computed kinds. Rows, not ifs; a response row with no entry here stays absent. */
enum member_kind { M_TEXT, M_APPID, M_STATE, M_SUCCESS, M_CANCEL };
static const struct {
    const char *name;
    enum member_kind kind;
    size_t offset; /* of the string in struct mock_record, for M_TEXT */
} ENTITY[] = {
    {"service_id", M_TEXT, offsetof(struct mock_record, service_id)},
    {"appid", M_APPID, 0},
    {"mchid", M_TEXT, offsetof(struct mock_record, mchid)},
    {"openid", M_TEXT, offsetof(struct mock_record, openid)},
    {"authorization_code", M_TEXT, offsetof(struct mock_record, authorization_code)},
    {"authorization_state", M_STATE, 0},
    {"notify_url", M_TEXT, offsetof(struct mock_record, notify_url)},
    {"authorization_success_time", M_SUCCESS, 0},
    {"cancel_authorization_time", M_CANCEL, 0},
};

/* rule: the authorization entity: service_id, appid, mchid, openid once bound,
 * authorization_code when it has one, authorization_state, notify_url (by code only), and the two
 * times in RFC 3339 +08:00 when they happened. src: docs/mock-server.md#business-rules
 * ([D-GETCODE], [GOPAY-M]) */
static void entity(const struct mock_op_ctx *c, const struct mock_record *r,
                   struct mock_response *resp)
{
    const struct wxp_op *op = c->route->op;
    const struct wxp_schema *s = op->response;
    const char *vals[WXP_SCHEMA_MAX_FIELDS] = {NULL};
    char success[MOCK_TIME_TEXT];
    char cancel[MOCK_TIME_TEXT];
    /* A record stored without an appid (configured without one) answers with the query's, or
     * else the merchant's first: appid is a required member of the entity. */
    const char *appid = r->appid[0] != '\0' ? r->appid : param(c, "appid");

    if (appid == NULL && c->m->nappids > 0) {
        appid = c->m->appids[0];
    }

    mock_time_text(r->authorized_at, success);
    mock_time_text(r->terminated_at, cancel);
    for (size_t i = 0; i < s->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        const char *v = NULL;
        for (size_t k = 0; k < sizeof ENTITY / sizeof ENTITY[0]; k++) {
            if (strcmp(s->fields[i].name, ENTITY[k].name) != 0) {
                continue;
            }
            switch (ENTITY[k].kind) {
            case M_TEXT:
                v = (const char *)r + ENTITY[k].offset;
                break;
            case M_APPID:
                v = appid;
                break;
            case M_STATE:
                v = mock_state_name(r->state);
                break;
            case M_SUCCESS:
                v = r->authorized_at != 0 ? success : NULL;
                break;
            case M_CANCEL:
                v = r->terminated_at != 0 ? cancel : NULL;
                break;
            }
        }
        vals[i] = v != NULL && v[0] != '\0' ? v : NULL;
    }
    ok_body(op, vals, resp);
}

static void not_found(struct mock_response *resp)
{
    fail(resp, 404, "ORDER_NOT_EXIST", MSG_NOT_FOUND);
}

static void apply(const struct mock_op_ctx *c, struct mock_response *resp)
{
    struct mock_record in;
    char nonce[WXP_NONCE_LEN + 1];
    const char *vals[WXP_SCHEMA_MAX_FIELDS] = {NULL};

    if (!allowed(c, resp)) {
        return;
    }
    memset(&in, 0, sizeof in);
    snprintf(in.mchid, sizeof in.mchid, "%s", c->m->mchid);
    snprintf(in.service_id, sizeof in.service_id, "%s", param(c, "service_id"));
    snprintf(in.appid, sizeof in.appid, "%s", param(c, "appid"));
    snprintf(in.authorization_code, sizeof in.authorization_code, "%s",
             param(c, "authorization_code"));
    if (param(c, "notify_url") != NULL) {
        snprintf(in.notify_url, sizeof in.notify_url, "%s", param(c, "notify_url"));
    }
    if (wxp_nonce(nonce, NULL) != WXP_OK) {
        fail(resp, 500, "SYSTEM_ERROR", MSG_BUSY);
        return;
    }
    snprintf(in.token, sizeof in.token, "%s%s", TOKEN_PREFIX, nonce);
    switch (mock_state_apply(c->srv->state, &in, c->now, NULL)) {
    case MOCK_ST_OK:
        break;
    case MOCK_ST_DUPLICATE:
        /* rule: authorization_code is unique per merchant; a repeat is refused. src:
         * docs/mock-server.md#business-rules (choice: [D-APPLY2] names no error) */
        fail(resp, 400, "INVALID_REQUEST", MSG_CODE_USED);
        return;
    case MOCK_ST_FULL:
        state_full(resp);
        return;
    case MOCK_ST_NOT_FOUND:
    case MOCK_ST_STATE:
    case MOCK_ST_AVAILABLE:
    case MOCK_ST_EXPIRED:
        fail(resp, 500, "SYSTEM_ERROR", MSG_BUSY);
        return;
    }
    for (size_t i = 0; i < c->route->op->response->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        if (strcmp(c->route->op->response->fields[i].name, "apply_permissions_token") == 0) {
            vals[i] = in.token;
        }
    }
    ok_body(c->route->op, vals, resp);
}

static void query_by_code(const struct mock_op_ctx *c, struct mock_response *resp)
{
    struct mock_record r;

    if (!allowed(c, resp)) {
        return;
    }
    if (mock_state_query_code(c->srv->state, c->m->mchid, param(c, "authorization_code"),
                              param(c, "service_id"), &r) != MOCK_ST_OK) {
        not_found(resp);
        return;
    }
    entity(c, &r, resp);
}

static void query_by_openid(const struct mock_op_ctx *c, struct mock_response *resp)
{
    struct mock_record r;

    if (!allowed(c, resp)) {
        return;
    }
    if (mock_state_query_openid(c->srv->state, c->m->mchid, param(c, "openid"),
                                param(c, "service_id"), param(c, "appid"), &r) != MOCK_ST_OK) {
        not_found(resp);
        return;
    }
    entity(c, &r, resp);
}

/* rule: whether a merchant's terminate also sends USER_CLOSE_SERVICE is not documented: off by
 * default, notify.terminate_sends_close turns it on.
 * src: docs/notifications.md#what-the-mock-sends */
static void terminated(const struct mock_op_ctx *c, const struct mock_record *r)
{
    if (c->srv->cfg.notify.terminate_sends_close) {
        mock_notify_user_event(c->srv, MOCK_USER_CLOSE_SERVICE, r);
    }
}

static void terminate_by_code(const struct mock_op_ctx *c, struct mock_response *resp)
{
    struct mock_record r;

    if (!allowed(c, resp)) {
        return;
    }
    switch (mock_state_terminate_code(c->srv->state, c->m->mchid, param(c, "authorization_code"),
                                      param(c, "service_id"), param(c, "reason"), c->now, &r)) {
    case MOCK_ST_OK:
        terminated(c, &r);
        no_content(resp);
        break;
    case MOCK_ST_STATE:
        fail(resp, 400, "INVALID_ORDER_STATE", MSG_STATE);
        break;
    case MOCK_ST_NOT_FOUND:
    case MOCK_ST_AVAILABLE:
    case MOCK_ST_DUPLICATE:
    case MOCK_ST_EXPIRED:
    case MOCK_ST_FULL:
        not_found(resp);
        break;
    }
}

static void terminate_by_openid(const struct mock_op_ctx *c, struct mock_response *resp)
{
    struct mock_record r;

    if (!allowed(c, resp)) {
        return;
    }
    switch (mock_state_terminate(c->srv->state, c->m->mchid, param(c, "openid"), param(c, "appid"),
                                 param(c, "service_id"), param(c, "reason"), c->now)) {
    case MOCK_TERM_OK:
        if (c->srv->cfg.notify.terminate_sends_close &&
            mock_state_query_openid(c->srv->state, c->m->mchid, param(c, "openid"),
                                    param(c, "service_id"), param(c, "appid"), &r) == MOCK_ST_OK) {
            terminated(c, &r);
        }
        no_content(resp);
        break;
    case MOCK_TERM_NOT_FOUND:
        not_found(resp);
        break;
    case MOCK_TERM_ALREADY:
        fail(resp, 400, "INVALID_ORDER_STATE", MSG_STATE);
        break;
    case MOCK_TERM_FULL:
        state_full(resp);
        break;
    }
}

/* Appends "name":"value" (with a leading comma unless first) to b. */
static enum wxp_code member(struct wxp_buf *b, bool first, const char *name, const char *value)
{
    enum wxp_code rc = first ? WXP_OK : wxp_buf_add(b, ",", 1);

    if (rc == WXP_OK) {
        rc = wxp_json_quote(b, name, strlen(name), NULL);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_add(b, ":", 1);
    }
    if (rc == WXP_OK) {
        rc = wxp_json_quote(b, value, strlen(value), NULL);
    }
    return rc;
}

/* One element of the list: the certificate's serial, validity, and PEM encrypted under the
 * merchant's APIv3 key with a fresh 12-byte nonce and associated_data "certificate". */
static enum wxp_code cert_item(const struct mock_merchant *m, const struct mock_platform *p,
                               struct wxp_buf *b)
{
    char nonce[WXP_NONCE_LEN + 1];
    char from[MOCK_TIME_TEXT], to[MOCK_TIME_TEXT];
    struct wxp_aead_params ap;
    enum wxp_code rc = wxp_nonce(nonce, NULL);

    nonce[WXP_AEAD_NONCE_LEN] = '\0';
    mock_time_text(p->not_before, from);
    mock_time_text(p->not_after, to);
    ap.key = (struct wxp_str){(const char *)m->apiv3_key, sizeof m->apiv3_key};
    ap.nonce = wxp_str_c(nonce);
    ap.aad = wxp_str_c("certificate");
    if (rc == WXP_OK) {
        rc = wxp_buf_add(b, "{", 1);
    }
    if (rc == WXP_OK) {
        rc = member(b, true, "serial_no", p->id);
    }
    if (rc == WXP_OK) {
        rc = member(b, false, "effective_time", from);
    }
    if (rc == WXP_OK) {
        rc = member(b, false, "expire_time", to);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, ",\"encrypt_certificate\":{");
    }
    if (rc == WXP_OK) {
        rc = member(b, true, "algorithm", "AEAD_AES_256_GCM");
    }
    if (rc == WXP_OK) {
        rc = member(b, false, "nonce", nonce);
    }
    if (rc == WXP_OK) {
        rc = member(b, false, "associated_data", "certificate");
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, ",\"ciphertext\":\"");
    }
    if (rc == WXP_OK) {
        rc = wxp_aead_encrypt(&ap, p->cert_pem, strlen(p->cert_pem), b, NULL);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, "\"}}");
    }
    return rc;
}

/* Whether an earlier signer already listed the certificate of signer i (the same serial). */
static bool listed_before(const struct mock_config *cfg, size_t i, int64_t now)
{
    for (size_t k = 0; k < i; k++) {
        if (mock_platform_cert_valid(&cfg->signers[k], now) &&
            strcmp(cfg->signers[k].id, cfg->signers[i].id) == 0) {
            return true;
        }
    }
    return false;
}

/* rule: the list holds every platform certificate valid now, each encrypted under the calling
 * merchant's APIv3 key; a new one is listed before it signs, so an overlap lists both; a merchant
 * without platform certificates gets 404 RESOURCE_NOT_EXISTS. src:
 * docs/protocol.md#platform-certificates ([GB-CERTS], [D-SM-KEY], [I-JAVA354]) */
static void certificates_list(const struct mock_op_ctx *c, struct mock_response *resp)
{
    const struct mock_config *cfg = &c->srv->cfg;
    const char *alg = param(c, "algorithm_type");
    bool any_cert = false, first = true;
    enum wxp_code rc;

    /* Choice: RSA and ALL list the RSA certificates (the mock has no SM2 one); SM2 lists none;
     * any other value is a PARAM_ERROR. */
    if (alg != NULL && strcmp(alg, "RSA") != 0 && strcmp(alg, "SM2") != 0 &&
        strcmp(alg, "ALL") != 0) {
        fail(resp, 400, "PARAM_ERROR", MSG_ALGORITHM);
        return;
    }
    for (size_t i = 0; i < cfg->nsigners; i++) {
        any_cert = any_cert || cfg->signers[i].cert_pem != NULL;
    }
    if (!any_cert || c->m->public_key_only) {
        fail(resp, 404, "RESOURCE_NOT_EXISTS", MSG_NO_CERTS);
        return;
    }
    /* Choice: the key is per merchant; one configured without it cannot be answered. */
    if (!c->m->has_apiv3_key) {
        fail(resp, 403, "NO_AUTH", MSG_NO_APIV3);
        return;
    }
    wxp_buf_reset(&resp->body);
    rc = wxp_buf_addstr(&resp->body, "{\"data\":[");
    for (size_t i = 0; rc == WXP_OK && i < cfg->nsigners; i++) {
        const struct mock_platform *p = &cfg->signers[i];
        if ((alg != NULL && strcmp(alg, "SM2") == 0) || !mock_platform_cert_valid(p, c->now) ||
            listed_before(cfg, i, c->now)) {
            continue;
        }
        if (!first) {
            rc = wxp_buf_add(&resp->body, ",", 1);
        }
        first = false;
        if (rc == WXP_OK) {
            rc = cert_item(c->m, p, &resp->body);
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(&resp->body, "]}");
    }
    if (rc != WXP_OK) {
        resp->failed_check = "internal";
        mock_response_error(resp, 500, "SYSTEM_ERROR", MSG_BUSY, NULL);
        return;
    }
    resp->status = 200;
    resp->code[0] = '\0';
    resp->sign = true;
}

/* Indexed by enum wxp_op_id: the table adds a row, this adds a handler. */
static void (*const HANDLERS[WXP_OP_COUNT])(const struct mock_op_ctx *c,
                                            struct mock_response *resp) = {
    [WXP_OP_PERMISSIONS_APPLY] = apply,
    [WXP_OP_PERMISSIONS_QUERY_BY_CODE] = query_by_code,
    [WXP_OP_PERMISSIONS_QUERY_BY_OPENID] = query_by_openid,
    [WXP_OP_PERMISSIONS_TERMINATE_BY_CODE] = terminate_by_code,
    [WXP_OP_PERMISSIONS_TERMINATE_BY_OPENID] = terminate_by_openid,
    [WXP_OP_PLATFORM_CERTIFICATES_LIST] = certificates_list,
};

void mock_op_run(const struct mock_op_ctx *c, struct mock_response *resp)
{
    enum wxp_op_id id = c->route->op->id;

    if ((size_t)id >= WXP_OP_COUNT || HANDLERS[id] == NULL) {
        resp->failed_check = "route";
        resp->status = 404;
        return;
    }
    HANDLERS[id](c, resp);
}
