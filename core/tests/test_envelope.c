/* SPDX-License-Identifier: MIT */
/* test_envelope.c: the APIv3 error body (docs/protocol.md#error-envelope): exact bytes built,
 * documented and live bodies parsed, malformed ones refused, and the code -> status table. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "wxp/envelope.h"
#include "wxp/json.h"
#include "wxp/utf8.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A literal and its length, so rows can hold NUL bytes. */
#define B(lit) (lit), (sizeof(lit) - 1)

#define MSG_PARAM "参数错误"
#define MSG_TOO_LONG                                                                               \
    "输入源“/body/reason”映射到值字段“撤销原因”字符串规则校验失败，字符数 51，大于最大值 50"

static void want_buf(int line, const struct wxp_buf *b, const char *want)
{
    if (b->len != strlen(want) || strcmp(wxp_buf_cstr(b), want) != 0) {
        fail_msg("row at line %d: built\n  %s\nwant\n  %s", line, wxp_buf_cstr(b), want);
    }
}

static void test_envelope_builds_exact_bytes(void **state)
{
    struct wxp_buf b;
    struct wxp_buf d;
    struct wxp_err err;
    const struct wxp_detail length = {NULL, NULL, 51, true, NULL, "body"};
    (void)state;

    wxp_buf_init(&b, 4096);
    wxp_buf_init(&d, 4096);

    assert_int_equal(wxp_envelope_build(&b, "PARAM_ERROR", MSG_PARAM, NULL, &err), WXP_OK);
    want_buf(__LINE__, &b, "{\"code\":\"PARAM_ERROR\",\"message\":\"参数错误\"}");

    /* The live server's shape: code, then detail, then message; lengths as numbers. */
    assert_int_equal(wxp_detail_build(&d, &length, &err), WXP_OK);
    want_buf(__LINE__, &d, "{\"location\":\"body\",\"value\":51}");
    wxp_buf_reset(&b);
    assert_int_equal(wxp_envelope_build(&b, "PARAM_ERROR", MSG_TOO_LONG, wxp_buf_cstr(&d), &err),
                     WXP_OK);
    want_buf(__LINE__, &b,
             "{\"code\":\"PARAM_ERROR\",\"detail\":{\"location\":\"body\",\"value\":51},"
             "\"message\":\"" MSG_TOO_LONG "\"}");
    assert_int_equal(wxp_json_check(b.ptr, b.len, NULL, NULL), WXP_OK);

    /* Appends: a second envelope goes after the first. */
    {
        size_t first = b.len;
        assert_int_equal(wxp_envelope_build(&b, "A", "b", NULL, &err), WXP_OK);
        assert_string_equal(b.ptr + first, "{\"code\":\"A\",\"message\":\"b\"}");
        assert_int_equal(b.len, first + 26);
    }

    wxp_buf_free(&b);
    wxp_buf_free(&d);
}

static void test_envelope_builds_details(void **state)
{
    static const struct {
        int line;
        struct wxp_detail d;
        const char *want;
    } ROWS[] = {
        {__LINE__, {NULL, NULL, 0, false, NULL, NULL}, "{}"},
        {__LINE__, {NULL, NULL, 51, true, NULL, "body"}, "{\"location\":\"body\",\"value\":51}"},
        {__LINE__,
         {NULL, NULL, 0, true, NULL, "uri_template"},
         "{\"location\":\"uri_template\",\"value\":0}"},
        {__LINE__,
         {NULL, NULL, -9223372036854775807LL - 1, true, NULL, NULL},
         "{\"value\":-9223372036854775808}"},
        {__LINE__,
         {"/amount/currency", "XYZ", 0, false, "Currency code is invalid", "body"},
         "{\"field\":\"/amount/currency\",\"issue\":\"Currency code is invalid\","
         "\"location\":\"body\",\"value\":\"XYZ\"}"},
        /* A numeric value wins over a string one. */
        {__LINE__, {"f", "ignored", 7, true, NULL, NULL}, "{\"field\":\"f\",\"value\":7}"},
        {__LINE__,
         {NULL, "a\"b", 0, false, "x\\y\n", NULL},
         "{\"issue\":\"x\\\\y\\n\",\"value\":\"a\\\"b\"}"},
        {__LINE__,
         {"签名", NULL, 0, false, NULL, "authorization"},
         "{\"field\":\"签名\",\"location\":\"authorization\"}"},
    };
    (void)state;

    for (size_t i = 0; i < NELEM(ROWS); i++) {
        struct wxp_buf b;
        struct wxp_err err;
        enum wxp_code rc;

        wxp_buf_init(&b, 4096);
        rc = wxp_detail_build(&b, &ROWS[i].d, &err);
        if (rc != WXP_OK) {
            fail_msg("row at line %d: got %s (%s)", ROWS[i].line, wxp_code_name(rc), err.msg);
        }
        want_buf(ROWS[i].line, &b, ROWS[i].want);
        if (wxp_json_check(b.ptr, b.len, NULL, NULL) != WXP_OK) {
            fail_msg("row at line %d: built text is not strict JSON", ROWS[i].line);
        }
        wxp_buf_free(&b);
    }
}

static void test_envelope_quotes_json_strings(void **state)
{
    static const struct {
        int line;
        const char *in;
        size_t len;
        const char *want;
    } ROWS[] = {
        {__LINE__, B(""), "\"\""},
        {__LINE__, B("abc"), "\"abc\""},
        {__LINE__, B("a\"b"), "\"a\\\"b\""},
        {__LINE__, B("a\\b"), "\"a\\\\b\""},
        {__LINE__, B("\"\\\""), "\"\\\"\\\\\\\"\""},
        {__LINE__, B("\n\r\t"), "\"\\n\\r\\t\""},
        {__LINE__, B("\b\f"), "\"\\u0008\\u000c\""},
        {__LINE__, B("\x01\x1F"), "\"\\u0001\\u001f\""},
        {__LINE__, B("a\0b"), "\"a\\u0000b\""},
        /* Not escaped: '/', DEL, and non-ASCII, which stays raw UTF-8. */
        {__LINE__, B("/v3/x"), "\"/v3/x\""},
        {__LINE__, B("\x7F"), "\"\x7F\""},
        {__LINE__, B("参数错误"), "\"参数错误\""},
        {__LINE__, B("\xF0\x9F\x98\x80"), "\"\xF0\x9F\x98\x80\""},
        {__LINE__, B("x\n中\"y"), "\"x\\n中\\\"y\""},
    };
    (void)state;

    for (size_t i = 0; i < NELEM(ROWS); i++) {
        struct wxp_buf b;
        struct wxp_err err;
        enum wxp_code rc;

        wxp_buf_init(&b, 4096);
        assert_int_equal(wxp_buf_addstr(&b, "["), WXP_OK);
        rc = wxp_json_quote(&b, ROWS[i].in, ROWS[i].len, &err);
        if (rc != WXP_OK) {
            fail_msg("row at line %d: got %s (%s)", ROWS[i].line, wxp_code_name(rc), err.msg);
        }
        if (strcmp(b.ptr + 1, ROWS[i].want) != 0 || b.len != 1 + strlen(ROWS[i].want)) {
            fail_msg("row at line %d: quoted as %s, want %s", ROWS[i].line, b.ptr + 1,
                     ROWS[i].want);
        }
        /* The output is one JSON string; strict JSON refuses only the \u0000 row. */
        assert_int_equal(wxp_buf_addstr(&b, "]"), WXP_OK);
        if (wxp_json_check(b.ptr, b.len, NULL, NULL) !=
            (memchr(ROWS[i].in, 0, ROWS[i].len) ? WXP_E_JSON_SYNTAX : WXP_OK)) {
            fail_msg("row at line %d: %s is not the expected JSON", ROWS[i].line, b.ptr);
        }
        wxp_buf_free(&b);
    }
}

/* wxp_json_quote skips eight plain bytes at a time: each byte that needs an escape (every one
 * below 0x20, '"', '\\'), and the bytes next to them in value ('!', '#', '[', ']', 0x20, 0x7F,
 * and UTF-8), at every offset of a 24-byte run of 'a', is quoted as a byte-by-byte rule says. */
static void test_envelope_quotes_every_byte_at_every_offset(void **state)
{
    static const char *const INS[] = {"\"", "\\", "!",    "#",        "[",
                                      "]",  " ",  "\x7F", "\xC3\xA9", "中"};
    (void)state;

    for (size_t k = 0; k < NELEM(INS) + 0x20; k++) {
        char one[2] = {(char)(k - NELEM(INS)), 0};
        const char *ins = k < NELEM(INS) ? INS[k] : one;
        size_t il = k < NELEM(INS) ? strlen(ins) : 1;

        for (size_t at = 0; at + il <= 24; at++) {
            char in[24];
            char want[24 * 6 + 3];
            size_t w = 0;
            struct wxp_buf b;

            memset(in, 'a', sizeof in);
            memcpy(in + at, ins, il);
            want[w++] = '"';
            for (size_t i = 0; i < sizeof in; i++) {
                unsigned char c = (unsigned char)in[i];
                if (c == '"' || c == '\\') {
                    w += (size_t)snprintf(want + w, sizeof want - w, "\\%c", c);
                } else if (c == '\n' || c == '\r' || c == '\t') {
                    w += (size_t)snprintf(want + w, sizeof want - w, "\\%c",
                                          c == '\n'   ? 'n'
                                          : c == '\r' ? 'r'
                                                      : 't');
                } else if (c < 0x20) {
                    w += (size_t)snprintf(want + w, sizeof want - w, "\\u%04x", c);
                } else {
                    want[w++] = (char)c;
                }
            }
            want[w++] = '"';
            want[w] = '\0';
            wxp_buf_init(&b, 4096);
            assert_int_equal(wxp_json_quote(&b, in, sizeof in, NULL), WXP_OK);
            if (b.len != w || memcmp(b.ptr, want, w) != 0) {
                fail_msg("byte(s) %zu at offset %zu: quoted as %s, want %s", k, at, b.ptr, want);
            }
            wxp_buf_free(&b);
        }
    }
}

static void test_envelope_rejects_invalid_input(void **state)
{
    struct wxp_buf b;
    struct wxp_err err;
    (void)state;

    wxp_buf_init(&b, 4096);
    assert_int_equal(wxp_buf_addstr(&b, "keep"), WXP_OK);

    /* Invalid UTF-8 is refused and the buffer is left as it was. */
    assert_int_equal(wxp_json_quote(&b, "\xC3\x28", 2, &err), WXP_E_INVALID_ARG);
    assert_int_equal(err.code, WXP_E_INVALID_ARG);
    assert_int_equal(wxp_json_quote(&b, "ok\xED\xA0\x80", 5, NULL), WXP_E_INVALID_ARG);
    assert_int_equal(wxp_json_quote(&b, "\xE4\xB8", 2, NULL), WXP_E_INVALID_ARG);
    assert_string_equal(wxp_buf_cstr(&b), "keep");
    assert_int_equal(b.len, 4);

    wxp_buf_reset(&b);
    assert_int_equal(wxp_envelope_build(&b, "PARAM_ERROR", "bad \xFF", NULL, &err),
                     WXP_E_INVALID_ARG);
    assert_int_equal(err.code, WXP_E_INVALID_ARG);
    assert_int_equal(wxp_envelope_build(&b, "\xC0\x80", MSG_PARAM, NULL, &err), WXP_E_INVALID_ARG);
    assert_int_equal(wxp_envelope_build(&b, NULL, MSG_PARAM, NULL, &err), WXP_E_INVALID_ARG);
    assert_int_equal(wxp_envelope_build(&b, "PARAM_ERROR", NULL, NULL, &err), WXP_E_INVALID_ARG);
    assert_int_equal(wxp_envelope_build(&b, NULL, NULL, NULL, NULL), WXP_E_INVALID_ARG);
    wxp_buf_free(&b);

    {
        const struct wxp_detail bad = {"f\xFF", NULL, 0, false, NULL, NULL};
        wxp_buf_init(&b, 4096);
        assert_int_equal(wxp_detail_build(&b, &bad, &err), WXP_E_INVALID_ARG);
        wxp_buf_free(&b);
    }
}

/* A capped buffer: the build fails with WXP_E_TOO_LARGE, and a failed quote rolls back. */
static void test_envelope_respects_buffer_cap(void **state)
{
    struct wxp_buf b;
    struct wxp_err err;
    (void)state;

    wxp_buf_init(&b, 16);
    assert_int_equal(wxp_envelope_build(&b, "PARAM_ERROR", MSG_PARAM, NULL, &err), WXP_E_TOO_LARGE);
    assert_int_equal(err.code, WXP_E_TOO_LARGE);
    wxp_buf_free(&b);

    wxp_buf_init(&b, 16);
    assert_int_equal(wxp_buf_addstr(&b, "[1,"), WXP_OK);
    assert_int_equal(wxp_json_quote(&b, "a\"b\"c\"d\"e\"f\"g", 13, &err), WXP_E_TOO_LARGE);
    assert_int_equal(err.code, WXP_E_TOO_LARGE);
    assert_string_equal(wxp_buf_cstr(&b), "[1,");
    assert_int_equal(b.len, 3);
    assert_int_equal(wxp_json_quote(&b, "abc", 3, &err), WXP_OK);
    assert_string_equal(wxp_buf_cstr(&b), "[1,\"abc\"");
    wxp_buf_free(&b);
}

struct parse_row {
    int line;
    const char *body;
    const char *code;
    const char *message;
    const char *field;
    const char *value;
    const char *issue;
    const char *location;
    const char *detail_json;
};

/* A live PARAM_ERROR sentence with its length in detail.value (docs/protocol.md). */
#define MSG_LIVE                                                                                   \
    "输入源“/body/appid”映射到值字段“公众账号ID”字符串规则校验失败，字节数 22，大于最大值 20"

/* The nested SIGN_ERROR detail of a live server ([C-SIGNDETAIL]). */
#define SIGN_DETAIL                                                                                \
    "{\"detail\":{\"issue\":\"sign not match\"},\"field\":\"signature\","                          \
    "\"location\":\"authorization\",\"sign_information\":{\"method\":\"GET\","                     \
    "\"sign_message_length\":66,\"truncated_sign_message\":"                                       \
    "\"GET\\n/v3/certificates\\n1644548918\\nn5Qz…\\n\\n\",\"url\":\"/v3/certificates\"}}"

static const struct parse_row PARSE_ROWS[] = {
    /* The documented example. */
    {__LINE__,
     "{\"code\":\"PARAM_ERROR\",\"message\":\"参数错误\","
     "\"detail\":{\"field\":\"/amount/currency\",\"value\":\"XYZ\","
     "\"issue\":\"Currency code is invalid\",\"location\":\"body\"}}",
     "PARAM_ERROR", "参数错误", "/amount/currency", "XYZ", "Currency code is invalid", "body",
     "{\"field\":\"/amount/currency\",\"value\":\"XYZ\",\"issue\":\"Currency code is invalid\","
     "\"location\":\"body\"}"},
    /* Live style: a number as value, null as location: kept as JSON text. */
    {__LINE__,
     "{\"code\":\"PARAM_ERROR\",\"detail\":{\"location\":null,\"value\":22},"
     "\"message\":\"" MSG_LIVE "\"}",
     "PARAM_ERROR", MSG_LIVE, NULL, "22", NULL, "null", "{\"location\":null,\"value\":22}"},
    /* Live SIGN_ERROR: field and location extracted, the rest stays in detail_json. */
    {__LINE__,
     "{\"code\":\"SIGN_ERROR\",\"detail\":" SIGN_DETAIL ",\"message\":\"错误的签名，验签失败\"}",
     "SIGN_ERROR", "错误的签名，验签失败", "signature", NULL, NULL, "authorization", SIGN_DETAIL},
    /* No detail, or a null one. */
    {__LINE__, "{\"code\":\"SYSTEM_ERROR\",\"message\":\"系统异常，请稍后重试\"}", "SYSTEM_ERROR",
     "系统异常，请稍后重试", NULL, NULL, NULL, NULL, NULL},
    {__LINE__, "{\"code\":\"X\",\"message\":\"y\",\"detail\":null}", "X", "y", NULL, NULL, NULL,
     NULL, NULL},
    /* A detail that is not an object is kept whole, with nothing extracted. */
    {__LINE__, "{\"code\":\"X\",\"message\":\"y\",\"detail\":\"text\"}", "X", "y", NULL, NULL, NULL,
     NULL, "\"text\""},
    {__LINE__, "{\"code\":\"X\",\"message\":\"y\",\"detail\":[1]}", "X", "y", NULL, NULL, NULL,
     NULL, "[1]"},
    /* Other value types as JSON text; escapes decoded in strings. */
    {__LINE__, "{\"code\":\"X\",\"message\":\"a\\\"b\\n\\u4e2d\",\"detail\":{\"value\":true}}", "X",
     "a\"b\n中", NULL, "true", NULL, NULL, "{\"value\":true}"},
    {__LINE__, "{\"code\":\"X\",\"message\":\"y\",\"detail\":{\"value\":{\"a\":[1,\"b\"]}}}", "X",
     "y", NULL, "{\"a\":[1,\"b\"]}", NULL, NULL, "{\"value\":{\"a\":[1,\"b\"]}}"},
    {__LINE__, "{\"code\":\"X\",\"message\":\"y\",\"detail\":{\"field\":5,\"issue\":null}}", "X",
     "y", "5", NULL, "null", NULL, "{\"field\":5,\"issue\":null}"},
    /* Order, whitespace, unknown members and an empty message do not matter. */
    {__LINE__, " {\n\"message\" : \"\" ,\r\n\t\"extra\":[{}], \"code\":\"C\"}\n", "C", "", NULL,
     NULL, NULL, NULL, NULL},
};

static void want_str(int line, const char *what, const char *got, const char *want)
{
    if (want == NULL && got == NULL) {
        return;
    }
    if (want == NULL || got == NULL || strcmp(got, want) != 0) {
        fail_msg("row at line %d: %s is %s%s%s, want %s%s%s", line, what, got ? "\"" : "",
                 got ? got : "NULL", got ? "\"" : "", want ? "\"" : "", want ? want : "NULL",
                 want ? "\"" : "");
    }
}

static void test_envelope_parses_error_bodies(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(PARSE_ROWS); i++) {
        const struct parse_row *r = &PARSE_ROWS[i];
        size_t len = strlen(r->body);
        char *copy = malloc(len); /* no terminator: ASan sees any read past len */
        struct wxp_envelope e;
        struct wxp_err err;
        enum wxp_code rc;

        assert_non_null(copy);
        memcpy(copy, r->body, len);
        rc = wxp_envelope_parse(copy, len, &e, &err);
        free(copy);
        if (rc != WXP_OK) {
            fail_msg("row at line %d: got %s (%s: %s)", r->line, wxp_code_name(rc), err.field,
                     err.msg);
        }
        want_str(r->line, "code", e.code, r->code);
        want_str(r->line, "message", e.message, r->message);
        want_str(r->line, "field", e.field, r->field);
        want_str(r->line, "value", e.value, r->value);
        want_str(r->line, "issue", e.issue, r->issue);
        want_str(r->line, "location", e.location, r->location);
        want_str(r->line, "detail_json", e.detail_json, r->detail_json);
        wxp_envelope_free(&e);
        assert_null(e.code);
        assert_null(e.detail_json);
    }
}

struct reject_row {
    int line;
    const char *body;
    size_t len;
    const char *field;
};

static const struct reject_row REJECT_ROWS[] = {
    {__LINE__, B(""), "body"},
    {__LINE__, B("   "), "body"},
    {__LINE__, B("not json"), "body"},
    {__LINE__, B("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"),
     "body"},
    {__LINE__, B("{\"code\":\"A\",\"message\":\"b\""), "body"},
    {__LINE__, B("{\"code\":\"A\",\"message\":\"b\"}trailing"), "body"},
    {__LINE__, B("{\"code\":\"A\",\"message\":\"\xC3\x28\"}"), "body"},
    {__LINE__, B("\xEF\xBB\xBF{\"code\":\"A\",\"message\":\"b\"}"), "body"},
    {__LINE__, B("[]"), "body"},
    {__LINE__, B("[{\"code\":\"A\",\"message\":\"b\"}]"), "body"},
    {__LINE__, B("\"PARAM_ERROR\""), "body"},
    {__LINE__, B("401"), "body"},
    {__LINE__, B("null"), "body"},
    {__LINE__, B("{}"), "code"},
    {__LINE__, B("{\"message\":\"参数错误\"}"), "code"},
    {__LINE__, B("{\"code\":400,\"message\":\"参数错误\"}"), "code"},
    {__LINE__, B("{\"code\":null,\"message\":\"参数错误\"}"), "code"},
    {__LINE__, B("{\"code\":[\"A\"],\"message\":\"b\"}"), "code"},
    {__LINE__, B("{\"Code\":\"A\",\"message\":\"b\"}"), "code"},
    {__LINE__, B("{\"code\":\"PARAM_ERROR\"}"), "message"},
    {__LINE__, B("{\"code\":\"PARAM_ERROR\",\"message\":1}"), "message"},
    {__LINE__, B("{\"code\":\"PARAM_ERROR\",\"message\":null}"), "message"},
    {__LINE__, B("{\"code\":\"PARAM_ERROR\",\"message\":{}}"), "message"},
    {__LINE__, B("{\"code\":\"PARAM_ERROR\",\"Message\":\"b\"}"), "message"},
};

static void test_envelope_rejects_malformed_bodies(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(REJECT_ROWS); i++) {
        const struct reject_row *r = &REJECT_ROWS[i];
        char *copy = malloc(r->len ? r->len : 1);
        struct wxp_envelope e;
        struct wxp_err err;
        enum wxp_code rc;

        assert_non_null(copy);
        memcpy(copy, r->body, r->len);
        memset(&e, 0xA5, sizeof e);
        wxp_err_clear(&err);
        rc = wxp_envelope_parse(copy, r->len, &e, &err);
        if (rc != WXP_E_ENVELOPE || err.code != WXP_E_ENVELOPE) {
            fail_msg("row at line %d: got %s (%s), want WXP_E_ENVELOPE", r->line, wxp_code_name(rc),
                     err.msg);
        }
        if (strcmp(err.field, r->field) != 0 || err.msg[0] == '\0') {
            fail_msg("row at line %d: err.field \"%s\" (%s), want \"%s\"", r->line, err.field,
                     err.msg, r->field);
        }
        if (e.code || e.message || e.field || e.value || e.issue || e.location || e.detail_json) {
            fail_msg("row at line %d: members left behind after a failure", r->line);
        }
        if (wxp_envelope_parse(copy, r->len, &e, NULL) != WXP_E_ENVELOPE) {
            fail_msg("row at line %d: different verdict with err == NULL", r->line);
        }
        free(copy);
    }
}

static void test_envelope_rejects_oversized_body(void **state)
{
    const size_t len = (size_t)WXP_ENVELOPE_MAX + 1;
    char *body = malloc(len);
    struct wxp_envelope e;
    struct wxp_err err;
    (void)state;

    assert_non_null(body);
    memset(body, ' ', len);
    memcpy(body, "{\"code\":\"A\",\"message\":\"b\"}", 26);
    assert_int_equal(wxp_envelope_parse(body, len, &e, &err), WXP_E_TOO_LARGE);
    assert_int_equal(err.code, WXP_E_TOO_LARGE);
    assert_string_equal(err.field, "body");
    assert_null(e.code);
    /* One byte less is within the cap. */
    assert_int_equal(wxp_envelope_parse(body, len - 1, &e, &err), WXP_OK);
    assert_string_equal(e.code, "A");
    wxp_envelope_free(&e);
    free(body);
    wxp_envelope_free(NULL);
}

static void test_envelope_round_trips(void **state)
{
    static const struct {
        int line;
        const char *code;
        const char *message;
        struct wxp_detail d;
        bool with_detail;
        const char *value; /* what parse gives back for detail.value */
    } ROWS[] = {
        {__LINE__, "PARAM_ERROR", MSG_PARAM, {NULL, NULL, 0, false, NULL, NULL}, false, NULL},
        {__LINE__, "PARAM_ERROR", MSG_TOO_LONG, {NULL, NULL, 51, true, NULL, "body"}, true, "51"},
        {__LINE__,
         "PARAM_ERROR",
         MSG_PARAM,
         {"/amount/currency", "XYZ", 0, false, "Currency code is invalid", "body"},
         true,
         "XYZ"},
        {__LINE__,
         "SIGN_ERROR",
         "say \"hi\"\n\t\\ / 中 \x01",
         {"sig\"na\\ture", "v\nv", 0, false, "\x1F", "authorization"},
         true,
         "v\nv"},
    };
    (void)state;

    for (size_t i = 0; i < NELEM(ROWS); i++) {
        struct wxp_buf b;
        struct wxp_buf d;
        struct wxp_envelope e;
        struct wxp_err err;
        enum wxp_code rc;

        wxp_buf_init(&b, 4096);
        wxp_buf_init(&d, 4096);
        if (ROWS[i].with_detail) {
            assert_int_equal(wxp_detail_build(&d, &ROWS[i].d, &err), WXP_OK);
        }
        rc = wxp_envelope_build(&b, ROWS[i].code, ROWS[i].message,
                                ROWS[i].with_detail ? wxp_buf_cstr(&d) : NULL, &err);
        if (rc != WXP_OK) {
            fail_msg("row at line %d: build: %s (%s)", ROWS[i].line, wxp_code_name(rc), err.msg);
        }
        rc = wxp_envelope_parse(b.ptr, b.len, &e, &err);
        if (rc != WXP_OK) {
            fail_msg("row at line %d: parse of %s: %s (%s)", ROWS[i].line, b.ptr, wxp_code_name(rc),
                     err.msg);
        }
        want_str(ROWS[i].line, "code", e.code, ROWS[i].code);
        want_str(ROWS[i].line, "message", e.message, ROWS[i].message);
        want_str(ROWS[i].line, "field", e.field, ROWS[i].d.field);
        want_str(ROWS[i].line, "value", e.value, ROWS[i].value);
        want_str(ROWS[i].line, "issue", e.issue, ROWS[i].d.issue);
        want_str(ROWS[i].line, "location", e.location, ROWS[i].d.location);
        if ((e.detail_json != NULL) != ROWS[i].with_detail) {
            fail_msg("row at line %d: detail_json %s", ROWS[i].line,
                     e.detail_json ? e.detail_json : "NULL");
        }
        wxp_envelope_free(&e);
        wxp_buf_free(&b);
        wxp_buf_free(&d);
    }
}

/* docs/protocol.md#error-table. */
static void test_envelope_maps_codes_to_status(void **state)
{
    static const struct {
        int line;
        enum wxp_code code;
        int http;
        const char *wcode;
        const char *message; /* exact, or NULL */
        const char *contains;
    } ROWS[] = {
        {__LINE__, WXP_E_AUTHZ_SCHEME, 401, "SIGN_ERROR", "HTTP头Authorization认证类型不正确",
         NULL},
        {__LINE__, WXP_E_AUTHZ_MISSING, 401, "SIGN_ERROR",
         "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》", NULL},
        {__LINE__, WXP_E_AUTHZ_SYNTAX, 401, "SIGN_ERROR", NULL, "Authorization值格式错误"},
        {__LINE__, WXP_E_AUTHZ_TIMESTAMP, 401, "SIGN_ERROR", NULL, "Authorization值格式错误"},
        {__LINE__, WXP_E_TIMESTAMP_STALE, 401, "SIGN_ERROR", NULL, "5分钟"},
        {__LINE__, WXP_E_TIMESTAMP_FUTURE, 401, "SIGN_ERROR", NULL, "5分钟"},
        {__LINE__, WXP_E_SERIAL_UNKNOWN, 401, "SIGN_ERROR",
         "商户证书序列号有误。请使用签名私钥匹配的证书序列号", NULL},
        {__LINE__, WXP_E_SIG_MISMATCH, 401, "SIGN_ERROR", "错误的签名，验签失败", NULL},
        {__LINE__, WXP_E_SIG_BASE64, 401, "SIGN_ERROR", "错误的签名，验签失败", NULL},
        {__LINE__, WXP_E_PARAM_TOO_LONG, 400, "PARAM_ERROR", "参数错误", NULL},
        {__LINE__, WXP_E_PARAM_MISSING, 400, "PARAM_ERROR", "参数错误", NULL},
        {__LINE__, WXP_E_PARAM_CHARSET, 400, "PARAM_ERROR", "参数错误", NULL},
        {__LINE__, WXP_E_JSON_SYNTAX, 400, "PARAM_ERROR", "参数错误", NULL},
        {__LINE__, WXP_E_JSON_DUPLICATE_KEY, 400, "PARAM_ERROR", "参数错误", NULL},
        {__LINE__, WXP_E_UTF8, 400, "PARAM_ERROR", "参数错误", NULL},
        {__LINE__, WXP_E_NOMEM, 500, "SYSTEM_ERROR", "系统异常，请稍后重试", NULL},
        {__LINE__, WXP_E_CRYPTO, 500, "SYSTEM_ERROR", "系统异常，请稍后重试", NULL},
        {__LINE__, WXP_OK, 500, "SYSTEM_ERROR", "系统异常，请稍后重试", NULL},
    };
    (void)state;

    for (size_t i = 0; i < NELEM(ROWS); i++) {
        const struct wxp_status *s = wxp_status_of(ROWS[i].code);

        if (s == NULL || s->http != ROWS[i].http || strcmp(s->code, ROWS[i].wcode) != 0) {
            fail_msg("row at line %d: %s maps to %d %s, want %d %s", ROWS[i].line,
                     wxp_code_name(ROWS[i].code), s ? s->http : 0, s ? s->code : "NULL",
                     ROWS[i].http, ROWS[i].wcode);
        }
        if (ROWS[i].message != NULL && strcmp(s->message, ROWS[i].message) != 0) {
            fail_msg("row at line %d: message \"%s\", want \"%s\"", ROWS[i].line, s->message,
                     ROWS[i].message);
        }
        if (ROWS[i].contains != NULL && strstr(s->message, ROWS[i].contains) == NULL) {
            fail_msg("row at line %d: message \"%s\" lacks \"%s\"", ROWS[i].line, s->message,
                     ROWS[i].contains);
        }
    }
}

/* Every code has an answer, and the status agrees with the WeChat code. */
static void test_envelope_maps_every_code(void **state)
{
    (void)state;
    for (int c = 0; c < WXP_CODE_COUNT; c++) {
        const struct wxp_status *s = wxp_status_of((enum wxp_code)c);
        const char *want;

        if (s == NULL || s->code == NULL || s->message == NULL) {
            fail_msg("%s: no status", wxp_code_name((enum wxp_code)c));
        }
        switch (s->http) {
        case 400:
            want = "PARAM_ERROR";
            break;
        case 401:
            want = "SIGN_ERROR";
            break;
        case 500:
            want = "SYSTEM_ERROR";
            break;
        default:
            fail_msg("%s: HTTP %d", wxp_code_name((enum wxp_code)c), s->http);
            return;
        }
        if (strcmp(s->code, want) != 0 || s->message[0] == '\0' ||
            wxp_utf8_check(s->message, strlen(s->message), NULL) != WXP_OK) {
            fail_msg("%s: %d %s \"%s\"", wxp_code_name((enum wxp_code)c), s->http, s->code,
                     s->message);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_builds_exact_bytes),
        cmocka_unit_test(test_envelope_builds_details),
        cmocka_unit_test(test_envelope_quotes_json_strings),
        cmocka_unit_test(test_envelope_quotes_every_byte_at_every_offset),
        cmocka_unit_test(test_envelope_rejects_invalid_input),
        cmocka_unit_test(test_envelope_respects_buffer_cap),
        cmocka_unit_test(test_envelope_parses_error_bodies),
        cmocka_unit_test(test_envelope_rejects_malformed_bodies),
        cmocka_unit_test(test_envelope_rejects_oversized_body),
        cmocka_unit_test(test_envelope_round_trips),
        cmocka_unit_test(test_envelope_maps_codes_to_status),
        cmocka_unit_test(test_envelope_maps_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
