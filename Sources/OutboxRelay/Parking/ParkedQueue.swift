/// What the coordinator knows of one destination's parked queue: how many messages each
/// ordering key has parked (written, or waiting for their batch to complete), and whether a
/// drain round is outstanding.
struct ParkedQueue {
    private var perKey: [String: (entries: Int, bytes: Int)] = [:]
    private(set) var entries = 0
    private(set) var bytes = 0
    /// Whether a ``RelayStateMachine/Action/drainParked(destination:headsOnly:)`` is outstanding.
    var draining = false
    /// Whether a ``RelayStateMachine/Action/scheduleParkedDrain(destination:after:)`` is outstanding.
    var scheduled = false
    /// Whether a drain round should run as soon as the destination's lane is free.
    var due = false

    /// Whether `key` has parked messages: its later messages are parked behind them.
    func holds(_ key: String) -> Bool { perKey[key] != nil }

    mutating func add(key: String, entries: Int, bytes: Int) {
        guard entries > 0 else { return }
        perKey[key, default: (0, 0)].entries += entries
        perKey[key, default: (0, 0)].bytes += bytes
        self.entries += entries
        self.bytes += bytes
    }

    mutating func remove(key: String, entries: Int, bytes: Int) {
        guard let current = perKey[key] else { return }
        let removed = (entries: min(entries, current.entries), bytes: min(bytes, current.bytes))
        if removed.entries >= current.entries {
            perKey[key] = nil
            self.entries -= current.entries
            self.bytes -= current.bytes
        } else {
            perKey[key] = (current.entries - removed.entries, current.bytes - removed.bytes)
            self.entries -= removed.entries
            self.bytes -= removed.bytes
        }
    }
}

/// How full one destination's parked queue is: in ``RelayHealth/parkedQueues`` and the
/// ``RelayMetrics`` gauges.
public struct ParkedQueueLevel: Sendable, Hashable {
    /// Parked messages: written to the parked-deliveries table, or waiting for their batch to
    /// complete.
    public var entries: Int
    /// The stored payload bytes of those messages.
    public var bytes: Int
    /// At `maximumEntries` or `maximumBytes` (``RelayEngine/Configuration/Parking-swift.struct``):
    /// the engine claims no more rows until the queue drains below the cap.
    public var isAtCap: Bool

    /// Creates a level.
    public init(entries: Int = 0, bytes: Int = 0, isAtCap: Bool = false) {
        self.entries = entries
        self.bytes = bytes
        self.isAtCap = isAtCap
    }
}
