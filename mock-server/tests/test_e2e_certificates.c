/* SPDX-License-Identifier: MIT */
/* test_e2e_certificates.c: GET /v3/certificates against a live wxpay-mock: the list downloaded,
 * verified and decrypted with the core's AEAD under the TEST APIv3 key; a client living through a
 * rotation; the public-key-only 404; the requests the official SDKs send. Oracles: the fixture
 * files and fixtures/README.md (serials and validity), never the mock's own code. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "e2e.h"
#include "wxp/aead.h"
#include "wxp/authz.h"
#include "wxp/envelope.h"
#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/verify.h"

#define CERTS "/v3/certificates"
#define TERMINATE "/v3/payscore/permissions/openid/%s/terminate"
#define SERIAL_NEXT "6E5D4C3B2A19080F1E2D3C4B5A69788796A5B4C3"
#define SERIAL_EXPIRED "4F3E2D1C0B1A29384756A5B4C3D2E1F0A9B8C7D6"
#define MAX_CERTS 4

static struct e2e_mock mock;

/* One downloaded certificate, decrypted. */
struct got_cert {
    char serial[64];
    char effective[40];
    char expire[40];
    struct wxp_buf pem;
};

struct got_list {
    struct got_cert c[MAX_CERTS];
    size_t n;
};

static void got_free(struct got_list *g)
{
    for (size_t i = 0; i < g->n; i++) {
        wxp_buf_free(&g->c[i].pem);
    }
    g->n = 0;
}

/* The TEST APIv3 key of merchant A, from its fixture file (32 bytes and a newline). */
static void apiv3_key(char out[WXP_AEAD_KEY_LEN])
{
    size_t len = 0;
    char *k = t_read("keys/test-merchant-a.apiv3.key", &len);

    assert_true(len >= WXP_AEAD_KEY_LEN);
    memcpy(out, k, WXP_AEAD_KEY_LEN);
    wxp_free(k);
}

static const char *str_member(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(it)) {
        fail_msg("member %s is not a string", name);
    }
    return it->valuestring;
}

/* Reads a 200 certificate list: every member the official downloaders read, each ciphertext
 * decrypted with the core under the TEST key, each PEM's serial equal to its serial_no. */
static void read_list(const struct e2e_resp *r, struct got_list *g)
{
    char key[WXP_AEAD_KEY_LEN];
    cJSON *root = NULL;
    const cJSON *data, *item;

    memset(g, 0, sizeof *g);
    if (r->status != 200) {
        fail_msg("status %ld: %.*s", r->status, (int)r->body.len, r->body.ptr ? r->body.ptr : "");
    }
    apiv3_key(key);
    root = cJSON_ParseWithLength(r->body.ptr, r->body.len);
    assert_non_null(root);
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    assert_true(cJSON_IsArray(data));
    cJSON_ArrayForEach(item, data)
    {
        const cJSON *enc = cJSON_GetObjectItemCaseSensitive(item, "encrypt_certificate");
        struct got_cert *c = &g->c[g->n];
        struct wxp_aead_params p;
        struct wxp_key *k = NULL;
        const char *ct;

        assert_true(g->n < MAX_CERTS);
        assert_true(cJSON_IsObject(enc));
        snprintf(c->serial, sizeof c->serial, "%s", str_member(item, "serial_no"));
        snprintf(c->effective, sizeof c->effective, "%s", str_member(item, "effective_time"));
        snprintf(c->expire, sizeof c->expire, "%s", str_member(item, "expire_time"));
        assert_string_equal(str_member(enc, "algorithm"), "AEAD_AES_256_GCM");
        assert_string_equal(str_member(enc, "associated_data"), "certificate");
        assert_int_equal(strlen(str_member(enc, "nonce")), WXP_AEAD_NONCE_LEN);
        p.key = (struct wxp_str){key, sizeof key};
        p.nonce = wxp_str_c(str_member(enc, "nonce"));
        p.aad = wxp_str_c("certificate");
        ct = str_member(enc, "ciphertext");
        wxp_buf_init(&c->pem, 64 * 1024);
        g->n++;
        assert_int_equal(wxp_aead_decrypt(&p, ct, strlen(ct), &c->pem, NULL), WXP_OK);
        assert_int_equal(wxp_key_cert_pem(c->pem.ptr, c->pem.len, &k, NULL), WXP_OK);
        assert_string_equal(wxp_key_id(k), c->serial);
        wxp_key_free(k);
    }
    cJSON_Delete(root);
}

/* The certificate of that serial in the list, or NULL. */
static const struct got_cert *find(const struct got_list *g, const char *serial)
{
    for (size_t i = 0; i < g->n; i++) {
        if (strcmp(g->c[i].serial, serial) == 0) {
            return &g->c[i];
        }
    }
    return NULL;
}

/* The fixture file's PEM text: what the download must give back. */
static void assert_same_pem(const struct got_cert *c, const char *fixture)
{
    size_t len = 0;
    char *want = t_read(fixture, &len);

    assert_non_null(c);
    if (c->pem.len != len || memcmp(c->pem.ptr, want, len) != 0) {
        fail_msg("certificate %s differs from %s", c->serial, fixture);
    }
    wxp_free(want);
}

/* Verifies r with only the keys of `ks`; returns the core's code. */
static enum wxp_code verify_with(const struct wxp_keystore *ks, const struct e2e_resp *r)
{
    struct wxp_resp v;
    struct wxp_resp_policy p = {(int64_t)time(NULL), WXP_SKEW_DEFAULT, true};

    v.timestamp = wxp_str_c(e2e_header(r, "Wechatpay-Timestamp"));
    v.nonce = wxp_str_c(e2e_header(r, "Wechatpay-Nonce"));
    v.signature = wxp_str_c(e2e_header(r, "Wechatpay-Signature"));
    v.serial = wxp_str_c(e2e_header(r, "Wechatpay-Serial"));
    v.request_id = wxp_str_c(e2e_header(r, "Request-ID"));
    v.body.ptr = r->body.ptr ? r->body.ptr : "";
    v.body.len = r->body.len;
    return wxp_resp_verify(ks, &v, &p, NULL);
}

/* Adds every downloaded certificate to ks. */
static void trust_all(struct wxp_keystore *ks, const struct got_list *g)
{
    for (size_t i = 0; i < g->n; i++) {
        struct wxp_key *k = NULL;
        if (wxp_keystore_find(ks, wxp_str_c(g->c[i].serial)) != NULL) {
            continue;
        }
        assert_int_equal(wxp_key_cert_pem(g->c[i].pem.ptr, g->c[i].pem.len, &k, NULL), WXP_OK);
        assert_int_equal(wxp_keystore_add(ks, k, NULL), WXP_OK);
    }
}

/* A config file in the default mock's directory: merchant A (with its APIv3 key unless
 * `no_apiv3`) and the `platform` member given. */
static void write_config(const char *path, const char *platform, bool no_apiv3)
{
    FILE *f = fopen(path, "w");
    char cert_a[1024], apiv3[1024];

    assert_non_null(f);
    snprintf(cert_a, sizeof cert_a, "%s", t_fixture("certs/test-merchant-a.cert.pem"));
    snprintf(apiv3, sizeof apiv3, "%s", t_fixture("keys/test-merchant-a.apiv3.key"));
    fprintf(f, "{\"merchants\":[{\"mchid\":\"" T_MCHID_A "\",\"cert\":\"%s\"%s%s%s}]", cert_a,
            no_apiv3 ? "" : ",\"apiv3_key_file\":\"", no_apiv3 ? "" : apiv3, no_apiv3 ? "" : "\"");
    if (platform != NULL) {
        fprintf(f, ",\"platform\":%s", platform);
    }
    fputs("}", f);
    assert_int_equal(fclose(f), 0);
}

/* A platform member with the current certificate, the next and the expired one. */
static void rotation_platform(char *out, size_t cap)
{
    char k0[1024], c0[1024], k1[1024], c1[1024], k2[1024], c2[1024];

    snprintf(k0, sizeof k0, "%s", t_fixture("keys/test-platform.key.pem"));
    snprintf(c0, sizeof c0, "%s", t_fixture("certs/test-platform.cert.pem"));
    snprintf(k1, sizeof k1, "%s", t_fixture("keys/test-platform-next.key.pem"));
    snprintf(c1, sizeof c1, "%s", t_fixture("certs/test-platform-next.cert.pem"));
    snprintf(k2, sizeof k2, "%s", t_fixture("keys/test-platform-expired.key.pem"));
    snprintf(c2, sizeof c2, "%s", t_fixture("certs/test-platform-expired.cert.pem"));
    snprintf(out, cap,
             "{\"key\":\"%s\",\"cert\":\"%s\",\"certificates\":[{\"key\":\"%s\",\"cert\":\"%s\"},"
             "{\"key\":\"%s\",\"cert\":\"%s\"}]}",
             k0, c0, k1, c1, k2, c2);
}

/* A terminate signed by merchant A, with `extra` header lines (NULL-terminated, may be NULL). */
static void terminate(const struct e2e_mock *m, const char *openid, const char *const *extra,
                      struct e2e_resp *r)
{
    char target[256];
    char body[256];

    snprintf(target, sizeof target, TERMINATE, openid);
    snprintf(body, sizeof body,
             "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\",\"reason\":\"%s\"}",
             openid);
    e2e_call(m, "POST", target, body, NULL, extra, r);
}

/* The default mock: one certificate (the fixtures' platform one), downloaded, verified with it,
 * decrypted under merchant A's TEST key; the PEM is the fixture's, byte for byte. */
static void test_e2e_certificates_download(void **state)
{
    (void)state;
    struct e2e_resp r;
    struct got_list g;

    e2e_call(&mock, "GET", CERTS, NULL, NULL, NULL, &r);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), T_SERIAL_PLATFORM);
    read_list(&r, &g);
    assert_int_equal(g.n, 1);
    assert_same_pem(find(&g, T_SERIAL_PLATFORM), "certs/test-platform.cert.pem");
    /* RFC 3339 in China Standard Time. */
    assert_non_null(strstr(g.c[0].effective, "+08:00"));
    assert_int_equal(strlen(g.c[0].effective), 25);
    got_free(&g);
    e2e_resp_free(&r);

    /* Each answer has a fresh nonce: the same certificate encrypts differently. */
    e2e_call(&mock, "GET", CERTS, NULL, NULL, NULL, &r);
    {
        struct e2e_resp r2;
        e2e_call(&mock, "GET", CERTS, NULL, NULL, NULL, &r2);
        assert_int_equal(r.status, 200);
        assert_int_equal(r2.status, 200);
        assert_true(r.body.len != r2.body.len || memcmp(r.body.ptr, r2.body.ptr, r.body.len) != 0);
        e2e_resp_free(&r2);
    }
    e2e_resp_free(&r);
}

/* wechatpay-java's request: ?algorithm_type=RSA with an Accept value that starts with a space
 * before the any-type wildcard (docs/protocol.md#platform-certificates), and the other
 * algorithm_type values. */
static void test_e2e_certificates_sdk_requests(void **state)
{
    (void)state;
    struct e2e_resp r;
    struct got_list g;
    char nonce[WXP_NONCE_LEN + 1];
    struct wxp_buf authz, line;
    struct wxp_key *key = t_private("keys/test-merchant-a.key.pem");
    struct wxp_signer s = {key, T_MCHID_A, T_SERIAL_A};
    const char *target = CERTS "?algorithm_type=RSA";
    const char *hdrs[5];

    assert_int_equal(wxp_nonce(nonce, NULL), WXP_OK);
    wxp_buf_init(&authz, 8192);
    wxp_buf_init(&line, 8192);
    assert_int_equal(wxp_authz_sign(&authz, &s, wxp_str_c("GET"), wxp_str_c(target), wxp_str_c(""),
                                    (int64_t)time(NULL), nonce, NULL),
                     WXP_OK);
    assert_int_equal(wxp_buf_addf(&line, "Authorization: %s", authz.ptr), WXP_OK);
    hdrs[0] = line.ptr;
    hdrs[1] = "Accept:  */*";
    hdrs[2] = "Content-Type: application/json";
    hdrs[3] = "User-Agent: WechatPay-Java/0.2.17 (Linux) Java/17";
    hdrs[4] = NULL;
    e2e_send(&mock, "GET", target, hdrs, NULL, 0, &r);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    read_list(&r, &g);
    assert_int_equal(g.n, 1);
    got_free(&g);
    e2e_resp_free(&r);
    wxp_buf_free(&authz);
    wxp_buf_free(&line);
    wxp_key_free(key);

    /* ALL is every certificate the mock has (RSA only); SM2 none. */
    e2e_call(&mock, "GET", CERTS "?algorithm_type=ALL", NULL, NULL, NULL, &r);
    read_list(&r, &g);
    assert_int_equal(g.n, 1);
    got_free(&g);
    e2e_resp_free(&r);
    e2e_call(&mock, "GET", CERTS "?algorithm_type=SM2", NULL, NULL, NULL, &r);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    assert_string_equal(wxp_buf_cstr(&r.body), "{\"data\":[]}");
    e2e_resp_free(&r);
    e2e_call(&mock, "GET", CERTS "?algorithm_type=DSA", NULL, NULL, NULL, &r);
    e2e_assert_error(&r, 400, "PARAM_ERROR", NULL);
    e2e_resp_free(&r);
    e2e_call(&mock, "GET", CERTS "?algorithm_type=RSA&algorithm_type=RSA", NULL, NULL, NULL, &r);
    e2e_assert_error(&r, 400, "PARAM_ERROR", NULL);
    e2e_resp_free(&r);
    e2e_call(&mock, "POST", CERTS, "{}", NULL, NULL, &r);
    assert_int_equal(r.status, 405);
    e2e_resp_free(&r);
}

/* A client pinned to the current certificate lives through a rotation: during the overlap the
 * list holds both (the expired one never); after POST /__admin/platform/rotate answers carry the
 * next serial, which the pinned keys cannot verify; downloading again finds it, and the download
 * itself verifies with it. */
static void test_e2e_certificates_rotation(void **state)
{
    (void)state;
    struct e2e_mock m;
    char path[512], platform[8192];
    const char *args[] = {"--config", path, NULL};
    struct e2e_resp r;
    struct got_list g;
    struct wxp_keystore *pinned = wxp_keystore_new();

    snprintf(path, sizeof path, "%s/rotation.json", mock.dir);
    rotation_platform(platform, sizeof platform);
    write_config(path, platform, false);
    e2e_start(&m, args);

    /* First download: verifiable only with what it contains (the SDKs' first download). */
    e2e_call(&m, "GET", CERTS, NULL, NULL, NULL, &r);
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), T_SERIAL_PLATFORM);
    read_list(&r, &g);
    assert_int_equal(g.n, 2);
    assert_same_pem(find(&g, T_SERIAL_PLATFORM), "certs/test-platform.cert.pem");
    assert_same_pem(find(&g, SERIAL_NEXT), "certs/test-platform-next.cert.pem");
    assert_null(find(&g, SERIAL_EXPIRED));
    /* fixtures/README.md: the next certificate's validity. */
    assert_string_equal(find(&g, SERIAL_NEXT)->effective, "2026-12-01T00:00:00+08:00");
    assert_string_equal(find(&g, SERIAL_NEXT)->expire, "2126-12-01T00:00:00+08:00");
    got_free(&g);
    e2e_resp_free(&r);
    assert_int_equal(wxp_keystore_add(pinned, t_cert("certs/test-platform.cert.pem"), NULL),
                     WXP_OK);

    terminate(&m, "oBeforeRotate", NULL, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(verify_with(pinned, &r), WXP_OK);
    e2e_resp_free(&r);
    /* A request naming the expired certificate is not answered with it. */
    {
        const char *extra[] = {"Wechatpay-Serial: " SERIAL_EXPIRED, NULL};
        terminate(&m, "oAsksExpired", extra, &r);
        assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), T_SERIAL_PLATFORM);
        e2e_resp_free(&r);
    }

    e2e_send(&m, "POST", "/__admin/platform/rotate", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(wxp_buf_cstr(&r.body), "{\"serial_no\":\"" SERIAL_NEXT
                                               "\",\"previous\":\"" T_SERIAL_PLATFORM "\"}");
    e2e_resp_free(&r);

    /* The pinned client gets an answer signed by the new serial and cannot verify it. */
    terminate(&m, "oAfterRotate", NULL, &r);
    assert_int_equal(r.status, 204);
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), SERIAL_NEXT);
    assert_int_equal(verify_with(pinned, &r), WXP_E_SERIAL_UNKNOWN);
    e2e_resp_free(&r);
    /* Downloading again: signed by the new certificate, which the list holds. */
    e2e_call(&m, "GET", CERTS, NULL, NULL, NULL, &r);
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), SERIAL_NEXT);
    assert_int_equal(verify_with(pinned, &r), WXP_E_SERIAL_UNKNOWN);
    read_list(&r, &g);
    assert_int_equal(g.n, 2);
    trust_all(pinned, &g);
    assert_int_equal(verify_with(pinned, &r), WXP_OK);
    got_free(&g);
    e2e_resp_free(&r);
    terminate(&m, "oAfterDownload", NULL, &r);
    assert_int_equal(verify_with(pinned, &r), WXP_OK);
    e2e_resp_free(&r);
    /* A client still naming the old certificate (valid during the overlap) is answered with it. */
    {
        const char *extra[] = {"Wechatpay-Serial: " T_SERIAL_PLATFORM, NULL};
        terminate(&m, "oStillOld", extra, &r);
        assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), T_SERIAL_PLATFORM);
        e2e_resp_free(&r);
    }

    /* No further valid certificate (the expired one is skipped): 409, nothing changes. */
    e2e_send(&m, "POST", "/__admin/platform/rotate", NULL, NULL, 0, &r);
    e2e_assert_error(&r, 409, "CONFLICT", NULL);
    e2e_resp_free(&r);
    terminate(&m, "oAfterConflict", NULL, &r);
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), SERIAL_NEXT);
    e2e_resp_free(&r);
    /* A reset undoes the rotation. */
    e2e_send(&m, "POST", "/__admin/reset", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    terminate(&m, "oAfterReset", NULL, &r);
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), T_SERIAL_PLATFORM);
    e2e_resp_free(&r);

    wxp_keystore_free(pinned);
    e2e_stop(&m);
}

/* The default mock has one certificate: nothing to rotate to. */
static void test_e2e_certificates_rotate_without_next(void **state)
{
    (void)state;
    struct e2e_resp r;

    e2e_send(&mock, "POST", "/__admin/platform/rotate", NULL, NULL, 0, &r);
    e2e_assert_error(&r, 409, "CONFLICT", NULL);
    e2e_resp_free(&r);
    e2e_send(&mock, "GET", "/__admin/platform/rotate", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 405);
    e2e_resp_free(&r);
}

/* A public-key-only platform: the live 404 for the list, answers still signed with the key. */
static void test_e2e_certificates_public_key_only(void **state)
{
    (void)state;
    struct e2e_mock m;
    char path[512], platform[2048];
    const char *args[] = {"--config", path, NULL};
    struct e2e_resp r;

    snprintf(path, sizeof path, "%s/pubkey.json", mock.dir);
    snprintf(platform, sizeof platform, "{\"key\":\"%s\",\"public_key_id\":\"" T_PUBKEY_ID "\"}",
             t_fixture("keys/test-platform.key.pem"));
    write_config(path, platform, false);
    e2e_start(&m, args);
    e2e_call(&m, "GET", CERTS "?algorithm_type=RSA", NULL, NULL, NULL, &r);
    e2e_assert_error(&r, 404, "RESOURCE_NOT_EXISTS",
                     "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥");
    e2e_resp_free(&r);
    terminate(&m, "oPublicKeyMode", NULL, &r);
    assert_int_equal(r.status, 204);
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), T_PUBKEY_ID);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
    e2e_send(&m, "POST", "/__admin/platform/rotate", NULL, NULL, 0, &r);
    e2e_assert_error(&r, 409, "CONFLICT", NULL);
    e2e_resp_free(&r);
    e2e_stop(&m);
}

/* A merchant configured without an APIv3 key cannot be sent an encrypted list. */
/* A merchant marked public_key_only gets the 404 although the mock holds certificates (for the
 * other merchants); its other calls are answered as usual. */
static void test_e2e_certificates_public_key_only_merchant(void **state)
{
    (void)state;
    struct e2e_mock m;
    char path[512], cert_a[1024], apiv3[1024];
    const char *args[] = {"--config", path, NULL};
    struct e2e_resp r;
    FILE *f;

    snprintf(path, sizeof path, "%s/pubkey-merchant.json", mock.dir);
    snprintf(cert_a, sizeof cert_a, "%s", t_fixture("certs/test-merchant-a.cert.pem"));
    snprintf(apiv3, sizeof apiv3, "%s", t_fixture("keys/test-merchant-a.apiv3.key"));
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"merchants\":[{\"mchid\":\"" T_MCHID_A "\",\"cert\":\"%s\","
            "\"apiv3_key_file\":\"%s\",\"public_key_only\":true}]}",
            cert_a, apiv3);
    assert_int_equal(fclose(f), 0);
    e2e_start(&m, args);
    e2e_call(&m, "GET", CERTS, NULL, NULL, NULL, &r);
    e2e_assert_error(&r, 404, "RESOURCE_NOT_EXISTS",
                     "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥");
    e2e_resp_free(&r);
    terminate(&m, "oPublicKeyOnlyMerchant", NULL, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
    e2e_stop(&m);
}

static void test_e2e_certificates_merchant_without_apiv3_key(void **state)
{
    (void)state;
    struct e2e_mock m;
    char path[512];
    const char *args[] = {"--config", path, NULL};
    struct e2e_resp r;

    snprintf(path, sizeof path, "%s/noapiv3.json", mock.dir);
    write_config(path, NULL, true);
    e2e_start(&m, args);
    e2e_call(&m, "GET", CERTS, NULL, NULL, NULL, &r);
    e2e_assert_error(&r, 403, "NO_AUTH", "商户未设置APIv3密钥");
    e2e_resp_free(&r);
    e2e_stop(&m);
}

/* Replaces each "{K}" (the current platform key), "{C}" (its certificate) and "{N}" (the next
 * certificate) of `tmpl` with the fixture's path. */
static void subst(const char *tmpl, char *out, size_t cap)
{
    struct wxp_buf b;

    wxp_buf_init(&b, cap - 1);
    for (const char *p = tmpl; *p != '\0'; p++) {
        const char *rel = NULL;
        if (p[0] == '{' && p[1] != '\0' && p[2] == '}') {
            rel = p[1] == 'K'   ? "keys/test-platform.key.pem"
                  : p[1] == 'C' ? "certs/test-platform.cert.pem"
                  : p[1] == 'N' ? "certs/test-platform-next.cert.pem"
                                : NULL;
        }
        if (rel != NULL) {
            assert_int_equal(wxp_buf_addstr(&b, t_fixture(rel)), WXP_OK);
            p += 2;
            continue;
        }
        assert_int_equal(wxp_buf_add(&b, p, 1), WXP_OK);
    }
    snprintf(out, cap, "%s", wxp_buf_cstr(&b));
    wxp_buf_free(&b);
}

/* Config errors in platform.certificates name the member, and the mock does not start. */
static void test_e2e_certificates_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *platform;
        const char *want;
    } rows[] = {
        {"{\"key\":\"{K}\",\"cert\":\"{C}\",\"certificates\":{}}",
         "platform.certificates: must be an array"},
        {"{\"key\":\"{K}\",\"cert\":\"{C}\",\"certificates\":[{\"key\":\"{K}\"}]}",
         "platform.certificates[0]: needs one of"},
        {"{\"key\":\"{K}\",\"cert\":\"{C}\",\"certificates\":[{\"key\":\"{K}\",\"cert\":\"{N}\","
         "\"colour\":\"red\"}]}",
         "platform.certificates[0].colour: unknown member"},
        /* The current key with the next certificate. */
        {"{\"key\":\"{K}\",\"cert\":\"{C}\",\"certificates\":[{\"key\":\"{K}\",\"cert\":\"{N}\"}]}",
         "platform.certificates[0].cert: is not the certificate of its key"},
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char platform[8192], path[512], cmd[2048], out[4096] = "";
        FILE *p;
        size_t n;

        subst(rows[i].platform, platform, sizeof platform);
        snprintf(path, sizeof path, "%s/bad%zu.json", mock.dir, i);
        write_config(path, platform, false);
        snprintf(cmd, sizeof cmd, "'%s' --listen 127.0.0.1:0 --config '%s' 2>&1", WXPAY_MOCK_BIN,
                 path);
        p = popen(cmd, "r");
        assert_non_null(p);
        n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        assert_int_not_equal(pclose(p), 0);
        if (strstr(out, rows[i].want) == NULL) {
            fail_msg("row %zu: \"%s\" lacks \"%s\"", i, out, rows[i].want);
        }
    }
}

static int start_default(void **state)
{
    (void)state;
    e2e_start(&mock, NULL);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    e2e_stop(&mock);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_certificates_download),
        cmocka_unit_test(test_e2e_certificates_sdk_requests),
        cmocka_unit_test(test_e2e_certificates_rotation),
        cmocka_unit_test(test_e2e_certificates_rotate_without_next),
        cmocka_unit_test(test_e2e_certificates_public_key_only),
        cmocka_unit_test(test_e2e_certificates_public_key_only_merchant),
        cmocka_unit_test(test_e2e_certificates_merchant_without_apiv3_key),
        cmocka_unit_test(test_e2e_certificates_config_errors),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, start_default, stop);
    curl_global_cleanup();
    return rc;
}
