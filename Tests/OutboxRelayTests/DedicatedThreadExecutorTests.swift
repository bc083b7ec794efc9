import Testing

@testable import OutboxRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("DedicatedThreadExecutor")
struct DedicatedThreadExecutorTests {
    actor Owner {
        let executor: DedicatedThreadExecutor
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
        private var calls = 0

        init(executor: DedicatedThreadExecutor) { self.executor = executor }

        func call() -> (threadName: String, onExecutor: Bool, calls: Int) {
            calls += 1
            return (currentThreadName(), executor.isOnExecutorThread, calls)
        }
    }

    @Test("actor methods run on the executor's named thread, one after another")
    func runsOnNamedThread() async {
        let executor = DedicatedThreadExecutor(name: "exec-run")
        let owner = Owner(executor: executor)
        let results = await withTaskGroup(of: (String, Bool, Int).self) { group in
            for _ in 0..<50 { group.addTask { await owner.call() } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(results.map(\.0)) == ["exec-run"])
        #expect(results.allSatisfy { $0.1 })
        #expect(Set(results.map(\.2)) == Set(1...50))
        #expect(!executor.isOnExecutorThread)
        executor.shutdown()
    }

    @Test("shutdown returns once the thread has ended; a second shutdown returns at once")
    func shutdownJoins() async {
        let name = "exec-\(UInt16.random(in: 1000...9999))"
        let executor = DedicatedThreadExecutor(name: name)
        let owner = Owner(executor: executor)
        #expect(await owner.call().calls == 1)
        #if os(Linux)
        #expect(osThreadNames().contains(name))
        #endif
        executor.shutdown()
        #expect(!osThreadNames().contains(name))
        executor.shutdown()
    }
}
