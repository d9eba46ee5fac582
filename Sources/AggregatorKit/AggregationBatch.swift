import AnalyticsCore
import RedisClient

/// One batch of stream entries, decoded and laid out as the arguments of `AggregationScript`.
/// A value type: planning is tested without Redis.
public struct AggregationBatch: Sendable {
    public struct Entry: Sendable, Equatable {
        public let streamID: String
        public let event: AnalyticsEvent
        public let dimension: EventDimension
    }

    /// An entry that cannot be counted (trimmed while pending, or not an event), with the reason.
    public struct DeadEntry: Sendable, Equatable {
        public let streamID: String
        public let reason: String
    }

    public private(set) var entries: [Entry] = []
    public private(set) var dead: [DeadEntry] = []

    public init(_ raw: [RedisStreamEntry]) {
        entries.reserveCapacity(raw.count)
        for item in raw {
            guard let fields = item.fields else {
                dead.append(DeadEntry(streamID: item.id, reason: "entry trimmed from the stream while pending"))
                continue
            }
            do {
                let event = try StreamEntryCodec.decode(fields)
                entries.append(Entry(
                    streamID: item.id, event: event,
                    dimension: EventDimension.of(eventType: event.eventType, eventData: event.eventData)))
            } catch {
                dead.append(DeadEntry(streamID: item.id, reason: "undecodable: \(error)"))
            }
        }
    }

    public var isEmpty: Bool { entries.isEmpty && dead.isEmpty }
    public var count: Int { entries.count + dead.count }

    /// The distinct UTC days of the batch, in order of first appearance.
    public var days: [TimeBucket] {
        var seen = Set<TimeBucket>()
        var days: [TimeBucket] = []
        for entry in entries {
            let bucket = TimeBucket(epochMilliseconds: entry.event.createdAt)
            if seen.insert(bucket).inserted { days.append(bucket) }
        }
        return days
    }

    public struct ScriptInput: Sendable, Equatable {
        public var keys: [String]
        public var arguments: [String]
    }

    public func scriptInput(
        keyspace: RedisKeyspace, group: String, activeWindowMilliseconds: Int64, themeCap: Int, today: TimeBucket
    ) -> ScriptInput {
        let days = self.days
        var groupIndex: [TimeBucket: Int] = [:]
        var keys = [
            keyspace.stream, keyspace.activeVisitors, keyspace.topThemes, keyspace.uniqueVisitors(.day, today.dayName),
            keyspace.deadLetters,
        ]
        keys.reserveCapacity(AggregationScript.fixedKeys + days.count * AggregationScript.keysPerGroup)
        var arguments = [group, String(activeWindowMilliseconds), String(themeCap), String(days.count), String(dead.count)]
        arguments.reserveCapacity(arguments.count + days.count * 3 + dead.count * 2 + entries.count * AggregationScript.argumentsPerEntry)
        for (i, day) in days.enumerated() {
            groupIndex[day] = i + 1
            let names = Period.allCases.map { day.name(of: $0) }
            keys += zip(Period.allCases, names).map { keyspace.totalEvents($0, $1) }
            keys += zip(Period.allCases, names).map { keyspace.lettersGenerated($0, $1) }
            keys += zip(Period.allCases, names).map { keyspace.uniqueVisitors($0, $1) }
            arguments += Period.allCases.map { String(AggregateRetention.expiry(of: day, $0)) }
        }
        for entry in dead {
            arguments += [entry.streamID, entry.reason]
        }
        for entry in entries {
            let (kind, dimension): (String, String) =
                switch entry.dimension {
                case .none: ("", "")
                case .theme(let theme): ("t", theme)
                case .letter(let type): ("l", type)
                }
            arguments += [
                entry.streamID, entry.event.visitorID.lowercasedString,
                String(groupIndex[TimeBucket(epochMilliseconds: entry.event.createdAt)]!), kind, dimension,
                String(entry.event.createdAt),
            ]
        }
        return ScriptInput(keys: keys, arguments: arguments)
    }
}

/// What the script reports back.
public struct AggregationOutcome: Sendable, Equatable {
    /// One flag per counted entry of the batch: true if this application counted it, false if it
    /// had already been acknowledged (a re-delivery).
    public var applied: [Bool]
    /// Growth of the day unique-visitor HyperLogLogs (the "new visitors" of the batch).
    public var newUniqueVisitors: Int
    public var currentVisitors: Int
    public var uniqueToday: Int
    public var themeScores: [(theme: String, views: Double)]

    public var appliedCount: Int { applied.lazy.filter { $0 }.count }

    public init(_ reply: RedisValue) throws(RedisError) {
        guard case .array(let parts) = reply, parts.count == 5, let flags = parts[0].string,
            let newUniques = parts[1].int, let current = parts[2].int, let today = parts[3].int, let scores = parts[4].array
        else { throw .unexpectedReply("aggregation script") }
        applied = flags.utf8.map { $0 == UInt8(ascii: "1") }
        newUniqueVisitors = newUniques
        currentVisitors = current
        uniqueToday = today
        var themes: [(String, Double)] = []
        var i = 0
        while i + 1 < scores.count {
            themes.append((scores[i].string ?? "", scores[i + 1].double ?? 0))
            i += 2
        }
        themeScores = themes
    }

    public static func == (a: AggregationOutcome, b: AggregationOutcome) -> Bool {
        a.applied == b.applied && a.newUniqueVisitors == b.newUniqueVisitors && a.currentVisitors == b.currentVisitors
            && a.uniqueToday == b.uniqueToday && a.themeScores.map(\.theme) == b.themeScores.map(\.theme)
            && a.themeScores.map(\.views) == b.themeScores.map(\.views)
    }
}
