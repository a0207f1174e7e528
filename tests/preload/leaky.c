/* leaky MODE [KEY]: for the preload's RSHM_LEAK_CHECK tests. Plain libc calls:
 * the preload takes them over. KEY is a hexadecimal key (default 0x5253ee01).
 *   leak, clean  make a keyed segment (KEY) and a private one that they
 *                remove; "leak" leaves the keyed one behind.
 *   handoff      makes a keyed segment (KEY) that a child process attaches
 *                and detaches, and leaves it to others, as PostgreSQL does
 *                with its dynamic shared memory.
 *   make         makes a keyed segment (KEY) and exits, leaving it.
 *   remove       attaches the segment of KEY, detaches it and removes it.
 *   daemon       makes a keyed segment (KEY) and forks a child that outlives
 *                it: the parent exits at once; the child clears its
 *                environment, waits 300 ms, then removes the segment.
 *   hold         makes a keyed segment (KEY), attaches it, says "holding" and
 *                waits to be killed.
 *   xvfb         makes a keyed segment (KEY), attaches it and exits with it
 *                attached, never removed (as Xvfb leaves its framebuffer). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static key_t key = 0x5253ee01;

static int make(void) {
    int id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) { perror("leaky: shmget"); exit(1); }
    return id;
}

static int handoff(void) {
    int id = make();
    pid_t pid = fork();
    if (pid == 0) {
        char *p = shmat(id, NULL, 0);
        if (p == (void *)-1) _exit(1);
        strcpy(p, "yours");
        _exit(shmdt(p) == 0 ? 0 : 1);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "leaky: the child could not attach\n");
        return 1;
    }
    printf("leaky: handed off\n");
    return 0;
}

static int remove_it(void) {
    int id = shmget(key, 0, 0);
    void *p = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
    if (p == (void *)-1 || shmdt(p) != 0 || shmctl(id, IPC_RMID, NULL) != 0) { perror("leaky: remove"); return 1; }
    printf("leaky: removed\n");
    return 0;
}

static int daemon_child(void) {
    make();
    pid_t pid = fork();
    if (pid < 0) { perror("leaky: fork"); return 1; }
    if (pid > 0) return 0; /* the launcher is done; the daemon goes on */
    clearenv();
    usleep(300 * 1000);
    return remove_it();
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (argc > 2) key = (key_t)strtoul(argv[2], NULL, 16);
    if (strcmp(mode, "handoff") == 0) return handoff();
    if (strcmp(mode, "make") == 0) return make(), 0;
    if (strcmp(mode, "remove") == 0) return remove_it();
    if (strcmp(mode, "daemon") == 0) return daemon_child();
    if (strcmp(mode, "hold") == 0 || strcmp(mode, "xvfb") == 0) {
        if (shmat(make(), NULL, 0) == (void *)-1) { perror("leaky: shmat"); return 1; }
        if (mode[0] == 'x') return 0;
        printf("holding\n");
        fflush(stdout);
        for (;;) pause();
    }
    int leak = strcmp(mode, "leak") == 0;
    if (!leak && strcmp(mode, "clean") != 0) { fprintf(stderr, "usage: leaky leak|clean|handoff|make|remove|daemon|hold|xvfb [KEY]\n"); return 2; }
    int keyed = shmget(key, 4096, IPC_CREAT | 0600);
    int private_id = shmget(IPC_PRIVATE, 100, IPC_CREAT | 0600);
    if (keyed < 0 || private_id < 0) { perror("shmget"); return 1; }
    void *addr = shmat(keyed, NULL, 0);
    if (addr == (void *)-1 || shmdt(addr) != 0) { perror("shmat/shmdt"); return 1; }
    void *kept = shmat(private_id, NULL, 0); /* still attached at exit: removed, so no leak */
    if (kept == (void *)-1 || shmctl(private_id, IPC_RMID, NULL) != 0) { perror("private"); return 1; }
    if (!leak && shmctl(keyed, IPC_RMID, NULL) != 0) { perror("IPC_RMID"); return 1; }
    printf("leaky: done\n");
    return 0;
}
