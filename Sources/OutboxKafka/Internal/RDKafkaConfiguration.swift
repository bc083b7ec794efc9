import CRdKafka

/// Builds `rd_kafka_conf_t` objects from property lists.
enum RDKafkaConfiguration {
    /// A new configuration with `properties` set in order. The caller owns the result.
    /// - Throws: ``KafkaTransportError`` naming the property librdkafka rejects; the value is
    ///   never included (it may be a secret).
    static func make(_ properties: [(key: String, value: String)]) throws(KafkaTransportError) -> OpaquePointer {
        let configuration = rd_kafka_conf_new()!
        var error = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let status = rd_kafka_conf_set(configuration, key, value, &error, error.count)
            guard status == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(configuration)
                if status == RD_KAFKA_CONF_UNKNOWN {
                    throw KafkaTransportError(
                        code: .invalidConfiguration,
                        message: "librdkafka has no property \"\(key)\"",
                        setting: "properties." + key
                    )
                }
                var detail = cStringText(error)
                if !value.isEmpty { detail = detail.replacing(value, with: "***") }
                throw KafkaTransportError(
                    code: .invalidConfiguration,
                    message: "librdkafka rejects the value of \"\(key)\": \(detail)",
                    setting: "properties." + key
                )
            }
        }
        return configuration
    }

    /// Releases a configuration that was not given to `rd_kafka_new`.
    static func destroy(_ configuration: OpaquePointer) {
        rd_kafka_conf_destroy(configuration)
    }
}
