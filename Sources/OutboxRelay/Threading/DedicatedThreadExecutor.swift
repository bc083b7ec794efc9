import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A serial executor that runs every job on one dedicated OS thread.
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
    private struct State {
        var jobs: [UnownedJob] = []
        var isShutDown = false
    }

    private let state = Mutex(State())
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var thread: pthread_t?
    private let threadID = Atomic<UInt>(0)
    /// The thread's name, as shown by `top -H` and debuggers.
    public let name: String

    /// Starts the thread.
    public init(name: String) {
        self.name = name
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        let box = Unmanaged.passRetained(self)
        var handle = pthread_t()
        let result = pthread_create(
            &handle,
            nil,
            { argument in
                let executor = Unmanaged<DedicatedThreadExecutor>.fromOpaque(argument!).takeRetainedValue()
                executor.runLoop()
                return nil
            },
            box.toOpaque()
        )
        precondition(result == 0, "pthread_create failed: \(result)")
        thread = handle
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        pthread_mutex_lock(&mutex)
        state.withLock { $0.jobs.append(unowned) }
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func checkIsolated() {
        precondition(isOnExecutorThread, "expected to run on the \(name) thread")
    }

    /// Whether the caller runs on this executor's thread.
    public var isOnExecutorThread: Bool {
        UInt(bitPattern: Int(bitPattern: pthread_self())) == threadID.load(ordering: .acquiring)
    }

    /// Lets the thread exit once the jobs already queued have run. Call it after the owning
    /// actor's last use: jobs enqueued later never run.
    public func shutdown() {
        pthread_mutex_lock(&mutex)
        state.withLock { $0.isShutDown = true }
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    private func runLoop() {
        threadID.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .releasing)
        while true {
            pthread_mutex_lock(&mutex)
            var batch: [UnownedJob] = []
            var stop = false
            while true {
                (batch, stop) = state.withLock { state in
                    let jobs = state.jobs
                    state.jobs.removeAll(keepingCapacity: true)
                    return (jobs, state.isShutDown)
                }
                if !batch.isEmpty || stop { break }
                pthread_cond_wait(&condition, &mutex)
            }
            pthread_mutex_unlock(&mutex)
            for job in batch {
                job.runSynchronously(on: asUnownedSerialExecutor())
            }
            if stop && batch.isEmpty { return }
        }
    }
}
