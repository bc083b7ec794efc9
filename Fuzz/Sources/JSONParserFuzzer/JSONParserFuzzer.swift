import FuzzerDriver
import OutboxRelay

/// Any bytes: the parser returns a value or a ``JSONParseError``, never traps. A value it
/// returns parses again to the same value once written back out.
@main
enum JSONParserFuzzer {
    static func main() {
        runLibFuzzer { data, size in
            let bytes = UnsafeBufferPointer(start: data, count: size)
            guard let value = try? JSONParser.parse(bytes) else { return 0 }
            let written = JSONWriter.encode(value)
            guard let again = try? JSONParser.parse(written), again == value else {
                fatalError("JSON round trip changed the value: \(String(decoding: written, as: UTF8.self))")
            }
            return 0
        }
    }
}
