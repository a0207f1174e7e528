/* A C program built through rshm's CMake package and linked with rshm::rshm_static.
 * Prints "cmake consumer (C): ... VERSION". */
#include <stdio.h>

#include "rshm.h"

int main(void) {
    rshm_options opts = RSHM_OPTIONS_INIT;
    rshm_segment *seg;
    char text[32];
    opts.size = 64;
    opts.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    if (rshm_open(&opts, &seg) != RSHM_OK) {
        fprintf(stderr, "%s\n", rshm_last_error());
        return 1;
    }
    if (rshm_write_str(seg, 0, "static") != RSHM_OK || rshm_read_str(seg, 0, text, sizeof text) != RSHM_OK) {
        fprintf(stderr, "%s\n", rshm_last_error());
        rshm_close(seg);
        return 1;
    }
    rshm_close(seg);
    printf("cmake consumer (C): %s %s\n", text, rshm_version());
    return 0;
}
