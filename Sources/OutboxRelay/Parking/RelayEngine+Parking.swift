extension RelayEngine.Configuration {
    /// The per-destination parked queues: a message a destination did not take within its
    /// in-window budget (``RetryPolicy/parkAfter``) waits there, so the other destinations and
    /// the outbox cursor move on.
    public struct Parking: Sendable, Hashable {
        /// Parked messages per destination, at most. At the cap the relay claims no more rows
        /// (nothing is dropped) until that destination's queue drains. Default 100,000.
        public var maximumEntries: Int
        /// Stored payload bytes parked per destination, at most; same rule. Default 512 MiB.
        public var maximumBytes: Int
        /// How long a destination's drain waits before looking again when none of its parked
        /// messages was due. Default 1 s.
        public var pollInterval: Duration

        public init(
            maximumEntries: Int = 100_000,
            maximumBytes: Int = 512 << 20,
            pollInterval: Duration = .seconds(1)
        ) {
            self.maximumEntries = maximumEntries
            self.maximumBytes = maximumBytes
            self.pollInterval = pollInterval
        }
    }
}

extension RelayEngine {
    /// Publishes the parked queues' levels in ``RelayEngine/health`` and the ``RelayMetrics``
    /// gauges when they changed since `recorded`.
    func observeParkedQueues(of machine: RelayStateMachine, recorded: inout [String: ParkedQueueLevel]?) {
        guard machine.configuration.parks else { return }
        let levels = machine.parkedQueueLevels
        guard levels != recorded else { return }
        recorded = levels
        observed.withLock { $0.health.parkedQueues = levels }
        if metrics.isRecording { metrics.recordParkedQueues(levels) }
    }
}
