import OutboxRelay
import Testing

/// Checks that each aggregate's versions arrived in increasing order, each message exactly once.
public func expectInOrderOnce(
    _ messages: [OutboxMessage],
    count: Int,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(messages.count == count, sourceLocation: sourceLocation)
    #expect(Set(messages.map(\.eventID)).count == count, "every message once", sourceLocation: sourceLocation)
    var last: [String: Int64] = [:]
    for message in messages {
        let version = message.aggregateRootVersion ?? 0
        #expect(
            version > last[message.orderingKey, default: 0],
            "\(message.orderingKey) out of order",
            sourceLocation: sourceLocation
        )
        last[message.orderingKey] = version
    }
}

/// Per aggregate, first deliveries come in version order.
public func expectIncreasingVersions(_ lines: [RelayProcess.Line], sourceLocation: SourceLocation = #_sourceLocation) {
    var seen: Set<String> = []
    var last: [String: Int64] = [:]
    var failures = 0
    for line in lines where seen.insert(line.rowID).inserted {
        if let previous = last[line.aggregate], line.version <= previous, failures < 5 {
            Issue.record(
                "aggregate \(line.aggregate): version \(line.version) after \(previous)",
                sourceLocation: sourceLocation
            )
            failures += 1
        }
        last[line.aggregate] = line.version
    }
}
