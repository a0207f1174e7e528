/* The bracketed method of `make bench` for the C benchmarks (calls.c, copy.c);
 * docs/benchmarks.md explains it, bench/src/method.rs is its Rust twin.
 *
 * A subject (rshm) is measured against a reference (glibc, memcpy) in rounds
 * of three measurements: reference, subject, reference. The reference is the
 * bracket: the per-round ratio compares the subject with the mean of the two
 * reference measurements around it, so whatever the machine did during the
 * round (a host placement, a frequency step) weighs on both sides alike.
 *
 * - Batches: a measurement is the median of BENCH_BATCHES batches back to
 *   back (one preempted batch does not move it); one clock pair per batch, and
 *   each batch lasts about BENCH_BATCH_NS (calibrated per case), so the
 *   30-50 ns of clock_gettime is a few thousandths of a percent of a batch
 *   (bench_clock_note prints the worst case of the run).
 * - Re-runs: if a round's two reference measurements differ by more than
 *   BENCH_MARGIN, the round runs again, at most BENCH_MAX_RERUNS times; a round
 *   that never settles is kept and counted as unsettled.
 * - Result: the median of BENCH_ROUNDS per-round ratios with their min-max and
 *   quartiles, and the median ns per call of each side.
 *
 * Header-only: every function is static, and may go unused (prefault.c uses
 * the clock, the median and the load and leak checks only). */
#ifndef RSHM_BENCH_METHOD_H
#define RSHM_BENCH_METHOD_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BENCH_ROUNDS 21
#define BENCH_BATCHES 3
#define BENCH_BATCH_NS 1e6
#define BENCH_MARGIN 0.10
#define BENCH_MAX_RERUNS 3

#if defined(__GNUC__)
#define BENCH_STATIC static __attribute__((unused))
#else
#define BENCH_STATIC static
#endif

/* Runs `iterations` of one side of a case: one call per batch, the loop inside. */
typedef void (*bench_batch_fn)(const void *arg, long iterations);

typedef struct {
    bench_batch_fn fn;
    const void *arg;
} bench_side;

typedef struct {
    double ref_ns, subject_ns;       /* medians over the rounds, ns per iteration */
    double median, min, q1, q3, max; /* the per-round ratio */
    int rounds, reruns, unsettled;
    long per_batch;
} bench_result;

static double bench_shortest_batch_ns = INFINITY;

BENCH_STATIC double bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One batch of n iterations between one pair of clock reads: ns per iteration.
 * The shortest batch of the rounds (calibration's excluded) is kept for the clock note. */
BENCH_STATIC double bench_batch(bench_side side, long n, int in_round) {
    double start = bench_now_ns();
    side.fn(side.arg, n);
    double ns = bench_now_ns() - start;
    if (in_round && ns < bench_shortest_batch_ns) bench_shortest_batch_ns = ns;
    return ns / n;
}

BENCH_STATIC int bench_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q quantile of n sorted values, interpolated linearly between ranks. */
BENCH_STATIC double bench_quantile(const double *sorted, int n, double q) {
    double at = q * (n - 1);
    int lo = (int)floor(at), hi = (int)ceil(at);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

BENCH_STATIC double bench_median(double *v, int n) {
    qsort(v, n, sizeof *v, bench_cmp);
    return bench_quantile(v, n, 0.5);
}

/* One measurement: the median of BENCH_BATCHES batches, in ns per iteration. */
BENCH_STATIC double bench_measure(bench_side side, long n) {
    double v[BENCH_BATCHES];
    for (int b = 0; b < BENCH_BATCHES; b++) v[b] = bench_batch(side, n, 1);
    qsort(v, BENCH_BATCHES, sizeof *v, bench_cmp);
    return bench_quantile(v, BENCH_BATCHES, 0.5);
}

/* The batch size that makes the faster side's batch last about BENCH_BATCH_NS
 * (it also warms both sides up). */
BENCH_STATIC long bench_calibrate(bench_side ref, bench_side subject) {
    long n = 1;
    for (;;) {
        double t = fmin(bench_batch(ref, n, 0), bench_batch(subject, n, 0));
        if (t * n >= BENCH_BATCH_NS / 8 || n >= (1L << 30)) {
            long m = (long)ceil(BENCH_BATCH_NS / t);
            t = fmin(bench_batch(ref, m, 0), bench_batch(subject, m, 0));
            m = (long)ceil(BENCH_BATCH_NS / t);
            return m < 1 ? 1 : m;
        }
        n *= 8;
    }
}

/* Runs the bracketed rounds. With invert set the ratio is reference ÷ subject
 * (a speed: copy.c's memcpy time ÷ rshm time), else subject ÷ reference. */
BENCH_STATIC bench_result bench_run(bench_side ref, bench_side subject, int invert) {
    bench_result r;
    memset(&r, 0, sizeof r);
    double ratio[BENCH_ROUNDS], refs[BENCH_ROUNDS], subjects[BENCH_ROUNDS];
    r.per_batch = bench_calibrate(ref, subject);
    for (int round = 0; round < BENCH_ROUNDS; round++) {
        for (int attempt = 0;; attempt++) {
            double before = bench_measure(ref, r.per_batch);
            double s = bench_measure(subject, r.per_batch);
            double after = bench_measure(ref, r.per_batch);
            double mean = (before + after) / 2;
            int settled = fabs(before - after) / fmin(before, after) <= BENCH_MARGIN;
            if (settled || attempt == BENCH_MAX_RERUNS) {
                ratio[round] = invert ? mean / s : s / mean;
                refs[round] = mean;
                subjects[round] = s;
                r.unsettled += !settled;
                break;
            }
            r.reruns++;
        }
    }
    r.rounds = BENCH_ROUNDS;
    r.ref_ns = bench_median(refs, BENCH_ROUNDS);
    r.subject_ns = bench_median(subjects, BENCH_ROUNDS);
    qsort(ratio, BENCH_ROUNDS, sizeof *ratio, bench_cmp);
    r.median = bench_quantile(ratio, BENCH_ROUNDS, 0.5);
    r.min = ratio[0];
    r.q1 = bench_quantile(ratio, BENCH_ROUNDS, 0.25);
    r.q3 = bench_quantile(ratio, BENCH_ROUNDS, 0.75);
    r.max = ratio[BENCH_ROUNDS - 1];
    return r;
}

/* The columns every CSV of make bench shares (bench/src/method.rs's CSV_HEADER). */
#define BENCH_CSV_HEADER                                                                  \
    "section,case,bytes,reference,reference_ns,case_ns,ratio,ratio_min,ratio_q1,ratio_q3," \
    "ratio_max,rounds,reruns,unsettled\n"

BENCH_STATIC void bench_table_header(const char *first, const char *ref, const char *subject) {
    printf("%-26s %8s %10s %10s %7s %13s %13s %6s %7s\n", first, "bytes", ref, subject, "ratio",
           "min-max", "q1-q3", "rounds", "re-runs");
}

BENCH_STATIC void bench_report(FILE *csv, const char *section, const char *name, size_t bytes,
                         const char *ref, const bench_result *r) {
    char size[32] = "-", range[32], quartiles[32], unsettled[32] = "";
    if (bytes) snprintf(size, sizeof size, "%zu", bytes);
    snprintf(range, sizeof range, "%.3f-%.3f", r->min, r->max);
    snprintf(quartiles, sizeof quartiles, "%.3f-%.3f", r->q1, r->q3);
    if (r->unsettled) snprintf(unsettled, sizeof unsettled, " (%d unsettled)", r->unsettled);
    printf("%-26s %8s %10.1f %10.1f %7.3f %13s %13s %6d %7d%s\n", name, size, r->ref_ns,
           r->subject_ns, r->median, range, quartiles, r->rounds, r->reruns, unsettled);
    fflush(stdout);
    if (csv)
        fprintf(csv, "%s,%s,%zu,%s,%.2f,%.2f,%.4f,%.4f,%.4f,%.4f,%.4f,%d,%d,%d\n", section, name,
                bytes, ref, r->ref_ns, r->subject_ns, r->median, r->min, r->q1, r->q3, r->max,
                r->rounds, r->reruns, r->unsettled);
}

/* How the clock was kept out of the numbers. */
BENCH_STATIC void bench_clock_note(void) {
    double start = bench_now_ns();
    for (int i = 0; i < 1000000; i++) bench_now_ns();
    double clock = (bench_now_ns() - start) / 1e6;
    printf("clock: clock_gettime costs %.1f ns; one pair per batch; the shortest batch took %.3f ms, "
           "so the clock is at most %.4f%% of any batch\n",
           clock, bench_shortest_batch_ns / 1e6, 100 * clock / bench_shortest_batch_ns);
}

/* Was the machine busy? The CPU time others used since bench_load_begin (all
 * the busy time /proc/stat counts minus this process's), and what the host stole. */
typedef struct {
    double busy, steal, ours, at;
} bench_load;

BENCH_STATIC bench_load bench_load_now(void) {
    bench_load l = {0, 0, 0, bench_now_ns() / 1e9};
    double f[8] = {0}, hz = sysconf(_SC_CLK_TCK);
    FILE *stat = fopen("/proc/stat", "r");
    if (stat) {
        if (fscanf(stat, "cpu %lf %lf %lf %lf %lf %lf %lf %lf", &f[0], &f[1], &f[2], &f[3], &f[4],
                   &f[5], &f[6], &f[7]) != 8)
            memset(f, 0, sizeof f);
        fclose(stat);
    }
    l.busy = (f[0] + f[1] + f[2] + f[5] + f[6]) / hz;
    l.steal = f[7] / hz;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    l.ours = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    return l;
}

BENCH_STATIC void bench_load_note(bench_load start) {
    bench_load end = bench_load_now();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double capacity = (cpus > 0 ? cpus : 1) * (end.at - start.at);
    double others = ((end.busy - start.busy) - (end.ours - start.ours)) / capacity;
    double steal = (end.steal - start.steal) / capacity;
    if (others < 0) others = 0;
    printf("load: other processes used %.1f%% of the %ld CPUs during the run, the host stole %.1f%%%s\n",
           100 * others, cpus, 100 * steal,
           others > 0.05  ? " (BUSY: other processes shared the CPUs; not a quiet machine's numbers)"
           : steal > 0.05 ? " (the host was busy: the brackets absorb a steady loss, not sudden ones)"
                          : "");
}

/* SysV segments, semaphore sets and queues left in this IPC namespace. */
BENCH_STATIC int bench_ipc_objects_left(void) {
    const char *files[] = {"/proc/sysvipc/shm", "/proc/sysvipc/sem", "/proc/sysvipc/msg"};
    int left = 0;
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f) continue;
        int c, lines = 0;
        while ((c = fgetc(f)) != EOF) lines += c == '\n';
        fclose(f);
        if (lines > 1) left += lines - 1;
    }
    return left;
}

#endif
