

/// The three statistics periods of the service.
public enum Period: String, Sendable, CaseIterable, Hashable {
    case day, week, month
}
