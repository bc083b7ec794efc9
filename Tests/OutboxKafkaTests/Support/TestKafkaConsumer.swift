import CRdKafka
import Foundation
import OutboxRelay

/// A record read back from the cluster.
struct ConsumedRecord: Sendable {
    var topic: String
    var partition: Int32
    var offset: Int64
    var key: [UInt8]?
    var value: [UInt8]
    var headers: [(name: String, value: [UInt8])]

    var keyText: String? { key.map { String(decoding: $0, as: UTF8.self) } }

    /// The first header of that name, as text.
    func header(_ name: String) -> String? {
        headers.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) }
    }
}

/// A librdkafka consumer in the test that reads topics from the beginning; its blocking calls
/// run on a thread of their own.
actor TestKafkaConsumer {
    private let executor = DedicatedThreadExecutor(name: "test-consumer")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private let bootstrapServers: String

    init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
    }

    nonisolated func close() {
        executor.shutdown()
    }

    /// Reads every partition of `topics` from the beginning until `count` records arrived and
    /// nothing more came for `settle`, or `timeout` passed. Records per partition are in
    /// offset order.
    func consume(
        topics: [String],
        atLeast count: Int,
        settle: Duration = .milliseconds(500),
        timeout: Duration = .seconds(30)
    ) throws -> [ConsumedRecord] {
        let configuration = rd_kafka_conf_new()
        for (key, value) in [
            ("bootstrap.servers", bootstrapServers), ("group.id", "outbox-relay-test"),
            ("enable.auto.commit", "false"), ("enable.partition.eof", "false"), ("log_level", "3"),
        ] {
            rd_kafka_conf_set(configuration, key, value, nil, 0)
        }
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, configuration, &error, error.count) else {
            throw MockClusterError(description: "consumer creation failed")
        }
        defer {
            rd_kafka_consumer_close(handle)
            rd_kafka_destroy(handle)
        }
        let assignment = rd_kafka_topic_partition_list_new(16)
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        for topic in topics {
            let partitions = try partitionCount(handle: handle, topic: topic)
            for partition in 0..<partitions {
                let entry = rd_kafka_topic_partition_list_add(assignment, topic, partition)!
                entry.pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
            }
        }
        rd_kafka_assign(handle, assignment)
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now + timeout
        var lastArrival = ContinuousClock.now
        while ContinuousClock.now < deadline {
            if records.count >= count && ContinuousClock.now - lastArrival >= settle { break }
            guard let message = rd_kafka_consumer_poll(handle, 50) else { continue }
            defer { rd_kafka_message_destroy(message) }
            guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            records.append(Self.record(message))
            lastArrival = ContinuousClock.now
        }
        return records
    }

    private func partitionCount(handle: OpaquePointer, topic: String) throws -> Int32 {
        let topicHandle = rd_kafka_topic_new(handle, topic, nil)
        defer { rd_kafka_topic_destroy(topicHandle) }
        for _ in 0..<50 {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(handle, 0, topicHandle, &metadata, 5000)
            defer { if let metadata { rd_kafka_metadata_destroy(metadata) } }
            if code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata, metadata.pointee.topic_cnt > 0,
                metadata.pointee.topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR,
                metadata.pointee.topics[0].partition_cnt > 0
            {
                return metadata.pointee.topics[0].partition_cnt
            }
            usleep(100_000)
        }
        throw MockClusterError(description: "no metadata for topic \(topic)")
    }

    private static func record(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumedRecord {
        let m = message.pointee
        let key: [UInt8]? = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        let value: [UInt8] = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        var headers: [(String, [UInt8])] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            while true {
                var name: UnsafePointer<CChar>?
                var valuePointer: UnsafeRawPointer?
                var size = 0
                guard rd_kafka_header_get_all(list, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR
                else { break }
                let bytes = valuePointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append((String(cString: name!), bytes))
                index += 1
            }
        }
        return ConsumedRecord(
            topic: String(cString: rd_kafka_topic_name(m.rkt)),
            partition: m.partition,
            offset: m.offset,
            key: key,
            value: value,
            headers: headers
        )
    }
}
