/* SPDX-License-Identifier: MIT */
/* server.c: a struct mock_server put together from a configuration and taken apart again, in one
 * place for wxpay-mock, the in-process tests and the fuzz targets. */
#include <string.h>
#include <time.h>

#include "mock.h"

enum wxp_code mock_server_init(struct mock_server *srv, struct mock_config *cfg, size_t nonce_max,
                               bool sign_cache, struct wxp_err *err)
{
    memset(srv, 0, sizeof *srv);
    srv->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    pthread_mutex_init(&srv->seq_lock, NULL);
    srv->state = mock_state_new(&srv->cfg);
    srv->nonces = mock_nonces_new(nonce_max);
    srv->journal = mock_journal_new(srv->cfg.journal_size);
    if (srv->journal != NULL && srv->cfg.journal_bytes != 0) {
        mock_journal_set_budget(srv->journal, srv->cfg.journal_bytes);
    }
    srv->scenarios = mock_scenarios_new();
    srv->sign_cache = sign_cache ? mock_sign_cache_new(srv->cfg.nsigners) : NULL;
    srv->notifier = mock_notifier_new(srv);
    if (!srv->state || !srv->nonces || !srv->journal || !srv->scenarios || !srv->notifier ||
        (sign_cache && !srv->sign_cache)) {
        return wxp_err_set(err, WXP_E_NOMEM, NULL, NULL);
    }
    return WXP_OK;
}

uint64_t mock_server_next_seq(struct mock_server *srv)
{
    uint64_t seq;

    pthread_mutex_lock(&srv->seq_lock);
    seq = ++srv->seq;
    pthread_mutex_unlock(&srv->seq_lock);
    return seq;
}

void mock_server_free(struct mock_server *srv)
{
    mock_notify_stop(srv);
    mock_notifier_free(srv->notifier);
    mock_scenarios_free(srv->scenarios);
    mock_sign_cache_free(srv->sign_cache);
    mock_journal_free(srv->journal);
    mock_nonces_free(srv->nonces);
    mock_state_free(srv->state);
    mock_config_free(&srv->cfg);
    pthread_mutex_destroy(&srv->seq_lock);
    memset(srv, 0, sizeof *srv);
}

int64_t mock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
