/// What a `RedisClient` reports about itself (implemented over Prometheus by the services).
public protocol RedisClientMetrics: Sendable {
    /// One pipeline written and fully answered.
    /// - Parameters:
    ///   - commands: the commands in the pipeline, from every request written with it.
    ///   - duration: from the first write to the last reply.
    func recordRoundTrip(commands: Int, duration: Duration)
    /// A connection was made (true), or an attempt failed or the connection broke (false); called on
    /// every change and every failed attempt.
    func setConnected(_ connected: Bool)
}
