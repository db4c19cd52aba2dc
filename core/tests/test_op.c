/* SPDX-License-Identifier: MIT */
/* test_op.c: the operation table (docs/architecture.md#adding-an-api): its invariants, routing
 * (404, 405, literal before variable, empty and encoded segments), the request checks of each
 * location with the live server's codes, pointers and messages, request targets and bodies as a
 * client builds them, and the success bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_internal.h"
#include "testutil.h"
#include "wxp/buf.h"
#include "wxp/mem.h"
#include "wxp/op.h"
#include "wxp/query.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define SVC "2002000000000558128851361561536"
#define APP "wxd678efh567hg6787"
#define OID "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
#define P "/v3/payscore/permissions"

#define APPLY WXP_OP_PERMISSIONS_APPLY
#define QBC WXP_OP_PERMISSIONS_QUERY_BY_CODE
#define QBO WXP_OP_PERMISSIONS_QUERY_BY_OPENID
#define TBC WXP_OP_PERMISSIONS_TERMINATE_BY_CODE
#define TBO WXP_OP_PERMISSIONS_TERMINATE_BY_OPENID
#define CERTS WXP_OP_PLATFORM_CERTIFICATES_LIST

/* ---- the table ------------------------------------------------------------------------------- */

static size_t template_vars(const char *path, char names[][32], size_t max)
{
    size_t n = 0;

    for (const char *p = strchr(path, '{'); p != NULL; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        assert_non_null(end);
        assert_true(n < max);
        assert_true((size_t)(end - p - 1) < 32);
        memcpy(names[n], p + 1, (size_t)(end - p - 1));
        names[n][end - p - 1] = '\0';
        /* A variable is a whole segment. */
        assert_int_equal(p[-1], '/');
        assert_true(end[1] == '\0' || end[1] == '/');
        n++;
    }
    return n;
}

static void test_op_table_invariants(void **state)
{
    (void)state;
    for (size_t i = 0; i < WXP_OP_COUNT; i++) {
        const struct wxp_op *op = &WXP_OPS[i];
        const struct wxp_schema *s = op->params;
        char vars[WXP_OP_PATH_PARAMS_MAX][32];
        size_t nvars;
        size_t npath = 0;
        int last_loc = 0;

        assert_int_equal(op->id, (int)i);
        assert_non_null(op->name);
        assert_ptr_equal(wxp_op_by_name(wxp_str_c(op->name)), op);
        for (size_t k = 0; k < i; k++) {
            assert_string_not_equal(op->name, WXP_OPS[k].name);
            assert_false(strcmp(op->path, WXP_OPS[k].path) == 0 &&
                         strcmp(op->method, WXP_OPS[k].method) == 0);
        }
        assert_true(strncmp(op->path, "/v3/", 4) == 0);
        assert_null(strchr(op->path, '?'));
        assert_true(strcmp(op->method, "GET") == 0 || strcmp(op->method, "POST") == 0);
        assert_true(strncmp(op->doc, "docs/protocol.md#", 17) == 0);
        assert_true(op->success == 200 || op->success == 204);
        /* A flat `response` only on a 200; a 204 has no body. The one 200 without rows is the
         * certificate list, whose nested body its handler builds (op.h). */
        assert_true(op->response == NULL || op->success == 200);
        assert_true(op->success == 204 || op->response != NULL || i == CERTS);
        assert_non_null(s);
        assert_true(s->count <= WXP_SCHEMA_MAX_FIELDS);
        nvars = template_vars(op->path, vars, WXP_OP_PATH_PARAMS_MAX);
        for (size_t v = 0; v < nvars; v++) {
            assert_non_null(wxp_schema_field(s, vars[v], WXP_LOC_URI_TEMPLATE));
        }
        for (size_t f = 0; f < s->count; f++) {
            const struct wxp_field *row = &s->fields[f];
            /* Path rows, then query rows, then body rows. */
            int rank = row->loc == WXP_LOC_URI_TEMPLATE ? 0 : row->loc == WXP_LOC_QUERY ? 1 : 2;
            assert_true(rank >= last_loc);
            last_loc = rank;
            assert_true(row->min <= row->max);
            /* Names are unique across locations, so wxp_values_get is unambiguous. */
            for (size_t g = 0; g < f; g++) {
                assert_string_not_equal(row->name, s->fields[g].name);
            }
            assert_non_null(row->label);
            if (row->loc == WXP_LOC_URI_TEMPLATE) {
                npath++;
                assert_true(row->required);
            }
            /* A GET has no body parameters. */
            if (strcmp(op->method, "GET") == 0) {
                assert_int_not_equal(row->loc, WXP_LOC_BODY);
            }
        }
        assert_int_equal(npath, nvars);
        if (op->response != NULL) {
            assert_true(op->response->count <= WXP_SCHEMA_MAX_FIELDS);
            for (size_t f = 0; f < op->response->count; f++) {
                assert_int_equal(op->response->fields[f].loc, WXP_LOC_BODY);
            }
        }
    }
    /* terminate-by-openid keeps its schema, rows and messages. */
    assert_ptr_equal(WXP_OPS[TBO].params, &WXP_SCHEMA_TERMINATE_BY_OPENID);
    assert_null(wxp_op_by_name(wxp_str_c("payscore.permissions.Apply")));
    assert_null(wxp_op_by_name(wxp_str_c("payscore.permissions")));
    assert_null(wxp_op_by_name((struct wxp_str){NULL, 0}));
    assert_ptr_equal(wxp_op_by_name(wxp_str_c("payscore.permissions.query-by-openid")),
                     &WXP_OPS[QBO]);
}

/* The entity's presence rules (docs/protocol.md#permissions-entity). */
static void test_op_entity_rows(void **state)
{
    static const char *const ALWAYS[] = {"service_id", "appid", "mchid", "authorization_state"};
    static const char *const OPTIONAL[] = {"openid", "authorization_success_time",
                                           "cancel_authorization_time"};
    const struct wxp_schema *by_code = WXP_OPS[QBC].response;
    const struct wxp_schema *by_openid = WXP_OPS[QBO].response;

    (void)state;
    for (size_t i = 0; i < NELEM(ALWAYS); i++) {
        assert_true(wxp_schema_field(by_code, ALWAYS[i], WXP_LOC_BODY)->required);
        assert_true(wxp_schema_field(by_openid, ALWAYS[i], WXP_LOC_BODY)->required);
    }
    assert_true(wxp_schema_field(by_code, "authorization_code", WXP_LOC_BODY)->required);
    for (size_t i = 0; i < NELEM(OPTIONAL); i++) {
        assert_false(wxp_schema_field(by_code, OPTIONAL[i], WXP_LOC_BODY)->required);
        assert_false(wxp_schema_field(by_openid, OPTIONAL[i], WXP_LOC_BODY)->required);
    }
    /* By openid, a code only when the authorization came from a pre-authorization. */
    assert_false(wxp_schema_field(by_openid, "authorization_code", WXP_LOC_BODY)->required);
    assert_false(wxp_schema_field(by_code, "notify_url", WXP_LOC_BODY)->required);
    assert_null(wxp_schema_field(by_openid, "notify_url", WXP_LOC_BODY));
    assert_true(wxp_schema_field(WXP_OPS[APPLY].response, "apply_permissions_token", WXP_LOC_BODY)
                    ->required);
}

/* ---- routing --------------------------------------------------------------------------------- */

struct route_row {
    int line;
    const char *method;
    const char *path;
    enum wxp_route_result want;
    int op; /* -1: none */
    const char *seg;
};

static const struct route_row ROUTE_ROWS[] = {
    {__LINE__, "POST", P, WXP_ROUTE_OK, APPLY, NULL},
    {__LINE__, "GET", P, WXP_ROUTE_METHOD, APPLY, NULL},
    {__LINE__, "GET", P "/authorization-code/c1", WXP_ROUTE_OK, QBC, "c1"},
    {__LINE__, "POST", P "/authorization-code/c1", WXP_ROUTE_METHOD, QBC, "c1"},
    {__LINE__, "GET", P "/openid/" OID, WXP_ROUTE_OK, QBO, OID},
    {__LINE__, "DELETE", P "/openid/" OID, WXP_ROUTE_METHOD, QBO, OID},
    {__LINE__, "POST", P "/authorization-code/c1/terminate", WXP_ROUTE_OK, TBC, "c1"},
    {__LINE__, "GET", P "/authorization-code/c1/terminate", WXP_ROUTE_METHOD, TBC, "c1"},
    {__LINE__, "POST", P "/openid/" OID "/terminate", WXP_ROUTE_OK, TBO, OID},
    {__LINE__, "PUT", P "/openid/" OID "/terminate", WXP_ROUTE_METHOD, TBO, OID},
    /* A method is matched byte for byte. */
    {__LINE__, "post", P "/openid/" OID "/terminate", WXP_ROUTE_METHOD, TBO, OID},
    /* "%2F" stays inside its segment; a real '/' does not. */
    {__LINE__, "POST", P "/openid/a%2Fb/terminate", WXP_ROUTE_OK, TBO, "a%2Fb"},
    {__LINE__, "POST", P "/openid/a/b/terminate", WXP_ROUTE_NOT_FOUND, -1, NULL},
    /* The literal "terminate" can be an openid in the query path. */
    {__LINE__, "GET", P "/openid/terminate", WXP_ROUTE_OK, QBO, "terminate"},
    /* Empty segments and trailing slashes. */
    {__LINE__, "POST", P "/openid//terminate", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "GET", P "/openid/", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "POST", P "/", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "POST", P "/openid/" OID "/terminate/", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "POST", "/v3/payscore//permissions", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "POST", "//v3/payscore/permissions", WXP_ROUTE_NOT_FOUND, -1, NULL},
    /* Case, missing /v3, no leading slash, nothing. */
    {__LINE__, "POST", "/V3/payscore/permissions", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "POST", "/payscore/permissions", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "POST", "v3/payscore/permissions", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "POST", "", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "POST", "/", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "GET", P "/openid", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "GET", P "/unknown/x", WXP_ROUTE_NOT_FOUND, -1, NULL},
    {__LINE__, "POST", P "/openid/" OID "/terminate/x", WXP_ROUTE_NOT_FOUND, -1, NULL},
};

static void test_op_route_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(ROUTE_ROWS); i++) {
        const struct route_row *row = &ROUTE_ROWS[i];
        struct wxp_route r;
        enum wxp_route_result got = wxp_op_route(wxp_str_c(row->method), wxp_str_c(row->path), &r);

        if (got != row->want) {
            fail_msg("row at line %d: result %d, want %d", row->line, got, row->want);
        }
        if (row->op < 0) {
            if (r.op != NULL) {
                fail_msg("row at line %d: an operation on a 404", row->line);
            }
            continue;
        }
        if (r.op != &WXP_OPS[row->op]) {
            fail_msg("row at line %d: routed to %s", row->line, r.op ? r.op->name : "nothing");
        }
        if (row->seg == NULL ? r.nseg != 0
                             : r.nseg != 1 || !wxp_str_eq(r.seg[0], wxp_str_c(row->seg))) {
            fail_msg("row at line %d: segments wrong (%zu)", row->line, r.nseg);
        }
    }
}

/* Literal segments win over variables, whatever the table order; the method is chosen among the
 * operations of the winning template (so a literal GET-only path answers 405 to a POST even when
 * a variable template would take the POST). */
static void test_op_route_literal_beats_variable(void **state)
{
    static const struct wxp_op T[] = {
        {.name = "var-post", .method = "POST", .path = "/v3/a/{x}/c"},
        {.name = "var-get", .method = "GET", .path = "/v3/a/{x}/{y}"},
        {.name = "lit-get", .method = "GET", .path = "/v3/a/b/c"},
        {.name = "lit-x", .method = "GET", .path = "/v3/a/{x}/d"},
    };
    struct wxp_route r;

    (void)state;
    assert_int_equal(wxp_op_route_in(T, NELEM(T), wxp_str_c("GET"), wxp_str_c("/v3/a/b/c"), &r),
                     WXP_ROUTE_OK);
    assert_string_equal(r.op->name, "lit-get");
    assert_int_equal(r.nseg, 0);
    assert_int_equal(wxp_op_route_in(T, NELEM(T), wxp_str_c("POST"), wxp_str_c("/v3/a/b/c"), &r),
                     WXP_ROUTE_METHOD);
    assert_string_equal(r.op->name, "lit-get");
    assert_int_equal(wxp_op_route_in(T, NELEM(T), wxp_str_c("POST"), wxp_str_c("/v3/a/z/c"), &r),
                     WXP_ROUTE_OK);
    assert_string_equal(r.op->name, "var-post");
    assert_int_equal(r.nseg, 1);
    assert_true(wxp_str_eq(r.seg[0], wxp_str_c("z")));
    /* /v3/a/{x}/c beats /v3/a/{x}/{y} at the fourth segment. */
    assert_int_equal(wxp_op_route_in(T, NELEM(T), wxp_str_c("GET"), wxp_str_c("/v3/a/z/c"), &r),
                     WXP_ROUTE_METHOD);
    assert_string_equal(r.op->name, "var-post");
    assert_int_equal(wxp_op_route_in(T, NELEM(T), wxp_str_c("GET"), wxp_str_c("/v3/a/z/q"), &r),
                     WXP_ROUTE_OK);
    assert_string_equal(r.op->name, "var-get");
    assert_int_equal(r.nseg, 2);
    assert_true(wxp_str_eq(r.seg[1], wxp_str_c("q")));
    assert_int_equal(wxp_op_route_in(T, NELEM(T), wxp_str_c("GET"), wxp_str_c("/v3/a/b/d"), &r),
                     WXP_ROUTE_OK);
    assert_string_equal(r.op->name, "lit-x");
}

/* ---- check_request --------------------------------------------------------------------------- */

struct check_row {
    int line;
    int op;
    const char *path;
    const char *query; /* NULL: no '?' */
    const char *body;  /* NULL: none */
    enum wxp_code code;
    const char *pointer; /* issue->pointer and err->field */
    const char *msg;     /* exact err->msg; NULL: not compared */
    long long value;     /* issue->value; -1: none */
};

#define QBO_PATH P "/openid/" OID
#define QBC_PATH P "/authorization-code/c1"
#define TBC_PATH P "/authorization-code/c1/terminate"
#define TBO_PATH P "/openid/" OID "/terminate"
#define X33 "123456789012345678901234567890123"
#define APPLY_BODY(code)                                                                           \
    "{\"service_id\":\"" SVC "\",\"appid\":\"" APP "\",\"authorization_code\":" code "}"

static const struct check_row CHECK_ROWS[] = {
    /* Success, in both query orders, with unknown parameters ignored and '+' as a space. */
    {__LINE__, QBO, QBO_PATH, "appid=" APP "&service_id=" SVC, NULL, WXP_OK, NULL, NULL, -1},
    {__LINE__, QBO, QBO_PATH, "service_id=" SVC "&appid=" APP, NULL, WXP_OK, NULL, NULL, -1},
    {__LINE__, QBO, QBO_PATH, "x=1&service_id=" SVC "&&appid=" APP "&y", NULL, WXP_OK, NULL, NULL,
     -1},
    {__LINE__, QBC, QBC_PATH, "service_id=" SVC, NULL, WXP_OK, NULL, NULL, -1},
    /* A GET's body is not a parameter. */
    {__LINE__, QBC, QBC_PATH, "service_id=" SVC, "not json", WXP_OK, NULL, NULL, -1},
    {__LINE__, APPLY, P, NULL, APPLY_BODY("\"a|b*c_d-9\""), WXP_OK, NULL, NULL, -1},
    /* A query on a POST without query rows is ignored. */
    {__LINE__, TBC, TBC_PATH, "service_id=zzz",
     "{\"service_id\":\"" SVC "\",\"reason\":\"用户申请\"}", WXP_OK, NULL, NULL, -1},
    {__LINE__, TBO, TBO_PATH, NULL,
     "{\"service_id\":\"" SVC "\",\"appid\":\"" APP "\",\"reason\":\"r\"}", WXP_OK, NULL, NULL, -1},
    /* The certificate list: algorithm_type optional, at most 8 bytes, given once. */
    {__LINE__, CERTS, "/v3/certificates", NULL, NULL, WXP_OK, NULL, NULL, -1},
    {__LINE__, CERTS, "/v3/certificates", "algorithm_type=RSA", NULL, WXP_OK, NULL, NULL, -1},
    {__LINE__, CERTS, "/v3/certificates", "algorithm_type=", NULL, WXP_E_PARAM_TOO_SHORT,
     "/query/algorithm_type", NULL, 0},
    {__LINE__, CERTS, "/v3/certificates", "algorithm_type=RSARSARSA", NULL, WXP_E_PARAM_TOO_LONG,
     "/query/algorithm_type", NULL, 9},
    {__LINE__, CERTS, "/v3/certificates", "algorithm_type=RSA&algorithm_type=SM2", NULL,
     WXP_E_PARAM_DUPLICATE, "/query/algorithm_type", NULL, -1},

    /* Path: bad percent-encoding, lengths, charset, 4-byte characters. */
    {__LINE__, TBO, P "/openid/a%zz/terminate", NULL, "{}", WXP_E_PARAM_CHARSET,
     "/uri_template/openid",
     "输入源“/uri_template/openid”映射到值字段“用户标识”字符串规则校验失败，百分号编码无效", -1},
    {__LINE__, QBC, P "/authorization-code/a%2", "service_id=1", NULL, WXP_E_PARAM_CHARSET,
     "/uri_template/authorization_code",
     "输入源“/uri_template/authorization_code”映射到值字段“授权协议号”字符串规则校验失败，"
     "百分号编码无效",
     -1},
    {__LINE__, QBC, P "/authorization-code/a%2Fb", "service_id=1", NULL, WXP_E_PARAM_CHARSET,
     "/uri_template/authorization_code",
     "输入源“/uri_template/authorization_code”映射到值字段“授权协议号”字符串规则校验失败，"
     "只能由数字、大小写字母或_-|*组成",
     -1},
    /* '+' in a path is a plus, not a space: not in the code's charset either way. */
    {__LINE__, QBC, P "/authorization-code/a+b", "service_id=1", NULL, WXP_E_PARAM_CHARSET,
     "/uri_template/authorization_code", NULL, -1},
    {__LINE__, QBC, P "/authorization-code/" X33, "service_id=1", NULL, WXP_E_PARAM_TOO_LONG,
     "/uri_template/authorization_code",
     "输入源“/uri_template/authorization_code”映射到值字段“授权协议号”字符串规则校验失败，"
     "字节数 33，大于最大值 32",
     33},
    {__LINE__, QBO, P "/openid/%F0%9F%98%80", "appid=1&service_id=1", NULL, WXP_E_PARAM_CHARSET,
     "/uri_template/openid",
     "输入源“/uri_template/openid”映射到值字段“用户标识”字符串规则校验失败，含有不支持的字符"
     "（四字节UTF-8字符或控制字符）",
     -1},
    {__LINE__, QBO, P "/openid/a%00b", "appid=1&service_id=1", NULL, WXP_E_PARAM_CHARSET,
     "/uri_template/openid", NULL, -1},
    /* The path is checked before the query. */
    {__LINE__, QBO, P "/openid/a%zz", NULL, NULL, WXP_E_PARAM_CHARSET, "/uri_template/openid", NULL,
     -1},

    /* Query: missing (in table order: appid first), repeated, bad %, lengths, a second '?'. */
    {__LINE__, QBO, QBO_PATH, NULL, NULL, WXP_E_PARAM_MISSING, "/query/appid",
     "/query/appid 映射到字段“公众账号ID”必填性规则校验失败，此字段为必填项", -1},
    {__LINE__, QBO, QBO_PATH, "", NULL, WXP_E_PARAM_MISSING, "/query/appid", NULL, -1},
    {__LINE__, QBO, QBO_PATH, "appid=" APP, NULL, WXP_E_PARAM_MISSING, "/query/service_id",
     "/query/service_id 映射到字段“服务ID”必填性规则校验失败，此字段为必填项", -1},
    {__LINE__, QBO, QBO_PATH, "service_id=" SVC "?appid=" APP, NULL, WXP_E_PARAM_MISSING,
     "/query/appid", NULL, -1},
    /* appid is checked first: it swallowed the rest of the query. */
    {__LINE__, QBO, QBO_PATH, "appid=" APP "?service_id=" SVC, NULL, WXP_E_PARAM_TOO_LONG,
     "/query/appid", NULL, 61},
    {__LINE__, QBO, QBO_PATH, "appid=wx?service_id=5", NULL, WXP_E_PARAM_MISSING,
     "/query/service_id", NULL, -1},
    {__LINE__, QBO, QBO_PATH, "appid=" APP "&service_id=1&service_id=1", NULL,
     WXP_E_PARAM_DUPLICATE, "/query/service_id",
     "输入源“/query/service_id”映射到值字段“服务ID”规则校验失败，参数重复出现", -1},
    /* A name is compared decoded. */
    {__LINE__, QBO, QBO_PATH, "appid=" APP "&service_id=1&service%5Fid=1", NULL,
     WXP_E_PARAM_DUPLICATE, "/query/service_id", NULL, -1},
    {__LINE__, QBO, QBO_PATH, "appid=" APP "&service_id=%G1", NULL, WXP_E_PARAM_CHARSET,
     "/query/service_id",
     "输入源“/query/service_id”映射到值字段“服务ID”字符串规则校验失败，百分号编码无效", -1},
    {__LINE__, QBO, QBO_PATH, "appid=" APP "&service_id=" X33, NULL, WXP_E_PARAM_TOO_LONG,
     "/query/service_id",
     "输入源“/query/service_id”映射到值字段“服务ID”字符串规则校验失败，字节数 33，大于最大值 32",
     33},
    {__LINE__, QBO, QBO_PATH, "appid=&service_id=1", NULL, WXP_E_PARAM_TOO_SHORT, "/query/appid",
     "输入源“/query/appid”映射到值字段“公众账号ID”字符串规则校验失败，字节数 0，小于最小值 1", 0},
    {__LINE__, QBO, QBO_PATH, "appid&service_id=1", NULL, WXP_E_PARAM_TOO_SHORT, "/query/appid",
     NULL, 0},
    /* The first of a repeated pair is not checked before the repetition is seen. */
    {__LINE__, QBC, QBC_PATH, "service_id=" X33 "&service_id=1", NULL, WXP_E_PARAM_DUPLICATE,
     "/query/service_id", NULL, -1},
    {__LINE__, QBC, QBC_PATH, "service_id=%F0%9F%98%80", NULL, WXP_E_PARAM_CHARSET,
     "/query/service_id", NULL, -1},
    {__LINE__, QBC, QBC_PATH, "service_id=%C3%28", NULL, WXP_E_UTF8, "/query/service_id",
     "输入源“/query/service_id”映射到值字段“服务ID”字符串规则校验失败，不是合法的UTF-8编码", -1},
    /* The query is checked before the body. */
    {__LINE__, QBC, QBC_PATH, "service_id=" X33, "{", WXP_E_PARAM_TOO_LONG, "/query/service_id",
     NULL, 33},

    /* Body. */
    {__LINE__, APPLY, P, NULL, "{\"service_id\":\"" SVC "\",\"appid\":\"" APP "\"}",
     WXP_E_PARAM_MISSING, "/body/authorization_code",
     "/body/authorization_code 映射到字段“授权协议号”必填性规则校验失败，此字段为必填项", -1},
    {__LINE__, APPLY, P, NULL, APPLY_BODY("\"a b\""), WXP_E_PARAM_CHARSET,
     "/body/authorization_code",
     "输入源“/body/authorization_code”映射到值字段“授权协议号”字符串规则校验失败，"
     "只能由数字、大小写字母或_-|*组成",
     -1},
    {__LINE__, APPLY, P, NULL, APPLY_BODY("\"中\""), WXP_E_PARAM_CHARSET,
     "/body/authorization_code", NULL, -1},
    {__LINE__, APPLY, P, NULL, APPLY_BODY("\"" X33 "\""), WXP_E_PARAM_TOO_LONG,
     "/body/authorization_code", NULL, 33},
    {__LINE__, APPLY, P, NULL, APPLY_BODY("\"\""), WXP_E_PARAM_TOO_SHORT,
     "/body/authorization_code", NULL, 0},
    {__LINE__, APPLY, P, NULL, APPLY_BODY("1"), WXP_E_PARAM_TYPE, "/body/authorization_code", NULL,
     -1},
    {__LINE__, APPLY, P, NULL,
     "{\"service_id\":\"" SVC "\",\"appid\":\"" APP "\",\"authorization_code\":\"c\","
     "\"notify_url\":\"\"}",
     WXP_E_PARAM_TOO_SHORT, "/body/notify_url", NULL, 0},
    {__LINE__, APPLY, P, NULL, "", WXP_E_JSON_SYNTAX, "/body", NULL, -1},
    {__LINE__, APPLY, P, NULL, NULL, WXP_E_JSON_SYNTAX, "/body", NULL, -1},
    {__LINE__, TBC, TBC_PATH, NULL, "{\"service_id\":\"" SVC "\"}", WXP_E_PARAM_MISSING,
     "/body/reason", "/body/reason 映射到字段“撤销原因”必填性规则校验失败，此字段为必填项", -1},
    {__LINE__, TBC, TBC_PATH, NULL,
     "{\"service_id\":\"" SVC "\",\"reason\":\"一二三四五六七八九十一二三四五六七八九十一二三四五"
     "六七八九十一二三四五六七八九十一二三四五六七八九十一\"}",
     WXP_E_PARAM_TOO_LONG, "/body/reason",
     "输入源“/body/reason”映射到值字段“撤销原因”字符串规则校验失败，字符数 51，大于最大值 50", 51},
    /* The path is checked before the body. */
    {__LINE__, TBC, P "/authorization-code/a%20b/terminate", NULL, "{", WXP_E_PARAM_CHARSET,
     "/uri_template/authorization_code", NULL, -1},
};

static void check_one(const struct check_row *row, struct wxp_values *v)
{
    struct wxp_route r;
    struct wxp_param_issue issue;
    struct wxp_err err;
    enum wxp_code rc;
    struct wxp_str q = row->query == NULL ? (struct wxp_str){NULL, 0} : wxp_str_c(row->query);
    struct wxp_str body = row->body == NULL ? (struct wxp_str){NULL, 0} : wxp_str_c(row->body);
    char *copy = NULL;

    if (wxp_op_route(wxp_str_c(WXP_OPS[row->op].method), wxp_str_c(row->path), &r) !=
            WXP_ROUTE_OK ||
        r.op != &WXP_OPS[row->op]) {
        fail_msg("row at line %d: does not route", row->line);
    }
    /* An exact-size copy of the body without a terminator, so ASan sees any overread. */
    if (body.ptr != NULL && body.len > 0) {
        copy = malloc(body.len);
        assert_non_null(copy);
        memcpy(copy, body.ptr, body.len);
        body.ptr = copy;
    }
    memset(&issue, 0, sizeof issue);
    wxp_err_clear(&err);
    rc = wxp_op_check_request(&r, q, body, v, &issue, &err);
    free(copy);
    if (rc != row->code) {
        fail_msg("row at line %d: %s (%s), want %s", row->line, wxp_code_name(rc), err.msg,
                 wxp_code_name(row->code));
    }
    if (rc == WXP_OK) {
        return;
    }
    if (strcmp(issue.pointer, row->pointer) != 0 || strcmp(err.field, row->pointer) != 0) {
        fail_msg("row at line %d: pointer %s / field %s, want %s", row->line, issue.pointer,
                 err.field, row->pointer);
    }
    if (issue.location == NULL ||
        strncmp(row->pointer + 1, issue.location, strlen(issue.location)) != 0) {
        fail_msg("row at line %d: location %s", row->line, issue.location);
    }
    if (row->msg != NULL && strcmp(err.msg, row->msg) != 0) {
        fail_msg("row at line %d: message %s", row->line, err.msg);
    }
    if (row->value >= 0 ? !issue.has_value || issue.value != row->value : issue.has_value) {
        fail_msg("row at line %d: detail value %lld", row->line, issue.value);
    }
}

static void test_op_check_request_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(CHECK_ROWS); i++) {
        struct wxp_values v;
        check_one(&CHECK_ROWS[i], &v);
        if (CHECK_ROWS[i].code == WXP_OK) {
            assert_ptr_equal(v.schema, WXP_OPS[CHECK_ROWS[i].op].params);
        } else {
            for (size_t k = 0; k < WXP_SCHEMA_MAX_FIELDS; k++) {
                assert_null(v.val[k]);
            }
        }
        wxp_values_free(&v);
        /* Without `out` and `issue`. */
        struct wxp_route r;
        struct wxp_str q = wxp_str_c(CHECK_ROWS[i].query);
        struct wxp_str b = wxp_str_c(CHECK_ROWS[i].body);
        assert_int_equal(wxp_op_route(wxp_str_c(WXP_OPS[CHECK_ROWS[i].op].method),
                                      wxp_str_c(CHECK_ROWS[i].path), &r),
                         WXP_ROUTE_OK);
        assert_int_equal(wxp_op_check_request(&r, q, b, NULL, NULL, NULL), CHECK_ROWS[i].code);
    }
}

static void test_op_check_request_values(void **state)
{
    struct wxp_route r;
    struct wxp_values v;
    struct wxp_err err;

    (void)state;
    assert_int_equal(wxp_op_route(wxp_str_c("GET"), wxp_str_c(P "/openid/o%2B1+2"), &r),
                     WXP_ROUTE_OK);
    assert_int_equal(wxp_op_check_request(&r, wxp_str_c("service_id=a+b%2Bc&appid=%E4%B8%AD"),
                                          (struct wxp_str){NULL, 0}, &v, NULL, &err),
                     WXP_OK);
    /* The path keeps '+'; the query turns '+' into a space. */
    assert_string_equal(v.val[0], "o+1+2");
    assert_string_equal(wxp_values_get(&v, "openid").ptr, "o+1+2");
    assert_string_equal(wxp_values_get(&v, "appid").ptr, "\xE4\xB8\xAD");
    assert_string_equal(wxp_values_get(&v, "service_id").ptr, "a b+c");
    assert_int_equal(wxp_values_get(&v, "service_id").len, 5);
    wxp_values_free(&v);

    assert_int_equal(
        wxp_op_route(wxp_str_c("POST"), wxp_str_c(P "/authorization-code/a%7Cb/terminate"), &r),
        WXP_ROUTE_OK);
    assert_int_equal(wxp_op_check_request(&r, (struct wxp_str){NULL, 0},
                                          wxp_str_c("{\"reason\":\"r\",\"service_id\":\"s\"}"), &v,
                                          NULL, &err),
                     WXP_OK);
    assert_string_equal(wxp_values_get(&v, "authorization_code").ptr, "a|b");
    assert_string_equal(wxp_values_get(&v, "service_id").ptr, "s");
    assert_string_equal(wxp_values_get(&v, "reason").ptr, "r");
    wxp_values_free(&v);

    /* Not routed. */
    memset(&r, 0, sizeof r);
    assert_int_equal(wxp_op_check_request(&r, (struct wxp_str){NULL, 0}, (struct wxp_str){NULL, 0},
                                          &v, NULL, &err),
                     WXP_E_INVALID_ARG);
}

/* More query pairs than WXP_QUERY_PAIRS_MAX are refused, not cut. */
static void test_op_check_request_too_many_pairs(void **state)
{
    char q[512] = "appid=a&service_id=b";
    size_t len = strlen(q);
    struct wxp_route r;
    struct wxp_param_issue issue;
    struct wxp_err err;

    (void)state;
    for (int i = 0; i < 40; i++) {
        len += (size_t)snprintf(q + len, sizeof q - len, "&x");
    }
    assert_int_equal(wxp_op_route(wxp_str_c("GET"), wxp_str_c(QBO_PATH), &r), WXP_ROUTE_OK);
    assert_int_equal(
        wxp_op_check_request(&r, wxp_str_c(q), (struct wxp_str){NULL, 0}, NULL, &issue, &err),
        WXP_E_TOO_LARGE);
    assert_string_equal(issue.location, "query");
    assert_string_equal(issue.pointer, "/query");
}

/* A raw segment of 4096 bytes or more is refused as bad encoding, as the mock always did. */
static void test_op_check_request_long_segment(void **state)
{
    size_t n = 4096;
    char *path = malloc(sizeof(P "/openid/") + n);
    struct wxp_route r;
    struct wxp_err err;

    (void)state;
    assert_non_null(path);
    memcpy(path, P "/openid/", sizeof(P "/openid/") - 1);
    memset(path + sizeof(P "/openid/") - 1, 'a', n);
    path[sizeof(P "/openid/") - 1 + n] = '\0';
    assert_int_equal(wxp_op_route(wxp_str_c("GET"), wxp_str_c(path), &r), WXP_ROUTE_OK);
    assert_int_equal(wxp_op_check_request(&r, wxp_str_c("appid=a&service_id=b"),
                                          (struct wxp_str){NULL, 0}, NULL, NULL, &err),
                     WXP_E_PARAM_CHARSET);
    path[strlen(path) - 1] = '\0'; /* 4095 bytes: decoded, then too long */
    assert_int_equal(wxp_op_route(wxp_str_c("GET"), wxp_str_c(path), &r), WXP_ROUTE_OK);
    assert_int_equal(wxp_op_check_request(&r, wxp_str_c("appid=a&service_id=b"),
                                          (struct wxp_str){NULL, 0}, NULL, NULL, &err),
                     WXP_E_PARAM_TOO_LONG);
    free(path);
}

/* terminate-by-openid through the table answers exactly as the mock's hand-written sequence did
 * (decode the segment with a 4096-byte cap, check it, then the body): same code, field, message
 * and detail, so its answers stay byte for byte the same. */
static enum wxp_code legacy_terminate(struct wxp_str seg, struct wxp_str body,
                                      struct wxp_param_issue *issue, struct wxp_err *err)
{
    static char openid[4096];
    size_t n = 0;
    const struct wxp_schema *s = &WXP_SCHEMA_TERMINATE_BY_OPENID;
    enum wxp_code rc;

    if (seg.len >= sizeof openid || !wxp_pct_decode(seg, false, openid, sizeof openid, &n)) {
        issue->location = "uri_template";
        snprintf(issue->pointer, sizeof issue->pointer, "/uri_template/openid");
        issue->value = 0;
        issue->has_value = false;
        return wxp_err_set(err, WXP_E_PARAM_CHARSET, "/uri_template/openid",
                           "输入源“/uri_template/openid”映射到值字段“用户标识”字符串规则校验失败，"
                           "百分号编码无效");
    }
    rc = wxp_schema_check_value(wxp_schema_field(s, "openid", WXP_LOC_URI_TEMPLATE), openid, n,
                                issue, err);
    if (rc != WXP_OK) {
        return rc;
    }
    return wxp_schema_check_body(s, body.ptr, body.len, NULL, issue, err);
}

static void test_op_terminate_by_openid_unchanged(void **state)
{
    static const struct {
        int line;
        const char *seg;
        const char *body;
    } ROWS[] = {
        {__LINE__, OID, "{\"service_id\":\"" SVC "\",\"appid\":\"" APP "\",\"reason\":\"r\"}"},
        {__LINE__, "a%zz", "{}"},
        {__LINE__, "a%2", "{}"},
        {__LINE__, "%F0%9F%98%80", "{}"},
        {__LINE__, "a%00", "{}"},
        {__LINE__, "a%C3%28", "{}"},
        {__LINE__, "a+b", "{\"service_id\":\"" SVC "\",\"appid\":\"" APP "\",\"reason\":\"r\"}"},
        {__LINE__, OID, ""},
        {__LINE__, OID, "[]"},
        {__LINE__, OID, "{\"service_id\":\"" SVC "\"}"},
        {__LINE__, OID, "{\"service_id\":1,\"appid\":\"a\",\"reason\":\"r\"}"},
        {__LINE__, OID, "{\"service_id\":\"s\",\"appid\":\"\",\"reason\":\"r\"}"},
        {__LINE__, OID, "{\"service_id\":\"s\",\"appid\":\"a\",\"reason\":\"r\",\"reason\":\"r\"}"},
        {__LINE__, OID, "{\"service_id\":\"s\",\"appid\":\"a\",\"reason\":null}"},
    };
    char longseg[4200];

    (void)state;
    for (size_t i = 0; i <= NELEM(ROWS); i++) {
        const char *seg = i < NELEM(ROWS) ? ROWS[i].seg : longseg;
        const char *body = i < NELEM(ROWS) ? ROWS[i].body : "{}";
        int line = i < NELEM(ROWS) ? ROWS[i].line : __LINE__;
        char path[4400];
        struct wxp_route r;
        struct wxp_param_issue a, b;
        struct wxp_err ea, eb;
        enum wxp_code ra, rb;

        if (i == NELEM(ROWS)) {
            memset(longseg, 'o', 4096);
            longseg[4096] = '\0';
        }
        snprintf(path, sizeof path, P "/openid/%s/terminate", seg);
        assert_int_equal(wxp_op_route(wxp_str_c("POST"), wxp_str_c(path), &r), WXP_ROUTE_OK);
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        wxp_err_clear(&ea);
        wxp_err_clear(&eb);
        ra = wxp_op_check_request(&r, (struct wxp_str){NULL, 0}, wxp_str_c(body), NULL, &a, &ea);
        rb = legacy_terminate(wxp_str_c(seg), wxp_str_c(body), &b, &eb);
        if (ra != rb || strcmp(ea.msg, eb.msg) != 0 || strcmp(ea.field, eb.field) != 0) {
            fail_msg("row at line %d: %s \"%s\" vs %s \"%s\"", line, wxp_code_name(ra), ea.msg,
                     wxp_code_name(rb), eb.msg);
        }
        if (ra != WXP_OK &&
            (strcmp(a.location, b.location) != 0 || strcmp(a.pointer, b.pointer) != 0 ||
             a.has_value != b.has_value || a.value != b.value)) {
            fail_msg("row at line %d: detail differs", line);
        }
    }
}

/* ---- building requests ----------------------------------------------------------------------- */

struct build_row {
    int line;
    int op;
    const char *vals[5];
    enum wxp_code code;
    const char *target;
    const char *body;
};

static const struct build_row BUILD_ROWS[] = {
    {__LINE__,
     APPLY,
     {SVC, APP, "c1", NULL},
     WXP_OK,
     P,
     "{\"service_id\":\"" SVC "\",\"appid\":\"" APP "\",\"authorization_code\":\"c1\"}"},
    {__LINE__,
     APPLY,
     {SVC, APP, "c1", "https://m.example/n?a=1"},
     WXP_OK,
     P,
     "{\"service_id\":\"" SVC "\",\"appid\":\"" APP "\",\"authorization_code\":\"c1\","
     "\"notify_url\":\"https://m.example/n?a=1\"}"},
    {__LINE__, QBC, {"a|b*c", SVC}, WXP_OK, P "/authorization-code/a%7Cb%2Ac?service_id=" SVC, ""},
    {__LINE__, CERTS, {NULL}, WXP_OK, "/v3/certificates", ""},
    {__LINE__, CERTS, {"RSA"}, WXP_OK, "/v3/certificates?algorithm_type=RSA", ""},
    /* Query order = table order (appid first), whatever the caller's. */
    {__LINE__,
     QBO,
     {"o 中", APP, "s 1"},
     WXP_OK,
     P "/openid/o%20%E4%B8%AD?appid=" APP "&service_id=s%201",
     ""},
    {__LINE__,
     QBO,
     {OID, "a&b=c", "?x"},
     WXP_OK,
     P "/openid/" OID "?appid=a%26b%3Dc&service_id=%3Fx",
     ""},
    /* An optional query row absent: no '?' (not one of ours, checked with a missing value). */
    {__LINE__,
     TBC,
     {"c1", SVC, "用户 申请"},
     WXP_OK,
     P "/authorization-code/c1/terminate",
     "{\"service_id\":\"" SVC "\",\"reason\":\"用户 申请\"}"},
    {__LINE__,
     TBO,
     {"o/1", SVC, APP, "r\"q"},
     WXP_OK,
     P "/openid/o%2F1/terminate",
     "{\"service_id\":\"" SVC "\",\"appid\":\"" APP "\",\"reason\":\"r\\\"q\"}"},
    {__LINE__, TBO, {NULL, SVC, APP, "r"}, WXP_E_PARAM_MISSING, NULL, NULL},
};

static void test_op_build_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(BUILD_ROWS); i++) {
        const struct build_row *row = &BUILD_ROWS[i];
        const struct wxp_op *op = &WXP_OPS[row->op];
        struct wxp_buf t, b;
        struct wxp_err err;
        enum wxp_code rc;

        wxp_buf_init(&t, 4096);
        wxp_buf_init(&b, 4096);
        rc = wxp_op_target(op, row->vals, &t, &err);
        if (rc != row->code) {
            fail_msg("row at line %d: target %s (%s)", row->line, wxp_code_name(rc), err.msg);
        }
        if (rc != WXP_OK) {
            assert_string_equal(err.field, "/uri_template/openid");
            wxp_buf_free(&t);
            wxp_buf_free(&b);
            continue;
        }
        if (strcmp(wxp_buf_cstr(&t), row->target) != 0) {
            fail_msg("row at line %d: target %s", row->line, wxp_buf_cstr(&t));
        }
        rc = wxp_op_body(op, row->vals, &b, &err);
        if (rc != WXP_OK || strcmp(wxp_buf_cstr(&b), row->body) != 0) {
            fail_msg("row at line %d: body %s", row->line, wxp_buf_cstr(&b));
        }
        /* Round trip: what the client builds, the server accepts with the same values. */
        {
            const char *tgt = wxp_buf_cstr(&t);
            const char *qm = strchr(tgt, '?');
            struct wxp_str path = {tgt, qm != NULL ? (size_t)(qm - tgt) : strlen(tgt)};
            struct wxp_str q = qm != NULL ? wxp_str_c(qm + 1) : (struct wxp_str){NULL, 0};
            struct wxp_route r;
            struct wxp_values v;

            if (wxp_op_route(wxp_str_c(op->method), path, &r) != WXP_ROUTE_OK || r.op != op) {
                fail_msg("row at line %d: built target does not route", row->line);
            }
            if (wxp_op_check_request(&r, q, (struct wxp_str){b.ptr, b.len}, &v, NULL, &err) !=
                WXP_OK) {
                fail_msg("row at line %d: built request refused: %s", row->line, err.msg);
            }
            for (size_t k = 0; k < op->params->count; k++) {
                if ((row->vals[k] == NULL) != (v.val[k] == NULL) ||
                    (row->vals[k] != NULL && strcmp(row->vals[k], v.val[k]) != 0)) {
                    fail_msg("row at line %d: value %zu differs", row->line, k);
                }
            }
            wxp_values_free(&v);
        }
        wxp_buf_free(&t);
        wxp_buf_free(&b);
    }
}

static void test_op_build_caps(void **state)
{
    const char *vals[] = {OID, APP, SVC};
    struct wxp_buf t;
    struct wxp_err err;

    (void)state;
    wxp_buf_init(&t, 40);
    assert_int_equal(wxp_op_target(&WXP_OPS[QBO], vals, &t, &err), WXP_E_TOO_LARGE);
    assert_int_equal(err.code, WXP_E_TOO_LARGE);
    wxp_buf_free(&t);
    wxp_buf_init(&t, 40);
    assert_int_equal(
        wxp_op_body(&WXP_OPS[TBO], (const char *const[]){OID, SVC, APP, "r"}, &t, &err),
        WXP_E_TOO_LARGE);
    wxp_buf_free(&t);
}

struct values_row {
    int line;
    int op;
    const char *vals[5];
    enum wxp_code code;
    const char *field;
};

static const struct values_row VALUES_ROWS[] = {
    {__LINE__, APPLY, {SVC, APP, "c1", NULL}, WXP_OK, ""},
    {__LINE__, APPLY, {SVC, APP, NULL, NULL}, WXP_E_PARAM_MISSING, "/body/authorization_code"},
    {__LINE__, APPLY, {SVC, APP, "c 1", NULL}, WXP_E_PARAM_CHARSET, "/body/authorization_code"},
    {__LINE__, APPLY, {SVC, APP, "c1", ""}, WXP_E_PARAM_TOO_SHORT, "/body/notify_url"},
    {__LINE__, QBO, {OID, NULL, SVC}, WXP_E_PARAM_MISSING, "/query/appid"},
    {__LINE__, QBO, {"", APP, SVC}, WXP_E_PARAM_TOO_SHORT, "/uri_template/openid"},
    {__LINE__, QBC, {"c1", "\xC3\x28"}, WXP_E_UTF8, "/query/service_id"},
    {__LINE__, TBC, {"c1", SVC, "\xF0\x9F\x98\x80"}, WXP_E_PARAM_CHARSET, "/body/reason"},
};

static void test_op_check_values_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(VALUES_ROWS); i++) {
        const struct values_row *row = &VALUES_ROWS[i];
        struct wxp_err err;
        enum wxp_code rc;

        wxp_err_clear(&err);
        rc = wxp_op_check_values(&WXP_OPS[row->op], row->vals, &err);
        if (rc != row->code || strcmp(err.field, row->field) != 0) {
            fail_msg("row at line %d: %s %s", row->line, wxp_code_name(rc), err.field);
        }
    }
}

/* ---- the success body ------------------------------------------------------------------------ */

static void test_op_response_round_trip(void **state)
{
    const char *apply[] = {"TOKEN-1"};
    const char *entity[] = {SVC,          APP,           "1900000109", NULL, "c1",
                            "UNBINDUSER", "https://n/x", NULL,         NULL};
    struct wxp_buf b;
    struct wxp_values v;
    struct wxp_err err;

    (void)state;
    wxp_buf_init(&b, 4096);
    assert_int_equal(wxp_op_response_build(&WXP_OPS[APPLY], apply, &b, &err), WXP_OK);
    assert_string_equal(wxp_buf_cstr(&b), "{\"apply_permissions_token\":\"TOKEN-1\"}");
    assert_int_equal(wxp_op_response_parse(&WXP_OPS[APPLY], b.ptr, b.len, &v, &err), WXP_OK);
    assert_string_equal(wxp_values_get(&v, "apply_permissions_token").ptr, "TOKEN-1");
    wxp_values_free(&v);

    wxp_buf_reset(&b);
    assert_int_equal(wxp_op_response_build(&WXP_OPS[QBC], entity, &b, &err), WXP_OK);
    assert_string_equal(wxp_buf_cstr(&b),
                        "{\"service_id\":\"" SVC "\",\"appid\":\"" APP
                        "\",\"mchid\":\"1900000109\","
                        "\"authorization_code\":\"c1\",\"authorization_state\":\"UNBINDUSER\","
                        "\"notify_url\":\"https://n/x\"}");
    assert_int_equal(wxp_op_response_parse(&WXP_OPS[QBC], b.ptr, b.len, &v, &err), WXP_OK);
    assert_string_equal(wxp_values_get(&v, "authorization_state").ptr, "UNBINDUSER");
    assert_null(wxp_values_get(&v, "openid").ptr);
    assert_null(wxp_values_get(&v, "cancel_authorization_time").ptr);
    wxp_values_free(&v);

    /* A required row without a value; an operation without a body. */
    entity[5] = NULL;
    assert_int_equal(wxp_op_response_build(&WXP_OPS[QBC], entity, &b, &err), WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "authorization_state");
    assert_int_equal(wxp_op_response_build(&WXP_OPS[TBO], apply, &b, &err), WXP_E_INVALID_ARG);
    assert_int_equal(wxp_op_response_parse(&WXP_OPS[TBC], "{}", 2, &v, &err), WXP_E_INVALID_ARG);
    wxp_buf_free(&b);
}

struct parse_row {
    int line;
    int op;
    const char *body;
    enum wxp_code code;
};

static const struct parse_row PARSE_ROWS[] = {
    {__LINE__, APPLY, "{\"apply_permissions_token\":\"t\"}", WXP_OK},
    /* Unknown members are ignored; whitespace is fine. */
    {__LINE__, APPLY, " {\"x\":1, \"apply_permissions_token\" : \"t\",\"y\":[null]} ", WXP_OK},
    {__LINE__, APPLY, "", WXP_E_JSON_SYNTAX},
    {__LINE__, APPLY, "{", WXP_E_JSON_SYNTAX},
    {__LINE__, APPLY, "{\"apply_permissions_token\":\"t\"}x", WXP_E_JSON_SYNTAX},
    {__LINE__, APPLY, "[]", WXP_E_JSON_NOT_OBJECT},
    {__LINE__, APPLY, "\"t\"", WXP_E_JSON_NOT_OBJECT},
    {__LINE__, APPLY, "{}", WXP_E_PARAM_MISSING},
    {__LINE__, APPLY, "{\"apply_permissions_token\":1}", WXP_E_PARAM_TYPE},
    {__LINE__, APPLY, "{\"apply_permissions_token\":null}", WXP_E_PARAM_TYPE},
    {__LINE__, APPLY, "{\"apply_permissions_token\":\"a\",\"apply_permissions_token\":\"b\"}",
     WXP_E_JSON_DUPLICATE_KEY},
    {__LINE__, APPLY, "{\"apply_permissions_token\":\"\xC3\x28\"}", WXP_E_UTF8},
    {__LINE__, QBO,
     "{\"service_id\":\"s\",\"appid\":\"a\",\"mchid\":\"m\",\"openid\":\"o\","
     "\"authorization_code\":\"c\",\"authorization_state\":\"AVAILABLE\","
     "\"authorization_success_time\":\"2026-12-04T10:00:00+08:00\"}",
     WXP_OK},
    {__LINE__, QBO,
     "{\"service_id\":\"s\",\"appid\":\"a\",\"openid\":\"o\",\"authorization_code\":\"c\","
     "\"authorization_state\":\"AVAILABLE\"}",
     WXP_E_PARAM_MISSING},
    {__LINE__, QBO,
     "{\"service_id\":\"s\",\"appid\":\"a\",\"mchid\":\"m\",\"openid\":7,"
     "\"authorization_code\":\"c\",\"authorization_state\":\"AVAILABLE\"}",
     WXP_E_PARAM_TYPE},
};

static void test_op_response_parse_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(PARSE_ROWS); i++) {
        const struct parse_row *row = &PARSE_ROWS[i];
        size_t len = strlen(row->body);
        char *copy = malloc(len ? len : 1);
        struct wxp_values v;
        struct wxp_err err;
        enum wxp_code rc;

        assert_non_null(copy);
        memcpy(copy, row->body, len);
        rc = wxp_op_response_parse(&WXP_OPS[row->op], copy, len, &v, &err);
        free(copy);
        if (rc != row->code) {
            fail_msg("row at line %d: %s (%s)", row->line, wxp_code_name(rc), err.msg);
        }
        if (rc == WXP_OK) {
            assert_ptr_equal(v.schema, WXP_OPS[row->op].response);
        }
        wxp_values_free(&v);
        assert_int_equal(wxp_op_response_parse(&WXP_OPS[row->op], row->body, len, NULL, NULL),
                         row->code);
    }
}

/* Every allocation of check_request and response_parse can fail without a leak. */
static void test_op_failmalloc(void **state)
{
    static const char BODY[] = "{\"service_id\":\"s\",\"reason\":\"r\"}";
    static const char RESP[] = "{\"apply_permissions_token\":\"t\"}";

    (void)state;
    for (long n = 0; n < 32; n++) {
        struct wxp_route r;
        struct wxp_values v;
        enum wxp_code rc1, rc2;

        assert_int_equal(wxp_op_route(wxp_str_c("POST"), wxp_str_c(TBC_PATH), &r), WXP_ROUTE_OK);
        t_fail_countdown = n;
        wxp_mem_set_allocator(&T_FAILING);
        rc1 = wxp_op_check_request(&r, (struct wxp_str){NULL, 0}, wxp_str_c(BODY), &v, NULL, NULL);
        wxp_values_free(&v);
        rc2 = wxp_op_response_parse(&WXP_OPS[APPLY], RESP, sizeof RESP - 1, &v, NULL);
        wxp_values_free(&v);
        wxp_mem_set_allocator(NULL);
        assert_true(rc1 == WXP_OK || rc1 == WXP_E_NOMEM);
        assert_true(rc2 == WXP_OK || rc2 == WXP_E_NOMEM);
        if (rc1 == WXP_OK && rc2 == WXP_OK) {
            break;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_op_table_invariants),
        cmocka_unit_test(test_op_entity_rows),
        cmocka_unit_test(test_op_route_rows),
        cmocka_unit_test(test_op_route_literal_beats_variable),
        cmocka_unit_test(test_op_check_request_rows),
        cmocka_unit_test(test_op_check_request_values),
        cmocka_unit_test(test_op_check_request_too_many_pairs),
        cmocka_unit_test(test_op_check_request_long_segment),
        cmocka_unit_test(test_op_terminate_by_openid_unchanged),
        cmocka_unit_test(test_op_build_rows),
        cmocka_unit_test(test_op_build_caps),
        cmocka_unit_test(test_op_check_values_rows),
        cmocka_unit_test(test_op_response_round_trip),
        cmocka_unit_test(test_op_response_parse_rows),
        cmocka_unit_test(test_op_failmalloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
