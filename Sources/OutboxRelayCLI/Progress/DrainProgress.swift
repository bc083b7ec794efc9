/// The live progress of `run --drain`: rows done of the backlog at start, the current rate, the
/// time left and the dead letters, as one line.
///
/// A value: the reporter records the engine's counters with the time since the start, and asks
/// for the line; no clock inside, so tests give it the times.
struct DrainProgress: Sendable, Hashable {
    /// One reading of the engine's counters.
    struct Sample: Sendable, Hashable {
        /// Time since the drain started.
        var elapsed: Duration
        /// Rows marked or deleted.
        var rowsDone: Int
        /// Dead letters recorded.
        var deadLetters: Int
    }

    /// Undelivered rows when the drain started; `nil` when the source could not tell (then the
    /// line has no share and no time left).
    let backlogAtStart: Int?
    /// How far back the current rate looks. Default 5 s: steady, yet it follows a slowdown.
    let rateWindow: Duration
    /// The samples within ``rateWindow`` of the latest, and the last one before it.
    private(set) var samples: [Sample] = [Sample(elapsed: .zero, rowsDone: 0, deadLetters: 0)]

    init(backlogAtStart: Int?, rateWindow: Duration = .seconds(5)) {
        self.backlogAtStart = backlogAtStart.map { max(0, $0) }
        self.rateWindow = rateWindow
    }

    /// The latest sample.
    var latest: Sample { samples[samples.count - 1] }

    /// Records a reading; readings must come in time order (an earlier one is ignored).
    mutating func record(rowsDone: Int, deadLetters: Int, elapsed: Duration) {
        guard elapsed >= latest.elapsed else { return }
        samples.append(Sample(elapsed: elapsed, rowsDone: rowsDone, deadLetters: deadLetters))
        // Keep one sample at or before the window's start as the rate's anchor.
        let windowStart = elapsed - rateWindow
        while samples.count > 2, samples[1].elapsed <= windowStart { samples.removeFirst() }
    }

    /// Rows per second over the last ``rateWindow``; `nil` until time has passed.
    var rate: Double? {
        let first = samples[0]
        let span = (latest.elapsed - first.elapsed).seconds
        guard span > 0 else { return nil }
        return Double(latest.rowsDone - first.rowsDone) / span
    }

    /// Rows per second since the start; `nil` at the start.
    var averageRate: Double? {
        let span = latest.elapsed.seconds
        guard span > 0 else { return nil }
        return Double(latest.rowsDone) / span
    }

    /// Rows of the backlog at start still to go (0 once done, also when new rows made the
    /// drain relay more than the backlog).
    var rowsLeft: Int? {
        backlogAtStart.map { max(0, $0 - latest.rowsDone) }
    }

    /// The rows left at the current rate; `nil` without a backlog or while nothing moves.
    var timeLeft: Duration? {
        guard let rowsLeft else { return nil }
        if rowsLeft == 0 { return .zero }
        guard let rate, rate > 0 else { return nil }
        let seconds = Double(rowsLeft) / rate
        guard seconds < 100 * 86_400 else { return nil }  // "never", as far as anyone waits
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// `drain: 12,345 of 50,000 rows (24%), 2.1k rows/s, ETA 18s, 3 dead letters`.
    var line: String {
        var text = "drain: \(Self.count(latest.rowsDone))"
        if let backlogAtStart {
            text += " of \(Self.count(backlogAtStart)) rows (\(Self.percent(latest.rowsDone, of: backlogAtStart)))"
        } else {
            text += " rows"
        }
        text += ", " + (rate.map(Self.rate) ?? "- rows/s")
        if backlogAtStart != nil { text += ", ETA " + (timeLeft.map(Self.duration) ?? "-") }
        text += ", \(Self.deadLetters(latest.deadLetters))"
        return text
    }

    /// `drain done: 50,000 rows of 50,000 in 24s (2.1k rows/s), 3 dead letters`.
    var finalLine: String {
        var text = "drain done: \(Self.count(latest.rowsDone)) rows"
        if let backlogAtStart { text += " of \(Self.count(backlogAtStart))" }
        text += " in \(Self.duration(latest.elapsed))"
        if let averageRate { text += " (\(Self.rate(averageRate)))" }
        text += ", \(Self.deadLetters(latest.deadLetters))"
        return text
    }

    // MARK: - Formatting

    /// `950`, `12,345`, `-1,000`.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return value < 0 ? "-" + grouped : grouped
    }

    /// `0%` … `100%`, whole percent rounded down (100% only once done), capped at 100%.
    static func percent(_ done: Int, of total: Int) -> String {
        guard total > 0 else { return "100%" }
        let share = min(100, Int((Double(max(0, done)) / Double(total) * 100).rounded(.down)))
        return "\(share)%"
    }

    /// `0 rows/s`, `850 rows/s`, `12.3k rows/s`, `123k rows/s`, `1.2M rows/s`.
    static func rate(_ perSecond: Double) -> String {
        guard perSecond.isFinite, perSecond > 0 else { return "0 rows/s" }
        func scaled(_ value: Double, _ unit: String) -> String {
            if value >= 100 { return "\(Int(value.rounded()))\(unit)" }
            let tenths = Int((value * 10).rounded())
            return "\(tenths / 10).\(tenths % 10)\(unit)"
        }
        switch perSecond {
        case ..<999.5: return "\(Int(perSecond.rounded())) rows/s"
        case ..<999_500: return scaled(perSecond / 1000, "k") + " rows/s"
        default: return scaled(perSecond / 1_000_000, "M") + " rows/s"
        }
    }

    /// `0s`, `45s`, `3m 05s`, `2h 07m`, `3d 04h` (whole seconds, rounded).
    static func duration(_ duration: Duration) -> String {
        let seconds = max(0, duration.seconds)
        let whole = seconds < Double(Int.max) ? Int(seconds.rounded()) : Int.max
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        switch whole {
        case 86_400...: return "\(whole / 86_400)d \(two(whole % 86_400 / 3600))h"
        case 3600...: return "\(whole / 3600)h \(two(whole % 3600 / 60))m"
        case 60...: return "\(whole / 60)m \(two(whole % 60))s"
        default: return "\(whole)s"
        }
    }

    /// `1 dead letter`, `3 dead letters`.
    static func deadLetters(_ count: Int) -> String {
        "\(Self.count(count)) dead letter\(count == 1 ? "" : "s")"
    }
}
