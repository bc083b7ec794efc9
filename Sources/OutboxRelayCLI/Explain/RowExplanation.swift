import OutboxRelay

/// What the relay would do with one row, worked out as the engine does it — decoding,
/// expanding, routing — and, per destination, what its transport would send. Sends nothing.
///
/// ``json`` is the `explain --json` object; ``text`` the same for a terminal.
struct RowExplanation {
    /// The `explain --json` object.
    private(set) var json: JSONObject

    /// Explains `row` with the configuration's decoder, expander, routes and transports.
    /// - Parameter hasRowID: `false` for `--payload`: the row id is unknown (a derived event id
    ///   then depends on the id the row gets).
    init(row: OutboxRow, hasRowID: Bool, configuration: RelayConfiguration) {
        let source = configuration.source
        var json: JSONObject = [
            "source_table": .string(source.table),
            "flavour": .string(source.flavour.rawValue),
            "row_id": hasRowID ? .string(row.id.description) : .null,
            "payload_size": .number(String(row.payload.count)),
        ]
        var messages: [OutboxMessage]
        do {
            let message = try EnvelopeDecoder(table: source.table).decode(row)
            if let expander = configuration.expander {
                do {
                    messages = try expander.expand(message)
                } catch {
                    throw EnvelopeDecodingError(
                        code: .expanderFailed,
                        rowID: row.id,
                        detail: "the expander failed: \(error)"
                    )
                }
            } else {
                messages = [message]
            }
        } catch {
            json["outcome"] = .string("dead-letter")
            json["reason"] = .string("undecodable")
            json["error"] = .string((error as? EnvelopeDecodingError)?.detail ?? String(describing: error))
            json["messages"] = .array([])
            self.json = json
            return
        }
        json["outcome"] = .string("decoded")
        json["messages"] = .array(
            messages.map { .object(Self.explain($0, hasRowID: hasRowID, configuration: configuration)) }
        )
        self.json = json
    }

    private static func explain(
        _ message: OutboxMessage,
        hasRowID: Bool,
        configuration: RelayConfiguration
    ) -> JSONObject {
        let text = { (value: String?) in value.map(JSONValue.string) ?? .null }
        let idSource =
            !message.eventIDIsDerived
            ? "stored" : hasRowID ? "derived from the table and row id" : "derived from the row id once stored"
        var json: JSONObject = [
            "event_id": hasRowID || !message.eventIDIsDerived ? .string(message.eventID) : .null,
            "event_id_source": .string(idSource),
            "event_type": .string(message.eventType),
            "aggregate_root_type": text(message.aggregateRootType),
            "aggregate_root_id": text(message.aggregateRootID),
            "aggregate_root_version": message.aggregateRootVersion.map { .number(String($0)) } ?? .null,
            "time_of_recording": text(message.timeOfRecording?.rfc3339 ?? message.timeOfRecordingText),
            "ordering_key": .string(message.orderingKey),
            "envelope_size": .number(String(message.envelope.count)),
        ]
        var routes: [JSONValue] = []
        for (index, rule) in configuration.routing.rules.enumerated() where rule.events.matches(message.eventType) {
            routes.append(
                .object([
                    "route": .number(String(index)),
                    "events": .string(rule.events.description),
                    "to": .array(rule.destinations.map(JSONValue.string)),
                    "final": .bool(rule.isFinal),
                ])
            )
            if rule.isFinal { break }
        }
        json["routes"] = .array(routes)
        let destinations = configuration.routing.destinations(for: message.eventType)
        guard !destinations.isEmpty else {
            switch configuration.routing.unrouted {
            case .skip:
                json["outcome"] = .string("skip")
                json["reason"] = .string("no route matches and `unrouted: skip`: counted as delivered, sent nowhere")
            case .deadLetter:
                json["outcome"] = .string("dead-letter")
                json["reason"] = .string(
                    "unrouted: no route matches and `unrouted: dead-letter`: set aside in the dead-letter table"
                )
            }
            json["destinations"] = .array([])
            return json
        }
        json["outcome"] = .string("deliver")
        let transports = Dictionary(configuration.transports.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        json["destinations"] = .array(
            destinations.map { name in
                var destination: JSONObject = ["name": .string(name)]
                if let explaining = transports[name] as? any DeliveryExplaining {
                    let explanation = explaining.explainDelivery(of: message)
                    destination["delivery"] = .object(explanation.details)
                    if let refusal = explanation.refusal {
                        destination["outcome"] = .string("dead-letter")
                        destination["reason"] = .string(refusal)
                    } else {
                        destination["outcome"] = .string("send")
                    }
                } else {
                    destination["delivery"] = .null
                    destination["outcome"] = .string("send")
                    destination["reason"] = .string(
                        "its transport type does not explain its deliveries (DeliveryExplaining); "
                            + "it is handed the \(message.envelope.count)-byte envelope"
                    )
                }
                return .object(destination)
            }
        )
        return json
    }

    /// The explanation for a terminal.
    var text: String {
        var lines: [String] = []
        let table = json["source_table"]?.textValue ?? ""
        let size = json["payload_size"]?.textValue ?? "0"
        if let row = json["row_id"]?.stringValue {
            lines.append("row \(row) of \(table) (\(size)-byte payload)")
        } else {
            lines.append("payload for \(table) (\(size) bytes; no row id)")
        }
        guard json["outcome"]?.stringValue == "decoded" else {
            lines.append("undecodable: \(json["error"]?.textValue ?? "")")
            lines.append("→ would be set aside in the dead-letter table (reason undecodable), and the row marked")
            return (lines + ["nothing was sent and nothing was marked"]).joined(separator: "\n")
        }
        let messages = json["messages"]?.arrayValue ?? []
        lines.append("decoded: \(messages.count) message\(messages.count == 1 ? "" : "s")")
        for (number, value) in messages.enumerated() {
            guard let message = value.objectValue else { continue }
            let field = { (key: String) in message[key]?.textValue ?? "" }
            lines.append("message \(number + 1): \(field("event_type"))")
            let id = message["event_id"] == .null ? "(none stored)" : field("event_id")
            lines.append("  event id:      \(id) (\(field("event_id_source")))")
            if message["aggregate_root_id"] != .null {
                var aggregate = "\(field("aggregate_root_type")) \(field("aggregate_root_id"))"
                if message["aggregate_root_version"] != .null { aggregate += " v\(field("aggregate_root_version"))" }
                lines.append("  aggregate:     \(aggregate.trimmingPrefix(" "))")
            }
            lines.append("  ordering key:  \(field("ordering_key"))")
            let routes = message["routes"]?.arrayValue ?? []
            if routes.isEmpty {
                lines.append("  routes:        none match")
            }
            for route in routes.compactMap(\.objectValue) {
                let to = (route["to"]?.arrayValue ?? []).map(\.textValue).joined(separator: ", ")
                let final = route["final"] == .bool(true) ? " (final)" : ""
                let pattern = route["events"]?.textValue ?? ""
                lines.append("  route #\(route["route"]?.textValue ?? ""):      \"\(pattern)\" → \(to)\(final)")
            }
            if message["outcome"]?.stringValue != "deliver" {
                lines.append("  → would \(field("outcome")): \(field("reason"))")
                continue
            }
            for destination in (message["destinations"]?.arrayValue ?? []).compactMap(\.objectValue) {
                lines.append("  destination \(destination["name"]?.textValue ?? ""):")
                if let delivery = destination["delivery"]?.objectValue {
                    Self.appendLines(delivery, indent: "    ", to: &lines)
                }
                if destination["outcome"]?.stringValue == "dead-letter" {
                    lines.append(
                        "    → would be dead-lettered without sending: \(destination["reason"]?.textValue ?? "")"
                    )
                } else if let reason = destination["reason"]?.stringValue {
                    lines.append("    \(reason)")
                }
            }
        }
        return (lines + ["nothing was sent and nothing was marked"]).joined(separator: "\n")
    }

    private static func appendLines(_ object: JSONObject, indent: String, to lines: inout [String]) {
        for (key, value) in object {
            switch value {
            case .object(let nested):
                lines.append("\(indent)\(key):")
                appendLines(nested, indent: indent + "  ", to: &lines)
            case .array(let elements):
                lines.append("\(indent)\(key): \(elements.map(\.textValue).joined(separator: ", "))")
            case .null:
                lines.append("\(indent)\(key): (none)")
            default:
                lines.append("\(indent)\(key): \(value.textValue)")
            }
        }
    }
}
