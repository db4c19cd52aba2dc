/* SPDX-License-Identifier: MIT */
/* test_query.c: query-string splitting, percent-decoding ('+' in queries and in path segments,
 * bad escapes, the cap, decoded NUL) and percent-encoding (RFC 3986 unreserved kept). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wxp/buf.h"
#include "wxp/query.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct parse_row {
    int line;
    const char *q; /* NULL: absent */
    size_t n;
    const char *names[4];
    const char *values[4];
};

static const struct parse_row PARSE_ROWS[] = {
    {__LINE__, NULL, 0, {NULL}, {NULL}},
    {__LINE__, "", 0, {NULL}, {NULL}},
    {__LINE__, "&", 0, {NULL}, {NULL}},
    {__LINE__, "a=1", 1, {"a"}, {"1"}},
    {__LINE__, "appid=wx1&service_id=5", 2, {"appid", "service_id"}, {"wx1", "5"}},
    {__LINE__, "service_id=5&appid=wx1", 2, {"service_id", "appid"}, {"5", "wx1"}},
    {__LINE__, "a=1&&b=2&", 2, {"a", "b"}, {"1", "2"}},
    {__LINE__, "flag", 1, {"flag"}, {""}},
    {__LINE__, "a=", 1, {"a"}, {""}},
    {__LINE__, "=v", 1, {""}, {"v"}},
    {__LINE__, "a=1=2", 1, {"a"}, {"1=2"}},
    /* A second '?' is part of the value (a published client's bug builds this). */
    {__LINE__, "service_id=X?appid=Y", 1, {"service_id"}, {"X?appid=Y"}},
    {__LINE__, "a=%zz&b=+", 2, {"a", "b"}, {"%zz", "+"}},
    {__LINE__, "a=1&a=2", 2, {"a", "a"}, {"1", "2"}},
};

static void test_query_parse_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(PARSE_ROWS); i++) {
        const struct parse_row *row = &PARSE_ROWS[i];
        struct wxp_query q;
        struct wxp_err err;
        struct wxp_str in = row->q == NULL ? (struct wxp_str){NULL, 0} : wxp_str_c(row->q);

        memset(&q, 0xA5, sizeof q);
        if (wxp_query_parse(in, &q, &err) != WXP_OK) {
            fail_msg("row at line %d: parse failed", row->line);
        }
        if (q.n != row->n) {
            fail_msg("row at line %d: %zu pairs, want %zu", row->line, q.n, row->n);
        }
        for (size_t k = 0; k < row->n; k++) {
            if (!wxp_str_eq(q.pair[k].name, wxp_str_c(row->names[k])) ||
                !wxp_str_eq(q.pair[k].value, wxp_str_c(row->values[k]))) {
                fail_msg("row at line %d: pair %zu is %.*s=%.*s", row->line, k,
                         (int)q.pair[k].name.len, q.pair[k].name.ptr, (int)q.pair[k].value.len,
                         q.pair[k].value.ptr);
            }
            /* Borrowed, not copied. */
            if (q.pair[k].name.ptr < row->q || q.pair[k].name.ptr > row->q + strlen(row->q)) {
                fail_msg("row at line %d: pair %zu does not borrow from the input", row->line, k);
            }
        }
    }
}

static void test_query_parse_cap(void **state)
{
    char q[WXP_QUERY_PAIRS_MAX * 4 + 8] = "";
    size_t len = 0;
    struct wxp_query out;
    struct wxp_err err;

    (void)state;
    for (int i = 0; i < WXP_QUERY_PAIRS_MAX; i++) {
        len += (size_t)snprintf(q + len, sizeof q - len, "%sa", i ? "&" : "");
    }
    assert_int_equal(wxp_query_parse((struct wxp_str){q, len}, &out, &err), WXP_OK);
    assert_int_equal(out.n, WXP_QUERY_PAIRS_MAX);
    /* Empty pieces do not count. */
    len += (size_t)snprintf(q + len, sizeof q - len, "&&");
    assert_int_equal(wxp_query_parse((struct wxp_str){q, len}, &out, &err), WXP_OK);
    assert_int_equal(out.n, WXP_QUERY_PAIRS_MAX);
    len += (size_t)snprintf(q + len, sizeof q - len, "b");
    assert_int_equal(wxp_query_parse((struct wxp_str){q, len}, &out, &err), WXP_E_TOO_LARGE);
    assert_int_equal(err.code, WXP_E_TOO_LARGE);
    assert_string_equal(err.field, "query");
    assert_int_equal(out.n, 0);
}

struct decode_row {
    int line;
    const char *in;
    bool plus;
    size_t cap;
    bool ok;
    const char *out;
    size_t outlen;
};

static const struct decode_row DECODE_ROWS[] = {
    {__LINE__, "", false, 1, true, "", 0},
    {__LINE__, "abc", false, 4, true, "abc", 3},
    {__LINE__, "abc", false, 3, false, NULL, 0}, /* no room for the NUL */
    {__LINE__, "a%2Fb", false, 16, true, "a/b", 3},
    {__LINE__, "a%2fb", false, 16, true, "a/b", 3},
    {__LINE__, "%E4%B8%AD", false, 16, true, "\xE4\xB8\xAD", 3},
    {__LINE__, "a+b", false, 16, true, "a+b", 3}, /* a path segment keeps '+' */
    {__LINE__, "a+b", true, 16, true, "a b", 3},  /* a query decodes it to a space */
    {__LINE__, "a%2Bb", true, 16, true, "a+b", 3},
    {__LINE__, "%20", true, 16, true, " ", 1},
    {__LINE__, "%", false, 16, false, NULL, 0},
    {__LINE__, "%4", false, 16, false, NULL, 0},
    {__LINE__, "a%4", false, 16, false, NULL, 0},
    {__LINE__, "%zz", false, 16, false, NULL, 0},
    {__LINE__, "%4g", false, 16, false, NULL, 0},
    {__LINE__, "%g4", false, 16, false, NULL, 0},
    {__LINE__, "%%41", false, 16, false, NULL, 0},
    {__LINE__, "%2541", false, 16, true, "%41", 3}, /* decoded once, not twice */
    {__LINE__, "a%00b", false, 16, true, "a\0b", 3},
    {__LINE__, "x", false, 0, false, NULL, 0},
};

static void test_query_pct_decode_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(DECODE_ROWS); i++) {
        const struct decode_row *row = &DECODE_ROWS[i];
        char dst[16];
        size_t n = 999;
        bool ok = wxp_pct_decode(wxp_str_c(row->in), row->plus, dst, row->cap, &n);

        if (ok != row->ok) {
            fail_msg("row at line %d: ok=%d, want %d", row->line, ok, row->ok);
        }
        if (!ok) {
            continue;
        }
        if (n != row->outlen || memcmp(dst, row->out, n) != 0 || dst[n] != '\0') {
            fail_msg("row at line %d: decoded %zu bytes", row->line, n);
        }
    }
}

struct encode_row {
    int line;
    const char *in;
    size_t len;
    const char *out;
};

static const struct encode_row ENCODE_ROWS[] = {
    {__LINE__, "", 0, ""},
    {__LINE__, "AZaz09-._~", 10, "AZaz09-._~"},
    {__LINE__, "a b", 3, "a%20b"},
    {__LINE__, "a+b", 3, "a%2Bb"},
    {__LINE__, "a/b?c=d&e", 9, "a%2Fb%3Fc%3Dd%26e"},
    {__LINE__, "|*", 2, "%7C%2A"},
    {__LINE__, "%", 1, "%25"},
    {__LINE__, "\xE4\xB8\xAD", 3, "%E4%B8%AD"},
    {__LINE__, "a\0b", 3, "a%00b"},
    {__LINE__, "\xFF", 1, "%FF"},
};

static void test_query_pct_encode_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(ENCODE_ROWS); i++) {
        const struct encode_row *row = &ENCODE_ROWS[i];
        struct wxp_buf b;
        char back[64];
        size_t n = 0;

        wxp_buf_init(&b, 1024);
        if (wxp_pct_encode(&b, row->in, row->len) != WXP_OK ||
            strcmp(wxp_buf_cstr(&b), row->out) != 0) {
            fail_msg("row at line %d: encoded \"%s\"", row->line, wxp_buf_cstr(&b));
        }
        /* Round trip through the decoder, with and without '+' decoding. */
        if (!wxp_pct_decode((struct wxp_str){b.ptr != NULL ? b.ptr : "", b.len}, true, back,
                            sizeof back, &n) ||
            n != row->len || memcmp(back, row->in, n) != 0) {
            fail_msg("row at line %d: no round trip", row->line);
        }
        wxp_buf_free(&b);
    }
}

static void test_query_pct_encode_cap(void **state)
{
    struct wxp_buf b;

    (void)state;
    wxp_buf_init(&b, 5);
    assert_int_equal(wxp_pct_encode(&b, "ab", 2), WXP_OK);
    assert_int_equal(wxp_pct_encode(&b, " ", 1), WXP_OK); /* exactly 5 */
    assert_int_equal(wxp_pct_encode(&b, " ", 1), WXP_E_TOO_LARGE);
    assert_string_equal(wxp_buf_cstr(&b), "ab%20");
    wxp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_parse_rows),      cmocka_unit_test(test_query_parse_cap),
        cmocka_unit_test(test_query_pct_decode_rows), cmocka_unit_test(test_query_pct_encode_rows),
        cmocka_unit_test(test_query_pct_encode_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
