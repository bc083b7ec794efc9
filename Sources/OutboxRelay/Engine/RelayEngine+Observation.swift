import CoreMetrics

/// What the engine records as it executes its actions: the ``RelayHealth`` snapshot and the
/// ``RelayMetrics``. Each method is one well-defined point of the pipeline.
extension RelayEngine {
    /// The engine's observed state: its health snapshot and the rows of each batch in flight.
    struct Observed: Sendable {
        var health = RelayHealth()
        var rowsPerBatch: [Int: (rows: Int, claimedAt: Timestamp)] = [:]
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
        observed.withLock {
            $0.health.phase = phase
            $0.health.lastProgress = .now()
            if phase == .stopped {
                // Whatever was in flight stays undelivered: it is no longer in flight here.
                $0.rowsPerBatch = [:]
                $0.health.rowsInFlight = 0
                $0.health.batchesInFlight = 0
            }
        }
        metrics.setActive(phase == .relaying)
        if phase == .stopped { metrics.recordInFlight(rows: 0, batches: 0) }
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
            $0.health.batchesInFlight = $0.rowsPerBatch.count
            $0.health.consecutiveSourceFailures = 0
            $0.health.lastSourceError = nil
            return ($0.health.rowsInFlight, $0.health.batchesInFlight)
        }
        metrics.recordInFlight(rows: rowCount, batches: batchCount)
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
