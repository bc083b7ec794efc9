/// A JSON value that keeps numbers as their exact text and objects in their stored key order.
///
/// EventSauce headers carry 64-bit integers, custom objects and booleans; keeping the number
/// text means nothing is rounded through `Double`, and keeping key order means a re-encoded
/// value reads like the stored one.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number, exactly as written (`42`, `-1.5e3`, `18446744073709551615`).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value as a 64-bit integer, if it is an integral number (or a string holding one).
    public var int64Value: Int64? {
        switch self {
        case .number(let text): return Int64(text)
        case .string(let text): return Int64(text)
        default: return nil
        }
    }

    /// The value as a `Double`, if it is a number.
    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The value as text for templates and headers: strings as they are, other values as JSON.
    public var textValue: String {
        switch self {
        case .string(let value): return value
        case .number(let value): return value
        case .bool(let value): return value ? "true" : "false"
        case .null: return ""
        case .array, .object: return String(decoding: JSONWriter.encode(self), as: UTF8.self)
        }
    }

    /// Semantic equality as PHP's `json_decode(…, true)` sees it: numbers compare by value,
    /// objects ignore key order, and an empty object equals an empty array.
    public func isSemanticallyEqual(to other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)):
            if a == b { return true }
            if let x = Int64(a), let y = Int64(b) { return x == y }
            if let x = Double(a), let y = Double(b) { return x == y }
            return false
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.isSemanticallyEqual(to: $1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (key, value) in a {
                guard let otherValue = b[key], value.isSemanticallyEqual(to: otherValue) else { return false }
            }
            return true
        case (.object(let a), .array(let b)), (.array(let b), .object(let a)):
            return a.isEmpty && b.isEmpty
        default: return false
        }
    }
}

/// A JSON object that keeps its members in stored order.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var members: [(key: String, value: JSONValue)]

    public init(_ members: [(key: String, value: JSONValue)] = []) {
        self.members = members
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.members = elements.map { (key: $0.0, value: $0.1) }
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    /// The value of the last member named `key` (PHP keeps the last of duplicate keys).
    public subscript(key: String) -> JSONValue? {
        get {
            for member in members.reversed() where member.key == key { return member.value }
            return nil
        }
        set {
            if let index = members.lastIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key: key, value: newValue))
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for member in members {
            hasher.combine(member.key)
            hasher.combine(member.value)
        }
    }
}
