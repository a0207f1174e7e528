/* Liveness you can bet data on: rshm acts on a peer's death (takes an end
 * over, reports PEER_DIED, hands a lock on as owner-died) only when the peer
 * is known to be gone, never on a guess.
 *
 * - A process whose main thread called pthread_exit while other threads run
 *   (its leader shows state Z in /proc) is alive: its channel end is neither
 *   reported dead to the sender nor handed to a third process.
 * - A forked child that closes the copy of a channel end it inherited (but
 *   never held) closes nothing: the holder goes on, the peer sees no CLOSED,
 *   and RSHM_REMOVE_ON_CLOSE does not remove the segment from under it.
 * - A child made by _Fork (which runs no atfork handler) locks a mutex as
 *   itself: its parent cannot unlock the child's lock, and when the child dies
 *   holding it the next locker gets it as owner-died. */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rshm.h"
#include "options.h"

#define RING 4096

static key_t next_key = 0x4c560000;

static int reap(pid_t pid) {
    int status;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads one byte from fd (a child's "ready"), at most `seconds` long. */
static int wait_ready(int fd) {
    char byte;
    return read(fd, &byte, 1) == 1 ? 0 : -1;
}

static char leader_state(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *close = strrchr(buf, ')');
    return close != NULL && close[1] == ' ' ? close[2] : '?';
}

/* ---- a zombie leader ---- */

static int ready_pipe[2];

static void *keep_running(void *arg) {
    (void)arg;
    for (;;) pause(); /* until SIGKILL */
    return NULL;
}

/* The receiver: opens its end, starts a thread, and lets its main thread exit. */
static void zombie_leader_receiver(key_t key) {
    alarm(30);
    rshm_options opts = options(key, 0, 0);
    rshm_channel *rx;
    if (rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx) != RSHM_OK) _exit(10);
    pthread_t thread;
    if (pthread_create(&thread, NULL, keep_running, NULL) != 0) _exit(11);
    if (write(ready_pipe[1], "r", 1) != 1) _exit(12);
    pthread_exit(NULL); /* the process lives on in `thread` */
}

static int third_opener(void *key) {
    rshm_options opts = options(*(key_t *)key, 0, 0);
    rshm_channel *rx;
    rshm_status st = rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx);
    if (st == RSHM_OK) return 1;
    return st == RSHM_ERR_EXISTS ? 0 : 2;
}

static int in_child(int (*body)(void *), void *arg) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        _exit(body(arg));
    }
    return reap(pid);
}

static void test_a_zombie_leader_is_alive(void) {
    key_t key = next_key++;
    rshm_options opts = options(key, 0, RSHM_REMOVE_ON_CLOSE);
    rshm_channel *tx;
    CHECK(rshm_channel_create(&opts, RING, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
    CHECK(pipe(ready_pipe) == 0, "pipe");
    fflush(NULL);
    pid_t receiver = fork();
    if (receiver == 0) zombie_leader_receiver(key);
    CHECK(wait_ready(ready_pipe[0]) == 0, "the receiver did not start");
    for (int i = 0; i < 200 && leader_state(receiver) != 'Z'; i++) usleep(5000);
    CHECK(leader_state(receiver) == 'Z', "the receiver's leader should show Z, shows %c", leader_state(receiver));

    int died = 0, other = 0;
    char msg[16] = "to a live peer";
    for (int i = 0; i < 40; i++) {
        rshm_status st = rshm_channel_send(tx, msg, sizeof msg, 0);
        died += st == RSHM_ERR_PEER_DIED;
        other += st != RSHM_OK && st != RSHM_ERR_PEER_DIED && st != RSHM_ERR_WOULD_BLOCK;
        usleep(5000); /* past the receiver probe interval, several times over */
    }
    CHECK(died == 0 && other == 0, "sends to a live receiver whose main thread exited: %d PEER_DIED, %d other", died,
          other);
    int third = in_child(third_opener, &key);
    CHECK(third == 0, "a third process must get EXISTS for a live receiver's end: exit %d (1: it opened it)", third);

    /* Once the whole process is gone, the sender is told. */
    kill(receiver, SIGKILL);
    reap(receiver);
    rshm_status st = RSHM_OK;
    for (int i = 0; i < 100 && st != RSHM_ERR_PEER_DIED; i++) {
        st = rshm_channel_send(tx, msg, sizeof msg, 0);
        usleep(10000);
    }
    CHECK(st == RSHM_ERR_PEER_DIED, "a receiver that is gone must be reported: %s", rshm_status_str(st));
    close(ready_pipe[0]);
    close(ready_pipe[1]);
    rshm_channel_close(tx);
}

/* ---- a forked child closes what it inherited ---- */

static rshm_channel *inherited;

static int close_inherited(void *arg) {
    (void)arg;
    rshm_channel_close(inherited); /* what every forked child does with ends it does not use */
    return 0;
}

static int receive_nine(void *key) {
    rshm_options opts = options(*(key_t *)key, 0, 0);
    rshm_channel *rx;
    if (rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx) != RSHM_OK) return 50;
    if (write(ready_pipe[1], "r", 1) != 1) return 51;
    int got = 0;
    char buf[64];
    size_t len;
    for (int i = 0; i < 9; i++) {
        rshm_status st = rshm_channel_recv(rx, buf, sizeof buf, &len, 5000);
        if (st != RSHM_OK) break;
        got++;
    }
    rshm_channel_close(rx);
    return got;
}

static void test_a_child_closing_an_inherited_sender_closes_nothing(void) {
    key_t key = next_key++;
    rshm_options opts = options(key, 0, RSHM_REMOVE_ON_CLOSE);
    rshm_channel *tx;
    CHECK(rshm_channel_create(&opts, RING, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
    CHECK(pipe(ready_pipe) == 0, "pipe");
    fflush(NULL);
    pid_t receiver = fork();
    if (receiver == 0) {
        alarm(20);
        _exit(receive_nine(&key));
    }
    CHECK(wait_ready(ready_pipe[0]) == 0, "the receiver did not open");
    usleep(20000); /* the receiver waits for a first message now */
    inherited = tx;
    CHECK(in_child(close_inherited, NULL) == 0, "the child closed its copy");
    usleep(20000); /* time for the receiver to see a close, if it wrongly were one */
    int failed = 0;
    for (int i = 0; i < 9; i++) {
        char msg[8] = {(char)i};
        rshm_status st = rshm_channel_send(tx, msg, sizeof msg, 5000);
        if (st != RSHM_OK) {
            failed++;
            fprintf(stderr, "send %d: %s: %s\n", i, rshm_status_str(st), rshm_last_error());
        }
    }
    CHECK(failed == 0, "the holder's sends after a child closed its inherited copy: %d failed", failed);
    int got = reap(receiver);
    CHECK(got == 9, "the receiver got %d of 9 messages", got);
    close(ready_pipe[0]);
    close(ready_pipe[1]);
    rshm_channel_close(tx);
}

static void test_a_child_closing_an_inherited_receiver_closes_nothing(void) {
    key_t key = next_key++;
    rshm_options opts = options(key, 0, RSHM_REMOVE_ON_CLOSE);
    rshm_channel *rx;
    CHECK(rshm_channel_create(&opts, RING, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_OK, "%s", rshm_last_error());
    inherited = rx;
    CHECK(in_child(close_inherited, NULL) == 0, "the child closed its copy");
    /* Neither closed nor removed: a sender can still open and send. */
    opts = options(key, 0, 0);
    rshm_channel *tx;
    rshm_status st = rshm_channel_open(&opts, RSHM_CHANNEL_SENDER, &tx);
    CHECK(st == RSHM_OK, "the segment must survive a child's close (RSHM_REMOVE_ON_CLOSE is the holder's): %s",
          rshm_last_error());
    if (st == RSHM_OK) {
        st = rshm_channel_send(tx, "x", 1, 1000);
        CHECK(st == RSHM_OK, "a send to the holder after a child closed its copy: %s", rshm_status_str(st));
        char buf[8];
        size_t len = 0;
        st = rshm_channel_recv(rx, buf, sizeof buf, &len, 1000);
        CHECK(st == RSHM_OK && len == 1, "the holder still receives: %s", rshm_status_str(st));
        rshm_channel_close(tx);
    }
    rshm_channel_close(rx);
}

/* ---- a _Fork child and the mutex ---- */

static int lock_pipe[2], release_pipe[2];

static void test_a_fork_child_locks_as_itself(void) {
    key_t key = next_key++;
    rshm_options opts = options(key, 4096, RSHM_CREATE | RSHM_EXCLUSIVE | RSHM_REMOVE_ON_CLOSE);
    rshm_segment *seg;
    CHECK(rshm_open(&opts, &seg) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_mutex_init(seg, 0) == RSHM_OK, "%s", rshm_last_error());
    /* The parent's thread identity is known (cached) before the child is made. */
    CHECK(rshm_mutex_lock(seg, 0, -1) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_mutex_unlock(seg, 0) == RSHM_OK, "%s", rshm_last_error());
    CHECK(pipe(lock_pipe) == 0 && pipe(release_pipe) == 0, "pipes");
    fflush(NULL);
    pid_t child = _Fork();
    if (child == 0) {
        alarm(20);
        if (rshm_mutex_lock(seg, 0, 2000) != RSHM_OK) _exit(1);
        if (write(lock_pipe[1], "l", 1) != 1) _exit(2);
        char byte;
        if (read(release_pipe[0], &byte, 1) != 1) _exit(3);
        _exit(0); /* dies holding it */
    }
    CHECK(wait_ready(lock_pipe[0]) == 0, "the child did not lock");
    rshm_status st = rshm_mutex_unlock(seg, 0);
    CHECK(st == RSHM_ERR_PERMISSION, "the parent must not unlock its _Fork child's lock: %s", rshm_status_str(st));
    CHECK(write(release_pipe[1], "x", 1) == 1, "release");
    CHECK(reap(child) == 0, "the child locked as itself and exited");
    st = rshm_mutex_lock(seg, 0, 3000);
    CHECK(st == RSHM_ERR_OWNER_DIED, "a _Fork child that died holding the lock: the next locker gets OWNER_DIED, got %s",
          rshm_status_str(st));
    if (st == RSHM_ERR_OWNER_DIED) {
        CHECK(rshm_mutex_consistent(seg, 0) == RSHM_OK, "%s", rshm_last_error());
        CHECK(rshm_mutex_unlock(seg, 0) == RSHM_OK, "%s", rshm_last_error());
    }
    for (int i = 0; i < 2; i++) {
        close(lock_pipe[i]);
        close(release_pipe[i]);
    }
    rshm_close(seg);
}

int main(void) {
    enter_private_ipc_namespace();
    test_a_zombie_leader_is_alive();
    test_a_child_closing_an_inherited_sender_closes_nothing();
    test_a_child_closing_an_inherited_receiver_closes_nothing();
    test_a_fork_child_locks_as_itself();
    return harness_summary("liveness");
}
