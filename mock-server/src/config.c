/* SPDX-License-Identifier: MIT */
/* config.c: the mock's configuration: embedded TEST ONLY defaults, then an optional JSON file. */
#include <cjson/cJSON.h>
#include <libgen.h>
#include <stddef.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "embed.h"
#include "mock.h"
#include "wxp/json.h"
#include "wxp/mem.h"
#include "wxp/str.h"
#include "wxp/keyfile.h"

#define CONFIG_MAX ((size_t)1024 * 1024)
/* A config path, or a key path resolved against its directory: PATH_MAX on Linux. */
#define CONFIG_PATH_MAX 4096

static char **strv_dup(const char *const *src, size_t n)
{
    char **v = wxp_malloc((n ? n : 1) * sizeof *v);
    if (v == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = wxp_strndup(src[i], strlen(src[i]));
        if (v[i] == NULL) {
            while (i-- > 0) {
                wxp_free(v[i]);
            }
            wxp_free(v);
            return NULL;
        }
    }
    return v;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n && v != NULL; i++) {
        wxp_free(v[i]);
    }
    wxp_free(v);
}

static void merchants_free(struct mock_merchant *m, size_t n)
{
    for (size_t i = 0; i < n && m != NULL; i++) {
        OPENSSL_cleanse(m[i].apiv3_key, sizeof m[i].apiv3_key);
        m[i].has_apiv3_key = false;
        wxp_key_free(m[i].cert);
        strv_free(m[i].appids, m[i].nappids);
        strv_free(m[i].service_ids, m[i].nservice_ids);
    }
    wxp_free(m);
}

static void signers_free(struct mock_platform *p, size_t n)
{
    for (size_t i = 0; i < n && p != NULL; i++) {
        wxp_key_free(p[i].key);
        wxp_free(p[i].cert_pem);
    }
    wxp_free(p);
}

void mock_config_free(struct mock_config *c)
{
    merchants_free(c->merchants, c->nmerchants);
    signers_free(c->signers, c->nsigners);
    wxp_free(c->records);
    wxp_free(c->admin_token);
    memset(c, 0, sizeof *c);
}

const struct mock_merchant *mock_config_merchant(const struct mock_config *c, struct wxp_str mchid)
{
    for (size_t i = 0; i < c->nmerchants; i++) {
        if (wxp_str_eq(wxp_str_c(c->merchants[i].mchid), mchid)) {
            return &c->merchants[i];
        }
    }
    return NULL;
}

static enum wxp_code pem_cert(const char *pem, struct wxp_key **out, struct wxp_err *err)
{
    return wxp_key_cert_pem(pem, strlen(pem), out, err);
}

/* An embedded TEST ONLY APIv3 key into m. */
static enum wxp_code embedded_apiv3(struct mock_merchant *m, const char *key, struct wxp_err *err)
{
    if (strlen(key) != WXP_AEAD_KEY_LEN) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, "apiv3_key",
                           "the embedded APIv3 key of %s is not %d bytes", m->mchid,
                           WXP_AEAD_KEY_LEN);
    }
    memcpy(m->apiv3_key, key, WXP_AEAD_KEY_LEN);
    m->has_apiv3_key = true;
    return WXP_OK;
}

/* rule: the defaults are the fixtures' test merchants and platform key (fixtures/fixtures.json),
 * so `wxpay-mock` with no arguments serves the demo merchant 1900000109. */
enum wxp_code mock_config_defaults(struct mock_config *c, struct wxp_err *err)
{
    static const char *const appids_a[] = {"wxd678efh567hg6787"};
    /* 500001 is the official docs' example service_id (W-6_1_4), so copied examples work. */
    static const char *const services_a[] = {"2002000000000558128851361561536", "500001"};
    static const char *const appids_b[] = {"wx1234567890abcdef"};
    static const char *const services_b[] = {"2002000000000558128851361561999"};
    enum wxp_code rc;

    memset(c, 0, sizeof *c);
    c->skew = 300;
    c->replay_check = true;
    c->journal_size = 1000;
    mock_notify_schedule_payscore(&c->notify);
    c->notify.time_scale = 1.0;
    /* rule: the merchant answers within 5 s. src: docs/notifications.md#delivery-and-retries
     * ([SK-CB], [D-NOTIFY]) */
    c->notify.timeout_ms = 5000;
    c->notify.queue_max = 1000;
    c->notify.queue_bytes = (size_t)4 * 1024 * 1024;
    c->unknown_policy = MOCK_UNKNOWN_AUTHORIZED;
    c->merchants = wxp_malloc(2 * sizeof *c->merchants);
    c->signers = wxp_malloc(2 * sizeof *c->signers);
    if (c->merchants == NULL || c->signers == NULL) {
        rc = wxp_err_set(err, WXP_E_NOMEM, NULL, NULL);
        goto fail;
    }
    memset(c->merchants, 0, 2 * sizeof *c->merchants);
    memset(c->signers, 0, 2 * sizeof *c->signers);
    c->nmerchants = 2;
    c->nsigners = 2;
    snprintf(c->merchants[0].mchid, sizeof c->merchants[0].mchid, "1900000109");
    snprintf(c->merchants[1].mchid, sizeof c->merchants[1].mchid, "1900000110");
    c->merchants[0].appids = strv_dup(appids_a, 1);
    c->merchants[0].service_ids = strv_dup(services_a, 2);
    c->merchants[1].appids = strv_dup(appids_b, 1);
    c->merchants[1].service_ids = strv_dup(services_b, 1);
    if (!c->merchants[0].appids || !c->merchants[0].service_ids || !c->merchants[1].appids ||
        !c->merchants[1].service_ids) {
        rc = wxp_err_set(err, WXP_E_NOMEM, NULL, NULL);
        goto fail;
    }
    c->merchants[0].nappids = 1;
    c->merchants[0].nservice_ids = 2;
    c->merchants[1].nappids = c->merchants[1].nservice_ids = 1;
    rc = pem_cert(mock_embed_merchant_a_cert, &c->merchants[0].cert, err);
    if (rc == WXP_OK) {
        rc = pem_cert(mock_embed_merchant_b_cert, &c->merchants[1].cert, err);
    }
    if (rc == WXP_OK) {
        rc = embedded_apiv3(&c->merchants[0], mock_embed_merchant_a_apiv3, err);
    }
    if (rc == WXP_OK) {
        rc = embedded_apiv3(&c->merchants[1], mock_embed_merchant_b_apiv3, err);
    }
    if (rc == WXP_OK) {
        rc = mock_platform_cert(&c->signers[0], NULL, mock_embed_platform_cert, err);
    }
    /* Certificate mode first (the default signer), then public-key mode with the same key,
     * parsed once (docs/performance.md#start-up). */
    if (rc == WXP_OK) {
        rc = wxp_key_private_pem(mock_embed_platform_key, strlen(mock_embed_platform_key),
                                 &c->signers[0].key, err);
    }
    if (rc == WXP_OK) {
        rc = wxp_key_share(c->signers[0].key, &c->signers[1].key, err);
    }
    if (rc != WXP_OK) {
        goto fail;
    }
    snprintf(c->signers[0].id, sizeof c->signers[0].id, "%s", MOCK_EMBED_PLATFORM_SERIAL);
    snprintf(c->signers[1].id, sizeof c->signers[1].id, "%s", MOCK_EMBED_PUBKEY_ID);
    return WXP_OK;
fail:
    mock_config_free(c);
    return rc;
}

/* ---- the JSON file ---------------------------------------------------------------------- */

struct loader {
    char dir[CONFIG_PATH_MAX];
    struct wxp_err *err;
    char *key_warning;           /* the config's key_warning[WXP_KEYFILE_WARNING_MAX] */
    char shown[WXP_PATH_IN_MSG]; /* `file` for messages: a long path keeps its end */
};

static enum wxp_code bad(struct loader *L, const char *field, const char *why)
{
    return wxp_err_set(L->err, WXP_E_INVALID_ARG, field, "%s: %s: %s", L->shown, field, why);
}

/* A path relative to the config file's directory; a result longer than cap is refused, never
 * cut (a cut path would name another file). */
static enum wxp_code resolve(struct loader *L, const char *field, const char *p, char *out,
                             size_t cap)
{
    int n = p[0] == '/' ? snprintf(out, cap, "%s", p) : snprintf(out, cap, "%s/%s", L->dir, p);
    if (n < 0 || (size_t)n >= cap) {
        return bad(L, field, "path is too long");
    }
    return WXP_OK;
}

/* Checks that obj has only the listed member names. */
static enum wxp_code only(struct loader *L, const cJSON *obj, const char *where,
                          const char *const *names, size_t n)
{
    char field[160];
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        bool ok = false;
        for (size_t i = 0; i < n && !ok; i++) {
            ok = strcmp(it->string, names[i]) == 0;
        }
        if (!ok) {
            /* rule: a member name that looks like key material (PEM text pasted as a name) is never
             * echoed. src: docs/reliability.md#security */
            snprintf(field, sizeof field, "%s%s%s", where, where[0] ? "." : "",
                     wxp_name_shown(it->string));
            return bad(L, field, "unknown member");
        }
    }
    return WXP_OK;
}

/* Optional string member: NULL when absent; error when not a string or empty. */
static enum wxp_code opt_str(struct loader *L, const cJSON *obj, const char *name,
                             const char *where, const char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    char field[160];

    *out = NULL;
    if (it == NULL) {
        return WXP_OK;
    }
    snprintf(field, sizeof field, "%s%s%s", where, where[0] ? "." : "", name);
    if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
        return bad(L, field, "must be a non-empty string");
    }
    *out = it->valuestring;
    return WXP_OK;
}

static enum wxp_code str_array(struct loader *L, const cJSON *obj, const char *name,
                               const char *where, char ***out, size_t *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name);
    char field[160];
    size_t count, i = 0;

    snprintf(field, sizeof field, "%s.%s", where, name);
    if (arr == NULL) {
        *out = NULL;
        *n = 0;
        return WXP_OK;
    }
    if (!cJSON_IsArray(arr)) {
        return bad(L, field, "must be an array of strings");
    }
    count = (size_t)cJSON_GetArraySize(arr);
    *out = wxp_malloc((count ? count : 1) * sizeof **out);
    if (*out == NULL) {
        return wxp_err_set(L->err, WXP_E_NOMEM, field, NULL);
    }
    for (const cJSON *it = arr->child; it != NULL; it = it->next, i++) {
        if (!cJSON_IsString(it) || it->valuestring[0] == '\0' ||
            strlen(it->valuestring) > MOCK_ID_MAX) {
            strv_free(*out, i);
            *out = NULL;
            return bad(L, field, "must hold non-empty strings of at most 128 bytes");
        }
        (*out)[i] = wxp_strndup(it->valuestring, strlen(it->valuestring));
        if ((*out)[i] == NULL) {
            strv_free(*out, i);
            *out = NULL;
            return wxp_err_set(L->err, WXP_E_NOMEM, field, NULL);
        }
    }
    *n = count;
    return WXP_OK;
}

/* Loads a key with the core, prefixing the error with the config field. */
static enum wxp_code key_from(struct loader *L, const char *field, enum wxp_key_kind kind,
                              const char *path, const char *pem, const char *id,
                              struct wxp_key **out)
{
    char full[CONFIG_PATH_MAX];
    enum wxp_code rc;
    struct wxp_err e;

    if (path != NULL) {
        rc = resolve(L, field, path, full, sizeof full);
        if (rc != WXP_OK) {
            return rc;
        }
    }
    switch (kind) {
    case WXP_KEY_PRIVATE:
        rc = path ? wxp_key_private_file(full, out, &e)
                  : wxp_key_private_pem(pem, strlen(pem), out, &e);
        break;
    case WXP_KEY_CERT:
        rc = path ? wxp_key_cert_file(full, out, &e) : wxp_key_cert_pem(pem, strlen(pem), out, &e);
        break;
    case WXP_KEY_PUBKEY:
    default:
        rc = WXP_E_INVALID_ARG;
        wxp_err_set(&e, rc, NULL, "unsupported key kind");
        break;
    }
    (void)id;
    if (rc != WXP_OK) {
        /* e.msg names the file as wxp_keyfile_shown shows it: never PEM text given as a path. */
        return wxp_err_set(L->err, rc, field, "%s: %s: %s", L->shown, field, e.msg);
    }
    if (kind == WXP_KEY_PRIVATE && path != NULL) {
        wxp_keyfile_warning(full, L->key_warning, WXP_KEYFILE_WARNING_MAX);
    }
    return WXP_OK;
}

/* rule: a merchant's APIv3 key is 32 bytes, given inline ("apiv3_key") or as a file
 * ("apiv3_key_file": the 32 bytes, one trailing newline allowed). Messages give lengths and
 * paths, never the key. src: docs/protocol.md#aead_aes_256_gcm */
static enum wxp_code load_apiv3(struct loader *L, const cJSON *it, size_t i,
                                struct mock_merchant *m)
{
    char where[64];
    char full[CONFIG_PATH_MAX];
    const char *inline_key;
    const char *file;
    char *text = NULL;
    size_t len = 0;
    enum wxp_code rc;
    struct wxp_err e;

    snprintf(where, sizeof where, "merchants[%zu]", i);
    rc = opt_str(L, it, "apiv3_key", where, &inline_key);
    if (rc == WXP_OK) {
        rc = opt_str(L, it, "apiv3_key_file", where, &file);
    }
    if (rc != WXP_OK || (inline_key == NULL && file == NULL)) {
        return rc;
    }
    if (inline_key != NULL && file != NULL) {
        return bad(L, where, "give \"apiv3_key\" or \"apiv3_key_file\", not both");
    }
    if (inline_key != NULL) {
        snprintf(where, sizeof where, "merchants[%zu].apiv3_key", i);
        len = strlen(inline_key);
        if (len != WXP_AEAD_KEY_LEN) {
            return wxp_err_set(L->err, WXP_E_INVALID_ARG, where,
                               "%s: %s: must be exactly %d bytes, not %zu", L->shown, where,
                               WXP_AEAD_KEY_LEN, len);
        }
        memcpy(m->apiv3_key, inline_key, WXP_AEAD_KEY_LEN);
        m->has_apiv3_key = true;
        return WXP_OK;
    }
    snprintf(where, sizeof where, "merchants[%zu].apiv3_key_file", i);
    rc = resolve(L, where, file, full, sizeof full);
    if (rc != WXP_OK) {
        return rc;
    }
    /* A few bytes more than a key with CRLF, so a longer file is told by its length. */
    rc = wxp_file_read(full, 64, &text, &len, &e);
    if (rc != WXP_OK) {
        return wxp_err_set(L->err, rc, where, "%s: %s: %s", L->shown, where, e.msg);
    }
    if (len > 0 && text[len - 1] == '\n') {
        len--;
        if (len > 0 && text[len - 1] == '\r') {
            len--;
        }
    }
    if (len != WXP_AEAD_KEY_LEN) {
        rc = wxp_err_set(L->err, WXP_E_INVALID_ARG, where,
                         "%s: %s: the file holds %zu bytes, an APIv3 key is exactly %d (one "
                         "trailing newline allowed)",
                         L->shown, where, len, WXP_AEAD_KEY_LEN);
    } else {
        memcpy(m->apiv3_key, text, WXP_AEAD_KEY_LEN);
        m->has_apiv3_key = true;
    }
    OPENSSL_cleanse(text, len);
    wxp_free(text);
    return rc;
}

static enum wxp_code load_merchants(struct loader *L, const cJSON *arr, struct mock_config *c)
{
    static const char *const names[] = {
        "mchid",       "cert",      "cert_pem",       "serial",          "appids",
        "service_ids", "apiv3_key", "apiv3_key_file", "public_key_only", "notify_url"};
    struct mock_merchant *m;
    size_t n, i = 0;
    enum wxp_code rc = WXP_OK;
    char where[64];

    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0) {
        return bad(L, "merchants", "must be a non-empty array");
    }
    n = (size_t)cJSON_GetArraySize(arr);
    m = wxp_malloc(n * sizeof *m);
    if (m == NULL) {
        return wxp_err_set(L->err, WXP_E_NOMEM, "merchants", NULL);
    }
    memset(m, 0, n * sizeof *m);
    for (const cJSON *it = arr->child; it != NULL && rc == WXP_OK; it = it->next, i++) {
        const char *mchid, *cert, *cert_pem, *serial;
        snprintf(where, sizeof where, "merchants[%zu]", i);
        if (!cJSON_IsObject(it)) {
            rc = bad(L, where, "must be an object");
            break;
        }
        rc = only(L, it, where, names, sizeof names / sizeof names[0]);
        if (rc == WXP_OK) {
            rc = opt_str(L, it, "mchid", where, &mchid);
        }
        if (rc == WXP_OK) {
            rc = opt_str(L, it, "cert", where, &cert);
        }
        if (rc == WXP_OK) {
            rc = opt_str(L, it, "cert_pem", where, &cert_pem);
        }
        if (rc == WXP_OK) {
            rc = opt_str(L, it, "serial", where, &serial);
        }
        if (rc != WXP_OK) {
            break;
        }
        if (mchid == NULL || strlen(mchid) >= sizeof m[i].mchid) {
            rc = bad(L, where, "needs \"mchid\", a string of at most 31 characters");
            break;
        }
        if ((cert == NULL) == (cert_pem == NULL)) {
            rc = bad(L, where, "needs exactly one of \"cert\" (a PEM file) or \"cert_pem\"");
            break;
        }
        snprintf(m[i].mchid, sizeof m[i].mchid, "%s", mchid);
        snprintf(where, sizeof where, "merchants[%zu].%s", i, cert ? "cert" : "cert_pem");
        rc = key_from(L, where, WXP_KEY_CERT, cert, cert_pem, NULL, &m[i].cert);
        if (rc == WXP_OK && serial != NULL &&
            !wxp_str_eq_nocase(wxp_str_c(serial), wxp_str_c(wxp_key_id(m[i].cert)))) {
            snprintf(where, sizeof where, "merchants[%zu].serial", i);
            rc = bad(L, where, "does not match the certificate's serial");
        }
        snprintf(where, sizeof where, "merchants[%zu]", i);
        if (rc == WXP_OK) {
            rc = str_array(L, it, "appids", where, &m[i].appids, &m[i].nappids);
        }
        if (rc == WXP_OK) {
            rc = str_array(L, it, "service_ids", where, &m[i].service_ids, &m[i].nservice_ids);
        }
        if (rc == WXP_OK) {
            rc = load_apiv3(L, it, i, &m[i]);
        }
        if (rc == WXP_OK) {
            const cJSON *pk = cJSON_GetObjectItemCaseSensitive(it, "public_key_only");
            if (pk != NULL && !cJSON_IsBool(pk)) {
                rc = bad(L, where, "\"public_key_only\" must be true or false");
            }
            m[i].public_key_only = cJSON_IsTrue(pk);
        }
        if (rc == WXP_OK) {
            const char *nu = NULL;
            rc = opt_str(L, it, "notify_url", where, &nu);
            if (rc == WXP_OK && nu != NULL && (nu[0] == '\0' || strlen(nu) > MOCK_URL_MAX)) {
                snprintf(where, sizeof where, "merchants[%zu].notify_url", i);
                rc = bad(L, where, "must be a URL of 1 to 255 bytes");
            }
            if (rc == WXP_OK && nu != NULL) {
                snprintf(m[i].notify_url, sizeof m[i].notify_url, "%s", nu);
            }
        }
    }
    if (rc != WXP_OK) {
        merchants_free(m, n);
        return rc;
    }
    merchants_free(c->merchants, c->nmerchants);
    c->merchants = m;
    c->nmerchants = n;
    return WXP_OK;
}

/* Further platform certificates ("platform.certificates"), at most this many. */
#define PLATFORM_CERTS_MAX 8

/* A certificate signer into *p: the certificate (file or PEM), its private key (file or PEM),
 * which must match, its serial and validity. `where` names the object in messages. */
static enum wxp_code cert_signer(struct loader *L, const char *where, const char *key,
                                 const char *key_pem, const char *cert, const char *cert_pem,
                                 struct mock_platform *p)
{
    char kf[96], cf[96], full[CONFIG_PATH_MAX];
    struct wxp_key *pc = NULL;
    struct wxp_err e;
    enum wxp_code rc;

    snprintf(kf, sizeof kf, "%s.%s", where, key ? "key" : "key_pem");
    snprintf(cf, sizeof cf, "%s.%s", where, cert ? "cert" : "cert_pem");
    rc = key_from(L, cf, WXP_KEY_CERT, cert, cert_pem, NULL, &pc);
    if (rc == WXP_OK) {
        rc = key_from(L, kf, WXP_KEY_PRIVATE, key, key_pem, NULL, &p->key);
    }
    if (rc == WXP_OK && !wxp_key_same_public(pc, p->key)) {
        rc = bad(L, cf, "is not the certificate of its key");
    }
    if (rc == WXP_OK && cert != NULL) {
        rc = resolve(L, cf, cert, full, sizeof full);
    }
    if (rc == WXP_OK && mock_platform_cert(p, cert ? full : NULL, cert_pem, &e) != WXP_OK) {
        rc = wxp_err_set(L->err, e.code, cf, "%s: %s: %s", L->shown, cf, e.msg);
    }
    if (rc == WXP_OK) {
        snprintf(p->id, sizeof p->id, "%s", wxp_key_id(pc));
    }
    wxp_key_free(pc);
    return rc;
}

/* rule: "platform.certificates" lists further platform certificates, each {"key"|"key_pem",
 * "cert"|"cert_pem"}, signers after the platform's own in rotation order.
 * src: docs/mock-server.md#platform-certificates */
static enum wxp_code load_more_certs(struct loader *L, const cJSON *arr, struct mock_platform *p,
                                     size_t *n)
{
    static const char *const names[] = {"key", "key_pem", "cert", "cert_pem"};
    size_t i = 0;
    enum wxp_code rc = WXP_OK;

    if (arr == NULL) {
        return WXP_OK;
    }
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > PLATFORM_CERTS_MAX) {
        return bad(L, "platform.certificates", "must be an array of at most 8 objects");
    }
    for (const cJSON *it = arr->child; rc == WXP_OK && it != NULL; it = it->next, i++) {
        const char *key = NULL, *key_pem = NULL, *cert = NULL, *cert_pem = NULL;
        char where[64];
        snprintf(where, sizeof where, "platform.certificates[%zu]", i);
        if (!cJSON_IsObject(it)) {
            return bad(L, where, "must be an object");
        }
        rc = only(L, it, where, names, sizeof names / sizeof names[0]);
        if (rc == WXP_OK) {
            rc = opt_str(L, it, "key", where, &key);
        }
        if (rc == WXP_OK) {
            rc = opt_str(L, it, "key_pem", where, &key_pem);
        }
        if (rc == WXP_OK) {
            rc = opt_str(L, it, "cert", where, &cert);
        }
        if (rc == WXP_OK) {
            rc = opt_str(L, it, "cert_pem", where, &cert_pem);
        }
        if (rc == WXP_OK &&
            ((key == NULL) == (key_pem == NULL) || (cert == NULL) == (cert_pem == NULL))) {
            rc = bad(L, where, "needs one of \"key\"/\"key_pem\" and one of \"cert\"/\"cert_pem\"");
        }
        if (rc == WXP_OK) {
            rc = cert_signer(L, where, key, key_pem, cert, cert_pem, &p[*n]);
        }
        if (rc == WXP_OK) {
            (*n)++;
        }
    }
    return rc;
}

static enum wxp_code load_platform(struct loader *L, const cJSON *obj, struct mock_config *c)
{
    static const char *const names[] = {"key",           "key_pem", "cert",        "cert_pem",
                                        "public_key_id", "default", "certificates"};
    const char *key, *key_pem, *cert, *cert_pem, *pkid, *def;
    struct mock_platform *p = NULL;
    const size_t cap = 2 + PLATFORM_CERTS_MAX;
    size_t n = 0;
    enum wxp_code rc;

    if (!cJSON_IsObject(obj)) {
        return bad(L, "platform", "must be an object");
    }
    rc = only(L, obj, "platform", names, sizeof names / sizeof names[0]);
    if (rc == WXP_OK) {
        rc = opt_str(L, obj, "key", "platform", &key);
    }
    if (rc == WXP_OK) {
        rc = opt_str(L, obj, "key_pem", "platform", &key_pem);
    }
    if (rc == WXP_OK) {
        rc = opt_str(L, obj, "cert", "platform", &cert);
    }
    if (rc == WXP_OK) {
        rc = opt_str(L, obj, "cert_pem", "platform", &cert_pem);
    }
    if (rc == WXP_OK) {
        rc = opt_str(L, obj, "public_key_id", "platform", &pkid);
    }
    if (rc == WXP_OK) {
        rc = opt_str(L, obj, "default", "platform", &def);
    }
    if (rc != WXP_OK) {
        return rc;
    }
    if ((key == NULL) == (key_pem == NULL)) {
        return bad(L, "platform", "needs exactly one of \"key\" (a PEM file) or \"key_pem\"");
    }
    if (cert != NULL && cert_pem != NULL) {
        return bad(L, "platform", "give \"cert\" or \"cert_pem\", not both");
    }
    if (cert == NULL && cert_pem == NULL && pkid == NULL) {
        return bad(L, "platform",
                   "needs a certificate (\"cert\"/\"cert_pem\"), a "
                   "\"public_key_id\", or both");
    }
    if (def != NULL && strcmp(def, "certificate") != 0 && strcmp(def, "public_key") != 0) {
        return bad(L, "platform.default", "must be \"certificate\" or \"public_key\"");
    }
    p = wxp_malloc(cap * sizeof *p);
    if (p == NULL) {
        return wxp_err_set(L->err, WXP_E_NOMEM, "platform", NULL);
    }
    memset(p, 0, cap * sizeof *p);
    if (cert != NULL || cert_pem != NULL) {
        rc = cert_signer(L, "platform", key, key_pem, cert, cert_pem, &p[n]);
        if (rc == WXP_OK) {
            n++;
        }
    }
    if (rc == WXP_OK && pkid != NULL) {
        if (strncmp(pkid, "PUB_KEY_ID_", 11) != 0 || strlen(pkid) > WXP_KEY_ID_MAX) {
            rc = bad(L, "platform.public_key_id", "must start with PUB_KEY_ID_ (at most 64 chars)");
        } else {
            rc = key_from(L, key ? "platform.key" : "platform.key_pem", WXP_KEY_PRIVATE, key,
                          key_pem, NULL, &p[n].key);
            if (rc == WXP_OK) {
                snprintf(p[n].id, sizeof p[n].id, "%s", pkid);
                n++;
            }
        }
    }
    if (rc != WXP_OK) {
        signers_free(p, cap);
        return rc;
    }
    if (def != NULL && strcmp(def, "public_key") == 0) {
        if (pkid == NULL) {
            signers_free(p, cap);
            return bad(L, "platform.default", "is \"public_key\" but no public_key_id is set");
        }
        if (n == 2) {
            struct mock_platform t = p[0];
            p[0] = p[1];
            p[1] = t;
        }
    } else if (def != NULL && pkid != NULL && n == 1) {
        signers_free(p, cap);
        return bad(L, "platform.default", "is \"certificate\" but no certificate is set");
    }
    rc = load_more_certs(L, cJSON_GetObjectItemCaseSensitive(obj, "certificates"), p, &n);
    if (rc != WXP_OK) {
        signers_free(p, cap);
        return rc;
    }
    signers_free(c->signers, c->nsigners);
    c->signers = p;
    c->nsigners = n;
    return WXP_OK;
}

/* The string members of a configured record, and where they go: rows, not ifs. */
static const struct {
    const char *name;
    size_t offset;
    size_t size;
} REC_STR[] = {
#define S(n, m)                                                                                    \
    {                                                                                              \
        n, offsetof(struct mock_record, m), sizeof(((struct mock_record *)0)->m)                   \
    }
    S("mchid", mchid),           S("openid", openid),
    S("appid", appid),           S("service_id", service_id),
    S("reason", reason),         S("authorization_code", authorization_code),
    S("notify_url", notify_url), S("apply_permissions_token", token),
#undef S
};
/* Its times, Unix seconds. */
static const struct {
    const char *name;
    size_t offset;
} REC_TIME[] = {
    {"terminated_at", offsetof(struct mock_record, terminated_at)},
    {"authorized_at", offsetof(struct mock_record, authorized_at)},
    {"token_expires_at", offsetof(struct mock_record, token_expires_at)},
};
#define NREC_STR (sizeof REC_STR / sizeof REC_STR[0])
#define NREC_TIME (sizeof REC_TIME / sizeof REC_TIME[0])

/* One record of "authorizations": every member of the state dump may be given
 * (docs/mock-server.md#configuration-file). */
static enum wxp_code load_record(struct loader *L, const cJSON *it, const char *where,
                                 struct mock_record *r)
{
    static const char *const names[] = {"mchid",
                                        "openid",
                                        "appid",
                                        "service_id",
                                        "state",
                                        "reason",
                                        "authorization_code",
                                        "notify_url",
                                        "apply_permissions_token",
                                        "terminated_at",
                                        "authorized_at",
                                        "token_expires_at"};
    const char *v[NREC_STR] = {NULL};
    const char *st = NULL;
    char field[96];
    char why[48];
    enum wxp_code rc;

    if (!cJSON_IsObject(it)) {
        return bad(L, where, "must be an object");
    }
    rc = only(L, it, where, names, sizeof names / sizeof names[0]);
    for (size_t k = 0; k < NREC_STR && rc == WXP_OK; k++) {
        rc = opt_str(L, it, REC_STR[k].name, where, &v[k]);
    }
    if (rc == WXP_OK) {
        rc = opt_str(L, it, "state", where, &st);
    }
    if (rc != WXP_OK) {
        return rc;
    }
    /* v[1] openid, v[5] authorization_code: a pre-authorization has a code and no openid yet. */
    if (v[0] == NULL || (v[1] == NULL && v[5] == NULL) || v[3] == NULL) {
        return bad(L, where,
                   "needs \"mchid\", \"service_id\" and \"openid\" (or \"authorization_code\")");
    }
    for (size_t k = 0; k < NREC_STR; k++) {
        if (v[k] != NULL && strlen(v[k]) >= REC_STR[k].size) {
            snprintf(field, sizeof field, "%s.%s", where, REC_STR[k].name);
            snprintf(why, sizeof why, "is longer than %zu bytes", REC_STR[k].size - 1);
            return bad(L, field, why);
        }
        if (v[k] != NULL) {
            memcpy((char *)r + REC_STR[k].offset, v[k], strlen(v[k]) + 1);
        }
    }
    for (size_t k = 0; k < NREC_TIME; k++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, REC_TIME[k].name);
        int64_t secs;
        if (t == NULL || cJSON_IsNull(t)) {
            continue;
        }
        if (!cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > 9007199254740991.0 ||
            t->valuedouble != (double)(int64_t)t->valuedouble) {
            snprintf(field, sizeof field, "%s.%s", where, REC_TIME[k].name);
            return bad(L, field, "must be a non-negative integer number of seconds");
        }
        secs = (int64_t)t->valuedouble;
        memcpy((char *)r + REC_TIME[k].offset, &secs, sizeof secs);
    }
    if (st == NULL) {
        r->state = v[1] == NULL ? MOCK_AUTH_UNBINDUSER : MOCK_AUTH_AVAILABLE;
    } else if (strcmp(st, "AVAILABLE") == 0) {
        r->state = MOCK_AUTH_AVAILABLE;
    } else if (strcmp(st, "UNAVAILABLE") == 0) {
        r->state = MOCK_AUTH_UNAVAILABLE;
    } else if (strcmp(st, "UNBINDUSER") == 0) {
        r->state = MOCK_AUTH_UNBINDUSER;
    } else {
        snprintf(field, sizeof field, "%s.state", where);
        return bad(L, field, "must be AVAILABLE, UNAVAILABLE or UNBINDUSER");
    }
    if (v[1] == NULL && r->state != MOCK_AUTH_UNBINDUSER) {
        return bad(L, where, "an AVAILABLE or UNAVAILABLE record needs \"openid\"");
    }
    return WXP_OK;
}

static enum wxp_code load_records(struct loader *L, const cJSON *arr, struct mock_config *c)
{
    struct mock_record *r;
    size_t n, i = 0;
    char where[64];
    enum wxp_code rc = WXP_OK;

    if (!cJSON_IsArray(arr)) {
        return bad(L, "authorizations", "must be an array");
    }
    n = (size_t)cJSON_GetArraySize(arr);
    r = wxp_malloc((n ? n : 1) * sizeof *r);
    if (r == NULL) {
        return wxp_err_set(L->err, WXP_E_NOMEM, "authorizations", NULL);
    }
    memset(r, 0, (n ? n : 1) * sizeof *r);
    for (const cJSON *it = arr->child; it != NULL && rc == WXP_OK; it = it->next, i++) {
        snprintf(where, sizeof where, "authorizations[%zu]", i);
        rc = load_record(L, it, where, &r[i]);
    }
    if (rc != WXP_OK) {
        wxp_free(r);
        return rc;
    }
    wxp_free(c->records);
    c->records = r;
    c->nrecords = n;
    return WXP_OK;
}

static enum wxp_code load_scalars(struct loader *L, const cJSON *root, struct mock_config *c)
{
    const cJSON *it;
    const char *s;
    enum wxp_code rc;

    it = cJSON_GetObjectItemCaseSensitive(root, "skew");
    if (it != NULL) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 86400 ||
            it->valuedouble != (double)(int64_t)it->valuedouble) {
            return bad(L, "skew", "must be an integer number of seconds, 1..86400");
        }
        c->skew = (int64_t)it->valuedouble;
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "journal_size");
    if (it != NULL) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 1000000 ||
            it->valuedouble != (double)(int64_t)it->valuedouble) {
            return bad(L, "journal_size", "must be an integer, 1..1000000");
        }
        c->journal_size = (size_t)it->valuedouble;
    }
    const struct {
        const char *name;
        bool *dst;
    } flags[] = {
        {"replay_check", &c->replay_check},
        {"sign_errors", &c->sign_errors},
        {"allow_spaces_in_authorization", &c->allow_spaces_in_authz},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        it = cJSON_GetObjectItemCaseSensitive(root, flags[i].name);
        if (it == NULL) {
            continue;
        }
        if (!cJSON_IsBool(it)) {
            return bad(L, flags[i].name, "must be true or false");
        }
        *flags[i].dst = cJSON_IsTrue(it);
    }
    rc = opt_str(L, root, "unknown_openid", "", &s);
    if (rc != WXP_OK) {
        return rc;
    }
    if (s != NULL) {
        if (strcmp(s, "authorized") == 0) {
            c->unknown_policy = MOCK_UNKNOWN_AUTHORIZED;
        } else if (strcmp(s, "not_found") == 0) {
            c->unknown_policy = MOCK_UNKNOWN_NOT_FOUND;
        } else if (strcmp(s, "always_authorized") == 0) {
            c->unknown_policy = MOCK_UNKNOWN_ALWAYS_AUTHORIZED;
        } else {
            return bad(L, "unknown_openid",
                       "must be \"authorized\", \"not_found\" or \"always_authorized\"");
        }
    }
    rc = opt_str(L, root, "admin_token", "", &s);
    if (rc == WXP_OK && s != NULL) {
        wxp_free(c->admin_token);
        c->admin_token = wxp_strndup(s, strlen(s));
        if (c->admin_token == NULL) {
            return wxp_err_set(L->err, WXP_E_NOMEM, "admin_token", NULL);
        }
    }
    return rc;
}

/* An integer member of "notify" within lo..hi into *dst; absent: unchanged. */
static enum wxp_code notify_int(struct loader *L, const cJSON *obj, const char *name, double lo,
                                double hi, double *dst)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    char field[48];

    if (it == NULL) {
        return WXP_OK;
    }
    snprintf(field, sizeof field, "notify.%s", name);
    if (!cJSON_IsNumber(it) || it->valuedouble < lo || it->valuedouble > hi ||
        it->valuedouble != (double)(int64_t)it->valuedouble) {
        return wxp_err_set(L->err, WXP_E_INVALID_ARG, field,
                           "%s: %s must be an integer, %.0f..%.0f", L->shown, field, lo, hi);
    }
    *dst = it->valuedouble;
    return WXP_OK;
}

/* "notify": {"schedule": "payscore" | "payment" | [seconds, ...], "terminate_sends_close": bool,
 * "timeout_ms", "queue_max", "queue_bytes"} (docs/notifications.md#delivery-and-retries). */
static enum wxp_code load_notify(struct loader *L, const cJSON *obj, struct mock_notify_config *n)
{
    static const char *const names[] = {"schedule", "terminate_sends_close", "timeout_ms",
                                        "queue_max", "queue_bytes"};
    const cJSON *it;
    double v;
    enum wxp_code rc;

    if (!cJSON_IsObject(obj)) {
        return bad(L, "notify", "must be an object");
    }
    rc = only(L, obj, "notify", names, sizeof names / sizeof names[0]);
    if (rc != WXP_OK) {
        return rc;
    }
    it = cJSON_GetObjectItemCaseSensitive(obj, "schedule");
    if (cJSON_IsString(it) && strcmp(it->valuestring, "payscore") == 0) {
        mock_notify_schedule_payscore(n);
    } else if (cJSON_IsString(it) && strcmp(it->valuestring, "payment") == 0) {
        mock_notify_schedule_payment(n);
    } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) >= 1 &&
               cJSON_GetArraySize(it) <= MOCK_NOTIFY_SCHEDULE_MAX) {
        size_t k = 0;
        for (const cJSON *e = it->child; e != NULL; e = e->next) {
            if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 259200) {
                return bad(L, "notify.schedule", "must list seconds, each 0..259200");
            }
            n->schedule[k++] = e->valuedouble;
        }
        n->nschedule = k;
        n->repeat_s = 0;
        n->give_up_s = 0;
    } else if (it != NULL) {
        return bad(L, "notify.schedule",
                   "must be \"payscore\", \"payment\" or an array of 1 to 64 numbers of seconds");
    }
    it = cJSON_GetObjectItemCaseSensitive(obj, "terminate_sends_close");
    if (it != NULL && !cJSON_IsBool(it)) {
        return bad(L, "notify.terminate_sends_close", "must be true or false");
    }
    if (it != NULL) {
        n->terminate_sends_close = cJSON_IsTrue(it);
    }
    v = (double)n->timeout_ms;
    rc = notify_int(L, obj, "timeout_ms", 100, 5000, &v);
    n->timeout_ms = (long)v;
    v = (double)n->queue_max;
    if (rc == WXP_OK) {
        rc = notify_int(L, obj, "queue_max", 1, 100000, &v);
    }
    n->queue_max = (size_t)v;
    v = (double)n->queue_bytes;
    if (rc == WXP_OK) {
        rc = notify_int(L, obj, "queue_bytes", 16384, 256.0 * 1024 * 1024, &v);
    }
    n->queue_bytes = (size_t)v;
    return rc;
}

static void wipe_string(const cJSON *it)
{
    if (cJSON_IsString(it) && it->valuestring != NULL) {
        OPENSSL_cleanse(it->valuestring, strlen(it->valuestring));
    }
}

/* cJSON_Delete frees without wiping: clear the secrets' text first (the platform's private key,
 * the merchants' APIv3 keys). */
static void wipe_key_pem(cJSON *root)
{
    const cJSON *platform = cJSON_GetObjectItemCaseSensitive(root, "platform");
    const cJSON *merchants = cJSON_GetObjectItemCaseSensitive(root, "merchants");
    const cJSON *m;

    const cJSON *more = cJSON_GetObjectItemCaseSensitive(platform, "certificates");

    wipe_string(cJSON_GetObjectItemCaseSensitive(platform, "key_pem"));
    if (cJSON_IsArray(more)) {
        cJSON_ArrayForEach(m, more)
        {
            wipe_string(cJSON_GetObjectItemCaseSensitive(m, "key_pem"));
        }
    }
    if (cJSON_IsArray(merchants)) {
        cJSON_ArrayForEach(m, merchants)
        {
            wipe_string(cJSON_GetObjectItemCaseSensitive(m, "apiv3_key"));
        }
    }
}

enum wxp_code mock_config_load_text(struct mock_config *c, const char *text, size_t len,
                                    const char *origin, struct wxp_err *err)
{
    static const char *const names[] = {"_comment",
                                        "merchants",
                                        "platform",
                                        "authorizations",
                                        "unknown_openid",
                                        "skew",
                                        "replay_check",
                                        "sign_errors",
                                        "journal_size",
                                        "admin_token",
                                        "allow_spaces_in_authorization",
                                        "notify"};
    struct loader L = {".", err, c->key_warning, ""};
    struct wxp_err jerr;
    char copy[CONFIG_PATH_MAX];
    cJSON *root = NULL;
    const cJSON *it;
    enum wxp_code rc;

    wxp_str_tail(L.shown, sizeof L.shown, origin);
    if (strlen(origin) >= sizeof copy) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, origin, "%s: the path is longer than %zu bytes",
                           L.shown, sizeof copy - 1);
    }
    snprintf(copy, sizeof copy, "%s", origin);
    snprintf(L.dir, sizeof L.dir, "%s", dirname(copy));
    if (len > CONFIG_MAX) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, origin, "%s is larger than %zu bytes", L.shown,
                           CONFIG_MAX);
    }
    /* A separate buffer: err->msg must not be both the output and an argument of wxp_err_set. */
    rc = wxp_json_check(text, len, NULL, &jerr);
    if (rc != WXP_OK) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, "", "%s: %s", L.shown, jerr.msg);
    }
    root = cJSON_ParseWithLengthOpts(text, len, NULL, 0);
    if (root == NULL || !cJSON_IsObject(root)) {
        rc = bad(&L, "(top level)", "must be a JSON object");
        goto out;
    }
    rc = only(&L, root, "", names, sizeof names / sizeof names[0]);
    if (rc == WXP_OK && (it = cJSON_GetObjectItemCaseSensitive(root, "merchants")) != NULL) {
        rc = load_merchants(&L, it, c);
    }
    if (rc == WXP_OK && (it = cJSON_GetObjectItemCaseSensitive(root, "platform")) != NULL) {
        rc = load_platform(&L, it, c);
    }
    if (rc == WXP_OK && (it = cJSON_GetObjectItemCaseSensitive(root, "authorizations")) != NULL) {
        rc = load_records(&L, it, c);
    }
    if (rc == WXP_OK) {
        rc = load_scalars(&L, root, c);
    }
    if (rc == WXP_OK && (it = cJSON_GetObjectItemCaseSensitive(root, "notify")) != NULL) {
        rc = load_notify(&L, it, &c->notify);
    }
out:
    wipe_key_pem(root);
    cJSON_Delete(root);
    return rc;
}

enum wxp_code mock_config_load(struct mock_config *c, const char *path, struct wxp_err *err)
{
    char *text = NULL;
    size_t len = 0;
    enum wxp_code rc;

    rc = wxp_file_read(path, CONFIG_MAX, &text, &len, err);
    if (rc != WXP_OK) {
        return rc;
    }
    rc = mock_config_load_text(c, text, len, path, err);
    /* The file may hold platform.key_pem and merchants' apiv3_key. */
    OPENSSL_cleanse(text, len);
    wxp_free(text);
    return rc;
}
