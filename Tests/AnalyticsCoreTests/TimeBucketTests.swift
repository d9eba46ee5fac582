import AnalyticsCore
import Testing

@Suite("TimeBucket and CivilDate")
struct TimeBucketTests {
    private func bucket(_ iso: String) throws -> TimeBucket {
        TimeBucket(date: try #require(CivilDate(iso: iso)))
    }

    // MARK: ISO week-years

    @Test(arguments: [
        ("2024-12-30", "2025-W01"),  // Monday of the week holding 2025-01-02 (a Thursday)
        ("2026-12-31", "2026-W53"),  // 2026 starts on a Thursday: 53 weeks
        ("2027-01-03", "2026-W53"),  // Sunday of that same week, in the next calendar year
        ("2027-01-04", "2027-W01"),  // the following Monday
        ("2025-12-29", "2026-W01"),
        ("2026-11-27", "2026-W48"),
        ("1970-01-01", "1970-W01"),
        ("1969-12-31", "1970-W01"),
        ("2021-01-03", "2020-W53"),  // 2020 is a leap year starting on a Wednesday
        ("2021-01-04", "2021-W01"),
        ("2022-01-01", "2021-W52"),
        ("2100-12-31", "2100-W52"),
        ("2000-03-01", "2000-W09"),
    ])
    func isoWeekNames(date: String, week: String) throws {
        #expect(try bucket(date).weekName == week)
        #expect(try bucket(date).name(of: .week) == week)
    }

    @Test func periodNamesOfAnOrdinaryDay() throws {
        let b = try bucket("2026-11-27")
        #expect(b.dayName == "2026-11-27")
        #expect(b.weekName == "2026-W48")
        #expect(b.monthName == "2026-11")
        #expect(b.name(of: .day) == "2026-11-27")
        #expect(b.name(of: .week) == "2026-W48")
        #expect(b.name(of: .month) == "2026-11")
    }

    @Test func namesAreZeroPadded() {
        let b = TimeBucket(date: CivilDate(year: 2026, month: 1, day: 5))
        #expect(b.dayName == "2026-01-05")
        #expect(b.weekName == "2026-W02")
        #expect(b.monthName == "2026-01")
        let early = TimeBucket(date: CivilDate(year: 987, month: 3, day: 4))
        #expect(early.dayName == "0987-03-04")
        #expect(early.monthName == "0987-03")
    }

    @Test func isoWeekTupleAndWeekday() {
        let d = CivilDate(year: 2027, month: 1, day: 3)
        #expect(d.isoWeek.year == 2026)
        #expect(d.isoWeek.week == 53)
        #expect(d.isoWeekday == 7)
        #expect(CivilDate(year: 1970, month: 1, day: 1).isoWeekday == 4)
        #expect(CivilDate(year: 2026, month: 11, day: 30).isoWeekday == 1)
        #expect(CivilDate(year: 1969, month: 12, day: 31).isoWeekday == 3)
        #expect(CivilDate(year: 1600, month: 1, day: 1).isoWeekday == 6)
    }

    @Test func everyDayOfAWeekHasItsMonday() {
        let monday = CivilDate(year: 2026, month: 11, day: 30)
        for offset in 0..<7 {
            #expect(CivilDate(daysSinceEpoch: monday.daysSinceEpoch + offset).monday == monday)
        }
        #expect(CivilDate(daysSinceEpoch: monday.daysSinceEpoch - 1).monday == CivilDate(year: 2026, month: 11, day: 23))
        #expect(CivilDate(year: 2027, month: 1, day: 3).monday == CivilDate(year: 2026, month: 12, day: 28))
        #expect(CivilDate(year: 1969, month: 12, day: 31).monday == CivilDate(year: 1969, month: 12, day: 29))
    }

    // MARK: bucketing from epoch milliseconds (UTC)

    @Test func epochMillisecondsAreBucketedInUTC() {
        // 2026-11-27T00:00:00Z = 1795737600 s.
        let midnight: Int64 = 1_795_737_600_000
        #expect(TimeBucket(epochMilliseconds: midnight).dayName == "2026-11-27")
        #expect(TimeBucket(epochMilliseconds: midnight - 1).dayName == "2026-11-26")
        // 23:59:59.999 UTC stays on the day, whatever the machine's time zone.
        #expect(TimeBucket(epochMilliseconds: midnight + 86_400_000 - 1).dayName == "2026-11-27")
        #expect(TimeBucket(epochMilliseconds: midnight + 86_400_000).dayName == "2026-11-28")
        #expect(TimeBucket(epochMilliseconds: 0).dayName == "1970-01-01")
        #expect(TimeBucket(epochMilliseconds: 86_399_999).dayName == "1970-01-01")
        #expect(TimeBucket(epochMilliseconds: 86_400_000).dayName == "1970-01-02")
    }

    @Test func negativeMillisecondsAreBefore1970() {
        #expect(TimeBucket(epochMilliseconds: -1).dayName == "1969-12-31")
        #expect(TimeBucket(epochMilliseconds: -86_400_000).dayName == "1969-12-31")
        #expect(TimeBucket(epochMilliseconds: -86_400_001).dayName == "1969-12-30")
        // 1600-01-01 = -11676096000 s.
        #expect(TimeBucket(epochMilliseconds: -11_676_096_000_000).dayName == "1600-01-01")
        #expect(TimeBucket(epochMilliseconds: -11_676_096_000_001).dayName == "1599-12-31")
    }

    @Test func bucketsFromTheSameDayAreEqual() {
        let a = TimeBucket(epochMilliseconds: 1_795_737_600_000)
        let b = TimeBucket(epochMilliseconds: 1_795_823_999_999)
        let c = TimeBucket(epochMilliseconds: 1_795_824_000_000)
        #expect(a == b)
        #expect(a != c)
        #expect(Set([a, b, c]).count == 2)
    }

    // MARK: end(of:)

    @Test func endOfDayWeekMonth() throws {
        let b = try bucket("2026-11-27")  // a Friday
        #expect(b.end(of: .day) == 1_795_824_000)  // 2026-11-28T00:00Z
        #expect(b.end(of: .week) == 1_795_996_800)  // Monday 2026-11-30T00:00Z
        #expect(b.end(of: .month) == 1_796_083_200)  // 2026-12-01T00:00Z
    }

    @Test func endOfWeekFromMondayAndSunday() throws {
        // Monday 2026-11-30 and Sunday 2026-12-06 end at the same instant, Monday 2026-12-07.
        let monday = try bucket("2026-11-30")
        let sunday = try bucket("2026-12-06")
        #expect(monday.end(of: .week) == 1_795_996_800 + 7 * 86_400)
        #expect(sunday.end(of: .week) == monday.end(of: .week))
    }

    @Test func endOfDecemberIsNextJanuary() throws {
        let b = try bucket("2026-12-15")
        #expect(b.end(of: .month) == 1_798_761_600)  // 2027-01-01T00:00Z
        let last = try bucket("2026-12-31")
        #expect(last.end(of: .day) == 1_798_761_600)
        #expect(last.end(of: .week) == 1_799_020_800)  // Monday 2027-01-04T00:00Z
        #expect(last.end(of: .month) == 1_798_761_600)
    }

    @Test func leapDay() throws {
        let leap = try #require(CivilDate(iso: "2024-02-29"))
        #expect(leap == CivilDate(year: 2024, month: 2, day: 29))
        #expect(leap.daysSinceEpoch == 19_782)
        let b = TimeBucket(date: leap)
        #expect(b.end(of: .day) == 1_709_251_200)  // 2024-03-01T00:00Z
        #expect(b.end(of: .month) == 1_709_251_200)
        #expect(TimeBucket(date: CivilDate(year: 2024, month: 2, day: 1)).end(of: .month) == 1_709_251_200)
        #expect(TimeBucket(epochMilliseconds: 1_709_164_800_000).dayName == "2024-02-29")
        #expect(CivilDate(daysSinceEpoch: 19_783) == CivilDate(year: 2024, month: 3, day: 1))
        #expect(CivilDate(iso: "2000-02-29") != nil)
        #expect(CivilDate(iso: "1900-02-29") == nil)
        // Int(_:) takes a sign; a date does not.
        for signed in ["2026-+1-01", "+123-01-01", "2026-01--1", "-026-01-01"] { #expect(CivilDate(iso: signed) == nil, "\(signed)") }
        #expect(CivilDate.daysIn(month: 2, year: 2024) == 29)
        #expect(CivilDate.daysIn(month: 2, year: 2025) == 28)
        #expect(CivilDate.daysIn(month: 2, year: 2000) == 29)
        #expect(CivilDate.daysIn(month: 2, year: 2100) == 28)
        #expect(CivilDate.daysIn(month: 4, year: 2026) == 30)
        #expect(CivilDate.daysIn(month: 12, year: 2026) == 31)
    }

    // MARK: CivilDate(iso:)

    @Test func parsesValidISODates() throws {
        let d = try #require(CivilDate(iso: "2026-11-27"))
        #expect(d.year == 2026 && d.month == 11 && d.day == 27)
        #expect(d.isoString == "2026-11-27")
        #expect(CivilDate(iso: "2026-12-31") == CivilDate(year: 2026, month: 12, day: 31))
        #expect(CivilDate(iso: "2026-04-30") != nil)
        #expect(CivilDate(iso: "2026-11-27"[...]) == d)  // any StringProtocol
    }

    @Test(arguments: [
        "2025-02-29", "2026-13-01", "2026-00-10", "2026-11-00", "2026-11-31", "2026-04-31", "2026-1-01", "2026-01-1",
        "26-01-01", "20261127", "2026/11/27", "2026-11-27T00:00", " 2026-11-27", "2026-11-27 ", "", "abcd-ef-gh",
        "2026-11", "2026-11-27-01", "2026--11-27",
    ])
    func rejectsInvalidISODates(text: String) {
        #expect(CivilDate(iso: text) == nil)
    }

    @Test func ordering() {
        #expect(CivilDate(year: 2026, month: 11, day: 27) < CivilDate(year: 2026, month: 11, day: 28))
        #expect(CivilDate(year: 2026, month: 11, day: 30) < CivilDate(year: 2026, month: 12, day: 1))
        #expect(CivilDate(year: 2025, month: 12, day: 31) < CivilDate(year: 2026, month: 1, day: 1))
        #expect(!(CivilDate(year: 2026, month: 1, day: 1) < CivilDate(year: 2026, month: 1, day: 1)))
    }

    @Test func knownDayNumbers() {
        #expect(CivilDate(year: 1970, month: 1, day: 1).daysSinceEpoch == 0)
        #expect(CivilDate(year: 1969, month: 12, day: 31).daysSinceEpoch == -1)
        #expect(CivilDate(year: 2000, month: 3, day: 1).daysSinceEpoch == 11_017)
        #expect(CivilDate(year: 2026, month: 11, day: 27).daysSinceEpoch == 20_784)
        #expect(CivilDate(year: 1600, month: 1, day: 1).daysSinceEpoch == -135_140)
        #expect(CivilDate(year: 2100, month: 12, day: 31).daysSinceEpoch == 47_846)
        #expect(CivilDate(daysSinceEpoch: 20_784) == CivilDate(year: 2026, month: 11, day: 27))
        #expect(CivilDate(daysSinceEpoch: -135_140) == CivilDate(year: 1600, month: 1, day: 1))
    }

    // MARK: properties over many days

    /// Walks day by day from 1600-01-01 to 2400-12-31 by civil arithmetic (independent of the
    /// day-number formulas) and checks that day numbers, ISO weekdays and ISO weeks agree.
    @Test func roundTripAndISOWeeksOverEightCenturies() {
        var date = CivilDate(year: 1600, month: 1, day: 1)
        var expectedDays = -135_140
        var expectedWeekday = 6  // 1600-01-01 was a Saturday
        var previousWeek = date.isoWeek
        var failures = 0
        while date.year <= 2400 {
            let days = date.daysSinceEpoch
            let back = CivilDate(daysSinceEpoch: days)
            let week = date.isoWeek
            var ok = days == expectedDays && back == date && date.isoWeekday == expectedWeekday
            ok = ok && (1...53).contains(week.week)
            // The ISO year is the calendar year or an adjacent one, and only around New Year.
            if week.year != date.year {
                ok =
                    ok
                    && ((date.month == 1 && date.day <= 3 && week.year == date.year - 1 && week.week >= 52)
                        || (date.month == 12 && date.day >= 29 && week.year == date.year + 1 && week.week == 1))
            }
            if expectedWeekday == 1 {
                // Monday starts a week: the next week number, or week 1 of the next ISO year.
                ok =
                    ok
                    && ((week.year == previousWeek.year && week.week == previousWeek.week + 1)
                        || (week.year == previousWeek.year + 1 && week.week == 1 && previousWeek.week >= 52))
            } else if days != -135_140 {
                ok = ok && week == previousWeek
            }
            // A week-53 only exists in years that start on a Thursday, or leap years starting on a Wednesday.
            if week.week == 53 {
                let jan1 = CivilDate(year: week.year, month: 1, day: 1).isoWeekday
                let leap = CivilDate.daysIn(month: 2, year: week.year) == 29
                ok = ok && (jan1 == 4 || (leap && jan1 == 3))
            }
            if !ok {
                failures += 1
                if failures <= 5 { Issue.record("inconsistent at \(date.isoString): days \(days), week \(week)") }
            }

            previousWeek = week
            expectedDays += 1
            expectedWeekday = expectedWeekday % 7 + 1
            if date.day < CivilDate.daysIn(month: date.month, year: date.year) {
                date.day += 1
            } else if date.month < 12 {
                date = CivilDate(year: date.year, month: date.month + 1, day: 1)
            } else {
                date = CivilDate(year: date.year + 1, month: 1, day: 1)
            }
        }
        #expect(failures == 0)
        #expect(expectedDays == CivilDate(year: 2401, month: 1, day: 1).daysSinceEpoch)
    }

    @Test func december28IsAlwaysInTheLastWeekAndJanuary4InTheFirst() {
        for year in 1900...2200 {
            let dec28 = CivilDate(year: year, month: 12, day: 28).isoWeek
            let jan4 = CivilDate(year: year, month: 1, day: 4).isoWeek
            #expect(dec28.year == year && (dec28.week == 52 || dec28.week == 53), "\(year)")
            #expect(jan4.year == year && jan4.week == 1, "\(year)")
        }
    }

    @Test func bucketMatchesDateForEveryHourOfAYear() {
        // Every hour of 2024 (a leap year) lands on the day of its own day number.
        let start = Int64(CivilDate(year: 2024, month: 1, day: 1).daysSinceEpoch) * 86_400_000
        for hour in 0..<(366 * 24) {
            let ms = start + Int64(hour) * 3_600_000 + 3_599_999
            let b = TimeBucket(epochMilliseconds: ms)
            #expect(Int64(b.date.daysSinceEpoch) == ms / 86_400_000)
            #expect(b.date.year == 2024)
        }
    }
}
