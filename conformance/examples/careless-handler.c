/* SPDX-License-Identifier: MIT */
/* careless-handler.c: how NOT to handle WeChat Pay notifications. It answers 200
 * {"code":"SUCCESS"} to anything it is sent, without looking at the signature, the timestamp or
 * the resource: forged, replayed and probing notifications are all "received". It exists so that
 * `wxpay-conformance notify` can be shown failing it (conformance/examples/README.md).
 *
 *   careless-handler [--port N] [--ready-file FILE] */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

static char OK[] = "{\"code\":\"SUCCESS\",\"message\":\"成功\"}";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **state)
{
    static int started;
    struct MHD_Response *r;
    enum MHD_Result ret;
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)data;

    if (*state == NULL) { /* headers: go on */
        *state = &started;
        return MHD_YES;
    }
    if (*size > 0) { /* the body: ignored */
        *size = 0;
        return MHD_YES;
    }
    r = MHD_create_response_from_buffer(strlen(OK), OK, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

int main(int argc, char **argv)
{
    const char *ready = NULL;
    long port = 0;
    struct sockaddr_in addr;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t stop;
    int sig = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0) {
            port = strtol(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--ready-file") == 0) {
            ready = argv[i + 1];
        }
    }
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)(port >= 0 && port <= 65535 ? port : 0));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    info = d != NULL ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (info == NULL) {
        fprintf(stderr, "careless-handler: cannot listen\n");
        return 1;
    }
    if (ready != NULL) {
        FILE *f = fopen(ready, "w");
        if (f == NULL) {
            MHD_stop_daemon(d);
            return 1;
        }
        fprintf(f, "http://127.0.0.1:%u\n", info->port);
        fclose(f);
    }
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    return 0;
}
