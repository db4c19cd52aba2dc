/* SPDX-License-Identifier: MIT */
/* daemon.c: libmicrohttpd glue only. The raw request target comes from the URI log callback
 * (the handler's url is decoded and cut at '?'), headers and body are gathered into a
 * struct mock_request, and mock_handle decides the answer. Each connection owns one
 * struct mock_request, reused by the requests it carries: header names and values point into
 * libmicrohttpd's per-connection memory (valid until the request completes), and the target and
 * body buffers keep their memory, so a kept-alive connection allocates nothing per request. */
#include "daemon.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "wxp/envelope.h"
#include "wxp/mem.h"
#include "wxp/signmsg.h"

struct conn;

struct mock_daemon {
    struct MHD_Daemon *mhd;
    struct mock_server *srv;
    atomic_bool stopping; /* answers then carry Connection: close */
    atomic_bool refusing; /* the last phase of a stop: requests get 503 and are not executed */
    atomic_long inflight; /* requests from the handler's first call to completed() */
    atomic_uint conns;    /* open connections, from NOTIFY_CONNECTION started to closed */
    unsigned max_conns;   /* --max-connections */
    /* Scripted delays: a delayed answer waits in `waiting` on a suspended connection, and the
     * timer thread resumes the connection when it is due. All four under `mu`. */
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* on CLOCK_MONOTONIC: the list changed, or the timer must quit */
    pthread_cond_t wake; /* on CLOCK_MONOTONIC: broadcast when a stop begins */
    struct conn *waiting;
    bool flushing;       /* a stop has begun: nothing is suspended or waits any more */
    bool per_connection; /* one thread per connection: a delay waits on `wake` instead */
    bool timer_quit;
    pthread_t timer;
};

/* Per connection: the request in progress, the buffer its target lives in, and the scratch
 * buffer for its signing strings (req.scratch points to it). */
struct conn {
    struct mock_request req;
    struct wxp_buf target;
    struct wxp_buf scratch;
    bool counted;  /* in mock_daemon's inflight: from the handler's first call to completed() */
    bool over_cap; /* opened beyond --max-connections: its request gets 503 */
    /* A delayed answer, decided and waiting for its time (has_pending), while the connection
     * is suspended and on the daemon's `waiting` list until due_ms (CLOCK_MONOTONIC). */
    struct mock_response pending;
    bool has_pending;
    bool pending_close; /* send it with Connection: close */
    int64_t due_ms;
    struct MHD_Connection *con;
    struct conn *next_waiting;
};

/* A request target cannot be longer than the connection's memory (64 KiB, below). */
#define TARGET_MAX ((size_t)64 * 1024)
/* Target, body and scratch buffers larger than this are freed between requests, not kept for the
 * next. */
#define KEEP_MAX ((size_t)16 * 1024)

/* MHD_OPTION_NOTIFY_CONNECTION: the struct conn is made when a connection opens and freed when
 * it closes. */
static void notify_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    struct mock_daemon *d = cls;
    struct conn *c = *socket_context;

    (void)con;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        unsigned n = atomic_fetch_add(&d->conns, 1) + 1;
        c = wxp_malloc(sizeof *c);
        if (c != NULL) {
            memset(c, 0, sizeof *c);
            wxp_buf_init(&c->req.body, MOCK_BODY_MAX);
            wxp_buf_init(&c->target, TARGET_MAX);
            wxp_buf_init(&c->scratch, WXP_SIGNMSG_MAX);
            /* Over the cap: answered 503 as soon as its headers are in. (No shorter timeout is
             * set here: libmicrohttpd 0.9.75 may not have put the connection on its timeout
             * list yet when this runs, and MHD_set_connection_option moves it between lists.) */
            c->over_cap = n > d->max_conns;
        }
        *socket_context = c; /* NULL: uri_log refuses this connection's requests */
        return;
    }
    atomic_fetch_sub(&d->conns, 1);
    if (c != NULL) {
        if (c->counted) { /* closed without completed(): not expected, but never leak a count */
            atomic_fetch_sub(&d->inflight, 1);
        }
        if (c->has_pending) {
            mock_response_free(&c->pending);
        }
        wxp_buf_free(&c->req.body);
        wxp_buf_free(&c->target);
        wxp_buf_free(&c->scratch);
        wxp_free(c);
    }
    *socket_context = NULL;
}

/* MHD_OPTION_URI_LOG_CALLBACK: called once per request with the raw target, before the url is
 * decoded in place; the connection's request is set up here and released in completed(). */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct mock_daemon *d = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn *c = ci != NULL ? ci->socket_context : NULL;
    struct mock_request *r;
    struct wxp_buf body;

    if (c == NULL) {
        return NULL;
    }
    r = &c->req;
    body = r->body;
    wxp_buf_reset(&body);
    memset(r, 0, sizeof *r);
    r->body = body;
    r->scratch = &c->scratch;
    wxp_buf_reset(&c->target);
    if (wxp_buf_add(&c->target, uri, strlen(uri)) != WXP_OK) {
        return NULL;
    }
    r->target = (char *)(uintptr_t)wxp_buf_cstr(&c->target);
    r->received_ms = mock_wall_ms();
    r->seq = mock_server_next_seq(d->srv);
    return c;
}

/* An unusually large buffer is freed between requests rather than kept for the next
 * (wxp_buf_free leaves it empty with the same cap on its size). */
static void trim(struct wxp_buf *b)
{
    if (b->cap > KEEP_MAX) {
        wxp_buf_free(b);
    }
}

static void completed(void *cls, struct MHD_Connection *con, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct mock_daemon *d = cls;
    struct conn *c = *req_cls;

    (void)con;
    (void)toe;
    if (c != NULL) {
        if (c->counted) {
            atomic_fetch_sub(&d->inflight, 1);
            c->counted = false;
        }
        if (c->has_pending) { /* not expected: a suspended request is resumed before it ends */
            mock_response_free(&c->pending);
            c->has_pending = false;
        }
        /* The header pointers die with the request. */
        c->req.nheaders = 0;
        trim(&c->req.body);
        trim(&c->target);
        trim(&c->scratch);
    }
    *req_cls = NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct mock_request *r = cls;
    static char empty[1];
    (void)kind;
    if (r->nheaders == MOCK_HEADERS_MAX) {
        return MHD_NO;
    }
    /* Borrowed: libmicrohttpd keeps them until the request completes. */
    r->headers[r->nheaders].name = (char *)(uintptr_t)key;
    r->headers[r->nheaders].value = value != NULL ? (char *)(uintptr_t)value : empty;
    r->nheaders++;
    return MHD_YES;
}

/* Adds the size of one header line written as "Name: value\r\n". */
static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    size_t key_size, const char *value, size_t value_size)
{
    size_t *n = cls;
    (void)kind;
    (void)key;
    (void)value;
    *n += key_size + 2 + value_size + 2;
    return MHD_YES;
}

/* rule: libmicrohttpd 0.9.75 stores a header value up to its first NUL byte (both
 * MHD_get_connection_values and _n report the cut length), so "X-Admin-Token: T\0junk" reaches
 * the handler as "T". The size of the header block it reports counts every byte it read; a block
 * longer than its lines rebuilt as "Name: value\r\n" (with the request line and the empty line)
 * holds bytes the mock cannot see: a NUL and what follows it, or whitespace beyond one space.
 * src: RFC 9110 §5.5 (a NUL in a field value must be rejected); docs/mock-admin.md#token */
static bool headers_cut(struct MHD_Connection *con, const struct mock_request *req,
                        const char *version)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    size_t n = strlen(req->method) + 1 + strlen(req->target) + 1 + strlen(version) + 2 + 2;

    if (ci == NULL) {
        return false;
    }
    MHD_get_connection_values_n(con, MHD_HEADER_KIND, count_header, &n);
    return ci->header_size > n;
}

#define RFC3339_MS_SIZE 32

/* RFC 3339 UTC with milliseconds, "2026-12-04T16:53:28.123Z" (24 bytes and a NUL), into out. */
static void rfc3339_ms(int64_t ms, char out[static RFC3339_MS_SIZE])
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;

    if (ms < 0 || gmtime_r(&sec, &tm) == NULL ||
        strftime(out, RFC3339_MS_SIZE, "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
        snprintf(out, RFC3339_MS_SIZE, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out + 19, RFC3339_MS_SIZE - 19, ".%03uZ", (unsigned)(ms % 1000));
}

/* One line per answer (log.c: every field escaped). `request_id` is the Request-ID header sent
 * with the answer, NULL when none went out (a dropped connection, a scripted omission). */
static void log_request(const struct mock_server *srv, const struct mock_request *req,
                        const struct mock_response *resp, const char *request_id)
{
    struct wxp_buf line;
    char when[RFC3339_MS_SIZE];
    long long latency = (long long)(mock_wall_ms() - req->received_ms);

    if (srv->quiet) {
        return;
    }
    rfc3339_ms(mock_wall_ms(), when);
    wxp_buf_init(&line, 8192);
    if (mock_log_line(&line, srv->log_json != 0, when, req, resp, request_id, latency) == WXP_OK) {
        fputs(wxp_buf_cstr(&line), stderr);
    } else if (srv->log_json) {
        fprintf(stderr, "{\"time\":\"%s\",\"seq\":%llu,\"error\":\"log line too long\"}\n", when,
                (unsigned long long)req->seq);
    } else {
        fprintf(stderr, "wxpay-mock: seq=%llu log line too long\n", (unsigned long long)req->seq);
    }
    wxp_buf_free(&line);
}

/* rule: message framing that libmicrohttpd 0.9.75 lets through. Content-Length headers that
 * disagree make the body length unknowable: 400, then close. Transfer-Encoding together with
 * Content-Length: the chunked body is used, and the connection is closed after the answer.
 * src: RFC 9112 §6.1 and §6.3 item 5; docs/mock-server.md#http-framing (the message is our
 * choice: the live front end's answer to such requests is not known). Returns the message of a
 * refusal, or NULL; sets *close_after. */
static const char *framing_problem(const struct mock_request *req, bool *close_after)
{
    const char *cl = NULL;
    bool te = false;

    *close_after = false;
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct mock_header *h = &req->headers[i];
        if (strcasecmp(h->name, "Transfer-Encoding") == 0) {
            te = true;
        } else if (strcasecmp(h->name, "Content-Length") == 0) {
            if (cl != NULL && strcmp(cl, h->value) != 0) {
                *close_after = true;
                return "Http头Content-Length出现多次且取值不同";
            }
            cl = h->value;
        }
    }
    *close_after = te && cl != NULL;
    return NULL;
}

/* Puts the connection to sleep until its delayed answer is due: the handler returns at once and
 * no thread waits (the timer thread resumes the connection). False when a stop has begun: the
 * answer then goes out at once.
 * With one thread per connection, libmicrohttpd 0.9.75 does not support suspension (microhttpd.h:
 * "not applicable to thread-per-connection"; its suspended threads share one wake-up channel, and
 * a resume can be lost, seen here as answers that never came), so the connection's own thread
 * waits on `wake` instead, which a stop broadcasts; it serves no other connection. */
static bool suspend_until_due(struct mock_daemon *d, struct conn *c, struct MHD_Connection *con,
                              long delay_ms)
{
    bool queued = false;
    int64_t due = mock_mono_ms() + delay_ms;

    pthread_mutex_lock(&d->mu);
    if (d->per_connection) {
        struct timespec ts = {(time_t)(due / 1000), (long)(due % 1000) * 1000000L};
        while (!d->flushing && mock_mono_ms() < due) {
            pthread_cond_timedwait(&d->wake, &d->mu, &ts);
        }
    } else if (!d->flushing) {
        c->due_ms = due;
        c->con = con;
        c->next_waiting = d->waiting;
        d->waiting = c;
        MHD_suspend_connection(con);
        pthread_cond_signal(&d->cv);
        queued = true;
    }
    pthread_mutex_unlock(&d->mu);
    return queued;
}

static enum MHD_Result send_answer(struct mock_daemon *d, struct MHD_Connection *con,
                                   struct mock_request *req,
                                   const struct mock_response *answer_resp, bool close_after);

/* rule: refused as soon as the headers are in, before any body is read, then the connection is
 * closed: a Transfer-Encoding whose final coding is not chunked, or that applies chunked twice,
 * leaves the body length unknowable (400; RFC 9112 §6.3 item 4 and §7); a coding other than
 * chunked, such as gzip before chunked, is one the mock does not implement (501; RFC 9112 §6.1).
 * libmicrohttpd 0.9.75 takes any value but exactly "chunked" as a body that lasts until the
 * client closes, so without this a client got no answer until the idle timeout. A method that is
 * not a token (RFC 9110 §9.1, §5.6.2) is refused too: libmicrohttpd lets a control byte through.
 * src: docs/mock-server.md#http-framing. case: HTTP-26..HTTP-29. Returns the status of the
 * refusal (0: none) and sets *msg. */
static unsigned early_problem(const struct mock_request *req, const char **msg)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    bool any = false, chunked_last = false, chunked_twice = false, other = false;

    for (const char *p = req->method; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              strchr(tchar, ch) != NULL)) {
            *msg = "请求方法不合法";
            return 400;
        }
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *v = req->headers[i].value;
        if (strcasecmp(req->headers[i].name, "Transfer-Encoding") != 0) {
            continue;
        }
        /* A comma list; several header lines make one list, in order (RFC 9110 §5.3). */
        while (*v != '\0') {
            size_t n;
            v += strspn(v, " \t,");
            n = strcspn(v, ",");
            while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
                n--;
            }
            if (n == 0) {
                v += strcspn(v, ",");
                continue;
            }
            any = true;
            if (n == 7 && strncasecmp(v, "chunked", 7) == 0) {
                chunked_twice |= chunked_last;
                chunked_last = true;
            } else {
                if (chunked_last) {
                    chunked_last = false;
                    chunked_twice = true; /* a coding after chunked: not final */
                }
                other = true;
            }
            v += strcspn(v, ",");
        }
    }
    if (!any) {
        return 0;
    }
    if (!chunked_last || chunked_twice) {
        *msg = "Http头Transfer-Encoding的最后一个编码必须是chunked，且只能出现一次";
        return 400;
    }
    if (other) {
        *msg = "Http头Transfer-Encoding含有不支持的编码，只支持chunked";
        return 501;
    }
    return 0;
}

/* The handler's last call for a request: decide the answer (the checks, the operation, the
 * scenario), then send it, or keep it on the suspended connection until its delay is over. */
static enum MHD_Result answer(struct mock_daemon *d, struct conn *c, struct MHD_Connection *con)
{
    struct mock_request *req = &c->req;
    struct mock_response resp;
    bool close_after;
    const char *framing = framing_problem(req, &close_after);

    mock_response_init(&resp);
    if (atomic_load(&d->refusing)) {
        /* rule: the last phase of a stop executes nothing it may not be able to answer.
         * src: docs/mock-server.md#start (SIGINT, SIGTERM). */
        mock_response_error(&resp, 503, "SYSTEM_ERROR", "服务正在停止，请稍后重试", NULL);
        resp.failed_check = "stopping";
        close_after = true;
    } else if (framing != NULL) {
        mock_response_error(&resp, 400, "INVALID_REQUEST", framing, NULL);
        resp.failed_check = "framing";
    } else {
        mock_handle(d->srv, req, &resp);
    }
    if (resp.delay_ms > 0) {
        c->pending = resp; /* moved: the connection owns it until it is sent */
        c->has_pending = true;
        c->pending_close = close_after;
        if (suspend_until_due(d, c, con, resp.delay_ms)) {
            return MHD_YES;
        }
        c->has_pending = false;
    }
    return send_answer(d, con, req, &resp, close_after);
}

/* Sends `answer_resp` (or closes the connection for a drop), journals and logs it, and frees it. */
static enum MHD_Result send_answer(struct mock_daemon *d, struct MHD_Connection *con,
                                   struct mock_request *req,
                                   const struct mock_response *answer_resp, bool close_after)
{
    struct mock_response resp = *answer_resp;
    struct mock_out_headers h;
    struct MHD_Response *mr = NULL;
    struct wxp_err err;
    enum MHD_Result ret = MHD_NO;
    const char *sent_id = NULL; /* the Request-ID header that went out, for the log */

    if (resp.drop) {
        mock_journal_add(d->srv->journal, req, &resp);
        log_request(d->srv, req, &resp, NULL);
        mock_response_free(&resp);
        return MHD_NO; /* MHD closes the connection without answering */
    }
    if (mock_sign_response(d->srv, req, &resp, &h, &err) != WXP_OK) {
        mock_response_free(&resp);
        mock_response_init(&resp);
        mock_response_error(&resp, 500, "SYSTEM_ERROR", "系统异常，请稍后重试", NULL);
        resp.failed_check = "internal";
        memset(&h, 0, sizeof h);
    }
    resp.sign = h.has_sig; /* the journal records whether signature headers went out */
    static char empty[1];
    mr = MHD_create_response_from_buffer(resp.body.len, resp.body.ptr ? resp.body.ptr : empty,
                                         MHD_RESPMEM_MUST_COPY);
    if (mr == NULL) {
        goto out;
    }
    if (resp.body.len > 0 && resp.status != 204 && resp.status != 304) {
        MHD_add_response_header(mr, "Content-Type", "application/json; charset=utf-8");
    }
    MHD_add_response_header(mr, "Request-ID", h.request_id);
    sent_id = h.request_id;
    if (h.has_sig) {
        const struct {
            const char *name;
            const char *value;
        } sig[] = {
            {"Wechatpay-Nonce", h.nonce},
            {"Wechatpay-Signature", h.signature},
            {"Wechatpay-Timestamp", h.timestamp},
            {"Wechatpay-Serial", h.serial},
            {"Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048"},
        };
        for (size_t i = 0; i < sizeof sig / sizeof sig[0]; i++) {
            if (strcasecmp(resp.omit_header, sig[i].name) != 0) {
                MHD_add_response_header(mr, sig[i].name, sig[i].value);
            }
        }
    }
    if (strcasecmp(resp.omit_header, "Request-ID") == 0) {
        MHD_del_response_header(mr, "Request-ID", h.request_id);
        sent_id = NULL;
    }
    if (atomic_load(&d->stopping) || close_after) {
        /* Stopping: this answer still goes out in full, and the client learns that the
         * connection will not carry another request. */
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    ret = MHD_queue_response(con, resp.status, mr);
    MHD_destroy_response(mr);
    if (ret != MHD_YES) {
        sent_id = NULL;
    }
out:
    mock_journal_add(d->srv->journal, req, &resp);
    log_request(d->srv, req, &resp, sent_id);
    mock_response_free(&resp);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
{
    struct mock_daemon *d = cls;
    struct conn *c = *req_cls;
    struct mock_request *req = c != NULL ? &c->req : NULL;

    (void)url;
    if (req == NULL) {
        return MHD_NO;
    }
    if (req->method[0] == '\0') {
        const union MHD_ConnectionInfo *ci;
        /* libmicrohttpd calls completed() for every request that reached this handler (not for
         * those it refuses itself, such as a 431), so the count starts here. */
        c->counted = true;
        atomic_fetch_add(&d->inflight, 1);
        snprintf(req->method, sizeof req->method, "%s", method);
        req->body.max = mock_request_body_max(req->method, req->target);
        MHD_get_connection_values(con, MHD_HEADER_KIND, collect_header, req);
        req->headers_cut = headers_cut(con, req, version);
        ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET) {
            const struct sockaddr_in *in =
                (const struct sockaddr_in *)(const void *)ci->client_addr;
            const unsigned char *ip = (const unsigned char *)&in->sin_addr;
            snprintf(req->remote, sizeof req->remote, "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3],
                     (unsigned)ntohs(in->sin_port));
        }
        if (c->over_cap) {
            /* rule: at the connection cap a new connection is answered at once, never left
             * waiting behind slow clients. src: docs/mock-server.md#limits. */
            struct mock_response resp;
            mock_response_init(&resp);
            mock_response_error(&resp, 503, "SYSTEM_ERROR",
                                "连接数已达上限（--max-connections），请稍后重试", NULL);
            resp.failed_check = "connections";
            return send_answer(d, con, req, &resp, true);
        }
        {
            const char *msg = NULL;
            unsigned st = early_problem(req, &msg);
            if (st != 0) {
                struct mock_response resp;
                mock_response_init(&resp);
                mock_response_error(&resp, st, "INVALID_REQUEST", msg, NULL);
                resp.failed_check = "framing";
                return send_answer(d, con, req, &resp, true);
            }
        }
        return MHD_YES;
    }
    if (c->has_pending) { /* resumed: the delay is over (or a stop cut it short) */
        struct mock_response resp = c->pending;
        c->has_pending = false;
        return send_answer(d, con, req, &resp, c->pending_close);
    }
    if (*upload_data_size > 0) {
        req->body_received += *upload_data_size <= SIZE_MAX - req->body_received
                                  ? *upload_data_size
                                  : SIZE_MAX - req->body_received;
        if (!req->body_too_large &&
            wxp_buf_add(&req->body, upload_data, *upload_data_size) != WXP_OK) {
            req->body_too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return answer(d, c, con);
}

/* libmicrohttpd's own messages go to our log, except the one every scripted "drop" causes (the
 * handler refuses the request on purpose, and libmicrohttpd reports that as an error). */
static void mhd_log(void *cls, const char *fmt, va_list ap) WXP_PRINTF(2, 0);

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    const struct mock_daemon *d = cls;
    char line[512];

    vsnprintf(line, sizeof line, fmt, ap);
    if (d->srv->quiet || strstr(line, "Application reported internal error") != NULL) {
        return;
    }
    line[strcspn(line, "\n")] = '\0';
    fprintf(stderr, "wxpay-mock: libmicrohttpd: %s\n", line);
}

/* rule: one listener per address. A second mock on a port in use fails with EADDRINUSE (exit 1)
 * instead of sharing it: SO_REUSEPORT, which libmicrohttpd sets for
 * MHD_OPTION_LISTENING_ADDRESS_REUSE 1, let two mocks listen on one port and the kernel split the
 * connections between them. SO_REUSEADDR (libmicrohttpd's own default) is kept, so a mock restarted
 * on the port right after a stop binds while the old connections wait in TIME_WAIT. An IPv6
 * socket takes IPv6 only, as libmicrohttpd's MHD_USE_IPv6 does. The socket is made here, not by
 * libmicrohttpd, so that these options are ours and a failed bind reports its own errno.
 * src: socket(7) SO_REUSEADDR, SO_REUSEPORT; ipv6(7) IPV6_V6ONLY; docs/mock-server.md#listening.
 * Returns the listening socket, or -1 with `err` set. */
static int listen_socket(const struct sockaddr *addr, struct wxp_err *err)
{
    socklen_t len = addr->sa_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                                                : (socklen_t)sizeof(struct sockaddr_in);
    int on = 1;
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int e;

    if (fd < 0) {
        wxp_err_set(err, WXP_E_IO, "listen", "socket: %s", strerror(errno));
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        (addr->sa_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)) {
        wxp_err_set(err, WXP_E_IO, "listen", "setsockopt: %s", strerror(errno));
        goto fail;
    }
    if (bind(fd, addr, len) != 0) {
        e = errno;
        wxp_err_set(err, WXP_E_IO, "listen", "%s%s", strerror(e),
                    e == EADDRINUSE ? " (another process listens there: a mock still running?)"
                                    : "");
        goto fail;
    }
    if (listen(fd, SOMAXCONN) != 0) {
        wxp_err_set(err, WXP_E_IO, "listen", "listen: %s", strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

/* MHD_AcceptPolicyCallback: beyond the cap and its over-cap slots, a new connection is closed as
 * soon as it is accepted, rather than left unaccepted in the listen backlog (where a client waits
 * until its own timeout: libmicrohttpd stops accepting at its own limit). */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    const struct mock_daemon *d = cls;
    (void)addr;
    (void)addrlen;
    return atomic_load(&d->conns) >= d->max_conns + MOCK_OVER_CAP_SLOTS ? MHD_NO : MHD_YES;
}

/* The timer thread: resumes each suspended connection when its delay is due, or at once when a
 * stop has begun. A resumed connection's handler is called again and sends the answer. The
 * list holds at most one entry per connection, so a scan is cheap. */
static void *timer_main(void *arg)
{
    struct mock_daemon *d = arg;

    pthread_mutex_lock(&d->mu);
    while (!d->timer_quit) {
        int64_t now = mock_mono_ms();
        int64_t next = INT64_MAX;
        struct conn **pp = &d->waiting;
        while (*pp != NULL) {
            struct conn *c = *pp;
            if (d->flushing || c->due_ms <= now) {
                *pp = c->next_waiting;
                c->next_waiting = NULL;
                MHD_resume_connection(c->con); /* c may be gone once resumed: not touched again */
            } else {
                next = c->due_ms < next ? c->due_ms : next;
                pp = &c->next_waiting;
            }
        }
        if (next == INT64_MAX) {
            pthread_cond_wait(&d->cv, &d->mu);
        } else {
            struct timespec ts = {(time_t)(next / 1000), (long)(next % 1000) * 1000000L};
            pthread_cond_timedwait(&d->cv, &d->mu, &ts);
        }
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static bool timer_start(struct mock_daemon *d, struct wxp_err *err)
{
    pthread_condattr_t ca;
    int e;

    d->waiting = NULL;
    d->flushing = false;
    d->timer_quit = false;
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &ca);
    pthread_cond_init(&d->wake, &ca);
    pthread_condattr_destroy(&ca);
    e = pthread_create(&d->timer, NULL, timer_main, d);
    if (e != 0) {
        wxp_err_set(err, WXP_E_IO, "listen", "cannot start the timer thread: %s", strerror(e));
        pthread_cond_destroy(&d->cv);
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->mu);
        return false;
    }
    return true;
}

/* Ends the timer thread; every suspended connection has been resumed by then (the stop flushed
 * them, and nothing is suspended after that). */
static void timer_stop(struct mock_daemon *d)
{
    pthread_mutex_lock(&d->mu);
    d->flushing = true;
    d->timer_quit = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->timer, NULL);
    pthread_cond_destroy(&d->cv);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->mu);
}

struct mock_daemon *mock_daemon_start(struct mock_server *srv, const struct sockaddr *addr,
                                      const struct mock_daemon_limits *lim,
                                      const struct mock_tls *tls, struct wxp_err *err)
{
    unsigned threads = lim->threads;
    /* libmicrohttpd's own limit is never the one reached (at it, it stops accepting, and new
     * connects wait in the backlog): the accept policy closes connections well before it. A pool
     * splits the limit between its threads, hence the product. */
    unsigned mhd_limit = (lim->max_connections + MOCK_OVER_CAP_SLOTS + 8) * (threads ? threads : 1);
    struct mock_daemon *d = wxp_malloc(sizeof *d);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_OptionItem opts[20];
    size_t n = 0;
    int fd;

    if (d == NULL) {
        wxp_err_set(err, WXP_E_NOMEM, NULL, NULL);
        return NULL;
    }
    fd = listen_socket(addr, err);
    if (fd < 0) {
        wxp_free(d);
        return NULL;
    }
    d->srv = srv;
    d->per_connection = threads == 0;
    if (!timer_start(d, err)) {
        close(fd);
        wxp_free(d);
        return NULL;
    }
    atomic_init(&d->stopping, false);
    atomic_init(&d->refusing, false);
    atomic_init(&d->inflight, 0);
    atomic_init(&d->conns, 0);
    d->max_conns = lim->max_connections;
    if (addr->sa_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    /* poll, not select, in the per-connection threads: descriptors above FD_SETSIZE work. */
    flags |= threads == 0 ? MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL : MHD_USE_EPOLL;
    /* The logger comes first so that libmicrohttpd reports option errors through it. */
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, d};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_log, d};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, d};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify_connection, d};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                        (intptr_t)lim->connection_timeout_s, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)mhd_limit, NULL};
    /* Strict request parsing: an HTTP/1.1 request without Host is refused with 400 (RFC 9112
     * §3.2), as any production front end does. */
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL};
    if (threads > 0) {
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
    }
    if (tls != NULL) {
        flags |= MHD_USE_TLS;
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)tls->cert_pem};
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)tls->key_pem};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    errno = 0;
    d->mhd = MHD_start_daemon(flags, 0, accept_policy, d, handler, d, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (d->mhd == NULL) {
        int e = errno;
        wxp_err_set(err, WXP_E_IO, "listen", "%s%s",
                    e ? strerror(e) : "libmicrohttpd refused to start",
                    tls ? " (with TLS: check the certificate and key)" : "");
        /* libmicrohttpd 0.9.75 closes the given socket on some failed starts (a TLS set-up
         * failure: seen with strace) and may not on others. Nothing else opens files during
         * start-up, so a number still open is still this socket. */
        if (fcntl(fd, F_GETFD) != -1) {
            close(fd);
        }
        timer_stop(d);
        wxp_free(d);
        return NULL;
    }
    return d;
}

uint16_t mock_daemon_port(const struct mock_daemon *d)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

/* How long the connection count must stay still, with no request in flight, before the
 * connections left are taken to be idle. */
#define SETTLE_MS 100.0

static double monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Stops accepting at once (the listen socket is shut down, so new connects are refused rather
 * than left in its backlog), lets every request already received finish with its answer sent in
 * full (answers now carry Connection: close) and its connection closed, for at most grace_ms,
 * then closes what is left: idle kept-alive connections, and any request still running after the
 * grace. */
void mock_daemon_stop(struct mock_daemon *d, unsigned grace_ms)
{
    MHD_socket lsock;
    double deadline;
    double last_change;
    unsigned last_conns = UINT_MAX;

    if (d == NULL) {
        return;
    }
    atomic_store(&d->stopping, true);
    /* Delayed answers go out now: their requests have been executed, so they are answered. */
    pthread_mutex_lock(&d->mu);
    d->flushing = true;
    pthread_cond_signal(&d->cv);
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->mu);
    lsock = MHD_quiesce_daemon(d->mhd);
    if (lsock != MHD_INVALID_SOCKET) {
        shutdown(lsock, SHUT_RDWR);
    }
    deadline = monotonic_ms() + grace_ms;
    last_change = monotonic_ms();
    /* A request is complete before its connection has finished closing, so wait for the
     * connections too: each closes after its answer (Connection: close). One that stays open
     * with no request in flight for SETTLE_MS is idle, and is closed by the stop. */
    while (monotonic_ms() < deadline) {
        const union MHD_DaemonInfo *i =
            MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        unsigned conns = i != NULL ? i->num_connections : 0;
        double now = monotonic_ms();
        struct timespec ts = {0, 2 * 1000000L};
        if (conns == 0) {
            break;
        }
        if (atomic_load(&d->inflight) > 0 || conns != last_conns) {
            last_change = now;
            last_conns = conns;
        } else if (now - last_change >= SETTLE_MS) {
            break;
        }
        nanosleep(&ts, NULL);
    }
    /* From here on a request is refused (503, Connection: close) rather than executed: the
     * connections are about to close, and its answer might not get out. */
    atomic_store(&d->refusing, true);
    timer_stop(d);
    MHD_stop_daemon(d->mhd);
    if (lsock != MHD_INVALID_SOCKET) {
        close(lsock); /* ours once quiesced: microhttpd.h says close it after the stop */
    }
    wxp_free(d);
}
