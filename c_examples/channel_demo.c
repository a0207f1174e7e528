/* A producer and a consumer process exchanging messages through an rshm
 * channel: the producer sends COUNT messages of varying length, each carrying
 * its number and a checksum; the consumer checks every one, in order, then
 * sees the channel closed. The segment is marked for removal once both ends
 * are open, so nothing is left whatever happens next. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rshm.h"

#define COUNT 100000
#define KEY 0x52534348

struct message {
    uint32_t number;
    uint32_t checksum;
    unsigned char payload[248];
};

static uint32_t fnv1a(const unsigned char *data, size_t len) {
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < len; i++) hash = (hash ^ data[i]) * 16777619u;
    return hash;
}

static int producer(void) {
    rshm_options opts;
    memset(&opts, 0, sizeof opts);
    opts.key = KEY;
    rshm_channel *ch;
    if (rshm_channel_open(&opts, RSHM_CHANNEL_SENDER, &ch) != RSHM_OK) {
        fprintf(stderr, "producer: %s\n", rshm_last_error());
        return 1;
    }
    struct message m;
    for (uint32_t i = 0; i < COUNT; i++) {
        size_t used = i % sizeof m.payload;
        m.number = i;
        for (size_t j = 0; j < used; j++) m.payload[j] = (unsigned char)(i + j);
        m.checksum = fnv1a(m.payload, used);
        if (rshm_channel_send(ch, &m, offsetof(struct message, payload) + used, 10000) != RSHM_OK) {
            fprintf(stderr, "producer: %s\n", rshm_last_error());
            return 1;
        }
    }
    rshm_channel_close(ch);
    return 0;
}

int main(void) {
    rshm_options opts;
    memset(&opts, 0, sizeof opts);
    opts.key = KEY;
    opts.flags = RSHM_REMOVE_ON_CLOSE;
    rshm_channel *ch;
    if (rshm_channel_create(&opts, 64 * 1024, RSHM_CHANNEL_RECEIVER, &ch) != RSHM_OK) {
        fprintf(stderr, "consumer: %s\n", rshm_last_error());
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) exit(producer());

    struct message m;
    size_t len;
    uint32_t received = 0;
    int ok = 1;
    rshm_status status;
    while ((status = rshm_channel_recv(ch, &m, sizeof m, &len, 10000)) == RSHM_OK) {
        size_t used = len - offsetof(struct message, payload);
        if (m.number != received || fnv1a(m.payload, used) != m.checksum) {
            fprintf(stderr, "consumer: message %u is damaged or out of order\n", received);
            ok = 0;
            break;
        }
        received++;
    }
    if (status != RSHM_ERR_CLOSED) {
        fprintf(stderr, "consumer: %s\n", rshm_last_error());
        ok = 0;
    }
    rshm_channel_close(ch);
    int child;
    waitpid(pid, &child, 0);
    printf("channel_demo: %u messages received in order and intact; then: %s\n", received, rshm_status_str(status));
    return ok && received == COUNT && WIFEXITED(child) && WEXITSTATUS(child) == 0 ? 0 : 1;
}
