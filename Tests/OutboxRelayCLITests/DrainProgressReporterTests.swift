import Foundation
import Synchronization
import Testing

@testable import OutboxRelayCLI

@Suite("drain progress line")
struct DrainProgressReporterTests {
    @Test("on a terminal the line is redrawn in place and the final line ends with a newline")
    func redrawsInPlace() async throws {
        let written = Mutex<[String]>([])
        let rows = Mutex(0)
        let reporter = DrainProgressReporter(
            backlogAtStart: 1000,
            inPlace: true,
            interval: .milliseconds(10),
            counters: {
                (
                    rows.withLock {
                        $0 += 100
                        return min($0, 1000)
                    }, 0
                )
            },
            write: { text in written.withLock { $0.append(text) } }
        )
        let task = Task { await reporter.run() }
        while written.withLock({ $0.count }) < 3 { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        await task.value
        let lines = written.withLock { $0 }
        for line in lines.dropLast() {
            #expect(line.hasPrefix("\rdrain: ") && line.hasSuffix("\u{1B}[K") && !line.contains("\n"), "\(line)")
        }
        let last = try #require(lines.last)
        #expect(last.hasPrefix("\rdrain done: ") && last.hasSuffix("\u{1B}[K\n"), "\(last)")
    }

    /// A SQLite outbox of `rows` rows, the last `bad` of them undecodable.
    static func backlog(rows: Int, bad: Int) throws -> (config: URL, output: URL) {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        try SQLiteShell.run(
            database,
            """
            CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, consumed BOOLEAN NOT NULL DEFAULT 0, \
            payload VARCHAR(16001) NOT NULL);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(rows - bad))
            INSERT INTO outbox_messages (payload)
            SELECT '{"headers":{"__event_type":"acme.shop.orders.order_line_added","__aggregate_root_id":"order-' \
            || (i % 97) || '","__aggregate_root_version":' || i || '},"payload":{"line":' || i \
            || ',"padding":"' || hex(zeroblob(200)) || '"}}' FROM n;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(bad))
            INSERT INTO outbox_messages (payload) SELECT '{not json' FROM n WHERE \(bad) > 0;
            """
        )
        let config = folder.appendingPathComponent("relay.yaml")
        try RunCommandTests.config(database: database, output: output, batchSize: 20).write(
            to: config,
            atomically: true,
            encoding: .utf8
        )
        return (config, output)
    }

    /// `drain: 1,234 of 40,000 rows (3%), …, 0 dead letters` → (1234, 40000, 0).
    static func numbers(_ line: Substring) -> (done: Int, total: Int, deadLetters: Int)? {
        let words = line.split(separator: " ")
        func number(_ word: Substring) -> Int? { Int(word.filter { $0 != "," }) }
        guard words.count > 4, let done = number(words[1]), words[2] == "of", let total = number(words[3]),
            let index = words.lastIndex(where: { $0.hasPrefix("dead") }), index > 0,
            let deadLetters = number(words[index - 1])
        else { return nil }
        return (done, total, deadLetters)
    }

    @Test("run --drain --progress into a file: progress lines with plausible numbers, then the final count")
    func progressIntoAFile() async throws {
        let (config, output) = try Self.backlog(rows: 40_000, bad: 7)
        let result = try await CLI.run(["run", "--config", config.path, "--drain", "--progress"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try RunCommandTests.readLines(output).count == 39_993)
        #expect(!result.stderr.contains("\r"), "not a terminal: whole lines")

        let lines = result.stderr.split(separator: "\n")
        let progress = lines.filter { $0.hasPrefix("drain: ") }
        #expect(!progress.isEmpty, "at least one line while draining: \(result.stderr)")
        var previous = 0
        for line in progress {
            let numbers = try #require(Self.numbers(line), "\(line)")
            #expect(numbers.total == 40_000, "the backlog at the start: \(line)")
            #expect(numbers.done >= previous && numbers.done <= 40_000, "\(line)")
            #expect(numbers.deadLetters <= 7, "\(line)")
            #expect(line.contains(" rows/s, ETA "), "\(line)")
            previous = numbers.done
        }
        let final = try #require(lines.last { $0.hasPrefix("drain done: ") }, "\(result.stderr)")
        #expect(final.hasPrefix("drain done: 40,000 rows of 40,000 in "), "\(final)")
        #expect(final.hasSuffix(", 7 dead letters"), "\(final)")
        // The final line comes after every progress line.
        let finalIndex = try #require(lines.lastIndex { $0.hasPrefix("drain done: ") })
        #expect(lines.lastIndex { $0.hasPrefix("drain: ") }.map { $0 < finalIndex } ?? true)
    }

    @Test("run --drain into a file without --progress (or with --no-progress): no progress output")
    func noProgressUnlessAsked() async throws {
        for flags in [[], ["--no-progress"]] {
            let (config, output) = try Self.backlog(rows: 2000, bad: 1)
            let result = try await CLI.run(["run", "--config", config.path, "--drain"] + flags)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try RunCommandTests.readLines(output).count == 1999)
            #expect(!result.stderr.contains("drain: ") && !result.stderr.contains("drain done"), "\(result.stderr)")
            #expect(!result.stderr.contains("\r"))
        }
    }

    @Test func progressNeedsDrain() async throws {
        let (config, _) = try Self.backlog(rows: 1, bad: 0)
        let result = try await CLI.run(["run", "--config", config.path, "--progress"])
        #expect(result.status == 64, "\(result.output)")
        #expect(result.stderr.contains("--drain"), "\(result.stderr)")
    }
}
