import FuzzerDriver
import OutboxRelay

/// Input: `pattern` NUL `event type`. A pattern compiles or throws a ``RoutingError``, and
/// matching finishes (bounded time: libFuzzer's timeout catches exponential backtracking).
@main
enum EventTypePatternFuzzer {
    static func main() {
        runLibFuzzer { data, size in
            let bytes = UnsafeBufferPointer(start: data, count: size)
            let parts = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false).map(Array.init)
            let pattern = String(decoding: parts.first ?? [], as: UTF8.self)
            let eventType = String(decoding: parts.count == 2 ? parts[1] : [], as: UTF8.self)
            guard let compiled = try? EventTypePattern(pattern) else { return 0 }
            let matched = compiled.matches(eventType)
            if compiled.matchesEverything && !matched {
                fatalError("\(pattern) matches everything but not \(eventType)")
            }
            let isLiteral = !pattern.contains(where: { "*?[\\".contains($0) })
            if isLiteral && matched != (pattern == eventType) {
                fatalError("literal pattern \(pattern) matched \(eventType): \(matched)")
            }
            return 0
        }
    }
}
