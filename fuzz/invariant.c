/* SPDX-License-Identifier: MIT */
/* invariant.c: the invariant check shared by the targets. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

void fuzz_check(int cond, const char *what, const char *file, int line)
{
    if (!cond) {
        fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
        abort();
    }
}
