/// The three statistics periods of the service, all in UTC: a day, an ISO-8601 week (Monday to
/// Sunday, in the ISO week-year) and a calendar month. The raw value is the word used in Redis keys
/// and in the API's `?period=`.
public enum Period: String, Sendable, CaseIterable, Hashable {
    case day, week, month
}
