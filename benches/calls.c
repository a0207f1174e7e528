/* The cost of rshm's libc-compatible calls (the five shared memory ones and
 * the eight semaphore and message queue ones) against glibc's, side by side in
 * one run, by the bracketed method of method.h: per call, rounds of a glibc
 * batch, an rshm batch and a glibc batch; the ratio rshm/glibc of each round;
 * the median of the rounds with its spread. Prints a table and writes the
 * CSV rows (method.h's columns, section "calls") to argv[1]. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "method.h"
#include "rshm.h"

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

/* The semaphore and message queue calls: glibc's and rshm's. */
typedef struct {
    int (*semget)(key_t, int, int);
    int (*semop)(int, struct sembuf *, size_t);
    int (*semtimedop)(int, struct sembuf *, size_t, const struct timespec *);
    int (*semctl)(int, int, int, ...);
    int (*msgget)(key_t, int);
    int (*msgsnd)(int, const void *, size_t, int);
    ssize_t (*msgrcv)(int, void *, size_t, long, int);
    int (*msgctl)(int, int, struct msqid_ds *);
} family_t;

static const family_t GLIBC_FAMILY = {semget, semop, semtimedop, semctl, msgget, msgsnd, msgrcv, msgctl};
static const family_t RSHM_FAMILY = {rshm_semget, rshm_semop, rshm_semtimedop, rshm_semctl,
                                     rshm_msgget, rshm_msgsnd, rshm_msgrcv, rshm_msgctl};
static key_t family_key;
static int semid, msqid;
struct message { long mtype; char text[64]; };

static void op_semget_open(const family_t *f) { if (f->semget(family_key, 0, 0) == -1) abort(); }
static void op_semop_up_down(const family_t *f) {
    struct sembuf up = {0, 1, 0}, down = {0, -1, IPC_NOWAIT};
    if (f->semop(semid, &up, 1) == -1 || f->semop(semid, &down, 1) == -1) abort();
}
static void op_semtimedop_up_down(const family_t *f) {
    struct sembuf up = {0, 1, 0}, down = {0, -1, 0};
    struct timespec timeout = {1, 0};
    if (f->semtimedop(semid, &up, 1, &timeout) == -1 || f->semtimedop(semid, &down, 1, &timeout) == -1) abort();
}
static void op_semctl_getval(const family_t *f) { if (f->semctl(semid, 0, GETVAL) == -1) abort(); }
static void op_semctl_setval(const family_t *f) { if (f->semctl(semid, 0, SETVAL, 0) == -1) abort(); }
static void op_msgget_open(const family_t *f) { if (f->msgget(family_key, 0) == -1) abort(); }
static void op_msgsnd_msgrcv(const family_t *f) {
    struct message m = {1, "a message of some sixty-four bytes, as a small request would be"};
    if (f->msgsnd(msqid, &m, sizeof m.text, IPC_NOWAIT) == -1) abort();
    if (f->msgrcv(msqid, &m, sizeof m.text, 0, IPC_NOWAIT) != (ssize_t)sizeof m.text) abort();
}
static void op_msgctl_stat(const family_t *f) { struct msqid_ds ds; if (f->msgctl(msqid, IPC_STAT, &ds) == -1) abort(); }
static void op_failing_semop(const family_t *f) {
    struct sembuf down = {0, -1, IPC_NOWAIT};
    if (f->semop(semid, &down, 1) != -1) abort();
}

typedef struct {
    void (*op)(const api_t *);
    const api_t *api;
} job_t;

typedef struct {
    void (*op)(const family_t *);
    const family_t *api;
} family_job_t;

static void run_family_batch(const void *arg, long iterations) {
    const family_job_t *job = arg;
    for (long i = 0; i < iterations; i++) job->op(job->api);
}

/* One batch: `iterations` calls of the job's operation through its API. */
static void run_batch(const void *arg, long iterations) {
    const job_t *job = arg;
    for (long i = 0; i < iterations; i++) job->op(job->api);
}

static FILE *csv;

static void bench(const char *name, void (*op)(const api_t *)) {
    job_t glibc = {op, &GLIBC}, rshm = {op, &RSHM};
    bench_result r = bench_run((bench_side){run_batch, &glibc}, (bench_side){run_batch, &rshm}, 0);
    bench_report(csv, "calls", name, 0, "glibc", &r);
}

static void bench_family(const char *name, void (*op)(const family_t *)) {
    family_job_t glibc = {op, &GLIBC_FAMILY}, rshm = {op, &RSHM_FAMILY};
    bench_result r = bench_run((bench_side){run_family_batch, &glibc}, (bench_side){run_family_batch, &rshm}, 0);
    bench_report(csv, "calls", name, 0, "glibc", &r);
}

int main(int argc, char **argv) {
    if (unshare(CLONE_NEWIPC) != 0) perror("unshare (continuing in this namespace)");
    csv = argc > 1 ? fopen(argv[1], "w") : NULL;
    key = 0x52534842;
    shmid = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
    if (shmid == -1) { perror("shmget"); return 1; }
    if (csv) fputs(BENCH_CSV_HEADER, csv);
    bench_load load = bench_load_now();
    printf("ns per call; ratio = rshm / mean of the glibc measurements before and after it, per round; "
           "median of %d rounds\n", BENCH_ROUNDS);
    bench_table_header("call", "glibc ns", "rshm ns");
    bench("ftok", op_ftok);
    bench("shmget (open existing)", op_shmget_open);
    bench("shmctl(IPC_STAT)", op_shmctl_stat);
    bench("shmat + shmdt", op_attach_detach);
    bench("shmget(create) + IPC_RMID", op_create_remove);
    bench("shmget failing (ENOENT)", op_failing_shmget);
    shmctl(shmid, IPC_RMID, NULL);
    family_key = 0x52534843;
    semid = semget(family_key, 1, IPC_CREAT | IPC_EXCL | 0600);
    msqid = msgget(family_key, IPC_CREAT | IPC_EXCL | 0600);
    if (semid == -1 || msqid == -1) { perror("semget/msgget"); return 1; }
    bench_family("semget (open existing)", op_semget_open);
    bench_family("semop +1, -1", op_semop_up_down);
    bench_family("semtimedop +1, -1", op_semtimedop_up_down);
    bench_family("semctl(GETVAL)", op_semctl_getval);
    bench_family("semctl(SETVAL)", op_semctl_setval);
    bench_family("msgget (open existing)", op_msgget_open);
    bench_family("msgsnd + msgrcv, 64 B", op_msgsnd_msgrcv);
    bench_family("msgctl(IPC_STAT)", op_msgctl_stat);
    bench_family("semop failing (EAGAIN)", op_failing_semop);
    semctl(semid, 0, IPC_RMID);
    msgctl(msqid, IPC_RMID, NULL);
    if (csv) fclose(csv);
    bench_clock_note();
    bench_load_note(load);
    int left = bench_ipc_objects_left();
    if (left) { fprintf(stderr, "%d SysV objects left in the namespace\n", left); return 1; }
    return 0;
}
