/// One row of an outbox table, exactly as the source read it.
///
/// The relay never rewrites ``payload``: transports forward these bytes unless a
/// format asks otherwise.
public struct OutboxRow: Sendable {
    /// The row's primary key.
    public var id: OutboxRowID
    /// The stored `payload` column: one serialized EventSauce message.
    public var payload: [UInt8]
    /// The `time_of_recording` column as the database returned it (`dispatcher` flavour only).
    public var timeOfRecording: String?
    /// Set when the stored payload is larger than the source's maximum payload size: the source
    /// left it in the table (``payload`` is empty) and the engine sets the row aside, the
    /// source copying the payload into the dead-letter table itself.
    public var oversizedPayload: OversizedPayload?

    public init(
        id: OutboxRowID,
        payload: [UInt8],
        timeOfRecording: String? = nil,
        oversizedPayload: OversizedPayload? = nil
    ) {
        self.id = id
        self.payload = payload
        self.timeOfRecording = timeOfRecording
        self.oversizedPayload = oversizedPayload
    }

    /// The position of this row in relay order, used to read on after it.
    public var cursor: OutboxCursor {
        OutboxCursor(timeOfRecording: timeOfRecording, id: id)
    }
}

/// A position in an outbox table's relay order: `id` for the `outbox` flavour,
/// (`time_of_recording`, `id`) for the `dispatcher` flavour.
public struct OutboxCursor: Sendable, Hashable {
    public var timeOfRecording: String?
    public var id: OutboxRowID

    public init(timeOfRecording: String? = nil, id: OutboxRowID) {
        self.timeOfRecording = timeOfRecording
        self.id = id
    }
}
