import OutboxRelay
import Testing

@Suite("OutboxRowID")
struct OutboxRowIDTests {
    @Test("integers order numerically, texts lexically, integers before texts")
    func ordering() {
        let ids: [OutboxRowID] = [.text("b"), .integer(10), .text("a"), .integer(-1), .integer(2)]
        #expect(ids.sorted() == [.integer(-1), .integer(2), .integer(10), .text("a"), .text("b")])
        #expect(OutboxRowID.integer(9) < .integer(10))
        #expect(!(OutboxRowID.text("10") < .text("10")))
    }

    @Test("description is the bare key")
    func description() {
        #expect(OutboxRowID.integer(9_223_372_036_854_775_807).description == "9223372036854775807")
        #expect(
            OutboxRowID.text("25c29fdd-f0cf-4112-a421-9e1bfc3b78dd").description
                == "25c29fdd-f0cf-4112-a421-9e1bfc3b78dd"
        )
    }
}
