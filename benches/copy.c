/* rshm_write/rshm_read against memcpy into and out of the same segment, from
 * 64 B to 64 MiB, side by side by the bracketed method of method.h: per size
 * and direction, rounds of a memcpy batch, an rshm batch and a memcpy batch;
 * the ratio memcpy time / rshm time of each round (1.00: as fast as memcpy);
 * the median of the rounds with its spread. Prints a table and writes the CSV
 * rows (method.h's columns, section "copy", case "write" or "read") to argv[1]. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "rshm.h"

#define MAX (64u << 20)

#define BARRIER() __asm__ volatile("" ::: "memory")

typedef struct {
    rshm_segment *seg;
    char *data, *buf;
    size_t size;
} copy_t;

static void memcpy_write(const void *arg, long iterations) {
    const copy_t *c = arg;
    for (long i = 0; i < iterations; i++) {
        memcpy(c->data, c->buf, c->size);
        BARRIER();
    }
}

static void memcpy_read(const void *arg, long iterations) {
    const copy_t *c = arg;
    for (long i = 0; i < iterations; i++) {
        memcpy(c->buf, c->data, c->size);
        BARRIER();
    }
}

static void rshm_write_batch(const void *arg, long iterations) {
    const copy_t *c = arg;
    for (long i = 0; i < iterations; i++) {
        if (rshm_write(c->seg, 0, c->buf, c->size) != RSHM_OK) abort();
        BARRIER();
    }
}

static void rshm_read_batch(const void *arg, long iterations) {
    const copy_t *c = arg;
    for (long i = 0; i < iterations; i++) {
        if (rshm_read(c->seg, 0, c->buf, c->size) != RSHM_OK) abort();
        BARRIER();
    }
}

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
    if (csv) fputs(BENCH_CSV_HEADER, csv);
    bench_load load = bench_load_now();
    printf("ns per copy; ratio = mean of the memcpy measurements before and after / rshm, per round "
           "(1.00: as fast as memcpy); median of %d rounds\n", BENCH_ROUNDS);
    bench_table_header("op", "memcpy ns", "rshm ns");
    for (size_t size = 64; size <= MAX; size *= 4) {
        copy_t c = {seg, data, buf, size};
        bench_result w = bench_run((bench_side){memcpy_write, &c}, (bench_side){rshm_write_batch, &c}, 1);
        bench_report(csv, "copy", "write", size, "memcpy", &w);
        bench_result r = bench_run((bench_side){memcpy_read, &c}, (bench_side){rshm_read_batch, &c}, 1);
        bench_report(csv, "copy", "read", size, "memcpy", &r);
    }
    if (csv) fclose(csv);
    free(block);
    rshm_close(seg);
    bench_clock_note();
    bench_load_note(load);
    int left = bench_ipc_objects_left();
    if (left) { fprintf(stderr, "%d SysV objects left in the namespace\n", left); return 1; }
    return 0;
}
