/* SPDX-License-Identifier: MIT */
/* test_scenario.c: scenario rules (docs/mock-scenarios.md): strict loading with exact error
 * paths, every match kind both ways, nth/times/probability counting, each action's effect on the
 * response, dump, clear, and exact counting under concurrent apply. */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "glob.h"
#include "mock.h"
#include "testutil.h"
#include "wxp/mem.h"
#include "wxp/str.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ORIGIN "t.json"
#define TERMINATE "/v3/payscore/permissions/openid/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o/terminate"
#define OPENID "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
#define BODY "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\",\"reason\":\"user quit\"}"

/* ---- helpers ---------------------------------------------------------------------------- */

static void req_init(struct mock_request *r, const char *method, const char *target,
                     const char *body)
{
    memset(r, 0, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", method);
    r->target = wxp_strndup(target, strlen(target));
    assert_non_null(r->target);
    wxp_buf_init(&r->body, MOCK_BODY_MAX);
    if (body != NULL) {
        assert_int_equal(wxp_buf_addstr(&r->body, body), WXP_OK);
    }
}

static void req_header(struct mock_request *r, const char *name, const char *value)
{
    assert_true(r->nheaders < MOCK_HEADERS_MAX);
    r->headers[r->nheaders].name = wxp_strndup(name, strlen(name));
    r->headers[r->nheaders].value = wxp_strndup(value, strlen(value));
    assert_non_null(r->headers[r->nheaders].name);
    assert_non_null(r->headers[r->nheaders].value);
    r->nheaders++;
}

static void req_free(struct mock_request *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        wxp_free(r->headers[i].name);
        wxp_free(r->headers[i].value);
    }
    wxp_free(r->target);
    wxp_buf_free(&r->body);
}

/* A typical terminate request, with the headers a real client sends. */
static void req_terminate(struct mock_request *r)
{
    req_init(r, "POST", TERMINATE, BODY);
    req_header(r, "Accept", "application/json");
    req_header(r, "User-Agent", "wxpay-test/1.0");
    req_header(r, "Wechatpay-Serial", T_SERIAL_PLATFORM);
}

static struct mock_scenarios *load(const char *doc)
{
    struct mock_scenarios *s = mock_scenarios_new();
    struct wxp_err err;

    assert_non_null(s);
    wxp_err_clear(&err);
    if (mock_scenarios_add_json(s, doc, strlen(doc), ORIGIN, &err) != WXP_OK) {
        fail_msg("cannot load %s: %s: %s", doc, err.field, err.msg);
    }
    return s;
}

static enum wxp_code add(struct mock_scenarios *s, const char *doc, const char *origin,
                         struct wxp_err *err)
{
    return mock_scenarios_add_json(s, doc, strlen(doc), origin, err);
}

/* Applies once to a fresh response; returns what apply returned. */
static bool apply_once(struct mock_scenarios *s, const struct mock_request *req, const char *openid,
                       const char *mchid)
{
    struct mock_response resp;
    bool answered;

    mock_response_init(&resp);
    answered = mock_scenarios_apply(s, req, openid, mchid, &resp);
    mock_response_free(&resp);
    return answered;
}

/* The parsed dump; free with cJSON_Delete. */
static cJSON *dump(struct mock_scenarios *s)
{
    struct wxp_buf b;
    cJSON *j;

    wxp_buf_init(&b, 1024 * 1024);
    assert_int_equal(mock_scenarios_dump(s, &b), WXP_OK);
    j = cJSON_ParseWithLength(b.ptr, b.len);
    assert_non_null(j);
    assert_true(cJSON_IsArray(j));
    wxp_buf_free(&b);
    return j;
}

static double dump_num(struct mock_scenarios *s, int rule, const char *member)
{
    cJSON *j = dump(s);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, rule), member);
    double d;

    assert_true(cJSON_IsNumber(v));
    d = v->valuedouble;
    cJSON_Delete(j);
    return d;
}

static int dump_size(struct mock_scenarios *s)
{
    cJSON *j = dump(s);
    int n = cJSON_GetArraySize(j);
    cJSON_Delete(j);
    return n;
}

/* ---- loading ---------------------------------------------------------------------------- */

struct bad_row {
    int line;
    const char *doc;
    enum wxp_code code;
    const char *field;
    const char *msg_part;
};

static const struct bad_row BAD[] = {
    {__LINE__, "", WXP_E_JSON_SYNTAX, ORIGIN, "byte 0"},
    {__LINE__, "[{\"action\":{\"drop\":true}}]x", WXP_E_JSON_SYNTAX, ORIGIN, "byte 26"},
    {__LINE__, "{\"rules\":[{\"action\":{\"delay_ms\":01}}]}", WXP_E_JSON_SYNTAX, ORIGIN,
     "not valid JSON"},
    {__LINE__, "[\"\xC3\x28\"]", WXP_E_UTF8, ORIGIN, "not valid JSON"},
    {__LINE__, "42", WXP_E_INVALID_ARG, ORIGIN, "array of rules"},
    {__LINE__, "{\"rules\":{}}", WXP_E_INVALID_ARG, ORIGIN ": rules", "array"},
    {__LINE__, "{}", WXP_E_INVALID_ARG, ORIGIN ": rules", "array"},
    {__LINE__, "{\"rules\":[],\"extra\":1}", WXP_E_INVALID_ARG, ORIGIN ": extra", "unknown"},
    {__LINE__, "{\"rules\":[],\"rules\":[]}", WXP_E_INVALID_ARG, ORIGIN ": rules", "twice"},
    {__LINE__, "[1]", WXP_E_INVALID_ARG, ORIGIN ": rules[0]", "JSON object"},
    {__LINE__, "[{}]", WXP_E_INVALID_ARG, ORIGIN ": rules[0].action", "required"},
    {__LINE__, "[{\"action\":{\"drop\":true},\"when\":1}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].when", "unknown member"},
    {__LINE__, "[{\"action\":{\"drop\":true}},{\"action\":{\"delay_ms\":-1}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[1].action.delay_ms", "between 0 and 600000"},
    {__LINE__, "[{\"action\":{\"delay_ms\":600001}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.delay_ms", "between"},
    {__LINE__, "[{\"action\":{\"delay_ms\":1.5}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.delay_ms", "integer"},
    {__LINE__, "[{\"action\":{\"delay_ms\":\"5\"}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.delay_ms", "number"},
    {__LINE__, "[{\"action\":{}}]", WXP_E_INVALID_ARG, ORIGIN ": rules[0].action", "nothing"},
    {__LINE__, "[{\"action\":{\"drop\":false}}]", WXP_E_INVALID_ARG, ORIGIN ": rules[0].action",
     "nothing"},
    {__LINE__, "[{\"action\":{\"drop\":1}}]", WXP_E_INVALID_ARG, ORIGIN ": rules[0].action.drop",
     "true or false"},
    {__LINE__,
     "[{\"action\":{\"respond\":{\"status\":429,\"code\":\"A\",\"message\":\"b\"},"
     "\"drop\":true}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].action.drop", "respond"},
    {__LINE__, "[{\"action\":{\"body\":\"{}\",\"malformed_json\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.malformed_json", "only one"},
    {__LINE__, "[{\"action\":{\"drop\":true,\"signature\":\"forged\"}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.signature", "drop"},
    {__LINE__, "[{\"action\":{\"omit_header\":\"Content-Type\"}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.omit_header", "one of"},
    {__LINE__, "[{\"action\":{\"signature\":\"bad\"}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.signature", "forged"},
    {__LINE__, "[{\"action\":{\"serial\":\"known\"}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.serial", "unknown"},
    {__LINE__, "[{\"action\":{\"status\":500,\"delay_ms\":1}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.status", "body or malformed_json"},
    {__LINE__, "[{\"action\":{\"body\":false}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.body", "string"},
    {__LINE__, "[{\"action\":{\"malformed_json\":true,\"status\":600}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.status", "between 200 and 599"},
    {__LINE__, "[{\"action\":{\"respond\":{\"code\":\"X\",\"message\":\"y\"}}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.respond.status", "required"},
    {__LINE__, "[{\"action\":{\"respond\":{\"status\":99,\"code\":\"X\",\"message\":\"y\"}}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].action.respond.status", "between 200 and 599"},
    /* 1xx is interim: libmicrohttpd would answer twice and lose the next pipelined request. */
    {__LINE__, "[{\"action\":{\"respond\":{\"status\":102,\"code\":\"X\",\"message\":\"y\"}}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].action.respond.status", "1xx status is an interim"},
    {__LINE__, "[{\"action\":{\"respond\":{\"status\":100,\"body\":\"\"}}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.respond.status", "between 200 and 599"},
    {__LINE__, "[{\"action\":{\"respond\":{\"status\":101,\"body\":\"\"}}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.respond.status", "between 200 and 599"},
    {__LINE__, "[{\"action\":{\"respond\":{\"status\":103,\"body\":\"\"}}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.respond.status", "between 200 and 599"},
    {__LINE__, "[{\"action\":{\"respond\":{\"status\":199,\"body\":\"\"}}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.respond.status", "between 200 and 599"},
    {__LINE__, "[{\"action\":{\"body\":\"x\",\"status\":102}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.status", "1xx status is an interim"},
    {__LINE__, "[{\"action\":{\"malformed_json\":true,\"status\":199}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.status", "between 200 and 599"},
    {__LINE__, "[{\"action\":{\"respond\":{\"status\":429,\"message\":\"y\"}}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.respond.code", "required"},
    {__LINE__, "[{\"action\":{\"respond\":{\"status\":429,\"code\":\"X\"}}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.respond.message", "required"},
    {__LINE__, "[{\"action\":{\"respond\":{\"status\":200,\"code\":\"X\",\"message\":\"y\"}}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].action.respond.code", "2xx"},
    {__LINE__,
     "[{\"action\":{\"respond\":{\"status\":500,\"code\":\"X\",\"message\":\"y\",\"body\":\"\"}}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].action.respond.code", "body"},
    {__LINE__,
     "[{\"action\":{\"respond\":{\"status\":500,\"code\":\"X\",\"message\":\"y\",\"detail\":[]}}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].action.respond.detail", "object"},
    {__LINE__,
     "[{\"action\":{\"respond\":{\"status\":500,\"code\":\"X\",\"message\":\"y\",\"x\":1}}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].action.respond.x", "unknown"},
    {__LINE__, "[{\"action\":{\"respond\":{\"status\":500,\"code\":\"\",\"message\":\"y\"}}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].action.respond.code", "empty"},
    {__LINE__, "[{\"match\":[],\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].match", "object"},
    {__LINE__, "[{\"match\":{\"verb\":\"POST\"},\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].match.verb", "unknown"},
    {__LINE__, "[{\"match\":{\"method\":\"POST\",\"method\":\"GET\"},\"action\":{\"drop\":true}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].match.method", "twice"},
    {__LINE__, "[{\"match\":{\"method\":\"PO ST\"},\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].match.method", "method"},
    {__LINE__, "[{\"match\":{\"path\":\"/v3/x?a=1\"},\"action\":{\"drop\":true}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].match.path", "query"},
    {__LINE__, "[{\"match\":{\"path\":\"\"},\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].match.path", "empty"},
    {__LINE__, "[{\"match\":{\"openid\":7},\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].match.openid", "string"},
    {__LINE__, "[{\"match\":{\"body\":{\"reason\":1}},\"action\":{\"drop\":true}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].match.body.reason", "string"},
    {__LINE__, "[{\"match\":{\"body\":{\"a\":\"1\",\"a\":\"2\"}},\"action\":{\"drop\":true}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].match.body.a", "twice"},
    {__LINE__, "[{\"match\":{\"body\":\"reason\"},\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].match.body", "object"},
    {__LINE__, "[{\"match\":{\"headers_present\":\"Accept\"},\"action\":{\"drop\":true}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].match.headers_present", "array"},
    {__LINE__, "[{\"match\":{\"headers_absent\":[\"A\",\"B C\"]},\"action\":{\"drop\":true}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].match.headers_absent[1]", "header name"},
    {__LINE__, "[{\"match\":{\"nth\":0},\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].match.nth", "between 1 and"},
    {__LINE__, "[{\"match\":{\"probability\":1.5},\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].match.probability", "between 0 and 1"},
    {__LINE__, "[{\"match\":{\"probability\":-0.1},\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].match.probability", "between 0 and 1"},
    {__LINE__, "[{\"match\":{\"seed\":3},\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].match.seed", "probability"},
    {__LINE__, "[{\"match\":{\"probability\":0.5,\"seed\":-1},\"action\":{\"drop\":true}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].match.seed", "between"},
    {__LINE__, "[{\"times\":0,\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].times", "between 1 and"},
    {__LINE__, "[{\"times\":null,\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].times", "number"},
    {__LINE__, "[{\"name\":5,\"action\":{\"drop\":true}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].name", "string"},
    {__LINE__, "[{\"action\":{\"timestamp_offset\":1e12}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.timestamp_offset", "between"},
    {__LINE__, "[{\"action\":{\"timestamp\":\"\"}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.timestamp", "must not be empty"},
    {__LINE__, "[{\"action\":{\"timestamp\":5}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.timestamp", "string"},
    {__LINE__, "[{\"action\":{\"timestamp\":\"12345678901234567890123456789012345678901\"}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].action.timestamp", "at most 40"},
    {__LINE__, "[{\"action\":{\"timestamp\":\"1\\t2\"}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.timestamp", "printable ASCII"},
    {__LINE__, "[{\"action\":{\"timestamp\":\"{now}{now}\"}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.timestamp", "once"},
    {__LINE__, "[{\"action\":{\"drop\":true,\"timestamp\":\"NaN\"}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.timestamp", "no effect"},
    {__LINE__, "[{\"action\":{\"sign_over\":null}}]", WXP_E_INVALID_ARG,
     ORIGIN ": rules[0].action.sign_over", "string"},
    {__LINE__,
     "[{\"action\":{\"respond\":{\"status\":400,\"code\":"
     "\"0123456789012345678901234567890123456789012345678901234567890123\",\"message\":\"m\"}}}]",
     WXP_E_INVALID_ARG, ORIGIN ": rules[0].action.respond.code", "at most 63 bytes"},
};

/* A long origin (a deep scenario file path) gives way from its start, so the location inside the
 * document stays whole in the 64-byte field, and a cut never splits a UTF-8 character. */
static void test_scenario_long_origin_keeps_the_location(void **state)
{
    (void)state;
    static const char doc[] = "[{\"action\":{\"delay_ms\":-1}}]";
    /* 34 bytes of origin fit beside the location: the cut falls inside the second character. */
    static const char dir[] = "/tmp/a-very-long-directory-name-for-scenarios/"
                              "\xe5\x9c\xba\xe6\x99\xaf/deeper/still/further/rules.json";
    const char *want = ": rules[0].action.delay_ms";
    struct mock_scenarios *s = mock_scenarios_new();
    struct wxp_err err;
    size_t n;

    assert_non_null(s);
    assert_int_equal(mock_scenarios_add_json(s, doc, strlen(doc), dir, &err), WXP_E_INVALID_ARG);
    n = strlen(err.field);
    assert_true(n < sizeof err.field);
    assert_true(n > strlen(want));
    assert_string_equal(err.field + n - strlen(want), want);
    assert_memory_equal(err.field, WXP_ELLIPSIS, 3);
    assert_true(((unsigned char)err.field[3] & 0xC0) != 0x80);
    assert_non_null(strstr(err.field, "rules.json: rules[0]"));
    /* A short origin is kept whole, as before. */
    assert_int_equal(mock_scenarios_add_json(s, doc, strlen(doc), "admin", &err),
                     WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "admin: rules[0].action.delay_ms");
    mock_scenarios_free(s);
}

static void test_scenario_rejects_bad_documents_with_paths(void **state)
{
    (void)state;
    struct mock_scenarios *s = mock_scenarios_new();

    assert_non_null(s);
    for (size_t i = 0; i < NELEM(BAD); i++) {
        const struct bad_row *r = &BAD[i];
        struct wxp_err err;
        enum wxp_code rc;

        wxp_err_clear(&err);
        rc = mock_scenarios_add_json(s, r->doc, strlen(r->doc), ORIGIN, &err);
        if (rc != r->code || err.code != r->code) {
            fail_msg("row at line %d: got %s (%s: %s), want %s", r->line, wxp_code_name(rc),
                     err.field, err.msg, wxp_code_name(r->code));
        }
        if (strcmp(err.field, r->field) != 0) {
            fail_msg("row at line %d: field \"%s\", want \"%s\"", r->line, err.field, r->field);
        }
        if (strstr(err.msg, r->msg_part) == NULL) {
            fail_msg("row at line %d: msg \"%s\" lacks \"%s\"", r->line, err.msg, r->msg_part);
        }
        /* NULL err gives the same verdict. */
        if (mock_scenarios_add_json(s, r->doc, strlen(r->doc), ORIGIN, NULL) != rc) {
            fail_msg("row at line %d: different verdict with a NULL err", r->line);
        }
    }
    /* All-or-nothing: nothing of any bad document was added. */
    assert_int_equal(dump_size(s), 0);
    mock_scenarios_free(s);
}

static void test_scenario_add_is_all_or_nothing(void **state)
{
    (void)state;
    static const char DOC[] = "[{\"action\":{\"drop\":true}},{\"action\":{\"drop\":true}},"
                              "{\"action\":{\"drop\":true,\"x\":1}}]";
    struct mock_scenarios *s = mock_scenarios_new();
    struct mock_request req;
    struct wxp_err err;

    assert_non_null(s);
    assert_int_equal(mock_scenarios_add_json(s, DOC, strlen(DOC), ORIGIN, &err), WXP_E_INVALID_ARG);
    assert_string_equal(err.field, ORIGIN ": rules[2].action.x");
    assert_int_equal(dump_size(s), 0);
    req_terminate(&req);
    assert_false(apply_once(s, &req, OPENID, T_MCHID_A));
    req_free(&req);
    mock_scenarios_free(s);
}

static void test_scenario_accepts_both_shapes_and_empty(void **state)
{
    (void)state;
    static const char *const DOCS[] = {
        "[]",
        "{\"rules\":[]}",
        " [ {\"action\":{\"drop\":true}} ] ",
        "{\"rules\":[{\"name\":\"n\",\"match\":{},\"times\":1,\"action\":{\"drop\":true}}]}",
    };
    static const int RULES[] = {0, 0, 1, 1};
    for (size_t i = 0; i < NELEM(DOCS); i++) {
        struct mock_scenarios *s = load(DOCS[i]);
        assert_int_equal(dump_size(s), RULES[i]);
        mock_scenarios_free(s);
    }
    /* NULL origin is named "scenario". */
    struct mock_scenarios *s = mock_scenarios_new();
    struct wxp_err err;
    assert_int_equal(mock_scenarios_add_json(s, "[1]", 3, NULL, &err), WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "scenario: rules[0]");
    mock_scenarios_free(s);
}

static void test_scenario_limits(void **state)
{
    (void)state;
    struct mock_scenarios *s = mock_scenarios_new();
    struct wxp_buf doc;
    struct wxp_err err;
    char *big;

    assert_non_null(s);
    /* 1000 rules load; one more, in the same or a later document, does not. */
    wxp_buf_init(&doc, 2 * 1024 * 1024);
    assert_int_equal(wxp_buf_addstr(&doc, "["), WXP_OK);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(wxp_buf_addstr(&doc, i ? ",{\"action\":{\"drop\":true}}"
                                                : "{\"action\":{\"drop\":true}}"),
                         WXP_OK);
    }
    assert_int_equal(wxp_buf_addstr(&doc, "]"), WXP_OK);
    assert_int_equal(mock_scenarios_add_json(s, doc.ptr, doc.len, ORIGIN, &err), WXP_OK);
    assert_int_equal(dump_size(s), 1000);
    assert_int_equal(add(s, "[{\"action\":{\"drop\":true}}]", ORIGIN, &err), WXP_E_TOO_LARGE);
    assert_string_equal(err.field, ORIGIN);
    assert_int_equal(dump_size(s), 1000);
    mock_scenarios_clear(s);
    doc.len--;
    assert_int_equal(wxp_buf_addstr(&doc, ",{\"action\":{\"drop\":true}}]"), WXP_OK);
    assert_int_equal(mock_scenarios_add_json(s, doc.ptr, doc.len, ORIGIN, &err), WXP_E_TOO_LARGE);
    assert_int_equal(dump_size(s), 0);
    wxp_buf_free(&doc);

    /* A document over 1 MiB is refused before parsing. */
    big = malloc(1024 * 1024 + 1);
    assert_non_null(big);
    memset(big, ' ', 1024 * 1024 + 1);
    big[0] = '[';
    big[1024 * 1024] = ']';
    assert_int_equal(mock_scenarios_add_json(s, big, 1024 * 1024 + 1, ORIGIN, &err),
                     WXP_E_TOO_LARGE);
    /* Exactly 1 MiB is fine. */
    big[1024 * 1024 - 1] = ']';
    assert_int_equal(mock_scenarios_add_json(s, big, 1024 * 1024, ORIGIN, &err), WXP_OK);

    /* Strings: 4096 bytes are fine, 4097 are not. */
    for (size_t len = 4096; len <= 4097; len++) {
        struct wxp_buf d;
        wxp_buf_init(&d, 16384);
        assert_int_equal(wxp_buf_addstr(&d, "[{\"name\":\""), WXP_OK);
        for (size_t i = 0; i < len; i++) {
            assert_int_equal(wxp_buf_addstr(&d, "n"), WXP_OK);
        }
        assert_int_equal(wxp_buf_addstr(&d, "\",\"action\":{\"drop\":true}}]"), WXP_OK);
        assert_int_equal(mock_scenarios_add_json(s, d.ptr, d.len, ORIGIN, &err),
                         len == 4096 ? WXP_OK : WXP_E_INVALID_ARG);
        if (len == 4097) {
            assert_string_equal(err.field, ORIGIN ": rules[0].name");
        }
        wxp_buf_free(&d);
    }
    free(big);
    mock_scenarios_free(s);
}

/* Garbage and every truncation of a valid document: an error, never a crash (ASan watches). */
static void test_scenario_garbage_never_crashes(void **state)
{
    (void)state;
    static const char DOC[] =
        "{\"rules\":[{\"name\":\"x\",\"match\":{\"method\":\"POST\",\"path\":\"/v3/**\","
        "\"body\":{\"reason\":\"r\"},\"headers_present\":[\"A\"],\"nth\":2,\"probability\":0.5,"
        "\"seed\":9},\"times\":3,\"action\":{\"respond\":{\"status\":429,\"code\":\"C\","
        "\"message\":\"m\",\"detail\":{\"a\":[1,{\"b\":null}]}},\"delay_ms\":5}}]}";
    struct mock_scenarios *s = mock_scenarios_new();
    /* Mostly JSON punctuation, so some inputs get past the syntax check; NUL included. */
    static const char ALPHABET[] = "[]{}\":,01a \"rules\"action";
    uint64_t x = 88172645463325252ULL;
    char buf[64];

    assert_non_null(s);
    for (size_t n = 0; n < sizeof DOC - 1; n++) {
        char *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, DOC, n);
        if (mock_scenarios_add_json(s, copy, n, ORIGIN, NULL) == WXP_OK) {
            fail_msg("prefix of %zu bytes was accepted", n);
        }
        free(copy);
    }
    for (int round = 0; round < 20000; round++) {
        size_t n;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        n = (size_t)(x % sizeof buf);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = ALPHABET[x % sizeof ALPHABET];
        }
        (void)mock_scenarios_add_json(s, buf, n, ORIGIN, NULL);
    }
    assert_int_equal(mock_scenarios_add_json(s, DOC, sizeof DOC - 1, ORIGIN, NULL), WXP_OK);
    mock_scenarios_free(s);
}

/* ---- failmalloc ------------------------------------------------------------------------- */

static void test_scenario_every_failed_allocation_is_reported(void **state)
{
    (void)state;
    static const char DOC[] =
        "[{\"name\":\"a\",\"match\":{\"method\":\"POST\",\"path\":\"/v3/*\",\"openid\":\"o\","
        "\"mchid\":\"1\",\"body\":{\"r\":\"x\"},\"headers_present\":[\"A\"],"
        "\"headers_absent\":[\"B\"]},\"action\":{\"respond\":{\"status\":400,\"code\":\"C\","
        "\"message\":\"m\",\"detail\":{\"f\":1}},\"sign_over\":\"{}\"}},"
        "{\"action\":{\"omit_header\":\"request-id\",\"body\":\"b\"}}]";
    struct mock_scenarios *s = mock_scenarios_new();
    long total;

    assert_non_null(s);
    wxp_mem_set_allocator(&T_FAILING);
    t_fail_countdown = -1;
    t_fail_allocations = 0;
    assert_int_equal(mock_scenarios_add_json(s, DOC, sizeof DOC - 1, ORIGIN, NULL), WXP_OK);
    total = t_fail_allocations;
    mock_scenarios_clear(s);
    assert_true(total > 10);
    for (long n = 0; n < total; n++) {
        struct wxp_err err;
        enum wxp_code rc;
        t_fail_countdown = n;
        rc = mock_scenarios_add_json(s, DOC, sizeof DOC - 1, ORIGIN, &err);
        t_fail_countdown = -1;
        if (rc != WXP_E_NOMEM) {
            fail_msg("failing allocation %ld of %ld gave %s", n, total, wxp_code_name(rc));
        }
        assert_int_equal(dump_size(s), 0);
    }
    wxp_mem_set_allocator(NULL);
    mock_scenarios_free(s);
}

/* ---- matching --------------------------------------------------------------------------- */

struct match_row {
    int line;
    const char *match;  /* the "match" member */
    const char *method; /* request */
    const char *target;
    const char *body;
    const char *hname; /* one extra header, or NULL */
    const char *openid;
    const char *mchid;
    bool fires;
};

#define P "POST"
#define TGT TERMINATE
#define MA T_MCHID_A

static const struct match_row MATCH[] = {
    /* everything */
    {__LINE__, "{}", P, TGT, BODY, NULL, OPENID, MA, true},
    {__LINE__, "{}", "GET", "/", NULL, NULL, NULL, NULL, true},
    /* method: exact and case-sensitive */
    {__LINE__, "{\"method\":\"POST\"}", P, TGT, BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"method\":\"post\"}", P, TGT, BODY, NULL, OPENID, MA, false},
    {__LINE__, "{\"method\":\"GET\"}", P, TGT, BODY, NULL, OPENID, MA, false},
    /* path globs, on the raw path without the query */
    {__LINE__, "{\"path\":\"/v3/payscore/permissions/openid/*/terminate\"}", P, TGT, BODY, NULL,
     OPENID, MA, true},
    {__LINE__, "{\"path\":\"/v3/payscore/permissions/openid/*/terminate\"}", P, TGT "?x=1/2", BODY,
     NULL, OPENID, MA, true},
    {__LINE__, "{\"path\":\"/v3/payscore/permissions/openid/*/terminate\"}", P,
     "/v3/payscore/permissions/openid/a/b/terminate", BODY, NULL, OPENID, MA, false},
    {__LINE__, "{\"path\":\"/v3/payscore/permissions/openid/*/terminate\"}", P,
     "/v3/payscore/permissions/openid//terminate", BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"path\":\"/v3/**\"}", P, TGT, BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"path\":\"/v3/**/terminate\"}", P, TGT, BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"path\":\"/v3/**/terminate\"}", P, TGT "x", BODY, NULL, OPENID, MA, false},
    {__LINE__, "{\"path\":\"/v3/*\"}", P, TGT, BODY, NULL, OPENID, MA, false},
    {__LINE__, "{\"path\":\"**\"}", P, "/", BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"path\":\"/v3/*/x*y\"}", P, "/v3/a/x-y", BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"path\":\"/v3/*/x*y\"}", P, "/v3/a/x-yz", BODY, NULL, OPENID, MA, false},
    {__LINE__, "{\"path\":\"" TGT "\"}", P, TGT, BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"path\":\"" TGT "\"}", P, TGT "/", BODY, NULL, OPENID, MA, false},
    {__LINE__, "{\"path\":\"/v3/o%2Fpen/*\"}", P, "/v3/o%2Fpen/terminate", BODY, NULL, OPENID, MA,
     true},
    /* openid / mchid: exact, and absent arguments never match */
    {__LINE__, "{\"openid\":\"" OPENID "\"}", P, TGT, BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"openid\":\"" OPENID "\"}", P, TGT, BODY, NULL, "other", MA, false},
    {__LINE__, "{\"openid\":\"" OPENID "\"}", P, TGT, BODY, NULL, NULL, MA, false},
    {__LINE__, "{\"mchid\":\"" MA "\"}", P, TGT, BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"mchid\":\"" MA "\"}", P, TGT, BODY, NULL, OPENID, T_MCHID_B, false},
    {__LINE__, "{\"mchid\":\"" MA "\"}", P, TGT, BODY, NULL, OPENID, NULL, false},
    /* body members */
    {__LINE__, "{\"body\":{\"reason\":\"user quit\"}}", P, TGT, BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"body\":{\"reason\":\"user quit\",\"appid\":\"wxd678efh567hg6787\"}}", P, TGT,
     BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"body\":{\"reason\":\"user\"}}", P, TGT, BODY, NULL, OPENID, MA, false},
    {__LINE__, "{\"body\":{\"missing\":\"x\"}}", P, TGT, BODY, NULL, OPENID, MA, false},
    {__LINE__, "{\"body\":{\"n\":\"1\"}}", P, TGT, "{\"n\":1}", NULL, OPENID, MA, false},
    {__LINE__, "{\"body\":{}}", P, TGT, BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"body\":{}}", P, TGT, "[1]", NULL, OPENID, MA, false},
    {__LINE__, "{\"body\":{}}", P, TGT, "not json", NULL, OPENID, MA, false},
    {__LINE__, "{\"body\":{}}", P, TGT, NULL, NULL, OPENID, MA, false},
    /* lenient parse: a leading zero the strict checks refuse still matches */
    {__LINE__, "{\"body\":{\"a\":\"b\"}}", P, TGT, "{\"a\":\"b\",\"n\":01}", NULL, OPENID, MA,
     true},
    /* headers, case-insensitive names */
    {__LINE__, "{\"headers_present\":[\"wechatpay-serial\",\"ACCEPT\"]}", P, TGT, BODY, NULL,
     OPENID, MA, true},
    {__LINE__, "{\"headers_present\":[\"Authorization\"]}", P, TGT, BODY, NULL, OPENID, MA, false},
    {__LINE__, "{\"headers_present\":[\"Authorization\"]}", P, TGT, BODY, "authorization", OPENID,
     MA, true},
    {__LINE__, "{\"headers_absent\":[\"Authorization\"]}", P, TGT, BODY, NULL, OPENID, MA, true},
    {__LINE__, "{\"headers_absent\":[\"user-agent\"]}", P, TGT, BODY, NULL, OPENID, MA, false},
    /* all kinds at once: one mismatch is enough to miss */
    {__LINE__,
     "{\"method\":\"POST\",\"path\":\"/v3/**\",\"openid\":\"" OPENID "\",\"mchid\":\"" MA
     "\",\"body\":{\"reason\":\"user quit\"},\"headers_present\":[\"Accept\"],"
     "\"headers_absent\":[\"X-Nope\"]}",
     P, TGT, BODY, NULL, OPENID, MA, true},
    {__LINE__,
     "{\"method\":\"POST\",\"path\":\"/v3/**\",\"openid\":\"" OPENID "\",\"mchid\":\"" MA
     "\",\"body\":{\"reason\":\"user quit\"},\"headers_present\":[\"Accept\"],"
     "\"headers_absent\":[\"X-Nope\"]}",
     P, TGT, BODY, "X-Nope", OPENID, MA, false},
};

static void test_scenario_match_kinds(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(MATCH); i++) {
        const struct match_row *r = &MATCH[i];
        char doc[1024];
        struct mock_scenarios *s;
        struct mock_request req;
        struct mock_response resp;
        bool got;

        snprintf(doc, sizeof doc, "[{\"match\":%s,\"action\":{\"drop\":true}}]", r->match);
        s = load(doc);
        req_init(&req, r->method, r->target, r->body);
        req_header(&req, "Accept", "application/json");
        req_header(&req, "User-Agent", "t/1");
        req_header(&req, "Wechatpay-Serial", T_SERIAL_PLATFORM);
        if (r->hname != NULL) {
            req_header(&req, r->hname, "v");
        }
        mock_response_init(&resp);
        got = mock_scenarios_apply(s, &req, r->openid, r->mchid, &resp);
        if (got != r->fires || resp.drop != r->fires) {
            fail_msg("row at line %d: fired=%d drop=%d, want %d", r->line, got, resp.drop,
                     r->fires);
        }
        if (!r->fires && (resp.failed_check != NULL || resp.status != 0)) {
            fail_msg("row at line %d: an unmatched request changed the response", r->line);
        }
        if (dump_num(s, 0, "matched") != (r->fires ? 1 : 0)) {
            fail_msg("row at line %d: matched count is wrong", r->line);
        }
        mock_response_free(&resp);
        req_free(&req);
        mock_scenarios_free(s);
    }
}

/* match.operation and match.path_params against what mock_handle passes (a routed operation and
 * its decoded path parameters); rows: the match, the request's operation, its parameters. */
static void test_scenario_match_operation_and_path_params(void **state)
{
    static const struct {
        int line;
        const char *match;
        const char *operation;
        const char *name[2];
        const char *value[2];
        bool fires;
    } rows[] = {
#define QBC "payscore.permissions.query-by-code"
        {__LINE__, "{\"operation\":\"" QBC "\"}", QBC, {NULL, NULL}, {NULL, NULL}, true},
        {__LINE__,
         "{\"operation\":\"" QBC "\"}",
         "payscore.permissions.apply",
         {NULL, NULL},
         {NULL, NULL},
         false},
        {__LINE__, "{\"operation\":\"" QBC "\"}", NULL, {NULL, NULL}, {NULL, NULL}, false},
        {__LINE__,
         "{\"path_params\":{\"authorization_code\":\"C1\"}}",
         QBC,
         {"authorization_code", NULL},
         {"C1", NULL},
         true},
        {__LINE__,
         "{\"path_params\":{\"authorization_code\":\"C1\"}}",
         QBC,
         {"authorization_code", NULL},
         {"C2", NULL},
         false},
        /* A parameter whose percent-encoding was bad has no value and never matches. */
        {__LINE__,
         "{\"path_params\":{\"authorization_code\":\"C1\"}}",
         QBC,
         {"authorization_code", NULL},
         {NULL, NULL},
         false},
        {__LINE__,
         "{\"path_params\":{\"openid\":\"o1\"}}",
         QBC,
         {"authorization_code", NULL},
         {"o1", NULL},
         false},
        {__LINE__, "{\"path_params\":{}}", NULL, {NULL, NULL}, {NULL, NULL}, true},
        /* match.openid reads the same parameter, for every operation with {openid}. */
        {__LINE__,
         "{\"openid\":\"o1\"}",
         "payscore.permissions.query-by-openid",
         {"openid", NULL},
         {"o1", NULL},
         true},
        {__LINE__,
         "{\"operation\":\"" QBC "\",\"path_params\":{\"authorization_code\":\"C1\"},"
         "\"method\":\"GET\"}",
         QBC,
         {"authorization_code", NULL},
         {"C1", NULL},
         true},
#undef QBC
    };
    static const struct {
        int line;
        const char *match;
        const char *field;
    } bad[] = {
        {__LINE__, "{\"operation\":\"payscore.permissions\"}", "match.operation"},
        {__LINE__, "{\"operation\":1}", "match.operation"},
        {__LINE__, "{\"path_params\":[]}", "match.path_params"},
        {__LINE__, "{\"path_params\":{\"openid\":1}}", "match.path_params.openid"},
    };

    (void)state;
    for (size_t i = 0; i < NELEM(rows); i++) {
        char doc[1024];
        struct mock_scenarios *s;
        struct mock_request req;
        struct mock_response resp;
        struct mock_match m;
        bool got;

        snprintf(doc, sizeof doc, "[{\"match\":%s,\"action\":{\"drop\":true}}]", rows[i].match);
        s = load(doc);
        req_init(&req, "GET", "/v3/x", NULL);
        memset(&m, 0, sizeof m);
        m.operation = rows[i].operation;
        for (size_t k = 0; k < 2 && rows[i].name[k] != NULL; k++) {
            m.name[k] = rows[i].name[k];
            m.value[k] = rows[i].value[k];
            m.nparams = k + 1;
        }
        mock_response_init(&resp);
        got = mock_scenarios_apply_match(s, &req, &m, &resp);
        if (got != rows[i].fires) {
            fail_msg("row at line %d: fired=%d", rows[i].line, got);
        }
        mock_response_free(&resp);
        req_free(&req);
        mock_scenarios_free(s);
    }
    for (size_t i = 0; i < NELEM(bad); i++) {
        char doc[1024];
        char want[128];
        struct mock_scenarios *s = mock_scenarios_new();
        struct wxp_err err;

        snprintf(doc, sizeof doc, "[{\"match\":%s,\"action\":{\"drop\":true}}]", bad[i].match);
        snprintf(want, sizeof want, ORIGIN ": rules[0].%s", bad[i].field);
        if (add(s, doc, ORIGIN, &err) == WXP_OK || strcmp(err.field, want) != 0) {
            fail_msg("row at line %d: field \"%s\" (%s)", bad[i].line, err.field, err.msg);
        }
        mock_scenarios_free(s);
    }
}

static void test_scenario_nth_skips_earlier_matches(void **state)
{
    (void)state;
    struct mock_scenarios *s =
        load("[{\"match\":{\"method\":\"POST\",\"nth\":3},\"action\":{\"drop\":true}}]");
    struct mock_request post, get;

    req_terminate(&post);
    req_init(&get, "GET", "/", NULL);
    assert_false(apply_once(s, &post, NULL, NULL));
    assert_false(apply_once(s, &get, NULL, NULL)); /* does not match: not counted */
    assert_false(apply_once(s, &post, NULL, NULL));
    assert_true(apply_once(s, &post, NULL, NULL)); /* the 3rd match */
    assert_true(apply_once(s, &post, NULL, NULL)); /* and after */
    assert_true(dump_num(s, 0, "matched") == 4);
    assert_true(dump_num(s, 0, "fired") == 2);
    req_free(&post);
    req_free(&get);
    mock_scenarios_free(s);
}

static void test_scenario_times_expire(void **state)
{
    (void)state;
    struct mock_scenarios *s = load("[{\"times\":2,\"action\":{\"drop\":true}},"
                                    "{\"action\":{\"delay_ms\":7}}]");
    struct mock_request req;
    struct mock_response resp;
    cJSON *j;

    req_terminate(&req);
    assert_true(dump_num(s, 0, "times_left") == 2);
    assert_true(apply_once(s, &req, NULL, NULL));
    assert_true(dump_num(s, 0, "times_left") == 1);
    assert_true(apply_once(s, &req, NULL, NULL));
    assert_true(dump_num(s, 0, "times_left") == 0);
    /* Expired: the next rule gets the request. */
    mock_response_init(&resp);
    assert_false(mock_scenarios_apply(s, &req, NULL, NULL, &resp));
    assert_false(resp.drop);
    assert_int_equal(resp.delay_ms, 7);
    mock_response_free(&resp);
    assert_true(dump_num(s, 0, "fired") == 2);
    assert_true(dump_num(s, 1, "fired") == 1);
    /* Unlimited rules dump times_left as null. */
    j = dump(s);
    assert_true(
        cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, 1), "times_left")));
    cJSON_Delete(j);
    req_free(&req);
    mock_scenarios_free(s);
}

/* The fire pattern of `n` applies, as a bit string. */
static void fire_pattern(const char *doc, char *out, size_t n)
{
    struct mock_scenarios *s = load(doc);
    struct mock_request req;

    req_terminate(&req);
    for (size_t i = 0; i < n; i++) {
        out[i] = apply_once(s, &req, NULL, NULL) ? '1' : '0';
    }
    out[n] = '\0';
    req_free(&req);
    mock_scenarios_free(s);
}

static size_t ones(const char *p)
{
    size_t n = 0;
    for (; *p != '\0'; p++) {
        if (*p == '1') {
            n++;
        }
    }
    return n;
}

static void test_scenario_probability_is_seeded(void **state)
{
    (void)state;
    static char a[1001], b[1001], c[1001], d[1001];

    fire_pattern("[{\"match\":{\"probability\":0.5,\"seed\":42},\"action\":{\"drop\":true}}]", a,
                 1000);
    fire_pattern("[{\"match\":{\"probability\":0.5,\"seed\":42},\"action\":{\"drop\":true}}]", b,
                 1000);
    fire_pattern("[{\"match\":{\"probability\":0.5,\"seed\":43},\"action\":{\"drop\":true}}]", c,
                 1000);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_in_range(ones(a), 400, 600);
    assert_in_range(ones(c), 400, 600);
    /* Default seed is 1; seed 0 is valid too. */
    fire_pattern("[{\"match\":{\"probability\":0.5},\"action\":{\"drop\":true}}]", a, 1000);
    fire_pattern("[{\"match\":{\"probability\":0.5,\"seed\":1},\"action\":{\"drop\":true}}]", b,
                 1000);
    assert_string_equal(a, b);
    fire_pattern("[{\"match\":{\"probability\":0.5,\"seed\":0},\"action\":{\"drop\":true}}]", d,
                 1000);
    assert_in_range(ones(d), 400, 600);
    /* Edges. */
    fire_pattern("[{\"match\":{\"probability\":0},\"action\":{\"drop\":true}}]", a, 1000);
    assert_int_equal(ones(a), 0);
    fire_pattern("[{\"match\":{\"probability\":1},\"action\":{\"drop\":true}}]", a, 1000);
    assert_int_equal(ones(a), 1000);
    /* nth counts matches before the draw: nth 5 with p=1 fires from the 5th on. */
    fire_pattern("[{\"match\":{\"nth\":5,\"probability\":1},\"action\":{\"drop\":true}}]", a, 8);
    assert_string_equal(a, "00001111");
}

static void test_scenario_first_rule_wins(void **state)
{
    (void)state;
    struct mock_scenarios *s =
        load("{\"rules\":["
             "{\"name\":\"get\",\"match\":{\"method\":\"GET\"},\"action\":{\"delay_ms\":1}},"
             "{\"name\":\"a\",\"match\":{\"method\":\"POST\"},\"action\":{\"delay_ms\":2}},"
             "{\"name\":\"b\",\"action\":{\"delay_ms\":3}}]}");
    struct mock_request req;
    struct mock_response resp;

    req_terminate(&req);
    mock_response_init(&resp);
    assert_false(mock_scenarios_apply(s, &req, NULL, NULL, &resp));
    assert_int_equal(resp.delay_ms, 2);
    mock_response_free(&resp);
    assert_true(dump_num(s, 0, "matched") == 0);
    assert_true(dump_num(s, 1, "fired") == 1);
    assert_true(dump_num(s, 2, "matched") == 0); /* never looked at */
    /* Rules from later documents come after. */
    struct wxp_err err;
    assert_int_equal(add(s, "[{\"action\":{\"delay_ms\":4}}]", "admin", &err), WXP_OK);
    mock_response_init(&resp);
    assert_false(mock_scenarios_apply(s, &req, NULL, NULL, &resp));
    assert_int_equal(resp.delay_ms, 2);
    mock_response_free(&resp);
    req_free(&req);
    mock_scenarios_free(s);
}

/* ---- actions ---------------------------------------------------------------------------- */

struct action_row {
    int line;
    const char *action;
    bool answers;
    unsigned status; /* 0: untouched */
    const char *code;
    const char *body; /* NULL: not checked; otherwise exact */
    const char *body_part;
    bool sign;
    enum mock_sigmode sigmode;
    bool unknown_serial;
    int64_t ts_offset;
    const char *omit;
    const char *sign_over;
    bool drop;
    long delay;
};

static const struct action_row ACTION[] = {
    {__LINE__,
     "{\"respond\":{\"status\":429,\"code\":\"FREQUENCY_LIMITED\",\"message\":"
     "\"频率超限\"}}",
     true, 429, "FREQUENCY_LIMITED", NULL, "\"code\":\"FREQUENCY_LIMITED\"", false, MOCK_SIG_VALID,
     false, 0, "", NULL, false, 0},
    {__LINE__,
     "{\"respond\":{\"status\":400,\"code\":\"PARAM_ERROR\",\"message\":\"m\","
     "\"detail\":{\"field\":\"/body/reason\",\"issue\":\"x\"}},\"delay_ms\":2000}",
     true, 400, "PARAM_ERROR", NULL, "\"detail\":{\"field\":\"/body/reason\",\"issue\":\"x\"}",
     false, MOCK_SIG_VALID, false, 0, "", NULL, false, 2000},
    /* tampering on a scenario error answer forces signing */
    {__LINE__,
     "{\"respond\":{\"status\":500,\"code\":\"SYSTEM_ERROR\",\"message\":\"m\"},"
     "\"signature\":\"forged\"}",
     true, 500, "SYSTEM_ERROR", NULL, "SYSTEM_ERROR", true, MOCK_SIG_FORGED, false, 0, "", NULL,
     false, 0},
    {__LINE__, "{\"respond\":{\"status\":204}}", true, 204, "", "", NULL, true, MOCK_SIG_VALID,
     false, 0, "", NULL, false, 0},
    {__LINE__, "{\"respond\":{\"status\":200,\"body\":\"{\\\"ok\\\":1}\"}}", true, 200, "",
     "{\"ok\":1}", NULL, true, MOCK_SIG_VALID, false, 0, "", NULL, false, 0},
    {__LINE__, "{\"respond\":{\"status\":502,\"body\":\"<html>bad gateway</html>\"}}", true, 502,
     "", "<html>bad gateway</html>", NULL, false, MOCK_SIG_VALID, false, 0, "", NULL, false, 0},
    {__LINE__, "{\"drop\":true,\"delay_ms\":600000}", true, 0, "", NULL, NULL, false,
     MOCK_SIG_VALID, false, 0, "", NULL, true, 600000},
    {__LINE__, "{\"body\":\"{\\\"unexpected\\\":true}\"}", true, 200, "", "{\"unexpected\":true}",
     NULL, true, MOCK_SIG_VALID, false, 0, "", NULL, false, 0},
    {__LINE__, "{\"body\":\"\",\"status\":200,\"serial\":\"unknown\"}", true, 200, "", "", NULL,
     true, MOCK_SIG_VALID, true, 0, "", NULL, false, 0},
    {__LINE__, "{\"malformed_json\":true}", true, 200, "",
     "{\"code\":\"SYSTEM_ERROR\",\"message\":", NULL, true, MOCK_SIG_VALID, false, 0, "", NULL,
     false, 0},
    {__LINE__, "{\"malformed_json\":true,\"status\":500,\"drop\":false}", true, 500, "",
     "{\"code\":\"SYSTEM_ERROR\",\"message\":", NULL, true, MOCK_SIG_VALID, false, 0, "", NULL,
     false, 0},
    /* tamper only: the normal checks answer */
    {__LINE__, "{\"delay_ms\":0}", false, 0, "", "", NULL, false, MOCK_SIG_VALID, false, 0, "",
     NULL, false, 0},
    {__LINE__, "{\"delay_ms\":1500}", false, 0, "", "", NULL, false, MOCK_SIG_VALID, false, 0, "",
     NULL, false, 1500},
    {__LINE__, "{\"signature\":\"forged\"}", false, 0, "", "", NULL, false, MOCK_SIG_FORGED, false,
     0, "", NULL, false, 0},
    {__LINE__, "{\"signature\":\"probe\"}", false, 0, "", "", NULL, false, MOCK_SIG_PROBE, false, 0,
     "", NULL, false, 0},
    {__LINE__, "{\"signature\":\"valid\"}", false, 0, "", "", NULL, false, MOCK_SIG_VALID, false, 0,
     "", NULL, false, 0},
    /* "none": the normal answer goes out with no Wechatpay-* header at all */
    {__LINE__, "{\"signature\":\"none\"}", false, 0, "", "", NULL, false, MOCK_SIG_NONE, false, 0,
     "", NULL, false, 0},
    {__LINE__, "{\"serial\":\"unknown\"}", false, 0, "", "", NULL, false, MOCK_SIG_VALID, true, 0,
     "", NULL, false, 0},
    {__LINE__, "{\"timestamp_offset\":-400}", false, 0, "", "", NULL, false, MOCK_SIG_VALID, false,
     -400, "", NULL, false, 0},
    {__LINE__, "{\"omit_header\":\"wechatpay-nonce\"}", false, 0, "", "", NULL, false,
     MOCK_SIG_VALID, false, 0, "Wechatpay-Nonce", NULL, false, 0},
    {__LINE__, "{\"omit_header\":\"REQUEST-ID\"}", false, 0, "", "", NULL, false, MOCK_SIG_VALID,
     false, 0, "Request-ID", NULL, false, 0},
    {__LINE__, "{\"omit_header\":\"Wechatpay-Signature-Type\"}", false, 0, "", "", NULL, false,
     MOCK_SIG_VALID, false, 0, "Wechatpay-Signature-Type", NULL, false, 0},
    {__LINE__, "{\"sign_over\":\"{}\"}", false, 0, "", "", NULL, false, MOCK_SIG_VALID, false, 0,
     "", "{}", false, 0},
    {__LINE__, "{\"sign_over\":\"\",\"timestamp_offset\":301,\"signature\":\"probe\"}", false, 0,
     "", "", NULL, false, MOCK_SIG_PROBE, false, 301, "", "", false, 0},
};

static void test_scenario_actions_set_response(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(ACTION); i++) {
        const struct action_row *r = &ACTION[i];
        char doc[1024];
        struct mock_scenarios *s;
        struct mock_request req;
        struct mock_response resp;
        bool got;

        snprintf(doc, sizeof doc, "[{\"action\":%s}]", r->action);
        s = load(doc);
        req_terminate(&req);
        mock_response_init(&resp);
        got = mock_scenarios_apply(s, &req, OPENID, T_MCHID_A, &resp);
        if (got != r->answers) {
            fail_msg("row at line %d: returned %d", r->line, got);
        }
        if (resp.status != r->status || strcmp(resp.code, r->code) != 0) {
            fail_msg("row at line %d: status %u code \"%s\", want %u \"%s\"", r->line, resp.status,
                     resp.code, r->status, r->code);
        }
        if (r->body != NULL &&
            (resp.body.len != strlen(r->body) || strcmp(wxp_buf_cstr(&resp.body), r->body) != 0)) {
            fail_msg("row at line %d: body \"%s\", want \"%s\"", r->line, wxp_buf_cstr(&resp.body),
                     r->body);
        }
        if (r->body_part != NULL && strstr(wxp_buf_cstr(&resp.body), r->body_part) == NULL) {
            fail_msg("row at line %d: body \"%s\" lacks \"%s\"", r->line, wxp_buf_cstr(&resp.body),
                     r->body_part);
        }
        if (resp.sign != r->sign || resp.sigmode != r->sigmode ||
            resp.unknown_serial != r->unknown_serial || resp.ts_offset != r->ts_offset ||
            strcmp(resp.omit_header, r->omit) != 0 || resp.drop != r->drop ||
            resp.delay_ms != r->delay) {
            fail_msg("row at line %d: sign=%d sigmode=%d serial=%d ts=%lld omit=\"%s\" drop=%d "
                     "delay=%ld",
                     r->line, resp.sign, (int)resp.sigmode, resp.unknown_serial,
                     (long long)resp.ts_offset, resp.omit_header, resp.drop, resp.delay_ms);
        }
        if ((r->sign_over == NULL) != (resp.sign_over == NULL) ||
            (r->sign_over != NULL && strcmp(r->sign_over, resp.sign_over) != 0)) {
            fail_msg("row at line %d: sign_over \"%s\"", r->line,
                     resp.sign_over ? resp.sign_over : "(null)");
        }
        if ((resp.failed_check != NULL) != r->answers ||
            (r->answers && strcmp(resp.failed_check, "scenario") != 0)) {
            fail_msg("row at line %d: failed_check %s", r->line,
                     resp.failed_check ? resp.failed_check : "(null)");
        }
        mock_response_free(&resp);
        req_free(&req);
        mock_scenarios_free(s);
    }
}

/* A scenario error envelope is a well-formed APIv3 body. */
static void test_scenario_respond_envelope(void **state)
{
    (void)state;
    struct mock_scenarios *s =
        load("[{\"action\":{\"respond\":{\"status\":429,\"code\":\"FREQUENCY_LIMITED\",\"message\":"
             "\"频率超限\",\"detail\":{\"n\":[1,2]}}}}]");
    struct mock_request req;
    struct mock_response resp;
    cJSON *j;

    req_terminate(&req);
    mock_response_init(&resp);
    assert_true(mock_scenarios_apply(s, &req, NULL, NULL, &resp));
    j = cJSON_ParseWithLength(resp.body.ptr, resp.body.len);
    assert_non_null(j);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "code")),
                        "FREQUENCY_LIMITED");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message")),
                        "频率超限");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(j, "detail"), "n")),
                     2);
    cJSON_Delete(j);
    mock_response_free(&resp);
    req_free(&req);
    mock_scenarios_free(s);
}

/* A sign_over on a response that already has one replaces it without leaking. */
static void test_scenario_sign_over_replaces(void **state)
{
    (void)state;
    struct mock_scenarios *s = load("[{\"action\":{\"sign_over\":\"new\"}}]");
    struct mock_request req;
    struct mock_response resp;

    req_terminate(&req);
    mock_response_init(&resp);
    resp.sign_over = wxp_strndup("old", 3);
    assert_false(mock_scenarios_apply(s, &req, NULL, NULL, &resp));
    assert_string_equal(resp.sign_over, "new");
    mock_response_free(&resp);
    req_free(&req);
    mock_scenarios_free(s);
}

/* ---- clear, dump ------------------------------------------------------------------------ */

static void test_scenario_clear(void **state)
{
    (void)state;
    struct mock_scenarios *s = load("[{\"action\":{\"drop\":true}}]");
    struct mock_request req;

    req_terminate(&req);
    assert_true(apply_once(s, &req, NULL, NULL));
    mock_scenarios_clear(s);
    assert_int_equal(dump_size(s), 0);
    assert_false(apply_once(s, &req, NULL, NULL));
    mock_scenarios_clear(s); /* twice is fine */
    /* Usable again after clear. */
    struct wxp_err err;
    assert_int_equal(add(s, "[{\"action\":{\"drop\":true}}]", "admin", &err), WXP_OK);
    assert_true(apply_once(s, &req, NULL, NULL));
    req_free(&req);
    mock_scenarios_free(s);
    mock_scenarios_free(NULL);
    mock_scenarios_clear(NULL);
}

static void test_scenario_dump_contents(void **state)
{
    (void)state;
    static const char RULE0[] = "{\"name\":\"rate limit \\\"3rd\\\" call\",\"match\":{\"nth\":3},"
                                "\"times\":2,\"action\":{\"respond\":{\"status\":429,\"code\":"
                                "\"FREQUENCY_LIMITED\",\"message\":\"频率超限\"}}}";
    char doc[512];
    struct mock_scenarios *s;
    struct mock_request req;
    struct wxp_buf small;
    cJSON *j, *e, *want;

    snprintf(doc, sizeof doc, "{\"rules\":[%s,{\"action\":{\"delay_ms\":1}}]}", RULE0);
    s = load(doc);
    req_terminate(&req);
    for (int i = 0; i < 4; i++) {
        (void)apply_once(s, &req, NULL, NULL);
    }
    j = dump(s);
    assert_int_equal(cJSON_GetArraySize(j), 2);
    e = cJSON_GetArrayItem(j, 0);
    assert_int_equal(cJSON_GetArraySize(e), 5);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name")),
                        "rate limit \"3rd\" call");
    assert_true(cJSON_GetObjectItemCaseSensitive(e, "times_left")->valuedouble == 0);
    assert_true(cJSON_GetObjectItemCaseSensitive(e, "fired")->valuedouble == 2);
    assert_true(cJSON_GetObjectItemCaseSensitive(e, "matched")->valuedouble == 4);
    want = cJSON_Parse(RULE0);
    assert_non_null(want);
    assert_true(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(e, "rule"), want, true));
    cJSON_Delete(want);
    e = cJSON_GetArrayItem(j, 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "name")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "times_left")));
    assert_true(cJSON_GetObjectItemCaseSensitive(e, "fired")->valuedouble == 2);
    assert_true(cJSON_GetObjectItemCaseSensitive(e, "matched")->valuedouble == 2);
    cJSON_Delete(j);

    /* Appends to what is there; too small a buffer fails and leaves it unchanged. */
    wxp_buf_init(&small, 40);
    assert_int_equal(wxp_buf_addstr(&small, "x"), WXP_OK);
    assert_int_equal(mock_scenarios_dump(s, &small), WXP_E_TOO_LARGE);
    assert_string_equal(wxp_buf_cstr(&small), "x");
    mock_scenarios_clear(s);
    assert_int_equal(mock_scenarios_dump(s, &small), WXP_OK);
    assert_string_equal(wxp_buf_cstr(&small), "x[]");
    wxp_buf_free(&small);
    req_free(&req);
    mock_scenarios_free(s);
}

/* ---- threads ---------------------------------------------------------------------------- */

struct worker {
    struct mock_scenarios *s;
    const struct mock_request *req;
    int fired; /* read by the test thread after join */
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 1000; i++) {
        struct mock_response resp;
        mock_response_init(&resp);
        if (mock_scenarios_apply(w->s, w->req, NULL, NULL, &resp) && resp.status == 429) {
            w->fired++;
        }
        mock_response_free(&resp);
    }
    return NULL;
}

static void test_scenario_concurrent_apply_counts_exactly(void **state)
{
    (void)state;
    struct mock_scenarios *s =
        load("[{\"times\":100,\"action\":{\"respond\":{\"status\":429,\"code\":"
             "\"FREQUENCY_LIMITED\",\"message\":\"m\"}}}]");
    struct mock_request req;
    struct worker w[4];
    pthread_t t[4];
    int total = 0;

    req_terminate(&req);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){s, &req, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        total += w[i].fired;
    }
    assert_int_equal(total, 100);
    assert_true(dump_num(s, 0, "fired") == 100);
    assert_true(dump_num(s, 0, "matched") == 100);
    assert_true(dump_num(s, 0, "times_left") == 0);
    req_free(&req);
    mock_scenarios_free(s);
}

/* ---- path globs: bounds, cost, and matching outside the lock ------------------------------ */

/* A document of one rule whose match.path is `pat`; owned by the caller (free). */
static char *glob_doc(const char *pat)
{
    size_t cap = strlen(pat) + 64;
    char *d = malloc(cap);
    assert_non_null(d);
    snprintf(d, cap, "[{\"match\":{\"path\":\"%s\"},\"action\":{\"drop\":true}}]", pat);
    return d;
}

/* A glob of `len` bytes with `wild` single '*' spread over it, the rest 'a' after a '/'. */
static char *glob_pattern(size_t len, size_t wild)
{
    char *p = malloc(len + 1);
    assert_non_null(p);
    memset(p, 'a', len);
    p[0] = '/';
    for (size_t k = 0; k < wild; k++) {
        p[1 + k * ((len - 1) / wild)] = '*';
    }
    p[len] = '\0';
    return p;
}

static void test_scenario_glob_bounds(void **state)
{
    (void)state;
    static const struct {
        int line;
        size_t len, wild;
        enum wxp_code rc;
        const char *msg;
    } ROWS[] = {
        {__LINE__, 1024, 32, WXP_OK, NULL},
        {__LINE__, 1025, 1, WXP_E_INVALID_ARG, "at most 1024 bytes"},
        {__LINE__, 200, 33, WXP_E_INVALID_ARG, "at most 32 wildcards"},
        {__LINE__, 4002, 0, WXP_E_INVALID_ARG, "at most 1024 bytes"},
    };
    for (size_t i = 0; i < NELEM(ROWS); i++) {
        struct mock_scenarios *s = mock_scenarios_new();
        char *pat = glob_pattern(ROWS[i].len, ROWS[i].wild);
        char *doc = glob_doc(pat);
        struct wxp_err err;
        enum wxp_code rc = mock_scenarios_add_json(s, doc, strlen(doc), ORIGIN, &err);

        if (rc != ROWS[i].rc) {
            fail_msg("row at line %d: %s (%s)", ROWS[i].line, wxp_code_name(rc), err.msg);
        }
        if (ROWS[i].msg != NULL && (strstr(err.msg, ROWS[i].msg) == NULL ||
                                    strcmp(err.field, ORIGIN ": rules[0].match.path") != 0)) {
            fail_msg("row at line %d: %s: %s", ROWS[i].line, err.field, err.msg);
        }
        free(doc);
        free(pat);
        mock_scenarios_free(s);
    }
    /* A run of stars is one wildcard: the "/" + 4000 stars + "b" shape, within 1024. */
    {
        struct mock_scenarios *s = mock_scenarios_new();
        char pat[1001];
        char *doc;
        struct wxp_err err;
        memset(pat, '*', sizeof pat - 1);
        pat[0] = '/';
        pat[sizeof pat - 2] = 'b';
        pat[sizeof pat - 1] = '\0';
        doc = glob_doc(pat);
        assert_int_equal(mock_scenarios_add_json(s, doc, strlen(doc), ORIGIN, &err), WXP_OK);
        free(doc);
        mock_scenarios_free(s);
    }
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The attack at the bounds: 100 rules of the costliest glob allowed (1024 bytes, 32
 * wildcards) against a 60 KB path. The old O(path x glob) matcher took about 6 * 10^9 steps
 * here; now each byte costs at most MOCK_GLOB_WORDS_MAX word steps per rule. */
static void test_scenario_glob_cost_is_linear(void **state)
{
    (void)state;
    struct mock_scenarios *s = mock_scenarios_new();
    char *pat = glob_pattern(1024, 32);
    struct wxp_buf doc;
    struct mock_request req;
    struct mock_response resp;
    char *path = malloc(60001);
    size_t steps = 0;
    struct mock_glob *g = NULL;
    const char *why = NULL;
    double t0, spent;

    assert_non_null(path);
    memset(path, 'a', 60000);
    path[0] = '/';
    path[60000] = '\0';
    /* 1023 bytes and the final 'b': 1024, the most a glob may have. */
    wxp_buf_init(&doc, 2 * 1024 * 1024);
    pat[1023] = '\0';
    assert_int_equal(wxp_buf_addstr(&doc, "["), WXP_OK);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(wxp_buf_addf(&doc,
                                      "%s{\"match\":{\"path\":\"%sb\"},\"action\":{"
                                      "\"drop\":true}}",
                                      i ? "," : "", pat),
                         WXP_OK);
    }
    assert_int_equal(wxp_buf_addstr(&doc, "]"), WXP_OK);
    assert_int_equal(mock_scenarios_add_json(s, doc.ptr, doc.len, ORIGIN, NULL), WXP_OK);

    req_init(&req, "POST", path, NULL);
    mock_response_init(&resp);
    t0 = cpu_seconds();
    assert_false(mock_scenarios_apply(s, &req, NULL, NULL, &resp)); /* no 'b' at the end */
    spent = cpu_seconds() - t0;
    print_message("100 rules x 1024-byte globs x 60 KB path: %.3f s of CPU\n", spent);
    /* 0.5 s here, 1.7 s under ASan; valgrind (which preloads its vgpreload library) runs code
     * some 50 times slower, so there only the counted bound below holds. */
    if (getenv("LD_PRELOAD") == NULL || strstr(getenv("LD_PRELOAD"), "vgpreload") == NULL) {
        assert_true(spent < 5.0);
    }

    /* The bound itself, counted rather than timed. */
    pat[1023] = 'b';
    pat[1024] = '\0';
    assert_int_equal(mock_glob_compile(pat, strlen(pat), &g, &why), WXP_OK);
    assert_false(mock_glob_match(g, path, 60000, &steps));
    assert_true(steps <= (size_t)60001 * MOCK_GLOB_WORDS_MAX);
    mock_glob_free(g);

    mock_response_free(&resp);
    req_free(&req);
    wxp_buf_free(&doc);
    free(path);
    free(pat);
    mock_scenarios_free(s);
}

/* The hook runs in the middle of an apply, after the snapshot; it parks that apply until the test
 * thread has finished a whole apply of its own (bounded wait: a regression fails, never hangs). */
static sem_t hook_entered;
static sem_t hook_release;
static atomic_bool hook_armed;
static atomic_bool hook_timed_out;

static void park_once(void)
{
    struct timespec until;

    if (!atomic_exchange(&hook_armed, false)) {
        return;
    }
    sem_post(&hook_entered);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    if (sem_timedwait(&hook_release, &until) != 0) {
        atomic_store(&hook_timed_out, true);
    }
}

struct parked {
    struct mock_scenarios *s;
    struct mock_request *req;
    bool answered;
};

static void *apply_parked(void *arg)
{
    struct parked *p = arg;
    struct mock_response resp;

    mock_response_init(&resp);
    p->answered = mock_scenarios_apply(p->s, p->req, NULL, NULL, &resp);
    mock_response_free(&resp);
    return NULL;
}

static void test_scenario_match_runs_outside_the_lock(void **state)
{
    (void)state;
    struct mock_scenarios *s =
        load("[{\"match\":{\"path\":\"/v3/**\"},\"times\":1,\"action\":{\"drop\":true}},"
             "{\"match\":{\"path\":\"/other\"},\"action\":{\"respond\":{\"status\":429,"
             "\"code\":\"C\",\"message\":\"m\"}}}]");
    struct mock_request slow, other;
    struct mock_response resp;
    struct parked p;
    pthread_t t;
    struct timespec until;

    req_terminate(&slow);
    req_init(&other, "GET", "/other", NULL);
    assert_int_equal(sem_init(&hook_entered, 0, 0), 0);
    assert_int_equal(sem_init(&hook_release, 0, 0), 0);
    atomic_store(&hook_armed, true);
    atomic_store(&hook_timed_out, false);
    mock_scenarios_test_hook = park_once;
    p = (struct parked){s, &slow, false};
    assert_int_equal(pthread_create(&t, NULL, apply_parked, &p), 0);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    assert_int_equal(sem_timedwait(&hook_entered, &until), 0);
    /* The first apply is parked mid-way; this one must run to its end meanwhile. */
    mock_response_init(&resp);
    assert_true(mock_scenarios_apply(s, &other, NULL, NULL, &resp));
    assert_int_equal(resp.status, 429);
    mock_response_free(&resp);
    /* Clearing while the parked apply holds its snapshot: it sees no rule, and frees them. */
    mock_scenarios_clear(s);
    sem_post(&hook_release);
    assert_int_equal(pthread_join(t, NULL), 0);
    mock_scenarios_test_hook = NULL;
    assert_false(atomic_load(&hook_timed_out));
    assert_false(p.answered);
    sem_destroy(&hook_entered);
    sem_destroy(&hook_release);
    req_free(&slow);
    req_free(&other);
    mock_scenarios_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_rejects_bad_documents_with_paths),
        cmocka_unit_test(test_scenario_long_origin_keeps_the_location),
        cmocka_unit_test(test_scenario_add_is_all_or_nothing),
        cmocka_unit_test(test_scenario_accepts_both_shapes_and_empty),
        cmocka_unit_test(test_scenario_limits),
        cmocka_unit_test(test_scenario_garbage_never_crashes),
        cmocka_unit_test(test_scenario_every_failed_allocation_is_reported),
        cmocka_unit_test(test_scenario_match_kinds),
        cmocka_unit_test(test_scenario_match_operation_and_path_params),
        cmocka_unit_test(test_scenario_nth_skips_earlier_matches),
        cmocka_unit_test(test_scenario_times_expire),
        cmocka_unit_test(test_scenario_probability_is_seeded),
        cmocka_unit_test(test_scenario_first_rule_wins),
        cmocka_unit_test(test_scenario_actions_set_response),
        cmocka_unit_test(test_scenario_respond_envelope),
        cmocka_unit_test(test_scenario_sign_over_replaces),
        cmocka_unit_test(test_scenario_clear),
        cmocka_unit_test(test_scenario_dump_contents),
        cmocka_unit_test(test_scenario_concurrent_apply_counts_exactly),
        cmocka_unit_test(test_scenario_glob_bounds),
        cmocka_unit_test(test_scenario_glob_cost_is_linear),
        cmocka_unit_test(test_scenario_match_runs_outside_the_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
