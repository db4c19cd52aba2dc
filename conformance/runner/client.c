/* SPDX-License-Identifier: MIT */
/* client.c: client mode. Runs a client we cannot link to (a shell command) once per case against
 * the bundled wxpay-mock, asking it for the case's operation (WXPAY_OPERATION), then grades either
 * the request it sent (read back from the mock's journal and re-checked with the core and its
 * operation table) or how it treated a scripted answer (its exit status). No API path is written
 * here: what the client should have sent comes from wxp/op.h. Catalogue: cases/client.json.
 * Reference: docs/conformance.md, "Client mode". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "conf.h"
#include "wxp/authz.h"
#include "wxp/base64.h"
#include "wxp/json.h"
#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/op.h"
#include "wxp/query.h"
#include "wxp/schema.h"
#include "wxp/utf8.h"
#include "wxp/verify.h"

extern char **environ;

/* The identities the bundled mock knows (docs/mock-server.md#built-in-identities). */
#define DEFAULT_MCHID "1900000109"
#define DEFAULT_MCH_SERIAL "3B2A4C1D5E6F708192A3B4C5D6E7F8091A2B3C4D"
#define DEFAULT_SERVICE_ID "500001"
#define DEFAULT_APPID "wxd678efh567hg6787"
#define DEFAULT_OPENID_PREFIX "oConf"
#define PUBKEY_ID "PUB_KEY_ID_0119000001092025112400000000000001"
#define REASON "用户主动解除授权"
/* A notify_url the client is given for the operations that take one (apply). */
#define NOTIFY_URL "https://merchant.example.com/wxpay/payscore/notify"
/* rule: a client that does not implement the operation asked for exits with this status (and sends
 * nothing): the case is not applicable. 64 is EX_USAGE of sysexits.h, unused by wxpay.
 * src: docs/conformance.md#the-client-contract */
#define EXIT_NOT_SUPPORTED 64

#define TIMEOUT_DEFAULT_MS 20000L
/* The command's stdout+stderr kept for the report; the rest is read and dropped. */
#define OUTPUT_CAP (64 * 1024 - 64)
#define JOURNAL_MAX ((size_t)16 * 1024 * 1024)
/* After the command exits, how long its background children may keep the pipe open. */
#define DRAIN_GRACE_MS 500L
#define OPENID_RANDOM 12
#define PATH_CAP 1024
/* The most of a result file that is read; a larger one breaks the contract. */
#define RESULT_CAP (64 * 1024)

/* One bundled mock for the whole run, and what every case hands the command. */
static struct {
    struct conf_mock mock;
    bool started;
    struct wxp_key *mch_cert; /* verifies the client's requests */
    char mch_key[PATH_CAP];
    char mch_cert_path[PATH_CAP];
    char platform_cert[PATH_CAP];
    char platform_pub[PATH_CAP];
    char platform_serial[WXP_KEY_ID_MAX + 1];
    char mch_serial[WXP_KEY_ID_MAX + 1];
    size_t commands_run;             /* cases that ran the command since conf_client_begin */
    char result_dir[PATH_CAP];       /* private directory of the result file, "" when none */
    char result_path[PATH_CAP + 16]; /* WXPAY_RESULT_FILE, removed before each case */
} RUN;

/* What the client said it concluded, from WXPAY_RESULT_FILE (docs/conformance.md#the-result-file).
 */
struct client_result {
    bool present;
    bool valid;   /* the contract's JSON; why says what is wrong otherwise */
    int verified; /* 1 true, 0 false, -1 null */
    char why[256];
};

/* What a case runs with: the values the command was given. */
struct client_run {
    const struct conf_context *ctx;
    const struct wxp_op *op; /* the operation asked for (WXPAY_OPERATION) */
    char openid[160];
    char code[64]; /* WXPAY_AUTHORIZATION_CODE, fresh per case */
    const char *mchid;
    const char *service_id;
    const char *appid;
    bool public_key_mode;
};

/* The client's request as the journal recorded it. Strings borrow from the cJSON tree. */
struct journaled {
    const char *method;
    const char *path;
    const char *query; /* NULL: no '?' */
    const cJSON *headers;
    char *body; /* owned, NUL-terminated; len counts */
    size_t body_len;
    bool body_is_utf8;
    bool body_cut; /* the journal holds less than what was received */
    long status;
    const char *code;
    const char *failed_check;
    const char *time;
    bool signed_answer;
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + (long)(ts.tv_nsec / 1000000L);
}

static void set_reason(struct conf_outcome *out, enum conf_verdict v, const char *fmt, ...)
    WXP_PRINTF(3, 4);

static void set_reason(struct conf_outcome *out, enum conf_verdict v, const char *fmt, ...)
{
    va_list ap;
    out->verdict = v;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

static const char *or_default(const char *v, const char *def)
{
    return v != NULL && v[0] != '\0' ? v : def;
}

/* The value the client was given for a parameter or response field of that name, or NULL. */
static const char *given(const struct client_run *run, const char *name)
{
    static const char *const NAMES[] = {"openid", "authorization_code", "service_id", "appid",
                                        "reason", "notify_url",         "mchid"};
    const char *const values[] = {run->openid, run->code,  run->service_id, run->appid,
                                  REASON,      NOTIFY_URL, run->mchid};
    for (size_t k = 0; k < sizeof NAMES / sizeof NAMES[0]; k++) {
        if (strcmp(name, NAMES[k]) == 0) {
            return values[k];
        }
    }
    return NULL;
}

/* The given values of op's parameter rows (indexed like op->params->fields); with `no_query`,
 * the query rows stay absent (wxp_op_target then builds the path alone). */
static void op_values(const struct client_run *run, bool no_query,
                      const char *vals[WXP_SCHEMA_MAX_FIELDS])
{
    for (size_t i = 0; i < WXP_SCHEMA_MAX_FIELDS; i++) {
        const struct wxp_field *f = i < run->op->params->count ? &run->op->params->fields[i] : NULL;
        vals[i] = f == NULL || (no_query && f->loc == WXP_LOC_QUERY) ? NULL : given(run, f->name);
    }
}

static bool op_has(const struct wxp_op *op, enum wxp_loc loc)
{
    for (size_t i = 0; i < op->params->count; i++) {
        if (op->params->fields[i].loc == loc) {
            return true;
        }
    }
    return false;
}

/* Whether a request (method, raw path) is one of `op`: its path matches op's template, whatever
 * the method (a wrong method is graded by the method check, not lost). */
static bool of_operation(const struct wxp_op *op, const char *method, const char *path)
{
    struct wxp_route rt;
    enum wxp_route_result rr = wxp_op_route(wxp_str_c(method), wxp_str_c(path), &rt);
    return (rr == WXP_ROUTE_OK || rr == WXP_ROUTE_METHOD) && rt.op != NULL &&
           strcmp(rt.op->path, op->path) == 0;
}

/* ---- set-up ------------------------------------------------------------------------------ */

static int fixture_path(char *dst, const char *dir, const char *rel)
{
    int n = snprintf(dst, PATH_CAP, "%s/%s", dir, rel);
    if (n < 0 || n >= PATH_CAP) {
        fprintf(stderr, "wxpay-conformance: fixtures path too long: %s/%s\n", dir, rel);
        return -1;
    }
    if (access(dst, R_OK) != 0) {
        fprintf(stderr, "wxpay-conformance: cannot read TEST fixture %s: %s\n", dst,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* A private directory for WXPAY_RESULT_FILE (mode 0700: another user cannot plant a result). */
static int result_dir_make(void)
{
    const char *tmp = or_default(getenv("TMPDIR"), "/tmp");
    int n = snprintf(RUN.result_dir, sizeof RUN.result_dir, "%s/wxpay-conformance.XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof RUN.result_dir || mkdtemp(RUN.result_dir) == NULL) {
        fprintf(stderr,
                "wxpay-conformance: cannot make a directory for WXPAY_RESULT_FILE in %s: %s\n", tmp,
                strerror(errno));
        RUN.result_dir[0] = '\0';
        return -1;
    }
    snprintf(RUN.result_path, sizeof RUN.result_path, "%s/result.json", RUN.result_dir);
    return 0;
}

int conf_client_begin(struct conf_context *ctx)
{
    const char *dir = ctx->fixtures_dir;
    struct wxp_key *platform = NULL;
    struct wxp_err err;
    char why[256] = "";

    if (ctx->command == NULL || ctx->command[0] == '\0') {
        fprintf(stderr, "wxpay-conformance: client mode needs the client to grade: "
                        "--cmd 'COMMAND' (run with sh -c once per case)\n");
        return -1;
    }
#ifdef WXP_FIXTURES_DIR
    dir = or_default(dir, WXP_FIXTURES_DIR);
#endif
    if (dir == NULL || ctx->mock_bin == NULL) {
        fprintf(stderr, "wxpay-conformance: client mode needs %s\n",
                dir == NULL ? "the fixtures directory" : "wxpay-mock (--mock)");
        return -1;
    }
    if (fixture_path(RUN.mch_key, dir, "keys/test-merchant-a.key.pem") != 0 ||
        fixture_path(RUN.mch_cert_path, dir, "certs/test-merchant-a.cert.pem") != 0 ||
        fixture_path(RUN.platform_cert, dir, "certs/test-platform.cert.pem") != 0 ||
        fixture_path(RUN.platform_pub, dir, "keys/test-platform.pub.pem") != 0) {
        return -1;
    }
    if (wxp_key_cert_file(RUN.mch_cert_path, &RUN.mch_cert, &err) != WXP_OK ||
        wxp_key_cert_file(RUN.platform_cert, &platform, &err) != WXP_OK) {
        fprintf(stderr, "wxpay-conformance: TEST certificate refused: %s: %s\n", err.field,
                err.msg);
        conf_client_end(ctx);
        return -1;
    }
    snprintf(RUN.platform_serial, sizeof RUN.platform_serial, "%s", wxp_key_id(platform));
    wxp_key_free(platform);
    snprintf(RUN.mch_serial, sizeof RUN.mch_serial, "%s",
             or_default(ctx->mch_serial, wxp_key_id(RUN.mch_cert)));
    if (result_dir_make() != 0) {
        conf_client_end(ctx);
        return -1;
    }
    if (conf_mock_start(&RUN.mock, ctx->mock_bin, NULL, why, sizeof why) != 0) {
        fprintf(stderr, "wxpay-conformance: cannot start %s: %s\n", ctx->mock_bin, why);
        conf_client_end(ctx);
        return -1;
    }
    RUN.started = true;
    RUN.commands_run = 0;
    return 0;
}

void conf_client_end(struct conf_context *ctx)
{
    (void)ctx;
    if (RUN.started) {
        conf_mock_stop(&RUN.mock);
        RUN.started = false;
    }
    wxp_key_free(RUN.mch_cert);
    RUN.mch_cert = NULL;
    if (RUN.result_dir[0] != '\0') {
        unlink(RUN.result_path);
        rmdir(RUN.result_dir);
        RUN.result_dir[0] = '\0';
    }
}

/* ---- running the command ----------------------------------------------------------------- */

/* The environment of the command: the runner's own minus any WXPAY_* (a stray WXPAY_CONFIG must
 * not change what is graded), plus the variables of docs/client.md. */
struct env {
    char **vars; /* NULL-terminated; the ones we made are also in `own` */
    char **own;
    size_t n, n_own, cap;
};

static int env_add(struct env *e, const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 2;
    char *s;
    if (e->n + 1 >= e->cap) {
        return -1;
    }
    s = wxp_malloc(len);
    if (s == NULL) {
        return -1;
    }
    snprintf(s, len, "%s=%s", name, value);
    e->vars[e->n++] = s;
    e->vars[e->n] = NULL;
    e->own[e->n_own++] = s;
    return 0;
}

static void env_free(struct env *e)
{
    for (size_t i = 0; i < e->n_own; i++) {
        wxp_free(e->own[i]);
    }
    wxp_free(e->vars);
    wxp_free(e->own);
    memset(e, 0, sizeof *e);
}

static int env_build(struct env *e, const struct client_run *run)
{
    size_t inherited = 0;
    int rc = 0;

    while (environ != NULL && environ[inherited] != NULL) {
        inherited++;
    }
    memset(e, 0, sizeof *e);
    e->cap = inherited + 32;
    e->vars = wxp_malloc(e->cap * sizeof *e->vars);
    e->own = wxp_malloc(e->cap * sizeof *e->own);
    if (e->vars == NULL || e->own == NULL) {
        return -1;
    }
    for (size_t i = 0; i < inherited; i++) {
        if (strncmp(environ[i], "WXPAY_", 6) != 0) {
            e->vars[e->n++] = environ[i];
        }
    }
    e->vars[e->n] = NULL;
    rc |= env_add(e, "WXPAY_BASE_URL", RUN.mock.url);
    rc |= env_add(e, "WXPAY_MCHID", run->mchid);
    rc |= env_add(e, "WXPAY_MCH_SERIAL", RUN.mch_serial);
    rc |= env_add(e, "WXPAY_MCH_KEY", RUN.mch_key);
    rc |= env_add(e, "WXPAY_MCH_CERT", RUN.mch_cert_path);
    if (run->public_key_mode) {
        rc |= env_add(e, "WXPAY_PLATFORM_CERT", RUN.platform_pub);
        rc |= env_add(e, "WXPAY_PLATFORM_KEY_KIND", "public_key");
        rc |= env_add(e, "WXPAY_PLATFORM_SERIAL", PUBKEY_ID);
    } else {
        rc |= env_add(e, "WXPAY_PLATFORM_CERT", RUN.platform_cert);
        rc |= env_add(e, "WXPAY_PLATFORM_KEY_KIND", "certificate");
        rc |= env_add(e, "WXPAY_PLATFORM_SERIAL", RUN.platform_serial);
    }
    rc |= env_add(e, "WXPAY_OPENID", run->openid);
    rc |= env_add(e, "WXPAY_SERVICE_ID", run->service_id);
    rc |= env_add(e, "WXPAY_APPID", run->appid);
    rc |= env_add(e, "WXPAY_REASON", REASON);
    rc |= env_add(e, "WXPAY_OPERATION", run->op->name);
    rc |= env_add(e, "WXPAY_AUTHORIZATION_CODE", run->code);
    rc |= env_add(e, "WXPAY_NOTIFY_URL", NOTIFY_URL);
    rc |= env_add(e, "WXPAY_RESULT_FILE", RUN.result_path);
    return rc;
}

static void output_add(struct wxp_buf *out, const char *p, size_t n, bool *truncated)
{
    size_t room = out->len < OUTPUT_CAP ? OUTPUT_CAP - out->len : 0;
    if (n > room) {
        n = room;
        *truncated = true;
    }
    if (n > 0 && wxp_buf_add(out, p, n) != WXP_OK) {
        *truncated = true;
    }
}

/* Reads whatever is ready on fd within wait_ms: 1 when bytes were read, 0 when none were ready,
 * -1 at end of file or on a read error. */
static int drain(int fd, int wait_ms, struct wxp_buf *out, bool *truncated)
{
    struct pollfd p = {fd, POLLIN, 0};
    char chunk[4096];
    ssize_t n;
    int r = poll(&p, 1, wait_ms);

    if (r <= 0) {
        return r == 0 || errno == EINTR ? 0 : -1;
    }
    n = read(fd, chunk, sizeof chunk);
    if (n < 0) {
        return errno == EINTR || errno == EAGAIN ? 0 : -1;
    }
    if (n == 0) {
        return -1;
    }
    output_add(out, chunk, (size_t)n, truncated);
    return 1;
}

/* Runs `sh -c cmd` in its own session with stdout+stderr captured. Returns 0 with *status set
 * (the exit status, or 128 + signal), 1 on timeout (the group was killed), -1 if it could not
 * start (why says so). */
static int run_command(const char *cmd, char *const envp[], long timeout_ms, struct wxp_buf *out,
                       int *status, char *why, size_t cap)
{
    char sh[] = "sh", dash_c[] = "-c";
    char *cmd_copy = wxp_strndup(cmd, strlen(cmd));
    char *const argv[] = {sh, dash_c, cmd_copy, NULL};
    long deadline = now_ms() + timeout_ms, grace = 0;
    bool eof = false, exited = false, truncated = false, timed_out = false;
    int fds[2], wstatus = 0;
    pid_t pid;

    if (cmd_copy == NULL) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    if (pipe(fds) != 0) {
        snprintf(why, cap, "pipe: %s", strerror(errno));
        wxp_free(cmd_copy);
        return -1;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    pid = fork();
    if (pid < 0) {
        snprintf(why, cap, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        wxp_free(cmd_copy);
        return -1;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls from here to execve. */
        int null = open("/dev/null", O_RDONLY);
        setsid();
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
        }
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        for (int fd = STDERR_FILENO + 1; fd < 1024; fd++) {
            close(fd);
        }
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
    close(fds[1]);
    wxp_free(cmd_copy);
    for (;;) {
        long now;
        if (!exited && waitpid(pid, &wstatus, WNOHANG) == pid) {
            exited = true;
        }
        if (exited && eof) {
            break;
        }
        now = now_ms();
        if (!exited && now >= deadline) {
            timed_out = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &wstatus, 0);
            break;
        }
        if (exited && grace == 0) {
            grace = now + DRAIN_GRACE_MS;
        }
        if (exited && now >= grace) {
            kill(-pid, SIGKILL); /* a background child still holds the pipe */
            break;
        }
        if (eof) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        eof = drain(fds[0], 50, out, &truncated) < 0;
    }
    while (!eof && drain(fds[0], 0, out, &truncated) > 0) {
        /* keep what is already in the pipe */
    }
    close(fds[0]);
    if (truncated) {
        enum wxp_code added = wxp_buf_addstr(out, "\n[output truncated at 64 KiB]\n");
        (void)added; /* the report keeps what fitted */
    }
    if (timed_out) {
        return 1;
    }
    *status = WIFEXITED(wstatus)     ? WEXITSTATUS(wstatus)
              : WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus)
                                     : 255;
    return 0;
}

/* ---- reading the journal ----------------------------------------------------------------- */

static const char *header(const cJSON *headers, const char *name)
{
    for (const cJSON *h = headers != NULL ? headers->child : NULL; h != NULL; h = h->next) {
        if (h->string != NULL && strcasecmp(h->string, name) == 0 && cJSON_IsString(h)) {
            return h->valuestring;
        }
    }
    return NULL;
}

static const char *jstr(const cJSON *o, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static void journaled_free(struct journaled *j)
{
    wxp_free(j->body);
    j->body = NULL;
}

static int journaled_read(const cJSON *e, struct journaled *j)
{
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(e, "body_base64");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(e, "body");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");
    const cJSON *len = cJSON_GetObjectItemCaseSensitive(e, "body_len");

    memset(j, 0, sizeof *j);
    j->method = or_default(jstr(e, "method"), "");
    j->path = or_default(jstr(e, "path"), "");
    j->query = jstr(e, "query");
    j->headers = cJSON_GetObjectItemCaseSensitive(e, "headers");
    j->status = cJSON_IsNumber(st) ? (long)st->valuedouble : 0;
    j->code = jstr(e, "code");
    j->failed_check = jstr(e, "failed_check");
    j->time = jstr(e, "time");
    j->signed_answer = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "signed"));
    if (cJSON_IsString(b64)) {
        size_t n = strlen(b64->valuestring), cap = n / 4 * 3 + 3;
        j->body = wxp_malloc(cap + 1);
        if (j->body == NULL || wxp_base64_decode(b64->valuestring, n, (unsigned char *)j->body, cap,
                                                 &j->body_len) != WXP_OK) {
            return -1;
        }
        j->body[j->body_len] = '\0';
        return 0;
    }
    j->body_is_utf8 = true;
    j->body_len = cJSON_IsString(body) ? strlen(body->valuestring) : 0;
    /* The journal keeps the first 64 KiB, and cJSON stops a string at an escaped NUL. */
    j->body_cut = cJSON_IsNumber(len) && len->valuedouble > (double)j->body_len;
    j->body = wxp_strndup(cJSON_IsString(body) ? body->valuestring : "", j->body_len);
    return j->body == NULL ? -1 : 0;
}

static void describe_request(const struct journaled *j, size_t count, struct wxp_buf *out)
{
    enum wxp_code rc = wxp_buf_addf(out, "%s %s%s%s\n", j->method, j->path, j->query ? "?" : "",
                                    j->query ? j->query : "");
    for (const cJSON *h = j->headers ? j->headers->child : NULL; rc == WXP_OK && h; h = h->next) {
        if (cJSON_IsString(h)) {
            rc = wxp_buf_addf(out, "%s: %s\n", h->string, h->valuestring);
        }
    }
    if (rc == WXP_OK) {
        rc = j->body_is_utf8 ? wxp_buf_addf(out, "\n%s\n", j->body)
                             : wxp_buf_addf(out, "\n[%zu bytes of invalid UTF-8]\n", j->body_len);
    }
    if (rc == WXP_OK && count > 1) {
        rc = wxp_buf_addf(out, "[%zu requests reached the mock; this one is shown]\n", count);
    }
    (void)rc; /* the report keeps what fitted */
}

static void describe_response(const struct journaled *j, const char *param, struct wxp_buf *out)
{
    enum wxp_code rc;
    if (j->status == 0) {
        rc = wxp_buf_addstr(out, "(connection closed without an answer)\n");
    } else {
        rc = wxp_buf_addf(out, "HTTP %ld%s%s, %s\n", j->status, j->code ? " " : "",
                          j->code ? j->code : "",
                          j->signed_answer ? "signed (Wechatpay-* headers)" : "unsigned");
    }
    if (rc == WXP_OK && j->failed_check != NULL) {
        rc = wxp_buf_addf(out, "mock failed check: %s\n", j->failed_check);
    }
    if (rc == WXP_OK && param != NULL) {
        rc = wxp_buf_addf(out, "scenario action: %s\n", param);
    }
    (void)rc;
}

/* ---- request checks ---------------------------------------------------------------------- */

static const char *find_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0) {
            return hay;
        }
    }
    return NULL;
}

typedef bool (*check_fn)(const struct client_run *run, const struct journaled *j, char *why,
                         size_t cap);

static bool get_authz(const struct journaled *j, struct wxp_authz *a, char *why, size_t cap)
{
    const char *h = header(j->headers, "Authorization");
    struct wxp_err err;
    if (h == NULL) {
        snprintf(why, cap, "no Authorization header");
        return false;
    }
    if (wxp_authz_parse(h, strlen(h), a, &err) != WXP_OK) {
        snprintf(why, cap, "Authorization refused (%s%s%s): %s", wxp_code_name(err.code),
                 err.field[0] ? ", " : "", err.field, err.msg);
        return false;
    }
    return true;
}

static void target_of(const struct journaled *j, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s%s%s", j->path, j->query ? "?" : "", j->query ? j->query : "");
}

static bool verifies_over(const struct wxp_authz *a, const struct journaled *j, const char *target)
{
    struct wxp_err err;
    return wxp_authz_verify(RUN.mch_cert, a, wxp_str_c(j->method), wxp_str_c(target),
                            (struct wxp_str){j->body, j->body_len}, NULL, &err) == WXP_OK;
}

/* rule: RSA-SHA256 by the merchant key over METHOD\nURL\nTS\nNONCE\nBODY\n as sent, mchid and
 * serial_no naming the merchant. src: docs/protocol.md#signature. case: CLI-REQ-001 */
static bool check_signature_valid(const struct client_run *run, const struct journaled *j,
                                  char *why, size_t cap)
{
    struct wxp_authz a;
    struct wxp_err err;
    char target[PATH_CAP * 2];
    enum wxp_code rc;

    if (!get_authz(j, &a, why, cap)) {
        return false;
    }
    if (!wxp_str_eq(a.mchid, wxp_str_c(run->mchid))) {
        snprintf(why, cap, "mchid is \"%.*s\", WXPAY_MCHID is %s", (int)a.mchid.len, a.mchid.ptr,
                 run->mchid);
        return false;
    }
    if (!wxp_str_eq_nocase(a.serial_no, wxp_str_c(RUN.mch_serial))) {
        snprintf(why, cap, "serial_no is \"%.*s\", the merchant certificate's is %s",
                 (int)a.serial_no.len, a.serial_no.ptr, RUN.mch_serial);
        return false;
    }
    target_of(j, target, sizeof target);
    rc = wxp_authz_verify(RUN.mch_cert, &a, wxp_str_c(j->method), wxp_str_c(target),
                          (struct wxp_str){j->body, j->body_len}, NULL, &err);
    if (rc != WXP_OK) {
        snprintf(why, cap, "signature does not verify over the request as sent (%s: %s)%s%s",
                 wxp_code_name(rc), err.msg, j->failed_check ? "; mock failed check: " : "",
                 j->failed_check ? j->failed_check : "");
        return false;
    }
    return true;
}

/* rule: one space after the scheme, five double-quoted parameters, commas without spaces.
 * src: docs/protocol.md#authorization-header ([D-FAQ-AUTHFMT]). case: CLI-REQ-002 */
static bool check_authorization_format(const struct client_run *run, const struct journaled *j,
                                       char *why, size_t cap)
{
    struct wxp_authz a;
    (void)run;
    if (!get_authz(j, &a, why, cap)) {
        return false;
    }
    if (a.spaces_after_comma) {
        snprintf(why, cap, "spaces after a comma between parameters (the FAQ forbids them)");
        return false;
    }
    return true;
}

/* rule: serial_no is the certificate serial in upper-case hex, as the documented examples and the
 * official SDKs write it (Go "%X", Java toUpperCase); CLI-REQ-001 already checks it names the
 * certificate whatever its case. src: docs/protocol.md#authorization-header ([D-FAQ-401B],
 * [GO-PEM], [JAVA-PEM]). case: CLI-REQ-012 */
static bool check_serial_upper(const struct client_run *run, const struct journaled *j, char *why,
                               size_t cap)
{
    struct wxp_authz a;
    (void)run;
    if (!get_authz(j, &a, why, cap)) {
        return false;
    }
    for (size_t i = 0; i < a.serial_no.len; i++) {
        char ch = a.serial_no.ptr[i];
        if (ch >= 'a' && ch <= 'z') {
            snprintf(why, cap,
                     "serial_no \"%.*s\" has lower-case letters; the certificate's serial is "
                     "written in upper-case hex (%s)",
                     (int)(a.serial_no.len > 64 ? 64 : a.serial_no.len), a.serial_no.ptr,
                     RUN.mch_serial);
            return false;
        }
    }
    return true;
}

/* Compares the media type of a header value (before ';', trimmed) case-insensitively. */
static bool media_is(const char *v, size_t n, const char *want)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i] == ';') {
            n = i;
            break;
        }
    }
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
        n--;
    }
    return n == strlen(want) && strncasecmp(v, want, n) == 0;
}

static bool accept_ok(const char *v)
{
    while (v != NULL && *v != '\0') {
        const char *comma = strchr(v, ',');
        size_t n = comma ? (size_t)(comma - v) : strlen(v);
        if (media_is(v, n, "application/json") || media_is(v, n, "application/*") ||
            media_is(v, n, "*/*")) {
            return true;
        }
        v = comma ? comma + 1 : NULL;
    }
    return false;
}

/* rule: Accept and (with a body) Content-Type application/json are required (Accept: star/star
 * as Go sends passes); a GET needs no Content-Type and may send one.
 * src: docs/mock-server.md#checking-order ([D-TERM], [D-GETCODE]). case: CLI-REQ-003 */
static bool check_headers(const struct client_run *run, const struct journaled *j, char *why,
                          size_t cap)
{
    const char *accept = header(j->headers, "Accept");
    const char *ctype = header(j->headers, "Content-Type");
    if (accept == NULL || !accept_ok(accept)) {
        snprintf(why, cap, "Accept is %s%s%s, not application/json", accept ? "\"" : "",
                 accept ? accept : "missing", accept ? "\"" : "");
        return false;
    }
    if (!op_has(run->op, WXP_LOC_BODY)) {
        return true;
    }
    if (ctype == NULL || !media_is(ctype, strlen(ctype), "application/json")) {
        snprintf(why, cap, "Content-Type is %s%s%s, not application/json", ctype ? "\"" : "",
                 ctype ? ctype : "missing", ctype ? "\"" : "");
        return false;
    }
    return true;
}

/* rule: a non-empty User-Agent on every request. src: docs/mock-server.md#checking-order
 * ([TP-UA], [C-UA]). case: CLI-REQ-004 */
static bool check_user_agent(const struct client_run *run, const struct journaled *j, char *why,
                             size_t cap)
{
    const char *ua = header(j->headers, "User-Agent");
    (void)run;
    if (ua == NULL || ua[strspn(ua, " \t")] == '\0') {
        snprintf(why, cap, "no User-Agent header");
        return false;
    }
    return true;
}

static bool value_is(const struct wxp_values *v, const char *name, const char *want, char *why,
                     size_t cap)
{
    struct wxp_str got = wxp_values_get(v, name);
    if (!wxp_str_eq(got, wxp_str_c(want))) {
        snprintf(why, cap, "body.%s is \"%.*s\", the client was given \"%s\"", name,
                 (int)(got.ptr ? got.len : 0), got.ptr ? got.ptr : "", want);
        return false;
    }
    return true;
}

/* rule: the body rows of the operation's table (terminate: service_id 1..32 bytes, appid 1..32
 * bytes, reason 1..50 characters), all required strings, with the values given.
 * src: docs/protocol.md#terminate-schema ([D-TERM]), the operation's rules ([D-APPLY2],
 * [D-TERMCODE-NC]). case: CLI-REQ-005, CLI-OP-* */
static bool check_body_schema(const struct client_run *run, const struct journaled *j, char *why,
                              size_t cap)
{
    const char *vals[WXP_SCHEMA_MAX_FIELDS];
    struct wxp_values v;
    struct wxp_param_issue issue;
    struct wxp_err err;
    bool ok = true;

    memset(&v, 0, sizeof v);
    if (wxp_schema_check_body(run->op->params, j->body, j->body_len, &v, &issue, &err) != WXP_OK) {
        snprintf(why, cap, "body refused (%s%s%s): %s", wxp_code_name(err.code),
                 err.field[0] ? ", " : "", err.field, err.msg);
        return false;
    }
    op_values(run, false, vals);
    for (size_t i = 0; ok && i < run->op->params->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        const struct wxp_field *f = &run->op->params->fields[i];
        if (f->loc == WXP_LOC_BODY && vals[i] != NULL) {
            ok = value_is(&v, f->name, vals[i], why, cap);
        }
    }
    wxp_values_free(&v);
    return ok;
}

/* Reported only: no official rule asks for compact JSON. case: CLI-REQ-006 */
static bool check_compact_json(const struct client_run *run, const struct journaled *j, char *why,
                               size_t cap)
{
    bool in_str = false, esc = false;
    size_t count = 0, first = 0;
    size_t n = j->body_len;
    (void)run;
    if (n > 0 && j->body[n - 1] == '\n') {
        n--; /* wechatpay-go's json.Encoder ends the body with one '\n' */
    }
    for (size_t i = 0; i < n; i++) {
        char c = j->body[i];
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
        } else if (c == '"') {
            in_str = true;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (count++ == 0) {
                first = i;
            }
        }
    }
    if (count > 0) {
        snprintf(why, cap, "%zu whitespace byte(s) outside strings, the first at offset %zu", count,
                 first);
        return false;
    }
    return true;
}

/* rule: UTF-8 with 1- to 3-byte characters only, one strict JSON value.
 * src: docs/protocol.md#charset ([D-BASIC-M]), #json-strictness. case: CLI-REQ-007 */
static bool check_utf8(const struct client_run *run, const struct journaled *j, char *why,
                       size_t cap)
{
    const char *ctype = header(j->headers, "Content-Type");
    const char *cs = ctype ? find_nocase(ctype, "charset=") : NULL;
    struct wxp_utf8_info info;
    struct wxp_err err;
    size_t bad = 0;
    if (!j->body_is_utf8 || wxp_utf8_check(j->body, j->body_len, &info) != WXP_OK) {
        snprintf(why, cap, "the body is not valid UTF-8");
        return false;
    }
    if (info.max_seq > 3) {
        snprintf(why, cap, "the body has a 4-byte UTF-8 character, which APIv3 does not accept");
        return false;
    }
    if (wxp_json_check(j->body, j->body_len, &bad, &err) != WXP_OK) {
        snprintf(why, cap, "not strict JSON at byte %zu: %s", bad, err.msg);
        return false;
    }
    /* A 4-byte character can also hide in a \uD83D\uDE00 escape pair. */
    if (wxp_schema_check_body(run->op->params, j->body, j->body_len, NULL, NULL, &err) ==
        WXP_E_PARAM_CHARSET) {
        snprintf(why, cap, "%s: %s", err.field, err.msg);
        return false;
    }
    if (cs != NULL) {
        cs += strlen("charset=");
        cs += *cs == '"';
        if (strncasecmp(cs, "utf-8", 5) != 0 && strncasecmp(cs, "utf8", 4) != 0) {
            snprintf(why, cap, "Content-Type declares a charset other than UTF-8: %s", ctype);
            return false;
        }
    }
    return true;
}

/* rule: the URL line of the signing string is the request target exactly as sent.
 * src: docs/protocol.md#request-signing-string ([GB-SIGN]). case: CLI-REQ-008 */
static bool check_signed_path(const struct client_run *run, const struct journaled *j, char *why,
                              size_t cap)
{
    static const char *const SCHEMES[] = {"", "http://", "https://"};
    const char *vals[WXP_SCHEMA_MAX_FIELDS];
    struct wxp_authz a;
    struct wxp_buf want;
    char target[PATH_CAP * 2], alt[PATH_CAP * 3];
    const char *host;
    bool same;

    /* The path the table builds from the values given (no query: the query check grades it). */
    op_values(run, true, vals);
    wxp_buf_init(&want, PATH_CAP);
    if (wxp_op_target(run->op, vals, &want, NULL) != WXP_OK) {
        wxp_buf_free(&want);
        snprintf(why, cap, "the table cannot build the target of %s", run->op->name);
        return false;
    }
    same = strcmp(j->path, wxp_buf_cstr(&want)) == 0;
    if (!same) {
        snprintf(why, cap, "sent path %s, expected %s", j->path, wxp_buf_cstr(&want));
    }
    wxp_buf_free(&want);
    if (!same) {
        return false;
    }
    if (!get_authz(j, &a, why, cap)) {
        return false;
    }
    target_of(j, target, sizeof target);
    if (verifies_over(&a, j, target)) {
        return true;
    }
    /* Say what was signed instead, when it is one of the usual mistakes. */
    host = header(j->headers, "Host");
    if (j->query != NULL && verifies_over(&a, j, j->path)) {
        snprintf(why, cap, "signed %s without its query, sent %s", j->path, target);
        return false;
    }
    for (size_t i = 0; host != NULL && i < sizeof SCHEMES / sizeof SCHEMES[0]; i++) {
        snprintf(alt, sizeof alt, "%s%s%s", SCHEMES[i], host, target);
        if (verifies_over(&a, j, alt)) {
            snprintf(why, cap, "signed \"%s\" (with the host), sent %s", alt, target);
            return false;
        }
    }
    snprintf(why, cap,
             "the signature does not verify over the target sent (%s), nor over the "
             "usual variants (see CLI-REQ-001)",
             target);
    return false;
}

/* Seconds since the epoch of the journal's RFC 3339 UTC time "2025-01-02T03:04:05.678Z". */
static bool parse_journal_time(const char *s, int64_t *out)
{
    static const int POS[] = {0, 5, 8, 11, 14, 17}, LEN[] = {4, 2, 2, 2, 2, 2};
    long v[6];
    int64_t y, m, d, era, yoe, doy, doe;

    if (s == NULL || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':') {
        return false;
    }
    for (int f = 0; f < 6; f++) {
        v[f] = 0;
        for (int i = 0; i < LEN[f]; i++) {
            char c = s[POS[f] + i];
            if (c < '0' || c > '9') {
                return false;
            }
            v[f] = v[f] * 10 + (c - '0');
        }
    }
    /* days from civil (H. Hinnant's algorithm), proleptic Gregorian */
    y = v[1] <= 2 ? v[0] - 1 : v[0];
    m = v[1];
    d = v[2];
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *out = (era * 146097 + doe - 719468) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
    return true;
}

/* rule: timestamp is Unix seconds within 300 s of arrival. src: docs/protocol.md#timestamp-window
 * ([D-FAQ-401], [C-TSMS]). case: CLI-REQ-009 */
static bool check_timestamp_fresh(const struct client_run *run, const struct journaled *j,
                                  char *why, size_t cap)
{
    struct wxp_authz a;
    int64_t arrival;
    (void)run;
    if (!get_authz(j, &a, why, cap)) {
        return false;
    }
    if (!parse_journal_time(j->time, &arrival)) {
        snprintf(why, cap, "the journal has no arrival time to compare with");
        return false;
    }
    if (a.ts > arrival * 100) {
        snprintf(why, cap, "timestamp %lld looks like milliseconds; APIv3 wants seconds",
                 (long long)a.ts);
        return false;
    }
    if (wxp_skew_check(a.ts, arrival, WXP_SKEW_DEFAULT) != WXP_OK) {
        snprintf(why, cap, "timestamp %lld is %lld s from the arrival time; the window is %d s",
                 (long long)a.ts, (long long)(a.ts - arrival), WXP_SKEW_DEFAULT);
        return false;
    }
    return true;
}

/* Reported only: the SDKs send 32 of [0-9A-Za-z]; the server accepts other shapes.
 * src: docs/protocol.md#nonce. case: CLI-REQ-010 */
static bool check_nonce_shape(const struct client_run *run, const struct journaled *j, char *why,
                              size_t cap)
{
    struct wxp_authz a;
    (void)run;
    if (!get_authz(j, &a, why, cap)) {
        return false;
    }
    for (size_t i = 0; i < a.nonce_str.len; i++) {
        char c = a.nonce_str.ptr[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
            snprintf(why, cap, "nonce_str \"%.*s\" has a character outside [0-9A-Za-z]",
                     (int)a.nonce_str.len, a.nonce_str.ptr);
            return false;
        }
    }
    if (a.nonce_str.len != WXP_NONCE_LEN) {
        snprintf(why, cap, "nonce_str has %zu characters; the official SDKs send %d",
                 a.nonce_str.len, WXP_NONCE_LEN);
        return false;
    }
    return true;
}

/* rule: in public-key mode the request's Wechatpay-Serial names the PUB_KEY_ID_... the client
 * verifies with. src: docs/mock-server.md#response-signing ([D-ECHO], [GO-CLIENT]).
 * case: CLI-REQ-011 */
static bool check_serial_header(const struct client_run *run, const struct journaled *j, char *why,
                                size_t cap)
{
    const char *s = header(j->headers, "Wechatpay-Serial");
    (void)run;
    if (s == NULL) {
        snprintf(why, cap, "no Wechatpay-Serial request header (given the public key %s)",
                 PUBKEY_ID);
        return false;
    }
    if (strcmp(s, PUBKEY_ID) != 0) {
        snprintf(why, cap, "Wechatpay-Serial is \"%s\", the client was given the public key %s", s,
                 PUBKEY_ID);
        return false;
    }
    return true;
}

/* rule: the request uses the operation's method. src: the operation's rules in docs/protocol.md
 * ([D-GETCODE], [D-APPLY2], [D-TERMCODE-NC]). case: CLI-OP-* ("method") */
static bool check_method(const struct client_run *run, const struct journaled *j, char *why,
                         size_t cap)
{
    if (strcmp(j->method, run->op->method) != 0) {
        snprintf(why, cap, "sent %s, %s is a %s", j->method, run->op->name, run->op->method);
        return false;
    }
    return true;
}

/* rule: the query starts at the first '?' and ends at '#' (RFC 3986 section 3.4); it is
 * name=value pairs joined by '&', values percent-encoded, each of the operation's query
 * parameters once, in any order (the signature covers the target as sent). A second '?' is not a
 * separator: "?service_id=X?appid=Y" gives service_id the value "X?appid=Y" and no appid.
 * src: docs/protocol.md#query-string ([D-GETCODE], [C-QUERYURL]; RFC 3986 section 3.4). case:
 * CLI-OP-003 */
static bool check_query(const struct client_run *run, const struct journaled *j, char *why,
                        size_t cap)
{
    const char *vals[WXP_SCHEMA_MAX_FIELDS];
    bool seen[WXP_SCHEMA_MAX_FIELDS] = {false};
    struct wxp_query q;
    char dec[512];
    size_t dlen = 0;

    if (!op_has(run->op, WXP_LOC_QUERY)) {
        if (j->query != NULL && j->query[0] != '\0') {
            snprintf(why, cap, "%s takes no query, the client sent ?%s", run->op->name, j->query);
            return false;
        }
        return true;
    }
    if (j->query == NULL || j->query[0] == '\0') {
        snprintf(why, cap, "no query string: %s takes its parameters in the query", run->op->name);
        return false;
    }
    if (strchr(j->query, '?') != NULL) {
        snprintf(why, cap,
                 "a second '?' in the target (?%s): the query is name=value pairs joined by '&', "
                 "so the server reads one parameter with the rest of the string in its value",
                 j->query);
        return false;
    }
    if (wxp_query_parse(wxp_str_c(j->query), &q, NULL) != WXP_OK) {
        snprintf(why, cap, "the query has more than %d pairs", WXP_QUERY_PAIRS_MAX);
        return false;
    }
    op_values(run, false, vals);
    for (size_t p = 0; p < q.n; p++) {
        size_t i;
        for (i = 0; i < run->op->params->count; i++) {
            const struct wxp_field *f = &run->op->params->fields[i];
            if (f->loc == WXP_LOC_QUERY && wxp_str_eq(q.pair[p].name, wxp_str_c(f->name))) {
                break;
            }
        }
        if (i == run->op->params->count) {
            snprintf(why, cap, "unknown query parameter \"%.*s\"", (int)q.pair[p].name.len,
                     q.pair[p].name.ptr);
            return false;
        }
        if (seen[i]) {
            snprintf(why, cap, "query parameter %s given twice", run->op->params->fields[i].name);
            return false;
        }
        seen[i] = true;
        if (!wxp_pct_decode(q.pair[p].value, true, dec, sizeof dec, &dlen) || dlen != strlen(dec)) {
            snprintf(why, cap, "query parameter %s is not valid percent-encoding: %.*s",
                     run->op->params->fields[i].name, (int)q.pair[p].value.len,
                     q.pair[p].value.ptr);
            return false;
        }
        if (vals[i] != NULL && strcmp(dec, vals[i]) != 0) {
            snprintf(why, cap, "query parameter %s is \"%s\", the client was given \"%s\"",
                     run->op->params->fields[i].name, dec, vals[i]);
            return false;
        }
    }
    for (size_t i = 0; i < run->op->params->count; i++) {
        const struct wxp_field *f = &run->op->params->fields[i];
        if (f->loc == WXP_LOC_QUERY && f->required && !seen[i]) {
            snprintf(why, cap, "the query has no %s (sent ?%s)", f->name, j->query);
            return false;
        }
    }
    return true;
}

/* rule: an operation without body parameters (a GET) is sent without a body, and signed over an
 * empty body. src: docs/protocol.md#query-string ([GB-SIGN], [D-GETCODE]). case: CLI-OP-004 */
static bool check_no_body(const struct client_run *run, const struct journaled *j, char *why,
                          size_t cap)
{
    if (!op_has(run->op, WXP_LOC_BODY) && j->body_len > 0) {
        snprintf(why, cap, "a %s with a %zu-byte body; %s takes no body", j->method, j->body_len,
                 run->op->name);
        return false;
    }
    return true;
}

/* RFC 3986 pchar: unreserved, sub-delims, ':' and '@' (and '%' of a %XX). */
static bool is_pchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("-._~!$&'()*+,;=:@%", c) != NULL;
}

/* rule: a path parameter is percent-encoded as a path segment: bytes outside RFC 3986 pchar
 * ('|' of an authorization_code) as %XX, and it decodes to the value given.
 * src: docs/protocol.md#percent-encoding ([D-GETCODE]; RFC 3986 section 3.3). case: CLI-OP-005 */
static bool check_path_encoding(const struct client_run *run, const struct journaled *j, char *why,
                                size_t cap)
{
    const char *vals[WXP_SCHEMA_MAX_FIELDS];
    struct wxp_route rt;
    char dec[256];
    size_t dlen = 0, var = 0;

    if (wxp_op_route(wxp_str_c(j->method), wxp_str_c(j->path), &rt) != WXP_ROUTE_OK ||
        rt.nseg == 0) {
        snprintf(why, cap, "the path %s does not match %s %s", j->path, run->op->method,
                 run->op->path);
        return false;
    }
    for (size_t i = 0; i < rt.seg[0].len; i++) {
        if (!is_pchar((unsigned char)rt.seg[0].ptr[i])) {
            snprintf(why, cap,
                     "byte '%c' is sent raw in the path segment %.*s; encode it as %%%02X",
                     rt.seg[0].ptr[i], (int)rt.seg[0].len, rt.seg[0].ptr,
                     (unsigned char)rt.seg[0].ptr[i]);
            return false;
        }
    }
    op_values(run, false, vals);
    while (var < run->op->params->count &&
           run->op->params->fields[var].loc != WXP_LOC_URI_TEMPLATE) {
        var++;
    }
    if (!wxp_pct_decode(rt.seg[0], false, dec, sizeof dec, &dlen) ||
        var == run->op->params->count || vals[var] == NULL || strcmp(dec, vals[var]) != 0) {
        snprintf(why, cap, "the path segment %.*s does not decode to the value given (%s)",
                 (int)rt.seg[0].len, rt.seg[0].ptr,
                 var < run->op->params->count && vals[var] ? vals[var] : "?");
        return false;
    }
    return true;
}

/* Request checks by the name cases/client.json gives in "param". */
static const struct {
    const char *name;
    check_fn fn;
    bool public_key_mode; /* run the command with WXPAY_PLATFORM_KEY_KIND=public_key */
    bool encoded_code;    /* an authorization_code with a byte to percent-encode ('|') */
} CHECKS[] = {
    {"signature_valid", check_signature_valid, false, false},
    {"authorization_format", check_authorization_format, false, false},
    {"headers", check_headers, false, false},
    {"user_agent", check_user_agent, false, false},
    {"body_schema", check_body_schema, false, false},
    {"compact_json", check_compact_json, false, false},
    {"utf8", check_utf8, false, false},
    {"signed_path_equals_sent_path", check_signed_path, false, false},
    {"timestamp_fresh", check_timestamp_fresh, false, false},
    {"nonce_shape", check_nonce_shape, false, false},
    {"wechatpay_serial_header", check_serial_header, true, false},
    {"serial_upper", check_serial_upper, false, false},
    {"method", check_method, false, false},
    {"query", check_query, false, false},
    {"no_body", check_no_body, false, false},
    {"path_encoding", check_path_encoding, false, true},
};

/* ---- one case ---------------------------------------------------------------------------- */

/* The scenario glob of op's path: each {variable} segment becomes '*'. */
static int path_glob(const struct wxp_op *op, char *dst, size_t cap)
{
    size_t n = 0;
    for (const char *p = op->path; *p != '\0'; p++) {
        if (n + 2 >= cap) {
            return -1;
        }
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (close == NULL) {
                return -1;
            }
            dst[n++] = '*';
            p = close;
            continue;
        }
        dst[n++] = *p;
    }
    dst[n] = '\0';
    return 0;
}

/* The success body of the operation for a scripted answer: its response rows with the values the
 * client was given, the state AVAILABLE and fixed times (TEST data, built by the table). */
static char *success_body(const struct client_run *run)
{
    const struct wxp_schema *resp = run->op->response;
    const char *vals[WXP_SCHEMA_MAX_FIELDS];
    struct wxp_buf b;
    char *out = NULL;

    if (resp == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < WXP_SCHEMA_MAX_FIELDS; i++) {
        const char *name = i < resp->count ? resp->fields[i].name : "";
        vals[i] = i < resp->count ? given(run, name) : NULL;
        if (strcmp(name, "authorization_state") == 0) {
            vals[i] = "AVAILABLE";
        } else if (strcmp(name, "authorization_success_time") == 0) {
            vals[i] = "2026-12-04T10:00:00+08:00";
        } else if (strcmp(name, "apply_permissions_token") == 0) {
            vals[i] = "TEST-apply-permissions-token-wxpay-conformance";
        }
    }
    wxp_buf_init(&b, JOURNAL_MAX);
    if (wxp_op_response_build(run->op, vals, &b, NULL) == WXP_OK) {
        out = wxp_strndup(wxp_buf_cstr(&b), b.len);
    }
    wxp_buf_free(&b);
    return out;
}

/* Posts the scenario [{"match":{"method":M,"path":GLOB},"action":PARAM}]: the operation's method
 * and path template as a glob (the mock is reset before each case, so the case's request is the
 * only one it matches). An operation with a success body answers the body of success_body unless
 * the action answers by itself. *want gets the status the mock answers with when it fires: the
 * respond status, 0 for a drop, the body's status (200), else the operation's success. */
static int post_rule(const struct client_run *run, const char *param, long *want, char *why,
                     size_t cap)
{
    cJSON *doc_json = cJSON_CreateArray();
    cJSON *rule = cJSON_CreateObject();
    cJSON *match = cJSON_AddObjectToObject(rule, "match");
    cJSON *action = cJSON_Parse(param != NULL ? param : "{}");
    const cJSON *respond, *st;
    char *doc = NULL, *body = NULL;
    char glob[PATH_CAP];
    int rc = -1;

    if (action == NULL || !cJSON_IsObject(action)) {
        snprintf(why, cap, "the case's param is not a JSON object: %s", param);
        cJSON_Delete(action);
        goto out;
    }
    respond = cJSON_GetObjectItemCaseSensitive(action, "respond");
    if (respond == NULL && cJSON_GetObjectItemCaseSensitive(action, "drop") == NULL &&
        cJSON_GetObjectItemCaseSensitive(action, "body") == NULL && run->op->response != NULL) {
        body = success_body(run);
        if (body == NULL || cJSON_AddStringToObject(action, "body", body) == NULL) {
            cJSON_Delete(action);
            snprintf(why, cap, "cannot build the success body of %s", run->op->name);
            goto out;
        }
    }
    *want = (long)run->op->success;
    st = cJSON_GetObjectItemCaseSensitive(respond != NULL ? respond : action, "status");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(action, "drop"))) {
        *want = 0;
    } else if (cJSON_IsNumber(st)) {
        *want = (long)st->valuedouble;
    } else if (cJSON_GetObjectItemCaseSensitive(action, "body") != NULL) {
        *want = 200;
    }
    if (path_glob(run->op, glob, sizeof glob) != 0 || match == NULL ||
        cJSON_AddStringToObject(match, "method", run->op->method) == NULL ||
        cJSON_AddStringToObject(match, "path", glob) == NULL) {
        cJSON_Delete(action);
        snprintf(why, cap, "out of memory");
        goto out;
    }
    cJSON_AddItemToObject(rule, "action", action);
    if (doc_json == NULL || !cJSON_AddItemToArray(doc_json, rule)) {
        snprintf(why, cap, "out of memory");
        goto out;
    }
    rule = NULL; /* owned by the array now */
    doc = cJSON_PrintUnformatted(doc_json);
    if (doc == NULL) {
        snprintf(why, cap, "out of memory");
        goto out;
    }
    rc = conf_mock_scenario(&RUN.mock, doc, why, cap);
out:
    wxp_free(body);
    cJSON_free(doc);
    cJSON_Delete(rule);
    cJSON_Delete(doc_json);
    return rc;
}

/* Reads and checks WXPAY_RESULT_FILE after a run: a JSON object whose "verified" is true, false
 * or null, "status" a number or null, "code" and "error" strings or null (each optional but
 * "verified"); other members are allowed. Its text is added to the case's output for the report.
 * src: docs/conformance.md#the-result-file */
static void result_read(struct client_result *res, struct wxp_buf *output)
{
    static const char *const STRINGS[] = {"code", "error"};
    char *text = wxp_malloc(RESULT_CAP + 1);
    const char *end = NULL;
    const cJSON *v, *st;
    cJSON *doc = NULL;
    size_t len = 0;
    ssize_t got;
    int fd;

    memset(res, 0, sizeof *res);
    res->verified = -1;
    fd = open(RUN.result_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || text == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        wxp_free(text);
        return; /* no file: not observable */
    }
    res->present = true;
    while (len <= RESULT_CAP && (got = read(fd, text + len, RESULT_CAP + 1 - len)) > 0) {
        len += (size_t)got;
    }
    close(fd);
    if (wxp_buf_addstr(output, "\n--- WXPAY_RESULT_FILE ---\n") == WXP_OK) {
        enum wxp_code added = wxp_buf_add(output, text, len > 2048 ? 2048 : len);
        (void)added; /* the report keeps what fitted */
    }
    if (len > RESULT_CAP) {
        snprintf(res->why, sizeof res->why, "the result file is larger than %d bytes", RESULT_CAP);
        goto out;
    }
    doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    while (end != NULL && end < text + len &&
           (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')) {
        end++;
    }
    if (doc == NULL || end != text + len || !cJSON_IsObject(doc)) {
        snprintf(res->why, sizeof res->why, "the result file is not one JSON object");
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(doc, "verified");
    if (!cJSON_IsBool(v) && !cJSON_IsNull(v)) {
        snprintf(res->why, sizeof res->why,
                 "the result file's \"verified\" is %s: it must be true, false or null",
                 v == NULL ? "missing" : "not a boolean");
        goto out;
    }
    st = cJSON_GetObjectItemCaseSensitive(doc, "status");
    if (st != NULL && !cJSON_IsNumber(st) && !cJSON_IsNull(st)) {
        snprintf(res->why, sizeof res->why, "the result file's \"status\" is not a number");
        goto out;
    }
    for (size_t i = 0; i < sizeof STRINGS / sizeof STRINGS[0]; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, STRINGS[i]);
        if (s != NULL && !cJSON_IsString(s) && !cJSON_IsNull(s)) {
            snprintf(res->why, sizeof res->why, "the result file's \"%s\" is not a string",
                     STRINGS[i]);
            goto out;
        }
    }
    res->verified = cJSON_IsTrue(v) ? 1 : cJSON_IsFalse(v) ? 0 : -1;
    res->valid = true;
out:
    cJSON_Delete(doc);
    wxp_free(text);
}

static const char *verified_name(int v)
{
    return v > 0 ? "true" : v == 0 ? "false" : "null";
}

/* rule: a signed answer whose signature does not verify is forged: a client never reports it
 * verified (MUST), and one that checks error answers reports it false (SHOULD; the official SDKs
 * verify 2xx only). Without a result file the case is not observable.
 * src: docs/conformance.md#the-result-file ([GB-VERIFY], [EXT-SIGNRULE]) */
static void grade_verified(const struct conf_case *c, const struct client_result *res,
                           struct conf_outcome *out)
{
    bool ok;
    if (!res->present) {
        set_reason(out, CONF_UNOBSERVED,
                   "not observable without a result file: the client wrote nothing to "
                   "WXPAY_RESULT_FILE, and this case grades what it concluded (\"verified\" must "
                   "be %s)",
                   c->expect_verified == CONF_VERIFIED_FALSE ? "false" : "false or null");
        return;
    }
    if (!res->valid) {
        set_reason(out, CONF_FAIL, "%s", res->why);
        return;
    }
    ok = c->expect_verified == CONF_VERIFIED_FALSE ? res->verified == 0 : res->verified != 1;
    if (!ok) {
        set_reason(out, CONF_FAIL,
                   "the result file says \"verified\": %s on the scripted answer %s (its "
                   "signature is forged: \"verified\" must be %s)",
                   verified_name(res->verified), c->param ? c->param : "",
                   c->expect_verified == CONF_VERIFIED_FALSE ? "false" : "false or null");
        return;
    }
    out->verdict = CONF_PASS;
}

static void grade_response(const struct conf_case *c, const struct journaled *j, long want,
                           const struct client_result *res, struct conf_outcome *out)
{
    bool succeeded = out->exit_status == 0;

    if (j->status != want) {
        set_reason(
            out, CONF_FAIL,
            "the mock answered %ld %s (failed check: %s) instead of the answer this case scripts, "
            "so the client never saw it: fix the request first (CLI-REQ-*)",
            j->status, j->code ? j->code : "", j->failed_check ? j->failed_check : "none");
        return;
    }
    if (c->expect_status == 0 && !succeeded) {
        set_reason(out, CONF_FAIL, "exit status %d: the client did not accept a valid answer",
                   out->exit_status);
        return;
    }
    if (c->expect_status != 0 && succeeded) {
        set_reason(out, CONF_FAIL, "exit status 0: the client reported success on %s%s",
                   c->param ? "the scripted answer " : "the answer", c->param ? c->param : "");
        return;
    }
    if (c->expect_verified != CONF_VERIFIED_ANY) {
        grade_verified(c, res, out);
        return;
    }
    out->verdict = CONF_PASS;
}

/* Whether the shell said the command could not be run at all (it exited, rc 0). */
static bool no_command(int rc, const struct conf_outcome *out)
{
    return rc == 0 && (out->exit_status == 126 || out->exit_status == 127);
}

/* Marks the case as the one that stopped the run, and says why. */
static void stop(struct conf_outcome *out, int rc, long timeout)
{
    if (no_command(rc, out)) {
        set_reason(out, CONF_ERROR,
                   "the command could not be run: exit status %d (%s) and no request reached the "
                   "mock",
                   out->exit_status,
                   out->exit_status == 127 ? "command not found" : "found but not executable");
    } else if (rc > 0) {
        set_reason(out, CONF_ERROR,
                   "the command sent no request in the first case and timed out after %ld ms",
                   timeout);
    } else {
        set_reason(out, CONF_ERROR,
                   "the command sent no request in the first case (exit status %d): it did not "
                   "run as a client",
                   out->exit_status);
    }
    out->stop_run = true;
}

/* Runs the command and grades it; the case's set-up (reset, rule) is done. `want` is the status
 * of the scripted answer (response cases). */
static void run_and_grade(const struct client_run *run, const struct conf_case *c, check_fn check,
                          long want, struct conf_outcome *out)
{
    const struct conf_context *ctx = run->ctx;
    long timeout = ctx->timeout_ms > 0 ? ctx->timeout_ms : TIMEOUT_DEFAULT_MS;
    struct wxp_buf journal;
    struct journaled j;
    struct client_result res;
    struct env env;
    cJSON *entries = NULL;
    const cJSON *first = NULL, *other = NULL, *shown = NULL;
    const struct wxp_op *called = NULL; /* another operation of the table the client called */
    size_t count = 0, count_all = 0, count_table = 0;
    char why[512] = "";
    int rc;

    memset(&j, 0, sizeof j);
    memset(&res, 0, sizeof res);
    wxp_buf_init(&journal, JOURNAL_MAX);
    if (env_build(&env, run) != 0) {
        set_reason(out, CONF_ERROR, "cannot build the command's environment (out of memory)");
        goto out;
    }
    unlink(RUN.result_path); /* a result file left by an earlier case is not this case's */
    rc = run_command(ctx->command, env.vars, timeout, &out->output, &out->exit_status, why,
                     sizeof why);
    if (rc < 0) {
        set_reason(out, CONF_ERROR, "cannot run the command: %s", why);
        goto out;
    }
    RUN.commands_run++;
    result_read(&res, &out->output);
    conf_redact_keys(&out->output);
    if (rc > 0) {
        out->exit_status = -1;
        set_reason(out, CONF_FAIL, "timed out after %ld ms (the process group was killed)",
                   timeout);
    }
    if (conf_mock_journal(&RUN.mock, &journal, why, sizeof why) != 0) {
        set_reason(out, CONF_ERROR, "cannot read the mock's journal: %s", why);
        goto out;
    }
    /* The requests of the case's operation; other calls (a client fetching certificates first,
     * say) are counted and shown only when none came. */
    entries = cJSON_ParseWithLength(journal.ptr, journal.len);
    for (const cJSON *e = entries ? entries->child : NULL; e != NULL; e = e->next) {
        const char *path = jstr(e, "path");
        if (path == NULL || strncmp(path, "/__admin/", 9) == 0) {
            continue;
        }
        other = other ? other : e;
        count_all++;
        if (of_operation(run->op, or_default(jstr(e, "method"), ""), path)) {
            first = first ? first : e;
            count++;
        }
        for (size_t i = 0; i < WXP_OP_COUNT; i++) {
            if (&WXP_OPS[i] != run->op &&
                of_operation(&WXP_OPS[i], or_default(jstr(e, "method"), ""), path)) {
                called = &WXP_OPS[i];
                count_table++;
                break;
            }
        }
    }
    /* rule: a client that exits EXIT_NOT_SUPPORTED without calling the operation does not
     * implement it: the case is not applicable, never a failure or a pass.
     * src: docs/conformance.md#not-applicable */
    if (entries != NULL && rc == 0 && count == 0 && out->exit_status == EXIT_NOT_SUPPORTED) {
        set_reason(out, CONF_SKIP,
                   "not applicable: the client does not support %s (it exited %d and sent no "
                   "request of it)",
                   run->op->name, EXIT_NOT_SUPPORTED);
        goto out;
    }
    /* rule: a client written before WXPAY_OPERATION existed calls the one operation it knows,
     * whatever it is asked: when every request it sent is of another operation of the table,
     * it does not implement this one, and the case is not applicable (so an earlier client's
     * run stays green). A request that is of no operation (a wrong path) is graded as a failure.
     * src: docs/conformance.md#not-applicable */
    if (entries != NULL && rc == 0 && count == 0 && count_all > 0 && count_table == count_all) {
        set_reason(out, CONF_SKIP,
                   "not applicable: asked for %s, the client called %s (it does not read "
                   "WXPAY_OPERATION; --operations says which operations it supports)",
                   run->op->name, called->name);
        goto out;
    }
    /* rule: a command that cannot be run (the shell's 126 "not executable" and 127 "not found",
     * or a first case with no request at all) is not graded case after case: the run stops.
     * src: docs/conformance.md#exit-status */
    if (entries != NULL && count_all == 0 && (RUN.commands_run == 1 || no_command(rc, out))) {
        stop(out, rc, timeout);
        goto out;
    }
    shown = first ? first : other;
    if (shown != NULL && journaled_read(shown, &j) != 0) {
        set_reason(out, CONF_ERROR, "the journal entry is not readable");
        goto out;
    }
    if (shown != NULL) {
        describe_request(&j, count_all, &out->request);
        describe_response(&j, c->param && check == NULL ? c->param : NULL, &out->response);
    }
    if (rc > 0) {
        goto out; /* timed out: already graded */
    }
    if (entries == NULL) {
        set_reason(out, CONF_ERROR, "the mock's journal is not JSON");
        goto out;
    }
    if (count == 0) {
        set_reason(out, CONF_FAIL, "no %s request reached the mock (%zu other, exit status %d)",
                   run->op->name, count_all, out->exit_status);
        goto out;
    }
    if (check == NULL) {
        grade_response(c, &j, want, &res, out);
        goto out;
    }
    /* rule: one call of the command is one request of the operation (no retry of a success).
     * src: docs/conformance.md#client-mode */
    if (count != 1) {
        set_reason(out, CONF_FAIL, "the client sent %zu %s requests; one call was expected", count,
                   run->op->name);
        goto out;
    }
    if (j.body_cut) {
        set_reason(out, CONF_ERROR, "the journal kept only part of the body");
        goto out;
    }
    if (!check(run, &j, why, sizeof why)) {
        set_reason(out, CONF_FAIL, "%s", why);
        goto out;
    }
    out->verdict = CONF_PASS;
out:
    cJSON_Delete(entries);
    journaled_free(&j);
    wxp_buf_free(&journal);
    env_free(&env);
}

void conf_run_client_case(const struct conf_context *ctx, const struct conf_case *c,
                          struct conf_outcome *out)
{
    long start = now_ms();
    struct client_run run;
    check_fn check = NULL;
    char nonce[WXP_NONCE_LEN + 1], nonce2[WXP_NONCE_LEN + 1];
    char why[512] = "";
    bool encoded_code = false;
    long want = 0;

    memset(&run, 0, sizeof run);
    run.ctx = ctx;
    run.op = c->op;
    run.mchid = or_default(ctx->mchid, DEFAULT_MCHID);
    run.service_id = or_default(ctx->service_id, DEFAULT_SERVICE_ID);
    run.appid = or_default(ctx->appid, DEFAULT_APPID);
    out->exit_status = -1;
    if (!RUN.started) {
        set_reason(out, CONF_ERROR, "the mock is not running (conf_client_begin failed)");
        goto out;
    }
    /* rule: with --operations, a case of another operation is not applicable, and the command is
     * not run for it. src: docs/conformance.md#not-applicable */
    if (!conf_operation_supported(ctx, c->op)) {
        set_reason(out, CONF_SKIP, "not applicable: %s is not among --operations", c->operation);
        goto out;
    }
    if (strcmp(c->kind, "request") == 0) {
        for (size_t i = 0; c->param != NULL && i < sizeof CHECKS / sizeof CHECKS[0]; i++) {
            if (strcmp(c->param, CHECKS[i].name) == 0) {
                check = CHECKS[i].fn;
                run.public_key_mode = CHECKS[i].public_key_mode;
                encoded_code = CHECKS[i].encoded_code;
            }
        }
        if (check == NULL) {
            set_reason(out, CONF_ERROR, "unknown request check \"%s\"",
                       c->param ? c->param : "(null)");
            goto out;
        }
    } else if (strcmp(c->kind, "response") != 0) {
        set_reason(out, CONF_ERROR, "unknown client case kind \"%s\"", c->kind);
        goto out;
    }
    if (wxp_nonce(nonce, NULL) != WXP_OK || wxp_nonce(nonce2, NULL) != WXP_OK) {
        set_reason(out, CONF_ERROR, "no randomness for a fresh openid");
        goto out;
    }
    snprintf(run.openid, sizeof run.openid, "%.*s%.*s", 100,
             or_default(ctx->openid_prefix, DEFAULT_OPENID_PREFIX), OPENID_RANDOM, nonce);
    /* An authorization_code of its charset (0-9A-Za-z_-|*): '|' must be percent-encoded in a
     * path, '*' may be sent either way. */
    snprintf(run.code, sizeof run.code, "%s%.*s", encoded_code ? "Conf|code*" : "Conf",
             OPENID_RANDOM, nonce2);
    if (conf_mock_reset(&RUN.mock, why, sizeof why) != 0) {
        set_reason(out, CONF_ERROR, "cannot reset the mock: %s", why);
        goto out;
    }
    if (check == NULL && (c->param != NULL || c->op->response != NULL) &&
        post_rule(&run, c->param, &want, why, sizeof why) != 0) {
        set_reason(out, CONF_ERROR, "cannot load the scenario: %s", why);
        goto out;
    }
    if (check == NULL && c->param == NULL && c->op->response == NULL) {
        want = (long)c->op->success;
    }
    run_and_grade(&run, c, check, want, out);
out:
    out->seconds = (double)(now_ms() - start) / 1000.0;
}
