import AnalyticsCore
import ServiceSupport
import Testing

@Suite("StreamConsumerSchedule")
struct StreamConsumerScheduleTests {
    let start = ContinuousClock.now
    let timing = StreamConsumerSchedule.Timing(
        claimInterval: .seconds(5), housekeepingInterval: .seconds(2), backoff: Backoff(initial: .milliseconds(100), maximum: .seconds(2)))

    /// Takes the steps the schedule gives at `time`, succeeding each, until it says to read.
    func stepsUntilRead(_ schedule: inout StreamConsumerSchedule, at time: Duration) -> [StreamConsumerSchedule.Step] {
        var steps: [StreamConsumerSchedule.Step] = []
        while steps.count < 10 {
            let step = schedule.next(at: start + time)
            steps.append(step)
            if step == .read || step == .finish { break }
            schedule.completed(step, at: start + time)
        }
        return steps
    }

    @Test func atStartPendingEntriesAreRecoveredAndAbandonedOnesClaimedBeforeAnyRead() {
        var schedule = StreamConsumerSchedule(timing: timing)
        #expect(stepsUntilRead(&schedule, at: .zero) == [.recover, .claim, .housekeeping, .read])
    }

    @Test func claimsAndHousekeepingComeBackAtTheirIntervalsWithReadsBetween() {
        var schedule = StreamConsumerSchedule(timing: timing)
        _ = stepsUntilRead(&schedule, at: .zero)
        schedule.completed(.read, at: start)
        #expect(stepsUntilRead(&schedule, at: .seconds(1)) == [.read])
        #expect(stepsUntilRead(&schedule, at: .seconds(2)) == [.housekeeping, .read])
        #expect(stepsUntilRead(&schedule, at: .seconds(3)) == [.read])
        #expect(stepsUntilRead(&schedule, at: .seconds(4)) == [.housekeeping, .read])
        #expect(stepsUntilRead(&schedule, at: .seconds(5)) == [.claim, .read])
        #expect(stepsUntilRead(&schedule, at: .seconds(6)) == [.housekeeping, .read])
        #expect(stepsUntilRead(&schedule, at: .seconds(10)) == [.claim, .housekeeping, .read])
    }

    @Test func afterAFailureTheConsumerRecoversBeforeReadingAgain() {
        var schedule = StreamConsumerSchedule(timing: timing)
        _ = stepsUntilRead(&schedule, at: .zero)
        // The read fails: entries it delivered may sit in this consumer's pending list.
        _ = schedule.failed()
        #expect(stepsUntilRead(&schedule, at: .seconds(1)) == [.recover, .read])
        // So does a failed claim or housekeeping.
        for failing in [StreamConsumerSchedule.Step.claim, .housekeeping] {
            var schedule = StreamConsumerSchedule(timing: timing)
            var step = schedule.next(at: start)
            while step != failing {
                schedule.completed(step, at: start)
                step = schedule.next(at: start)
            }
            _ = schedule.failed()
            #expect(schedule.next(at: start) == .recover)
        }
    }

    @Test func pausesDoubleWhileFailuresGoOnAndStartOverAfterASuccessfulRead() {
        var schedule = StreamConsumerSchedule(timing: timing)
        let pauses = (0..<7).map { _ in schedule.failed() }
        #expect(
            pauses == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600), .seconds(2),
                .seconds(2),
            ])
        // A recovery that succeeds is not enough: the pause starts over only once reading works.
        schedule.completed(.recover, at: start)
        #expect(schedule.failed() == .seconds(2))
        schedule.completed(.recover, at: start)
        schedule.completed(.read, at: start)
        #expect(schedule.failed() == .milliseconds(100))
    }

    @Test func aStopFinishesWhateverStepWasDue() {
        var atStart = StreamConsumerSchedule(timing: timing)
        atStart.stop()
        #expect(atStart.next(at: start) == .finish)
        var failing = StreamConsumerSchedule(timing: timing)
        _ = failing.failed()
        failing.stop()
        #expect(failing.next(at: start + .seconds(60)) == .finish)
    }
}
