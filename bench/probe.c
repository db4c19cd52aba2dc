/* SPDX-License-Identifier: MIT */
/* probe.c: wxp-bench-probe measures start-up: from just before exec of the server until the
 * server has answered its first request. It forks; the parent execs the server (so the caller's
 * $! is the server's pid) and the child waits for the server's ready file, sends one request
 * (the first line of a pool file, bench/pool.c's format, or an empty POST /), reads the status
 * line and writes
 * "startup_ms=.. ready_ms=.. exec_ms=.. status=.." to --out, where exec_ms is the exec floor
 * (see exec_floor_ms; --floor-runs N, default 3) and ready_ms the time from exec to the ready
 * file. Bounded: the child gives up after 10 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#define GIVE_UP_S 10.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void)
{
    struct timespec ts = {0, 200 * 1000L};
    nanosleep(&ts, NULL);
}

/* The port of a ready file's "http://127.0.0.1:PORT" line, 0 while it is absent. */
static unsigned read_port(const char *path)
{
    char line[128];
    const char *colon;
    long port;
    char *end;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        return 0;
    }
    if (fgets(line, sizeof line, f) == NULL) {
        fclose(f);
        return 0;
    }
    fclose(f);
    colon = strrchr(line, ':');
    if (colon == NULL) {
        return 0;
    }
    port = strtol(colon + 1, &end, 10);
    return port > 0 && port < 65536 ? (unsigned)port : 0;
}

/* The exec floor: the fastest of `runs` runs of `SERVER --version` (the ceilings answer it with
 * their usage), i.e. what fork, exec and the dynamic loader cost before main() does any work.
 * With runs = 1 it is one run right before the server's start, paired with it (T4). */
static double exec_floor_ms(char **cmd, long runs)
{
    double best = -1;

    for (long i = 0; i < runs; i++) {
        double t0 = now_s();
        int st;
        pid_t p = fork();
        if (p < 0) {
            return -1;
        }
        if (p == 0) {
            static char version[] = "--version";
            char *args[] = {cmd[0], version, NULL};
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0) {
                dup2(devnull, 1);
                dup2(devnull, 2);
            }
            execvp(cmd[0], args);
            _exit(127);
        }
        if (waitpid(p, &st, 0) < 0) {
            return -1;
        }
        double ms = (now_s() - t0) * 1000.0;
        if (best < 0 || ms < best) {
            best = ms;
        }
    }
    return best;
}

/* The request to send: the pool's first line (TARGET\tAUTHORIZATION\tBODY[\tMETHOD], POST
 * when there is no METHOD; a request without a body is sent without Content-Type), or an empty
 * POST /. */
static int build_request(const char *pool, char *out, size_t cap)
{
    char line[4096];
    char *path, *authz, *body, *tab;
    const char *method = "POST";
    FILE *f;
    int n;

    if (pool == NULL) {
        n = snprintf(out, cap, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
        return n > 0 && (size_t)n < cap ? n : -1;
    }
    f = fopen(pool, "r");
    if (f == NULL || fgets(line, sizeof line, f) == NULL) {
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    path = line;
    tab = strchr(path, '\t');
    if (tab == NULL) {
        return -1;
    }
    *tab = '\0';
    authz = tab + 1;
    tab = strchr(authz, '\t');
    if (tab == NULL) {
        return -1;
    }
    *tab = '\0';
    body = tab + 1;
    tab = strchr(body, '\t');
    if (tab != NULL) {
        *tab = '\0';
        method = tab + 1;
    }
    if (*body == '\0' && strcmp(method, "POST") != 0) {
        n = snprintf(out, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                     "Accept: application/json\r\nUser-Agent: wxp-bench-probe\r\n\r\n",
                     method, path, authz);
        return n > 0 && (size_t)n < cap ? n : -1;
    }
    n = snprintf(out, cap,
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                 "Accept: application/json\r\nUser-Agent: wxp-bench-probe\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 method, path, authz, strlen(body), body);
    return n > 0 && (size_t)n < cap ? n : -1;
}

/* One request on a fresh connection; the HTTP status, or -1 while the server does not answer. */
static int ask(unsigned port, const char *req, size_t len)
{
    struct sockaddr_in a;
    char resp[512];
    ssize_t got;
    size_t off = 0;
    int fd, status = -1;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || write(fd, req, len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    while (off < sizeof resp - 1 && (got = read(fd, resp + off, sizeof resp - 1 - off)) > 0) {
        off += (size_t)got;
        resp[off] = '\0';
        if (strstr(resp, "\r\n") != NULL) {
            break;
        }
    }
    close(fd);
    if (off > 12 && memcmp(resp, "HTTP/1.", 7) == 0) {
        status = (int)strtol(resp + 9, NULL, 10);
    }
    return status;
}

int main(int argc, char **argv)
{
    const char *ready = NULL, *pool = NULL, *out = NULL;
    double since, deadline, ready_at = 0, floor_ms;
    char req[8192];
    int len, status = -1, cmd = 0;
    long floor_runs = 3;
    unsigned port = 0;
    FILE *f;
    pid_t child;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--") == 0) {
            cmd = i + 1;
            break;
        }
        if (strcmp(argv[i], "--ready-file") == 0) {
            ready = argv[i + 1];
        } else if (strcmp(argv[i], "--pool") == 0) {
            pool = argv[i + 1];
        } else if (strcmp(argv[i], "--out") == 0) {
            out = argv[i + 1];
        } else if (strcmp(argv[i], "--floor-runs") == 0) {
            char *end = NULL;
            floor_runs = strtol(argv[i + 1], &end, 10);
            if (end == argv[i + 1] || *end != '\0' || floor_runs < 1 || floor_runs > 100) {
                floor_runs = 0;
                break;
            }
        } else {
            break;
        }
    }
    if (ready == NULL || out == NULL || cmd == 0 || cmd >= argc || floor_runs == 0) {
        fprintf(stderr, "usage: wxp-bench-probe --ready-file F --out RESULT [--pool P] "
                        "[--floor-runs 1..100] -- SERVER [ARGS...]\n");
        return 2;
    }
    len = build_request(pool, req, sizeof req);
    if (len < 0) {
        fprintf(stderr, "wxp-bench-probe: cannot read a request from %s\n", pool);
        return 1;
    }
    floor_ms = exec_floor_ms(argv + cmd, floor_runs);
    /* The parent becomes the server (so the shell's $! is the server's pid); the child probes. */
    since = now_s();
    child = fork();
    if (child < 0) {
        perror("wxp-bench-probe: fork");
        return 1;
    }
    if (child > 0) {
        execvp(argv[cmd], argv + cmd);
        perror("wxp-bench-probe: exec");
        return 127;
    }
    deadline = now_s() + GIVE_UP_S;
    while (now_s() < deadline && (port = read_port(ready)) == 0) {
        nap();
    }
    ready_at = now_s();
    while (port != 0 && now_s() < deadline && (status = ask(port, req, (size_t)len)) < 0) {
        nap();
    }
    f = fopen(out, "w");
    if (f == NULL) {
        _exit(1);
    }
    if (status < 0) {
        fprintf(f, "startup_ms=-1 ready_ms=-1 exec_ms=-1 status=0\n");
    } else {
        fprintf(f, "startup_ms=%.1f ready_ms=%.1f exec_ms=%.1f status=%d\n",
                (now_s() - since) * 1000.0, (ready_at - since) * 1000.0, floor_ms, status);
    }
    fclose(f);
    _exit(status < 0 ? 1 : 0);
}
