/// One claimed batch, decoded, expanded and routed: what each destination must receive,
/// and what is already known to be set aside.
struct BatchPlan: Sendable {
    /// Claim order; also the batch's identity.
    let sequence: Int
    /// The stored payload per row, for dead letters of expanded messages (whose envelope is not
    /// the stored payload). Empty without an expander: a message's envelope is then its row's
    /// stored payload.
    let storedPayloads: [OutboxRowID: [UInt8]]
    /// Messages per destination, in delivery order.
    var lanes: [String: [OutboxMessage]]
    /// Rows and messages set aside while planning (oversized, undecodable, unrouted with
    /// `dead-letter`).
    var deadLetters: [DeadLetter]
    var messageCount = 0
    var undecodableRows = 0
    var skippedUnrouted = 0

    /// Plans a batch.
    ///
    /// For the `dispatcher` flavour, messages of one aggregate are put in
    /// `__aggregate_root_version` order within the batch: PHP orders only by
    /// `time_of_recording`, which ties for events recorded in the same microsecond.
    init(
        sequence: Int,
        rows: [OutboxRow],
        flavour: OutboxFlavour,
        decoder: EnvelopeDecoder,
        expander: (any MessageExpander)?,
        routing: RoutingTable,
        onUnrouted: (String) -> Void
    ) {
        self.sequence = sequence
        var payloads: [OutboxRowID: [UInt8]] = [:]
        if expander != nil { payloads.reserveCapacity(rows.count) }
        var lanes: [String: [OutboxMessage]] = [:]
        var deadLetters: [DeadLetter] = []
        var routeCache: [String: [String]] = [:]
        var messages: [OutboxMessage] = []
        messages.reserveCapacity(rows.count)
        let now = Timestamp.now()
        let interner = HeaderValueInterner()

        for row in rows {
            if let oversized = row.oversizedPayload {
                deadLetters.append(
                    DeadLetter(
                        rowID: row.id,
                        payload: [],
                        destination: nil,
                        attempts: 0,
                        lastError: oversized.reason,
                        firstFailedAt: now,
                        lastFailedAt: now,
                        payloadStaysInOutbox: true
                    )
                )
                continue
            }
            if expander != nil { payloads[row.id] = row.payload }
            do {
                let message = try decoder.decode(row, interner: interner)
                if let expander {
                    do {
                        messages.append(contentsOf: try expander.expand(message))
                    } catch {
                        throw EnvelopeDecodingError(
                            code: .expanderFailed,
                            rowID: row.id,
                            detail: "the expander failed: \(error)"
                        )
                    }
                } else {
                    messages.append(message)
                }
            } catch {
                undecodableRows += 1
                deadLetters.append(
                    DeadLetter(
                        rowID: row.id,
                        payload: row.payload,
                        destination: nil,
                        attempts: 0,
                        lastError: (error as? EnvelopeDecodingError)?.detail ?? String(describing: error),
                        firstFailedAt: now,
                        lastFailedAt: now
                    )
                )
            }
        }
        if flavour == .dispatcher { Self.orderByVersionWithinAggregates(&messages) }
        messageCount = messages.count

        for message in messages {
            let destinations: [String]
            if let cached = routeCache[message.eventType] {
                destinations = cached
            } else {
                destinations = routing.destinations(for: message.eventType)
                routeCache[message.eventType] = destinations
            }
            if destinations.isEmpty {
                switch routing.unrouted {
                case .skip:
                    skippedUnrouted += 1
                    onUnrouted(message.eventType)
                case .deadLetter:
                    deadLetters.append(
                        DeadLetter(
                            rowID: message.rowID,
                            payload: payloads[message.rowID] ?? message.envelope,
                            eventID: message.eventID,
                            eventType: message.eventType,
                            destination: nil,
                            attempts: 0,
                            lastError: "no route matches the event type \"\(message.eventType)\"",
                            firstFailedAt: now,
                            lastFailedAt: now
                        )
                    )
                }
                continue
            }
            for destination in destinations {
                lanes[destination, default: []].append(message)
            }
        }
        self.storedPayloads = payloads
        self.lanes = lanes
        self.deadLetters = deadLetters
    }

    /// Sorts the messages of each aggregate by version, keeping the slots aggregates occupy.
    static func orderByVersionWithinAggregates(_ messages: inout [OutboxMessage]) {
        // Almost always already in order: check that first, without building ordering keys.
        var lastVersions: [String: Int64] = [:]
        lastVersions.reserveCapacity(messages.count)
        var inOrder = true
        for message in messages {
            guard let id = message.aggregateRootID, let version = message.aggregateRootVersion else { continue }
            if let last = lastVersions.updateValue(version, forKey: id), last > version {
                inOrder = false
                break
            }
        }
        if inOrder { return }

        var slots: [String: [Int]] = [:]
        for (index, message) in messages.enumerated() where message.aggregateRootID != nil {
            slots[message.orderingKey, default: []].append(index)
        }
        for positions in slots.values where positions.count > 1 {
            let ordered = positions.map { messages[$0] }.enumerated().sorted { lhs, rhs in
                let a = lhs.element.aggregateRootVersion ?? .max
                let b = rhs.element.aggregateRootVersion ?? .max
                return a != b ? a < b : lhs.offset < rhs.offset
            }
            for (slot, entry) in zip(positions, ordered) {
                messages[slot] = entry.element
            }
        }
    }
}
