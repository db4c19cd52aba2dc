/* SPDX-License-Identifier: MIT */
/* call.c: the API calls: check the inputs, build and sign the request, send it (with retries when
 * asked), and turn the answer into a struct wxpay_result. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "wxp/authz.h"
#include "wxp/envelope.h"
#include "wxp/json.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/op.h"
#include "wxp/schema.h"
#include "wxp/signmsg.h"

#define TARGET_MAX ((size_t)8192)

_Static_assert(WXPAY_BODY_MAX == WXP_BODY_MAX, "wxpay.h states the core's body cap");
#define HEADER_LINE_MAX ((size_t)8192)

/* A request ready to sign: method, target (path[?query] as sent) and body (NULL: none). */
struct call {
    const char *method;
    struct wxp_buf target;
    struct wxp_buf body;
    bool has_body;
    /* The operation of the table this request is, or NULL (wxpay_request): its success status
     * and response fields decide what counts as success. */
    const struct wxp_op *op;
    struct wxpay_fields *fields; /* where a 200's fields go; may be NULL */
};

static void call_init(struct call *k, const char *method)
{
    k->method = method;
    wxp_buf_init(&k->target, TARGET_MAX);
    wxp_buf_init(&k->body, WXP_BODY_MAX);
    k->has_body = false;
    k->op = NULL;
    k->fields = NULL;
}

static void call_free(struct call *k)
{
    wxp_buf_free(&k->target);
    wxp_buf_free(&k->body); /* zeroed: it may hold personal data */
}

static struct wxp_str call_body(const struct call *k)
{
    struct wxp_str s = {wxp_buf_cstr(&k->body), k->body.len};
    return s;
}

static struct wxp_str buf_str(const struct wxp_buf *b)
{
    struct wxp_str s = {wxp_buf_cstr(b), b->len};
    return s;
}

/* ---- operations: inputs, target, body, from the core's table ---------------------------- */

static const struct wxp_op *op_named(const char *name)
{
    return name != NULL ? wxp_op_by_name(wxp_str_c(name)) : NULL;
}

static bool op_has_body(const struct wxp_op *op)
{
    for (size_t i = 0; i < op->params->count; i++) {
        if (op->params->fields[i].loc == WXP_LOC_BODY) {
            return true;
        }
    }
    return false;
}

/* Appends `s` to out[*n..cap), keeping it NUL-terminated; stops quietly when full. */
static void append(char *out, size_t cap, size_t *n, const char *s)
{
    int w = snprintf(out + *n, cap - *n, "%s", s);
    if (w > 0) {
        *n = (size_t)w < cap - *n ? *n + (size_t)w : cap - 1;
    }
}

/* The bytes a row's character table allows, as ranges in byte order ("*, -, 0-9, A-Z, _, a-z,
 * |"), or "" when the row takes any character. Derived from the table, so it cannot drift. */
static void charset_ranges(const struct wxp_field *f, char *out, size_t cap)
{
    size_t n = 0;
    bool high = false;

    out[0] = '\0';
    if (f->charset == NULL || cap == 0) {
        return;
    }
    for (unsigned c = 0x21; c < 0x7F; c++) {
        char piece[8];
        unsigned end = c;
        if (!f->charset[c]) {
            continue;
        }
        while (end + 1 < 0x7F && f->charset[end + 1]) {
            end++;
        }
        if (end - c >= 2) {
            snprintf(piece, sizeof piece, "%c-%c", (char)c, (char)end);
        } else {
            end = c; /* one or two in a row: listed one by one */
            snprintf(piece, sizeof piece, "%c", (char)c);
        }
        append(out, cap, &n, n > 0 ? ", " : "");
        append(out, cap, &n, piece);
        c = end;
    }
    for (unsigned c = 0x80; c < 256; c++) {
        high = high || f->charset[c];
    }
    if (high) {
        append(out, cap, &n, n > 0 ? ", non-ASCII" : "non-ASCII");
    }
}

/* "reason must be 1..50 characters of UTF-8 without 4-byte or control characters";
 * "authorization_code must be 1..32 bytes of *, -, 0-9, A-Z, _, a-z, |" */
static void hint(const struct wxp_field *f, char *out, size_t cap)
{
    char set[96];

    charset_ranges(f, set, sizeof set);
    snprintf(out, cap, "%s%s must be %zu..%zu %s of %s", f->name,
             f->required ? "" : ", when given,", f->min, f->max,
             f->unit == WXP_UNIT_CHARS ? "characters" : "bytes",
             set[0] != '\0' ? set : "UTF-8 without 4-byte or control characters");
}

/* The row that err->field ("/body/reason") names, or NULL. */
static const struct wxp_field *row_of(const struct wxp_op *op, const char *pointer)
{
    char want[96];

    for (size_t i = 0; i < op->params->count; i++) {
        const struct wxp_field *f = &op->params->fields[i];
        snprintf(want, sizeof want, "/%s/%s", wxp_loc_name(f->loc), f->name);
        if (strcmp(want, pointer) == 0) {
            return f;
        }
    }
    return NULL;
}

/* rule: inputs are checked against the operation's rows before anything is sent.
 * src: docs/protocol.md#operation-table, docs/protocol.md#terminate-schema,
 * docs/protocol.md#charset, docs/protocol.md#permissions-apply */
static enum wxpay_result_kind check_values(const struct wxp_op *op, const char *const *vals,
                                           struct wxpay_result *res)
{
    const struct wxp_field *f;
    struct wxp_err err;
    char h[200];

    wxp_err_clear(&err);
    if (wxp_op_check_values(op, vals, &err) == WXP_OK) {
        return WXPAY_OK;
    }
    f = row_of(op, err.field);
    if (f == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "%s%s%s", err.field, err.field[0] ? ": " : "",
                        err.msg[0] ? err.msg : wxp_code_desc(err.code));
    }
    hint(f, h, sizeof h);
    if (err.code == WXP_E_PARAM_MISSING) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "%s: required (%s)", f->name, h);
    }
    return wxl_fail(res, WXPAY_ERR_LOCAL, "%s: %s (%s)", f->name,
                    err.msg[0] ? err.msg : wxp_code_desc(err.code), h);
}

/* Checks the values (indexed like op->params->fields) and fills `k` with the request. */
static enum wxpay_result_kind build_op(const struct wxp_op *op, const char *const *vals,
                                       struct call *k, struct wxpay_result *res)
{
    struct wxp_err err;
    enum wxp_code rc;
    enum wxpay_result_kind kind;

    kind = check_values(op, vals, res);
    if (kind != WXPAY_OK) {
        return kind;
    }
    wxp_err_clear(&err);
    k->op = op;
    k->method = op->method;
    k->has_body = op_has_body(op);
    /* rule: a path variable or query value keeps the RFC 3986 unreserved characters and
     * percent-encodes every other byte (RFC 3986 §2.1, §2.3); the query is name=value pairs
     * joined by '&' after one '?', in the table's order; what is signed is exactly this target.
     * src: docs/protocol.md#percent-encoding, docs/protocol.md#query-string,
     * docs/protocol.md#request-signing-string */
    rc = wxp_op_target(op, vals, &k->target, &err);
    if (rc == WXP_OK && k->has_body) {
        rc = wxp_op_body(op, vals, &k->body, &err);
    }
    if (rc != WXP_OK) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "building the request: %s",
                        err.msg[0] != '\0' ? err.msg : wxp_code_desc(rc));
    }
    /* What we built must pass the same check the server applies to what it receives. */
    if (k->has_body &&
        wxp_schema_check_body(op->params, k->body.ptr, k->body.len, NULL, NULL, &err) != WXP_OK) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "%s: %s", err.field, err.msg);
    }
    return WXPAY_OK;
}

/* The names of op's parameters, "openid, appid, service_id", for a message. */
static void param_names(const struct wxp_op *op, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < op->params->count && n < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i > 0 ? ", " : "", op->params->fields[i].name);
        if (w < 0) {
            return;
        }
        n += (size_t)w;
    }
}

/* Maps name/value pairs onto vals[] (indexed like op->params->fields). */
static enum wxpay_result_kind map_params(const struct wxp_op *op, const struct wxpay_param *params,
                                         size_t nparams, const char **vals,
                                         struct wxpay_result *res)
{
    bool given[WXP_SCHEMA_MAX_FIELDS] = {false};
    char names[256];

    if (params == NULL && nparams > 0) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "%s: params is NULL but nparams is %zu", op->name,
                        nparams);
    }
    for (size_t i = 0; i < nparams; i++) {
        size_t row = op->params->count;
        for (size_t j = 0; params[i].name != NULL && j < op->params->count; j++) {
            if (strcmp(op->params->fields[j].name, params[i].name) == 0) {
                row = j;
                break;
            }
        }
        if (row == op->params->count) {
            param_names(op, names, sizeof names);
            return wxl_fail(res, WXPAY_ERR_LOCAL, "%s: not a parameter of %s (its parameters: %s)",
                            params[i].name != NULL ? params[i].name : "(NULL name)", op->name,
                            names);
        }
        if (given[row]) {
            return wxl_fail(res, WXPAY_ERR_LOCAL, "%s: given twice", params[i].name);
        }
        given[row] = true;
        vals[row] = params[i].value;
    }
    return WXPAY_OK;
}

/* Looks the operation up and builds its request from the pairs. */
static enum wxpay_result_kind build_named(const char *operation, const struct wxpay_param *params,
                                          size_t nparams, struct call *k, struct wxpay_result *res)
{
    const char *vals[WXP_SCHEMA_MAX_FIELDS] = {NULL};
    const struct wxp_op *op = op_named(operation);
    enum wxpay_result_kind kind;

    if (op == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "operation: '%s' is not an operation libwxpay knows (see "
                        "wxpay_operation_name)",
                        operation != NULL ? operation : "(NULL)");
    }
    kind = map_params(op, params, nparams, vals, res);
    if (kind != WXPAY_OK) {
        return kind;
    }
    return build_op(op, vals, k, res);
}

/* ---- generic request: inputs ------------------------------------------------------------ */

/* Path and query go on the wire byte for byte, so they must already be percent-encoded
 * printable ASCII: curl would otherwise rewrite them and the signature would not match. */
static bool target_bytes_ok(const char *s, bool is_path)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch >= 0x7F || ch == '#' || (is_path && ch == '?')) {
            return false;
        }
    }
    return true;
}

static enum wxpay_result_kind build_request(const char *method, const char *path, const char *query,
                                            const char *json_body, struct call *k,
                                            struct wxpay_result *res)
{
    static const char *const METHODS[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    struct wxp_err err;
    size_t off = 0;
    bool known = false;
    enum wxp_code rc;

    if (method == NULL || path == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "method and path are required");
    }
    for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++) {
        known = known || strcmp(method, METHODS[i]) == 0;
    }
    if (!known) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "method: must be GET, POST, PUT, PATCH or DELETE (uppercase)");
    }
    if (path[0] != '/' || !target_bytes_ok(path, true)) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "path: must start with '/' and hold only percent-encoded printable "
                        "ASCII without spaces, '?' or '#'");
    }
    if (query != NULL && !target_bytes_ok(query, false)) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "query: must be percent-encoded printable ASCII without spaces or '#'");
    }
    rc = wxp_buf_addstr(&k->target, path);
    if (rc == WXP_OK && query != NULL && query[0] != '\0') {
        rc = wxp_buf_addf(&k->target, "?%s", query);
    }
    if (rc != WXP_OK) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "path, query: %s", wxp_code_desc(rc));
    }
    /* NULL or "" sends no body. */
    if (json_body == NULL || json_body[0] == '\0') {
        return WXPAY_OK;
    }
    wxp_err_clear(&err);
    if (wxp_buf_addstr(&k->body, json_body) != WXP_OK) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "json_body: larger than %zu bytes", WXP_BODY_MAX);
    }
    if (wxp_json_check(k->body.ptr, k->body.len, &off, &err) != WXP_OK) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "json_body: not valid JSON at byte %zu: %s", off,
                        err.msg);
    }
    k->has_body = true;
    return WXPAY_OK;
}

/* ---- signing ---------------------------------------------------------------------------- */

/* Appends the Authorization value to `authz` and, when `sigstr` is not NULL, the string signed. */
static enum wxpay_result_kind sign_call(const struct wxpay_client *c, const struct call *k,
                                        int64_t ts, const char *nonce, struct wxp_buf *authz,
                                        struct wxp_buf *sigstr, struct wxpay_result *res)
{
    struct wxp_signer s = {c->key, c->mchid, c->serial};
    struct wxp_err err;
    char tsbuf[24];

    wxp_err_clear(&err);
    if (c->key == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "no merchant private key: this client checks notifications only "
                        "(wxpay_notify_client_new); make calls with wxpay_client_new");
    }
    if (wxp_authz_sign(authz, &s, wxp_str_c(k->method), buf_str(&k->target), call_body(k), ts,
                       nonce, &err) != WXP_OK) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "signing: %s%s%s", err.field,
                        err.field[0] != '\0' ? ": " : "", err.msg);
    }
    if (sigstr == NULL) {
        return WXPAY_OK;
    }
    snprintf(tsbuf, sizeof tsbuf, "%" PRId64, ts);
    if (wxp_signmsg_request(sigstr, wxp_str_c(k->method), buf_str(&k->target), wxp_str_c(tsbuf),
                            wxp_str_c(nonce), call_body(k), &err) != WXP_OK) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "signing: %s", err.msg);
    }
    return WXPAY_OK;
}

/* ---- the answer ------------------------------------------------------------------------- */

/* Core verification codes to the public reason (-Wswitch-enum: a table, not a switch). */
static const struct {
    enum wxp_code code;
    enum wxpay_verify_failure vf;
} FAILURES[] = {
    {WXP_E_RESP_HEADER_MISSING, WXPAY_VF_MISSING_HEADER},
    {WXP_E_RESP_TIMESTAMP, WXPAY_VF_BAD_TIMESTAMP},
    {WXP_E_TIMESTAMP_STALE, WXPAY_VF_STALE},
    {WXP_E_TIMESTAMP_FUTURE, WXPAY_VF_FUTURE},
    {WXP_E_SERIAL_UNKNOWN, WXPAY_VF_UNKNOWN_SERIAL},
    {WXP_E_SIG_PROBE, WXPAY_VF_PROBE},
};

static enum wxpay_verify_failure failure_of(enum wxp_code rc)
{
    for (size_t i = 0; i < sizeof FAILURES / sizeof FAILURES[0]; i++) {
        if (FAILURES[i].code == rc) {
            return FAILURES[i].vf;
        }
    }
    return WXPAY_VF_BAD_SIGNATURE; /* WXP_E_SIG_MISMATCH and anything unexpected */
}

static struct wxp_str hdr_str(const struct wxl_response *r, enum wxl_hdr h)
{
    struct wxp_str s = {NULL, 0};

    if (r->hdr[h].present) {
        s.ptr = wxp_buf_cstr(&r->hdr[h].value);
        s.len = r->hdr[h].value.len;
    }
    return s;
}

/* Classifies the answer's signature, whatever its status. */
static void check_signature(const struct wxpay_client *c, const struct wxl_response *r,
                            struct wxpay_result *res)
{
    struct wxp_resp in = {
        hdr_str(r, WXL_H_TIMESTAMP), hdr_str(r, WXL_H_NONCE),      hdr_str(r, WXL_H_SIGNATURE),
        hdr_str(r, WXL_H_SERIAL),    hdr_str(r, WXL_H_REQUEST_ID), buf_str(&r->body),
    };
    struct wxp_resp_policy pol = {(int64_t)time(NULL), (int64_t)c->skew, true};
    struct wxp_keystore *first = NULL;
    struct wxp_err err;
    enum wxp_code rc;

    if (!r->hdr[WXL_H_SIGNATURE].present) {
        res->signature = WXPAY_SIG_UNSIGNED;
        return;
    }
    if (c->trace.fn != NULL && in.timestamp.ptr != NULL && in.nonce.ptr != NULL) {
        struct wxp_buf msg;
        wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
        if (wxp_signmsg_response(&msg, in.timestamp, in.nonce, in.body, NULL) == WXP_OK) {
            wxl_trace(c, "verify-string", wxp_buf_cstr(&msg), msg.len);
        }
        wxp_buf_free(&msg);
    }
    wxp_err_clear(&err);
    /* rule: every Wechatpay-* header and Request-ID present, timestamp within the window, a known
     * serial, and RSA-SHA256 over TIMESTAMP\nNONCE\nBODY\n. src:
     * docs/protocol.md#response-verification */
    /* rule: a first certificate download can only be verified with a certificate it contains
     * (trust on first use, as wechatpay-go's first download). src: [SDK-GO-DL] */
    if (c->first_download) {
        first = wxl_certs_first_keys(c, in.body);
    }
    rc = wxp_resp_verify(first != NULL ? first : c->keys, &in, &pol, &err);
    wxp_keystore_free(first);
    if (rc == WXP_OK) {
        res->signature = WXPAY_SIG_VALID;
        return;
    }
    res->signature = WXPAY_SIG_INVALID;
    res->verify_failure = failure_of(rc);
    wxl_copy(res->verify_detail, sizeof res->verify_detail, err.msg, strlen(err.msg));
}

/* An envelope member, NULL when absent. */
static void copy_opt(char *dst, size_t cap, const char *src)
{
    wxl_copy(dst, cap, src, src != NULL ? strlen(src) : 0);
}

static void copy_envelope(const struct wxl_response *r, struct wxpay_result *res, bool *is_env)
{
    struct wxp_envelope env;
    struct wxp_err err;

    memset(&env, 0, sizeof env);
    *is_env = false;
    if (r->body.len == 0 || wxp_envelope_parse(r->body.ptr, r->body.len, &env, &err) != WXP_OK) {
        return;
    }
    *is_env = true;
    copy_opt(res->code, sizeof res->code, env.code);
    copy_opt(res->message, sizeof res->message, env.message);
    copy_opt(res->detail_field, sizeof res->detail_field, env.field);
    copy_opt(res->detail_value, sizeof res->detail_value, env.value);
    copy_opt(res->detail_issue, sizeof res->detail_issue, env.issue);
    copy_opt(res->detail_location, sizeof res->detail_location, env.location);
    wxp_envelope_free(&env);
}

/* rule: a 200 answer's body (its signature already verified over these bytes) is a JSON object
 * with each always-present field of the operation as a string; members the table does not know
 * are ignored (the server may add fields). src: docs/protocol.md#response-verification,
 * docs/protocol.md#permissions-entity, docs/protocol.md#permissions-apply
 * Copies the documented fields into k->fields (when the caller wants them). Choice: a verified
 * body that is not the documented one is WXPAY_ERR_WECHAT, like an unexpected status: it is
 * authentic, so not forged, but it is not the success the operation promises. */
static enum wxpay_result_kind read_fields(const struct call *k, const struct wxl_response *r,
                                          struct wxpay_result *res)
{
    const struct wxp_schema *rs = k->op->response;
    struct wxp_values v;
    struct wxp_err err;
    struct wxpay_fields *out = k->fields;
    size_t n = 0;

    memset(&v, 0, sizeof v);
    wxp_err_clear(&err);
    if (wxp_op_response_parse(k->op, r->body.len > 0 ? r->body.ptr : "", r->body.len, &v, &err) !=
        WXP_OK) {
        return wxl_fail(res, WXPAY_ERR_WECHAT,
                        "the %ld answer of %s is not the documented body: %s%s%s", r->status,
                        k->op->name, err.field, err.field[0] ? ": " : "",
                        err.msg[0] ? err.msg : wxp_code_desc(err.code));
    }
    if (out == NULL) {
        goto done;
    }
    for (size_t i = 0; i < rs->count; i++) {
        n += v.val[i] != NULL;
    }
    if (n == 0) {
        goto done;
    }
    out->field = wxp_malloc(n * sizeof *out->field);
    if (out->field == NULL) {
        wxp_values_free(&v);
        return wxl_fail(res, WXPAY_ERR_TRANSPORT, "transport: out of memory reading the answer");
    }
    for (size_t i = 0; i < rs->count; i++) {
        struct wxpay_field *f = &out->field[out->count];
        if (v.val[i] == NULL) {
            continue;
        }
        f->name = rs->fields[i].name;
        f->len = v.len[i];
        f->value = wxp_strndup(v.val[i], v.len[i]);
        if (f->value == NULL) {
            wxp_values_free(&v);
            wxpay_fields_free(out);
            return wxl_fail(res, WXPAY_ERR_TRANSPORT,
                            "transport: out of memory reading the answer");
        }
        out->count++;
    }
done:
    wxp_values_free(&v);
    res->kind = WXPAY_OK;
    return WXPAY_OK;
}

/* Turns an HTTP answer into the result. `url` only names the request in messages. */
static enum wxpay_result_kind classify(const struct wxpay_client *c, const struct call *k,
                                       const struct wxl_response *r, const char *url,
                                       struct wxpay_result *res)
{
    bool is_env = false;

    if (r->curl_code != CURLE_OK) {
        res->curl_code = (int)r->curl_code;
        if (r->resend_refused) {
            return wxl_fail(res, WXPAY_ERR_TRANSPORT,
                            "transport: the connection closed after the request was sent and "
                            "before any answer (%s): the server may have executed it. Not resent "
                            "(a resend could run it twice): query the state before trying again",
                            url);
        }
        if (r->too_large) {
            return wxl_fail(res, WXPAY_ERR_TRANSPORT,
                            "transport: the answer is too large (body over %zu bytes or a header "
                            "over %zu bytes) (%s)",
                            WXL_BODY_MAX, WXL_HEADER_MAX, url);
        }
        return wxl_fail(res, WXPAY_ERR_TRANSPORT, "transport: %s (%s)%s%s",
                        curl_easy_strerror(r->curl_code), url, r->errbuf[0] != '\0' ? ": " : "",
                        r->errbuf);
    }
    res->http_status = r->status;
    if (r->hdr[WXL_H_REQUEST_ID].present) {
        wxl_copy(res->request_id, sizeof res->request_id, r->hdr[WXL_H_REQUEST_ID].value.ptr,
                 r->hdr[WXL_H_REQUEST_ID].value.len);
    }
    if (r->body.len > 0) {
        res->body = wxp_strndup(r->body.ptr, r->body.len);
        if (res->body == NULL) {
            return wxl_fail(res, WXPAY_ERR_TRANSPORT, "transport: out of memory (%s)", url);
        }
        res->body_len = r->body.len;
    }
    check_signature(c, r, res);

    if (r->status >= 200 && r->status < 300) {
        if (res->signature == WXPAY_SIG_UNSIGNED) {
            /* rule: a 2xx without a signature is forged or tampered with.
             * src: docs/protocol.md#response-verification */
            res->verify_failure = WXPAY_VF_MISSING_HEADER;
            snprintf(res->verify_detail, sizeof res->verify_detail,
                     "response has no Wechatpay-Signature header");
        }
        if (res->signature != WXPAY_SIG_VALID) {
            return wxl_fail(res, WXPAY_ERR_VERIFY,
                            "verification failed: %s; the answer must be treated as forged",
                            res->verify_detail);
        }
        /* Choice: an operation succeeds with its documented status only (terminate: 204 No
         * Content, src: docs/protocol.md#terminate-schema [D-TERM]; apply and the queries: 200
         * with a JSON body); any other 2xx, even a verified one, is not the documented success,
         * so it is reported as a WeChat-side surprise (kind WECHAT) rather than OK. A forged one
         * was caught above as VERIFY. */
        if (k->op != NULL && r->status != (long)k->op->success) {
            return wxl_fail(res, WXPAY_ERR_WECHAT, "unexpected HTTP %ld for %s (expected %u)",
                            r->status, k->op->name, k->op->success);
        }
        if (k->op != NULL && k->op->response != NULL) {
            return read_fields(k, r, res);
        }
        res->kind = WXPAY_OK;
        return WXPAY_OK;
    }

    copy_envelope(r, res, &is_env);
    if (!is_env) {
        return wxl_fail(res, WXPAY_ERR_WECHAT, "HTTP %ld (%s)%s%s", r->status,
                        r->body.len == 0 ? "empty body, no error envelope"
                                         : "the body is not an APIv3 error envelope",
                        res->signature == WXPAY_SIG_INVALID ? "; its signature does not verify: "
                                                            : "",
                        res->signature == WXPAY_SIG_INVALID ? res->verify_detail : "");
    }
    return wxl_fail(res, WXPAY_ERR_WECHAT, "HTTP %ld %s: %s%s%s", r->status, res->code,
                    res->message,
                    res->signature == WXPAY_SIG_INVALID ? "; its signature does not verify: " : "",
                    res->signature == WXPAY_SIG_INVALID ? res->verify_detail : "");
}

/* ---- sending, with retries -------------------------------------------------------------- */

/* Transport failures that fail the same way every time: not worth another try. */
static const CURLcode PERMANENT[] = {
    CURLE_UNSUPPORTED_PROTOCOL, CURLE_FAILED_INIT,           CURLE_URL_MALFORMAT,
    CURLE_OUT_OF_MEMORY,        CURLE_BAD_FUNCTION_ARGUMENT, CURLE_PEER_FAILED_VERIFICATION,
    CURLE_SSL_CACERT_BADFILE,   CURLE_SSL_CERTPROBLEM,
};

static bool transient_transport(CURLcode cc, bool too_large)
{
    if (too_large) {
        return false;
    }
    for (size_t i = 0; i < sizeof PERMANENT / sizeof PERMANENT[0]; i++) {
        if (PERMANENT[i] == cc) {
            return false;
        }
    }
    return true;
}

/* rule: retry 429, 5xx and transport failures; never LOCAL, never a verification failure.
 * Choice: an error answer whose signature is present but invalid is not retried either (the
 * peer may be an impostor). src: wxpay.h struct wxpay_retry */
static bool should_retry(const struct wxpay_result *res, const struct wxl_response *r)
{
    switch (res->kind) {
    case WXPAY_ERR_TRANSPORT:
        /* Not after an outcome that is not known: the request may have been executed. */
        return res->http_status == 0 && !r->resend_refused &&
               transient_transport(r->curl_code, r->too_large);
    case WXPAY_ERR_WECHAT:
        return (res->http_status == 429 || res->http_status >= 500) &&
               res->signature != WXPAY_SIG_INVALID;
    case WXPAY_OK:
    case WXPAY_ERR_LOCAL:
    case WXPAY_ERR_VERIFY:
    case WXPAY_ERR_NOTIFY:
        return false;
    }
    return false;
}

/* Full jitter: uniform(0, min(max, base * 2^n)) milliseconds, from OpenSSL's CSPRNG. */
static long backoff_ms(const struct wxpay_retry *rt, unsigned n)
{
    long ceiling = rt->base_delay_ms;
    uint64_t rnd = 0;
    unsigned char b[8];

    for (unsigned i = 0; i < n && ceiling < rt->max_delay_ms; i++) {
        ceiling = ceiling > rt->max_delay_ms / 2 ? rt->max_delay_ms : ceiling * 2;
    }
    if (ceiling > rt->max_delay_ms) {
        ceiling = rt->max_delay_ms;
    }
    if (ceiling <= 0) {
        return 0;
    }
    if (RAND_bytes(b, (int)sizeof b) != 1) {
        return ceiling;
    }
    for (size_t i = 0; i < sizeof b; i++) {
        rnd = (rnd << 8) | b[i];
    }
    return (long)(rnd % ((uint64_t)ceiling + 1));
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* One attempt: fresh timestamp and nonce, sign, send, classify. */
static enum wxpay_result_kind attempt(struct wxpay_client *c, const struct call *k, const char *url,
                                      struct wxl_response *r, struct wxpay_result *res)
{
    struct wxp_buf authz;
    struct wxp_buf sigstr;
    struct wxp_buf line[5];
    const char *lines[6] = {NULL};
    char nonce[WXP_NONCE_LEN + 1];
    size_t n = 0;
    struct wxp_err err;
    enum wxpay_result_kind kind;
    enum wxp_code rc = WXP_OK;
    bool content_type = k->has_body || strcmp(k->method, "POST") == 0 ||
                        strcmp(k->method, "PUT") == 0 || strcmp(k->method, "PATCH") == 0;

    wxp_buf_init(&authz, HEADER_LINE_MAX);
    wxp_buf_init(&sigstr, WXP_SIGNMSG_MAX);
    for (size_t i = 0; i < sizeof line / sizeof line[0]; i++) {
        wxp_buf_init(&line[i], HEADER_LINE_MAX);
    }
    wxp_err_clear(&err);
    if (wxp_nonce(nonce, &err) != WXP_OK) {
        kind = wxl_fail(res, WXPAY_ERR_LOCAL, "nonce: %s", err.msg);
        goto out;
    }
    kind = sign_call(c, k, (int64_t)time(NULL), nonce, &authz, &sigstr, res);
    if (kind != WXPAY_OK) {
        goto out;
    }
    wxl_trace(c, "signing-string", wxp_buf_cstr(&sigstr), sigstr.len);
    /* Kept for wxpay_sign_diagnose; both buffers have the same cap, so this cannot fail. */
    wxp_buf_reset(&c->last_signed);
    if (wxp_buf_add(&c->last_signed, sigstr.ptr, sigstr.len) != WXP_OK) {
        wxp_buf_reset(&c->last_signed);
    }

    /* rule: Authorization, Accept: application/json and a User-Agent on every call;
     * Content-Type: application/json on a request that carries a body (or a POST, PUT, PATCH),
     * never on a GET without one (the official table lists only Accept for the query GETs);
     * Wechatpay-Serial names the key we verify with. src: docs/mock-server.md#checking-order
     * ([D-TERM], [C-UA]), docs/protocol.md#permissions-query-by-code ([D-GETCODE]),
     * docs/protocol.md#authorization-header, [D-ECHO] */
    rc = wxp_buf_addf(&line[n++], "Authorization: %s", wxp_buf_cstr(&authz));
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(&line[n++], "Accept: application/json");
    }
    if (rc == WXP_OK && content_type) {
        rc = wxp_buf_addstr(&line[n++], "Content-Type: application/json");
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(&line[n++], "User-Agent: %s", c->user_agent);
    }
    if (rc == WXP_OK && c->accept_serial[0] != '\0') {
        rc = wxp_buf_addf(&line[n++], "Wechatpay-Serial: %s", c->accept_serial);
    }
    if (rc != WXP_OK) {
        kind = wxl_fail(res, WXPAY_ERR_LOCAL, "headers: %s", wxp_code_desc(rc));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        lines[i] = wxp_buf_cstr(&line[i]);
    }
    {
        struct wxl_request req = {k->method, url, lines, k->has_body ? k->body.ptr : NULL,
                                  k->body.len};
        (void)wxl_http_perform(c, &req, r);
    }
    kind = classify(c, k, r, url, res);
out:
    for (size_t i = 0; i < sizeof line / sizeof line[0]; i++) {
        wxp_buf_free(&line[i]);
    }
    wxp_buf_free(&sigstr);
    wxp_buf_free(&authz);
    return kind;
}

/* auto_certificates: a download before the first call and when one is due. */
enum wxpay_result_kind wxl_certs_auto_before(struct wxpay_client *c, struct wxpay_result *res)
{
    char why[sizeof res->error];

    if (!c->auto_certs || c->in_refresh ||
        (c->certs_loaded && (long long)time(NULL) < c->certs_due)) {
        return WXPAY_OK;
    }
    if (wxl_certs_refresh(c, res) == WXPAY_OK) {
        wxpay_result_free(res);
        return WXPAY_OK;
    }
    wxl_copy(why, sizeof why, res->error, strlen(res->error));
    return wxl_fail(res, res->kind, "auto_certificates: the certificate download failed: %s", why);
}

/* auto_certificates: a 2xx signed with a serial we do not know: download again (verified with
 * the keys we have) and, when that succeeds, verify the same answer once more. */
static enum wxpay_result_kind auto_after(struct wxpay_client *c, const struct call *k,
                                         const struct wxl_response *r, const char *url,
                                         enum wxpay_result_kind kind, struct wxpay_result *res)
{
    struct wxpay_result dl;

    if (!c->auto_certs || c->in_refresh || kind != WXPAY_ERR_VERIFY ||
        res->verify_failure != WXPAY_VF_UNKNOWN_SERIAL) {
        return kind;
    }
    if (wxl_certs_refresh(c, &dl) != WXPAY_OK) {
        wxpay_result_free(&dl);
        return kind; /* the answer stays unverifiable */
    }
    wxpay_result_free(&dl);
    wxpay_result_free(res);
    return classify(c, k, r, url, res);
}

static enum wxpay_result_kind send_call(struct wxpay_client *c, const struct call *k,
                                        struct wxpay_result *res)
{
    struct wxp_buf url;
    enum wxpay_result_kind kind;
    unsigned tries = 0;

    kind = wxl_certs_auto_before(c, res);
    if (kind != WXPAY_OK) {
        return kind;
    }

    wxp_buf_init(&url, TARGET_MAX + 2048);
    if (wxp_buf_addstr(&url, c->base_url) != WXP_OK ||
        wxp_buf_add(&url, k->target.ptr, k->target.len) != WXP_OK) {
        kind = wxl_fail(res, WXPAY_ERR_LOCAL, "the URL is too long");
        goto out;
    }
    for (;;) {
        struct wxl_response r;

        wxl_response_init(&r);
        kind = attempt(c, k, wxp_buf_cstr(&url), &r, res);
        kind = auto_after(c, k, &r, wxp_buf_cstr(&url), kind, res);
        /* A LOCAL failure (nonce, signing) sent nothing this time. */
        res->attempts = kind == WXPAY_ERR_LOCAL ? tries : tries + 1;
        if (tries >= c->retry.max_retries || !should_retry(res, &r)) {
            wxl_response_free(&r);
            break;
        }
        wxl_response_free(&r);
        sleep_ms(backoff_ms(&c->retry, tries));
        tries++;
        /* The next attempt's result replaces this one entirely. */
        wxpay_result_free(res);
    }
out:
    wxp_buf_free(&url);
    return kind;
}

/* ---- the public calls ------------------------------------------------------------------- */

/* Builds the request of `op` (NULL: look `operation` up by name) and sends it. */
static enum wxpay_result_kind run_call(struct wxpay_client *c, const struct wxp_op *op,
                                       const char *operation, const struct wxpay_param *params,
                                       size_t nparams, struct wxpay_fields *fields,
                                       struct wxpay_result *res)
{
    struct call k;
    enum wxpay_result_kind kind;

    wxl_result_reset(res);
    if (fields != NULL) {
        memset(fields, 0, sizeof *fields);
    }
    if (c == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "client: required");
    }
    wxp_buf_reset(&c->last_signed);
    call_init(&k, "POST");
    k.fields = fields;
    kind = build_named(op != NULL ? op->name : operation, params, nparams, &k, res);
    if (kind == WXPAY_OK) {
        kind = send_call(c, &k, res);
    }
    call_free(&k);
    return kind;
}

/* A typed call whose request struct is NULL. */
static enum wxpay_result_kind no_request(enum wxp_op_id id, struct wxpay_fields *fields,
                                         struct wxpay_result *res)
{
    wxl_result_reset(res);
    if (fields != NULL) {
        memset(fields, 0, sizeof *fields);
    }
    return wxl_fail(res, WXPAY_ERR_LOCAL, "%s: the request is required", WXP_OPS[id].name);
}

#define NPARAMS(p) (sizeof(p) / sizeof((p)[0]))

enum wxpay_result_kind wxpay_call(struct wxpay_client *c, const char *operation,
                                  const struct wxpay_param *params, size_t nparams,
                                  struct wxpay_fields *fields, struct wxpay_result *res)
{
    return run_call(c, NULL, operation, params, nparams, fields, res);
}

enum wxpay_result_kind wxpay_payscore_apply(struct wxpay_client *c, const struct wxpay_apply *a,
                                            struct wxpay_fields *fields, struct wxpay_result *res)
{
    const struct wxp_op *op = &WXP_OPS[WXP_OP_PERMISSIONS_APPLY];

    if (a == NULL) {
        return no_request(op->id, fields, res);
    }
    const struct wxpay_param p[] = {{"service_id", a->service_id},
                                    {"appid", a->appid},
                                    {"authorization_code", a->authorization_code},
                                    {"notify_url", a->notify_url}};
    return run_call(c, op, NULL, p, NPARAMS(p), fields, res);
}

enum wxpay_result_kind wxpay_payscore_query_by_code(struct wxpay_client *c,
                                                    const struct wxpay_query_by_code *q,
                                                    struct wxpay_fields *fields,
                                                    struct wxpay_result *res)
{
    const struct wxp_op *op = &WXP_OPS[WXP_OP_PERMISSIONS_QUERY_BY_CODE];

    if (q == NULL) {
        return no_request(op->id, fields, res);
    }
    const struct wxpay_param p[] = {{"authorization_code", q->authorization_code},
                                    {"service_id", q->service_id}};
    return run_call(c, op, NULL, p, NPARAMS(p), fields, res);
}

enum wxpay_result_kind wxpay_payscore_query_by_openid(struct wxpay_client *c,
                                                      const struct wxpay_query_by_openid *q,
                                                      struct wxpay_fields *fields,
                                                      struct wxpay_result *res)
{
    const struct wxp_op *op = &WXP_OPS[WXP_OP_PERMISSIONS_QUERY_BY_OPENID];

    if (q == NULL) {
        return no_request(op->id, fields, res);
    }
    const struct wxpay_param p[] = {
        {"openid", q->openid}, {"appid", q->appid}, {"service_id", q->service_id}};
    return run_call(c, op, NULL, p, NPARAMS(p), fields, res);
}

enum wxpay_result_kind wxpay_payscore_terminate_by_code(struct wxpay_client *c,
                                                        const struct wxpay_terminate_by_code *t,
                                                        struct wxpay_result *res)
{
    const struct wxp_op *op = &WXP_OPS[WXP_OP_PERMISSIONS_TERMINATE_BY_CODE];

    if (t == NULL) {
        return no_request(op->id, NULL, res);
    }
    const struct wxpay_param p[] = {{"authorization_code", t->authorization_code},
                                    {"service_id", t->service_id},
                                    {"reason", t->reason}};
    return run_call(c, op, NULL, p, NPARAMS(p), NULL, res);
}

enum wxpay_result_kind wxpay_payscore_terminate(struct wxpay_client *c,
                                                const struct wxpay_terminate *t,
                                                struct wxpay_result *res)
{
    const struct wxp_op *op = &WXP_OPS[WXP_OP_PERMISSIONS_TERMINATE_BY_OPENID];

    if (t == NULL) {
        return no_request(op->id, NULL, res);
    }
    const struct wxpay_param p[] = {{"openid", t->openid},
                                    {"service_id", t->service_id},
                                    {"appid", t->appid},
                                    {"reason", t->reason}};
    return run_call(c, op, NULL, p, NPARAMS(p), NULL, res);
}

enum wxpay_result_kind wxpay_request(struct wxpay_client *c, const char *method, const char *path,
                                     const char *query, const char *json_body,
                                     struct wxpay_result *res)
{
    struct call k;
    enum wxpay_result_kind kind;

    wxl_result_reset(res);
    if (c == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "client: required");
    }
    wxp_buf_reset(&c->last_signed);
    call_init(&k, method);
    kind = build_request(method, path, query, json_body, &k, res);
    if (kind == WXPAY_OK) {
        kind = send_call(c, &k, res);
    }
    call_free(&k);
    return kind;
}

static char *dup_buf(const struct wxp_buf *b)
{
    return wxp_strndup(wxp_buf_cstr(b), b->len);
}

enum wxpay_result_kind wxpay_prepare(struct wxpay_client *c, const char *operation,
                                     const struct wxpay_param *params, size_t nparams,
                                     long long timestamp, const char *nonce,
                                     struct wxpay_prepared *out, struct wxpay_result *res)
{
    struct call k;
    struct wxp_buf authz;
    struct wxp_buf sigstr;
    struct wxp_err err;
    char fresh[WXP_NONCE_LEN + 1];
    enum wxpay_result_kind kind;

    wxl_result_reset(res);
    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    if (c == NULL || out == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "client and out are required");
    }
    if (timestamp < 0) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "timestamp: must not be negative");
    }
    call_init(&k, "POST");
    wxp_buf_init(&authz, HEADER_LINE_MAX);
    wxp_buf_init(&sigstr, WXP_SIGNMSG_MAX);
    kind = build_named(operation, params, nparams, &k, res);
    if (kind != WXPAY_OK) {
        goto out;
    }
    if (nonce == NULL) {
        wxp_err_clear(&err);
        if (wxp_nonce(fresh, &err) != WXP_OK) {
            kind = wxl_fail(res, WXPAY_ERR_LOCAL, "nonce: %s", err.msg);
            goto out;
        }
        nonce = fresh;
    }
    kind = sign_call(c, &k, (int64_t)timestamp, nonce, &authz, &sigstr, res);
    if (kind != WXPAY_OK) {
        goto out;
    }
    out->target = dup_buf(&k.target);
    out->body = dup_buf(&k.body);
    out->signing_string = dup_buf(&sigstr);
    out->authorization = dup_buf(&authz);
    if (out->target == NULL || out->body == NULL || out->signing_string == NULL ||
        out->authorization == NULL) {
        wxpay_prepared_free(out);
        kind = wxl_fail(res, WXPAY_ERR_LOCAL, "out of memory");
    }
out:
    wxp_buf_free(&sigstr);
    wxp_buf_free(&authz);
    call_free(&k);
    return kind;
}

enum wxpay_result_kind wxpay_prepare_terminate(struct wxpay_client *c,
                                               const struct wxpay_terminate *t, long long timestamp,
                                               const char *nonce, struct wxpay_prepared *out,
                                               struct wxpay_result *res)
{
    const struct wxp_op *op = &WXP_OPS[WXP_OP_PERMISSIONS_TERMINATE_BY_OPENID];

    if (t == NULL) {
        if (out != NULL) {
            memset(out, 0, sizeof *out);
        }
        return no_request(op->id, NULL, res);
    }
    const struct wxpay_param p[] = {{"openid", t->openid},
                                    {"service_id", t->service_id},
                                    {"appid", t->appid},
                                    {"reason", t->reason}};
    return wxpay_prepare(c, op->name, p, NPARAMS(p), timestamp, nonce, out, res);
}

void wxpay_prepared_free(struct wxpay_prepared *p)
{
    if (p == NULL) {
        return;
    }
    wxp_free(p->target);
    wxp_free(p->body);
    wxp_free(p->signing_string);
    wxp_free(p->authorization);
    memset(p, 0, sizeof *p);
}

/* ---- the table, for callers ------------------------------------------------------------- */

const char *wxpay_operation_name(size_t i)
{
    return i < WXP_OP_COUNT ? WXP_OPS[i].name : NULL;
}

int wxpay_operation_info(const char *operation, struct wxpay_operation_info *out)
{
    const struct wxp_op *op = op_named(operation);

    if (op == NULL || out == NULL) {
        return -1;
    }
    out->name = op->name;
    out->method = op->method;
    out->path = op->path;
    out->success = op->success;
    out->nparams = op->params->count;
    return 0;
}

int wxpay_operation_param(const char *operation, size_t i, struct wxpay_param_info *out)
{
    const struct wxp_op *op = op_named(operation);
    const struct wxp_field *f;

    if (op == NULL || out == NULL || i >= op->params->count) {
        return -1;
    }
    f = &op->params->fields[i];
    out->name = f->name;
    out->location = wxp_loc_name(f->loc);
    out->required = f->required ? 1 : 0;
    out->min = f->min;
    out->max = f->max;
    out->unit = f->unit == WXP_UNIT_CHARS ? "characters" : "bytes";
    charset_ranges(f, out->charset, sizeof out->charset);
    return 0;
}

const char *wxpay_fields_get(const struct wxpay_fields *f, const char *name)
{
    if (f == NULL || name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < f->count; i++) {
        if (strcmp(f->field[i].name, name) == 0) {
            return f->field[i].value;
        }
    }
    return NULL;
}

void wxpay_fields_free(struct wxpay_fields *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < f->count; i++) {
        wxp_free(f->field[i].value);
    }
    wxp_free(f->field);
    memset(f, 0, sizeof *f);
}
