/* The cost of rshm's libc-compatible calls against glibc's, side by side in
 * one run: rounds alternate between the two, and each call's time is the
 * median over rounds. Prints a table of ns per call and the ratio rshm/glibc,
 * and writes CSV rows "calls,<call>,0,<glibc ns>,<rshm ns>,<ratio>" to argv[1]. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>

#include "rshm.h"

#define ROUNDS 21

typedef struct {
    key_t (*ftok)(const char *, int);
    int (*shmget)(key_t, size_t, int);
    void *(*shmat)(int, const void *, int);
    int (*shmdt)(const void *);
    int (*shmctl)(int, int, struct shmid_ds *);
} api_t;

static const api_t GLIBC = {ftok, shmget, shmat, shmdt, shmctl};
static const api_t RSHM = {rshm_ftok, rshm_shmget, rshm_shmat, rshm_shmdt, rshm_shmctl};
static key_t key;
static int shmid;

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void op_ftok(const api_t *api) { if (api->ftok("/tmp", 65) == -1) abort(); }
static void op_shmget_open(const api_t *api) { if (api->shmget(key, 0, 0) == -1) abort(); }
static void op_shmctl_stat(const api_t *api) { struct shmid_ds ds; if (api->shmctl(shmid, IPC_STAT, &ds) == -1) abort(); }
static void op_attach_detach(const api_t *api) {
    void *addr = api->shmat(shmid, NULL, 0);
    if (addr == (void *)-1 || api->shmdt(addr) == -1) abort();
}
static void op_create_remove(const api_t *api) {
    int id = api->shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id == -1 || api->shmctl(id, IPC_RMID, NULL) == -1) abort();
}
static void op_failing_shmget(const api_t *api) { if (api->shmget(key + 1, 0, 0) != -1) abort(); }

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static FILE *csv;

static void bench(const char *name, void (*op)(const api_t *), int iterations) {
    double times[2][ROUNDS];
    const api_t *apis[2] = {&GLIBC, &RSHM};
    for (int w = 0; w < iterations / 10; w++) { op(&GLIBC); op(&RSHM); }
    for (int r = 0; r < ROUNDS; r++)
        for (int a = 0; a < 2; a++) {
            int which = (r & 1) ? 1 - a : a; /* alternate who goes first */
            double start = now_ns();
            for (int i = 0; i < iterations; i++) op(apis[which]);
            times[which][r] = (now_ns() - start) / iterations;
        }
    qsort(times[0], ROUNDS, sizeof(double), cmp);
    qsort(times[1], ROUNDS, sizeof(double), cmp);
    double g = times[0][ROUNDS / 2], s = times[1][ROUNDS / 2];
    printf("%-26s %10.1f %10.1f %8.3f\n", name, g, s, s / g);
    if (csv) fprintf(csv, "calls,%s,0,%.2f,%.2f,%.4f\n", name, g, s, s / g);
}

int main(int argc, char **argv) {
    if (unshare(CLONE_NEWIPC) != 0) perror("unshare (continuing in this namespace)");
    csv = argc > 1 ? fopen(argv[1], "w") : NULL;
    key = 0x52534842;
    shmid = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
    if (shmid == -1) { perror("shmget"); return 1; }
    printf("%-26s %10s %10s %8s\n", "call", "glibc ns", "rshm ns", "ratio");
    bench("ftok", op_ftok, 20000);
    bench("shmget (open existing)", op_shmget_open, 50000);
    bench("shmctl(IPC_STAT)", op_shmctl_stat, 50000);
    bench("shmat + shmdt", op_attach_detach, 5000);
    bench("shmget(create) + IPC_RMID", op_create_remove, 5000);
    bench("shmget failing (ENOENT)", op_failing_shmget, 20000);
    shmctl(shmid, IPC_RMID, NULL);
    if (csv) fclose(csv);
    return 0;
}
