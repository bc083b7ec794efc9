#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex with one condition variable, for threads that wait for work.
///
/// The `pthread_mutex_t` and `pthread_cond_t` live in memory of their own, allocated once:
/// pthreads needs them at a fixed address, and Swift does not promise a stable address for a
/// stored property passed with `&` (swift-nio's `NIOLock` explains the same choice).
///
/// Timed waits use the monotonic clock where the platform allows it, so a change of the wall
/// clock neither shortens nor lengthens them.
package final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    package init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var mutexAttributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&mutexAttributes)
        pthread_mutexattr_settype(&mutexAttributes, Int32(PTHREAD_MUTEX_ERRORCHECK))
        let mutexStatus = pthread_mutex_init(mutex, &mutexAttributes)
        pthread_mutexattr_destroy(&mutexAttributes)
        precondition(mutexStatus == 0, "pthread_mutex_init failed: \(mutexStatus)")
        var conditionAttributes = pthread_condattr_t()
        pthread_condattr_init(&conditionAttributes)
        #if os(Linux)
        pthread_condattr_setclock(&conditionAttributes, CLOCK_MONOTONIC)
        #endif
        let conditionStatus = pthread_cond_init(condition, &conditionAttributes)
        pthread_condattr_destroy(&conditionAttributes)
        precondition(conditionStatus == 0, "pthread_cond_init failed: \(conditionStatus)")
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deinitialize(count: 1)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    package func lock() {
        let status = pthread_mutex_lock(mutex)
        precondition(status == 0, "pthread_mutex_lock failed: \(status)")
    }

    package func unlock() {
        let status = pthread_mutex_unlock(mutex)
        precondition(status == 0, "pthread_mutex_unlock failed: \(status)")
    }

    /// Runs `body` with the lock held.
    package func withLock<Value>(_ body: () throws -> Value) rethrows -> Value {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Releases the lock, waits for ``signal()`` and takes the lock again. Call it with the
    /// lock held, in a loop that checks what it waits for (wake-ups can be spurious).
    package func wait() {
        let status = pthread_cond_wait(condition, mutex)
        precondition(status == 0, "pthread_cond_wait failed: \(status)")
    }

    /// Like ``wait()``, but returns after `timeout` at the latest.
    /// - Returns: `false` if the time ran out.
    @discardableResult
    package func wait(timeout: Duration) -> Bool {
        #if os(Linux)
        let clock = CLOCK_MONOTONIC
        #else
        let clock = CLOCK_REALTIME
        #endif
        var deadline = timespec()
        clock_gettime(clock, &deadline)
        let (seconds, attoseconds) = max(timeout, .zero).components
        let nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
        deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        let status = pthread_cond_timedwait(condition, mutex, &deadline)
        precondition(status == 0 || status == ETIMEDOUT, "pthread_cond_timedwait failed: \(status)")
        return status == 0
    }

    /// Wakes one waiting thread. Call it with the lock held.
    package func signal() {
        pthread_cond_signal(condition)
    }

    /// Wakes every waiting thread. Call it with the lock held.
    package func broadcast() {
        pthread_cond_broadcast(condition)
    }
}
