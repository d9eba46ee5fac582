import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `load`: sends events to the gateway at a steady rate and nothing else (the open-loop load of
/// `freshness`, alone). Prints what was accepted, for the scripts that compare it with what came out.
struct EventLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load", abstract: "Sends click events to the gateway at a fixed rate (open loop).")
    @Option(help: "Gateway base URL") var url = "http://127.0.0.1:8080"
    @Option(help: "Events per second") var rate = 1000
    @Option(help: "Seconds to send") var duration = 30
    @Option(help: "Concurrent connections") var connections = 32

    func validate() throws {
        guard rate > 0, duration > 0, connections > 0 else { throw ValidationError("--rate, --duration and --connections must be > 0") }
    }

    func run() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let start = ContinuousClock.now
        let stopAt = start + .seconds(duration)
        let interval = Duration.seconds(Double(connections) / Double(rate))
        let target = url + "/api/analytics/event"
        let connections = self.connections

        // Each connection sends its share of the rate on a fixed schedule: a slow answer does not
        // lower the offered rate unless it takes longer than the interval.
        let results = try await withThrowingTaskGroup(of: Tally.self) { group in
            for worker in 0..<connections {
                group.addTask {
                    var tally = Tally()
                    var next = start + interval * (Double(worker) / Double(connections))
                    var i = worker
                    while next < stopAt {
                        try? await Task.sleep(until: next, clock: .continuous)
                        i += connections
                        let body = #"{"event_type":"click","event_data":{"button":"cta","n":\#(i)},"page_url":"https://example.test/page/\#(i % 50)?q=1"}"#
                        let sent = ContinuousClock.now
                        var request = HTTPClientRequest(url: target)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: body))
                        do {
                            let response = try await client.execute(request, timeout: .seconds(5))
                            _ = try await response.body.collect(upTo: 1 << 16)
                            if response.status.code == 201 { tally.accepted += 1 } else { tally.refused += 1 }
                            tally.latencies.append(seconds(ContinuousClock.now - sent) * 1000)
                        } catch {
                            tally.failed += 1
                        }
                        next += interval
                        if ContinuousClock.now > next + .seconds(1) {
                            tally.behind += 1
                            next = ContinuousClock.now
                        }
                    }
                    return tally
                }
            }
            var total = Tally()
            for try await t in group {
                total.accepted += t.accepted
                total.refused += t.refused
                total.failed += t.failed
                total.behind += t.behind
                total.latencies += t.latencies
            }
            return total
        }
        let elapsed = seconds(ContinuousClock.now - start)
        try await client.shutdown()
        let latencies = results.latencies.sorted()
        func pct(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print(String(
            format: "load: %d events/s requested for %d s over %d connections: %d accepted (%.0f/s), %d other status, %d failed; answer p50 %.2f ms, p99 %.2f ms",
            rate, duration, connections, results.accepted, Double(results.accepted) / elapsed, results.refused, results.failed,
            pct(0.5), pct(0.99)) + (results.behind > 0 ? " (fell more than 1 s behind \(results.behind) times)" : ""))
        print("accepted=\(results.accepted)")
    }

    struct Tally: Sendable {
        var accepted = 0
        var refused = 0
        var failed = 0
        var behind = 0
        var latencies: [Double] = []
    }
}
