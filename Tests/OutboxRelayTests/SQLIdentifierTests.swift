import OutboxRelay
import Testing

@Suite("SQLIdentifier")
struct SQLIdentifierTests {
    static func rejection(_ name: String, allowsSchema: Bool = true) -> SQLIdentifierError? {
        do {
            let identifier = try SQLIdentifier(name, allowsSchema: allowsSchema)
            Issue.record("expected \"\(name)\" to be rejected, got \(identifier.parts)")
            return nil
        } catch {
            return error
        }
    }

    @Test(
        "valid names",
        arguments: [
            "outbox_messages", "messages_outbox", "_x", "A1", "t$1", "outbox_relay_dead_letters",
            String(repeating: "a", count: 63),
        ]
    )
    func validNames(name: String) throws {
        let identifier = try SQLIdentifier(name)
        #expect(identifier.parts == [name])
        #expect(identifier.name == name)
        #expect(identifier.schema == nil)
        #expect(identifier.description == name)
    }

    @Test("schema-qualified tables")
    func schemaQualified() throws {
        let identifier = try SQLIdentifier("app.outbox_messages")
        #expect(identifier.parts == ["app", "outbox_messages"])
        #expect(identifier.schema == "app")
        #expect(identifier.name == "outbox_messages")
        #expect(identifier.description == "app.outbox_messages")
        #expect(identifier.quoted(for: .postgres) == #""app"."outbox_messages""#)
        #expect(identifier.quoted(for: .sqlite) == #""app"."outbox_messages""#)
        #expect(identifier.quoted(for: .mysql) == "`app`.`outbox_messages`")
    }

    @Test("every dialect quotes even plain names")
    func quoting() throws {
        let identifier = try SQLIdentifier("Outbox")
        #expect(identifier.quoted(for: .postgres) == #""Outbox""#)
        #expect(identifier.quoted(for: .mysql) == "`Outbox`")
        #expect(SQLIdentifier.Dialect.allCases.count == 3)
    }

    @Test("reserved words are valid names because every use is quoted")
    func reservedWords() throws {
        #expect(try SQLIdentifier("order").quoted(for: .postgres) == #""order""#)
        #expect(try SQLIdentifier("select.from").quoted(for: .mysql) == "`select`.`from`")
    }

    @Test("columns cannot be schema-qualified")
    func columns() throws {
        #expect(try SQLIdentifier("time_of_recording", allowsSchema: false).parts == ["time_of_recording"])
        let error = Self.rejection("a.b", allowsSchema: false)
        #expect(error?.reason.contains("column") == true)
    }

    @Test(
        "injection attempts and malformed names are rejected",
        arguments: [
            "", ".", "a.", ".a", "a.b.c", "1table", "out box", "outbox;DROP TABLE x", #"a"b"#, "a`b", "a'b", "a-b",
            "a\u{0}", "tàble", "ẞ", "a\nb", "(select 1)", "a--", "a/*", "*", String(repeating: "a", count: 64),
            "app." + String(repeating: "b", count: 64),
        ]
    )
    func rejected(name: String) {
        let error = Self.rejection(name)
        #expect(error?.name == name)
        #expect(error?.description.hasPrefix("invalid SQL name \"") == true)
    }

    @Test("the error says which part is wrong and what is allowed")
    func errorDetail() {
        #expect(Self.rejection("app.out-box")?.reason.contains("\"out-box\"") == true)
        #expect(Self.rejection("app.out-box")?.reason.contains("letters, digits") == true)
        #expect(Self.rejection("a.b.c")?.reason.contains("SCHEMA.NAME") == true)
        #expect(Self.rejection("a..b")?.reason.isEmpty == false)
        #expect(Self.rejection("app.")?.reason.contains("empty") == true)
        #expect(Self.rejection(String(repeating: "x", count: 64))?.reason.contains("63 bytes") == true)
    }
}
