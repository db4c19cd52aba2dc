/* SPDX-License-Identifier: MIT */
/* test_schema.c: the terminate-by-openid schema (docs/protocol.md#terminate-schema): lengths at
 * 0, 1, max, max+1 in bytes or characters, charset, types, presence, duplicates, and the live
 * server's PARAM_ERROR message and detail for each failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wxp/mem.h"
#include "wxp/schema.h"
#include "wxp/utf8.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define SCHEMA (&WXP_SCHEMA_TERMINATE_BY_OPENID)

/* The default member values of fixtures/requests (README.md). */
#define SVC_V "2002000000000558128851361561536"
#define APP_V "wxd678efh567hg6787"
#define SVC "\"service_id\":\"" SVC_V "\""
#define APP "\"appid\":\"" APP_V "\""
#define RSN "\"reason\":\"reason\""

/* UTF-8 of 中 (3 bytes), é (2 bytes) and 😀 (U+1F600, 4 bytes). */
#define ZH "\xE4\xB8\xAD"
#define EMOJI "\xF0\x9F\x98\x80"

/* Copies `len` bytes to an exact-size heap block with no terminator, so ASan catches any read
 * past the end, then checks it. */
static enum wxp_code check_exact(const char *body, size_t len, struct wxp_values *v,
                                 struct wxp_param_issue *issue, struct wxp_err *err)
{
    char *copy = malloc(len ? len : 1);
    enum wxp_code rc;

    assert_non_null(copy);
    if (len > 0) {
        memcpy(copy, body, len);
    }
    rc = wxp_schema_check_body(SCHEMA, copy, len, v, issue, err);
    free(copy);
    return rc;
}

static void issue_poison(struct wxp_param_issue *issue)
{
    issue->location = "unset";
    snprintf(issue->pointer, sizeof issue->pointer, "unset");
    issue->value = -1;
    issue->has_value = true;
}

static bool valid_utf8(const char *s)
{
    return wxp_utf8_check(s, strlen(s), NULL) == WXP_OK;
}

/* Asserts a failure's code, err and issue; `value` < 0 means the issue carries no value. */
static void want_failure(int line, enum wxp_code rc, const struct wxp_err *err,
                         const struct wxp_param_issue *issue, enum wxp_code code,
                         const char *pointer, long long value)
{
    const char *loc = strncmp(pointer, "/uri_template", 13) == 0 ? "uri_template" : "body";

    if (rc != code || err->code != code) {
        fail_msg("row at line %d: got %s (err %s: %s), want %s", line, wxp_code_name(rc),
                 wxp_code_name(err->code), err->msg, wxp_code_name(code));
    }
    if (strcmp(err->field, pointer) != 0) {
        fail_msg("row at line %d: err.field \"%s\", want \"%s\"", line, err->field, pointer);
    }
    if (err->msg[0] == '\0' || !valid_utf8(err->msg) || strchr(err->msg, '\n') != NULL) {
        fail_msg("row at line %d: err.msg is not one line of UTF-8: \"%s\"", line, err->msg);
    }
    if (strcmp(issue->location, loc) != 0 || strcmp(issue->pointer, pointer) != 0) {
        fail_msg("row at line %d: issue {%s, %s}, want {%s, %s}", line, issue->location,
                 issue->pointer, loc, pointer);
    }
    if (value < 0 && issue->has_value) {
        fail_msg("row at line %d: issue has value %lld, want none", line, issue->value);
    }
    if (value >= 0 && (!issue->has_value || issue->value != value)) {
        fail_msg("row at line %d: issue value %lld (has_value %d), want %lld", line, issue->value,
                 issue->has_value, value);
    }
}

static void want_member(int line, const struct wxp_values *v, const char *name, const char *want,
                        size_t want_len)
{
    struct wxp_str s = wxp_values_get(v, name);

    if (s.ptr == NULL) {
        fail_msg("row at line %d: no value for %s", line, name);
    }
    if (s.len != want_len || memcmp(s.ptr, want, want_len) != 0 || s.ptr[s.len] != '\0') {
        fail_msg("row at line %d: %s is \"%.*s\" (%zu bytes), want \"%s\" (%zu bytes)", line, name,
                 (int)s.len, s.ptr, s.len, want, want_len);
    }
}

struct ok_row {
    int line;
    const char *body;
    const char *svc;
    const char *appid;
    const char *reason;
};

static const struct ok_row OK_ROWS[] = {
    {__LINE__, "{" SVC "," APP "," RSN "}", SVC_V, APP_V, "reason"},
    {__LINE__, "{" RSN "," APP "," SVC "}", SVC_V, APP_V, "reason"},
    /* Escapes are decoded: \u4e2d\u6587 is 中文; \" \\ \/ too. */
    {__LINE__, "{" SVC "," APP ",\"reason\":\"\\u4e2d\\u6587 \\\"q\\\" \\\\ \\/\"}", SVC_V, APP_V,
     "\xE4\xB8\xAD\xE6\x96\x87 \"q\" \\ /"},
    {__LINE__, "{\"service_id\":\"\\u0032\\u0030\",\"appid\":\"wx\\/1\",\"reason\":\"\\u00e9\"}",
     "20", "wx/1", "\xC3\xA9"},
    /* A member name written with an escape is the same name. */
    {__LINE__, "{" SVC "," APP ",\"re\\u0061son\":\"r\"}", SVC_V, APP_V, "r"},
    /* Whitespace around every token, and a trailing newline (Go's json.Encoder). */
    {__LINE__, " {\n\t\"service_id\" : \"1\" ,\r\n \"appid\":\"a\" , \"reason\" :\"r\"\n}\n", "1",
     "a", "r"},
    /* Unknown members are ignored, whatever their type, even repeated. */
    {__LINE__,
     "{\"x\":{\"y\":[1,null,true]}," SVC ",\"n\":null," APP ",\"x\":2," RSN ",\"Reason\":5}", SVC_V,
     APP_V, "reason"},
    /* Raw multibyte UTF-8 up to 3 bytes; DEL-free printable ASCII. */
    {__LINE__, "{" SVC "," APP ",\"reason\":\"" ZH "a\xC3\xA9 ~!\"}", SVC_V, APP_V,
     ZH "a\xC3\xA9 ~!"},
};

static void test_schema_accepts_valid_bodies(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(OK_ROWS); i++) {
        const struct ok_row *r = &OK_ROWS[i];
        struct wxp_values v;
        struct wxp_err err;
        enum wxp_code rc;

        wxp_err_clear(&err);
        rc = check_exact(r->body, strlen(r->body), &v, NULL, &err);
        if (rc != WXP_OK) {
            fail_msg("row at line %d: got %s (%s: %s), want WXP_OK", r->line, wxp_code_name(rc),
                     err.field, err.msg);
        }
        want_member(r->line, &v, "service_id", r->svc, strlen(r->svc));
        want_member(r->line, &v, "appid", r->appid, strlen(r->appid));
        want_member(r->line, &v, "reason", r->reason, strlen(r->reason));
        if (wxp_values_get(&v, "openid").ptr != NULL || wxp_values_get(&v, "x").ptr != NULL) {
            fail_msg("row at line %d: a value for a name the body rows do not have", r->line);
        }
        wxp_values_free(&v);
        if (wxp_values_get(&v, "reason").ptr != NULL) {
            fail_msg("row at line %d: value still there after wxp_values_free", r->line);
        }
        /* Without `out` the verdict is the same. */
        if (check_exact(r->body, strlen(r->body), NULL, NULL, NULL) != WXP_OK) {
            fail_msg("row at line %d: refused with out == NULL", r->line);
        }
    }
}

static void test_schema_accepts_fixture_bodies(void **state)
{
    static const struct {
        int line;
        const char *file;
        const char *reason;
    } FILES[] = {
        {__LINE__, "requests/terminate-valid.json", "reason"},
        {__LINE__, "requests/terminate-reordered.json", "reason"},
        {__LINE__, "requests/terminate-go-trailing-newline.json", "reason"},
        {__LINE__, "requests/terminate-valid-chinese.json",
         "\xE7\x94\xA8\xE6\x88\xB7\xE4\xB8\xBB\xE5\x8A\xA8\xE8\xA7\xA3\xE9\x99\xA4\xE6\x8E\x88"
         "\xE6\x9D\x83"},
        {__LINE__, "requests/terminate-reason-50-chinese.json", NULL},
    };
    (void)state;

    for (size_t i = 0; i < NELEM(FILES); i++) {
        size_t len = 0;
        char *body = t_read(FILES[i].file, &len);
        struct wxp_values v;
        struct wxp_err err;
        enum wxp_code rc = check_exact(body, len, &v, NULL, &err);
        struct wxp_str reason;
        struct wxp_utf8_info info;

        if (rc != WXP_OK) {
            fail_msg("row at line %d: %s: got %s (%s)", FILES[i].line, FILES[i].file,
                     wxp_code_name(rc), err.msg);
        }
        want_member(FILES[i].line, &v, "service_id", SVC_V, strlen(SVC_V));
        want_member(FILES[i].line, &v, "appid", APP_V, strlen(APP_V));
        reason = wxp_values_get(&v, "reason");
        if (FILES[i].reason != NULL) {
            want_member(FILES[i].line, &v, "reason", FILES[i].reason, strlen(FILES[i].reason));
        } else if (reason.ptr == NULL || reason.len != 150 ||
                   wxp_utf8_check(reason.ptr, reason.len, &info) != WXP_OK || info.chars != 50) {
            fail_msg("row at line %d: the 50-character reason did not come back whole",
                     FILES[i].line);
        }
        wxp_values_free(&v);
        wxp_free(body);
    }
}

/* One member's value is `n` copies of `unit` (JSON text); the other two are the defaults. */
struct len_row {
    int line;
    const char *field;
    const char *unit;
    size_t n;
    enum wxp_code code;
    long long value; /* detail.value: the length that broke the rule */
};

static const struct len_row LEN_ROWS[] = {
    /* service_id: 1..32 bytes. */
    {__LINE__, "service_id", "1", 0, WXP_E_PARAM_TOO_SHORT, 0},
    {__LINE__, "service_id", "1", 1, WXP_OK, 0},
    {__LINE__, "service_id", "1", 32, WXP_OK, 0},
    {__LINE__, "service_id", "1", 33, WXP_E_PARAM_TOO_LONG, 33},
    {__LINE__, "service_id", "1", 1000, WXP_E_PARAM_TOO_LONG, 1000},
    {__LINE__, "service_id", "\\u0031", 32, WXP_OK, 0},
    {__LINE__, "service_id", "\\u0031", 33, WXP_E_PARAM_TOO_LONG, 33},
    {__LINE__, "service_id", ZH, 10, WXP_OK, 0},
    {__LINE__, "service_id", ZH, 11, WXP_E_PARAM_TOO_LONG, 33},
    /* appid: 1..32 bytes, so multibyte characters count 2 or 3 each. */
    {__LINE__, "appid", "w", 0, WXP_E_PARAM_TOO_SHORT, 0},
    {__LINE__, "appid", "w", 1, WXP_OK, 0},
    {__LINE__, "appid", "w", 32, WXP_OK, 0},
    {__LINE__, "appid", "w", 33, WXP_E_PARAM_TOO_LONG, 33},
    {__LINE__, "appid", ZH, 10, WXP_OK, 0},
    {__LINE__, "appid", ZH, 11, WXP_E_PARAM_TOO_LONG, 33},
    {__LINE__, "appid", "\xC3\xA9", 16, WXP_OK, 0},
    {__LINE__, "appid", "\xC3\xA9", 17, WXP_E_PARAM_TOO_LONG, 34},
    {__LINE__, "appid", "\\u00e9", 16, WXP_OK, 0},
    {__LINE__, "appid", "\\u00e9", 17, WXP_E_PARAM_TOO_LONG, 34},
    {__LINE__, "appid", "\\u4e2d", 11, WXP_E_PARAM_TOO_LONG, 33},
    /* reason: 1..50 characters, whatever their byte length. */
    {__LINE__, "reason", "r", 0, WXP_E_PARAM_TOO_SHORT, 0},
    {__LINE__, "reason", "r", 1, WXP_OK, 0},
    {__LINE__, "reason", "r", 50, WXP_OK, 0},
    {__LINE__, "reason", "r", 51, WXP_E_PARAM_TOO_LONG, 51},
    {__LINE__, "reason", ZH, 1, WXP_OK, 0},
    {__LINE__, "reason", ZH, 50, WXP_OK, 0},
    {__LINE__, "reason", ZH, 51, WXP_E_PARAM_TOO_LONG, 51},
    {__LINE__, "reason", "\xC3\xA9", 50, WXP_OK, 0},
    {__LINE__, "reason", "\xC3\xA9", 51, WXP_E_PARAM_TOO_LONG, 51},
    {__LINE__, "reason", "\\u4e2d", 50, WXP_OK, 0},
    {__LINE__, "reason", "\\u4e2d", 51, WXP_E_PARAM_TOO_LONG, 51},
    {__LINE__, "reason", "\\\"", 50, WXP_OK, 0},
    {__LINE__, "reason", "\\\"", 51, WXP_E_PARAM_TOO_LONG, 51},
    {__LINE__, "reason", "\xEF\xBF\xBF", 50, WXP_OK, 0}, /* U+FFFF: 3 bytes, allowed */
};

/* {"service_id":..,"appid":..,"reason":..} with `field` set to n x unit, in a new buffer. */
static char *len_body(const struct len_row *r, size_t *len)
{
    size_t cap = 128 + r->n * strlen(r->unit);
    char *val = malloc(cap);
    char *body = malloc(cap + 128);
    size_t k = 0;
    int w;

    assert_non_null(val);
    assert_non_null(body);
    val[k++] = '"';
    for (size_t i = 0; i < r->n; i++) {
        memcpy(val + k, r->unit, strlen(r->unit));
        k += strlen(r->unit);
    }
    val[k++] = '"';
    val[k] = '\0';
    w = snprintf(body, cap + 128, "{\"service_id\":%s,\"appid\":%s,\"reason\":%s}",
                 strcmp(r->field, "service_id") == 0 ? val : "\"" SVC_V "\"",
                 strcmp(r->field, "appid") == 0 ? val : "\"" APP_V "\"",
                 strcmp(r->field, "reason") == 0 ? val : "\"reason\"");
    assert_true(w > 0 && (size_t)w < cap + 128);
    free(val);
    *len = (size_t)w;
    return body;
}

static void test_schema_checks_lengths(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(LEN_ROWS); i++) {
        const struct len_row *r = &LEN_ROWS[i];
        size_t len = 0;
        char *body = len_body(r, &len);
        char pointer[64];
        struct wxp_values v;
        struct wxp_param_issue issue;
        struct wxp_err err;
        enum wxp_code rc;

        snprintf(pointer, sizeof pointer, "/body/%s", r->field);
        issue_poison(&issue);
        wxp_err_clear(&err);
        rc = check_exact(body, len, &v, &issue, &err);
        if (r->code == WXP_OK) {
            if (rc != WXP_OK) {
                fail_msg("row at line %d: got %s (%s), want WXP_OK", r->line, wxp_code_name(rc),
                         err.msg);
            }
            if (wxp_values_get(&v, r->field).ptr == NULL) {
                fail_msg("row at line %d: no value for %s", r->line, r->field);
            }
            wxp_values_free(&v);
        } else {
            want_failure(r->line, rc, &err, &issue, r->code, pointer, r->value);
            if (wxp_values_get(&v, r->field).ptr != NULL) {
                fail_msg("row at line %d: values left behind after a failure", r->line);
            }
        }
        free(body);
    }
}

/* A whole body and the failure it must produce; value < 0: the issue carries no value. */
struct bad_row {
    int line;
    const char *body;
    enum wxp_code code;
    const char *pointer;
    long long value;
};

static const struct bad_row BAD_ROWS[] = {
    /* 4-byte UTF-8, raw or as an escape pair, in any field. */
    {__LINE__, "{" SVC "," APP ",\"reason\":\"" EMOJI "\"}", WXP_E_PARAM_CHARSET, "/body/reason",
     -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"ok " EMOJI " ok\"}", WXP_E_PARAM_CHARSET,
     "/body/reason", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"\\uD83D\\uDE00\"}", WXP_E_PARAM_CHARSET,
     "/body/reason", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"\\ud800\\udc00\"}", WXP_E_PARAM_CHARSET,
     "/body/reason", -1},
    {__LINE__, "{" SVC ",\"appid\":\"wx" EMOJI "\"," RSN "}", WXP_E_PARAM_CHARSET, "/body/appid",
     -1},
    {__LINE__, "{\"service_id\":\"\\uDBFF\\uDFFF\"," APP "," RSN "}", WXP_E_PARAM_CHARSET,
     "/body/service_id", -1},
    /* The charset is checked before the length: 51 characters with an emoji. */
    {__LINE__,
     "{" SVC "," APP ",\"reason\":\"" EMOJI "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr\"}",
     WXP_E_PARAM_CHARSET, "/body/reason", -1},
    /* Control characters, escaped (raw ones are a JSON syntax error) or raw DEL. */
    {__LINE__, "{" SVC "," APP ",\"reason\":\"a\\u0001b\"}", WXP_E_PARAM_CHARSET, "/body/reason",
     -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"line\\nbreak\"}", WXP_E_PARAM_CHARSET, "/body/reason",
     -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"tab\\there\"}", WXP_E_PARAM_CHARSET, "/body/reason",
     -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"\\u001f\"}", WXP_E_PARAM_CHARSET, "/body/reason", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"\\u007F\"}", WXP_E_PARAM_CHARSET, "/body/reason", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"del\x7F\"}", WXP_E_PARAM_CHARSET, "/body/reason", -1},
    {__LINE__, "{\"service_id\":\"123\\r\"," APP "," RSN "}", WXP_E_PARAM_CHARSET,
     "/body/service_id", -1},
    {__LINE__, "{" SVC ",\"appid\":\"\\b\"," RSN "}", WXP_E_PARAM_CHARSET, "/body/appid", -1},
    /* Wrong types, null included: every field, every JSON type. */
    {__LINE__, "{\"service_id\":2002," APP "," RSN "}", WXP_E_PARAM_TYPE, "/body/service_id", -1},
    {__LINE__, "{\"service_id\":true," APP "," RSN "}", WXP_E_PARAM_TYPE, "/body/service_id", -1},
    {__LINE__, "{\"service_id\":{}," APP "," RSN "}", WXP_E_PARAM_TYPE, "/body/service_id", -1},
    {__LINE__, "{\"service_id\":[\"" SVC_V "\"]," APP "," RSN "}", WXP_E_PARAM_TYPE,
     "/body/service_id", -1},
    {__LINE__, "{\"service_id\":null," APP "," RSN "}", WXP_E_PARAM_TYPE, "/body/service_id", -1},
    {__LINE__, "{" SVC ",\"appid\":1.5," RSN "}", WXP_E_PARAM_TYPE, "/body/appid", -1},
    {__LINE__, "{" SVC ",\"appid\":false," RSN "}", WXP_E_PARAM_TYPE, "/body/appid", -1},
    {__LINE__, "{" SVC ",\"appid\":{\"a\":\"b\"}," RSN "}", WXP_E_PARAM_TYPE, "/body/appid", -1},
    {__LINE__, "{" SVC ",\"appid\":[]," RSN "}", WXP_E_PARAM_TYPE, "/body/appid", -1},
    {__LINE__, "{" SVC ",\"appid\":null," RSN "}", WXP_E_PARAM_TYPE, "/body/appid", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":0}", WXP_E_PARAM_TYPE, "/body/reason", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":true}", WXP_E_PARAM_TYPE, "/body/reason", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":{}}", WXP_E_PARAM_TYPE, "/body/reason", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":[\"reason\"]}", WXP_E_PARAM_TYPE, "/body/reason", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":null}", WXP_E_PARAM_TYPE, "/body/reason", -1},
    /* Missing members, reported in row order: service_id, appid, reason. */
    {__LINE__, "{" APP "," RSN "}", WXP_E_PARAM_MISSING, "/body/service_id", -1},
    {__LINE__, "{" SVC "," RSN "}", WXP_E_PARAM_MISSING, "/body/appid", -1},
    {__LINE__, "{" SVC "," APP "}", WXP_E_PARAM_MISSING, "/body/reason", -1},
    {__LINE__, "{}", WXP_E_PARAM_MISSING, "/body/service_id", -1},
    {__LINE__, "{" RSN "}", WXP_E_PARAM_MISSING, "/body/service_id", -1},
    {__LINE__, "{" SVC "}", WXP_E_PARAM_MISSING, "/body/appid", -1},
    {__LINE__, "{\"other\":1}", WXP_E_PARAM_MISSING, "/body/service_id", -1},
    /* Earlier rows fail first, whatever is wrong with later ones. */
    {__LINE__, "{\"reason\":\"\",\"appid\":1}", WXP_E_PARAM_MISSING, "/body/service_id", -1},
    {__LINE__, "{\"service_id\":\"\",\"appid\":1}", WXP_E_PARAM_TOO_SHORT, "/body/service_id", 0},
    {__LINE__, "{" SVC ",\"appid\":1,\"reason\":\"\"}", WXP_E_PARAM_TYPE, "/body/appid", -1},
    /* Names match case-sensitively and exactly. */
    {__LINE__, "{" SVC "," APP ",\"Reason\":\"reason\"}", WXP_E_PARAM_MISSING, "/body/reason", -1},
    {__LINE__, "{" SVC "," APP ",\"REASON\":\"reason\"}", WXP_E_PARAM_MISSING, "/body/reason", -1},
    {__LINE__, "{" SVC "," APP ",\"reason \":\"reason\"}", WXP_E_PARAM_MISSING, "/body/reason", -1},
    {__LINE__, "{\"Service_id\":\"1\"," APP "," RSN "}", WXP_E_PARAM_MISSING, "/body/service_id",
     -1},
    {__LINE__, "{" SVC ",\"appId\":\"" APP_V "\"," RSN "}", WXP_E_PARAM_MISSING, "/body/appid", -1},
    /* A schema member named twice, with the same or another value, or by an escape. */
    {__LINE__, "{" SVC "," APP "," RSN "," RSN "}", WXP_E_JSON_DUPLICATE_KEY, "/body/reason", -1},
    {__LINE__, "{" SVC "," APP "," RSN ",\"reason\":\"other\"}", WXP_E_JSON_DUPLICATE_KEY,
     "/body/reason", -1},
    {__LINE__, "{" SVC "," APP "," RSN ",\"re\\u0061son\":\"x\"}", WXP_E_JSON_DUPLICATE_KEY,
     "/body/reason", -1},
    {__LINE__, "{" SVC "," SVC "," APP "," RSN "}", WXP_E_JSON_DUPLICATE_KEY, "/body/service_id",
     -1},
    {__LINE__, "{" APP ",\"appid\":null}", WXP_E_JSON_DUPLICATE_KEY, "/body/appid", -1},
    /* Not an object. */
    {__LINE__, "[]", WXP_E_JSON_NOT_OBJECT, "/body", -1},
    {__LINE__, "[{" SVC "," APP "," RSN "}]", WXP_E_JSON_NOT_OBJECT, "/body", -1},
    {__LINE__, "\"" SVC_V "\"", WXP_E_JSON_NOT_OBJECT, "/body", -1},
    {__LINE__, "1", WXP_E_JSON_NOT_OBJECT, "/body", -1},
    {__LINE__, "null", WXP_E_JSON_NOT_OBJECT, "/body", -1},
    {__LINE__, "true", WXP_E_JSON_NOT_OBJECT, "/body", -1},
    /* Not JSON, or cJSON leniencies. */
    {__LINE__, "", WXP_E_JSON_SYNTAX, "/body", -1},
    {__LINE__, " \n", WXP_E_JSON_SYNTAX, "/body", -1},
    {__LINE__, "{" SVC "," APP "," RSN ",}", WXP_E_JSON_SYNTAX, "/body", -1},
    {__LINE__, "{" SVC "," APP "," RSN "}x", WXP_E_JSON_SYNTAX, "/body", -1},
    {__LINE__, "{" SVC "," APP "," RSN "}{}", WXP_E_JSON_SYNTAX, "/body", -1},
    {__LINE__, "\xEF\xBB\xBF{" SVC "," APP "," RSN "}", WXP_E_JSON_SYNTAX, "/body", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"a\\u0000b\"}", WXP_E_JSON_SYNTAX, "/body", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"a\x01z\"}", WXP_E_JSON_SYNTAX, "/body", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"\\uD83D\"}", WXP_E_JSON_SYNTAX, "/body", -1},
    {__LINE__, "{" SVC "," APP "," RSN ",\"n\":01}", WXP_E_JSON_SYNTAX, "/body", -1},
    {__LINE__, "{'service_id':'1'}", WXP_E_JSON_SYNTAX, "/body", -1},
    {__LINE__, "service_id=1&appid=2&reason=3", WXP_E_JSON_SYNTAX, "/body", -1},
    /* Invalid UTF-8, in a value, a name or between tokens. */
    {__LINE__, "{" SVC "," APP ",\"reason\":\"\xC3\x28\"}", WXP_E_UTF8, "/body", -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"\xED\xA0\xBD\xED\xB8\x80\"}", WXP_E_UTF8, "/body",
     -1},
    {__LINE__, "{" SVC "," APP ",\"reason\":\"\xE7\x94\"}", WXP_E_UTF8, "/body", -1},
    {__LINE__, "{" SVC "," APP ",\"rea\xFFson\":\"r\"}", WXP_E_UTF8, "/body", -1},
    {__LINE__, "{" SVC "," APP "," RSN "}\x80", WXP_E_UTF8, "/body", -1},
};

static void test_schema_rejects_bad_bodies(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(BAD_ROWS); i++) {
        const struct bad_row *r = &BAD_ROWS[i];
        struct wxp_values v;
        struct wxp_param_issue issue;
        struct wxp_err err;
        enum wxp_code rc;

        issue_poison(&issue);
        wxp_err_clear(&err);
        rc = check_exact(r->body, strlen(r->body), &v, &issue, &err);
        want_failure(r->line, rc, &err, &issue, r->code, r->pointer, r->value);
        if (v.schema != NULL || wxp_values_get(&v, "service_id").ptr != NULL) {
            fail_msg("row at line %d: values left behind after a failure", r->line);
        }
        /* Without `out` and `issue` the code and err.field are the same. */
        wxp_err_clear(&err);
        rc = check_exact(r->body, strlen(r->body), NULL, NULL, &err);
        if (rc != r->code || strcmp(err.field, r->pointer) != 0) {
            fail_msg("row at line %d: with out == issue == NULL got %s field \"%s\"", r->line,
                     wxp_code_name(rc), err.field);
        }
        if (check_exact(r->body, strlen(r->body), NULL, NULL, NULL) != r->code) {
            fail_msg("row at line %d: different verdict with err == NULL", r->line);
        }
    }
}

/* The live server's sentences (docs/protocol.md#param-error-messages), byte for byte. */
static void test_schema_reports_live_messages(void **state)
{
    static const struct {
        int line;
        const char *file; /* a fixture, or NULL to use body */
        const char *body;
        enum wxp_code code;
        const char *pointer;
        long long value;
        const char *msg;
    } ROWS[] = {
        {__LINE__, "requests/terminate-reason-51-chinese.json", NULL, WXP_E_PARAM_TOO_LONG,
         "/body/reason", 51,
         "输入源“/body/reason”映射到值字段“撤销原因”字符串规则校验失败，字符数 51，大于最大值 50"},
        {__LINE__, "requests/terminate-missing-reason.json", NULL, WXP_E_PARAM_MISSING,
         "/body/reason", -1, "/body/reason 映射到字段“撤销原因”必填性规则校验失败，此字段为必填项"},
        {__LINE__, "requests/terminate-empty-appid.json", NULL, WXP_E_PARAM_TOO_SHORT,
         "/body/appid", 0,
         "输入源“/body/appid”映射到值字段“公众账号ID”字符串规则校验失败，字节数 0，小于最小值 1"},
        {__LINE__, NULL, "{" SVC "," APP ",\"reason\":null}", WXP_E_PARAM_TYPE, "/body/reason", -1,
         "无法将 JSON 输入源“/body/reason”映射到目标字段“撤销原因”中，此字段需要一个合法的字符串"},
        {__LINE__, NULL, "{\"service_id\":\"123456789012345678901234567890123\"," APP "," RSN "}",
         WXP_E_PARAM_TOO_LONG, "/body/service_id", 33,
         "输入源“/body/service_id”映射到值字段“服务ID”字符串规则校验失败，"
         "字节数 33，大于最大值 32"},
    };
    (void)state;

    for (size_t i = 0; i < NELEM(ROWS); i++) {
        size_t len = 0;
        char *file = ROWS[i].file ? t_read(ROWS[i].file, &len) : NULL;
        const char *body = file ? file : ROWS[i].body;
        struct wxp_param_issue issue;
        struct wxp_err err;
        enum wxp_code rc;

        if (file == NULL) {
            len = strlen(body);
        }
        issue_poison(&issue);
        rc = check_exact(body, len, NULL, &issue, &err);
        want_failure(ROWS[i].line, rc, &err, &issue, ROWS[i].code, ROWS[i].pointer, ROWS[i].value);
        if (strcmp(err.msg, ROWS[i].msg) != 0) {
            fail_msg("row at line %d: msg\n  \"%s\", want\n  \"%s\"", ROWS[i].line, err.msg,
                     ROWS[i].msg);
        }
        wxp_free(file);
    }
}

static void test_schema_rejects_body_over_limit(void **state)
{
    static const char HEAD[] = "{" SVC "," APP "," RSN ",\"pad\":\"";
    char *body = malloc(WXP_BODY_MAX + 1);
    struct wxp_param_issue issue;
    struct wxp_err err;
    size_t pad;
    (void)state;

    /* Exactly WXP_BODY_MAX bytes of valid JSON: accepted. */
    assert_non_null(body);
    memcpy(body, HEAD, sizeof HEAD - 1);
    pad = WXP_BODY_MAX - (sizeof HEAD - 1) - 2;
    memset(body + sizeof HEAD - 1, 'p', pad);
    memcpy(body + WXP_BODY_MAX - 2, "\"}", 2);
    assert_int_equal(wxp_schema_check_body(SCHEMA, body, WXP_BODY_MAX, NULL, NULL, &err), WXP_OK);

    /* One more byte (valid JSON with a trailing space): refused before parsing. */
    body[WXP_BODY_MAX] = ' ';
    issue_poison(&issue);
    wxp_err_clear(&err);
    want_failure(__LINE__,
                 wxp_schema_check_body(SCHEMA, body, WXP_BODY_MAX + 1, NULL, &issue, &err), &err,
                 &issue, WXP_E_TOO_LARGE, "/body", -1);
    free(body);
}

/* Every prefix of a valid body, each in an exact-size block with no NUL: nothing reads past
 * `len` (ASan), and each gets the exact code: invalid UTF-8 where the cut splits a character,
 * otherwise a syntax error, except the full object inside the Go body with its newline. */
static void test_schema_reads_no_byte_past_len(void **state)
{
    static const char *const FILES[] = {
        "requests/terminate-valid.json",
        "requests/terminate-go-trailing-newline.json",
        "requests/terminate-reason-51-chinese.json",
        "requests/terminate-valid-chinese.json",
    };
    (void)state;

    for (size_t f = 0; f < NELEM(FILES); f++) {
        size_t full = 0;
        char *body = t_read(FILES[f], &full);
        size_t obj_end = full;

        while (obj_end > 0 && body[obj_end - 1] != '}') {
            obj_end--;
        }
        for (size_t len = 0; len <= full; len++) {
            struct wxp_values v;
            struct wxp_param_issue issue;
            struct wxp_err err;
            enum wxp_code rc = check_exact(body, len, &v, &issue, &err);
            enum wxp_code want = WXP_E_JSON_SYNTAX;

            if (len >= obj_end) {
                want = f == 2 ? WXP_E_PARAM_TOO_LONG : WXP_OK;
            } else if (len < full && ((unsigned char)body[len] & 0xC0) == 0x80) {
                want = WXP_E_UTF8;
            }
            if (rc != want) {
                fail_msg("%s: prefix of %zu bytes: got %s (%s), want %s", FILES[f], len,
                         wxp_code_name(rc), err.msg, wxp_code_name(want));
            }
            if (rc == WXP_OK) {
                wxp_values_free(&v);
            }
        }
        wxp_free(body);
    }
}

static void test_schema_finds_fields(void **state)
{
    const struct wxp_field *f;
    (void)state;

    assert_string_equal(SCHEMA->name, "terminate-by-openid");
    f = wxp_schema_field(SCHEMA, "openid", WXP_LOC_URI_TEMPLATE);
    assert_non_null(f);
    assert_int_equal(f->unit, WXP_UNIT_BYTES);
    assert_int_equal(f->min, 1);
    assert_int_equal(f->max, 128);
    assert_true(f->required);
    f = wxp_schema_field(SCHEMA, "reason", WXP_LOC_BODY);
    assert_non_null(f);
    assert_int_equal(f->unit, WXP_UNIT_CHARS);
    assert_int_equal(f->max, 50);
    assert_string_equal(f->label, "撤销原因");
    assert_null(wxp_schema_field(SCHEMA, "openid", WXP_LOC_BODY));
    assert_null(wxp_schema_field(SCHEMA, "reason", WXP_LOC_URI_TEMPLATE));
    assert_null(wxp_schema_field(SCHEMA, "Reason", WXP_LOC_BODY));
    assert_null(wxp_schema_field(SCHEMA, "", WXP_LOC_BODY));
    assert_string_equal(wxp_loc_name(WXP_LOC_BODY), "body");
    assert_string_equal(wxp_loc_name(WXP_LOC_URI_TEMPLATE), "uri_template");
    assert_string_equal(wxp_loc_name(WXP_LOC_QUERY), "query");
}

/* The path's openid through wxp_schema_check_value: 1..128 bytes, location uri_template. */
static void test_schema_checks_openid_value(void **state)
{
    static const struct {
        int line;
        const char *unit;
        size_t n;
        enum wxp_code code;
        long long value;
    } ROWS[] = {
        {__LINE__, "o", 0, WXP_E_PARAM_TOO_SHORT, 0},
        {__LINE__, "o", 1, WXP_OK, 0},
        {__LINE__, "o", 28, WXP_OK, 0},
        {__LINE__, "o", 128, WXP_OK, 0},
        {__LINE__, "o", 129, WXP_E_PARAM_TOO_LONG, 129},
        {__LINE__, "o", 4096, WXP_E_PARAM_TOO_LONG, 4096},
        {__LINE__, ZH, 42, WXP_OK, 0},
        {__LINE__, ZH, 43, WXP_E_PARAM_TOO_LONG, 129},
        {__LINE__, EMOJI, 1, WXP_E_PARAM_CHARSET, -1},
        {__LINE__, "\t", 1, WXP_E_PARAM_CHARSET, -1},
        {__LINE__, "\x7F", 1, WXP_E_PARAM_CHARSET, -1},
        {__LINE__, "\xC3", 1, WXP_E_UTF8, -1},
        {__LINE__, "\xED\xA0\x80", 1, WXP_E_UTF8, -1},
    };
    const struct wxp_field *f = wxp_schema_field(SCHEMA, "openid", WXP_LOC_URI_TEMPLATE);
    (void)state;

    assert_non_null(f);
    for (size_t i = 0; i < NELEM(ROWS); i++) {
        size_t ulen = strlen(ROWS[i].unit);
        size_t len = ROWS[i].n * ulen;
        char *p = malloc(len ? len : 1);
        struct wxp_param_issue issue;
        struct wxp_err err;
        enum wxp_code rc;

        assert_non_null(p);
        for (size_t k = 0; k < ROWS[i].n; k++) {
            memcpy(p + k * ulen, ROWS[i].unit, ulen);
        }
        issue_poison(&issue);
        wxp_err_clear(&err);
        rc = wxp_schema_check_value(f, p, len, &issue, &err);
        if (ROWS[i].code == WXP_OK) {
            if (rc != WXP_OK) {
                fail_msg("row at line %d: got %s (%s), want WXP_OK", ROWS[i].line,
                         wxp_code_name(rc), err.msg);
            }
        } else {
            want_failure(ROWS[i].line, rc, &err, &issue, ROWS[i].code, "/uri_template/openid",
                         ROWS[i].value);
        }
        if (wxp_schema_check_value(f, p, len, NULL, NULL) != ROWS[i].code) {
            fail_msg("row at line %d: different verdict with issue == err == NULL", ROWS[i].line);
        }
        free(p);
    }
}

static void test_schema_openid_message(void **state)
{
    const struct wxp_field *f = wxp_schema_field(SCHEMA, "openid", WXP_LOC_URI_TEMPLATE);
    char p[129];
    struct wxp_param_issue issue;
    struct wxp_err err;
    (void)state;

    assert_non_null(f);
    memset(p, 'o', sizeof p);
    assert_int_equal(wxp_schema_check_value(f, p, sizeof p, &issue, &err), WXP_E_PARAM_TOO_LONG);
    assert_string_equal(err.field, "/uri_template/openid");
    assert_string_equal(err.msg, "输入源“/uri_template/openid”映射到值字段“用户标识”"
                                 "字符串规则校验失败，字节数 129，大于最大值 128");
    assert_string_equal(issue.location, "uri_template");
    assert_string_equal(issue.pointer, "/uri_template/openid");
    assert_true(issue.has_value);
    assert_int_equal(issue.value, 129);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_accepts_valid_bodies),
        cmocka_unit_test(test_schema_accepts_fixture_bodies),
        cmocka_unit_test(test_schema_checks_lengths),
        cmocka_unit_test(test_schema_rejects_bad_bodies),
        cmocka_unit_test(test_schema_reports_live_messages),
        cmocka_unit_test(test_schema_rejects_body_over_limit),
        cmocka_unit_test(test_schema_reads_no_byte_past_len),
        cmocka_unit_test(test_schema_finds_fields),
        cmocka_unit_test(test_schema_checks_openid_value),
        cmocka_unit_test(test_schema_openid_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
