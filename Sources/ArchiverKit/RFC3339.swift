import AnalyticsCore
import Foundation

/// RFC 3339 timestamps with integer arithmetic only (Foundation's formatters cost more than the rest of
/// a line). The `created_at` of an ``ArchiveLine``.
public enum RFC3339 {
    /// `2026-11-27T13:46:30.123Z`: always UTC, always milliseconds, the year on four digits.
    public static func format(milliseconds: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        append(milliseconds: milliseconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the text of ``format(milliseconds:)`` to `out`, without an intermediate string.
    public static func append(milliseconds ms: Int64, to out: inout [UInt8]) {
        let perDay = TimeBucket.millisecondsPerDay
        var days = ms / perDay
        var inDay = ms % perDay
        if inDay < 0 {
            days -= 1
            inDay += perDay
        }
        let date = CivilDate(daysSinceEpoch: Int(days))
        let t = Int(inDay)
        appendDigits(date.year, 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(date.month, 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(date.day, 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(t / 3_600_000, 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(t / 60_000 % 60, 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(t / 1000 % 60, 2, to: &out)
        out.append(UInt8(ascii: "."))
        appendDigits(t % 1000, 3, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// Milliseconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    ///
    /// Accepts what other tools write: `t`/`z` in lower case, a space instead of `T` (PostgreSQL's text
    /// output), a fraction of any length (truncated to milliseconds), offsets as `±HH:MM`, `±HHMM` or `±HH`,
    /// and a leap second (`:60`, counted as the first second of the next minute, as PostgreSQL does).
    /// Nil for anything else, including impossible dates such as February 30.
    /// - Returns: Unix milliseconds, or nil.
    public static func parse(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    /// ``parse(_:)`` of UTF-8 bytes, without making a string.
    public static func parse(bytes s: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0

        func digits(_ count: Int) -> Int? {
            guard s.count - i >= count else { return nil }
            var value = 0
            for _ in 0..<count {
                let d = Int(s[i]) - 0x30
                guard d >= 0, d <= 9 else { return nil }
                value = value * 10 + d
                i += 1
            }
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard i < s.count, s[i] == byte else { return false }
            i += 1
            return true
        }

        guard let year = digits(4), expect(UInt8(ascii: "-")), let month = digits(2), expect(UInt8(ascii: "-")),
            let day = digits(2)
        else { return nil }
        guard i < s.count, s[i] == UInt8(ascii: "T") || s[i] == UInt8(ascii: "t") || s[i] == UInt8(ascii: " ")
        else { return nil }
        i += 1
        guard let hour = digits(2), expect(UInt8(ascii: ":")), let minute = digits(2), expect(UInt8(ascii: ":")),
            let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: year),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }

        var millis = 0
        if i < s.count, s[i] == UInt8(ascii: ".") {
            i += 1
            var count = 0
            while i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
                if count < 3 { millis = millis * 10 + Int(s[i] - 0x30) }
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 3) { millis *= 10 }
        }

        guard i < s.count else { return nil }
        var offsetMinutes = 0
        switch s[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = s[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let hours = digits(2), hours <= 23 else { return nil }
            var minutes = 0
            if i < s.count {
                _ = expect(UInt8(ascii: ":"))
                guard let m = digits(2), m <= 59 else { return nil }
                minutes = m
            }
            offsetMinutes = sign * (hours * 60 + minutes)
        default:
            return nil
        }
        guard i == s.count else { return nil }

        let days = Int64(CivilDate(year: year, month: month, day: day).daysSinceEpoch)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    /// `value` in decimal, zero-padded to `width` digits, without an intermediate allocation.
    private static func appendDigits(_ value: Int, _ width: Int, to out: inout [UInt8]) {
        var v = value
        if v < 0 {
            out.append(UInt8(ascii: "-"))
            v = -v
        }
        var divisor = 1
        var count = 1
        while count < width || v / divisor >= 10 {
            divisor *= 10
            count += 1
        }
        while divisor > 0 {
            out.append(UInt8(0x30 + v / divisor % 10))
            divisor /= 10
        }
    }
}
