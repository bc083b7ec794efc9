import CRdKafka

/// Answers ``KafkaTransport/checkTopics(_:)`` with a short-lived producer handle, on a
/// thread of its own (metadata and admin requests block).
actor RDKafkaTopicInspector {
    private let executor = DedicatedThreadExecutor(name: "kafka-check")
    private let properties: [(key: String, value: String)]
    private let timeoutMilliseconds: Int32
    private let bootstrapServers: [String]

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(properties: [(key: String, value: String)], timeout: Duration, bootstrapServers: [String]) {
        self.properties = properties
        self.timeoutMilliseconds = Int32(clamping: KafkaTransport.Configuration.milliseconds(timeout))
        self.bootstrapServers = bootstrapServers
    }

    /// Ends the thread once the current work is done.
    nonisolated func close() {
        executor.shutdown()
    }

    func check(_ names: [String]) throws(KafkaTransportError) -> [KafkaTransport.TopicCheck] {
        let configuration = try RDKafkaConfiguration.make(properties)
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, configuration, &error, error.count) else {
            rd_kafka_conf_destroy(configuration)
            throw KafkaTransportError(
                code: .clientCreationFailed,
                message: "librdkafka could not create a client: \(cStringText(error))"
            )
        }
        defer { rd_kafka_destroy(handle) }
        var autoCreate: Result<Bool, KafkaTransportError>?
        var checks: [KafkaTransport.TopicCheck] = []
        for name in names {
            guard KafkaMessageTemplate.isValidTopic(name) else {
                checks.append(.init(topic: name, status: .failed("not a valid Kafka topic name")))
                continue
            }
            let topic = rd_kafka_topic_new(handle, name, nil)
            defer { rd_kafka_topic_destroy(topic) }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(handle, 0, topic, &metadata, timeoutMilliseconds)
            defer { if let metadata { rd_kafka_metadata_destroy(metadata) } }
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw KafkaTransportError(
                    code: .connectionFailed,
                    message:
                        "no broker of \(bootstrapServers.joined(separator: ",")) answered a metadata request: "
                        + "\(String(cString: rd_kafka_err2str(code)))"
                )
            }
            let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
            guard let entry = topics.first(where: { String(cString: $0.topic) == name }) else {
                checks.append(.init(topic: name, status: .failed("the cluster's answer does not mention the topic")))
                continue
            }
            switch entry.err {
            case RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
                checks.append(.init(topic: name, status: .exists(partitions: Int(entry.partition_cnt))))
            case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
                if autoCreate == nil {
                    let brokers = UnsafeBufferPointer(
                        start: metadata.pointee.brokers,
                        count: Int(metadata.pointee.broker_cnt)
                    )
                    autoCreate = brokerAllowsAutoCreate(handle: handle, brokerID: brokers.first?.id)
                }
                switch autoCreate! {
                case .success(true): checks.append(.init(topic: name, status: .missingButAutoCreated))
                case .success(false):
                    checks.append(
                        .init(topic: name, status: .missing("the brokers have auto.create.topics.enable=false"))
                    )
                case .failure(let failure):
                    checks.append(
                        .init(
                            topic: name,
                            status: .missing(
                                "whether the brokers create it on first use is unknown: \(failure.message)"
                            )
                        )
                    )
                }
            default:
                checks.append(
                    .init(
                        topic: name,
                        status: .failed(
                            "\(String(cString: rd_kafka_err2str(entry.err))) "
                                + "[\(String(cString: rd_kafka_err2name(entry.err)))]"
                        )
                    )
                )
            }
        }
        return checks
    }

    /// Reads `auto.create.topics.enable` of one broker with the DescribeConfigs admin request.
    private func brokerAllowsAutoCreate(handle: OpaquePointer, brokerID: Int32?) -> Result<Bool, KafkaTransportError> {
        guard let brokerID else {
            return .failure(.init(code: .connectionFailed, message: "the cluster reported no brokers"))
        }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        var resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, String(brokerID))
        defer { rd_kafka_ConfigResource_destroy(resource) }
        rd_kafka_DescribeConfigs(handle, &resource, 1, nil, queue)
        guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds) else {
            return .failure(.init(code: .connectionFailed, message: "DescribeConfigs timed out"))
        }
        defer { rd_kafka_event_destroy(event) }
        let code = rd_kafka_event_error(event)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let result = rd_kafka_event_DescribeConfigs_result(event) else {
            let text =
                rd_kafka_event_error_string(event).map { String(cString: $0) }
                ?? String(cString: rd_kafka_err2str(code))
            return .failure(.init(code: .connectionFailed, message: "DescribeConfigs failed: \(text)"))
        }
        var count = 0
        guard let resources = rd_kafka_DescribeConfigs_result_resources(result, &count), count > 0,
            let first = resources[0]
        else {
            return .failure(.init(code: .connectionFailed, message: "DescribeConfigs returned nothing"))
        }
        let resourceError = rd_kafka_ConfigResource_error(first)
        guard resourceError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return .failure(
                .init(
                    code: .connectionFailed,
                    message: "DescribeConfigs failed: \(String(cString: rd_kafka_err2str(resourceError)))"
                )
            )
        }
        var entryCount = 0
        guard let entries = rd_kafka_ConfigResource_configs(first, &entryCount) else {
            return .failure(.init(code: .connectionFailed, message: "DescribeConfigs returned no entries"))
        }
        for index in 0..<entryCount {
            guard let entry = entries[index],
                String(cString: rd_kafka_ConfigEntry_name(entry)) == "auto.create.topics.enable"
            else { continue }
            let value = rd_kafka_ConfigEntry_value(entry).map { String(cString: $0) } ?? "true"
            return .success(value == "true")
        }
        return .success(true)  // absent from the answer: Kafka's default is true
    }
}
