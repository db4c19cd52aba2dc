/* Target: wxp_query_parse, wxp_pct_decode, wxp_op_route, wxp_op_check_request */
/* SPDX-License-Identifier: MIT */
/* fuzz_query.c: a request line and a body, as the server side of the operation table sees them.
 * Input: "METHOD TARGET\n" then the body; the target splits at its first '?' into the raw path
 * and the query. Invariants: query pairs borrow from the query and hold no '&' (a name no '=');
 * a decoded pair is no longer than its input and re-encodes to something that decodes back to
 * it; a routed request names an operation with that method; an accepted request yields every
 * required parameter, valid for its row, and the target and body a client builds from those
 * values route to the same operation and are accepted with the same values; a refused one
 * names a known code and a location. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wxp/buf.h"
#include "wxp/mem.h"
#include "wxp/op.h"
#include "wxp/query.h"

static void check_pairs(struct wxp_str q)
{
    struct wxp_query pairs;
    enum wxp_code rc = wxp_query_parse(q, &pairs, NULL);

    FUZZ_CHECK(rc == WXP_OK || rc == WXP_E_TOO_LARGE);
    if (rc != WXP_OK) {
        FUZZ_CHECK(pairs.n == 0);
        return;
    }
    FUZZ_CHECK(pairs.n <= WXP_QUERY_PAIRS_MAX);
    for (size_t i = 0; i < pairs.n; i++) {
        struct wxp_str parts[2] = {pairs.pair[i].name, pairs.pair[i].value};
        FUZZ_CHECK(parts[0].ptr >= q.ptr && parts[0].ptr + parts[0].len <= q.ptr + q.len);
        FUZZ_CHECK(parts[1].ptr >= q.ptr && parts[1].ptr + parts[1].len <= q.ptr + q.len);
        FUZZ_CHECK(memchr(parts[0].ptr, '&', parts[0].len) == NULL);
        FUZZ_CHECK(memchr(parts[0].ptr, '=', parts[0].len) == NULL);
        FUZZ_CHECK(memchr(parts[1].ptr, '&', parts[1].len) == NULL);
        for (int k = 0; k < 2; k++) {
            char *dec = malloc(parts[k].len + 1);
            char *back = NULL;
            size_t n = 0, m = 0;
            struct wxp_buf enc;

            FUZZ_CHECK(dec != NULL);
            wxp_buf_init(&enc, 3 * parts[k].len + 1);
            if (wxp_pct_decode(parts[k], k == 1, dec, parts[k].len + 1, &n)) {
                FUZZ_CHECK(n <= parts[k].len);
                FUZZ_CHECK(dec[n] == '\0');
                FUZZ_CHECK(wxp_pct_encode(&enc, dec, n) == WXP_OK);
                back = malloc(enc.len + 1);
                FUZZ_CHECK(back != NULL);
                FUZZ_CHECK(wxp_pct_decode((struct wxp_str){enc.ptr != NULL ? enc.ptr : "", enc.len},
                                          true, back, enc.len + 1, &m));
                FUZZ_CHECK(m == n && memcmp(back, dec, n) == 0);
            }
            free(back);
            free(dec);
            wxp_buf_free(&enc);
        }
    }
}

/* Builds the request a client would send with `v`'s values and checks that the server side
 * accepts it with the same values. */
static void check_rebuild(const struct wxp_op *op, const struct wxp_values *v)
{
    const char *vals[WXP_SCHEMA_MAX_FIELDS] = {NULL};
    struct wxp_buf target, body;
    struct wxp_route r;
    struct wxp_values again;
    const char *t, *qm;
    enum wxp_code rc;

    for (size_t i = 0; i < op->params->count; i++) {
        vals[i] = v->val[i];
    }
    FUZZ_CHECK(wxp_op_check_values(op, vals, NULL) == WXP_OK);
    wxp_buf_init(&target, 64 * 1024);
    wxp_buf_init(&body, 64 * 1024);
    FUZZ_CHECK(wxp_op_target(op, vals, &target, NULL) == WXP_OK);
    FUZZ_CHECK(wxp_op_body(op, vals, &body, NULL) == WXP_OK);
    t = wxp_buf_cstr(&target);
    qm = strchr(t, '?');
    FUZZ_CHECK(wxp_op_route(wxp_str_c(op->method),
                            (struct wxp_str){t, qm != NULL ? (size_t)(qm - t) : strlen(t)},
                            &r) == WXP_ROUTE_OK);
    FUZZ_CHECK(r.op == op);
    rc = wxp_op_check_request(&r, qm != NULL ? wxp_str_c(qm + 1) : (struct wxp_str){NULL, 0},
                              (struct wxp_str){wxp_buf_cstr(&body), body.len}, &again, NULL, NULL);
    FUZZ_CHECK(rc == WXP_OK);
    for (size_t i = 0; i < op->params->count; i++) {
        FUZZ_CHECK((v->val[i] == NULL) == (again.val[i] == NULL));
        FUZZ_CHECK(v->val[i] == NULL ||
                   (v->len[i] == again.len[i] && memcmp(v->val[i], again.val[i], v->len[i]) == 0));
    }
    wxp_values_free(&again);
    wxp_buf_free(&target);
    wxp_buf_free(&body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nl = memchr(p, '\n', size);
    size_t line = nl != NULL ? (size_t)(nl - p) : size;
    const char *sp = memchr(p, ' ', line);
    struct wxp_str method, target, path, query = {NULL, 0}, body;
    struct wxp_route r;
    struct wxp_values v;
    struct wxp_param_issue issue;
    struct wxp_err err;
    enum wxp_route_result res;
    enum wxp_code rc;
    const char *qm;

    if (sp == NULL) {
        return 0;
    }
    method = (struct wxp_str){p, (size_t)(sp - p)};
    target = (struct wxp_str){sp + 1, line - method.len - 1};
    body = nl != NULL ? (struct wxp_str){nl + 1, size - line - 1} : (struct wxp_str){NULL, 0};
    qm = memchr(target.ptr, '?', target.len);
    path = (struct wxp_str){target.ptr, qm != NULL ? (size_t)(qm - target.ptr) : target.len};
    if (qm != NULL) {
        query = (struct wxp_str){qm + 1, target.len - path.len - 1};
    }
    check_pairs(query);

    res = wxp_op_route(method, path, &r);
    if (res == WXP_ROUTE_NOT_FOUND) {
        FUZZ_CHECK(r.op == NULL);
        return 0;
    }
    FUZZ_CHECK(r.op != NULL);
    FUZZ_CHECK(r.nseg <= WXP_OP_PATH_PARAMS_MAX);
    for (size_t i = 0; i < r.nseg; i++) {
        FUZZ_CHECK(r.seg[i].len > 0 && memchr(r.seg[i].ptr, '/', r.seg[i].len) == NULL);
        FUZZ_CHECK(r.seg[i].ptr >= path.ptr && r.seg[i].ptr + r.seg[i].len <= path.ptr + path.len);
    }
    FUZZ_CHECK(wxp_str_eq(method, wxp_str_c(r.op->method)) == (res == WXP_ROUTE_OK));
    if (res != WXP_ROUTE_OK) {
        return 0;
    }
    memset(&issue, 0, sizeof issue);
    wxp_err_clear(&err);
    rc = wxp_op_check_request(&r, query, body, &v, &issue, &err);
    FUZZ_CHECK(rc < WXP_CODE_COUNT);
    if (rc != WXP_OK) {
        FUZZ_CHECK(err.code == rc);
        FUZZ_CHECK(issue.location != NULL || rc == WXP_E_NOMEM);
        FUZZ_CHECK(memchr(issue.pointer, '\0', sizeof issue.pointer) != NULL);
        for (size_t i = 0; i < WXP_SCHEMA_MAX_FIELDS; i++) {
            FUZZ_CHECK(v.val[i] == NULL);
        }
        return 0;
    }
    FUZZ_CHECK(v.schema == r.op->params);
    for (size_t i = 0; i < r.op->params->count; i++) {
        const struct wxp_field *f = &r.op->params->fields[i];
        if (f->required) {
            FUZZ_CHECK(v.val[i] != NULL);
        }
        if (v.val[i] != NULL) {
            FUZZ_CHECK(v.val[i][v.len[i]] == '\0');
            FUZZ_CHECK(wxp_schema_check_value(f, v.val[i], v.len[i], NULL, NULL) == WXP_OK);
        }
    }
    check_rebuild(r.op, &v);
    wxp_values_free(&v);
    return 0;
}
