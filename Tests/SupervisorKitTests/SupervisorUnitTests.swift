import AnalyticsCore
import Foundation
import ServiceSupport
import SupervisorKit
import TestSupport
import Testing

@Suite("Supervisor: restart policy, worker plan, notify protocol")
struct SupervisorUnitTests {
    @Test func backoffGrowsWithJitterAndResetsAfterAStableRun() {
        var policy = RestartPolicy()
        let t0 = ContinuousClock.now
        #expect(policy.workerEnded(at: t0, uptime: .seconds(1), jitter: 0.5) == .restart(after: .milliseconds(100)))
        #expect(policy.workerEnded(at: t0 + .seconds(1), uptime: .seconds(1), jitter: 0.5) == .restart(after: .milliseconds(200)))
        #expect(policy.workerEnded(at: t0 + .seconds(2), uptime: .seconds(1), jitter: 0) == .restart(after: .milliseconds(320)))
        #expect(policy.workerEnded(at: t0 + .seconds(3), uptime: .seconds(1), jitter: 1) == .restart(after: .milliseconds(960)))
        // A long, healthy run starts the backoff over.
        #expect(policy.workerEnded(at: t0 + .seconds(40), uptime: .seconds(35), jitter: 0.5) == .restart(after: .milliseconds(100)))
    }

    @Test func backoffIsCapped() {
        var policy = RestartPolicy()
        policy.maximumRestarts = 100
        policy.window = .seconds(1)
        var last: RestartPolicy.Decision = .giveUp
        for i in 0..<20 {
            last = policy.workerEnded(at: ContinuousClock.now + .seconds(2 * i), uptime: .zero, jitter: 0.5)
        }
        #expect(last == .restart(after: .seconds(10)))
    }

    @Test func moreThanFiveRestartsInAMinuteGivesUp() {
        var policy = RestartPolicy()
        let t0 = ContinuousClock.now
        for i in 0..<5 {
            guard case .restart = policy.workerEnded(at: t0 + .seconds(i), uptime: .zero, jitter: 0.5) else {
                Issue.record("restart \(i) refused")
                return
            }
        }
        #expect(policy.workerEnded(at: t0 + .seconds(5), uptime: .zero, jitter: 0.5) == .giveUp)
        // Spread over more than the window, the same number of exits is fine.
        var patient = RestartPolicy()
        for i in 0..<12 {
            #expect(patient.workerEnded(at: t0 + .seconds(15 * i), uptime: .seconds(14), jitter: 0.5) != .giveUp)
        }
    }

    @Test func aWorkerKilledAfterItBecameReadyIsRestartedHoweverOftenWithinASecond() {
        var policy = RestartPolicy()
        let t0 = ContinuousClock.now
        // Killed every 3 s for a minute, each time after saying READY=1: 20 restarts, none refused.
        for i in 0..<20 {
            let decision = policy.workerEnded(at: t0 + .seconds(3 * i), uptime: .seconds(3), becameReady: true, jitter: 1)
            guard case .restart(let delay) = decision else {
                Issue.record("restart \(i) refused")
                return
            }
            #expect(delay <= .milliseconds(1200))
        }
        // The same worker failing to come up afterwards still meets the intensity limit.
        for i in 0..<5 {
            #expect(policy.workerEnded(at: t0 + .seconds(61 + i), uptime: .milliseconds(50), jitter: 0.5) != .giveUp)
        }
        #expect(policy.workerEnded(at: t0 + .seconds(67), uptime: .milliseconds(50), jitter: 0.5) == .giveUp)
    }

    @Test func aWorkerThatCrashesWithinSecondsOfBecomingReadyIsACrashLoop() {
        var policy = RestartPolicy()
        let t0 = ContinuousClock.now
        for i in 0..<5 {
            #expect(policy.workerEnded(at: t0 + .seconds(i), uptime: .milliseconds(500), becameReady: true, jitter: 0.5) != .giveUp)
        }
        #expect(policy.workerEnded(at: t0 + .seconds(5), uptime: .milliseconds(500), becameReady: true, jitter: 0.5) == .giveUp)
    }

    @Test func thePlanStartsTheArchiverFirstAndTheGatewayLastWithTheirPorts() {
        var configuration = AnalyticsConfiguration()
        configuration.adminPort = 9100
        configuration.wsPort = 8200
        configuration.wshubReplicas = 3
        let plan = WorkerPlan.workers(for: configuration, binaryDirectory: "/opt/analytics/bin")
        #expect(plan.map(\.name) == ["archiver", "aggregator", "wshub-0", "wshub-1", "wshub-2", "gateway"])
        #expect(plan.map { $0.environment["ANALYTICS_ADMIN_PORT"] } == ["9101", "9102", "9103", "9104", "9105", "9106"])
        #expect(plan.filter { $0.kind == .wshub }.map { $0.environment["ANALYTICS_WS_PORT"] } == ["8200", "8201", "8202"])
        #expect(plan[0].executable == "/opt/analytics/bin/analytics-archiver")
        #expect(plan.last?.executable == "/opt/analytics/bin/analytics-gateway")
        #expect(WorkerPlan.migration(binaryDirectory: "/b") == ("/b/analytics-archiver", ["migrate"]) ? true : false)
        #expect(WorkerPlan.highestPort(for: configuration) == 9106)
    }

    @Test func notificationsReachTheSocketWithTheSenderPID() throws {
        let directory = TemporaryDirectory("notify")
        let socket = try NotifySocket(path: directory.path + "/notify.sock")
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "2000000"]))
        #expect(notifier.watchdogPingInterval == .seconds(1))
        notifier.ready(status: "serving")
        notifier.watchdog()
        notifier.watchdog()  // rate-limited: not sent again at once
        notifier.stopping()
        let messages = socket.receiveAll()
        #expect(messages.map(\.assignments) == [["READY": "1", "STATUS": "serving"], ["WATCHDOG": "1"], ["STOPPING": "1"]])
        #expect(messages.allSatisfy { $0.pid == getpid() })
        #expect(socket.receiveAll().isEmpty)
        // No NOTIFY_SOCKET, no notifier; a watchdog meant for another process is not ours.
        #expect(SystemdNotifier(environment: [:]) == nil)
        #expect(
            SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "10", "WATCHDOG_PID": "1"])?.watchdogPingInterval
                == nil)
    }

    /// A worker waiting on a dependency keeps proving life, but only up to a bound.
    @Test func livenessProgressesWhileWaitingUpToItsLimit() async throws {
        let liveness = Liveness(notifier: nil)
        let answer = try await liveness.whileWaiting(upTo: .seconds(10)) { () async throws -> Int in
            try await Task.sleep(for: .milliseconds(2_600))
            return 42
        }
        // The first ping comes a second in, so at most 1.6 s before the end even on a loaded machine.
        #expect(answer == 42)
        #expect(liveness.secondsSinceProgress < 2.0)
        // Past the limit the pings stop: a stuck call ends up with the watchdog (the last ping comes
        // before 1.5 s, so at least 2.1 s before the end).
        let bounded = Liveness(notifier: nil)
        try await bounded.whileWaiting(upTo: .milliseconds(1_500)) {
            try await Task.sleep(for: .milliseconds(3_600))
        }
        #expect(bounded.secondsSinceProgress > 2.0)
        // A failed call is thrown through, and the pings stop with it.
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await bounded.whileWaiting { () async throws -> Void in throw Refused() }
        }
    }

    @Test func theAbstractNamespaceIsUnderstood() throws {
        // A systemd-style "@name" socket: bind one and send to it.
        let name = "analytics-test-\(UUID().uuidString.prefix(8))"
        let receiver = try AbstractDatagramSocket(name: name)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name]))
        #expect(notifier.notify("READY=1"))
        #expect(receiver.receive() == "READY=1")
    }
}
