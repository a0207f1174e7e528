/* rshm_options for the C tests: the key, the size and the flags, the rest zero.
 * Include after rshm.h. */
#ifndef RSHM_TEST_OPTIONS_H
#define RSHM_TEST_OPTIONS_H

#include <string.h>

static rshm_options options(key_t key, size_t size, unsigned flags) {
    rshm_options opts;
    memset(&opts, 0, sizeof opts);
    opts.key = key;
    opts.size = size;
    opts.flags = flags;
    return opts;
}

#endif
