import CRdKafka

/// Maps librdkafka error codes to delivery results.
///
/// Permanent: the message itself or the destination's setup is wrong, and resending the same
/// bytes to the same topic cannot succeed (the message goes to the dead-letter table).
/// Everything else — timeouts, leader changes, brokers down, purges, fatal idempotence
/// errors after which the producer is recreated, and codes this list does not know — is
/// retryable: the engine backs off and resends, and dead-letters only after its retry policy's
/// `max_attempts`.
enum RDKafkaDeliveryClassification {
    static func result(for code: rd_kafka_resp_err_t, detail: String) -> DeliveryResult {
        let text = "\(detail) [\(String(cString: rd_kafka_err2name(code)))]"
        return isPermanent(code) ? .permanent(text) : .retryable(text)
    }

    static func isPermanent(_ code: rd_kafka_resp_err_t) -> Bool {
        switch code {
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,  // larger than the broker's or the local message.max.bytes
            RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
            RD_KAFKA_RESP_ERR_INVALID_MSG,  // also CORRUPT_MESSAGE
            RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE,
            RD_KAFKA_RESP_ERR_INVALID_RECORD,
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,  // topic absent, auto-create off
            RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
            RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
            RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,  // invalid topic name
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_POLICY_VIOLATION,
            RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT,
            RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS,
            RD_KAFKA_RESP_ERR__INVALID_ARG,
            RD_KAFKA_RESP_ERR__KEY_SERIALIZATION,
            RD_KAFKA_RESP_ERR__VALUE_SERIALIZATION:
            return true
        default:
            return false
        }
    }
}

/// The text of a NUL-terminated C string in a buffer.
func cStringText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
