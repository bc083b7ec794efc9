#pragma once
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

/** Kafka protocol API keys used by tests (rdkafka_protocol.h is not installed). */
enum { OUTBOX_KAFKA_API_PRODUCE = 0, OUTBOX_KAFKA_API_METADATA = 3 };

/*
 * Typed wrappers for the parts of librdkafka Swift cannot call directly
 * (variadic functions, unions, function-like macros).
 */

/** One Kafka message header: name and value, as offsets into the batch's buffer. */
typedef struct {
    size_t name_offset;
    size_t name_size;
    size_t value_offset;
    size_t value_size;
} outbox_kafka_header;

/** One record of a batch: offsets into the batch's buffer and its headers array. */
typedef struct {
    /** Index into the topic handles. */
    size_t topic;
    /** No key when `has_key` is 0. */
    int has_key;
    size_t key_offset;
    size_t key_size;
    size_t value_offset;
    size_t value_size;
    /** The record's headers: `headers[first_header ..< first_header + header_count]`. */
    size_t first_header;
    size_t header_count;
    /** Comes back in the delivery report (`_private`). */
    void *opaque;
} outbox_kafka_record;

/**
 * Produces `records[0 ..< count]` in order with rd_kafka_produceva().
 *
 * Values are NOT copied (no RD_KAFKA_MSG_F_COPY): `buffer` must stay valid and unchanged until
 * each message's delivery report was served (or the handle destroyed). Keys and headers are
 * copied by librdkafka. Each message's headers are built with one rd_kafka_headers_new()
 * sized to fit, names with their length (no strlen).
 *
 * Returns `count` when every record was queued; otherwise the index of the first record
 * librdkafka refused, with `*error` set (the caller destroys it); later records are not tried.
 */
static inline size_t outbox_kafka_produce_records(rd_kafka_t *rk, rd_kafka_topic_t *const *topics,
                                                  const void *buffer,
                                                  const outbox_kafka_record *records, size_t count,
                                                  const outbox_kafka_header *headers,
                                                  rd_kafka_error_t **error) {
    const unsigned char *base = (const unsigned char *)buffer;
    for (size_t i = 0; i < count; i++) {
        const outbox_kafka_record *record = &records[i];
        rd_kafka_headers_t *list = NULL;
        if (record->header_count > 0) {
            list = rd_kafka_headers_new(record->header_count);
            for (size_t h = 0; h < record->header_count; h++) {
                const outbox_kafka_header *header = &headers[record->first_header + h];
                rd_kafka_resp_err_t err = rd_kafka_header_add(
                    list, (const char *)(base + header->name_offset), (ssize_t)header->name_size,
                    base + header->value_offset, (ssize_t)header->value_size);
                if (err) {
                    rd_kafka_headers_destroy(list);
                    *error = rd_kafka_error_new(err, "cannot add a header: %s", rd_kafka_err2str(err));
                    return i;
                }
            }
        }
        rd_kafka_vu_t vus[6];
        size_t n = 0;
        vus[n].vtype = RD_KAFKA_VTYPE_RKT;
        vus[n++].u.rkt = topics[record->topic];
        vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
        vus[n++].u.i = 0;
        vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
        vus[n].u.mem.ptr = (void *)(base + record->value_offset);
        vus[n++].u.mem.size = record->value_size;
        if (record->has_key) {
            vus[n].vtype = RD_KAFKA_VTYPE_KEY;
            vus[n].u.mem.ptr = (void *)(base + record->key_offset);
            vus[n++].u.mem.size = record->key_size;
        }
        vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
        vus[n++].u.ptr = record->opaque;
        if (list) {
            vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
            vus[n++].u.headers = list;
        }
        rd_kafka_error_t *failure = rd_kafka_produceva(rk, vus, n);
        if (failure) {
            /* On failure the headers stay ours. */
            if (list) rd_kafka_headers_destroy(list);
            *error = failure;
            return i;
        }
    }
    return count;
}
