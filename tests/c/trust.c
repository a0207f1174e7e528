/* The segment is untrusted input: hostile writes from a second process to
 * the control words of a channel and a mutex while the victim waits in each
 * call, racing claims, closed and dead peers, and the smaller holes of the
 * trust review. A victim runs in a forked child with an alarm: a crash, an
 * abort or a hang shows as a failed CHECK, never as a crashed test. Rings
 * end exactly at a page end, so an access past the ring leaves the mapping
 * (valgrind, which runs this test too, sees it).
 *
 * Offsets of the control words are rshm's layouts (channel layout 4, mutex
 * layout 2): what another process could write. */
#include "harness.h"

#include <signal.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rshm.h"
#include "options.h"

#define PAGE 4096
/* A ring that ends exactly at the end of the segment's one page. */
#define RING (PAGE - RSHM_CHANNEL_HEADER_SIZE)
#define HEAD 64
#define TAIL 128
#define NOBODY 65534

static key_t next_key = 0x52545200;

/* Runs victim() in a child with `seconds` to live: its exit code, or 128 + the signal that ended it. */
static int in_child(int (*victim)(void *), void *arg, unsigned seconds) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(seconds);
        _exit(victim(arg));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Another process's view of the segment with `key`: what a hostile peer writes through. */
static uint8_t *peer_view(key_t key) {
    int id = shmget(key, 0, 0);
    void *addr = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
    return addr == (void *)-1 ? NULL : addr;
}

static void poke64(uint8_t *base, size_t offset, uint64_t value) { memcpy(base + offset, &value, sizeof value); }

/* ---- channels ---- */

static key_t channel_key;

/* Forks a peer that keeps writing hostile positions into the channel's segment. */
static pid_t start_attacker(int receiver_is_victim) {
    uint8_t *peer = peer_view(channel_key);
    if (peer == NULL) return -1;
    pid_t attacker = fork();
    if (attacker == 0) {
        for (uint64_t n = 0;; n++) {
            if (receiver_is_victim) {
                poke64(peer, TAIL, RING - 3);
                poke64(peer, HEAD, n * 8);
                poke64(peer, RSHM_CHANNEL_HEADER_SIZE + (n * 8) % RING, n); /* a length word */
            } else {
                poke64(peer, HEAD, RING - 3);
            }
            usleep(50);
        }
    }
    return attacker;
}

/* The sender, once open, while a peer keeps rewriting its own head to an
 * unaligned position one word short of the ring's end. */
static int send_under_attack(void *arg) {
    (void)arg;
    rshm_options opts = options(channel_key, 0, 0);
    rshm_channel *tx;
    if (rshm_channel_open(&opts, RSHM_CHANNEL_SENDER, &tx) != RSHM_OK) return 10;
    pid_t attacker = start_attacker(0);
    char msg[40] = "a message";
    int code = 0;
    for (int i = 0; i < 400 && code == 0; i++) {
        rshm_status st = rshm_channel_send(tx, msg, sizeof msg, 5);
        if (st != RSHM_OK && st != RSHM_ERR_TIMEOUT && st != RSHM_ERR_CORRUPT) code = 11;
    }
    kill(attacker, SIGKILL);
    waitpid(attacker, NULL, 0);
    rshm_channel_close(tx);
    return code;
}

/* The receiver, once open, while a peer rewrites its own tail and the sender's words. */
static int recv_under_attack(void *arg) {
    (void)arg;
    rshm_options opts = options(channel_key, 0, 0);
    rshm_channel *rx;
    if (rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx) != RSHM_OK) return 10;
    pid_t attacker = start_attacker(1);
    char buf[RING];
    size_t len;
    int code = 0;
    for (int i = 0; i < 400 && code == 0; i++) {
        rshm_status st = rshm_channel_recv(rx, buf, sizeof buf, &len, 5);
        if (st != RSHM_OK && st != RSHM_ERR_TIMEOUT && st != RSHM_ERR_CORRUPT && st != RSHM_ERR_CLOSED) code = 11;
    }
    kill(attacker, SIGKILL);
    waitpid(attacker, NULL, 0);
    rshm_channel_close(rx);
    return code;
}

static void test_positions_from_a_peer(void) {
    channel_key = next_key++;
    rshm_options opts = options(channel_key, 0, RSHM_REMOVE_ON_CLOSE);
    rshm_channel *rx;
    CHECK(rshm_channel_create(&opts, RING, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_OK, "%s", rshm_last_error());
    int code = in_child(send_under_attack, NULL, 10);
    CHECK(code == 0, "a sender whose head a peer rewrites must not crash or misbehave: exit %d", code);
    rshm_channel_close(rx);

    channel_key = next_key++;
    opts = options(channel_key, 0, RSHM_REMOVE_ON_CLOSE);
    rshm_channel *tx;
    CHECK(rshm_channel_create(&opts, RING, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
    code = in_child(recv_under_attack, NULL, 15);
    CHECK(code == 0, "a receiver whose tail a peer rewrites must not crash or misbehave: exit %d", code);
    rshm_channel_close(tx);
}

static void test_positions_near_the_top(void) {
    key_t key = next_key++;
    rshm_options opts = options(key, 0, RSHM_REMOVE_ON_CLOSE);
    rshm_channel *tx, *rx = NULL;
    CHECK(rshm_channel_create(&opts, 64, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
    uint8_t *peer = peer_view(key);
    poke64(peer, HEAD, UINT64_MAX - 15);
    poke64(peer, TAIL, UINT64_MAX - 15);
    opts.flags = 0;
    rshm_status st = rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx);
    CHECK(st == RSHM_ERR_CORRUPT && rx == NULL, "positions near 2^64 must be refused at open: %s", rshm_status_str(st));
    rshm_channel_close(rx);
    rshm_channel_close(tx);
    shmdt(peer);
}

static key_t race_key;
static int claim_end(void *arg) {
    int start_fd = *(int *)arg;
    char byte;
    if (read(start_fd, &byte, 1) < 0) return 20;
    rshm_options opts = options(race_key, 0, 0);
    rshm_channel *rx;
    rshm_status st = rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx);
    if (st == RSHM_OK) {
        usleep(100000); /* hold it while the others try */
        rshm_channel_close(rx);
        return 0;
    }
    if (st != RSHM_ERR_EXISTS) return 2;
    return strstr(rshm_last_error(), "held by process") && !strstr(rshm_status_str(st), "RSHM_EXCLUSIVE") ? 1 : 3;
}

static void test_racing_claims(void) {
    for (int round = 0; round < 5; round++) {
        race_key = next_key++;
        rshm_options opts = options(race_key, 0, RSHM_REMOVE_ON_CLOSE);
        rshm_channel *tx;
        CHECK(rshm_channel_create(&opts, 64, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
        int start[2];
        CHECK(pipe(start) == 0, "pipe");
        pid_t children[8];
        fflush(NULL);
        for (int c = 0; c < 8; c++) {
            children[c] = fork();
            if (children[c] == 0) {
                close(start[1]);
                alarm(10);
                _exit(claim_end(&start[0]));
            }
        }
        close(start[0]);
        close(start[1]); /* all start at once */
        int won = 0, refused = 0;
        for (int c = 0; c < 8; c++) {
            int status;
            waitpid(children[c], &status, 0);
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            won += code == 0;
            refused += code == 1;
        }
        CHECK(won == 1 && refused == 7, "round %d: %d opened the free end, %d were refused by name", round, won,
              refused);
        rshm_channel_close(tx);
    }
}

static void test_closed_and_dead_receivers(void) {
    key_t key = next_key++;
    rshm_options opts = options(key, 0, RSHM_REMOVE_ON_CLOSE);
    rshm_channel *tx, *rx;
    CHECK(rshm_channel_create(&opts, 1 << 16, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
    opts.flags = 0;
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_OK, "%s", rshm_last_error());
    rshm_channel_close(rx);
    rshm_status st = rshm_channel_send(tx, "x", 1, 0);
    CHECK(st == RSHM_ERR_CLOSED, "the first send after the receiver closed: %s", rshm_status_str(st));
    rshm_channel_close(tx);

    key = next_key++;
    opts = options(key, 0, RSHM_REMOVE_ON_CLOSE);
    CHECK(rshm_channel_create(&opts, 1 << 16, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
    fflush(NULL);
    pid_t receiver = fork();
    if (receiver == 0) {
        rshm_options mine = options(key, 0, 0);
        rshm_channel *end;
        if (rshm_channel_open(&mine, RSHM_CHANNEL_RECEIVER, &end) != RSHM_OK) _exit(1);
        pause();
        _exit(0);
    }
    rshm_options probe = options(key, 0, 0);
    rshm_channel *other = NULL;
    for (int i = 0; i < 2000 && rshm_channel_open(&probe, RSHM_CHANNEL_RECEIVER, &other) == RSHM_OK; i++) {
        rshm_channel_close(other); /* we were first: give it back */
        usleep(1000);
    }
    kill(receiver, SIGKILL);
    waitpid(receiver, NULL, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int sends = 0;
    for (; sends < 200 && (st = rshm_channel_send(tx, "x", 1, 0)) == RSHM_OK; sends++) usleep(5000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    CHECK(st == RSHM_ERR_PEER_DIED && ms < 400, "a dead receiver with room in the ring: %s after %d sends, %.0f ms",
          rshm_status_str(st), sends, ms);
    rshm_channel_close(tx);
}

static int segments_now(void) {
    struct shm_info info;
    return shmctl(0, SHM_INFO, (struct shmid_ds *)&info) < 0 ? -1 : info.used_ids;
}

static void test_read_only_channels_and_sizes(void) {
    int before = segments_now();
    rshm_options opts = options(next_key++, 0, RSHM_READ_ONLY);
    rshm_channel *ch = (rshm_channel *)&opts;
    rshm_status st = rshm_channel_create(&opts, 64, RSHM_CHANNEL_SENDER, &ch);
    CHECK(st == RSHM_ERR_INVALID_ARGUMENT && ch == NULL, "a read-only channel: %s", rshm_status_str(st));
    CHECK(strstr(rshm_last_error(), "RSHM_READ_ONLY") != NULL, "%s", rshm_last_error());
    CHECK(segments_now() == before, "nothing created");
    st = rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &ch);
    CHECK(st == RSHM_ERR_INVALID_ARGUMENT, "opening read-only: %s", rshm_status_str(st));
    opts.flags = 0;
    st = rshm_channel_create(&opts, SIZE_MAX, RSHM_CHANNEL_SENDER, &ch);
    char want[64];
    snprintf(want, sizeof want, "capacity=%zu", (size_t)SIZE_MAX);
    CHECK(st == RSHM_ERR_INVALID_ARGUMENT && strstr(rshm_last_error(), want), "%s", rshm_last_error());
}

/* ---- mutexes ---- */

static key_t mutex_key;

static rshm_segment *mutex_segment(key_t key, unsigned flags) {
    rshm_options opts = options(key, PAGE, flags);
    rshm_segment *seg = NULL;
    if (rshm_open(&opts, &seg) != RSHM_OK) return NULL;
    return seg;
}

/* Locks with no timeout, while the word names a dead process that never held it. */
static int lock_forever(void *arg) {
    (void)arg;
    rshm_segment *seg = mutex_segment(mutex_key, 0);
    rshm_status st = rshm_mutex_lock(seg, 0, -1);
    return st == RSHM_ERR_OWNER_DIED ? 0 : 30 + (int)st;
}

/* Holds the mutex while a peer scribbles over the rest of the cell, then unlocks and locks again. */
static int hold_while_scribbled(void *arg) {
    uint8_t *peer = arg;
    rshm_segment *seg = mutex_segment(mutex_key, 0);
    if (rshm_mutex_lock(seg, 0, -1) != RSHM_OK) return 40;
    for (size_t at = 16; at < RSHM_MUTEX_SIZE; at += 8) poke64(peer, at, 0x4141414141414141ULL);
    rshm_mutex_unlock(seg, 0);
    rshm_status st = rshm_mutex_lock(seg, 0, 100);
    rshm_mutex_unlock(seg, 0);
    rshm_close(seg);
    return st == RSHM_OK || st == RSHM_ERR_CORRUPT || st == RSHM_ERR_TIMEOUT ? 0 : 41;
}

/* Closes a second handle of the segment while holding its mutex, then uses the first. */
static int close_while_holding(void *arg) {
    (void)arg;
    rshm_segment *first = mutex_segment(mutex_key, 0), *second = mutex_segment(mutex_key, 0);
    if (rshm_mutex_lock(second, 0, -1) != RSHM_OK) return 50;
    rshm_close(second);
    if (rshm_mutex_init(first, 64) != RSHM_OK) return 51;
    if (rshm_mutex_lock(first, 64, -1) != RSHM_OK || rshm_mutex_unlock(first, 64) != RSHM_OK) return 52;
    rshm_status st = rshm_mutex_lock(first, 0, 500);
    rshm_close(first);
    return st == RSHM_ERR_OWNER_DIED ? 0 : 53;
}

static void test_mutex_under_attack(void) {
    mutex_key = next_key++;
    rshm_segment *seg = mutex_segment(mutex_key, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
    CHECK(seg != NULL && rshm_mutex_init(seg, 0) == RSHM_OK, "%s", rshm_last_error());
    uint8_t *peer = peer_view(mutex_key);

    /* A lock word naming a dead process that never held it, with its namespace record. */
    fflush(NULL);
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, NULL, 0);
    uint64_t word = (uint64_t)(uint32_t)dead << 32 | 777;
    struct stat ns;
    CHECK(stat("/proc/self/ns/pid", &ns) == 0, "stat /proc/self/ns/pid");
    poke64(peer, 8, word);
    poke64(peer, 32, (uint64_t)ns.st_ino); /* its record of this PID namespace */
    poke64(peer, 40, word);
    int code = in_child(lock_forever, NULL, 10);
    CHECK(code == 0, "lock(-1) on a word naming a dead process must recover with OWNER_DIED: exit %d", code);
    rshm_mutex_init(seg, 0);

    /* Garbage in every word of the cell: the old layout's links, kind and owner. */
    code = in_child(hold_while_scribbled, peer, 10);
    CHECK(code == 0, "a scribbled mutex must give a status, never abort or crash: exit %d", code);
    for (size_t at = 0; at < RSHM_MUTEX_SIZE; at += 8) poke64(peer, at, 0xdeadbeefcafef00dULL);
    rshm_status st = rshm_mutex_lock(seg, 0, 50);
    CHECK(st == RSHM_ERR_CORRUPT, "a cell of garbage: %s", rshm_status_str(st));
    rshm_mutex_init(seg, 0);

    /* Closing a segment while holding one of its mutexes. */
    code = in_child(close_while_holding, NULL, 10);
    CHECK(code == 0, "closing while holding must release the mutex as owner-died, not crash: exit %d", code);
    shmdt(peer);
    rshm_close(seg);
}

/* ---- semaphores ---- */

static void test_squatted_semaphore(void) {
    key_t key = next_key++;
    fflush(NULL);
    pid_t squatter = fork();
    if (squatter == 0) {
        if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0) _exit(1);
        _exit(semget(key, 1, IPC_CREAT | 0666) < 0); /* made, never initialised */
    }
    int status;
    waitpid(squatter, &status, 0);
    rshm_options opts = options(key, 0, RSHM_VERIFY_OWNER);
    rshm_sem *sem = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rshm_status st = rshm_sem_open(&opts, 0, &sem);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    CHECK(st == RSHM_ERR_OWNER_MISMATCH && ms < 500, "a squatter's uninitialised set: %s after %.0f ms",
          rshm_status_str(st), ms);
    semctl(semget(key, 0, 0), 0, IPC_RMID);
}

int main(void) {
    enter_private_ipc_namespace();
    test_positions_from_a_peer();
    test_positions_near_the_top();
    test_racing_claims();
    test_closed_and_dead_receivers();
    test_read_only_channels_and_sizes();
    test_mutex_under_attack();
    test_squatted_semaphore();
    struct shm_info info;
    CHECK(shmctl(0, SHM_INFO, (struct shmid_ds *)&info) >= 0 && info.used_ids == 0, "every test removed what it made");
    return harness_summary("trust");
}
