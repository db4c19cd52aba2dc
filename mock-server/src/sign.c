/* SPDX-License-Identifier: MIT */
/* sign.c: the Wechatpay-* headers of a response, and the tampering scenarios ask for. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "mock.h"
#include "wxp/nonce.h"
#include "wxp/sign.h"
#include "wxp/signmsg.h"
#include "wxp/verify.h"

/* A serial no client knows: not any fixture's. */
#define UNKNOWN_SERIAL "7F00000000000000000000000000000000000001"

/* rule: sign with the key the request's Wechatpay-Serial names when we hold it; otherwise the
 * default signer. src: docs/mock-server.md#response-signing (research R10, [D-ECHO]) */
static const struct mock_platform *pick_signer(const struct mock_server *srv,
                                               const struct mock_request *req)
{
    const char *want = mock_request_header(req, "Wechatpay-Serial");
    for (size_t i = 0; want != NULL && i < srv->cfg.nsigners; i++) {
        if (strcmp(srv->cfg.signers[i].id, want) == 0) {
            return &srv->cfg.signers[i];
        }
    }
    return &srv->cfg.signers[0];
}

enum wxp_code mock_sign_response(const struct mock_server *srv, const struct mock_request *req,
                                 const struct mock_response *resp, struct mock_out_headers *out,
                                 struct wxp_err *err)
{
    const struct mock_platform *signer = pick_signer(srv, req);
    unsigned char rnd[18];
    struct wxp_buf msg;
    struct wxp_str body;
    size_t off = 0;
    enum wxp_code rc;

    memset(out, 0, sizeof *out);
    /* rule: every answer carries a unique Request-ID, shaped like the live ones (uppercase hex,
     * '-', a counter). src: docs/mock-server.md#response-signing ([D-BASIC-M], [D-VERIFY-PK]) */
    if (RAND_bytes(rnd, 18) != 1) {
        return wxp_err_openssl(err, WXP_E_CRYPTO, "RAND_bytes failed");
    }
    for (size_t i = 0; i < 18; i++) {
        static const char HEX[] = "0123456789ABCDEF";
        out->request_id[2 * i] = HEX[rnd[i] >> 4];
        out->request_id[2 * i + 1] = HEX[rnd[i] & 15];
    }
    snprintf(out->request_id + 36, sizeof out->request_id - 36, "-%llu",
             (unsigned long long)req->seq);
    /* "signature":"none" overrides both the 2xx rule and --sign-errors: an answer with no
     * signature at all, which a client must treat as forged on a 2xx.
     * src: docs/mock-scenarios.md#members-that-tamper ([EXT-SIGNRULE]) */
    if (resp->sigmode == MOCK_SIG_NONE ||
        !(resp->sign || (srv->cfg.sign_errors && resp->status >= 400))) {
        return WXP_OK;
    }
    snprintf(out->timestamp, sizeof out->timestamp, "%lld",
             (long long)time(NULL) + (long long)resp->ts_offset);
    rc = wxp_nonce(out->nonce, err);
    if (rc != WXP_OK) {
        return rc;
    }
    snprintf(out->serial, sizeof out->serial, "%s",
             resp->unknown_serial ? UNKNOWN_SERIAL : signer->id);
    body.ptr = resp->sign_over ? resp->sign_over : resp->body.ptr;
    body.len = resp->sign_over ? strlen(resp->sign_over) : resp->body.len;
    if (body.ptr == NULL) {
        body.ptr = "";
    }
    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    rc = wxp_signmsg_response(&msg, wxp_str_c(out->timestamp), wxp_str_c(out->nonce), body, err);
    if (rc == WXP_OK && resp->sigmode == MOCK_SIG_PROBE) {
        memcpy(out->signature, WXP_PROBE_PREFIX, sizeof WXP_PROBE_PREFIX - 1);
        off = sizeof WXP_PROBE_PREFIX - 1;
    }
    if (rc == WXP_OK) {
        const struct wxp_key *k =
            resp->sigmode == MOCK_SIG_VALID ? signer->key : srv->cfg.forge_key;
        rc = wxp_sign(k, msg.ptr, msg.len, out->signature + off, sizeof out->signature - off, NULL,
                      err);
    }
    wxp_buf_free(&msg);
    out->has_sig = rc == WXP_OK;
    return rc;
}
