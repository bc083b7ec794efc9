/// What a running ``RelayEngine`` is doing, for health and readiness checks
/// (``RelayEngine/health``).
public struct RelayHealth: Sendable, Hashable {
    /// Where the engine stands.
    public enum Phase: String, Sendable, Hashable {
        /// Not run yet.
        case idle
        /// Opening the source: connecting (or reconnecting after a lost connection while it
        /// waited as standby).
        case opening
        /// Connected, waiting as a hot standby while another relay holds the table's lock
        /// (sources that are a ``RelayLockReporting``); this relay takes over when that one's
        /// session ends. A healthy standby is ready.
        case standby
        /// Starting the transports.
        case startingTransports = "starting_transports"
        /// Relaying: the source is open and every transport started.
        case relaying
        /// Run or drain returned.
        case stopped
    }

    /// Where the engine stands.
    public var phase: Phase
    /// When the engine last made progress: handled an event (a read, a plan, a delivery, a
    /// completion, a poll) or got a transport's answer. While relaying this moves at least every
    /// idle poll interval, unless something is wedged.
    public var lastProgress: Timestamp
    /// Reads and completions that failed in a row (0 after one succeeds).
    public var consecutiveSourceFailures: Int
    /// The last source error while ``consecutiveSourceFailures`` is above 0.
    public var lastSourceError: String?
    /// Rows claimed and not yet completed.
    public var rowsInFlight: Int
    /// Batches claimed and not yet completed.
    public var batchesInFlight: Int
    /// The transports that can no longer deliver, by name, with their
    /// ``Transport/disabledReason`` (e.g. a webhook endpoint that answered 410 Gone).
    public var disabledTransports: [String: String] = [:]
    /// Rows marked or deleted since the engine started (delivered, set aside or skipped).
    public var rowsCompleted: Int
    /// Dead letters recorded since the engine started: with completed rows, and from the
    /// parked queues.
    public var deadLetters: Int
    /// While ``phase`` is ``Phase/standby``: who holds the relay lock, when the source can tell.
    public var lockHolder: String?
    /// Each destination's parked queue (by transport name) while the engine parks
    /// (``RelayEngine/Configuration/Parking-swift.struct``); empty otherwise. A destination
    /// whose queue is empty may be absent.
    public var parkedQueues: [String: ParkedQueueLevel] = [:]

    /// Creates a snapshot.
    public init(
        phase: Phase = .idle,
        lastProgress: Timestamp = .now(),
        consecutiveSourceFailures: Int = 0,
        lastSourceError: String? = nil,
        rowsInFlight: Int = 0,
        batchesInFlight: Int = 0,
        rowsCompleted: Int = 0,
        deadLetters: Int = 0,
        lockHolder: String? = nil
    ) {
        self.phase = phase
        self.lastProgress = lastProgress
        self.consecutiveSourceFailures = consecutiveSourceFailures
        self.lastSourceError = lastSourceError
        self.rowsInFlight = rowsInFlight
        self.batchesInFlight = batchesInFlight
        self.rowsCompleted = rowsCompleted
        self.deadLetters = deadLetters
        self.lockHolder = lockHolder
    }
}
