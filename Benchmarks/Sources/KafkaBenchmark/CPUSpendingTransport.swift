import OutboxRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The control destination: hands each batch to a thread of its own, which spends a set CPU
/// time per message and reports every message delivered. Nothing else: no I/O, no latency.
///
/// A drain into it shows what a destination's CPU cost alone does to the relay on this
/// machine (the two cores are shared with PostgreSQL), next to a real destination that costs
/// the same CPU.
actor CPUSpendingTransport: Transport {
    nonisolated let name: String
    let microsecondsPerMessage: Double
    private let executor: DedicatedThreadExecutor

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(name: String, microsecondsPerMessage: Double) {
        self.name = name
        self.microsecondsPerMessage = microsecondsPerMessage
        self.executor = DedicatedThreadExecutor(name: "control-" + name)
    }

    func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult] {
        let end = Self.threadCPUSeconds() + microsecondsPerMessage / 1e6 * Double(batch.count)
        while Self.threadCPUSeconds() < end {}
        return Array(repeating: .delivered, count: batch.count)
    }

    func shutdown() async {
        executor.shutdown()
    }

    /// CPU time of the calling thread.
    private static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
