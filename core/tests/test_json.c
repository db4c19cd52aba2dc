/* SPDX-License-Identifier: MIT */
/* test_json.c: wxp_json_check is strict RFC 8259 where cJSON 1.7.15 is lenient (style.md,
 * "Traps in our own dependencies"): every leniency is refused with the exact code and offset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wxp/json.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A literal and its length, so rows can hold NUL bytes and need no terminator. */
#define B(lit) (lit), (sizeof(lit) - 1)
/* bad_offset not asserted for this row. */
#define ANY SIZE_MAX

struct row {
    int line;
    const char *in;
    size_t len;
    enum wxp_code code;
    size_t off;
};

/* Runs the check on an exact-size heap copy, so ASan sees any read past `len`. */
static enum wxp_code check_exact(const char *p, size_t len, size_t *off, struct wxp_err *err)
{
    char *copy = malloc(len ? len : 1);
    enum wxp_code rc;

    assert_non_null(copy);
    if (len > 0) {
        memcpy(copy, p, len);
    }
    rc = wxp_json_check(copy, len, off, err);
    free(copy);
    return rc;
}

static void run_rows(const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        struct wxp_err err;
        size_t off = 12345;
        enum wxp_code rc;

        wxp_err_clear(&err);
        rc = check_exact(r->in, r->len, &off, &err);
        if (rc != r->code) {
            fail_msg("row at line %d: got %s (%s), want %s", r->line, wxp_code_name(rc), err.msg,
                     wxp_code_name(r->code));
        }
        if (rc == WXP_OK) {
            continue;
        }
        if (err.code != rc || strcmp(err.field, "body") != 0 || err.msg[0] == '\0') {
            fail_msg("row at line %d: err {%s, \"%s\", \"%s\"}, want {%s, \"body\", message}",
                     r->line, wxp_code_name(err.code), err.field, err.msg, wxp_code_name(rc));
        }
        if (off > r->len) {
            fail_msg("row at line %d: bad_offset %zu is past the input (%zu)", r->line, off,
                     r->len);
        }
        if (r->off != ANY && off != r->off) {
            fail_msg("row at line %d: bad_offset %zu, want %zu (%s)", r->line, off, r->off,
                     err.msg);
        }
        /* NULL out-params give the same verdict. */
        if (check_exact(r->in, r->len, NULL, NULL) != rc) {
            fail_msg("row at line %d: different verdict with NULL bad_offset and err", r->line);
        }
    }
}

/* Each input cJSON 1.7.15 accepts (style.md table) and the real server's parser does not. */
static const struct row CJSON_LENIENCIES[] = {
    {__LINE__, B("{\"a\":01}"), WXP_E_JSON_SYNTAX, 6},
    {__LINE__, B("{\"a\":\"x\x01y\"}"), WXP_E_JSON_SYNTAX, 7},
    {__LINE__, B("\xEF\xBB\xBF{\"a\":1}"), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B("\"x\\u0000y\""), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("{\"a\":\"x\\u0000\"}"), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("{\"a\":\"\xC3\x28\"}"), WXP_E_UTF8, 7},
    {__LINE__, B("{\"a\":1}xyz"), WXP_E_JSON_SYNTAX, 7},
    {__LINE__, B("{\"a\":+1}"), WXP_E_JSON_SYNTAX, 5},
};

static void test_json_rejects_cjson_leniencies(void **state)
{
    (void)state;
    run_rows(CJSON_LENIENCIES, NELEM(CJSON_LENIENCIES));
}

static const struct row SYNTAX_ERRORS[] = {
    /* Nothing there. */
    {__LINE__, B(""), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B(" "), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B(" \t\r\n"), WXP_E_JSON_SYNTAX, 4},
    /* Unterminated. */
    {__LINE__, B("\"abc"), WXP_E_JSON_SYNTAX, 4},
    {__LINE__, B("\"abc\\"), WXP_E_JSON_SYNTAX, 5},
    {__LINE__, B("\"abc\\\""), WXP_E_JSON_SYNTAX, 6},
    {__LINE__, B("{"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("{\"a\""), WXP_E_JSON_SYNTAX, 4},
    {__LINE__, B("{\"a\":"), WXP_E_JSON_SYNTAX, 5},
    {__LINE__, B("{\"a\":1"), WXP_E_JSON_SYNTAX, 6},
    {__LINE__, B("{\"a\":1,"), WXP_E_JSON_SYNTAX, 7},
    {__LINE__, B("["), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("[1,2"), WXP_E_JSON_SYNTAX, 4},
    {__LINE__, B("[[]"), WXP_E_JSON_SYNTAX, 3},
    /* Trailing commas, missing separators, stray closers. */
    {__LINE__, B("{\"a\":1,}"), WXP_E_JSON_SYNTAX, 7},
    {__LINE__, B("[1,]"), WXP_E_JSON_SYNTAX, 3},
    {__LINE__, B("[,1]"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("{,}"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("[1 2]"), WXP_E_JSON_SYNTAX, 3},
    {__LINE__, B("{\"a\":1 \"b\":2}"), WXP_E_JSON_SYNTAX, 7},
    {__LINE__, B("{\"a\" 1}"), WXP_E_JSON_SYNTAX, 5},
    {__LINE__, B("{\"a\"}"), WXP_E_JSON_SYNTAX, 4},
    {__LINE__, B("{\"a\"::1}"), WXP_E_JSON_SYNTAX, 5},
    {__LINE__, B("{1:2}"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("{a:1}"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("[1}"), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("{\"a\":1]"), WXP_E_JSON_SYNTAX, 6},
    {__LINE__, B("]"), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B("}"), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B(","), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B(":"), WXP_E_JSON_SYNTAX, 0},
    /* Trailing data: a second value, a stray closer, a NUL. */
    {__LINE__, B("{}}"), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("[]]"), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("{}{}"), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("1 2"), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("[],"), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("{\"a\":1}\x00"), WXP_E_JSON_SYNTAX, 7},
    {__LINE__, B("{\"a\":1} \x00"), WXP_E_JSON_SYNTAX, 8},
    /* Whitespace is SP, HT, LF and CR only. */
    {__LINE__, B("\f{}"), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B("{}\v"), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("[1,\xC2\xA0 2]"), WXP_E_JSON_SYNTAX, 3},
    /* Single quotes and bare words. */
    {__LINE__, B("{'a':1}"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("{\"a\":'b'}"), WXP_E_JSON_SYNTAX, 5},
    {__LINE__, B("'a'"), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B("NaN"), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B("Infinity"), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B("-Infinity"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("[NaN]"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("tru"), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("True"), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B("nul"), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("falsey"), WXP_E_JSON_SYNTAX, 5},
    {__LINE__, B("undefined"), WXP_E_JSON_SYNTAX, 0},
    /* Numbers outside the strict grammar. */
    {__LINE__, B("01"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("-01"), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("00"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("1."), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("1.e5"), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B(".5"), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B("1e"), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("1e+"), WXP_E_JSON_SYNTAX, 3},
    {__LINE__, B("1E-"), WXP_E_JSON_SYNTAX, 3},
    {__LINE__, B("-"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("--1"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("- 1"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("+1"), WXP_E_JSON_SYNTAX, 0},
    {__LINE__, B("0x10"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("1_000"), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("[1,-]"), WXP_E_JSON_SYNTAX, 4},
    /* Raw control characters in strings (must be escaped); DEL is allowed by RFC 8259. */
    {__LINE__, B("\"a\tb\""), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("\"a\nb\""), WXP_E_JSON_SYNTAX, 2},
    {__LINE__, B("\"\x1F\""), WXP_E_JSON_SYNTAX, 1},
    {__LINE__, B("\"a\0b\""), WXP_E_JSON_SYNTAX, 2},
    /* Escapes. */
    {__LINE__, B("\"\\x41\""), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\a\""), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\'\""), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\U0041\""), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\u12\""), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\u12"), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\uZZZZ\""), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\u-123\""), WXP_E_JSON_SYNTAX, ANY},
    /* Lone and mismatched surrogate escapes. */
    {__LINE__, B("\"\\uD800\""), WXP_E_JSON_SYNTAX, 7},
    {__LINE__, B("\"\\uDBFF\""), WXP_E_JSON_SYNTAX, 7},
    {__LINE__, B("\"\\uDC00\""), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\uDFFF\""), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\uD800"), WXP_E_JSON_SYNTAX, 7},
    {__LINE__, B("\"\\uD800x\""), WXP_E_JSON_SYNTAX, 7},
    {__LINE__, B("\"\\uD800\\n\""), WXP_E_JSON_SYNTAX, 7},
    {__LINE__, B("\"\\uD800\\u0041\""), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\uD800\\uD800\""), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\uD800\\u"), WXP_E_JSON_SYNTAX, ANY},
    {__LINE__, B("\"\\uDC00\\uD800\""), WXP_E_JSON_SYNTAX, ANY},
    /* Invalid UTF-8 anywhere, reported where the bytes go wrong. */
    {__LINE__, B("\xC3\x28"), WXP_E_UTF8, 1},
    {__LINE__, B("\"\xED\xA0\x80\""), WXP_E_UTF8, 2},
    {__LINE__, B("\"\xC0\x80\""), WXP_E_UTF8, 1},
    {__LINE__, B("\"\xF4\x90\x80\x80\""), WXP_E_UTF8, 2},
    {__LINE__, B("{\"a\":\"\xE4\xB8\""), WXP_E_UTF8, 8}, /* the quote breaks 中 */
    {__LINE__, B("[1]\xFF"), WXP_E_UTF8, 3},
    {__LINE__, B("{\"\x80\":1}"), WXP_E_UTF8, 2},
};

static void test_json_rejects_syntax_errors(void **state)
{
    (void)state;
    run_rows(SYNTAX_ERRORS, NELEM(SYNTAX_ERRORS));
}

static const struct row ACCEPTED[] = {
    /* Scalars at the top level. */
    {__LINE__, B("0"), WXP_OK, 0},
    {__LINE__, B("-0"), WXP_OK, 0},
    {__LINE__, B("-0.0"), WXP_OK, 0},
    {__LINE__, B("1"), WXP_OK, 0},
    {__LINE__, B("-1"), WXP_OK, 0},
    {__LINE__, B("1234567890"), WXP_OK, 0},
    {__LINE__, B("1.5"), WXP_OK, 0},
    {__LINE__, B("0.5e-3"), WXP_OK, 0},
    {__LINE__, B("1e5"), WXP_OK, 0},
    {__LINE__, B("1E5"), WXP_OK, 0},
    {__LINE__, B("1e+5"), WXP_OK, 0},
    {__LINE__, B("1E-05"), WXP_OK, 0},
    {__LINE__, B("-12.50e+010"), WXP_OK, 0},
    {__LINE__, B("1e999"), WXP_OK, 0},
    {__LINE__, B("123456789012345678901234567890123456789012345678901234567890123456789"), WXP_OK,
     0},
    {__LINE__, B("true"), WXP_OK, 0},
    {__LINE__, B("false"), WXP_OK, 0},
    {__LINE__, B("null"), WXP_OK, 0},
    {__LINE__, B("\"\""), WXP_OK, 0},
    {__LINE__, B("\"abc\""), WXP_OK, 0},
    /* Containers. */
    {__LINE__, B("{}"), WXP_OK, 0},
    {__LINE__, B("[]"), WXP_OK, 0},
    {__LINE__, B("[[]]"), WXP_OK, 0},
    {__LINE__, B("[{}]"), WXP_OK, 0},
    {__LINE__, B("[1,\"a\",true,false,null,{},[],-0.5]"), WXP_OK, 0},
    {__LINE__, B("{\"a\":{\"b\":[1,{\"c\":null}],\"d\":{}},\"e\":[[[\"f\"]]]}"), WXP_OK, 0},
    {__LINE__, B("{\"\":\"\"}"), WXP_OK, 0},
    /* Duplicate names are the schema's business (WXP_E_JSON_DUPLICATE_KEY), not syntax. */
    {__LINE__, B("{\"a\":1,\"a\":2}"), WXP_OK, 0},
    /* Strings: every escape, a surrogate pair (either case), raw UTF-8 and raw DEL. */
    {__LINE__, B("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), WXP_OK, 0},
    {__LINE__, B("\"\\u0041\\u00e9\\u00E9\\u4e2d\\uFFFF\\u0001\\u001F\""), WXP_OK, 0},
    {__LINE__, B("\"\\uD83D\\uDE00\""), WXP_OK, 0},
    {__LINE__, B("\"\\ud83d\\ude00\""), WXP_OK, 0},
    {__LINE__, B("\"\\uDBFF\\uDFFF\""), WXP_OK, 0},
    {__LINE__, B("\"\xE4\xB8\xAD\xE6\x96\x87\xF0\x9F\x98\x80\""), WXP_OK, 0},
    {__LINE__, B("\"a\x7Fz\""), WXP_OK, 0},
    {__LINE__, B("{\"\xE5\x90\x8D\":\"\xE5\x80\xBC\"}"), WXP_OK, 0},
    /* Whitespace (SP HT LF CR) before, between and after every token. */
    {__LINE__, B(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ 1 , \"b\" ] \t\r\n, \"c\" : null } \t\r\n"),
     WXP_OK, 0},
    {__LINE__, B("\n1\n"), WXP_OK, 0},
    {__LINE__, B("[ ]"), WXP_OK, 0},
    {__LINE__, B("{ }"), WXP_OK, 0},
    /* The Go SDK's body ends in a newline. */
    {__LINE__, B("{\"service_id\":\"1\",\"appid\":\"wx\",\"reason\":\"r\"}\n"), WXP_OK, 0},
};

static void test_json_accepts_valid_documents(void **state)
{
    (void)state;
    run_rows(ACCEPTED, NELEM(ACCEPTED));
}

/* n levels of `open`, an optional innermost value, then n of `close`. */
static char *nest(size_t n, const char *open, const char *inner, char close, size_t *len)
{
    size_t olen = strlen(open);
    size_t ilen = strlen(inner);
    char *p = malloc(n * (olen + 1) + ilen + 1);
    size_t k = 0;

    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        memcpy(p + k, open, olen);
        k += olen;
    }
    memcpy(p + k, inner, ilen);
    k += ilen;
    for (size_t i = 0; i < n; i++) {
        p[k++] = close;
    }
    *len = k;
    return p;
}

static void test_json_limits_nesting_depth(void **state)
{
    static const struct {
        int line;
        const char *open;
        const char *inner;
        char close;
    } SHAPES[] = {
        {__LINE__, "[", "", ']'},
        {__LINE__, "[", "1", ']'},
        {__LINE__, "{\"a\":", "1", '}'},
        {__LINE__, "{\"a\": [", "1", ']'}, /* closers do not match: refused either way */
    };
    (void)state;

    for (size_t i = 0; i < 3; i++) {
        size_t olen = strlen(SHAPES[i].open);
        size_t len = 0;
        size_t off = 0;
        struct wxp_err err;
        char *doc =
            nest(WXP_JSON_MAX_DEPTH, SHAPES[i].open, SHAPES[i].inner, SHAPES[i].close, &len);
        enum wxp_code rc = wxp_json_check(doc, len, &off, &err);

        if (rc != WXP_OK) {
            fail_msg("row at line %d: depth %d refused: %s", SHAPES[i].line, WXP_JSON_MAX_DEPTH,
                     err.msg);
        }
        free(doc);
        /* One more level: refused at the opener that would go past the limit. */
        doc = nest(WXP_JSON_MAX_DEPTH + 1, SHAPES[i].open, SHAPES[i].inner, SHAPES[i].close, &len);
        rc = wxp_json_check(doc, len, &off, &err);
        if (rc != WXP_E_JSON_SYNTAX || off != WXP_JSON_MAX_DEPTH * olen) {
            fail_msg("row at line %d: depth %d + 1 got %s at %zu, want WXP_E_JSON_SYNTAX at %zu",
                     SHAPES[i].line, WXP_JSON_MAX_DEPTH, wxp_code_name(rc), off,
                     WXP_JSON_MAX_DEPTH * olen);
        }
        free(doc);
    }
    {
        size_t len = 0;
        char *doc = nest(2, SHAPES[3].open, SHAPES[3].inner, SHAPES[3].close, &len);
        assert_int_equal(wxp_json_check(doc, len, NULL, NULL), WXP_E_JSON_SYNTAX);
        free(doc);
    }
}

/* Objects inside arrays count alike: 32 of "[{"a":" are 64 levels. */
static void test_json_limits_mixed_nesting(void **state)
{
    static const char *const INNER[] = {"1", "[]"};
    const size_t steps = WXP_JSON_MAX_DEPTH / 2;
    (void)state;

    for (size_t i = 0; i < NELEM(INNER); i++) {
        size_t k = 0;
        size_t off = 0;
        char *doc = malloc(steps * 8 + 8);

        assert_non_null(doc);
        for (size_t s = 0; s < steps; s++) {
            memcpy(doc + k, "[{\"a\":", 6);
            k += 6;
        }
        memcpy(doc + k, INNER[i], strlen(INNER[i]));
        k += strlen(INNER[i]);
        for (size_t s = 0; s < steps; s++) {
            doc[k++] = '}';
            doc[k++] = ']';
        }
        if (i == 0) {
            assert_int_equal(wxp_json_check(doc, k, &off, NULL), WXP_OK);
        } else {
            assert_int_equal(wxp_json_check(doc, k, &off, NULL), WXP_E_JSON_SYNTAX);
            assert_int_equal(off, steps * 6);
        }
        free(doc);
    }
}

/* 100000 '[' (and then as many ']'): refused at the depth limit, no recursion, no crash. */
static void test_json_rejects_hostile_nesting(void **state)
{
    const size_t n = 100000;
    size_t len = 0;
    size_t off = 0;
    struct wxp_err err;
    char *doc = nest(n, "[", "", ']', &len);
    (void)state;

    assert_int_equal(wxp_json_check(doc, n, &off, &err), WXP_E_JSON_SYNTAX);
    assert_int_equal(off, WXP_JSON_MAX_DEPTH);
    assert_int_equal(err.code, WXP_E_JSON_SYNTAX);
    assert_string_equal(err.field, "body");
    assert_int_equal(wxp_json_check(doc, len, &off, &err), WXP_E_JSON_SYNTAX);
    assert_int_equal(off, WXP_JSON_MAX_DEPTH);
    free(doc);

    doc = nest(n, "{\"a\":", "1", '}', &len);
    assert_int_equal(wxp_json_check(doc, len, &off, NULL), WXP_E_JSON_SYNTAX);
    assert_int_equal(off, WXP_JSON_MAX_DEPTH * 5);
    free(doc);
}

/* Every proper prefix of a valid document is refused, read from an exact-size buffer (ASan). */
static void test_json_rejects_every_prefix(void **state)
{
    static const char DOC[] = "{\"a\":[1,-2.5e+3,true,false,null,\"x\\u4e2d\\uD83D\\uDE00\\n\"],"
                              "\"\xE4\xB8\xAD\":{\"b\":{}}}";
    const size_t full = sizeof DOC - 1;
    (void)state;

    assert_int_equal(check_exact(DOC, full, NULL, NULL), WXP_OK);
    for (size_t len = 0; len < full; len++) {
        size_t off = 0;
        enum wxp_code rc = check_exact(DOC, len, &off, NULL);
        unsigned char next = (unsigned char)DOC[len];
        enum wxp_code want = (next & 0xC0) == 0x80 ? WXP_E_UTF8 : WXP_E_JSON_SYNTAX;

        if (rc != want || off > len) {
            fail_msg("prefix of %zu bytes: got %s at %zu, want %s", len, wxp_code_name(rc), off,
                     wxp_code_name(want));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_rejects_cjson_leniencies),
        cmocka_unit_test(test_json_rejects_syntax_errors),
        cmocka_unit_test(test_json_accepts_valid_documents),
        cmocka_unit_test(test_json_limits_nesting_depth),
        cmocka_unit_test(test_json_limits_mixed_nesting),
        cmocka_unit_test(test_json_rejects_hostile_nesting),
        cmocka_unit_test(test_json_rejects_every_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
