import Foundation
import OutboxRelay

/// Writes `run --drain`'s ``DrainProgress`` line to standard error on a timer, reading the
/// engine's counters from its ``RelayEngine/health`` snapshot (the relaying itself does nothing
/// for it).
///
/// On a terminal the line is redrawn in place (`\r`, then erase to the end of the line) every
/// 250 ms; elsewhere (`--progress` into a pipe or file) one line is written per second. Either
/// way a final line ends it.
struct DrainProgressReporter: Sendable {
    /// Whether the line is redrawn in place (standard error is a terminal).
    let inPlace: Bool
    /// Time between lines.
    let interval: Duration
    private let backlogAtStart: Int?
    private let counters: @Sendable () -> (rowsDone: Int, deadLetters: Int)
    private let write: @Sendable (String) -> Void

    /// - Parameters:
    ///   - backlogAtStart: undelivered rows before the drain started (`nil` when unknown).
    ///   - counters: the engine's rows done and dead letters so far.
    init(
        backlogAtStart: Int?,
        inPlace: Bool,
        interval: Duration? = nil,
        counters: @escaping @Sendable () -> (rowsDone: Int, deadLetters: Int),
        write: @escaping @Sendable (String) -> Void = Self.writeToStandardError
    ) {
        self.backlogAtStart = backlogAtStart
        self.inPlace = inPlace
        self.interval = interval ?? (inPlace ? .milliseconds(250) : .seconds(1))
        self.counters = counters
        self.write = write
    }

    /// Whether standard error is a terminal.
    static var standardErrorIsTerminal: Bool { isatty(2) == 1 }

    /// Writes a line every ``interval`` until cancelled, then the final line.
    func run() async {
        let start = ContinuousClock.now
        var progress = DrainProgress(backlogAtStart: backlogAtStart)
        func sample() {
            let (rows, deadLetters) = counters()
            progress.record(rowsDone: rows, deadLetters: deadLetters, elapsed: ContinuousClock.now - start)
        }
        while true {
            do { try await Task.sleep(for: interval) } catch { break }
            sample()
            write(inPlace ? "\r\(progress.line)\u{1B}[K" : "\(progress.line)\n")
        }
        sample()
        write(inPlace ? "\r\(progress.finalLine)\u{1B}[K\n" : "\(progress.finalLine)\n")
    }

    /// One `write(2)` per line (log lines written beside it stay whole).
    @Sendable static func writeToStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
