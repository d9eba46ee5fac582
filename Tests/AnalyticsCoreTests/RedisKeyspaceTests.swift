import AnalyticsCore
import Testing

@Suite("RedisKeyspace and AggregateRetention")
struct RedisKeyspaceTests {
    @Test func defaultPrefixMatchesTheProductLayout() {
        let keys = RedisKeyspace()
        #expect(keys.prefix == "analytics")
        #expect(keys.stream == "analytics:events")
        #expect(keys.realtimeChannel == "analytics:realtime")
        #expect(keys.activeVisitors == "analytics:realtime:visitors")
        #expect(keys.topThemes == "analytics:themes:top")
        #expect(keys.totalEvents(.day, "2026-11-27") == "analytics:stats:day:2026-11-27:total_events")
        #expect(keys.totalEvents(.week, "2026-W48") == "analytics:stats:week:2026-W48:total_events")
        #expect(keys.totalEvents(.month, "2026-11") == "analytics:stats:month:2026-11:total_events")
        #expect(keys.lettersGenerated(.day, "2026-11-27") == "analytics:stats:day:2026-11-27:letters_generated")
        #expect(keys.lettersGenerated(.week, "2026-W48") == "analytics:stats:week:2026-W48:letters_generated")
        #expect(keys.lettersGenerated(.month, "2026-11") == "analytics:stats:month:2026-11:letters_generated")
        #expect(keys.uniqueVisitors(.day, "2026-11-27") == "analytics:visitors:unique:day:2026-11-27")
        #expect(keys.uniqueVisitors(.week, "2026-W48") == "analytics:visitors:unique:week:2026-W48")
        #expect(keys.uniqueVisitors(.month, "2026-11") == "analytics:visitors:unique:month:2026-11")
        #expect(keys.visitorSalt(day: "2026-11-27") == "analytics:salt:2026-11-27")
        #expect(keys.consumerAlive(group: .aggregator) == "analytics:alive:aggregator")
        #expect(keys.deadLetters == "analytics:events:dead")
    }

    @Test func customPrefixIsUsedEverywhere() {
        let keys = RedisKeyspace(prefix: "test-1:app")
        #expect(keys.stream == "test-1:app:events")
        #expect(keys.realtimeChannel == "test-1:app:realtime")
        #expect(keys.activeVisitors == "test-1:app:realtime:visitors")
        #expect(keys.topThemes == "test-1:app:themes:top")
        #expect(keys.totalEvents(.week, "2027-W01") == "test-1:app:stats:week:2027-W01:total_events")
        #expect(keys.lettersGenerated(.day, "2027-01-04") == "test-1:app:stats:day:2027-01-04:letters_generated")
        #expect(keys.uniqueVisitors(.month, "2027-01") == "test-1:app:visitors:unique:month:2027-01")
        #expect(keys.visitorSalt(day: "2027-01-04") == "test-1:app:salt:2027-01-04")
        #expect(keys.consumerAlive(group: .archiver) == "test-1:app:alive:archiver")
        #expect(keys.deadLetters == "test-1:app:events:dead")
        #expect(RedisKeyspace(prefix: "a") != RedisKeyspace(prefix: "b"))
        #expect(RedisKeyspace(prefix: "analytics") == RedisKeyspace())
    }

    @Test func bucketNamesCompose() {
        let keys = RedisKeyspace()
        let bucket = TimeBucket(date: CivilDate(year: 2027, month: 1, day: 3))
        #expect(
            Period.allCases.map { keys.totalEvents($0, bucket.name(of: $0)) } == [
                "analytics:stats:day:2027-01-03:total_events",
                "analytics:stats:week:2026-W53:total_events",
                "analytics:stats:month:2027-01:total_events",
            ])
    }

    @Test func retentionSeconds() {
        #expect(AggregateRetention.seconds(for: .day) == 7_776_000)
        #expect(AggregateRetention.seconds(for: .week) == 31_536_000)
        #expect(AggregateRetention.seconds(for: .month) == 31_536_000)
    }

    @Test func expiryCountsFromTheEndOfThePeriod() {
        let bucket = TimeBucket(date: CivilDate(year: 2026, month: 11, day: 27))
        // Day ends 2026-11-28T00:00Z (1795824000), week on Monday 2026-11-30 (1795996800),
        // month on 2026-12-01 (1796083200).
        #expect(AggregateRetention.expiry(of: bucket, .day) == 1_795_824_000 + 90 * 86_400)
        #expect(AggregateRetention.expiry(of: bucket, .week) == 1_795_996_800 + 365 * 86_400)
        #expect(AggregateRetention.expiry(of: bucket, .month) == 1_796_083_200 + 365 * 86_400)
        // 90 days after 2026-11-28 is 2027-02-26.
        #expect(
            AggregateRetention.expiry(of: bucket, .day)
                == Int64(CivilDate(year: 2027, month: 2, day: 26).daysSinceEpoch) * 86_400)
    }

    @Test func expiryOfTheLastDayOfTheYear() {
        let bucket = TimeBucket(date: CivilDate(year: 2026, month: 12, day: 31))
        #expect(AggregateRetention.expiry(of: bucket, .day) == 1_798_761_600 + 90 * 86_400)
        #expect(AggregateRetention.expiry(of: bucket, .week) == 1_799_020_800 + 365 * 86_400)
        #expect(AggregateRetention.expiry(of: bucket, .month) == 1_798_761_600 + 365 * 86_400)
    }

    @Test func everyDayOfAPeriodSharesItsWeekAndMonthExpiry() {
        let first = TimeBucket(date: CivilDate(year: 2026, month: 11, day: 1))
        for day in 2...30 {
            let b = TimeBucket(date: CivilDate(year: 2026, month: 11, day: day))
            #expect(AggregateRetention.expiry(of: b, .month) == AggregateRetention.expiry(of: first, .month))
            #expect(AggregateRetention.expiry(of: b, .day) == AggregateRetention.expiry(of: first, .day) + Int64(day - 1) * 86_400)
        }
        let monday = TimeBucket(date: CivilDate(year: 2026, month: 11, day: 23))
        for day in 24...29 {
            let b = TimeBucket(date: CivilDate(year: 2026, month: 11, day: day))
            #expect(AggregateRetention.expiry(of: b, .week) == AggregateRetention.expiry(of: monday, .week))
        }
        let nextMonday = TimeBucket(date: CivilDate(year: 2026, month: 11, day: 30))
        #expect(AggregateRetention.expiry(of: nextMonday, .week) == AggregateRetention.expiry(of: monday, .week) + 7 * 86_400)
    }
}
