/* SPDX-License-Identifier: MIT */
/* certs.c: wxpay_certificates, the platform certificate download (GET /v3/certificates). */
#include <string.h>
#include <time.h>

#include "internal.h"
#include "wxp/certlist.h"
#include "wxp/mem.h"

/* The operation of the table that lists the platform certificates (GET /v3/certificates; no
 * algorithm_type: RSA). */
#define CERTS_OP "platform.certificates.list"

static struct wxp_str apiv3_of(const struct wxpay_client *c)
{
    struct wxp_str k = {(const char *)c->apiv3_key, sizeof c->apiv3_key};
    return k;
}

struct wxp_keystore *wxl_certs_first_keys(const struct wxpay_client *c, struct wxp_str body)
{
    struct wxp_certlist l;
    struct wxp_keystore *ks = NULL;

    wxp_certlist_init(&l);
    if (!c->has_apiv3_key || wxp_certlist_parse(&l, body.ptr, body.len, apiv3_of(c),
                                                (int64_t)time(NULL), NULL) != WXP_OK) {
        goto out;
    }
    ks = wxp_keystore_new();
    if (ks != NULL && wxp_certlist_add_keys(&l, ks, NULL) != WXP_OK) {
        wxp_keystore_free(ks);
        ks = NULL;
    }
out:
    wxp_certlist_free(&l);
    return ks;
}

static enum wxpay_result_kind fill(const struct wxp_certlist *l, struct wxpay_certs *out,
                                   struct wxpay_result *res)
{
    out->cert = wxp_malloc(l->count * sizeof out->cert[0]);
    if (out->cert == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "out of memory");
    }
    memset(out->cert, 0, l->count * sizeof out->cert[0]);
    for (size_t i = 0; i < l->count; i++) {
        const struct wxp_platcert *p = &l->cert[i];
        struct wxpay_cert *d = &out->cert[i];

        out->count = i + 1;
        wxl_copy(d->serial_no, sizeof d->serial_no, p->serial, strlen(p->serial));
        wxl_copy(d->effective_time, sizeof d->effective_time, p->effective, strlen(p->effective));
        wxl_copy(d->expire_time, sizeof d->expire_time, p->expire, strlen(p->expire));
        d->not_before = (long long)p->not_before;
        d->not_after = (long long)p->not_after;
        d->pem = wxp_strndup(p->pem.ptr, p->pem.len);
        if (d->pem == NULL) {
            return wxl_fail(res, WXPAY_ERR_LOCAL, "out of memory");
        }
        d->pem_len = p->pem.len;
    }
    return WXPAY_OK;
}

enum wxpay_result_kind wxpay_certificates(struct wxpay_client *c, struct wxpay_certs *out,
                                          struct wxpay_result *res)
{
    struct wxp_certlist l;
    struct wxp_err err;
    enum wxpay_result_kind kind;
    bool first;
    bool was;

    wxl_result_reset(res);
    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    if (c == NULL || out == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "wxpay_certificates: client and out are required");
    }
    if (!c->has_apiv3_key) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "apiv3_key: required to decrypt the platform certificates (give "
                        "apiv3_key_file or apiv3_key)");
    }
    first = wxp_keystore_count(c->keys) == 0;
    was = c->in_refresh;
    c->first_download = first;
    c->in_refresh = true; /* this request is the download: auto_certificates stays out of it */
    kind = wxpay_call(c, CERTS_OP, NULL, 0, NULL, res);
    c->in_refresh = was;
    c->first_download = false;
    if (kind == WXPAY_ERR_WECHAT && res->http_status == 404 &&
        strcmp(res->code, "RESOURCE_NOT_EXISTS") == 0) {
        /* rule: a merchant that only has the platform public key gets 404 RESOURCE_NOT_EXISTS
         * here. src: [I-JAVA354] */
        return wxl_fail(res, WXPAY_ERR_WECHAT,
                        "HTTP 404 RESOURCE_NOT_EXISTS: %s; this merchant has no platform "
                        "certificate: verify answers with the platform public key and its "
                        "PUB_KEY_ID_ id instead",
                        res->message);
    }
    wxp_certlist_init(&l);
    wxp_err_clear(&err);
    if (kind == WXPAY_OK || (first && kind == WXPAY_ERR_VERIFY && res->body != NULL)) {
        /* A verified list is checked; on a first download that failed verification, reading
         * the list tells the real cause (a wrong APIv3 key) before the signature's. */
        if (wxp_certlist_parse(&l, res->body, res->body_len, apiv3_of(c), (int64_t)time(NULL),
                               &err) != WXP_OK) {
            kind = wxl_fail(res, WXPAY_ERR_VERIFY, "certificates: %s: %s", err.field, err.msg);
            /* The list's own failure is the cause to show, before any signature detail. */
            wxl_copy(res->verify_detail, sizeof res->verify_detail, res->error, strlen(res->error));
            goto out;
        }
    }
    if (kind != WXPAY_OK) {
        goto out;
    }
    out->trust_on_first_use = first;
    kind = fill(&l, out, res);
    if (kind != WXPAY_OK) {
        goto out;
    }
out:
    wxp_certlist_free(&l);
    if (kind != WXPAY_OK) {
        wxpay_certs_free(out);
    }
    return kind;
}

void wxpay_certs_free(struct wxpay_certs *out)
{
    if (out == NULL) {
        return;
    }
    for (size_t i = 0; i < out->count; i++) {
        wxp_free(out->cert[i].pem);
    }
    wxp_free(out->cert);
    memset(out, 0, sizeof *out);
}

/* rule: download the certificates again well before they can change under us (the live server
 * lists a new one 24 h before it switches; less than 12 h between downloads is advised).
 * src: [GB-CERTS] */
#define REFRESH_SECONDS (12LL * 3600)

enum wxpay_result_kind wxl_certs_refresh(struct wxpay_client *c, struct wxpay_result *res)
{
    struct wxpay_certs certs;
    struct wxp_err err;
    enum wxpay_result_kind kind;

    c->in_refresh = true;
    kind = wxpay_certificates(c, &certs, res);
    c->in_refresh = false;
    if (kind != WXPAY_OK) {
        wxpay_certs_free(&certs);
        return kind;
    }
    wxp_err_clear(&err);
    for (size_t i = 0; i < certs.count; i++) {
        struct wxp_key *k = NULL;
        if (wxp_keystore_find(c->keys, wxp_str_c(certs.cert[i].serial_no)) != NULL) {
            continue;
        }
        if (wxp_key_cert_pem(certs.cert[i].pem, certs.cert[i].pem_len, &k, &err) != WXP_OK ||
            wxp_keystore_add(c->keys, k, &err) != WXP_OK) {
            kind = wxl_fail(res, WXPAY_ERR_LOCAL, "auto_certificates: %s", err.msg);
            break;
        }
    }
    wxpay_certs_free(&certs);
    if (kind == WXPAY_OK) {
        c->certs_loaded = true;
        c->certs_due = (long long)time(NULL) + REFRESH_SECONDS;
    }
    return kind;
}
