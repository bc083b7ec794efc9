#pragma once
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/** Kafka protocol API keys used by tests (rdkafka_protocol.h is not installed). */
enum { OUTBOX_KAFKA_API_PRODUCE = 0, OUTBOX_KAFKA_API_METADATA = 3 };

/*
 * Typed wrappers for the parts of librdkafka Swift cannot call directly
 * (variadic functions, unions, function-like macros).
 */

/** One Kafka message header: a NUL-terminated name and a value of `size` bytes. */
typedef struct {
    const char *name;
    const void *value;
    size_t size;
} outbox_kafka_header;

/**
 * Produces one message with rd_kafka_produceva() and RD_KAFKA_MSG_F_COPY: librdkafka copies
 * key, value and headers, so the buffers only need to live for the duration of the call.
 * `key` may be NULL (no key). `opaque` comes back in the delivery report (`_private`).
 * Returns NULL on success, or an error the caller must destroy.
 */
static inline rd_kafka_error_t *outbox_kafka_produce(rd_kafka_t *rk, rd_kafka_topic_t *rkt,
                                                     const void *key, size_t key_size,
                                                     const void *value, size_t value_size,
                                                     const outbox_kafka_header *headers,
                                                     size_t header_count, void *opaque) {
    enum { fixed = 5 };
    rd_kafka_vu_t stack_vus[fixed + 24];
    rd_kafka_vu_t *vus = stack_vus;
    size_t capacity = sizeof stack_vus / sizeof stack_vus[0];
    if (header_count + fixed > capacity) {
        vus = (rd_kafka_vu_t *)malloc((header_count + fixed) * sizeof(rd_kafka_vu_t));
        if (!vus) return rd_kafka_error_new(RD_KAFKA_RESP_ERR__FAIL, "out of memory");
    }
    size_t n = 0;
    vus[n].vtype = RD_KAFKA_VTYPE_RKT;
    vus[n++].u.rkt = rkt;
    vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[n++].u.i = RD_KAFKA_MSG_F_COPY;
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[n].u.mem.ptr = (void *)value;
    vus[n++].u.mem.size = value_size;
    if (key) {
        vus[n].vtype = RD_KAFKA_VTYPE_KEY;
        vus[n].u.mem.ptr = (void *)key;
        vus[n++].u.mem.size = key_size;
    }
    vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vus[n++].u.ptr = opaque;
    for (size_t i = 0; i < header_count; i++) {
        vus[n].vtype = RD_KAFKA_VTYPE_HEADER;
        vus[n].u.header.name = headers[i].name;
        vus[n].u.header.val = headers[i].value;
        vus[n++].u.header.size = (ssize_t)headers[i].size;
    }
    rd_kafka_error_t *error = rd_kafka_produceva(rk, vus, n);
    if (vus != stack_vus) free(vus);
    return error;
}

/** The per-message opaque given to outbox_kafka_produce(), from a delivery report. */
static inline void *outbox_kafka_message_opaque(const rd_kafka_message_t *message) {
    return message->_private;
}

/** RD_KAFKA_PARTITION_UA (a cast macro Swift does not import). */
static inline int32_t outbox_kafka_partition_unassigned(void) { return RD_KAFKA_PARTITION_UA; }

/** Names the calling thread (as `top -H` shows it), at most 15 bytes. */
static inline void outbox_kafka_set_thread_name(const char *name) {
#ifdef __linux__
    prctl(PR_SET_NAME, name, 0, 0, 0);
#else
    (void)name;
#endif
}
