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
/// where `message` is the stored envelope, byte for byte, except that raw line breaks (CR and
/// LF, which in valid JSON can only be whitespace between tokens) become spaces, so every
/// message is exactly one line and stays JSON-equal. Tools depend on these key names.
/// A batch is written with one `write(2)` per line group and, with ``Configuration/sync``,
/// made durable with `fsync(2)` before it counts as delivered. A write that fails part-way
/// leaves no torn line: see ``LineWriter/write(_:)``.
final class FileTransport: Transport, @unchecked Sendable {
    struct Configuration: Sendable {
        /// The file to append to; `-` is standard output.
        var path: String
        /// `fsync` after each batch before acknowledging it. Default `false`.
        var sync: Bool = false
    }

    let name: String
    let configuration: Configuration
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
        appendOnOneLine(message.envelope, to: &buffer)
        buffer.append(contentsOf: "}\n".utf8)
    }

    /// Appends `bytes` with every CR and LF replaced by a space.
    static func appendOnOneLine(_ bytes: [UInt8], to buffer: inout [UInt8]) {
        let lineFeed = UInt8(ascii: "\n")
        let carriageReturn = UInt8(ascii: "\r")
        guard bytes.contains(where: { $0 == lineFeed || $0 == carriageReturn }) else {
            buffer.append(contentsOf: bytes)
            return
        }
        let start = buffer.count
        buffer.append(contentsOf: bytes)
        for index in start..<buffer.count where buffer[index] == lineFeed || buffer[index] == carriageReturn {
            buffer[index] = UInt8(ascii: " ")
        }
    }
}

/// Owns the file descriptor on its own thread, so `write` and `fsync` never block the
/// cooperative pool.
actor LineWriter {
    private let executor = DedicatedThreadExecutor(name: "file-transport")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let path: String
    private let sync: Bool
    /// `write(2)`; tests pass one that stops part-way, as a full disk does.
    private let systemWrite: @Sendable (Int32, UnsafeRawPointer, Int) -> Int
    private var descriptor: Int32 = -1
    /// The rest of a line a failed write left unfinished on an output that cannot be truncated
    /// (stdout as a pipe): written first by the next ``write(_:)`` so no torn line remains.
    private var unfinishedLine: [UInt8] = []

    struct WriteError: Error, CustomStringConvertible {
        var description: String
    }

    init(
        path: String,
        sync: Bool,
        systemWrite: @escaping @Sendable (Int32, UnsafeRawPointer, Int) -> Int = { Glibc.write($0, $1, $2) }
    ) {
        self.path = path
        self.sync = sync
        self.systemWrite = systemWrite
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

    /// Appends `bytes` (whole lines). When the write fails part-way (disk full, file size
    /// limit), a regular file is truncated back to where this write began; an output that
    /// cannot be truncated gets the rest of its torn line before the next write's bytes.
    func write(_ bytes: [UInt8]) throws {
        try open()
        if !unfinishedLine.isEmpty {
            let rest = unfinishedLine
            let written = writeAll(rest)
            unfinishedLine = Array(rest[written.count...])
            if let error = written.error {
                throw WriteError(description: "completing a torn line: \(error)")
            }
        }
        // O_APPEND: the end of the file is where this write begins (one writer per file).
        let start = path == "-" ? -1 : lseek(descriptor, 0, SEEK_END)
        let written = writeAll(bytes)
        if let error = written.error {
            if written.count > 0 {
                if start >= 0 && ftruncate(descriptor, start) == 0 {
                    throw WriteError(description: "\(error) (the partly written lines were removed)")
                }
                let lineEnd = bytes[written.count...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count - 1
                unfinishedLine = Array(bytes[written.count...lineEnd])
            }
            throw WriteError(description: error)
        }
        if sync && path != "-" && fsync(descriptor) != 0 {
            throw WriteError(description: "fsync: \(String(cString: strerror(errno)))")
        }
    }

    /// Writes until done or an error; returns how many bytes went out and the error text.
    private func writeAll(_ bytes: [UInt8]) -> (count: Int, error: String?) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                systemWrite(descriptor, raw.baseAddress! + offset, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return (offset, String(cString: strerror(errno)))
            }
            offset += written
        }
        return (offset, nil)
    }

    func close() {
        if descriptor >= 0 && descriptor != STDOUT_FILENO {
            Glibc.close(descriptor)
        }
        descriptor = -1
        executor.shutdown()
    }
}
