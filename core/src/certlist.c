/* SPDX-License-Identifier: MIT */
/* certlist.c: the platform certificate list of GET /v3/certificates, decrypted and checked. */
#include "wxp/certlist.h"

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>
#include <time.h>

#include "wxp/aead.h"
#include "wxp/json.h"

void wxp_certlist_init(struct wxp_certlist *l)
{
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < WXP_CERTLIST_MAX; i++) {
        wxp_buf_init(&l->cert[i].pem, WXP_PEM_MAX);
    }
}

void wxp_certlist_free(struct wxp_certlist *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < WXP_CERTLIST_MAX; i++) {
        wxp_buf_free(&l->cert[i].pem);
    }
    wxp_certlist_init(l);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era;
    int64_t yoe;
    int64_t doy;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* n ASCII digits at s[*i]; advances *i. */
static bool digits(struct wxp_str s, size_t *i, size_t n, int64_t *out)
{
    int64_t v = 0;

    if (s.len - *i < n) {
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        char ch = s.ptr[*i + k];
        if (ch < '0' || ch > '9') {
            return false;
        }
        v = v * 10 + (ch - '0');
    }
    *i += n;
    *out = v;
    return true;
}

static bool lit(struct wxp_str s, size_t *i, char ch)
{
    if (*i >= s.len || s.ptr[*i] != ch) {
        return false;
    }
    (*i)++;
    return true;
}

bool wxp_rfc3339_parse(struct wxp_str s, int64_t *out)
{
    int64_t y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
    size_t i = 0;

    if (s.ptr == NULL) {
        return false;
    }
    if (!digits(s, &i, 4, &y) || !lit(s, &i, '-') || !digits(s, &i, 2, &mo) || !lit(s, &i, '-') ||
        !digits(s, &i, 2, &d) || !lit(s, &i, 'T') || !digits(s, &i, 2, &h) || !lit(s, &i, ':') ||
        !digits(s, &i, 2, &mi) || !lit(s, &i, ':') || !digits(s, &i, 2, &se)) {
        return false;
    }
    if (i < s.len && s.ptr[i] == '.') {
        i++;
        if (i >= s.len || s.ptr[i] < '0' || s.ptr[i] > '9') {
            return false;
        }
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            i++;
        }
    }
    if (i < s.len && s.ptr[i] == 'Z') {
        i++;
    } else if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-')) {
        sign = s.ptr[i] == '-' ? -1 : 1;
        i++;
        if (!digits(s, &i, 2, &oh) || !lit(s, &i, ':') || !digits(s, &i, 2, &om) || oh > 23 ||
            om > 59) {
            return false;
        }
    } else {
        return false;
    }
    if (i != s.len || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    *out =
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - sign * (oh * 3600 + om * 60);
    return true;
}

static bool asn1_seconds(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;

    memset(&tm, 0, sizeof tm);
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return false;
    }
    *out = days_from_civil((int64_t)tm.tm_year + 1900, (int64_t)tm.tm_mon + 1, tm.tm_mday) * 86400 +
           (int64_t)tm.tm_hour * 3600 + (int64_t)tm.tm_min * 60 + tm.tm_sec;
    return true;
}

/* notBefore/notAfter of the PEM certificate in `pem`. */
static enum wxp_code cert_times(const struct wxp_buf *pem, const char *field, int64_t *nb,
                                int64_t *na, struct wxp_err *err)
{
    BIO *bio = BIO_new_mem_buf(pem->ptr, (int)pem->len);
    X509 *x = NULL;
    enum wxp_code rc = WXP_OK;

    if (bio == NULL) {
        return wxp_err_set(err, WXP_E_NOMEM, field, NULL);
    }
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (x == NULL || !asn1_seconds(X509_get0_notBefore(x), nb) ||
        !asn1_seconds(X509_get0_notAfter(x), na)) {
        ERR_clear_error(); /* no stale OpenSSL error leaks into a later call */
        rc = wxp_err_set(err, WXP_E_KEY_PEM, field, "certificate validity is unreadable");
    }
    X509_free(x);
    BIO_free(bio);
    return rc;
}

/* A string member (case-sensitive), or NULL. */
static const char *member(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static enum wxp_code missing(struct wxp_err *err, size_t i, const char *name)
{
    char field[64];

    snprintf(field, sizeof field, "data[%zu].%s", i, name);
    return wxp_err_set(err, WXP_E_CERTLIST, field, "%s is missing or not a string", name);
}

static enum wxp_code read_entry(const cJSON *e, size_t i, struct wxp_str key, int64_t now,
                                struct wxp_platcert *pc, struct wxp_err *err)
{
    const cJSON *enc = cJSON_GetObjectItemCaseSensitive(e, "encrypt_certificate");
    const char *serial = member(e, "serial_no");
    const char *eff = member(e, "effective_time");
    const char *exp = member(e, "expire_time");
    const char *alg = member(enc, "algorithm");
    const char *nonce = member(enc, "nonce");
    const char *aad = member(enc, "associated_data");
    const char *ct = member(enc, "ciphertext");
    struct wxp_key *k = NULL;
    int64_t eff_s = 0;
    int64_t exp_s = 0;
    char field[64];
    enum wxp_code rc;

    if (!cJSON_IsObject(e)) {
        snprintf(field, sizeof field, "data[%zu]", i);
        return wxp_err_set(err, WXP_E_CERTLIST, field, "entry is not an object");
    }
    if (serial == NULL || serial[0] == '\0' || strlen(serial) > WXP_KEY_ID_MAX) {
        return missing(err, i, "serial_no");
    }
    if (eff == NULL || strlen(eff) >= WXP_CERT_TIME_MAX) {
        return missing(err, i, "effective_time");
    }
    if (exp == NULL || strlen(exp) >= WXP_CERT_TIME_MAX) {
        return missing(err, i, "expire_time");
    }
    if (!cJSON_IsObject(enc)) {
        snprintf(field, sizeof field, "data[%zu].encrypt_certificate", i);
        return wxp_err_set(err, WXP_E_CERTLIST, field, "encrypt_certificate is not an object");
    }
    if (alg == NULL || nonce == NULL || aad == NULL || ct == NULL) {
        return missing(err, i,
                       alg == NULL     ? "encrypt_certificate.algorithm"
                       : nonce == NULL ? "encrypt_certificate.nonce"
                       : aad == NULL   ? "encrypt_certificate.associated_data"
                                       : "encrypt_certificate.ciphertext");
    }
    memcpy(pc->serial, serial, strlen(serial) + 1);
    memcpy(pc->effective, eff, strlen(eff) + 1);
    memcpy(pc->expire, exp, strlen(exp) + 1);
    snprintf(field, sizeof field, "data[%zu].effective_time", i);
    if (!wxp_rfc3339_parse(wxp_str_c(eff), &eff_s)) {
        return wxp_err_set(err, WXP_E_CERTLIST, field, "not an RFC 3339 time: %.40s", eff);
    }
    snprintf(field, sizeof field, "data[%zu].expire_time", i);
    if (!wxp_rfc3339_parse(wxp_str_c(exp), &exp_s)) {
        return wxp_err_set(err, WXP_E_CERTLIST, field, "not an RFC 3339 time: %.40s", exp);
    }
    snprintf(field, sizeof field, "data[%zu].encrypt_certificate.algorithm", i);
    if (strcmp(alg, "AEAD_AES_256_GCM") != 0) {
        return wxp_err_set(err, WXP_E_CERTLIST, field, "algorithm %.40s is not AEAD_AES_256_GCM",
                           alg);
    }
    {
        struct wxp_aead_params p = {key, wxp_str_c(nonce), wxp_str_c(aad)};
        rc = wxp_aead_decrypt(&p, ct, strlen(ct), &pc->pem, err);
    }
    if (rc != WXP_OK) {
        char why[sizeof err->msg];
        snprintf(field, sizeof field, "data[%zu].encrypt_certificate", i);
        snprintf(why, sizeof why, "%s", err != NULL ? err->msg : "");
        if (rc == WXP_E_AEAD_AUTH) {
            return wxp_err_set(err, rc, field,
                               "certificate %s does not decrypt: wrong APIv3 key, or the "
                               "ciphertext was altered",
                               pc->serial);
        }
        return wxp_err_set(err, rc, field, "certificate %s: %s", pc->serial, why);
    }
    snprintf(field, sizeof field, "data[%zu].encrypt_certificate", i);
    rc = wxp_key_cert_pem(pc->pem.ptr, pc->pem.len, &k, err);
    if (rc != WXP_OK) {
        return wxp_err_set(err, rc, field, "certificate %s decrypts to no usable certificate",
                           pc->serial);
    }
    snprintf(field, sizeof field, "data[%zu].serial_no", i);
    /* rule: the decrypted certificate's serial is the listed serial_no (exact, as the SDKs key
     * their maps by it). src: [SDK-GO-DL] */
    if (strcmp(wxp_key_id(k), serial) != 0) {
        rc = wxp_err_set(err, WXP_E_CERT_SERIAL, field,
                         "serial_no %s but the certificate's serial is %s", serial, wxp_key_id(k));
        wxp_key_free(k);
        return rc;
    }
    wxp_key_free(k);
    rc = cert_times(&pc->pem, field, &pc->not_before, &pc->not_after, err);
    if (rc != WXP_OK) {
        return rc;
    }
    if (pc->not_before != eff_s || pc->not_after != exp_s) {
        snprintf(field, sizeof field, "data[%zu].%s", i,
                 pc->not_before != eff_s ? "effective_time" : "expire_time");
        return wxp_err_set(err, WXP_E_CERT_VALIDITY, field,
                           "certificate %s: listed %s .. %s, but the certificate says otherwise",
                           serial, eff, exp);
    }
    /* rule: an expired platform certificate is refused (wechatpay-java checks validity of what it
     * downloads). src: [SDK-JAVA-DL] */
    if (pc->not_after <= now) {
        snprintf(field, sizeof field, "data[%zu].expire_time", i);
        return wxp_err_set(err, WXP_E_CERT_EXPIRED, field, "certificate %s expired at %s", serial,
                           exp);
    }
    return WXP_OK;
}

enum wxp_code wxp_certlist_parse(struct wxp_certlist *l, const char *body, size_t len,
                                 struct wxp_str apiv3_key, int64_t now, struct wxp_err *err)
{
    cJSON *root = NULL;
    const cJSON *data;
    const cJSON *e;
    size_t off = 0;
    size_t n = 0;
    enum wxp_code rc;

    if (len > WXP_CERTLIST_BODY_MAX) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, "body", "certificate list over %zu bytes",
                           WXP_CERTLIST_BODY_MAX);
    }
    rc = wxp_json_check(body, len, &off, err);
    if (rc != WXP_OK) {
        return rc;
    }
    root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
    if (root == NULL) {
        return wxp_err_set(err, WXP_E_NOMEM, "body", NULL);
    }
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(data) || cJSON_GetArraySize(data) == 0) {
        rc = wxp_err_set(err, WXP_E_CERTLIST, "data", "data is not a non-empty array");
        goto out;
    }
    if ((size_t)cJSON_GetArraySize(data) > WXP_CERTLIST_MAX) {
        rc = wxp_err_set(err, WXP_E_TOO_LARGE, "data", "more than %d certificates",
                         WXP_CERTLIST_MAX);
        goto out;
    }
    cJSON_ArrayForEach(e, data)
    {
        rc = read_entry(e, n, apiv3_key, now, &l->cert[n], err);
        if (rc != WXP_OK) {
            goto out;
        }
        for (size_t j = 0; j < n; j++) {
            if (strcmp(l->cert[j].serial, l->cert[n].serial) == 0) {
                char field[64];
                snprintf(field, sizeof field, "data[%zu].serial_no", n);
                rc = wxp_err_set(err, WXP_E_CERTLIST, field, "serial %s is listed twice",
                                 l->cert[n].serial);
                goto out;
            }
        }
        l->count = ++n;
    }
    rc = WXP_OK;
out:
    cJSON_Delete(root);
    return rc;
}

enum wxp_code wxp_certlist_add_keys(const struct wxp_certlist *l, struct wxp_keystore *ks,
                                    struct wxp_err *err)
{
    for (size_t i = 0; i < l->count; i++) {
        struct wxp_key *k = NULL;
        enum wxp_code rc = wxp_key_cert_pem(l->cert[i].pem.ptr, l->cert[i].pem.len, &k, err);
        if (rc != WXP_OK) {
            return rc;
        }
        rc = wxp_keystore_add(ks, k, err);
        if (rc != WXP_OK) {
            return rc;
        }
    }
    return WXP_OK;
}
