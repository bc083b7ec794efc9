import OutboxRelay

/// A Swift port of the demo EventSauce 0.8 upcaster the fixtures were decoded with
/// (`original/pgsql/decoded-split-upcaster.json`): every
/// `acme.shop.orders.order_lines_were_imported` becomes one `acme.shop.orders.order_line_added`
/// per line, with event id `<id>#<index>`, the header `x-split-from` naming the original type,
/// and the payload `{"line": <line>, "source": <source>}`. Other messages pass unchanged
/// (their stored bytes are forwarded as they are).
///
/// The split messages keep the aggregate root id, so they reach each destination in order
/// with the aggregate's other messages; a malformed import throws and its row is set aside in
/// the dead-letter table.
struct SplitUpcasterExpander: MessageExpander {
    static let importedType = "acme.shop.orders.order_lines_were_imported"
    static let addedType = "acme.shop.orders.order_line_added"

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func expand(_ message: OutboxMessage) throws -> [OutboxMessage] {
        guard message.eventType == Self.importedType else { return [message] }
        guard let payload = try message.payload().objectValue else {
            throw Failure(description: "\(Self.importedType) payload is not an object")
        }
        guard case .array(let lines)? = payload["lines"] else {
            throw Failure(description: "\(Self.importedType) payload has no lines array")
        }
        return try lines.enumerated().map { index, line in
            var headers = message.headers
            headers[EventSauceHeader.eventType] = .string(Self.addedType)
            headers[EventSauceHeader.eventID] = .string("\(message.eventID)#\(index)")
            headers["x-split-from"] = .string(Self.importedType)
            let split: JSONValue = .object(["line": line, "source": payload["source"] ?? .null])
            return try OutboxMessage(rowID: message.rowID, headers: headers, payload: split)
        }
    }
}
