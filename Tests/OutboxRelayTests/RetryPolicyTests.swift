import OutboxRelay
import Testing

@Suite("RetryPolicy")
struct RetryPolicyTests {
    /// Compares durations to the microsecond (the policy works in microseconds).
    static func micros(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    @Test("documented defaults")
    func defaults() {
        let policy = RetryPolicy.default
        #expect(policy.initialDelay == .milliseconds(200))
        #expect(policy.multiplier == 2)
        #expect(policy.maximumDelay == .seconds(60))
        #expect(policy.jitter == 0.2)
        #expect(policy.maximumAttempts == 12)
        #expect(policy == RetryPolicy())
    }

    @Test("without jitter the delay grows exponentially from initialDelay")
    func exponentialGrowth() {
        let policy = RetryPolicy(
            initialDelay: .milliseconds(200),
            multiplier: 2,
            maximumDelay: .seconds(3600),
            jitter: 0
        )
        let expected: [Int64] = [
            200_000, 400_000, 800_000, 1_600_000, 3_200_000, 6_400_000, 12_800_000, 25_600_000, 51_200_000, 102_400_000,
        ]
        for (index, micros) in expected.enumerated() {
            #expect(Self.micros(policy.delay(afterAttempt: index + 1, random: 0.5)) == micros, "attempt \(index + 1)")
        }
        let triple = RetryPolicy(
            initialDelay: .milliseconds(10),
            multiplier: 3,
            maximumDelay: .seconds(3600),
            jitter: 0
        )
        #expect(Self.micros(triple.delay(afterAttempt: 4, random: 0.9)) == 270_000)
    }

    @Test("attempt numbers below 1 are treated as the first attempt")
    func attemptZero() {
        let policy = RetryPolicy(jitter: 0)
        #expect(Self.micros(policy.delay(afterAttempt: 0)) == 200_000)
        #expect(Self.micros(policy.delay(afterAttempt: -5)) == 200_000)
    }

    @Test("the delay is capped at maximumDelay, even for huge attempt numbers")
    func cap() {
        let policy = RetryPolicy(initialDelay: .milliseconds(200), multiplier: 2, maximumDelay: .seconds(60), jitter: 0)
        #expect(Self.micros(policy.delay(afterAttempt: 9, random: 0.5)) == 51_200_000)
        #expect(Self.micros(policy.delay(afterAttempt: 10, random: 0.5)) == 60_000_000)
        #expect(Self.micros(policy.delay(afterAttempt: 11, random: 0.5)) == 60_000_000)
        #expect(Self.micros(policy.delay(afterAttempt: 5000, random: 0.5)) == 60_000_000)
        #expect(Self.micros(policy.delay(afterAttempt: 1_000_000, random: 0.5)) == 60_000_000)
    }

    @Test("jitter stays within ±jitter of the capped delay; random 0, 0.5 and 1 hit the bounds and the middle")
    func jitterBounds() {
        let policy = RetryPolicy(initialDelay: .seconds(1), multiplier: 2, maximumDelay: .seconds(10), jitter: 0.2)
        #expect(Self.micros(policy.delay(afterAttempt: 2, random: 0)) == 1_600_000)
        #expect(Self.micros(policy.delay(afterAttempt: 2, random: 0.5)) == 2_000_000)
        #expect(Self.micros(policy.delay(afterAttempt: 2, random: 1)) == 2_400_000)
        #expect(Self.micros(policy.delay(afterAttempt: 2, random: 0.75)) == 2_200_000)
        // Capped first, then randomized.
        #expect(Self.micros(policy.delay(afterAttempt: 20, random: 0)) == 8_000_000)
        #expect(Self.micros(policy.delay(afterAttempt: 20, random: 1)) == 12_000_000)
        for step in 0...100 {
            let random = Double(step) / 100
            let micros = Self.micros(policy.delay(afterAttempt: 3, random: random))
            #expect((3_200_000...4_800_000).contains(micros), "random \(random) gave \(micros)")
        }
    }

    @Test("the default random source keeps the delay within the jitter bounds")
    func realRandom() {
        let policy = RetryPolicy(initialDelay: .seconds(1), multiplier: 2, maximumDelay: .seconds(10), jitter: 0.5)
        var seen = Set<Int64>()
        for _ in 0..<200 {
            let micros = Self.micros(policy.delay(afterAttempt: 1))
            #expect((500_000...1_500_000).contains(micros))
            seen.insert(micros)
        }
        #expect(seen.count > 1, "the delay is randomized")
    }

    @Test("a jitter above 1 never gives a negative delay")
    func noNegativeDelay() {
        let policy = RetryPolicy(initialDelay: .seconds(1), jitter: 1.5)
        #expect(Self.micros(policy.delay(afterAttempt: 1, random: 0)) == 0)
    }

    @Test("Retry-After is a lower bound, also above maximumDelay, and never lowers the delay")
    func retryAfter() {
        let policy = RetryPolicy(initialDelay: .seconds(1), multiplier: 2, maximumDelay: .seconds(10), jitter: 0)
        #expect(Self.micros(policy.delay(afterAttempt: 1, retryAfter: .seconds(5))) == 5_000_000)
        #expect(Self.micros(policy.delay(afterAttempt: 1, retryAfter: .seconds(120))) == 120_000_000)
        #expect(Self.micros(policy.delay(afterAttempt: 3, retryAfter: .seconds(1))) == 4_000_000)
        #expect(Self.micros(policy.delay(afterAttempt: 3, retryAfter: .zero)) == 4_000_000)
        #expect(Self.micros(policy.delay(afterAttempt: 1, retryAfter: .milliseconds(1500))) == 1_500_000)
        let jittered = RetryPolicy(initialDelay: .seconds(1), multiplier: 2, maximumDelay: .seconds(10), jitter: 0.5)
        #expect(Self.micros(jittered.delay(afterAttempt: 1, retryAfter: .seconds(2), random: 0)) == 2_000_000)
        #expect(Self.micros(jittered.delay(afterAttempt: 1, retryAfter: .milliseconds(100), random: 1)) == 1_500_000)
    }

    @Test("maximumAttempts: retries while fewer attempts have failed; nil retries forever")
    func maximumAttempts() {
        let policy = RetryPolicy(maximumAttempts: 3)
        #expect(policy.allowsRetry(after: 0))
        #expect(policy.allowsRetry(after: 1))
        #expect(policy.allowsRetry(after: 2))
        #expect(!policy.allowsRetry(after: 3))
        #expect(!policy.allowsRetry(after: 4))
        let once = RetryPolicy(maximumAttempts: 1)
        #expect(!once.allowsRetry(after: 1))
        let forever = RetryPolicy(maximumAttempts: nil)
        #expect(forever.allowsRetry(after: 1_000_000))
        #expect(RetryPolicy.default.allowsRetry(after: 11))
        #expect(!RetryPolicy.default.allowsRetry(after: 12))
    }

    @Test("with the defaults a message is retried for 222.2 s (±20 %) before it is dead-lettered")
    func defaultRetryWindow() {
        let policy = RetryPolicy.default
        var attempts = 1
        var waited: Int64 = 0
        while policy.allowsRetry(after: attempts) {
            waited += Self.micros(policy.delay(afterAttempt: attempts, random: 0.5))
            attempts += 1
        }
        #expect(attempts == 12)
        // 0.2 + 0.4 + … + 51.2 (9 waits) + 60 + 60 (capped) seconds.
        #expect(waited == 222_200_000)
    }

    @Test("Duration.seconds")
    func durationSeconds() {
        #expect(Duration.milliseconds(200).seconds == 0.2)
        #expect(Duration.seconds(90).seconds == 90)
        #expect(Duration.microseconds(1).seconds == 0.000001)
    }
}
