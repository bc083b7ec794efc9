/// A topic or key template such as `acme.{aggregate_root_type}` or `{aggregate_root_id}`,
/// parsed once and rendered per message.
struct KafkaMessageTemplate: Sendable, Hashable {
    /// A message field a placeholder names.
    enum Field: Sendable, Hashable {
        case eventType
        case eventID
        case aggregateRootID
        case aggregateRootIDType
        case aggregateRootType
        case header(String)
    }

    enum Segment: Sendable, Hashable {
        case literal(String)
        case field(Field)
    }

    /// What the template renders.
    enum Purpose: Sendable {
        /// A topic name: substituted values are sanitized, literal text must be valid.
        case topic
        /// A message key: rendered as is.
        case key
    }

    /// Kafka's longest topic name.
    static let maximumTopicLength = 249

    let segments: [Segment]
    let purpose: Purpose

    /// Parses `text`.
    /// - Throws: ``KafkaTransportError`` with code ``KafkaTransportError/Code/invalidConfiguration``
    ///   for an unknown placeholder, an unclosed `{`, or literal topic text Kafka rejects.
    init(_ text: String, purpose: Purpose) throws(KafkaTransportError) {
        self.purpose = purpose
        let what = purpose == .topic ? "topic" : "key"
        var segments: [Segment] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw KafkaTransportError(
                    code: .invalidConfiguration,
                    message: "the \(what) template \"\(text)\" has a \"{\" without \"}\"",
                    setting: what
                )
            }
            let name = String(rest[rest.index(after: open)..<close])
            let field: Field
            switch name {
            case "event_type": field = .eventType
            case "aggregate_root_type": field = .aggregateRootType
            case "aggregate_root_id_type": field = .aggregateRootIDType
            case "event_id" where purpose == .key: field = .eventID
            case "aggregate_root_id" where purpose == .key: field = .aggregateRootID
            default:
                if name.hasPrefix("header."), name.count > "header.".count {
                    field = .header(String(name.dropFirst("header.".count)))
                } else {
                    let allowed =
                        purpose == .topic
                        ? "{event_type}, {aggregate_root_type}, {aggregate_root_id_type}, {header.NAME}"
                        : "{aggregate_root_id}, {event_id}, {event_type}, {aggregate_root_type}, "
                            + "{aggregate_root_id_type}, {header.NAME}"
                    throw KafkaTransportError(
                        code: .invalidConfiguration,
                        message:
                            "the \(what) template \"\(text)\" uses the unknown placeholder {\(name)}; "
                            + "allowed: \(allowed)",
                        setting: what
                    )
                }
            }
            if !literal.isEmpty {
                segments.append(.literal(literal))
                literal = ""
            }
            segments.append(.field(field))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { segments.append(.literal(literal)) }
        if purpose == .topic {
            for case .literal(let text) in segments where Self.sanitizedTopicPart(text) != text {
                throw KafkaTransportError(
                    code: .invalidConfiguration,
                    message:
                        "the topic template's text \"\(text)\" has characters Kafka rejects in topic names "
                        + "(allowed: a-z A-Z 0-9 . _ -)",
                    setting: "topic"
                )
            }
        }
        self.segments = segments
    }

    /// The text of the template when it has no placeholders (a fixed topic).
    var fixedText: String? {
        var text = ""
        for segment in segments {
            guard case .literal(let part) = segment else { return nil }
            text += part
        }
        return text
    }

    /// The field when the template is exactly one placeholder of a key template (rendered as
    /// the field's value, unchanged).
    var singleField: Field? {
        guard purpose == .key, segments.count == 1, case .field(let field) = segments[0] else { return nil }
        return field
    }

    /// Renders the template for `message`. Topics are sanitized and cut to 249 characters.
    func render(_ message: OutboxMessage) -> String {
        var output = ""
        for segment in segments {
            switch segment {
            case .literal(let text):
                output += text
            case .field(let field):
                let value = Self.value(of: field, in: message)
                output += purpose == .topic ? Self.sanitizedTopicPart(value) : value
            }
        }
        if purpose == .topic && output.utf8.count > Self.maximumTopicLength {
            output = String(decoding: output.utf8.prefix(Self.maximumTopicLength), as: UTF8.self)
        }
        return output
    }

    static func value(of field: Field, in message: OutboxMessage) -> String {
        switch field {
        case .eventType: return message.eventType
        case .eventID: return message.eventID
        case .aggregateRootID: return message.aggregateRootID ?? ""
        case .aggregateRootIDType: return message.aggregateRootIDType ?? ""
        case .aggregateRootType: return message.aggregateRootType ?? ""
        case .header(let name): return message.headers[name]?.textValue ?? ""
        }
    }

    /// Replaces every character Kafka rejects in a topic name (anything but `a-z A-Z 0-9 . _ -`)
    /// with `_`, one `_` per Unicode scalar.
    static func sanitizedTopicPart(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": scalars.append(scalar)
            default: scalars.append("_")
            }
        }
        return String(scalars)
    }

    /// Whether `topic` is a name Kafka accepts.
    static func isValidTopic(_ topic: String) -> Bool {
        !topic.isEmpty && topic != "." && topic != ".." && topic.utf8.count <= maximumTopicLength
            && sanitizedTopicPart(topic) == topic
    }
}
