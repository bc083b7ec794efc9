import Testing

/// Waits until `condition` holds, polling every 20 ms; records an issue naming `what` and throws
/// after `timeout`.
public func eventually(
    _ what: String,
    timeout: Duration = .seconds(20),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
    throw EventuallyTimedOut(what: what)
}

/// ``eventually(_:timeout:sourceLocation:_:)`` gave up.
public struct EventuallyTimedOut: Error, CustomStringConvertible {
    public var what: String
    public var description: String { "timed out waiting until \(what)" }
}
