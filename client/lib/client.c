/* SPDX-License-Identifier: MIT */
/* client.c: wxpay_client_new/free: checks the configuration, loads the keys into a key store and
 * prepares the one curl handle a client keeps. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"
#include "wxp/signmsg.h"
#include "wxp/mem.h"
#include "wxp/str.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_RETRY_BASE_MS 200L
#define DEFAULT_RETRY_MAX_MS 5000L
#define BASE_URL_MAX 2048

static char *dup_str(const char *s)
{
    return wxp_strndup(s, strlen(s));
}

/* True when `s` is non-empty printable ASCII without '"' (it goes into a quoted header
 * parameter) and, when `no_space`, without SP. */
static bool header_token_ok(const char *s, bool no_space)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch >= 0x7F || ch == '"' || (no_space && ch == ' ')) {
            return false;
        }
    }
    return true;
}

/* A header value must not carry CR, LF or other control bytes (header injection). */
static bool header_value_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7F) {
            return false;
        }
    }
    return true;
}

static size_t list_len(const char *const *l)
{
    size_t n = 0;

    while (l != NULL && l[n] != NULL) {
        n++;
    }
    return n;
}

/* rule: the signed target is exactly the target sent, so base_url carries no path of its own
 * (curl would send it in front of the target we sign). src: wxpay.h, wxpay_payscore_terminate. */
static enum wxpay_result_kind check_base_url(const char *url, struct wxpay_result *res, char **out)
{
    size_t len = strlen(url);
    size_t skip;
    const char *slash;

    if (strncmp(url, "https://", 8) == 0) {
        skip = 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        skip = 7;
    } else {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "base_url: must start with http:// or https://");
    }
    if (len > BASE_URL_MAX) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "base_url: longer than %d bytes", BASE_URL_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= 0x20 || ch >= 0x7F || ch == '?' || ch == '#') {
            return wxl_fail(res, WXPAY_ERR_LOCAL,
                            "base_url: byte %zu is not allowed (spaces, control bytes, non-ASCII, "
                            "'?' and '#' are refused)",
                            i);
        }
    }
    if (len > 0 && url[len - 1] == '/') {
        len--;
    }
    if (len == skip) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "base_url: no host");
    }
    slash = memchr(url + skip, '/', len - skip);
    if (slash != NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "base_url: must be scheme://host[:port] without a path (the signed "
                        "target must be the target sent)");
    }
    *out = wxp_strndup(url, len);
    if (*out == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "out of memory");
    }
    return WXPAY_OK;
}

static enum wxpay_result_kind load_private(const struct wxpay_config *cfg, struct wxpay_client *c,
                                           struct wxpay_result *res)
{
    struct wxp_err err;
    enum wxp_code rc;

    wxp_err_clear(&err);
    if (cfg->mch_key_file != NULL && cfg->mch_key_pem != NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "mch_key_file, mch_key_pem: give one of them, not both");
    }
    if (cfg->mch_key_file != NULL) {
        /* wxp_keyfile_shown: PEM text passed as the file name is not echoed back. */
        rc = wxp_key_private_file(cfg->mch_key_file, &c->key, &err);
        if (rc != WXP_OK) {
            char shown[WXP_PATH_IN_MSG];
            return wxl_fail(res, WXPAY_ERR_LOCAL, "mch_key_file: %s: %s",
                            wxp_str_tail(shown, sizeof shown, wxp_keyfile_shown(cfg->mch_key_file)),
                            err.msg);
        }
        /* The library never prints: the warning waits in the client (wxpay_client_warning). */
        wxp_keyfile_warning(cfg->mch_key_file, c->warning, sizeof c->warning);
        return WXPAY_OK;
    }
    if (cfg->mch_key_pem != NULL) {
        rc = wxp_key_private_pem(cfg->mch_key_pem, strlen(cfg->mch_key_pem), &c->key, &err);
        if (rc != WXP_OK) {
            return wxl_fail(res, WXPAY_ERR_LOCAL, "mch_key_pem: %s", err.msg);
        }
        return WXPAY_OK;
    }
    return wxl_fail(res, WXPAY_ERR_LOCAL, "mch_key_file: required (or mch_key_pem)");
}

/* The Authorization serial_no: mch_serial, or the serial of mch_cert_file, whose public key must
 * be the private key's. When both are given they must agree. */
static enum wxpay_result_kind load_serial(const struct wxpay_config *cfg, struct wxpay_client *c,
                                          struct wxpay_result *res)
{
    struct wxp_key *cert = NULL;
    struct wxp_err err;
    enum wxpay_result_kind kind = WXPAY_OK;
    const char *serial = cfg->mch_serial;
    const char *key_name =
        cfg->mch_key_file != NULL ? wxp_keyfile_shown(cfg->mch_key_file) : "mch_key_pem";

    wxp_err_clear(&err);
    if (cfg->mch_cert_file != NULL) {
        if (wxp_key_cert_file(cfg->mch_cert_file, &cert, &err) != WXP_OK) {
            char shown[WXP_PATH_IN_MSG];
            kind = wxl_fail(res, WXPAY_ERR_LOCAL, "mch_cert_file: %s: %s",
                            wxp_str_tail(shown, sizeof shown, cfg->mch_cert_file), err.msg);
            goto out;
        }
        if (!wxp_key_same_public(cert, c->key)) {
            kind = wxl_fail(res, WXPAY_ERR_LOCAL,
                            "mch_cert_file: certificate %s (serial %s) does not match the "
                            "private key %s",
                            cfg->mch_cert_file, wxp_key_id(cert), key_name);
            goto out;
        }
        if (serial != NULL && !wxp_str_eq_nocase(wxp_str_c(serial), wxp_str_c(wxp_key_id(cert)))) {
            kind = wxl_fail(res, WXPAY_ERR_LOCAL,
                            "mch_serial: %s is not the serial %s of mch_cert_file %s", serial,
                            wxp_key_id(cert), cfg->mch_cert_file);
            goto out;
        }
        if (serial == NULL) {
            serial = wxp_key_id(cert);
        }
    }
    if (serial == NULL || serial[0] == '\0') {
        kind = wxl_fail(res, WXPAY_ERR_LOCAL, "mch_serial: required (or mch_cert_file)");
        goto out;
    }
    if (wxp_key_set_id(c->key, serial, &err) != WXP_OK || !header_token_ok(serial, true)) {
        kind = wxl_fail(res, WXPAY_ERR_LOCAL,
                        "mch_serial: malformed (expected the certificate serial in hex)");
        goto out;
    }
    c->serial = dup_str(serial);
    if (c->serial == NULL) {
        kind = wxl_fail(res, WXPAY_ERR_LOCAL, "out of memory");
    }
out:
    wxp_key_free(cert);
    return kind;
}

/* Loads the APIv3 key, inline or from a file: exactly 32 bytes (a file may end in one newline).
 * Messages never show the key. */
static enum wxpay_result_kind load_apiv3(const struct wxpay_config *cfg, struct wxpay_client *c,
                                         struct wxpay_result *res)
{
    char *text = NULL;
    size_t len = 0;
    size_t flen = 0;
    struct wxp_err err;
    enum wxpay_result_kind kind = WXPAY_OK;

    wxp_err_clear(&err);
    if (cfg->apiv3_key != NULL && cfg->apiv3_key_file != NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "apiv3_key, apiv3_key_file: give one, not both");
    }
    if (cfg->apiv3_key_file != NULL) {
        char shown[WXP_PATH_IN_MSG];
        if (wxp_file_read(cfg->apiv3_key_file, 4096, &text, &len, &err) != WXP_OK) {
            return wxl_fail(res, WXPAY_ERR_LOCAL, "apiv3_key_file: %s: %s",
                            wxp_str_tail(shown, sizeof shown, cfg->apiv3_key_file), err.msg);
        }
        flen = len;
        if (len > 0 && text[len - 1] == '\n') {
            len--;
        }
        if (len > 0 && text[len - 1] == '\r') {
            len--;
        }
    } else if (cfg->apiv3_key != NULL) {
        len = strlen(cfg->apiv3_key);
    } else {
        return WXPAY_OK;
    }
    /* rule: the APIv3 key is the 32-byte AES-256 key of AEAD_AES_256_GCM. src: [GB-CERTS] */
    if (len != sizeof c->apiv3_key) {
        kind = wxl_fail(res, WXPAY_ERR_LOCAL, "%s: the APIv3 key is %zu bytes, must be 32",
                        cfg->apiv3_key_file != NULL ? "apiv3_key_file" : "apiv3_key", len);
        goto out;
    }
    memcpy(c->apiv3_key, text != NULL ? text : cfg->apiv3_key, sizeof c->apiv3_key);
    c->has_apiv3_key = true;
out:
    if (text != NULL) {
        OPENSSL_cleanse(text, flen);
        wxp_free(text);
    }
    return kind;
}

/* Loads the platform certificates and public keys; remembers the default Wechatpay-Serial. */
static enum wxpay_result_kind load_platform(const struct wxpay_config *cfg, struct wxpay_client *c,
                                            const char **first_cert, const char **first_pub,
                                            struct wxpay_result *res)
{
    size_t ncert = list_len(cfg->platform_cert_files);
    size_t npub = list_len(cfg->platform_pubkey_files);
    size_t nid = list_len(cfg->platform_pubkey_ids);
    struct wxp_err err;

    wxp_err_clear(&err);
    if (npub != nid) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "platform_pubkey_ids: %zu ids for %zu platform_pubkey_files (one id per "
                        "file)",
                        nid, npub);
    }
    if (ncert + npub == 0 && !c->has_apiv3_key) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "platform_cert_files, platform_pubkey_files: at least one platform "
                        "certificate or public key is required to verify answers (or an "
                        "apiv3_key, to download the certificates first)");
    }
    c->keys = wxp_keystore_new();
    if (c->keys == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "out of memory");
    }
    for (size_t i = 0; i < ncert; i++) {
        const char *path = cfg->platform_cert_files[i];
        char shown[WXP_PATH_IN_MSG]; /* a long path keeps its end, and the reason stays whole */
        struct wxp_key *k = NULL;

        if (wxp_key_cert_file(path, &k, &err) != WXP_OK) {
            return wxl_fail(res, WXPAY_ERR_LOCAL, "platform_cert_files[%zu]: %s: %s", i,
                            wxp_str_tail(shown, sizeof shown, path), err.msg);
        }
        if (i == 0) {
            *first_cert = wxp_key_id(k);
        }
        /* wxp_keystore_add owns k from here, on failure too. */
        if (wxp_keystore_add(c->keys, k, &err) != WXP_OK) {
            return wxl_fail(res, WXPAY_ERR_LOCAL, "platform_cert_files[%zu]: %s: %s", i,
                            wxp_str_tail(shown, sizeof shown, path), err.msg);
        }
    }
    for (size_t i = 0; i < npub; i++) {
        const char *path = cfg->platform_pubkey_files[i];
        const char *id = cfg->platform_pubkey_ids[i];
        char shown[WXP_PATH_IN_MSG];
        struct wxp_key *k = NULL;

        if (wxp_key_pubkey_file(path, id, &k, &err) != WXP_OK) {
            return wxl_fail(res, WXPAY_ERR_LOCAL, "platform_pubkey_files[%zu]: %s (id %s): %s", i,
                            wxp_str_tail(shown, sizeof shown, path), id, err.msg);
        }
        if (i == 0) {
            *first_pub = wxp_key_id(k);
        }
        if (wxp_keystore_add(c->keys, k, &err) != WXP_OK) {
            return wxl_fail(res, WXPAY_ERR_LOCAL, "platform_pubkey_files[%zu]: %s (id %s): %s", i,
                            wxp_str_tail(shown, sizeof shown, path), id, err.msg);
        }
    }
    return WXPAY_OK;
}

static enum wxpay_result_kind copy_settings(const struct wxpay_config *cfg, struct wxpay_client *c,
                                            const char *first_cert, const char *first_pub,
                                            struct wxpay_result *res)
{
    const char *accept = cfg->accept_serial;
    char ua[160];

    if (cfg->connect_timeout_ms < 0 || cfg->timeout_ms < 0 || cfg->skew < 0 ||
        cfg->retry.base_delay_ms < 0 || cfg->retry.max_delay_ms < 0) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "connect_timeout_ms, timeout_ms, skew, retry delays: must not be "
                        "negative (0 picks the default)");
    }
    c->connect_timeout_ms =
        cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->skew = cfg->skew > 0 ? cfg->skew : WXP_SKEW_DEFAULT;
    c->retry = cfg->retry;
    if (c->retry.base_delay_ms == 0) {
        c->retry.base_delay_ms = DEFAULT_RETRY_BASE_MS;
    }
    if (c->retry.max_delay_ms == 0) {
        c->retry.max_delay_ms = DEFAULT_RETRY_MAX_MS;
    }
    c->trace = cfg->trace;

    /* rule: Wechatpay-Serial names the key we verify with: first public key id, else first
     * certificate serial; "" sends none. src: [D-ECHO]; Go and Java always send it [GO-CLIENT],
     * [JAVA-HTTP], PHP and axios do not [PHP-README], [AX-DEC]. */
    if (accept == NULL) {
        accept = first_pub != NULL ? first_pub : (first_cert != NULL ? first_cert : "");
    }
    if (accept[0] != '\0' && !header_token_ok(accept, true)) {
        return wxl_fail(res, WXPAY_ERR_LOCAL,
                        "accept_serial: must be printable ASCII without spaces or quotes");
    }
    c->accept_serial = dup_str(accept);

    if (cfg->user_agent != NULL) {
        if (cfg->user_agent[0] == '\0' || !header_value_ok(cfg->user_agent)) {
            return wxl_fail(res, WXPAY_ERR_LOCAL,
                            "user_agent: must be non-empty and free of control characters");
        }
        c->user_agent = dup_str(cfg->user_agent);
    } else {
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
        snprintf(ua, sizeof ua, "libwxpay/%s (Linux) curl/%s", WXPAY_VERSION,
                 v != NULL && v->version != NULL ? v->version : "unknown");
        c->user_agent = dup_str(ua);
    }
    if (cfg->ca_file != NULL) {
        c->ca_file = dup_str(cfg->ca_file);
        if (c->ca_file == NULL) {
            return wxl_fail(res, WXPAY_ERR_LOCAL, "out of memory");
        }
    }
    if (c->accept_serial == NULL || c->user_agent == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "out of memory");
    }
    return WXPAY_OK;
}

/* notify_only: no merchant settings are read (c->key, c->mchid and c->serial stay NULL, which
 * sign_call refuses), and the platform keys and the APIv3 key are required. */
static enum wxpay_result_kind client_new(const struct wxpay_config *cfg, struct wxpay_client **out,
                                         struct wxpay_result *res, bool notify_only)
{
    struct wxpay_client *c = NULL;
    enum wxpay_result_kind kind;
    const char *first_cert = NULL;
    const char *first_pub = NULL;

    wxl_result_reset(res);
    if (out != NULL) {
        *out = NULL;
    }
    if (cfg == NULL || out == NULL) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "wxpay_client_new: cfg and out are required");
    }
    if (notify_only) {
        const char *missing =
            cfg->apiv3_key_file == NULL && cfg->apiv3_key == NULL
                ? "apiv3_key_file: required to decrypt notifications (or apiv3_key)"
            : (cfg->platform_cert_files == NULL || cfg->platform_cert_files[0] == NULL) &&
                    (cfg->platform_pubkey_files == NULL || cfg->platform_pubkey_files[0] == NULL)
                ? "platform_cert_files: required to verify notifications (or "
                  "platform_pubkey_files with platform_pubkey_ids)"
            : cfg->auto_certificates
                ? "auto_certificates: a client for notifications only cannot download "
                  "certificates (the download is signed with the merchant key)"
                : NULL;
        if (missing != NULL) {
            return wxl_fail(res, WXPAY_ERR_LOCAL, "%s", missing);
        }
    } else if (cfg->mchid == NULL || !header_token_ok(cfg->mchid, true)) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "mchid: %s",
                        cfg->mchid == NULL ? "required"
                                           : "must be printable ASCII without spaces or quotes");
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return wxl_fail(res, WXPAY_ERR_LOCAL, "curl_global_init failed");
    }
    c = wxp_malloc(sizeof *c);
    if (c == NULL) {
        curl_global_cleanup();
        return wxl_fail(res, WXPAY_ERR_LOCAL, "out of memory");
    }
    memset(c, 0, sizeof *c);
    wxp_buf_init(&c->last_signed, WXP_SIGNMSG_MAX);

    kind = check_base_url(cfg->base_url != NULL ? cfg->base_url : WXPAY_DEFAULT_BASE_URL, res,
                          &c->base_url);
    if (kind != WXPAY_OK) {
        goto fail;
    }
    if (!notify_only) {
        c->mchid = dup_str(cfg->mchid);
        if (c->mchid == NULL) {
            kind = wxl_fail(res, WXPAY_ERR_LOCAL, "out of memory");
            goto fail;
        }
        kind = load_private(cfg, c, res);
        if (kind != WXPAY_OK) {
            goto fail;
        }
        kind = load_serial(cfg, c, res);
        if (kind != WXPAY_OK) {
            goto fail;
        }
    }
    kind = load_apiv3(cfg, c, res);
    if (kind != WXPAY_OK) {
        goto fail;
    }
    if (cfg->auto_certificates && !c->has_apiv3_key) {
        kind = wxl_fail(res, WXPAY_ERR_LOCAL,
                        "auto_certificates: needs the APIv3 key (apiv3_key_file or apiv3_key)");
        goto fail;
    }
    c->auto_certs = cfg->auto_certificates != 0;
    kind = load_platform(cfg, c, &first_cert, &first_pub, res);
    if (kind != WXPAY_OK) {
        goto fail;
    }
    kind = copy_settings(cfg, c, first_cert, first_pub, res);
    if (kind != WXPAY_OK) {
        goto fail;
    }
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        kind = wxl_fail(res, WXPAY_ERR_LOCAL, "curl_easy_init failed");
        goto fail;
    }
    if (!wxl_http_init(c)) {
        kind = wxl_fail(res, WXPAY_ERR_LOCAL, "cannot set the curl options");
        goto fail;
    }
    *out = c;
    return WXPAY_OK;
fail:
    wxpay_client_free(c);
    return kind;
}

enum wxpay_result_kind wxpay_client_new(const struct wxpay_config *cfg, struct wxpay_client **out,
                                        struct wxpay_result *res)
{
    return client_new(cfg, out, res, false);
}

enum wxpay_result_kind wxpay_notify_client_new(const struct wxpay_config *cfg,
                                               struct wxpay_client **out, struct wxpay_result *res)
{
    return client_new(cfg, out, res, true);
}

const char *wxpay_client_warning(const struct wxpay_client *c)
{
    return c != NULL && c->warning[0] != '\0' ? c->warning : NULL;
}

void wxpay_client_free(struct wxpay_client *c)
{
    if (c == NULL) {
        return;
    }
    if (c->curl != NULL) {
        curl_easy_cleanup(c->curl);
    }
    wxp_key_free(c->key); /* released through OpenSSL, which wipes the key material */
    wxp_keystore_free(c->keys);
    wxp_free(c->base_url);
    wxp_free(c->mchid);
    wxp_free(c->serial);
    wxp_free(c->accept_serial);
    wxp_free(c->user_agent);
    wxp_free(c->ca_file);
    wxp_buf_free(&c->last_signed); /* zeroed: it holds the last body */
    OPENSSL_cleanse(c->apiv3_key, sizeof c->apiv3_key);
    memset(c, 0, sizeof *c);
    wxp_free(c);
    curl_global_cleanup(); /* balances the curl_global_init of wxpay_client_new */
}
