import AnalyticsCore
import RedisClient

/// `/readyz`: the gateway can take events (Redis answers) and the events will be counted (every
/// consumer group the service needs has a live consumer, proven by its expiring "alive" key).
public struct ReadinessProbe: Sendable {
    let redis: RedisClient
    let keyspace: RedisKeyspace
    let requiredGroups: [ConsumerGroup]

    /// - Parameters:
    ///   - redis: the client that asks Redis.
    ///   - keyspace: names the consumers' `alive` keys.
    ///   - requiredGroups: the groups whose live consumers readiness requires.
    public init(redis: RedisClient, keyspace: RedisKeyspace, requiredGroups: [ConsumerGroup] = ConsumerGroup.allCases) {
        self.redis = redis
        self.keyspace = keyspace
        self.requiredGroups = requiredGroups
    }

    /// The reasons the gateway is not ready; empty when ready. One pipelined round trip, given
    /// 500 ms: a Redis that does not answer in time makes the gateway not ready.
    public func problems() async -> [String] {
        var commands = [RedisCommand("PING")]
        commands += requiredGroups.map { RedisCommand("EXISTS", keyspace.consumerAlive(group: $0)) }
        let replies: [RedisValue]
        do {
            replies = try await redis.pipeline(commands, timeout: .milliseconds(500))
        } catch {
            return ["redis: \(error)"]
        }
        var problems: [String] = []
        if replies[0] != .status("PONG") { problems.append("redis: PING answered \(replies[0])") }
        for (group, reply) in zip(requiredGroups, replies.dropFirst()) where reply.int != 1 {
            problems.append("\(group): no live consumer")
        }
        return problems
    }
}
