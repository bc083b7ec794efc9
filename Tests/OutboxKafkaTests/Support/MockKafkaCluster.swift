import CRdKafka
import Testing

/// librdkafka's mock Kafka cluster (`rdkafka_mock.h`) running in this process, on loopback.
///
/// A dedicated `rd_kafka_t` handle owns the cluster; the brokers run on librdkafka threads.
final class MockKafkaCluster: @unchecked Sendable {
    private let handle: OpaquePointer
    private let cluster: OpaquePointer
    /// `127.0.0.1:port,…`.
    let bootstrapServers: String
    /// Broker ids are 1 … brokerCount.
    let brokerCount: Int

    init(brokers: Int = 3) throws {
        let configuration = rd_kafka_conf_new()
        rd_kafka_conf_set(configuration, "log_level", "3", nil, 0)
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, configuration, &error, error.count) else {
            throw MockClusterError(description: "rd_kafka_new for the mock cluster failed")
        }
        guard let cluster = rd_kafka_mock_cluster_new(handle, Int32(brokers)) else {
            rd_kafka_destroy(handle)
            throw MockClusterError(description: "rd_kafka_mock_cluster_new failed")
        }
        self.handle = handle
        self.cluster = cluster
        self.brokerCount = brokers
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(handle)
    }

    func createTopic(_ name: String, partitions: Int = 6, replicationFactor: Int = 3) throws {
        let code = rd_kafka_mock_topic_create(
            cluster,
            name,
            Int32(partitions),
            Int32(min(replicationFactor, brokerCount))
        )
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw MockClusterError(description: "topic create: \(String(cString: rd_kafka_err2str(code)))")
        }
    }

    /// Makes broker `broker` the leader of `partition` of `topic`.
    func setPartitionLeader(_ topic: String, partition: Int32, broker: Int32) {
        rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker)
    }

    func setBrokerDown(_ id: Int32) {
        rd_kafka_mock_broker_set_down(cluster, id)
    }

    func setBrokerUp(_ id: Int32) {
        rd_kafka_mock_broker_set_up(cluster, id)
    }

    /// Delays every response of broker `id` by `milliseconds`.
    func setBrokerRoundTripTime(_ id: Int32, milliseconds: Int) {
        rd_kafka_mock_broker_set_rtt(cluster, id, Int32(milliseconds))
    }

    /// Makes metadata answers for `topic` carry `error` (e.g. UNKNOWN_TOPIC_OR_PART: the mock
    /// itself creates every topic a client asks about, like a broker with auto-create on).
    func setTopicError(_ topic: String, _ error: rd_kafka_resp_err_t) {
        rd_kafka_mock_topic_set_error(cluster, topic, error)
    }

    /// Makes the next `count` Produce requests (to any broker) fail with `error`.
    func failNextProduceRequests(_ error: rd_kafka_resp_err_t, count: Int = 1) {
        let errors = [rd_kafka_resp_err_t](repeating: error, count: count)
        errors.withUnsafeBufferPointer {
            rd_kafka_mock_push_request_errors_array(cluster, Int16(OUTBOX_KAFKA_API_PRODUCE), $0.count, $0.baseAddress)
        }
    }
}

struct MockClusterError: Error, CustomStringConvertible {
    var description: String
}
