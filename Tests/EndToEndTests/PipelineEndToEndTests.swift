import AnalyticsCore
import Foundation
import RedisClient
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real executables against throwaway Redis and PostgreSQL servers.
@Suite("Gateway, aggregator and archiver end to end")
struct PipelineEndToEndTests {
    @Test func everyRouteAnswersFromTheRealProcesses() async throws {
        let stack = try await ServiceStack()
        defer { Task { await stack.shutdown() } }
        let http = stack.http
        let cookie = [("Cookie", "analytics_vid=\(UUID().lowercasedString)")]
        for body in [
            #"{"event_type":"cv_theme_view","event_data":{"theme":"backend"}}"#,
            #"{"event_type":"cv_theme_view","event_data":{"theme":"backend"}}"#,
            #"{"event_type":"cv_theme_view","event_data":{"theme":"data"}}"#,
            #"{"event_type":"letter_generated","event_data":{"type":"motivation"}}"#,
            #"{"event_type":"letter_generated","event_data":{"type":"anti_motivation"}}"#,
        ] {
            #expect(try await http.post("/api/analytics/event", body: body, headers: cookie).status == 201)
        }
        #expect(try await http.get("/demo", headers: cookie).status == 200)
        #expect(await eventually { (try? await http.get("/api/analytics/stats?period=day"))?.data["total_events"] as? Int == 6 })
        for period in ["day", "week", "month"] {
            let stats = try await http.get("/api/analytics/stats?period=\(period)")
            #expect(stats.data["total_events"] as? Int == 6)
            #expect(stats.data["letters_generated"] as? Int == 2)
            #expect(stats.data["unique_visitors"] as? Int == 1)
            #expect(try await http.get("/api/analytics/letters?period=\(period)").data["letters_generated"] as? Int == 2)
        }
        let realtime = try await http.get("/api/analytics/realtime")
        #expect(realtime.data["current_visitors"] as? Int == 1)
        #expect(realtime.data["unique_today"] as? Int == 1)
        let themes = try await http.get("/api/analytics/themes?limit=1")
        #expect((themes.json["data"] as? [[String: Any]])?.first?["theme"] as? String == "backend")
        #expect((themes.json["data"] as? [[String: Any]])?.first?["views"] as? Int == 2)

        // Both processes' metrics pass promtool and carry true business values.
        let gatewayMetrics = try await http.get("/metrics").body
        let aggregatorMetrics = try await stack.aggregatorAdmin.get("/metrics").body
        for exposition in [gatewayMetrics, aggregatorMetrics] {
            let check = try promtoolCheck(exposition)
            #expect(check.status == 0, "\(check.output)")
        }
        #expect(aggregatorMetrics.contains(#"maicivy_events_total{event_type="cv_theme_view"} 3"#))
        #expect(aggregatorMetrics.contains(#"maicivy_events_total{event_type="pageview"} 1"#))
        #expect(aggregatorMetrics.contains(#"maicivy_letters_generated_total{type="motivation"} 1"#))
        #expect(aggregatorMetrics.contains(#"maicivy_cv_theme_views{theme="backend"} 2"#))
        #expect(aggregatorMetrics.contains("maicivy_visitors_total 1"))
        #expect(aggregatorMetrics.contains("maicivy_current_visitors 1"))
        #expect(try await stack.aggregatorAdmin.get("/healthz").status == 200)
    }

    @Test func killingTheAggregatorRepeatedlyUnderLoadCountsEveryEventOnce() async throws {
        let stack = try await ServiceStack()
        defer { Task { await stack.shutdown() } }
        let tally = try await stack.underLoad(concurrency: 8) {
            try await stack.crashRepeatedly(stack.aggregator, times: 5, every: .milliseconds(700))
        }
        let expected = tally.accepted
        #expect(expected > 500, "the load should have been real")
        #expect(tally.other == 0, "no request may fail while only the aggregator dies")
        let settled = await eventually(timeout: .seconds(30)) { (try? await stack.countedEvents()) == expected }
        let counted = try await stack.countedEvents()
        #expect(settled, "counted \(counted), accepted \(expected)")
        // And nothing more arrives later.
        try await Task.sleep(for: .seconds(1))
        #expect(try await stack.countedEvents() == expected)
        #expect(try await stack.client.send("XLEN", stack.keyspace.stream).int == expected)
    }

    @Test func redisStoppedUnderLoadGives503sThenRecovers() async throws {
        let stack = try await ServiceStack()
        defer { Task { await stack.shutdown() } }
        struct Tally { var created = 0, unavailable = 0, unavailableWithRetry = 0, otherStatus = 0, failed = 0 }
        let tally = Locked(Tally())
        let stop = Locked(false)
        let load = Task {
            await ServiceStack.load(stack.http, concurrency: 4, stop: stop) { status, retryAfter in
                tally.withLock {
                    switch status {
                    case 201: $0.created += 1
                    case 503:
                        $0.unavailable += 1
                        if retryAfter == "1" { $0.unavailableWithRetry += 1 }
                    case -1: $0.failed += 1
                    default: $0.otherStatus += 1
                    }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        await stack.redis.stop()
        let down = tally.withLock { $0 }
        // While Redis is down, answers keep coming quickly: 503 with Retry-After.
        let start = ContinuousClock.now
        let probe = try await stack.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#)
        #expect(probe.status == 503)
        #expect(ContinuousClock.now - start < .seconds(1))
        try await Task.sleep(for: .seconds(1))
        try await stack.redis.start()
        let recovered = await eventually(timeout: .seconds(10)) {
            (try? await stack.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#))?.status == 201
        }
        #expect(recovered)
        let afterRecovery = tally.withLock { $0.created }
        try await Task.sleep(for: .milliseconds(500))
        stop.withLock { $0 = true }
        await load.value
        let final = tally.withLock { $0 }
        #expect(down.created > 0)
        #expect(final.unavailable > 0)
        #expect(final.unavailable == final.unavailableWithRetry)
        #expect(final.otherStatus == 0)
        #expect(final.failed == 0, "no request may hang or be dropped")
        #expect(final.created > afterRecovery, "the load is accepted again")
        // The aggregator finds its group gone with the old Redis and goes on counting.
        #expect(await eventually(timeout: .seconds(15)) { (try? await stack.http.get("/readyz"))?.status == 200 })
    }

    @Test func badConfigurationStopsAProcessWithAClearMessage() async throws {
        let directory = TemporaryDirectory()
        for (executable, variable, value) in [
            (ServiceExecutable.gateway, "ANALYTICS_HTTP_PORT", "99999"), (.aggregator, "ANALYTICS_REDIS_URL", "http://nope"),
            (.gateway, "ANALYTICS_TRUSTED_PROXIES", "10.0.0.0/99"),
        ] {
            let process = try ServiceProcess(executable, environment: [variable: value], directory: directory.url)
            let status = await process.process?.waitForExit(timeout: .seconds(10))
            #expect(status == 78)
            #expect(process.output.contains(variable))
        }
    }

    @Test func everyExecutableExplainsItselfAndRefusesUnknownArguments() async throws {
        let directory = TemporaryDirectory()
        for executable in [ServiceExecutable.gateway, .aggregator, .wshub, .supervisor, .archiver] {
            func run(_ arguments: [String]) async throws -> (status: Int32?, output: String) {
                let process = try ChildProcess(
                    executable: BuildProducts.executable(executable.rawValue), arguments: arguments, environment: [:],
                    logDirectory: directory.url, name: "\(executable.rawValue)-\(arguments.joined())")
                return (await process.waitForExit(timeout: .seconds(10)), process.output)
            }
            let help = try await run(["--help"])
            #expect(help.status == 0, "\(executable)")
            #expect(help.output.contains(executable.rawValue))
            #expect(help.output.contains("ANALYTICS_REDIS_URL") && help.output.contains("--redis-url"))
            let unknown = try await run(["--no-such-flag"])
            #expect(unknown.status == 64, "\(executable): \(unknown.output)")
        }
    }
}
