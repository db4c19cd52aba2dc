/* SPDX-License-Identifier: MIT */
/* mem.h: every allocation in the core (and, through cJSON_InitHooks, in cJSON) goes through these,
 * so a test can make the N-th allocation fail. */
#ifndef WXP_MEM_H
#define WXP_MEM_H

#include <stddef.h>

void *wxp_malloc(size_t n);
void *wxp_realloc(void *p, size_t n);
void wxp_free(void *p);
/* Copies n bytes and adds a NUL; NULL on allocation failure. */
char *wxp_strndup(const char *s, size_t n);

/* Replaces the allocator. The one piece of process-wide state in the core, set once at start-up
 * (by tests, before any other call) like cJSON_InitHooks; NULL restores malloc/realloc/free.
 * Also installs the same functions into cJSON. */
struct wxp_allocator {
    void *(*malloc_fn)(size_t);
    void *(*realloc_fn)(void *, size_t);
    void (*free_fn)(void *);
};
void wxp_mem_set_allocator(const struct wxp_allocator *a);

#endif
