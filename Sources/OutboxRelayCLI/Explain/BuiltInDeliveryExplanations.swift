import OutboxHTTP
import OutboxKafka
import OutboxRelay

/// `explain` for `type: kafka`: the record ``KafkaTransport/preview(of:)`` builds with the
/// producer's own encoder.
extension KafkaTransport: DeliveryExplaining {
    public func explainDelivery(of message: OutboxMessage) -> DeliveryExplanation {
        let record = preview(of: message)
        var details: JSONObject = [
            "topic": record.topic.map(JSONValue.string) ?? .null,
            "key": record.key.map { .string(String(decoding: $0, as: UTF8.self)) } ?? .null,
            "partitioner": .string(configuration.partitioner.rawValue),
            "value_format": .string(configuration.valueFormat.rawValue),
            "value_size": .number(String(record.value.count)),
        ]
        details["headers"] = .object(
            JSONObject(record.headers.map { (key: $0.name, value: .string(String(decoding: $0.value, as: UTF8.self))) })
        )
        return DeliveryExplanation(details: details, refusal: record.refusal)
    }
}

/// `explain` for `type: http`: the request ``WebhookTransport/preview(of:)`` describes.
extension WebhookTransport: DeliveryExplaining {
    public func explainDelivery(of message: OutboxMessage) -> DeliveryExplanation {
        let request = preview(of: message)
        var headers: [(key: String, value: JSONValue)] = [
            ("content-type", .string(request.contentType)),
            ("webhook-id", .string(request.webhookID)),
            ("webhook-timestamp", .string("{unix seconds when the request starts}")),
        ]
        if request.signatureCount > 0 {
            headers.append(
                (
                    "webhook-signature",
                    .string(
                        "v1,{base64 HMAC-SHA256 of the signature base} × \(request.signatureCount) "
                            + "(one per secret)"
                    )
                )
            )
        }
        for name in request.staticHeaderNames { headers.append((name, .string("***"))) }
        let details: JSONObject = [
            "method": .string(request.method),
            "url": .string(request.redactedURL),
            "headers": .object(JSONObject(headers)),
            "signature_base": .string(request.signatureCount > 0 ? request.signatureBase : "(no secrets: unsigned)"),
            "body_format": .string(configuration.bodyFormat.rawValue),
            "body_size": .number(String(request.body.count)),
        ]
        return DeliveryExplanation(details: details, refusal: request.refusal)
    }
}

/// `explain` for `type: file`: the exact line the transport would append.
extension FileTransport: DeliveryExplaining {
    func explainDelivery(of message: OutboxMessage) -> DeliveryExplanation {
        var line: [UInt8] = []
        Self.appendLine(for: message, to: &line)
        if line.last == UInt8(ascii: "\n") { line.removeLast() }
        return DeliveryExplanation(details: [
            "path": .string(configuration.path == "-" ? "- (standard output)" : configuration.path),
            "line": .string(String(decoding: line, as: UTF8.self)),
            "line_size": .number(String(line.count + 1)),
        ])
    }
}
