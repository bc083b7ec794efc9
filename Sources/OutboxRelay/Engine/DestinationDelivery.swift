import Logging

/// Delivers one batch's messages to one transport, retrying until each message is
/// delivered or set aside.
///
/// Ordering rule (``HeldBackOrderingKeys``): after a round, for each ordering key the messages
/// from its first undelivered message on are sent again, even those the transport reported delivered after
/// it (at-least-once; that keeps per-aggregate order at the destination). A message counts an
/// attempt only for its own failures.
///
/// With parking (``parks``), a message whose ``RetryPolicy/parkAfter`` budget is spent is parked
/// instead of retried, and so is every later message of its ordering key in the batch.
struct DestinationDelivery {
    /// How the delivery ended.
    enum Outcome: Sendable {
        /// Every message was delivered, dead-lettered or parked.
        case completed(delivered: Int, deadLetters: [DeadLetter], parked: [ParkedDelivery])
        /// The relay is stopping; the batch stays undelivered.
        case abandoned
    }

    let transport: any Transport
    let policy: RetryPolicy
    let storedPayloads: [OutboxRowID: [UInt8]]
    /// Times the backoff between rounds.
    let clock: any Clock<Duration>
    let logger: Logger
    /// Whether the source keeps a parked-deliveries table (``ParkedDeliveryStore``).
    var parks = false
    /// Park a message at its first failure (the destination is down: see
    /// ``RelayStateMachine/Action/deliver(sequence:destination:messages:storedPayloads:parkAtFirstFailure:)``).
    var parkAtFirstFailure = false

    func run(_ messages: [OutboxMessage]) async -> Outcome {
        let budget = parkAtFirstFailure && policy.parkAfter != .never ? ParkAfter.attempts(1) : policy.parkAfter
        var pending = Array(messages.indices)
        var attempts = [Int](repeating: 0, count: messages.count)
        var firstFailure = [Timestamp?](repeating: nil, count: messages.count)
        var deadLetters: [DeadLetter] = []
        var parked: [(index: Int, entry: ParkedDelivery)] = []
        var parkedKeys = Set<String>()
        var delivered = 0

        while !pending.isEmpty {
            if Task.isCancelled { return .abandoned }
            let batch = pending.count == messages.count ? messages : pending.map { messages[$0] }
            var results = await transport.deliver(batch)
            // Cancelled while delivering: what the transport reports may be incomplete, and the
            // relay no longer waits for it. The rows stay undelivered and are relayed next time.
            if Task.isCancelled { return .abandoned }
            if results.count != batch.count {
                logger.error(
                    "the transport returned a result count that does not match the batch; retrying the batch",
                    metadata: [
                        "destination": "\(transport.name)", "results": "\(results.count)", "messages": "\(batch.count)",
                    ]
                )
                results = Array(repeating: .retryable("the transport returned a malformed result"), count: batch.count)
            }
            let now = Timestamp.now()
            var heldBack = HeldBackOrderingKeys()
            var next: [Int] = []
            var highestAttempt = 0
            var retryAfter: Duration?
            var lastReason = ""
            for (index, result) in zip(pending, results) {
                let message = messages[index]
                if !parkedKeys.isEmpty && parkedKeys.contains(message.orderingKey) {
                    // Behind a parked message of its key: parked too, in order.
                    parked.append((index, parkedBehind(message, first: firstFailure[index] ?? now, now: now)))
                    continue
                }
                if heldBack.holdsBack(message) {
                    next.append(index)
                    continue
                }
                switch result {
                case .delivered:
                    delivered += 1
                case .permanent(let reason):
                    attempts[index] += 1
                    deadLetters.append(
                        letter(
                            for: message,
                            attempts: attempts[index],
                            reason: reason,
                            first: firstFailure[index] ?? now,
                            last: now
                        )
                    )
                case .retryable(let reason, let hint):
                    attempts[index] += 1
                    if firstFailure[index] == nil { firstFailure[index] = now }
                    if policy.allowsRetry(after: attempts[index]) && parks
                        && budget.isSpent(
                            attempts: attempts[index],
                            failingFor: now.duration(since: firstFailure[index]!)
                        )
                    {
                        let due = policy.delay(afterAttempt: attempts[index], retryAfter: hint)
                        parked.append(
                            (
                                index,
                                ParkedDelivery(
                                    message,
                                    destination: transport.name,
                                    attempts: attempts[index],
                                    lastError: reason,
                                    firstFailedAt: firstFailure[index]!,
                                    nextAttemptAt: now.adding(due),
                                    isRowPayload: storedPayloads.isEmpty
                                )
                            )
                        )
                        parkedKeys.insert(message.orderingKey)
                        logger.warning(
                            "message parked: its destination did not take it within its retry budget",
                            metadata: [
                                "destination": "\(transport.name)", "event_id": "\(message.eventID)",
                                "row_id": "\(message.rowID)", "attempts": "\(attempts[index])", "error": "\(reason)",
                            ]
                        )
                    } else if policy.allowsRetry(after: attempts[index]) {
                        next.append(index)
                        heldBack.holdBack(after: message)
                        highestAttempt = max(highestAttempt, attempts[index])
                        if let hint { retryAfter = max(retryAfter ?? hint, hint) }
                        lastReason = reason
                    } else {
                        deadLetters.append(
                            letter(
                                for: message,
                                attempts: attempts[index],
                                reason: "gave up after \(attempts[index]) attempts: \(reason)",
                                first: firstFailure[index]!,
                                last: now
                            )
                        )
                    }
                }
            }
            // A key parked in this round parks its later messages held back in an earlier slot.
            pending = next.filter { index in
                guard !parkedKeys.isEmpty, parkedKeys.contains(messages[index].orderingKey) else { return true }
                parked.append((index, parkedBehind(messages[index], first: firstFailure[index] ?? now, now: now)))
                return false
            }
            if !pending.isEmpty {
                let delay = policy.delay(afterAttempt: max(highestAttempt, 1), retryAfter: retryAfter)
                logger.warning(
                    "delivery failed; retrying the failed messages",
                    metadata: [
                        "destination": "\(transport.name)", "messages": "\(pending.count)", "delay": "\(delay)",
                        "attempt": "\(highestAttempt)", "error": "\(lastReason)",
                    ]
                )
                do {
                    try await clock.sleep(for: delay)
                } catch {
                    return .abandoned
                }
            }
        }
        // Outbox order per key: the parked table's ids keep it.
        parked.sort { $0.index < $1.index }
        return .completed(delivered: delivered, deadLetters: deadLetters, parked: parked.map(\.entry))
    }

    private func parkedBehind(_ message: OutboxMessage, first: Timestamp, now: Timestamp) -> ParkedDelivery {
        ParkedDelivery(
            message,
            destination: transport.name,
            attempts: 0,
            lastError: "parked behind an earlier message of \(message.orderingKey)",
            firstFailedAt: first,
            nextAttemptAt: now,
            isRowPayload: storedPayloads.isEmpty
        )
    }

    private func letter(
        for message: OutboxMessage,
        attempts: Int,
        reason: String,
        first: Timestamp,
        last: Timestamp
    ) -> DeadLetter {
        logger.error(
            "message set aside in the dead-letter table",
            metadata: [
                "destination": "\(transport.name)", "event_id": "\(message.eventID)", "row_id": "\(message.rowID)",
                "attempts": "\(attempts)", "error": "\(reason)",
            ]
        )
        return DeadLetter(
            rowID: message.rowID,
            payload: storedPayloads[message.rowID] ?? message.envelope,
            eventID: message.eventID,
            eventType: message.eventType,
            destination: transport.name,
            attempts: attempts,
            lastError: reason,
            firstFailedAt: first,
            lastFailedAt: last
        )
    }
}
