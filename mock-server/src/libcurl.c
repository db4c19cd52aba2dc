/* SPDX-License-Identifier: MIT */
/* libcurl.c: libcurl loaded by dlopen on the first notification (libcurl.h says why). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "libcurl.h"

/* libcurl's soname has been libcurl.so.4 since 7.16.0 (2006), and the headers the mock is built
 * against (7.85 or later: CURLOPT_PROTOCOLS_STR) are of that ABI. */
#ifndef MOCK_LIBCURL_SONAME
#define MOCK_LIBCURL_SONAME "libcurl.so.4"
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *lib;
static struct mock_curl fns;
static const struct mock_curl *table; /* &fns once loaded and initialised */
static char failure[256];

/* dlsym's void * to a function pointer: POSIX guarantees the conversion (dlsym's rationale). */
#define LOAD(field, name)                                                                          \
    do {                                                                                           \
        void *p_ = dlsym(lib, name);                                                               \
        if (p_ == NULL) {                                                                          \
            snprintf(failure, sizeof failure, "%s has no %s", MOCK_LIBCURL_SONAME, name);          \
            goto fail;                                                                             \
        }                                                                                          \
        memcpy(&fns.field, &p_, sizeof fns.field);                                                 \
    } while (0)

static void load(void)
{
    const char *e;

    lib = dlopen(MOCK_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        e = dlerror();
        snprintf(failure, sizeof failure, "cannot load libcurl: %.200s",
                 e != NULL ? e : MOCK_LIBCURL_SONAME);
        return;
    }
    LOAD(easy_init, "curl_easy_init");
    LOAD(easy_cleanup, "curl_easy_cleanup");
    LOAD(easy_reset, "curl_easy_reset");
    LOAD(easy_setopt, "curl_easy_setopt");
    LOAD(easy_perform, "curl_easy_perform");
    LOAD(easy_getinfo, "curl_easy_getinfo");
    LOAD(easy_strerror, "curl_easy_strerror");
    LOAD(slist_append, "curl_slist_append");
    LOAD(slist_free_all, "curl_slist_free_all");
    LOAD(url, "curl_url");
    LOAD(url_cleanup, "curl_url_cleanup");
    LOAD(url_set, "curl_url_set");
    LOAD(url_get, "curl_url_get");
    LOAD(free, "curl_free");
    LOAD(global_init, "curl_global_init");
    LOAD(global_cleanup, "curl_global_cleanup");
    /* rule: curl_global_init is not thread-safe; pthread_once runs it once, before any other
     * use. */
    if (fns.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(failure, sizeof failure, "curl_global_init failed");
        goto fail;
    }
    table = &fns;
    return;
fail:
    dlclose(lib);
    lib = NULL;
}

const struct mock_curl *mock_curl(char *why, size_t cap)
{
    pthread_once(&once, load);
    if (table == NULL && why != NULL && cap > 0) {
        snprintf(why, cap, "%s", failure);
    }
    return table;
}

void mock_curl_unload(void)
{
    if (table == NULL) {
        return;
    }
    fns.global_cleanup();
    table = NULL;
    snprintf(failure, sizeof failure, "libcurl was unloaded at exit");
    dlclose(lib);
    lib = NULL;
}
