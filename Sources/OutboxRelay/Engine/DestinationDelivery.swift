import Logging

/// Delivers one batch's messages to one transport, retrying until each message is
/// delivered or set aside.
///
/// Ordering rule (``HeldBackOrderingKeys``): after a round, for each ordering key the messages
/// from its first undelivered message on are sent again, even those the transport reported delivered after
/// it (at-least-once; that keeps per-aggregate order at the destination). A message counts an
/// attempt only for its own failures.
struct DestinationDelivery {
    /// How the delivery ended.
    enum Outcome: Sendable {
        /// Every message was delivered or dead-lettered.
        case completed(delivered: Int, deadLetters: [DeadLetter])
        /// The relay is stopping; the batch stays undelivered.
        case abandoned
    }

    let transport: any Transport
    let policy: RetryPolicy
    let storedPayloads: [OutboxRowID: [UInt8]]
    /// Times the backoff between rounds.
    let clock: any Clock<Duration>
    let logger: Logger

    func run(_ messages: [OutboxMessage]) async -> Outcome {
        var pending = Array(messages.indices)
        var attempts = [Int](repeating: 0, count: messages.count)
        var firstFailure = [Timestamp?](repeating: nil, count: messages.count)
        var deadLetters: [DeadLetter] = []
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
                    """
                    transport \(transport.name) returned \(results.count) results for \(batch.count) messages; \
                    retrying the batch
                    """
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
                    if policy.allowsRetry(after: attempts[index]) {
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
            pending = next
            if !pending.isEmpty {
                let delay = policy.delay(afterAttempt: max(highestAttempt, 1), retryAfter: retryAfter)
                logger.warning(
                    """
                    transport \(transport.name): \(pending.count) messages to retry in \(delay) \
                    (attempt \(highestAttempt)): \(lastReason)
                    """
                )
                do {
                    try await clock.sleep(for: delay)
                } catch {
                    return .abandoned
                }
            }
        }
        return .completed(delivered: delivered, deadLetters: deadLetters)
    }

    private func letter(
        for message: OutboxMessage,
        attempts: Int,
        reason: String,
        first: Timestamp,
        last: Timestamp
    ) -> DeadLetter {
        logger.error(
            "transport \(transport.name): event \(message.eventID) (row \(message.rowID)) set aside: \(reason)"
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
