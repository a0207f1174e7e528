/* Crashes and exhausted limits: a process killed with SIGKILL while attached
 * leaves nothing that rshm marked for removal; lowered shmmni, shmall and
 * shmmax (inside this test's private IPC namespace) and a small RLIMIT_AS give
 * clear errors, create nothing half-way, and the process keeps working. */
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rshm.h"
#include "options.h"

static int segments(void) {
    struct shm_info info;
    shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info);
    return info.used_ids;
}

static void sysctl(const char *name, const char *value) {
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, value, strlen(value)) < 0) { perror(path); exit(2); }
    close(fd);
}


/* ---- SIGKILL while attached ---- */
enum how { HANDLE_REMOVED, HANDLE_PRIVATE_REMOVE_ON_CLOSE, LIBC_RMID, HANDLE_KEYED_REMOVE_ON_CLOSE };

static void child_attaches_then_waits(enum how how, int ready) {
    int ok = 0;
    rshm_segment *seg = NULL;
    if (how == HANDLE_REMOVED) {
        rshm_options opts = options(0x5253f001, 1 << 20, RSHM_CREATE);
        ok = rshm_open(&opts, &seg) == RSHM_OK && rshm_remove(seg) == RSHM_OK;
    } else if (how == HANDLE_PRIVATE_REMOVE_ON_CLOSE) {
        rshm_options opts = options(IPC_PRIVATE, 1 << 20, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
        ok = rshm_open(&opts, &seg) == RSHM_OK;
    } else if (how == LIBC_RMID) {
        int id = rshm_shmget(IPC_PRIVATE, 1 << 20, IPC_CREAT | 0600);
        ok = id >= 0 && rshm_shmat(id, NULL, 0) != (void *)-1 && rshm_shmctl(id, IPC_RMID, NULL) == 0;
    } else {
        rshm_options opts = options(0x5253f002, 4096, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
        ok = rshm_open(&opts, &seg) == RSHM_OK;
    }
    char byte = ok ? 'y' : 'n';
    if (write(ready, &byte, 1) != 1) _exit(3);
    pause(); /* SIGKILL arrives here, attached */
    _exit(4);
}

static void kill_while_attached(const char *what, enum how how, int survivors) {
    int fds[2];
    if (pipe(fds) != 0) exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child_attaches_then_waits(how, fds[1]);
    }
    close(fds[1]);
    char byte = 0;
    CHECK(read(fds[0], &byte, 1) == 1 && byte == 'y', "%s: the child could not attach", what);
    close(fds[0]);
    CHECK(segments() == 1, "%s: the segment exists while the child lives", what);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "%s: killed", what);
    CHECK(segments() == survivors, "%s: %d segment(s) left after SIGKILL, want %d", what, segments(), survivors);
}

static void test_sigkill(void) {
    kill_while_attached("handle, rshm_remove before the kill", HANDLE_REMOVED, 0);
    kill_while_attached("handle, private RSHM_REMOVE_ON_CLOSE", HANDLE_PRIVATE_REMOVE_ON_CLOSE, 0);
    kill_while_attached("libc-compatible, IPC_RMID before the kill", LIBC_RMID, 0);
    /* A keyed segment must stay findable until close, so SIGKILL leaves it (documented). */
    kill_while_attached("handle, keyed RSHM_REMOVE_ON_CLOSE", HANDLE_KEYED_REMOVE_ON_CLOSE, 1);
    struct shmid_ds ds;
    int id = shmget(0x5253f002, 0, 0);
    CHECK(id >= 0 && shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 0, "the keyed one is left, unattached");
    shmctl(id, IPC_RMID, NULL);
}

/* ---- exhausted limits ---- */
static void test_shmmni(void) {
    sysctl("shmmni", "2");
    rshm_segment *a = NULL, *b = NULL, *c = (rshm_segment *)1;
    rshm_options opts = options(IPC_PRIVATE, 4096, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
    CHECK(rshm_open(&opts, &a) == RSHM_OK && rshm_open(&opts, &b) == RSHM_OK, "two segments fit shmmni=2");
    CHECK(rshm_open(&opts, &c) == RSHM_ERR_NO_SPACE && c == NULL, "the third: %s", rshm_last_error());
    CHECK(strstr(rshm_last_error(), "kernel.shmmni") != NULL && strstr(rshm_last_error(), "(ENOSPC)") != NULL, "%s",
          rshm_last_error());
    CHECK(strstr(rshm_last_error(), "shmall") == NULL, "only the limit that was hit is named: %s", rshm_last_error());
    CHECK(rshm_shmget(IPC_PRIVATE, 10, IPC_CREAT | 0600) == -1 && errno == ENOSPC, "libc-compatible call too");
    CHECK(segments() == 2, "nothing half-created: %d", segments());
    rshm_close(b);
    CHECK(rshm_open(&opts, &c) == RSHM_OK, "after one closes, the process keeps working: %s", rshm_last_error());
    rshm_close(a);
    rshm_close(c);
    sysctl("shmmni", "4096");
}

static void test_shmall(void) {
    sysctl("shmall", "4"); /* pages */
    rshm_segment *a = NULL, *b = (rshm_segment *)1;
    rshm_options three = options(IPC_PRIVATE, 3 * 4096, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
    rshm_options two = options(IPC_PRIVATE, 2 * 4096, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
    CHECK(rshm_open(&three, &a) == RSHM_OK, "3 pages fit shmall=4: %s", rshm_last_error());
    CHECK(rshm_open(&two, &b) == RSHM_ERR_NO_SPACE && b == NULL, "2 more do not: %s", rshm_last_error());
    CHECK(strstr(rshm_last_error(), "kernel.shmall") != NULL, "%s", rshm_last_error());
    CHECK(strstr(rshm_last_error(), "shmmni") == NULL, "only the limit that was hit is named: %s", rshm_last_error());
    CHECK(segments() == 1, "nothing half-created");
    rshm_options one = options(IPC_PRIVATE, 4096, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
    CHECK(rshm_open(&one, &b) == RSHM_OK, "1 more still fits: %s", rshm_last_error());
    rshm_close(a);
    rshm_close(b);
    sysctl("shmall", "18446744073692774399");
}

static void test_shmmax(void) {
    sysctl("shmmax", "8192");
    rshm_segment *seg = (rshm_segment *)1;
    rshm_options big = options(IPC_PRIVATE, 8193, RSHM_CREATE);
    CHECK(rshm_open(&big, &seg) == RSHM_ERR_INVALID_ARGUMENT && seg == NULL, "beyond shmmax");
    CHECK(strstr(rshm_last_error(), "size exceeds the largest segment allowed (kernel.shmmax = 8192)") != NULL, "%s",
          rshm_last_error());
    CHECK(segments() == 0, "nothing created");
    rshm_options fits = options(IPC_PRIVATE, 8192, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
    CHECK(rshm_open(&fits, &seg) == RSHM_OK, "at shmmax: %s", rshm_last_error());
    rshm_close(seg);
    sysctl("shmmax", "18446744073692774399");
}

static void test_address_space(void) {
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit limit = {256 << 20, 256 << 20};
        if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(10);
        rshm_options huge = options(IPC_PRIVATE, (size_t)1 << 30, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
        rshm_segment *seg = (rshm_segment *)1;
        if (rshm_open(&huge, &seg) != RSHM_ERR_NO_MEMORY || seg != NULL) _exit(11);
        if (!strstr(rshm_last_error(), "no memory or address space is left to map the segment")) _exit(12);
        if (segments() != 0) _exit(13); /* the segment it made was removed again */
        rshm_options small = options(IPC_PRIVATE, 1 << 20, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
        if (rshm_open(&small, &seg) != RSHM_OK) _exit(14);
        rshm_close(seg);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "RLIMIT_AS: child gave %d", WEXITSTATUS(status));
}

int main(void) {
    enter_private_ipc_namespace();
    test_sigkill();
    test_shmmni();
    test_shmall();
    test_shmmax();
    test_address_space();
    CHECK(segments() == 0, "nothing left (%d)", segments());
    return harness_summary("crashes and limits");
}
