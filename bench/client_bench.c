/* SPDX-License-Identifier: MIT */
/* client_bench.c: wxp-bench-client measures libwxpay's sequential terminate calls over one
 * kept-alive connection (calls/s for --seconds) against the RSA-2048 signing rate measured in
 * the same process: each call signs once, so 1 / (sign time) is what a client on one core cannot
 * beat. Point it at a wxpay-mock started with --sign-cache, so the server's answer costs a verify
 * rather than a second sign. Every call must be a verified 204 (unique openids). TEST ONLY keys.
 * The calls, the signs and the verifies run in alternating slices (100, 50 and 25 ms of
 * wall-clock time) until the calls have had --seconds, after one untimed call, sign and verify.
 * Two rates are printed: per wall-clock second (the loop also waits for the server and the
 * loopback), and per second of this process's own CPU time (CLOCK_PROCESS_CPUTIME_ID; the client
 * is one thread), which is the "calls/s on one core": what the client costs, whatever the
 * server takes. The signing rate is measured the same two ways.
 * T7 (docs/performance.md) compares the client's CPU time per verified call with one RSA sign plus
 * one verify, both timed here in CPU time too: the sign with merchant A's key (what a call signs),
 * the verify of a 204's signing string with the platform certificate (what a call verifies). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wxpay/wxpay.h>

#include "wxp/keys.h"
#include "wxp/sign.h"

#define MERCHANT_KEY WXP_FIXTURES_DIR "/keys/test-merchant-a.key.pem"
#define MERCHANT_SERIAL "3B2A4C1D5E6F708192A3B4C5D6E7F8091A2B3C4D"
#define PLATFORM_CERT WXP_FIXTURES_DIR "/certs/test-platform.cert.pem"
#define PLATFORM_KEY WXP_FIXTURES_DIR "/keys/test-platform.key.pem"

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

static double cpu_s(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* The reference operations, one call each: a sign of a terminate-sized signing string with
 * merchant A's key (what a call signs), and a verify of a 204's signing string with the platform
 * certificate (what a call verifies). */
static const char SIGN_MSG[] =
    "POST\n/v3/payscore/permissions/openid/oBenchClient000000000/terminate\n1700000000\n"
    "5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n"
    "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\",\"reason\":\"bench\"}\n";
static const char VERIFY_MSG[] = "1700000000\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n\n";

struct ref {
    const struct wxp_key *key;  /* merchant A */
    const struct wxp_key *cert; /* the platform certificate */
    char sig[WXP_SIG_B64_MAX];  /* VERIFY_MSG signed with the platform key */
    size_t siglen;
};

static bool sign_once(const struct ref *r)
{
    char sig[WXP_SIG_B64_MAX];
    size_t siglen;

    return wxp_sign(r->key, SIGN_MSG, sizeof SIGN_MSG - 1, sig, sizeof sig, &siglen, NULL) ==
           WXP_OK;
}

static bool verify_once(const struct ref *r)
{
    return wxp_verify(r->cert, VERIFY_MSG, sizeof VERIFY_MSG - 1, r->sig, r->siglen, NULL) ==
           WXP_OK;
}

/* What one kind of operation took over the whole run: count, wall-clock and CPU seconds. */
struct tally {
    long n;
    double wall;
    double cpu;
};

static long call_seq;
static long bench_pid; /* read once: getpid() is a system call, and no part of a call */

/* One verified terminate with a unique openid; counts a failure in *failed (the first one is
 * printed). */
static bool call_once(struct wxpay_client *c, long *failed)
{
    char openid[64];
    struct wxpay_terminate t = {openid, "500001", "wxd678efh567hg6787", "bench"};
    struct wxpay_result r;
    bool ok;

    snprintf(openid, sizeof openid, "oBenchCli%ld_%ld", bench_pid, call_seq++);
    memset(&r, 0, sizeof r);
    ok = wxpay_payscore_terminate(c, &t, &r) == WXPAY_OK;
    if (!ok) {
        if (*failed == 0) {
            fprintf(stderr, "wxp-bench-client: call failed: %s\n", r.error);
        }
        (*failed)++;
    }
    wxpay_result_free(&r);
    return ok;
}

enum kind { K_CALL, K_SIGN, K_VERIFY };

/* Runs operations of one kind for `slice` seconds of wall-clock time and adds them to *t.
 * Returns false when a sign or verify failed. */
static bool run_slice(enum kind k, double slice, struct wxpay_client *c, const struct ref *r,
                      struct tally *t, long *failed)
{
    double start = now_s(), cpu0 = cpu_s(), wall;

    do {
        if (k == K_CALL) {
            t->n += call_once(c, failed) ? 1 : 0;
        } else if (k == K_SIGN ? !sign_once(r) : !verify_once(r)) {
            return false;
        } else {
            t->n++;
        }
        wall = now_s() - start;
    } while (wall < slice);
    t->cpu += cpu_s() - cpu0;
    t->wall += wall;
    return true;
}

/* Slices of one round, in seconds of wall-clock time: the calls, then the signs, then the
 * verifies. Rounds alternate until the calls have had --seconds: whatever else runs on the machine
 * weighs on the three alike, which separate loops before and after the calls did not ensure. */
#define SLICE_CALLS 0.100
#define SLICE_SIGNS 0.050
#define SLICE_VERIFIES 0.025

int main(int argc, char **argv)
{
    const char *base_url = NULL;
    double seconds = 5;
    const char *certs[] = {PLATFORM_CERT, NULL};
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;
    struct wxp_key *key = NULL, *cert = NULL, *priv = NULL;
    struct wxp_err err;
    struct ref ref;
    struct tally calls = {0, 0, 0}, signs = {0, 0, 0}, verifies = {0, 0, 0};
    double call_us, sign_us, ver_us, sign_per_s, sign_per_cpu_s;
    long failed = 0, rounds = 0;
    int rc = 1;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--base-url") == 0) {
            base_url = argv[i + 1];
        } else if (strcmp(argv[i], "--seconds") == 0) {
            seconds = strtod(argv[i + 1], NULL);
        }
    }
    if (base_url == NULL || seconds <= 0 || seconds > 3600 || argc % 2 != 1) {
        fprintf(stderr, "usage: wxp-bench-client --base-url URL [--seconds N]\n");
        return 2;
    }
    bench_pid = (long)getpid();
    memset(&ref, 0, sizeof ref);
    if (wxp_key_private_file(MERCHANT_KEY, &key, &err) != WXP_OK ||
        wxp_key_private_file(PLATFORM_KEY, &priv, &err) != WXP_OK ||
        wxp_key_cert_file(PLATFORM_CERT, &cert, &err) != WXP_OK ||
        wxp_sign(priv, VERIFY_MSG, sizeof VERIFY_MSG - 1, ref.sig, sizeof ref.sig, &ref.siglen,
                 &err) != WXP_OK) {
        fprintf(stderr, "wxp-bench-client: %s\n", err.msg);
        goto out;
    }
    ref.key = key;
    ref.cert = cert;
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = base_url;
    cfg.mchid = "1900000109";
    cfg.mch_serial = MERCHANT_SERIAL;
    cfg.mch_key_file = MERCHANT_KEY;
    cfg.platform_cert_files = certs;
    memset(&r, 0, sizeof r);
    if (wxpay_client_new(&cfg, &c, &r) != WXPAY_OK) {
        fprintf(stderr, "wxp-bench-client: %s\n", r.error);
        goto out;
    }
    wxpay_result_free(&r);

    /* Untimed: the connection, each key's first use (OpenSSL's method fetch, the key's Montgomery
     * and blinding values). */
    if (!call_once(c, &failed) || !sign_once(&ref) || !verify_once(&ref)) {
        fprintf(stderr, "wxp-bench-client: the warm-up failed\n");
        goto out;
    }
    while (calls.wall < seconds) {
        if (!run_slice(K_CALL, SLICE_CALLS, c, &ref, &calls, &failed) ||
            !run_slice(K_SIGN, SLICE_SIGNS, c, &ref, &signs, &failed) ||
            !run_slice(K_VERIFY, SLICE_VERIFIES, c, &ref, &verifies, &failed)) {
            fprintf(stderr, "wxp-bench-client: signing failed\n");
            goto out;
        }
        rounds++;
    }
    if (calls.n == 0) {
        fprintf(stderr, "wxp-bench-client: no call succeeded\n");
        goto out;
    }
    call_us = calls.cpu * 1e6 / (double)calls.n;
    sign_us = signs.cpu * 1e6 / (double)signs.n;
    ver_us = verifies.cpu * 1e6 / (double)verifies.n;
    sign_per_s = (double)signs.n / signs.wall;
    sign_per_cpu_s = (double)signs.n / signs.cpu;
    printf("call_cpu_us=%.1f sign_cpu_us=%.1f verify_cpu_us=%.1f t7_ratio=%.3f ", call_us, sign_us,
           ver_us, call_us / (sign_us + ver_us));
    printf("calls_per_s=%.1f sign_per_s=%.1f ratio=%.3f calls_per_cpu_s=%.1f sign_per_cpu_s=%.1f "
           "cpu_ratio=%.3f cpu_share=%.2f calls=%ld failed=%ld rounds=%ld\n",
           (double)calls.n / calls.wall, sign_per_s, ((double)calls.n / calls.wall) / sign_per_s,
           (double)calls.n / calls.cpu, sign_per_cpu_s,
           ((double)calls.n / calls.cpu) / sign_per_cpu_s, calls.cpu / calls.wall, calls.n, failed,
           rounds);
    rc = failed == 0 ? 0 : 1;
out:
    wxpay_client_free(c);
    wxp_key_free(key);
    wxp_key_free(priv);
    wxp_key_free(cert);
    return rc;
}
