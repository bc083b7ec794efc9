import ArgumentParser
import Foundation
import OutboxRelay

/// `outbox-relay explain --config FILE (--row ID | --payload FILE|-) [--json]`.
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Shows what the relay would do with one row: decoding, routes, and what each destination would get.",
        discussion: """
            The row (read whether it was delivered or not) or the payload is decoded and expanded as \
            the relay would, then routed; each destination's transport says what it would send. \
            Transports are not started: nothing is sent and nothing is marked.
            """
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Option(name: .long, help: "The id of a row of the configured table.")
    var row: String?

    @Option(name: .long, help: "A file holding a stored payload (an EventSauce envelope), or - for standard input.")
    var payload: String?

    @Flag(name: .long, help: "One JSON object instead of text.")
    var json = false

    func validate() throws {
        guard (row == nil) != (payload == nil) else {
            throw ValidationError("give exactly one of --row ID and --payload FILE|-")
        }
    }

    func run() async throws {
        let relayConfiguration = try RelayConfiguration.load(path: config) { print("config: FAILED — \($0)") }
        let source = relayConfiguration.source
        let outboxRow: OutboxRow
        if let row {
            let id: OutboxRowID
            switch source.flavour {
            case .outbox:
                guard let value = Int64(row) else {
                    throw ValidationError("--row \(row): the outbox flavour's ids are integers")
                }
                id = .integer(value)
            case .dispatcher:
                id = .text(row)
            }
            guard let lookup = source as? any OutboxRowLookup else {
                print("explain: the \(source.flavour) source for \(source.table) cannot read rows by id; use --payload")
                throw ExitCode(1)
            }
            let found: OutboxRow?
            do {
                found = try await lookup.row(id: id)
            } catch {
                print("explain: FAILED — \(error)")
                throw ExitCode(1)
            }
            await source.close()
            guard let found else {
                print("explain: no row \(row) in \(source.table) (never written, or deleted after delivery)")
                throw ExitCode(1)
            }
            outboxRow = found
        } else {
            let path = payload ?? "-"
            let data: Data?
            if path == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                data = FileManager.default.contents(atPath: path)
            }
            guard let data else {
                print("explain: cannot read \(path)")
                throw ExitCode(1)
            }
            let placeholder: OutboxRowID = source.flavour == .outbox ? .integer(0) : .text("")
            outboxRow = OutboxRow(id: placeholder, payload: Array(data))
        }
        let explanation = RowExplanation(row: outboxRow, hasRowID: row != nil, configuration: relayConfiguration)
        if json {
            print(String(decoding: JSONWriter.encode(.object(explanation.json), escaping: .minimal), as: UTF8.self))
        } else {
            print(explanation.text)
        }
        for transport in relayConfiguration.transports { await transport.shutdown() }
    }
}
