#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time with microsecond precision, as EventSauce and SQL databases store it.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microsecondsSinceEpoch: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }

    /// The time from `earlier` to this time, saturating rather than overflowing when the two
    /// are further apart than `Int64` microseconds hold (a time of recording read from a row
    /// can be anything).
    public func duration(since earlier: Timestamp) -> Duration {
        let difference = microsecondsSinceEpoch.subtractingReportingOverflow(earlier.microsecondsSinceEpoch)
        guard difference.overflow else { return .microseconds(difference.partialValue) }
        return .microseconds(earlier.microsecondsSinceEpoch < microsecondsSinceEpoch ? Int64.max : Int64.min)
    }

    /// This time moved by `duration`, saturating rather than overflowing.
    public func adding(_ duration: Duration) -> Timestamp {
        let total = duration.microseconds
        let sum = microsecondsSinceEpoch.addingReportingOverflow(total)
        guard sum.overflow else { return Timestamp(microsecondsSinceEpoch: sum.partialValue) }
        return Timestamp(microsecondsSinceEpoch: total < 0 ? Int64.min : Int64.max)
    }

    /// Seconds since the epoch, with a fraction.
    public var secondsSinceEpoch: Double { Double(microsecondsSinceEpoch) / 1_000_000 }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff` in UTC: the text SQL `TIMESTAMP(6)` columns accept.
    public var sqlText: String { text(dateTimeSeparator: " ") }

    /// The calendar fields of this time in UTC (proleptic Gregorian calendar).
    public struct UTCComponents: Sendable, Hashable {
        public var year: Int64
        public var month: Int64
        public var day: Int64
        public var hour: Int64
        public var minute: Int64
        public var second: Int64
        public var microsecond: Int64
    }

    /// The calendar fields of this time in UTC, for formatting without intermediate strings.
    public var utcComponents: UTCComponents {
        let (days, micros) = microsecondsSinceEpoch.floorDivided(by: 86_400_000_000)
        let (year, month, day) = CivilDate.fromDays(days)
        let seconds = micros / 1_000_000
        return UTCComponents(
            year: year,
            month: month,
            day: day,
            hour: seconds / 3600,
            minute: seconds / 60 % 60,
            second: seconds % 60,
            microsecond: micros % 1_000_000
        )
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2024-03-14T05:04:50.163498Z`.
    ///
    /// Years have at least four digits (more after 9999), with a `-` before years before 0.
    public var rfc3339: String { text(dateTimeSeparator: "T") + "Z" }

    public var description: String { rfc3339 }

    private func text(dateTimeSeparator: String) -> String {
        let c = utcComponents
        return
            """
            \(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))\(dateTimeSeparator)\(pad(c.hour, 2)):\
            \(pad(c.minute, 2)):\(pad(c.second, 2)).\(pad(c.microsecond, 6))
            """
    }

    /// `value` zero-padded to `width` digits, a `-` before it when negative.
    private func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value.magnitude)
        let padded = digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        return value < 0 ? "-" + padded : padded
    }
}

extension Int64 {
    func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var quotient = self / divisor
        var remainder = self % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's days-from-civil algorithms).
enum CivilDate {
    static func toDays(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func fromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
