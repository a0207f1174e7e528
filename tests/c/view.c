/* rshm_inline.h: the inline checked copies make rshm_write's and rshm_read's
 * checks (bounds without overflow, read-only, NULL buffers) and, when they
 * refuse, give exactly those calls' status and message. */
#include "harness.h"

#include <stdint.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "rshm_inline.h"

static void same_refusal(rshm_status inline_status, const char *inline_message, rshm_status call_status,
                         const char *what) {
    CHECK(inline_status == call_status && inline_status != RSHM_OK, "%s: inline %s, call %s", what,
          rshm_status_str(inline_status), rshm_status_str(call_status));
    CHECK(strcmp(inline_message, rshm_last_error()) == 0, "%s: inline \"%s\", call \"%s\"", what, inline_message,
          rshm_last_error());
}

int main(void) {
    enter_private_ipc_namespace();
    rshm_options opts = RSHM_OPTIONS_INIT;
    opts.key = 0x52564901;
    opts.size = 100;
    opts.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    rshm_segment *seg, *reader;
    CHECK(rshm_open(&opts, &seg) == RSHM_OK, "%s", rshm_last_error());
    rshm_view view, ro;
    CHECK(rshm_get_view(seg, &view) == RSHM_OK && view.size == 100 && view.data == rshm_data(seg) && !view.read_only,
          "the view");
    CHECK(rshm_get_view(seg, NULL) == RSHM_ERR_NULL_POINTER, "NULL out");

    char text[16] = "inline copies", back[16] = "";
    CHECK(rshm_view_write(&view, 84, text, sizeof text) == RSHM_OK, "ends exactly at the end");
    CHECK(rshm_read(seg, 84, back, sizeof back) == RSHM_OK && strcmp(back, text) == 0, "written: %s", back);
    memset(back, 0, sizeof back);
    CHECK(rshm_view_read(&view, 84, back, sizeof back) == RSHM_OK && strcmp(back, text) == 0, "read: %s", back);
    CHECK(rshm_view_write(&view, 100, text, 0) == RSHM_OK, "nothing, at the end");
    char *inside = (char *)view.data;
    CHECK(rshm_view_write(&view, 1, inside, 20) == RSHM_OK, "a source inside the segment (memmove)");

    struct { size_t offset, len; } bad[] = {{85, 16}, {101, 0}, {SIZE_MAX, 1}, {1, SIZE_MAX}, {SIZE_MAX, SIZE_MAX}};
    char message[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rshm_status st = rshm_view_write(&view, bad[i].offset, text, bad[i].len);
        snprintf(message, sizeof message, "%s", rshm_last_error());
        same_refusal(st, message, rshm_write(seg, bad[i].offset, text, bad[i].len), "write out of bounds");
        st = rshm_view_read(&view, bad[i].offset, back, bad[i].len);
        snprintf(message, sizeof message, "%s", rshm_last_error());
        same_refusal(st, message, rshm_read(seg, bad[i].offset, back, bad[i].len), "read out of bounds");
    }
    rshm_status st = rshm_view_write(&view, 0, NULL, 0);
    snprintf(message, sizeof message, "%s", rshm_last_error());
    same_refusal(st, message, rshm_write(seg, 0, NULL, 0), "NULL source, length 0");
    st = rshm_view_read(&view, 0, NULL, 0);
    snprintf(message, sizeof message, "%s", rshm_last_error());
    same_refusal(st, message, rshm_read(seg, 0, NULL, 0), "NULL destination");
    CHECK(rshm_view_write(NULL, 0, text, 1) == RSHM_ERR_NULL_POINTER, "NULL view");

    opts.flags = RSHM_READ_ONLY;
    CHECK(rshm_open(&opts, &reader) == RSHM_OK && rshm_get_view(reader, &ro) == RSHM_OK && ro.read_only, "read-only");
    st = rshm_view_write(&ro, 0, text, 1);
    snprintf(message, sizeof message, "%s", rshm_last_error());
    same_refusal(st, message, rshm_write(reader, 0, text, 1), "a read-only view");
    CHECK(rshm_view_read(&ro, 84, back, sizeof back) == RSHM_OK, "reads through a read-only view");
    rshm_close(reader);
    rshm_close(seg);
    return harness_summary("view");
}
