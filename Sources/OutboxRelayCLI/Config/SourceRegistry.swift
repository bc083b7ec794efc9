import OutboxRelay

/// The `source:` settings every source kind shares, already validated.
public struct SourceSettings: Sendable {
    /// `source.flavour`. Default `outbox`.
    public var flavour: OutboxFlavour
    /// `source.table`, validated. Default: the flavour's PHP default table.
    public var table: SQLIdentifier
    /// `source.batch_size`. Default: ``RelayEngine/Configuration/batchSize``'s.
    public var batchSize: Int
    /// `source.after_delivery`. Default `mark`.
    public var afterDelivery: AfterDelivery
    /// `source.max_payload_bytes`: a larger stored payload is not read but dead-lettered.
    /// Default 16 MiB (``OversizedPayload/defaultLimit``).
    public var maximumPayloadBytes: Int

    /// Settings as the configuration loader reads them.
    public init(
        flavour: OutboxFlavour,
        table: SQLIdentifier,
        batchSize: Int,
        afterDelivery: AfterDelivery,
        maximumPayloadBytes: Int = OversizedPayload.defaultLimit
    ) {
        self.flavour = flavour
        self.table = table
        self.batchSize = batchSize
        self.afterDelivery = afterDelivery
        self.maximumPayloadBytes = maximumPayloadBytes
    }
}

/// Builds a source for the URL schemes it handles (`source.url: SCHEME:…`).
///
/// Register a conforming type with ``RelayRegistry/register(source:)``. The loader picks it by
/// the scheme of `source.url`, rejects every key of `source:` that is neither in ``keys`` nor
/// a shared one (`url`, `flavour`, `table`, `batch_size`, `after_delivery`, `expander`,
/// `max_payload_bytes`), reads
/// the shared ones into ``SourceSettings`` and calls ``makeSource(url:node:common:)``.
public protocol SourceConfigParser: SendableMetatype {
    /// URL schemes, e.g. `["sqlite"]`; the URL is `SCHEME:…`.
    static var schemes: [String] { get }
    /// The keys this source accepts under `source:` besides the shared ones.
    static var keys: Set<String> { get }
    /// Builds the source; do no I/O here (``OutboxSource/open()`` connects).
    /// - Throws: ``ConfigError`` naming the key that is wrong and how to fix it.
    static func makeSource(url: String, node: ConfigNode, common: SourceSettings) throws -> any OutboxSource
}

/// The source kinds `outbox-relay` ships, registered by ``RelayRegistry/builtIn``.
enum SourceRegistry {
    static let parsers: [any SourceConfigParser.Type] = [
        SQLiteSourceConfig.self,
        PostgresSourceConfig.self,
        MySQLSourceConfig.self,
    ]
}
