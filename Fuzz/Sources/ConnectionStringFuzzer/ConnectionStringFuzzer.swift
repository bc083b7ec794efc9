import FuzzerDriver
import OutboxPostgres

@testable import OutboxHTTP

/// Any text as a PostgreSQL connection string and as a webhook URL: parsing and redaction
/// never trap. With a password planted in the user-info part and the input after it, the
/// redacted forms never show the password.
@main
enum ConnectionStringFuzzer {
    static func main() {
        runLibFuzzer { data, size in
            let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
            let planted = "Pl4ntedSecretPw"

            _ = PostgresConnectionString(text).redacted
            _ = WebhookURL.roughRedaction(text)
            _ = try? WebhookURL(text)
            guard !text.contains(planted) else { return 0 }

            let postgres = PostgresConnectionString("postgres://relay:\(planted)@db.example/" + text).redacted
            if postgres.contains(planted) { fatalError("the PostgreSQL URI redaction shows the password: \(postgres)") }
            let conninfo = PostgresConnectionString("password=\(planted) " + text).redacted
            if conninfo.contains(planted) { fatalError("the conninfo redaction shows the password: \(conninfo)") }

            let webhook = "https://relay:\(planted)@hooks.example/" + text
            if WebhookURL.roughRedaction(webhook).contains(planted) {
                fatalError("the rough webhook redaction shows the password")
            }
            if let url = try? WebhookURL(webhook), url.redacted.contains(planted) {
                fatalError("the webhook redaction shows the password: \(url.redacted)")
            }
            return 0
        }
    }
}
