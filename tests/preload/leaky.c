/* leaky leak|clean: makes a keyed segment (key 0x5253ee01) and a private one
 * that it removes; with "leak" it leaves the keyed one behind. For the
 * preload's RSHM_LEAK_CHECK test. Plain libc calls: the preload takes them over. */
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int main(int argc, char **argv) {
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
