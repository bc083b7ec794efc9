import CRdKafka

extension KafkaTransport {
    /// The version of librdkafka this process runs with (`rd_kafka_version_str()`), e.g. `2.0.2`.
    public static var libraryVersion: String { String(cString: rd_kafka_version_str()) }
}
