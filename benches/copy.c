/* rshm_write/rshm_read against memcpy into and out of the same segment, from
 * 64 B to 64 MiB, side by side (alternating rounds, median of 11). Prints a
 * table and writes CSV rows "copy,<op>,<bytes>,<memcpy ns>,<rshm ns>,<ratio>"
 * to argv[1], where ratio = memcpy time / rshm time (1.00: as fast as memcpy). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rshm.h"

#define ROUNDS 11
#define MAX (64u << 20)

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define BARRIER() __asm__ volatile("" ::: "memory")

int main(int argc, char **argv) {
    if (unshare(CLONE_NEWIPC) != 0) perror("unshare (continuing in this namespace)");
    FILE *csv = argc > 1 ? fopen(argv[1], "w") : NULL;
    rshm_options opts;
    memset(&opts, 0, sizeof opts);
    opts.size = MAX;
    opts.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    rshm_segment *seg;
    if (rshm_open(&opts, &seg) != RSHM_OK) { fprintf(stderr, "%s\n", rshm_last_error()); return 1; }
    char *data = rshm_data(seg);
    /* Offset from a page boundary: source and destination at the same offset in
     * their pages make every load alias the last store (4K aliasing), for both sides. */
    char *block = malloc(MAX + 4096);
    char *buf = block + 2048 + 64;
    memset(buf, 1, MAX);
    memset(data, 2, MAX); /* fault every page in first */
    printf("%-6s %10s %12s %12s %8s\n", "op", "bytes", "memcpy ns", "rshm ns", "ratio");
    for (size_t size = 64; size <= MAX; size *= 4) {
        long iterations = (long)((256u << 20) / size);
        if (iterations < 8) iterations = 8;
        if (iterations > 2000000) iterations = 2000000;
        for (int op = 0; op < 2; op++) {
            double t[2][ROUNDS];
            for (int r = 0; r < ROUNDS; r++) {
                for (int k = 0; k < 2; k++) {
                    int which = (r & 1) ? 1 - k : k;
                    double start = now_ns();
                    for (long i = 0; i < iterations; i++) {
                        if (op == 0) {
                            if (which == 0) memcpy(data, buf, size);
                            else rshm_write(seg, 0, buf, size);
                        } else {
                            if (which == 0) memcpy(buf, data, size);
                            else rshm_read(seg, 0, buf, size);
                        }
                        BARRIER();
                    }
                    t[which][r] = (now_ns() - start) / iterations;
                }
            }
            qsort(t[0], ROUNDS, sizeof(double), cmp);
            qsort(t[1], ROUNDS, sizeof(double), cmp);
            double m = t[0][ROUNDS / 2], s = t[1][ROUNDS / 2];
            const char *name = op == 0 ? "write" : "read";
            printf("%-6s %10zu %12.1f %12.1f %8.3f\n", name, size, m, s, m / s);
            if (csv) fprintf(csv, "copy,%s,%zu,%.2f,%.2f,%.4f\n", name, size, m, s, m / s);
        }
    }
    if (csv) fclose(csv);
    free(block);
    rshm_close(seg);
    return 0;
}
