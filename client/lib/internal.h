/* SPDX-License-Identifier: MIT */
/* internal.h: what the files of libwxpay share and nothing outside it sees. Names start with
 * wxl_ (libwxpay-internal, hidden by the default visibility); `struct wxpay_client` is defined
 * here and is opaque to callers. */
#ifndef WXPAY_INTERNAL_H
#define WXPAY_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "wxp/buf.h"
#include "wxp/err.h"
#include "wxp/keyfile.h"
#include "wxp/keys.h"
#include "wxp/verify.h"
#include "wxpay/wxpay.h"

#if defined(__GNUC__)
#define WXL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define WXL_PRINTF(fmt, args)
#endif

/* Largest answer body we keep; a bigger one fails the call as a transport error. */
#define WXL_BODY_MAX ((size_t)4 * 1024 * 1024)
/* Largest value of one captured response header (a 4096-bit signature is 684 bytes). */
#define WXL_HEADER_MAX ((size_t)4096)

/* Everything a client owns. Strings are owned copies, NUL-terminated. */
struct wxpay_client {
    CURL *curl;                /* one easy handle: its connection is kept alive between calls */
    struct wxp_key *key;       /* the merchant private key (wiped by wxp_key_free) */
    struct wxp_keystore *keys; /* platform certificates and public keys */
    char *base_url;            /* scheme://host[:port], no trailing '/' */
    char *mchid;
    char *serial;        /* merchant certificate serial, the Authorization serial_no */
    char *accept_serial; /* Wechatpay-Serial request header; "" sends none */
    char *user_agent;
    char *ca_file; /* NULL: the system's trust anchors */
    long connect_timeout_ms;
    long timeout_ms;
    long skew;
    struct wxpay_retry retry; /* defaults already applied */
    struct wxpay_trace trace;
    /* wxpay_client_warning: "" or one line (mch_key_file is open to others) */
    char warning[WXP_KEYFILE_WARNING_MAX];
    /* The string the last attempt signed, for wxpay_sign_diagnose (capped at WXP_SIGNMSG_MAX;
     * emptied when a call starts). */
    struct wxp_buf last_signed;
    /* The merchant's APIv3 key (AEAD_AES_256_GCM), wiped by wxpay_client_free. */
    unsigned char apiv3_key[32];
    bool has_apiv3_key;
    /* Set by wxpay_certificates for the duration of a first download (no platform key
     * configured): the answer is then verified with a certificate it lists itself. */
    bool first_download;
    /* auto_certificates: on, whether a download succeeded, when the next one is due, and a
     * guard against downloading from inside a download. */
    bool auto_certs;
    bool certs_loaded;
    long long certs_due;
    bool in_refresh;
    /* wxpay_notify_parse: when an unknown Wechatpay-Serial last caused a download (a sender
     * cannot make the client download more than once a minute). */
    long long notify_refresh_at;
};

/* certs.c */

/* Verification keys for a first download: the certificates `body` lists, decrypted under the
 * APIv3 key. Returns a new keystore, or NULL when the body yields none (the caller then verifies
 * against the configured keys and fails). */
struct wxp_keystore *wxl_certs_first_keys(const struct wxpay_client *c, struct wxp_str body);

/* auto_certificates: downloads the platform certificates and adds the new ones to c->keys.
 * Returns WXPAY_OK, or the download's failure in `res`. */
enum wxpay_result_kind wxl_certs_refresh(struct wxpay_client *c, struct wxpay_result *res);

/* call.c: auto_certificates: a download when none was made yet or one is due (as before a
 * call). WXPAY_OK, or the download's failure in `res`. */
enum wxpay_result_kind wxl_certs_auto_before(struct wxpay_client *c, struct wxpay_result *res);

/* result.c */

/* Zeroes *res (never frees: the caller may hand us an uninitialised struct). */
void wxl_result_reset(struct wxpay_result *res);
/* Sets res->kind and a one-line res->error (control bytes become spaces); returns `kind`. */
enum wxpay_result_kind wxl_fail(struct wxpay_result *res, enum wxpay_result_kind kind,
                                const char *fmt, ...) WXL_PRINTF(3, 4);
/* Copies `n` bytes into dst[cap] NUL-terminated, cutting at a UTF-8 character boundary when it
 * does not fit. */
void wxl_copy(char *dst, size_t cap, const char *src, size_t n);

/* http.c */

/* A captured response header: `present` tells an absent header from an empty one. */
struct wxl_header {
    bool present;
    struct wxp_buf value; /* trimmed of surrounding blanks */
};

enum wxl_hdr {
    WXL_H_REQUEST_ID,
    WXL_H_TIMESTAMP,
    WXL_H_NONCE,
    WXL_H_SIGNATURE,
    WXL_H_SERIAL,
    WXL_H_CONTENT_TYPE,
    WXL_H_COUNT
};

struct wxl_request {
    const char *method;         /* GET POST PUT PATCH DELETE */
    const char *url;            /* base_url + target */
    const char *const *headers; /* NULL-terminated "Name: value" lines */
    const char *body;           /* NULL: no body */
    size_t body_len;
};

struct wxl_response {
    CURLcode curl_code;  /* CURLE_OK when an HTTP answer came */
    bool too_large;      /* the body or a header went over its cap */
    bool resend_refused; /* the connection closed after the body went out, before any answer,
                            and libcurl's own resend was refused: the outcome is not known */
    char errbuf[CURL_ERROR_SIZE];
    long status;
    struct wxl_header hdr[WXL_H_COUNT];
    struct wxp_buf body; /* capped at WXL_BODY_MAX */
};

/* Cannot fail. */
void wxl_response_init(struct wxl_response *r);
void wxl_response_free(struct wxl_response *r);

/* Sets the options every request of the client shares on its new curl handle. Returns false if
 * curl refused one. */
bool wxl_http_init(struct wxpay_client *c);

/* Sends one request on the client's handle and fills `resp` (initialised by the caller). Returns
 * CURLE_OK when an HTTP answer (any status) arrived, else the curl error (also in resp). Traces
 * "request-line", "request-header", "request-body", "response-header", "response-body". */
CURLcode wxl_http_perform(struct wxpay_client *c, const struct wxl_request *req,
                          struct wxl_response *resp);

/* Calls the client's trace callback, if any. */
void wxl_trace(const struct wxpay_client *c, const char *what, const char *text, size_t len);

#endif
