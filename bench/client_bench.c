/* SPDX-License-Identifier: MIT */
/* client_bench.c: wxp-bench-client measures libwxpay's sequential terminate calls over one
 * kept-alive connection (calls/s for --seconds) against the RSA-2048 signing rate measured in
 * the same process (wxp_sign in a loop, before and after the calls): each call signs once, so
 * 1 / (sign time) is what a client on one core cannot beat. Point it at a wxpay-mock started with
 * --sign-cache, so the server's answer costs a verify rather than a second sign. Every call must
 * be a verified 204 (unique openids). TEST ONLY keys.
 * Two rates are printed: per wall-clock second (the loop also waits for the server and the
 * loopback), and per second of this process's own CPU time (CLOCK_PROCESS_CPUTIME_ID; the client
 * is one thread), which is the "calls/s on one core": what the client costs, whatever the
 * server takes. The signing rate is measured the same two ways.
 * T7 (docs/performance.md) compares the client's CPU time per verified call with one RSA sign plus
 * one verify, both timed here in CPU time too: the sign with merchant A's key (what a call signs),
 * the verify of a 204's signing string with the platform certificate (what a call verifies). */
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

/* Signs a terminate-sized signing string for `seconds`; returns signs per second, 0 on error,
 * and signs per CPU second in *per_cpu. */
static double sign_rate(const struct wxp_key *key, double seconds, double *per_cpu)
{
    static const char MSG[] =
        "POST\n/v3/payscore/permissions/openid/oBenchClient000000000/terminate\n1700000000\n"
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n"
        "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\",\"reason\":\"bench\"}\n";
    char sig[WXP_SIG_B64_MAX];
    size_t siglen;
    double start = now_s(), t = start, cpu0 = cpu_s();
    long n = 0;

    while (t - start < seconds) {
        if (wxp_sign(key, MSG, sizeof MSG - 1, sig, sizeof sig, &siglen, NULL) != WXP_OK) {
            return 0;
        }
        n++;
        t = now_s();
    }
    *per_cpu = (double)n / (cpu_s() - cpu0);
    return (double)n / (t - start);
}

/* Verifies a 204's signing string (signed once with the platform key) with the platform
 * certificate for `seconds`; returns CPU microseconds per verify, 0 on error. */
static double verify_cpu_us(double seconds)
{
    static const char MSG[] = "1700000000\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n\n";
    struct wxp_key *priv = NULL, *cert = NULL;
    char sig[WXP_SIG_B64_MAX];
    size_t siglen;
    double start, cpu0, us = 0;
    long n = 0;

    if (wxp_key_private_file(PLATFORM_KEY, &priv, NULL) != WXP_OK ||
        wxp_key_cert_file(PLATFORM_CERT, &cert, NULL) != WXP_OK ||
        wxp_sign(priv, MSG, sizeof MSG - 1, sig, sizeof sig, &siglen, NULL) != WXP_OK) {
        goto out;
    }
    start = now_s();
    cpu0 = cpu_s();
    while (now_s() - start < seconds) {
        if (wxp_verify(cert, MSG, sizeof MSG - 1, sig, siglen, NULL) != WXP_OK) {
            goto out;
        }
        n++;
    }
    us = (cpu_s() - cpu0) * 1e6 / (double)n;
out:
    wxp_key_free(priv);
    wxp_key_free(cert);
    return us;
}

int main(int argc, char **argv)
{
    const char *base_url = NULL;
    double seconds = 5;
    const char *certs[] = {PLATFORM_CERT, NULL};
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;
    struct wxp_key *key = NULL;
    struct wxp_err err;
    double before, after, start, elapsed, cpu_before, cpu_after, cpu0, cpu_used, ver_us, call_us;
    double sign_us;
    long ok = 0, failed = 0;
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
    if (wxp_key_private_file(MERCHANT_KEY, &key, &err) != WXP_OK) {
        fprintf(stderr, "wxp-bench-client: %s\n", err.msg);
        return 1;
    }
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

    before = sign_rate(key, seconds / 2, &cpu_before);
    start = now_s();
    cpu0 = cpu_s();
    elapsed = 0;
    while (elapsed < seconds) {
        char openid[64];
        struct wxpay_terminate t = {openid, "500001", "wxd678efh567hg6787", "bench"};
        snprintf(openid, sizeof openid, "oBenchCli%ld_%ld", (long)getpid(), ok + failed);
        memset(&r, 0, sizeof r);
        if (wxpay_payscore_terminate(c, &t, &r) == WXPAY_OK) {
            ok++;
        } else {
            if (failed == 0) {
                fprintf(stderr, "wxp-bench-client: call failed: %s\n", r.error);
            }
            failed++;
        }
        wxpay_result_free(&r);
        elapsed = now_s() - start;
    }
    cpu_used = cpu_s() - cpu0;
    after = sign_rate(key, seconds / 2, &cpu_after);
    ver_us = verify_cpu_us(seconds / 4);
    if (before <= 0 || after <= 0 || ver_us <= 0 || ok == 0) {
        fprintf(stderr, "wxp-bench-client: signing failed\n");
        goto out;
    }
    call_us = cpu_used * 1e6 / (double)ok;
    sign_us = 2e6 / (cpu_before + cpu_after);
    printf("call_cpu_us=%.1f sign_cpu_us=%.1f verify_cpu_us=%.1f t7_ratio=%.3f ", call_us, sign_us,
           ver_us, call_us / (sign_us + ver_us));
    printf("calls_per_s=%.1f sign_per_s=%.1f sign_before=%.1f sign_after=%.1f ratio=%.3f "
           "calls_per_cpu_s=%.1f sign_per_cpu_s=%.1f cpu_ratio=%.3f cpu_share=%.2f calls=%ld "
           "failed=%ld\n",
           (double)ok / elapsed, (before + after) / 2, before, after,
           ((double)ok / elapsed) / ((before + after) / 2), (double)ok / cpu_used,
           (cpu_before + cpu_after) / 2, ((double)ok / cpu_used) / ((cpu_before + cpu_after) / 2),
           cpu_used / elapsed, ok, failed);
    rc = failed == 0 ? 0 : 1;
out:
    wxpay_client_free(c);
    wxp_key_free(key);
    return rc;
}
