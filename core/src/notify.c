/* SPDX-License-Identifier: MIT */
/* notify.c: notifications built, signed, and (on the receiving side) verified before decryption. */
#include "wxp/notify.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wxp/aead.h"
#include "wxp/envelope.h"
#include "wxp/json.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/sign.h"
#include "wxp/signmsg.h"
#include "wxp/utf8.h"

enum wxp_code wxp_notify_id(char out[WXP_NOTIFY_ID_LEN + 1], struct wxp_err *err)
{
    static const char HEX[] = "0123456789abcdef";
    unsigned char b[16];
    size_t n = 0;

    if (RAND_bytes(b, sizeof b) != 1) {
        return wxp_err_openssl(err, WXP_E_CRYPTO, "RAND_bytes failed");
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (size_t i = 0; i < sizeof b; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[n++] = '-';
        }
        out[n++] = HEX[b[i] >> 4];
        out[n++] = HEX[b[i] & 0x0f];
    }
    out[n] = '\0';
    return WXP_OK;
}

/* rule: create_time is RFC 3339 in Beijing time, "2019-07-30T16:36:59+08:00".
 * src: docs/notifications.md#verifying-and-decrypting-a-notification */
static enum wxp_code now_beijing(char *out, size_t cap, struct wxp_err *err)
{
    time_t t = time(NULL) + 8 * 3600;
    struct tm tm;

    if (t < 0 || gmtime_r(&t, &tm) == NULL ||
        strftime(out, cap, "%Y-%m-%dT%H:%M:%S+08:00", &tm) == 0) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, "create_time", "the clock is unreadable");
    }
    return WXP_OK;
}

/* "name":"value" with a leading comma unless first. */
static enum wxp_code member_out(struct wxp_buf *out, const char *name, const char *value,
                                bool first, struct wxp_err *err)
{
    enum wxp_code rc = wxp_buf_addf(out, "%s\"%s\":", first ? "" : ",", name);

    if (rc != WXP_OK) {
        return wxp_err_set(err, rc, name, NULL);
    }
    rc = wxp_json_quote(out, value, strlen(value), err);
    if (rc == WXP_E_INVALID_ARG) {
        return wxp_err_set(err, rc, name, "%s is not valid UTF-8", name);
    }
    return rc == WXP_OK ? WXP_OK : wxp_err_set(err, rc, name, NULL);
}

enum wxp_code wxp_notify_build(const struct wxp_notify_spec *s, struct wxp_str apiv3_key,
                               struct wxp_buf *out, struct wxp_err *err)
{
    char id[WXP_NOTIFY_ID_LEN + 1];
    char created[40];
    char fresh[WXP_NONCE_LEN + 1];
    const char *nonce = s->nonce;
    const char *aad = s->associated_data != NULL ? s->associated_data : "";
    struct wxp_buf ct;
    enum wxp_code rc;

    if (s->event_type == NULL || s->summary == NULL) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, s->event_type == NULL ? "event_type" : "summary",
                           "a notification needs an event_type and a summary");
    }
    if (s->id == NULL && (rc = wxp_notify_id(id, err)) != WXP_OK) {
        return rc;
    }
    if (s->create_time == NULL && (rc = now_beijing(created, sizeof created, err)) != WXP_OK) {
        return rc;
    }
    if (nonce == NULL) {
        rc = wxp_nonce(fresh, err);
        if (rc != WXP_OK) {
            return rc;
        }
        fresh[WXP_NOTIFY_NONCE_LEN] = '\0';
        nonce = fresh;
    }
    wxp_buf_init(&ct, WXP_AEAD_CIPHERTEXT_MAX);
    {
        struct wxp_aead_params ap = {apiv3_key, wxp_str_c(nonce), wxp_str_c(aad)};
        rc = wxp_aead_encrypt(&ap, s->plaintext.ptr, s->plaintext.len, &ct, err);
    }
    if (rc != WXP_OK) {
        goto out;
    }
    rc = wxp_buf_add(out, "{", 1);
    if (rc != WXP_OK) {
        rc = wxp_err_set(err, rc, "body", NULL);
        goto out;
    }
    if ((rc = member_out(out, "id", s->id != NULL ? s->id : id, true, err)) != WXP_OK ||
        (rc = member_out(out, "create_time", s->create_time != NULL ? s->create_time : created,
                         false, err)) != WXP_OK ||
        (rc = member_out(out, "resource_type",
                         s->resource_type != NULL ? s->resource_type : WXP_NOTIFY_RESOURCE_TYPE,
                         false, err)) != WXP_OK ||
        (rc = member_out(out, "event_type", s->event_type, false, err)) != WXP_OK) {
        goto out;
    }
    rc = wxp_buf_addstr(out, ",\"resource\":{");
    if (rc != WXP_OK) {
        rc = wxp_err_set(err, rc, "resource", NULL);
        goto out;
    }
    if ((rc = member_out(out, "original_type",
                         s->original_type != NULL ? s->original_type : "payscore", true, err)) !=
            WXP_OK ||
        (rc = member_out(out, "algorithm",
                         s->algorithm != NULL ? s->algorithm : WXP_NOTIFY_ALGORITHM, false, err)) !=
            WXP_OK ||
        (rc = member_out(out, "ciphertext", wxp_buf_cstr(&ct), false, err)) != WXP_OK ||
        (rc = member_out(out, "associated_data", aad, false, err)) != WXP_OK ||
        (rc = member_out(out, "nonce", nonce, false, err)) != WXP_OK) {
        goto out;
    }
    rc = wxp_buf_addstr(out, "}");
    if (rc != WXP_OK) {
        rc = wxp_err_set(err, rc, "resource", NULL);
        goto out;
    }
    if ((rc = member_out(out, "summary", s->summary, false, err)) != WXP_OK) {
        goto out;
    }
    rc = wxp_buf_addstr(out, "}");
    if (rc != WXP_OK) {
        rc = wxp_err_set(err, rc, "body", NULL);
    }
out:
    wxp_buf_free(&ct);
    return rc;
}

static enum wxp_code copy_field(char *dst, size_t cap, const char *src, const char *name,
                                struct wxp_err *err)
{
    int n = snprintf(dst, cap, "%s", src);

    if (n < 0 || (size_t)n >= cap) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, name, "%s is too long", name);
    }
    return WXP_OK;
}

enum wxp_code wxp_notify_sign(const struct wxp_key *platform_key, const char *serial, int64_t ts,
                              const char *nonce, struct wxp_str body,
                              struct wxp_notify_headers *out, struct wxp_err *err)
{
    char fresh[WXP_NONCE_LEN + 1];
    struct wxp_buf msg;
    size_t siglen = 0;
    enum wxp_code rc;

    memset(out, 0, sizeof *out);
    if (serial == NULL || ts < 0) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, serial == NULL ? "serial" : "timestamp",
                           "a notification needs a serial and a non-negative timestamp");
    }
    if (nonce == NULL) {
        rc = wxp_nonce(fresh, err);
        if (rc != WXP_OK) {
            return rc;
        }
        nonce = fresh;
    }
    if ((rc = copy_field(out->serial, sizeof out->serial, serial, "serial", err)) != WXP_OK ||
        (rc = copy_field(out->nonce, sizeof out->nonce, nonce, "nonce", err)) != WXP_OK ||
        (rc = copy_field(out->signature_type, sizeof out->signature_type, WXP_NOTIFY_SIG_TYPE,
                         "signature_type", err)) != WXP_OK) {
        return rc;
    }
    snprintf(out->timestamp, sizeof out->timestamp, "%lld", (long long)ts);
    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    rc = wxp_signmsg_response(&msg, wxp_str_c(out->timestamp), wxp_str_c(out->nonce), body, err);
    if (rc == WXP_OK) {
        rc = wxp_sign(platform_key, msg.ptr, msg.len, out->signature, sizeof out->signature,
                      &siglen, err);
    }
    wxp_buf_free(&msg);
    return rc;
}

void wxp_notify_free(struct wxp_notify *n)
{
    if (n == NULL) {
        return;
    }
    wxp_free(n->id);
    wxp_free(n->create_time);
    wxp_free(n->event_type);
    wxp_free(n->resource_type);
    wxp_free(n->summary);
    wxp_free(n->algorithm);
    wxp_free(n->original_type);
    wxp_free(n->associated_data);
    if (n->resource != NULL) {
        OPENSSL_cleanse(n->resource, n->resource_len);
    }
    wxp_free(n->resource);
    memset(n, 0, sizeof *n);
}

static enum wxp_code bad(struct wxp_err *err, const char *field, const char *what)
{
    return wxp_err_set(err, WXP_E_NOTIFY_ENVELOPE, field, "%s %s", field, what);
}

/* rule: a member named twice is refused (cJSON keeps both and a lookup returns the first, which
 * need not be what the sender meant). src:
 * docs/notifications.md#verifying-and-decrypting-a-notification
 */
static enum wxp_code no_repeats(const cJSON *obj, const char *prefix, struct wxp_err *err)
{
    for (const cJSON *a = obj->child; a != NULL; a = a->next) {
        for (const cJSON *b = a->next; b != NULL; b = b->next) {
            if (strcmp(a->string, b->string) == 0) {
                char field[64];
                snprintf(field, sizeof field, "%s%.40s", prefix, a->string);
                return bad(err, field, "appears twice");
            }
        }
    }
    return WXP_OK;
}

/* A string member: required ones must be present; an absent optional one reads as "". The value
 * is a C string without NUL bytes (wxp_json_check refused \u0000). */
static enum wxp_code str_member(const cJSON *obj, const char *name, const char *field,
                                bool required, const char **out, struct wxp_err *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (it == NULL && !required) {
        *out = "";
        return WXP_OK;
    }
    if (it == NULL) {
        return bad(err, field, "is missing");
    }
    if (!cJSON_IsString(it) || it->valuestring == NULL) {
        return bad(err, field, "is not a string");
    }
    if (strlen(it->valuestring) > WXP_NOTIFY_MEMBER_MAX) {
        return bad(err, field, "is too long");
    }
    *out = it->valuestring;
    return WXP_OK;
}

struct envelope {
    const char *id, *create_time, *event_type, *resource_type, *summary;
    const char *algorithm, *ciphertext, *nonce, *associated_data, *original_type;
};

static enum wxp_code read_envelope(const cJSON *root, struct envelope *e, struct wxp_err *err)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "resource");
    const cJSON *ct;
    enum wxp_code rc;

    if (!cJSON_IsObject(root)) {
        return bad(err, "body", "is not a JSON object");
    }
    if ((rc = no_repeats(root, "body.", err)) != WXP_OK ||
        (rc = str_member(root, "id", "body.id", true, &e->id, err)) != WXP_OK ||
        (rc = str_member(root, "create_time", "body.create_time", true, &e->create_time, err)) !=
            WXP_OK ||
        (rc = str_member(root, "resource_type", "body.resource_type", true, &e->resource_type,
                         err)) != WXP_OK ||
        (rc = str_member(root, "event_type", "body.event_type", true, &e->event_type, err)) !=
            WXP_OK ||
        (rc = str_member(root, "summary", "body.summary", true, &e->summary, err)) != WXP_OK) {
        return rc;
    }
    if (res == NULL) {
        return bad(err, "body.resource", "is missing");
    }
    if (!cJSON_IsObject(res)) {
        return bad(err, "body.resource", "is not an object");
    }
    if ((rc = no_repeats(res, "body.resource.", err)) != WXP_OK ||
        (rc = str_member(res, "algorithm", "body.resource.algorithm", true, &e->algorithm, err)) !=
            WXP_OK ||
        (rc = str_member(res, "nonce", "body.resource.nonce", true, &e->nonce, err)) != WXP_OK ||
        (rc = str_member(res, "associated_data", "body.resource.associated_data", false,
                         &e->associated_data, err)) != WXP_OK ||
        (rc = str_member(res, "original_type", "body.resource.original_type", false,
                         &e->original_type, err)) != WXP_OK) {
        return rc;
    }
    /* The ciphertext is bounded by wxp_aead_decrypt (WXP_AEAD_CIPHERTEXT_MAX), not by the member
     * cap. */
    ct = cJSON_GetObjectItemCaseSensitive(res, "ciphertext");
    if (ct == NULL) {
        return bad(err, "body.resource.ciphertext", "is missing");
    }
    if (!cJSON_IsString(ct) || ct->valuestring == NULL) {
        return bad(err, "body.resource.ciphertext", "is not a string");
    }
    e->ciphertext = ct->valuestring;
    /* rule: resource_type is "encrypt-resource". src:
     * docs/notifications.md#verifying-and-decrypting-a-notification */
    if (strcmp(e->resource_type, WXP_NOTIFY_RESOURCE_TYPE) != 0) {
        return wxp_err_set(err, WXP_E_NOTIFY_RESOURCE_TYPE, "body.resource_type",
                           "resource_type \"%.40s\" is not " WXP_NOTIFY_RESOURCE_TYPE,
                           e->resource_type);
    }
    /* rule: the resource's algorithm must be the suite's (wechatpay-go refuses another one as a
     * possibly invalid notification). src:
     * docs/notifications.md#verifying-and-decrypting-a-notification */
    if (strcmp(e->algorithm, WXP_NOTIFY_ALGORITHM) != 0) {
        return wxp_err_set(err, WXP_E_NOTIFY_ALGORITHM, "body.resource.algorithm",
                           "resource.algorithm \"%.40s\" is not " WXP_NOTIFY_ALGORITHM,
                           e->algorithm);
    }
    return WXP_OK;
}

/* Copies every member of `e` and takes `pt`'s bytes into `out`. */
static enum wxp_code keep(const struct envelope *e, const struct wxp_buf *pt,
                          struct wxp_notify *out, struct wxp_err *err)
{
    out->id = wxp_strndup(e->id, strlen(e->id));
    out->create_time = wxp_strndup(e->create_time, strlen(e->create_time));
    out->event_type = wxp_strndup(e->event_type, strlen(e->event_type));
    out->resource_type = wxp_strndup(e->resource_type, strlen(e->resource_type));
    out->summary = wxp_strndup(e->summary, strlen(e->summary));
    out->algorithm = wxp_strndup(e->algorithm, strlen(e->algorithm));
    out->original_type = wxp_strndup(e->original_type, strlen(e->original_type));
    out->associated_data = wxp_strndup(e->associated_data, strlen(e->associated_data));
    out->resource = wxp_strndup(wxp_buf_cstr(pt), pt->len);
    out->resource_len = pt->len;
    if (out->id == NULL || out->create_time == NULL || out->event_type == NULL ||
        out->resource_type == NULL || out->summary == NULL || out->algorithm == NULL ||
        out->original_type == NULL || out->associated_data == NULL || out->resource == NULL) {
        return wxp_err_set(err, WXP_E_NOMEM, "body", NULL);
    }
    return WXP_OK;
}

enum wxp_code wxp_notify_parse(const struct wxp_keystore *ks, struct wxp_str apiv3_key,
                               const struct wxp_notify_in *in, const struct wxp_resp_policy *p,
                               struct wxp_notify *out, struct wxp_err *err)
{
    const struct wxp_str body = in->r.body;
    struct envelope e;
    struct wxp_buf pt;
    cJSON *root = NULL;
    size_t off = 0;
    enum wxp_code rc;

    memset(out, 0, sizeof *out);
    memset(&e, 0, sizeof e);
    wxp_buf_init(&pt, WXP_AEAD_PLAINTEXT_MAX);
    if (body.len > WXP_NOTIFY_BODY_MAX) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, "body", "notification body over %zu bytes",
                           WXP_NOTIFY_BODY_MAX);
    }
    /* rule: Wechatpay-Signature-Type picks the suite; absent or empty means
     * WECHATPAY2-SHA256-RSA2048, anything else is refused (wechatpay-go: "unsupported
     * Wechatpay-Signature-Type"). src:
     * docs/notifications.md#verifying-and-decrypting-a-notification */
    if (in->signature_type.ptr != NULL && in->signature_type.len > 0 &&
        !wxp_str_eq(in->signature_type, WXP_STR_LIT(WXP_NOTIFY_SIG_TYPE))) {
        return wxp_err_set(
            err, WXP_E_NOTIFY_SIG_TYPE, "Wechatpay-Signature-Type",
            "Wechatpay-Signature-Type \"%.*s\" is not supported (only " WXP_NOTIFY_SIG_TYPE ")",
            (int)(in->signature_type.len > 40 ? 40 : in->signature_type.len),
            in->signature_type.ptr);
    }
    /* rule: verify the signature before reading anything of the body; a SIGNTEST probe fails
     * here like any forged signature. src:
     * docs/notifications.md#verifying-and-decrypting-a-notification */
    rc = wxp_resp_verify(ks, &in->r, p, err);
    if (rc == WXP_E_RESP_HEADER_MISSING && err != NULL) {
        /* The checker is the response's; its one message that names the message kind is
         * reworded here, so a handler's log says what it received. */
        char field[sizeof err->field];
        snprintf(field, sizeof field, "%s", err->field);
        return wxp_err_set(err, rc, field, "notification has no %s header", field);
    }
    if (rc != WXP_OK) {
        return rc;
    }
    rc = wxp_json_check(body.ptr, body.len, &off, err);
    if (rc != WXP_OK) {
        return rc;
    }
    root = cJSON_ParseWithLengthOpts(body.ptr, body.len, NULL, 0);
    if (root == NULL) {
        return wxp_err_set(err, WXP_E_NOMEM, "body", NULL);
    }
    rc = read_envelope(root, &e, err);
    if (rc != WXP_OK) {
        goto out;
    }
    {
        struct wxp_aead_params ap = {apiv3_key, wxp_str_c(e.nonce), wxp_str_c(e.associated_data)};
        rc = wxp_aead_decrypt(&ap, e.ciphertext, strlen(e.ciphertext), &pt, err);
    }
    if (rc == WXP_E_AEAD_AUTH) {
        rc = wxp_err_set(err, rc, "body.resource.ciphertext",
                         "resource does not decrypt: wrong APIv3 key, or the ciphertext, tag, "
                         "nonce or associated_data was altered");
        goto out;
    }
    if (rc != WXP_OK) {
        if (err != NULL) {
            snprintf(err->field, sizeof err->field, "%s",
                     rc == WXP_E_AEAD_KEY     ? "apiv3_key"
                     : rc == WXP_E_AEAD_NONCE ? "body.resource.nonce"
                                              : "body.resource.ciphertext");
        }
        goto out;
    }
    /* rule: the decrypted resource is a JSON object (the resource models of every SDK).
     * src: docs/notifications.md#verifying-and-decrypting-a-notification */
    if (pt.len == 0 || wxp_json_check(pt.ptr, pt.len, &off, NULL) != WXP_OK ||
        wxp_buf_cstr(&pt)[strspn(wxp_buf_cstr(&pt), " \t\r\n")] != '{') {
        rc = wxp_err_set(err, WXP_E_NOTIFY_PLAINTEXT, "body.resource.ciphertext",
                         "the decrypted resource (%zu bytes) is not a JSON object", pt.len);
        goto out;
    }
    rc = keep(&e, &pt, out, err);
out:
    if (rc != WXP_OK) {
        wxp_notify_free(out);
    }
    cJSON_Delete(root);
    wxp_buf_free(&pt);
    return rc;
}
