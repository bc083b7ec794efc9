import Foundation
import FuzzerDriver

@testable import OutboxRelayCLI

/// Any text as a YAML configuration file: loading returns a validated configuration or a
/// ``ConfigError`` naming the key, never traps (durations such as `inf` or `1e20s`, sizes,
/// counts, nesting, anchors).
@main
enum RelayConfigurationFuzzer {
    static func main() {
        runLibFuzzer { data, size in
            let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
            _ = try? RelayConfiguration.parse(yaml: text, environment: ["OUTBOX_FUZZ_SECRET": "s3cret"])
            return 0
        }
    }
}
