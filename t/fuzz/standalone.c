/*
 * standalone.c -- run a libFuzzer target over files, without libFuzzer.
 *
 * Link it with one fuzz target to get a regression test that any compiler
 * can build:  ./fuzz_request t/fuzz/corpus/request crash-1234 ...
 * Each argument is a file, or a directory whose regular files are all run.
 * Exits 0 when every input ran (a failed invariant aborts), 1 on I/O errors.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0, got;
    int rc = 0;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    for (;;) {
        if (n == cap) {
            uint8_t *nb;

            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                perror("realloc");
                rc = -1;
                break;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                perror(path);
                rc = -1;
            }
            break;
        }
    }
    fclose(f);
    if (rc == 0) {
        /* an exact-size copy, so ASan sees reads past the input */
        uint8_t *exact = malloc(n ? n : 1);

        if (exact == NULL) {
            rc = -1;
        } else {
            memcpy(exact, buf, n);
            LLVMFuzzerTestOneInput(exact, n);
            free(exact);
            (*count)++;
        }
    }
    free(buf);
    return rc;
}

static int
run_path(const char *path, size_t *count)
{
    struct stat st;
    DIR *dir;
    struct dirent *e;
    int rc = 0;

    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return run_file(path, count);
    }
    dir = opendir(path);
    if (dir == NULL) {
        perror(path);
        return -1;
    }
    while ((e = readdir(dir)) != NULL) {
        char sub[4096];
        int n = snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);

        if (e->d_name[0] == '.' || n < 0 || (size_t) n >= sizeof(sub)) {
            continue;
        }
        if (stat(sub, &st) == 0 && S_ISREG(st.st_mode) && run_file(sub, count) != 0) {
            rc = -1;
        }
    }
    closedir(dir);
    return rc;
}

int
main(int argc, char **argv)
{
    size_t count = 0;
    int i, rc = 0;

    for (i = 1; i < argc; i++) {
        if (run_path(argv[i], &count) != 0) {
            rc = 1;
        }
    }
    printf("%s: ran %zu inputs\n", argv[0], count);
    return rc;
}
