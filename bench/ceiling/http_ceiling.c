/* SPDX-License-Identifier: MIT */
/* http_ceiling.c: wxp-http-ceiling, the HTTP ceiling: libmicrohttpd as wxpay-mock runs it,
 * answering 204 to everything with no checks and no crypto. Nothing can be faster through the
 * same HTTP stack, so `wxpay-mock --sign-cache` is measured against it. */
#include <stdio.h>

#include "serve.h"

static enum MHD_Result answer(void *cls, struct MHD_Connection *con)
{
    struct MHD_Response *r = cls;
    return MHD_queue_response(con, MHD_HTTP_NO_CONTENT, r);
}

int main(int argc, char **argv)
{
    /* One response for every request: the ceiling does no per-request work at all. */
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    int rc;

    if (r == NULL) {
        fprintf(stderr, "wxp-http-ceiling: out of memory\n");
        return 1;
    }
    rc = bench_serve_main(argc, argv, "wxp-http-ceiling", answer, r);
    MHD_destroy_response(r);
    return rc;
}
