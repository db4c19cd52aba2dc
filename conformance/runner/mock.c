/* SPDX-License-Identifier: MIT */
/* mock.c: the bundled wxpay-mock as a child process on 127.0.0.1:0 (its URL comes back through a
 * ready file), and the admin calls the executors make on it (docs/mock-admin.md). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"

#define READY_WAIT_MS 10000
#define STOP_WAIT_MS 5000
#define POLL_MS 10
#define ARGS_MAX 32
#define ADMIN_TIMEOUT_MS 10000L

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void remove_dir(struct conf_mock *m)
{
    char path[300];

    if (m->dir[0] == '\0') {
        return;
    }
    snprintf(path, sizeof path, "%s/ready", m->dir);
    unlink(path);
    rmdir(m->dir);
    m->dir[0] = '\0';
}

/* The child: dies with the runner, keeps stderr (start-up errors), drops stdout. Reports an exec
 * failure's errno through `fd` (close-on-exec, so a successful exec closes it silently). */
static void child(const char *const *argv, int fd, pid_t parent)
{
    int devnull;
    int e;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(127); /* the runner died before prctl took effect */
    }
    devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }
    execv(argv[0], (char *const *)(uintptr_t)argv);
    e = errno;
    if (write(fd, &e, sizeof e) < 0) {
        _exit(127);
    }
    _exit(127);
}

/* Reads the URL from the ready file; true once it is there (the mock writes it atomically). */
static bool read_ready(struct conf_mock *m, const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        return false;
    }
    n = fread(m->url, 1, sizeof m->url - 1, f);
    fclose(f);
    m->url[n] = '\0';
    while (n > 0 && (m->url[n - 1] == '\n' || m->url[n - 1] == '\r' || m->url[n - 1] == ' ')) {
        m->url[--n] = '\0';
    }
    return n > 0;
}

static void describe_exit(int status, char *why, size_t cap, const char *bin)
{
    if (WIFEXITED(status)) {
        snprintf(why, cap, "%s exited with status %d before it was ready", bin,
                 WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(why, cap, "%s was killed by signal %d before it was ready", bin, WTERMSIG(status));
    } else {
        snprintf(why, cap, "%s stopped before it was ready", bin);
    }
}

int conf_mock_start(struct conf_mock *m, const char *bin, const char *const *args, char *why,
                    size_t cap)
{
    const char *argv[ARGS_MAX + 8];
    char ready[300];
    int pipefd[2] = {-1, -1};
    size_t n = 0;
    pid_t pid, parent = getpid();
    int status, e = 0;
    ssize_t got;

    memset(m, 0, sizeof *m);
    snprintf(m->dir, sizeof m->dir, "%s", "/tmp/wxpay-conformance-XXXXXX");
    if (mkdtemp(m->dir) == NULL) {
        snprintf(why, cap, "cannot create a temporary directory: %s", strerror(errno));
        m->dir[0] = '\0';
        return -1;
    }
    snprintf(ready, sizeof ready, "%s/ready", m->dir);
    argv[n++] = bin;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--ready-file";
    argv[n++] = ready;
    argv[n++] = "--quiet";
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        if (i >= ARGS_MAX) {
            snprintf(why, cap, "more than %d extra arguments for %s", ARGS_MAX, bin);
            remove_dir(m);
            return -1;
        }
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    if (pipe(pipefd) != 0 || fcntl(pipefd[1], F_SETFD, FD_CLOEXEC) != 0) {
        snprintf(why, cap, "pipe: %s", strerror(errno));
        goto fail;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(why, cap, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        close(pipefd[0]);
        child(argv, pipefd[1], parent);
    }
    m->pid = (int)pid;
    close(pipefd[1]);
    pipefd[1] = -1;
    do {
        got = read(pipefd[0], &e, sizeof e);
    } while (got < 0 && errno == EINTR);
    close(pipefd[0]);
    pipefd[0] = -1;
    if (got == (ssize_t)sizeof e) {
        snprintf(why, cap, "cannot run %s: %s", bin, strerror(e));
        waitpid(pid, &status, 0);
        m->pid = 0;
        goto fail;
    }
    for (long waited = 0; waited <= READY_WAIT_MS; waited += POLL_MS) {
        if (read_ready(m, ready)) {
            return 0;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            describe_exit(status, why, cap, bin);
            m->pid = 0;
            goto fail;
        }
        sleep_ms(POLL_MS);
    }
    snprintf(why, cap, "%s did not write %s within %d s", bin, ready, READY_WAIT_MS / 1000);
    conf_mock_stop(m);
    return -1;
fail:
    if (pipefd[0] >= 0) {
        close(pipefd[0]);
    }
    if (pipefd[1] >= 0) {
        close(pipefd[1]);
    }
    remove_dir(m);
    m->url[0] = '\0';
    return -1;
}

void conf_mock_stop(struct conf_mock *m)
{
    pid_t pid = (pid_t)m->pid;
    int status;

    if (pid > 0) {
        kill(pid, SIGTERM);
        /* The mock lets requests in flight finish for up to 2 s; then it is killed. */
        for (long waited = 0;; waited += POLL_MS) {
            pid_t r = waitpid(pid, &status, WNOHANG);
            if (r == pid || (r < 0 && errno != EINTR)) {
                break;
            }
            if (waited >= STOP_WAIT_MS) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            sleep_ms(POLL_MS);
        }
    }
    m->pid = 0;
    m->url[0] = '\0';
    remove_dir(m);
}

/* One admin call: `method` on m->url + path, expecting `want`. The body is appended to `out`
 * when it is not NULL. */
static int admin(const struct conf_mock *m, const char *method, const char *path, const char *body,
                 long want, struct wxp_buf *out, char *why, size_t cap)
{
    static const char *const json_headers[] = {"Accept: application/json",
                                               "User-Agent: wxpay-conformance",
                                               "Content-Type: application/json", NULL};
    struct conf_http_resp r;
    char url[256];
    int ret = -1;

    if (m->url[0] == '\0') {
        snprintf(why, cap, "admin %s %s: the mock is not running", method, path);
        return -1;
    }
    snprintf(url, sizeof url, "%s%s", m->url, path);
    conf_http_init(&r);
    conf_http(method, url, json_headers, body, body != NULL ? strlen(body) : 0, ADMIN_TIMEOUT_MS,
              &r);
    if (r.status == 0) {
        snprintf(why, cap, "admin %s %s: no answer (curl error %d)", method, path, r.curl_code);
        goto out;
    }
    if (r.status != want) {
        snprintf(why, cap, "admin %s %s: expected %ld, got %ld: %.200s", method, path, want,
                 r.status, wxp_buf_cstr(&r.body));
        goto out;
    }
    if (out != NULL && wxp_buf_add(out, wxp_buf_cstr(&r.body), r.body.len) != WXP_OK) {
        snprintf(why, cap, "admin %s %s: answer of %zu bytes does not fit", method, path,
                 r.body.len);
        goto out;
    }
    ret = 0;
out:
    conf_http_free(&r);
    return ret;
}

int conf_mock_reset(const struct conf_mock *m, char *why, size_t cap)
{
    return admin(m, "POST", "/__admin/reset", NULL, 204, NULL, why, cap);
}

int conf_mock_scenario(const struct conf_mock *m, const char *json, char *why, size_t cap)
{
    return admin(m, "POST", "/__admin/scenarios", json, 201, NULL, why, cap);
}

int conf_mock_journal(const struct conf_mock *m, struct wxp_buf *out, char *why, size_t cap)
{
    return admin(m, "GET", "/__admin/requests", NULL, 200, out, why, cap);
}
