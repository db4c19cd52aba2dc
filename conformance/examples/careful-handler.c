/* SPDX-License-Identifier: MIT */
/* careful-handler.c: a model notification handler for WeChat Pay APIv3 callbacks (Pay Score's
 * USER_OPEN_SERVICE / USER_CLOSE_SERVICE and any other event), built on libwxpay and
 * libmicrohttpd. Copy it. It verifies before it decrypts (wxpay_notify_parse does both, in that
 * order), answers 204 to a valid notification and 401 with {"code":"FAIL","message"} to anything
 * else, acts once per notification id (the platform resends until it sees a 2xx) and answers at
 * once (the platform waits 5 s). "Acting" here is printing one line on stdout.
 *
 *   careful-handler --platform-cert PEM --apiv3-key-file FILE [--port N] [--ready-file FILE]
 *
 * A handler needs no merchant private key: only the platform certificate (to verify) and the
 * APIv3 key (to decrypt), hence wxpay_notify_client_new.
 *
 * It listens on 127.0.0.1 (put a TLS proxy in front of it in production: the platform only calls
 * public HTTPS URLs). SIGINT or SIGTERM stops it. See conformance/examples/README.md. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <wxpay/wxpay.h>

/* Ids already acted on: a ring of the last SEEN_MAX (a real handler keeps them in its database,
 * next to what it did, for as long as the platform may resend: a day or more). */
#define SEEN_MAX 1024
#define ID_MAX 64

struct handler {
    struct wxpay_client *client; /* used by the one MHD thread only: not thread-safe */
    char seen[SEEN_MAX][ID_MAX];
    size_t nseen;
};

/* What one request accumulates until its body is complete. */
struct request {
    char *body;
    size_t len;
    int too_large;
};

static int seen_before(struct handler *h, const char *id)
{
    for (size_t i = 0; i < SEEN_MAX && i < h->nseen; i++) {
        if (strcmp(h->seen[i], id) == 0) {
            return 1;
        }
    }
    snprintf(h->seen[h->nseen % SEEN_MAX], ID_MAX, "%s", id);
    h->nseen++;
    return 0;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *json)
{
    char copy[128]; /* MHD wants a mutable pointer even for a buffer it copies */
    size_t n = json != NULL ? strlen(json) : 0;
    struct MHD_Response *r = NULL;
    enum MHD_Result ret;
    if (n < sizeof copy) {
        memcpy(copy, json != NULL ? json : "", n + 1);
        r = MHD_create_response_from_buffer(n, copy, MHD_RESPMEM_MUST_COPY);
    }
    if (r == NULL) {
        return MHD_NO;
    }
    if (json != NULL) {
        MHD_add_response_header(r, "Content-Type", "application/json");
    }
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The notification is complete: check it, act once, answer. */
static enum MHD_Result handle(struct handler *h, struct MHD_Connection *conn, struct request *rq)
{
    struct wxpay_notify_input in = {
        .timestamp = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Wechatpay-Timestamp"),
        .nonce = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Wechatpay-Nonce"),
        .signature = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Wechatpay-Signature"),
        .serial = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Wechatpay-Serial"),
        .signature_type =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Wechatpay-Signature-Type"),
        .request_id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Request-ID"),
        .body = rq->body != NULL ? rq->body : "",
        .body_len = rq->len,
    };
    struct wxpay_notification n;
    struct wxpay_result r;
    enum MHD_Result ret;

    memset(&r, 0, sizeof r);
    if (rq->too_large) {
        return answer(conn, 413, "{\"code\":\"FAIL\",\"message\":\"body too large\"}");
    }
    switch (wxpay_notify_parse(h->client, &in, &n, &r)) {
    case WXPAY_OK:
        /* Verified and decrypted: act on it once per id, then acknowledge (again). */
        if (!seen_before(h, n.id)) {
            printf("%s %s %s\n", n.event_type, n.id, n.resource);
            fflush(stdout);
        }
        wxpay_notification_free(&n);
        ret = answer(conn, 204, NULL);
        break;
    case WXPAY_ERR_VERIFY: /* forged, replayed, probe, unknown key: never look at the body */
        fprintf(stderr, "refused (forged): %s\n", r.error);
        ret =
            answer(conn, 401, "{\"code\":\"FAIL\",\"message\":\"signature verification failed\"}");
        break;
    case WXPAY_ERR_NOTIFY: /* authentic, but the resource cannot be used (wrong APIv3 key?) */
        fprintf(stderr, "refused (unusable): %s\n", r.error);
        ret = answer(conn, 401, "{\"code\":\"FAIL\",\"message\":\"notification cannot be used\"}");
        break;
    case WXPAY_ERR_LOCAL: /* no APIv3 key configured, or out of memory */
    case WXPAY_ERR_TRANSPORT:
    case WXPAY_ERR_WECHAT:
    default:
        fprintf(stderr, "internal error: %s\n", r.error);
        ret = answer(conn, 500, "{\"code\":\"FAIL\",\"message\":\"internal error\"}");
        break;
    }
    wxpay_result_free(&r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **state)
{
    struct request *rq = *state;
    (void)url;
    (void)version;

    if (rq == NULL) { /* first call: headers only */
        if (strcmp(method, "POST") != 0) {
            return answer(conn, 405, "{\"code\":\"FAIL\",\"message\":\"POST only\"}");
        }
        rq = calloc(1, sizeof *rq);
        *state = rq;
        return rq != NULL ? MHD_YES : MHD_NO;
    }
    if (*size > 0) { /* a piece of the body: keep it, up to the cap */
        if (rq->too_large || rq->len + *size > WXPAY_NOTIFY_BODY_MAX) {
            rq->too_large = 1;
        } else {
            char *grown = realloc(rq->body, rq->len + *size + 1);
            if (grown == NULL) {
                return MHD_NO;
            }
            memcpy(grown + rq->len, data, *size);
            rq->body = grown;
            rq->len += *size;
            rq->body[rq->len] = '\0';
        }
        *size = 0;
        return MHD_YES;
    }
    return handle(cls, conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode why)
{
    struct request *rq = *state;
    (void)cls;
    (void)conn;
    (void)why;
    if (rq != NULL) {
        free(rq->body);
        free(rq);
        *state = NULL;
    }
}

/* Writes "http://127.0.0.1:PORT" to `path` whole (a temporary file renamed), for scripts. */
static int write_ready(const char *path, unsigned port)
{
    char tmp[4096];
    FILE *f;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        return -1;
    }
    f = fopen(tmp, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "http://127.0.0.1:%u\n", port);
    if (fclose(f) != 0) {
        return -1;
    }
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    struct wxpay_config cfg;
    const char *platform_certs[2] = {NULL, NULL};
    const char *ready = NULL;
    long port = 0;
    struct handler *h = calloc(1, sizeof *h);
    struct wxpay_result res;
    struct MHD_Daemon *d = NULL;
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;
    sigset_t stop;
    int sig = 0, status = 1;

    memset(&cfg, 0, sizeof cfg);
    memset(&res, 0, sizeof res);
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (v == NULL) {
            fprintf(stderr, "careful-handler: %s needs a value\n", a);
            status = 2;
            goto out;
        }
        if (strcmp(a, "--platform-cert") == 0) {
            platform_certs[0] = v;
        } else if (strcmp(a, "--apiv3-key-file") == 0) {
            cfg.apiv3_key_file = v;
        } else if (strcmp(a, "--ready-file") == 0) {
            ready = v;
        } else if (strcmp(a, "--port") == 0 && (port = strtol(v, &end, 10), *end == '\0') &&
                   end != v && port >= 0 && port <= 65535) {
            continue;
        } else {
            fprintf(stderr, "careful-handler: bad option %s %s\n", a, v);
            status = 2;
            goto out;
        }
    }
    cfg.platform_cert_files = platform_certs;
    if (h == NULL || wxpay_notify_client_new(&cfg, &h->client, &res) != WXPAY_OK) {
        fprintf(stderr, "careful-handler: %s\n", h == NULL ? "out of memory" : res.error);
        status = 2;
        goto out;
    }

    /* SIGINT/SIGTERM are blocked before the daemon's thread starts (it inherits the mask), then
     * waited for here. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* One internal thread: wxpay_notify_parse is not thread-safe on one client. */
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                         MHD_OPTION_CONNECTION_TIMEOUT, 5u, MHD_OPTION_END);
    info = d != NULL ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (info == NULL) {
        fprintf(stderr, "careful-handler: cannot listen on 127.0.0.1:%ld\n", port);
        goto out;
    }
    fprintf(stderr, "careful-handler: listening on http://127.0.0.1:%u\n", info->port);
    if (ready != NULL && write_ready(ready, info->port) != 0) {
        fprintf(stderr, "careful-handler: cannot write %s\n", ready);
        goto out;
    }
    sigwait(&stop, &sig);
    status = 0;
out:
    if (d != NULL) {
        MHD_stop_daemon(d);
    }
    if (h != NULL) {
        wxpay_client_free(h->client);
    }
    free(h);
    wxpay_result_free(&res);
    return status;
}
