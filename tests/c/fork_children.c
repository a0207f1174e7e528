/* Children made without fork's handlers: `_Fork()` and a raw `clone` syscall
 * run no pthread_atfork handler, so a child inherits whatever another thread
 * held at that instant. While three threads attach and detach one segment
 * without pause, the main thread makes a few hundred such children; each one
 * attaches, writes, detaches, fails a detach (the error path) and makes and
 * removes a segment of its own, under alarm(5): a child that inherited a lock
 * held hangs and dies of SIGALRM, and the test fails (with rshm's former
 * registry lock, a few children in 400 did).
 *
 * Built as a C test it runs librshm's rshm_shmat/rshm_shmdt/...; built with
 * -DRSHM_TEST_PRELOAD (tests/preload/fork_children.c) it calls the plain names,
 * which the preload takes over (tests/run/preload.sh).
 * Usage: fork_children [CHILDREN] (default 400, 4 under valgrind: memcheck there, not the race). */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef RSHM_TEST_PRELOAD
#define LEG "fork_children (preload)"
#define SHMGET shmget
#define SHMAT shmat
#define SHMDT shmdt
#define SHMCTL shmctl
#else
#include "rshm.h"
#define LEG "fork_children (librshm)"
#define SHMGET rshm_shmget
#define SHMAT rshm_shmat
#define SHMDT rshm_shmdt
#define SHMCTL rshm_shmctl
#endif

#define THREADS 3

static int shared_id;
static atomic_int stop, started;
static atomic_long thread_rounds;

/* Attaches and detaches without pause, keeping RING attachments live (a
 * registry with many entries takes longer to search), and fails a detach
 * inside a segment each round (the error path searches it too). */
#define RING 64
static void *churn(void *arg) {
    (void)arg;
    char *ring[RING] = {0};
    long rounds = 0, failed = 0;
    atomic_fetch_add(&started, 1);
    while (!atomic_load(&stop)) {
        char **slot = &ring[rounds % RING];
        if (*slot != NULL && SHMDT(*slot) != 0) failed++;
        *slot = SHMAT(shared_id, NULL, 0);
        if (*slot == (void *)-1) { *slot = NULL; failed++; continue; }
        (*slot)[rounds % 4096] = (char)rounds;
        if (SHMDT(*slot + 1) != -1) failed++;
        rounds++;
    }
    for (int i = 0; i < RING; i++)
        if (ring[i] != NULL && SHMDT(ring[i]) != 0) failed++;
    atomic_fetch_add(&thread_rounds, rounds);
    return (void *)failed;
}

/* A child's whole life: no allocation, no stdio (malloc's lock may be held too). */
static int child(void) {
    alarm(5);
    char *p = SHMAT(shared_id, NULL, 0);
    if (p == (void *)-1) return 1;
    p[0] = 'c';
    if (SHMDT(p + 8) != -1 || errno != EINVAL) return 2;
    if (SHMDT(p) != 0) return 3;
    int own = SHMGET(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (own < 0) return 4;
    char *q = SHMAT(own, NULL, 0);
    int ok = q != (void *)-1 && SHMDT(q) == 0;
    if (SHMCTL(own, IPC_RMID, NULL) != 0 || !ok) return 5;
    return 0;
}

/* Children: _Fork() and raw clone(SIGCHLD) in turn. */
static pid_t make_child(int i) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (i % 2 == 0) return _Fork();
#endif
    (void)i;
    return (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
}

int main(int argc, char **argv) {
    enter_private_ipc_namespace();
#ifdef RSHM_TEST_PRELOAD
    harness_require_preload();
#endif
    int children = argc > 1 ? atoi(argv[1]) : harness_under_valgrind() ? 4 : 400;
    shared_id = SHMGET(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    CHECK(shared_id >= 0, "shmget: %s", strerror(errno));

    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, churn, NULL);
    /* The first children must already meet the threads mid-call. */
    while (atomic_load(&started) < THREADS) sched_yield();

    int hung = 0, failed = 0, made = 0;
    for (int i = 0; i < children; i++) {
        pid_t pid = make_child(i);
        if (pid == 0) _exit(child());
        if (pid < 0) { failed++; continue; }
        made++;
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
            fprintf(stderr, "child %d (%s) hung: killed by its alarm\n", i, i % 2 == 0 ? "_Fork" : "clone");
            hung++;
            break; /* one is proof enough; more would only take longer */
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            if (failed++ == 0)
                fprintf(stderr, "child %d (%s) failed: %s %d\n", i, i % 2 == 0 ? "_Fork" : "clone",
                        WIFEXITED(status) ? "exit" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        }
    }
    atomic_store(&stop, 1);
    long thread_failures = 0;
    for (int t = 0; t < THREADS; t++) {
        void *result;
        pthread_join(threads[t], &result);
        thread_failures += (long)result;
    }
    CHECK(made == children || hung > 0, "made %d of %d children", made, children);
    CHECK(hung == 0, "%d of %d children hung in their first calls", hung, made);
    CHECK(failed == 0, "%d of %d children failed", failed, made);
    CHECK(thread_failures == 0, "the threads saw %ld failures", thread_failures);
    CHECK(atomic_load(&thread_rounds) > 0, "the threads never ran");
    CHECK(SHMCTL(shared_id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
    return harness_summary(LEG);
}
