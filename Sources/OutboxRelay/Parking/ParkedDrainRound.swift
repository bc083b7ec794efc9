import Logging

/// One round of draining a destination's parked queue: reads the entries of the ordering keys
/// whose oldest entry is due, delivers them as one batch, and settles what came of it in one
/// source transaction.
///
/// The ordering rule is the window's (``HeldBackOrderingKeys``): after an entry of a key failed,
/// its later entries stay parked untouched and are sent after it. A failed entry counts an
/// attempt and waits for its retry policy's next delay (at least the destination's
/// `Retry-After`); it is dead-lettered once ``RetryPolicy/maximumAttempts`` or
/// ``RetryPolicy/maximumAge`` is spent, and at once on a permanent failure (e.g. an endpoint
/// disabled by 410 Gone). An entry is deleted only once its delivery was acknowledged, so a
/// crash at any point redelivers it.
struct ParkedDrainRound {
    /// What the round did, for the coordinator's counts.
    enum Outcome: Sendable {
        /// Entries were attempted; `removed` are the deleted ones per ordering key.
        case settled(removed: [ParkedBacklog], delivered: Int, deadLettered: Int, retried: Int)
        /// No ordering key of the destination is due yet.
        case nothingDue
        /// Reading or settling failed (nothing was settled); the next round tries again.
        case failed(String)
    }

    let store: any ParkedDeliveryStore
    let transport: any Transport
    let policy: RetryPolicy
    let decoder: EnvelopeDecoder
    /// Entries per round, at most.
    let limit: Int
    /// Only each due key's oldest entry: the destination delivered nothing lately, so a round
    /// probes it instead of sending backlogs that would be held back anyway.
    let headsOnly: Bool
    let logger: Logger

    func run() async -> Outcome {
        let entries: [ParkedDelivery]
        do {
            entries = try await store.dueParkedDeliveries(
                destination: transport.name,
                now: .now(),
                limit: limit,
                headsOnly: headsOnly
            )
        } catch {
            return .failed("reading the parked deliveries failed: \(error)")
        }
        guard !entries.isEmpty else { return .nothingDue }

        var settlement = ParkedSettlement()
        var removed: [String: ParkedBacklog] = [:]
        func remove(_ entry: ParkedDelivery) {
            removed[
                entry.orderingKey,
                default: ParkedBacklog(
                    destination: entry.destination,
                    orderingKey: entry.orderingKey,
                    entries: 0,
                    bytes: 0
                )
            ].entries += 1
            removed[entry.orderingKey]!.bytes += entry.payload.count
        }
        func giveUp(_ entry: ParkedDelivery, attempts: Int, reason: String, at now: Timestamp) {
            logger.error(
                "parked message set aside",
                metadata: [
                    "destination": "\(transport.name)", "event_id": "\(entry.eventID)", "row_id": "\(entry.rowID)",
                    "attempts": "\(attempts)", "reason": "\(reason)",
                ]
            )
            settlement.deadLettered.append((entry.id!, entry.deadLetter(reason: reason, attempts: attempts, at: now)))
            remove(entry)
        }

        var sent: [(entry: ParkedDelivery, message: OutboxMessage)] = []
        sent.reserveCapacity(entries.count)
        let readAt = Timestamp.now()
        for entry in entries where entry.id != nil {
            do {
                var message = try decoder.decode(OutboxRow(id: entry.rowID, payload: entry.payload))
                if message.eventID != entry.eventID { message.eventID = entry.eventID }
                sent.append((entry, message))
            } catch {
                giveUp(
                    entry,
                    attempts: entry.attempts,
                    reason: "the parked message does not decode: \(error)",
                    at: readAt
                )
            }
        }

        var delivered = 0
        var retried = 0
        if !sent.isEmpty {
            var results = await transport.deliver(sent.map(\.message))
            if results.count != sent.count {
                logger.error(
                    "the transport returned the wrong number of results for parked messages; retrying them",
                    metadata: [
                        "destination": "\(transport.name)", "results": "\(results.count)", "messages": "\(sent.count)",
                    ]
                )
                results = Array(repeating: .retryable("the transport returned a malformed result"), count: sent.count)
            }
            let now = Timestamp.now()
            var heldBack = HeldBackOrderingKeys()
            for ((entry, message), result) in zip(sent, results) {
                if heldBack.holdsBack(message) { continue }  // behind a failed entry of its key: untouched
                switch result {
                case .delivered:
                    settlement.delivered.append(entry.id!)
                    remove(entry)
                    delivered += 1
                case .permanent(let reason):
                    giveUp(entry, attempts: entry.attempts + 1, reason: reason, at: now)
                case .retryable(let reason, let hint):
                    let attempts = entry.attempts + 1
                    if !policy.allowsRetry(after: attempts) {
                        giveUp(
                            entry,
                            attempts: attempts,
                            reason: "gave up after \(attempts) attempts: \(reason)",
                            at: now
                        )
                    } else if let maximumAge = policy.maximumAge, now.duration(since: entry.firstFailedAt) >= maximumAge
                    {
                        giveUp(
                            entry,
                            attempts: attempts,
                            reason: "gave up after \(maximumAge) of retrying (\(attempts) attempts): \(reason)",
                            at: now
                        )
                    } else {
                        let delay = policy.delay(afterAttempt: attempts, retryAfter: hint)
                        settlement.retries.append(
                            .init(
                                id: entry.id!,
                                attempts: attempts,
                                lastError: reason,
                                nextAttemptAt: now.adding(delay)
                            )
                        )
                        heldBack.holdBack(after: message)
                        retried += 1
                    }
                }
            }
            if retried > 0 {
                logger.warning(
                    "parked messages failed again",
                    metadata: [
                        "destination": "\(transport.name)", "failed": "\(retried)", "attempted": "\(sent.count)",
                    ]
                )
            }
        }
        do {
            if !settlement.isEmpty { try await store.settleParkedDeliveries(settlement) }
        } catch {
            // Nothing was settled: the delivered entries are sent again (at least once).
            return .failed("recording the parked deliveries' outcome failed: \(error)")
        }
        return .settled(
            removed: removed.values.sorted { $0.orderingKey < $1.orderingKey },
            delivered: delivered,
            deadLettered: settlement.deadLettered.count,
            retried: retried
        )
    }
}
