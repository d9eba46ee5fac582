/// Which clients the hub writes to next, and what. Clients are split into ``cohortCount`` cohorts
/// (evenly, by the hub), served in turn: each step writes to one cohort (or several, when there are
/// few clients) every event it has not had yet, in one message encoded once for the whole cohort,
/// plus the latest heartbeat if the cohort has not had it. Every client thus gets every event
/// exactly once, and at most one message per turn of its cohort.
///
/// Why cohorts: with many thousands of clients one pass over them all takes longer than the flush
/// interval, so with a single hub-wide flush an event waited for the next pass to start and then for
/// its client's turn in it: up to two passes. Served in eight staggered cohorts, it waits for its
/// cohort's next turn and an eighth of a pass: up to one pass and an eighth, for the same writes
/// (each client still gets one message per turn, at most one every flush interval). The cost is one
/// message encoding per step instead of per pass, which is why few clients are served all at once.
///
/// A value type with no I/O: ``LiveHub`` keeps it behind its lock and does the writing.
public struct BroadcastSchedule: Sendable, Equatable {
    /// How many cohorts the clients are spread over.
    public static let cohortCount = 8
    /// Below this many clients per cohort, cohorts are served together: a step's writes should cost
    /// far more than encoding its message (with the default, 10,000 clients: one cohort per step;
    /// 1,000: all at once).
    public let minimumClientsPerStep: Int
    /// The default of ``minimumClientsPerStep``, that of `ANALYTICS_WS_COHORT_CLIENTS`.
    public static let defaultMinimumClientsPerStep = 1000

    /// Events not yet sent to every cohort; `events[0]` is event number `firstSequence`.
    private var events: [ArraySlice<UInt8>] = []
    private var firstSequence = 0
    /// Per cohort: the number of the first event it has not been sent.
    private var sentUpTo = [Int](repeating: 0, count: cohortCount)
    private var heartbeatGeneration = 0
    private var heartbeatSeen = [Int](repeating: 0, count: cohortCount)
    /// Per cohort: when its last turn started (nil: never).
    private var lastTurn = [ContinuousClock.Instant?](repeating: nil, count: cohortCount)
    private var nextCohort = 0

    /// An empty schedule: no events, no heartbeat, every cohort due.
    /// - Parameter minimumClientsPerStep: see ``minimumClientsPerStep``; raised to 1 if lower.
    public init(minimumClientsPerStep: Int = defaultMinimumClientsPerStep) {
        self.minimumClientsPerStep = max(1, minimumClientsPerStep)
    }

    /// Adds events received from the aggregator, in order: each the JSON of one public event object
    /// (see ``HubMessages/update(_:)``).
    public mutating func append(_ new: some Collection<ArraySlice<UInt8>>) {
        events.append(contentsOf: new)
    }

    /// A new heartbeat is ready: every cohort gets it at its next step.
    public mutating func heartbeatReady() {
        heartbeatGeneration += 1
    }

    /// Events waiting for at least one cohort.
    public var backlog: Int { events.count }

    /// Cohorts served by one step with `clients` connected: 1, 2, 4 or 8 (a divisor of
    /// ``cohortCount``).
    public func cohortsPerStep(clients: Int) -> Int {
        var steps = Self.cohortCount
        while steps > 1, clients / steps < minimumClientsPerStep { steps /= 2 }
        return Self.cohortCount / steps
    }

    /// The fraction of the flush interval to wait between steps, so each cohort's turn comes at most
    /// once per interval.
    public func stepShare(clients: Int) -> Double {
        Double(cohortsPerStep(clients: clients)) / Double(Self.cohortCount)
    }

    /// What one step writes: the cohorts it serves, the events they have not had and the heartbeat.
    public struct Step: Sendable, Equatable {
        /// Events for some of the step's cohorts: one message, encoded once for all of them.
        public struct Delivery: Sendable, Equatable {
            /// The events, in order, each the JSON of one public event object.
            public var events: ArraySlice<ArraySlice<UInt8>>
            /// The cohorts that get them.
            public var cohorts: [Int]
        }

        /// The cohorts written to.
        public var cohorts: Range<Int>
        /// One per distinct run of events: cohorts served together last time get the same one. A
        /// cohort that has had every event is in none.
        public var deliveries: [Delivery]
        /// The cohorts that get the latest heartbeat (those of the step that have not had it).
        public var heartbeatCohorts: [Int]

        /// Nothing to write: every cohort of the step has had every event and the latest heartbeat.
        public var isEmpty: Bool { heartbeatCohorts.isEmpty && deliveries.isEmpty }
    }

    /// What ``next(clients:at:spacing:)`` decides.
    public enum Turn: Sendable, Equatable {
        /// Write this step now; it is already marked as sent.
        case step(Step)
        /// A cohort of the next step had its last turn less than the spacing ago (the number of
        /// clients changed and with it how cohorts are grouped): ask again then.
        case wait(until: ContinuousClock.Instant)
    }

    /// The next step, unless one of its cohorts had a turn less than `spacing` before `now`: marks
    /// its events and heartbeat as sent to its cohorts, and forgets the events every cohort has had.
    /// - Parameters:
    ///   - clients: the clients connected now, which decide how many cohorts a step serves.
    ///   - now: the time the step starts.
    ///   - spacing: the shortest time between two turns of one cohort (the hub's flush interval).
    public mutating func next(clients: Int, at now: ContinuousClock.Instant, spacing: Duration) -> Turn {
        let width = cohortsPerStep(clients: clients)
        // After the width changed, finish the current group first so groups stay aligned.
        let cohorts = nextCohort..<((nextCohort / width + 1) * width)
        if let due = cohorts.compactMap({ lastTurn[$0].map { $0 + spacing } }).max(), due > now { return .wait(until: due) }
        nextCohort = cohorts.upperBound % Self.cohortCount
        let end = firstSequence + events.count
        var deliveries: [Step.Delivery] = []
        for cohort in cohorts where sentUpTo[cohort] < end {
            let from = sentUpTo[cohort] - firstSequence
            if let i = deliveries.firstIndex(where: { $0.events.startIndex == from }) {
                deliveries[i].cohorts.append(cohort)
            } else {
                deliveries.append(Step.Delivery(events: events[from...], cohorts: [cohort]))
            }
        }
        let step = Step(
            cohorts: cohorts, deliveries: deliveries, heartbeatCohorts: cohorts.filter { heartbeatSeen[$0] < heartbeatGeneration })
        for cohort in cohorts {
            sentUpTo[cohort] = end
            heartbeatSeen[cohort] = heartbeatGeneration
            lastTurn[cohort] = now
        }
        let sentToAll = sentUpTo.min()! - firstSequence
        if sentToAll > 0 {
            events.removeFirst(sentToAll)
            firstSequence += sentToAll
        }
        return .step(step)
    }
}
