/* SPDX-License-Identifier: MIT */
/* serve.c: the ceilings' libmicrohttpd skeleton: wxpay-mock's daemon flags, no checks. */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct serve {
    bench_answer_fn answer;
    void *cls;
};

/* A marker for "headers seen, body not finished": the ceilings keep no per-request state. */
static int started;

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
{
    const struct serve *s = cls;

    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (*req_cls == NULL) {
        *req_cls = &started;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    return s->answer(s->cls, con);
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

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--threads N] [--ready-file PATH]\n", prog);
    return 2;
}

int bench_serve_main(int argc, char **argv, const char *prog, bench_answer_fn answer, void *cls)
{
    struct serve s = {answer, cls};
    const char *ready = NULL;
    long threads = 0;
    struct sockaddr_in addr;
    struct MHD_Daemon *mhd;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    char url[64];
    sigset_t set;
    int sig = 0;

    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--threads") == 0) {
            char *end;
            errno = 0;
            threads = strtol(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || threads < 0 || threads > 256) {
                return usage(prog);
            }
        } else if (i + 1 < argc && strcmp(argv[i], "--ready-file") == 0) {
            ready = argv[++i];
        } else {
            return usage(prog);
        }
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* The same flags and limits as mock-server/src/daemon.c mock_daemon_start. */
    flags |= threads == 0 ? MHD_USE_THREAD_PER_CONNECTION : MHD_USE_EPOLL;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, &s, MHD_OPTION_SOCK_ADDR, &addr,
                           MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                           MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
                           MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                           threads > 0 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
                           (unsigned)threads, MHD_OPTION_END);
    if (mhd == NULL) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1: %s\n", prog,
                errno ? strerror(errno) : "libmicrohttpd refused to start");
        return 1;
    }
    info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", info ? (unsigned)info->port : 0U);
    if (ready != NULL && write_ready_file(ready, url) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, ready, strerror(errno));
        MHD_stop_daemon(mhd);
        return 1;
    }
    printf("%s listening on %s\n", prog, url);
    fflush(stdout);
    sigwait(&set, &sig);
    MHD_stop_daemon(mhd);
    return 0;
}
