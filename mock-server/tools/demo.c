/* SPDX-License-Identifier: MIT */
/* demo.c: wxpay-mock-demo, one signed terminate call against a running mock, with libcurl and the
 * core: prints the request, the answer and whether its signature verifies. ci/up runs it. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "wxp/authz.h"
#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/verify.h"

#define MCHID "1900000109"
#define BODY                                                                                       \
    "{\"service_id\":\"2002000000000558128851361561536\",\"appid\":\"wxd678efh567hg6787\","        \
    "\"reason\":\"用户主动解除授权\"}"

struct answer {
    struct wxp_buf body;
    char hdr[5][800]; /* Timestamp, Nonce, Signature, Serial, Request-ID */
};

static const char *const NAMES[5] = {"Wechatpay-Timestamp", "Wechatpay-Nonce",
                                     "Wechatpay-Signature", "Wechatpay-Serial", "Request-ID"};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct answer *a = ud;
    return wxp_buf_add(&a->body, p, size * n) == WXP_OK ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct answer *a = ud;
    size_t len = size * n;
    for (int i = 0; i < 5; i++) {
        size_t k = strlen(NAMES[i]);
        if (len > k + 1 && strncasecmp(p, NAMES[i], k) == 0 && p[k] == ':') {
            size_t s = k + 1, e = len;
            while (s < e && p[s] == ' ') {
                s++;
            }
            while (e > s && (p[e - 1] == '\r' || p[e - 1] == '\n')) {
                e--;
            }
            snprintf(a->hdr[i], sizeof a->hdr[i], "%.*s", (int)(e - s), p + s);
        }
    }
    return len;
}

static struct wxp_str hv(const struct answer *a, int i)
{
    struct wxp_str s = {a->hdr[i][0] ? a->hdr[i] : NULL, strlen(a->hdr[i])};
    return s;
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : NULL;
    const char *dir = argc > 2 ? argv[2] : WXP_FIXTURES_DIR;
    const char *openid = argc > 3 ? argv[3] : "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
    char path[1200], target[600], url[1024], nonce[WXP_NONCE_LEN + 1];
    struct wxp_key *key = NULL, *cert = NULL, *pcert = NULL;
    struct wxp_keystore *ks = wxp_keystore_new();
    struct wxp_buf authz, line;
    struct wxp_err err;
    struct answer a;
    struct curl_slist *h = NULL;
    CURL *c = NULL;
    long status = 0;
    int rc = 1;

    memset(&a, 0, sizeof a);
    wxp_buf_init(&a.body, 1 << 20);
    wxp_buf_init(&authz, 8192);
    wxp_buf_init(&line, 8192);
    if (base == NULL || strcmp(base, "--help") == 0) {
        fprintf(base ? stdout : stderr,
                "usage: wxpay-mock-demo BASE_URL [FIXTURES_DIR [OPENID]]\n"
                "One signed terminate call as TEST merchant 1900000109; verifies the answer.\n");
        return base ? 0 : 2;
    }
    snprintf(path, sizeof path, "%s/keys/test-merchant-a.key.pem", dir);
    if (wxp_key_private_file(path, &key, &err) != WXP_OK) {
        goto fail;
    }
    snprintf(path, sizeof path, "%s/certs/test-merchant-a.cert.pem", dir);
    if (wxp_key_cert_file(path, &cert, &err) != WXP_OK) {
        goto fail;
    }
    snprintf(path, sizeof path, "%s/certs/test-platform.cert.pem", dir);
    if (ks == NULL || wxp_key_cert_file(path, &pcert, &err) != WXP_OK ||
        wxp_keystore_add(ks, pcert, &err) != WXP_OK) {
        goto fail;
    }
    snprintf(target, sizeof target, "/v3/payscore/permissions/openid/%s/terminate", openid);
    snprintf(url, sizeof url, "%s%s", base, target);
    struct wxp_signer s = {key, MCHID, wxp_key_id(cert)};
    if (wxp_nonce(nonce, &err) != WXP_OK ||
        wxp_authz_sign(&authz, &s, wxp_str_c("POST"), wxp_str_c(target), wxp_str_c(BODY),
                       (int64_t)time(NULL), nonce, &err) != WXP_OK ||
        wxp_buf_addf(&line, "Authorization: %s", authz.ptr) != WXP_OK) {
        goto fail;
    }
    printf("> POST %s\n> Authorization: %s\n> %s\n", url, authz.ptr, BODY);
    h = curl_slist_append(h, line.ptr);
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "User-Agent: wxpay-mock-demo/" WXP_VERSION);
    c = curl_easy_init();
    if (c == NULL || h == NULL) {
        fprintf(stderr, "wxpay-mock-demo: cannot set up libcurl\n");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, BODY);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        fprintf(stderr, "wxpay-mock-demo: %s: %s\n", url, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    printf("< HTTP %ld\n", status);
    for (int i = 0; i < 5; i++) {
        if (a.hdr[i][0]) {
            printf("< %s: %s\n", NAMES[i], a.hdr[i]);
        }
    }
    if (a.body.len > 0) {
        printf("< %s\n", a.body.ptr);
    }
    struct wxp_resp r = {hv(&a, 0), hv(&a, 1), hv(&a, 2),
                         hv(&a, 3), hv(&a, 4), {a.body.ptr ? a.body.ptr : "", a.body.len}};
    struct wxp_resp_policy p = {(int64_t)time(NULL), WXP_SKEW_DEFAULT, true};
    if (status < 200 || status > 299) {
        fprintf(stderr, "wxpay-mock-demo: the call failed with HTTP %ld\n", status);
        goto out;
    }
    if (wxp_resp_verify(ks, &r, &p, &err) != WXP_OK) {
        fprintf(stderr, "wxpay-mock-demo: response signature rejected: %s\n", err.msg);
        goto out;
    }
    printf("response signature verified with platform certificate %s\n", a.hdr[3]);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "wxpay-mock-demo: %s\n", err.msg);
out:
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    wxp_buf_free(&a.body);
    wxp_buf_free(&authz);
    wxp_buf_free(&line);
    wxp_key_free(key);
    wxp_key_free(cert);
    wxp_keystore_free(ks);
    return rc;
}
