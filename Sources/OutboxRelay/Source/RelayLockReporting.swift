/// Where a source that allows one active relay per table stands with the table's relay lock.
public enum RelayLockState: Sendable, Hashable {
    /// Connecting: not connected yet, or reconnecting after the connection was lost.
    case connecting
    /// Connected, but another relay holds the lock (`holder` as the source describes it, when
    /// it can tell): this relay waits as a hot standby.
    case standby(holder: String?)
    /// Connected and free to relay: holding the lock (or the source takes none).
    case connected
}

/// A source that allows only one active relay per table and tells the engine whether this relay
/// is connecting, a standby or the active one, so that ``RelayEngine/health`` can tell a healthy
/// standby from a relay that cannot reach its database.
///
/// The engine calls ``reportLockState(to:)`` once, before ``OutboxSource/open()``. The source
/// then calls the observer whenever its state changes: while ``OutboxSource/open()`` waits for
/// the lock, and later when a lost connection makes it reconnect and wait again.
public protocol RelayLockReporting: OutboxSource {
    /// Sets the function called with each change of the lock state (not repeated while the state
    /// stays the same). It is called on the source's own thread and must return quickly.
    func reportLockState(to observer: @escaping @Sendable (RelayLockState) -> Void) async
}
