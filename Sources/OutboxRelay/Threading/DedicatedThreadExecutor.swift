/// A serial executor that runs every job on one dedicated, named OS thread.
///
/// C handles (`sqlite3*`, `PGconn*`) are not thread-safe and their calls block. Give the
/// actor that owns such a handle this executor:
///
/// ```swift
/// actor Connection {
///     private let executor = DedicatedThreadExecutor(name: "sqlite")
///     nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
/// }
/// ```
///
/// Then every actor method runs on that thread: blocking C calls never occupy the
/// cooperative thread pool, and the handle is only ever touched by one thread. Each call
/// into the actor is one hand-off, so hand over batches, not single rows.
public final class DedicatedThreadExecutor: SerialExecutor, @unchecked Sendable {
    private enum State {
        case running(jobs: [UnownedJob])
        case shuttingDown(jobs: [UnownedJob])
        case shutDown
    }

    private let lock = ConditionLock()
    /// Guarded by ``lock``.
    private var state = State.running(jobs: [])
    private var thread: NamedThread!
    /// The thread's name, as shown by `top -H` and debuggers (Linux keeps 15 bytes).
    public let name: String

    /// Starts the thread.
    public init(name: String) {
        self.name = name
        do {
            // The thread keeps the executor alive until its loop ends.
            thread = try NamedThread(name: name) { self.runLoop() }
        } catch {
            preconditionFailure("\(error)")
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        lock.withLock {
            switch state {
            case .running(var jobs):
                jobs.append(unowned)
                state = .running(jobs: jobs)
            case .shuttingDown(var jobs):
                // The owner's last calls may still be on their way; they run before the end.
                jobs.append(unowned)
                state = .shuttingDown(jobs: jobs)
            case .shutDown:
                // The thread has ended; documented: jobs enqueued after shutdown never run.
                return
            }
            lock.signal()
        }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func checkIsolated() {
        precondition(isOnExecutorThread, "expected to run on the \(name) thread")
    }

    /// Whether the caller runs on this executor's thread.
    public var isOnExecutorThread: Bool {
        thread.isCurrent
    }

    /// Lets the thread end once the jobs already queued have run, and waits for that (on the
    /// executor's own thread it returns at once; the thread ends after the current job).
    /// Call it after the owning actor's last use: jobs enqueued once the thread ended never run.
    public func shutdown() {
        lock.withLock {
            if case .running(let jobs) = state {
                state = .shuttingDown(jobs: jobs)
                lock.signal()
            }
        }
        thread.join()
    }

    private func runLoop() {
        while true {
            let (batch, isLast): ([UnownedJob], Bool) = lock.withLock {
                while true {
                    switch state {
                    case .running(let jobs) where !jobs.isEmpty:
                        state = .running(jobs: [])
                        return (jobs, false)
                    case .running:
                        lock.wait()
                    case .shuttingDown(let jobs) where !jobs.isEmpty:
                        state = .shuttingDown(jobs: [])
                        return (jobs, false)
                    case .shuttingDown, .shutDown:
                        state = .shutDown
                        return ([], true)
                    }
                }
            }
            if isLast { return }
            for job in batch {
                job.runSynchronously(on: asUnownedSerialExecutor())
            }
        }
    }
}
