/* SPDX-License-Identifier: MIT */
/* seedgen.c: writes the fully valid signed seeds of fuzz/corpus/handler and fuzz/corpus/resp
 * with the core and the TEST ONLY fixture keys, timestamp FUZZ_NOW and fixed nonces, so the
 * output is the same on every run (RSA PKCS#1 v1.5 signatures are deterministic).
 *   fuzz_seedgen fuzz/corpus
 * A one-off tool: run it again only when the fixtures or the request format change. */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "keys.h"
#include "reqtext.h"
#include "wxp/authz.h"
#include "wxp/sign.h"
#include "wxp/signmsg.h"

#define OPENID "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
#define TERMINATE "/v3/payscore/permissions/openid/" OPENID "/terminate"
#define BODY                                                                                       \
    "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\",\"reason\":\"用户主动解除授权\"}"
#define HEADERS                                                                                    \
    "Accept: application/json\nUser-Agent: wxpay-fuzz/1.0\nContent-Type: application/json\n"

static struct wxp_key *merchant;
static struct wxp_key *platform;

static int write_file(const char *dir, const char *name, const char *text, size_t len)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "seedgen: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* Appends one signed request in the reqtext form. */
static int request(struct wxp_buf *out, const char *method, const char *target, const char *body,
                   const char *nonce, const char *extra_headers)
{
    const struct wxp_signer s = {merchant, FUZZ_MCHID, FUZZ_SERIAL_A};
    struct wxp_buf authz;
    struct wxp_err err;
    enum wxp_code rc;

    wxp_buf_init(&authz, WXP_AUTHZ_MAX);
    rc = wxp_authz_sign(&authz, &s, wxp_str_c(method), wxp_str_c(target), wxp_str_c(body), FUZZ_NOW,
                        nonce, &err);
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(out, "%s %s\nAuthorization: %s\n%s%s\n%s", method, target, authz.ptr,
                          HEADERS, extra_headers, body);
    }
    wxp_buf_free(&authz);
    if (rc != WXP_OK) {
        fprintf(stderr, "seedgen: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int handler_seeds(const char *dir)
{
    static const struct {
        const char *name;
        const char *nonce[2];
        const char *extra;
        const char *between; /* an unsigned admin request between the two, or NULL */
    } ROWS[] = {
        {"valid-terminate", {"5K8264ILTKCH16CQ2502SI8ZNMTM67VS", NULL}, "", NULL},
        {"valid-terminate-pubkey-serial",
         {"5K8264ILTKCH16CQ2502SI8ZNMTM67VT", NULL},
         "Wechatpay-Serial: " FUZZ_PUBKEY_ID "\n",
         NULL},
        {"valid-replay",
         {"5K8264ILTKCH16CQ2502SI8ZNMTM67VU", "5K8264ILTKCH16CQ2502SI8ZNMTM67VU"},
         "",
         NULL},
        {"valid-terminate-twice",
         {"5K8264ILTKCH16CQ2502SI8ZNMTM67VV", "5K8264ILTKCH16CQ2502SI8ZNMTM67VW"},
         "",
         NULL},
        {"valid-scenario-then-terminate",
         {"5K8264ILTKCH16CQ2502SI8ZNMTM67VX", NULL},
         "",
         "POST /__admin/scenarios\n\n[{\"times\":1,\"action\":{\"signature\":\"forged\"}}]"},
        {"valid-state-then-terminate",
         {"5K8264ILTKCH16CQ2502SI8ZNMTM67VY", NULL},
         "",
         "PUT /__admin/state\n\n[{\"mchid\":\"1900000109\",\"openid\":\"" OPENID
         "\",\"appid\":\"wxd678efh567hg6787\",\"service_id\":\"500001\",\"state\":\"UNAVAILABLE\"}"
         "]"},
    };
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        struct wxp_buf b;
        int rc = 0;
        wxp_buf_init(&b, (size_t)1024 * 1024);
        if (ROWS[i].between != NULL) {
            rc = wxp_buf_addf(&b, "%s%s", ROWS[i].between, REQTEXT_SEPARATOR) == WXP_OK ? 0 : -1;
        }
        if (rc == 0) {
            rc = request(&b, "POST", TERMINATE, BODY, ROWS[i].nonce[0], ROWS[i].extra);
        }
        if (rc == 0 && ROWS[i].nonce[1] != NULL) {
            rc = wxp_buf_addstr(&b, REQTEXT_SEPARATOR) == WXP_OK ? 0 : -1;
            if (rc == 0) {
                rc = request(&b, "POST", TERMINATE, BODY, ROWS[i].nonce[1], ROWS[i].extra);
            }
        }
        if (rc == 0) {
            rc = write_file(dir, ROWS[i].name, b.ptr, b.len);
        }
        wxp_buf_free(&b);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

/* The other operations of the table, signed: a GET with its query (either order), and the
 * lifecycle by code (apply, the user accepts through the admin API, query, terminate). Each step
 * is [method, target, body, nonce]; a NULL nonce marks an unsigned admin request. */
#define CODE "FUZZ-CODE_1|*"
#define QUERY_OPENID "/v3/payscore/permissions/openid/" OPENID
#define BY_CODE "/v3/payscore/permissions/authorization-code/" CODE
static int operation_seeds(const char *dir)
{
    static const struct {
        const char *name;
        const char *step[4][4];
    } ROWS[] = {
        {"valid-query-by-openid",
         {{"GET", QUERY_OPENID "?appid=wxd678efh567hg6787&service_id=500001", "",
           "5K8264ILTKCH16CQ2502SI8ZNMTM67W1"}}},
        {"valid-query-by-openid-service-first",
         {{"GET", QUERY_OPENID "?service_id=500001&appid=wxd678efh567hg6787", "",
           "5K8264ILTKCH16CQ2502SI8ZNMTM67W2"}}},
        {"query-second-question-mark",
         {{"GET", QUERY_OPENID "?service_id=500001?appid=wxd678efh567hg6787", "",
           "5K8264ILTKCH16CQ2502SI8ZNMTM67W3"}}},
        {"valid-apply-accept-query-terminate",
         {{"POST", "/v3/payscore/permissions",
           "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\",\"authorization_code\":"
           "\"" CODE "\",\"notify_url\":\"https://merchant.example/notify\"}",
           "5K8264ILTKCH16CQ2502SI8ZNMTM67W4"},
          {"POST", "/__admin/payscore/user-accept",
           "{\"service_id\":\"500001\",\"openid\":\"" OPENID "\",\"authorization_code\":\"" CODE
           "\"}",
           NULL},
          {"GET", BY_CODE "?service_id=500001", "", "5K8264ILTKCH16CQ2502SI8ZNMTM67W5"},
          {"POST", BY_CODE "/terminate", "{\"service_id\":\"500001\",\"reason\":\"fuzz\"}",
           "5K8264ILTKCH16CQ2502SI8ZNMTM67W6"}}},
        {"valid-certificates-rotate",
         {{"GET", "/v3/certificates?algorithm_type=RSA", "", "5K8264ILTKCH16CQ2502SI8ZNMTM67W7"},
          {"POST", "/__admin/platform/rotate", "", NULL},
          {"GET", "/v3/certificates", "", "5K8264ILTKCH16CQ2502SI8ZNMTM67W8"}}},
        {"certificates-algorithm-type",
         {{"GET", "/v3/certificates?algorithm_type=SM2", "", "5K8264ILTKCH16CQ2502SI8ZNMTM67W9"},
          {"GET", "/v3/certificates?algorithm_type=DSA&algorithm_type=RSA", "",
           "5K8264ILTKCH16CQ2502SI8ZNMTM67WA"}}},
    };
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        struct wxp_buf b;
        int rc = 0;
        wxp_buf_init(&b, (size_t)1024 * 1024);
        for (size_t k = 0; k < 4 && ROWS[i].step[k][0] != NULL && rc == 0; k++) {
            const char *const *st = ROWS[i].step[k];
            if (k > 0) {
                rc = wxp_buf_addstr(&b, REQTEXT_SEPARATOR) == WXP_OK ? 0 : -1;
            }
            if (rc == 0 && st[3] == NULL) {
                rc = wxp_buf_addf(&b, "%s %s\n\n%s", st[0], st[1], st[2]) == WXP_OK ? 0 : -1;
            } else if (rc == 0) {
                rc = request(&b, st[0], st[1], st[2], st[3], "");
            }
        }
        if (rc == 0) {
            rc = write_file(dir, ROWS[i].name, b.ptr, b.len);
        }
        wxp_buf_free(&b);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

/* Five header lines and the body, signed by the platform key. */
static int resp_seed(const char *dir, const char *name, const char *serial, const char *body)
{
    static const char nonce[] = "C9E1A5D3F0B24C6E8A7D9B1F3E5C7A90";
    char ts[24];
    char sig[WXP_SIG_B64_MAX];
    struct wxp_buf msg, out;
    struct wxp_err err;
    enum wxp_code rc;
    int ret = -1;

    snprintf(ts, sizeof ts, "%lld", (long long)FUZZ_NOW);
    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    wxp_buf_init(&out, WXP_SIGNMSG_MAX);
    rc = wxp_signmsg_response(&msg, wxp_str_c(ts), wxp_str_c(nonce), wxp_str_c(body), &err);
    if (rc == WXP_OK) {
        rc = wxp_sign(platform, msg.ptr, msg.len, sig, sizeof sig, NULL, &err);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(&out, "%s\n%s\n%s\n%s\n%s\n%s", ts, nonce, sig, serial,
                          "08F78BB5AF0D8A7E6D5C4B3A29180F1E2D3C-1", body);
    }
    if (rc == WXP_OK) {
        ret = write_file(dir, name, out.ptr, out.len);
    } else {
        fprintf(stderr, "seedgen: %s\n", err.msg);
    }
    wxp_buf_free(&msg);
    wxp_buf_free(&out);
    return ret;
}

int main(int argc, char **argv)
{
    char dir[1024];
    struct wxp_err err;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seedgen CORPUS_DIR (fuzz/corpus)\n");
        return 2;
    }
    if (wxp_key_private_pem(fuzz_embed_merchant_a_key, strlen(fuzz_embed_merchant_a_key), &merchant,
                            &err) != WXP_OK ||
        wxp_key_private_pem(fuzz_embed_platform_key, strlen(fuzz_embed_platform_key), &platform,
                            &err) != WXP_OK) {
        fprintf(stderr, "seedgen: %s\n", err.msg);
        goto out;
    }
    snprintf(dir, sizeof dir, "%s/handler", argv[1]);
    if (handler_seeds(dir) != 0 || operation_seeds(dir) != 0) {
        goto out;
    }
    snprintf(dir, sizeof dir, "%s/resp", argv[1]);
    if (resp_seed(dir, "valid-204-cert", "6D5C4B3A29180F1E2D3C4B5A69788796A5B4C3D2", "") != 0 ||
        resp_seed(dir, "valid-200-pubkey", FUZZ_PUBKEY_ID, "{\"code\":\"OK\"}") != 0 ||
        resp_seed(dir, "valid-400-envelope-cert", "6D5C4B3A29180F1E2D3C4B5A69788796A5B4C3D2",
                  "{\"code\":\"PARAM_ERROR\",\"message\":\"参数错误\"}") != 0) {
        goto out;
    }
    rc = 0;
out:
    wxp_key_free(merchant);
    wxp_key_free(platform);
    return rc;
}
