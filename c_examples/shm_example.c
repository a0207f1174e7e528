/* The seed demo (../shared/seed/shm_example.c), step by step, through rshm:
 * ftok on "shmfile", create 1 KiB with 0666, attach, write, sleep, read,
 * detach, remove. It prints the original's three lines; a failure prints
 * rshm_last_error(), which names the call, its arguments and the cause. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rshm.h"

#define SHM_SIZE 1024  /* 1 KB shared memory segment */

static void fail(void) {
    fprintf(stderr, "%s\n", rshm_last_error());
    exit(1);
}

int main(void) {
    key_t key;
    int shmid;
    char *data;

    /* Generate a unique key */
    key = rshm_ftok("shmfile", 65);
    if (key == -1) fail();

    /* Create shared memory segment */
    shmid = rshm_shmget(key, SHM_SIZE, 0666 | IPC_CREAT);
    if (shmid == -1) fail();

    /* Attach to the shared memory */
    data = (char *)rshm_shmat(shmid, NULL, 0);
    if (data == (char *)(-1)) fail();

    /* Write to shared memory */
    printf("Writing to shared memory...\n");
    strcpy(data, "Hello from shared memory!");

    /* Simulate some delay (optional) */
    sleep(2);

    /* Read from shared memory */
    printf("Data read from shared memory: %s\n", data);

    /* Detach from shared memory */
    if (rshm_shmdt(data) == -1) fail();

    /* Destroy the shared memory segment */
    if (rshm_shmctl(shmid, IPC_RMID, NULL) == -1) fail();

    printf("Shared memory removed.\n");
    return 0;
}
