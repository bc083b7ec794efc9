import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real Unix datagram socket bound to a path, read on its own thread: what the example's
/// `type: datagram` transport sends to.
final class UnixDatagramReceiver: Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    let path: String
    private let socket: Int32
    private let state = Mutex<(datagrams: [[UInt8]], stop: Bool, finished: Bool)>(([], false, false))

    /// Binds `path` and starts receiving.
    init(path: String) throws {
        self.path = path
        socket = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket(): \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8.prefix($0.count - 1)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            close(socket)
            throw Failure(description: "bind(\(path)): \(errno)")
        }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var size: Int32 = 4 << 20
        setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let thread = Thread { [self] in receive() }
        thread.start()
    }

    private func receive() {
        var buffer = [UInt8](repeating: 0, count: 1 << 18)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count >= 0 {
                state.withLock { $0.datagrams.append(Array(buffer[0..<count])) }
            } else if state.withLock({ $0.stop }) {
                break  // timed out with nothing left, and asked to stop
            }
        }
        state.withLock { $0.finished = true }
    }

    /// Stops once the queue is empty and returns every datagram received, in arrival order.
    func finish() async throws -> [[UInt8]] {
        state.withLock { $0.stop = true }
        while !state.withLock({ $0.finished }) { try await Task.sleep(for: .milliseconds(20)) }
        close(socket)
        unlink(path)
        return state.withLock { $0.datagrams }
    }
}
