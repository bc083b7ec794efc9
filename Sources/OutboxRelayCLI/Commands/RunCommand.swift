import ArgumentParser
import CoreMetrics
import Logging
import OutboxRelay
import Prometheus
import ServiceLifecycle

/// `outbox-relay run --config FILE [--drain]`.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Relays until SIGINT/SIGTERM, or with --drain until no undelivered row remains.",
        discussion: """
            On SIGINT or SIGTERM the relay stops claiming rows, lets the batches in flight finish \
            (relay.shutdown_grace_period) and exits 0; unfinished rows are relayed again next time.
            With --drain it exits 0 once every row was delivered or set aside in the dead-letter table, \
            1 if it had to stop with rows it could neither deliver nor set aside, and with \
            --fail-on-dead-letters 2 if it set any row aside. While it drains, a progress line on standard \
            error (when that is a terminal, or with --progress) shows the rows done of the backlog at the start, \
            the rate, the time left and the dead letters.
            """
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Flag(name: .long, help: "Exit once no undelivered row remains.")
    var drain = false

    @Flag(name: .long, help: "With --drain: exit 2 if any message was set aside in the dead-letter table.")
    var failOnDeadLetters = false

    @Flag(
        inversion: .prefixedNo,
        help: "With --drain: show a progress line on standard error (default: only when it is a terminal)."
    )
    var progress: Bool?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if progress == true && !drain { throw ValidationError("--progress shows the progress of --drain; add --drain") }
    }

    func run() async throws {
        let logger = logging.bootstrap()
        MemoryAllocator.keepFreedMemory()  // every batch frees megabytes: keep them for the next one
        let relayConfiguration = try RelayConfiguration.load(path: config) {
            logger.critical("invalid configuration", metadata: ["error": "\($0)", "config": "\(config)"])
        }
        let registry = relayConfiguration.monitoring.map { _ in PrometheusCollectorRegistry() }
        let metrics = registry.map(RelayPrometheus.metricsFactory)
        // Transports (built-in and user-registered) record through the global factory, bound
        // when they start: bootstrapped here, before any engine starts them.
        if let metrics { MetricsSystem.bootstrap(metrics) }

        // One service either way: a drain that ends the group when done (and fails fast), or
        // the relay, which retries with backoff while it cannot start.
        let service: any Service
        let health: @Sendable () -> RelayHealth
        let drainer: DrainService?
        var progressReporter: DrainProgressReporter?
        if drain {
            let engine = try relayConfiguration.makeEngine(logger: logger, metrics: metrics)
            let drainService = DrainService(engine: engine)
            drainer = drainService
            service = drainService
            health = { engine.health }
            if progress ?? DrainProgressReporter.standardErrorIsTerminal {
                progressReporter = DrainProgressReporter(
                    backlogAtStart: await Self.backlog(of: relayConfiguration.source, logger: logger),
                    inPlace: DrainProgressReporter.standardErrorIsTerminal,
                    counters: {
                        let health = engine.health
                        return (health.rowsCompleted, health.deadLetters)
                    }
                )
            }
        } else {
            drainer = nil
            let path = config
            let relay = RestartingRelay(backoff: relayConfiguration.engine.sourceRetry, logger: logger) {
                // A fresh source and fresh transports for every attempt.
                try RelayConfiguration.load(path: path).makeEngine(logger: logger, metrics: metrics)
            }
            service = relay
            health = { relay.health }
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let monitoring = relayConfiguration.monitoring, let registry {
            let server = MonitoringServer(
                configuration: monitoring,
                registry: registry,
                logger: logger,
                health: health
            )
            services.append(.init(service: server, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        let progressLine = progressReporter.map { reporter in Task { await reporter.run() } }
        do {
            try await group.run()
            progressLine?.cancel()
            await progressLine?.value
        } catch {
            progressLine?.cancel()
            await progressLine?.value
            logger.error("relay failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        guard let drainer else { return }
        guard let summary = drainer.summary else { throw ExitCode(1) }
        logger.info("drained", metadata: summary.logMetadata)
        if summary.rowsLeftInFlight > 0 { throw ExitCode(1) }
        if failOnDeadLetters && summary.deadLetters > 0 { throw ExitCode(2) }
    }
}

extension RunCommand {
    /// The source's backlog before the drain starts, for the progress line; `nil` (and a debug
    /// log) when it cannot tell.
    static func backlog(of source: any OutboxSource, logger: Logger) async -> Int? {
        guard let reporting = source as? any OutboxStatusReporting else { return nil }
        do {
            return try await reporting.status().backlog
        } catch {
            logger.debug("no backlog for the progress line: the status query failed", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

/// Runs ``RelayEngine/drain()`` as a service and keeps its summary.
final class DrainService: Service, @unchecked Sendable {
    private let engine: RelayEngine
    private(set) var summary: RelaySummary?

    init(engine: RelayEngine) {
        self.engine = engine
    }

    func run() async throws {
        summary = try await engine.drain()
    }
}
