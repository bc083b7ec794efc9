import CSQLite

/// One TEXT or BLOB value opened for incremental I/O (`sqlite3_blob*`): it is read and written
/// in pieces, so a value of many megabytes is never held whole. Closed when released.
final class SQLiteValue {
    private let handle: OpaquePointer

    init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        sqlite3_blob_close(handle)
    }

    /// The value's size in bytes.
    var count: Int { Int(sqlite3_blob_bytes(handle)) }

    /// Copies this value into `target` (of the same size) in pieces of `pieceSize` bytes.
    /// - Returns: whether every piece was copied.
    func copy(to target: SQLiteValue, pieceSize: Int = 1 << 20) -> Bool {
        guard target.count == count else { return false }
        var buffer = [UInt8](repeating: 0, count: min(pieceSize, max(count, 1)))
        var offset = 0
        while offset < count {
            let length = Int32(min(buffer.count, count - offset))
            let copied = buffer.withUnsafeMutableBytes { piece in
                sqlite3_blob_read(handle, piece.baseAddress, length, Int32(offset)) == SQLITE_OK
                    && sqlite3_blob_write(target.handle, piece.baseAddress, length, Int32(offset)) == SQLITE_OK
            }
            guard copied else { return false }
            offset += Int(length)
        }
        return true
    }
}
