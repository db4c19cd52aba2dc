/* SPDX-License-Identifier: MIT */
/* replay.c: a plain main that feeds every file of the given directories (or the given files)
 * to one target's LLVMFuzzerTestOneInput, after cJSON fuzzing/fuzz_main.c. Built with the normal
 * compiler as replay_<target>; a crash or sanitizer report fails the ctest (label replay). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Larger than any committed seed; libFuzzer's default -max_len is 4096. */
#define REPLAY_FILE_MAX ((size_t)16 * 1024 * 1024)

/* Reads a whole file into an exactly sized buffer, so that ASan sees a read past its end. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *buf;
    size_t n;

    if (f == NULL || fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
        (size_t)st.st_size > REPLAY_FILE_MAX) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    n = (size_t)st.st_size;
    buf = malloc(n ? n : 1);
    if (buf == NULL || fread(buf, 1, n, f) != n) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of `dir`, in name order so that runs are reproducible. */
static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p;
        if (e->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            char **nn = realloc(names, (cap ? cap * 2 : 64) * sizeof *names);
            if (nn == NULL) {
                rc = -1;
                break;
            }
            names = nn;
            cap = cap ? cap * 2 : 64;
        }
        p = malloc(len);
        if (p == NULL) {
            rc = -1;
            break;
        }
        snprintf(p, len, "%s/%s", dir, e->d_name);
        names[n++] = p;
    }
    closedir(d);
    if (n > 0) {
        qsort(names, n, sizeof *names, cmp_names);
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            rc = run_file(names[i]);
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int rc;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = run_dir(argv[i], &count);
        } else {
            rc = run_file(argv[i]);
            count++;
        }
        if (rc != 0) {
            return 1;
        }
    }
    if (count == 0) {
        fprintf(stderr, "replay: no inputs (a corpus must never be empty)\n");
        return 1;
    }
    printf("replay: %zu inputs ok\n", count);
    return 0;
}
