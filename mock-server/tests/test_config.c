/* SPDX-License-Identifier: MIT */
/* test_config.c: the merchants' APIv3 keys in the mock's config: the embedded defaults carry the
 * TEST keys of fixtures/; a config file gives one inline ("apiv3_key") or as a file
 * ("apiv3_key_file"); a wrong length is refused with an error that never shows the key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embed.h"
#include "mock.h"
#include "testutil.h"
#include "wxp/mem.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* Distinctive text: no error message or field may contain any part of it. */
#define SECRET31 "SeCrEtNeverShownInAnyMessage-31"
#define SECRET32 "SeCrEtNeverShownInAnyMessage-32b"

static void assert_key(const struct mock_merchant *m, const char *want)
{
    assert_true(m->has_apiv3_key);
    assert_int_equal(strlen(want), WXP_AEAD_KEY_LEN);
    assert_memory_equal(m->apiv3_key, want, WXP_AEAD_KEY_LEN);
}

/* wxpay-mock with no config knows both test merchants' keys, as fixtures/ has them. */
static void test_config_defaults_carry_the_test_keys(void **unused)
{
    struct mock_config cfg;
    struct wxp_err err;
    size_t len = 0;
    char *a = t_read("keys/test-merchant-a.apiv3.key", &len);
    char *b = t_read("keys/test-merchant-b.apiv3.key", &len);
    (void)unused;

    assert_int_equal(mock_config_defaults(&cfg, &err), WXP_OK);
    /* The default signer's id is the embedded certificate's serial, which start-up takes from
     * embed.h instead of parsing the certificate twice. */
    {
        struct wxp_key *pc = NULL;
        assert_int_equal(
            wxp_key_cert_pem(mock_embed_platform_cert, strlen(mock_embed_platform_cert), &pc, &err),
            WXP_OK);
        assert_string_equal(cfg.signers[0].id, wxp_key_id(pc));
        assert_string_equal(MOCK_EMBED_PLATFORM_SERIAL, wxp_key_id(pc));
        wxp_key_free(pc);
    }
    assert_string_equal(cfg.merchants[0].mchid, T_MCHID_A);
    assert_key(&cfg.merchants[0], a);
    assert_string_equal(cfg.merchants[1].mchid, T_MCHID_B);
    assert_key(&cfg.merchants[1], b);
    mock_config_free(&cfg);
    wxp_free(a);
    wxp_free(b);
}

/* Writes `bytes` to a new temporary file; returns its path (static buffer). */
static const char *temp_file(const char *bytes)
{
    static char path[] = "/tmp/wxp-test-apiv3-XXXXXX";
    int fd;

    memcpy(path + sizeof path - 7, "XXXXXX", 6);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
    close(fd);
    return path;
}

/* Loads one merchant (merchant A's certificate) with the given extra members. */
static enum wxp_code load(struct mock_config *cfg, const char *members, struct wxp_err *err)
{
    char doc[2048];
    int n = snprintf(doc, sizeof doc, "{\"merchants\":[{\"mchid\":\"%s\",\"cert\":\"%s\"%s%s}]}",
                     T_MCHID_A, t_fixture("certs/test-merchant-a.cert.pem"), members[0] ? "," : "",
                     members);

    assert_true(n > 0 && (size_t)n < sizeof doc);
    memset(cfg, 0, sizeof *cfg);
    wxp_err_clear(err);
    return mock_config_load_text(cfg, doc, strlen(doc), "t.json", err);
}

static void test_config_loads_inline_and_file_keys(void **unused)
{
    struct mock_config cfg;
    struct wxp_err err;
    char member[512];
    const char *path;
    size_t len = 0;
    char *b = t_read("keys/test-merchant-b.apiv3.key", &len);
    (void)unused;

    if (load(&cfg, "\"apiv3_key\":\"" SECRET32 "\"", &err) != WXP_OK) {
        fail_msg("%s: %s", wxp_code_name(err.code), err.msg);
    }
    assert_key(&cfg.merchants[0], SECRET32);
    mock_config_free(&cfg);

    /* The fixture file: the 32 bytes, no newline. */
    snprintf(member, sizeof member, "\"apiv3_key_file\":\"%s\"",
             t_fixture("keys/test-merchant-b.apiv3.key"));
    assert_int_equal(load(&cfg, member, &err), WXP_OK);
    assert_key(&cfg.merchants[0], b);
    mock_config_free(&cfg);

    /* What `echo KEY > file` writes: one trailing newline (or CRLF) is not part of the key. */
    for (int crlf = 0; crlf < 2; crlf++) {
        path = temp_file(crlf ? SECRET32 "\r\n" : SECRET32 "\n");
        snprintf(member, sizeof member, "\"apiv3_key_file\":\"%s\"", path);
        assert_int_equal(load(&cfg, member, &err), WXP_OK);
        assert_key(&cfg.merchants[0], SECRET32);
        mock_config_free(&cfg);
        unlink(path);
    }

    /* A merchant given without a key has none. */
    assert_int_equal(load(&cfg, "", &err), WXP_OK);
    assert_false(cfg.merchants[0].has_apiv3_key);
    mock_config_free(&cfg);
    wxp_free(b);
}

/* Appends `pem` to `out` as the inside of a JSON string (newlines escaped). */
static void json_text(char *out, size_t cap, const char *pem)
{
    size_t n = strlen(out);

    for (; *pem != '\0' && n + 3 < cap; pem++) {
        if (*pem == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = *pem;
        }
    }
    assert_true(*pem == '\0');
    out[n] = '\0';
}

/* Validity as fixtures/README.md gives it (RFC 3339 +08:00, here as Unix seconds). */
#define NEXT_FROM 1796054400LL    /* 2026-12-01T00:00:00+08:00 */
#define NEXT_TO 4951728000LL      /* 2126-12-01T00:00:00+08:00 */
#define EXPIRED_FROM 1575129600LL /* 2019-12-01T00:00:00+08:00 */
#define EXPIRED_TO 1732982400LL   /* 2024-12-01T00:00:00+08:00 */

/* platform.certificates: further certificate signers after platform's own, in order, with their
 * PEM text and validity; the defaults' one signer carries the fixture certificate; rotation moves
 * the current signer to the next one valid at the time given, and never wraps. */
static void test_config_platform_certificates_and_rotation(void **unused)
{
    struct mock_config cfg;
    struct mock_server srv;
    struct wxp_err err;
    size_t len = 0;
    char *cur = t_read("certs/test-platform.cert.pem", &len);
    char *next = t_read("certs/test-platform-next.cert.pem", &len);
    char *expired = t_read("certs/test-platform-expired.cert.pem", &len);
    static char doc[16384];
    char k0[512], c0[512], k1[512], c1[512], k2[512];
    (void)unused;

    assert_int_equal(mock_config_defaults(&cfg, &err), WXP_OK);
    assert_int_equal(cfg.nsigners, 2);
    assert_string_equal(cfg.signers[0].id, T_SERIAL_PLATFORM);
    assert_string_equal(cfg.signers[0].cert_pem, cur);
    assert_null(cfg.signers[1].cert_pem); /* the PUB_KEY_ID signer */
    mock_config_free(&cfg);

    /* t_fixture's answer is overwritten by its next call: one copy per path. */
    snprintf(k0, sizeof k0, "%s", t_fixture("keys/test-platform.key.pem"));
    snprintf(c0, sizeof c0, "%s", t_fixture("certs/test-platform.cert.pem"));
    snprintf(k1, sizeof k1, "%s", t_fixture("keys/test-platform-next.key.pem"));
    snprintf(c1, sizeof c1, "%s", t_fixture("certs/test-platform-next.cert.pem"));
    snprintf(k2, sizeof k2, "%s", t_fixture("keys/test-platform-expired.key.pem"));
    snprintf(
        doc, sizeof doc,
        "{\"platform\":{\"key\":\"%s\",\"cert\":\"%s\",\"public_key_id\":\"" T_PUBKEY_ID
        "\",\"certificates\":[{\"key\":\"%s\",\"cert\":\"%s\"},{\"key\":\"%s\",\"cert_pem\":\"",
        k0, c0, k1, c1, k2);
    json_text(doc, sizeof doc, expired);
    assert_true(strlen(doc) + 8 < sizeof doc);
    memcpy(doc + strlen(doc), "\"}]}}", 6);
    assert_int_equal(mock_config_defaults(&cfg, &err), WXP_OK);
    if (mock_config_load_text(&cfg, doc, strlen(doc), "t.json", &err) != WXP_OK) {
        fail_msg("%s: %s", wxp_code_name(err.code), err.msg);
    }
    assert_int_equal(cfg.nsigners, 4);
    assert_string_equal(cfg.signers[0].id, T_SERIAL_PLATFORM);
    assert_string_equal(cfg.signers[1].id, T_PUBKEY_ID);
    assert_null(cfg.signers[1].cert_pem);
    assert_string_equal(cfg.signers[2].id, "6E5D4C3B2A19080F1E2D3C4B5A69788796A5B4C3");
    assert_string_equal(cfg.signers[2].cert_pem, next);
    assert_int_equal(cfg.signers[2].not_before, NEXT_FROM);
    assert_int_equal(cfg.signers[2].not_after, NEXT_TO);
    assert_string_equal(cfg.signers[3].id, "4F3E2D1C0B1A29384756A5B4C3D2E1F0A9B8C7D6");
    assert_string_equal(cfg.signers[3].cert_pem, expired);
    assert_int_equal(cfg.signers[3].not_before, EXPIRED_FROM);
    assert_int_equal(cfg.signers[3].not_after, EXPIRED_TO);
    /* Validity: notBefore included, notAfter excluded; a PUB_KEY_ID signer is no certificate. */
    assert_false(mock_platform_cert_valid(&cfg.signers[2], NEXT_FROM - 1));
    assert_true(mock_platform_cert_valid(&cfg.signers[2], NEXT_FROM));
    assert_false(mock_platform_cert_valid(&cfg.signers[3], EXPIRED_TO));
    assert_true(mock_platform_cert_valid(&cfg.signers[3], EXPIRED_TO - 1));
    assert_false(mock_platform_cert_valid(&cfg.signers[1], NEXT_FROM));

    assert_int_equal(mock_server_init(&srv, &cfg, 16, false, &err), WXP_OK);
    assert_ptr_equal(mock_platform_current(&srv), &srv.cfg.signers[0]);
    /* Before the next certificate is valid there is nothing to rotate to. */
    assert_null(mock_platform_rotate(&srv, NEXT_FROM - 1));
    assert_ptr_equal(mock_platform_current(&srv), &srv.cfg.signers[0]);
    /* Then the next one, skipping the PUB_KEY_ID signer; the expired one never; no wrap. */
    assert_ptr_equal(mock_platform_rotate(&srv, NEXT_FROM), &srv.cfg.signers[2]);
    assert_ptr_equal(mock_platform_current(&srv), &srv.cfg.signers[2]);
    assert_null(mock_platform_rotate(&srv, NEXT_FROM));
    assert_ptr_equal(mock_platform_current(&srv), &srv.cfg.signers[2]);
    mock_platform_reset(&srv);
    assert_ptr_equal(mock_platform_current(&srv), &srv.cfg.signers[0]);
    /* In 2020 the "expired" certificate was valid: it is the next after the current one then. */
    assert_ptr_equal(mock_platform_rotate(&srv, EXPIRED_FROM), &srv.cfg.signers[3]);
    mock_server_free(&srv);
    wxp_free(cur);
    wxp_free(next);
    wxp_free(expired);
}

/* Refusals: exact code and field; the message names the field and the length, never the key. */
static void test_config_refuses_bad_keys_without_showing_them(void **unused)
{
    static const struct {
        int line;
        const char *members; /* NULL: "apiv3_key_file" names a temporary file holding `file` */
        const char *file;
        enum wxp_code code;
        const char *field;
    } ROWS[] = {
        {__LINE__, "\"apiv3_key\":\"" SECRET31 "\"", NULL, WXP_E_INVALID_ARG,
         "merchants[0].apiv3_key"},
        {__LINE__, "\"apiv3_key\":\"" SECRET32 "x\"", NULL, WXP_E_INVALID_ARG,
         "merchants[0].apiv3_key"},
        /* 32 characters, 96 bytes: the length is in bytes. */
        {__LINE__,
         "\"apiv3_key\":\"密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥"
         "密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥\"",
         NULL, WXP_E_INVALID_ARG, "merchants[0].apiv3_key"},
        {__LINE__, "\"apiv3_key\":\"\"", NULL, WXP_E_INVALID_ARG, "merchants[0].apiv3_key"},
        {__LINE__, "\"apiv3_key\":32", NULL, WXP_E_INVALID_ARG, "merchants[0].apiv3_key"},
        {__LINE__, "\"apiv3_key\":\"" SECRET32 "\",\"apiv3_key_file\":\"k\"", NULL,
         WXP_E_INVALID_ARG, "merchants[0]"},
        {__LINE__, NULL, SECRET31, WXP_E_INVALID_ARG, "merchants[0].apiv3_key_file"},
        {__LINE__, NULL, SECRET32 "\n\n", WXP_E_INVALID_ARG, "merchants[0].apiv3_key_file"},
        {__LINE__, NULL, SECRET32 SECRET32 SECRET32 SECRET32 SECRET32 SECRET32, WXP_E_TOO_LARGE,
         NULL},
        {__LINE__, "\"apiv3_key_file\":\"/nonexistent/wxp/apiv3.key\"", NULL, WXP_E_IO,
         "merchants[0].apiv3_key_file"},
    };
    (void)unused;

    for (size_t i = 0; i < NELEM(ROWS); i++) {
        struct mock_config cfg;
        struct wxp_err err;
        char members[512];
        const char *path = ROWS[i].file ? temp_file(ROWS[i].file) : NULL;
        enum wxp_code rc;

        if (path != NULL) {
            snprintf(members, sizeof members, "\"apiv3_key_file\":\"%s\"", path);
        } else {
            snprintf(members, sizeof members, "%s", ROWS[i].members);
        }
        rc = load(&cfg, members, &err);
        if (rc != ROWS[i].code || (ROWS[i].field && strcmp(err.field, ROWS[i].field) != 0)) {
            fail_msg("row at line %d: %s field \"%s\" (%s)", ROWS[i].line, wxp_code_name(rc),
                     err.field, err.msg);
        }
        /* No part of the key, not even its first characters. */
        if (strstr(err.msg, "SeCrEt") != NULL || strstr(err.field, "SeCrEt") != NULL ||
            strstr(err.msg, "密钥") != NULL) {
            fail_msg("row at line %d: the error shows the key: %s", ROWS[i].line, err.msg);
        }
        if (strstr(err.msg, "t.json") == NULL) {
            fail_msg("row at line %d: the message does not name the config: %s", ROWS[i].line,
                     err.msg);
        }
        mock_config_free(&cfg);
        if (path != NULL) {
            unlink(path);
        }
    }
}

/* "notify": the three schedules, the limits, and each refusal with its field. */
static void test_config_notify(void **unused)
{
    static const struct {
        int line;
        const char *json;
        const char *field; /* NULL: accepted */
    } ROWS[] = {
        {__LINE__, "{\"notify\":{\"schedule\":\"payment\"}}", NULL},
        {__LINE__, "{\"notify\":{\"schedule\":[0,2.5,60],\"timeout_ms\":100}}", NULL},
        {__LINE__, "{\"notify\":{\"schedule\":\"weekly\"}}", "notify.schedule"},
        {__LINE__, "{\"notify\":{\"schedule\":[]}}", "notify.schedule"},
        {__LINE__, "{\"notify\":{\"schedule\":[-1]}}", "notify.schedule"},
        {__LINE__, "{\"notify\":{\"schedule\":[259201]}}", "notify.schedule"},
        {__LINE__, "{\"notify\":{\"timeout_ms\":5001}}", "notify.timeout_ms"},
        {__LINE__, "{\"notify\":{\"queue_max\":0}}", "notify.queue_max"},
        {__LINE__, "{\"notify\":{\"queue_bytes\":1}}", "notify.queue_bytes"},
        {__LINE__, "{\"notify\":{\"terminate_sends_close\":1}}", "notify.terminate_sends_close"},
        {__LINE__, "{\"notify\":{\"retries\":3}}", "notify.retries"},
        {__LINE__, "{\"notify\":[]}", "notify"},
    };
    (void)unused;

    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        struct mock_config cfg;
        struct wxp_err err;
        enum wxp_code rc;

        assert_int_equal(mock_config_defaults(&cfg, &err), WXP_OK);
        /* The defaults: the Pay Score schedule, 5 s, off. */
        assert_int_equal(cfg.notify.nschedule, 10);
        assert_true(cfg.notify.repeat_s == 3600 && cfg.notify.give_up_s == 3 * 86400);
        assert_int_equal(cfg.notify.timeout_ms, 5000);
        assert_false(cfg.notify.terminate_sends_close);
        wxp_err_clear(&err);
        rc = mock_config_load_text(&cfg, ROWS[i].json, strlen(ROWS[i].json), "t.json", &err);
        if (ROWS[i].field == NULL ? rc != WXP_OK
                                  : rc != WXP_E_INVALID_ARG || strcmp(err.field, ROWS[i].field)) {
            fail_msg("row at line %d: %s field \"%s\" (%s)", ROWS[i].line, wxp_code_name(rc),
                     err.field, err.msg);
        }
        if (i == 0) {
            assert_int_equal(cfg.notify.nschedule, 16);
            assert_true(cfg.notify.repeat_s == 0 && cfg.notify.give_up_s == 0);
        }
        if (i == 1) {
            assert_int_equal(cfg.notify.nschedule, 3);
            assert_true(cfg.notify.schedule[1] == 2.5);
            assert_int_equal(cfg.notify.timeout_ms, 100);
        }
        mock_config_free(&cfg);
    }
}

/* A merchant's notify_url: kept; empty or longer than 255 bytes refused. */
static void test_config_merchant_notify_url(void **unused)
{
    char members[400];
    struct mock_config cfg;
    struct wxp_err err;
    (void)unused;

    assert_int_equal(load(&cfg, "\"notify_url\":\"http://127.0.0.1:9/n\"", &err), WXP_OK);
    assert_string_equal(cfg.merchants[0].notify_url, "http://127.0.0.1:9/n");
    mock_config_free(&cfg);
    assert_int_equal(load(&cfg, "", &err), WXP_OK);
    assert_string_equal(cfg.merchants[0].notify_url, "");
    mock_config_free(&cfg);
    assert_int_equal(load(&cfg, "\"notify_url\":\"\"", &err), WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "merchants[0].notify_url");
    mock_config_free(&cfg);
    snprintf(members, sizeof members, "\"notify_url\":\"http://%0256d\"", 0);
    assert_int_equal(load(&cfg, members, &err), WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "merchants[0].notify_url");
    mock_config_free(&cfg);
}

/* unknown_openid: the three policies by name (always_authorized is the load-test one); any other
 * word is refused naming the field and the three. */
static void test_config_unknown_openid_policies(void **unused)
{
    static const struct {
        const char *text;
        enum wxp_code code;
        enum mock_unknown_policy policy;
    } ROWS[] = {
        {"{\"unknown_openid\":\"authorized\"}", WXP_OK, MOCK_UNKNOWN_AUTHORIZED},
        {"{\"unknown_openid\":\"not_found\"}", WXP_OK, MOCK_UNKNOWN_NOT_FOUND},
        {"{\"unknown_openid\":\"always_authorized\"}", WXP_OK, MOCK_UNKNOWN_ALWAYS_AUTHORIZED},
        {"{\"unknown_openid\":\"always\"}", WXP_E_INVALID_ARG, MOCK_UNKNOWN_AUTHORIZED},
        {"{\"unknown_openid\":\"Always_Authorized\"}", WXP_E_INVALID_ARG, MOCK_UNKNOWN_AUTHORIZED},
    };
    (void)unused;

    for (size_t i = 0; i < NELEM(ROWS); i++) {
        struct mock_config cfg;
        struct wxp_err err;
        assert_int_equal(mock_config_defaults(&cfg, &err), WXP_OK);
        wxp_err_clear(&err);
        assert_int_equal(
            mock_config_load_text(&cfg, ROWS[i].text, strlen(ROWS[i].text), "t.json", &err),
            ROWS[i].code);
        if (ROWS[i].code == WXP_OK) {
            assert_int_equal(cfg.unknown_policy, ROWS[i].policy);
            assert_true(cfg.replay_check); /* the policy leaves the replay check alone */
        } else {
            assert_string_equal(err.field, "unknown_openid");
            assert_non_null(strstr(err.msg, "\"always_authorized\""));
        }
        mock_config_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_carry_the_test_keys),
        cmocka_unit_test(test_config_loads_inline_and_file_keys),
        cmocka_unit_test(test_config_refuses_bad_keys_without_showing_them),
        cmocka_unit_test(test_config_platform_certificates_and_rotation),
        cmocka_unit_test(test_config_notify),
        cmocka_unit_test(test_config_merchant_notify_url),
        cmocka_unit_test(test_config_unknown_openid_policies),
    };
    return cmocka_run_group_tests_name("mock.config", tests, NULL, NULL);
}
