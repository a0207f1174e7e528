/* The preload's leg of tests/c/signal_handlers.c: the same handlers and loop,
 * calling the plain names (ftok, shmget, ...) that librshm_preload.so takes
 * over. Built and run by tests/run/preload.sh under LD_PRELOAD, with and
 * without RSHM_TRACE. */
#define RSHM_TEST_PRELOAD 1
#include "../c/signal_handlers.c"
