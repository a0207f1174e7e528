/* The layout writer.c and reader.c share: a message with a magic number, its
 * length and a checksum, so the reader can tell a whole message from garbage. */
#ifndef RSHM_EXAMPLE_MESSAGE_H
#define RSHM_EXAMPLE_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#define MESSAGE_MAGIC 0x52534D47u /* "RSMG" */
#define MESSAGE_PROJ_ID 'm'

struct message {
    uint32_t magic;
    uint32_t length;   /* bytes of text, without the NUL */
    uint32_t checksum; /* FNV-1a of the text */
    char text[244];
};

static inline uint32_t message_checksum(const char *text, size_t length) {
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < length; i++) hash = (hash ^ (unsigned char)text[i]) * 16777619u;
    return hash;
}

#endif
