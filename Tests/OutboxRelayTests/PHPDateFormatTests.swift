import OutboxRelay
import Testing

@Suite("PHPDateFormat")
struct PHPDateFormatTests {
    /// 2024-03-14T05:04:50Z (`date -u -d 2024-03-14T05:04:50Z +%s`).
    static let seconds: Int64 = 1_710_392_690

    static func micros(_ seconds: Int64, _ fraction: Int64 = 0) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: seconds * 1_000_000 + fraction)
    }

    @Test("EventSauce's default format is Y-m-d H:i:s.uO")
    func defaultFormat() {
        #expect(PHPDateFormat.eventSauceDefault == "Y-m-d H:i:s.uO")
        #expect(
            PHPDateFormat(PHPDateFormat.eventSauceDefault).parse("2024-03-14 05:04:50.163498+0000")
                == Self.micros(Self.seconds, 163_498)
        )
    }

    @Test("O, P and p accept Z, +0000 and +00:00 alike", arguments: ["O", "P", "p"], ["+0000", "+00:00", "Z"])
    func utcOffsets(character: String, offset: String) {
        let format = PHPDateFormat("Y-m-d H:i:s.u" + character)
        #expect(format.parse("2024-03-14 05:04:50.163498" + offset) == Self.micros(Self.seconds, 163_498))
    }

    @Test(
        "non-zero offsets are subtracted to get UTC",
        arguments: [
            ("+0530", Int64(-19_800)), ("+05:30", -19_800), ("-03:00", 10_800), ("-0945", 35_100), ("+14:00", -50_400),
        ]
    )
    func nonZeroOffsets(offset: String, shift: Int64) {
        #expect(
            PHPDateFormat("Y-m-d H:i:sP").parse("2024-03-14 05:04:50" + offset) == Self.micros(Self.seconds + shift)
        )
    }

    @Test(
        "u keeps up to microseconds; fewer digits are a fraction, as PostgreSQL prints them",
        arguments: [
            ("163498", Int64(163_498)), ("67614", 676_140), ("5", 500_000), ("000001", 1), ("163498999", 163_498),
        ]
    )
    func microseconds(digits: String, fraction: Int64) {
        #expect(
            PHPDateFormat("Y-m-d H:i:s.u").parse("2024-03-14 05:04:50." + digits) == Self.micros(Self.seconds, fraction)
        )
    }

    @Test("v reads milliseconds")
    func milliseconds() {
        #expect(PHPDateFormat("Y-m-d H:i:s.v").parse("2024-03-14 05:04:50.163") == Self.micros(Self.seconds, 163_000))
    }

    @Test("escaped literals: Y-m-d\\TH:i:s.uP")
    func escapedLiteral() {
        let format = PHPDateFormat(#"Y-m-d\TH:i:s.uP"#)
        #expect(format.parse("2024-03-14T05:04:50.163498+00:00") == Self.micros(Self.seconds, 163_498))
        // Unescaped, T is a time-zone abbreviation, so the literal T must not match as one.
        #expect(format.parse("2024-03-14 05:04:50.163498+00:00") == nil)
        #expect(PHPDateFormat(#"\Y Y"#).parse("Y 2024") == Self.micros(1_704_067_200))
    }

    @Test("U is Unix seconds, with an optional .u fraction and a sign")
    func unixSeconds() {
        #expect(PHPDateFormat("U").parse("1710392690") == Self.micros(Self.seconds))
        #expect(PHPDateFormat("U.u").parse("1710392690.163498") == Self.micros(Self.seconds, 163_498))
        #expect(PHPDateFormat("U").parse("0") == Self.micros(0))
        #expect(PHPDateFormat("U").parse("-86400") == Self.micros(-86_400))
        #expect(PHPDateFormat("U").parse("") == nil)
    }

    @Test("T and e accept UTC, GMT, Z and offsets")
    func zoneNames() {
        let format = PHPDateFormat("Y-m-d H:i:s T")
        for zone in ["UTC", "GMT", "Z", "+00:00"] {
            #expect(format.parse("2024-03-14 05:04:50 " + zone) == Self.micros(Self.seconds), "\(zone)")
        }
        #expect(PHPDateFormat("Y-m-d H:i:s e").parse("2024-03-14 07:04:50 +02:00") == Self.micros(Self.seconds))
    }

    @Test("12-hour clocks with A/a")
    func twelveHour() {
        let format = PHPDateFormat("Y-m-d h:i:s A")
        #expect(format.parse("2024-03-14 05:04:50 AM") == Self.micros(Self.seconds))
        #expect(format.parse("2024-03-14 05:04:50 PM") == Self.micros(Self.seconds + 12 * 3600))
        #expect(format.parse("2024-03-14 12:00:00 AM") == Self.micros(1_710_374_400))
        #expect(format.parse("2024-03-14 12:00:00 PM") == Self.micros(1_710_374_400 + 12 * 3600))
        #expect(PHPDateFormat("Y-m-d g:i:s a").parse("2024-03-14 5:04:50 pm") == Self.micros(Self.seconds + 12 * 3600))
        #expect(format.parse("2024-03-14 05:04:50 XM") == nil)
    }

    @Test("two-digit years and unpadded n/j/G")
    func shortFields() {
        #expect(PHPDateFormat("y-n-j G:i:s").parse("24-3-14 5:04:50") == Self.micros(Self.seconds))
        #expect(PHPDateFormat("y-m-d").parse("69-12-31") == Self.micros(3_155_673_600))  // 2069-12-31
        #expect(PHPDateFormat("y-m-d").parse("70-01-01") == Self.micros(0))
    }

    @Test(
        "dates across eras and leap days",
        arguments: [
            // (text, seconds since the epoch) from `date -u -d <text> +%s`.
            ("1970-01-01 00:00:00", Int64(0)), ("1969-12-31 23:59:59", -1), ("2000-02-29 12:00:00", 951_825_600),
            ("2100-03-01 00:00:00", 4_107_542_400), ("1900-01-01 00:00:00", -2_208_988_800),
            ("0001-01-01 00:00:00", -62_135_596_800),
            ("9999-12-31 23:59:59", 253_402_300_799),
        ]
    )
    func calendar(text: String, seconds: Int64) {
        #expect(PHPDateFormat("Y-m-d H:i:s").parse(text) == Self.micros(seconds))
    }

    @Test(
        "text that does not match is nil",
        arguments: [
            "", "2024-03-14", "2024-03-14 05:04:50.163498", "2024-03-14 05:04:50.163498+0000 ",
            "2024-13-14 05:04:50.1+0000",
            "2024-03-00 05:04:50.1+0000", "2024-03-14 24:04:50.1+0000", "2024-03-14 05:60:50.1+0000",
            "2024-03-14 05:04:50.+0000",
            "24-03-14 05:04:50.1+0000", "2024/03/14 05:04:50.1+0000", "2024-03-14T05:04:50.163498+0000",
        ]
    )
    func mismatches(text: String) {
        #expect(PHPDateFormat(PHPDateFormat.eventSauceDefault).parse(text) == nil)
    }

    @Test(
        "times outside Timestamp's range are nil, never a trap",
        arguments: [
            ("U", "99999999999999999"),  // the reported crash: seconds × 1e6 overflows Int64
            ("U", "-99999999999999999"),
            ("U", "9223372036854775807"),  // Int64.max seconds
            ("U", "9999999999999999999"),  // 19 digits, above Int64.max while reading
            ("U.u", "9223372036854.775808"),  // seconds fit, seconds × 1e6 + micros does not
        ]
    )
    func outOfRange(format: String, text: String) {
        #expect(PHPDateFormat(format).parse(text) == nil)
    }

    @Test("the largest and smallest representable U times still parse")
    func rangeEdges() {
        // Int64.max / 1e6 = 9223372036854 s, Int64.min / 1e6 = -9223372036854 s (truncated).
        #expect(PHPDateFormat("U").parse("9223372036854") == Self.micros(9_223_372_036_854))
        #expect(PHPDateFormat("U").parse("-9223372036854") == Self.micros(-9_223_372_036_854))
        #expect(
            PHPDateFormat("U.u").parse("9223372036854.775807")
                == Timestamp(microsecondsSinceEpoch: Int64.max)
        )
    }

    @Test("parsing what Timestamp.sqlText prints gives the timestamp back")
    func roundTrip() {
        var generator = SplitMix64(seed: 0x5EED)
        let format = PHPDateFormat("Y-m-d H:i:s.u")
        for _ in 0..<2000 {
            // 1000-01-01 … 9999-12-31
            let micros = Int64(bitPattern: generator.next() % 284_012_524_800_000_000) - 30_610_224_000_000_000
            let time = Timestamp(microsecondsSinceEpoch: micros)
            #expect(format.parse(time.sqlText) == time, "\(time.sqlText)")
        }
    }
}

/// A small deterministic generator for reproducible property tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
