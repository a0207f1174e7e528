/* trace_fd steps|rename|reuse TRACE: how the preload keeps its RSHM_TRACE file,
 * for tests/run/preload.sh. Each step makes and removes one segment (two traced
 * calls) between things a program may do to files and descriptors:
 *   steps   three steps and "done" on stdout, nothing else;
 *   rename  renames TRACE to TRACE.old between the steps: a file opened once
 *           keeps receiving lines (all four in TRACE.old, no new TRACE);
 *   reuse   finds the descriptor the preload holds on TRACE (it must hold one,
 *           and high, above 9), closes it and opens a file of its own on that
 *           number, as daemons do: the preload must notice, write nothing into
 *           the program's file, and go on tracing into TRACE. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

static void step(void) {
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0 || shmctl(id, IPC_RMID, NULL) != 0) { perror("shmget/shmctl"); exit(1); }
}

/* The descriptor that refers to `path`'s file, or -1. */
static int descriptor_of(const char *path) {
    struct stat want, have;
    if (stat(path, &want) != 0) return -1;
    for (int fd = 0; fd < 4096; fd++)
        if (fstat(fd, &have) == 0 && have.st_dev == want.st_dev && have.st_ino == want.st_ino) return fd;
    return -1;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "steps") == 0) {
        step(), step(), step();
        printf("done\n");
        return 0;
    }
    if (argc != 3) { fprintf(stderr, "usage: trace_fd steps|rename|reuse TRACE\n"); return 2; }
    const char *trace = argv[2];
    step();
    if (strcmp(argv[1], "rename") == 0) {
        char old[PATH_MAX];
        snprintf(old, sizeof old, "%s.old", trace);
        if (rename(trace, old) != 0) { perror("rename"); return 1; }
        step();
        return 0;
    }
    int fd = descriptor_of(trace);
    printf("trace descriptor: %d\n", fd);
    if (fd < 10) { fprintf(stderr, "trace_fd: the preload holds no high descriptor on %s\n", trace); return 1; }
    close(fd);
    int mine = open("mine", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (mine < 0 || (mine != fd && dup2(mine, fd) != fd)) { perror("mine"); return 1; }
    step();
    if (write(fd, "mine\n", 5) != 5) { perror("write"); return 1; }
    step();
    return 0;
}
