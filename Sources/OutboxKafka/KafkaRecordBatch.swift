/// A batch of messages turned into Kafka records, all bytes in one buffer, ready to hand to the
/// producer thread in one piece.
///
/// Header names are stored NUL-terminated so the C layer can point into ``bytes`` directly.
struct KafkaRecordBatch: Sendable {
    struct Header: Sendable {
        /// The name's bytes; a NUL follows at `name.upperBound`.
        var name: Range<Int>
        var value: Range<Int>
    }

    struct Record: Sendable {
        /// Index into ``KafkaRecordBatch/topics``.
        var topic: Int
        var key: Range<Int>?
        var value: Range<Int>
        /// Range into ``KafkaRecordBatch/headers``.
        var headers: Range<Int>
    }

    var bytes: [UInt8] = []
    var topics: [String] = []
    var headers: [Header] = []
    /// One per message of the delivered batch, in order; `nil` where the message failed before
    /// it could become a record.
    var records: [Record?] = []
    /// Results of the messages that failed before producing (index → result).
    var earlyResults: [Int: DeliveryResult] = [:]
    /// The ordering key of every message, in order.
    var orderingKeys: [String] = []

    var count: Int { records.count }
}

/// Turns ``OutboxMessage``s into ``KafkaRecordBatch``es according to a configuration.
struct KafkaRecordEncoder: Sendable {
    let topic: KafkaMessageTemplate
    let key: KafkaMessageTemplate
    let configuration: KafkaTransport.Configuration
    private let fixedHeaders: [(String, String)]

    /// - Throws: ``KafkaTransportError`` when a template is invalid.
    init(configuration: KafkaTransport.Configuration) throws(KafkaTransportError) {
        self.configuration = configuration
        self.topic = try KafkaMessageTemplate(configuration.topic, purpose: .topic)
        self.key = try KafkaMessageTemplate(configuration.key, purpose: .key)
        self.fixedHeaders = configuration.headers.fixed.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for (name, _) in fixedHeaders where name.utf8.contains(0) {
            throw KafkaTransportError(code: .invalidConfiguration, message: "the header name \"\(name)\" contains a NUL character", setting: "headers")
        }
    }

    func encode(_ messages: [OutboxMessage]) -> KafkaRecordBatch {
        var batch = KafkaRecordBatch()
        batch.bytes.reserveCapacity(messages.reduce(0) { $0 + $1.envelope.count + 512 })
        batch.records.reserveCapacity(messages.count)
        batch.orderingKeys.reserveCapacity(messages.count)
        var topicIndex: [String: Int] = [:]
        for (index, message) in messages.enumerated() {
            batch.orderingKeys.append(message.orderingKey)
            let topicName = topic.render(message)
            guard KafkaMessageTemplate.isValidTopic(topicName) else {
                batch.records.append(nil)
                batch.earlyResults[index] = .permanent("the topic template \"\(configuration.topic)\" renders \"\(topicName)\" for this message, which is not a valid Kafka topic name")
                continue
            }
            let topicNumber: Int
            if let known = topicIndex[topicName] {
                topicNumber = known
            } else {
                topicNumber = batch.topics.count
                topicIndex[topicName] = topicNumber
                batch.topics.append(topicName)
            }
            let keyText = key.render(message)
            let keyRange: Range<Int>? = keyText.isEmpty ? nil : batch.append(keyText)
            let valueStart = batch.bytes.count
            switch configuration.valueFormat {
            case .envelope: batch.bytes.append(contentsOf: message.envelope)
            case .payload, .cloudEvents: batch.bytes.append(contentsOf: message.payloadBytes)
            }
            let valueRange = valueStart..<batch.bytes.count
            let headerStart = batch.headers.count
            appendHeaders(of: message, to: &batch)
            batch.records.append(.init(topic: topicNumber, key: keyRange, value: valueRange, headers: headerStart..<batch.headers.count))
        }
        return batch
    }

    private func appendHeaders(of message: OutboxMessage, to batch: inout KafkaRecordBatch) {
        if configuration.valueFormat == .cloudEvents {
            batch.appendHeader("ce_specversion", "1.0")
            batch.appendHeader("ce_id", message.eventID)
            batch.appendHeader("ce_source", configuration.cloudEvents.source)
            batch.appendHeader("ce_type", message.eventType)
            if let time = message.timeOfRecording { batch.appendHeader("ce_time", time.rfc3339) }
            if let subject = message.aggregateRootID { batch.appendHeader("ce_subject", subject) }
            batch.appendHeader("content-type", "application/json")
        }
        let headers = configuration.headers
        if headers.standard {
            batch.appendHeader("event_id", message.eventID)
            batch.appendHeader("event_type", message.eventType)
            if let value = message.aggregateRootID { batch.appendHeader("aggregate_root_id", value) }
            if let value = message.aggregateRootIDType { batch.appendHeader("aggregate_root_id_type", value) }
            if let value = message.aggregateRootType { batch.appendHeader("aggregate_root_type", value) }
            if let value = message.aggregateRootVersion { batch.appendHeader("aggregate_root_version", String(value)) }
            if let time = message.timeOfRecording {
                batch.appendHeader("time_of_recording", time.rfc3339)
            } else if let text = message.timeOfRecordingText {
                batch.appendHeader("time_of_recording", text)
            }
        }
        if headers.custom {
            for (name, value) in message.headers where !name.hasPrefix("__") && !name.utf8.contains(0) {
                batch.appendHeader(name, value.textValue)
            }
        }
        for (name, value) in fixedHeaders {
            batch.appendHeader(name, value)
        }
    }
}

extension KafkaRecordBatch {
    mutating func append(_ text: String) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: text.utf8)
        return start..<bytes.count
    }

    mutating func appendHeader(_ name: String, _ value: String) {
        let nameRange = append(name)
        bytes.append(0)
        let valueRange = append(value)
        headers.append(Header(name: nameRange, value: valueRange))
    }
}
