/* SPDX-License-Identifier: MIT */
/* admin.c: the /__admin/ endpoints that tests use to inspect and steer the mock (journal, state,
 * scenarios, reset). JSON in and out, never signed. Reference: docs/mock-admin.md. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mock.h"
#include "wxp/envelope.h"
#include "wxp/json.h"
#include "wxp/query.h"

/* The scenario dump's cap (the journal's follows its byte budget, the state's is
 * MOCK_STATE_DOC_MAX). */
#define ADMIN_DUMP_MAX ((size_t)64 * 1024 * 1024)
/* Longest decoded query parameter value. */
#define QUERY_VALUE_MAX 256

/* ---- answers ----------------------------------------------------------------------------- */

/* An error envelope; `field` (may be NULL) goes into detail.field. Never fails: a message that
 * cannot be encoded is replaced by a fixed one. */
static void answer_error(struct mock_response *resp, unsigned status, const char *code,
                         const char *message, const char *field)
{
    struct wxp_buf detail;
    const char *dj = NULL;

    wxp_buf_init(&detail, 1024);
    if (field != NULL && field[0] != '\0' && wxp_buf_addstr(&detail, "{\"field\":") == WXP_OK &&
        wxp_json_quote(&detail, field, strlen(field), NULL) == WXP_OK &&
        wxp_buf_addstr(&detail, "}") == WXP_OK) {
        dj = detail.ptr;
    }
    if (mock_response_error(resp, status, code, message, dj) != WXP_OK &&
        mock_response_error(resp, status, code, "invalid admin request", NULL) != WXP_OK) {
        wxp_buf_reset(&resp->body);
        resp->status = status;
    }
    resp->sign = false;
    wxp_buf_free(&detail);
}

static void answer_empty(struct mock_response *resp, unsigned status)
{
    wxp_buf_reset(&resp->body);
    resp->status = status;
    resp->code[0] = '\0';
    resp->sign = false;
}

/* Sets the status of a body already written, or a 500 when writing it failed. */
static void answer_body(struct mock_response *resp, unsigned status, enum wxp_code rc)
{
    if (rc != WXP_OK) {
        answer_error(resp, 500, "SYSTEM_ERROR", wxp_code_desc(rc), NULL);
        return;
    }
    resp->status = status;
    resp->code[0] = '\0';
    resp->sign = false;
}

/* ---- token ------------------------------------------------------------------------------- */

/* Constant time over equal lengths; the length itself is not hidden. */
static bool secret_eq(const char *given, size_t len, const char *want)
{
    size_t n = strlen(want);
    return len == n && CRYPTO_memcmp(given, want, n) == 0;
}

/* Either `Authorization: Bearer <token>` or `X-Admin-Token: <token>`. A NULL or empty token in
 * the config leaves the admin API open. */
static bool token_ok(const struct mock_server *srv, const struct mock_request *req)
{
    const char *want = srv->cfg.admin_token;
    const char *x;
    const char *a;

    if (want == NULL || want[0] == '\0') {
        return true;
    }
    x = mock_request_header(req, "X-Admin-Token");
    if (x != NULL && secret_eq(x, strlen(x), want)) {
        return true;
    }
    a = mock_request_header(req, "Authorization");
    if (a != NULL && strlen(a) > 7 &&
        wxp_str_eq_nocase((struct wxp_str){a, 7}, WXP_STR_LIT("Bearer "))) {
        return secret_eq(a + 7, strlen(a + 7), want);
    }
    return false;
}

/* ---- query string ------------------------------------------------------------------------ */

/* Percent-decodes s[0..len) into dst (NUL-terminated). '+' stays '+'. False for a bad escape,
 * an encoded NUL, an empty value or one longer than cap - 1. */
static bool decode(struct wxp_str s, char *dst, size_t cap)
{
    size_t n = 0;
    return s.len > 0 && wxp_pct_decode(s, false, dst, cap, &n) && memchr(dst, '\0', n) == NULL;
}

struct req_query {
    char method[QUERY_VALUE_MAX];
    char path[QUERY_VALUE_MAX];
    char failed_check[QUERY_VALUE_MAX];
    char status[QUERY_VALUE_MAX];
    char limit[QUERY_VALUE_MAX];
};

/* Parses 1..9 digits. */
static bool parse_count(const char *s, unsigned long *out)
{
    unsigned long v = 0;
    size_t n = strlen(s);

    if (n == 0 || n > 9) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* Fills `f` from the query of GET /__admin/requests. On failure writes the message and the
 * offending parameter ("query.status") and returns false. */
static bool parse_filter(struct wxp_str query, struct req_query *q, struct mock_journal_filter *f,
                         char *msg, size_t msgcap, char *field, size_t fieldcap)
{
    struct {
        const char *name;
        char *dst;
        bool seen;
    } params[] = {
        {"method", q->method, false}, {"path", q->path, false},
        {"status", q->status, false}, {"failed_check", q->failed_check, false},
        {"limit", q->limit, false},
    };
    const size_t nparams = sizeof params / sizeof params[0];
    struct wxp_query pairs;
    unsigned long v;

    memset(f, 0, sizeof *f);
    if (wxp_query_parse(query, &pairs, NULL) != WXP_OK) {
        snprintf(field, fieldcap, "query");
        snprintf(msg, msgcap, "more than %d query parameters", WXP_QUERY_PAIRS_MAX);
        return false;
    }
    for (size_t i = 0; i < pairs.n; i++) {
        size_t k = 0;
        struct wxp_str name = pairs.pair[i].name;
        struct wxp_str value = pairs.pair[i].value;
        if (name.len == 0 && value.len == 0) {
            continue;
        }
        while (k < nparams && !wxp_str_eq(name, wxp_str_c(params[k].name))) {
            k++;
        }
        if (k == nparams) {
            snprintf(field, fieldcap, "query");
            snprintf(msg, msgcap,
                     "unknown query parameter; use method, path, status, "
                     "failed_check or limit");
            return false;
        }
        snprintf(field, fieldcap, "query.%s", params[k].name);
        if (params[k].seen) {
            snprintf(msg, msgcap, "query parameter %s is repeated", params[k].name);
            return false;
        }
        params[k].seen = true;
        if (!decode(value, params[k].dst, QUERY_VALUE_MAX)) {
            snprintf(msg, msgcap,
                     "query parameter %s is empty, badly percent-encoded or longer than %d bytes",
                     params[k].name, QUERY_VALUE_MAX - 1);
            return false;
        }
    }
    f->method = params[0].seen ? q->method : NULL;
    f->path = params[1].seen ? q->path : NULL;
    f->failed_check = params[3].seen ? q->failed_check : NULL;
    if (params[2].seen) {
        snprintf(field, fieldcap, "query.status");
        if (!parse_count(q->status, &v) || strlen(q->status) != 3 || v < 100 || v > 599) {
            snprintf(msg, msgcap, "status must be an HTTP status code, 100 to 599");
            return false;
        }
        f->status = (unsigned)v;
    }
    if (params[4].seen) {
        snprintf(field, fieldcap, "query.limit");
        if (!parse_count(q->limit, &v)) {
            snprintf(msg, msgcap, "limit must be a number of entries, 0 to 999999999");
            return false;
        }
        f->limit = (size_t)v;
    }
    return true;
}

/* ---- endpoints --------------------------------------------------------------------------- */

static void health(struct mock_server *srv, const struct mock_request *req, struct wxp_str query,
                   struct mock_response *resp)
{
    uint64_t seq;

    (void)req;
    (void)query;
    pthread_mutex_lock(&srv->seq_lock);
    seq = srv->seq;
    pthread_mutex_unlock(&srv->seq_lock);
    wxp_buf_reset(&resp->body);
    answer_body(resp, 200,
                wxp_buf_addf(&resp->body, "{\"status\":\"ok\",\"requests\":%" PRIu64 "}", seq));
}

static void requests_get(struct mock_server *srv, const struct mock_request *req,
                         struct wxp_str query, struct mock_response *resp)
{
    struct req_query q;
    struct mock_journal_filter f;
    char msg[200];
    char field[48];

    (void)req;
    if (!parse_filter(query, &q, &f, msg, sizeof msg, field, sizeof field)) {
        answer_error(resp, 400, "INVALID_REQUEST", msg, field);
        return;
    }
    wxp_buf_reset(&resp->body);
    resp->body.max = mock_journal_dump_max(srv->journal); /* the whole journal always fits */
    answer_body(resp, 200, mock_journal_dump(srv->journal, &f, &resp->body));
}

static void requests_delete(struct mock_server *srv, const struct mock_request *req,
                            struct wxp_str query, struct mock_response *resp)
{
    (void)req;
    (void)query;
    mock_journal_clear(srv->journal);
    answer_empty(resp, 204);
}

static void scenarios_get(struct mock_server *srv, const struct mock_request *req,
                          struct wxp_str query, struct mock_response *resp)
{
    (void)req;
    (void)query;
    wxp_buf_reset(&resp->body);
    resp->body.max = ADMIN_DUMP_MAX;
    answer_body(resp, 200, mock_scenarios_dump(srv->scenarios, &resp->body));
}

/* Rules in a scenario document the scenario module accepted: an array of rules or
 * {"rules":[...]}. */
static int count_rules(const char *json, size_t len)
{
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, NULL, 0);
    const cJSON *rules = root;
    int n;

    if (cJSON_IsObject(root)) {
        rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
    }
    n = cJSON_IsArray(rules) ? cJSON_GetArraySize(rules) : 0;
    cJSON_Delete(root);
    return n;
}

static void scenarios_post(struct mock_server *srv, const struct mock_request *req,
                           struct wxp_str query, struct mock_response *resp)
{
    struct wxp_err err;
    const char *body = wxp_buf_cstr(&req->body);

    (void)query;
    wxp_err_clear(&err);
    if (mock_scenarios_add_json(srv->scenarios, body, req->body.len, "admin", &err) != WXP_OK) {
        answer_error(resp, 400, "INVALID_REQUEST", err.msg[0] ? err.msg : "invalid scenario",
                     err.field);
        return;
    }
    wxp_buf_reset(&resp->body);
    answer_body(resp, 201,
                wxp_buf_addf(&resp->body, "{\"added\":%d}", count_rules(body, req->body.len)));
}

static void scenarios_delete(struct mock_server *srv, const struct mock_request *req,
                             struct wxp_str query, struct mock_response *resp)
{
    (void)req;
    (void)query;
    mock_scenarios_clear(srv->scenarios);
    answer_empty(resp, 204);
}

/* Reads ?limit=&offset= of GET /__admin/state (both optional, 0..999999999; limit 0 = all).
 * On failure writes the message and the offending parameter and returns false. */
static bool parse_page(struct wxp_str query, size_t *offset, size_t *limit, char *msg,
                       size_t msgcap, char *field, size_t fieldcap)
{
    const char *names[] = {"limit", "offset"};
    size_t *dst[] = {limit, offset};
    bool seen[] = {false, false};
    struct wxp_query pairs;

    *offset = 0;
    *limit = 0;
    if (wxp_query_parse(query, &pairs, NULL) != WXP_OK) {
        snprintf(field, fieldcap, "query");
        snprintf(msg, msgcap, "more than %d query parameters", WXP_QUERY_PAIRS_MAX);
        return false;
    }
    for (size_t i = 0; i < pairs.n; i++) {
        struct wxp_str name = pairs.pair[i].name;
        char value[QUERY_VALUE_MAX];
        unsigned long v;
        size_t k = 0;
        if (name.len == 0 && pairs.pair[i].value.len == 0) {
            continue;
        }
        while (k < 2 && !wxp_str_eq(name, wxp_str_c(names[k]))) {
            k++;
        }
        if (k == 2) {
            snprintf(field, fieldcap, "query");
            snprintf(msg, msgcap, "unknown query parameter; use limit or offset");
            return false;
        }
        snprintf(field, fieldcap, "query.%s", names[k]);
        if (seen[k]) {
            snprintf(msg, msgcap, "query parameter %s is repeated", names[k]);
            return false;
        }
        seen[k] = true;
        if (!decode(pairs.pair[i].value, value, sizeof value) || !parse_count(value, &v)) {
            snprintf(msg, msgcap, "%s must be a number of records, 0 to 999999999", names[k]);
            return false;
        }
        *dst[k] = (size_t)v;
    }
    return true;
}

/* GET /__admin/state[?limit=&offset=]: a page of the dump. An answer over MOCK_STATE_DOC_MAX is
 * refused with the record count and the parameters that page it, never cut. */
static void state_get(struct mock_server *srv, const struct mock_request *req, struct wxp_str query,
                      struct mock_response *resp)
{
    size_t offset;
    size_t limit;
    size_t total = 0;
    char msg[300];
    char field[48];
    enum wxp_code rc;

    (void)req;
    if (!parse_page(query, &offset, &limit, msg, sizeof msg, field, sizeof field)) {
        answer_error(resp, 400, "INVALID_REQUEST", msg, field);
        return;
    }
    wxp_buf_reset(&resp->body);
    resp->body.max = MOCK_STATE_DOC_MAX;
    rc = mock_state_dump_page(srv->state, offset, limit, &resp->body, &total);
    if (rc == WXP_E_TOO_LARGE) {
        snprintf(msg, sizeof msg,
                 "the state holds %zu records, and this answer would exceed the %zu MiB a "
                 "state document may hold; page it with ?limit=N&offset=K "
                 "(e.g. ?limit=10000&offset=%zu)",
                 total, MOCK_STATE_DOC_MAX >> 20, offset);
        answer_error(resp, 400, "INVALID_REQUEST", msg, "query.limit");
        return;
    }
    answer_body(resp, 200, rc);
}

static void state_put(struct mock_server *srv, const struct mock_request *req, struct wxp_str query,
                      struct mock_response *resp)
{
    struct wxp_err err;

    (void)query;
    wxp_err_clear(&err);
    if (mock_state_load_json(srv->state, wxp_buf_cstr(&req->body), req->body.len, &err) != WXP_OK) {
        answer_error(resp, 400, "INVALID_REQUEST", err.msg[0] ? err.msg : "invalid state",
                     err.field);
        return;
    }
    answer_empty(resp, 204);
}

/* Back to the start: records from the config, and no journal, nonces or scenarios. Scenarios
 * loaded at start-up with --scenario are cleared too, not reloaded. */
static void reset(struct mock_server *srv, const struct mock_request *req, struct wxp_str query,
                  struct mock_response *resp)
{
    (void)req;
    (void)query;
    mock_state_reset(srv->state);
    mock_platform_reset(srv);
    mock_journal_clear(srv->journal);
    mock_scenarios_clear(srv->scenarios);
    mock_nonces_clear(srv->nonces);
    mock_notify_clear(srv);
    answer_empty(resp, 204);
}

/* POST /__admin/platform/rotate: the next platform certificate signs from now on.
 * docs/mock-admin.md#platform-rotate */
static void platform_rotate(struct mock_server *srv, const struct mock_request *req,
                            struct wxp_str query, struct mock_response *resp)
{
    const struct mock_platform *old = mock_platform_current(srv);
    char previous[WXP_KEY_ID_MAX + 1];
    const struct mock_platform *now;
    enum wxp_code rc;

    (void)req;
    (void)query;
    snprintf(previous, sizeof previous, "%s", old->id);
    now = mock_platform_rotate(srv, (int64_t)time(NULL));
    if (now == NULL) {
        answer_error(resp, 409, "CONFLICT",
                     "no further platform certificate valid now to rotate to "
                     "(platform.certificates in the config)",
                     NULL);
        return;
    }
    wxp_buf_reset(&resp->body);
    rc = wxp_buf_addstr(&resp->body, "{\"serial_no\":");
    if (rc == WXP_OK) {
        rc = wxp_json_quote(&resp->body, now->id, strlen(now->id), NULL);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(&resp->body, ",\"previous\":");
    }
    if (rc == WXP_OK) {
        rc = wxp_json_quote(&resp->body, previous, strlen(previous), NULL);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(&resp->body, "}");
    }
    answer_body(resp, 200, rc);
}

/* ---- the user's side of the Pay Score permissions lifecycle ------------------------------- */

/* The members of a user-accept or user-close body. */
struct user_body {
    char service_id[MOCK_ID_MAX + 1];
    char openid[MOCK_ID_MAX + 1];
    char appid[MOCK_ID_MAX + 1];
    char code[MOCK_CODE_MAX + 1];
    char mchid[32];
    bool has_code;
};

/* Reads a strict JSON object whose members are the rows of `rows` (all strings); unknown or
 * repeated members are refused. On failure answers 400 naming the member and returns false. */
static bool read_user_body(struct mock_server *srv, const struct mock_request *req, bool accept,
                           struct user_body *b, struct mock_response *resp)
{
    struct {
        const char *name;
        char *dst;
        size_t cap;
        bool required;
        bool accept_only;
    } rows[] = {
        {"service_id", b->service_id, sizeof b->service_id, true, false},
        {"openid", b->openid, sizeof b->openid, true, false},
        {"appid", b->appid, sizeof b->appid, false, true},
        {"authorization_code", b->code, sizeof b->code, false, true},
        {"mchid", b->mchid, sizeof b->mchid, false, false},
    };
    const size_t nrows = sizeof rows / sizeof rows[0];
    bool seen[sizeof rows / sizeof rows[0]] = {false};
    const char *body = wxp_buf_cstr(&req->body);
    cJSON *root = NULL;
    char msg[200];
    char field[64];
    bool ok = false;

    memset(b, 0, sizeof *b);
    if (wxp_json_check(body, req->body.len, NULL, NULL) != WXP_OK ||
        (root = cJSON_ParseWithLengthOpts(body, req->body.len, NULL, 0)) == NULL ||
        !cJSON_IsObject(root)) {
        answer_error(resp, 400, "INVALID_REQUEST", "the body must be a JSON object", "body");
        goto out;
    }
    for (const cJSON *m = root->child; m != NULL; m = m->next) {
        size_t k = 0;
        size_t n;
        while (k < nrows &&
               (strcmp(rows[k].name, m->string) != 0 || (rows[k].accept_only && !accept))) {
            k++;
        }
        if (k == nrows) {
            snprintf(field, sizeof field, "%.40s", m->string);
            snprintf(msg, sizeof msg, "%s is not a member of this request; see docs/mock-admin.md",
                     field);
            answer_error(resp, 400, "INVALID_REQUEST", msg, field);
            goto out;
        }
        if (seen[k]) {
            snprintf(msg, sizeof msg, "%s appears twice", rows[k].name);
            answer_error(resp, 400, "INVALID_REQUEST", msg, rows[k].name);
            goto out;
        }
        seen[k] = true;
        n = cJSON_IsString(m) ? strlen(m->valuestring) : 0;
        if (!cJSON_IsString(m) || n == 0 || n >= rows[k].cap) {
            snprintf(msg, sizeof msg, "%s must be a string of 1 to %zu bytes", rows[k].name,
                     rows[k].cap - 1);
            answer_error(resp, 400, "INVALID_REQUEST", msg, rows[k].name);
            goto out;
        }
        memcpy(rows[k].dst, m->valuestring, n + 1);
    }
    for (size_t k = 0; k < nrows; k++) {
        if (rows[k].required && !seen[k]) {
            snprintf(msg, sizeof msg, "%s is required", rows[k].name);
            answer_error(resp, 400, "INVALID_REQUEST", msg, rows[k].name);
            goto out;
        }
    }
    b->has_code = seen[3];
    /* mchid defaults to the default merchant, the first configured one. */
    if (!seen[4]) {
        if (srv->cfg.nmerchants == 0) {
            answer_error(resp, 400, "INVALID_REQUEST", "mchid is required: no merchant configured",
                         "mchid");
            goto out;
        }
        memcpy(b->mchid, srv->cfg.merchants[0].mchid, sizeof b->mchid);
    }
    ok = true;
out:
    cJSON_Delete(root);
    return ok;
}

/* The state holds MOCK_STATE_RECORDS_MAX records (or memory ran out). */
static void answer_full(struct mock_response *resp)
{
    char msg[200];

    snprintf(msg, sizeof msg,
             "the authorization state is full (its cap is %zu records); POST /__admin/reset or "
             "PUT /__admin/state makes room",
             MOCK_STATE_RECORDS_MAX);
    answer_error(resp, 500, "SYSTEM_ERROR", msg, NULL);
}

/* 200 with the record as the state dump writes it. */
static void answer_record(struct mock_response *resp, const struct mock_record *r)
{
    wxp_buf_reset(&resp->body);
    answer_body(resp, 200, mock_state_record_json(&resp->body, r));
}

static void user_accept(struct mock_server *srv, const struct mock_request *req,
                        struct wxp_str query, struct mock_response *resp)
{
    struct user_body b;
    struct mock_record r;
    enum mock_st st;

    (void)query;
    if (!read_user_body(srv, req, true, &b, resp)) {
        return;
    }
    st = mock_state_user_accept(srv->state, b.mchid, b.service_id, b.openid,
                                b.appid[0] ? b.appid : NULL, b.has_code ? b.code : NULL,
                                (int64_t)time(NULL), &r);
    switch (st) {
    case MOCK_ST_OK:
        mock_notify_user_event(srv, MOCK_USER_OPEN_SERVICE, &r);
        answer_record(resp, &r);
        break;
    case MOCK_ST_NOT_FOUND:
        answer_error(resp, 404, "NOT_FOUND",
                     "no pre-authorization with this authorization_code for this mchid and "
                     "service_id (POST /v3/payscore/permissions makes one)",
                     "authorization_code");
        break;
    case MOCK_ST_STATE:
        answer_error(resp, 409, "CONFLICT",
                     "this authorization_code is already bound to a user (not UNBINDUSER)",
                     "authorization_code");
        break;
    case MOCK_ST_AVAILABLE:
        answer_error(resp, 409, "CONFLICT",
                     "this openid is already AVAILABLE for this mchid and service_id", "openid");
        break;
    case MOCK_ST_EXPIRED:
        answer_error(resp, 409, "CONFLICT",
                     "the apply_permissions_token of this pre-authorization has expired (1 hour)",
                     "authorization_code");
        break;
    case MOCK_ST_DUPLICATE:
    case MOCK_ST_FULL:
        answer_full(resp);
        break;
    }
}

static void user_close(struct mock_server *srv, const struct mock_request *req,
                       struct wxp_str query, struct mock_response *resp)
{
    struct user_body b;
    struct mock_record r;

    (void)query;
    if (!read_user_body(srv, req, false, &b, resp)) {
        return;
    }
    switch (mock_state_user_close(srv->state, b.mchid, b.service_id, b.openid, (int64_t)time(NULL),
                                  &r)) {
    case MOCK_ST_OK:
        mock_notify_user_event(srv, MOCK_USER_CLOSE_SERVICE, &r);
        answer_record(resp, &r);
        break;
    case MOCK_ST_STATE:
        answer_error(resp, 409, "CONFLICT",
                     "this authorization is not AVAILABLE, so the user cannot close it", "openid");
        break;
    case MOCK_ST_NOT_FOUND:
    case MOCK_ST_AVAILABLE:
    case MOCK_ST_DUPLICATE:
    case MOCK_ST_EXPIRED:
    case MOCK_ST_FULL:
        answer_error(resp, 404, "NOT_FOUND",
                     "no authorization for this openid, mchid and service_id", "openid");
        break;
    }
}

/* ---- notifications (docs/notifications.md#admin-api) ------------------------------------ */

/* GET /__admin/notifications[?limit=N]: every notification with its attempts. */
static void notifications_get(struct mock_server *srv, const struct mock_request *req,
                              struct wxp_str query, struct mock_response *resp)
{
    struct wxp_query pairs;
    char v[QUERY_VALUE_MAX];
    unsigned long limit = 0;

    (void)req;
    if (wxp_query_parse(query, &pairs, NULL) != WXP_OK) {
        answer_error(resp, 400, "INVALID_REQUEST", "too many query parameters", "query");
        return;
    }
    for (size_t i = 0; i < pairs.n; i++) {
        if (pairs.pair[i].name.len == 0 && pairs.pair[i].value.len == 0) {
            continue;
        }
        if (!wxp_str_eq(pairs.pair[i].name, WXP_STR_LIT("limit")) ||
            !decode(pairs.pair[i].value, v, sizeof v) || !parse_count(v, &limit)) {
            answer_error(resp, 400, "INVALID_REQUEST",
                         "the only query parameter is limit, a number 0 to 999999999",
                         "query.limit");
            return;
        }
    }
    wxp_buf_reset(&resp->body);
    resp->body.max = ADMIN_DUMP_MAX;
    answer_body(resp, 200, mock_notify_dump(srv, (size_t)limit, &resp->body));
}

static void notifications_delete(struct mock_server *srv, const struct mock_request *req,
                                 struct wxp_str query, struct mock_response *resp)
{
    (void)req;
    (void)query;
    mock_notify_clear(srv);
    answer_empty(resp, 204);
}

/* A strict JSON object for the notification endpoints, or NULL after answering 400. */
static cJSON *admin_object(const struct mock_request *req, struct mock_response *resp)
{
    const char *body = wxp_buf_cstr(&req->body);
    cJSON *root = NULL;

    if (wxp_json_check(body, req->body.len, NULL, NULL) != WXP_OK ||
        (root = cJSON_ParseWithLengthOpts(body, req->body.len, NULL, 0)) == NULL ||
        !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        answer_error(resp, 400, "INVALID_REQUEST", "the body must be a JSON object", "body");
        return NULL;
    }
    return root;
}

/* A member of `root` described by a row: a string of 1..cap-1 bytes, an integer lo..hi, or (for
 * "resource") an object. */
enum mtype { M_STR, M_INT, M_OBJ };
struct mrow {
    const char *name;
    enum mtype type;
    size_t cap; /* M_STR: bytes + 1 */
    long lo, hi;
    const cJSON *found;
};

/* Checks every member of root against rows (unknown, repeated, mistyped: 400). */
static bool admin_members(const cJSON *root, struct mrow *rows, size_t nrows,
                          struct mock_response *resp)
{
    char msg[200];

    for (const cJSON *m = root->child; m != NULL; m = m->next) {
        size_t k = 0;
        bool ok;
        while (k < nrows && strcmp(rows[k].name, m->string) != 0) {
            k++;
        }
        if (k == nrows) {
            snprintf(msg, sizeof msg,
                     "%.40s is not a member of this request; see "
                     "docs/notifications.md#admin-api",
                     m->string);
            answer_error(resp, 400, "INVALID_REQUEST", msg, "body");
            return false;
        }
        if (rows[k].found != NULL) {
            snprintf(msg, sizeof msg, "%s appears twice", rows[k].name);
            answer_error(resp, 400, "INVALID_REQUEST", msg, rows[k].name);
            return false;
        }
        rows[k].found = m;
        switch (rows[k].type) {
        case M_STR:
            ok = cJSON_IsString(m) && m->valuestring[0] != '\0' &&
                 strlen(m->valuestring) < rows[k].cap;
            snprintf(msg, sizeof msg, "%s must be a string of 1 to %zu bytes", rows[k].name,
                     rows[k].cap - 1);
            break;
        case M_INT:
            ok = cJSON_IsNumber(m) && m->valuedouble >= (double)rows[k].lo &&
                 m->valuedouble <= (double)rows[k].hi &&
                 m->valuedouble == (double)(long)m->valuedouble;
            snprintf(msg, sizeof msg, "%s must be an integer, %ld to %ld", rows[k].name, rows[k].lo,
                     rows[k].hi);
            break;
        case M_OBJ:
        default:
            ok = cJSON_IsObject(m);
            snprintf(msg, sizeof msg, "%s must be a JSON object", rows[k].name);
            break;
        }
        if (!ok) {
            answer_error(resp, 400, "INVALID_REQUEST", msg, rows[k].name);
            return false;
        }
    }
    return true;
}

static const char *row_str(const struct mrow *r)
{
    return r->found != NULL ? r->found->valuestring : NULL;
}

/* A fault name and its delay_ms (required for "delay", refused otherwise); 400 on failure. */
static bool admin_fault(const struct mrow *fault, const struct mrow *delay, enum mock_nfault *f,
                        long *delay_ms, struct mock_response *resp)
{
    *f = MOCK_NF_NONE;
    *delay_ms = 0;
    if (fault->found != NULL && !mock_nfault_parse(fault->found->valuestring, f)) {
        answer_error(resp, 400, "INVALID_REQUEST",
                     "fault must be one of signtest, stale_timestamp, unknown_serial, "
                     "tampered_ciphertext, tampered_tag, wrong_algorithm, no_signature_type, "
                     "duplicate, out_of_order, delay",
                     "fault");
        return false;
    }
    if ((*f == MOCK_NF_DELAY) != (delay->found != NULL)) {
        answer_error(resp, 400, "INVALID_REQUEST",
                     "delay_ms goes with the fault \"delay\", and only with it", "delay_ms");
        return false;
    }
    *delay_ms = delay->found != NULL ? (long)delay->found->valuedouble : 0;
    return true;
}

/* POST /__admin/notifications: sends one notification now, or `count` of them built from the same
 * body (docs/notifications.md#admin-api). */
static void notifications_post(struct mock_server *srv, const struct mock_request *req,
                               struct wxp_str query, struct mock_response *resp)
{
    enum {
        R_EVENT,
        R_SUMMARY,
        R_RESOURCE,
        R_PLAINTEXT,
        R_URL,
        R_MCHID,
        R_ID,
        R_OTYPE,
        R_AD,
        R_FAULT,
        R_DELAY,
        R_COUNT,
        R_N
    };
    struct mrow rows[R_N] = {
        [R_EVENT] = {"event_type", M_STR, 65, 0, 0, NULL},
        [R_SUMMARY] = {"summary", M_STR, 257, 0, 0, NULL},
        [R_RESOURCE] = {"resource", M_OBJ, 0, 0, 0, NULL},
        [R_PLAINTEXT] = {"plaintext", M_STR, 8193, 0, 0, NULL},
        [R_URL] = {"url", M_STR, MOCK_URL_MAX + 1, 0, 0, NULL},
        [R_MCHID] = {"mchid", M_STR, 32, 0, 0, NULL},
        [R_ID] = {"id", M_STR, 64, 0, 0, NULL},
        [R_OTYPE] = {"original_type", M_STR, 65, 0, 0, NULL},
        [R_AD] = {"associated_data", M_STR, 257, 0, 0, NULL},
        [R_FAULT] = {"fault", M_STR, 32, 0, 0, NULL},
        [R_DELAY] = {"delay_ms", M_INT, 0, 0, 60000, NULL},
        [R_COUNT] = {"count", M_INT, 0, 1, MOCK_NOTIFY_BATCH_MAX, NULL},
    };
    struct mock_notify_req rq;
    cJSON *root;
    char *printed = NULL;
    char why[200];
    char id[64];
    uint64_t n = 0;

    (void)query;
    root = admin_object(req, resp);
    if (root == NULL || !admin_members(root, rows, R_N, resp)) {
        goto out;
    }
    if (rows[R_EVENT].found == NULL || rows[R_SUMMARY].found == NULL) {
        answer_error(resp, 400, "INVALID_REQUEST", "event_type and summary are required",
                     rows[R_EVENT].found == NULL ? "event_type" : "summary");
        goto out;
    }
    if ((rows[R_RESOURCE].found == NULL) == (rows[R_PLAINTEXT].found == NULL)) {
        answer_error(resp, 400, "INVALID_REQUEST",
                     "give exactly one of resource (an object, encrypted as JSON) or plaintext "
                     "(a string, encrypted as it is)",
                     "resource");
        goto out;
    }
    memset(&rq, 0, sizeof rq);
    rq.count = rows[R_COUNT].found != NULL ? (unsigned)rows[R_COUNT].found->valuedouble : 1;
    if (rq.count > 1 && rows[R_ID].found != NULL) {
        answer_error(resp, 400, "INVALID_REQUEST",
                     "id names one notification: leave it out when count is more than 1 (each "
                     "then gets a fresh id)",
                     "id");
        goto out;
    }
    if (!admin_fault(&rows[R_FAULT], &rows[R_DELAY], &rq.fault, &rq.delay_ms, resp)) {
        goto out;
    }
    if (rows[R_RESOURCE].found != NULL) {
        printed = cJSON_PrintUnformatted(rows[R_RESOURCE].found);
        if (printed == NULL) {
            answer_error(resp, 500, "SYSTEM_ERROR", "out of memory", NULL);
            goto out;
        }
        rq.plaintext = wxp_str_c(printed);
    } else {
        rq.plaintext = wxp_str_c(row_str(&rows[R_PLAINTEXT]));
    }
    rq.event_type = row_str(&rows[R_EVENT]);
    rq.summary = row_str(&rows[R_SUMMARY]);
    rq.url = row_str(&rows[R_URL]);
    rq.mchid = row_str(&rows[R_MCHID]);
    rq.id = row_str(&rows[R_ID]);
    rq.original_type = row_str(&rows[R_OTYPE]);
    rq.associated_data = row_str(&rows[R_AD]);
    id[0] = '\0';
    switch (mock_notify_send(srv, &rq, &n, id, why, sizeof why)) {
    case MOCK_NSENT_QUEUED:
        wxp_buf_reset(&resp->body);
        answer_body(resp, 201,
                    wxp_buf_addf(&resp->body, "{\"n\":%llu,\"id\":\"%s\",\"count\":%u}",
                                 (unsigned long long)n, id, rq.count));
        break;
    case MOCK_NSENT_NO_URL:
    case MOCK_NSENT_REMOTE:
    case MOCK_NSENT_BAD_URL:
        answer_error(resp, 400, "INVALID_REQUEST", why, "url");
        break;
    case MOCK_NSENT_FULL:
        answer_error(resp, 503, "SYSTEM_ERROR", why, NULL);
        break;
    case MOCK_NSENT_NO_CURL:
        answer_error(resp, 500, "SYSTEM_ERROR", why, NULL);
        break;
    case MOCK_NSENT_MERCHANT:
        answer_error(resp, 400, "INVALID_REQUEST", why, "mchid");
        break;
    case MOCK_NSENT_ERROR:
    default:
        answer_error(resp, 400, "INVALID_REQUEST", why, "resource");
        break;
    }
out:
    cJSON_free(printed);
    cJSON_Delete(root);
}

/* POST /__admin/notifications/faults: the next `count` notifications carry a fault. */
static void notification_faults_post(struct mock_server *srv, const struct mock_request *req,
                                     struct wxp_str query, struct mock_response *resp)
{
    enum { R_FAULT, R_COUNT, R_DELAY, R_N };
    struct mrow rows[R_N] = {
        [R_FAULT] = {"fault", M_STR, 32, 0, 0, NULL},
        [R_COUNT] = {"count", M_INT, 0, 1, 1000, NULL},
        [R_DELAY] = {"delay_ms", M_INT, 0, 0, 60000, NULL},
    };
    enum mock_nfault f;
    long delay_ms;
    unsigned count;
    cJSON *root;

    (void)query;
    root = admin_object(req, resp);
    if (root == NULL || !admin_members(root, rows, R_N, resp)) {
        goto out;
    }
    if (rows[R_FAULT].found == NULL) {
        answer_error(resp, 400, "INVALID_REQUEST", "fault is required", "fault");
        goto out;
    }
    if (!admin_fault(&rows[R_FAULT], &rows[R_DELAY], &f, &delay_ms, resp)) {
        goto out;
    }
    count = rows[R_COUNT].found != NULL ? (unsigned)rows[R_COUNT].found->valuedouble : 1;
    if (!mock_notify_fault_next(srv, f, count, delay_ms)) {
        answer_error(resp, 409, "CONFLICT", "16 fault rules are already waiting", NULL);
        goto out;
    }
    wxp_buf_reset(&resp->body);
    answer_body(resp, 201, wxp_buf_addf(&resp->body, "{\"added\":%u}", count));
out:
    cJSON_Delete(root);
}

/* One row per (path, method); rows of one path are adjacent. */
static const struct route {
    const char *path;
    const char *method;
    bool has_body;
    void (*fn)(struct mock_server *srv, const struct mock_request *req, struct wxp_str query,
               struct mock_response *resp);
} ROUTES[] = {
    {"/__admin/health", "GET", false, health},
    {"/__admin/requests", "GET", false, requests_get},
    {"/__admin/requests", "DELETE", false, requests_delete},
    {"/__admin/scenarios", "GET", false, scenarios_get},
    {"/__admin/scenarios", "POST", true, scenarios_post},
    {"/__admin/scenarios", "DELETE", false, scenarios_delete},
    {"/__admin/state", "GET", false, state_get},
    {"/__admin/state", "PUT", true, state_put},
    {"/__admin/reset", "POST", false, reset},
    {"/__admin/platform/rotate", "POST", false, platform_rotate},
    {"/__admin/payscore/user-accept", "POST", true, user_accept},
    {"/__admin/payscore/user-close", "POST", true, user_close},
    {"/__admin/notifications", "GET", false, notifications_get},
    {"/__admin/notifications", "POST", true, notifications_post},
    {"/__admin/notifications", "DELETE", false, notifications_delete},
    {"/__admin/notifications/faults", "POST", true, notification_faults_post},
};

void mock_admin_handle(struct mock_server *srv, const struct mock_request *req,
                       struct mock_response *resp)
{
    const char *target = req->target != NULL ? req->target : "";
    const char *q = strchr(target, '?');
    struct wxp_str path = {target, q != NULL ? (size_t)(q - target) : strlen(target)};
    struct wxp_str query = {q != NULL ? q + 1 : "", q != NULL ? strlen(q + 1) : 0};
    bool path_known = false;

    resp->sign = false;
    resp->failed_check = NULL;
    if (srv->cfg.admin_token != NULL && srv->cfg.admin_token[0] != '\0' && req->headers_cut) {
        answer_error(resp, 401, "UNAUTHORIZED",
                     "admin token required: the request's header lines hold bytes the mock cannot "
                     "read (a NUL byte, or whitespace beyond \"Name: value\")",
                     NULL);
        return;
    }
    if (!token_ok(srv, req)) {
        answer_error(resp, 401, "UNAUTHORIZED", "admin token required", NULL);
        return;
    }
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        const struct route *r = &ROUTES[i];
        if (!wxp_str_eq(path, wxp_str_c(r->path))) {
            continue;
        }
        path_known = true;
        if (strcmp(req->method, r->method) != 0) {
            continue;
        }
        if (r->has_body && req->body_too_large) {
            answer_error(resp, 413, "INVALID_REQUEST", "request body is too large", NULL);
            return;
        }
        r->fn(srv, req, query, resp);
        return;
    }
    if (path_known) {
        answer_error(resp, 405, "METHOD_NOT_ALLOWED", "method not allowed on this admin endpoint",
                     NULL);
        return;
    }
    answer_error(resp, 404, "NOT_FOUND", "no such admin endpoint; see docs/mock-admin.md", NULL);
}
