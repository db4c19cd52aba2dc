/* SPDX-License-Identifier: MIT */
/* libcurl.h: the libcurl functions the notification sender uses, loaded when the first
 * notification is sent rather than at start. libcurl and the 20 libraries it pulls in (Kerberos,
 * LDAP, SSH, HTTP/2, ...) are ≈ 2.4 MiB of mapped pages and a twentieth of the start-up that a mock
 * which never notifies does not need (docs/performance.md#what-bounds-each-figure). */
#ifndef MOCK_LIBCURL_H
#define MOCK_LIBCURL_H

#include <stddef.h>

#include <curl/curl.h>

struct mock_curl {
    CURLcode (*global_init)(long flags); /* called once, by the loader */
    void (*global_cleanup)(void);        /* called by mock_curl_unload */
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *c);
    void (*easy_reset)(CURL *c);
    CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode cc);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
    CURLU *(*url)(void);
    void (*url_cleanup)(CURLU *u);
    CURLUcode (*url_set)(CURLU *u, CURLUPart part, const char *s, unsigned int flags);
    CURLUcode (*url_get)(const CURLU *u, CURLUPart part, char **s, unsigned int flags);
    void (*free)(void *p);
};

/* libcurl, loaded and initialised (curl_global_init) on the first call, from any thread; the same
 * table afterwards. NULL when it cannot be loaded, with the reason in why[0..cap). */
const struct mock_curl *mock_curl(char *why, size_t cap);
/* curl_global_cleanup and unload, when it was loaded; at exit, with no other thread using it. */
void mock_curl_unload(void);

#endif
