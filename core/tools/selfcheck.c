/* SPDX-License-Identifier: MIT */
/* selfcheck.c: wxp-selfcheck, the core's end-to-end self-check with the test fixtures: sign a
 * terminate request as merchant 1900000109, print its Authorization header, parse and verify it as
 * a server would, then sign a 204 as the platform and verify it as a client would. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wxp/authz.h"
#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/schema.h"
#include "wxp/sign.h"
#include "wxp/signmsg.h"
#include "wxp/verify.h"

#define MCHID "1900000109"
#define OPENID "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
#define TARGET "/v3/payscore/permissions/openid/" OPENID "/terminate"

struct ctx {
    const char *dir;
    char path[1024];
};

static const char *fx(struct ctx *c, const char *rel)
{
    snprintf(c->path, sizeof c->path, "%s/%s", c->dir, rel);
    return c->path;
}

static int failed(const char *step, const struct wxp_err *err)
{
    fprintf(stderr, "wxp-selfcheck: %s failed: %s [%s]%s%s\n", step, err->msg,
            wxp_code_name(err->code), err->field[0] ? " field=" : "", err->field);
    return 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: wxp-selfcheck [--fixtures DIR]\n"
            "Signs a sample terminate request with the TEST ONLY fixtures, prints its\n"
            "Authorization header, verifies it as the server would, and verifies a signed\n"
            "204 response as a client would. Exit status 0 when every step passes.\n"
            "  --fixtures DIR  fixtures directory (default: %s)\n",
            WXP_FIXTURES_DIR);
}

int main(int argc, char **argv)
{
    struct ctx c = {WXP_FIXTURES_DIR, ""};
    struct wxp_err err;
    struct wxp_key *mkey = NULL, *mcert = NULL, *pkey = NULL;
    struct wxp_keystore *ks = NULL;
    struct wxp_buf hdr, msg;
    struct wxp_authz a;
    struct wxp_resp r;
    struct wxp_resp_policy pol;
    char *body = NULL;
    size_t body_len = 0;
    char nonce[WXP_NONCE_LEN + 1], ts[24], sig[WXP_SIG_B64_MAX];
    int64_t now = (int64_t)time(NULL);
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fixtures") == 0 && i + 1 < argc) {
            c.dir = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "wxp-selfcheck: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    wxp_err_clear(&err);
    wxp_buf_init(&hdr, 8192);
    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);

    if (wxp_key_private_file(fx(&c, "keys/test-merchant-a.key.pem"), &mkey, &err) != WXP_OK ||
        wxp_key_cert_file(fx(&c, "certs/test-merchant-a.cert.pem"), &mcert, &err) != WXP_OK ||
        wxp_key_private_file(fx(&c, "keys/test-platform.key.pem"), &pkey, &err) != WXP_OK ||
        wxp_file_read(fx(&c, "requests/terminate-valid.json"), WXP_BODY_MAX, &body, &body_len,
                      &err) != WXP_OK) {
        rc = failed("loading fixtures", &err);
        goto out;
    }
    if (wxp_schema_check_body(&WXP_SCHEMA_TERMINATE_BY_OPENID, body, body_len, NULL, NULL, &err) !=
        WXP_OK) {
        rc = failed("checking the sample body against the schema", &err);
        goto out;
    }

    /* Client side: sign. */
    struct wxp_signer signer = {mkey, MCHID, wxp_key_id(mcert)};
    if (wxp_nonce(nonce, &err) != WXP_OK ||
        wxp_authz_sign(&hdr, &signer, wxp_str_c("POST"), wxp_str_c(TARGET), wxp_str_c(body), now,
                       nonce, &err) != WXP_OK) {
        rc = failed("signing the request", &err);
        goto out;
    }
    printf("request    POST %s\n", TARGET);
    printf("body       %s\n", body);
    printf("Authorization: %s\n", wxp_buf_cstr(&hdr));

    /* Server side: parse, check the window, verify over what was sent. */
    if (wxp_authz_parse(hdr.ptr, hdr.len, &a, &err) != WXP_OK) {
        rc = failed("parsing the Authorization header", &err);
        goto out;
    }
    if (wxp_skew_check(a.ts, now, WXP_SKEW_DEFAULT) != WXP_OK) {
        fprintf(stderr, "wxp-selfcheck: timestamp outside the window\n");
        goto out;
    }
    if (wxp_authz_verify(mcert, &a, wxp_str_c("POST"), wxp_str_c(TARGET), wxp_str_c(body), NULL,
                         &err) != WXP_OK) {
        rc = failed("verifying the request signature", &err);
        goto out;
    }
    printf("server     request signature verified with certificate %s\n", wxp_key_id(mcert));

    /* Platform signs a 204 over "ts\nnonce\n\n"; the client verifies it. */
    snprintf(ts, sizeof ts, "%lld", (long long)now);
    if (wxp_nonce(nonce, &err) != WXP_OK ||
        wxp_signmsg_response(&msg, wxp_str_c(ts), wxp_str_c(nonce), wxp_str_c(""), &err) !=
            WXP_OK ||
        wxp_sign(pkey, msg.ptr, msg.len, sig, sizeof sig, NULL, &err) != WXP_OK) {
        rc = failed("signing the 204 response", &err);
        goto out;
    }
    ks = wxp_keystore_new();
    struct wxp_key *pcert = NULL;
    if (ks == NULL ||
        wxp_key_cert_file(fx(&c, "certs/test-platform.cert.pem"), &pcert, &err) != WXP_OK ||
        wxp_keystore_add(ks, pcert, &err) != WXP_OK) {
        rc = failed("loading the platform certificate", &err);
        goto out;
    }
    r.timestamp = wxp_str_c(ts);
    r.nonce = wxp_str_c(nonce);
    r.signature = wxp_str_c(sig);
    r.serial = wxp_str_c(wxp_key_id(wxp_keystore_at(ks, 0)));
    r.request_id = wxp_str_c("selfcheck-0");
    r.body = wxp_str_c("");
    pol.now = now;
    pol.window = WXP_SKEW_DEFAULT;
    pol.require_request_id = true;
    if (wxp_resp_verify(ks, &r, &pol, &err) != WXP_OK) {
        rc = failed("verifying the 204 response", &err);
        goto out;
    }
    printf("client     204 response signature verified (Wechatpay-Serial %.*s)\n",
           (int)r.serial.len, r.serial.ptr);
    printf("selfcheck  ok\n");
    rc = 0;
out:
    wxp_buf_free(&hdr);
    wxp_buf_free(&msg);
    wxp_free(body);
    wxp_key_free(mkey);
    wxp_key_free(mcert);
    wxp_key_free(pkey);
    wxp_keystore_free(ks);
    return rc;
}
