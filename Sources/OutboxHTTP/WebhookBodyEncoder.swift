/// Builds the request body of a message in the configured ``WebhookTransport/Configuration/BodyFormat-swift.enum``.
struct WebhookBodyEncoder: Sendable {
    var format: WebhookTransport.Configuration.BodyFormat
    var cloudEventsSource: String

    /// The `content-type` header for this format.
    var contentType: String {
        format == .cloudevents ? "application/cloudevents+json" : "application/json"
    }

    /// The body bytes. `envelope` and `payload` forward stored bytes untouched; `cloudevents`
    /// carries `traceContext` as the distributed-tracing extension attributes `traceparent` and
    /// `tracestate`.
    func body(for message: OutboxMessage, traceContext: TraceContext? = nil) -> [UInt8] {
        switch format {
        case .envelope:
            return message.envelope
        case .payload:
            return Array(message.payloadBytes)
        case .cloudevents:
            var output: [UInt8] = []
            output.reserveCapacity(message.payloadRange.count + 256)
            output.append(contentsOf: #"{"specversion":"1.0","id":"#.utf8)
            JSONWriter.write(.string(message.eventID), escaping: .minimal, to: &output)
            output.append(contentsOf: #","source":"#.utf8)
            JSONWriter.write(.string(cloudEventsSource), escaping: .minimal, to: &output)
            output.append(contentsOf: #","type":"#.utf8)
            JSONWriter.write(.string(message.eventType), escaping: .minimal, to: &output)
            if let subject = message.aggregateRootID {
                output.append(contentsOf: #","subject":"#.utf8)
                JSONWriter.write(.string(subject), escaping: .minimal, to: &output)
            }
            if let time = message.timeOfRecording {
                output.append(contentsOf: #","time":"#.utf8)
                JSONWriter.write(.string(time.rfc3339), escaping: .minimal, to: &output)
            }
            if let traceContext {
                output.append(contentsOf: #","traceparent":"#.utf8)
                JSONWriter.write(.string(traceContext.traceparent), escaping: .minimal, to: &output)
                if let state = traceContext.tracestate {
                    output.append(contentsOf: #","tracestate":"#.utf8)
                    JSONWriter.write(.string(state), escaping: .minimal, to: &output)
                }
            }
            output.append(contentsOf: #","datacontenttype":"application/json","data":"#.utf8)
            output.append(contentsOf: message.payloadBytes)
            output.append(UInt8(ascii: "}"))
            return output
        }
    }
}
