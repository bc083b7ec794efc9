import Foundation
import Logging
import OutboxRelay

/// A swift-log handler that writes one JSON object per line to standard error:
/// `ts` (RFC 3339, microseconds, UTC), `level`, `label`, `message`, then the metadata
/// (handler, logger and per-call, later ones winning) as string members. A metadata key that
/// collides with one of the four is written with a leading `_`.
struct JSONLogHandler: LogHandler {
    static let reservedKeys: Set<String> = ["ts", "level", "label", "message"]

    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    private let write: @Sendable ([UInt8]) -> Void

    init(label: String, write: @escaping @Sendable ([UInt8]) -> Void = JSONLogHandler.writeToStandardError) {
        self.label = label
        self.write = write
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        var members: [(key: String, value: JSONValue)] = [
            ("ts", .string(Timestamp.now().rfc3339)),
            ("level", .string(event.level.rawValue)),
            ("label", .string(label)),
            ("message", .string(event.message.description)),
        ]
        for key in merged.keys.sorted() {
            let name = Self.reservedKeys.contains(key) ? "_\(key)" : key
            members.append((name, Self.json(merged[key]!)))
        }
        var line = JSONWriter.encode(.object(JSONObject(members)), escaping: .minimal)
        line.append(UInt8(ascii: "\n"))
        write(line)
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let members): .object(JSONObject(members.keys.sorted().map { ($0, json(members[$0]!)) }))
        }
    }

    /// One `write(2)` per line, so lines of concurrent loggers never interleave.
    @Sendable static func writeToStandardError(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
