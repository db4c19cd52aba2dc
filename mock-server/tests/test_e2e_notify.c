/* SPDX-License-Identifier: MIT */
/* test_e2e_notify.c: the notifications wxpay-mock sends, received by a libmicrohttpd receiver in
 * this process (127.0.0.1, port 0) that records each one and can answer 500 first or stall. Every
 * notification is checked with the core's wxp_notify_parse (signature, then decryption) against
 * the fixtures' platform keys and merchant A's APIv3 key: the user events, retries on a time
 * scale, giving up, every fault, the loopback rule, the listing, reset, the journal and how long a
 * stop waits. Reference: docs/notifications.md. */
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "e2e.h"
#include "wxp/keys.h"
#include "wxp/notify.h"
#include "wxp/verify.h"

#define SERVICE "500001"
#define APPID "wxd678efh567hg6787"
#define GOT_MAX 128
#define WAIT_MS 5000

/* ---- the receiver ------------------------------------------------------------------------ */

struct got {
    char *body;
    size_t len;
    char *h[8]; /* by HDR_* below; NULL when absent */
    int64_t at_ms;
    unsigned port; /* the sender's TCP port: which connection it came on */
};

enum { H_SERIAL, H_SIG, H_TS, H_NONCE, H_TYPE, H_RID, H_CT, H_UA, H_N };
static const char *const HNAMES[H_N] = {
    "Wechatpay-Serial",         "Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce",
    "Wechatpay-Signature-Type", "Request-ID",          "Content-Type",        "User-Agent"};

static struct {
    struct MHD_Daemon *d;
    char url[96];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct got got[GOT_MAX];
    size_t n;
    int fail_first; /* answer 500 to this many, then 200 */
    bool always_fail;
    bool stall; /* hold each answer until released */
    bool released;
} rx;

struct upload {
    struct wxp_buf body;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum MHD_Result rx_handler(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    struct upload *u = *con_cls;
    struct MHD_Response *resp;
    const char *answer;
    char text[128];
    unsigned status;
    enum MHD_Result ret;

    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    if (u == NULL) {
        u = calloc(1, sizeof *u);
        wxp_buf_init(&u->body, 1024 * 1024);
        *con_cls = u;
        return MHD_YES;
    }
    if (*size > 0) {
        assert_int_equal(wxp_buf_add(&u->body, data, *size), WXP_OK);
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&rx.lock);
    if (rx.n < GOT_MAX) {
        struct got *g = &rx.got[rx.n];
        g->body = strndup(u->body.ptr ? u->body.ptr : "", u->body.len);
        g->len = u->body.len;
        g->at_ms = now_ms();
        {
            const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
            g->port =
                ci != NULL && ci->client_addr->sa_family == AF_INET
                    ? ntohs(((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_port)
                    : 0;
        }
        for (size_t i = 0; i < H_N; i++) {
            const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, HNAMES[i]);
            g->h[i] = v ? strdup(v) : NULL;
        }
        rx.n++;
    }
    status = rx.always_fail || (int)rx.n <= rx.fail_first ? 500 : 200;
    pthread_cond_broadcast(&rx.cond);
    if (rx.stall) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 10;
        while (!rx.released && pthread_cond_timedwait(&rx.cond, &rx.lock, &dl) == 0) {
        }
    }
    pthread_mutex_unlock(&rx.lock);
    answer = status == 200 ? "{\"code\":\"SUCCESS\",\"message\":\"成功\"}"
                           : "{\"code\":\"FAIL\",\"message\":\"not yet\"}";
    snprintf(text, sizeof text, "%s", answer);
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void rx_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    struct upload *u = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (u != NULL) {
        wxp_buf_free(&u->body);
        free(u);
    }
    *con_cls = NULL;
}

static void rx_start(void)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    rx.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                            NULL, NULL, rx_handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, rx_done, NULL, MHD_OPTION_END);
    assert_non_null(rx.d);
    info = MHD_get_daemon_info(rx.d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    snprintf(rx.url, sizeof rx.url, "http://127.0.0.1:%u/notify", (unsigned)info->port);
}

static void rx_reset(void)
{
    pthread_mutex_lock(&rx.lock);
    for (size_t i = 0; i < rx.n; i++) {
        free(rx.got[i].body);
        for (size_t k = 0; k < H_N; k++) {
            free(rx.got[i].h[k]);
        }
    }
    memset(rx.got, 0, sizeof rx.got);
    rx.n = 0;
    rx.fail_first = 0;
    rx.always_fail = false;
    rx.stall = false;
    rx.released = false;
    pthread_mutex_unlock(&rx.lock);
}

/* Waits until the receiver holds at least `n` notifications; fails after WAIT_MS. */
static void rx_wait(size_t n)
{
    struct timespec dl;
    bool ok;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&rx.lock);
    while (rx.n < n && pthread_cond_timedwait(&rx.cond, &rx.lock, &dl) == 0) {
    }
    ok = rx.n >= n;
    pthread_mutex_unlock(&rx.lock);
    if (!ok) {
        fail_msg("the receiver got %zu notifications, expected %zu", rx.n, n);
    }
}

static int setup(void **state)
{
    (void)state;
    pthread_mutex_init(&rx.lock, NULL);
    pthread_cond_init(&rx.cond, NULL);
    rx_start();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rx_reset();
    MHD_stop_daemon(rx.d);
    return 0;
}

/* ---- checking what arrived --------------------------------------------------------------- */

/* wxp_notify_parse of notification i with the fixtures' platform keys and merchant A's APIv3
 * key; on WXP_OK *out holds it (free with wxp_notify_free). */
static enum wxp_code rx_parse(size_t i, struct wxp_notify *out, struct wxp_err *err)
{
    struct wxp_keystore *ks = wxp_keystore_new();
    struct wxp_notify_in in;
    struct wxp_resp_policy p = {(int64_t)time(NULL), WXP_SKEW_DEFAULT, true};
    size_t klen = 0;
    char *key = t_read("keys/test-merchant-a.apiv3.key", &klen);
    const struct got *g = &rx.got[i];
    enum wxp_code rc;

    assert_int_equal(wxp_keystore_add(ks, t_cert("certs/test-platform.cert.pem"), NULL), WXP_OK);
    assert_int_equal(
        wxp_keystore_add(ks, t_pubkey("keys/test-platform.pub.pem", T_PUBKEY_ID), NULL), WXP_OK);
    memset(&in, 0, sizeof in);
    in.r.timestamp = wxp_str_c(g->h[H_TS]);
    in.r.nonce = wxp_str_c(g->h[H_NONCE]);
    in.r.signature = wxp_str_c(g->h[H_SIG]);
    in.r.serial = wxp_str_c(g->h[H_SERIAL]);
    in.r.request_id = wxp_str_c(g->h[H_RID]);
    in.r.body = (struct wxp_str){g->body, g->len};
    in.signature_type = wxp_str_c(g->h[H_TYPE]);
    memset(out, 0, sizeof *out);
    rc = wxp_notify_parse(ks, (struct wxp_str){key, klen}, &in, &p, out, err);
    wxp_keystore_free(ks);
    free(key);
    return rc;
}

static void assert_parses(size_t i, struct wxp_notify *n)
{
    struct wxp_err err;
    if (rx_parse(i, n, &err) != WXP_OK) {
        fail_msg("notification %zu does not parse: %s (%s)", i, err.msg, err.field);
    }
}

static void assert_rejected(size_t i, enum wxp_code want)
{
    struct wxp_notify n;
    struct wxp_err err;
    enum wxp_code rc = rx_parse(i, &n, &err);
    if (rc == WXP_OK) {
        wxp_notify_free(&n);
    }
    if (rc != want) {
        fail_msg("notification %zu: code %d (%s), expected %d", i, (int)rc,
                 rc == WXP_OK ? "accepted" : err.msg, (int)want);
    }
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* ---- talking to the mock ----------------------------------------------------------------- */

static struct e2e_mock mock;

static long admin(const char *method, const char *path, const char *body, struct e2e_resp *out)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    struct e2e_resp local;
    struct e2e_resp *r;
    long status;

    memset(&local, 0, sizeof local);
    r = out ? out : &local;
    e2e_send(&mock, method, path, hdrs, body, body ? strlen(body) : 0, r);
    assert_int_equal(r->curl_error, 0);
    status = r->status;
    if (out == NULL) {
        e2e_resp_free(&local);
    }
    return status;
}

/* GET /__admin/notifications parsed; the caller deletes it. */
static cJSON *listing(void)
{
    struct e2e_resp r;
    cJSON *j;

    assert_int_equal(admin("GET", "/__admin/notifications", NULL, &r), 200);
    j = cJSON_ParseWithLength(r.body.ptr, r.body.len);
    e2e_resp_free(&r);
    assert_true(cJSON_IsArray(j));
    return j;
}

/* Waits until notification `idx` of the listing is no longer pending; returns the listing. */
static cJSON *listing_settled(int idx)
{
    int64_t until = now_ms() + WAIT_MS;
    for (;;) {
        cJSON *j = listing();
        const cJSON *t = cJSON_GetArrayItem(j, idx);
        const char *st = t ? jstr(t, "state") : NULL;
        if (st != NULL && strcmp(st, "pending") != 0) {
            return j;
        }
        cJSON_Delete(j);
        if (now_ms() > until) {
            fail_msg("notification %d still pending after %d ms", idx, WAIT_MS);
        }
        /* Polling the admin API (no sleep): each GET is a round trip to the mock. */
    }
}

static void start_with(const char *config_json, const char *scale)
{
    char cfg[512];
    const char *args[8] = {"--notify-time-scale", scale, NULL};

    if (config_json != NULL) {
        FILE *f;
        snprintf(cfg, sizeof cfg, "/tmp/wxp-notify-%ld.json", (long)getpid());
        f = fopen(cfg, "w");
        assert_non_null(f);
        fputs(config_json, f);
        fclose(f);
        args[2] = "--config";
        args[3] = cfg;
        args[4] = NULL;
    }
    rx_reset();
    e2e_start(&mock, args);
    if (config_json != NULL) {
        unlink(cfg);
    }
}

static void send_one(const char *extra, char *id_out)
{
    char body[1024];
    struct e2e_resp r;
    cJSON *j;

    snprintf(body, sizeof body,
             "{\"event_type\":\"PAYSCORE.USER_CONFIRM\",\"summary\":\"test\",\"url\":\"%s\","
             "\"resource\":{\"k\":\"v\"}%s}",
             rx.url, extra ? extra : "");
    if (admin("POST", "/__admin/notifications", body, &r) != 201) {
        fail_msg("POST /__admin/notifications: %ld %s", r.status, wxp_buf_cstr(&r.body));
    }
    j = cJSON_ParseWithLength(r.body.ptr, r.body.len);
    assert_non_null(jstr(j, "id"));
    if (id_out != NULL) {
        snprintf(id_out, 64, "%s", jstr(j, "id"));
    }
    cJSON_Delete(j);
    e2e_resp_free(&r);
}

/* ---- tests ------------------------------------------------------------------------------- */

/* apply (notify_url = the receiver) -> user-accept -> USER_OPEN_SERVICE; user-close ->
 * USER_CLOSE_SERVICE: headers, signature, envelope and decrypted fields. */
static void test_notify_user_events(void **state)
{
    char code[33], body[512], accept[256], openid[64];
    struct wxp_notify n;
    struct e2e_resp r;
    cJSON *res;
    const char *t;

    (void)state;
    start_with(NULL, "0.001");
    snprintf(code, sizeof code, "NTF-%ld", (long)getpid());
    snprintf(openid, sizeof openid, "oNotify%ld", (long)getpid());
    snprintf(body, sizeof body,
             "{\"service_id\":\"" SERVICE "\",\"appid\":\"" APPID "\",\"authorization_code\":"
             "\"%s\",\"notify_url\":\"%s\"}",
             code, rx.url);
    e2e_call(&mock, "POST", "/v3/payscore/permissions", body, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
    snprintf(accept, sizeof accept,
             "{\"service_id\":\"" SERVICE "\",\"openid\":\"%s\",\"authorization_code\":\"%s\"}",
             openid, code);
    assert_int_equal(admin("POST", "/__admin/payscore/user-accept", accept, NULL), 200);
    rx_wait(1);

    assert_string_equal(rx.got[0].h[H_CT], "application/json");
    assert_string_equal(rx.got[0].h[H_TYPE], "WECHATPAY2-SHA256-RSA2048");
    assert_string_equal(rx.got[0].h[H_SERIAL], T_SERIAL_PLATFORM);
    assert_non_null(rx.got[0].h[H_RID]);
    assert_non_null(rx.got[0].h[H_UA]);
    assert_parses(0, &n);
    assert_string_equal(n.event_type, "PAYSCORE.USER_OPEN_SERVICE");
    assert_string_equal(n.summary, "授权成功");
    assert_string_equal(n.resource_type, "encrypt-resource");
    assert_string_equal(n.original_type, "payscore");
    assert_int_equal(strlen(n.id), 36);
    res = cJSON_ParseWithLength(n.resource, n.resource_len);
    assert_string_equal(jstr(res, "appid"), APPID);
    assert_string_equal(jstr(res, "mchid"), T_MCHID_A);
    assert_string_equal(jstr(res, "service_id"), SERVICE);
    assert_string_equal(jstr(res, "openid"), openid);
    assert_string_equal(jstr(res, "user_service_status"), "USER_OPEN_SERVICE");
    assert_string_equal(jstr(res, "authorization_code"), code);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(res, "out_request_no")));
    t = jstr(res, "openorclose_time");
    assert_non_null(t);
    assert_int_equal(strlen(t), 14);
    assert_int_equal(strspn(t, "0123456789"), 14);
    cJSON_Delete(res);
    wxp_notify_free(&n);

    snprintf(accept, sizeof accept, "{\"service_id\":\"" SERVICE "\",\"openid\":\"%s\"}", openid);
    assert_int_equal(admin("POST", "/__admin/payscore/user-close", accept, NULL), 200);
    rx_wait(2);
    assert_parses(1, &n);
    assert_string_equal(n.event_type, "PAYSCORE.USER_CLOSE_SERVICE");
    assert_string_equal(n.summary, "解除授权成功");
    res = cJSON_ParseWithLength(n.resource, n.resource_len);
    assert_string_equal(jstr(res, "user_service_status"), "USER_CLOSE_SERVICE");
    assert_string_equal(jstr(res, "openid"), openid);
    cJSON_Delete(res);
    wxp_notify_free(&n);
    e2e_stop(&mock);
}

/* A user-accept without a code on a record without notify_url: no URL anywhere -> recorded as
 * not sent. The merchant's configured notify_url is the fallback. A terminate sends
 * USER_CLOSE_SERVICE only with notify.terminate_sends_close. */
static void test_notify_targets(void **state)
{
    char cfg[4096], cert[512], key[512];
    cJSON *j;
    const cJSON *t;
    struct wxp_notify n;
    struct e2e_resp r;
    char target[256];

    (void)state;
    start_with(NULL, "0.001");
    assert_int_equal(admin("POST", "/__admin/payscore/user-accept",
                           "{\"service_id\":\"" SERVICE "\",\"openid\":\"oNoUrl\"}", NULL),
                     200);
    j = listing();
    assert_int_equal(cJSON_GetArraySize(j), 1);
    t = cJSON_GetArrayItem(j, 0);
    assert_string_equal(jstr(t, "state"), "not_sent");
    assert_non_null(strstr(jstr(t, "reason"), "no notify_url"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "attempts")), 0);
    cJSON_Delete(j);
    e2e_stop(&mock);

    /* The merchant's notify_url, and terminate_sends_close. */
    snprintf(cert, sizeof cert, "%s", t_fixture("certs/test-merchant-a.cert.pem"));
    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.apiv3.key"));
    snprintf(cfg, sizeof cfg,
             "{\"merchants\":[{\"mchid\":\"" T_MCHID_A "\",\"cert\":\"%s\",\"apiv3_key_file\":"
             "\"%s\",\"notify_url\":\"%s\"}],\"notify\":{\"terminate_sends_close\":true}}",
             cert, key, rx.url);
    start_with(cfg, "0.001");
    assert_int_equal(admin("POST", "/__admin/payscore/user-accept",
                           "{\"service_id\":\"" SERVICE "\",\"openid\":\"oByMerchant\"}", NULL),
                     200);
    rx_wait(1);
    assert_parses(0, &n);
    assert_string_equal(n.event_type, "PAYSCORE.USER_OPEN_SERVICE");
    assert_null(strstr(n.resource, "authorization_code"));
    wxp_notify_free(&n);
    snprintf(target, sizeof target, "/v3/payscore/permissions/openid/oByMerchant/terminate");
    e2e_call(&mock, "POST", target,
             "{\"service_id\":\"" SERVICE "\",\"appid\":\"" APPID "\",\"reason\":\"end\"}", NULL,
             NULL, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    rx_wait(2);
    assert_parses(1, &n);
    assert_string_equal(n.event_type, "PAYSCORE.USER_CLOSE_SERVICE");
    wxp_notify_free(&n);
    e2e_stop(&mock);
}

/* By default a merchant's terminate sends nothing. */
static void test_notify_terminate_default_silent(void **state)
{
    struct e2e_resp r;
    cJSON *j;

    (void)state;
    start_with(NULL, "0.001");
    assert_int_equal(admin("POST", "/__admin/payscore/user-accept",
                           "{\"service_id\":\"" SERVICE "\",\"openid\":\"oSilent\"}", NULL),
                     200);
    e2e_call(&mock, "POST", "/v3/payscore/permissions/openid/oSilent/terminate",
             "{\"service_id\":\"" SERVICE "\",\"appid\":\"" APPID "\",\"reason\":\"end\"}", NULL,
             NULL, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    j = listing();
    assert_int_equal(cJSON_GetArraySize(j), 1); /* the USER_OPEN_SERVICE only */
    cJSON_Delete(j);
    e2e_stop(&mock);
}

/* 500 twice, then 200: three attempts on the scaled schedule, one id, listed with status, answer
 * and latency; the journal shows them as outbound. */
static void test_notify_retries(void **state)
{
    char id[64];
    cJSON *j;
    const cJSON *t, *a;
    struct e2e_resp r;
    struct wxp_notify n0, n2;

    (void)state;
    start_with(NULL, "0.001");
    rx.fail_first = 2;
    send_one(NULL, id);
    rx_wait(3);
    assert_parses(0, &n0);
    assert_parses(2, &n2);
    assert_string_equal(n0.id, id);
    assert_string_equal(n2.id, id);
    wxp_notify_free(&n0);
    wxp_notify_free(&n2);
    j = listing_settled(0);
    t = cJSON_GetArrayItem(j, 0);
    assert_string_equal(jstr(t, "state"), "delivered");
    assert_string_equal(jstr(t, "id"), id);
    a = cJSON_GetObjectItemCaseSensitive(t, "attempts");
    assert_int_equal(cJSON_GetArraySize(a), 3);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, 0), "status")->valueint,
                     500);
    assert_string_equal(jstr(cJSON_GetArrayItem(a, 0), "answer"),
                        "{\"code\":\"FAIL\",\"message\":\"not yet\"}");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, 2), "status")->valueint,
                     200);
    assert_string_equal(jstr(cJSON_GetArrayItem(a, 2), "url"), rx.url);
    assert_true(
        cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, 2), "latency_ms")));
    cJSON_Delete(j);

    assert_int_equal(admin("GET", "/__admin/requests", NULL, &r), 200);
    j = cJSON_ParseWithLength(r.body.ptr, r.body.len);
    e2e_resp_free(&r);
    {
        int out = 0, in = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, j)
        {
            const char *d = jstr(e, "direction");
            assert_non_null(d);
            if (strcmp(d, "out") == 0) {
                out++;
                assert_string_equal(jstr(e, "path"), rx.url);
            } else {
                in++;
            }
        }
        assert_int_equal(out, 3);
        assert_true(in >= 1);
    }
    cJSON_Delete(j);

    /* Reset forgets them. */
    assert_int_equal(admin("POST", "/__admin/reset", NULL, NULL), 204);
    j = listing();
    assert_int_equal(cJSON_GetArraySize(j), 0);
    cJSON_Delete(j);
    e2e_stop(&mock);
}

/* A custom schedule of three attempts against a receiver that always fails: failed, with the
 * reason; the Pay Score schedule gives up after its 3 days (scaled). */
/* The sender keeps its connection to a receiver that keeps it open: three notifications, one
 * after the other, come on one connection (docs/performance.md#what-bounds-each-figure), each
 * signed on its own (its own nonce) and verified. */
static void test_notify_attempts_share_a_connection(void **state)
{
    struct wxp_notify n;

    (void)state;
    start_with(NULL, "0.001");
    for (size_t i = 0; i < 3; i++) {
        send_one(NULL, NULL);
        rx_wait(i + 1);
        assert_parses(i, &n);
        wxp_notify_free(&n);
    }
    assert_int_not_equal(rx.got[0].port, 0);
    assert_int_equal(rx.got[1].port, rx.got[0].port);
    assert_int_equal(rx.got[2].port, rx.got[0].port);
    assert_string_not_equal(rx.got[0].h[H_NONCE], rx.got[1].h[H_NONCE]);
    assert_string_not_equal(rx.got[1].h[H_NONCE], rx.got[2].h[H_NONCE]);
    e2e_stop(&mock);
}

static void test_notify_gives_up(void **state)
{
    cJSON *j;
    const cJSON *t;
    int na;

    (void)state;
    start_with("{\"notify\":{\"schedule\":[0,1,1]}}", "0.001");
    rx.always_fail = true;
    send_one(NULL, NULL);
    j = listing_settled(0);
    t = cJSON_GetArrayItem(j, 0);
    assert_string_equal(jstr(t, "state"), "failed");
    assert_non_null(strstr(jstr(t, "reason"), "gave up after 3 attempts"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "attempts")), 3);
    assert_int_equal(rx.n, 3);
    cJSON_Delete(j);
    e2e_stop(&mock);

    /* 259200 s at 1e-6: 259 ms; the list's 10 attempts, then one every 3600 s (3 ms). */
    start_with(NULL, "0.000001");
    rx.always_fail = true;
    send_one(NULL, NULL);
    j = listing_settled(0);
    t = cJSON_GetArrayItem(j, 0);
    assert_string_equal(jstr(t, "state"), "failed");
    assert_non_null(strstr(jstr(t, "reason"), "259200 s"));
    na = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "attempts"));
    if (na < 20 || na > 128) {
        fail_msg("%d attempts over the scaled 3 days", na);
    }
    cJSON_Delete(j);
    e2e_stop(&mock);
}

/* Each fault, for one notification: what the merchant's parser must say. */
static void test_notify_faults(void **state)
{
    static const struct {
        const char *fault;
        enum wxp_code want;
    } ROWS[] = {
        {"signtest", WXP_E_SIG_PROBE},
        {"stale_timestamp", WXP_E_TIMESTAMP_STALE},
        {"unknown_serial", WXP_E_SERIAL_UNKNOWN},
        {"tampered_ciphertext", WXP_E_AEAD_AUTH},
        {"tampered_tag", WXP_E_AEAD_AUTH},
        {"wrong_algorithm", WXP_E_NOTIFY_ALGORITHM},
        {"no_signature_type", WXP_OK},
    };
    char extra[128];
    struct wxp_notify n;

    (void)state;
    start_with(NULL, "0.001");
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        snprintf(extra, sizeof extra, ",\"fault\":\"%s\"", ROWS[i].fault);
        send_one(extra, NULL);
        rx_wait(i + 1);
        if (ROWS[i].want == WXP_OK) {
            assert_null(rx.got[i].h[H_TYPE]);
            assert_parses(i, &n);
            wxp_notify_free(&n);
        } else {
            assert_rejected(i, ROWS[i].want);
        }
    }
    assert_non_null(strstr(rx.got[0].h[H_SIG], "WECHATPAY/SIGNTEST/"));
    e2e_stop(&mock);
}

/* duplicate (same id twice), out_of_order (held until the next one went), delay, and a fault for
 * the next N notifications. */
static void test_notify_delivery_faults(void **state)
{
    char a[64], b[64];
    struct wxp_notify n0, n1;
    int64_t t0;

    (void)state;
    start_with(NULL, "0.001");
    send_one(",\"fault\":\"duplicate\"", a);
    rx_wait(2);
    assert_parses(0, &n0);
    assert_parses(1, &n1);
    assert_string_equal(n0.id, a);
    assert_string_equal(n1.id, a);
    wxp_notify_free(&n0);
    wxp_notify_free(&n1);

    rx_reset();
    send_one(",\"fault\":\"out_of_order\"", a);
    send_one(NULL, b);
    rx_wait(2);
    assert_parses(0, &n0);
    assert_parses(1, &n1);
    assert_string_equal(n0.id, b);
    assert_string_equal(n1.id, a);
    wxp_notify_free(&n0);
    wxp_notify_free(&n1);

    rx_reset();
    t0 = now_ms();
    send_one(",\"fault\":\"delay\",\"delay_ms\":300", NULL);
    rx_wait(1);
    assert_true(rx.got[0].at_ms - t0 >= 300);

    rx_reset();
    assert_int_equal(admin("POST", "/__admin/notifications/faults",
                           "{\"fault\":\"signtest\",\"count\":2}", NULL),
                     201);
    send_one(NULL, NULL);
    send_one(NULL, NULL);
    send_one(NULL, NULL);
    rx_wait(3);
    for (size_t i = 0; i < 3; i++) {
        /* Delivery order follows creation here: no out-of-order fault is involved. */
        bool probe = strstr(rx.got[i].h[H_SIG], "WECHATPAY/SIGNTEST/") != NULL;
        assert_int_equal(probe, i < 2);
    }
    e2e_stop(&mock);
}

/* Non-loopback targets are refused and recorded; bad admin bodies are 400. */
static void test_notify_refusals(void **state)
{
    struct e2e_resp r;
    cJSON *j;

    (void)state;
    start_with(NULL, "0.001");
    assert_int_equal(admin("POST", "/__admin/notifications",
                           "{\"event_type\":\"X\",\"summary\":\"s\",\"plaintext\":\"{}\","
                           "\"url\":\"http://192.0.2.1/notify\"}",
                           &r),
                     400);
    assert_non_null(strstr(wxp_buf_cstr(&r.body), "--allow-remote"));
    e2e_resp_free(&r);
    assert_int_equal(admin("POST", "/__admin/notifications",
                           "{\"event_type\":\"X\",\"summary\":\"s\",\"plaintext\":\"{}\","
                           "\"url\":\"ftp://127.0.0.1/notify\"}",
                           NULL),
                     400);
    j = listing();
    assert_int_equal(cJSON_GetArraySize(j), 2);
    assert_string_equal(jstr(cJSON_GetArrayItem(j, 0), "state"), "not_sent");
    cJSON_Delete(j);
    assert_int_equal(admin("POST", "/__admin/notifications", "{\"summary\":\"s\"}", NULL), 400);
    assert_int_equal(admin("POST", "/__admin/notifications",
                           "{\"event_type\":\"X\",\"summary\":\"s\",\"plaintext\":\"{}\","
                           "\"resource\":{}}",
                           NULL),
                     400);
    assert_int_equal(admin("POST", "/__admin/notifications",
                           "{\"event_type\":\"X\",\"summary\":\"s\",\"plaintext\":\"{}\","
                           "\"fault\":\"nope\"}",
                           NULL),
                     400);
    assert_int_equal(admin("POST", "/__admin/notifications/faults", "{\"fault\":\"delay\"}", NULL),
                     400);
    assert_int_equal(admin("POST", "/__admin/notifications/faults", "[]", NULL), 400);
    assert_int_equal(admin("GET", "/__admin/notifications?limit=x", NULL, NULL), 400);
    e2e_stop(&mock);
}

/* POST /__admin/notifications with "count": 3 queues three notifications built from one body,
 * numbered one after the other, each with its own fresh id, envelope and signature; every one
 * arrives and verifies and decrypts on its own. */
static void test_notify_batch(void **state)
{
    char body[1024];
    struct e2e_resp r;
    struct wxp_notify n[3];
    cJSON *j, *a;
    char first[64];
    double n0;

    (void)state;
    start_with(NULL, "0.001");
    snprintf(body, sizeof body,
             "{\"event_type\":\"PAYSCORE.USER_CONFIRM\",\"summary\":\"batch\",\"url\":\"%s\","
             "\"resource\":{\"k\":\"v\"},\"count\":3}",
             rx.url);
    assert_int_equal(admin("POST", "/__admin/notifications", body, &r), 201);
    j = cJSON_ParseWithLength(r.body.ptr, r.body.len);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "count")->valueint, 3);
    n0 = cJSON_GetObjectItemCaseSensitive(j, "n")->valuedouble;
    assert_non_null(jstr(j, "id"));
    snprintf(first, sizeof first, "%s", jstr(j, "id"));
    cJSON_Delete(j);
    e2e_resp_free(&r);
    rx_wait(3);
    for (size_t i = 0; i < 3; i++) {
        assert_parses(i, &n[i]);
        assert_string_equal(n[i].resource, "{\"k\":\"v\"}");
        assert_string_equal(n[i].summary, "batch");
    }
    assert_string_not_equal(n[0].id, n[1].id);
    assert_string_not_equal(n[0].id, n[2].id);
    assert_string_not_equal(n[1].id, n[2].id);
    assert_string_not_equal(rx.got[0].h[H_NONCE], rx.got[1].h[H_NONCE]);
    assert_string_not_equal(rx.got[1].h[H_SIG], rx.got[2].h[H_SIG]);
    for (size_t i = 0; i < 3; i++) {
        wxp_notify_free(&n[i]);
    }
    a = listing_settled(2);
    assert_int_equal(cJSON_GetArraySize(a), 3);
    assert_string_equal(jstr(cJSON_GetArrayItem(a, 0), "id"), first);
    for (int i = 0; i < 3; i++) {
        const cJSON *t = cJSON_GetArrayItem(a, i);
        assert_true(cJSON_GetObjectItemCaseSensitive(t, "n")->valuedouble == n0 + i);
        assert_string_equal(jstr(t, "state"), "delivered");
    }
    cJSON_Delete(a);
    assert_int_equal(rx.n, 3);
    e2e_stop(&mock);
}

/* A count that is not an integer 1..1000 is a 400 naming "count"; an id with a count over 1 is a
 * 400 naming "id"; none of them queues or records anything. */
static void test_notify_batch_refusals(void **state)
{
    static const char *const BAD[] = {"0", "1001", "2.5", "\"3\"", "-1", "null"};
    char body[1024];
    struct e2e_resp r;
    cJSON *j;

    (void)state;
    start_with(NULL, "0.001");
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        snprintf(body, sizeof body,
                 "{\"event_type\":\"X\",\"summary\":\"s\",\"url\":\"%s\",\"plaintext\":\"{}\","
                 "\"count\":%s}",
                 rx.url, BAD[i]);
        if (admin("POST", "/__admin/notifications", body, &r) != 400 ||
            strstr(wxp_buf_cstr(&r.body), "\"field\":\"count\"") == NULL) {
            fail_msg("count %s: %ld %s", BAD[i], r.status, wxp_buf_cstr(&r.body));
        }
        e2e_resp_free(&r);
    }
    snprintf(body, sizeof body,
             "{\"event_type\":\"X\",\"summary\":\"s\",\"url\":\"%s\",\"plaintext\":\"{}\","
             "\"count\":2,\"id\":\"my-id\"}",
             rx.url);
    assert_int_equal(admin("POST", "/__admin/notifications", body, &r), 400);
    assert_non_null(strstr(wxp_buf_cstr(&r.body), "\"field\":\"id\""));
    e2e_resp_free(&r);
    j = listing();
    assert_int_equal(cJSON_GetArraySize(j), 0);
    cJSON_Delete(j);
    e2e_stop(&mock);
}

/* A batch is queued whole or not at all: with room for 4 (queue_max), a batch of 5 is a 503 and
 * nothing is queued, recorded or sent, and a batch of 4 fits; a batch whose envelopes
 * exceed queue_bytes is refused the same way. */
static void test_notify_batch_full_queue(void **state)
{
    char body[1024];
    struct e2e_resp r;
    cJSON *j;

    (void)state;
    start_with("{\"notify\":{\"queue_max\":4,\"queue_bytes\":16384}}", "0.001");
    snprintf(body, sizeof body,
             "{\"event_type\":\"X\",\"summary\":\"s\",\"url\":\"%s\",\"plaintext\":\"{}\","
             "\"count\":5}",
             rx.url);
    assert_int_equal(admin("POST", "/__admin/notifications", body, &r), 503);
    assert_non_null(strstr(wxp_buf_cstr(&r.body), "none of them was queued"));
    e2e_resp_free(&r);
    j = listing();
    assert_int_equal(cJSON_GetArraySize(j), 0);
    cJSON_Delete(j);
    pthread_mutex_lock(&rx.lock);
    assert_int_equal(rx.n, 0);
    pthread_mutex_unlock(&rx.lock);
    snprintf(body, sizeof body,
             "{\"event_type\":\"X\",\"summary\":\"s\",\"url\":\"%s\",\"plaintext\":\"{}\","
             "\"count\":4}",
             rx.url);
    assert_int_equal(admin("POST", "/__admin/notifications", body, &r), 201);
    e2e_resp_free(&r);
    rx_wait(4);
    cJSON_Delete(listing_settled(3));
    e2e_stop(&mock);

    /* 16 KiB of envelopes: 3 of 8 KiB resources do not fit, none is queued. */
    start_with("{\"notify\":{\"queue_max\":100,\"queue_bytes\":16384}}", "0.001");
    {
        static char big[1024 + 8200];
        char pt[8001];
        memset(pt, 'a', sizeof pt - 1);
        pt[sizeof pt - 1] = '\0';
        snprintf(big, sizeof big,
                 "{\"event_type\":\"X\",\"summary\":\"s\",\"url\":\"%s\",\"plaintext\":\"%s\","
                 "\"count\":3}",
                 rx.url, pt);
        assert_int_equal(admin("POST", "/__admin/notifications", big, &r), 503);
        assert_non_null(strstr(wxp_buf_cstr(&r.body), "none of them was queued"));
        e2e_resp_free(&r);
    }
    j = listing();
    assert_int_equal(cJSON_GetArraySize(j), 0);
    cJSON_Delete(j);
    e2e_stop(&mock);
}

/* Public-key mode: the platform public key's ID is the Wechatpay-Serial, and the notification
 * verifies with that key. A full queue (queue_max 1, the first one waiting 100 s for its retry)
 * refuses the next one with 503 and lists it as not sent. */
static void test_notify_public_key_mode_and_full_queue(void **state)
{
    char cfg[2048], key[512];
    struct wxp_notify n;
    struct e2e_resp r;
    cJSON *j;
    const cJSON *t;

    (void)state;
    snprintf(key, sizeof key, "%s", t_fixture("keys/test-platform.key.pem"));
    snprintf(cfg, sizeof cfg,
             "{\"platform\":{\"key\":\"%s\",\"public_key_id\":\"" T_PUBKEY_ID "\"},"
             "\"notify\":{\"schedule\":[0,100],\"queue_max\":1}}",
             key);
    start_with(cfg, "1");
    send_one(NULL, NULL);
    rx_wait(1);
    assert_string_equal(rx.got[0].h[H_SERIAL], T_PUBKEY_ID);
    assert_parses(0, &n);
    wxp_notify_free(&n);
    /* The receiver has the first one before the mock has its answer: wait until the queue's
     * one place is free again. */
    cJSON_Delete(listing_settled(0));

    rx.always_fail = true;
    send_one(NULL, NULL); /* delivered above; this one fails and waits 100 s */
    rx_wait(2);
    assert_int_equal(admin("POST", "/__admin/notifications",
                           "{\"event_type\":\"X\",\"summary\":\"s\",\"plaintext\":\"{}\","
                           "\"url\":\"http://127.0.0.1:9/n\"}",
                           &r),
                     503);
    assert_non_null(strstr(wxp_buf_cstr(&r.body), "queue is full"));
    e2e_resp_free(&r);
    j = listing();
    assert_int_equal(cJSON_GetArraySize(j), 3);
    t = cJSON_GetArrayItem(j, 2);
    assert_string_equal(jstr(t, "state"), "not_sent");
    assert_non_null(strstr(jstr(t, "reason"), "queue is full"));
    assert_string_equal(jstr(cJSON_GetArrayItem(j, 1), "state"), "pending");
    cJSON_Delete(j);
    e2e_stop(&mock);
}

/* The request log shows each attempt beside the requests, in both formats. */
static void test_notify_log_lines(void **state)
{
    static const char *const FORMATS[] = {"text", "json"};
    static const char *const WANT[] = {"direction=out url=http://127.0.0.1:",
                                       "\"direction\":\"out\",\"id\":"};
    static const char *const STATUS[] = {"status=200", "\"status\":200"};
    char log[256];

    (void)state;
    for (size_t k = 0; k < 2; k++) {
        const char *args[] = {"--notify-time-scale", "0.001", "--log-format", FORMATS[k], NULL};
        char *text;
        FILE *f;
        long len;

        snprintf(log, sizeof log, "/tmp/wxp-notify-log-%ld.txt", (long)getpid());
        rx_reset();
        e2e_start_logged(&mock, args, log);
        send_one(NULL, NULL);
        rx_wait(1);
        cJSON_Delete(listing_settled(0));
        e2e_stop(&mock);
        f = fopen(log, "r");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = calloc(1, (size_t)len + 1);
        assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        unlink(log);
        if (strstr(text, WANT[k]) == NULL || strstr(text, STATUS[k]) == NULL) {
            fail_msg("no outbound attempt in the %s log:\n%s", FORMATS[k], text);
        }
        free(text);
    }
}

/* A receiver that never answers: the stop waits for the attempt in flight, bounded by
 * notify.timeout_ms (here 1000), never for the schedule. */
static void test_notify_stop_bound(void **state)
{
    int64_t t0, took;

    (void)state;
    start_with("{\"notify\":{\"timeout_ms\":1000}}", "1");
    rx.stall = true;
    rx.always_fail = true;
    send_one(NULL, NULL);
    rx_wait(1);
    t0 = now_ms();
    e2e_stop(&mock);
    took = now_ms() - t0;
    pthread_mutex_lock(&rx.lock);
    rx.released = true;
    pthread_cond_broadcast(&rx.cond);
    pthread_mutex_unlock(&rx.lock);
    if (took > 2500) {
        fail_msg("stop took %lld ms with one attempt in flight (limit 1000 ms)", (long long)took);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_user_events),
        cmocka_unit_test(test_notify_targets),
        cmocka_unit_test(test_notify_terminate_default_silent),
        cmocka_unit_test(test_notify_retries),
        cmocka_unit_test(test_notify_attempts_share_a_connection),
        cmocka_unit_test(test_notify_gives_up),
        cmocka_unit_test(test_notify_faults),
        cmocka_unit_test(test_notify_delivery_faults),
        cmocka_unit_test(test_notify_refusals),
        cmocka_unit_test(test_notify_public_key_mode_and_full_queue),
        cmocka_unit_test(test_notify_batch),
        cmocka_unit_test(test_notify_batch_refusals),
        cmocka_unit_test(test_notify_batch_full_queue),
        cmocka_unit_test(test_notify_log_lines),
        cmocka_unit_test(test_notify_stop_bound),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
