/* SPDX-License-Identifier: MIT */
/* test_authz.c: the Authorization header: strict parsing, building, and sign/verify round trips. */
#include <stdbool.h>
#include <string.h>

#include <cJSON.h>

#include "testutil.h"
#include "wxp/authz.h"
#include "wxp/mem.h"
#include "wxp/signmsg.h"

#define SCHEME WXP_AUTHZ_SCHEME " "
#define V_MCHID "1900000109"
#define V_NONCE "593BEC0C930BF1AFEB40B4A08C8FB242"
#define V_TS "1554208460"
#define V_SIG "Ns6lSx++bpi5/1Gs0dajnqSCHqXdnW7IiEzDzHkHQBHfpjXJ/Q=="
#define P_MCHID "mchid=\"" V_MCHID "\""
#define P_NONCE "nonce_str=\"" V_NONCE "\""
#define P_TS "timestamp=\"" V_TS "\""
#define P_SERIAL "serial_no=\"" T_SERIAL_A "\""
#define P_SIG "signature=\"" V_SIG "\""
/* wechatpay-go / wechatpay-java order. */
#define GOOD SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG

#define TARGET "/v3/payscore/permissions/openid/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o/terminate"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- parser: malformed headers ---- */

struct row {
    int line;
    const char *hdr;
    size_t len; /* explicit, so an embedded NUL is really inside the input */
    enum wxp_code want;
    const char *field;
};

#define ROW(s, code, field)                                                                        \
    {                                                                                              \
        __LINE__, (s), sizeof(s) - 1, (code), (field)                                              \
    }

static const struct row BAD_ROWS[] = {
    /* empty and blank */
    ROW("", WXP_E_AUTHZ_MISSING, "Authorization"),
    ROW(" ", WXP_E_AUTHZ_MISSING, "Authorization"),
    ROW("   \t  ", WXP_E_AUTHZ_MISSING, "Authorization"),
    /* scheme */
    ROW("WECHATPAY2-SHA256-RSA " P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SCHEME, "Authorization.scheme"),
    ROW("wechatpay2-sha256-rsa2048 " P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SCHEME, "Authorization.scheme"),
    ROW("WECHATPAY2-SM2-WITH-SM3 " P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SCHEME, "Authorization.scheme"),
    ROW("WECHATPAY2-SHA256-RSA2048X " P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SCHEME, "Authorization.scheme"),
    ROW("Bearer eyJhbGciOiJIUzI1NiJ9", WXP_E_AUTHZ_SCHEME, "Authorization.scheme"),
    ROW(" " GOOD, WXP_E_AUTHZ_SCHEME, "Authorization.scheme"),
    ROW(WXP_AUTHZ_SCHEME "," P_MCHID, WXP_E_AUTHZ_SCHEME, "Authorization.scheme"),
    ROW(WXP_AUTHZ_SCHEME, WXP_E_AUTHZ_PARAM_MISSING, "Authorization.mchid"),
    ROW(WXP_AUTHZ_SCHEME " ", WXP_E_AUTHZ_PARAM_MISSING, "Authorization.mchid"),
    /* separator after the scheme */
    ROW(WXP_AUTHZ_SCHEME "  " P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization"),
    ROW(WXP_AUTHZ_SCHEME "\t" P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization"),
    ROW(WXP_AUTHZ_SCHEME " \t" P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization"),
    ROW(WXP_AUTHZ_SCHEME "\n" P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization"),
    /* each parameter missing: the error names it */
    ROW(SCHEME P_NONCE "," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_PARAM_MISSING,
        "Authorization.mchid"),
    ROW(SCHEME P_MCHID "," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_PARAM_MISSING,
        "Authorization.nonce_str"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_PARAM_MISSING,
        "Authorization.timestamp"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SIG, WXP_E_AUTHZ_PARAM_MISSING,
        "Authorization.serial_no"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL, WXP_E_AUTHZ_PARAM_MISSING,
        "Authorization.signature"),
    /* several missing: the first in mchid, nonce_str, timestamp, serial_no, signature order */
    ROW(SCHEME P_SIG "," P_SERIAL, WXP_E_AUTHZ_PARAM_MISSING, "Authorization.mchid"),
    ROW(SCHEME P_MCHID "," P_SIG, WXP_E_AUTHZ_PARAM_MISSING, "Authorization.nonce_str"),
    ROW(SCHEME P_SIG "," P_NONCE "," P_MCHID, WXP_E_AUTHZ_PARAM_MISSING, "Authorization.timestamp"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS, WXP_E_AUTHZ_PARAM_MISSING, "Authorization.serial_no"),
    /* duplicates, also with a different value and in last position */
    ROW(SCHEME P_MCHID "," P_NONCE "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_PARAM_DUPLICATE, "Authorization.nonce_str"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG ",mchid=\"1900000110\"",
        WXP_E_AUTHZ_PARAM_DUPLICATE, "Authorization.mchid"),
    ROW(SCHEME P_TS "," P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_PARAM_DUPLICATE, "Authorization.timestamp"),
    /* unknown names: exact, case-sensitive */
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG ",appid=\"wx1\"",
        WXP_E_AUTHZ_PARAM_UNKNOWN, "Authorization.appid"),
    ROW(SCHEME "MchId=\"" V_MCHID "\"," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_PARAM_UNKNOWN, "Authorization.MchId"),
    ROW(SCHEME P_MCHID ",nonce=\"" V_NONCE "\"," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_PARAM_UNKNOWN, "Authorization.nonce"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS ",serial=\"" T_SERIAL_A "\"," P_SIG,
        WXP_E_AUTHZ_PARAM_UNKNOWN, "Authorization.serial"),
    ROW(SCHEME "a_parameter_name_of_forty_characters_xxx=\"1\"," P_MCHID, WXP_E_AUTHZ_PARAM_UNKNOWN,
        "Authorization"),
    /* quoting */
    ROW(SCHEME "mchid='" V_MCHID "'," P_NONCE "," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_UNQUOTED,
        "Authorization.mchid"),
    ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=" V_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_UNQUOTED,
        "Authorization.timestamp"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL ",signature=", WXP_E_AUTHZ_UNQUOTED,
        "Authorization.signature"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL ",signature=\"" V_SIG,
        WXP_E_AUTHZ_UNTERMINATED, "Authorization.signature"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL ",signature=\"", WXP_E_AUTHZ_UNTERMINATED,
        "Authorization.signature"),
    ROW(SCHEME "mchid=\"" V_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_SYNTAX,
        "Authorization.mchid"),
    ROW(SCHEME P_MCHID ",nonce_str=\"\"," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_EMPTY_VALUE,
        "Authorization.nonce_str"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL ",signature=\"\"", WXP_E_AUTHZ_EMPTY_VALUE,
        "Authorization.signature"),
    /* timestamp values */
    ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=\"15542O8460\"," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_TIMESTAMP, "Authorization.timestamp"),
    ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=\"-1554208460\"," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_TIMESTAMP, "Authorization.timestamp"),
    ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=\"+123\"," P_SERIAL "," P_SIG, WXP_E_AUTHZ_TIMESTAMP,
        "Authorization.timestamp"),
    ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=\"1554208460000000000\"," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_TIMESTAMP, "Authorization.timestamp"),
    ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=\" 1554208460\"," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_TIMESTAMP, "Authorization.timestamp"),
    ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=\"1554208460.5\"," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_TIMESTAMP, "Authorization.timestamp"),
    ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=\"0x5CA3B8CC\"," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_TIMESTAMP, "Authorization.timestamp"),
    /* blanks around '=' and between parameters */
    ROW(SCHEME "mchid =\"" V_MCHID "\"," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization.mchid"),
    ROW(SCHEME "mchid= \"" V_MCHID "\"," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_UNQUOTED, "Authorization.mchid"),
    ROW(SCHEME P_MCHID " ," P_NONCE "," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_SYNTAX,
        "Authorization.mchid"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG " ", WXP_E_AUTHZ_SYNTAX,
        "Authorization.signature"),
    /* garbage between parameters, wrong separators */
    ROW(SCHEME "mchid=\"" V_MCHID "\"y," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization.mchid"),
    ROW(SCHEME "mchid=\"19\"00\"," P_NONCE "," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_SYNTAX,
        "Authorization.mchid"),
    ROW(SCHEME P_MCHID ";" P_NONCE ";" P_TS ";" P_SERIAL ";" P_SIG, WXP_E_AUTHZ_SYNTAX,
        "Authorization.mchid"),
    ROW(SCHEME P_MCHID " " P_NONCE " " P_TS " " P_SERIAL " " P_SIG, WXP_E_AUTHZ_SYNTAX,
        "Authorization.mchid"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG ",", WXP_E_AUTHZ_SYNTAX,
        "Authorization"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG ", ", WXP_E_AUTHZ_SYNTAX,
        "Authorization"),
    ROW(SCHEME P_MCHID ",," P_NONCE "," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_SYNTAX,
        "Authorization"),
    ROW(SCHEME "," P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_SYNTAX,
        "Authorization"),
    ROW(SCHEME "=\"x\"," P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_SYNTAX,
        "Authorization"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL ",signature", WXP_E_AUTHZ_SYNTAX,
        "Authorization.signature"),
    /* two headers joined by a proxy */
    ROW(GOOD ", " GOOD, WXP_E_AUTHZ_SYNTAX, "Authorization.WECHATPAY2-SHA256-RSA2048"),
    /* control bytes anywhere, including after a comma (only SP/HTAB may follow one) */
    ROW(SCHEME P_MCHID ",\n" P_NONCE "," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_SYNTAX,
        "Authorization"),
    ROW(SCHEME P_MCHID ",\r\n " P_NONCE "," P_TS "," P_SERIAL "," P_SIG, WXP_E_AUTHZ_SYNTAX,
        "Authorization"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG "\r\n", WXP_E_AUTHZ_SYNTAX,
        "Authorization"),
    ROW(SCHEME "mchid=\"1900\n000109\"," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization"),
    ROW(SCHEME "mchid=\"1900\r000109\"," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization"),
    ROW(SCHEME "mchid=\"1900\0000109\"," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG "\0", WXP_E_AUTHZ_SYNTAX,
        "Authorization"),
    ROW(SCHEME "mchid=\"1900\t000109\"," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization"),
    ROW(SCHEME "mchid=\"1900,\t000109\"," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization"),
    ROW(SCHEME "mchid=\t\"" V_MCHID "\"," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
        WXP_E_AUTHZ_SYNTAX, "Authorization"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG "\t", WXP_E_AUTHZ_SYNTAX,
        "Authorization"),
    ROW(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL "," P_SIG "\x7F", WXP_E_AUTHZ_SYNTAX,
        "Authorization"),
};

static void test_authz_rejects_malformed_headers(void **state)
{
    (void)state;
    assert_true(NELEM(BAD_ROWS) >= 30);
    for (size_t i = 0; i < NELEM(BAD_ROWS); i++) {
        const struct row *r = &BAD_ROWS[i];
        struct wxp_authz a;
        struct wxp_err err;
        enum wxp_code got;

        wxp_err_clear(&err);
        got = wxp_authz_parse(r->hdr, r->len, &a, &err);
        if (got != r->want) {
            fail_msg("row at line %d: got %s, want %s (%s)", r->line, wxp_code_name(got),
                     wxp_code_name(r->want), err.msg);
        }
        if (err.code != r->want || strcmp(err.field, r->field) != 0) {
            fail_msg("row at line %d: err.code %s field \"%s\", want field \"%s\"", r->line,
                     wxp_code_name(err.code), err.field, r->field);
        }
        if (err.msg[0] == '\0') {
            fail_msg("row at line %d: no message", r->line);
        }
        /* The same verdict without an error buffer. */
        if (wxp_authz_parse(r->hdr, r->len, &a, NULL) != r->want) {
            fail_msg("row at line %d: a different code with err == NULL", r->line);
        }
    }
}

static void test_authz_rejects_null_header(void **state)
{
    (void)state;
    struct wxp_authz a;
    struct wxp_err err;
    assert_int_equal(wxp_authz_parse(NULL, 0, &a, &err), WXP_E_AUTHZ_MISSING);
    assert_string_equal(err.field, "Authorization");
}

static void test_authz_rejects_header_over_max(void **state)
{
    (void)state;
    /* A valid header padded (in the signature) to exactly WXP_AUTHZ_MAX bytes, then one more. */
    static const char head[] = SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL ",signature=\"";
    size_t n = WXP_AUTHZ_MAX + 1;
    char *h = wxp_malloc(n);
    struct wxp_authz a;
    struct wxp_err err;

    assert_non_null(h);
    memcpy(h, head, sizeof head - 1);
    memset(h + sizeof head - 1, 'A', n - (sizeof head - 1));
    h[WXP_AUTHZ_MAX - 1] = '"';
    assert_int_equal(wxp_authz_parse(h, WXP_AUTHZ_MAX, &a, &err), WXP_OK);
    assert_int_equal(a.signature.len, WXP_AUTHZ_MAX - 1 - (sizeof head - 1));
    h[WXP_AUTHZ_MAX - 1] = 'A';
    h[WXP_AUTHZ_MAX] = '"';
    wxp_err_clear(&err);
    assert_int_equal(wxp_authz_parse(h, WXP_AUTHZ_MAX + 1, &a, &err), WXP_E_TOO_LARGE);
    assert_int_equal(err.code, WXP_E_TOO_LARGE);
    assert_string_equal(err.field, "Authorization");
    /* The size check comes first: even an all-blank oversized header is "too large". */
    memset(h, ' ', n);
    assert_int_equal(wxp_authz_parse(h, n, &a, &err), WXP_E_TOO_LARGE);
    wxp_free(h);
}

/* ---- parser: accepted headers ---- */

struct ok_row {
    int line;
    const char *hdr;
    const char *mchid;
    const char *nonce;
    const char *ts;
    const char *serial;
    const char *sig;
    int64_t ts_value;
    bool spaces;
};

#define OK_ROW(h, ts, tsv, sp)                                                                     \
    {                                                                                              \
        __LINE__, (h), V_MCHID, V_NONCE, (ts), T_SERIAL_A, V_SIG, (tsv), (sp)                      \
    }

static const struct ok_row OK_ROWS[] = {
    /* wechatpay-go, wechatpay-java, apache-httpclient */
    OK_ROW(GOOD, V_TS, 1554208460, false),
    /* wechatpay-php, wechatpay-axios-plugin */
    OK_ROW(SCHEME P_MCHID "," P_SERIAL "," P_TS "," P_NONCE "," P_SIG, V_TS, 1554208460, false),
    /* wechatpay-postman-script */
    OK_ROW(SCHEME P_MCHID "," P_SERIAL "," P_NONCE "," P_TS "," P_SIG, V_TS, 1554208460, false),
    /* the official documentation's example */
    OK_ROW(SCHEME P_MCHID "," P_NONCE "," P_SIG "," P_TS "," P_SERIAL, V_TS, 1554208460, false),
    /* fully reversed */
    OK_ROW(SCHEME P_SIG "," P_SERIAL "," P_TS "," P_NONCE "," P_MCHID, V_TS, 1554208460, false),
    /* spaces (and tabs) after commas: accepted, and reported */
    OK_ROW(SCHEME P_MCHID ", " P_NONCE ", " P_TS ", " P_SERIAL ", " P_SIG, V_TS, 1554208460, true),
    OK_ROW(SCHEME P_MCHID "," P_NONCE "," P_TS ",  " P_SERIAL "," P_SIG, V_TS, 1554208460, true),
    OK_ROW(SCHEME P_MCHID ",\t" P_NONCE ", \t " P_TS "," P_SERIAL "," P_SIG, V_TS, 1554208460,
           true),
    /* a 13-digit millisecond timestamp parses; the skew check rejects it later */
    OK_ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=\"1554208460000\"," P_SERIAL "," P_SIG,
           "1554208460000", 1554208460000LL, false),
    /* 18 digits is the longest accepted; leading zeros and 0 are digits too */
    OK_ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=\"999999999999999999\"," P_SERIAL "," P_SIG,
           "999999999999999999", 999999999999999999LL, false),
    OK_ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=\"0001554208460\"," P_SERIAL "," P_SIG,
           "0001554208460", 1554208460, false),
    OK_ROW(SCHEME P_MCHID "," P_NONCE ",timestamp=\"0\"," P_SERIAL "," P_SIG, "0", 0, false),
    /* values are opaque bytes: a comma, a space or an '=' inside quotes is data */
    {__LINE__, SCHEME "mchid=\"19,00 =\"," P_NONCE "," P_TS "," P_SERIAL "," P_SIG,
     "19,00 =", V_NONCE, V_TS, T_SERIAL_A, V_SIG, 1554208460, false},
    /* a Postman GUID nonce, a lowercase serial, the doc example's stray '%' */
    {__LINE__,
     SCHEME P_MCHID ",nonce_str=\"1b4e28ba-2fa1-11d2-883f-0016d3cca427\"," P_TS
                    ",serial_no=\"3b2a4c1d5e6f708192a3b4c5d6e7f8091a2b3c4d\",signature=\"gZGk==%\"",
     V_MCHID, "1b4e28ba-2fa1-11d2-883f-0016d3cca427", V_TS,
     "3b2a4c1d5e6f708192a3b4c5d6e7f8091a2b3c4d", "gZGk==%", 1554208460, false},
};

static void check_slice(int line, const char *what, const char *hdr, size_t len, struct wxp_str got,
                        const char *want)
{
    if (got.ptr == NULL || got.ptr < hdr || got.ptr + got.len > hdr + len) {
        fail_msg("row at line %d: %s does not borrow from the header", line, what);
    }
    if (got.len != strlen(want) || memcmp(got.ptr, want, got.len) != 0) {
        fail_msg("row at line %d: %s is \"%.*s\", want \"%s\"", line, what, (int)got.len, got.ptr,
                 want);
    }
}

static void test_authz_parses_every_sdk_order_and_spacing(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(OK_ROWS); i++) {
        const struct ok_row *r = &OK_ROWS[i];
        size_t len = strlen(r->hdr);
        struct wxp_authz a;
        struct wxp_err err;
        enum wxp_code got;

        got = wxp_authz_parse(r->hdr, len, &a, &err);
        if (got != WXP_OK) {
            fail_msg("row at line %d: got %s field \"%s\": %s", r->line, wxp_code_name(got),
                     err.field, err.msg);
        }
        check_slice(r->line, "mchid", r->hdr, len, a.mchid, r->mchid);
        check_slice(r->line, "nonce_str", r->hdr, len, a.nonce_str, r->nonce);
        check_slice(r->line, "timestamp", r->hdr, len, a.timestamp, r->ts);
        check_slice(r->line, "serial_no", r->hdr, len, a.serial_no, r->serial);
        check_slice(r->line, "signature", r->hdr, len, a.signature, r->sig);
        if (a.ts != r->ts_value) {
            fail_msg("row at line %d: ts %lld, want %lld", r->line, (long long)a.ts,
                     (long long)r->ts_value);
        }
        if (a.spaces_after_comma != r->spaces) {
            fail_msg("row at line %d: spaces_after_comma is %d", r->line,
                     (int)a.spaces_after_comma);
        }
    }
}

static void test_authz_slices_point_at_the_exact_offsets(void **state)
{
    (void)state;
    static const char h[] = GOOD;
    struct wxp_authz a;
    assert_int_equal(wxp_authz_parse(h, sizeof h - 1, &a, NULL), WXP_OK);
    assert_ptr_equal(a.mchid.ptr, h + strlen(SCHEME "mchid=\""));
    assert_ptr_equal(a.nonce_str.ptr, h + strlen(SCHEME P_MCHID ",nonce_str=\""));
    assert_ptr_equal(a.signature.ptr,
                     h + strlen(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL ",signature=\""));
    assert_ptr_equal(a.signature.ptr + a.signature.len, h + sizeof h - 2);
}

/* Every prefix of a valid header, in a buffer of exactly that header's length with no NUL after
 * it: under ASan a read past `len` crashes, and only the whole header parses. */
static void parse_every_prefix(const char *text)
{
    size_t len = strlen(text);
    char *buf = wxp_malloc(len);

    assert_non_null(buf);
    memcpy(buf, text, len);
    for (size_t k = 0; k <= len; k++) {
        struct wxp_authz a;
        struct wxp_err err;
        enum wxp_code got;

        wxp_err_clear(&err);
        got = wxp_authz_parse(buf, k, &a, &err);
        if (k == len && got != WXP_OK) {
            fail_msg("full header of %zu bytes: got %s", len, wxp_code_name(got));
        }
        if (k < len && (got == WXP_OK || got >= WXP_CODE_COUNT || err.code != got)) {
            fail_msg("prefix of %zu of %zu bytes: got %s", k, len, wxp_code_name(got));
        }
    }
    /* And every suffix that starts inside the buffer, ending at its last byte. */
    for (size_t k = 1; k <= len; k++) {
        struct wxp_authz a;
        if (wxp_authz_parse(buf + k, len - k, &a, NULL) == WXP_OK) {
            fail_msg("suffix from offset %zu parses", k);
        }
    }
    wxp_free(buf);
}

static void test_authz_never_reads_past_len(void **state)
{
    (void)state;
    parse_every_prefix(GOOD);
    parse_every_prefix(SCHEME P_MCHID ", " P_SERIAL ",\t" P_TS ", " P_NONCE "," P_SIG);
    parse_every_prefix(SCHEME P_MCHID "," P_NONCE "," P_SIG "," P_TS "," P_SERIAL);
}

/* ---- builder ---- */

static void test_authz_build_exact_string(void **state)
{
    (void)state;
    static const char want[] = "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\","
                               "nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\","
                               "timestamp=\"1554208460\","
                               "serial_no=\"3B2A4C1D5E6F708192A3B4C5D6E7F8091A2B3C4D\","
                               "signature=\"c2ln+/==\"";
    struct wxp_buf b;
    struct wxp_err err;

    wxp_buf_init(&b, 4096);
    assert_int_equal(
        wxp_authz_build(&b, T_MCHID_A, V_NONCE, 1554208460, T_SERIAL_A, "c2ln+/==", &err), WXP_OK);
    assert_int_equal(b.len, sizeof want - 1);
    assert_string_equal(wxp_buf_cstr(&b), want);
    wxp_buf_free(&b);
}

static void test_authz_build_appends_and_parses_back(void **state)
{
    (void)state;
    struct wxp_buf b;
    struct wxp_authz a;

    wxp_buf_init(&b, 4096);
    assert_int_equal(wxp_buf_addstr(&b, "Authorization: "), WXP_OK);
    assert_int_equal(wxp_authz_build(&b, T_MCHID_B, "n", 1700000000123LL, T_SERIAL_B, "s", NULL),
                     WXP_OK);
    assert_memory_equal(b.ptr, "Authorization: " WXP_AUTHZ_SCHEME " ", 41);
    assert_int_equal(wxp_authz_parse(b.ptr + 15, b.len - 15, &a, NULL), WXP_OK);
    assert_int_equal(a.ts, 1700000000123LL);
    assert_int_equal(a.mchid.len, strlen(T_MCHID_B));
    assert_memory_equal(a.mchid.ptr, T_MCHID_B, a.mchid.len);
    assert_int_equal(a.serial_no.len, strlen(T_SERIAL_B));
    assert_memory_equal(a.serial_no.ptr, T_SERIAL_B, a.serial_no.len);
    assert_false(a.spaces_after_comma);
    wxp_buf_free(&b);
}

static void test_authz_build_rejects_quote_in_any_value(void **state)
{
    (void)state;
    const char *v[4] = {T_MCHID_A, V_NONCE, T_SERIAL_A, "c2ln"};

    for (size_t i = 0; i < 5; i++) {
        const char *w[4] = {v[0], v[1], v[2], v[3]};
        struct wxp_buf b;
        struct wxp_err err;

        /* i < 4: that value carries a '"'; i == 4: that value is NULL. */
        if (i < 4) {
            w[i] = "ab\"c";
        } else {
            w[1] = NULL;
        }
        wxp_buf_init(&b, 4096);
        assert_int_equal(wxp_buf_addstr(&b, "keep"), WXP_OK);
        wxp_err_clear(&err);
        assert_int_equal(wxp_authz_build(&b, w[0], w[1], 1554208460, w[2], w[3], &err),
                         WXP_E_INVALID_ARG);
        assert_int_equal(err.code, WXP_E_INVALID_ARG);
        assert_string_equal(err.field, "Authorization");
        assert_string_equal(wxp_buf_cstr(&b), "keep");
        wxp_buf_free(&b);
    }
}

static void test_authz_build_rejects_full_buffer(void **state)
{
    (void)state;
    struct wxp_buf b;
    struct wxp_err err;

    wxp_buf_init(&b, 64);
    assert_int_equal(wxp_buf_addstr(&b, "keep"), WXP_OK);
    assert_int_equal(wxp_authz_build(&b, T_MCHID_A, V_NONCE, 1554208460, T_SERIAL_A, V_SIG, &err),
                     WXP_E_TOO_LARGE);
    assert_int_equal(err.code, WXP_E_TOO_LARGE);
    assert_string_equal(err.field, "Authorization");
    assert_string_equal(wxp_buf_cstr(&b), "keep");
    wxp_buf_free(&b);
}

/* ---- sign, parse, verify ---- */

struct rt {
    struct wxp_key *key_a;
    struct wxp_key *cert_a;
    struct wxp_key *cert_b;
    char *body; /* requests/terminate-valid.json */
    size_t body_len;
    struct wxp_buf hdr;
    struct wxp_authz a;
};

static int rt_setup(void **state)
{
    struct rt *t = wxp_malloc(sizeof *t);
    struct wxp_signer signer = {NULL, T_MCHID_A, T_SERIAL_A};
    struct wxp_err err;

    assert_non_null(t);
    memset(t, 0, sizeof *t);
    t->key_a = t_private("keys/test-merchant-a.key.pem");
    t->cert_a = t_cert("certs/test-merchant-a.cert.pem");
    t->cert_b = t_cert("certs/test-merchant-b.cert.pem");
    t->body = t_read("requests/terminate-valid.json", &t->body_len);
    signer.key = t->key_a;
    wxp_buf_init(&t->hdr, WXP_AUTHZ_MAX);
    if (wxp_authz_sign(&t->hdr, &signer, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET),
                       (struct wxp_str){t->body, t->body_len}, 1554208460, V_NONCE,
                       &err) != WXP_OK) {
        fail_msg("wxp_authz_sign: %s", err.msg);
    }
    if (wxp_authz_parse(t->hdr.ptr, t->hdr.len, &t->a, &err) != WXP_OK) {
        fail_msg("parse of a signed header: %s", err.msg);
    }
    *state = t;
    return 0;
}

static int rt_teardown(void **state)
{
    struct rt *t = *state;
    wxp_buf_free(&t->hdr);
    wxp_free(t->body);
    wxp_key_free(t->key_a);
    wxp_key_free(t->cert_a);
    wxp_key_free(t->cert_b);
    wxp_free(t);
    return 0;
}

static struct wxp_str body_of(const struct rt *t)
{
    return (struct wxp_str){t->body, t->body_len};
}

/* The signature the openssl CLI made over the same signing string (an outside oracle). */
static char *vector_signature(const char *name)
{
    size_t len = 0;
    char *text = t_read("vectors/rsa-sha256.json", &len);
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    const cJSON *item;
    char *sig = NULL;

    cJSON_ArrayForEach(item, cases)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(item, "name");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(item, "signature");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0 && cJSON_IsString(s)) {
            sig = wxp_strndup(s->valuestring, strlen(s->valuestring));
        }
    }
    cJSON_Delete(root);
    wxp_free(text);
    if (sig == NULL) {
        fail_msg("vector %s not found", name);
    }
    return sig;
}

static void test_authz_sign_header_fields(void **state)
{
    const struct rt *t = *state;
    char *want_sig = vector_signature("terminate-merchant-a");

    assert_true(wxp_str_eq(t->a.mchid, WXP_STR_LIT(T_MCHID_A)));
    assert_true(wxp_str_eq(t->a.nonce_str, WXP_STR_LIT(V_NONCE)));
    assert_true(wxp_str_eq(t->a.timestamp, WXP_STR_LIT(V_TS)));
    assert_true(wxp_str_eq(t->a.serial_no, WXP_STR_LIT(T_SERIAL_A)));
    assert_int_equal(t->a.ts, 1554208460);
    assert_false(t->a.spaces_after_comma);
    /* Same signing string as the terminate-merchant-a vector, and PKCS#1 v1.5 is deterministic. */
    assert_int_equal(t->a.signature.len, strlen(want_sig));
    assert_memory_equal(t->a.signature.ptr, want_sig, t->a.signature.len);
    assert_memory_equal(t->hdr.ptr,
                        SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL ",signature=\"",
                        strlen(SCHEME P_MCHID "," P_NONCE "," P_TS "," P_SERIAL ",signature=\""));
    wxp_free(want_sig);
}

static void test_authz_verify_round_trip_and_signing_string(void **state)
{
    const struct rt *t = *state;
    struct wxp_buf msg;
    struct wxp_buf want;
    struct wxp_err err;

    wxp_buf_init(&want, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_buf_addstr(&want, "POST\n" TARGET "\n" V_TS "\n" V_NONCE "\n"), WXP_OK);
    assert_int_equal(wxp_buf_add(&want, t->body, t->body_len), WXP_OK);
    assert_int_equal(wxp_buf_addstr(&want, "\n"), WXP_OK);

    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_authz_verify(t->cert_a, &t->a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET),
                                      body_of(t), &msg, &err),
                     WXP_OK);
    assert_int_equal(msg.len, want.len);
    assert_memory_equal(msg.ptr, want.ptr, want.len);
    /* Appended, not overwritten. */
    wxp_buf_reset(&msg);
    assert_int_equal(wxp_buf_addstr(&msg, ">"), WXP_OK);
    assert_int_equal(wxp_authz_verify(t->cert_a, &t->a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET),
                                      body_of(t), &msg, NULL),
                     WXP_OK);
    assert_int_equal(msg.len, want.len + 1);
    assert_memory_equal(msg.ptr + 1, want.ptr, want.len);
    /* msg_out may be NULL. */
    assert_int_equal(wxp_authz_verify(t->cert_a, &t->a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET),
                                      body_of(t), NULL, &err),
                     WXP_OK);
    wxp_buf_free(&msg);
    wxp_buf_free(&want);
}

static void expect_verify(const struct wxp_key *cert, const struct wxp_authz *a,
                          struct wxp_str method, struct wxp_str target, struct wxp_str body,
                          enum wxp_code want, const char *what)
{
    struct wxp_err err;
    enum wxp_code got;

    wxp_err_clear(&err);
    got = wxp_authz_verify(cert, a, method, target, body, NULL, &err);
    if (got != want || err.code != want || strcmp(err.field, "Authorization.signature") != 0) {
        fail_msg("%s: got %s field \"%s\", want %s", what, wxp_code_name(got), err.field,
                 wxp_code_name(want));
    }
}

static void test_authz_verify_rejects_other_merchant_cert(void **state)
{
    const struct rt *t = *state;
    expect_verify(t->cert_b, &t->a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                  WXP_E_SIG_MISMATCH, "merchant B cert");
}

static void test_authz_verify_rejects_tampered_request(void **state)
{
    const struct rt *t = *state;
    char *body = wxp_strndup(t->body, t->body_len);

    assert_non_null(body);
    expect_verify(t->cert_a, &t->a, WXP_STR_LIT("GET"), WXP_STR_LIT(TARGET), body_of(t),
                  WXP_E_SIG_MISMATCH, "method GET");
    expect_verify(t->cert_a, &t->a, WXP_STR_LIT("post"), WXP_STR_LIT(TARGET), body_of(t),
                  WXP_E_SIG_MISMATCH, "method post");
    expect_verify(t->cert_a, &t->a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET "?x=1"), body_of(t),
                  WXP_E_SIG_MISMATCH, "target with a query");
    expect_verify(t->cert_a, &t->a, WXP_STR_LIT("POST"),
                  WXP_STR_LIT("/v3/payscore/permissions/openid/oUpF8uMuAJO_M2pxb1Q9zNjWeS6O/"
                              "terminate"),
                  body_of(t), WXP_E_SIG_MISMATCH, "target with one letter's case changed");
    body[t->body_len / 2] ^= 0x20;
    expect_verify(t->cert_a, &t->a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET),
                  (struct wxp_str){body, t->body_len}, WXP_E_SIG_MISMATCH, "body byte flipped");
    expect_verify(t->cert_a, &t->a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET),
                  (struct wxp_str){t->body, t->body_len - 1}, WXP_E_SIG_MISMATCH,
                  "body one byte short");
    expect_verify(t->cert_a, &t->a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), WXP_STR_LIT(""),
                  WXP_E_SIG_MISMATCH, "empty body");
    wxp_free(body);
}

static void test_authz_verify_rejects_tampered_header_fields(void **state)
{
    const struct rt *t = *state;
    struct wxp_authz a = t->a;

    a.timestamp = WXP_STR_LIT("1554208461");
    expect_verify(t->cert_a, &a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                  WXP_E_SIG_MISMATCH, "timestamp + 1");
    a = t->a;
    a.nonce_str = WXP_STR_LIT("593BEC0C930BF1AFEB40B4A08C8FB243");
    expect_verify(t->cert_a, &a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                  WXP_E_SIG_MISMATCH, "nonce changed");
    a = t->a;
    a.nonce_str = WXP_STR_LIT("593bec0c930bf1afeb40b4a08c8fb242");
    expect_verify(t->cert_a, &a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                  WXP_E_SIG_MISMATCH, "nonce lowercased");
}

static void test_authz_verify_rejects_tampered_signature(void **state)
{
    const struct rt *t = *state;
    size_t n = t->a.signature.len;
    char *sig = wxp_strndup(t->a.signature.ptr, n);
    struct wxp_authz a = t->a;

    assert_non_null(sig);
    a.signature = (struct wxp_str){sig, n};
    /* One alphabet character changed: still base64, no longer the signature. */
    sig[n / 2] = sig[n / 2] == 'A' ? 'B' : 'A';
    expect_verify(t->cert_a, &a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                  WXP_E_SIG_MISMATCH, "one signature character changed");
    memcpy(sig, t->a.signature.ptr, n);
    sig[7] = '!';
    expect_verify(t->cert_a, &a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                  WXP_E_SIG_BASE64, "'!' in the signature");
    memcpy(sig, t->a.signature.ptr, n);
    sig[7] = ' ';
    expect_verify(t->cert_a, &a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                  WXP_E_SIG_BASE64, "space in the signature");
    memcpy(sig, t->a.signature.ptr, n);
    a.signature = (struct wxp_str){sig, n - 2};
    expect_verify(t->cert_a, &a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                  WXP_E_SIG_BASE64, "signature without its padding");
    a.signature = WXP_STR_LIT("WECHATPAY/SIGNTEST/abcdef");
    expect_verify(t->cert_a, &a, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                  WXP_E_SIG_BASE64, "probe signature");
    wxp_free(sig);
}

static void test_authz_verify_keeps_signing_string_on_mismatch(void **state)
{
    const struct rt *t = *state;
    static const char want[] = "PUT\n/v3/x\n" V_TS "\n" V_NONCE "\n{}\n";
    struct wxp_buf msg;

    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_authz_verify(t->cert_a, &t->a, WXP_STR_LIT("PUT"), WXP_STR_LIT("/v3/x"),
                                      WXP_STR_LIT("{}"), &msg, NULL),
                     WXP_E_SIG_MISMATCH);
    assert_int_equal(msg.len, sizeof want - 1);
    assert_memory_equal(msg.ptr, want, sizeof want - 1);
    wxp_buf_free(&msg);
}

static void test_authz_verify_rejects_newline_in_target(void **state)
{
    const struct rt *t = *state;
    struct wxp_err err;
    assert_int_equal(wxp_authz_verify(t->cert_a, &t->a, WXP_STR_LIT("POST"),
                                      WXP_STR_LIT(TARGET "\n"), body_of(t), NULL, &err),
                     WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "url");
}

static void test_authz_sign_rejects_bad_input(void **state)
{
    const struct rt *t = *state;
    struct wxp_signer s = {t->key_a, T_MCHID_A, T_SERIAL_A};
    struct wxp_buf b;
    struct wxp_err err;

    wxp_buf_init(&b, WXP_AUTHZ_MAX);
    assert_int_equal(wxp_buf_addstr(&b, "keep"), WXP_OK);
    assert_int_equal(wxp_authz_sign(&b, &s, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                                    1554208460, "a\nb", &err),
                     WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "nonce");
    assert_int_equal(wxp_authz_sign(&b, &s, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                                    1554208460, "a\"b", &err),
                     WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "Authorization");
    s.key = t->cert_a;
    assert_int_equal(wxp_authz_sign(&b, &s, WXP_STR_LIT("POST"), WXP_STR_LIT(TARGET), body_of(t),
                                    1554208460, V_NONCE, &err),
                     WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "key");
    assert_string_equal(wxp_buf_cstr(&b), "keep");
    wxp_buf_free(&b);
}

static void test_authz_sign_get_with_empty_body_verifies(void **state)
{
    const struct rt *t = *state;
    const struct wxp_signer s = {t->key_a, T_MCHID_A, T_SERIAL_A};
    struct wxp_buf b;
    struct wxp_buf msg;
    struct wxp_authz a;
    char *want_sig = vector_signature("get-certificates-with-query");

    wxp_buf_init(&b, WXP_AUTHZ_MAX);
    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    assert_int_equal(wxp_authz_sign(&b, &s, WXP_STR_LIT("GET"),
                                    WXP_STR_LIT("/v3/certificates?a=1&b=%41"), WXP_STR_LIT(""),
                                    1554208460, "NONCE", NULL),
                     WXP_OK);
    assert_int_equal(wxp_authz_parse(b.ptr, b.len, &a, NULL), WXP_OK);
    assert_int_equal(wxp_authz_verify(t->cert_a, &a, WXP_STR_LIT("GET"),
                                      WXP_STR_LIT("/v3/certificates?a=1&b=%41"), WXP_STR_LIT(""),
                                      &msg, NULL),
                     WXP_OK);
    assert_string_equal(wxp_buf_cstr(&msg), "GET\n/v3/certificates?a=1&b=%41\n" V_TS "\nNONCE\n\n");
    assert_int_equal(a.signature.len, strlen(want_sig));
    assert_memory_equal(a.signature.ptr, want_sig, a.signature.len);
    wxp_free(want_sig);
    wxp_buf_free(&msg);
    wxp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest parse_tests[] = {
        cmocka_unit_test(test_authz_rejects_malformed_headers),
        cmocka_unit_test(test_authz_rejects_null_header),
        cmocka_unit_test(test_authz_rejects_header_over_max),
        cmocka_unit_test(test_authz_parses_every_sdk_order_and_spacing),
        cmocka_unit_test(test_authz_slices_point_at_the_exact_offsets),
        cmocka_unit_test(test_authz_never_reads_past_len),
        cmocka_unit_test(test_authz_build_exact_string),
        cmocka_unit_test(test_authz_build_appends_and_parses_back),
        cmocka_unit_test(test_authz_build_rejects_quote_in_any_value),
        cmocka_unit_test(test_authz_build_rejects_full_buffer),
    };
    const struct CMUnitTest sign_tests[] = {
        cmocka_unit_test(test_authz_sign_header_fields),
        cmocka_unit_test(test_authz_verify_round_trip_and_signing_string),
        cmocka_unit_test(test_authz_verify_rejects_other_merchant_cert),
        cmocka_unit_test(test_authz_verify_rejects_tampered_request),
        cmocka_unit_test(test_authz_verify_rejects_tampered_header_fields),
        cmocka_unit_test(test_authz_verify_rejects_tampered_signature),
        cmocka_unit_test(test_authz_verify_keeps_signing_string_on_mismatch),
        cmocka_unit_test(test_authz_verify_rejects_newline_in_target),
        cmocka_unit_test(test_authz_sign_rejects_bad_input),
        cmocka_unit_test(test_authz_sign_get_with_empty_body_verifies),
    };
    int failed = cmocka_run_group_tests_name("authz parse/build", parse_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("authz sign/verify", sign_tests, rt_setup, rt_teardown);
    return failed;
}
