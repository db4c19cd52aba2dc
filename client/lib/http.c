/* SPDX-License-Identifier: MIT */
/* http.c: one HTTP exchange on the client's curl handle: the request as built by call.c goes out
 * unchanged, and the status, the few headers the protocol needs and the body (capped) come back.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "wxp/mem.h"

#include "internal.h"

/* Indexed by enum wxl_hdr. Matched case-insensitively (RFC 9110 §5.1). */
static const char *const HDR_NAMES[WXL_H_COUNT] = {
    [WXL_H_REQUEST_ID] = "Request-ID",   [WXL_H_TIMESTAMP] = "Wechatpay-Timestamp",
    [WXL_H_NONCE] = "Wechatpay-Nonce",   [WXL_H_SIGNATURE] = "Wechatpay-Signature",
    [WXL_H_SERIAL] = "Wechatpay-Serial", [WXL_H_CONTENT_TYPE] = "Content-Type",
};

/* What the curl callbacks of one transfer share. */
struct xfer {
    const struct wxpay_client *c;
    const struct wxl_request *req;
    struct wxl_response *resp;
    long sent_before; /* CURLINFO_REQUEST_SIZE when the request was about to go out; -1: not yet */
};

/* rule: a request with a body is never sent twice by libcurl on its own; one without a body (a
 * GET) may be. libcurl resends a
 * request once, silently, when a kept-alive connection closes before any byte of the answer
 * (lib/transfer.c Curl_retry_request). For a POST that closed connection may come after the
 * server executed it (a terminate then runs twice and the second answer is INVALID_ORDER_STATE
 * for a call that succeeded), so the resend is refused and the call fails with resend_refused
 * set, which the result reports as an outcome that is not known. The body goes out with the
 * headers, in one write (CURLOPT_POSTFIELDS), so there is no rewind to refuse: libcurl calls
 * CURLOPT_PREREQFUNCTION before each request it sends, and a second call within one transfer is
 * the resend. It is refused when bytes went out since the first call (CURLINFO_REQUEST_SIZE
 * counts every request byte written in this transfer); when none did (the reused connection
 * failed at the first write), the request never left and the resend on a fresh connection is
 * allowed. Through a tunnelling proxy the fresh connection's CONNECT also counts, so a resend is
 * refused there even then: the safe side. src: docs/client.md#a-dropped-connection. */
static int before_request(void *ud, char *primary_ip, char *local_ip, int primary_port,
                          int local_port)
{
    struct xfer *x = ud;
    long sent = 0;

    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    if (curl_easy_getinfo(x->c->curl, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK) {
        sent = LONG_MAX; /* not known: refuse a resend */
    }
    if (x->sent_before < 0) {
        x->sent_before = sent;
        return CURL_PREREQFUNC_OK;
    }
    /* A GET, or a request without body bytes, changes nothing when sent again: libcurl's resend
     * is kept. So is one of which nothing went out. */
    if (x->req->body == NULL || x->req->body_len == 0 || sent == x->sent_before) {
        return CURL_PREREQFUNC_OK;
    }
    x->resp->resend_refused = true;
    return CURL_PREREQFUNC_ABORT;
}

void wxl_trace(const struct wxpay_client *c, const char *what, const char *text, size_t len)
{
    if (c->trace.fn != NULL) {
        c->trace.fn(c->trace.ud, what, text, len);
    }
}

void wxl_response_init(struct wxl_response *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < WXL_H_COUNT; i++) {
        wxp_buf_init(&r->hdr[i].value, WXL_HEADER_MAX);
    }
    wxp_buf_init(&r->body, WXL_BODY_MAX);
}

void wxl_response_free(struct wxl_response *r)
{
    for (size_t i = 0; i < WXL_H_COUNT; i++) {
        wxp_buf_free(&r->hdr[i].value);
        r->hdr[i].present = false;
    }
    wxp_buf_free(&r->body);
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static bool name_eq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);

    if (alen != blen) {
        return false;
    }
    for (size_t i = 0; i < alen; i++) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') {
            x = (char)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (char)(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

/* curl calls this once per complete header line, status lines included. */
static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    size_t total = size * nitems;
    size_t len = total;
    const char *colon;
    const char *v;
    size_t vlen;

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n')) {
        len--;
    }
    if (len == 0) {
        return total; /* the blank line that ends the header block */
    }
    wxl_trace(x->c, "response-header", line, len);
    /* A new status line starts a new answer (after a 1xx such as 100 Continue): forget what the
     * previous one said. */
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        for (size_t i = 0; i < WXL_H_COUNT; i++) {
            x->resp->hdr[i].present = false;
            wxp_buf_reset(&x->resp->hdr[i].value);
        }
        return total;
    }
    colon = memchr(line, ':', len);
    if (colon == NULL) {
        return total;
    }
    v = colon + 1;
    vlen = len - (size_t)(v - line);
    while (vlen > 0 && is_blank(v[0])) {
        v++;
        vlen--;
    }
    while (vlen > 0 && is_blank(v[vlen - 1])) {
        vlen--;
    }
    for (size_t i = 0; i < WXL_H_COUNT; i++) {
        struct wxl_header *h = &x->resp->hdr[i];
        if (!name_eq(line, (size_t)(colon - line), HDR_NAMES[i])) {
            continue;
        }
        /* A repeated header: the first one counts (a forger gains nothing, since the signature
         * is checked over the headers we keep). */
        if (h->present) {
            return total;
        }
        if (wxp_buf_add(&h->value, v, vlen) != WXP_OK) {
            x->resp->too_large = true;
            return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
        }
        h->present = true;
        return total;
    }
    return total;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;

    if (wxp_buf_add(&x->resp->body, data, n) != WXP_OK) {
        x->resp->too_large = x->resp->body.len + n > WXL_BODY_MAX;
        return 0;
    }
    return n;
}

/* Traces the request exactly as curl wrote it: the request line, then each header line, then
 * our body (which curl sends unchanged right after). */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    struct xfer *x = ud;
    size_t start = 0;
    bool first = true;

    (void)h;
    /* Between calls (libcurl closing the kept connection) there is no transfer to trace. */
    if (x == NULL || type != CURLINFO_HEADER_OUT) {
        return 0;
    }
    while (start < size) {
        size_t end = start;
        while (end < size && data[end] != '\r' && data[end] != '\n') {
            end++;
        }
        if (end > start) {
            wxl_trace(x->c, first ? "request-line" : "request-header", data + start, end - start);
            first = false;
        }
        start = end;
        while (start < size && (data[start] == '\r' || data[start] == '\n')) {
            start++;
        }
    }
    if (x->req->body != NULL && x->req->body_len > 0) {
        wxl_trace(x->c, "request-body", x->req->body, x->req->body_len);
    }
    return 0;
}

/* The options every request of a client shares: set once, when the handle is made. */
bool wxl_http_init(struct wxpay_client *c)
{
    CURL *h = c->curl;
    bool bad = false;

    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    /* The target curl sends must be the one we signed: no dot-segment squashing. */
    bad |= curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms) != CURLE_OK;
    if (c->ca_file != NULL) {
        bad |= curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file) != CURLE_OK;
    }
    bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, before_request) != CURLE_OK;
    if (c->trace.fn != NULL) {
        /* With a debug function set, VERBOSE feeds it and prints nothing. */
        bad |= curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_VERBOSE, 1L) != CURLE_OK;
    }
    return !bad;
}

/* Sets the options of one request. Returns false if curl refused one (out of memory). */
static bool set_request(CURL *h, const struct wxl_request *req, struct curl_slist *headers,
                        struct xfer *x)
{
    bool bad = false;

    bad |= curl_easy_setopt(h, CURLOPT_URL, req->url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PREREQDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_DEBUGDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->resp->errbuf) != CURLE_OK;
    if (strcmp(req->method, "GET") == 0 && req->body == NULL) {
        bad |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
        return !bad;
    }
    bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method) != CURLE_OK;
    /* A body (possibly empty, so that POST/PUT/PATCH carry Content-Length: 0); DELETE without
     * one sends none. */
    if (req->body != NULL || strcmp(req->method, "DELETE") != 0) {
        /* The body in the same write as the headers (libcurl copies a body of less than 64
         * KiB into its request buffer); before_request refuses a resend. */
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                                (curl_off_t)(req->body != NULL ? req->body_len : 0)) != CURLE_OK;
        bad |=
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "") != CURLE_OK;
    }
    return !bad;
}

/* Puts the per-request options back to libcurl's defaults: the handle keeps no pointer into a
 * finished call's stack or heap (libcurl calls the debug function when it closes the kept
 * connection, later), and the next request starts from a GET without a body. Setting these
 * cannot fail. */
static void clear_request(CURL *h)
{
    (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    (void)curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
    (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
    (void)curl_easy_setopt(h, CURLOPT_PREREQDATA, NULL);
    (void)curl_easy_setopt(h, CURLOPT_DEBUGDATA, NULL);
    (void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    (void)curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
}

/* Most requests carry 5 header lines (Authorization, Accept, Content-Type, User-Agent,
 * Wechatpay-Serial) plus Expect: they go in a list on the stack; a longer one is allocated. */
#define HEADERS_ON_STACK 8

CURLcode wxl_http_perform(struct wxpay_client *c, const struct wxl_request *req,
                          struct wxl_response *resp)
{
    /* No "Expect: 100-continue": one round trip, and the answer we parse is the final one. */
    static char expect[] = "Expect:";
    struct curl_slist stack[HEADERS_ON_STACK];
    struct curl_slist *list = stack;
    struct xfer x = {c, req, resp, -1};
    CURLcode rc = CURLE_OK;
    size_t n = 0;

    while (req->headers[n] != NULL) {
        n++;
    }
    /* libcurl reads the list and never frees or changes it (CURLOPT_HTTPHEADER). */
    if (n + 1 > HEADERS_ON_STACK) {
        list = wxp_malloc((n + 1) * sizeof *list);
        if (list == NULL) {
            rc = CURLE_OUT_OF_MEMORY;
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        list[i].data = (char *)(uintptr_t)req->headers[i];
        list[i].next = &list[i + 1];
    }
    list[n].data = expect;
    list[n].next = NULL;
    if (!set_request(c->curl, req, list, &x)) {
        rc = CURLE_FAILED_INIT;
        memcpy(resp->errbuf, "cannot set the curl options", sizeof "cannot set the curl options");
        goto out;
    }
    rc = curl_easy_perform(c->curl);
    if (rc != CURLE_OK) {
        if (resp->resend_refused) {
            /* The code a refused resend has always reported (docs/client.md): libcurl could not
             * send the request again. */
            rc = CURLE_SEND_FAIL_REWIND;
        }
        goto out;
    }
    if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status) != CURLE_OK) {
        resp->status = 0;
    }
    if (resp->body.len > 0) {
        wxl_trace(c, "response-body", wxp_buf_cstr(&resp->body), resp->body.len);
    }
out:
    clear_request(c->curl);
    if (list != stack) {
        wxp_free(list);
    }
    resp->curl_code = rc;
    return rc;
}
