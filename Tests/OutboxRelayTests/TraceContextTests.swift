import OutboxRelay
import Testing

@Suite("TraceContext")
struct TraceContextTests {
    static let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    static func decoded(_ extraHeaders: String) throws -> OutboxMessage {
        let text =
            #"{"headers":{"__event_type":"a.b","__event_id":"e1","__aggregate_root_id":"r1","#
            + extraHeaders + #""__aggregate_root_version":1},"payload":{"x":1}}"#
        return try EnvelopeDecoder(table: "outbox_messages").decode(
            OutboxRow(id: .integer(1), payload: Array(text.utf8))
        )
    }

    @Test("valid traceparents of version 00 and of a future version pass")
    func validTraceparents() {
        #expect(TraceContext.traceparentProblem(Self.parent) == nil)
        #expect(TraceContext.traceparentProblem("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00") == nil)
        // A higher version may carry more fields after a "-".
        #expect(
            TraceContext.traceparentProblem("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future")
                == nil
        )
        #expect(TraceContext.traceparentProblem("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == nil)
    }

    @Test(
        "invalid traceparents are refused",
        arguments: [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",  // 54 characters
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // version 00 is 55 exactly
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // uppercase
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero parent id
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version not hex
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",  // separators
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  // not hex
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",  // flags not hex
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // future version, no "-"
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // leading space
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nx: y",  // header injection
        ]
    )
    func invalidTraceparents(_ text: String) {
        #expect(TraceContext.traceparentProblem(text) != nil, "\(text)")
        #expect(throws: TraceContextError.self) { try TraceContext(traceparent: text) }
    }

    @Test("valid tracestates pass, empty members and optional whitespace included")
    func validTracestates() {
        #expect(TraceContext.tracestateProblem("congo=t61rcWkgMzE") == nil)
        #expect(TraceContext.tracestateProblem("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE") == nil)
        #expect(TraceContext.tracestateProblem("a=1,,\tb=2 ,") == nil)
        // Spaces after a value belong to the list syntax, not to the value.
        #expect(TraceContext.tracestateProblem("k=v ") == nil)
        #expect(TraceContext.tracestateProblem("tenant1@vendor=x, 1tenant@v_2=y/z*") == nil)
        #expect(TraceContext.tracestateProblem("k=" + String(repeating: "v", count: 256)) == nil)
        let thirtyTwo = (1...32).map { "k\($0)=v" }.joined(separator: ",")
        #expect(TraceContext.tracestateProblem(thirtyTwo) == nil)
    }

    @Test(
        "invalid tracestates are refused",
        arguments: [
            "novalue",
            "Upper=1",  // keys are lowercase
            "1key=1",  // a simple key starts with a letter
            "k=",  // empty value
            "k=a,b",  // "b" has no "="
            "k=a=b",  // "=" in a value
            "k=caf\u{e9}",  // not ASCII
            "k=1,k=2",  // duplicate key
            "tenant@=1",  // empty system id
            "@vendor=1",  // empty tenant id
            "t@1vendor=1",  // a system id starts with a letter
            "t@abcdefghijklmno=1",  // system id of 15 characters
        ]
    )
    func invalidTracestates(_ text: String) {
        #expect(TraceContext.tracestateProblem(text) != nil, "\(text)")
    }

    @Test("a tracestate of 33 members or with a 257-character value is refused")
    func tracestateLimits() {
        let thirtyThree = (1...33).map { "k\($0)=v" }.joined(separator: ",")
        #expect(TraceContext.tracestateProblem(thirtyThree) != nil)
        #expect(TraceContext.tracestateProblem("k=" + String(repeating: "v", count: 257)) != nil)
        #expect(TraceContext.tracestateProblem(String(repeating: "k", count: 257) + "=v") != nil)
        #expect(TraceContext.tracestateProblem(String(repeating: "k", count: 256) + "=v") == nil)
    }

    @Test("extract reads both headers of a decoded message")
    func extractFromDecodedMessage() throws {
        let message = try Self.decoded(#""traceparent":"\#(Self.parent)","tracestate":"congo=t61rcWkgMzE","#)
        let extraction = TraceContext.extract(from: message)
        #expect(extraction.context == (try TraceContext(traceparent: Self.parent, tracestate: "congo=t61rcWkgMzE")))
        #expect(extraction.context?.tracestate == "congo=t61rcWkgMzE")
        #expect(extraction.dropped.isEmpty)
    }

    @Test("extract reads the __-prefixed names, the plain names win")
    func prefixedNames() throws {
        let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let prefixed = try Self.decoded(#""__traceparent":"\#(Self.parent)","__tracestate":"a=1","#)
        #expect(TraceContext.extract(from: prefixed).context?.traceparent == Self.parent)
        #expect(TraceContext.extract(from: prefixed).context?.tracestate == "a=1")
        let both = try Self.decoded(
            #""__traceparent":"\#(other)","traceparent":"\#(Self.parent)","tracestate":"b=2","__tracestate":"a=1","#
        )
        #expect(TraceContext.extract(from: both).context?.traceparent == Self.parent)
        #expect(TraceContext.extract(from: both).context?.tracestate == "b=2")
    }

    @Test("a message without trace headers has none; one whose payload mentions traceparent too")
    func absent() throws {
        #expect(TraceContext.extract(from: try Self.decoded("")) == .none)
        let text =
            #"{"headers":{"__event_type":"a.b","__event_id":"e1","x-note":"traceparent"},"#
            + #""payload":{"traceparent":"\#(Self.parent)"}}"#
        let message = try EnvelopeDecoder(table: "t").decode(OutboxRow(id: .integer(1), payload: Array(text.utf8)))
        #expect(TraceContext.extract(from: message) == .none)
    }

    @Test("the search for trace headers finds them first and last, and not in a cut-off name")
    func searchBoundaries() throws {
        func decode(_ headers: String) throws -> OutboxMessage {
            let text = #"{"headers":{"# + headers + #"},"payload":1}"#
            return try EnvelopeDecoder(table: "t").decode(OutboxRow(id: .integer(1), payload: Array(text.utf8)))
        }
        let first = try decode(#""traceparent":"\#(Self.parent)","__event_type":"a","__event_id":"e""#)
        #expect(TraceContext.extract(from: first).context?.traceparent == Self.parent)
        let last = try decode(#""__event_type":"a","__event_id":"e","traceparent":"\#(Self.parent)""#)
        #expect(TraceContext.extract(from: last).context?.traceparent == Self.parent)
        let cut = try decode(#""__event_type":"a","__event_id":"e","tttraceparen":"t""#)
        #expect(TraceContext.extract(from: cut) == .none)
    }

    @Test("an invalid traceparent drops the context, its tracestate with it, and says why")
    func invalidTraceparentDropsAll() throws {
        let message = try Self.decoded(#""traceparent":"00-abc","tracestate":"a=1","#)
        let extraction = TraceContext.extract(from: message)
        #expect(extraction.context == nil)
        #expect(extraction.dropped.map(\.header) == ["traceparent"])
        let number = try Self.decoded(#""traceparent":42,"#)
        #expect(TraceContext.extract(from: number).context == nil)
        #expect(TraceContext.extract(from: number).dropped.first?.reason == "the value is not a string")
    }

    @Test("an invalid tracestate is dropped alone; one without a traceparent is ignored")
    func invalidTracestateDropsItself() throws {
        let message = try Self.decoded(#""traceparent":"\#(Self.parent)","tracestate":"BAD","#)
        let extraction = TraceContext.extract(from: message)
        #expect(extraction.context?.traceparent == Self.parent)
        #expect(extraction.context?.tracestate == nil)
        #expect(extraction.dropped.map(\.header) == ["tracestate"])
        // Without a traceparent, W3C says to ignore the tracestate.
        #expect(TraceContext.extract(from: try Self.decoded(#""tracestate":"a=1","#)) == .none)
    }

    @Test("an all-empty tracestate is not forwarded")
    func emptyTracestate() throws {
        let message = try Self.decoded(#""traceparent":"\#(Self.parent)","tracestate":" , ","#)
        let extraction = TraceContext.extract(from: message)
        #expect(extraction.context?.traceparent == Self.parent)
        #expect(extraction.context?.tracestate == nil)
        #expect(extraction.dropped.isEmpty)
    }

    @Test("messages built from headers (expanders) are read through their headers")
    func builtMessage() throws {
        let message = try OutboxMessage(
            rowID: .integer(1),
            headers: [
                "__event_type": .string("a.b"), "__event_id": .string("e1"), "traceparent": .string(Self.parent),
            ],
            payload: .object([:])
        )
        #expect(TraceContext.extract(from: message).context?.traceparent == Self.parent)
    }
}
