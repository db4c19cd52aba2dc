/* SPDX-License-Identifier: MIT */
/* notify.c: wxpay_notify_parse, a received notification checked with the client's platform keys,
 * clock window and APIv3 key (the core's wxp_notify_parse does the work). */
#include <string.h>
#include <time.h>

#include "internal.h"
#include "wxp/mem.h"
#include "wxp/notify.h"

/* An unknown serial downloads the certificates again at most this often (auto_certificates). */
#define NOTIFY_REFRESH_SECONDS 60

/* Core codes to the public reason and kind (-Wswitch-enum: a table, not a switch). Codes not
 * listed are WXPAY_ERR_VERIFY/bad_signature, the safe reading. */
static const struct {
    enum wxp_code code;
    enum wxpay_result_kind kind;
    enum wxpay_verify_failure vf;
} REASONS[] = {
    {WXP_E_NOTIFY_SIG_TYPE, WXPAY_ERR_VERIFY, WXPAY_VF_UNSUPPORTED_TYPE},
    {WXP_E_RESP_HEADER_MISSING, WXPAY_ERR_VERIFY, WXPAY_VF_MISSING_HEADER},
    {WXP_E_RESP_TIMESTAMP, WXPAY_ERR_VERIFY, WXPAY_VF_BAD_TIMESTAMP},
    {WXP_E_TIMESTAMP_STALE, WXPAY_ERR_VERIFY, WXPAY_VF_STALE},
    {WXP_E_TIMESTAMP_FUTURE, WXPAY_ERR_VERIFY, WXPAY_VF_FUTURE},
    {WXP_E_SERIAL_UNKNOWN, WXPAY_ERR_VERIFY, WXPAY_VF_UNKNOWN_SERIAL},
    {WXP_E_SIG_PROBE, WXPAY_ERR_VERIFY, WXPAY_VF_PROBE},
    {WXP_E_SIG_MISMATCH, WXPAY_ERR_VERIFY, WXPAY_VF_BAD_SIGNATURE},
    {WXP_E_TOO_LARGE, WXPAY_ERR_NOTIFY, WXPAY_VF_BAD_ENVELOPE},
    {WXP_E_UTF8, WXPAY_ERR_NOTIFY, WXPAY_VF_BAD_ENVELOPE},
    {WXP_E_JSON_SYNTAX, WXPAY_ERR_NOTIFY, WXPAY_VF_BAD_ENVELOPE},
    {WXP_E_NOTIFY_ENVELOPE, WXPAY_ERR_NOTIFY, WXPAY_VF_BAD_ENVELOPE},
    {WXP_E_NOTIFY_RESOURCE_TYPE, WXPAY_ERR_NOTIFY, WXPAY_VF_RESOURCE_TYPE},
    {WXP_E_NOTIFY_ALGORITHM, WXPAY_ERR_NOTIFY, WXPAY_VF_ALGORITHM},
    {WXP_E_AEAD_NONCE, WXPAY_ERR_NOTIFY, WXPAY_VF_DECRYPT},
    {WXP_E_AEAD_FORMAT, WXPAY_ERR_NOTIFY, WXPAY_VF_DECRYPT},
    {WXP_E_AEAD_AUTH, WXPAY_ERR_NOTIFY, WXPAY_VF_DECRYPT},
    {WXP_E_NOTIFY_PLAINTEXT, WXPAY_ERR_NOTIFY, WXPAY_VF_PLAINTEXT},
};

static struct wxp_str opt(const char *s)
{
    return wxp_str_c(s); /* NULL stays absent */
}

static enum wxp_code parse_once(const struct wxpay_client *c, const struct wxp_notify_in *in,
                                struct wxp_notify *n, struct wxp_err *err)
{
    struct wxp_str key = {(const char *)c->apiv3_key, sizeof c->apiv3_key};
    /* rule: a notification carries the four Wechatpay-* headers; Request-ID appears in samples
     * but is not listed as required. src:
     * docs/notifications.md#verifying-and-decrypting-a-notification */
    struct wxp_resp_policy pol = {(int64_t)time(NULL), (int64_t)c->skew, false};

    wxp_err_clear(err);
    return wxp_notify_parse(c->keys, key, in, &pol, n, err);
}

/* Moves the core's strings into the public struct (both own their memory through wxp_malloc). */
static void hand_over(struct wxp_notify *n, struct wxpay_notification *out)
{
    out->id = n->id;
    out->create_time = n->create_time;
    out->event_type = n->event_type;
    out->resource_type = n->resource_type;
    out->summary = n->summary;
    out->original_type = n->original_type;
    out->resource = n->resource;
    out->resource_len = n->resource_len;
    out->algorithm = n->algorithm;
    out->associated_data = n->associated_data;
    memset(n, 0, sizeof *n);
}

enum wxpay_result_kind wxpay_notify_parse(struct wxpay_client *c,
                                          const struct wxpay_notify_input *in,
                                          struct wxpay_notification *out, struct wxpay_result *res)
{
    struct wxp_notify_in w;
    struct wxp_notify n;
    struct wxp_err err;
    enum wxpay_result_kind kind;
    enum wxp_code rc;
    long long now = (long long)time(NULL);

    wxl_result_reset(res);
    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    if (c == NULL || in == NULL || out == NULL || (in->body == NULL && in->body_len > 0)) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "wxpay_notify_parse: a NULL argument");
    }
    if (!c->has_apiv3_key) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "apiv3_key: required to decrypt notifications (give apiv3_key_file or "
                        "apiv3_key)");
    }
    if (in->request_id != NULL) {
        wxl_copy(res->request_id, sizeof res->request_id, in->request_id, strlen(in->request_id));
    }
    kind = wxl_certs_auto_before(c, res);
    if (kind != WXPAY_OK) {
        return kind;
    }
    memset(&w, 0, sizeof w);
    w.r.timestamp = opt(in->timestamp);
    w.r.nonce = opt(in->nonce);
    w.r.signature = opt(in->signature);
    w.r.serial = opt(in->serial);
    w.r.request_id = opt(in->request_id);
    w.r.body = (struct wxp_str){in->body != NULL ? in->body : "", in->body_len};
    w.signature_type = opt(in->signature_type);
    rc = parse_once(c, &w, &n, &err);
    /* rule: in auto_certificates mode an unknown serial downloads the certificates once more and
     * is checked again, as for an answer (the platform may have rotated); the sender controls the
     * serial, so at most once a minute. src: [GB-CERTS] */
    if (rc == WXP_E_SERIAL_UNKNOWN && c->auto_certs && !c->in_refresh &&
        now - c->notify_refresh_at >= NOTIFY_REFRESH_SECONDS) {
        struct wxpay_result dl;
        c->notify_refresh_at = now;
        if (wxl_certs_refresh(c, &dl) == WXPAY_OK) {
            rc = parse_once(c, &w, &n, &err);
        }
        wxpay_result_free(&dl);
    }
    if (rc == WXP_OK) {
        res->kind = WXPAY_OK;
        res->signature = WXPAY_SIG_VALID;
        hand_over(&n, out);
        return WXPAY_OK;
    }
    kind = WXPAY_ERR_VERIFY;
    res->verify_failure = WXPAY_VF_BAD_SIGNATURE;
    for (size_t i = 0; i < sizeof REASONS / sizeof REASONS[0]; i++) {
        if (REASONS[i].code == rc) {
            kind = REASONS[i].kind;
            res->verify_failure = REASONS[i].vf;
            break;
        }
    }
    if (rc == WXP_E_NOMEM) {
        kind = WXPAY_ERR_LOCAL;
        res->verify_failure = WXPAY_VF_NONE;
    }
    if (kind == WXPAY_ERR_VERIFY) {
        res->signature = in->signature == NULL ? WXPAY_SIG_UNSIGNED : WXPAY_SIG_INVALID;
    } else if (kind == WXPAY_ERR_NOTIFY && rc != WXP_E_TOO_LARGE) {
        res->signature = WXPAY_SIG_VALID;
    }
    wxl_copy(res->verify_detail, sizeof res->verify_detail, err.msg, strlen(err.msg));
    return wxl_fail(res, kind, "%s%s%s", err.field, err.field[0] != '\0' ? ": " : "",
                    err.msg[0] != '\0' ? err.msg : wxp_code_desc(rc));
}

void wxpay_notification_free(struct wxpay_notification *n)
{
    struct wxp_notify core;

    if (n == NULL) {
        return;
    }
    memset(&core, 0, sizeof core);
    core.id = n->id;
    core.create_time = n->create_time;
    core.event_type = n->event_type;
    core.resource_type = n->resource_type;
    core.summary = n->summary;
    core.original_type = n->original_type;
    core.resource = n->resource;
    core.resource_len = n->resource_len;
    core.algorithm = n->algorithm;
    core.associated_data = n->associated_data;
    wxp_notify_free(&core);
    memset(n, 0, sizeof *n);
}
