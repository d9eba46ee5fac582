import AnalyticsCore
import ArgumentParser
import Foundation
import Synchronization

/// `load`: sends events to the gateway at a steady rate and nothing else (the open-loop load of
/// `freshness`, alone). Prints what was accepted, for the scripts that compare it with what came out.
///
/// Each connection is a thread with a blocking keep-alive socket: the load must cost the machine as
/// little as possible, since it shares the cores with what it measures (AsyncHTTPClient cost
/// several times more CPU per event).
struct EventLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load", abstract: "Sends click events to the gateway at a fixed rate (open loop).")
    @Option(help: "Gateway base URL (http://host:port)") var url = "http://127.0.0.1:8080"
    @Option(help: "Events per second") var rate = 1000
    @Option(help: "Seconds to send") var duration = 30
    @Option(help: "Concurrent connections") var connections = 32
    @Flag(
        help: """
            Give each event its own id (UUIDv7) and send it again, with the same id, until it is answered 201 \
            (as the tracker does): 'accepted' is then the number of distinct events acknowledged.
            """)
    var retryUntilAcknowledged = false

    func validate() throws {
        guard rate > 0, duration > 0, connections > 0 else { throw ValidationError("--rate, --duration and --connections must be > 0") }
        guard HTTPTarget(url: url) != nil else { throw ValidationError("--url must be http://host:port") }
    }

    func run() async throws {
        let target = HTTPTarget(url: url)!
        let start = ContinuousClock.now
        let stopAt = start + .seconds(duration)
        let interval = Duration.seconds(Double(connections) / Double(rate))
        let total = Mutex(Tally())
        let finished = DispatchGroup()
        let ids = UUIDv7Generator()
        let retryUntilAcknowledged = retryUntilAcknowledged
        for worker in 0..<connections {
            finished.enter()
            Thread { [connections] in
                // Each connection sends its share of the rate on a fixed schedule: a slow answer does
                // not lower the offered rate unless it takes longer than the interval.
                var tally = Tally()
                var connection: HTTPConnection?
                var next = start + interval * (Double(worker) / Double(connections))
                var i = worker
                while next < stopAt {
                    Thread.sleep(forTimeInterval: max(0, seconds(next - ContinuousClock.now)))
                    i += connections
                    let id = retryUntilAcknowledged ? #","id":"\#(ids.next().lowercasedString)""# : ""
                    let body =
                        #"{"event_type":"click","event_data":{"button":"cta","n":\#(i)},"page_url":"https://example.test/page/\#(i % 50)?q=1"\#(id)}"#
                    var pause = Duration.milliseconds(100)
                    while true {
                        let sent = ContinuousClock.now
                        if connection == nil { connection = HTTPConnection(target) }
                        tally.attempts += 1
                        let status = connection?.post(path: "/api/analytics/event", json: body)
                        if let status {
                            if status == 201 { tally.accepted += 1 } else { tally.refused += 1 }
                            tally.latencies.append(seconds(ContinuousClock.now - sent) * 1000)
                        } else {
                            // No answer (refused, reset, timed out): the event may or may not have been
                            // accepted; a new connection for the next one.
                            tally.failed += 1
                            connection = nil
                        }
                        // Without ids a retry could store the event twice: only with ids is it sent again.
                        guard retryUntilAcknowledged, status != 201 else { break }
                        guard ContinuousClock.now < stopAt + .seconds(120) else {
                            tally.givenUp += 1
                            break
                        }
                        Thread.sleep(forTimeInterval: seconds(pause))
                        pause = min(pause * 2, .seconds(2))
                    }
                    next += interval
                    if ContinuousClock.now > next + .seconds(1) {
                        tally.behind += 1
                        next = ContinuousClock.now
                    }
                }
                total.withLock { $0.merge(tally) }
                finished.leave()
            }.start()
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            finished.notify(queue: .global()) { done.resume() }
        }
        let elapsed = seconds(ContinuousClock.now - start)
        let results = total.withLock { $0 }
        let latencies = results.latencies.sorted()
        func pct(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print(
            String(
                format:
                    "load: %d events/s requested for %d s over %d connections: %d accepted (%.0f/s), %d other status, %d failed; answer p50 %.2f ms, p99 %.2f ms",
                rate, duration, connections, results.accepted, Double(results.accepted) / elapsed, results.refused, results.failed,
                pct(0.5), pct(0.99)) + (results.behind > 0 ? " (fell more than 1 s behind \(results.behind) times)" : ""))
        print("accepted=\(results.accepted)")
        if retryUntilAcknowledged {
            print(
                String(
                    format: "retried until acknowledged: %d requests for %d events, %.2f %% answered 201; %d events given up",
                    results.attempts, results.accepted + results.givenUp, 100 * Double(results.accepted) / Double(max(1, results.attempts)),
                    results.givenUp))
            print("availability=\(String(format: "%.4f", Double(results.accepted) / Double(max(1, results.attempts))))")
            print("given_up=\(results.givenUp)")
        }
    }

    struct Tally: Sendable {
        var accepted = 0
        var refused = 0
        var failed = 0
        var behind = 0
        var attempts = 0
        var givenUp = 0
        var latencies: [Double] = []

        mutating func merge(_ other: Tally) {
            accepted += other.accepted
            refused += other.refused
            failed += other.failed
            behind += other.behind
            attempts += other.attempts
            givenUp += other.givenUp
            latencies += other.latencies
        }
    }
}
