/* SPDX-License-Identifier: MIT */
/* crypto_ceiling.c: wxp-crypto-ceiling, the crypto ceiling: libmicrohttpd as wxpay-mock runs it,
 * doing per request exactly what a faithful mock cannot avoid: one RSA-2048 verify (a fixed
 * request signing string, pre-signed by merchant A, checked with merchant A's certificate) and
 * one RSA-2048 sign (a fresh response signing string, platform key), then 204 with the headers a
 * client needs to verify it (Wechatpay-Timestamp, -Nonce, -Serial, -Signature, -Signature-Type)
 * and the Request-ID the real server sends: the same header set, of the same sizes, as
 * wxpay-mock's answer, so that a driver reads as many bytes from either. wxpay-mock's default mode
 * is measured against it. Keys load once at start.
 * With --query it does the same for a query: the request string is a GET's (target with its
 * query, empty body) and the answer a 200 with a fixed authorization entity as its JSON body,
 * signed over `ts\nnonce\nBODY\n` (what a query by openid costs the mock beyond the ceiling is
 * then its own work, not the larger answer). */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "serve.h"
#include "wxp/keys.h"
#include "wxp/sign.h"

/* A terminate request's signing string, as a client would sign it. */
static const char REQUEST_MSG[] =
    "POST\n/v3/payscore/permissions/openid/oBenchCeiling0000000000000/terminate\n1700000000\n"
    "5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n"
    "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\",\"reason\":\"bench\"}\n";

/* A query by openid's signing string, and the mock's answer to it, byte for byte in shape and
 * size (an openid never seen, read as AVAILABLE under unknown_openid "authorized": no times). */
static const char QUERY_MSG[] = "GET\n/v3/payscore/permissions/openid/oBenchCeiling0000000000000"
                                "?appid=wxd678efh567hg6787&service_id=500001\n1700000000\n"
                                "5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n\n";
static const char QUERY_BODY[] =
    "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\",\"mchid\":\"1900000109\","
    "\"openid\":\"oBenchCeiling00\",\"authorization_state\":\"AVAILABLE\"}";

struct ceiling {
    bool query;                    /* --query: QUERY_MSG and a 200 with QUERY_BODY */
    struct wxp_key *merchant_cert; /* verifies */
    struct wxp_key *platform_key;  /* signs */
    struct wxp_key *platform_cert; /* its serial goes in Wechatpay-Serial */
    char request_sig[WXP_SIG_B64_MAX];
    size_t request_sig_len;
    atomic_ulong counter; /* makes each response's nonce, so each signature, different */
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *con)
{
    struct ceiling *c = cls;
    const char *req = c->query ? QUERY_MSG : REQUEST_MSG;
    size_t reqlen = c->query ? sizeof QUERY_MSG - 1 : sizeof REQUEST_MSG - 1;
    const char *body = c->query ? QUERY_BODY : "";
    size_t bodylen = c->query ? sizeof QUERY_BODY - 1 : 0;
    char msg[96 + sizeof QUERY_BODY];
    char sig[WXP_SIG_B64_MAX];
    char ts[24], nonce[40], reqid[48];
    unsigned long k = atomic_fetch_add(&c->counter, 1UL);
    size_t siglen = 0;
    struct MHD_Response *r;
    enum MHD_Result ret;
    int n;

    if (wxp_verify(c->merchant_cert, req, reqlen, c->request_sig, c->request_sig_len, NULL) !=
        WXP_OK) {
        return MHD_NO;
    }
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    snprintf(nonce, sizeof nonce, "%032lu", k);
    snprintf(reqid, sizeof reqid, "%036lX-1", k);
    n = snprintf(msg, sizeof msg, "%s\n%s\n%s\n", ts, nonce, body);
    if (n < 0 || (size_t)n >= sizeof msg ||
        wxp_sign(c->platform_key, msg, (size_t)n, sig, sizeof sig, &siglen, NULL) != WXP_OK) {
        return MHD_NO;
    }
    r = MHD_create_response_from_buffer(bodylen, bodylen > 0 ? (void *)(uintptr_t)body : NULL,
                                        MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Request-ID", reqid);
    MHD_add_response_header(r, "Wechatpay-Nonce", nonce);
    MHD_add_response_header(r, "Wechatpay-Signature", sig);
    MHD_add_response_header(r, "Wechatpay-Timestamp", ts);
    MHD_add_response_header(r, "Wechatpay-Serial", wxp_key_id(c->platform_cert));
    MHD_add_response_header(r, "Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048");
    if (c->query) {
        MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    }
    ret = MHD_queue_response(con, c->query ? MHD_HTTP_OK : MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}

int main(int argc, char **argv)
{
    struct ceiling c;
    struct wxp_key *merchant_key = NULL;
    struct wxp_err err;
    int rc = 1;

    memset(&c, 0, sizeof c);
    atomic_init(&c.counter, 0UL);
    /* --query is this program's own flag; the rest are serve.c's. */
    if (argc > 1 && strcmp(argv[1], "--query") == 0) {
        c.query = true;
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    if (wxp_key_cert_file(WXP_FIXTURES_DIR "/certs/test-merchant-a.cert.pem", &c.merchant_cert,
                          &err) != WXP_OK ||
        wxp_key_private_file(WXP_FIXTURES_DIR "/keys/test-merchant-a.key.pem", &merchant_key,
                             &err) != WXP_OK ||
        wxp_key_private_file(WXP_FIXTURES_DIR "/keys/test-platform.key.pem", &c.platform_key,
                             &err) != WXP_OK ||
        wxp_key_cert_file(WXP_FIXTURES_DIR "/certs/test-platform.cert.pem", &c.platform_cert,
                          &err) != WXP_OK ||
        wxp_sign(merchant_key, c.query ? QUERY_MSG : REQUEST_MSG,
                 c.query ? sizeof QUERY_MSG - 1 : sizeof REQUEST_MSG - 1, c.request_sig,
                 sizeof c.request_sig, &c.request_sig_len, &err) != WXP_OK) {
        fprintf(stderr, "wxp-crypto-ceiling: %s\n", err.msg);
        goto out;
    }
    rc = bench_serve_main(argc, argv, "wxp-crypto-ceiling", answer, &c);
out:
    wxp_key_free(merchant_key);
    wxp_key_free(c.merchant_cert);
    wxp_key_free(c.platform_key);
    wxp_key_free(c.platform_cert);
    return rc;
}
