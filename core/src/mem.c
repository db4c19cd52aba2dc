/* SPDX-License-Identifier: MIT */
/* mem.c: the allocator indirection (see mem.h for why it is the core's one global). */
#include "wxp/mem.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static struct wxp_allocator alloc = {malloc, realloc, free};

void wxp_mem_set_allocator(const struct wxp_allocator *a)
{
    struct wxp_allocator def = {malloc, realloc, free};
    alloc = a ? *a : def;
    /* cJSON calls realloc only when both hooks are the libc ones; giving it malloc/free is
     * enough for it to route every allocation through us. */
    cJSON_Hooks hooks = {alloc.malloc_fn, alloc.free_fn};
    cJSON_InitHooks(&hooks);
}

void *wxp_malloc(size_t n)
{
    return alloc.malloc_fn(n ? n : 1);
}

void *wxp_realloc(void *p, size_t n)
{
    return alloc.realloc_fn(p, n ? n : 1);
}

void wxp_free(void *p)
{
    if (p != NULL) {
        alloc.free_fn(p);
    }
}

char *wxp_strndup(const char *s, size_t n)
{
    char *d = wxp_malloc(n + 1);
    if (d == NULL) {
        return NULL;
    }
    if (n > 0) {
        memcpy(d, s, n);
    }
    d[n] = '\0';
    return d;
}
