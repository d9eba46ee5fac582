import AnalyticsCore
import ArgumentParser
import Logging
import RedisClient

/// The Redis options of the subcommands that read or write the stream.
struct RedisOptions: ParsableArguments {
    @Option(help: "Redis URL") var redisURL = "redis://127.0.0.1:6379/0"
    @Option(help: "Key prefix") var keyPrefix = "analytics"

    func client(_ name: String) throws -> RedisClient {
        guard let endpoint = RedisEndpoint(url: redisURL) else { throw ValidationError("bad --redis-url") }
        var configuration = RedisClient.Configuration(endpoint: endpoint, name: name)
        configuration.commandTimeout = .seconds(30)
        configuration.queueTimeout = .seconds(60)
        return RedisClient(configuration: configuration, logger: Logger(label: "bench"))
    }

    var keyspace: RedisKeyspace { RedisKeyspace(prefix: keyPrefix) }
}
