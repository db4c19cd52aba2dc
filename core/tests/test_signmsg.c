/* SPDX-License-Identifier: MIT */
/* test_signmsg.c: the request and response signing strings, byte for byte, and their refusals. */
#include <string.h>

#include "testutil.h"
#include "wxp/signmsg.h"

#define TS "1554208460"
#define NONCE "593BEC0C930BF1AFEB40B4A08C8FB242"
#define TARGET "/v3/payscore/permissions/openid/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o/terminate"
#define BODY "{\"service_id\":\"2002000000000558128851361561536\",\"reason\":\"r\"}"

static void expect_buf(const struct wxp_buf *b, const char *want, size_t wantlen)
{
    assert_int_equal(b->len, wantlen);
    assert_memory_equal(b->ptr, want, wantlen);
    assert_int_equal(b->ptr[b->len], '\0');
}

static void test_signmsg_request_post_exact_bytes(void **state)
{
    (void)state;
    static const char want[] = "POST\n" TARGET "\n" TS "\n" NONCE "\n" BODY "\n";
    struct wxp_buf b;
    struct wxp_err err;
    wxp_buf_init(&b, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_signmsg_request(&b, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET),
                                         WXP_STR_LIT(TS), WXP_STR_LIT(NONCE), WXP_STR_LIT(BODY),
                                         &err),
                     WXP_OK);
    expect_buf(&b, want, sizeof want - 1);
    wxp_buf_free(&b);
}

static void test_signmsg_request_get_empty_body_ends_with_two_newlines(void **state)
{
    (void)state;
    static const char want[] = "GET\n/v3/certificates?a=1&b=%41\n" TS "\nNONCE\n\n";
    struct wxp_buf b;
    struct wxp_err err;
    wxp_buf_init(&b, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_signmsg_request(&b, WXP_STR_LIT("GET"),
                                         WXP_STR_LIT("/v3/certificates?a=1&b=%41"), WXP_STR_LIT(TS),
                                         WXP_STR_LIT("NONCE"), WXP_STR_LIT(""), &err),
                     WXP_OK);
    expect_buf(&b, want, sizeof want - 1);
    assert_memory_equal(b.ptr + b.len - 2, "\n\n", 2);
    wxp_buf_free(&b);
}

static void test_signmsg_request_absent_body_is_empty_line(void **state)
{
    (void)state;
    static const char want[] = "GET\n/v3/certificates\n" TS "\nNONCE\n\n";
    struct wxp_buf b;
    const struct wxp_str absent = {NULL, 0};
    wxp_buf_init(&b, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_signmsg_request(&b, WXP_STR_LIT("GET"), WXP_STR_LIT("/v3/certificates"),
                                         WXP_STR_LIT(TS), WXP_STR_LIT("NONCE"), absent, NULL),
                     WXP_OK);
    expect_buf(&b, want, sizeof want - 1);
    wxp_buf_free(&b);
}

static void test_signmsg_request_keeps_go_trailing_newline(void **state)
{
    (void)state;
    /* encoding/json's Encoder ends the body with "\n"; that byte is part of what is signed. */
    static const char want[] = "POST\n" TARGET "\n" TS "\n" NONCE "\n" BODY "\n\n";
    struct wxp_buf b;
    wxp_buf_init(&b, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_signmsg_request(&b, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET),
                                         WXP_STR_LIT(TS), WXP_STR_LIT(NONCE),
                                         WXP_STR_LIT(BODY "\n"), NULL),
                     WXP_OK);
    expect_buf(&b, want, sizeof want - 1);
    assert_memory_equal(b.ptr + b.len - 3, "}\n\n", 3);
    wxp_buf_free(&b);
}

static void test_signmsg_request_body_may_contain_newlines_and_nul(void **state)
{
    (void)state;
    static const char body[] = "{\n  \"a\": \"x\\ny\"\r\n}\n\0tail";
    static const char want[] = "PUT\n/v3/x\n" TS "\nN\n{\n  \"a\": \"x\\ny\"\r\n}\n\0tail\n";
    const struct wxp_str b_str = {body, sizeof body - 1};
    struct wxp_buf b;
    struct wxp_err err;
    wxp_buf_init(&b, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_signmsg_request(&b, WXP_STR_LIT("PUT"), WXP_STR_LIT("/v3/x"),
                                         WXP_STR_LIT(TS), WXP_STR_LIT("N"), b_str, &err),
                     WXP_OK);
    expect_buf(&b, want, sizeof want - 1);
    wxp_buf_free(&b);
}

static void test_signmsg_request_appends_after_existing_contents(void **state)
{
    (void)state;
    static const char want[] = "prefix|GET\n/\n1\nn\n\n";
    struct wxp_buf b;
    wxp_buf_init(&b, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_buf_addstr(&b, "prefix|"), WXP_OK);
    assert_int_equal(wxp_signmsg_request(&b, WXP_STR_LIT("GET"), WXP_STR_LIT("/"), WXP_STR_LIT("1"),
                                         WXP_STR_LIT("n"), WXP_STR_LIT(""), NULL),
                     WXP_OK);
    expect_buf(&b, want, sizeof want - 1);
    wxp_buf_free(&b);
}

static void test_signmsg_response_204_exact_bytes(void **state)
{
    (void)state;
    static const char want[] = TS "\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n\n";
    struct wxp_buf b;
    struct wxp_err err;
    wxp_buf_init(&b, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_signmsg_response(&b, WXP_STR_LIT(TS),
                                          WXP_STR_LIT("5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
                                          WXP_STR_LIT(""), &err),
                     WXP_OK);
    expect_buf(&b, want, sizeof want - 1);
    wxp_buf_free(&b);
}

static void test_signmsg_response_json_body_exact_bytes(void **state)
{
    (void)state;
    static const char body[] =
        "{\"code\":\"PARAM_ERROR\",\"message\":\"\xE5\x8F\x82\xE6\x95\xB0\"}";
    static const char want[] = TS "\nNONCE\n{\"code\":\"PARAM_ERROR\",\"message\":\"\xE5\x8F\x82"
                                  "\xE6\x95\xB0\"}\n";
    struct wxp_buf b;
    wxp_buf_init(&b, WXP_SIGNMSG_MAX);
    assert_int_equal(
        wxp_signmsg_response(&b, WXP_STR_LIT(TS), WXP_STR_LIT("NONCE"), WXP_STR_LIT(body), NULL),
        WXP_OK);
    expect_buf(&b, want, sizeof want - 1);
    wxp_buf_free(&b);
}

/* A newline in any single-line part would forge a line of the string. */
struct nl_row {
    int line;
    int which; /* 0 method, 1 target, 2 timestamp, 3 nonce */
    const char *value;
    const char *field;
};

static const struct nl_row NL_ROWS[] = {
    {__LINE__, 0, "POST\n", "method"},
    {__LINE__, 0, "PO\nST", "method"},
    {__LINE__, 0, "\n", "method"},
    {__LINE__, 1, "/v3/x\n/v3/y", "url"},
    {__LINE__, 1, "/v3/x\n", "url"},
    {__LINE__, 2, "1554208460\n", "timestamp"},
    {__LINE__, 2, "\n1554208460", "timestamp"},
    {__LINE__, 3, "NON\nCE", "nonce"},
    {__LINE__, 3, "NONCE\n", "nonce"},
};

static void test_signmsg_request_rejects_newline_in_single_line_parts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof NL_ROWS / sizeof NL_ROWS[0]; i++) {
        const struct nl_row *r = &NL_ROWS[i];
        struct wxp_str parts[4] = {WXP_STR_LIT("POST"), WXP_STR_LIT("/v3/x"), WXP_STR_LIT(TS),
                                   WXP_STR_LIT(NONCE)};
        struct wxp_buf b;
        struct wxp_err err;
        enum wxp_code got;

        parts[r->which] = wxp_str_c(r->value);
        wxp_buf_init(&b, WXP_SIGNMSG_MAX);
        assert_int_equal(wxp_buf_addstr(&b, "keep"), WXP_OK);
        wxp_err_clear(&err);
        got = wxp_signmsg_request(&b, parts[0], parts[1], parts[2], parts[3], WXP_STR_LIT("{\n}"),
                                  &err);
        if (got != WXP_E_INVALID_ARG || err.code != WXP_E_INVALID_ARG ||
            strcmp(err.field, r->field) != 0) {
            fail_msg("row at line %d: got %s field \"%s\", want WXP_E_INVALID_ARG field \"%s\"",
                     r->line, wxp_code_name(got), err.field, r->field);
        }
        if (b.len != 4 || memcmp(b.ptr, "keep", 5) != 0) {
            fail_msg("row at line %d: the buffer changed on failure", r->line);
        }
        wxp_buf_free(&b);
    }
}

static void test_signmsg_response_rejects_newline_in_timestamp_and_nonce(void **state)
{
    (void)state;
    struct wxp_buf b;
    struct wxp_err err;
    wxp_buf_init(&b, WXP_SIGNMSG_MAX);
    assert_int_equal(
        wxp_signmsg_response(&b, WXP_STR_LIT("1\n2"), WXP_STR_LIT("N"), WXP_STR_LIT(""), &err),
        WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "timestamp");
    assert_int_equal(
        wxp_signmsg_response(&b, WXP_STR_LIT("1"), WXP_STR_LIT("N\n"), WXP_STR_LIT(""), &err),
        WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "nonce");
    assert_int_equal(b.len, 0);
    assert_string_equal(wxp_buf_cstr(&b), "");
    /* The body line is the last one and may hold newlines. */
    assert_int_equal(
        wxp_signmsg_response(&b, WXP_STR_LIT("1"), WXP_STR_LIT("N"), WXP_STR_LIT("a\nb\n"), &err),
        WXP_OK);
    expect_buf(&b, "1\nN\na\nb\n\n", 9);
    wxp_buf_free(&b);
}

static void test_signmsg_accepts_cr_and_tab_in_single_line_parts(void **state)
{
    (void)state;
    /* CR is not a line break of the signing string; only LF is refused. */
    static const char want[] = "POST\r\n/v3/x\r\n1\n\tN\n\n";
    struct wxp_buf b;
    wxp_buf_init(&b, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_signmsg_request(&b, WXP_STR_LIT("POST\r"), WXP_STR_LIT("/v3/x\r"),
                                         WXP_STR_LIT("1"), WXP_STR_LIT("\tN"), WXP_STR_LIT(""),
                                         NULL),
                     WXP_OK);
    expect_buf(&b, want, sizeof want - 1);
    wxp_buf_free(&b);
}

static void test_signmsg_request_too_large_leaves_buffer_unchanged(void **state)
{
    (void)state;
    /* Cap 64, 10 bytes already in; "GET\n/\n1\nn\n" is 10 more, then the body and "\n". */
    char body[64];
    struct wxp_buf b;
    struct wxp_err err;

    memset(body, 'b', sizeof body);
    wxp_buf_init(&b, 64);
    assert_int_equal(wxp_buf_addstr(&b, "0123456789"), WXP_OK);
    assert_int_equal(wxp_signmsg_request(&b, WXP_STR_LIT("GET"), WXP_STR_LIT("/"), WXP_STR_LIT("1"),
                                         WXP_STR_LIT("n"), (struct wxp_str){body, 43}, &err),
                     WXP_OK);
    assert_int_equal(b.len, 64);
    wxp_buf_reset(&b);
    assert_int_equal(wxp_buf_addstr(&b, "0123456789"), WXP_OK);
    wxp_err_clear(&err);
    assert_int_equal(wxp_signmsg_request(&b, WXP_STR_LIT("GET"), WXP_STR_LIT("/"), WXP_STR_LIT("1"),
                                         WXP_STR_LIT("n"), (struct wxp_str){body, 44}, &err),
                     WXP_E_TOO_LARGE);
    assert_int_equal(err.code, WXP_E_TOO_LARGE);
    assert_int_equal(b.len, 10);
    assert_string_equal(wxp_buf_cstr(&b), "0123456789");
    /* Over inside the head, before the body is reached. */
    assert_int_equal(wxp_signmsg_request(&b, WXP_STR_LIT("GET"), (struct wxp_str){body, 60},
                                         WXP_STR_LIT("1"), WXP_STR_LIT("n"), WXP_STR_LIT(""), &err),
                     WXP_E_TOO_LARGE);
    assert_int_equal(b.len, 10);
    assert_string_equal(wxp_buf_cstr(&b), "0123456789");
    wxp_buf_free(&b);
}

static void test_signmsg_response_too_large_leaves_buffer_unchanged(void **state)
{
    (void)state;
    struct wxp_buf b;
    struct wxp_err err;
    wxp_buf_init(&b, 8);
    assert_int_equal(wxp_buf_addstr(&b, "ab"), WXP_OK);
    /* "1\nN\n" + "x\n" would be 8 bytes total: fits; "xy\n" would be 9: does not. */
    assert_int_equal(
        wxp_signmsg_response(&b, WXP_STR_LIT("1"), WXP_STR_LIT("N"), WXP_STR_LIT("xy"), &err),
        WXP_E_TOO_LARGE);
    assert_int_equal(b.len, 2);
    assert_string_equal(wxp_buf_cstr(&b), "ab");
    assert_int_equal(
        wxp_signmsg_response(&b, WXP_STR_LIT("1"), WXP_STR_LIT("N"), WXP_STR_LIT("x"), &err),
        WXP_OK);
    expect_buf(&b, "ab1\nN\nx\n", 8);
    wxp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signmsg_request_post_exact_bytes),
        cmocka_unit_test(test_signmsg_request_get_empty_body_ends_with_two_newlines),
        cmocka_unit_test(test_signmsg_request_absent_body_is_empty_line),
        cmocka_unit_test(test_signmsg_request_keeps_go_trailing_newline),
        cmocka_unit_test(test_signmsg_request_body_may_contain_newlines_and_nul),
        cmocka_unit_test(test_signmsg_request_appends_after_existing_contents),
        cmocka_unit_test(test_signmsg_response_204_exact_bytes),
        cmocka_unit_test(test_signmsg_response_json_body_exact_bytes),
        cmocka_unit_test(test_signmsg_request_rejects_newline_in_single_line_parts),
        cmocka_unit_test(test_signmsg_response_rejects_newline_in_timestamp_and_nonce),
        cmocka_unit_test(test_signmsg_accepts_cr_and_tab_in_single_line_parts),
        cmocka_unit_test(test_signmsg_request_too_large_leaves_buffer_unchanged),
        cmocka_unit_test(test_signmsg_response_too_large_leaves_buffer_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
