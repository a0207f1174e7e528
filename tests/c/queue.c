/* The message queue handle API (rshm_queue_*): NULLs, options that do not
 * apply to a queue, msgrcv's type rules, a message longer than the buffer,
 * timeouts, removal under a waiting process, and the owner check. */
#include "harness.h"

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rshm.h"

static rshm_options queue_options(key_t key, unsigned flags) {
    rshm_options opts = RSHM_OPTIONS_INIT;
    opts.key = key;
    opts.flags = flags;
    return opts;
}

static void test_null_pointers(void) {
    rshm_options opts = queue_options(IPC_PRIVATE, RSHM_CREATE);
    rshm_queue *q = (rshm_queue *)&opts;
    char buf[8];
    size_t len = 0;
    long type = 0;
    CHECK(rshm_queue_open(NULL, &q) == RSHM_ERR_NULL_POINTER && q == NULL, "queue_open(NULL opts)");
    CHECK(rshm_queue_open(&opts, NULL) == RSHM_ERR_NULL_POINTER, "queue_open(NULL out)");
    CHECK(rshm_queue_send(NULL, 1, buf, 1, 0) == RSHM_ERR_NULL_POINTER, "queue_send(NULL)");
    CHECK(rshm_queue_recv(NULL, 0, buf, 8, &len, &type, 0) == RSHM_ERR_NULL_POINTER, "queue_recv(NULL)");
    CHECK(rshm_queue_remove(NULL) == RSHM_ERR_NULL_POINTER, "queue_remove(NULL)");
    rshm_queue_close(NULL);
    CHECK(rshm_queue_open(&opts, &q) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_queue_send(q, 1, NULL, 0, 0) == RSHM_ERR_NULL_POINTER, "queue_send(NULL msg, 0)");
    CHECK(strcmp(rshm_last_error(), "rshm_queue_send: msg is NULL (EFAULT)") == 0, "%s", rshm_last_error());
    CHECK(rshm_queue_recv(q, 0, NULL, 0, &len, &type, 0) == RSHM_ERR_NULL_POINTER, "queue_recv(NULL buf)");
    CHECK(rshm_queue_recv(q, 0, buf, 8, NULL, &type, 0) == RSHM_ERR_NULL_POINTER, "queue_recv(NULL len)");
    CHECK(rshm_queue_remove(q) == RSHM_OK, "%s", rshm_last_error());
    rshm_queue_close(q);
}

static void test_options_that_do_not_apply(void) {
    static const struct { unsigned flag; const char *name; } flags[] = {
        {RSHM_READ_ONLY, "RSHM_READ_ONLY"}, {RSHM_REMOVE_ON_CLOSE, "RSHM_REMOVE_ON_CLOSE"},
        {RSHM_HUGE_PAGES, "RSHM_HUGE_PAGES"}, {RSHM_PREFAULT, "RSHM_PREFAULT"}, {RSHM_BY_ID, "RSHM_BY_ID"},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        rshm_options opts = queue_options(IPC_PRIVATE, RSHM_CREATE | flags[i].flag);
        rshm_queue *q = NULL;
        CHECK(rshm_queue_open(&opts, &q) == RSHM_ERR_INVALID_ARGUMENT && q == NULL, "%s", flags[i].name);
        CHECK(strstr(rshm_last_error(), flags[i].name) != NULL, "%s", rshm_last_error());
    }
    rshm_options opts = queue_options(IPC_PRIVATE, RSHM_CREATE);
    opts.size = 4096;
    rshm_queue *q = NULL;
    CHECK(rshm_queue_open(&opts, &q) == RSHM_ERR_INVALID_ARGUMENT && q == NULL, "a size");
    CHECK(strstr(rshm_last_error(), "a queue has no size") != NULL, "%s", rshm_last_error());
    opts = queue_options(IPC_PRIVATE, 0);
    CHECK(rshm_queue_open(&opts, &q) == RSHM_ERR_INVALID_ARGUMENT, "IPC_PRIVATE without RSHM_CREATE");
    opts = queue_options(0x52535101, 0);
    CHECK(rshm_queue_open(&opts, &q) == RSHM_ERR_NOT_FOUND, "no queue for the key: %s", rshm_last_error());
}

static void test_type_rules_and_lengths(void) {
    rshm_options opts = queue_options(0x52535102, RSHM_CREATE | RSHM_EXCLUSIVE);
    rshm_queue *q = NULL, *again = NULL;
    CHECK(rshm_queue_open(&opts, &q) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_queue_open(&opts, &again) == RSHM_ERR_EXISTS && again == NULL, "exclusive twice");
    opts.flags = 0;
    CHECK(rshm_queue_open(&opts, &again) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_queue_send(q, 3, "three", 5, -1) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_queue_send(q, 1, "one", 3, 0) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_queue_send(q, 0, "zero", 4, 0) == RSHM_ERR_INVALID_ARGUMENT, "type 0");
    CHECK(strstr(rshm_last_error(), "type must be greater than 0") != NULL, "%s", rshm_last_error());
    char buf[16] = {0};
    size_t len = 99;
    long type = 0;
    CHECK(rshm_queue_recv(again, -2, buf, sizeof buf, &len, &type, 0) == RSHM_OK, "%s", rshm_last_error());
    CHECK(len == 3 && type == 1 && memcmp(buf, "one", 3) == 0, "lowest up to 2: %zu %ld", len, type);
    CHECK(rshm_queue_recv(again, 0, buf, 2, &len, &type, 0) == RSHM_ERR_OUT_OF_BOUNDS, "too long");
    CHECK(len == 5, "the length of the message that stays: %zu", len);
    CHECK(rshm_queue_recv(again, 3, buf, sizeof buf, &len, NULL, 0) == RSHM_OK && len == 5, "type 3, NULL type_out");
    CHECK(rshm_queue_recv(again, 0, buf, sizeof buf, &len, &type, 0) == RSHM_ERR_WOULD_BLOCK, "empty");
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK(rshm_queue_recv(again, 0, buf, sizeof buf, &len, &type, 30) == RSHM_ERR_TIMEOUT, "timeout");
    clock_gettime(CLOCK_MONOTONIC, &end);
    long waited = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
    CHECK(waited >= 30, "waited %ld ms", waited);
    rshm_queue_close(again);
    CHECK(rshm_queue_remove(q) == RSHM_OK, "%s", rshm_last_error());
    rshm_queue_close(q);
}

static void test_removal_under_a_waiting_process(void) {
    rshm_options opts = queue_options(0x52535103, RSHM_CREATE | RSHM_EXCLUSIVE);
    rshm_queue *q = NULL;
    CHECK(rshm_queue_open(&opts, &q) == RSHM_OK, "%s", rshm_last_error());
    pid_t pid = fork();
    if (pid == 0) {
        char buf[8];
        size_t len;
        _exit(rshm_queue_recv(q, 0, buf, sizeof buf, &len, NULL, -1) == RSHM_ERR_REMOVED ? 0 : 1);
    }
    /* The child waits in msgrcv: remove the queue under it once it is there. */
    for (int i = 0; i < 2000; i++) {
        char path[64], stat[32] = "";
        snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
        FILE *f = fopen(path, "r");
        if (f != NULL) {
            if (fgets(stat, sizeof stat, f) == NULL) stat[0] = 0;
            fclose(f);
        }
        if (atoi(stat) == 70 /* msgrcv on x86_64 */ || atoi(stat) == 188 /* aarch64 */) break;
        usleep(1000);
    }
    CHECK(rshm_queue_remove(q) == RSHM_OK, "%s", rshm_last_error());
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the waiting child did not end with RSHM_ERR_REMOVED");
    rshm_queue_close(q);
}

static void test_verify_owner(void) {
    rshm_options opts = queue_options(0x52535104, RSHM_CREATE | RSHM_EXCLUSIVE);
    opts.mode = 0666; /* open to all: only the owner check can refuse it */
    rshm_queue *q = NULL;
    CHECK(rshm_queue_open(&opts, &q) == RSHM_OK, "%s", rshm_last_error());
    pid_t pid = fork();
    if (pid == 0) {
        /* Another user (a squatter would be one) made it: refused. */
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
        rshm_options mine = queue_options(0x52535104, RSHM_CREATE | RSHM_VERIFY_OWNER);
        rshm_queue *theirs = NULL;
        rshm_status st = rshm_queue_open(&mine, &theirs);
        _exit(st == RSHM_ERR_OWNER_MISMATCH && theirs == NULL ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "owner check");
    opts.flags = RSHM_VERIFY_OWNER;
    rshm_queue *again = NULL;
    CHECK(rshm_queue_open(&opts, &again) == RSHM_OK, "the creator passes its own check: %s", rshm_last_error());
    rshm_queue_close(again);
    CHECK(rshm_queue_remove(q) == RSHM_OK, "%s", rshm_last_error());
    rshm_queue_close(q);
}

int main(void) {
    enter_private_ipc_namespace();
    test_null_pointers();
    test_options_that_do_not_apply();
    test_type_rules_and_lengths();
    test_removal_under_a_waiting_process();
    test_verify_owner();
    return harness_summary("queue");
}
