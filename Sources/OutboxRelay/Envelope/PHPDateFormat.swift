/// Parses times written by PHP's `DateTimeImmutable::format` with a given format string,
/// the way `DateTimeImmutable::createFromFormat` reads them back.
///
/// Supports the format characters EventSauce applications use: `Y y m n d j H G h g i s u v
/// A a O P p T e U` and `\`-escaped literals. `O`, `P` and `p` accept `Z`, `+0000` and
/// `+00:00` alike (PHP does too); `T`/`e` accept `UTC`, `GMT`, `Z` or an offset.
public struct PHPDateFormat: Sendable, Hashable {
    /// EventSauce's default `__time_of_recording` format.
    public static let eventSauceDefault = "Y-m-d H:i:s.uO"

    public let format: String

    public init(_ format: String) {
        self.format = format
    }

    /// Parses `text`, or returns `nil` if it does not match the format or names a time outside
    /// ``Timestamp``'s range (about ±292,000 years around 1970); callers keep such times as text.
    public func parse(_ text: String) -> Timestamp? {
        var text = text
        var format = format
        return text.withUTF8 { input in
            format.withUTF8 { format in Self.parse(input, format: format) }
        }
    }

    private static func parse(_ input: UnsafeBufferPointer<UInt8>, format: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        var position = 0
        var year: Int64 = 1970
        var month: Int64 = 1
        var day: Int64 = 1
        var hour: Int64 = 0
        var minute: Int64 = 0
        var second: Int64 = 0
        var micros: Int64 = 0
        var offsetSeconds: Int64 = 0
        var pm: Bool?
        var unixSeconds: Int64?

        /// Up to `maxDigits` decimal digits; `nil` when fewer than `minDigits` or above `Int64.max`.
        func number(maxDigits: Int, minDigits: Int = 1) -> Int64? {
            var value: Int64 = 0
            var count = 0
            var overflow = false
            while count < maxDigits, position < input.count, (48...57).contains(input[position]) {
                let shifted = value.multipliedReportingOverflow(by: 10)
                let sum = shifted.partialValue.addingReportingOverflow(Int64(input[position] - 48))
                overflow = overflow || shifted.overflow || sum.overflow
                value = sum.partialValue
                position += 1
                count += 1
            }
            return count >= minDigits && !overflow ? value : nil
        }
        func offset() -> Int64? {
            guard position < input.count else { return nil }
            if input[position] == UInt8(ascii: "Z") {
                position += 1
                return 0
            }
            guard input[position] == UInt8(ascii: "+") || input[position] == UInt8(ascii: "-") else { return nil }
            let sign: Int64 = input[position] == UInt8(ascii: "-") ? -1 : 1
            position += 1
            guard let hours = number(maxDigits: 2, minDigits: 2) else { return nil }
            if position < input.count, input[position] == UInt8(ascii: ":") { position += 1 }
            let minutes = number(maxDigits: 2, minDigits: 2) ?? 0
            return sign * (hours * 3600 + minutes * 60)
        }

        var formatIterator = format.makeIterator()
        while let character = formatIterator.next() {
            switch character {
            case UInt8(ascii: "Y"):
                guard let value = number(maxDigits: 4, minDigits: 4) else { return nil }
                year = value
            case UInt8(ascii: "y"):
                guard let value = number(maxDigits: 2, minDigits: 2) else { return nil }
                year = value < 70 ? 2000 + value : 1900 + value
            case UInt8(ascii: "m"), UInt8(ascii: "n"):
                guard let value = number(maxDigits: 2), (1...12).contains(value) else { return nil }
                month = value
            case UInt8(ascii: "d"), UInt8(ascii: "j"):
                guard let value = number(maxDigits: 2), (1...31).contains(value) else { return nil }
                day = value
            case UInt8(ascii: "H"), UInt8(ascii: "G"), UInt8(ascii: "h"), UInt8(ascii: "g"):
                guard let value = number(maxDigits: 2), value < 24 else { return nil }
                hour = value
            case UInt8(ascii: "i"):
                guard let value = number(maxDigits: 2, minDigits: 2), value < 60 else { return nil }
                minute = value
            case UInt8(ascii: "s"):
                guard let value = number(maxDigits: 2, minDigits: 2), value < 61 else { return nil }
                second = value
            case UInt8(ascii: "u"), UInt8(ascii: "v"):
                let start = position
                let limit = character == UInt8(ascii: "u") ? 9 : 3
                guard let value = number(maxDigits: limit) else { return nil }
                var digits = position - start
                var scaled = value
                while digits < 6 {
                    scaled *= 10
                    digits += 1
                }
                while digits > 6 {
                    scaled /= 10
                    digits -= 1
                }
                micros = scaled
            case UInt8(ascii: "A"), UInt8(ascii: "a"):
                guard position + 2 <= input.count else { return nil }
                let marker = String(decoding: input[position..<position + 2], as: UTF8.self).lowercased()
                guard marker == "am" || marker == "pm" else { return nil }
                pm = marker == "pm"
                position += 2
            case UInt8(ascii: "O"), UInt8(ascii: "P"), UInt8(ascii: "p"):
                guard let value = offset() else { return nil }
                offsetSeconds = value
            case UInt8(ascii: "T"), UInt8(ascii: "e"):
                if position + 3 <= input.count,
                    ["UTC", "GMT"].contains(String(decoding: input[position..<position + 3], as: UTF8.self))
                {
                    position += 3
                    offsetSeconds = 0
                } else {
                    guard let value = offset() else { return nil }
                    offsetSeconds = value
                }
            case UInt8(ascii: "U"):
                let negative = position < input.count && input[position] == UInt8(ascii: "-")
                if negative { position += 1 }
                guard let value = number(maxDigits: 19) else { return nil }
                unixSeconds = negative ? -value : value
            case UInt8(ascii: "\\"):
                guard let literal = formatIterator.next(), position < input.count, input[position] == literal else {
                    return nil
                }
                position += 1
            default:
                guard position < input.count, input[position] == character else { return nil }
                position += 1
            }
        }
        guard position == input.count else { return nil }
        if let pm {
            if hour == 12 { hour = 0 }
            if pm { hour += 12 }
        }
        if let unixSeconds {
            return microseconds(seconds: unixSeconds, micros: micros)
        }
        // Four-digit years and two-digit fields keep this sum far inside Int64.
        let days = CivilDate.toDays(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return microseconds(seconds: seconds, micros: micros)
    }

    /// `seconds * 1_000_000 + micros`, or `nil` when that leaves `Int64`'s range.
    private static func microseconds(seconds: Int64, micros: Int64) -> Timestamp? {
        let scaled = seconds.multipliedReportingOverflow(by: 1_000_000)
        let total = scaled.partialValue.addingReportingOverflow(micros)
        guard !scaled.overflow, !total.overflow else { return nil }
        return Timestamp(microsecondsSinceEpoch: total.partialValue)
    }
}
