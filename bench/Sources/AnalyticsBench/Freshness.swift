import AnalyticsCore
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Freshness: the time from a 201 to the change being visible on the REST API, under a steady load.
/// The load sends `click` events at `--rate`; a probe alone sends `letter_generated` events, one at
/// a time, and polls `/api/analytics/letters?period=day` until its letter is counted.
struct Freshness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "freshness")
    @Option(help: "Gateway base URL") var url = "http://127.0.0.1:8080"
    @Option(help: "Background events per second") var rate = 5000
    @Option(help: "Seconds to measure") var duration = 20
    @Option(help: "Concurrent load connections") var connections = 32

    func run() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections + 4)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let stopAt = ContinuousClock.now + .seconds(duration)
        let loadCounts = LoadTally()

        async let load: Void = runLoad(client: client, until: stopAt, tally: loadCounts)
        // Let the load settle before probing.
        try await Task.sleep(for: .seconds(1))
        var latencies: [Double] = []
        var probeFailures = 0
        while ContinuousClock.now < stopAt {
            do {
                let before = try await letters(client)
                let posted = try await post(client, #"{"event_type":"letter_generated","event_data":{"type":"motivation"}}"#)
                guard posted == 201 else {
                    probeFailures += 1
                    continue
                }
                let accepted = ContinuousClock.now
                while try await letters(client) <= before {
                    if ContinuousClock.now - accepted > .seconds(5) { throw ValidationError("a probe never became visible") }
                }
                latencies.append(seconds(ContinuousClock.now - accepted) * 1000)
            } catch let error as ValidationError {
                throw error
            } catch {
                probeFailures += 1
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await load
        try await client.shutdown()

        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        let sent = loadCounts.created + loadCounts.other
        print(
            String(
                format: "load: %d events/s requested, %.0f events/s sent, %d non-201",
                rate, Double(sent) / Double(duration - 0), loadCounts.other))
        print(
            String(
                format: "freshness over %d probes: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%d probe failures)",
                latencies.count, percentile(0.5), percentile(0.9), percentile(0.99), latencies.last ?? .nan, probeFailures))
    }

    final class LoadTally: @unchecked Sendable {
        // Guarded by `lock`: updated from the load tasks.
        private let lock = NSLock()
        private var _created = 0
        private var _other = 0
        func record(_ status: Int) {
            lock.lock()
            if status == 201 { _created += 1 } else { _other += 1 }
            lock.unlock()
        }
        var created: Int {
            lock.lock()
            defer { lock.unlock() }
            return _created
        }
        var other: Int {
            lock.lock()
            defer { lock.unlock() }
            return _other
        }
    }

    /// Each connection sends its share of `rate` on a fixed schedule (open loop: a slow answer does
    /// not lower the offered rate unless it takes longer than the interval).
    func runLoad(client: HTTPClient, until stopAt: ContinuousClock.Instant, tally: LoadTally) async throws {
        let interval = Duration.seconds(Double(connections) / Double(rate))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<connections {
                group.addTask {
                    var next = ContinuousClock.now + interval * (Double(worker) / Double(connections))
                    var i = 0
                    while next < stopAt {
                        try? await Task.sleep(until: next)
                        i += 1
                        let status = (try? await post(client, #"{"event_type":"click","event_data":{"n":\#(i)}}"#)) ?? -1
                        tally.record(status)
                        next += interval
                        if ContinuousClock.now > next + .seconds(1) { next = ContinuousClock.now }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    func post(_ client: HTTPClient, _ body: String) async throws -> Int {
        var request = HTTPClientRequest(url: url + "/api/analytics/event")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(5))
        _ = try await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }

    func letters(_ client: HTTPClient) async throws -> Int {
        let response = try await client.execute(HTTPClientRequest(url: url + "/api/analytics/letters?period=day"), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 16)
        let json = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
        return (json?["data"] as? [String: Any])?["letters_generated"] as? Int ?? 0
    }
}
