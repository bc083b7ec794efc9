import CLibPQ

extension PostgresSource {
    /// The version of libpq this process runs with (`PQlibVersion()`), e.g. `15.5`.
    public static var libraryVersion: String {
        let number = Int(PQlibVersion())
        // Since PostgreSQL 10 the number is major * 10000 + minor; before, major * 10000 + minor * 100 + patch.
        if number >= 100_000 { return "\(number / 10_000).\(number % 10_000)" }
        return "\(number / 10_000).\(number / 100 % 100).\(number % 100)"
    }
}
