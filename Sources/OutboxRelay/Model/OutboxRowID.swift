/// The primary key of an outbox row.
///
/// `outbox` tables use a 64-bit auto-increment id; `dispatcher` tables use the message's
/// UUID as text.
public enum OutboxRowID: Hashable, Sendable, CustomStringConvertible, Comparable {
    case integer(Int64)
    case text(String)

    public var description: String {
        switch self {
        case .integer(let value): return String(value)
        case .text(let value): return value
        }
    }

    public static func < (lhs: OutboxRowID, rhs: OutboxRowID) -> Bool {
        switch (lhs, rhs) {
        case (.integer(let a), .integer(let b)): return a < b
        case (.text(let a), .text(let b)): return a < b
        case (.integer, .text): return true
        case (.text, .integer): return false
        }
    }
}
