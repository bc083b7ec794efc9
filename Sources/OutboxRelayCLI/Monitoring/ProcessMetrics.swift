import Foundation
import Prometheus

#if canImport(Glibc)
import Glibc
#endif

/// The usual `process_*` metrics, read from `/proc/self` at each scrape (Linux; elsewhere they
/// stay absent): `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
/// `process_cpu_seconds_total`, `process_open_fds`, `process_max_fds`,
/// `process_start_time_seconds`.
final class ProcessMetrics: Sendable {
    private let residentMemory: Gauge
    private let virtualMemory: Gauge
    private let cpuSeconds: Gauge
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge

    init(registry: PrometheusCollectorRegistry) {
        residentMemory = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "process_resident_memory_bytes",
                unitName: "",
                helpText: "Resident memory size in bytes."
            )
        )
        virtualMemory = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "process_virtual_memory_bytes",
                unitName: "",
                helpText: "Virtual memory size in bytes."
            )
        )
        cpuSeconds = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "process_cpu_seconds_total",
                unitName: "",
                helpText: "Total user and system CPU time spent in seconds."
            )
        )
        openFDs = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "process_open_fds",
                unitName: "",
                helpText: "Number of open file descriptors."
            )
        )
        maxFDs = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "process_max_fds",
                unitName: "",
                helpText: "Maximum number of open file descriptors."
            )
        )
        startTime = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "process_start_time_seconds",
                unitName: "",
                helpText: "Start time of the process since unix epoch in seconds."
            )
        )
    }

    /// Reads `/proc/self` and sets the gauges.
    func refresh() {
        #if os(Linux)
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return }
        // Fields after the command name: state is field 3, utime 14, stime 15, starttime 22, vsize 23, rss 24.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        func field(_ number: Int) -> Double? { fields.count > number - 3 ? Double(fields[number - 3]) : nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let user = field(14), let system = field(15), ticks > 0 { cpuSeconds.set((user + system) / ticks) }
        if let vsize = field(23) { virtualMemory.set(vsize) }
        if let rss = field(24) { residentMemory.set(rss * pageSize) }
        if let started = field(22), ticks > 0, let bootTime = Self.bootTime() {
            startTime.set(bootTime + started / ticks)
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFDs.set(Double(descriptors.count))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFDs.set(Double(limit.rlim_cur)) }
        #endif
    }

    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
