/* Checked copies against memcpy into and out of the same segment, from 64 B
 * to 64 MiB, side by side by the bracketed method of method.h: per size and
 * direction, rounds of a memcpy batch, an rshm batch and a memcpy batch; the
 * ratio memcpy time / rshm time of each round (1.00: as fast as memcpy); the
 * median of the rounds with its spread. Two checked copies each way:
 *
 * - rshm_write / rshm_read: the out-of-line calls into librshm.so;
 * - rshm_view_write / rshm_view_read: the inline path of rshm_inline.h over a
 *   view that rshm_get_view filled once (the same checks, then memmove).
 *
 * Every copy, memcpy's and rshm's alike, is followed by an escape of both
 * buffers (an empty asm that takes their addresses and clobbers memory), so
 * the compiler must perform it and cannot merge or drop copies across
 * iterations. Prints a table and writes the CSV rows (method.h's columns,
 * section "copy", case "write", "read", "view write" or "view read") to argv[1]. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "rshm.h"
#include "rshm_inline.h"

#define MAX (64u << 20)

/* The copy's bytes escape: the compiler must assume the asm reads and writes them. */
#define ESCAPE(c) __asm__ volatile("" : : "r"((c)->data), "r"((c)->buf) : "memory")

typedef struct {
    rshm_segment *seg;
    rshm_view view;
    char *data, *buf;
    size_t size;
} copy_t;

static void memcpy_write(const void *arg, long iterations) {
    const copy_t *c = arg;
    for (long i = 0; i < iterations; i++) {
        memcpy(c->data, c->buf, c->size);
        ESCAPE(c);
    }
}

static void memcpy_read(const void *arg, long iterations) {
    const copy_t *c = arg;
    for (long i = 0; i < iterations; i++) {
        memcpy(c->buf, c->data, c->size);
        ESCAPE(c);
    }
}

static void rshm_write_batch(const void *arg, long iterations) {
    const copy_t *c = arg;
    for (long i = 0; i < iterations; i++) {
        if (rshm_write(c->seg, 0, c->buf, c->size) != RSHM_OK) abort();
        ESCAPE(c);
    }
}

static void rshm_read_batch(const void *arg, long iterations) {
    const copy_t *c = arg;
    for (long i = 0; i < iterations; i++) {
        if (rshm_read(c->seg, 0, c->buf, c->size) != RSHM_OK) abort();
        ESCAPE(c);
    }
}

static void view_write_batch(const void *arg, long iterations) {
    const copy_t *c = arg;
    for (long i = 0; i < iterations; i++) {
        if (rshm_view_write(&c->view, 0, c->buf, c->size) != RSHM_OK) abort();
        ESCAPE(c);
    }
}

static void view_read_batch(const void *arg, long iterations) {
    const copy_t *c = arg;
    for (long i = 0; i < iterations; i++) {
        if (rshm_view_read(&c->view, 0, c->buf, c->size) != RSHM_OK) abort();
        ESCAPE(c);
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
    rshm_view view;
    if (rshm_get_view(seg, &view) != RSHM_OK) { fprintf(stderr, "%s\n", rshm_last_error()); return 1; }
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
        copy_t c = {seg, view, data, buf, size};
        bench_result w = bench_run((bench_side){memcpy_write, &c}, (bench_side){rshm_write_batch, &c}, 1);
        bench_report(csv, "copy", "write", size, "memcpy", &w);
        bench_result r = bench_run((bench_side){memcpy_read, &c}, (bench_side){rshm_read_batch, &c}, 1);
        bench_report(csv, "copy", "read", size, "memcpy", &r);
        bench_result vw = bench_run((bench_side){memcpy_write, &c}, (bench_side){view_write_batch, &c}, 1);
        bench_report(csv, "copy", "view write", size, "memcpy", &vw);
        bench_result vr = bench_run((bench_side){memcpy_read, &c}, (bench_side){view_read_batch, &c}, 1);
        bench_report(csv, "copy", "view read", size, "memcpy", &vr);
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
