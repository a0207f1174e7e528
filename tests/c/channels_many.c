/* Channels for more than two, through the C API: many senders to one
 * receiver (exactly once, each sender's order, a sender SIGKILLed between
 * reserve and commit, slots, the end of the stream), broadcast (lagged then
 * in order, a lent message overwritten, a receiver killed, one opened
 * mid-stream), the options' refusals, and a hostile writer of the segment. */
#include "harness.h"

#include <signal.h>
#include <stdint.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rshm.h"

static rshm_options channel_opts(key_t key, unsigned flags, unsigned max_peers) {
    rshm_options opts = RSHM_OPTIONS_INIT;
    opts.key = key;
    opts.flags = flags;
    opts.max_peers = max_peers;
    return opts;
}

static uint32_t checksum(const unsigned char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Message `seq` of sender `id`: id, seq, filler, checksum last (len >= 12). */
static void make_message(unsigned char *p, size_t len, unsigned id, uint32_t seq) {
    p[0] = (unsigned char)id;
    memcpy(p + 1, &seq, 4);
    for (size_t i = 5; i < len - 4; i++) p[i] = (unsigned char)(i * 31 + seq + id);
    uint32_t sum = checksum(p, len - 4);
    memcpy(p + len - 4, &sum, 4);
}

/* 0 and the id and seq of a sound message, else -1. */
static int read_message(const unsigned char *p, size_t len, unsigned *id, uint32_t *seq) {
    uint32_t sum;
    if (len < 12) return -1;
    memcpy(&sum, p + len - 4, 4);
    if (sum != checksum(p, len - 4)) return -1;
    *id = p[0];
    memcpy(seq, p + 1, 4);
    return 0;
}

static uint64_t xorshift(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void refusals(void) {
    rshm_channel *ch = (rshm_channel *)1;
    rshm_options opts = channel_opts(0x525a6d01, RSHM_CHANNEL_MANY_SENDERS | RSHM_CHANNEL_BROADCAST, 0);
    CHECK(rshm_channel_create(&opts, 1024, RSHM_CHANNEL_RECEIVER, &ch) == RSHM_ERR_INVALID_ARGUMENT && ch == NULL,
          "both shapes");
    CHECK(strstr(rshm_last_error(), "together") != NULL, "%s", rshm_last_error());
    opts = channel_opts(0x525a6d01, 0, 4);
    CHECK(rshm_channel_create(&opts, 1024, RSHM_CHANNEL_RECEIVER, &ch) == RSHM_ERR_INVALID_ARGUMENT,
          "max_peers on a pair");
    CHECK(strstr(rshm_last_error(), "max_peers") != NULL, "%s", rshm_last_error());
    opts = channel_opts(0x525a6d01, RSHM_CHANNEL_MANY_SENDERS, 5000);
    CHECK(rshm_channel_create(&opts, 1024, RSHM_CHANNEL_RECEIVER, &ch) == RSHM_ERR_INVALID_ARGUMENT,
          "max_peers too large");
    opts = channel_opts(0x525a6d01, RSHM_CREATE, 0);
    CHECK(rshm_channel_create(&opts, 1024, RSHM_CHANNEL_RECEIVER, &ch) == RSHM_ERR_INVALID_ARGUMENT,
          "RSHM_CREATE at channel_create");
    CHECK(strstr(rshm_last_error(), "RSHM_CREATE does not apply to a channel") != NULL, "%s", rshm_last_error());
    opts = channel_opts(0x525a6d01, RSHM_HUGE_PAGES, 0);
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &ch) == RSHM_ERR_INVALID_ARGUMENT, "huge pages, channel");
    opts = channel_opts(0x525a6d01, 0, 2);
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &ch) == RSHM_ERR_INVALID_ARGUMENT, "max_peers at open");
    rshm_segment *seg = (rshm_segment *)1;
    opts = channel_opts(IPC_PRIVATE, RSHM_CREATE | RSHM_CHANNEL_BROADCAST, 0);
    opts.size = 64;
    CHECK(rshm_open(&opts, &seg) == RSHM_ERR_INVALID_ARGUMENT && seg == NULL, "a channel flag at rshm_open");
    CHECK(strstr(rshm_last_error(), "RSHM_CHANNEL_BROADCAST does not apply to a segment") != NULL, "%s",
          rshm_last_error());
    opts = channel_opts(IPC_PRIVATE, RSHM_CREATE, 3);
    opts.size = 64;
    CHECK(rshm_open(&opts, &seg) == RSHM_ERR_INVALID_ARGUMENT, "max_peers at rshm_open");
    rshm_sem *sem = (rshm_sem *)1;
    opts = channel_opts(IPC_PRIVATE, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE, 0);
    CHECK(rshm_sem_open(&opts, 0, &sem) == RSHM_ERR_INVALID_ARGUMENT && sem == NULL, "remove-on-close, semaphore");
    CHECK(strstr(rshm_last_error(), "RSHM_REMOVE_ON_CLOSE does not apply to a semaphore") != NULL, "%s",
          rshm_last_error());
    opts = channel_opts(IPC_PRIVATE, RSHM_CREATE, 1);
    CHECK(rshm_sem_open(&opts, 0, &sem) == RSHM_ERR_INVALID_ARGUMENT, "max_peers, semaphore");
    /* An older caller's struct (no max_peers) still works; init zeroes max_peers. */
    rshm_options init;
    memset(&init, 0xff, sizeof init);
    rshm_options_init(&init);
    CHECK(init.max_peers == 0 && init.struct_size == sizeof(rshm_options), "rshm_options_init");
    struct {
        rshm_options today;
        unsigned char garbage[8];
    } older;
    memset(&older, 0xab, sizeof older);
    older.today = channel_opts(0x525a6d02, RSHM_REMOVE_ON_CLOSE | RSHM_CHANNEL_MANY_SENDERS, 0);
    older.today.struct_size = offsetof(rshm_options, max_peers);
    /* The bytes past the old layout (max_peers here) are not read. */
    memset(&older.today.max_peers, 0xab, sizeof older.today.max_peers);
    CHECK(rshm_channel_create(&older.today, 1024, RSHM_CHANNEL_RECEIVER, &ch) == RSHM_OK, "%s", rshm_last_error());
    rshm_channel_close(ch);
    CHECK(rshm_channel_missed(NULL) == 0, "missed(NULL)");
}

/* A sender process: `count` messages of random sizes, copied or reserved.
 * It says on `opened` that its end is open: a receiver whose senders have
 * all come and gone is at the end of its stream (RSHM_ERR_CLOSED), so the
 * test starts receiving only once every sender holds its slot. */
static int sender(key_t key, unsigned id, uint32_t count, int opened) {
    rshm_options opts = channel_opts(key, 0, 0);
    rshm_channel *tx;
    if (rshm_channel_open(&opts, RSHM_CHANNEL_SENDER, &tx) != RSHM_OK) return 10;
    if (write(opened, "o", 1) != 1) return 14;
    close(opened);
    uint64_t state = 0x9e3779b97f4a7c15ull ^ id;
    unsigned char buf[3000];
    for (uint32_t seq = 0; seq < count; seq++) {
        size_t len = 12 + xorshift(&state) % 2000;
        if (len <= rshm_channel_max_reservation(tx) && xorshift(&state) % 2 == 0) {
            void *room;
            if (rshm_channel_reserve(tx, len, &room, -1) != RSHM_OK) return 11;
            make_message(room, len, id, seq);
            if (rshm_channel_commit(tx, len) != RSHM_OK) return 12;
        } else {
            make_message(buf, len, id, seq);
            if (rshm_channel_send(tx, buf, len, -1) != RSHM_OK) return 13;
        }
    }
    rshm_channel_close(tx);
    return 0;
}

static void many_senders(void) {
    const key_t key = 0x525a6d10;
    const uint32_t per_sender = harness_under_valgrind() ? 100 : 2000;
    rshm_options opts = channel_opts(key, RSHM_REMOVE_ON_CLOSE | RSHM_CHANNEL_MANY_SENDERS, 5);
    rshm_channel *rx;
    CHECK(rshm_channel_create(&opts, 4096, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_OK, "%s", rshm_last_error());
    pid_t pids[4];
    int opened[2];
    CHECK(pipe(opened) == 0, "pipe");
    for (unsigned id = 0; id < 4; id++) {
        pids[id] = fork();
        if (pids[id] == 0) {
            close(opened[0]);
            _exit(sender(key, id, per_sender, opened[1]));
        }
    }
    close(opened[1]);
    char said[4];
    size_t heard = 0;
    for (ssize_t n; heard < sizeof said && (n = read(opened[0], said + heard, sizeof said - heard)) > 0;)
        heard += (size_t)n;
    close(opened[0]);
    CHECK(heard == 4, "every sender opened its end (%zu of 4 said so)", heard);
    uint32_t expected[4] = {0, 0, 0, 0};
    unsigned char buf[4096];
    int bad = 0;
    for (unsigned long turn = 0; !bad && (expected[0] < per_sender || expected[1] < per_sender ||
                                         expected[2] < per_sender || expected[3] < per_sender);
         turn++) {
        unsigned id;
        uint32_t seq;
        size_t len = 0;
        if (turn % 3 == 0) {
            const void *lent;
            rshm_status st = rshm_channel_peek(rx, &lent, &len, 10000);
            if (st == RSHM_OK) {
                memcpy(buf, lent, len);
                st = rshm_channel_release(rx);
            } else if (st == RSHM_ERR_OUT_OF_BOUNDS) {
                st = rshm_channel_recv(rx, buf, sizeof buf, &len, 10000);
            }
            if (st != RSHM_OK) bad = 1;
        } else if (rshm_channel_recv(rx, buf, sizeof buf, &len, 10000) != RSHM_OK) {
            bad = 2;
        }
        if (!bad && (read_message(buf, len, &id, &seq) != 0 || id > 3 || seq != expected[id])) bad = 3;
        if (!bad) expected[id]++;
    }
    CHECK(!bad, "every message once, in each sender's order (%d): %s", bad, rshm_last_error());
    for (int i = 0; i < 4; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sender %d: %d", i, status);
    }
    size_t len = 99;
    CHECK(rshm_channel_recv(rx, buf, sizeof buf, &len, 1000) == RSHM_ERR_CLOSED && len == 0, "the end: %s",
          rshm_last_error());
    rshm_channel_close(rx);
}

static void killed_mid_message(void) {
    const key_t key = 0x525a6d20;
    rshm_options opts = channel_opts(key, RSHM_REMOVE_ON_CLOSE | RSHM_CHANNEL_MANY_SENDERS, 2);
    rshm_channel *rx, *steady;
    CHECK(rshm_channel_create(&opts, 1024, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_OK, "%s", rshm_last_error());
    opts = channel_opts(key, RSHM_CHANNEL_MANY_SENDERS, 0);
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_SENDER, &steady) == RSHM_OK, "%s", rshm_last_error());
    unsigned char buf[1024];
    uint32_t steady_seq = 0;
    for (uint32_t round = 0; round < 4; round++) {
        int ready[2];
        CHECK(pipe(ready) == 0, "pipe");
        pid_t pid = fork();
        if (pid == 0) {
            rshm_channel *tx;
            unsigned char msg[40];
            void *room;
            if (rshm_channel_open(&opts, RSHM_CHANNEL_SENDER, &tx) != RSHM_OK) _exit(10);
            make_message(msg, sizeof msg, 2, round);
            if (rshm_channel_send(tx, msg, sizeof msg, -1) != RSHM_OK) _exit(11);
            if (rshm_channel_reserve(tx, 100, &room, -1) != RSHM_OK) _exit(12);
            memset(room, 0xee, 100);
            if (write(ready[1], "r", 1) != 1) _exit(13);
            pause();
            _exit(0);
        }
        char byte;
        CHECK(read(ready[0], &byte, 1) == 1, "the child reserved");
        /* A third sender while two hold the slots: RSHM_ERR_NO_SPACE. */
        rshm_channel *extra = (rshm_channel *)1;
        CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_SENDER, &extra) == RSHM_ERR_NO_SPACE && extra == NULL,
              "max_peers: %s", rshm_last_error());
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(ready[0]);
        close(ready[1]);
        /* The steady sender goes on; the dead one's committed message comes, its reservation never. */
        int seen = 0, wrong = 0;
        for (int i = 0; i < 20; i++) {
            unsigned char msg[40];
            make_message(msg, sizeof msg, 1, steady_seq + (uint32_t)i);
            if (rshm_channel_send(steady, msg, sizeof msg, 1000) != RSHM_OK) wrong = 1;
        }
        for (int i = 0; i < 21; i++) {
            size_t len;
            unsigned id;
            uint32_t seq;
            if (rshm_channel_recv(rx, buf, sizeof buf, &len, 1000) != RSHM_OK ||
                read_message(buf, len, &id, &seq) != 0) {
                wrong = 2;
                break;
            }
            if (id == 1 && seq == steady_seq) steady_seq++;
            else if (id == 2 && seq == round && !seen) seen = 1;
            else wrong = 3;
        }
        CHECK(!wrong && seen, "round %u: %d %d %s", round, wrong, seen, rshm_last_error());
        /* The receiver frees the dead sender's slot once it is judged gone (every 50 ms). */
        size_t len;
        rshm_status st = rshm_channel_recv(rx, buf, sizeof buf, &len, 120);
        CHECK(st == RSHM_ERR_TIMEOUT, "%s", rshm_status_str(st));
    }
    rshm_channel_close(steady);
    rshm_channel_close(rx);
}

static void broadcast(void) {
    const key_t key = 0x525a6d30;
    rshm_options opts = channel_opts(key, RSHM_REMOVE_ON_CLOSE | RSHM_CHANNEL_BROADCAST, 2);
    rshm_channel *tx, *rx, *late;
    CHECK(rshm_channel_create(&opts, 1024, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
    unsigned char msg[24], buf[512];
    memset(msg, 0, sizeof msg);
    msg[0] = 0xff;
    CHECK(rshm_channel_send(tx, msg, sizeof msg, 0) == RSHM_OK, "a send with no receiver");
    opts = channel_opts(key, RSHM_CHANNEL_MANY_SENDERS, 0);
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_ERR_INVALID_ARGUMENT, "wrong shape");
    CHECK(strstr(rshm_last_error(), "broadcast") != NULL, "%s", rshm_last_error());
    opts = channel_opts(key, 0, 0);
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_OK, "%s", rshm_last_error());
    /* Lapped: 40-byte records, 25 to a ring; 100 sent. */
    for (uint32_t seq = 0; seq < 100; seq++) {
        memcpy(msg, &seq, 4);
        rshm_channel_try_send(tx, msg, sizeof msg);
    }
    size_t len = 7;
    CHECK(rshm_channel_recv(rx, buf, sizeof buf, &len, 1000) == RSHM_ERR_LAGGED && len == 0, "lagged: %s",
          rshm_last_error());
    uint64_t missed = rshm_channel_missed(rx);
    CHECK(missed >= 75 && missed < 100, "missed %llu", (unsigned long long)missed);
    int in_order = 1;
    for (uint32_t seq = (uint32_t)missed; seq < 100; seq++) {
        uint32_t got = 0;
        if (rshm_channel_try_recv(rx, buf, sizeof buf, &len) != RSHM_OK || len != 24) in_order = 0;
        memcpy(&got, buf, 4);
        if (got != seq) in_order = 0;
    }
    CHECK(in_order, "the oldest message, then in order: %s", rshm_last_error());
    /* Opened mid-stream: only what comes after. */
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &late) == RSHM_OK, "%s", rshm_last_error());
    uint32_t seq = 100;
    memcpy(msg, &seq, 4);
    CHECK(rshm_channel_send(tx, msg, sizeof msg, 0) == RSHM_OK, "send");
    uint32_t got = 0;
    CHECK(rshm_channel_recv(late, buf, sizeof buf, &len, 1000) == RSHM_OK && memcpy(&got, buf, 4) && got == 100,
          "mid-stream: %u", got);
    /* Lent while overwritten: release answers LAGGED. */
    const void *lent;
    CHECK(rshm_channel_peek(rx, &lent, &len, 1000) == RSHM_OK && len == 24, "%s", rshm_last_error());
    for (seq = 101; seq < 200; seq++) rshm_channel_send(tx, msg, sizeof msg, 0);
    CHECK(rshm_channel_release(rx) == RSHM_ERR_LAGGED, "%s", rshm_last_error());
    CHECK(rshm_channel_missed(rx) > missed, "missed grows");
    /* Both slots held: a third receiver gets NO_SPACE; a killed receiver's slot is taken over. */
    rshm_channel *third = (rshm_channel *)1;
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &third) == RSHM_ERR_NO_SPACE && third == NULL, "%s",
          rshm_last_error());
    rshm_channel_close(late);
    int ready[2];
    CHECK(pipe(ready) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        rshm_channel *mine;
        if (rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &mine) != RSHM_OK) _exit(10);
        if (write(ready[1], "o", 1) != 1) _exit(11);
        rshm_channel_recv(mine, buf, sizeof buf, &len, -1);
        _exit(0);
    }
    char byte;
    CHECK(read(ready[0], &byte, 1) == 1, "the child opened");
    usleep(20000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    for (seq = 0; seq < 1000; seq++) CHECK(rshm_channel_send(tx, msg, sizeof msg, 0) == RSHM_OK, "never waits");
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &third) == RSHM_OK, "taken over: %s", rshm_last_error());
    rshm_channel_close(third);
    rshm_channel_close(tx);
    /* The sender closed: what remains, then CLOSED. */
    rshm_status st;
    do st = rshm_channel_try_recv(rx, buf, sizeof buf, &len);
    while (st == RSHM_OK || st == RSHM_ERR_LAGGED);
    CHECK(st == RSHM_ERR_CLOSED, "%s", rshm_status_str(st));
    rshm_channel_close(rx);
}

/* A writer of the segment rewrites words: calls fail with statuses, never
 * reach outside the segment (valgrind watches), never hang. */
static void hostile(void) {
    const key_t key = 0x525a6d40;
    rshm_options opts = channel_opts(key, RSHM_REMOVE_ON_CLOSE | RSHM_CHANNEL_MANY_SENDERS, 2);
    rshm_channel *rx, *bad, *good;
    CHECK(rshm_channel_create(&opts, 1024, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_OK, "%s", rshm_last_error());
    opts = channel_opts(key, 0, 0);
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_SENDER, &bad) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_SENDER, &good) == RSHM_OK, "%s", rshm_last_error());
    unsigned char *seg = shmat(shmget(key, 0, 0), NULL, 0);
    CHECK(seg != (void *)-1, "attach");
    CHECK(rshm_channel_send(bad, "one", 3, 0) == RSHM_OK, "send");
    uint64_t garbage = UINT64_MAX - 7;
    memcpy(seg + 192 + 2 * 192, &garbage, 8); /* slot 0's ring: its first length word */
    CHECK(rshm_channel_send(good, "fine", 4, 0) == RSHM_OK, "send");
    unsigned char buf[64];
    size_t len;
    int corrupt = 0, fine = 0;
    for (int i = 0; i < 3; i++) {
        rshm_status st = rshm_channel_recv(rx, buf, sizeof buf, &len, 100);
        if (st == RSHM_ERR_CORRUPT) corrupt++;
        else if (st == RSHM_OK && len == 4 && memcmp(buf, "fine", 4) == 0) fine++;
    }
    CHECK(corrupt == 1 && fine == 1, "one CORRUPT, the other sender's message: %d %d", corrupt, fine);
    /* The receiver's tail in slot 1, rewritten: the sender refuses it when it needs room. */
    uint64_t tail = 1024 * 7 + 5;
    rshm_status st = RSHM_OK;
    for (int i = 0; i < 80 && st == RSHM_OK; i++) {
        memcpy(seg + 192 + 192 + 128, &tail, 8);
        st = rshm_channel_send(good, "0123456789abcdef", 16, 50);
    }
    CHECK(st == RSHM_ERR_CORRUPT, "%s", rshm_last_error());
    rshm_channel_close(bad);
    rshm_channel_close(good);
    rshm_channel_close(rx);
    shmdt(seg);

    /* Broadcast: the cursor rewritten. */
    const key_t bkey = 0x525a6d41;
    opts = channel_opts(bkey, RSHM_REMOVE_ON_CLOSE | RSHM_CHANNEL_BROADCAST, 1);
    rshm_channel *tx;
    CHECK(rshm_channel_create(&opts, 1024, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
    opts = channel_opts(bkey, 0, 0);
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_OK, "%s", rshm_last_error());
    seg = shmat(shmget(bkey, 0, 0), NULL, 0);
    CHECK(seg != (void *)-1, "attach");
    CHECK(rshm_channel_send(tx, "hello", 5, 0) == RSHM_OK, "send");
    uint64_t words[][3] = {{0, 0, 0}, {1024 * 50 + 8, 1024 * 50 + 8, 1024 * 49 + 3}, {UINT64_MAX - 7, UINT64_MAX, 8}};
    int sound = 1;
    for (int i = 0; i < 3; i++) {
        memcpy(seg + 64, words[i], 24); /* head, intent, oldest */
        for (int j = 0; j < 3; j++) {
            st = rshm_channel_recv(rx, buf, sizeof buf, &len, 10);
            if (st != RSHM_OK && st != RSHM_ERR_CORRUPT && st != RSHM_ERR_LAGGED && st != RSHM_ERR_TIMEOUT) sound = 0;
            if (st == RSHM_OK && len > sizeof buf) sound = 0;
        }
    }
    CHECK(sound, "statuses only: %s", rshm_last_error());
    for (int i = 0; i < 100; i++) CHECK(rshm_channel_send(tx, "x", 1, 0) == RSHM_OK, "the sender goes on");
    rshm_channel_close(rx);
    rshm_channel_close(tx);
    shmdt(seg);
}

int main(void) {
    enter_private_ipc_namespace();
    refusals();
    many_senders();
    killed_mid_message();
    broadcast();
    hostile();
    return harness_summary("channels_many");
}
