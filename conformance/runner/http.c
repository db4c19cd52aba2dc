/* SPDX-License-Identifier: MIT */
/* http.c: one HTTP exchange over libcurl, exactly as the executors describe it: their header
 * lines, the path sent as is, and the raw header lines of the last response kept for grading. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf.h"

/* Caps on what is kept of an answer; a conforming answer is a few hundred bytes. */
#define HEAD_MAX ((size_t)64 * 1024)
#define BODY_MAX ((size_t)1024 * 1024)
/* Header lines an executor may pass, plus the two this file adds. */
#define HEADERS_MAX 32

void conf_http_init(struct conf_http_resp *r)
{
    r->status = 0;
    r->curl_code = 0;
    r->error[0] = '\0';
    wxp_buf_init(&r->head, HEAD_MAX);
    wxp_buf_init(&r->body, BODY_MAX);
}

void conf_http_free(struct conf_http_resp *r)
{
    if (r == NULL) {
        return;
    }
    wxp_buf_free(&r->head);
    wxp_buf_free(&r->body);
    r->status = 0;
    r->curl_code = 0;
}

/* Keeps the header lines of the last response only: a status line starts a new response (an
 * interim 1xx, or a redirect, would otherwise mix with the final answer). */
static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
    struct conf_http_resp *r = userp;
    size_t len = size * n;

    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        wxp_buf_reset(&r->head);
    }
    if (wxp_buf_add(&r->head, data, len) != WXP_OK) {
        return 0; /* over the cap: abort the transfer, the caller sees the curl error */
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct conf_http_resp *r = userp;
    size_t len = size * n;

    if (wxp_buf_add(&r->body, data, len) != WXP_OK) {
        return 0;
    }
    return len;
}

/* Set once by main before any call: the runner's one process-wide setting. */
static const char *cacert;

void conf_http_set_cacert(const char *path)
{
    cacert = path;
}

void conf_http(const char *method, const char *url, const char *const *headers, const char *body,
               size_t body_len, long timeout_ms, struct conf_http_resp *out)
{
    CURL *h = NULL;
    struct curl_slist *list = NULL, *tmp;
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    long status = 0;
    char ebuf[CURL_ERROR_SIZE];

    wxp_buf_reset(&out->head);
    wxp_buf_reset(&out->body);
    out->status = 0;
    out->error[0] = '\0';
    ebuf[0] = '\0';
    h = curl_easy_init();
    if (h == NULL) {
        goto out;
    }
    /* No Expect: 100-continue (the server under test answers the request as a whole). */
    tmp = curl_slist_append(list, "Expect:");
    if (tmp == NULL) {
        goto out;
    }
    list = tmp;
    for (size_t i = 0; headers != NULL && headers[i] != NULL && i < HEADERS_MAX; i++) {
        tmp = curl_slist_append(list, headers[i]);
        if (tmp == NULL) {
            goto out;
        }
        list = tmp;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* the signed target must be the sent one */
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (cacert != NULL) {
        curl_easy_setopt(h, CURLOPT_CAINFO, cacert);
    }
    curl_easy_setopt(h, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    if (body != NULL || strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body != NULL ? body_len : 0));
    }
    if (strcmp(method, "POST") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    rc = curl_easy_perform(h);
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
        out->status = status;
    }
out:
    out->curl_code = (int)rc;
    if (rc != CURLE_OK) {
        snprintf(out->error, sizeof out->error, "%s",
                 ebuf[0] != '\0' ? ebuf : curl_easy_strerror(rc));
    }
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
}

const char *conf_http_header(const struct conf_http_resp *r, const char *name, char *buf,
                             size_t cap)
{
    const char *p = wxp_buf_cstr(&r->head);
    const char *end = p + r->head.len;
    size_t nlen = strlen(name);

    if (cap == 0) {
        return NULL;
    }
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol != NULL ? eol : end;
        const char *v, *ve;
        size_t vlen;

        if ((size_t)(line_end - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            v = p + nlen + 1;
            ve = line_end;
            while (v < ve && (*v == ' ' || *v == '\t')) {
                v++;
            }
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) {
                ve--;
            }
            vlen = (size_t)(ve - v);
            /* cppcheck 2.10 calls this always false (it assumes the loop above ran); a long
             * header value makes it true. */
            /* cppcheck-suppress knownConditionTrueFalse */
            if (vlen >= cap) {
                vlen = cap - 1;
            }
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        if (eol == NULL) {
            break;
        }
        p = eol + 1;
    }
    return NULL;
}
