import FuzzerDriver
import OutboxRelay

/// Input: `format` NUL `time`. Parsing returns a timestamp or nil (the time is then kept as
/// text), never traps, for the formats EventSauce writes and for any format the row names.
@main
enum PHPDateFormatFuzzer {
    static func main() {
        runLibFuzzer { data, size in
            let bytes = UnsafeBufferPointer(start: data, count: size)
            let parts = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false).map(Array.init)
            let time = String(decoding: parts.last ?? [], as: UTF8.self)
            let formats =
                parts.count == 2
                ? [String(decoding: parts[0], as: UTF8.self)]
                : [PHPDateFormat.eventSauceDefault, "Y-m-d H:i:s", "U", "U.u", "Y-m-d\\TH:i:sP"]
            for format in formats {
                _ = PHPDateFormat(format).parse(time)
            }
            return 0
        }
    }
}
