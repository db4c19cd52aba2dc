/* SPDX-License-Identifier: MIT */
/* test_log.c: the request log line (docs/mock-server.md#request-log): both formats escape every
 * field, so no method, path or scenario code can break the JSON, forge a second line or reach the
 * terminal as a control sequence. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mock.h"
#include "testutil.h"
#include "wxp/json.h"

struct row {
    int line;
    const char *method;
    const char *target;
    const char *code;
    const char *text; /* the whole text line */
    const char *json; /* the JSON line from "method" to "code"'s value, inclusive */
};

static const struct row ROWS[] = {
    {__LINE__, "POST", "/v3/x/oA/terminate?a=1", "",
     "wxpay-mock: seq=7 method=POST path=/v3/x/oA/terminate status=400 code=- latency_ms=3 "
     "check=body\n",
     "\"method\":\"POST\",\"path\":\"/v3/x/oA/terminate\",\"status\":400,\"code\":null"},
    /* A quote in the method; ESC, CR and LF in the path (a forged second line). */
    {__LINE__, "G\"ET", "/a\x1b[31m\r\nwxpay-mock: seq=1 status=204", "",
     "wxpay-mock: seq=7 method=G\"ET "
     "path=/a\\x1B[31m\\x0D\\x0Awxpay-mock:\\x20seq=1\\x20status=204 "
     "status=400 code=- latency_ms=3 check=body\n",
     "\"method\":\"G\\\"ET\",\"path\":\"/a\\u001B[31m\\r\\nwxpay-mock: seq=1 status=204\","
     "\"status\":400,\"code\":null"},
    /* A scenario code with a space and a backslash: one value, not a forged field. */
    {__LINE__, "GET", "/", "A status=204\\",
     "wxpay-mock: seq=7 method=GET path=/ status=400 code=A\\x20status=204\\x5C latency_ms=3 "
     "check=body\n",
     "\"method\":\"GET\",\"path\":\"/\",\"status\":400,\"code\":\"A status=204\\\\\""},
    /* Invalid UTF-8 (a lone C3, FF), a C1 control (U+009B, CSI), DEL; valid UTF-8 stays. */
    {__LINE__, "P\xC3(", "/\xFF\xC2\x9B\x7F/\xE6\xB5\x8B", "",
     "wxpay-mock: seq=7 method=P\\xC3( path=/\\xFF\\xC2\\x9B\\x7F/\xE6\xB5\x8B status=400 code=- "
     "latency_ms=3 check=body\n",
     "\"method\":\"P\\\\xC3(\",\"path\":\"/\\\\xFF\\u009B\\u007F/\xE6\xB5\x8B\",\"status\":400,"
     "\"code\":null"},
};

static void test_log_escapes_every_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        const struct row *r = &ROWS[i];
        struct mock_request req;
        struct mock_response resp;
        struct wxp_buf b;
        char target[256];
        size_t off = 0;

        memset(&req, 0, sizeof req);
        snprintf(req.method, sizeof req.method, "%s", r->method);
        snprintf(target, sizeof target, "%s", r->target);
        req.target = target;
        req.seq = 7;
        mock_response_init(&resp);
        resp.status = 400;
        snprintf(resp.code, sizeof resp.code, "%s", r->code);
        resp.failed_check = "body";
        wxp_buf_init(&b, 4096);
        assert_int_equal(mock_log_line(&b, false, "", &req, &resp, NULL, 3), WXP_OK);
        if (strcmp(wxp_buf_cstr(&b), r->text) != 0) {
            fail_msg("row at line %d: text\n%s\nwant\n%s", r->line, wxp_buf_cstr(&b), r->text);
        }
        wxp_buf_reset(&b);
        assert_int_equal(mock_log_line(&b, true, "2026-12-04T16:57:43.099Z", &req, &resp, "R-1", 3),
                         WXP_OK);
        if (strstr(wxp_buf_cstr(&b), r->json) == NULL) {
            fail_msg("row at line %d: json\n%s\nlacks\n%s", r->line, wxp_buf_cstr(&b), r->json);
        }
        if (wxp_json_check(b.ptr, b.len - 1, &off, NULL) != WXP_OK || b.ptr[b.len - 1] != '\n' ||
            memchr(b.ptr, '\n', b.len - 1) != NULL) {
            fail_msg("row at line %d: not one strict JSON line: %s", r->line, wxp_buf_cstr(&b));
        }
        wxp_buf_free(&b);
        mock_response_free(&resp);
    }
}

/* The notification line escapes what an admin call or a merchant's answer put in it. */
static void test_log_notify_line_escapes(void **state)
{
    struct mock_log_notify o = {
        3,      "E\x1b[31m id=x", "http://127.0.0.1:1/n\r\nwxpay-mock: forged", 500, 12,
        "none", "bad\"answer\x01"};
    struct wxp_buf b;
    size_t off = 0;

    (void)state;
    wxp_buf_init(&b, 4096);
    assert_int_equal(mock_log_notify_line(&b, false, &o), WXP_OK);
    assert_string_equal(wxp_buf_cstr(&b),
                        "wxpay-mock: notify n=3 id=E\\x1B[31m\\x20id=x direction=out "
                        "url=http://127.0.0.1:1/n\\x0D\\x0Awxpay-mock:\\x20forged status=500 "
                        "latency_ms=12 fault=none error=bad\"answer\\x01\n");
    wxp_buf_reset(&b);
    assert_int_equal(mock_log_notify_line(&b, true, &o), WXP_OK);
    assert_int_equal(wxp_json_check(b.ptr, b.len - 1, &off, NULL), WXP_OK);
    assert_null(memchr(b.ptr, '\n', b.len - 1));
    assert_non_null(strstr(wxp_buf_cstr(&b), "\"id\":\"E\\u001B[31m id=x\""));
    wxp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_escapes_every_field),
        cmocka_unit_test(test_log_notify_line_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
