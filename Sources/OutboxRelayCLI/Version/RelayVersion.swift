import OutboxHTTP
import OutboxKafka
import OutboxMySQL
import OutboxPostgres
import OutboxSQLite

/// The relay's version, written here and nowhere else, and the C libraries it runs with.
public enum RelayVersion {
    /// The version of OutboxRelay (semantic versioning). Bump it here when tagging a release.
    public static let number = "0.1.0"

    /// What `outbox-relay --version` prints: the relay's version, then one line per linked C
    /// library with the version loaded at run time (which may differ from the one built against).
    public static var description: String {
        """
        outbox-relay \(number)
          sqlite     \(SQLiteSource.libraryVersion)
          libpq      \(PostgresSource.libraryVersion)
          libmariadb \(MySQLSource.libraryVersion)
          librdkafka \(KafkaTransport.libraryVersion)
          libcurl    \(WebhookTransport.libraryVersion)
        """
    }
}
