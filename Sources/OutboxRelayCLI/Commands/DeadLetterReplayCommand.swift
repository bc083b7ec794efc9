import ArgumentParser
import OutboxRelay

/// `outbox-relay dlq replay --config FILE [filters] [--dry-run]`.
struct DeadLetterReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Delivers the selected dead letters again, each to its own destination only.",
        discussion: """
            Messages a transport gave up on go again to that transport only, with its retry policy, \
            signing and per-aggregate order (oldest first); undecodable and unrouted rows are decoded \
            and routed again. A delivered entry leaves the dead-letter table; a failed one stays with \
            attempts and last_error updated. Exit 0 when every selected entry was delivered, 1 otherwise. \
            Safe while `run` is running on the same table (see the README).
            """
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @OptionGroup var filters: DeadLetterFilterOptions

    @Flag(name: .long, help: "Print what would be replayed, and send nothing.")
    var dryRun = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let filter = try filters.filter()
        let logger = logging.bootstrap()
        let (store, source) = try DeadLetterCommand.store(config: config)
        guard let replayStore = store as? any DeadLetterReplayStore else {
            print("dlq replay: the \(source.flavour) source for \(source.table) cannot record replays")
            throw ExitCode(1)
        }
        let entries = try await DeadLetterCommand.perform("replay") {
            try await store.deadLetters(matching: filter, includingPayloads: true)
        }
        let count = "\(entries.count) dead letter\(entries.count == 1 ? "" : "s")"
        if dryRun {
            print(DeadLetterPrinter.table(entries), terminator: "")
            for group in DeadLetterReplay.groups(entries) {
                if let destination = group.destination {
                    print("would send \(group.entries.count) to \(destination) only")
                } else {
                    print("would decode and route \(group.entries.count) again (undecodable or unrouted)")
                }
            }
            print("would replay \(count) of \(source.table); nothing was sent (--dry-run)")
            return
        }
        guard !entries.isEmpty else {
            print("no dead letters of \(source.table) selected; nothing to replay")
            return
        }
        let path = config
        let replay = DeadLetterReplay(loadConfiguration: { try RelayConfiguration.load(path: path) }, logger: logger)
        let (record, outcomes) = await replay.run(entries)
        try await DeadLetterCommand.perform("replay (recording the outcome)") {
            try await replayStore.recordReplay(record)
        }
        var delivered = 0
        var failed = 0
        var notAttempted = 0
        for entry in entries {
            let letter = entry.deadLetter
            let what = "entry \(entry.id) (row \(letter.rowID), \(letter.destination ?? entry.reason.rawValue))"
            switch outcomes[entry.id] ?? .notAttempted("not replayed") {
            case .delivered:
                delivered += 1
                print("\(what): delivered")
            case .failed(let reason):
                failed += 1
                print("\(what): FAILED — \(reason)")
            case .notAttempted(let reason):
                notAttempted += 1
                print("\(what): not attempted — \(reason)")
            }
        }
        for letter in record.added {
            print("row \(letter.rowID) (\(letter.destination ?? "-")): new dead letter — \(letter.lastError)")
        }
        print(
            "replayed \(count) of \(source.table): \(delivered) delivered, \(failed) failed "
                + "(still in the dead-letter table), \(notAttempted) not attempted"
                + (record.added.isEmpty ? "" : ", \(record.added.count) new")
        )
        if delivered != entries.count || !record.added.isEmpty { throw ExitCode(1) }
    }
}
