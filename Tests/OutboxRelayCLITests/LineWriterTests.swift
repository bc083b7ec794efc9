import Foundation
import OutboxRelay
import Synchronization
import Testing

@testable import OutboxRelayCLI

#if canImport(Glibc)
import Glibc
#endif

/// The file transport's writer when `write(2)` stops part-way (a full disk, a file size limit):
/// no torn line is ever left behind.
@Suite("LineWriter")
struct LineWriterTests {
    /// A `write(2)` that lets `budget` more bytes through and then fails with `ENOSPC` (once
    /// spent, every call fails), like a disk that fills up mid-write.
    final class FillingDisk: Sendable {
        private let budget: Mutex<Int?>
        init() { budget = Mutex(nil) }
        /// Fail after `bytes` more bytes; `nil` stops failing.
        func fill(after bytes: Int?) { budget.withLock { $0 = bytes } }

        var write: @Sendable (Int32, UnsafeRawPointer, Int) -> Int {
            { descriptor, pointer, count in
                let allowed = self.budget.withLock { budget -> Int in
                    guard let left = budget else { return count }
                    let allowed = min(left, count)
                    budget = left - allowed
                    return allowed
                }
                if allowed == 0 && count > 0 {
                    errno = ENOSPC
                    return -1
                }
                return Glibc.write(descriptor, pointer, allowed)
            }
        }
    }

    static func lines(_ prefix: String, _ count: Int) -> [UInt8] {
        Array(
            (0..<count).map {
                #"{"line":"\#(prefix)-\#($0)","padding":"\#(String(repeating: "p", count: 50))"}"# + "\n"
            }
            .joined().utf8
        )
    }

    /// Every line of `bytes` parses as JSON and the last one ends with a line feed.
    static func expectWholeLines(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(bytes.last == UInt8(ascii: "\n"), "the output ends inside a line", sourceLocation: sourceLocation)
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            #expect(
                (try? JSONParser.parse(Array(line))) != nil,
                "torn line: \(String(decoding: line, as: UTF8.self))",
                sourceLocation: sourceLocation
            )
        }
    }

    @Test("a regular file is truncated back to where a failed write began")
    func failedWriteToAFileLeavesNoTornLine() async throws {
        let folder = try CLI.temporaryFolder()
        let path = folder.appendingPathComponent("out.jsonl").path
        let disk = FillingDisk()
        let writer = LineWriter(path: path, sync: false, systemWrite: disk.write)
        let first = Self.lines("a", 3)
        try await writer.write(first)
        disk.fill(after: 100)  // the disk fills in the middle of the second line of the next batch
        await #expect(throws: LineWriter.WriteError.self) { try await writer.write(Self.lines("b", 3)) }
        let afterFailure = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(afterFailure == first, "the partly written batch was removed")
        disk.fill(after: nil)
        try await writer.write(Self.lines("b", 3))
        await writer.close()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes == first + Self.lines("b", 3), "the retry wrote the batch once, whole")
        Self.expectWholeLines(bytes)
    }

    @Test("an output that cannot be truncated (a pipe) gets the rest of the torn line first")
    func failedWriteToAPipeIsCompletedByTheNextWrite() async throws {
        let folder = try CLI.temporaryFolder()
        let fifo = folder.appendingPathComponent("out.fifo").path
        try #require(mkfifo(fifo, 0o600) == 0)
        let reader = Glibc.open(fifo, O_RDONLY | O_NONBLOCK)
        try #require(reader >= 0)
        defer { Glibc.close(reader) }
        let disk = FillingDisk()
        let writer = LineWriter(path: fifo, sync: false, systemWrite: disk.write)
        disk.fill(after: 150)
        await #expect(throws: LineWriter.WriteError.self) { try await writer.write(Self.lines("a", 3)) }
        disk.fill(after: nil)
        try await writer.write(Self.lines("b", 2))
        await writer.close()
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(reader, $0.baseAddress!, $0.count) }
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        let firstLine = Self.lines("a", 3).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let expected =
            Array(firstLine[0]) + [UInt8(ascii: "\n")] + Array(firstLine[1]) + [UInt8(ascii: "\n")]
            + Self.lines("b", 2)
        #expect(bytes == expected, "the torn second line was finished; the unwritten third was left to the retry")
        Self.expectWholeLines(bytes)
    }
}
