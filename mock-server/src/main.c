/* SPDX-License-Identifier: MIT */
/* main.c: wxpay-mock's command line, start-up and shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "libcurl.h"
#include "mock.h"
#include "wxp/mem.h"
#include "wxp/op.h"
#include "wxp/str.h"
#include "wxp/keyfile.h"

#define MAX_SCENARIOS 64

struct opts {
    const char *listen;
    const char *ready_file;
    const char *config;
    const char *scenarios[MAX_SCENARIOS];
    size_t nscenarios;
    long threads;
    long max_connections;
    long connection_timeout;
    int log_json;
    int quiet;
    long skew;
    int no_replay;
    long journal_size;
    long journal_mb;
    const char *admin_token;
    int allow_remote;
    int sign_errors;
    int sign_cache;
    int load_test;
    const char *https_cert;
    const char *https_key;
    double notify_time_scale; /* 0: not given */
};

/* The option table: one row per flag; `arg` names its value for --help. */
static const struct {
    const char *name;
    const char *arg;
    const char *help;
} OPTIONS[] = {
    {"--listen", "HOST:PORT", "address to listen on (default 127.0.0.1:8080; port 0 = any free)"},
    {"--https", "CERT KEY",
     "serve HTTPS with this PEM certificate (chain) and key, e.g. "
     "fixtures/tls/test-server.cert.pem fixtures/tls/test-server.key.pem"},
    {"--ready-file", "PATH", "write the base URL to PATH (atomically) once listening"},
    {"--config", "FILE", "JSON configuration (merchants, platform keys, records, policy)"},
    {"--scenario", "FILE", "JSON scenario rules; repeatable, applied in order"},
    {"--threads", "N", "worker threads; 0 (default) = one thread per connection"},
    {"--max-connections", "N",
     "connections served at once (default 1000); beyond it a new connection gets 503 at once, "
     "or is closed"},
    {"--connection-timeout", "SECONDS",
     "close a connection idle this long, waiting for a request or its rest (default 30)"},
    {"--log-format", "text|json", "request log format on stderr (default text)"},
    {"--quiet", NULL, "no per-request log lines"},
    {"--skew", "SECONDS", "request timestamp window (default 300)"},
    {"--no-replay-check", NULL, "accept a nonce seen before within the window"},
    {"--journal-size", "N", "requests kept for GET /__admin/requests (default 1000)"},
    {"--journal-mb", "N",
     "MiB the kept requests may hold, the oldest dropped first (default 32; 1..1024)"},
    {"--admin-token", "TOKEN", "require this token on /__admin/ (Bearer or X-Admin-Token)"},
    {"--sign-errors", NULL, "sign error responses too (the default leaves them unsigned)"},
    {"--sign-cache", NULL,
     "throughput mode: reuse a response's timestamp, nonce and signature for identical bytes "
     "within the same second (requests are still all verified)"},
    {"--load-test", NULL,
     "load-test mode, not faithful: a terminate of an openid without a record always succeeds "
     "and is not remembered (unknown_openid always_authorized), and the replay check is off"},
    {"--allow-remote", NULL,
     "allow a non-loopback listen address and notification targets (test keys become reachable)"},
    {"--notify-time-scale", "FACTOR",
     "multiply every wait of the notification retry schedule (e.g. 0.001 in tests; default 1)"},
    {"--help", NULL, "show this help"},
    {"--version", NULL, "show the version"},
};

/* One line per operation of the core's table: method, path template, query rows, name. */
static void usage_ops(FILE *out)
{
    for (size_t i = 0; i < WXP_OP_COUNT; i++) {
        const struct wxp_op *op = &WXP_OPS[i];
        char sep = '?';
        fprintf(out, "  %-4s %s", op->method, op->path);
        for (size_t k = 0; k < op->params->count; k++) {
            if (op->params->fields[k].loc == WXP_LOC_QUERY) {
                fprintf(out, "%c%s=...", sep, op->params->fields[k].name);
                sep = '&';
            }
        }
        fprintf(out, "\n         (%s)\n", op->name);
    }
}

static void usage(FILE *out)
{
    fprintf(out, "usage: wxpay-mock [options]\n\n"
                 "A mock of the WeChat Pay APIv3 Pay Score permissions family, for tests:\n");
    usage_ops(out);
    fprintf(out, "Uses TEST ONLY keys (merchant 1900000109); never real credentials.\n\n");
    for (size_t i = 0; i < sizeof OPTIONS / sizeof OPTIONS[0]; i++) {
        char left[48];
        snprintf(left, sizeof left, "%s%s%s", OPTIONS[i].name, OPTIONS[i].arg ? " " : "",
                 OPTIONS[i].arg ? OPTIONS[i].arg : "");
        fprintf(out, "  %-28s %s\n", left, OPTIONS[i].help);
    }
    fprintf(out, "\nDocumentation: man wxpay-mock (docs/mock-server.md in the source tree)\n");
}

static int bad_usage(const char *fmt, ...) WXP_PRINTF(1, 2);

static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "wxpay-mock: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'wxpay-mock --help'.\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = false;
        for (size_t k = 0; k < sizeof OPTIONS / sizeof OPTIONS[0]; k++) {
            if (strcmp(a, OPTIONS[k].name) == 0) {
                takes = OPTIONS[k].arg != NULL;
            }
        }
        if (takes && v == NULL) {
            return bad_usage("option %s needs a value", a);
        }
        if (strcmp(a, "--https") == 0) {
            if (i + 2 >= argc) {
                return bad_usage("--https needs a certificate file and a key file");
            }
            o->https_cert = argv[++i];
            o->https_key = argv[++i];
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--version") == 0) {
            printf("wxpay-mock %s\n", WXP_VERSION);
            exit(0);
        } else if (strcmp(a, "--listen") == 0) {
            o->listen = v;
        } else if (strcmp(a, "--ready-file") == 0) {
            o->ready_file = v;
        } else if (strcmp(a, "--config") == 0) {
            o->config = v;
        } else if (strcmp(a, "--scenario") == 0) {
            if (o->nscenarios == MAX_SCENARIOS) {
                return bad_usage("at most %d --scenario files", MAX_SCENARIOS);
            }
            o->scenarios[o->nscenarios++] = v;
        } else if (strcmp(a, "--threads") == 0) {
            if (!wxp_parse_long(v, 0, 256, &o->threads)) {
                return bad_usage("--threads takes 0..256, not '%s'", v);
            }
        } else if (strcmp(a, "--max-connections") == 0) {
            if (!wxp_parse_long(v, 1, 10000, &o->max_connections)) {
                return bad_usage("--max-connections takes 1..10000, not '%s'", v);
            }
        } else if (strcmp(a, "--connection-timeout") == 0) {
            if (!wxp_parse_long(v, 1, 86400, &o->connection_timeout)) {
                return bad_usage("--connection-timeout takes 1..86400 seconds, not '%s'", v);
            }
        } else if (strcmp(a, "--log-format") == 0) {
            if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0) {
                return bad_usage("--log-format takes text or json, not '%s'", v);
            }
            o->log_json = strcmp(v, "json") == 0;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
        } else if (strcmp(a, "--skew") == 0) {
            if (!wxp_parse_long(v, 1, 86400, &o->skew)) {
                return bad_usage("--skew takes 1..86400 seconds, not '%s'", v);
            }
        } else if (strcmp(a, "--no-replay-check") == 0) {
            o->no_replay = 1;
        } else if (strcmp(a, "--journal-size") == 0) {
            if (!wxp_parse_long(v, 1, 1000000, &o->journal_size)) {
                return bad_usage("--journal-size takes 1..1000000, not '%s'", v);
            }
        } else if (strcmp(a, "--journal-mb") == 0) {
            if (!wxp_parse_long(v, 1, 1024, &o->journal_mb)) {
                return bad_usage("--journal-mb takes 1..1024 (MiB), not '%s'", v);
            }
        } else if (strcmp(a, "--admin-token") == 0) {
            if (v[0] == '\0') {
                return bad_usage("--admin-token must not be empty");
            }
            o->admin_token = v;
        } else if (strcmp(a, "--sign-errors") == 0) {
            o->sign_errors = 1;
        } else if (strcmp(a, "--sign-cache") == 0) {
            o->sign_cache = 1;
        } else if (strcmp(a, "--load-test") == 0) {
            o->load_test = 1;
        } else if (strcmp(a, "--allow-remote") == 0) {
            o->allow_remote = 1;
        } else if (strcmp(a, "--notify-time-scale") == 0) {
            char *end = NULL;
            errno = 0;
            o->notify_time_scale = strtod(v, &end);
            if (errno != 0 || end == v || *end != '\0' || !(o->notify_time_scale > 0) ||
                o->notify_time_scale > 1000) {
                return bad_usage("--notify-time-scale takes a factor above 0 and up to 1000, not "
                                 "'%s'",
                                 v);
            }
        } else {
            return bad_usage("unknown option '%s'", wxp_name_shown(a));
        }
        if (takes) {
            i++;
        }
    }
    return 0;
}

/* HOST:PORT or [IPv6]:PORT, numeric hosts plus "localhost". */
static bool parse_listen(const char *s, struct sockaddr_storage *ss, bool *loopback)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(s, ':');
    long port;
    size_t hl;

    memset(ss, 0, sizeof *ss);
    if (colon == NULL || !wxp_parse_long(colon + 1, 0, 65535, &port)) {
        return false;
    }
    hl = (size_t)(colon - s);
    if (hl == 0 || hl >= sizeof host) {
        return false;
    }
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0) {
        snprintf(host, sizeof host, "127.0.0.1");
    }
    if (host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1) {
            return false;
        }
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *loopback = mock_host_is_loopback(host + 1);
        return true;
    }
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
        return false;
    }
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    *loopback = mock_host_is_loopback(host);
    return true;
}

static int write_ready_file(const char *path, const char *url)
{
    char tmp[PATH_MAX];
    FILE *f;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "w");
    if (f == NULL) {
        return -1;
    }
    if (fprintf(f, "%s\n", url) < 0 || fclose(f) != 0) {
        unlink(tmp);
        return -1;
    }
    return rename(tmp, path);
}

static int load_scenario_file(struct mock_server *srv, const char *path)
{
    struct wxp_err err;
    char *text = NULL;
    size_t len = 0;
    enum wxp_code rc = wxp_file_read(path, 1024 * 1024, &text, &len, &err);
    if (rc == WXP_OK) {
        rc = mock_scenarios_add_json(srv->scenarios, text, len, path, &err);
    }
    wxp_free(text);
    if (rc != WXP_OK) {
        fprintf(stderr, "wxpay-mock: scenario %s: %s%s%s%s\n", path, err.msg,
                err.field[0] ? " (at " : "", err.field[0] ? err.field : "",
                err.field[0] ? ")" : "");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.listen = "127.0.0.1:8080", .max_connections = 1000, .connection_timeout = 30};
    struct mock_daemon_limits lim;
    struct mock_config cfg;
    struct mock_server srv;
    struct mock_daemon *d = NULL;
    struct sockaddr_storage ss;
    struct wxp_err err;
    bool loopback = false;
    char url[128];
    sigset_t set;
    int sig = 0, rc;
    struct mock_tls tls = {NULL, NULL};
    char *tls_cert = NULL, *tls_key = NULL;
    size_t len = 0;
    const char *scheme;

    /* Admin dumps (the journal, the state) are buffers of up to several MiB, made and freed on
     * a connection's own thread. glibc raises its mmap threshold after each such free, so the
     * next ones come from that thread's malloc arena and stay there: +43 MiB of RSS after 30
     * journal dumps under load. A fixed threshold keeps large buffers in mmap, returned to the
     * system when freed (docs/reliability.md#load-soak-and-races). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    /* With a thread per connection glibc spreads small allocations over up to 8 arenas per core,
     * each keeping its own free memory: VmRSS grew 1.2-1.6 MiB over ci/soak's million requests.
     * Two arenas keep it within T6's 1 MiB (0.56-0.62 MiB, docs/performance.md). A
     * MALLOC_ARENA_MAX in the environment still decides. */
    if (getenv("MALLOC_ARENA_MAX") == NULL) {
        mallopt(M_ARENA_MAX, 2);
    }
    rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        return rc;
    }
    if (!parse_listen(o.listen, &ss, &loopback)) {
        return bad_usage("--listen takes HOST:PORT or [IPv6]:PORT with a numeric host, not '%s'",
                         o.listen);
    }
    if (!loopback && !o.allow_remote) {
        return bad_usage("refusing to listen on %s: not a loopback address; the mock uses public "
                         "TEST keys (add --allow-remote to do it anyway)",
                         o.listen);
    }
    /* Block the stop signals in every thread, those made during start-up too; main waits for
     * them with sigwait (a signal sent while starting waits there). */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (mock_config_defaults(&cfg, &err) != WXP_OK) {
        fprintf(stderr, "wxpay-mock: built-in configuration: %s\n", err.msg);
        return 1;
    }
    if (o.config != NULL && mock_config_load(&cfg, o.config, &err) != WXP_OK) {
        fprintf(stderr, "wxpay-mock: config refused: %s\n", err.msg);
        mock_config_free(&cfg);
        return 1;
    }
    if (cfg.key_warning[0] != '\0') {
        fprintf(stderr, "wxpay-mock: warning: %s\n", cfg.key_warning);
    }
    if (o.skew) {
        cfg.skew = o.skew;
    }
    if (o.no_replay) {
        cfg.replay_check = false;
    }
    if (o.load_test) {
        cfg.unknown_policy = MOCK_UNKNOWN_ALWAYS_AUTHORIZED;
        cfg.replay_check = false;
    }
    if (o.sign_errors) {
        cfg.sign_errors = true;
    }
    if (o.journal_size) {
        cfg.journal_size = (size_t)o.journal_size;
    }
    if (o.notify_time_scale > 0) {
        cfg.notify.time_scale = o.notify_time_scale;
    }
    cfg.notify.allow_remote = o.allow_remote != 0;
    if (o.journal_mb) {
        cfg.journal_bytes = (size_t)o.journal_mb * 1024 * 1024;
    }
    if (o.admin_token) {
        wxp_free(cfg.admin_token);
        cfg.admin_token = wxp_strndup(o.admin_token, strlen(o.admin_token));
    }
    rc = 1;
    /* From here on srv owns the configuration; `out` frees both. */
    if (mock_server_init(&srv, &cfg, MOCK_NONCE_CACHE_MAX, o.sign_cache, &err) != WXP_OK) {
        fprintf(stderr, "wxpay-mock: %s\n", err.msg);
        goto out;
    }
    srv.log_json = o.log_json;
    srv.quiet = o.quiet;
    for (size_t i = 0; i < o.nscenarios; i++) {
        if (load_scenario_file(&srv, o.scenarios[i]) != 0) {
            goto out;
        }
    }

    if (o.https_cert != NULL &&
        (wxp_file_read(o.https_cert, 1024 * 1024, &tls_cert, &len, &err) != WXP_OK ||
         wxp_file_read(o.https_key, 1024 * 1024, &tls_key, &len, &err) != WXP_OK)) {
        fprintf(stderr, "wxpay-mock: --https: %s\n", err.msg);
        goto out;
    }
    if (o.https_cert != NULL) {
        char warn[WXP_KEYFILE_WARNING_MAX];
        if (wxp_keyfile_warning(o.https_key, warn, sizeof warn)) {
            fprintf(stderr, "wxpay-mock: warning: %s\n", warn);
        }
    }
    if (mock_notify_start(&srv, &err) != WXP_OK) {
        fprintf(stderr, "wxpay-mock: %s\n", err.msg);
        goto out;
    }
    tls.cert_pem = tls_cert;
    tls.key_pem = tls_key;
    lim.threads = (unsigned)o.threads;
    lim.max_connections = (unsigned)o.max_connections;
    lim.connection_timeout_s = (unsigned)o.connection_timeout;
    d = mock_daemon_start(&srv, (const struct sockaddr *)&ss, &lim, o.https_cert ? &tls : NULL,
                          &err);
    if (d == NULL) {
        fprintf(stderr, "wxpay-mock: cannot listen on %s: %s\n", o.listen, err.msg);
        goto out;
    }
    scheme = o.https_cert ? "https" : "http";
    if (ss.ss_family == AF_INET6) {
        char h[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, h, sizeof h);
        snprintf(url, sizeof url, "%s://[%s]:%u", scheme, h, (unsigned)mock_daemon_port(d));
    } else {
        char h[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, h, sizeof h);
        snprintf(url, sizeof url, "%s://%s:%u", scheme, h, (unsigned)mock_daemon_port(d));
    }
    /* Said even with --quiet, and before the ready file (a test reading the log then finds it): a
     * mock in this mode accepts what the real server refuses. */
    if (srv.cfg.unknown_policy == MOCK_UNKNOWN_ALWAYS_AUTHORIZED) {
        fprintf(stderr,
                "wxpay-mock: load-test mode: terminates of openids without a record always "
                "succeed and are not remembered (unknown_openid always_authorized), replay check "
                "%s; not faithful to the real server\n",
                srv.cfg.replay_check ? "on" : "off");
    }
    if (o.ready_file != NULL && write_ready_file(o.ready_file, url) != 0) {
        fprintf(stderr, "wxpay-mock: cannot write ready file %s: %s\n", o.ready_file,
                strerror(errno));
        goto out;
    }
    printf("wxpay-mock listening on %s\n", url);
    fflush(stdout);
    sigwait(&set, &sig);
    if (!o.quiet) {
        fprintf(stderr, "wxpay-mock: signal %d, finishing in-flight requests\n", sig);
    }
    rc = 0;
out:
    /* The sender first: it waits for at most the attempt in flight (notify.timeout_ms). */
    mock_notify_stop(&srv);
    mock_daemon_stop(d, 2000);
    wxp_free(tls_cert);
    if (tls_key != NULL) {
        OPENSSL_cleanse(tls_key, len); /* a plain memset before free may be optimised away */
        wxp_free(tls_key);
    }
    mock_server_free(&srv);
    mock_curl_unload(); /* no thread is left to use it */
    mock_sign_cleanup();
    return rc;
}
