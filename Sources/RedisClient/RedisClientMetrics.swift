/// What a `RedisClient` reports about itself (implemented over Prometheus by the services).
public protocol RedisClientMetrics: Sendable {
    /// One pipeline written and fully answered.
    func recordRoundTrip(commands: Int, duration: Duration)
    func setConnected(_ connected: Bool)
}
