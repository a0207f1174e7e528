/* leaky leak|clean|handoff: for the preload's RSHM_LEAK_CHECK test. Plain libc
 * calls: the preload takes them over.
 *   leak, clean  make a keyed segment (key 0x5253ee01) and a private one that
 *                they remove; "leak" leaves the keyed one behind.
 *   handoff      makes a keyed segment (key 0x5253ee02) that a child process
 *                attaches and detaches, and leaves it to others, as PostgreSQL
 *                does with its dynamic shared memory: handed off, not leaked. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static int handoff(void) {
    int id = shmget(0x5253ee02, 4096, IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) { perror("shmget"); return 1; }
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

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "handoff") == 0) return handoff();
    int leak = argc > 1 && strcmp(argv[1], "leak") == 0;
    int keyed = shmget(0x5253ee01, 4096, IPC_CREAT | 0600);
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
