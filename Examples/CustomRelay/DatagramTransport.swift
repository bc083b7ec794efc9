import OutboxRelay
import OutboxRelayCLI
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends each message's stored envelope (`{"headers":…,"payload":…}`, the bytes PHP wrote)
/// as one datagram to the Unix datagram socket at ``path``.
///
/// The socket is non-blocking, so `deliver` never blocks the cooperative thread pool: when
/// the receiver's queue is full (or the receiver is gone), the message and every later one
/// of the batch are reported retryable, and the engine resends them in order with the
/// transport's retry policy. A message larger than the socket accepts is permanent: it goes
/// to the dead-letter table. Each send is addressed (`sendto`), so a receiver that restarts
/// and binds the path again is reached without reconnecting.
final class DatagramTransport: Transport, DestinationChecking, DeliveryExplaining {
    /// `sun_path`'s capacity, including the terminating NUL.
    static let maximumPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    let name: String
    /// The receiver's socket path.
    let path: String
    /// The sending socket, `-1` before ``start()`` and after ``shutdown()``.
    private let descriptor = Mutex<Int32>(-1)

    init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func start() async throws {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw Failure(description: "no receiver socket at \(path): \(Self.errorText(errno))")
        }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw Failure(description: "\(path) is not a socket")
        }
        let socket = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket(): \(Self.errorText(errno))") }
        let previous = descriptor.withLock { current in
            defer { current = socket }
            return current
        }
        if previous >= 0 { close(previous) }
    }

    func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult] {
        let socket = descriptor.withLock { $0 }
        guard socket >= 0 else { return batch.map { _ in .retryable("the datagram transport is not started") } }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8.prefix(buffer.count - 1))
        }
        var results: [DeliveryResult] = []
        results.reserveCapacity(batch.count)
        for message in batch {
            let sent = message.envelope.withUnsafeBytes { bytes in
                withUnsafePointer(to: &address) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(
                            socket,
                            bytes.baseAddress,
                            bytes.count,
                            Int32(MSG_NOSIGNAL),
                            $0,
                            socklen_t(MemoryLayout<sockaddr_un>.size)
                        )
                    }
                }
            }
            if sent == message.envelope.count {
                results.append(.delivered)
                continue
            }
            let error = errno
            if error == EMSGSIZE {
                results.append(
                    .permanent("\(message.envelope.count) bytes are more than \(path) accepts in one datagram")
                )
                continue
            }
            // Queue full, receiver gone: this message and the rest of the batch wait, in order.
            let reason = "sending to \(path) failed: \(Self.errorText(error))"
            results.append(.retryable(reason))
            while results.count < batch.count { results.append(.retryable(reason)) }
            break
        }
        return results
    }

    func shutdown() async {
        let socket = descriptor.withLock { current in
            defer { current = -1 }
            return current
        }
        if socket >= 0 { close(socket) }
    }

    /// `check`: the receiver's socket exists and accepts datagrams of the size the routes send.
    func checkDestinations(routing: RoutingTable) async throws -> [String] {
        let socket = descriptor.withLock { $0 }
        var size: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(socket, SOL_SOCKET, SO_SNDBUF, &size, &length) == 0 else {
            throw Failure(description: "getsockopt(SO_SNDBUF): \(Self.errorText(errno))")
        }
        return [
            "sends to the Unix datagram socket \(path) (send buffer \(size) bytes: larger messages are dead-lettered)"
        ]
    }

    /// `explain`: one datagram holding the stored envelope, to the receiver's socket.
    func explainDelivery(of message: OutboxMessage) -> DeliveryExplanation {
        var refusal: String?
        if path.utf8.count >= Self.maximumPathLength {
            refusal = "the socket path is longer than \(Self.maximumPathLength - 1) bytes"
        }
        return DeliveryExplanation(
            details: [
                "socket": .string(path),
                "datagram": .string("the stored envelope, byte for byte"),
                "datagram_size": .number(String(message.envelope.count)),
            ],
            refusal: refusal
        )
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
