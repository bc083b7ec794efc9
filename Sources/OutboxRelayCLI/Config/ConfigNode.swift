import Foundation
import Yams

/// One YAML mapping of the configuration file, with its key path for error messages.
///
/// Every accessor names the full key path when a value has the wrong type, and string
/// values may be indirections: `env:VAR` reads an environment variable, `file:PATH` reads a
/// file (trailing newline removed) — use them for secrets. Accessors return `nil` for a key
/// that is absent or null, so defaults are written at the call site (`?? 5`).
///
/// Plugin transports and sources receive their mapping as a `ConfigNode`
/// (``TransportConfigParser/makeTransport(name:node:)``); reading it with these accessors gives
/// their keys the same checks and error messages as the built-in ones.
public struct ConfigNode {
    /// The dotted path of this mapping (`""` for the root), e.g. `transports.orders`.
    public let path: String
    private let mapping: Yams.Node.Mapping
    private let environment: [String: String]

    init(path: String, mapping: Yams.Node.Mapping, environment: [String: String] = ProcessInfo.processInfo.environment)
    {
        self.path = path
        self.mapping = mapping
        self.environment = environment
    }

    /// Parses a whole YAML document, which must be a mapping.
    static func parse(
        yaml: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ConfigNode {
        let node: Yams.Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(keyPath: "", problem: "the file is not valid YAML: \(error)")
        }
        guard let node else {
            throw ConfigError(
                keyPath: "",
                problem: "the file is empty",
                fix: "start from `outbox-relay demo`'s example or the README's config reference"
            )
        }
        guard let mapping = node.mapping else {
            throw ConfigError(keyPath: "", problem: "the top level must be a mapping (source:, transports:, routes:)")
        }
        return ConfigNode(path: "", mapping: mapping, environment: environment)
    }

    /// The key path of a member, e.g. `transports.orders.topic` for `topic`; use it in your own
    /// ``ConfigError``s.
    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The keys present, in file order.
    public var keys: [String] { mapping.keys.compactMap(\.string) }

    /// Whether `key` is present (even if null).
    public func contains(_ key: String) -> Bool { mapping[key] != nil }

    private func node(_ key: String) -> Yams.Node? {
        guard let value = mapping[key] else { return nil }
        if case .scalar(let scalar) = value,
            scalar.tag.description == Tag.Name.null.rawValue
                || (scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string))
        {
            return nil
        }
        return value
    }

    private func scalarText(_ key: String) throws -> String? {
        guard let value = node(key) else { return nil }
        guard case .scalar(let scalar) = value else {
            throw ConfigError(keyPath: keyPath(key), problem: "expected a single value, found a \(value.kindName)")
        }
        return scalar.string
    }

    /// Resolves `env:VAR` and `file:PATH` indirections; other text is returned as is.
    /// - Throws: ``ConfigError`` at `keyPath` when the variable is unset or the file unreadable.
    public func resolve(_ text: String, keyPath: String) throws -> String {
        if text.hasPrefix("env:") {
            let name = String(text.dropFirst(4))
            guard let value = environment[name] else {
                throw ConfigError(
                    keyPath: keyPath,
                    problem: "refers to the environment variable \(name), which is not set",
                    fix: "export \(name)=… before starting the relay"
                )
            }
            return value
        }
        if text.hasPrefix("file:") {
            let filePath = String(text.dropFirst(5))
            guard let data = FileManager.default.contents(atPath: filePath),
                var value = String(data: data, encoding: .utf8)
            else {
                throw ConfigError(
                    keyPath: keyPath,
                    problem: "refers to the file \(filePath), which cannot be read",
                    fix: "check the path and its permissions"
                )
            }
            while value.hasSuffix("\n") || value.hasSuffix("\r") { value.removeLast() }
            return value
        }
        return text
    }

    /// A single value as text (`env:`/`file:` resolved; numbers and booleans as written).
    /// - Throws: ``ConfigError`` when the value is a list or a mapping.
    public func string(_ key: String) throws -> String? {
        guard let text = try scalarText(key) else { return nil }
        return try resolve(text, keyPath: keyPath(key))
    }

    /// Like ``string(_:)``, but a missing value is an error.
    /// - Throws: ``ConfigError`` naming the key as required.
    public func requiredString(_ key: String) throws -> String {
        guard let value = try string(key) else {
            throw ConfigError(keyPath: keyPath(key), problem: "is required but missing")
        }
        return value
    }

    /// A whole number (`_` separators allowed).
    /// - Throws: ``ConfigError`` when the value is not one.
    public func int(_ key: String) throws -> Int? {
        guard let text = try string(key) else { return nil }
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            throw ConfigError(keyPath: keyPath(key), problem: "expected a whole number, found \"\(text)\"")
        }
        return value
    }

    /// A size in bytes: a whole number of bytes, or one with a unit: `KB`, `MB`, `GB` (powers of
    /// 1000) or `KiB`, `MiB`, `GiB` (powers of 1024), e.g. `64MiB`, `16 MB`.
    /// - Throws: ``ConfigError`` when the value is not one or does not fit 64 bits.
    public func byteSize(_ key: String) throws -> Int? {
        guard let text = try string(key) else { return nil }
        guard let value = Self.parseByteSize(text) else {
            throw ConfigError(
                keyPath: keyPath(key),
                problem: "expected a size in bytes such as 1048576, 16MiB or 64MB, found \"\(text)\""
            )
        }
        return value
    }

    private static let byteUnits: [(suffix: String, factor: Int)] = [
        ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("kb", 1_000), ("mb", 1_000_000),
        ("gb", 1_000_000_000), ("b", 1),
    ]

    /// `text` as a non-negative number of bytes; `nil` when malformed or beyond `Int`.
    static func parseByteSize(_ text: String) -> Int? {
        var number = text.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "_", with: "")
        var factor = 1
        if let unit = byteUnits.first(where: { number.hasSuffix($0.suffix) }) {
            number = String(number.dropLast(unit.suffix.count)).trimmingCharacters(in: .whitespaces)
            factor = unit.factor
        }
        guard let value = Int(number), value >= 0 else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : bytes
    }

    /// A number.
    /// - Throws: ``ConfigError`` when the value is not one.
    public func double(_ key: String) throws -> Double? {
        guard let text = try string(key) else { return nil }
        guard let value = Double(text) else {
            throw ConfigError(keyPath: keyPath(key), problem: "expected a number, found \"\(text)\"")
        }
        return value
    }

    /// `true`/`yes`/`on` or `false`/`no`/`off`.
    /// - Throws: ``ConfigError`` for anything else.
    public func bool(_ key: String) throws -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw ConfigError(keyPath: keyPath(key), problem: "expected true or false, found \"\(text)\"")
        }
    }

    /// A duration: `250ms`, `5s`, `2m`, `1h`, `1d`, or a plain number of seconds; at most
    /// ``maximumDuration``.
    /// - Throws: ``ConfigError`` when the value is not one or is longer than that.
    public func duration(_ key: String) throws -> Duration? {
        guard let text = try string(key) else { return nil }
        switch Self.parseDuration(text) {
        case .some(let value):
            return value
        case .none where Self.isNumberWithUnit(text):
            throw ConfigError(
                keyPath: keyPath(key),
                problem: "\"\(text)\" is too long; use a finite duration of at most 36500d (100 years)"
            )
        case .none:
            throw ConfigError(
                keyPath: keyPath(key),
                problem: "expected a duration such as 250ms, 5s, 2m or 1h, found \"\(text)\""
            )
        }
    }

    /// The longest duration a config file may give: 100 years, so that every conversion
    /// (milliseconds for C APIs, microseconds for the engine) stays far inside `Int64`.
    static let maximumDuration = Duration.seconds(36_500 * 86_400)

    private static let durationUnits: [(suffix: String, seconds: Double)] = [
        ("ms", 0.001), ("us", 0.000_001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400),
    ]

    /// `text` as a number of seconds times its unit's factor, before any range check.
    private static func durationSeconds(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for unit in durationUnits where trimmed.hasSuffix(unit.suffix) {
            let number = trimmed.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)
            return Double(number).map { $0 * unit.seconds }
        }
        return Double(trimmed)
    }

    /// Whether `text` is a non-negative number (with or without a unit), even if too large:
    /// `inf`, `1e20s`.
    private static func isNumberWithUnit(_ text: String) -> Bool {
        guard let seconds = durationSeconds(text) else { return false }
        return seconds >= 0
    }

    /// `text` as a duration, or `nil` when it is not a duration, negative, not finite or above
    /// ``maximumDuration``.
    static func parseDuration(_ text: String) -> Duration? {
        guard let seconds = durationSeconds(text), seconds.isFinite, seconds >= 0,
            seconds <= maximumDuration.seconds
        else { return nil }
        return Duration(checkedSeconds: seconds)
    }

    /// A list of strings; a single string counts as a list of one.
    /// - Throws: ``ConfigError`` when the value or an element is a mapping.
    public func stringList(_ key: String) throws -> [String]? {
        guard let value = node(key) else { return nil }
        switch value {
        case .scalar(let scalar):
            return [try resolve(scalar.string, keyPath: keyPath(key))]
        case .sequence(let sequence):
            return try sequence.enumerated().map { index, element in
                guard case .scalar(let scalar) = element else {
                    throw ConfigError(
                        keyPath: "\(keyPath(key))[\(index)]",
                        problem: "expected a string, found a \(element.kindName)"
                    )
                }
                return try resolve(scalar.string, keyPath: "\(keyPath(key))[\(index)]")
            }
        default:
            throw ConfigError(keyPath: keyPath(key), problem: "expected a list of strings, found a mapping")
        }
    }

    /// A mapping of strings to strings (values resolved; numbers and booleans as text).
    /// - Throws: ``ConfigError`` when the value is not a mapping or a member has no value.
    public func stringMap(_ key: String) throws -> [String: String]? {
        guard let child = try child(key) else { return nil }
        var result: [String: String] = [:]
        for name in child.keys {
            guard let value = try child.string(name) else {
                throw ConfigError(keyPath: child.keyPath(name), problem: "has no value")
            }
            result[name] = value
        }
        return result
    }

    /// A nested mapping, with its own key path.
    /// - Throws: ``ConfigError`` when the value is not a mapping.
    public func child(_ key: String) throws -> ConfigNode? {
        guard let value = node(key) else { return nil }
        guard case .mapping(let nested) = value else {
            throw ConfigError(
                keyPath: keyPath(key),
                problem: "expected a mapping (key: value lines), found a \(value.kindName)"
            )
        }
        return ConfigNode(path: keyPath(key), mapping: nested, environment: environment)
    }

    /// A list of mappings (key paths `KEY[0]`, `KEY[1]`, …).
    /// - Throws: ``ConfigError`` when the value is not a list of mappings.
    public func children(_ key: String) throws -> [ConfigNode]? {
        guard let value = node(key) else { return nil }
        guard case .sequence(let sequence) = value else {
            throw ConfigError(keyPath: keyPath(key), problem: "expected a list, found a \(value.kindName)")
        }
        return try sequence.enumerated().map { index, element in
            guard case .mapping(let nested) = element else {
                throw ConfigError(
                    keyPath: "\(keyPath(key))[\(index)]",
                    problem: "expected a mapping, found a \(element.kindName)"
                )
            }
            return ConfigNode(path: "\(keyPath(key))[\(index)]", mapping: nested, environment: environment)
        }
    }

    /// One of a fixed set of words, e.g. an enum of `String` raw values.
    /// - Throws: ``ConfigError`` listing the allowed words.
    public func choice<E: RawRepresentable & CaseIterable>(_ key: String, as type: E.Type) throws -> E?
    where E.RawValue == String {
        guard let text = try string(key) else { return nil }
        guard let value = E(rawValue: text) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError(
                keyPath: keyPath(key),
                problem: "\"\(text)\" is not one of: \(allowed)",
                fix: "use one of \(allowed)"
            )
        }
        return value
    }

    /// Fails on the first key that is not in `allowed`, suggesting the closest allowed key.
    /// The loader calls it for a transport's and a source's own mapping; call it for nested
    /// mappings you read with ``child(_:)``.
    /// - Throws: ``ConfigError`` naming the unknown key.
    public func rejectUnknownKeys(_ allowed: Set<String>) throws {
        for key in keys where !allowed.contains(key) {
            let suggestion = allowed.min { Self.distance($0, key) < Self.distance($1, key) }
            let fix = suggestion.map { Self.distance($0, key) <= 3 ? "did you mean \"\($0)\"?" : nil } ?? nil
            throw ConfigError(
                keyPath: keyPath(key),
                problem: "unknown key",
                fix: fix ?? "remove it; allowed here: \(allowed.sorted().joined(separator: ", "))"
            )
        }
    }

    private static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension Yams.Node {
    var kindName: String {
        switch self {
        case .scalar: return "single value"
        case .mapping: return "mapping"
        case .sequence: return "list"
        }
    }
}
