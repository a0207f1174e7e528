/* stress PROCS SECONDS: PROCS processes share one segment through the handle
 * API. Each owns a slot that it rewrites under a seqlock (sequence odd while
 * writing) with a checksum, and reads the others' slots; a read with a stable,
 * even sequence must always pass its checksum (no torn write seen), and at
 * the end every slot's sequence must account for every write its owner made
 * (no lost write). Exits 0 and prints the totals when all holds. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rshm.h"

#define SLOT 4096
#define DATA (SLOT - 24)
#define KEY 0x52535354

struct slot_header {
    uint64_t seq;      /* odd while its owner writes */
    uint32_t len;      /* bytes of data */
    uint32_t checksum; /* FNV-1a of the data */
    uint64_t writes;   /* completed writes */
};

struct totals {
    uint64_t writes, reads, retries, torn;
};

static uint32_t fnv1a(const unsigned char *data, size_t len) {
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < len; i++) hash = (hash ^ data[i]) * 16777619u;
    return hash;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int worker(int me, int procs, double seconds, int report) {
    rshm_options opts;
    memset(&opts, 0, sizeof opts);
    opts.key = KEY;
    opts.size = (size_t)procs * SLOT;
    rshm_segment *seg = NULL;
    if (rshm_open(&opts, &seg) != RSHM_OK) {
        fprintf(stderr, "worker %d: %s\n", me, rshm_last_error());
        return 1;
    }
    unsigned char *base = rshm_data(seg);
    uint64_t *my_seq = (uint64_t *)(base + (size_t)me * SLOT);
    struct totals totals = {0, 0, 0, 0};
    unsigned int rng = (unsigned int)me * 2654435761u + 1;
    unsigned char data[DATA], copy[DATA];
    double deadline = now() + seconds;
    while (now() < deadline) {
        /* write my slot */
        uint32_t len = rand_r(&rng) % DATA;
        for (uint32_t i = 0; i < len; i++) data[i] = (unsigned char)rand_r(&rng);
        struct slot_header header;
        rshm_read(seg, (size_t)me * SLOT, &header, sizeof header);
        __atomic_store_n(my_seq, header.seq + 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        header.seq += 2;
        header.len = len;
        header.checksum = fnv1a(data, len);
        header.writes = totals.writes + 1;
        if (rshm_write(seg, (size_t)me * SLOT + sizeof header, data, len) != RSHM_OK ||
            rshm_write(seg, (size_t)me * SLOT + 8, (char *)&header + 8, sizeof header - 8) != RSHM_OK) {
            fprintf(stderr, "worker %d: %s\n", me, rshm_last_error());
            return 1;
        }
        __atomic_store_n(my_seq, header.seq, __ATOMIC_RELEASE);
        totals.writes++;

        /* read someone else's */
        int other = (int)(rand_r(&rng) % (unsigned)procs);
        uint64_t *seq = (uint64_t *)(base + (size_t)other * SLOT);
        for (;;) {
            uint64_t before = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
            if (before & 1) { totals.retries++; sched_yield(); continue; }
            struct slot_header seen;
            rshm_read(seg, (size_t)other * SLOT, &seen, sizeof seen);
            uint32_t seen_len = seen.len < DATA ? seen.len : DATA;
            rshm_read(seg, (size_t)other * SLOT + sizeof seen, copy, seen_len);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
#ifndef STRESS_IGNORE_SEQLOCK /* defined only to check that torn reads are caught */
            if (__atomic_load_n(seq, __ATOMIC_RELAXED) != before) { totals.retries++; sched_yield(); continue; }
#endif
            if (before != 0 && fnv1a(copy, seen_len) != seen.checksum) totals.torn++;
            totals.reads++;
            break;
        }
    }
    rshm_close(seg);
    return write(report, &totals, sizeof totals) == sizeof totals ? 0 : 1;
}

int main(int argc, char **argv) {
    int procs = argc > 1 ? atoi(argv[1]) : 32;
    double seconds = argc > 2 ? atof(argv[2]) : 2;
    if (procs < 1 || procs > 1024) return 2;
    rshm_options opts;
    memset(&opts, 0, sizeof opts);
    opts.key = KEY;
    opts.size = (size_t)procs * SLOT;
    opts.flags = RSHM_CREATE | RSHM_EXCLUSIVE | RSHM_REMOVE_ON_CLOSE;
    rshm_segment *seg = NULL;
    if (rshm_open(&opts, &seg) != RSHM_OK) {
        fprintf(stderr, "stress: %s\n", rshm_last_error());
        return 1;
    }
    int pipes[1024][2];
    pid_t pids[1024];
    for (int i = 0; i < procs; i++) {
        if (pipe(pipes[i]) != 0) return 2;
        pids[i] = fork();
        if (pids[i] == 0) {
            alarm((unsigned)seconds + 30);
            _exit(worker(i, procs, seconds, pipes[i][1]));
        }
        close(pipes[i][1]);
    }
    struct totals all = {0, 0, 0, 0};
    int failed = 0;
    for (int i = 0; i < procs; i++) {
        struct totals t;
        int status;
        ssize_t n = read(pipes[i][0], &t, sizeof t);
        waitpid(pids[i], &status, 0);
        if (n != sizeof t || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "worker %d failed\n", i);
            failed = 1;
            continue;
        }
        struct slot_header header;
        rshm_read(seg, (size_t)i * SLOT, &header, sizeof header);
        unsigned char data[DATA];
        rshm_read(seg, (size_t)i * SLOT + sizeof header, data, header.len);
        if (header.seq != 2 * t.writes || header.writes != t.writes || fnv1a(data, header.len) != header.checksum) {
            fprintf(stderr, "slot %d: seq %llu for %llu writes: a write was lost or torn\n", i,
                    (unsigned long long)header.seq, (unsigned long long)t.writes);
            failed = 1;
        }
        all.writes += t.writes;
        all.reads += t.reads;
        all.retries += t.retries;
        all.torn += t.torn;
    }
    rshm_close(seg);
    printf("stress: %d processes, %.0f s: %llu writes, %llu verified reads (%llu retries), %llu torn, lost none: %s\n",
           procs, seconds, (unsigned long long)all.writes, (unsigned long long)all.reads,
           (unsigned long long)all.retries, (unsigned long long)all.torn, failed || all.torn ? "FAILED" : "ok");
    return failed || all.torn ? 1 : 0;
}
