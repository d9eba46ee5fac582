import Testing
import WSHubKit

@Suite("Broadcast schedule: cohorts served in turn")
struct BroadcastScheduleTests {
    /// Event number `n` as the bytes the schedule carries.
    static func event(_ n: Int) -> ArraySlice<UInt8> { ArraySlice(Array("\(n)".utf8)) }
    static func numbers(_ events: ArraySlice<ArraySlice<UInt8>>) -> [Int] { events.map { Int(String(decoding: $0, as: UTF8.self))! } }

    @Test func fewClientsAreServedAllAtOnceManyInEightTurns() {
        let schedule = BroadcastSchedule()
        #expect(schedule.cohortsPerStep(clients: 0) == 8)
        #expect(schedule.cohortsPerStep(clients: 1_000) == 8)
        #expect(schedule.cohortsPerStep(clients: 1_999) == 8)
        #expect(schedule.cohortsPerStep(clients: 2_000) == 4)
        #expect(schedule.cohortsPerStep(clients: 4_000) == 2)
        #expect(schedule.cohortsPerStep(clients: 8_000) == 1)
        #expect(schedule.cohortsPerStep(clients: 10_000) == 1)
        #expect(schedule.stepShare(clients: 10_000) == 0.125)
        #expect(schedule.stepShare(clients: 10) == 1)
        // Tuned down (ANALYTICS_WS_COHORT_CLIENTS=1): 16 clients already get eight turns.
        #expect(BroadcastSchedule(minimumClientsPerStep: 1).cohortsPerStep(clients: 16) == 1)
        #expect(BroadcastSchedule(minimumClientsPerStep: 1).cohortsPerStep(clients: 4) == 2)
    }

    @Test func eachCohortGetsWhatItHasNotHadAndTheBacklogIsForgottenOnceAllHaveIt() {
        var schedule = BroadcastSchedule()
        schedule.append([Self.event(1), Self.event(2)])
        let first = schedule.next(clients: 10_000)
        #expect(first.cohorts == 0..<1)
        #expect(first.deliveries.map { Self.numbers($0.events) } == [[1, 2]])
        #expect(first.deliveries.map(\.cohorts) == [[0]])
        schedule.append([Self.event(3)])
        for cohort in 1..<8 {
            let step = schedule.next(clients: 10_000)
            #expect(step.cohorts == cohort..<(cohort + 1))
            #expect(step.deliveries.map { Self.numbers($0.events) } == [[1, 2, 3]])
        }
        // Cohort 0 had 1 and 2 already: only 3, after which every cohort has everything.
        #expect(schedule.backlog == 1)
        let again = schedule.next(clients: 10_000)
        #expect(again.cohorts == 0..<1)
        #expect(again.deliveries.map { Self.numbers($0.events) } == [[3]])
        #expect(schedule.backlog == 0)
        let idle = schedule.next(clients: 10_000)
        #expect(idle.isEmpty)
    }

    @Test func cohortsServedTogetherShareOneMessage() {
        var schedule = BroadcastSchedule()
        // 10,000 clients: cohorts 0 and 1 get their own turn.
        schedule.append([Self.event(1)])
        _ = schedule.next(clients: 10_000)
        _ = schedule.next(clients: 10_000)
        schedule.append([Self.event(2)])
        // Down to 100 clients: the current group is finished first (2..<8), then all at once.
        let finish = schedule.next(clients: 100)
        #expect(finish.cohorts == 2..<8)
        #expect(finish.deliveries.map { Self.numbers($0.events) } == [[1, 2]])
        #expect(finish.deliveries.map(\.cohorts) == [[2, 3, 4, 5, 6, 7]])
        schedule.append([Self.event(3)])
        let all = schedule.next(clients: 100)
        #expect(all.cohorts == 0..<8)
        // Cohorts 0 and 1 missed 2; the others only 3: two messages, each encoded once.
        #expect(all.deliveries.map { Self.numbers($0.events) } == [[2, 3], [3]])
        #expect(all.deliveries.map(\.cohorts) == [[0, 1], [2, 3, 4, 5, 6, 7]])
        schedule.append([Self.event(4)])
        let together = schedule.next(clients: 100)
        #expect(together.deliveries.map { Self.numbers($0.events) } == [[4]])
        #expect(together.deliveries.map(\.cohorts) == [Array(0..<8)])
    }

    /// Also when cohorts are regrouped between turns (clients come and go): only the cohorts of a
    /// step that have not had the heartbeat get it.
    @Test(arguments: [10_000, 7_999, 3_000])
    func everyCohortGetsEachHeartbeatOnce(clientsAfter: Int) {
        var schedule = BroadcastSchedule()
        // Cohort 0 has its turn before the heartbeat is ready, cohort 1 after; then regrouped, 0 and
        // 1 go together, and only 0 may get it.
        #expect(schedule.next(clients: 10_000).heartbeatCohorts.isEmpty)
        schedule.heartbeatReady()
        var got = [Int](repeating: 0, count: 8)
        for turn in 0..<24 {
            let step = schedule.next(clients: turn < 1 ? 10_000 : clientsAfter)
            for cohort in step.heartbeatCohorts {
                #expect(step.cohorts.contains(cohort))
                got[cohort] += 1
            }
        }
        #expect(got == [Int](repeating: 1, count: 8))
    }

    @Test func aCohortsTurnsAreAFlushIntervalApartEvenWhenCohortsAreRegrouped() throws {
        var schedule = BroadcastSchedule()
        let spacing = Duration.milliseconds(125)
        let t0 = ContinuousClock.now
        func at(_ ms: Int) -> ContinuousClock.Instant { t0 + .milliseconds(ms) }
        // 10,000 clients: one cohort every 15 ms; cohort 0 is due again 125 ms after its turn.
        for cohort in 0..<8 {
            guard case .step(let step) = schedule.next(clients: 10_000, at: at(cohort * 15), spacing: spacing) else {
                Issue.record("turn \(cohort) held back")
                return
            }
            #expect(step.cohorts == cohort..<(cohort + 1))
        }
        #expect(schedule.next(clients: 10_000, at: at(120), spacing: spacing) == .wait(until: at(125)))
        guard case .step = schedule.next(clients: 10_000, at: at(125), spacing: spacing) else { throw ScheduleError.heldBack }
        // Down to 100 clients: cohorts 1…7 go together, once cohort 7's turn (at 105 ms) is 125 ms old.
        #expect(schedule.next(clients: 100, at: at(140), spacing: spacing) == .wait(until: at(230)))
        guard case .step(let rest) = schedule.next(clients: 100, at: at(230), spacing: spacing) else { throw ScheduleError.heldBack }
        #expect(rest.cohorts == 1..<8)
        // Then all eight, once cohorts 1…7 had their 125 ms (cohort 0's turn was at 125 ms).
        #expect(schedule.next(clients: 100, at: at(300), spacing: spacing) == .wait(until: at(355)))
        guard case .step(let all) = schedule.next(clients: 100, at: at(355), spacing: spacing) else { throw ScheduleError.heldBack }
        #expect(all.cohorts == 0..<8)
    }

    enum ScheduleError: Error { case heldBack }

    /// Whatever the arrivals and the number of clients, every cohort gets every event exactly once,
    /// in order, and nothing stays behind once every cohort has had a turn.
    @Test(arguments: [1, 2, 3, 42])
    func everyCohortGetsEveryEventOnceInOrder(seed: UInt64) {
        // A linear congruential generator: the same draws for a seed, so a failure can be replayed.
        var state = seed
        func draw(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % bound
        }
        var schedule = BroadcastSchedule()
        var received = [[Int]](repeating: [], count: 8)
        var sent = 0
        // Turns asked for every 5 to 40 ms; a cohort's turns never less than 125 ms apart.
        let spacing = Duration.milliseconds(125)
        var now = ContinuousClock.now
        var lastTurn = [ContinuousClock.Instant?](repeating: nil, count: 8)
        var steps = 0
        while steps < 500 {
            now += .milliseconds(5 + draw(36))
            let arrivals = draw(4)
            schedule.append((sent..<(sent + arrivals)).map(Self.event))
            sent += arrivals
            let clients = [10, 1_500, 3_000, 5_000, 10_000][draw(5)]
            guard case .step(let step) = schedule.next(clients: clients, at: now, spacing: spacing) else { continue }
            steps += 1
            for cohort in step.cohorts {
                if let last = lastTurn[cohort] { #expect(now - last >= spacing) }
                lastTurn[cohort] = now
            }
            for delivery in step.deliveries {
                #expect(delivery.cohorts.allSatisfy(step.cohorts.contains))
                for cohort in delivery.cohorts { received[cohort] += Self.numbers(delivery.events) }
            }
        }
        for _ in 0..<8 {
            for delivery in schedule.next(clients: 10_000).deliveries {
                for cohort in delivery.cohorts { received[cohort] += Self.numbers(delivery.events) }
            }
        }
        #expect(received == [[Int]](repeating: Array(0..<sent), count: 8))
        #expect(schedule.backlog == 0)
    }
}

extension BroadcastSchedule {
    /// The next step, whenever its cohorts last had a turn (no spacing, and later than any time a test
    /// made up).
    mutating func next(clients: Int) -> Step {
        guard case .step(let step) = next(clients: clients, at: .now + .seconds(86_400), spacing: .zero) else {
            fatalError("no spacing, no wait")
        }
        return step
    }
}
