import AnalyticsCore
import Testing

@Suite("Backoff")
struct BackoffTests {
    @Test func delaysDoubleUpToTheMaximum() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        let delays = (0..<7).map { _ in backoff.next() }
        #expect(
            delays == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1), .seconds(1),
            ])
    }

    @Test func aSuccessStartsOverFromTheInitialDelay() {
        var backoff = Backoff(.milliseconds(50) ... .seconds(2))
        _ = backoff.next()
        _ = backoff.next()
        #expect(backoff.current == .milliseconds(200))
        backoff.reset()
        #expect(backoff.next() == .milliseconds(50))
    }

    @Test func aMaximumThatIsNotAPowerOfTwoOfTheInitialIsReachedExactly() {
        var backoff = Backoff(initial: .milliseconds(300), maximum: .seconds(1))
        #expect((0..<4).map { _ in backoff.next() } == [.milliseconds(300), .milliseconds(600), .seconds(1), .seconds(1)])
    }

    @Test func durationsInWholeUnitsRoundTowardsZero() {
        #expect(Duration.milliseconds(1500).inMilliseconds == 1500)
        #expect(Duration.microseconds(1999).inMilliseconds == 1)
        #expect(Duration.seconds(10).inMicroseconds == 10_000_000)
        #expect(Duration.nanoseconds(2999).inMicroseconds == 2)
        #expect(Duration.milliseconds(250).inSeconds == 0.25)
    }
}
