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

    @Test func everyCohortGetsEachHeartbeatOnce() {
        var schedule = BroadcastSchedule()
        #expect(!schedule.next(clients: 10_000).heartbeat)
        schedule.heartbeatReady()
        var got = [Int](repeating: 0, count: 8)
        for _ in 0..<24 {
            let step = schedule.next(clients: 10_000)
            if step.heartbeat { for cohort in step.cohorts { got[cohort] += 1 } }
        }
        #expect(got == [Int](repeating: 1, count: 8))
    }

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
        for _ in 0..<500 {
            let arrivals = draw(4)
            schedule.append((sent..<(sent + arrivals)).map(Self.event))
            sent += arrivals
            let clients = [10, 1_500, 3_000, 5_000, 10_000][draw(5)]
            let step = schedule.next(clients: clients)
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
