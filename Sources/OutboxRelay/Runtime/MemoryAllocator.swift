#if canImport(Glibc)
import Glibc
#endif

/// Settings of the process's memory allocator that matter for a relay.
///
/// A relay allocates megabytes per batch (the rows' payloads, the client library's result
/// buffers) and frees them moments later. glibc hands freed memory at the top of a heap back
/// to the system as soon as 128 KiB are free, so the next batch page-faults the same memory
/// in again, zero-filled by the kernel: measured here, that cost ≈ 3 µs of CPU per 1.5 KB row,
/// more than reading the row. ``keepFreedMemory(upTo:)`` raises that threshold. The
/// `outbox-relay` daemon calls it at startup; processes embedding the relay may call it too.
/// The peak memory use does not change, only how much of it is kept for reuse.
public enum MemoryAllocator {
    /// The default for ``keepFreedMemory(upTo:)``: 64 MiB.
    public static let defaultRetainedBytes = 64 << 20

    /// Keeps up to `bytes` of freed heap memory for reuse instead of returning it to the
    /// system (glibc's `M_TRIM_THRESHOLD`), and serves blocks up to 32 MiB from the heap
    /// (`M_MMAP_THRESHOLD`: glibc would raise it that far by itself, but a fixed trim
    /// threshold turns that off, and then every batch-sized buffer of 128 KiB or more would be
    /// mapped and zero-filled afresh). Process-wide; call it once, early.
    /// - Returns: whether the allocator took the setting (`false` where glibc's `mallopt` is
    ///   not available, e.g. with another allocator or on other systems).
    @discardableResult
    public static func keepFreedMemory(upTo bytes: Int = defaultRetainedBytes) -> Bool {
        #if canImport(Glibc)
        // `mallopt` is declared in <malloc.h>, which the Glibc module does not export.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        // RTLD_DEFAULT
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
        return mallopt(trimThreshold, Int32(clamping: bytes)) == 1 && mallopt(mmapThreshold, 32 << 20) == 1
        #else
        return false
        #endif
    }
}
