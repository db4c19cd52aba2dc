/* SPDX-License-Identifier: MIT */
/* notify.c: the user-side events of the Pay Score permissions lifecycle. Every user-side
 * transition (the admin API's user-accept and user-close) passes through
 * mock_notify_user_event: this is where the PAYSCORE.USER_OPEN_SERVICE and
 * PAYSCORE.USER_CLOSE_SERVICE callbacks to the merchant's notify_url will be sent from. Today it
 * only counts them. */
#include "mock.h"

void mock_notify_user_event(struct mock_server *srv, enum mock_user_event ev,
                            const struct mock_record *r)
{
    (void)r;
    if ((size_t)ev >= MOCK_USER_EVENTS) {
        return;
    }
    pthread_mutex_lock(&srv->seq_lock);
    srv->user_events[ev]++;
    pthread_mutex_unlock(&srv->seq_lock);
}
