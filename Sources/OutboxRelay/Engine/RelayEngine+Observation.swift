import CoreMetrics

/// What the engine records as it executes its actions: the ``RelayHealth`` snapshot and the
/// ``RelayMetrics``. Each method is one well-defined point of the pipeline.
extension RelayEngine {
    /// The engine's observed state: its health snapshot and the rows of each batch in flight.
    struct Observed: Sendable {
        var health = RelayHealth()
        var rowsPerBatch: [Int: (rows: Int, claimedAt: Timestamp)] = [:]
        /// Where the engine's own run stands; ``health``'s phase also reflects ``lockState``.
        var lifecycle = RelayHealth.Phase.idle
        /// What a ``RelayLockReporting`` source last said, `nil` before it said anything.
        var lockState: RelayLockState?

        /// The phase the snapshot shows: the lifecycle's, except that a source waiting as a
        /// standby makes it ``RelayHealth/Phase/standby``, and one reconnecting while relaying
        /// makes it ``RelayHealth/Phase/opening`` again.
        mutating func updatePhase() {
            switch (lifecycle, lockState) {
            case (.opening, .standby(let holder)?), (.relaying, .standby(let holder)?):
                health.phase = .standby
                health.lockHolder = holder
            case (.relaying, .connecting?):
                health.phase = .opening
                health.lockHolder = nil
            default:
                health.phase = lifecycle
                health.lockHolder = nil
            }
        }
    }

    /// A live snapshot of what the engine is doing.
    public var health: RelayHealth {
        var health = observed.withLock { $0.health }
        for (name, transport) in transports {
            if let reason = transport.disabledReason { health.disabledTransports[name] = reason }
        }
        return health
    }

    func observePhase(_ phase: RelayHealth.Phase) {
        let shown = observed.withLock {
            $0.lifecycle = phase
            $0.health.lastProgress = .now()
            if phase == .stopped {
                // Whatever was in flight stays undelivered: it is no longer in flight here.
                $0.rowsPerBatch = [:]
                $0.health.rowsInFlight = 0
                $0.health.batchesInFlight = 0
            }
            $0.updatePhase()
            return $0.health.phase
        }
        metrics.setActive(shown == .relaying)
        if phase == .stopped { metrics.recordInFlight(rows: 0, batches: 0) }
    }

    /// A ``RelayLockReporting`` source connects, waits as a standby, or may relay.
    func observeLockState(_ state: RelayLockState) {
        let shown = observed.withLock {
            $0.lockState = state
            $0.health.lastProgress = .now()
            $0.updatePhase()
            return $0.health.phase
        }
        metrics.setActive(shown == .relaying)
    }

    /// The coordinator handled an event, or a transport answered.
    func observeProgress() {
        let now = Timestamp.now()
        observed.withLock { $0.health.lastProgress = now }
    }

    /// A read returned `rows` rows as batch `sequence` (planned next).
    func observeClaim(sequence: Int, rows: Int) {
        metrics.claimed(rows: rows)
        let (rowCount, batchCount) = observed.withLock {
            $0.rowsPerBatch[sequence] = (rows, .now())
            $0.health.rowsInFlight += rows
            $0.health.batchesInFlight = $0.rowsPerBatch.count
            return ($0.health.rowsInFlight, $0.health.batchesInFlight)
        }
        metrics.recordInFlight(rows: rowCount, batches: batchCount)
    }

    /// `transport` wrapped so its deliveries of batch `sequence` are counted and timed.
    func metered(_ transport: any Transport, sequence: Int) -> any Transport {
        let claimedAt = observed.withLock { $0.rowsPerBatch[sequence]?.claimedAt } ?? .now()
        return metrics.metered(transport, claimedAt: claimedAt)
    }

    /// A batch's rows were marked or deleted, together with its dead letters.
    func observeCompletion(sequence: Int, rows: Int, deadLetters: [DeadLetter]) {
        metrics.completed(rows: rows, deadLetters: deadLetters)
        let (rowCount, batchCount) = observed.withLock {
            $0.health.rowsInFlight -= $0.rowsPerBatch.removeValue(forKey: sequence)?.rows ?? 0
            $0.health.rowsCompleted += rows
            $0.health.deadLetters += deadLetters.count
            $0.health.batchesInFlight = $0.rowsPerBatch.count
            $0.health.consecutiveSourceFailures = 0
            $0.health.lastSourceError = nil
            return ($0.health.rowsInFlight, $0.health.batchesInFlight)
        }
        metrics.recordInFlight(rows: rowCount, batches: batchCount)
    }

    /// A round of draining `destination`'s parked queue settled: its deliveries and dead letters
    /// count like those of claimed batches.
    func observeParkedDrain(destination: String, outcome: ParkedDrainRound.Outcome) {
        guard case .settled(_, let delivered, let deadLettered, _) = outcome else { return }
        metrics.delivered(delivered, to: destination)
        metrics.parkedDeadLettered(deadLettered, at: destination)
        if deadLettered > 0 { observed.withLock { $0.health.deadLetters += deadLettered } }
    }

    /// A read succeeded.
    func observeSourceSuccess() {
        observed.withLock {
            $0.health.consecutiveSourceFailures = 0
            $0.health.lastSourceError = nil
        }
    }

    /// A read or a completion failed.
    func observeSourceFailure(_ error: any Error) {
        metrics.sourceFailed()
        observed.withLock {
            $0.health.consecutiveSourceFailures += 1
            $0.health.lastSourceError = String(describing: error)
        }
    }

    /// Refreshes the backlog gauges from the source's status query every `interval`, until
    /// cancelled. Does nothing for a source without a status query, or when no metrics backend
    /// records (no query for nothing).
    func refreshStatus(every interval: Duration) async {
        guard metrics.isRecording, let reporting = source as? any OutboxStatusReporting else { return }
        while !Task.isCancelled {
            do {
                metrics.recordStatus(try await reporting.status())
            } catch {
                logger.debug("status query failed", metadata: ["table": "\(source.table)", "error": "\(error)"])
            }
            do { try await clock.sleep(for: interval) } catch { return }
        }
    }
}
