import ArgumentParser

/// Load generators and measurements behind `bench/*.sh`.
@main
struct AnalyticsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics-bench",
        abstract: "Benchmarks of the analytics service (run through bench/*.sh).",
        subcommands: [
            FillStream.self, WaitDrained.self, Freshness.self, BareServer.self, EventLoad.self, WebSocketLoad.self, BotFilter.self,
        ])
}
