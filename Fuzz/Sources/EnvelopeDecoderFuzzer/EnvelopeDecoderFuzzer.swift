import FuzzerDriver
import OutboxRelay

/// Any bytes as a whole stored row (the payload column), on both id kinds: the decoder returns
/// messages or an ``EnvelopeDecodingError`` (the row's dead-letter reason), never traps.
@main
enum EnvelopeDecoderFuzzer {
    static func main() {
        runLibFuzzer { data, size in
            let payload = Array(UnsafeBufferPointer(start: data, count: size))
            let decoder = EnvelopeDecoder(table: "outbox_messages")
            for id in [OutboxRowID.integer(Int64(size)), .text("7d1f0f5e-8c1b-4a4e-9b0e-2f3c4d5e6f70")] {
                for timeOfRecording in [nil, "2024-05-01 10:20:30.123456"] {
                    _ = try? decoder.decode(OutboxRow(id: id, payload: payload, timeOfRecording: timeOfRecording))
                }
            }
            return 0
        }
    }
}
