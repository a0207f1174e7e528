/* The seed demo's writer and reader as two processes, synchronised with a
 * semaphore instead of sleep(2): the writer fills the segment, then posts;
 * the reader waits (as long as it takes, and no longer), reads, and removes
 * the segment and the semaphore. Both use the same key, ftok("shmfile", 65). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rshm.h"

#define SHM_SIZE 1024

static rshm_options options(unsigned flags) {
    rshm_options opts;
    memset(&opts, 0, sizeof opts);
    opts.path = "shmfile";
    opts.proj_id = 65;
    opts.size = SHM_SIZE;
    opts.flags = flags;
    return opts;
}

static int fail(const char *who) {
    fprintf(stderr, "%s: %s\n", who, rshm_last_error());
    return 1;
}

static int writer(void) {
    rshm_options opts = options(0);
    rshm_segment *seg;
    rshm_sem *ready;
    if (rshm_open(&opts, &seg) != RSHM_OK) return fail("writer");
    if (rshm_sem_open(&opts, 0, &ready) != RSHM_OK) return fail("writer");
    printf("Writing to shared memory...\n");
    fflush(stdout);
    if (rshm_write_str(seg, 0, "Hello from shared memory!") != RSHM_OK) return fail("writer");
    if (rshm_sem_post(ready) != RSHM_OK) return fail("writer"); /* the signal outlives the writer */
    rshm_sem_close(ready);
    rshm_close(seg);
    return 0;
}

static int reader(void) {
    rshm_options opts = options(RSHM_READ_ONLY);
    rshm_options sem_opts = options(0); /* RSHM_READ_ONLY is for segments: a semaphore refuses it */
    rshm_segment *seg;
    rshm_sem *ready;
    char text[SHM_SIZE];
    if (rshm_open(&opts, &seg) != RSHM_OK) return fail("reader");
    if (rshm_sem_open(&sem_opts, 0, &ready) != RSHM_OK) return fail("reader");
    if (rshm_sem_wait(ready, 10000) != RSHM_OK) return fail("reader");
    if (rshm_read_str(seg, 0, text, sizeof text) != RSHM_OK) return fail("reader");
    printf("Data read from shared memory: %s\n", text);
    if (rshm_sem_remove(ready) != RSHM_OK || rshm_remove(seg) != RSHM_OK) return fail("reader");
    rshm_sem_close(ready);
    rshm_close(seg);
    printf("Shared memory removed.\n");
    return 0;
}

int main(void) {
    /* Make the segment and the semaphore before either process starts. */
    rshm_options opts = options(RSHM_CREATE | RSHM_EXCLUSIVE | RSHM_VERIFY_OWNER);
    rshm_segment *seg;
    rshm_sem *ready;
    if (rshm_open(&opts, &seg) != RSHM_OK) return fail("sem_demo");
    if (rshm_sem_open(&opts, 0, &ready) != RSHM_OK) {
        rshm_remove(seg);
        rshm_close(seg);
        return fail("sem_demo");
    }
    rshm_sem_close(ready);
    rshm_close(seg);

    pid_t read_pid = fork();
    if (read_pid == 0) exit(reader());
    pid_t write_pid = fork();
    if (write_pid == 0) exit(writer());
    int read_status, write_status;
    waitpid(write_pid, &write_status, 0);
    waitpid(read_pid, &read_status, 0);
    return WIFEXITED(read_status) && WEXITSTATUS(read_status) == 0 && WIFEXITED(write_status) &&
                   WEXITSTATUS(write_status) == 0
               ? 0
               : 1;
}
