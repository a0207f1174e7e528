/* The five calls from signal handlers, as glibc allows: a SIGALRM timer and a
 * second thread's SIGUSR1 interrupt the main thread at a high rate while it
 * runs the five calls in a loop, and each handler runs the same five calls,
 * succeeding and failing (a bad shmdt address, a missing key, a missing ftok
 * path, a bad id). A call that allocates in a handler corrupts the heap or
 * deadlocks in malloc; one that takes a lock the interrupted call holds
 * deadlocks: a watchdog thread fails the test after 20 s. Each failure's
 * errno must be right, in the handler and in the loop it interrupted.
 *
 * Built as a C test it runs librshm's rshm_* calls and checks rshm_last_error()
 * after each failure, in the handlers and in the loop they interrupt. Built with -DRSHM_TEST_PRELOAD
 * (tests/preload/signal_handlers.c) it calls the plain names, which the preload
 * takes over (tests/run/preload.sh, with and without RSHM_TRACE).
 * Usage: signal_handlers [MILLISECONDS] (default 1500). */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifdef RSHM_TEST_PRELOAD
#define LEG "signal_handlers (preload)"
#define FTOK ftok
#define SHMGET shmget
#define SHMAT shmat
#define SHMDT shmdt
#define SHMCTL shmctl
#else
#include "rshm.h"
#define LEG "signal_handlers (librshm)"
#define FTOK rshm_ftok
#define SHMGET rshm_shmget
#define SHMAT rshm_shmat
#define SHMDT rshm_shmdt
#define SHMCTL rshm_shmctl
#endif

#define MISSING_KEY 0x5253ee5a
#define MISSING_PATH "/nonexistent/rshm-signal-test"

static char keyfile[] = "/tmp/rshm-signals-XXXXXX";
static int shared_id;
static pthread_t main_thread;
static atomic_int stop;
static struct timespec deadline;
/* The signal rates: SIGALRM's period and the pause between two SIGUSR1, in µs. */
static long alarm_us = 200, usr1_us = 50;

static int past_deadline(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}
static volatile sig_atomic_t handled, handler_failed_at;
#ifndef RSHM_TEST_PRELOAD
/* The message rshm gave at the first handler failure. */
static char handler_message[256];
#else
static const char handler_message[] = "(the preload has no rshm_last_error)";
#endif

#ifdef RSHM_TEST_PRELOAD
static int message_is(int since, const char *call, const char *errno_name) {
    (void)since, (void)call, (void)errno_name;
    return 1; /* the preload exports no rshm_last_error; its trace is checked instead */
}
#else
/* Async-signal-safe string checks (no libc). */
static int starts(const char *s, const char *prefix) {
    while (*prefix) if (*s++ != *prefix++) return 0;
    return 1;
}
static int ends(const char *s, const char *suffix) {
    size_t n = 0, m = 0;
    while (s[n]) n++;
    while (suffix[m]) m++;
    return n >= m && starts(s + n - m, suffix);
}

/* Right after a failure (`since` is the handler count before the call): the
 * message names the call and ends with its errno. If handlers ran since, their
 * failures may be the latest (rshm_last_error shows the one finished last), but
 * whatever is shown must be whole: one call's message, never a mix of two. A
 * handler that runs while the message is being copied may rewrite what the
 * copy reads, as the contract allows (valid until the next failure): not judged. */
static int message_is(int since, const char *call, const char *errno_name) {
    int before = handled;
    char copy[1024];
    const char *m = rshm_last_error();
    size_t i = 0;
    for (; m[i] && i < sizeof copy - 1; i++) copy[i] = m[i];
    copy[i] = 0;
    if (handled != before) return 1;
    if (since == before) return starts(copy, call) && ends(copy, errno_name);
    static const char *calls[][2] = {{"ftok(path=\"" MISSING_PATH "\"", "(ENOENT)"},
                                     {"shmget(key=0x5253ee5a", "(ENOENT)"},
                                     {"shmdt(shmaddr=0x", "(EINVAL)"},
                                     {"shmat(shmid=-1", "(EINVAL)"},
                                     {"shmctl(shmid=", ")"}};
    for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++)
        if (starts(copy, calls[c][0]) && ends(copy, calls[c][1])) return 1;
    return 0;
}
#endif

/* The five calls, each succeeding and failing. Returns 0, or the failing step. */
static int five_calls(void) {
    int since;
    if (FTOK(keyfile, 'S') == -1) return 1;
    since = handled;
    if (FTOK(MISSING_PATH, 'S') != -1 || errno != ENOENT) return 2;
    if (!message_is(since, "ftok(path=\"" MISSING_PATH "\"", "(ENOENT)")) return 3;
    int id = SHMGET(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0) return 4;
    since = handled;
    if (SHMGET(MISSING_KEY, 0, 0) != -1 || errno != ENOENT) return 5;
    if (!message_is(since, "shmget(key=0x5253ee5a", "(ENOENT)")) return 6;
    char *p = SHMAT(shared_id, NULL, 0);
    char *q = SHMAT(id, NULL, 0);
    if (p == (void *)-1 || q == (void *)-1) return 7;
    p[1] = q[1] = 'x';
    since = handled;
    if (SHMDT(q + 1) != -1 || errno != EINVAL) return 8;
    if (!message_is(since, "shmdt(shmaddr=0x", "(EINVAL)")) return 9;
    if (SHMDT(q) != 0 || SHMDT(p) != 0) return 10;
    if (SHMDT(p) != -1 || errno != EINVAL) return 11;
    since = handled;
    if (SHMAT(-1, NULL, 0) != (void *)-1 || errno != EINVAL) return 12;
    if (!message_is(since, "shmat(shmid=-1", "(EINVAL)")) return 13;
    if (SHMCTL(id, IPC_RMID, NULL) != 0) return 14;
    struct shmid_ds ds;
    since = handled;
    if (SHMCTL(id, IPC_STAT, &ds) != -1 || (errno != EINVAL && errno != EIDRM)) return 15;
    if (!message_is(since, "shmctl(shmid=", ")")) return 16;
    return 0;
}

static void handler(int sig) {
    (void)sig;
    int saved = errno;
    if (past_deadline()) return; /* handlers must not starve the loop into running forever */
    int step = five_calls();
    if (step != 0 && handler_failed_at == 0) {
        handler_failed_at = step;
#ifndef RSHM_TEST_PRELOAD
        const char *m = rshm_last_error();
        size_t i = 0;
        for (; m[i] && i < sizeof handler_message - 1; i++) handler_message[i] = m[i];
        handler_message[i] = 0;
#endif
    }
    handled++;
    errno = saved;
}

static void block_our_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* SIGUSR1 to the main thread every 50 µs or so. */
static void *sender(void *arg) {
    (void)arg;
    struct timespec pause = {0, usr1_us * 1000};
    while (!atomic_load(&stop)) {
        pthread_kill(main_thread, SIGUSR1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* A handler that deadlocks never returns: say so and fail. */
static void *watchdog(void *arg) {
    sleep((unsigned)(long)arg);
    static const char hung[] = "signal_handlers: hung (a call deadlocked in or under a signal handler)\n";
    if (write(2, hung, sizeof hung - 1) < 0) {}
    _exit(3);
}

int main(int argc, char **argv) {
    enter_private_ipc_namespace();
#ifdef RSHM_TEST_PRELOAD
    harness_require_preload();
#endif
    long ms = argc > 1 ? atol(argv[1]) : harness_under_valgrind() ? 500 : 1500;
    if (harness_under_valgrind()) alarm_us = 2000, usr1_us = 1000; /* a handler takes far longer there */
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += ms % 1000 * 1000000;
    if (deadline.tv_nsec >= 1000000000) deadline.tv_sec++, deadline.tv_nsec -= 1000000000;
    int fd = mkstemp(keyfile);
    CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
    close(fd);
    shared_id = SHMGET(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    CHECK(shared_id >= 0, "shmget: %s", strerror(errno));

    main_thread = pthread_self();
    pthread_t send_thread, watch_thread;
    /* The other threads start with the signals blocked: every handler runs on the main thread. */
    block_our_signals();
    pthread_create(&watch_thread, NULL, watchdog, (void *)(long)(20 + ms / 1000));
    pthread_create(&send_thread, NULL, sender, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGALRM); /* no nesting: the handler's own checks stay exact */
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    struct itimerval every = {{0, alarm_us}, {0, alarm_us}};
    setitimer(ITIMER_REAL, &every, NULL);
    sigset_t ours;
    sigemptyset(&ours);
    sigaddset(&ours, SIGALRM);
    sigaddset(&ours, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &ours, NULL);

    long rounds = 0;
    int loop_failed_at = 0;
    do {
        int step = five_calls();
        if (step != 0 && loop_failed_at == 0) loop_failed_at = step;
        rounds++;
    } while (!past_deadline());

    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    atomic_store(&stop, 1);
    pthread_join(send_thread, NULL);
    block_our_signals();

    CHECK(loop_failed_at == 0, "the loop failed at step %d", loop_failed_at);
    CHECK(handler_failed_at == 0, "a handler failed at step %d: \"%s\"", (int)handler_failed_at, handler_message);
    CHECK(handled > (harness_under_valgrind() ? 0 : 100), "only %d handlers ran", (int)handled);
    CHECK(SHMCTL(shared_id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
    unlink(keyfile);
    printf("%ld rounds in the loop, %d in handlers\n", rounds, (int)handled);
    return harness_summary(LEG);
}
