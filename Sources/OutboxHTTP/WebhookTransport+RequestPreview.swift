import OutboxRelay

extension WebhookTransport {
    /// The request the transport would send for one message, without sending it
    /// (`outbox-relay explain`). Holds no secret: static header values and signatures are left out.
    public struct RequestPreview: Sendable {
        /// Always `POST`.
        public var method: String
        /// The endpoint URL as ``WebhookTransport/redactedURL`` prints it.
        public var redactedURL: String
        /// `content-type`.
        public var contentType: String
        /// `webhook-id`: the event id.
        public var webhookID: String
        /// The names of the configured static headers, sorted (their values may be secrets).
        public var staticHeaderNames: [String]
        /// How many `v1,` signatures `webhook-signature` carries (one per secret; 0: no header).
        public var signatureCount: Int
        /// What is signed: `<webhook-id>.<webhook-timestamp>.<body>`, with the timestamp and the
        /// body as placeholders (`{webhook-timestamp}`, `{body}`).
        public var signatureBase: String
        /// The message's validated W3C trace context, sent as `traceparent` and `tracestate`
        /// headers (and, in the CloudEvents format, as attributes of the body).
        public var traceContext: TraceContext?
        /// The body bytes.
        public var body: [UInt8]
        /// Why the message would be dead-lettered without a request (too large, a bad event id).
        public var refusal: String?
    }

    /// What ``deliver(_:)`` would send for `message`. Sends nothing.
    public func preview(of message: OutboxMessage) -> RequestPreview {
        let prepared = prepare(message)
        let traceContext = TraceContext.extract(from: message).context
        let body = encoder.body(for: message, traceContext: traceContext)
        var refusal: String?
        if case .permanent(let reason) = prepared.immediateResult { refusal = reason }
        return RequestPreview(
            method: "POST",
            redactedURL: redactedURL,
            contentType: encoder.contentType,
            webhookID: message.eventID,
            staticHeaderNames: configuration.headers.keys.sorted(),
            signatureCount: configuration.signing.secrets.count,
            signatureBase: "\(message.eventID).{webhook-timestamp}.{body}",
            traceContext: traceContext,
            body: body,
            refusal: refusal
        )
    }

    /// The request body of `message`, or the result it gets without a request.
    func prepare(_ message: OutboxMessage) -> PreparedMessage {
        let limit = configuration.maximumBodySize
        let trace = TraceContext.extract(from: message)
        for error in trace.dropped {
            logger.debug(
                "trace context header dropped",
                metadata: [
                    "destination": "\(name)", "event_id": "\(message.eventID)", "row_id": "\(message.rowID)",
                    "header": "\(error.header)", "reason": "\(error.reason)",
                ]
            )
        }
        var traceHeaders: [String] = []
        if let context = trace.context {
            traceHeaders.append("traceparent: " + context.traceparent)
            if let state = context.tracestate { traceHeaders.append("tracestate: " + state) }
        }
        let body = encoder.body(for: message, traceContext: trace.context)
        var immediate: DeliveryResult?
        if body.count > limit {
            immediate = .permanent("body of \(body.count) bytes exceeds the maximum of \(limit) bytes")
        } else if message.eventID.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
            immediate = .permanent("the event id contains control characters and cannot be sent as webhook-id")
        }
        return PreparedMessage(
            eventID: message.eventID,
            orderingKey: message.orderingKey,
            body: immediate == nil ? body : [],
            traceHeaders: traceHeaders,
            immediateResult: immediate,
            rowID: message.rowID
        )
    }
}
