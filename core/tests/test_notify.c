/* SPDX-License-Identifier: MIT */
/* test_notify.c: notifications built and signed by the core, then verified and decrypted; every
 * way a notification can be wrong fails with its exact code and field, and verification comes
 * before decryption. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "testutil.h"
#include "wxp/aead.h"
#include "wxp/buf.h"
#include "wxp/certlist.h"
#include "wxp/mem.h"
#include "wxp/notify.h"
#include "wxp/verify.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define KEY_A "TestOnlyApiV3KeyA1900000109zYxWv"
#define KEY_B "TestOnlyApiV3KeyB1900000110qRsTu"
#define NOW ((int64_t)1796342400)
#define RESOURCE                                                                                   \
    "{\"openid\":\"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\",\"service_id\":"                                 \
    "\"2002000000000558128851361561536\",\"mchid\":\"1900000109\",\"appid\":"                      \
    "\"wxd678efh567hg6787\",\"user_service_status\":\"USER_OPEN_SERVICE\","                        \
    "\"openorclose_time\":\"20261204120000\"}"

/* One notification on the wire: body and headers, and the key store a receiver holds. */
struct wire {
    struct wxp_buf body;
    struct wxp_notify_headers h;
    struct wxp_notify_in in;
    struct wxp_keystore *ks;
    struct wxp_key *platform;
};

static struct wxp_notify_spec spec_default(void)
{
    struct wxp_notify_spec s;

    memset(&s, 0, sizeof s);
    s.id = "0ff394bd-69f9-58d1-a958-0d1a3205c723";
    s.create_time = "2026-12-04T20:00:00+08:00";
    s.event_type = "PAYSCORE.USER_OPEN_SERVICE";
    s.summary = "授权成功";
    s.nonce = "uY6tR5eW4qZx";
    s.plaintext = WXP_STR_LIT(RESOURCE);
    return s;
}

/* Points w->in at w->body and w->h. */
static void wire_in(struct wire *w)
{
    memset(&w->in, 0, sizeof w->in);
    w->in.r.timestamp = wxp_str_c(w->h.timestamp);
    w->in.r.nonce = wxp_str_c(w->h.nonce);
    w->in.r.signature = wxp_str_c(w->h.signature);
    w->in.r.serial = wxp_str_c(w->h.serial);
    w->in.r.request_id = WXP_STR_LIT("08F78BB5AF0610D302A2A1B4F50A9E2A");
    w->in.r.body = (struct wxp_str){w->body.ptr, w->body.len};
    w->in.signature_type = wxp_str_c(w->h.signature_type);
}

static void sign_body(struct wire *w, int64_t ts)
{
    struct wxp_err err;
    if (wxp_notify_sign(w->platform, T_SERIAL_PLATFORM, ts, NULL,
                        (struct wxp_str){w->body.ptr, w->body.len}, &w->h, &err) != WXP_OK) {
        fail_msg("sign: %s", err.msg);
    }
    wire_in(w);
}

/* Builds `s` under `key`, or takes `raw` as the body, and signs it at `ts`. */
static void wire_make(struct wire *w, const struct wxp_notify_spec *s, const char *key,
                      const char *raw, int64_t ts)
{
    struct wxp_err err;

    memset(w, 0, sizeof *w);
    wxp_buf_init(&w->body, WXP_NOTIFY_BODY_MAX);
    w->platform = t_private("keys/test-platform.key.pem");
    w->ks = wxp_keystore_new();
    assert_non_null(w->ks);
    assert_int_equal(wxp_keystore_add(w->ks, t_cert("certs/test-platform.cert.pem"), NULL), WXP_OK);
    if (raw != NULL) {
        assert_int_equal(wxp_buf_addstr(&w->body, raw), WXP_OK);
    } else if (wxp_notify_build(s, wxp_str_c(key), &w->body, &err) != WXP_OK) {
        fail_msg("build: %s", err.msg);
    }
    sign_body(w, ts);
}

static void wire_free(struct wire *w)
{
    wxp_buf_free(&w->body);
    wxp_keystore_free(w->ks);
    wxp_key_free(w->platform);
}

static const struct wxp_resp_policy POLICY = {NOW, WXP_SKEW_DEFAULT, false};

static enum wxp_code parse(struct wire *w, const char *key, struct wxp_notify *n,
                           struct wxp_err *err)
{
    return wxp_notify_parse(w->ks, wxp_str_c(key), &w->in, &POLICY, n, err);
}

static void test_notify_round_trip(void **state)
{
    struct wxp_notify_spec s = spec_default();
    struct wxp_notify n;
    struct wxp_err err;
    struct wire w;
    (void)state;

    wire_make(&w, &s, KEY_A, NULL, NOW);
    assert_int_equal(parse(&w, KEY_A, &n, &err), WXP_OK);
    assert_string_equal(n.id, s.id);
    assert_string_equal(n.create_time, s.create_time);
    assert_string_equal(n.event_type, "PAYSCORE.USER_OPEN_SERVICE");
    assert_string_equal(n.resource_type, "encrypt-resource");
    assert_string_equal(n.summary, "授权成功");
    assert_string_equal(n.algorithm, "AEAD_AES_256_GCM");
    assert_string_equal(n.original_type, "payscore");
    assert_string_equal(n.associated_data, "");
    assert_int_equal(n.resource_len, strlen(RESOURCE));
    assert_string_equal(n.resource, RESOURCE);
    wxp_notify_free(&n);
    wxp_notify_free(&n); /* zeroed: a second free is harmless */
    /* The envelope's member order is the documented one. */
    assert_non_null(strstr(wxp_buf_cstr(&w.body),
                           "{\"id\":\"0ff394bd-69f9-58d1-a958-0d1a3205c723\",\"create_time\":"
                           "\"2026-12-04T20:00:00+08:00\",\"resource_type\":\"encrypt-resource\","
                           "\"event_type\":\"PAYSCORE.USER_OPEN_SERVICE\",\"resource\":{"
                           "\"original_type\":\"payscore\",\"algorithm\":\"AEAD_AES_256_GCM\","
                           "\"ciphertext\":\""));
    assert_non_null(strstr(wxp_buf_cstr(&w.body), "\",\"associated_data\":\"\",\"nonce\":"
                                                  "\"uY6tR5eW4qZx\"},\"summary\":\"授权成功\"}"));
    assert_string_equal(w.h.signature_type, "WECHATPAY2-SHA256-RSA2048");
    assert_string_equal(w.h.serial, T_SERIAL_PLATFORM);
    assert_int_equal(strlen(w.h.nonce), 32);
    /* An absent or empty Wechatpay-Signature-Type reads as RSA. */
    w.in.signature_type = (struct wxp_str){NULL, 0};
    assert_int_equal(parse(&w, KEY_A, &n, &err), WXP_OK);
    wxp_notify_free(&n);
    w.in.signature_type = WXP_STR_LIT("");
    assert_int_equal(parse(&w, KEY_A, &n, &err), WXP_OK);
    wxp_notify_free(&n);
    wire_free(&w);
}

/* Defaults: a fresh UUID id, now in +08:00, a 12-character nonce, another one each time. */
static void test_notify_build_defaults(void **state)
{
    struct wxp_notify_spec s = spec_default();
    struct wxp_notify n1;
    struct wxp_notify n2;
    struct wxp_err err;
    struct wire w1;
    struct wire w2;
    (void)state;

    s.id = NULL;
    s.create_time = NULL;
    s.nonce = NULL;
    s.associated_data = "transaction";
    s.original_type = "transaction";
    wire_make(&w1, &s, KEY_B, NULL, NOW);
    wire_make(&w2, &s, KEY_B, NULL, NOW);
    assert_int_equal(parse(&w1, KEY_B, &n1, &err), WXP_OK);
    assert_int_equal(parse(&w2, KEY_B, &n2, &err), WXP_OK);
    assert_int_equal(strlen(n1.id), WXP_NOTIFY_ID_LEN);
    assert_true(n1.id[8] == '-' && n1.id[13] == '-' && n1.id[14] == '4' && n1.id[18] == '-' &&
                n1.id[23] == '-');
    assert_string_not_equal(n1.id, n2.id);
    assert_int_equal(strlen(n1.create_time), 25);
    assert_string_equal(n1.create_time + 19, "+08:00");
    {
        int64_t t = 0;
        assert_true(wxp_rfc3339_parse(wxp_str_c(n1.create_time), &t));
    }
    assert_string_equal(n1.associated_data, "transaction");
    assert_string_equal(n1.original_type, "transaction");
    assert_string_equal(n1.resource, RESOURCE);
    {
        const char *p = strstr(wxp_buf_cstr(&w1.body), "\"nonce\":\"");
        assert_non_null(p);
        assert_int_equal(strcspn(p + 9, "\""), WXP_NOTIFY_NONCE_LEN);
    }
    wxp_notify_free(&n1);
    wxp_notify_free(&n2);
    wire_free(&w1);
    wire_free(&w2);
}

static void test_notify_build_rejects_bad_spec(void **state)
{
    struct wxp_notify_spec s = spec_default();
    struct wxp_buf b;
    struct wxp_err err;
    (void)state;

    wxp_buf_init(&b, WXP_NOTIFY_BODY_MAX);
    s.event_type = NULL;
    assert_int_equal(wxp_notify_build(&s, wxp_str_c(KEY_A), &b, &err), WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "event_type");
    s = spec_default();
    s.summary = "\xc3\x28";
    wxp_buf_reset(&b);
    assert_int_equal(wxp_notify_build(&s, wxp_str_c(KEY_A), &b, &err), WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "summary");
    s = spec_default();
    wxp_buf_reset(&b);
    assert_int_equal(wxp_notify_build(&s, wxp_str_c("short"), &b, &err), WXP_E_AEAD_KEY);
    s.nonce = "tooshort";
    wxp_buf_reset(&b);
    assert_int_equal(wxp_notify_build(&s, wxp_str_c(KEY_A), &b, &err), WXP_E_AEAD_NONCE);
    wxp_buf_free(&b);
}

/* How a row spoils a good notification. */
enum spoil {
    FORGE_SIGNATURE,   /* signature by another key over the same bytes */
    SIGNTEST,          /* WECHATPAY/SIGNTEST/ + base64 */
    STALE,             /* signed 301 s ago */
    FUTURE,            /* signed 301 s ahead */
    TS_TEXT,           /* timestamp "17963424OO" */
    UNKNOWN_SERIAL,    /* Wechatpay-Serial names the wrong key */
    SIG_TYPE_SM2,      /* Wechatpay-Signature-Type: WECHATPAY2-SM2-WITH-SM3 */
    NO_TIMESTAMP,      /* header absent */
    NO_NONCE,          /* header absent */
    NO_SIGNATURE,      /* header absent */
    NO_SERIAL,         /* header absent */
    RAW_BODY,          /* the row's body, signed */
    TAMPER_CIPHERTEXT, /* first ciphertext character changed, re-signed */
    TAMPER_TAG,        /* last tag character before the padding changed, re-signed */
    WRONG_KEY,         /* receiver holds merchant B's APIv3 key */
    NOT_JSON,          /* plaintext "not json", encrypted properly */
    JSON_ARRAY,        /* plaintext "[1]" */
    BODY_CHANGED,      /* body altered after signing */
    TOO_LARGE,         /* body over the cap */
};

struct row {
    int line;
    enum spoil how;
    const char *raw; /* RAW_BODY: the body */
    enum wxp_code code;
    const char *field;
};

#define ENC_OK                                                                                     \
    "\"resource\":{\"original_type\":\"payscore\",\"algorithm\":\"AEAD_AES_256_GCM\","             \
    "\"ciphertext\":\"CNnr6AsWGlQ5n3dQ9CTsfA==\",\"associated_data\":\"\",\"nonce\":"              \
    "\"Kq3pZ0aX7bLm\"}"
#define HEAD_OK                                                                                    \
    "\"id\":\"x\",\"create_time\":\"2026-12-04T20:00:00+08:00\",\"resource_type\":"                \
    "\"encrypt-resource\",\"event_type\":\"PAYSCORE.USER_OPEN_SERVICE\",\"summary\":\"s\""

static const struct row ROWS[] = {
    {__LINE__, FORGE_SIGNATURE, NULL, WXP_E_SIG_MISMATCH, "Wechatpay-Signature"},
    {__LINE__, SIGNTEST, NULL, WXP_E_SIG_PROBE, "Wechatpay-Signature"},
    {__LINE__, STALE, NULL, WXP_E_TIMESTAMP_STALE, "Wechatpay-Timestamp"},
    {__LINE__, FUTURE, NULL, WXP_E_TIMESTAMP_FUTURE, "Wechatpay-Timestamp"},
    {__LINE__, TS_TEXT, NULL, WXP_E_RESP_TIMESTAMP, "Wechatpay-Timestamp"},
    {__LINE__, UNKNOWN_SERIAL, NULL, WXP_E_SERIAL_UNKNOWN, "Wechatpay-Serial"},
    {__LINE__, SIG_TYPE_SM2, NULL, WXP_E_NOTIFY_SIG_TYPE, "Wechatpay-Signature-Type"},
    {__LINE__, NO_TIMESTAMP, NULL, WXP_E_RESP_HEADER_MISSING, "Wechatpay-Timestamp"},
    {__LINE__, NO_NONCE, NULL, WXP_E_RESP_HEADER_MISSING, "Wechatpay-Nonce"},
    {__LINE__, NO_SIGNATURE, NULL, WXP_E_RESP_HEADER_MISSING, "Wechatpay-Signature"},
    {__LINE__, NO_SERIAL, NULL, WXP_E_RESP_HEADER_MISSING, "Wechatpay-Serial"},
    {__LINE__, BODY_CHANGED, NULL, WXP_E_SIG_MISMATCH, "Wechatpay-Signature"},
    {__LINE__, TOO_LARGE, NULL, WXP_E_TOO_LARGE, "body"},
    {__LINE__, RAW_BODY, "", WXP_E_JSON_SYNTAX, NULL},
    {__LINE__, RAW_BODY, "{\"id\":", WXP_E_JSON_SYNTAX, NULL},
    {__LINE__, RAW_BODY, "{" HEAD_OK "," ENC_OK "} x", WXP_E_JSON_SYNTAX, NULL},
    {__LINE__, RAW_BODY, "[" HEAD_OK "]", WXP_E_JSON_SYNTAX, NULL},
    {__LINE__, RAW_BODY, "[1]", WXP_E_NOTIFY_ENVELOPE, "body"},
    {__LINE__, RAW_BODY, "{" ENC_OK "}", WXP_E_NOTIFY_ENVELOPE, "body.id"},
    {__LINE__, RAW_BODY, "{" HEAD_OK "}", WXP_E_NOTIFY_ENVELOPE, "body.resource"},
    {__LINE__, RAW_BODY, "{" HEAD_OK ",\"resource\":\"x\"}", WXP_E_NOTIFY_ENVELOPE,
     "body.resource"},
    {__LINE__, RAW_BODY, "{" HEAD_OK ",\"id\":\"y\"," ENC_OK "}", WXP_E_NOTIFY_ENVELOPE, "body.id"},
    {__LINE__, RAW_BODY,
     "{\"id\":1,\"create_time\":\"t\",\"resource_type\":\"encrypt-resource\","
     "\"event_type\":\"E\",\"summary\":\"s\"," ENC_OK "}",
     WXP_E_NOTIFY_ENVELOPE, "body.id"},
    {__LINE__, RAW_BODY,
     "{\"id\":\"x\",\"create_time\":\"t\",\"resource_type\":\"encrypt-resource\","
     "\"summary\":\"s\"," ENC_OK "}",
     WXP_E_NOTIFY_ENVELOPE, "body.event_type"},
    {__LINE__, RAW_BODY,
     "{" HEAD_OK ",\"resource\":{\"algorithm\":\"AEAD_AES_256_GCM\",\"nonce\":\"Kq3pZ0aX7bLm\"}}",
     WXP_E_NOTIFY_ENVELOPE, "body.resource.ciphertext"},
    {__LINE__, RAW_BODY,
     "{" HEAD_OK ",\"resource\":{\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":"
     "\"CNnr6AsWGlQ5n3dQ9CTsfA==\",\"nonce\":\"Kq3pZ0aX7bLm\",\"associated_data\":null}}",
     WXP_E_NOTIFY_ENVELOPE, "body.resource.associated_data"},
    {__LINE__, RAW_BODY,
     "{\"id\":\"x\",\"create_time\":\"t\",\"resource_type\":\"plain-resource\","
     "\"event_type\":\"E\",\"summary\":\"s\"," ENC_OK "}",
     WXP_E_NOTIFY_RESOURCE_TYPE, "body.resource_type"},
    {__LINE__, RAW_BODY,
     "{" HEAD_OK ",\"resource\":{\"algorithm\":\"AEAD_SM4_GCM\",\"ciphertext\":"
     "\"CNnr6AsWGlQ5n3dQ9CTsfA==\",\"nonce\":\"Kq3pZ0aX7bLm\"}}",
     WXP_E_NOTIFY_ALGORITHM, "body.resource.algorithm"},
    {__LINE__, RAW_BODY,
     "{" HEAD_OK ",\"resource\":{\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":"
     "\"CNnr6AsWGlQ5n3dQ9CTsfA==\",\"nonce\":\"short\"}}",
     WXP_E_AEAD_NONCE, "body.resource.nonce"},
    {__LINE__, RAW_BODY,
     "{" HEAD_OK ",\"resource\":{\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":"
     "\"mock_ciphertext\",\"nonce\":\"Kq3pZ0aX7bLm\"}}",
     WXP_E_AEAD_FORMAT, "body.resource.ciphertext"},
    /* The empty plaintext of aead.json's first vector: it decrypts, but is no object. */
    {__LINE__, RAW_BODY, "{" HEAD_OK "," ENC_OK "}", WXP_E_NOTIFY_PLAINTEXT,
     "body.resource.ciphertext"},
    {__LINE__, TAMPER_CIPHERTEXT, NULL, WXP_E_AEAD_AUTH, "body.resource.ciphertext"},
    {__LINE__, TAMPER_TAG, NULL, WXP_E_AEAD_AUTH, "body.resource.ciphertext"},
    {__LINE__, WRONG_KEY, NULL, WXP_E_AEAD_AUTH, "body.resource.ciphertext"},
    {__LINE__, NOT_JSON, NULL, WXP_E_NOTIFY_PLAINTEXT, "body.resource.ciphertext"},
    {__LINE__, JSON_ARRAY, NULL, WXP_E_NOTIFY_PLAINTEXT, "body.resource.ciphertext"},
};

/* Changes one base64 character of the ciphertext at `at` (from its start, or from its end when
 * negative) to another valid one. */
static void flip_ciphertext(struct wxp_buf *b, long at)
{
    char *p = strstr(b->ptr, "\"ciphertext\":\"");
    size_t len;
    size_t i;

    assert_non_null(p);
    p += strlen("\"ciphertext\":\"");
    len = strcspn(p, "\"");
    while (len > 0 && p[len - 1] == '=') {
        len--;
    }
    i = at >= 0 ? (size_t)at : len - (size_t)(-at);
    /* Flip a high bit of the 6: always a different valid character, same trailing bits. */
    p[i] = p[i] == 'A' ? 'g' : 'A';
}

static void spoil_row(struct wire *w, const struct row *r, const char **key)
{
    struct wxp_notify_spec s = spec_default();
    static char sig[1100];

    *key = KEY_A;
    switch (r->how) {
    case RAW_BODY:
        wire_make(w, &s, KEY_A, r->raw, NOW);
        return;
    case NOT_JSON:
        s.plaintext = WXP_STR_LIT("not json");
        break;
    case JSON_ARRAY:
        s.plaintext = WXP_STR_LIT("[1]");
        break;
    case STALE:
        wire_make(w, &s, KEY_A, NULL, NOW - WXP_SKEW_DEFAULT - 1);
        return;
    case FUTURE:
        wire_make(w, &s, KEY_A, NULL, NOW + WXP_SKEW_DEFAULT + 1);
        return;
    case FORGE_SIGNATURE:
    case SIGNTEST:
    case TS_TEXT:
    case UNKNOWN_SERIAL:
    case SIG_TYPE_SM2:
    case NO_TIMESTAMP:
    case NO_NONCE:
    case NO_SIGNATURE:
    case NO_SERIAL:
    case TAMPER_CIPHERTEXT:
    case TAMPER_TAG:
    case WRONG_KEY:
    case BODY_CHANGED:
    case TOO_LARGE:
        break;
    }
    wire_make(w, &s, KEY_A, NULL, NOW);
    switch (r->how) {
    case FORGE_SIGNATURE: {
        struct wxp_key *wrong = t_private("keys/test-wrong.key.pem");
        struct wxp_notify_headers h;
        assert_int_equal(wxp_notify_sign(wrong, T_SERIAL_PLATFORM, NOW, w->h.nonce,
                                         (struct wxp_str){w->body.ptr, w->body.len}, &h, NULL),
                         WXP_OK);
        memcpy(w->h.signature, h.signature, sizeof h.signature);
        wxp_key_free(wrong);
        wire_in(w);
        break;
    }
    case SIGNTEST:
        snprintf(sig, sizeof sig, "WECHATPAY/SIGNTEST/%s", w->h.signature);
        w->in.r.signature = wxp_str_c(sig);
        break;
    case TS_TEXT:
        w->in.r.timestamp = WXP_STR_LIT("17963424OO");
        break;
    case UNKNOWN_SERIAL:
        w->in.r.serial = WXP_STR_LIT(T_SERIAL_WRONG);
        break;
    case SIG_TYPE_SM2:
        w->in.signature_type = WXP_STR_LIT("WECHATPAY2-SM2-WITH-SM3");
        break;
    case NO_TIMESTAMP:
        w->in.r.timestamp = (struct wxp_str){NULL, 0};
        break;
    case NO_NONCE:
        w->in.r.nonce = (struct wxp_str){NULL, 0};
        break;
    case NO_SIGNATURE:
        w->in.r.signature = (struct wxp_str){NULL, 0};
        break;
    case NO_SERIAL:
        w->in.r.serial = (struct wxp_str){NULL, 0};
        break;
    case TAMPER_CIPHERTEXT:
        flip_ciphertext(&w->body, 0);
        sign_body(w, NOW);
        break;
    case TAMPER_TAG:
        flip_ciphertext(&w->body, -2);
        sign_body(w, NOW);
        break;
    case WRONG_KEY:
        *key = KEY_B;
        break;
    case BODY_CHANGED:
        flip_ciphertext(&w->body, 0);
        break;
    case TOO_LARGE:
        w->in.r.body.len = WXP_NOTIFY_BODY_MAX + 1;
        break;
    case RAW_BODY:
    case NOT_JSON:
    case JSON_ARRAY:
    case STALE:
    case FUTURE:
        break;
    }
}

static void test_notify_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(ROWS); i++) {
        const struct row *r = &ROWS[i];
        const char *key = KEY_A;
        struct wxp_notify n;
        struct wxp_err err;
        enum wxp_code rc;
        struct wire w;

        spoil_row(&w, r, &key);
        memset(&n, 0x5a, sizeof n);
        wxp_err_clear(&err);
        rc = parse(&w, key, &n, &err);
        if (rc != r->code) {
            fail_msg("row at line %d: got %s (%s: %s), want %s", r->line, wxp_code_name(rc),
                     err.field, err.msg, wxp_code_name(r->code));
        }
        if (r->field != NULL && strcmp(err.field, r->field) != 0) {
            fail_msg("row at line %d: field \"%s\", want \"%s\"", r->line, err.field, r->field);
        }
        /* A notification is not a response: no message may call it one. */
        if (strstr(err.msg, "response") != NULL) {
            fail_msg("row at line %d: message \"%s\" says response", r->line, err.msg);
        }
        if (n.id != NULL || n.resource != NULL) {
            fail_msg("row at line %d: out is not zeroed after a failure", r->line);
        }
        wxp_notify_free(&n);
        wire_free(&w);
    }
}

/* Verification before decryption: a forged signature over a body whose ciphertext is also
 * broken reports the signature, and so does a SIGNTEST probe over it. */
static void test_notify_verifies_before_decrypting(void **state)
{
    struct wxp_notify_spec s = spec_default();
    struct wxp_key *wrong = t_private("keys/test-wrong.key.pem");
    struct wxp_notify_headers h;
    struct wxp_notify n;
    struct wxp_err err;
    struct wire w;
    char probe[1100];
    (void)state;

    wire_make(&w, &s, KEY_A, NULL, NOW);
    flip_ciphertext(&w.body, 0);
    assert_int_equal(wxp_notify_sign(wrong, T_SERIAL_PLATFORM, NOW, NULL,
                                     (struct wxp_str){w.body.ptr, w.body.len}, &h, NULL),
                     WXP_OK);
    w.h = h;
    wire_in(&w);
    assert_int_equal(parse(&w, KEY_A, &n, &err), WXP_E_SIG_MISMATCH);
    assert_string_equal(err.field, "Wechatpay-Signature");
    /* Also with the wrong APIv3 key and a non-JSON body: still the signature. */
    assert_int_equal(parse(&w, KEY_B, &n, &err), WXP_E_SIG_MISMATCH);
    snprintf(probe, sizeof probe, "WECHATPAY/SIGNTEST/%s", h.signature);
    w.in.r.signature = wxp_str_c(probe);
    assert_int_equal(parse(&w, KEY_A, &n, &err), WXP_E_SIG_PROBE);
    wxp_buf_reset(&w.body);
    assert_int_equal(wxp_buf_addstr(&w.body, "not json at all"), WXP_OK);
    wire_in(&w);
    assert_int_equal(parse(&w, KEY_A, &n, &err), WXP_E_SIG_MISMATCH);
    wxp_key_free(wrong);
    wire_free(&w);
}

/* The window is exactly ±300 s: 300 passes both ways. */
static void test_notify_window_edges(void **state)
{
    struct wxp_notify_spec s = spec_default();
    struct wxp_notify n;
    struct wxp_err err;
    struct wire w;
    (void)state;

    wire_make(&w, &s, KEY_A, NULL, NOW - WXP_SKEW_DEFAULT);
    assert_int_equal(parse(&w, KEY_A, &n, &err), WXP_OK);
    wxp_notify_free(&n);
    sign_body(&w, NOW + WXP_SKEW_DEFAULT);
    assert_int_equal(parse(&w, KEY_A, &n, &err), WXP_OK);
    wxp_notify_free(&n);
    wire_free(&w);
}

/* A public-key-mode platform: the key store holds PUB_KEY_ID_... and the headers name it. */
static void test_notify_public_key_mode(void **state)
{
    struct wxp_notify_spec s = spec_default();
    struct wxp_notify n;
    struct wxp_err err;
    struct wire w;
    (void)state;

    wire_make(&w, &s, KEY_A, NULL, NOW);
    wxp_keystore_free(w.ks);
    w.ks = wxp_keystore_new();
    assert_int_equal(
        wxp_keystore_add(w.ks, t_pubkey("keys/test-platform.pub.pem", T_PUBKEY_ID), NULL), WXP_OK);
    assert_int_equal(wxp_notify_sign(w.platform, T_PUBKEY_ID, NOW, NULL,
                                     (struct wxp_str){w.body.ptr, w.body.len}, &w.h, NULL),
                     WXP_OK);
    wire_in(&w);
    assert_int_equal(parse(&w, KEY_A, &n, &err), WXP_OK);
    assert_string_equal(n.resource, RESOURCE);
    wxp_notify_free(&n);
    wire_free(&w);
}

static void test_notify_sign_rejects_bad_input(void **state)
{
    struct wxp_key *platform = t_private("keys/test-platform.key.pem");
    struct wxp_key *cert = t_cert("certs/test-platform.cert.pem");
    struct wxp_notify_headers h;
    struct wxp_err err;
    char longserial[200];
    (void)state;

    memset(longserial, 'A', sizeof longserial - 1);
    longserial[sizeof longserial - 1] = '\0';
    assert_int_equal(wxp_notify_sign(platform, NULL, NOW, NULL, WXP_STR_LIT("{}"), &h, &err),
                     WXP_E_INVALID_ARG);
    assert_int_equal(wxp_notify_sign(platform, "S", -1, NULL, WXP_STR_LIT("{}"), &h, &err),
                     WXP_E_INVALID_ARG);
    assert_int_equal(wxp_notify_sign(platform, longserial, NOW, NULL, WXP_STR_LIT("{}"), &h, &err),
                     WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "serial");
    assert_int_equal(wxp_notify_sign(platform, "S", NOW, "a\nb", WXP_STR_LIT("{}"), &h, &err),
                     WXP_E_INVALID_ARG);
    assert_int_equal(wxp_notify_sign(cert, "S", NOW, NULL, WXP_STR_LIT("{}"), &h, &err),
                     WXP_E_INVALID_ARG);
    wxp_key_free(platform);
    wxp_key_free(cert);
}

/* failmalloc: every allocation of a parse failing in turn gives WXP_E_NOMEM and leaks nothing. */
static void test_notify_parse_failmalloc(void **state)
{
    struct wxp_notify_spec s = spec_default();
    struct wxp_notify n;
    struct wxp_err err;
    struct wire w;
    long total;
    (void)state;

    wire_make(&w, &s, KEY_A, NULL, NOW);
    t_fail_countdown = -1;
    t_fail_allocations = 0;
    wxp_mem_set_allocator(&T_FAILING);
    assert_int_equal(parse(&w, KEY_A, &n, &err), WXP_OK);
    wxp_notify_free(&n);
    total = t_fail_allocations;
    for (long k = 0; k < total; k++) {
        enum wxp_code rc;
        t_fail_countdown = k;
        rc = parse(&w, KEY_A, &n, &err);
        if (rc != WXP_E_NOMEM && rc != WXP_E_CRYPTO) {
            fail_msg("allocation %ld of %ld failing: %s", k, total, wxp_code_name(rc));
        }
        assert_null(n.resource);
    }
    t_fail_countdown = -1;
    wxp_mem_set_allocator(NULL);
    wire_free(&w);
}

/* fixtures/notifications/user-open-service.*: made by python3-cryptography and openssl dgst
 * (fixtures/gen/notifications.py), from these fixed inputs. */
#define FIX_RESOURCE                                                                               \
    "{\"openid\":\"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\",\"out_request_no\":\"1234323JKHDFE1243252\","    \
    "\"service_id\":\"2002000000000558128851361561536\",\"mchid\":\"1900000109\","                 \
    "\"appid\":\"wxd678efh567hg6787\",\"user_service_status\":\"USER_OPEN_SERVICE\","              \
    "\"openorclose_time\":\"20261204200000\"}"

/* The value of header `name` in a "Name: value" file (lines that are no header are skipped), as a
 * slice into `text`; absent: ptr NULL. */
static struct wxp_str header_of(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = text; *line != '\0';) {
        const char *end = line + strcspn(line, "\r\n");
        if ((size_t)(end - line) > n + 1 && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ') {
                v++;
            }
            return (struct wxp_str){v, (size_t)(end - v)};
        }
        line = end + strspn(end, "\r\n");
    }
    return (struct wxp_str){NULL, 0};
}

static void test_notify_parses_the_independent_fixture(void **state)
{
    size_t hlen = 0;
    size_t blen = 0;
    size_t klen = 0;
    char *headers = t_read("notifications/user-open-service.headers", &hlen);
    char *body = t_read("notifications/user-open-service.body.json", &blen);
    char *key = t_read("keys/test-merchant-a.apiv3.key", &klen);
    struct wxp_keystore *ks = wxp_keystore_new();
    struct wxp_resp_policy pol = {0, WXP_SKEW_DEFAULT, true};
    struct wxp_notify_in in;
    struct wxp_notify n;
    struct wxp_err err;
    (void)state;

    assert_int_equal(wxp_keystore_add(ks, t_cert("certs/test-platform.cert.pem"), NULL), WXP_OK);
    memset(&in, 0, sizeof in);
    in.r.timestamp = header_of(headers, "Wechatpay-Timestamp");
    in.r.nonce = header_of(headers, "Wechatpay-Nonce");
    in.r.signature = header_of(headers, "Wechatpay-Signature");
    in.r.serial = header_of(headers, "Wechatpay-Serial");
    in.r.request_id = header_of(headers, "Request-ID");
    in.r.body = (struct wxp_str){body, blen};
    in.signature_type = header_of(headers, "Wechatpay-Signature-Type");
    /* The receiver's clock is the moment the fixture was made. */
    assert_true(wxp_parse_seconds(in.r.timestamp, &pol.now));
    if (wxp_notify_parse(ks, (struct wxp_str){key, klen}, &in, &pol, &n, &err) != WXP_OK) {
        fail_msg("fixture: %s (%s: %s)", wxp_code_name(err.code), err.field, err.msg);
    }
    assert_string_equal(n.id, "0ff394bd-69f9-58d1-a958-0d1a3205c723");
    assert_string_equal(n.event_type, "PAYSCORE.USER_OPEN_SERVICE");
    assert_string_equal(n.summary, "授权成功");
    assert_string_equal(n.resource, FIX_RESOURCE);
    wxp_notify_free(&n);
    /* Five minutes and one second later it is stale. */
    pol.now += WXP_SKEW_DEFAULT + 1;
    assert_int_equal(wxp_notify_parse(ks, (struct wxp_str){key, klen}, &in, &pol, &n, &err),
                     WXP_E_TIMESTAMP_STALE);
    wxp_keystore_free(ks);
    wxp_free(headers);
    wxp_free(body);
    wxp_free(key);
}

/* Our builder, given the fixture's inputs, writes the fixture's body byte for byte: the same
 * ciphertext as python3-cryptography, the same member order and escaping. */
static void test_notify_build_matches_the_fixture(void **state)
{
    size_t blen = 0;
    size_t klen = 0;
    char *body = t_read("notifications/user-open-service.body.json", &blen);
    char *key = t_read("keys/test-merchant-a.apiv3.key", &klen);
    struct wxp_notify_spec s = spec_default();
    const char *want_ct;
    const char *got_ct;
    struct wxp_buf b;
    struct wxp_err err;
    (void)state;

    s.plaintext = WXP_STR_LIT(FIX_RESOURCE);
    wxp_buf_init(&b, WXP_NOTIFY_BODY_MAX);
    assert_int_equal(wxp_notify_build(&s, (struct wxp_str){key, klen}, &b, &err), WXP_OK);
    want_ct = strstr(body, "\"ciphertext\":\"");
    got_ct = strstr(wxp_buf_cstr(&b), "\"ciphertext\":\"");
    assert_non_null(want_ct);
    assert_non_null(got_ct);
    assert_int_equal(strcspn(want_ct + 14, "\""), strcspn(got_ct + 14, "\""));
    assert_memory_equal(want_ct, got_ct, 14 + strcspn(want_ct + 14, "\""));
    assert_int_equal(b.len, blen);
    assert_memory_equal(b.ptr, body, blen);
    wxp_buf_free(&b);
    wxp_free(body);
    wxp_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_round_trip),
        cmocka_unit_test(test_notify_build_defaults),
        cmocka_unit_test(test_notify_build_rejects_bad_spec),
        cmocka_unit_test(test_notify_rejects),
        cmocka_unit_test(test_notify_verifies_before_decrypting),
        cmocka_unit_test(test_notify_window_edges),
        cmocka_unit_test(test_notify_public_key_mode),
        cmocka_unit_test(test_notify_sign_rejects_bad_input),
        cmocka_unit_test(test_notify_parse_failmalloc),
        cmocka_unit_test(test_notify_parses_the_independent_fixture),
        cmocka_unit_test(test_notify_build_matches_the_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
