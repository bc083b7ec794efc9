import OutboxRelay
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Timestamp")
struct TimestampTests {
    @Test(
        "sqlText and rfc3339",
        arguments: [
            // (microseconds since the epoch, `date -u -d @<seconds> '+%F %T'` + fraction)
            (Int64(0), "1970-01-01 00:00:00.000000"),
            (1_710_392_690_163_498, "2024-03-14 05:04:50.163498"),
            (1, "1970-01-01 00:00:00.000001"),
            (-1, "1969-12-31 23:59:59.999999"),
            (-86_400_000_000, "1969-12-31 00:00:00.000000"),
            (951_825_600_000_000, "2000-02-29 12:00:00.000000"),
            (-62_135_596_800_000_000, "0001-01-01 00:00:00.000000"),
            (253_402_300_799_999_999, "9999-12-31 23:59:59.999999"),
            (4_107_542_399_500_000, "2100-02-28 23:59:59.500000"),
            (253_402_300_800_000_000, "10000-01-01 00:00:00.000000"),
            (.max, "294247-01-10 04:00:54.775807"),
            (-62_167_219_200_000_000, "0000-01-01 00:00:00.000000"),
            (-62_198_755_200_000_000, "-0001-01-01 00:00:00.000000"),
        ]
    )
    func formatting(micros: Int64, sql: String) {
        let time = Timestamp(microsecondsSinceEpoch: micros)
        #expect(time.sqlText == sql)
        let rfc = String(sql.map { $0 == " " ? "T" : $0 }) + "Z"
        #expect(time.rfc3339 == rfc)
        #expect(time.description == rfc)
    }

    @Test("secondsSinceEpoch keeps the fraction")
    func seconds() {
        #expect(Timestamp(microsecondsSinceEpoch: 1_500_000).secondsSinceEpoch == 1.5)
        #expect(Timestamp(microsecondsSinceEpoch: -250_000).secondsSinceEpoch == -0.25)
    }

    @Test("ordering follows time")
    func ordering() {
        let times = [Int64(5), -3, 0, 1_710_392_690_163_498, -1].map(Timestamp.init(microsecondsSinceEpoch:))
        #expect(times.sorted().map(\.microsecondsSinceEpoch) == [-3, -1, 0, 5, 1_710_392_690_163_498])
        #expect(Timestamp(microsecondsSinceEpoch: 1) > Timestamp(microsecondsSinceEpoch: 0))
    }

    @Test("now() is the wall clock: after this code was written, and what the C library's time() says")
    func now() {
        let before = Int64(time(nil))
        let now = Timestamp.now()
        let after = Int64(time(nil))
        // 2026-01-01T00:00:00Z; the machine clock cannot be earlier than when these tests were written.
        #expect(now.microsecondsSinceEpoch > 1_767_225_600_000_000)
        #expect(now.microsecondsSinceEpoch / 1_000_000 >= before)
        #expect(now.microsecondsSinceEpoch / 1_000_000 <= after)
    }

    @Test(
        "two years of consecutive days around each century and the epoch print valid calendar dates",
        arguments: [
            // (year, days since the epoch of its January 1st: `date -u -d <year>-01-01 +%s` / 86400)
            (1599, Int64(-135_505)), (1699, -98_980), (1799, -62_456), (1899, -25_932), (1969, -365), (1999, 10_592),
            (2099, 47_117), (2399, 156_689),
        ]
    )
    func calendarWalk(startYear: Int, startDay: Int64) {
        var previous = (year: startYear - 1, month: 12, day: 31)
        let format = PHPDateFormat("Y-m-d H:i:s.u")
        for day in startDay..<(startDay + 800) {
            let time = Timestamp(microsecondsSinceEpoch: day * 86_400_000_000 + 43_200_000_001)
            let text = time.sqlText
            let parts = text.prefix(10).split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3, text.hasSuffix(" 12:00:00.000001") else {
                Issue.record("bad date \(text)")
                return
            }
            let current = (year: parts[0], month: parts[1], day: parts[2])
            let isLeap = previous.year % 4 == 0 && (previous.year % 100 != 0 || previous.year % 400 == 0)
            let monthLength = [31, isLeap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][previous.month - 1]
            let expected: (year: Int, month: Int, day: Int)
            if previous.day < monthLength {
                expected = (previous.year, previous.month, previous.day + 1)
            } else if previous.month < 12 {
                expected = (previous.year, previous.month + 1, 1)
            } else {
                expected = (previous.year + 1, 1, 1)
            }
            if current != expected || format.parse(text) != time {
                Issue.record("day \(day): \(text), expected \(expected)")
                return
            }
            previous = current
        }
    }
}
