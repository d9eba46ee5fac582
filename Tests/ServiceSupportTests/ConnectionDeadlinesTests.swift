import ServiceSupport
import Testing

@Suite("ConnectionDeadlines")
struct ConnectionDeadlinesTests {
    let t0 = ContinuousClock.now
    let timeouts = ConnectionDeadlines.Timeouts(header: .seconds(10), body: .seconds(5), idle: .seconds(60))

    @Test func aNewConnectionOwesItsFirstHeadWithinTheHeaderTimeout() {
        let deadlines = ConnectionDeadlines(timeouts: timeouts, acceptedAt: t0)
        #expect(deadlines.deadline == t0 + .seconds(10))
        #expect(!deadlines.isExpired(at: t0 + .seconds(9)))
        #expect(deadlines.isExpired(at: t0 + .seconds(10)))
    }

    @Test func aBodyIsOwedWithinTheBodyTimeoutOfItsHeadAndNothingWhileTheServerAnswers() {
        var deadlines = ConnectionDeadlines(timeouts: timeouts, acceptedAt: t0)
        deadlines.headReceived(at: t0 + .seconds(1))
        #expect(deadlines.deadline == t0 + .seconds(6))
        deadlines.requestEnded()
        #expect(deadlines.deadline == nil)
        #expect(!deadlines.isExpired(at: t0 + .seconds(1000)))
        deadlines.responseEnded(at: t0 + .seconds(2))
        // Kept alive: the next head is owed within the idle timeout.
        #expect(deadlines.deadline == t0 + .seconds(62))
    }

    @Test func pipelinedRequestsOweNothingUntilTheLastIsAnswered() {
        var deadlines = ConnectionDeadlines(timeouts: timeouts, acceptedAt: t0)
        deadlines.headReceived(at: t0)
        deadlines.requestEnded()
        deadlines.headReceived(at: t0)
        deadlines.requestEnded()
        deadlines.responseEnded(at: t0 + .seconds(1))
        #expect(deadlines.deadline == nil)
        deadlines.responseEnded(at: t0 + .seconds(2))
        #expect(deadlines.deadline == t0 + .seconds(62))
    }
}
