import OutboxRelay
import Testing

@Suite("ReconnectBackoff")
struct ReconnectBackoffTests {
    static let policy = RetryPolicy(
        initialDelay: .milliseconds(100),
        multiplier: 2,
        maximumDelay: .seconds(1),
        jitter: 0,
        maximumAttempts: nil
    )

    @Test("waits grow from the initial delay up to the maximum, by the policy")
    func growth() {
        let start = ContinuousClock.now
        var backoff = ReconnectBackoff(policy: Self.policy, maximumTime: .seconds(3600), now: start)
        var delays: [Duration] = []
        for _ in 0..<6 { delays.append(backoff.delayAfterFailure(at: start) ?? .zero) }
        #expect(
            delays == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1),
                .seconds(1),
            ]
        )
    }

    @Test("gives up when the next wait would end after the maximum time")
    func givesUp() {
        let start = ContinuousClock.now
        var backoff = ReconnectBackoff(policy: Self.policy, maximumTime: .seconds(2), now: start)
        #expect(backoff.delayAfterFailure(at: start) == .milliseconds(100))
        #expect(backoff.delayAfterFailure(at: start + .milliseconds(100)) == .milliseconds(200))
        #expect(backoff.delayAfterFailure(at: start + .milliseconds(300)) == .milliseconds(400))
        // 0.7 s + 0.8 s ends before 2 s; 1.5 s + 1 s would not.
        #expect(backoff.delayAfterFailure(at: start + .milliseconds(700)) == .milliseconds(800))
        #expect(backoff.delayAfterFailure(at: start + .milliseconds(1500)) == nil)
    }

    @Test("a connection starts the schedule and the time over")
    func connectedResets() {
        let start = ContinuousClock.now
        var backoff = ReconnectBackoff(policy: Self.policy, maximumTime: .seconds(1), now: start)
        #expect(backoff.delayAfterFailure(at: start) == .milliseconds(100))
        #expect(backoff.delayAfterFailure(at: start + .milliseconds(100)) == .milliseconds(200))
        #expect(backoff.delayAfterFailure(at: start + .milliseconds(900)) == nil)
        backoff.connected(at: start + .seconds(10))
        #expect(backoff.delayAfterFailure(at: start + .seconds(10)) == .milliseconds(100))
        #expect(backoff.delayAfterFailure(at: start + .milliseconds(10_850)) == nil)
    }

    @Test("the policy's jitter applies")
    func jitter() {
        var policy = Self.policy
        policy.jitter = 0.5
        let start = ContinuousClock.now
        var low = ReconnectBackoff(policy: policy, maximumTime: .seconds(60), now: start)
        var high = ReconnectBackoff(policy: policy, maximumTime: .seconds(60), now: start)
        #expect(low.delayAfterFailure(at: start, random: 0) == .milliseconds(50))
        #expect(high.delayAfterFailure(at: start, random: 1) == .milliseconds(150))
    }
}
