/* SPDX-License-Identifier: MIT */
/* test_server.c: a server made with mock_server_init and freed with mock_server_free, and the
 * checking order of docs/mock-server.md#checking-order run in process through mock_handle: each
 * row fails one check while breaking every later one too, so the row's answer shows which check
 * comes first. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mock.h"
#include "testutil.h"
#include "wxp/authz.h"
#include "wxp/mem.h"

#define PATH_A "/v3/payscore/permissions/openid/oServerTest/terminate"
#define BODY_OK                                                                                    \
    "{\"service_id\":\"2002000000000558128851361561536\",\"appid\":\"wxd678efh567hg6787\","        \
    "\"reason\":\"r\"}"

static void test_server_init_takes_the_config(void **unused)
{
    struct mock_config cfg;
    struct mock_server srv;
    struct wxp_err err;

    (void)unused;
    assert_int_equal(mock_config_defaults(&cfg, &err), WXP_OK);
    cfg.journal_size = 3;
    assert_int_equal(mock_server_init(&srv, &cfg, 10, true, &err), WXP_OK);
    /* The config moved: the caller's copy holds nothing left to free. */
    assert_null(cfg.merchants);
    assert_null(cfg.signers);
    assert_int_equal(srv.cfg.nmerchants, 2);
    assert_int_equal(srv.cfg.journal_size, 3);
    assert_non_null(srv.state);
    assert_non_null(srv.nonces);
    assert_non_null(srv.journal);
    assert_non_null(srv.scenarios);
    assert_non_null(srv.sign_cache);
    assert_int_equal(srv.log_json, 0);
    assert_int_equal(srv.quiet, 0);
    assert_int_equal(mock_server_next_seq(&srv), 1);
    assert_int_equal(mock_server_next_seq(&srv), 2);
    mock_server_free(&srv);
    assert_null(srv.state);
    assert_null(srv.cfg.merchants);

    assert_int_equal(mock_config_defaults(&cfg, &err), WXP_OK);
    assert_int_equal(mock_server_init(&srv, &cfg, 10, false, &err), WXP_OK);
    assert_null(srv.sign_cache);
    mock_server_free(&srv);
}

enum authz_kind { AUTHZ_NONE, AUTHZ_GARBAGE, AUTHZ_SIGNED };

struct row {
    int line;
    const char *method;
    const char *target;
    bool accept;       /* Accept and User-Agent */
    const char *ctype; /* Content-Type, NULL for none */
    enum authz_kind authz;
    const char *mchid;       /* signed as this merchant (NULL: A) */
    const char *serial;      /* NULL: A's */
    int64_t ts_offset;       /* added to now when signing */
    const char *nonce;       /* fixed nonce, NULL: "n" + line */
    const char *body;        /* sent */
    const char *signed_body; /* signed, when not the body sent */
    unsigned status;
    const char *check; /* failed_check, NULL for none */
};

/* In the documented order; each row would also fail every check after its own. */
static const struct row ROWS[] = {
    {__LINE__, "POST", "/v3/elsewhere", false, NULL, AUTHZ_NONE, NULL, NULL, 0, NULL, "x", NULL,
     404, "route"},
    {__LINE__, "GET", PATH_A, false, NULL, AUTHZ_NONE, NULL, NULL, 0, NULL, "x", NULL, 405,
     "route"},
    {__LINE__, "POST", PATH_A, false, "application/json", AUTHZ_NONE, NULL, NULL, 0, NULL, "x",
     NULL, 400, "headers"},
    {__LINE__, "POST", PATH_A, true, "text/plain", AUTHZ_NONE, NULL, NULL, 0, NULL, "x", NULL, 400,
     "headers"},
    {__LINE__, "POST", PATH_A, true, "application/json", AUTHZ_GARBAGE, NULL, NULL, 0, NULL, "x",
     NULL, 401, "authorization"},
    {__LINE__, "POST", PATH_A, true, "application/json", AUTHZ_SIGNED, "1234567890", NULL, -3600,
     NULL, "x", NULL, 401, "merchant"},
    {__LINE__, "POST", PATH_A, true, "application/json", AUTHZ_SIGNED, NULL, T_SERIAL_B, -3600,
     NULL, "x", "y", 401, "timestamp"},
    {__LINE__, "POST", PATH_A, true, "application/json", AUTHZ_SIGNED, NULL, T_SERIAL_B, 0, NULL,
     "x", "y", 401, "serial"},
    {__LINE__, "POST", PATH_A, true, "application/json", AUTHZ_SIGNED, NULL, NULL, 0, NULL, "x",
     "y", 401, "signature"},
    {__LINE__, "POST", "/v3/payscore/permissions/openid/o%ZZ/terminate", true, "application/json",
     AUTHZ_SIGNED, NULL, NULL, 0, NULL, "x", NULL, 400, "path"},
    {__LINE__, "POST", PATH_A, true, "application/json", AUTHZ_SIGNED, NULL, NULL, 0, NULL,
     "{\"service_id\":\"1\"}", NULL, 400, "body"},
    {__LINE__, "POST", PATH_A, true, "application/json", AUTHZ_SIGNED, NULL, NULL, 0, NULL,
     "{\"service_id\":\"2002000000000558128851361561536\",\"appid\":\"wx1234567890abcdef\","
     "\"reason\":\"r\"}",
     NULL, 403, "business"},
    {__LINE__, "POST", PATH_A, true, "application/json", AUTHZ_SIGNED, NULL, NULL, 0,
     "NONCE0000000000000000000000000AA", BODY_OK, NULL, 204, NULL},
    /* The same nonce again, inside the window: a replay, found before the state says "already". */
    {__LINE__, "POST", PATH_A, true, "application/json", AUTHZ_SIGNED, NULL, NULL, 0,
     "NONCE0000000000000000000000000AA", BODY_OK, NULL, 401, "replay"},
    {__LINE__, "POST", PATH_A, true, "application/json", AUTHZ_SIGNED, NULL, NULL, 0, NULL, BODY_OK,
     NULL, 400, "business"},
};

struct rq {
    struct mock_request req;
    char target[256];
    char names[8][32];
    char values[8][1024];
};

static void add_header(struct rq *r, const char *name, const char *value)
{
    size_t i = r->req.nheaders++;
    assert_true(i < 8);
    snprintf(r->names[i], sizeof r->names[i], "%s", name);
    snprintf(r->values[i], sizeof r->values[i], "%s", value);
    r->req.headers[i].name = r->names[i];
    r->req.headers[i].value = r->values[i];
}

static void build(const struct row *w, struct rq *r)
{
    struct wxp_buf authz;
    struct wxp_err err;
    char nonce[40];

    memset(r, 0, sizeof *r);
    snprintf(r->req.method, sizeof r->req.method, "%s", w->method);
    snprintf(r->target, sizeof r->target, "%s", w->target);
    r->req.target = r->target;
    wxp_buf_init(&r->req.body, MOCK_BODY_MAX);
    assert_int_equal(wxp_buf_addstr(&r->req.body, w->body), WXP_OK);
    if (w->accept) {
        add_header(r, "Accept", "application/json");
        add_header(r, "User-Agent", "test_server/1.0");
    }
    if (w->ctype != NULL) {
        add_header(r, "Content-Type", w->ctype);
    }
    if (w->authz == AUTHZ_GARBAGE) {
        add_header(r, "Authorization", "WECHATPAY2-SHA256-RSA2048 mchid=");
    } else if (w->authz == AUTHZ_SIGNED) {
        struct wxp_key *key = t_private("keys/test-merchant-a.key.pem");
        struct wxp_signer s = {key, w->mchid ? w->mchid : T_MCHID_A,
                               w->serial ? w->serial : T_SERIAL_A};
        const char *signed_body = w->signed_body ? w->signed_body : w->body;
        if (w->nonce != NULL) {
            snprintf(nonce, sizeof nonce, "%s", w->nonce);
        } else {
            snprintf(nonce, sizeof nonce, "NONCEROW%024d", w->line);
        }
        wxp_buf_init(&authz, 8192);
        if (wxp_authz_sign(&authz, &s, wxp_str_c(w->method), wxp_str_c(w->target),
                           wxp_str_c(signed_body), (int64_t)time(NULL) + w->ts_offset, nonce,
                           &err) != WXP_OK) {
            fail_msg("row at line %d: signing failed: %s", w->line, err.msg);
        }
        add_header(r, "Authorization", wxp_buf_cstr(&authz));
        wxp_buf_free(&authz);
        wxp_key_free(key);
    }
}

static void test_server_checking_order(void **unused)
{
    struct mock_config cfg;
    struct mock_server srv;
    struct wxp_err err;

    (void)unused;
    assert_int_equal(mock_config_defaults(&cfg, &err), WXP_OK);
    assert_int_equal(mock_server_init(&srv, &cfg, 100, false, &err), WXP_OK);
    srv.quiet = 1;
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        const struct row *w = &ROWS[i];
        struct mock_response resp;
        struct rq r;
        const char *got;
        build(w, &r);
        r.req.seq = mock_server_next_seq(&srv);
        mock_response_init(&resp);
        mock_handle(&srv, &r.req, &resp);
        got = resp.failed_check ? resp.failed_check : "(none)";
        if (resp.status != w->status || strcmp(got, w->check ? w->check : "(none)") != 0) {
            fail_msg("row at line %d: got %u %s, want %u %s; body %s", w->line, resp.status, got,
                     w->status, w->check ? w->check : "(none)", wxp_buf_cstr(&resp.body));
        }
        mock_journal_add(srv.journal, &r.req, &resp);
        mock_response_free(&resp);
        wxp_buf_free(&r.req.body);
    }
    assert_int_equal(srv.seq, sizeof ROWS / sizeof ROWS[0]);
    mock_server_free(&srv);
}

/* Regression (after 999 999 new openids the mock answered 404 ORDER_NOT_EXIST, against "the first
 * terminate of any openid succeeds"): at the record cap the terminate of a new openid answers 500
 * SYSTEM_ERROR whose message names the cap and how to make room; after a reset it succeeds. */
static void test_server_record_cap_named_error_bug(void **unused)
{
    struct mock_config cfg;
    struct mock_server srv;
    struct wxp_err err;
    const struct row w = {__LINE__,     "POST", PATH_A, true,      "application/json",
                          AUTHZ_SIGNED, NULL,   NULL,   0,         NULL,
                          BODY_OK,      NULL,   500,    "business"};
    char want[128];

    (void)unused;
    assert_int_equal(mock_config_defaults(&cfg, &err), WXP_OK);
    assert_int_equal(mock_server_init(&srv, &cfg, 100, false, &err), WXP_OK);
    srv.quiet = 1;
    mock_state_set_max(srv.state, 0);
    for (int pass = 0; pass < 2; pass++) {
        struct mock_response resp;
        struct rq r;
        build(&w, &r);
        mock_response_init(&resp);
        mock_handle(&srv, &r.req, &resp);
        if (pass == 0) {
            assert_int_equal(resp.status, 500);
            assert_string_equal(resp.code, "SYSTEM_ERROR");
            snprintf(want, sizeof want, "its cap is %zu records", MOCK_STATE_RECORDS_MAX);
            assert_non_null(strstr(wxp_buf_cstr(&resp.body), want));
            assert_non_null(strstr(wxp_buf_cstr(&resp.body), "POST /__admin/reset"));
            mock_state_set_max(srv.state, MOCK_STATE_RECORDS_MAX);
            mock_nonces_clear(srv.nonces);
        } else {
            assert_int_equal(resp.status, 204);
        }
        mock_response_free(&resp);
        wxp_buf_free(&r.req.body);
    }
    mock_server_free(&srv);
}

/* "authorizations" in a config file take every member of a state dump; a pre-authorization needs
 * no openid. Rows: the record's JSON, the code and field of the refusal (WXP_OK: loaded). */
static void test_server_config_records_carry_every_field(void **unused)
{
    static const struct {
        int line;
        const char *rec;
        enum wxp_code code;
        const char *field;
    } rows[] = {
        {__LINE__,
         "{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"UNAVAILABLE\","
         "\"reason\":\"r\",\"authorization_code\":\"c\",\"notify_url\":\"https://n\","
         "\"apply_permissions_token\":\"t\",\"terminated_at\":3,\"authorized_at\":2,"
         "\"token_expires_at\":4}",
         WXP_OK, ""},
        {__LINE__, "{\"mchid\":\"1\",\"service_id\":\"s\",\"authorization_code\":\"c\"}", WXP_OK,
         ""},
        {__LINE__, "{\"mchid\":\"1\",\"service_id\":\"s\"}", WXP_E_INVALID_ARG,
         "authorizations[0]"},
        {__LINE__,
         "{\"mchid\":\"1\",\"service_id\":\"s\",\"authorization_code\":\"c\",\"state\":"
         "\"AVAILABLE\"}",
         WXP_E_INVALID_ARG, "authorizations[0]"},
        {__LINE__,
         "{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\",\"authorization_code\":"
         "\"123456789012345678901234567890123\"}",
         WXP_E_INVALID_ARG, "authorizations[0].authorization_code"},
        {__LINE__, "{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\",\"authorized_at\":-1}",
         WXP_E_INVALID_ARG, "authorizations[0].authorized_at"},
        {__LINE__, "{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\",\"token\":\"t\"}",
         WXP_E_INVALID_ARG, "authorizations[0].token"},
    };
    (void)unused;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct mock_config cfg;
        struct wxp_err err;
        char doc[1024];
        enum wxp_code rc;

        memset(&cfg, 0, sizeof cfg);
        wxp_err_clear(&err);
        snprintf(doc, sizeof doc, "{\"authorizations\":[%s]}", rows[i].rec);
        rc = mock_config_load_text(&cfg, doc, strlen(doc), "t.json", &err);
        if (rc != rows[i].code || strcmp(err.field, rows[i].field) != 0) {
            fail_msg("row at line %d: got %s field \"%s\" (%s)", rows[i].line, wxp_code_name(rc),
                     err.field, err.msg);
        }
        if (rc == WXP_OK && i == 0) {
            const struct mock_record *r = &cfg.records[0];
            assert_int_equal(r->state, MOCK_AUTH_UNAVAILABLE);
            assert_string_equal(r->reason, "r");
            assert_string_equal(r->authorization_code, "c");
            assert_string_equal(r->notify_url, "https://n");
            assert_string_equal(r->token, "t");
            assert_int_equal(r->terminated_at, 3);
            assert_int_equal(r->authorized_at, 2);
            assert_int_equal(r->token_expires_at, 4);
        }
        if (rc == WXP_OK && i == 1) {
            assert_int_equal(cfg.records[0].state, MOCK_AUTH_UNBINDUSER);
            assert_string_equal(cfg.records[0].openid, "");
        }
        mock_config_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_init_takes_the_config),
        cmocka_unit_test(test_server_checking_order),
        cmocka_unit_test(test_server_record_cap_named_error_bug),
        cmocka_unit_test(test_server_config_records_carry_every_field),
    };
    return cmocka_run_group_tests_name("mock.server", tests, NULL, NULL);
}
