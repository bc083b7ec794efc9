import OutboxRelay

/// One configuration of a drain: table flavour, what happens to delivered rows, batch size.
struct DrainConfiguration: Hashable, CustomStringConvertible {
    var flavour: OutboxFlavour
    var afterDelivery: AfterDelivery
    var batchSize: Int

    var description: String { "\(flavour.rawValue) \(afterDelivery.rawValue) batch=\(batchSize)" }
}

/// The result of draining one freshly filled table once.
struct DrainMeasurement {
    /// Rows drained (and checked to be marked or deleted).
    var rows: Int
    /// Payload bytes that reached the consumer (relay) or were read (reference).
    var bytes: Int
    /// Wall-clock seconds from connecting to the last row marked.
    var seconds: Double
    /// The process's peak resident set, in KiB, when known.
    var peakResidentKiB: Int?
    /// CPU seconds (user + system, all threads) the drain cost the client process.
    var cpuSeconds: Double = 0

    /// Client CPU microseconds per message.
    var cpuMicrosecondsPerMessage: Double { rows > 0 ? cpuSeconds * 1e6 / Double(rows) : 0 }

    /// Messages per second.
    var messagesPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
}

extension Array where Element == Double {
    /// The median (the mean of the middle two for an even count); 0 when empty.
    var median: Double {
        guard !isEmpty else { return 0 }
        let sorted = self.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
