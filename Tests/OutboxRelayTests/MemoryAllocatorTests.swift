import Testing

@testable import OutboxRelay

@Suite("MemoryAllocator")
struct MemoryAllocatorTests {
    #if canImport(Glibc)
    @Test("glibc takes the trim threshold")
    func keepsFreedMemoryOnGlibc() {
        #expect(MemoryAllocator.keepFreedMemory(upTo: MemoryAllocator.defaultRetainedBytes))
    }
    #endif
}
