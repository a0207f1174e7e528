/* Compiled alone by `make header-test` as C89 to C17 and C++11 to C++20 with
 * -pedantic -Wall -Wextra -Werror: rshm.h must need nothing else and warn
 * about nothing, its initializer included (-Wmissing-field-initializers in
 * C++), and rshm_status_str must take any int. */
#include "rshm.h"

int main(void) {
    rshm_options opts = RSHM_OPTIONS_INIT;
    rshm_segment *seg = 0;
    rshm_info info;
    struct shmid_ds ds;
    opts.proj_id = 'A';
    opts.key = IPC_PRIVATE;
    opts.size = 4096;
    opts.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    rshm_options_init(&opts);
    if (rshm_open(&opts, &seg) != RSHM_OK) return (int)rshm_status_str(99)[0];
    (void)rshm_stat(seg, &info);
    (void)rshm_set_mode(seg, 0600);
    rshm_close(seg);
    (void)rshm_shmctl(rshm_shmget(rshm_ftok(".", 1), 1, IPC_CREAT | 0600), IPC_STAT, &ds);
    (void)rshm_shmdt(rshm_shmat(0, 0, 0));
    return RSHM_VERSION_NUMBER > 0 && rshm_last_error() != 0 && rshm_version() != 0 ? 0 : 1;
}
