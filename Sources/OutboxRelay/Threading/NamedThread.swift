import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An OS thread with a name that runs one closure and is joined when that ends.
///
/// Every owner of a C handle (`sqlite3*`, `PGconn*`, `rd_kafka_t*`, `CURLM*`) runs its
/// blocking calls on one of these. The name shows in `top -H`, `ps -L`, debuggers and core
/// dumps; Linux keeps its first 15 bytes.
///
/// Call ``join()`` when the closure has been told to return: it waits for the thread to end
/// and frees it. Called on the thread itself (an owner shut down from its own thread), it
/// detaches the thread instead, which then ends as soon as the closure returns.
package final class NamedThread: @unchecked Sendable {
    /// The thread's name, as given (the OS may keep only a prefix).
    package let name: String
    private let handle: pthread_t
    private let isReleased = Atomic<Bool>(false)

    /// Starts a thread named `name` running `body`.
    /// - Throws: ``NamedThread/StartError`` when the OS refuses a new thread.
    package init(name: String, body: @escaping @Sendable () -> Void) throws(StartError) {
        self.name = name
        let start = Start(name: name, body: body)
        let argument = Unmanaged.passRetained(start).toOpaque()
        #if canImport(Glibc)
        var handle = pthread_t()
        #else
        var handle: pthread_t?
        #endif
        let status = pthread_create(
            &handle,
            nil,
            { argument in
                #if canImport(Glibc)
                let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
                #else
                let start = Unmanaged<Start>.fromOpaque(argument).takeRetainedValue()
                #endif
                start.run()
                return nil
            },
            argument
        )
        guard status == 0 else {
            Unmanaged<Start>.fromOpaque(argument).release()
            throw StartError(name: name, status: status)
        }
        #if canImport(Glibc)
        self.handle = handle
        #else
        self.handle = handle!
        #endif
    }

    deinit {
        // Never joined: let the OS free the thread when it ends.
        if !isReleased.exchange(true, ordering: .acquiringAndReleasing) {
            pthread_detach(handle)
        }
    }

    /// Whether the caller runs on this thread.
    package var isCurrent: Bool {
        pthread_equal(pthread_self(), handle) != 0
    }

    /// Waits until the thread's closure returned (or, on the thread itself, detaches it).
    /// Later calls return at once.
    package func join() {
        guard !isReleased.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if isCurrent {
            pthread_detach(handle)
        } else {
            let status = pthread_join(handle, nil)
            precondition(status == 0, "pthread_join failed for thread \(name): \(status)")
        }
    }

    /// What the new thread needs before it runs the closure.
    private final class Start {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }

        func run() {
            setCurrentThreadName(name)
            body()
        }
    }

    /// The OS refused to start a thread.
    package struct StartError: Error, CustomStringConvertible {
        package var name: String
        /// The `pthread_create` result (an `errno` value such as `EAGAIN`).
        package var status: Int32

        package var description: String {
            "cannot start the thread \(name) (pthread_create: \(status))"
        }
    }
}

/// Names the calling thread; Linux keeps at most 15 bytes, cut at a character boundary.
private func setCurrentThreadName(_ name: String) {
    var prefix = ""
    for character in name {
        if prefix.utf8.count + character.utf8.count > 15 { break }
        prefix.append(character)
    }
    #if os(Linux)
    // What glibc's pthread_setname_np does for other threads; Swift's Glibc module does not
    // export that function (it needs _GNU_SOURCE), and prctl is variadic.
    let descriptor = open("/proc/thread-self/comm", O_WRONLY)
    guard descriptor >= 0 else { return }
    _ = prefix.withCString { write(descriptor, $0, strlen($0)) }
    close(descriptor)
    #elseif canImport(Darwin)
    _ = pthread_setname_np(prefix)
    #endif
}
