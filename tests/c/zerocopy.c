/* Zero-copy channel messages through the C API: reserve/commit and
 * peek/release, in place, across the ring's end; out-of-order calls are
 * statuses; a reservation never committed never shows. */
#include "harness.h"

#include <stdint.h>

#include "rshm.h"

int main(void) {
    enter_private_ipc_namespace();
    rshm_options opts = RSHM_OPTIONS_INIT;
    opts.key = 0x525a4301;
    opts.flags = RSHM_REMOVE_ON_CLOSE;
    rshm_channel *tx, *rx;
    CHECK(rshm_channel_create(&opts, 1024, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
    opts.flags = 0;
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_channel_max_reservation(tx) == 504, "capacity/2 - 8: %zu", rshm_channel_max_reservation(tx));

    void *room = (void *)1;
    const void *lent = (const void *)1;
    size_t len = 7;
    CHECK(rshm_channel_reserve(tx, 505, &room, 0) == RSHM_ERR_INVALID_ARGUMENT && room == NULL, "too large");
    CHECK(strstr(rshm_last_error(), "at most 504 bytes") != NULL, "%s", rshm_last_error());
    CHECK(rshm_channel_commit(tx, 1) == RSHM_ERR_INVALID_ARGUMENT, "commit without reserve");
    CHECK(rshm_channel_release(rx) == RSHM_ERR_INVALID_ARGUMENT, "release without peek");
    CHECK(rshm_channel_peek(rx, &lent, &len, 0) == RSHM_ERR_WOULD_BLOCK && lent == NULL && len == 0, "empty");
    CHECK(rshm_channel_peek(tx, &lent, &len, 0) == RSHM_ERR_INVALID_ARGUMENT, "peek on the sender");
    CHECK(rshm_channel_reserve(NULL, 8, &room, 0) == RSHM_ERR_NULL_POINTER, "NULL channel");
    CHECK(rshm_channel_reserve(tx, 8, NULL, 0) == RSHM_ERR_NULL_POINTER, "NULL buf");

    for (unsigned i = 0; i < 3000; i++) {
        size_t n = (i * 61) % 497; /* n + 8 <= 504 */
        CHECK(rshm_channel_reserve(tx, n + 8, &room, -1) == RSHM_OK && room != NULL, "reserve %u: %s", i,
              rshm_last_error());
        if (!room) break;
        if (i == 5) {
            CHECK(rshm_channel_send(tx, "x", 1, 0) == RSHM_ERR_INVALID_ARGUMENT, "send with a reservation open");
            CHECK(rshm_channel_commit(tx, n + 9) == RSHM_ERR_INVALID_ARGUMENT, "commit more than reserved");
        }
        for (size_t j = 0; j < n; j++) ((unsigned char *)room)[j] = (unsigned char)(i + j);
        CHECK(rshm_channel_commit(tx, n) == RSHM_OK, "commit %u", i);
        CHECK(rshm_channel_peek(rx, &lent, &len, -1) == RSHM_OK && len == n, "peek %u: %zu", i, len);
        int intact = 1;
        for (size_t j = 0; j < n; j++) intact &= ((const unsigned char *)lent)[j] == (unsigned char)(i + j);
        CHECK(intact, "message %u intact in place", i);
        if (i == 7) {
            char buf[8];
            CHECK(rshm_channel_peek(rx, &lent, &len, 0) == RSHM_ERR_INVALID_ARGUMENT, "a second peek");
            CHECK(rshm_channel_recv(rx, buf, sizeof buf, &len, 0) == RSHM_ERR_INVALID_ARGUMENT, "recv while lent");
            len = n;
        }
        CHECK(rshm_channel_release(rx) == RSHM_OK, "release %u", i);
    }

    /* A cancelled reservation never shows, and the channel takes sends again. */
    CHECK(rshm_channel_cancel(tx) == RSHM_ERR_INVALID_ARGUMENT, "cancel without reserve");
    CHECK(rshm_channel_cancel(NULL) == RSHM_ERR_NULL_POINTER, "cancel NULL");
    CHECK(rshm_channel_reserve(tx, 32, &room, 0) == RSHM_OK, "reserve to cancel");
    memset(room, 0xEE, 32);
    CHECK(rshm_channel_cancel(tx) == RSHM_OK, "cancel: %s", rshm_last_error());
    CHECK(rshm_channel_commit(tx, 8) == RSHM_ERR_INVALID_ARGUMENT, "commit after cancel");
    CHECK(rshm_channel_peek(rx, &lent, &len, 0) == RSHM_ERR_WOULD_BLOCK, "nothing shows");
    CHECK(rshm_channel_send(tx, "next", 4, 0) == RSHM_OK, "send after cancel");
    char next[8];
    CHECK(rshm_channel_recv(rx, next, sizeof next, &len, 0) == RSHM_OK && len == 4 && memcmp(next, "next", 4) == 0,
          "the send after a cancel arrives");

    /* A reservation never committed never shows, also when its sender closes. */
    CHECK(rshm_channel_reserve(tx, 64, &room, 0) == RSHM_OK, "reserve");
    memset(room, 0xEE, 64);
    rshm_channel_close(tx);
    CHECK(rshm_channel_peek(rx, &lent, &len, 100) == RSHM_ERR_CLOSED, "only the close: %s", rshm_last_error());
    rshm_channel_close(rx);
    return harness_summary("zerocopy");
}
