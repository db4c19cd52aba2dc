/* SPDX-License-Identifier: MIT */
/* notify_bench.c: wxp-bench-notify measures how many notifications per second wxpay-mock
 * delivers to a local receiver that answers 204, each one signed by the platform key and
 * AES-256-GCM encrypted with merchant A's APIv3 key, against the signing rate of one thread
 * measured in the same process (the mock sends from one thread and signs each notification once,
 * so one thread's sign rate is what it cannot beat). The receiver (libmicrohttpd, one polling
 * thread, 127.0.0.1:0) checks every notification with the core's wxp_notify_parse (signature,
 * then decryption); the driver asks for them through POST /__admin/notifications, --batch of them
 * per request ("count", default 20), over --connections kept-alive connections (default 2),
 * keeping at most --window of them asked for and not yet received, so the mock's queue never
 * fills. Prints one line: notify_per_s=.. sign_per_s=.. sign_before=.. sign_after=.. ratio=..
 * delivered=.. bad=.. refused=.. seconds=.. cpu_us=.. (this process's CPU, receiver and driver,
 * per delivery over the window) received_all=.. (warm-up and the last ones included: the mock's
 * CPU over its life divides by it). Exit status 0 when every notification received in the window
 * parsed and no request was refused. TEST ONLY keys.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wxp/aead.h"
#include "wxp/buf.h"
#include "wxp/err.h"
#include "wxp/keys.h"
#include "wxp/notify.h"
#include "wxp/sign.h"
#include "wxp/verify.h"

#define PLATFORM_KEY WXP_FIXTURES_DIR "/keys/test-platform.key.pem"
#define PLATFORM_CERT WXP_FIXTURES_DIR "/certs/test-platform.cert.pem"
#define APIV3_KEY WXP_FIXTURES_DIR "/keys/test-merchant-a.apiv3.key"
#define WINDOW_MAX 1000
#define UPLOAD_MAX ((size_t)64 * 1024)
/* Notifications asked for by one admin request ("count"); the default is measured
 * (docs/performance.md#notifications). */
#define BATCH_MAX 1000
#define BATCH_DEFAULT 20

struct rx {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long received; /* every notification that arrived */
    long bad;      /* of which did not parse */
    long asked;    /* asked for and accepted (201), or being asked for */
    long refused;  /* asked for and not accepted */
    long window;
    long batch; /* notifications asked for by one admin request ("count") */
    struct wxp_keystore *ks;
    char apiv3[WXP_AEAD_KEY_LEN];
};

static struct rx rx = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 200, 1, NULL, {0}};

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* Signs a notification-sized signing string for `seconds`; signs per second, 0 on error. */
static double sign_rate(const struct wxp_key *key, double seconds)
{
    char msg[700];
    char sig[WXP_SIG_B64_MAX];
    size_t siglen;
    double start = now_s(), t = start;
    long n = 0;
    int len =
        snprintf(msg, sizeof msg, "1700000000\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n%0600d\n", 0);

    while (t - start < seconds) {
        if (wxp_sign(key, msg, (size_t)len, sig, sizeof sig, &siglen, NULL) != WXP_OK) {
            return 0;
        }
        n++;
        t = now_s();
    }
    return (double)n / (t - start);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static struct wxp_str str_of(const char *s)
{
    return (struct wxp_str){s, s != NULL ? strlen(s) : 0};
}

/* One notification: collects the body, then parses it (signature, decryption) and answers 204. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    struct wxp_buf *body = *con_cls;
    struct MHD_Response *resp;
    struct wxp_notify_in in;
    struct wxp_notify n;
    struct wxp_resp_policy p = {(int64_t)time(NULL), WXP_SKEW_DEFAULT, true};
    enum wxp_code rc;
    enum MHD_Result ret;

    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    if (body == NULL) {
        body = malloc(sizeof *body);
        if (body == NULL) {
            return MHD_NO;
        }
        wxp_buf_init(body, UPLOAD_MAX);
        *con_cls = body;
        return MHD_YES;
    }
    if (*size > 0) {
        if (wxp_buf_add(body, data, *size) != WXP_OK) {
            return MHD_NO;
        }
        *size = 0;
        return MHD_YES;
    }
    memset(&in, 0, sizeof in);
    in.r.timestamp = str_of(header(c, "Wechatpay-Timestamp"));
    in.r.nonce = str_of(header(c, "Wechatpay-Nonce"));
    in.r.signature = str_of(header(c, "Wechatpay-Signature"));
    in.r.serial = str_of(header(c, "Wechatpay-Serial"));
    in.r.request_id = str_of(header(c, "Request-ID"));
    in.r.body = (struct wxp_str){body->ptr, body->len};
    in.signature_type = str_of(header(c, "Wechatpay-Signature-Type"));
    memset(&n, 0, sizeof n);
    rc = wxp_notify_parse(rx.ks, (struct wxp_str){rx.apiv3, sizeof rx.apiv3}, &in, &p, &n, NULL);
    wxp_notify_free(&n);
    pthread_mutex_lock(&rx.lock);
    rx.received++;
    if (rc != WXP_OK) {
        rx.bad++;
    }
    pthread_cond_broadcast(&rx.cond);
    pthread_mutex_unlock(&rx.lock);
    resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        return MHD_NO;
    }
    ret = MHD_queue_response(c, 204, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    struct wxp_buf *body = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (body != NULL) {
        wxp_buf_free(body);
        free(body);
    }
    *con_cls = NULL;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static long received(void)
{
    long v;
    pthread_mutex_lock(&rx.lock);
    v = rx.received;
    pthread_mutex_unlock(&rx.lock);
    return v;
}

#define CONNS_MAX 16

struct driver {
    pthread_t thread;
    CURL *c;
    double until;
    int rc;
};

/* One connection asking for notifications until d->until (monotonic seconds), while fewer than
 * rx.window are asked for and not yet received (all connections together). */
static void *drive(void *arg)
{
    struct driver *d = arg;

    while (now_s() < d->until) {
        long status = 0;
        CURLcode cc;
        pthread_mutex_lock(&rx.lock);
        while (rx.asked - rx.received + rx.batch > rx.window && now_s() < d->until) {
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_nsec += 50 * 1000000L;
            if (dl.tv_nsec >= 1000000000L) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&rx.cond, &rx.lock, &dl);
        }
        rx.asked += rx.batch;
        pthread_mutex_unlock(&rx.lock);
        cc = curl_easy_perform(d->c);
        if (cc == CURLE_OK) {
            curl_easy_getinfo(d->c, CURLINFO_RESPONSE_CODE, &status);
        }
        if (status != 201) {
            pthread_mutex_lock(&rx.lock);
            rx.asked -= rx.batch;
            rx.refused += rx.batch;
            pthread_mutex_unlock(&rx.lock);
        }
        if (cc != CURLE_OK) {
            fprintf(stderr, "wxp-bench-notify: the admin request failed: %s\n",
                    curl_easy_strerror(cc));
            d->rc = -1;
            return NULL;
        }
    }
    return NULL;
}

/* Runs `n` connections until `until`; 0, or -1 when a request failed. */
static int drive_all(struct driver *ds, long n, double until)
{
    int rc = 0;

    for (long i = 0; i < n; i++) {
        ds[i].until = until;
        ds[i].rc = 0;
        if (pthread_create(&ds[i].thread, NULL, drive, &ds[i]) != 0) {
            ds[i].rc = -1;
        }
    }
    for (long i = 0; i < n; i++) {
        if (ds[i].rc == 0) {
            pthread_join(ds[i].thread, NULL);
        }
        rc = ds[i].rc != 0 ? -1 : rc;
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *mock = NULL;
    double seconds = 5, warmup = 1;
    long window = 200, conns = 2, batch = BATCH_DEFAULT, r0, r1, bad0, bad1, refused, asked;
    struct driver ds[CONNS_MAX];
    struct wxp_key *key = NULL, *cert = NULL;
    struct wxp_err err;
    struct MHD_Daemon *d = NULL;
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    struct curl_slist *hl = NULL;
    char url[160], body[512], count[32] = "";
    double before, after, t0, t1, c0, c1;
    size_t klen;
    FILE *f;
    int rc = 1;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--mock-url") == 0) {
            mock = argv[i + 1];
        } else if (strcmp(argv[i], "--seconds") == 0) {
            seconds = strtod(argv[i + 1], NULL);
        } else if (strcmp(argv[i], "--window") == 0) {
            window = strtol(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--connections") == 0) {
            conns = strtol(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--batch") == 0) {
            batch = strtol(argv[i + 1], NULL, 10);
        }
    }
    if (mock == NULL || strlen(mock) > 100 || !(seconds > 0 && seconds <= 600) || window < 1 ||
        window > WINDOW_MAX || conns < 1 || conns > CONNS_MAX || batch < 1 || batch > BATCH_MAX ||
        batch > window || argc % 2 != 1) {
        fprintf(stderr,
                "usage: wxp-bench-notify --mock-url URL [--seconds N] [--window 1..%d] "
                "[--connections 1..%d] [--batch 1..%d, at most the window]\n",
                WINDOW_MAX, CONNS_MAX, BATCH_MAX);
        return 2;
    }
    rx.window = window;
    rx.batch = batch;
    memset(ds, 0, sizeof ds);
    f = fopen(APIV3_KEY, "rb");
    klen = f != NULL ? fread(rx.apiv3, 1, sizeof rx.apiv3, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    rx.ks = wxp_keystore_new();
    if (klen != sizeof rx.apiv3 || rx.ks == NULL ||
        wxp_key_private_file(PLATFORM_KEY, &key, &err) != WXP_OK ||
        wxp_key_cert_file(PLATFORM_CERT, &cert, &err) != WXP_OK ||
        wxp_keystore_add(rx.ks, cert, &err) != WXP_OK) {
        fprintf(stderr, "wxp-bench-notify: cannot load the fixtures' keys\n");
        goto out;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_request,
                         NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, on_done,
                         NULL, MHD_OPTION_END);
    info = d != NULL ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (info == NULL) {
        fprintf(stderr, "wxp-bench-notify: cannot start the receiver\n");
        goto out;
    }
    /* "count" only above 1, so that --batch 1 also asks a mock that predates it. */
    if (batch > 1) {
        snprintf(count, sizeof count, ",\"count\":%ld", batch);
    }
    snprintf(body, sizeof body,
             "{\"event_type\":\"PAYSCORE.USER_CONFIRM\",\"summary\":\"bench\",\"resource\":"
             "{\"openid\":\"oBenchNotify\",\"service_id\":\"500001\",\"appid\":"
             "\"wxd678efh567hg6787\"},\"url\":\"http://127.0.0.1:%u/notify\"%s}",
             (unsigned)info->port, count);
    snprintf(url, sizeof url, "%s/__admin/notifications", mock);
    hl = curl_slist_append(NULL, "Content-Type: application/json");
    if (hl == NULL) {
        goto out;
    }
    for (long i = 0; i < conns; i++) {
        CURL *c = curl_easy_init();
        if (c == NULL) {
            goto out;
        }
        ds[i].c = c;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    }

    before = sign_rate(key, seconds / 2);
    if (drive_all(ds, conns, now_s() + warmup) != 0) {
        goto out;
    }
    pthread_mutex_lock(&rx.lock);
    r0 = rx.received;
    bad0 = rx.bad;
    pthread_mutex_unlock(&rx.lock);
    t0 = now_s();
    c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    if (drive_all(ds, conns, t0 + seconds) != 0) {
        goto out;
    }
    pthread_mutex_lock(&rx.lock);
    r1 = rx.received;
    bad1 = rx.bad;
    asked = rx.asked;
    refused = rx.refused;
    pthread_mutex_unlock(&rx.lock);
    t1 = now_s();
    c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    /* Let the ones still queued arrive (bounded), so the mock is idle for the second sign loop. */
    for (int i = 0; i < 200 && received() < asked; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    after = sign_rate(key, seconds / 2);
    if (before <= 0 || after <= 0) {
        fprintf(stderr, "wxp-bench-notify: signing failed\n");
        goto out;
    }
    printf("notify_per_s=%.1f sign_per_s=%.1f sign_before=%.1f sign_after=%.1f ratio=%.3f "
           "delivered=%ld bad=%ld refused=%ld seconds=%.2f cpu_us=%.1f received_all=%ld\n",
           (double)(r1 - r0) / (t1 - t0), (before + after) / 2, before, after,
           ((double)(r1 - r0) / (t1 - t0)) / ((before + after) / 2), r1 - r0, bad1 - bad0, refused,
           t1 - t0, r1 > r0 ? (c1 - c0) * 1e6 / (double)(r1 - r0) : 0.0, received());
    rc = bad1 == 0 && refused == 0 && r1 > r0 ? 0 : 1;
out:
    for (long i = 0; i < conns; i++) {
        curl_easy_cleanup(ds[i].c);
    }
    curl_slist_free_all(hl);
    if (d != NULL) {
        MHD_stop_daemon(d);
    }
    wxp_keystore_free(rx.ks);
    wxp_key_free(key);
    return rc;
}
