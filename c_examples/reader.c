/* reader PATH: opens the segment writer.c left under ftok(PATH, 'm')
 * read-only, checks the message (magic, length, checksum), prints it and, as
 * the last one out, removes the segment: the kernel frees it when the last
 * process that has it attached detaches. */
#include <stdio.h>
#include <string.h>

#include "message.h"
#include "rshm.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH\n", argv[0]);
        return 2;
    }
    rshm_options opts;
    memset(&opts, 0, sizeof opts);
    opts.path = argv[1];
    opts.proj_id = MESSAGE_PROJ_ID;
    opts.size = sizeof(struct message); /* refuse a segment too small to hold one */
    opts.flags = RSHM_READ_ONLY;

    rshm_segment *seg = NULL;
    if (rshm_open(&opts, &seg) != RSHM_OK) {
        fprintf(stderr, "reader: %s\n", rshm_last_error());
        return 1;
    }
    struct message message;
    int ok = rshm_read(seg, 0, &message, sizeof message) == RSHM_OK && message.magic == MESSAGE_MAGIC &&
             message.length < sizeof message.text &&
             message.checksum == message_checksum(message.text, message.length);
    if (ok) {
        message.text[message.length] = '\0';
        printf("reader: %s\n", message.text);
    } else {
        fprintf(stderr, "reader: segment %d holds no valid message\n", rshm_id(seg));
    }
    /* Read-only handles may still remove: IPC_RMID needs ownership, not write access. */
    if (rshm_remove(seg) != RSHM_OK) fprintf(stderr, "reader: %s\n", rshm_last_error());
    rshm_close(seg);
    return ok ? 0 : 1;
}
