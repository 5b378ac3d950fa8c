/*
 * check.h -- the fuzz targets' invariant check: a failed one names
 * itself on stderr and aborts, which libFuzzer (and the corpus replay in
 * make check) reports as a crash with the input that caused it.
 */
#ifndef PC_FUZZ_CHECK_H
#define PC_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "invariant failed: %s at %s:%d\n", #c, __FILE__, __LINE__);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif /* PC_FUZZ_CHECK_H */
