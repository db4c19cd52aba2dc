/* SPDX-License-Identifier: MIT */
/* test_notify.c: wxpay_notify_parse with a client's own keys: notifications built and signed by
 * the core (and the independent fixture) are accepted; each way one can be wrong gives its
 * result kind and verify_failure; no network is used (auto_certificates is tested in
 * test_certs.c, against its stub platform). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "wxp/buf.h"
#include "wxp/mem.h"
#include "wxp/notify.h"
#include "wxp/verify.h"
#include "wxpay/wxpay.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define KEY_A "TestOnlyApiV3KeyA1900000109zYxWv"
#define KEY_B "TestOnlyApiV3KeyB1900000110qRsTu"
#define RESOURCE                                                                                   \
    "{\"openid\":\"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\",\"service_id\":"                                 \
    "\"2002000000000558128851361561536\",\"mchid\":\"1900000109\",\"appid\":"                      \
    "\"wxd678efh567hg6787\",\"user_service_status\":\"USER_OPEN_SERVICE\","                        \
    "\"openorclose_time\":\"20261204200000\"}"

/* A client of merchant A that verifies with the platform certificate (or, pubkey != 0, the
 * platform public key) and decrypts with `apiv3` (NULL: none). */
static struct wxpay_client *client(const char *apiv3, int pubkey, long skew)
{
    static char key[1024];
    static char cert[1024];
    static char pub[1024];
    static const char *certs[] = {cert, NULL};
    static const char *pubs[] = {pub, NULL};
    static const char *ids[] = {T_PUBKEY_ID, NULL};
    static const char *none[] = {NULL};
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;

    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    snprintf(cert, sizeof cert, "%s", t_fixture("certs/test-platform.cert.pem"));
    snprintf(pub, sizeof pub, "%s", t_fixture("keys/test-platform.pub.pem"));
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://127.0.0.1:9";
    cfg.mchid = T_MCHID_A;
    cfg.mch_serial = T_SERIAL_A;
    cfg.mch_key_file = key;
    cfg.platform_cert_files = pubkey ? none : certs;
    cfg.platform_pubkey_files = pubkey ? pubs : none;
    cfg.platform_pubkey_ids = pubkey ? ids : none;
    cfg.apiv3_key = apiv3;
    cfg.skew = skew;
    if (wxpay_client_new(&cfg, &c, &r) != WXPAY_OK) {
        fail_msg("client: %s", r.error);
    }
    wxpay_result_free(&r);
    return c;
}

/* A notification on the wire, made by the core. */
struct note {
    struct wxp_buf body;
    struct wxp_notify_headers h;
    struct wxpay_notify_input in;
    char probe[1100];
};

static void note_make(struct note *n, const char *resource_type, const char *algorithm,
                      const char *apiv3, const char *plaintext, const char *signer_key,
                      const char *serial, long long ts)
{
    struct wxp_notify_spec s;
    struct wxp_key *k = t_private(signer_key);
    struct wxp_err err;

    memset(n, 0, sizeof *n);
    memset(&s, 0, sizeof s);
    s.event_type = "PAYSCORE.USER_OPEN_SERVICE";
    s.summary = "授权成功";
    s.resource_type = resource_type;
    s.algorithm = algorithm;
    s.plaintext = wxp_str_c(plaintext);
    wxp_buf_init(&n->body, WXP_NOTIFY_BODY_MAX + 16);
    if (wxp_notify_build(&s, wxp_str_c(apiv3), &n->body, &err) != WXP_OK ||
        wxp_notify_sign(k, serial, ts, NULL, (struct wxp_str){n->body.ptr, n->body.len}, &n->h,
                        &err) != WXP_OK) {
        fail_msg("make: %s", err.msg);
    }
    wxp_key_free(k);
    n->in.timestamp = n->h.timestamp;
    n->in.nonce = n->h.nonce;
    n->in.signature = n->h.signature;
    n->in.serial = n->h.serial;
    n->in.signature_type = n->h.signature_type;
    n->in.request_id = "08F78BB5AF0610D302A2A1B4F50A9E2A";
    n->in.body = n->body.ptr;
    n->in.body_len = n->body.len;
}

static void note_default(struct note *n)
{
    note_make(n, NULL, NULL, KEY_A, RESOURCE, "keys/test-platform.key.pem", T_SERIAL_PLATFORM,
              (long long)time(NULL));
}

static void test_notify_client_accepts_a_valid_notification(void **state)
{
    struct wxpay_client *c = client(KEY_A, 0, 0);
    struct wxpay_notification out;
    struct wxpay_result r;
    struct note n;
    (void)state;

    note_default(&n);
    if (wxpay_notify_parse(c, &n.in, &out, &r) != WXPAY_OK) {
        fail_msg("parse: %s", r.error);
    }
    assert_int_equal(r.kind, WXPAY_OK);
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    assert_string_equal(r.request_id, "08F78BB5AF0610D302A2A1B4F50A9E2A");
    assert_string_equal(out.event_type, "PAYSCORE.USER_OPEN_SERVICE");
    assert_string_equal(out.summary, "授权成功");
    assert_string_equal(out.resource_type, "encrypt-resource");
    assert_string_equal(out.original_type, "payscore");
    assert_string_equal(out.algorithm, "AEAD_AES_256_GCM");
    assert_string_equal(out.associated_data, "");
    assert_int_equal(strlen(out.id), 36);
    assert_int_equal(out.resource_len, strlen(RESOURCE));
    assert_string_equal(out.resource, RESOURCE);
    wxpay_notification_free(&out);
    wxpay_notification_free(&out);
    wxpay_notification_free(NULL);
    wxpay_result_free(&r);
    /* Without Wechatpay-Signature-Type and Request-ID it is still valid. */
    n.in.signature_type = NULL;
    n.in.request_id = NULL;
    assert_int_equal(wxpay_notify_parse(c, &n.in, &out, &r), WXPAY_OK);
    wxpay_notification_free(&out);
    wxpay_result_free(&r);
    wxp_buf_free(&n.body);
    wxpay_client_free(c);

    /* Public-key mode: the same notification signed under the PUB_KEY_ID_... */
    c = client(KEY_A, 1, 0);
    note_make(&n, NULL, NULL, KEY_A, RESOURCE, "keys/test-platform.key.pem", T_PUBKEY_ID,
              (long long)time(NULL));
    if (wxpay_notify_parse(c, &n.in, &out, &r) != WXPAY_OK) {
        fail_msg("public key: %s", r.error);
    }
    wxpay_notification_free(&out);
    wxpay_result_free(&r);
    wxp_buf_free(&n.body);
    wxpay_client_free(c);
}

/* The fixture made by python3-cryptography and openssl dgst, with the client's own clock window
 * stretched to reach its generation time. */
static void test_notify_client_reads_the_fixture(void **state)
{
    size_t hlen = 0;
    size_t blen = 0;
    char *headers = t_read("notifications/user-open-service.headers", &hlen);
    char *body = t_read("notifications/user-open-service.body.json", &blen);
    const char *names[] = {
        "Wechatpay-Timestamp:", "Wechatpay-Nonce:", "Wechatpay-Signature:", "Wechatpay-Serial:"};
    char values[4][1024];
    struct wxpay_notify_input in;
    struct wxpay_notification out;
    struct wxpay_result r;
    struct wxpay_client *c;
    long long ts;
    long age;
    (void)state;

    for (size_t i = 0; i < NELEM(names); i++) {
        const char *p = strstr(headers, names[i]);
        size_t len;
        assert_non_null(p);
        p += strlen(names[i]) + 1;
        len = strcspn(p, "\r\n");
        assert_true(len < sizeof values[i]);
        memcpy(values[i], p, len);
        values[i][len] = '\0';
    }
    memset(&in, 0, sizeof in);
    in.timestamp = values[0];
    in.nonce = values[1];
    in.signature = values[2];
    in.serial = values[3];
    in.body = body;
    in.body_len = blen;
    ts = strtoll(values[0], NULL, 10);
    age = (long)((long long)time(NULL) - ts);
    c = client(KEY_A, 0, (age < 0 ? -age : age) + 600);
    if (wxpay_notify_parse(c, &in, &out, &r) != WXPAY_OK) {
        fail_msg("fixture: %s", r.error);
    }
    assert_non_null(strstr(out.resource, "\"out_request_no\":\"1234323JKHDFE1243252\""));
    wxpay_notification_free(&out);
    wxpay_result_free(&r);
    wxpay_client_free(c);
    /* The default window: stale (unless the fixture is younger than five minutes). */
    if (age > WXP_SKEW_DEFAULT) {
        c = client(KEY_A, 0, 0);
        assert_int_equal(wxpay_notify_parse(c, &in, &out, &r), WXPAY_ERR_VERIFY);
        assert_int_equal(r.verify_failure, WXPAY_VF_STALE);
        assert_null(out.resource);
        wxpay_result_free(&r);
        wxpay_client_free(c);
    }
    wxp_free(headers);
    wxp_free(body);
}

enum spoil {
    NONE,
    FORGED,
    PROBE,
    STALE,
    FUTURE,
    TS_TEXT,
    UNKNOWN_SERIAL,
    SM2,
    NO_SIGNATURE,
    NO_NONCE,
    WRONG_APIV3,
    RESOURCE_TYPE,
    ALGORITHM,
    PLAINTEXT,
    NOT_JSON,
    TOO_LARGE,
};

struct row {
    int line;
    enum spoil how;
    enum wxpay_result_kind kind;
    enum wxpay_verify_failure vf;
    enum wxpay_signature sig;
    const char *error; /* a substring of res->error */
};

static const struct row ROWS[] = {
    {__LINE__, FORGED, WXPAY_ERR_VERIFY, WXPAY_VF_BAD_SIGNATURE, WXPAY_SIG_INVALID,
     "Wechatpay-Signature"},
    {__LINE__, PROBE, WXPAY_ERR_VERIFY, WXPAY_VF_PROBE, WXPAY_SIG_INVALID, "SIGNTEST"},
    {__LINE__, STALE, WXPAY_ERR_VERIFY, WXPAY_VF_STALE, WXPAY_SIG_INVALID, "behind"},
    {__LINE__, FUTURE, WXPAY_ERR_VERIFY, WXPAY_VF_FUTURE, WXPAY_SIG_INVALID, "ahead"},
    {__LINE__, TS_TEXT, WXPAY_ERR_VERIFY, WXPAY_VF_BAD_TIMESTAMP, WXPAY_SIG_INVALID, "seconds"},
    {__LINE__, UNKNOWN_SERIAL, WXPAY_ERR_VERIFY, WXPAY_VF_UNKNOWN_SERIAL, WXPAY_SIG_INVALID,
     T_SERIAL_WRONG},
    {__LINE__, SM2, WXPAY_ERR_VERIFY, WXPAY_VF_UNSUPPORTED_TYPE, WXPAY_SIG_INVALID, "SM2"},
    {__LINE__, NO_SIGNATURE, WXPAY_ERR_VERIFY, WXPAY_VF_MISSING_HEADER, WXPAY_SIG_UNSIGNED,
     "Wechatpay-Signature"},
    {__LINE__, NO_NONCE, WXPAY_ERR_VERIFY, WXPAY_VF_MISSING_HEADER, WXPAY_SIG_INVALID,
     "Wechatpay-Nonce"},
    {__LINE__, WRONG_APIV3, WXPAY_ERR_NOTIFY, WXPAY_VF_DECRYPT, WXPAY_SIG_VALID, "APIv3 key"},
    {__LINE__, RESOURCE_TYPE, WXPAY_ERR_NOTIFY, WXPAY_VF_RESOURCE_TYPE, WXPAY_SIG_VALID,
     "resource_type"},
    {__LINE__, ALGORITHM, WXPAY_ERR_NOTIFY, WXPAY_VF_ALGORITHM, WXPAY_SIG_VALID, "AEAD_SM4_GCM"},
    {__LINE__, PLAINTEXT, WXPAY_ERR_NOTIFY, WXPAY_VF_PLAINTEXT, WXPAY_SIG_VALID, "JSON object"},
    {__LINE__, NOT_JSON, WXPAY_ERR_NOTIFY, WXPAY_VF_BAD_ENVELOPE, WXPAY_SIG_VALID, "body"},
    {__LINE__, TOO_LARGE, WXPAY_ERR_NOTIFY, WXPAY_VF_BAD_ENVELOPE, WXPAY_SIG_NONE, "body"},
};

static void spoil(struct note *n, enum spoil how)
{
    long long now = (long long)time(NULL);

    switch (how) {
    case STALE:
        note_make(n, NULL, NULL, KEY_A, RESOURCE, "keys/test-platform.key.pem", T_SERIAL_PLATFORM,
                  now - 400);
        return;
    case FUTURE:
        note_make(n, NULL, NULL, KEY_A, RESOURCE, "keys/test-platform.key.pem", T_SERIAL_PLATFORM,
                  now + 400);
        return;
    case FORGED:
        note_make(n, NULL, NULL, KEY_A, RESOURCE, "keys/test-wrong.key.pem", T_SERIAL_PLATFORM,
                  now);
        return;
    case WRONG_APIV3:
        note_make(n, NULL, NULL, KEY_B, RESOURCE, "keys/test-platform.key.pem", T_SERIAL_PLATFORM,
                  now);
        return;
    case RESOURCE_TYPE:
        note_make(n, "plain-resource", NULL, KEY_A, RESOURCE, "keys/test-platform.key.pem",
                  T_SERIAL_PLATFORM, now);
        return;
    case ALGORITHM:
        note_make(n, NULL, "AEAD_SM4_GCM", KEY_A, RESOURCE, "keys/test-platform.key.pem",
                  T_SERIAL_PLATFORM, now);
        return;
    case PLAINTEXT:
        note_make(n, NULL, NULL, KEY_A, "\"a string\"", "keys/test-platform.key.pem",
                  T_SERIAL_PLATFORM, now);
        return;
    case NONE:
    case PROBE:
    case TS_TEXT:
    case UNKNOWN_SERIAL:
    case SM2:
    case NO_SIGNATURE:
    case NO_NONCE:
    case NOT_JSON:
    case TOO_LARGE:
        break;
    }
    note_default(n);
    switch (how) {
    case PROBE:
        snprintf(n->probe, sizeof n->probe, "WECHATPAY/SIGNTEST/%s", n->h.signature);
        n->in.signature = n->probe;
        break;
    case TS_TEXT:
        n->in.timestamp = "1796342400.5";
        break;
    case UNKNOWN_SERIAL:
        n->in.serial = T_SERIAL_WRONG;
        break;
    case SM2:
        n->in.signature_type = "WECHATPAY2-SM2-WITH-SM3";
        break;
    case NO_SIGNATURE:
        n->in.signature = NULL;
        break;
    case NO_NONCE:
        n->in.nonce = NULL;
        break;
    case NOT_JSON: {
        /* A body that is signed but is not JSON. */
        struct wxp_key *k = t_private("keys/test-platform.key.pem");
        wxp_buf_reset(&n->body);
        assert_int_equal(wxp_buf_addstr(&n->body, "id=1&event_type=x"), WXP_OK);
        assert_int_equal(wxp_notify_sign(k, T_SERIAL_PLATFORM, now, NULL,
                                         (struct wxp_str){n->body.ptr, n->body.len}, &n->h, NULL),
                         WXP_OK);
        wxp_key_free(k);
        n->in.body = n->body.ptr;
        n->in.body_len = n->body.len;
        n->in.signature = n->h.signature;
        n->in.timestamp = n->h.timestamp;
        n->in.nonce = n->h.nonce;
        break;
    }
    case TOO_LARGE:
        n->in.body_len = WXPAY_NOTIFY_BODY_MAX + 1; /* never read: refused on its size */
        break;
    case NONE:
    case FORGED:
    case STALE:
    case FUTURE:
    case WRONG_APIV3:
    case RESOURCE_TYPE:
    case ALGORITHM:
    case PLAINTEXT:
        break;
    }
}

static void test_notify_client_rejects_each_way(void **state)
{
    struct wxpay_client *c = client(KEY_A, 0, 0);
    (void)state;

    for (size_t i = 0; i < NELEM(ROWS); i++) {
        const struct row *w = &ROWS[i];
        struct wxpay_notification out;
        struct wxpay_result r;
        enum wxpay_result_kind kind;
        struct note n;

        spoil(&n, w->how);
        kind = wxpay_notify_parse(c, &n.in, &out, &r);
        if (kind != w->kind || r.kind != w->kind || r.verify_failure != w->vf ||
            r.signature != w->sig) {
            fail_msg("row at line %d: got %s/%s/%s (%s)", w->line, wxpay_result_kind_name(kind),
                     wxpay_verify_failure_name(r.verify_failure), wxpay_signature_name(r.signature),
                     r.error);
        }
        if (strstr(r.error, w->error) == NULL) {
            fail_msg("row at line %d: error \"%s\" lacks \"%s\"", w->line, r.error, w->error);
        }
        assert_null(out.resource);
        assert_null(out.id);
        wxpay_result_free(&r);
        wxp_buf_free(&n.body);
    }
    wxpay_client_free(c);
}

static void test_notify_client_needs_an_apiv3_key(void **state)
{
    struct wxpay_client *c = client(NULL, 0, 0);
    struct wxpay_notification out;
    struct wxpay_result r;
    struct note n;
    (void)state;

    note_default(&n);
    assert_int_equal(wxpay_notify_parse(c, &n.in, &out, &r), WXPAY_ERR_LOCAL);
    assert_non_null(strstr(r.error, "apiv3_key"));
    wxpay_result_free(&r);
    assert_int_equal(wxpay_notify_parse(c, NULL, &out, &r), WXPAY_ERR_LOCAL);
    wxpay_result_free(&r);
    assert_int_equal(wxpay_notify_parse(c, &n.in, NULL, &r), WXPAY_ERR_LOCAL);
    wxpay_result_free(&r);
    wxp_buf_free(&n.body);
    wxpay_client_free(c);
}

/* wxpay_notify_client_new: the platform keys and the APIv3 key are enough; no merchant setting is
 * read, each missing piece is named, and a call made with such a client is refused. */
static void test_notify_client_for_notifications_only(void **state)
{
    static char cert[1024];
    const char *certs[] = {cert, NULL};
    const char *none[] = {NULL};
    struct wxpay_terminate t = {"oUser", "500001", "wxd678efh567hg6787", "r"};
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_notification out;
    struct wxpay_result r;
    struct note n;
    (void)state;

    snprintf(cert, sizeof cert, "%s", t_fixture("certs/test-platform.cert.pem"));
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://127.0.0.1:9";
    cfg.platform_cert_files = certs;
    /* Nothing but the platform certificate: the APIv3 key is named. */
    assert_int_equal(wxpay_notify_client_new(&cfg, &c, &r), WXPAY_ERR_LOCAL);
    assert_null(c);
    assert_non_null(strstr(r.error, "apiv3_key_file: required to decrypt notifications"));
    wxpay_result_free(&r);
    /* The APIv3 key but no platform key: the platform keys are named. */
    cfg.apiv3_key = KEY_A;
    cfg.platform_cert_files = none;
    assert_int_equal(wxpay_notify_client_new(&cfg, &c, &r), WXPAY_ERR_LOCAL);
    assert_non_null(strstr(r.error, "platform_cert_files: required to verify notifications"));
    wxpay_result_free(&r);
    cfg.platform_cert_files = certs;
    cfg.auto_certificates = 1;
    assert_int_equal(wxpay_notify_client_new(&cfg, &c, &r), WXPAY_ERR_LOCAL);
    assert_non_null(strstr(r.error, "auto_certificates:"));
    wxpay_result_free(&r);
    cfg.auto_certificates = 0;
    /* wxpay_client_new refuses the same configuration (no mchid)... */
    assert_int_equal(wxpay_client_new(&cfg, &c, &r), WXPAY_ERR_LOCAL);
    wxpay_result_free(&r);
    /* ...which is all a notification needs. */
    if (wxpay_notify_client_new(&cfg, &c, &r) != WXPAY_OK) {
        fail_msg("notify client: %s", r.error);
    }
    wxpay_result_free(&r);
    note_default(&n);
    if (wxpay_notify_parse(c, &n.in, &out, &r) != WXPAY_OK) {
        fail_msg("parse: %s", r.error);
    }
    assert_string_equal(out.resource, RESOURCE);
    wxpay_notification_free(&out);
    wxpay_result_free(&r);
    wxp_buf_free(&n.body);
    /* A call cannot be signed, and says why before anything is sent. */
    assert_int_equal(wxpay_payscore_terminate(c, &t, &r), WXPAY_ERR_LOCAL);
    assert_non_null(strstr(r.error, "no merchant private key"));
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_client_accepts_a_valid_notification),
        cmocka_unit_test(test_notify_client_reads_the_fixture),
        cmocka_unit_test(test_notify_client_rejects_each_way),
        cmocka_unit_test(test_notify_client_needs_an_apiv3_key),
        cmocka_unit_test(test_notify_client_for_notifications_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
