import Testing

@testable import OutboxRelayCLI

@Suite("DrainProgress")
struct DrainProgressTests {
    @Test func countsAreGroupedByThousands() {
        #expect(DrainProgress.count(0) == "0")
        #expect(DrainProgress.count(950) == "950")
        #expect(DrainProgress.count(1000) == "1,000")
        #expect(DrainProgress.count(12_345) == "12,345")
        #expect(DrainProgress.count(1_234_567) == "1,234,567")
        #expect(DrainProgress.count(-1000) == "-1,000")
        #expect(DrainProgress.count(Int.min) == "-9,223,372,036,854,775,808")
    }

    @Test func ratesScaleToThreeSignificantDigits() {
        #expect(DrainProgress.rate(0) == "0 rows/s")
        #expect(DrainProgress.rate(-3) == "0 rows/s")
        #expect(DrainProgress.rate(.nan) == "0 rows/s")
        #expect(DrainProgress.rate(.infinity) == "0 rows/s")
        #expect(DrainProgress.rate(0.4) == "0 rows/s")
        #expect(DrainProgress.rate(850.2) == "850 rows/s")
        #expect(DrainProgress.rate(999.4) == "999 rows/s")
        #expect(DrainProgress.rate(999.6) == "1.0k rows/s")
        #expect(DrainProgress.rate(12_345) == "12.3k rows/s")
        #expect(DrainProgress.rate(123_456) == "123k rows/s")
        #expect(DrainProgress.rate(1_250_000) == "1.3M rows/s")
    }

    @Test func durationsShowTheTwoLargestUnits() {
        #expect(DrainProgress.duration(.zero) == "0s")
        #expect(DrainProgress.duration(.milliseconds(-5)) == "0s")
        #expect(DrainProgress.duration(.milliseconds(44_600)) == "45s")
        #expect(DrainProgress.duration(.seconds(185)) == "3m 05s")
        #expect(DrainProgress.duration(.seconds(2 * 3600 + 7 * 60 + 59)) == "2h 07m")
        #expect(DrainProgress.duration(.seconds(3 * 86_400 + 4 * 3600)) == "3d 04h")
        #expect(DrainProgress.duration(.seconds(Int64.max)) != "")  // saturates, never traps
    }

    @Test func percentIsRoundedDownAndCapped() {
        #expect(DrainProgress.percent(0, of: 100) == "0%")
        #expect(DrainProgress.percent(999, of: 1000) == "99%")
        #expect(DrainProgress.percent(1000, of: 1000) == "100%")
        #expect(DrainProgress.percent(1500, of: 1000) == "100%")
        #expect(DrainProgress.percent(0, of: 0) == "100%")
    }

    @Test("rate over the window, ETA of the backlog left, dead letters")
    func lineDuringTheDrain() {
        var progress = DrainProgress(backlogAtStart: 50_000, rateWindow: .seconds(5))
        #expect(progress.rate == nil)
        #expect(progress.line == "drain: 0 of 50,000 rows (0%), - rows/s, ETA -, 0 dead letters")
        // 1,000 rows/s for 10 s, then 4,000 rows/s for 5 s.
        for second in 1...10 {
            progress.record(rowsDone: second * 1000, deadLetters: 0, elapsed: .seconds(second))
        }
        #expect(progress.rate == 1000)
        for second in 11...15 {
            progress.record(rowsDone: 10_000 + (second - 10) * 4000, deadLetters: 1, elapsed: .seconds(second))
        }
        // The window holds 10 s ... 15 s only: the rate follows the speed-up.
        #expect(progress.rate == 4000)
        #expect(progress.latest.rowsDone == 30_000)
        #expect(progress.rowsLeft == 20_000)
        #expect(progress.timeLeft == .seconds(5))
        #expect(progress.line == "drain: 30,000 of 50,000 rows (60%), 4.0k rows/s, ETA 5s, 1 dead letter")
        #expect(progress.averageRate == 2000)
    }

    @Test func stalledDrainHasNoETA() {
        var progress = DrainProgress(backlogAtStart: 10, rateWindow: .seconds(2))
        progress.record(rowsDone: 4, deadLetters: 0, elapsed: .seconds(1))
        progress.record(rowsDone: 4, deadLetters: 0, elapsed: .seconds(4))
        progress.record(rowsDone: 4, deadLetters: 0, elapsed: .seconds(5))
        #expect(progress.rate == 0)
        #expect(progress.timeLeft == nil)
        #expect(progress.line == "drain: 4 of 10 rows (40%), 0 rows/s, ETA -, 0 dead letters")
    }

    @Test func moreRowsThanTheBacklogAtStart() {
        var progress = DrainProgress(backlogAtStart: 100)
        progress.record(rowsDone: 150, deadLetters: 2, elapsed: .seconds(2))
        #expect(progress.rowsLeft == 0)
        #expect(progress.timeLeft == .zero)
        #expect(progress.line == "drain: 150 of 100 rows (100%), 75 rows/s, ETA 0s, 2 dead letters")
        #expect(progress.finalLine == "drain done: 150 rows of 100 in 2s (75 rows/s), 2 dead letters")
    }

    @Test func unknownBacklogShowsNoShareAndNoETA() {
        var progress = DrainProgress(backlogAtStart: nil)
        progress.record(rowsDone: 2500, deadLetters: 0, elapsed: .seconds(2))
        #expect(progress.line == "drain: 2,500 rows, 1.3k rows/s, 0 dead letters")
        #expect(progress.finalLine == "drain done: 2,500 rows in 2s (1.3k rows/s), 0 dead letters")
    }

    @Test func samplesOutOfOrderAreIgnored() {
        var progress = DrainProgress(backlogAtStart: 10)
        progress.record(rowsDone: 5, deadLetters: 0, elapsed: .seconds(2))
        progress.record(rowsDone: 9, deadLetters: 0, elapsed: .seconds(1))
        #expect(progress.latest.rowsDone == 5)
    }
}
