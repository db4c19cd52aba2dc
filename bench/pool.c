/* SPDX-License-Identifier: MIT */
/* pool.c: wxp-bench-pool writes N pre-signed requests of one operation of the core's table
 * (default terminate by openid) for the load driver (bench/wrk/pool.lua), one per line:
 * TARGET <TAB> AUTHORIZATION <TAB> BODY, and <TAB> METHOD after it when the method is not POST
 * (a GET line has an empty BODY). Target and body are built by wxp_op_target and wxp_op_body, so
 * the path is the table's. Every request has its own nonce, its own openid or authorization code
 * (so each terminate is the first of that openid: the measured answer is the signed 204) and the
 * timestamp "now", so a pool must be used within the mock's skew window (300 s) of being written.
 * Signing is the cost (one RSA-2048 sign per request), so it runs on --threads threads. TEST ONLY
 * keys (fixtures/). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wxp/authz.h"
#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/op.h"
#include "wxp/str.h"

#define POOL_MAX_COUNT 50000000L
#define POOL_MAX_THREADS 64
/* A line is about 600 bytes; this bounds one thread's buffer. */
#define LINE_MAX_BYTES 2048
/* Bounds of a request target and a body built from the options (ids of at most 32 bytes). */
#define TARGET_MAX 512
#define BODY_MAX 512

struct pool_opts {
    const char *out;
    const struct wxp_op *op;
    long count;
    long threads;
    const char *prefix;
    const char *key_file;
    const char *mchid;
    const char *serial;
    const char *appid;
    const char *service_id;
    int64_t timestamp;
};

struct job {
    const struct pool_opts *o;
    const struct wxp_key *key;
    long first;
    long n;
    struct wxp_buf lines;
    struct wxp_err err;
    enum wxp_code rc;
};

/* The value of each parameter row of the operation, by name: the numbered id for openid and
 * authorization_code, the options for appid and service_id, "bench" for reason; none for the
 * rest (optional rows such as notify_url). */
static void fill_values(const struct pool_opts *o, const char *id, const char **vals)
{
    const struct wxp_schema *s = o->op->params;

    for (size_t i = 0; i < s->count; i++) {
        const char *name = s->fields[i].name;
        vals[i] = NULL;
        if (strcmp(name, "openid") == 0 || strcmp(name, "authorization_code") == 0) {
            vals[i] = id;
        } else if (strcmp(name, "appid") == 0) {
            vals[i] = o->appid;
        } else if (strcmp(name, "service_id") == 0) {
            vals[i] = o->service_id;
        } else if (strcmp(name, "reason") == 0) {
            vals[i] = "bench";
        }
    }
}

static enum wxp_code make_line(struct job *j, long index, struct wxp_buf *authz, struct wxp_buf *b)
{
    const struct pool_opts *o = j->o;
    const struct wxp_op *op = o->op;
    struct wxp_signer signer = {j->key, o->mchid, o->serial};
    const char *vals[WXP_SCHEMA_MAX_FIELDS];
    struct wxp_buf target, body;
    char id[64];
    char nonce[WXP_NONCE_LEN + 1];
    int n;
    enum wxp_code rc;

    wxp_buf_init(&target, TARGET_MAX);
    wxp_buf_init(&body, BODY_MAX);
    n = snprintf(id, sizeof id, "%s%09ld", o->prefix, index);
    if (n < 0 || (size_t)n >= sizeof id) {
        rc = wxp_err_set(&j->err, WXP_E_TOO_LARGE, "openid", "prefix too long");
        goto out;
    }
    fill_values(o, id, vals);
    rc = wxp_op_check_values(op, vals, &j->err);
    if (rc == WXP_OK) {
        rc = wxp_op_target(op, vals, &target, &j->err);
    }
    if (rc == WXP_OK) {
        rc = wxp_op_body(op, vals, &body, &j->err);
    }
    if (rc == WXP_OK) {
        rc = wxp_nonce(nonce, &j->err);
    }
    if (rc != WXP_OK) {
        goto out;
    }
    wxp_buf_reset(authz);
    rc = wxp_authz_sign(authz, &signer, wxp_str_c(op->method),
                        (struct wxp_str){target.ptr, target.len},
                        (struct wxp_str){body.ptr, body.len}, o->timestamp, nonce, &j->err);
    if (rc != WXP_OK) {
        goto out;
    }
    rc = wxp_buf_addf(b, "%s\t%s\t%s%s%s\n", wxp_buf_cstr(&target), wxp_buf_cstr(authz),
                      wxp_buf_cstr(&body), strcmp(op->method, "POST") == 0 ? "" : "\t",
                      strcmp(op->method, "POST") == 0 ? "" : op->method);
    if (rc != WXP_OK) {
        wxp_err_set(&j->err, rc, NULL, "pool line buffer");
    }
out:
    wxp_buf_free(&target);
    wxp_buf_free(&body);
    return rc;
}

static void *run_job(void *arg)
{
    struct job *j = arg;
    struct wxp_buf authz;

    wxp_buf_init(&authz, WXP_AUTHZ_MAX);
    j->rc = WXP_OK;
    for (long i = j->first; i < j->first + j->n && j->rc == WXP_OK; i++) {
        j->rc = make_line(j, i, &authz, &j->lines);
    }
    wxp_buf_free(&authz);
    return NULL;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: wxp-bench-pool --out FILE --count N [--threads T] [--openid-prefix P]\n"
            "                      [--operation NAME] [--key PEM] [--mchid ID] [--serial HEX]\n"
            "                      [--appid A] [--service-id S]\n"
            "Writes N pre-signed requests of the operation NAME (default\n"
            "payscore.permissions.terminate-by-openid; any name of the core's operation table),\n"
            "TARGET\\tAUTHORIZATION\\tBODY per line, then \\tMETHOD when it is not POST, each\n"
            "with a unique nonce, openid or authorization code (P + 9 digits) and the timestamp\n"
            "now. TEST ONLY keys.\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct pool_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            return usage();
        }
        if (strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--count") == 0) {
            if (!wxp_parse_long(v, 1, POOL_MAX_COUNT, &o->count)) {
                return usage();
            }
        } else if (strcmp(a, "--threads") == 0) {
            if (!wxp_parse_long(v, 1, POOL_MAX_THREADS, &o->threads)) {
                return usage();
            }
        } else if (strcmp(a, "--operation") == 0) {
            o->op = wxp_op_by_name(wxp_str_c(v));
            if (o->op == NULL || o->op->params->count > WXP_SCHEMA_MAX_FIELDS) {
                fprintf(stderr, "wxp-bench-pool: no operation named %s\n", v);
                return usage();
            }
        } else if (strcmp(a, "--openid-prefix") == 0) {
            o->prefix = v;
        } else if (strcmp(a, "--key") == 0) {
            o->key_file = v;
        } else if (strcmp(a, "--mchid") == 0) {
            o->mchid = v;
        } else if (strcmp(a, "--serial") == 0) {
            o->serial = v;
        } else if (strcmp(a, "--appid") == 0) {
            o->appid = v;
        } else if (strcmp(a, "--service-id") == 0) {
            o->service_id = v;
        } else {
            return usage();
        }
        i++;
    }
    return o->out != NULL && o->count > 0 ? 0 : usage();
}

int main(int argc, char **argv)
{
    struct pool_opts o = {NULL,
                          &WXP_OPS[WXP_OP_PERMISSIONS_TERMINATE_BY_OPENID],
                          0,
                          2,
                          "oBench",
                          WXP_FIXTURES_DIR "/keys/test-merchant-a.key.pem",
                          "1900000109",
                          "3B2A4C1D5E6F708192A3B4C5D6E7F8091A2B3C4D",
                          "wxd678efh567hg6787",
                          "500001",
                          0};
    struct job jobs[POOL_MAX_THREADS];
    pthread_t tids[POOL_MAX_THREADS];
    struct wxp_key *key = NULL;
    struct wxp_err err;
    FILE *f = NULL;
    long started = 0;
    int rc = parse_args(argc, argv, &o);

    if (rc != 0) {
        return rc;
    }
    rc = 1;
    if (wxp_key_private_file(o.key_file, &key, &err) != WXP_OK) {
        fprintf(stderr, "wxp-bench-pool: %s\n", err.msg);
        return 1;
    }
    o.timestamp = (int64_t)time(NULL);
    if (o.threads > o.count) {
        o.threads = o.count;
    }
    for (long t = 0; t < o.threads; t++) {
        struct job *j = &jobs[t];
        memset(j, 0, sizeof *j);
        j->o = &o;
        j->key = key;
        j->first = o.count * t / o.threads;
        j->n = o.count * (t + 1) / o.threads - j->first;
        wxp_buf_init(&j->lines, (size_t)j->n * LINE_MAX_BYTES);
        if (pthread_create(&tids[t], NULL, run_job, j) != 0) {
            fprintf(stderr, "wxp-bench-pool: cannot start a thread\n");
            break;
        }
        started++;
    }
    for (long t = 0; t < started; t++) {
        pthread_join(tids[t], NULL);
    }
    if (started != o.threads) {
        goto out;
    }
    f = fopen(o.out, "w");
    if (f == NULL) {
        fprintf(stderr, "wxp-bench-pool: cannot write %s: %s\n", o.out, strerror(errno));
        goto out;
    }
    for (long t = 0; t < o.threads; t++) {
        if (jobs[t].rc != WXP_OK) {
            fprintf(stderr, "wxp-bench-pool: %s\n", jobs[t].err.msg);
            goto out;
        }
        if (fwrite(jobs[t].lines.ptr, 1, jobs[t].lines.len, f) != jobs[t].lines.len) {
            fprintf(stderr, "wxp-bench-pool: write %s failed\n", o.out);
            goto out;
        }
    }
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "wxp-bench-pool: write %s failed\n", o.out);
        goto out;
    }
    f = NULL;
    printf("wxp-bench-pool: %ld requests, timestamp %" PRId64 ", %s\n", o.count, o.timestamp,
           o.out);
    rc = 0;
out:
    if (f != NULL) {
        fclose(f);
    }
    for (long t = 0; t < started; t++) {
        wxp_buf_free(&jobs[t].lines);
    }
    wxp_key_free(key);
    return rc;
}
