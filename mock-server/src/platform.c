/* SPDX-License-Identifier: MIT */
/* platform.c: the platform certificates the mock signs with and lists at GET /v3/certificates:
 * each one's PEM text and validity, and which one signs by default (rotation). */
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

#include "mock.h"
#include "wxp/mem.h"

/* A certificate's PEM text is far below this; anything longer is not one of ours. */
#define CERT_PEM_MAX ((size_t)16 * 1024)

/* Seconds since the Unix epoch of an ASN1_TIME. */
static bool unix_time(const ASN1_TIME *t, int64_t *out)
{
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    int days = 0, secs = 0;
    bool ok = epoch != NULL && t != NULL && ASN1_TIME_diff(&days, &secs, epoch, t) == 1;

    ASN1_TIME_free(epoch);
    if (ok) {
        *out = (int64_t)days * 86400 + secs;
    }
    return ok;
}

enum wxp_code mock_platform_cert(struct mock_platform *p, const char *path, const char *pem,
                                 struct wxp_err *err)
{
    BIO *in = NULL, *out = NULL;
    X509 *x = NULL;
    char *text = NULL;
    long n;
    enum wxp_code rc = WXP_OK;

    if (path != NULL) {
        in = BIO_new_file(path, "r");
        if (in == NULL) {
            rc = wxp_err_openssl(err, WXP_E_IO, "cannot read the certificate file");
            goto out;
        }
    } else {
        in = BIO_new_mem_buf(pem, -1);
    }
    out = BIO_new(BIO_s_mem());
    if (in == NULL || out == NULL) {
        rc = wxp_err_openssl(err, WXP_E_NOMEM, "cannot allocate a BIO");
        goto out;
    }
    x = PEM_read_bio_X509(in, NULL, NULL, NULL);
    if (x == NULL) {
        rc = wxp_err_openssl(err, WXP_E_KEY_PEM, "not a PEM certificate");
        goto out;
    }
    if (!unix_time(X509_get0_notBefore(x), &p->not_before) ||
        !unix_time(X509_get0_notAfter(x), &p->not_after)) {
        rc = wxp_err_openssl(err, WXP_E_KEY_PEM, "cannot read the certificate's validity");
        goto out;
    }
    /* The PEM re-encoded by OpenSSL: one certificate, no text around it, whatever the file had. */
    if (PEM_write_bio_X509(out, x) != 1) {
        rc = wxp_err_openssl(err, WXP_E_CRYPTO, "cannot encode the certificate");
        goto out;
    }
    char *mem = NULL;
    n = BIO_get_mem_data(out, &mem);
    if (n <= 0 || (size_t)n > CERT_PEM_MAX) {
        rc = wxp_err_set(err, WXP_E_KEY_PEM, NULL, "the certificate is too large");
        goto out;
    }
    text = wxp_strndup(mem, (size_t)n);
    if (text == NULL) {
        rc = wxp_err_set(err, WXP_E_NOMEM, NULL, NULL);
        goto out;
    }
    wxp_free(p->cert_pem);
    p->cert_pem = text;
out:
    X509_free(x);
    BIO_free(in);
    BIO_free(out);
    return rc;
}

bool mock_platform_cert_valid(const struct mock_platform *p, int64_t now)
{
    return p->cert_pem != NULL && p->not_before <= now && now < p->not_after;
}

const struct mock_platform *mock_platform_current(const struct mock_server *srv)
{
    size_t i = atomic_load(&srv->signer);

    return &srv->cfg.signers[i < srv->cfg.nsigners ? i : 0];
}

/* rule: a rotation switches the signing certificate to the next one; the new certificate was
 * listed before the switch. src: docs/mock-admin.md#platform-rotate ([GB-CERTS]) */
const struct mock_platform *mock_platform_rotate(struct mock_server *srv, int64_t now)
{
    size_t cur = atomic_load(&srv->signer);

    for (size_t i = cur + 1; i < srv->cfg.nsigners; i++) {
        if (mock_platform_cert_valid(&srv->cfg.signers[i], now) &&
            atomic_compare_exchange_strong(&srv->signer, &cur, i)) {
            return &srv->cfg.signers[i];
        }
    }
    return NULL;
}

void mock_platform_reset(struct mock_server *srv)
{
    atomic_store(&srv->signer, 0);
}
