import OutboxRelay

extension KafkaTransport {
    /// The Kafka record the transport would produce for one message, built by the same encoder
    /// ``deliver(_:)`` uses, without producing it (`outbox-relay explain`).
    public struct RecordPreview: Sendable {
        /// The topic the record goes to; `nil` when the topic template renders no valid name.
        public var topic: String?
        /// The key bytes; `nil` for a null key (an empty rendering).
        public var key: [UInt8]?
        /// The headers, in the order they are produced; values are UTF-8 text.
        public var headers: [(name: String, value: [UInt8])]
        /// The value bytes.
        public var value: [UInt8]
        /// Why the message would be dead-lettered without being produced (an invalid topic).
        public var refusal: String?
    }

    /// What ``deliver(_:)`` would produce for `message`. Sends nothing and needs no ``start()``.
    public func preview(of message: OutboxMessage) -> RecordPreview {
        let batch = encoder.encode([message])
        guard let record = batch.records.first ?? nil else {
            var refusal = "not produced"
            if case .permanent(let reason) = batch.earlyResults[0] { refusal = reason }
            return RecordPreview(topic: nil, key: nil, headers: [], value: [], refusal: refusal)
        }
        func bytes(_ range: Range<Int>) -> [UInt8] { Array(batch.bytes[range]) }
        let headers = batch.headers[record.headers].map { header in
            (name: String(decoding: bytes(header.name), as: UTF8.self), value: bytes(header.value))
        }
        return RecordPreview(
            topic: batch.topics[record.topic],
            key: record.key.map(bytes),
            headers: headers,
            value: bytes(record.value),
            refusal: nil
        )
    }
}
