/// A glob over event types: `acme.shop.orders.order_was_placed`, `acme.shop.orders.*`, `*`.
///
/// Syntax: `*` matches any run of characters (dots included), `?` matches one character,
/// `[abc]`, `[a-z]` and `[!abc]` match one character of (or not of) a set, and `\` makes the
/// next character literal. A pattern without these characters matches exactly.
public struct EventTypePattern: Sendable, Hashable, CustomStringConvertible {
    private enum Token: Sendable, Hashable {
        case literal(Character)
        case anyCharacter
        case anyRun
        case set([ClosedRange<Character>], negated: Bool)
    }

    /// The pattern as written.
    public let pattern: String
    private let tokens: [Token]
    private let exact: String?
    /// For the common `literal*` form (`acme.shop.orders.*`, `*`): the literal prefix.
    private let prefix: String?

    /// Parses a glob.
    /// - Throws: ``RoutingError`` with code ``RoutingError/Code/invalidPattern`` for an empty
    ///   pattern, an unterminated `[`, an empty set or a trailing `\`.
    public init(_ pattern: String) throws(RoutingError) {
        func invalid(_ why: String) -> RoutingError {
            RoutingError(code: .invalidPattern, detail: "invalid event pattern \"\(pattern)\": \(why)")
        }
        guard !pattern.isEmpty else { throw invalid("it is empty; use \"*\" to match every event") }
        var tokens: [Token] = []
        var characters = Array(pattern)[...]
        var isExact = true
        while let character = characters.popFirst() {
            switch character {
            case "*":
                isExact = false
                if tokens.last != .anyRun { tokens.append(.anyRun) }
            case "?":
                isExact = false
                tokens.append(.anyCharacter)
            case "\\":
                isExact = false
                guard let next = characters.popFirst() else { throw invalid("it ends with a lone \\") }
                tokens.append(.literal(next))
            case "[":
                isExact = false
                var negated = false
                if characters.first == "!" || characters.first == "^" {
                    negated = true
                    characters.removeFirst()
                }
                var ranges: [ClosedRange<Character>] = []
                var closed = false
                var first = true
                while let member = characters.popFirst() {
                    if member == "]" && !first {
                        closed = true
                        break
                    }
                    first = false
                    if characters.count >= 2, characters.first == "-", characters.dropFirst().first != "]" {
                        characters.removeFirst()
                        let upper = characters.removeFirst()
                        guard member <= upper else { throw invalid("the range \(member)-\(upper) is reversed") }
                        ranges.append(member...upper)
                    } else {
                        ranges.append(member...member)
                    }
                }
                guard closed else { throw invalid("a [ is never closed") }
                tokens.append(.set(ranges, negated: negated))
            case "]":
                throw invalid("a ] has no opening [")
            default:
                tokens.append(.literal(character))
            }
        }
        self.pattern = pattern
        self.tokens = tokens
        self.exact = isExact ? pattern : nil
        if tokens.last == .anyRun,
            tokens.dropLast().allSatisfy({ if case .literal = $0 { return true } else { return false } })
        {
            self.prefix = String(
                tokens.dropLast().map { token -> Character in
                    if case .literal(let character) = token { return character }
                    return " "
                }
            )
        } else {
            self.prefix = nil
        }
    }

    /// Whether the pattern matches every event type.
    public var matchesEverything: Bool { tokens == [.anyRun] }

    /// Whether `eventType` matches.
    public func matches(_ eventType: String) -> Bool {
        if let exact { return exact == eventType }
        if let prefix { return eventType.hasPrefix(prefix) }
        return Self.match(tokens[...], Array(eventType)[...])
    }

    private static func match(_ tokens: ArraySlice<Token>, _ text: ArraySlice<Character>) -> Bool {
        var tokens = tokens
        var text = text
        // Iterative glob matching with a single backtrack point for the last `*`.
        var starTokens: ArraySlice<Token>?
        var starText: ArraySlice<Character> = []
        while true {
            if let token = tokens.first {
                switch token {
                case .anyRun:
                    tokens.removeFirst()
                    starTokens = tokens
                    starText = text
                    continue
                case .anyCharacter:
                    if !text.isEmpty {
                        tokens.removeFirst()
                        text.removeFirst()
                        continue
                    }
                case .literal(let character):
                    if text.first == character {
                        tokens.removeFirst()
                        text.removeFirst()
                        continue
                    }
                case .set(let ranges, let negated):
                    if let character = text.first, ranges.contains(where: { $0.contains(character) }) != negated {
                        tokens.removeFirst()
                        text.removeFirst()
                        continue
                    }
                }
            } else if text.isEmpty {
                return true
            }
            guard let resume = starTokens, !starText.isEmpty else { return false }
            starText.removeFirst()
            text = starText
            tokens = resume
        }
    }

    public var description: String { pattern }
}
