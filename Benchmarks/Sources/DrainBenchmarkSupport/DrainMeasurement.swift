import OutboxRelay

/// One configuration of a drain: table flavour, what happens to delivered rows, batch size.
public struct DrainConfiguration: Hashable, CustomStringConvertible, Sendable {
    public var flavour: OutboxFlavour
    public var afterDelivery: AfterDelivery
    public var batchSize: Int

    public init(flavour: OutboxFlavour, afterDelivery: AfterDelivery, batchSize: Int) {
        self.flavour = flavour
        self.afterDelivery = afterDelivery
        self.batchSize = batchSize
    }

    public var description: String { "\(flavour.rawValue) \(afterDelivery.rawValue) batch=\(batchSize)" }
}

/// The result of draining one freshly filled table once.
public struct DrainMeasurement: Sendable {
    /// Rows drained (and checked to be marked or deleted).
    public var rows: Int
    /// Payload bytes that reached the consumer (relay) or were read (reference).
    public var bytes: Int
    /// Wall-clock seconds from connecting to the last row marked.
    public var seconds: Double
    /// The process's peak resident set, in KiB, when known.
    public var peakResidentKiB: Int?
    /// CPU seconds (user + system, all threads) the drain cost the client process.
    public var cpuSeconds: Double = 0

    /// Client CPU microseconds per message.
    public var cpuMicrosecondsPerMessage: Double { rows > 0 ? cpuSeconds * 1e6 / Double(rows) : 0 }

    /// Messages per second.
    public var messagesPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }

    public init(rows: Int, bytes: Int, seconds: Double, peakResidentKiB: Int?, cpuSeconds: Double = 0) {
        self.rows = rows
        self.bytes = bytes
        self.seconds = seconds
        self.peakResidentKiB = peakResidentKiB
        self.cpuSeconds = cpuSeconds
    }
}

extension Array where Element == Double {
    /// The median (the mean of the middle two for an even count); 0 when empty.
    public var median: Double {
        guard !isEmpty else { return 0 }
        let sorted = self.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
