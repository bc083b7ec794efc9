import Foundation
import Testing

/// `source.retention:` on PostgreSQL and MySQL: accepted forms per flavour, and mistakes that
/// name the key (one parser for both sources).
@Suite("retention configuration")
struct RetentionConfigTests {
    static func config(url: String, flavour: String, retention: String) -> String {
        CheckCommandTests.valid
            .replacingOccurrences(of: "url: \"sqlite:DATABASE\"", with: "url: \"\(url)\"")
            .replacingOccurrences(of: "flavour: outbox", with: "flavour: \(flavour)\n  retention: {\(retention)}")
    }

    static let urls = ["postgres://relay@127.0.0.1:1/shop", "mysql://relay@127.0.0.1:1/shop"]

    @Test(arguments: urls)
    func acceptedForms(url: String) async throws {
        for (flavour, retention) in [
            ("dispatcher", "max_age: 7d"), ("outbox", "keep: 100000"),
            ("outbox", "keep: 0, batch_size: 500, max_batches_per_run: 2, interval: 30s"),
        ] {
            let files = try CheckCommandTests.write(Self.config(url: url, flavour: flavour, retention: retention))
            let result = try await CLI.run(["check", "--offline", "--config", files.config.path])
            #expect(result.status == 0, "\(url) \(flavour) \(retention): \(result.output)")
        }
    }

    @Test(arguments: urls)
    func mistakesNameTheKey(url: String) async throws {
        for (flavour, retention, key) in [
            ("outbox", "max_age: 7d", "source.retention.max_age"), ("dispatcher", "keep: 10", "source.retention.keep"),
            ("dispatcher", "batch_size: 10", "source.retention.max_age"), ("outbox", "kept: 10", "source.retention"),
        ] {
            let files = try CheckCommandTests.write(Self.config(url: url, flavour: flavour, retention: retention))
            let result = try await CLI.run(["check", "--offline", "--config", files.config.path])
            #expect(result.status != 0, "\(url) \(flavour) \(retention) was accepted")
            #expect(result.output.contains(key), "\(url) \(retention): \(result.output)")
        }
    }
}
