import Synchronization
import Testing

@testable import OutboxRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The names of this process's threads, as the OS reports them (Linux: `/proc/self/task/*/comm`).
func osThreadNames() -> [String] {
    #if os(Linux)
    guard let directory = opendir("/proc/self/task") else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let task = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard task.first?.isNumber == true, let file = fopen("/proc/self/task/\(task)/comm", "r") else { continue }
        var line = [CChar](repeating: 0, count: 64)
        if fgets(&line, Int32(line.count), file) != nil {
            names.append(
                String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            )
        }
        fclose(file)
    }
    return names
    #else
    return []
    #endif
}

/// The calling thread's name as the OS reports it.
func currentThreadName() -> String {
    #if os(Linux)
    guard let file = fopen("/proc/thread-self/comm", "r") else { return "" }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 64)
    guard fgets(&line, Int32(line.count), file) != nil else { return "" }
    return String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    #else
    var buffer = [CChar](repeating: 0, count: 64)
    pthread_getname_np(pthread_self(), &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    #endif
}

@Suite("NamedThread")
struct NamedThreadTests {
    @Test("the thread carries its name, cut to 15 bytes at a character boundary")
    func names() throws {
        let seen = Mutex<[String]>([])
        for name in ["short", "outbox-relay.postgres", "kafka-ééééééééé"] {
            let thread = try NamedThread(name: name) { seen.withLock { $0.append(currentThreadName()) } }
            thread.join()
        }
        #expect(seen.withLock { $0 } == ["short", "outbox-relay.po", "kafka-éééé"])
    }

    @Test("join returns only after the closure returned, and the OS thread is gone")
    func joinWaits() throws {
        let lock = ConditionLock()
        nonisolated(unsafe) var started = false
        nonisolated(unsafe) var released = false
        let finished = Atomic<Bool>(false)
        let name = "join-\(UInt16.random(in: 1000...9999))"
        let thread = try NamedThread(name: name) {
            lock.withLock {
                started = true
                lock.signal()
                while !released { lock.wait() }
            }
            // Work after the release, so a join that did not wait would miss it.
            var sum = 0
            for value in 0..<200_000 { sum &+= value }
            finished.store(sum > 0, ordering: .releasing)
        }
        // The thread names itself before it runs the closure: wait until the closure runs.
        lock.withLock {
            while !started { lock.wait() }
        }
        #if os(Linux)
        #expect(osThreadNames().contains(name))
        #endif
        lock.withLock {
            released = true
            lock.signal()
        }
        thread.join()
        let didFinish = finished.load(ordering: .acquiring)
        #expect(didFinish)
        // pthread_join returns once the thread has exited; the kernel may list its task in
        // /proc for a moment longer while it reaps it.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while osThreadNames().contains(name) && clock.now < deadline { sched_yield() }
        #expect(!osThreadNames().contains(name))
        thread.join()  // a second join returns at once
    }

    @Test("join on the thread itself detaches it instead of deadlocking")
    func joinFromItself() throws {
        let lock = ConditionLock()
        nonisolated(unsafe) var thread: NamedThread?
        nonisolated(unsafe) var joinedItself = false
        let started = try NamedThread(name: "self-join") {
            let me: NamedThread = lock.withLock {
                while thread == nil { lock.wait() }
                return thread!
            }
            let isCurrent = me.isCurrent
            me.join()
            lock.withLock {
                joinedItself = isCurrent
                lock.signal()
            }
        }
        #expect(!started.isCurrent)
        lock.withLock {
            thread = started
            lock.signal()
            while !joinedItself { guard lock.wait(timeout: .seconds(30)) else { break } }
        }
        #expect(joinedItself, "the thread saw itself as current and its join returned")
        started.join()  // already released by the thread itself: returns at once
    }
}

@Suite("ConditionLock")
struct ConditionLockTests {
    @Test("a timed wait returns false once the time is up")
    func timeout() {
        let lock = ConditionLock()
        let clock = ContinuousClock()
        let start = clock.now
        let signalled = lock.withLock { lock.wait(timeout: .milliseconds(30)) }
        #expect(!signalled)
        #expect(clock.now - start >= .milliseconds(30))
    }

    @Test("a signal wakes a timed wait long before its timeout")
    func signalWakes() throws {
        let lock = ConditionLock()
        nonisolated(unsafe) var ready = false
        nonisolated(unsafe) var waiting = false
        let woken = Atomic<Bool>(false)
        let clock = ContinuousClock()
        let start = clock.now
        let waiter = try NamedThread(name: "waiter") {
            lock.withLock {
                waiting = true
                lock.signal()
                while !ready {
                    guard lock.wait(timeout: .seconds(60)) else { return }
                }
                woken.store(true, ordering: .relaxed)
            }
        }
        lock.withLock {
            while !waiting { lock.wait() }
            ready = true
            lock.broadcast()
        }
        waiter.join()
        let wasWoken = woken.load(ordering: .relaxed)
        #expect(wasWoken)
        #expect(clock.now - start < .seconds(30))
    }
}
