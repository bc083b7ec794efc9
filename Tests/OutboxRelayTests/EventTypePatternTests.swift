import OutboxRelay
import Testing

@Suite("EventTypePattern")
struct EventTypePatternTests {
    static func pattern(_ text: String) throws -> EventTypePattern {
        try EventTypePattern(text)
    }

    static func patternError(_ text: String) -> RoutingError? {
        do {
            let pattern = try EventTypePattern(text)
            Issue.record("expected \"\(text)\" to be rejected, got \(pattern)")
            return nil
        } catch {
            return error
        }
    }

    @Test("an exact pattern matches only itself")
    func exact() throws {
        let pattern = try Self.pattern("acme.shop.orders.order_was_placed")
        #expect(pattern.matches("acme.shop.orders.order_was_placed"))
        #expect(!pattern.matches("acme.shop.orders.order_was_placed2"))
        #expect(!pattern.matches("acme.shop.orders.order_was_place"))
        #expect(!pattern.matches("Acme.shop.orders.order_was_placed"))
        #expect(!pattern.matches(""))
        #expect(!pattern.matchesEverything)
        #expect(pattern.description == "acme.shop.orders.order_was_placed")
    }

    @Test(
        "acme.shop.orders.* matches every order event and nothing else",
        arguments: [
            ("acme.shop.orders.order_was_placed", true), ("acme.shop.orders.order_line_added", true),
            ("acme.shop.orders.", true), ("acme.shop.orders.a.b.c", true),
            ("acme.shop.orders", false), ("acme.shop.ordersX", false),
            ("acme.shop.customers.customer_registered", false),
            ("xacme.shop.orders.order_was_placed", false), ("acme-shop-orders-x", false),
        ]
    )
    func prefixWildcard(eventType: String, matches: Bool) throws {
        #expect(try Self.pattern("acme.shop.orders.*").matches(eventType) == matches)
    }

    @Test("* matches everything, including the empty type and dots")
    func star() throws {
        for text in ["*", "**", "***"] {
            let pattern = try Self.pattern(text)
            #expect(pattern.matchesEverything, "\(text)")
            for eventType in ["", "a", "acme.shop.orders.order_was_placed", "Acme\\Orders\\OrderWasPlaced", "🚚"] {
                #expect(pattern.matches(eventType))
            }
        }
        #expect(try !Self.pattern("*.*").matchesEverything)
        #expect(try !Self.pattern("*.*").matches("nodots"))
        #expect(try Self.pattern("*.*").matches("a.b"))
    }

    @Test("* in the middle and at the start")
    func middleStar() throws {
        let middle = try Self.pattern("acme.*.order_was_*")
        #expect(middle.matches("acme.shop.orders.order_was_placed"))
        #expect(middle.matches("acme.x.order_was_"))
        #expect(!middle.matches("acme.shop.orders.order_line_added"))
        let suffix = try Self.pattern("*_was_cancelled")
        #expect(suffix.matches("acme.shop.orders.order_was_cancelled"))
        #expect(!suffix.matches("acme.shop.orders.order_was_cancelled.v2"))
        // Backtracking: the first "ab" is not the one that ends the match.
        #expect(try Self.pattern("*ab*abc").matches("xxabyyababc"))
        #expect(try !Self.pattern("*ab*abc").matches("xxabyyababd"))
    }

    @Test("? matches exactly one character (one Character, so one emoji)")
    func questionMark() throws {
        let pattern = try Self.pattern("acme.shop.inventory.stock_?djusted")
        #expect(pattern.matches("acme.shop.inventory.stock_adjusted"))
        #expect(!pattern.matches("acme.shop.inventory.stock_djusted"))
        #expect(!pattern.matches("acme.shop.inventory.stock_aadjusted"))
        #expect(try Self.pattern("a?c").matches("a🚚c"))
        #expect(try !Self.pattern("???").matches("ab"))
    }

    @Test("sets, ranges and negated sets")
    func sets() throws {
        let set = try Self.pattern("acme.shop.[oc]*")
        #expect(set.matches("acme.shop.orders.order_was_placed"))
        #expect(set.matches("acme.shop.customers.customer_registered"))
        #expect(!set.matches("acme.shop.documents.document_uploaded"))
        let range = try Self.pattern("v[0-9]")
        #expect(range.matches("v7"))
        #expect(!range.matches("vx"))
        #expect(!range.matches("v10"))
        for negated in ["acme.shop.[!oc]*", "acme.shop.[^oc]*"] {
            let pattern = try Self.pattern(negated)
            #expect(!pattern.matches("acme.shop.orders.order_was_placed"))
            #expect(pattern.matches("acme.shop.documents.document_uploaded"))
        }
        #expect(try Self.pattern("[]x]").matches("]"), "a ] first in a set is a member")
        #expect(try Self.pattern("[a-]").matches("-"), "a - last in a set is a member")
        #expect(try Self.pattern("[a-c-]").matches("b"))
        #expect(try !Self.pattern("[a-c]").matches("d"))
    }

    @Test("escapes make glob characters literal")
    func escapes() throws {
        let star = try Self.pattern(#"legacy.\*"#)
        #expect(star.matches("legacy.*"))
        #expect(!star.matches("legacy.anything"))
        #expect(!star.matchesEverything)
        #expect(try Self.pattern(#"a\?b"#).matches("a?b"))
        #expect(try !Self.pattern(#"a\?b"#).matches("axb"))
        #expect(try Self.pattern(#"\[x\]"#).matches("[x]"))
        #expect(try Self.pattern(#"Acme\\Orders\\*"#).matches(#"Acme\Orders\OrderWasPlaced"#))
        #expect(try Self.pattern(#"\a"#).matches("a"))
    }

    @Test(
        "invalid globs are rejected with .invalidPattern and say why",
        arguments: [
            ("[abc", "never closed"), (#"abc\"#, #"lone \"#), ("", "empty"), ("abc]", "no opening ["),
            ("a[]", "never closed"), ("[z-a]", "reversed"), ("[!", "never closed"),
        ]
    )
    func invalid(pattern: String, reason: String) {
        let error = Self.patternError(pattern)
        #expect(error?.code == .invalidPattern)
        #expect(error?.detail.contains(reason) == true, "\(String(describing: error))")
        #expect(error?.detail.contains("\"\(pattern)\"") == true)
    }

    @Test("agrees with a reference glob matcher on random patterns and event types")
    func referenceMatcher() throws {
        var generator = SplitMix64(seed: 42)
        let alphabet: [Character] = ["a", "b", ".", "_"]
        let patternAlphabet: [String] = ["a", "b", ".", "_", "*", "?", "[ab]", "[!a]", "[a-b]", #"\*"#]
        for _ in 0..<3000 {
            let patternLength = Int(generator.next() % 6) + 1
            var pattern = ""
            for _ in 0..<patternLength {
                pattern += patternAlphabet[Int(generator.next() % UInt64(patternAlphabet.count))]
            }
            let textLength = Int(generator.next() % 8)
            var text = ""
            for _ in 0..<textLength { text.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            let compiled = try Self.pattern(pattern)
            let expected = ReferenceGlob(pattern).matches(Array(text)[...])
            if compiled.matches(text) != expected {
                Issue.record("\"\(pattern)\" on \"\(text)\": expected \(expected)")
                return
            }
        }
    }
}

/// An independent, recursive glob matcher for the characters the random test uses.
private struct ReferenceGlob {
    enum Piece {
        case literal(Character)
        case one, any
        case set(Set<Character>, negated: Bool)
    }
    var pieces: [Piece] = []

    init(_ pattern: String) {
        var characters = Array(pattern)[...]
        while let character = characters.popFirst() {
            switch character {
            case "*": pieces.append(.any)
            case "?": pieces.append(.one)
            case "\\": pieces.append(.literal(characters.popFirst()!))
            case "[":
                var members = Set<Character>()
                let negated = characters.first == "!"
                if negated { characters.removeFirst() }
                var content: [Character] = []
                while let member = characters.popFirst(), member != "]" { content.append(member) }
                if content == ["a", "-", "b"] { members = ["a", "b"] } else { members = Set(content) }
                pieces.append(.set(members, negated: negated))
            default: pieces.append(.literal(character))
            }
        }
    }

    func matches(_ text: ArraySlice<Character>) -> Bool {
        Self.match(pieces[...], text)
    }

    private static func match(_ pieces: ArraySlice<Piece>, _ text: ArraySlice<Character>) -> Bool {
        guard let piece = pieces.first else { return text.isEmpty }
        let rest = pieces.dropFirst()
        switch piece {
        case .any:
            var suffix = text
            while true {
                if match(rest, suffix) { return true }
                if suffix.isEmpty { return false }
                suffix = suffix.dropFirst()
            }
        case .one:
            return !text.isEmpty && match(rest, text.dropFirst())
        case .literal(let character):
            return text.first == character && match(rest, text.dropFirst())
        case .set(let members, let negated):
            guard let first = text.first else { return false }
            return members.contains(first) != negated && match(rest, text.dropFirst())
        }
    }
}
