/* The first touch of a 1 GiB segment, with and without RSHM_PREFAULT.
 *
 * Each repetition creates a private 1 GiB segment with rshm_open (RSHM_CREATE
 * | RSHM_REMOVE_ON_CLOSE, plus RSHM_PREFAULT or not) and times, with
 * CLOCK_MONOTONIC:
 *
 * - open: rshm_open itself (shmget, shmat and, with RSHM_PREFAULT, the
 *   population of every page);
 * - first pass: one byte written in each 4 KiB page, in order (262144
 *   writes): the page faults that the open did not take;
 * - total: the two together, what a program pays before its segment runs at
 *   full speed;
 *
 * then closes it (which removes it). The modes alternate (plain, prefault,
 * plain, ...) so that a drift of the machine weighs on both. Printed: the
 * median and min-max of REPS repetitions, in ms. With huge pages
 * (RSHM_HUGE_PAGES, SHM_HUGETLB) the same two modes run only where the machine
 * has at least 1 GiB of huge pages free; otherwise one line says why not.
 *
 * Writes the rows (mode,phase,median_ms,min_ms,max_ms,reps) to argv[1]. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "rshm.h"

#define GIB (1ul << 30)
#define PAGE 4096ul
#define REPS 5

struct prefault_mode {
    const char *name;
    unsigned flags;
};

/* A field of /proc/meminfo, in kB (-1: missing). */
static long meminfo_kb(const char *field) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long value = -1;
    size_t n = strlen(field);
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            value = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return value;
}

static long read_long(const char *path) {
    FILE *f = fopen(path, "r");
    long value = -1;
    if (!f) return -1;
    if (fscanf(f, "%ld", &value) != 1) value = -1;
    fclose(f);
    return value;
}

/* One repetition: ms to open, ms for the first pass. 0 on success. */
static int once(unsigned flags, double *open_ms, double *pass_ms) {
    rshm_options opts;
    memset(&opts, 0, sizeof opts);
    opts.size = GIB;
    opts.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE | flags;
    rshm_segment *seg;
    double t0 = bench_now_ns();
    if (rshm_open(&opts, &seg) != RSHM_OK) {
        fprintf(stderr, "rshm_open: %s\n", rshm_last_error());
        return -1;
    }
    double t1 = bench_now_ns();
    volatile char *data = rshm_data(seg);
    for (size_t off = 0; off < GIB; off += PAGE) data[off] = 1;
    double t2 = bench_now_ns();
    rshm_close(seg);
    *open_ms = (t1 - t0) / 1e6;
    *pass_ms = (t2 - t1) / 1e6;
    return 0;
}

/* "median (min-max)" of n values into out; the CSV row too. */
static void cell(FILE *csv, const char *mode, const char *phase, const double *v, int n, char *out,
                 size_t size) {
    double sorted[REPS];
    memcpy(sorted, v, n * sizeof *v);
    double median = bench_median(sorted, n);
    if (sorted[n - 1] < 10)
        snprintf(out, size, "%.2f (%.2f-%.2f)", median, sorted[0], sorted[n - 1]);
    else
        snprintf(out, size, "%.1f (%.1f-%.1f)", median, sorted[0], sorted[n - 1]);
    if (csv) fprintf(csv, "%s,%s,%.3f,%.3f,%.3f,%d\n", mode, phase, median, sorted[0], sorted[n - 1], n);
}

/* Runs the two modes REPS times each, alternating, and prints a row for each. */
static int run(FILE *csv, const struct prefault_mode *modes) {
    double open_ms[2][REPS], pass_ms[2][REPS], total_ms[2][REPS];
    for (int rep = 0; rep < REPS; rep++)
        for (int m = 0; m < 2; m++) {
            if (once(modes[m].flags, &open_ms[m][rep], &pass_ms[m][rep]) != 0) return -1;
            total_ms[m][rep] = open_ms[m][rep] + pass_ms[m][rep];
        }
    for (int m = 0; m < 2; m++) {
        char open[64], pass[64], total[64];
        cell(csv, modes[m].name, "open", open_ms[m], REPS, open, sizeof open);
        cell(csv, modes[m].name, "first pass", pass_ms[m], REPS, pass, sizeof pass);
        cell(csv, modes[m].name, "total", total_ms[m], REPS, total, sizeof total);
        printf("%-28s %22s %22s %22s\n", modes[m].name, open, pass, total);
    }
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (unshare(CLONE_NEWIPC) != 0) perror("unshare (continuing in this namespace)");
    FILE *csv = argc > 1 ? fopen(argv[1], "w") : NULL;
    if (csv) fputs("mode,phase,median_ms,min_ms,max_ms,reps\n", csv);
    long available_kb = meminfo_kb("MemAvailable");
    if (available_kb >= 0 && available_kb < 2 * (long)(GIB >> 10)) {
        printf("skipped: %ld MiB of memory available, fewer than the 2 GiB this needs\n",
               available_kb >> 10);
        if (csv) fclose(csv);
        return 0;
    }
    bench_load load = bench_load_now();
    printf("1 GiB segment, ms: rshm_open, then a first pass writing one byte per 4 KiB page; "
           "median (min-max) of %d repetitions, the modes alternating\n", REPS);
    printf("%-28s %22s %22s %22s\n", "segment", "open", "first pass", "total");
    const struct prefault_mode small[2] = {{"4 KiB pages", 0}, {"4 KiB pages + RSHM_PREFAULT", RSHM_PREFAULT}};
    int failed = run(csv, small) != 0;

    long nr = read_long("/proc/sys/vm/nr_hugepages");
    long free_pages = meminfo_kb("HugePages_Free"), size_kb = meminfo_kb("Hugepagesize");
    if (nr <= 0)
        printf("huge pages: skipped: /proc/sys/vm/nr_hugepages is %ld, no huge pages are reserved "
               "(as root, echo 600 > /proc/sys/vm/nr_hugepages reserves 1.2 GiB of 2 MiB pages)\n", nr);
    else if (free_pages < 0 || size_kb <= 0 || free_pages * size_kb < (long)(GIB >> 10))
        printf("huge pages: skipped: %ld of %ld huge pages of %ld kB free, fewer than 1 GiB\n",
               free_pages, nr, size_kb);
    else {
        const struct prefault_mode huge[2] = {{"huge pages", RSHM_HUGE_PAGES},
                                 {"huge pages + RSHM_PREFAULT", RSHM_HUGE_PAGES | RSHM_PREFAULT}};
        failed |= run(csv, huge) != 0;
    }
    if (csv) fclose(csv);
    bench_load_note(load);
    int left = bench_ipc_objects_left();
    if (left) { fprintf(stderr, "%d SysV objects left in the namespace\n", left); return 1; }
    return failed;
}
