/* SPDX-License-Identifier: MIT */
/* op.c: the operation table and what walks it: routing, request checks, request and response
 * building. The rules of each row are in docs/protocol.md (the `doc` anchor of the operation). */
#include "wxp/op.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "op_internal.h"
#include "schema_internal.h"
#include "wxp/envelope.h"
#include "wxp/json.h"
#include "wxp/mem.h"
#include "wxp/query.h"

/* A raw path segment at least this long is not decoded: the mock's historical cap, kept so the
 * terminate-by-openid answers stay the same (docs/protocol.md#percent-encoding). */
#define SEG_MAX 4096
/* The longest query parameter name we compare (names are short ASCII words). */
#define QUERY_NAME_MAX 64

/* rule: authorization_code is made only of digits, letters and _-|* ("只能由数字、大小写字母_-|*
 * 组成"). src: docs/protocol.md#permissions-apply ([D-APPLY2]) */
static const uint8_t AUTH_CODE_CHARS[256] = {
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
    ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['_'] = 1, ['-'] = 1,
    ['|'] = 1, ['*'] = 1,
};
#define AUTH_CODE_DESC "数字、大小写字母或_-|*"

#define ROW(n, l, where, u, lo, hi, req)                                                           \
    {                                                                                              \
        .name = (n), .label = (l), .loc = (where), .unit = (u), .min = (lo), .max = (hi),          \
        .required = (req)                                                                          \
    }
#define CODE_ROW(where)                                                                            \
    {                                                                                              \
        .name = "authorization_code", .label = "授权协议号", .loc = (where),                       \
        .unit = WXP_UNIT_BYTES, .min = 1, .max = 32, .required = true, .charset = AUTH_CODE_CHARS, \
        .charset_desc = AUTH_CODE_DESC                                                             \
    }
#define SCHEMA(n, rows)                                                                            \
    {                                                                                              \
        .name = (n), .fields = (rows), .count = sizeof(rows) / sizeof((rows)[0])                   \
    }

/* rule: apply takes service_id string(32), appid string(32), authorization_code string(32) (its
 * charset), all required, and notify_url string(255) optional, in the body.
 * src: docs/protocol.md#permissions-apply ([D-APPLY2], [D-APPLY]) */
static const struct wxp_field APPLY[] = {
    ROW("service_id", "服务ID", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 32, true),
    ROW("appid", "公众账号ID", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 32, true),
    CODE_ROW(WXP_LOC_BODY),
    ROW("notify_url", "回调通知地址", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 255, false),
};
static const struct wxp_schema APPLY_SCHEMA = SCHEMA("apply", APPLY);

/* rule: apply answers {"apply_permissions_token": string(300)}.
 * src: docs/protocol.md#permissions-apply ([D-APPLY2]) */
static const struct wxp_field APPLY_RESP[] = {
    ROW("apply_permissions_token", "预授权token", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 300, true),
};
static const struct wxp_schema APPLY_RESP_SCHEMA = SCHEMA("apply.response", APPLY_RESP);

/* rule: query by code takes authorization_code in the path and service_id string(32) in the
 * query. src: docs/protocol.md#permissions-query-by-code ([D-GETCODE]) */
static const struct wxp_field QUERY_BY_CODE[] = {
    CODE_ROW(WXP_LOC_URI_TEMPLATE),
    ROW("service_id", "服务ID", WXP_LOC_QUERY, WXP_UNIT_BYTES, 1, 32, true),
};
static const struct wxp_schema QUERY_BY_CODE_SCHEMA = SCHEMA("query-by-code", QUERY_BY_CODE);

/* rule: query by openid takes openid string(128) in the path, appid and service_id string(32) in
 * the query (appid first, as the documented URL writes them).
 * src: docs/protocol.md#permissions-query-by-openid ([JSORG-GETOPENID], [GOPAY-C]) */
static const struct wxp_field QUERY_BY_OPENID[] = {
    ROW("openid", "用户标识", WXP_LOC_URI_TEMPLATE, WXP_UNIT_BYTES, 1, 128, true),
    ROW("appid", "公众账号ID", WXP_LOC_QUERY, WXP_UNIT_BYTES, 1, 32, true),
    ROW("service_id", "服务ID", WXP_LOC_QUERY, WXP_UNIT_BYTES, 1, 32, true),
};
static const struct wxp_schema QUERY_BY_OPENID_SCHEMA = SCHEMA("query-by-openid", QUERY_BY_OPENID);

/* rule: the authorization entity. Always present: service_id, appid, mchid, authorization_state,
 * and authorization_code by code (by openid, only when the authorization came from a
 * pre-authorization); openid once bound; notify_url only by code; the two times optional
 * (RFC 3339). src: docs/protocol.md#permissions-entity ([D-GETCODE], [W-6_1_3], [GOPAY-M]) */
#define ENTITY_HEAD(code_required)                                                                 \
    ROW("service_id", "服务ID", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 32, true),                        \
        ROW("appid", "公众账号ID", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 32, true),                     \
        ROW("mchid", "商户号", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 32, true),                         \
        ROW("openid", "用户标识", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 128, false),                    \
        ROW("authorization_code", "授权协议号", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 32,               \
            code_required),                                                                        \
        ROW("authorization_state", "授权状态", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 16, true)
#define ENTITY_TIMES                                                                               \
    ROW("authorization_success_time", "最近一次授权成功时间", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 64, \
        false),                                                                                    \
        ROW("cancel_authorization_time", "最近一次解除授权时间", WXP_LOC_BODY, WXP_UNIT_BYTES, 1,  \
            64, false)
static const struct wxp_field ENTITY_BY_CODE[] = {
    ENTITY_HEAD(true),
    ROW("notify_url", "回调通知地址", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 255, false),
    ENTITY_TIMES,
};
static const struct wxp_schema ENTITY_BY_CODE_SCHEMA = SCHEMA("entity-by-code", ENTITY_BY_CODE);
static const struct wxp_field ENTITY_BY_OPENID[] = {ENTITY_HEAD(false), ENTITY_TIMES};
static const struct wxp_schema ENTITY_BY_OPENID_SCHEMA =
    SCHEMA("entity-by-openid", ENTITY_BY_OPENID);

/* rule: terminate by code takes authorization_code in the path, service_id string(32) and
 * reason (1..50 characters) in the body. src: docs/protocol.md#permissions-terminate-by-code
 * ([D-TERMCODE-NC], [JSORG-TERMCODE]) */
static const struct wxp_field TERMINATE_BY_CODE[] = {
    CODE_ROW(WXP_LOC_URI_TEMPLATE),
    ROW("service_id", "服务ID", WXP_LOC_BODY, WXP_UNIT_BYTES, 1, 32, true),
    ROW("reason", "撤销原因", WXP_LOC_BODY, WXP_UNIT_CHARS, 1, 50, true),
};
static const struct wxp_schema TERMINATE_BY_CODE_SCHEMA =
    SCHEMA("terminate-by-code", TERMINATE_BY_CODE);

/* rule: the certificate list takes an optional algorithm_type in the query (RSA, SM2 or ALL; RSA
 * when absent). src: docs/protocol.md#platform-certificates ([D-SM-KEY], [SDK-JAVA-DL]) */
static const struct wxp_field CERTIFICATES_LIST[] = {
    ROW("algorithm_type", "证书算法类型", WXP_LOC_QUERY, WXP_UNIT_BYTES, 1, 8, false),
};
static const struct wxp_schema CERTIFICATES_LIST_SCHEMA =
    SCHEMA("certificates-list", CERTIFICATES_LIST);

const struct wxp_op WXP_OPS[WXP_OP_COUNT] = {
    [WXP_OP_PERMISSIONS_APPLY] =
        {
            .id = WXP_OP_PERMISSIONS_APPLY,
            .name = "payscore.permissions.apply",
            .method = "POST",
            .path = "/v3/payscore/permissions",
            .params = &APPLY_SCHEMA,
            .success = 200,
            .response = &APPLY_RESP_SCHEMA,
            .doc = "docs/protocol.md#permissions-apply",
        },
    [WXP_OP_PERMISSIONS_QUERY_BY_CODE] =
        {
            .id = WXP_OP_PERMISSIONS_QUERY_BY_CODE,
            .name = "payscore.permissions.query-by-code",
            .method = "GET",
            .path = "/v3/payscore/permissions/authorization-code/{authorization_code}",
            .params = &QUERY_BY_CODE_SCHEMA,
            .success = 200,
            .response = &ENTITY_BY_CODE_SCHEMA,
            .doc = "docs/protocol.md#permissions-query-by-code",
        },
    [WXP_OP_PERMISSIONS_QUERY_BY_OPENID] =
        {
            .id = WXP_OP_PERMISSIONS_QUERY_BY_OPENID,
            .name = "payscore.permissions.query-by-openid",
            .method = "GET",
            .path = "/v3/payscore/permissions/openid/{openid}",
            .params = &QUERY_BY_OPENID_SCHEMA,
            .success = 200,
            .response = &ENTITY_BY_OPENID_SCHEMA,
            .doc = "docs/protocol.md#permissions-query-by-openid",
        },
    [WXP_OP_PERMISSIONS_TERMINATE_BY_CODE] =
        {
            .id = WXP_OP_PERMISSIONS_TERMINATE_BY_CODE,
            .name = "payscore.permissions.terminate-by-code",
            .method = "POST",
            .path = "/v3/payscore/permissions/authorization-code/{authorization_code}/terminate",
            .params = &TERMINATE_BY_CODE_SCHEMA,
            .success = 204,
            .response = NULL,
            .doc = "docs/protocol.md#permissions-terminate-by-code",
        },
    [WXP_OP_PERMISSIONS_TERMINATE_BY_OPENID] =
        {
            .id = WXP_OP_PERMISSIONS_TERMINATE_BY_OPENID,
            .name = "payscore.permissions.terminate-by-openid",
            .method = "POST",
            .path = "/v3/payscore/permissions/openid/{openid}/terminate",
            .params = &WXP_SCHEMA_TERMINATE_BY_OPENID,
            .success = 204,
            .response = NULL,
            .doc = "docs/protocol.md#terminate-schema",
        },
    /* The 200's body is nested ({"data":[{..., "encrypt_certificate":{...}}]}): no flat response
     * rows; ops.c builds it, docs/protocol.md#platform-certificates describes it. */
    [WXP_OP_PLATFORM_CERTIFICATES_LIST] =
        {
            .id = WXP_OP_PLATFORM_CERTIFICATES_LIST,
            .name = "platform.certificates.list",
            .method = "GET",
            .path = "/v3/certificates",
            .params = &CERTIFICATES_LIST_SCHEMA,
            .success = 200,
            .response = NULL,
            .doc = "docs/protocol.md#platform-certificates",
        },
};

const struct wxp_op *wxp_op_by_name(struct wxp_str name)
{
    if (name.ptr == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < WXP_OP_COUNT; i++) {
        if (wxp_str_eq(name, wxp_str_c(WXP_OPS[i].name))) {
            return &WXP_OPS[i];
        }
    }
    return NULL;
}

/* ---- the template ---------------------------------------------------------------------------- */

/* The next segment of `s` from *pos (which points at a '/'): its bytes, *pos advanced past it.
 * False at the end. */
static bool next_segment(struct wxp_str s, size_t *pos, struct wxp_str *seg)
{
    size_t i, start;

    if (*pos >= s.len || s.ptr[*pos] != '/') {
        return false;
    }
    start = *pos + 1;
    i = start;
    while (i < s.len && s.ptr[i] != '/') {
        i++;
    }
    seg->ptr = s.ptr + start;
    seg->len = i - start;
    *pos = i;
    return true;
}

static bool is_var(struct wxp_str seg)
{
    return seg.len >= 3 && seg.ptr[0] == '{' && seg.ptr[seg.len - 1] == '}';
}

/* Matches `path` against the template: true with the variables' segments in out->seg and, in
 * *literal, one bit per segment that matched a literal (first segment = highest bit), so that a
 * literal beats a variable at the first place two templates differ. */
static bool match(const char *tmpl, struct wxp_str path, struct wxp_route *out,
                  unsigned long long *literal)
{
    struct wxp_str t = wxp_str_c(tmpl);
    size_t tp = 0, pp = 0;
    struct wxp_str ts, ps;

    out->nseg = 0;
    *literal = 0;
    if (path.ptr == NULL || path.len == 0 || path.ptr[0] != '/') {
        return false;
    }
    for (;;) {
        bool more_t = next_segment(t, &tp, &ts);
        bool more_p = next_segment(path, &pp, &ps);
        if (!more_t || !more_p) {
            return !more_t && !more_p;
        }
        *literal <<= 1;
        if (is_var(ts)) {
            if (ps.len == 0 || out->nseg == WXP_OP_PATH_PARAMS_MAX) {
                return false;
            }
            out->seg[out->nseg++] = ps;
            continue;
        }
        if (!wxp_str_eq(ts, ps)) {
            return false;
        }
        *literal |= 1;
    }
}

enum wxp_route_result wxp_op_route_in(const struct wxp_op *ops, size_t n, struct wxp_str method,
                                      struct wxp_str path, struct wxp_route *out)
{
    const struct wxp_op *best = NULL;
    unsigned long long best_lit = 0;
    struct wxp_route tmp;

    memset(out, 0, sizeof *out);
    /* The most specific template that matches the path: a literal beats a variable at the first
     * segment where two matching templates differ. */
    for (size_t i = 0; i < n; i++) {
        unsigned long long lit;
        if (!match(ops[i].path, path, &tmp, &lit)) {
            continue;
        }
        if (best == NULL || lit > best_lit) {
            best = &ops[i];
            best_lit = lit;
        }
    }
    if (best == NULL) {
        return WXP_ROUTE_NOT_FOUND;
    }
    /* Then, among the operations on that template, the one with this method. */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ops[i].path, best->path) == 0 && wxp_str_eq(method, wxp_str_c(ops[i].method))) {
            best = &ops[i];
            (void)match(best->path, path, out, &best_lit);
            out->op = best;
            return WXP_ROUTE_OK;
        }
    }
    (void)match(best->path, path, out, &best_lit);
    out->op = best;
    return WXP_ROUTE_METHOD;
}

enum wxp_route_result wxp_op_route(struct wxp_str method, struct wxp_str path,
                                   struct wxp_route *out)
{
    return wxp_op_route_in(WXP_OPS, WXP_OP_COUNT, method, path, out);
}

/* The position of {name} among the template's variables, or -1. */
static int var_index(const char *tmpl, const char *name)
{
    struct wxp_str t = wxp_str_c(tmpl);
    size_t pos = 0;
    size_t nlen = strlen(name);
    struct wxp_str seg;
    int k = 0;

    while (next_segment(t, &pos, &seg)) {
        if (!is_var(seg)) {
            continue;
        }
        if (seg.len - 2 == nlen && memcmp(seg.ptr + 1, name, nlen) == 0) {
            return k;
        }
        k++;
    }
    return -1;
}

static const struct wxp_field *row_by_var(const struct wxp_schema *s, struct wxp_str var,
                                          size_t *idx)
{
    for (size_t i = 0; i < s->count; i++) {
        const struct wxp_field *f = &s->fields[i];
        if (f->loc == WXP_LOC_URI_TEMPLATE && wxp_str_eq(var, wxp_str_c(f->name))) {
            *idx = i;
            return f;
        }
    }
    return NULL;
}

/* ---- building a request ---------------------------------------------------------------------- */

enum wxp_code wxp_op_check_values(const struct wxp_op *op, const char *const *vals,
                                  struct wxp_err *err)
{
    const struct wxp_schema *s = op->params;

    for (size_t i = 0; i < s->count; i++) {
        const struct wxp_field *f = &s->fields[i];
        enum wxp_code rc;
        if (vals[i] == NULL) {
            if (f->required) {
                return wxp_schema_fail(err, NULL, f, WXP_E_PARAM_MISSING, 0, NULL);
            }
            continue;
        }
        rc = wxp_schema_check_value(f, vals[i], strlen(vals[i]), NULL, err);
        if (rc != WXP_OK) {
            return rc;
        }
    }
    return WXP_OK;
}

static enum wxp_code build_fail(struct wxp_err *err, enum wxp_code rc, const char *what)
{
    if (rc == WXP_E_TOO_LARGE) {
        return wxp_err_set(err, rc, what, "the %s is longer than its buffer allows", what);
    }
    return wxp_err_set(err, rc, what, NULL);
}

enum wxp_code wxp_op_target(const struct wxp_op *op, const char *const *vals, struct wxp_buf *out,
                            struct wxp_err *err)
{
    struct wxp_str t = wxp_str_c(op->path);
    const struct wxp_schema *s = op->params;
    size_t pos = 0;
    struct wxp_str seg;
    enum wxp_code rc = WXP_OK;
    bool first = true;

    while (rc == WXP_OK && next_segment(t, &pos, &seg)) {
        rc = wxp_buf_add(out, "/", 1);
        if (rc != WXP_OK) {
            break;
        }
        if (!is_var(seg)) {
            rc = wxp_buf_add(out, seg.ptr, seg.len);
            continue;
        }
        size_t i = 0;
        const struct wxp_field *f = row_by_var(s, (struct wxp_str){seg.ptr + 1, seg.len - 2}, &i);
        if (f == NULL) {
            return wxp_err_set(err, WXP_E_INVALID_ARG, "path",
                               "the path template names a variable without a row");
        }
        if (vals[i] == NULL) {
            return wxp_schema_fail(err, NULL, f, WXP_E_PARAM_MISSING, 0, NULL);
        }
        rc = wxp_pct_encode(out, vals[i], strlen(vals[i]));
    }
    for (size_t i = 0; rc == WXP_OK && i < s->count; i++) {
        const struct wxp_field *f = &s->fields[i];
        if (f->loc != WXP_LOC_QUERY || vals[i] == NULL) {
            continue;
        }
        rc = wxp_buf_add(out, first ? "?" : "&", 1);
        first = false;
        if (rc == WXP_OK) {
            rc = wxp_pct_encode(out, f->name, strlen(f->name));
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_add(out, "=", 1);
        }
        if (rc == WXP_OK) {
            rc = wxp_pct_encode(out, vals[i], strlen(vals[i]));
        }
    }
    if (rc != WXP_OK) {
        return build_fail(err, rc, "request target");
    }
    return WXP_OK;
}

/* Appends {"name":"value",...} over the rows of `s` that are in the body and have a value. */
static enum wxp_code json_object(const struct wxp_schema *s, const char *const *vals,
                                 struct wxp_buf *out, struct wxp_err *err)
{
    enum wxp_code rc = wxp_buf_add(out, "{", 1);
    bool first = true;

    for (size_t i = 0; rc == WXP_OK && i < s->count; i++) {
        const struct wxp_field *f = &s->fields[i];
        if (f->loc != WXP_LOC_BODY || vals[i] == NULL) {
            continue;
        }
        if (!first) {
            rc = wxp_buf_add(out, ",", 1);
        }
        first = false;
        if (rc == WXP_OK) {
            rc = wxp_json_quote(out, f->name, strlen(f->name), err);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_add(out, ":", 1);
        }
        if (rc == WXP_OK) {
            rc = wxp_json_quote(out, vals[i], strlen(vals[i]), err);
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_add(out, "}", 1);
    }
    return rc;
}

static bool has_body_rows(const struct wxp_schema *s)
{
    for (size_t i = 0; i < s->count; i++) {
        if (s->fields[i].loc == WXP_LOC_BODY) {
            return true;
        }
    }
    return false;
}

enum wxp_code wxp_op_body(const struct wxp_op *op, const char *const *vals, struct wxp_buf *out,
                          struct wxp_err *err)
{
    enum wxp_code rc;

    if (!has_body_rows(op->params)) {
        return WXP_OK;
    }
    rc = json_object(op->params, vals, out, err);
    if (rc != WXP_OK) {
        return build_fail(err, rc, "body");
    }
    return WXP_OK;
}

/* ---- receiving a request --------------------------------------------------------------------- */

static enum wxp_code keep(struct wxp_values *out, size_t i, const char *p, size_t len,
                          struct wxp_param_issue *issue, struct wxp_err *err)
{
    if (out == NULL) {
        return WXP_OK;
    }
    out->val[i] = wxp_strndup(p, len);
    out->len[i] = len;
    if (out->val[i] == NULL) {
        if (issue != NULL) {
            memset(issue, 0, sizeof *issue);
            issue->location = "body";
        }
        return wxp_err_set(err, WXP_E_NOMEM, NULL, "系统异常，请稍后重试");
    }
    return WXP_OK;
}

/* rule: a path variable is one percent-encoded segment; '+' is a plus there.
 * src: docs/protocol.md#percent-encoding */
static enum wxp_code check_path_row(const struct wxp_route *r, size_t i, struct wxp_values *out,
                                    struct wxp_param_issue *issue, struct wxp_err *err)
{
    const struct wxp_field *f = &r->op->params->fields[i];
    int k = var_index(r->op->path, f->name);
    char *dec = NULL;
    size_t n = 0;
    enum wxp_code rc;

    if (k < 0 || (size_t)k >= r->nseg) {
        return wxp_schema_fail(err, issue, f, WXP_E_PARAM_MISSING, 0, NULL);
    }
    struct wxp_str seg = r->seg[k];
    dec = wxp_malloc(SEG_MAX);
    if (dec == NULL) {
        return wxp_err_set(err, WXP_E_NOMEM, NULL, "系统异常，请稍后重试");
    }
    if (seg.len >= SEG_MAX || !wxp_pct_decode(seg, false, dec, SEG_MAX, &n)) {
        rc = wxp_schema_fail(err, issue, f, WXP_E_PARAM_CHARSET, 0, "百分号编码无效");
        goto out;
    }
    rc = wxp_schema_check_value(f, dec, n, issue, err);
    if (rc == WXP_OK) {
        rc = keep(out, i, dec, n, issue, err);
    }
out:
    wxp_free(dec);
    return rc;
}

/* rule: query parameters in any order, '+' is a space, a repeated one is an error, an unknown one
 * is ignored, a second '?' is part of a value. src: docs/protocol.md#query-string */
static enum wxp_code check_query_row(const struct wxp_op *op, const struct wxp_query *q, size_t i,
                                     struct wxp_values *out, struct wxp_param_issue *issue,
                                     struct wxp_err *err)
{
    const struct wxp_field *f = &op->params->fields[i];
    const struct wxp_str *value = NULL;
    size_t seen = 0;
    char *dec = NULL;
    size_t n = 0;
    enum wxp_code rc;

    for (size_t k = 0; k < q->n; k++) {
        char name[QUERY_NAME_MAX];
        size_t nlen = 0;
        if (!wxp_pct_decode(q->pair[k].name, true, name, sizeof name, &nlen) ||
            nlen != strlen(f->name) || memcmp(name, f->name, nlen) != 0) {
            continue;
        }
        if (++seen == 1) {
            value = &q->pair[k].value;
        }
    }
    if (seen > 1) {
        return wxp_schema_fail(err, issue, f, WXP_E_PARAM_DUPLICATE, 0, NULL);
    }
    if (value == NULL) {
        return f->required ? wxp_schema_fail(err, issue, f, WXP_E_PARAM_MISSING, 0, NULL) : WXP_OK;
    }
    dec = wxp_malloc(value->len + 1);
    if (dec == NULL) {
        return wxp_err_set(err, WXP_E_NOMEM, NULL, "系统异常，请稍后重试");
    }
    if (!wxp_pct_decode(*value, true, dec, value->len + 1, &n)) {
        rc = wxp_schema_fail(err, issue, f, WXP_E_PARAM_CHARSET, 0, "百分号编码无效");
        goto out;
    }
    rc = wxp_schema_check_value(f, dec, n, issue, err);
    if (rc == WXP_OK) {
        rc = keep(out, i, dec, n, issue, err);
    }
out:
    wxp_free(dec);
    return rc;
}

enum wxp_code wxp_op_check_request(const struct wxp_route *r, struct wxp_str query,
                                   struct wxp_str body, struct wxp_values *out,
                                   struct wxp_param_issue *issue, struct wxp_err *err)
{
    const struct wxp_schema *s;
    struct wxp_query q;
    struct wxp_values bv = {0};
    enum wxp_code rc = WXP_OK;

    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    if (r == NULL || r->op == NULL) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, NULL, "no routed operation");
    }
    s = r->op->params;
    for (size_t i = 0; rc == WXP_OK && i < s->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        if (s->fields[i].loc == WXP_LOC_URI_TEMPLATE) {
            rc = check_path_row(r, i, out, issue, err);
        }
    }
    if (rc != WXP_OK) {
        goto out;
    }
    rc = wxp_query_parse(query, &q, err);
    if (rc != WXP_OK) {
        if (issue != NULL) {
            memset(issue, 0, sizeof *issue);
            issue->location = "query";
            snprintf(issue->pointer, sizeof issue->pointer, "/query");
        }
        goto out;
    }
    for (size_t i = 0; rc == WXP_OK && i < s->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        if (s->fields[i].loc == WXP_LOC_QUERY) {
            rc = check_query_row(r->op, &q, i, out, issue, err);
        }
    }
    if (rc != WXP_OK || !has_body_rows(s)) {
        goto out;
    }
    rc = wxp_schema_check_body(s, body.ptr != NULL ? body.ptr : "", body.len,
                               out != NULL ? &bv : NULL, issue, err);
    if (rc != WXP_OK || out == NULL) {
        goto out;
    }
    for (size_t i = 0; i < s->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        if (s->fields[i].loc == WXP_LOC_BODY) {
            out->val[i] = bv.val[i];
            out->len[i] = bv.len[i];
            bv.val[i] = NULL;
        }
    }
out:
    wxp_values_free(&bv);
    if (out != NULL) {
        if (rc != WXP_OK) {
            wxp_values_free(out);
        } else {
            out->schema = s;
        }
    }
    return rc;
}

/* ---- the success body ------------------------------------------------------------------------ */

enum wxp_code wxp_op_response_build(const struct wxp_op *op, const char *const *vals,
                                    struct wxp_buf *out, struct wxp_err *err)
{
    const struct wxp_schema *s = op->response;
    enum wxp_code rc;

    if (s == NULL) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, NULL, "%s answers without a body", op->name);
    }
    for (size_t i = 0; i < s->count; i++) {
        if (s->fields[i].required && vals[i] == NULL) {
            return wxp_err_set(err, WXP_E_INVALID_ARG, s->fields[i].name,
                               "the response field %s is required", s->fields[i].name);
        }
    }
    rc = json_object(s, vals, out, err);
    if (rc != WXP_OK) {
        return build_fail(err, rc, "response body");
    }
    return WXP_OK;
}

enum wxp_code wxp_op_response_parse(const struct wxp_op *op, const char *body, size_t len,
                                    struct wxp_values *out, struct wxp_err *err)
{
    const struct wxp_schema *s = op->response;
    cJSON *root = NULL;
    size_t off = 0;
    enum wxp_code rc;

    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    if (s == NULL) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, NULL, "%s answers without a body", op->name);
    }
    if (body == NULL) {
        body = "";
        len = 0;
    }
    if (len > WXP_BODY_MAX) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, "body", "the response body is too large");
    }
    rc = wxp_json_check(body, len, &off, err);
    if (rc != WXP_OK) {
        return wxp_err_set(err, rc, "body", "the response body is not strict JSON (byte %zu)", off);
    }
    root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
    if (root == NULL) {
        return wxp_err_set(err, WXP_E_NOMEM, "body", "cannot parse the response body");
    }
    if (!cJSON_IsObject(root)) {
        rc = wxp_err_set(err, WXP_E_JSON_NOT_OBJECT, "body", "the response body is not an object");
        goto out;
    }
    for (size_t i = 0; i < s->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        const struct wxp_field *f = &s->fields[i];
        const cJSON *it = NULL;
        size_t seen = 0;

        for (const cJSON *m = root->child; m != NULL; m = m->next) {
            if (strcmp(m->string, f->name) == 0) {
                it = seen == 0 ? m : it;
                seen++;
            }
        }
        if (seen > 1) {
            rc = wxp_err_set(err, WXP_E_JSON_DUPLICATE_KEY, f->name,
                             "the response body repeats the member %s", f->name);
            goto out;
        }
        if (it == NULL) {
            if (f->required) {
                rc = wxp_err_set(err, WXP_E_PARAM_MISSING, f->name,
                                 "the response body lacks the member %s", f->name);
                goto out;
            }
            continue;
        }
        if (!cJSON_IsString(it)) {
            rc = wxp_err_set(err, WXP_E_PARAM_TYPE, f->name,
                             "the response member %s is not a string", f->name);
            goto out;
        }
        if (out != NULL) {
            out->len[i] = strlen(it->valuestring);
            out->val[i] = wxp_strndup(it->valuestring, out->len[i]);
            if (out->val[i] == NULL) {
                rc = wxp_err_set(err, WXP_E_NOMEM, f->name, NULL);
                goto out;
            }
        }
    }
    if (out != NULL) {
        out->schema = s;
    }
    rc = WXP_OK;
out:
    cJSON_Delete(root);
    if (rc != WXP_OK) {
        wxp_values_free(out);
    }
    return rc;
}
