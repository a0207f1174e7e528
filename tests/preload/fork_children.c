/* The preload's leg of tests/c/fork_children.c: the same children, calling the
 * plain names (shmat, shmdt, ...) that librshm_preload.so takes over. Built and
 * run by tests/run/preload.sh under LD_PRELOAD. */
#define RSHM_TEST_PRELOAD 1
#include "../c/fork_children.c"
