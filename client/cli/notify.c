/* SPDX-License-Identifier: MIT */
/* notify.c: `wxpay notify listen` (a careful notification handler on libmicrohttpd, for local
 * development) and `wxpay notify verify` (one saved notification). Both hand each notification to
 * wxpay_notify_parse and print it as one JSON line, or why it was refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>

#include "cli.h"
#include "wxpay/wxpay.h"

/* Largest headers file read (curl -D of one exchange is a few hundred bytes). */
#define HEADERS_FILE_MAX ((size_t)64 * 1024)
/* Longest header value kept (a 4096-bit signature in base64 is 684 bytes). */
#define HEADER_VALUE_MAX 4096
/* rule: answer within 5 s. src: docs/notifications.md#wxpay-notify */
#define ANSWER_BUDGET_S 5
/* Ids remembered to mark a notification delivered again (the platform retries). */
#define SEEN_IDS 256

/* ---- output ---- */

/* One line of JSON for a verified notification: the envelope members, Request-ID, whether the id
 * was seen before, and the decrypted resource as it is (strict JSON has raw line breaks only
 * between tokens, so they become spaces). Returns 0, or -1 when out of memory. */
static int print_notification(const struct wxpay_notification *n, const char *request_id,
                              int duplicate)
{
    cJSON *o = cJSON_CreateObject();
    char *raw = malloc(n->resource_len + 1);
    char *text = NULL;
    int rc = -1;

    if (o == NULL || raw == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n->resource_len; i++) {
        raw[i] = n->resource[i] == '\n' || n->resource[i] == '\r' ? ' ' : n->resource[i];
    }
    raw[n->resource_len] = '\0';
    if (cJSON_AddStringToObject(o, "id", n->id) == NULL ||
        cJSON_AddStringToObject(o, "create_time", n->create_time) == NULL ||
        cJSON_AddStringToObject(o, "event_type", n->event_type) == NULL ||
        cJSON_AddStringToObject(o, "resource_type", n->resource_type) == NULL ||
        cJSON_AddStringToObject(o, "summary", n->summary) == NULL ||
        cJSON_AddStringToObject(o, "original_type", n->original_type) == NULL ||
        cJSON_AddStringToObject(o, "algorithm", n->algorithm) == NULL ||
        cJSON_AddStringToObject(o, "associated_data", n->associated_data) == NULL ||
        cJSON_AddStringToObject(o, "request_id", request_id != NULL ? request_id : "") == NULL ||
        cJSON_AddBoolToObject(o, "duplicate", duplicate) == NULL ||
        cJSON_AddRawToObject(o, "resource", raw) == NULL) {
        goto out;
    }
    text = cJSON_PrintUnformatted(o);
    if (text == NULL) {
        goto out;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    rc = 0;
out:
    cJSON_free(text);
    cJSON_Delete(o);
    free(raw);
    return rc;
}

/* One line on stderr: "refused (verify/bad_signature): why". Control bytes become spaces. */
static void print_refusal(const char *where, const struct wxpay_result *r)
{
    fprintf(stderr, "%srefused (%s/%s): ", where, wxpay_result_kind_name(r->kind),
            wxpay_verify_failure_name(r->verify_failure));
    for (const char *p = r->error; *p != '\0'; p++) {
        fputc((unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p, stderr);
    }
    fputc('\n', stderr);
}

static enum cli_exit exit_of(enum wxpay_result_kind k)
{
    switch (k) {
    case WXPAY_OK:
        return CLI_EXIT_OK;
    case WXPAY_ERR_VERIFY:
        return CLI_EXIT_VERIFY;
    case WXPAY_ERR_NOTIFY:
        return CLI_EXIT_NOTIFY;
    case WXPAY_ERR_TRANSPORT:
        return CLI_EXIT_TRANSPORT;
    case WXPAY_ERR_WECHAT:
        return CLI_EXIT_WECHAT;
    case WXPAY_ERR_LOCAL:
        break;
    }
    return CLI_EXIT_LOCAL;
}

/* ---- notify verify ---- */

/* Reads a whole file of at most `max` bytes; NUL-terminated. NULL with errno (EFBIG: too big). */
static char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t n;

    if (fp == NULL) {
        return NULL;
    }
    buf = malloc(max + 2);
    if (buf == NULL) {
        fclose(fp);
        errno = ENOMEM;
        return NULL;
    }
    n = fread(buf, 1, max + 1, fp);
    if (ferror(fp) || n > max) {
        int e = ferror(fp) ? EIO : EFBIG;
        fclose(fp);
        free(buf);
        errno = e;
        return NULL;
    }
    fclose(fp);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* RFC 9110 token characters: what a header name is made of. */
static int tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

enum hname { H_TIMESTAMP, H_NONCE, H_SIGNATURE, H_SERIAL, H_SIGTYPE, H_REQUEST_ID, H_COUNT };
static const char *const HNAMES[H_COUNT] = {
    "Wechatpay-Timestamp", "Wechatpay-Nonce",          "Wechatpay-Signature",
    "Wechatpay-Serial",    "Wechatpay-Signature-Type", "Request-ID",
};

/* Reads "Name: value" lines (LF or CRLF). A line that is not a header (a status line such as
 * "HTTP/1.1 200 OK" or "POST /notify HTTP/1.1", a comment, a blank line) is skipped, as are headers
 * other than the six above. Values are trimmed of spaces and tabs. Returns 0, or -1 with `why`
 * (a header given twice, a value over HEADER_VALUE_MAX). Values point into `text`, which is
 * modified (NULs written). */
static int parse_headers(char *text, const char *vals[H_COUNT], char *why, size_t whysz)
{
    char *line = text;

    while (*line != '\0') {
        char *end = line + strcspn(line, "\n");
        char *next = *end == '\n' ? end + 1 : end;
        char *colon = line;
        char *v;
        char *ve;

        *end = '\0';
        if (end > line && end[-1] == '\r') {
            end[-1] = '\0';
            end--;
        }
        while (tchar((unsigned char)*colon)) {
            colon++;
        }
        if (colon == line || *colon != ':') {
            line = next;
            continue;
        }
        *colon = '\0';
        v = colon + 1;
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        ve = end;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            *--ve = '\0';
        }
        for (size_t i = 0; i < H_COUNT; i++) {
            if (strcasecmp(line, HNAMES[i]) != 0) {
                continue;
            }
            if (vals[i] != NULL) {
                snprintf(why, whysz, "%s appears twice", HNAMES[i]);
                return -1;
            }
            if ((size_t)(ve - v) > HEADER_VALUE_MAX) {
                snprintf(why, whysz, "%s is longer than %d bytes", HNAMES[i], HEADER_VALUE_MAX);
                return -1;
            }
            vals[i] = v;
        }
        line = next;
    }
    return 0;
}

enum cli_exit cli_notify_verify(const struct cli_opts *o, struct wxpay_client *c)
{
    const char *vals[H_COUNT] = {NULL};
    struct wxpay_notify_input in;
    struct wxpay_notification n;
    struct wxpay_result r;
    char why[160];
    char *headers = NULL;
    char *body = NULL;
    size_t hlen = 0;
    size_t blen = 0;
    enum cli_exit rc = CLI_EXIT_USAGE;

    memset(&r, 0, sizeof r);
    memset(&n, 0, sizeof n);
    headers = slurp(o->headers_file, HEADERS_FILE_MAX, &hlen);
    if (headers == NULL) {
        fprintf(stderr, "wxpay: --headers %s: %s\n", o->headers_file,
                errno == EFBIG ? "larger than 64 KiB" : strerror(errno));
        goto out;
    }
    body = slurp(o->body_file, WXPAY_NOTIFY_BODY_MAX, &blen);
    if (body == NULL) {
        fprintf(stderr, "wxpay: --body %s: %s\n", o->body_file,
                errno == EFBIG ? "larger than the 256 KiB a notification may have"
                               : strerror(errno));
        goto out;
    }
    if (memchr(headers, '\0', hlen) != NULL) {
        fprintf(stderr, "wxpay: --headers %s: holds a NUL byte\n", o->headers_file);
        goto out;
    }
    if (parse_headers(headers, vals, why, sizeof why) != 0) {
        fprintf(stderr, "wxpay: --headers %s: %s\n", o->headers_file, why);
        goto out;
    }
    memset(&in, 0, sizeof in);
    in.timestamp = vals[H_TIMESTAMP];
    in.nonce = vals[H_NONCE];
    in.signature = vals[H_SIGNATURE];
    in.serial = vals[H_SERIAL];
    in.signature_type = vals[H_SIGTYPE];
    in.request_id = vals[H_REQUEST_ID];
    in.body = body;
    in.body_len = blen;
    rc = exit_of(wxpay_notify_parse(c, &in, &n, &r));
    if (rc == CLI_EXIT_OK) {
        if (print_notification(&n, vals[H_REQUEST_ID], 0) != 0) {
            fputs("wxpay: out of memory\n", stderr);
            rc = CLI_EXIT_LOCAL;
        }
    } else {
        print_refusal("", &r);
    }
out:
    wxpay_notification_free(&n);
    wxpay_result_free(&r);
    free(headers);
    free(body);
    return rc;
}

/* ---- notify listen ---- */

/* Shared by the libmicrohttpd thread (every request: the client is used from it alone) and the
 * main thread, which only waits for a signal. */
struct listener {
    struct wxpay_client *c;
    long count;      /* 0: never stop on its own */
    long valid;      /* valid notifications answered */
    long fail_first; /* --fail-first: valid notifications to answer 500 on purpose */
    long failed;     /* answered 500 on purpose so far */
    pthread_t main;  /* told with SIGUSR1 when `count` is reached */
    char seen[SEEN_IDS][64];
    size_t nseen;
};

/* Per request: the body, capped. */
struct request {
    char *body;
    size_t len;
    int too_large;
    int counts; /* a valid one: counted once its answer has gone out */
};

static int seen_before(struct listener *l, const char *id)
{
    for (size_t i = 0; i < l->nseen && i < SEEN_IDS; i++) {
        if (strcmp(l->seen[i], id) == 0) {
            return 1;
        }
    }
    snprintf(l->seen[l->nseen % SEEN_IDS], sizeof l->seen[0], "%s", id);
    l->nseen++;
    return 0;
}

static enum MHD_Result reply(struct MHD_Connection *con, unsigned status, const char *json)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        json != NULL ? strlen(json) : 0, (void *)(uintptr_t)(json != NULL ? json : ""),
        MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (resp == NULL) {
        return MHD_NO;
    }
    if (json != NULL) {
        MHD_add_response_header(resp, "Content-Type", "application/json");
    }
    rc = MHD_queue_response(con, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* rule: refuse with a non-2xx and {"code":"FAIL","message":...}; the message names the class of
 * failure, not the detail (the sender may be an attacker probing). src:
 * docs/notifications.md#wxpay-notify */
static enum MHD_Result refuse(struct MHD_Connection *con, unsigned status, const char *what)
{
    char json[256];
    snprintf(json, sizeof json, "{\"code\":\"FAIL\",\"message\":\"%s\"}", what);
    return reply(con, status, json);
}

static const char *hdr(struct MHD_Connection *con, const char *name)
{
    return MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
}

static enum MHD_Result handle(struct listener *l, struct MHD_Connection *con, struct request *q)
{
    struct wxpay_notify_input in;
    struct wxpay_notification n;
    struct wxpay_result r;
    enum wxpay_result_kind kind;
    enum MHD_Result rc;
    char what[96];

    if (q->too_large) {
        fprintf(stderr, "refused (notify/bad_envelope): body larger than %zu bytes\n",
                WXPAY_NOTIFY_BODY_MAX);
        return refuse(con, 413, "body too large");
    }
    memset(&in, 0, sizeof in);
    in.timestamp = hdr(con, "Wechatpay-Timestamp");
    in.nonce = hdr(con, "Wechatpay-Nonce");
    in.signature = hdr(con, "Wechatpay-Signature");
    in.serial = hdr(con, "Wechatpay-Serial");
    in.signature_type = hdr(con, "Wechatpay-Signature-Type");
    in.request_id = hdr(con, "Request-ID");
    in.body = q->body != NULL ? q->body : "";
    in.body_len = q->len;
    kind = wxpay_notify_parse(l->c, &in, &n, &r);
    /* --fail-first: the sender must retry these, so they are not printed, counted or marked
     * seen (the retry is the delivery that counts). */
    if (kind == WXPAY_OK && l->failed < l->fail_first) {
        l->failed++;
        fprintf(stderr, "failed on purpose (%ld of %ld, --fail-first): %.64s id=%.64s\n", l->failed,
                l->fail_first, n.event_type, n.id);
        wxpay_notification_free(&n);
        wxpay_result_free(&r);
        return refuse(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "failed on purpose (--fail-first)");
    }
    if (kind == WXPAY_OK) {
        int dup = seen_before(l, n.id);
        if (print_notification(&n, in.request_id, dup) != 0) {
            rc = refuse(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        } else {
            q->counts = 1;
            rc = reply(con, MHD_HTTP_NO_CONTENT, NULL);
        }
        wxpay_notification_free(&n);
        wxpay_result_free(&r);
        return rc;
    }
    print_refusal("", &r);
    snprintf(what, sizeof what, "%s: %s",
             kind == WXPAY_ERR_VERIFY   ? "signature verification failed"
             : kind == WXPAY_ERR_NOTIFY ? "notification cannot be used"
                                        : "cannot check the notification now",
             wxpay_verify_failure_name(r.verify_failure));
    rc = refuse(con,
                kind == WXPAY_ERR_VERIFY || kind == WXPAY_ERR_NOTIFY
                    ? MHD_HTTP_UNAUTHORIZED
                    : MHD_HTTP_INTERNAL_SERVER_ERROR,
                what);
    wxpay_result_free(&r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_len, void **req_cls)
{
    struct listener *l = cls;
    struct request *q = *req_cls;
    (void)url;
    (void)version;

    if (q == NULL) {
        q = calloc(1, sizeof *q);
        if (q == NULL) {
            return MHD_NO;
        }
        *req_cls = q;
        return MHD_YES;
    }
    if (*upload_len > 0) {
        if (!q->too_large && q->len + *upload_len <= WXPAY_NOTIFY_BODY_MAX) {
            char *p = realloc(q->body, q->len + *upload_len + 1);
            if (p == NULL) {
                return MHD_NO;
            }
            q->body = p;
            memcpy(q->body + q->len, upload, *upload_len);
            q->len += *upload_len;
            q->body[q->len] = '\0';
        } else {
            q->too_large = 1;
        }
        *upload_len = 0;
        return MHD_YES;
    }
    /* rule: notifications are POSTed. src: docs/notifications.md#wxpay-notify */
    if (strcmp(method, "POST") != 0) {
        fprintf(stderr, "refused: %.16s is not POST\n", method);
        return refuse(con, MHD_HTTP_METHOD_NOT_ALLOWED, "notifications are POSTed");
    }
    return handle(l, con, q);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct listener *l = cls;
    struct request *q = *req_cls;
    (void)con;

    if (q == NULL) {
        return;
    }
    if (q->counts && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        l->valid++;
        if (l->count > 0 && l->valid == l->count) {
            pthread_kill(l->main, SIGUSR1);
        }
    }
    free(q->body);
    free(q);
    *req_cls = NULL;
}

/* 127.0.0.0/8 and ::1. */
static int loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int write_ready(const char *path, const char *url)
{
    char tmp[CLI_PATH_MAX + 16];
    FILE *fp;
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);

    if (n < 0 || (size_t)n >= sizeof tmp || (fp = fopen(tmp, "w")) == NULL) {
        return -1;
    }
    if (fprintf(fp, "%s\n", url) < 0 || fclose(fp) != 0) {
        unlink(tmp);
        return -1;
    }
    return rename(tmp, path);
}

enum cli_exit cli_notify_listen(const struct cli_opts *o, struct wxpay_client *c)
{
    const char *bind = o->bind != NULL ? o->bind : "127.0.0.1";
    struct sockaddr_storage ss;
    struct MHD_Daemon *d = NULL;
    const union MHD_DaemonInfo *info;
    struct listener *l = calloc(1, sizeof *l);
    sigset_t sigs;
    char url[128];
    int sig = 0;
    enum cli_exit rc = CLI_EXIT_USAGE;

    if (l == NULL) {
        fputs("wxpay: out of memory\n", stderr);
        return CLI_EXIT_LOCAL;
    }
    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, bind, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ss.ss_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)o->port);
    } else if (inet_pton(AF_INET6, bind, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ss.ss_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)o->port);
    } else {
        fprintf(stderr, "wxpay: --bind takes an IPv4 or IPv6 address, not '%.64s'\n", bind);
        goto out;
    }
    /* rule: listen on loopback only unless asked: a development listener that anyone on the
     * network could reach would accept their probes. src: docs/notifications.md#wxpay-notify */
    if (!loopback(&ss) && !o->allow_remote) {
        fprintf(stderr,
                "wxpay: --bind %s is not a loopback address; add --allow-remote to listen "
                "there\n",
                bind);
        goto out;
    }
    l->c = c;
    l->count = o->count;
    l->fail_first = o->fail_first;
    l->main = pthread_self();
    /* Every thread (libmicrohttpd's too) inherits this mask; only sigwait below takes them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                             (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                         0, NULL, NULL, on_request, l, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)ANSWER_BUDGET_S,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "wxpay: cannot listen on %s port %ld: %s\n", bind, o->port,
                strerror(errno));
        rc = CLI_EXIT_LOCAL;
        goto out;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(url, sizeof url, ss.ss_family == AF_INET6 ? "http://[%s]:%u" : "http://%s:%u", bind,
             info != NULL ? (unsigned)info->port : 0u);
    if (o->ready_file != NULL && write_ready(o->ready_file, url) != 0) {
        fprintf(stderr, "wxpay: cannot write --ready-file %s: %s\n", o->ready_file,
                strerror(errno));
        rc = CLI_EXIT_LOCAL;
        goto out;
    }
    fprintf(stderr, "wxpay: listening for notifications on %s\n", url);
    if (sigwait(&sigs, &sig) != 0) {
        rc = CLI_EXIT_LOCAL;
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    /* The signals stay blocked: the process exits next, and a second one pending must not kill it
     * with another status. */
    if (d != NULL) {
        MHD_stop_daemon(d); /* waits for the request being handled */
        fprintf(stderr, "wxpay: stopped after %ld valid notification%s\n", l->valid,
                l->valid == 1 ? "" : "s");
    }
    free(l);
    return rc;
}
