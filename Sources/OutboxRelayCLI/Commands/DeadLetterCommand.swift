import ArgumentParser
import OutboxRelay

/// `outbox-relay dlq …`: the dead-letter table of the configured source (and, with `--parked`,
/// its parked-deliveries table).
struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Lists, shows, replays and purges the dead letters of the configured outbox table.",
        subcommands: [
            DeadLetterListCommand.self, DeadLetterShowCommand.self, DeadLetterReplayCommand.self,
            DeadLetterPurgeCommand.self,
        ]
    )

    /// The configured source as a dead-letter store, or exit 1 saying that it is not one.
    static func store(config path: String) throws -> (store: any DeadLetterStore, source: any OutboxSource) {
        let relayConfiguration = try RelayConfiguration.load(path: path) { print("config: FAILED — \($0)") }
        let source = relayConfiguration.source
        guard let store = source as? any DeadLetterStore else {
            print("dlq: the \(source.flavour) source for \(source.table) cannot read its dead letters")
            throw ExitCode(1)
        }
        return (store, source)
    }

    /// The configured source as a parked-deliveries store, or exit 1 saying that it is not one.
    static func parkedStore(config path: String) throws -> any ParkedDeliveryStore {
        let relayConfiguration = try RelayConfiguration.load(path: path) { print("config: FAILED — \($0)") }
        let source = relayConfiguration.source
        guard let store = source as? any ParkedDeliveryStore else {
            print("dlq: the \(source.flavour) source for \(source.table) does not park deliveries")
            throw ExitCode(1)
        }
        return store
    }

    /// Runs a store operation, printing a database failure and exiting 1 instead of trapping.
    static func perform<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            print("dlq \(operation): FAILED — \(error)")
            throw ExitCode(1)
        }
    }
}

/// `outbox-relay dlq list --config FILE [filters] [--json] [--parked]`.
struct DeadLetterListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Lists dead letters, oldest first: a table, or one JSON object per line with --json.",
        discussion: """
            With --parked, lists the parked deliveries instead: messages a destination has not taken yet, \
            waiting in the parked-deliveries table to be retried (oldest first per destination and aggregate); \
            --destination, --event-type and --limit select them.
            """
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @OptionGroup var filters: DeadLetterFilterOptions

    @Flag(name: .long, help: "One JSON object per line instead of a table.")
    var json = false

    @Flag(name: .long, help: "List the parked deliveries (waiting to be retried) instead of the dead letters.")
    var parked = false

    func run() async throws {
        if parked { return try await listParked() }
        let filter = try filters.filter()
        let (store, source) = try DeadLetterCommand.store(config: config)
        let entries = try await DeadLetterCommand.perform("list") {
            try await store.deadLetters(matching: filter, includingPayloads: false)
        }
        await source.close()
        if json {
            for entry in entries { print(DeadLetterPrinter.jsonLine(entry, payload: false)) }
        } else {
            print(DeadLetterPrinter.table(entries), terminator: "")
            print("\(entries.count) dead letter\(entries.count == 1 ? "" : "s") of \(source.table)")
        }
    }
}

extension DeadLetterListCommand {
    /// `dlq list --parked`.
    private func listParked() async throws {
        let filter = try filters.parkedFilter()
        let store = try DeadLetterCommand.parkedStore(config: config)
        let entries = try await DeadLetterCommand.perform("list --parked") {
            try await store.parkedDeliveries(matching: filter, includingPayloads: false)
        }
        await store.close()
        if json {
            for entry in entries {
                print(ParkedDeliveryPrinter.jsonLine(entry, sourceTable: store.table, payload: false))
            }
        } else {
            print(ParkedDeliveryPrinter.table(entries), terminator: "")
            print("\(entries.count) parked deliver\(entries.count == 1 ? "y" : "ies") of \(store.table)")
        }
    }
}

/// `outbox-relay dlq show --config FILE ID [--json] [--parked]`.
struct DeadLetterShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Prints one dead letter with its stored payload."
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Argument(help: "The entry's id (the first column of `dlq list`).")
    var id: Int64

    @Flag(name: .long, help: "One JSON object (the payload as `payload`, or `payload_hex` when not UTF-8).")
    var json = false

    @Flag(name: .long, help: "Show a parked delivery (the first column of `dlq list --parked`) instead.")
    var parked = false

    func run() async throws {
        if parked {
            let store = try DeadLetterCommand.parkedStore(config: config)
            let entry = try await DeadLetterCommand.perform("show --parked") { try await store.parkedDelivery(id: id) }
            await store.close()
            guard let entry else {
                print("dlq show: no parked delivery \(id) for \(store.table)")
                throw ExitCode(1)
            }
            print(
                json
                    ? ParkedDeliveryPrinter.jsonLine(entry, sourceTable: store.table, payload: true)
                    : ParkedDeliveryPrinter.details(entry, sourceTable: store.table)
            )
            return
        }
        let (store, source) = try DeadLetterCommand.store(config: config)
        let entry = try await DeadLetterCommand.perform("show") { try await store.deadLetter(id: id) }
        await source.close()
        guard let entry else {
            print("dlq show: no dead letter \(id) for \(source.table)")
            throw ExitCode(1)
        }
        print(json ? DeadLetterPrinter.jsonLine(entry, payload: true) : DeadLetterPrinter.details(entry))
    }
}

/// `outbox-relay dlq purge --config FILE [filters] [--yes]`.
struct DeadLetterPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Deletes the selected dead letters; without --yes, prints what it would delete.",
        discussion: "Without filters every dead letter of the configured table is selected."
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @OptionGroup var filters: DeadLetterFilterOptions

    @Flag(name: .long, help: "Delete the entries (without it nothing is deleted).")
    var yes = false

    func run() async throws {
        let filter = try filters.filter()
        let (store, source) = try DeadLetterCommand.store(config: config)
        let entries = try await DeadLetterCommand.perform("purge") {
            try await store.deadLetters(matching: filter, includingPayloads: false)
        }
        guard yes else {
            await source.close()
            print(DeadLetterPrinter.table(entries), terminator: "")
            print(
                "would delete \(entries.count) dead letter\(entries.count == 1 ? "" : "s") of \(source.table); "
                    + "run again with --yes to delete them"
            )
            return
        }
        let deleted = try await DeadLetterCommand.perform("purge") {
            try await store.deleteDeadLetters(ids: entries.map(\.id))
        }
        await source.close()
        print("deleted \(deleted) dead letter\(deleted == 1 ? "" : "s") of \(source.table)")
    }
}
