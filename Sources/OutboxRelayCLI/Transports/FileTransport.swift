import OutboxRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A transport that appends one JSON line per delivered message to a file, or to stdout.
///
/// Each line is
/// `{"row_id":…,"event_id":…,"event_type":…,"aggregate_root_id":…,"aggregate_root_version":…,"message":<envelope>}`
/// where `message` is the stored envelope, byte for byte. Tools depend on these key names.
/// A batch is written with one `write(2)` per line group and, with ``Configuration/sync``,
/// made durable with `fsync(2)` before it counts as delivered.
final class FileTransport: Transport, @unchecked Sendable {
    struct Configuration: Sendable {
        /// The file to append to; `-` is standard output.
        var path: String
        /// `fsync` after each batch before acknowledging it. Default `false`.
        var sync: Bool = false
    }

    let name: String
    private let configuration: Configuration
    private let writer: LineWriter

    init(name: String, configuration: Configuration) {
        self.name = name
        self.configuration = configuration
        self.writer = LineWriter(path: configuration.path, sync: configuration.sync)
    }

    func start() async throws {
        try await writer.open()
    }

    func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(batch.reduce(0) { $0 + $1.envelope.count + 200 })
        for message in batch {
            Self.appendLine(for: message, to: &buffer)
        }
        do {
            try await writer.write(buffer)
            return Array(repeating: .delivered, count: batch.count)
        } catch {
            return Array(repeating: .retryable("writing \(configuration.path) failed: \(error)"), count: batch.count)
        }
    }

    func shutdown() async {
        await writer.close()
    }

    static func appendLine(for message: OutboxMessage, to buffer: inout [UInt8]) {
        buffer.append(contentsOf: #"{"row_id":"#.utf8)
        switch message.rowID {
        case .integer(let id): buffer.append(contentsOf: String(id).utf8)
        case .text(let id): JSONWriter.writeString(id, escaping: .minimal, to: &buffer)
        }
        buffer.append(contentsOf: #","event_id":"#.utf8)
        JSONWriter.writeString(message.eventID, escaping: .minimal, to: &buffer)
        buffer.append(contentsOf: #","event_type":"#.utf8)
        JSONWriter.writeString(message.eventType, escaping: .minimal, to: &buffer)
        buffer.append(contentsOf: #","aggregate_root_id":"#.utf8)
        if let id = message.aggregateRootID {
            JSONWriter.writeString(id, escaping: .minimal, to: &buffer)
        } else {
            buffer.append(contentsOf: "null".utf8)
        }
        buffer.append(contentsOf: #","aggregate_root_version":"#.utf8)
        buffer.append(contentsOf: (message.aggregateRootVersion.map { String($0) } ?? "null").utf8)
        buffer.append(contentsOf: #","message":"#.utf8)
        buffer.append(contentsOf: message.envelope)
        buffer.append(contentsOf: "}\n".utf8)
    }
}

/// Owns the file descriptor on its own thread, so `write` and `fsync` never block the
/// cooperative pool.
actor LineWriter {
    private let executor = DedicatedThreadExecutor(name: "file-transport")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let path: String
    private let sync: Bool
    private var descriptor: Int32 = -1

    struct WriteError: Error, CustomStringConvertible {
        var description: String
    }

    init(path: String, sync: Bool) {
        self.path = path
        self.sync = sync
    }

    func open() throws {
        guard descriptor < 0 else { return }
        if path == "-" {
            descriptor = STDOUT_FILENO
            return
        }
        descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if descriptor < 0 {
            throw WriteError(description: "cannot open \(path) for appending: \(String(cString: strerror(errno)))")
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try open()
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw WriteError(description: String(cString: strerror(errno)))
            }
            offset += written
        }
        if sync && path != "-" && fsync(descriptor) != 0 {
            throw WriteError(description: "fsync: \(String(cString: strerror(errno)))")
        }
    }

    func close() {
        if descriptor >= 0 && descriptor != STDOUT_FILENO {
            Glibc.close(descriptor)
        }
        descriptor = -1
        executor.shutdown()
    }
}
