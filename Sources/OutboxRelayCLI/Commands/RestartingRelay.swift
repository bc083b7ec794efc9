import Logging
import OutboxRelay
import ServiceLifecycle
import Synchronization

/// `run` as a service should behave: when the relay cannot start (database or broker
/// unreachable, table not there yet), it logs why, waits with backoff and starts a fresh engine
/// (fresh source and transports) again, until graceful shutdown. ``health`` reports the failed
/// start (phase `opening`, with the error), so `/readyz` answers 503 and `/healthz` 200 meanwhile.
///
/// `check` stays the command that fails fast.
final class RestartingRelay: Service, Sendable {
    private struct State {
        var engine: RelayEngine?
        var failedStarts = 0
        var lastStartError: String?
    }

    private let makeEngine: @Sendable () throws -> RelayEngine
    private let backoff: RetryPolicy
    private let logger: Logger
    private let state = Mutex(State())

    /// - Parameter backoff: the delays between attempts (its attempt limit is ignored: a service
    ///   retries until stopped).
    init(backoff: RetryPolicy, logger: Logger, makeEngine: @escaping @Sendable () throws -> RelayEngine) {
        self.makeEngine = makeEngine
        self.backoff = backoff
        self.logger = logger
    }

    /// The current engine's health, or the failed start while waiting to try again.
    var health: RelayHealth {
        let (engine, failures, error) = state.withLock { ($0.engine, $0.failedStarts, $0.lastStartError) }
        let current = engine?.health
        if let current, current.phase == .relaying || current.phase == .standby { return current }
        if let error {
            return RelayHealth(phase: .opening, consecutiveSourceFailures: failures, lastSourceError: error)
        }
        return current ?? RelayHealth()
    }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let engine = try makeEngine()
            state.withLock { $0.engine = engine }
            do {
                try await engine.run()
                return
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                let attempt = state.withLock { state in
                    state.failedStarts += 1
                    state.lastStartError = String(describing: error)
                    return state.failedStarts
                }
                let delay = backoff.delay(afterAttempt: attempt)
                logger.error(
                    "the relay could not start; retrying",
                    metadata: ["attempt": "\(attempt)", "delay": "\(delay)", "error": "\(error)"]
                )
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            }
        }
    }
}
