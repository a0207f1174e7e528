/* Compiled alone by `make header-test` as C89 to C17 and C++11 to C++20 with
 * -pedantic -Wall -Wextra -Werror: rshm_inline.h's inline copies need nothing
 * else and warn about nothing, used or not. */
#include "rshm_inline.h"

int main(void) {
    rshm_view view;
    char byte = 0;
    view.data = &byte;
    view.size = 1;
    view.segment = 0;
    view.read_only = 0;
    return rshm_view_write(&view, 0, &byte, 1) == RSHM_OK && rshm_view_read(&view, 0, &byte, 1) == RSHM_OK ? 0 : 1;
}
