/* writer PATH [TEXT]: creates the segment named by ftok(PATH, 'm') and leaves
 * a checksummed message in it for reader.c. The segment outlives this process
 * until the reader, the last one out, removes it. */
#include <stdio.h>
#include <string.h>

#include "message.h"
#include "rshm.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH [TEXT]\n", argv[0]);
        return 2;
    }
    const char *text = argc > 2 ? argv[2] : "Hello from shared memory!";

    struct message message;
    memset(&message, 0, sizeof message);
    message.length = (uint32_t)strlen(text);
    if (message.length >= sizeof message.text) {
        fprintf(stderr, "writer: the text is longer than %zu bytes\n", sizeof message.text - 1);
        return 2;
    }
    memcpy(message.text, text, message.length);
    message.checksum = message_checksum(text, message.length);
    message.magic = MESSAGE_MAGIC;

    rshm_options opts;
    memset(&opts, 0, sizeof opts);
    opts.path = argv[1];
    opts.proj_id = MESSAGE_PROJ_ID;
    opts.size = sizeof message;
    opts.mode = 0644; /* others may read, only we write */
    opts.flags = RSHM_CREATE | RSHM_EXCLUSIVE | RSHM_VERIFY_OWNER;

    rshm_segment *seg = NULL;
    rshm_status status = rshm_open(&opts, &seg);
    if (status != RSHM_OK) {
        fprintf(stderr, "writer: %s\n", rshm_last_error());
        return 1;
    }
    /* The magic goes last, so a reader never sees it on a half-written message. */
    size_t body = offsetof(struct message, length);
    status = rshm_write(seg, body, (const char *)&message + body, sizeof message - body);
    if (status == RSHM_OK) status = rshm_write(seg, 0, &message.magic, sizeof message.magic);
    if (status != RSHM_OK) {
        fprintf(stderr, "writer: %s\n", rshm_last_error());
        rshm_remove(seg);
        rshm_close(seg);
        return 1;
    }
    printf("writer: left %u bytes in segment %d (key 0x%08x)\n", message.length, rshm_id(seg),
           (unsigned)rshm_key(seg));
    rshm_close(seg); /* detaches; the segment stays for the reader */
    return 0;
}
