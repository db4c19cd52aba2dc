/* SPDX-License-Identifier: MIT */
/* test_e2e_lifecycle.c: the Pay Score permissions lifecycle over HTTP with real signed requests:
 * apply -> the user accepts (admin) -> query by code -> query by openid (the query in both
 * orders) -> terminate by code -> query -> terminate again; the user closing in WeChat; the
 * unknown_openid policy on queries; and the query-string choices of docs/mock-server.md. Every
 * 200 is verified with the core's wxp_resp_verify and read with wxp_op_response_parse. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "e2e.h"
#include "wxp/envelope.h"
#include "wxp/op.h"
#include "wxp/schema.h"

#define SERVICE "500001"
#define APPID "wxd678efh567hg6787"
#define PERMISSIONS "/v3/payscore/permissions"
#define BY_CODE PERMISSIONS "/authorization-code/"
#define BY_OPENID PERMISSIONS "/openid/"

static struct e2e_mock mock;

static int start_default(void **state)
{
    (void)state;
    e2e_start(&mock, NULL);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    e2e_stop(&mock);
    return 0;
}

/* A 200 of `op`, signed over its body: checks the signature and reads the body into *v. */
static void assert_ok(struct e2e_resp *r, enum wxp_op_id op, struct wxp_values *v)
{
    struct wxp_err err;

    if (r->status != 200) {
        fail_msg("status %ld; body: %s", r->status, wxp_buf_cstr(&r->body));
    }
    assert_true(r->body.len > 0);
    assert_string_equal(e2e_header(r, "Content-Type"), "application/json; charset=utf-8");
    assert_int_equal(e2e_verify(r), WXP_OK);
    if (wxp_op_response_parse(&WXP_OPS[op], r->body.ptr, r->body.len, v, &err) != WXP_OK) {
        fail_msg("200 body does not parse (%s): %s", err.msg, wxp_buf_cstr(&r->body));
    }
}

static const char *get(const struct wxp_values *v, const char *name)
{
    return wxp_values_get(v, name).ptr;
}

/* An admin POST; returns the status. */
static long admin_post(const char *path, const char *body)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    struct e2e_resp r;
    long status;

    e2e_send(&mock, "POST", path, hdrs, body, strlen(body), &r);
    assert_int_equal(r.curl_error, 0);
    status = r.status;
    e2e_resp_free(&r);
    return status;
}

static void query_code(const char *code, struct e2e_resp *r)
{
    char target[256];
    snprintf(target, sizeof target, BY_CODE "%s?service_id=" SERVICE, code);
    e2e_call(&mock, "GET", target, NULL, NULL, NULL, r);
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static void test_e2e_lifecycle_apply_accept_query_terminate(void **state)
{
    (void)state;
    char code[33], body[512], target[256], accept[256], openid[64];
    struct e2e_resp r;
    struct e2e_resp r2;
    struct wxp_values v;

    snprintf(code, sizeof code, "LIFE-%ld|*_x", (long)getpid());
    snprintf(openid, sizeof openid, "oLife%ld", (long)getpid());
    snprintf(body, sizeof body,
             "{\"service_id\":\"" SERVICE "\",\"appid\":\"" APPID "\",\"authorization_code\":"
             "\"%s\",\"notify_url\":\"https://merchant.example/notify\"}",
             code);

    /* apply: 200 {"apply_permissions_token"}, signed over the body. */
    e2e_call(&mock, "POST", PERMISSIONS, body, NULL, NULL, &r);
    assert_ok(&r, WXP_OP_PERMISSIONS_APPLY, &v);
    assert_true(strlen(get(&v, "apply_permissions_token")) > 0);
    wxp_values_free(&v);
    e2e_resp_free(&r);
    /* The code is unique per merchant. */
    e2e_call(&mock, "POST", PERMISSIONS, body, NULL, NULL, &r);
    e2e_assert_error(&r, 400, "INVALID_REQUEST", NULL);
    e2e_resp_free(&r);

    /* Before the user: UNBINDUSER, no openid, no times. */
    query_code(code, &r);
    assert_ok(&r, WXP_OP_PERMISSIONS_QUERY_BY_CODE, &v);
    assert_string_equal(get(&v, "authorization_state"), "UNBINDUSER");
    assert_null(get(&v, "openid"));
    assert_null(get(&v, "authorization_success_time"));
    assert_string_equal(get(&v, "notify_url"), "https://merchant.example/notify");
    wxp_values_free(&v);
    e2e_resp_free(&r);

    /* The user accepts in WeChat. */
    snprintf(accept, sizeof accept,
             "{\"service_id\":\"" SERVICE "\",\"openid\":\"%s\",\"authorization_code\":\"%s\"}",
             openid, code);
    assert_int_equal(admin_post("/__admin/payscore/user-accept", accept), 200);
    assert_int_equal(admin_post("/__admin/payscore/user-accept", accept), 409);

    query_code(code, &r);
    assert_ok(&r, WXP_OP_PERMISSIONS_QUERY_BY_CODE, &v);
    assert_string_equal(get(&v, "authorization_state"), "AVAILABLE");
    assert_string_equal(get(&v, "openid"), openid);
    assert_string_equal(get(&v, "mchid"), T_MCHID_A);
    assert_string_equal(get(&v, "appid"), APPID);
    assert_string_equal(get(&v, "service_id"), SERVICE);
    assert_string_equal(get(&v, "authorization_code"), code);
    assert_true(ends_with(get(&v, "authorization_success_time"), "+08:00"));
    assert_null(get(&v, "cancel_authorization_time"));
    wxp_values_free(&v);
    e2e_resp_free(&r);

    /* By openid, the query in either order: the same entity, each signed over the exact target. */
    snprintf(target, sizeof target, BY_OPENID "%s?appid=" APPID "&service_id=" SERVICE, openid);
    e2e_call(&mock, "GET", target, NULL, NULL, NULL, &r);
    assert_ok(&r, WXP_OP_PERMISSIONS_QUERY_BY_OPENID, &v);
    assert_string_equal(get(&v, "authorization_state"), "AVAILABLE");
    assert_string_equal(get(&v, "authorization_code"), code);
    assert_null(get(&v, "notify_url"));
    wxp_values_free(&v);
    snprintf(target, sizeof target, BY_OPENID "%s?service_id=" SERVICE "&appid=" APPID, openid);
    e2e_call(&mock, "GET", target, NULL, NULL, NULL, &r2);
    assert_ok(&r2, WXP_OP_PERMISSIONS_QUERY_BY_OPENID, &v);
    assert_int_equal(r.body.len, r2.body.len);
    assert_memory_equal(r.body.ptr, r2.body.ptr, r.body.len);
    wxp_values_free(&v);
    e2e_resp_free(&r);
    e2e_resp_free(&r2);

    /* Terminate by code: 204, signed; then UNAVAILABLE with its cancel time. */
    snprintf(target, sizeof target, BY_CODE "%s/terminate", code);
    e2e_call(&mock, "POST", target, "{\"service_id\":\"" SERVICE "\",\"reason\":\"lifecycle\"}",
             NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
    query_code(code, &r);
    assert_ok(&r, WXP_OP_PERMISSIONS_QUERY_BY_CODE, &v);
    assert_string_equal(get(&v, "authorization_state"), "UNAVAILABLE");
    assert_true(ends_with(get(&v, "cancel_authorization_time"), "+08:00"));
    wxp_values_free(&v);
    e2e_resp_free(&r);

    /* A second terminate, either way, fails as today's does. */
    e2e_call(&mock, "POST", target, "{\"service_id\":\"" SERVICE "\",\"reason\":\"again\"}", NULL,
             NULL, &r);
    e2e_assert_error(&r, 400, "INVALID_ORDER_STATE", NULL);
    e2e_resp_free(&r);
    snprintf(target, sizeof target, BY_OPENID "%s/terminate", openid);
    e2e_call(&mock, "POST", target,
             "{\"service_id\":\"" SERVICE "\",\"appid\":\"" APPID "\",\"reason\":\"again\"}", NULL,
             NULL, &r);
    e2e_assert_error(&r, 400, "INVALID_ORDER_STATE", NULL);
    e2e_resp_free(&r);

    /* Codes nobody applied for, and services the merchant does not have. */
    query_code("NOSUCHCODE", &r);
    e2e_assert_error(&r, 404, "ORDER_NOT_EXIST", NULL);
    e2e_resp_free(&r);
    e2e_call(&mock, "GET", BY_CODE "NOSUCHCODE?service_id=999", NULL, NULL, NULL, &r);
    e2e_assert_error(&r, 403, "NO_AUTH", NULL);
    e2e_resp_free(&r);
}

static void test_e2e_lifecycle_user_closes_in_wechat(void **state)
{
    (void)state;
    char who[128], target[256];
    struct e2e_resp r;
    struct wxp_values v;

    snprintf(who, sizeof who, "{\"service_id\":\"" SERVICE "\",\"openid\":\"oClose%ld\"}",
             (long)getpid());
    snprintf(target, sizeof target, BY_OPENID "oClose%ld?appid=" APPID "&service_id=" SERVICE,
             (long)getpid());
    assert_int_equal(admin_post("/__admin/payscore/user-accept", who), 200);
    e2e_call(&mock, "GET", target, NULL, NULL, NULL, &r);
    assert_ok(&r, WXP_OP_PERMISSIONS_QUERY_BY_OPENID, &v);
    assert_string_equal(get(&v, "authorization_state"), "AVAILABLE");
    assert_null(get(&v, "authorization_code"));
    wxp_values_free(&v);
    e2e_resp_free(&r);
    assert_int_equal(admin_post("/__admin/payscore/user-close", who), 200);
    assert_int_equal(admin_post("/__admin/payscore/user-close", who), 409);
    e2e_call(&mock, "GET", target, NULL, NULL, NULL, &r);
    assert_ok(&r, WXP_OP_PERMISSIONS_QUERY_BY_OPENID, &v);
    assert_string_equal(get(&v, "authorization_state"), "UNAVAILABLE");
    assert_true(ends_with(get(&v, "cancel_authorization_time"), "+08:00"));
    wxp_values_free(&v);
    e2e_resp_free(&r);
}

/* The default policy, "authorized": an openid never seen reads as AVAILABLE and terminates once;
 * then it reads as UNAVAILABLE. */
static void test_e2e_lifecycle_unknown_openid_authorized(void **state)
{
    (void)state;
    char target[256], term[256];
    struct e2e_resp r;
    struct wxp_values v;

    snprintf(target, sizeof target, BY_OPENID "oNeverSeen%ld?service_id=" SERVICE "&appid=" APPID,
             (long)getpid());
    snprintf(term, sizeof term, BY_OPENID "oNeverSeen%ld/terminate", (long)getpid());
    e2e_call(&mock, "GET", target, NULL, NULL, NULL, &r);
    assert_ok(&r, WXP_OP_PERMISSIONS_QUERY_BY_OPENID, &v);
    assert_string_equal(get(&v, "authorization_state"), "AVAILABLE");
    assert_string_equal(get(&v, "appid"), APPID);
    wxp_values_free(&v);
    e2e_resp_free(&r);
    e2e_call(&mock, "POST", term,
             "{\"service_id\":\"" SERVICE "\",\"appid\":\"" APPID "\",\"reason\":\"once\"}", NULL,
             NULL, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    e2e_call(&mock, "GET", target, NULL, NULL, NULL, &r);
    assert_ok(&r, WXP_OP_PERMISSIONS_QUERY_BY_OPENID, &v);
    assert_string_equal(get(&v, "authorization_state"), "UNAVAILABLE");
    wxp_values_free(&v);
    e2e_resp_free(&r);
}

/* With "not_found" the same query is 404 ORDER_NOT_EXIST; a configured pre-authorization. */
static void test_e2e_lifecycle_unknown_openid_not_found(void **state)
{
    (void)state;
    struct e2e_mock other;
    char path[512];
    const char *args[] = {"--config", path, NULL};
    struct e2e_resp r;
    struct wxp_values v;
    FILE *f;

    snprintf(path, sizeof path, "%s/notfound.json", mock.dir);
    f = fopen(path, "w");
    assert_non_null(f);
    /* With a configured pre-authorization that has no appid: the entity takes the merchant's. */
    fputs("{\"unknown_openid\":\"not_found\",\"authorizations\":[{\"mchid\":\"" T_MCHID_A
          "\",\"service_id\":\"" SERVICE "\",\"authorization_code\":\"CFGCODE\"}]}",
          f);
    fclose(f);
    e2e_start(&other, args);
    e2e_call(&other, "GET", BY_OPENID "oNeverSeen?appid=" APPID "&service_id=" SERVICE, NULL, NULL,
             NULL, &r);
    e2e_assert_error(&r, 404, "ORDER_NOT_EXIST", NULL);
    e2e_resp_free(&r);
    e2e_call(&other, "GET", BY_CODE "CFGCODE?service_id=" SERVICE, NULL, NULL, NULL, &r);
    assert_ok(&r, WXP_OP_PERMISSIONS_QUERY_BY_CODE, &v);
    assert_string_equal(get(&v, "authorization_state"), "UNBINDUSER");
    assert_string_equal(get(&v, "appid"), APPID);
    wxp_values_free(&v);
    e2e_resp_free(&r);
    e2e_stop(&other);
    remove(path);
}

/* The query-string choices (docs/mock-server.md#checking-order): rows of target, extra headers,
 * body sent, body signed, and the answer. */
static void test_e2e_lifecycle_query_string_choices(void **state)
{
    (void)state;
    static const char *const ct[] = {"Content-Type: application/json", NULL};
    static const struct {
        int line;
        const char *target;
        const char *const *extra;
        const char *body;
        const char *signed_body;
        long status;
        const char *code;
        const char *has; /* in the message, or NULL */
    } rows[] = {
        {__LINE__, BY_OPENID "oQs?appid=" APPID "&service_id=" SERVICE, NULL, NULL, NULL, 200, NULL,
         NULL},
        /* Content-Type on a GET is tolerated ([JAVA-PS] sends it). */
        {__LINE__, BY_OPENID "oQs?appid=" APPID "&service_id=" SERVICE, ct, NULL, NULL, 200, NULL,
         NULL},
        /* An unknown parameter is ignored, as an unknown body member is. */
        {__LINE__, BY_OPENID "oQs?appid=" APPID "&x=1&service_id=" SERVICE, NULL, NULL, NULL, 200,
         NULL, NULL},
        /* A second '?' is part of a value: appid is then missing ([JAVA-PS]'s bug). */
        {__LINE__, BY_OPENID "oQs?service_id=" SERVICE "?appid=" APPID, NULL, NULL, NULL, 400,
         "PARAM_ERROR", "appid"},
        /* A repeated parameter is refused. */
        {__LINE__, BY_OPENID "oQs?appid=" APPID "&service_id=" SERVICE "&appid=" APPID, NULL, NULL,
         NULL, 400, "PARAM_ERROR", "appid"},
        {__LINE__, BY_OPENID "oQs?appid=" APPID "&service_id=%ZZ", NULL, NULL, NULL, 400,
         "PARAM_ERROR", "service_id"},
        {__LINE__, BY_OPENID "oQs?appid=" APPID, NULL, NULL, NULL, 400, "PARAM_ERROR",
         "service_id"},
        /* A GET's body is no parameter, but the signature covers it. */
        {__LINE__, BY_OPENID "oQs?appid=" APPID "&service_id=" SERVICE, NULL, "{\"x\":1}", NULL,
         200, NULL, NULL},
        {__LINE__, BY_OPENID "oQs?appid=" APPID "&service_id=" SERVICE, NULL, "{\"x\":1}", "", 401,
         "SIGN_ERROR", NULL},
        /* A %2F in a segment stays one segment, and its openid is checked as such. */
        {__LINE__, BY_OPENID "o%2Fx?appid=" APPID "&service_id=" SERVICE, NULL, NULL, NULL, 200,
         NULL, NULL},
        {__LINE__, BY_CODE "A%2FB?service_id=" SERVICE, NULL, NULL, NULL, 400, "PARAM_ERROR",
         "authorization_code"},
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct e2e_resp r;
        struct wxp_envelope e;
        struct wxp_err err;

        e2e_call(&mock, "GET", rows[i].target, rows[i].body, rows[i].signed_body, rows[i].extra,
                 &r);
        if (r.status != rows[i].status) {
            fail_msg("row at line %d: status %ld, body %s", rows[i].line, r.status,
                     wxp_buf_cstr(&r.body));
        }
        if (rows[i].code != NULL) {
            if (wxp_envelope_parse(r.body.ptr, r.body.len, &e, &err) != WXP_OK ||
                strcmp(e.code, rows[i].code) != 0 ||
                (rows[i].has != NULL && strstr(e.message, rows[i].has) == NULL)) {
                fail_msg("row at line %d: body %s", rows[i].line, wxp_buf_cstr(&r.body));
            }
            wxp_envelope_free(&e);
        } else if (e2e_verify(&r) != WXP_OK) {
            fail_msg("row at line %d: the 200 does not verify", rows[i].line);
        }
        e2e_resp_free(&r);
    }
}

/* The journal names each request's operation, and null for one that routes to none. */
static void test_e2e_lifecycle_journal_names_the_operation(void **state)
{
    (void)state;
    struct e2e_resp r;

    e2e_call(&mock, "GET", BY_CODE "JOURNAL?service_id=" SERVICE, NULL, NULL, NULL, &r);
    e2e_resp_free(&r);
    e2e_send(&mock, "GET", "/__admin/requests?limit=1", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(
        strstr(wxp_buf_cstr(&r.body), "\"operation\":\"payscore.permissions.query-by-code\""));
    e2e_resp_free(&r);
    e2e_call(&mock, "GET", PERMISSIONS "/nowhere", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    e2e_resp_free(&r);
    e2e_send(&mock, "GET", "/__admin/requests?limit=1", NULL, NULL, 0, &r);
    assert_non_null(strstr(wxp_buf_cstr(&r.body), "\"operation\":null"));
    assert_non_null(strstr(wxp_buf_cstr(&r.body), "\"failed_check\":\"route\""));
    e2e_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_lifecycle_apply_accept_query_terminate),
        cmocka_unit_test(test_e2e_lifecycle_user_closes_in_wechat),
        cmocka_unit_test(test_e2e_lifecycle_unknown_openid_authorized),
        cmocka_unit_test(test_e2e_lifecycle_unknown_openid_not_found),
        cmocka_unit_test(test_e2e_lifecycle_query_string_choices),
        cmocka_unit_test(test_e2e_lifecycle_journal_names_the_operation),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, start_default, stop);
    curl_global_cleanup();
    return rc;
}
