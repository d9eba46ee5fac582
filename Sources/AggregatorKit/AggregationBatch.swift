import AnalyticsCore
import RedisClient

/// One batch of stream entries, decoded, and laid out as the keys and arguments of the aggregator's
/// Lua script (`AggregationScript`) by
/// ``scriptInput(keyspace:group:activeWindowMilliseconds:themeCap:today:nowMilliseconds:throttle:knownVisitors:)``.
/// A value type: planning is tested without Redis.
public struct AggregationBatch: Sendable {
    /// What the aggregates need of an event: no `event_data` beyond its dimension, and the visitor id
    /// kept as the text the script adds to the HyperLogLogs.
    public struct Entry: Sendable, Equatable {
        /// The entry's id in the stream (not the event id): what the script acknowledges.
        public let streamID: String
        /// Canonical lower-case UUID text.
        public let visitorID: String
        public let eventType: String
        /// The event's time in Unix milliseconds: it decides the day, week and month it counts in.
        public let createdAt: Int64
        public let pageURL: String?
        /// The theme of a `cv_theme_view` or the type of a `letter_generated`, if any.
        public let dimension: RealtimeDimension
        /// Where the visit came from (`EventDimensions/referrerSource`), empty when direct or unknown.
        public var referrerSource: String = ""
        /// The visitor's country code (`EventDimensions/country`), empty when unknown.
        public var country: String = ""
    }

    /// An entry that cannot be counted (trimmed while pending, or not an event), with the reason.
    public struct DeadEntry: Sendable, Equatable {
        public let streamID: String
        /// The `reason` field of its dead letter.
        public let reason: String
    }

    /// The events to count, in stream order.
    public private(set) var entries: [Entry] = []
    /// The entries to acknowledge and send to the dead-letter stream instead.
    public private(set) var dead: [DeadEntry] = []

    /// Decodes the entries as read from the stream; none is lost: each one is either an event or a
    /// dead entry.
    public init(_ raw: [RedisStreamEntry]) {
        entries.reserveCapacity(raw.count)
        for item in raw {
            guard let fields = item.fields else {
                dead.append(DeadEntry(streamID: item.id, reason: "entry trimmed from the stream while pending"))
                continue
            }
            do {
                let event = try StreamEntryCodec.decode(fields)
                entries.append(
                    Entry(
                        streamID: item.id, visitorID: event.visitorID.lowercasedString, eventType: event.eventType,
                        createdAt: event.createdAt, pageURL: event.pageURL,
                        dimension: RealtimeDimension.of(eventType: event.eventType, eventData: event.eventData),
                        referrerSource: event.dimensions.referrerSource, country: event.dimensions.country))
            } catch {
                dead.append(DeadEntry(streamID: item.id, reason: "undecodable: \(error)"))
            }
        }
    }

    /// Whether the batch has neither events nor dead entries.
    public var isEmpty: Bool { entries.isEmpty && dead.isEmpty }
    /// Stream entries in the batch, dead ones included.
    public var count: Int { entries.count + dead.count }

    /// The distinct UTC days of the batch, in order of first appearance: the script's day groups.
    public var days: [TimeBucket] {
        var seen = Set<Int64>()
        var days: [TimeBucket] = []
        var lastDay = Int64.min
        for entry in entries {
            let day = Self.dayNumber(entry.createdAt)
            guard day != lastDay else { continue }
            lastDay = day
            if seen.insert(day).inserted { days.append(TimeBucket(epochMilliseconds: entry.createdAt)) }
        }
        return days
    }

    static func keepLatest(_ stored: inout Int64, _ ms: Int64) {
        if ms > stored { stored = ms }
    }

    /// Days since the epoch (floored, so instants before 1970 fall on the right day).
    public static func dayNumber(_ ms: Int64) -> Int64 {
        ms >= 0 ? ms / TimeBucket.millisecondsPerDay : (ms + 1) / TimeBucket.millisecondsPerDay - 1
    }

    /// The script's `KEYS` and `ARGV`, and what the caller records once the script has run.
    public struct ScriptInput: Sendable, Equatable {
        /// `KEYS`: the stream, the active-visitor set, the top themes, today's unique-visitor
        /// HyperLogLog and the dead letters, then nine keys per day group.
        public var keys: [String]
        /// `ARGV`, in the layout the script reads.
        public var arguments: [String]
        /// The visitors passed for each day (days since the epoch): once the script has run, they are
        /// in that day's HyperLogLogs.
        public var addedVisitors: [Int64: [String]] = [:]
    }

    /// Lays the batch out for the script: the counters and HyperLogLogs of each day group, the dead
    /// entries, each day's distinct visitors, the visitors' last-seen times for the active window,
    /// the day group and dimension of every entry, and the entry ids the script acknowledges.
    /// - Parameters:
    ///   - group: the consumer group the script acknowledges in.
    ///   - activeWindowMilliseconds: how long a visitor stays current.
    ///   - themeCap: the most themes kept in the top-themes set.
    ///   - today: the day whose unique visitors the script reads back.
    ///   - nowMilliseconds: entries older than the active window are left out of it here already
    ///     (the script trims by Redis's clock as well).
    ///   - throttle: decides which last-seen times are written, and records those that are.
    ///   - knownVisitors: visitors already in a day's HyperLogLogs, left out of the arguments.
    public func scriptInput(
        keyspace: RedisKeyspace, group: String, activeWindowMilliseconds: Int64, themeCap: Int, today: TimeBucket,
        nowMilliseconds: Int64, throttle: inout ActiveVisitorThrottle, knownVisitors: KnownDayVisitors = KnownDayVisitors()
    ) -> ScriptInput {
        let days = self.days
        var groupIndex: [TimeBucket: Int] = [:]
        var keys = [
            keyspace.stream, keyspace.activeVisitors, keyspace.topThemes, keyspace.uniqueVisitors(.day, today.dayName),
            keyspace.deadLetters,
        ]
        keys.reserveCapacity(AggregationScript.fixedKeys + days.count * AggregationScript.keysPerGroup)
        var arguments = [
            group, String(activeWindowMilliseconds), String(themeCap), String(days.count), String(dead.count),
            String(entries.count),
        ]
        arguments.reserveCapacity(
            arguments.count + days.count * 4 + dead.count * 2 + entries.count * (AggregationScript.argumentsPerEntry + 3))
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
        // Distinct visitors per day, and the last time each visitor was seen.
        var groupOf: [Int] = []
        groupOf.reserveCapacity(entries.count)
        var visitorsByGroup = [[String]](repeating: [], count: days.count)
        var seenByGroup = [Set<String>](repeating: [], count: days.count)
        var lastSeen: [String: Int64] = [:]
        let cutoff = nowMilliseconds - activeWindowMilliseconds
        var dayNumbers = [Int64](repeating: 0, count: days.count)
        var lastDay = Int64.min
        var g = 0
        for entry in entries {
            // Consecutive entries nearly always share a day: look the group up only when it changes.
            let day = Self.dayNumber(entry.createdAt)
            if day != lastDay {
                g = groupIndex[TimeBucket(epochMilliseconds: entry.createdAt)]!
                lastDay = day
                dayNumbers[g - 1] = day
            }
            groupOf.append(g)
            if !knownVisitors.contains(entry.visitorID, day: day), seenByGroup[g - 1].insert(entry.visitorID).inserted {
                visitorsByGroup[g - 1].append(entry.visitorID)
            }
            if entry.createdAt > cutoff {
                // One hash lookup per entry (this loop is the aggregator's hottest).
                Self.keepLatest(&lastSeen[entry.visitorID, default: .min], entry.createdAt)
            }
        }
        for visitors in visitorsByGroup {
            arguments.append(String(visitors.count))
            arguments += visitors
        }
        throttle.prune(now: nowMilliseconds)
        let activeCountIndex = arguments.count
        arguments.append("")
        var activeCount = 0
        for (visitor, ms) in lastSeen where throttle.shouldRecord(visitor, at: ms) {
            arguments.append(String(ms))
            arguments.append(visitor)
            activeCount += 1
        }
        arguments[activeCountIndex] = String(activeCount)
        // Day groups as runs (a batch is nearly always one run), dimensions only where there is one.
        var runs: [(length: Int, group: Int)] = []
        for g in groupOf {
            if let last = runs.last, last.group == g {
                runs[runs.count - 1].length += 1
            } else {
                runs.append((1, g))
            }
        }
        arguments.append(String(runs.count))
        for run in runs {
            arguments += [String(run.length), String(run.group)]
        }
        var dimensions: [String] = []
        for (i, entry) in entries.enumerated() {
            switch entry.dimension {
            case .none: continue
            case .theme(let theme): dimensions += [String(i + 1), "t" + theme]
            case .letter(let type): dimensions += [String(i + 1), "l" + type]
            }
        }
        arguments.append(String(dimensions.count / 2))
        arguments += dimensions
        arguments += entries.map(\.streamID)
        var added: [Int64: [String]] = [:]
        for (i, visitors) in visitorsByGroup.enumerated() where !visitors.isEmpty {
            added[dayNumbers[i]] = visitors
        }
        return ScriptInput(keys: keys, arguments: arguments, addedVisitors: added)
    }
}
