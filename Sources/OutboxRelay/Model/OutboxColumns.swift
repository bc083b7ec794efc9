/// The column names of an outbox table, for sources that read them by name (PostgreSQL,
/// MySQL). Every default is the name PHP EventSauce's DDL gives the column.
public struct OutboxColumns: Sendable, Hashable {
    /// The primary key: an auto-increment integer (`outbox` flavour) or a uuid string
    /// (`dispatcher`). Default `id`.
    public var id: String
    /// The serialized message, read as text and forwarded byte for byte. Default `payload`.
    public var payload: String
    /// `dispatcher` flavour: the ordering column. Default `time_of_recording`.
    public var timeOfRecording: String
    /// `dispatcher` flavour: the delivered flag. Default `dispatched`.
    public var dispatched: String
    /// `dispatcher` flavour: set to the current UTC time when marking. Default `time_of_dispatching`.
    public var timeOfDispatching: String
    /// `outbox` flavour: the delivered flag. Default `consumed`.
    public var consumed: String

    /// Creates column names; every argument defaults to PHP's name.
    public init(
        id: String = "id",
        payload: String = "payload",
        timeOfRecording: String = "time_of_recording",
        dispatched: String = "dispatched",
        timeOfDispatching: String = "time_of_dispatching",
        consumed: String = "consumed"
    ) {
        self.id = id
        self.payload = payload
        self.timeOfRecording = timeOfRecording
        self.dispatched = dispatched
        self.timeOfDispatching = timeOfDispatching
        self.consumed = consumed
    }

    /// The columns `flavour` reads or writes, each with its `source.columns` key, in the order
    /// a source checks them against the table.
    public func required(for flavour: OutboxFlavour) -> [(key: String, name: String)] {
        switch flavour {
        case .outbox:
            return [("id", id), ("payload", payload), ("consumed", consumed)]
        case .dispatcher:
            return [
                ("id", id), ("payload", payload), ("time_of_recording", timeOfRecording),
                ("dispatched", dispatched), ("time_of_dispatching", timeOfDispatching),
            ]
        }
    }
}
