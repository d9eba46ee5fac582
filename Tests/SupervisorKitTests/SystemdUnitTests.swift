import AnalyticsCore
import Foundation
import SupervisorKit
import TestSupport
import Testing

/// The unit files of `systemd/`, checked by systemd itself (`systemd-analyze verify`) and against the
/// service's contract, the example environment file against the configuration table, and
/// `scripts/install-systemd` in its staging mode.
///
/// Two decisions these tests pin down:
/// * `User=analytics`, a static system user, is verified as written: systemd-analyze verify (252)
///   does not look the user up, so the test copy keeps it even where the user does not exist.
/// * Not `DynamicUser=`: the archive files are long-lived data kept across reinstalls, read by the
///   operator's `sudo -u analytics analytics-archiver import …`, possibly on another disk than
///   `StateDirectory=` (which systemd would not chown for a dynamic uid); and the units of
///   analytics.target must share one owner. A fixed user is the plain fit.
@Suite("systemd units and their installer")
struct SystemdUnitTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var unitDirectory: URL { repository.appendingPathComponent("systemd") }

    static let unitFiles = [
        "analytics.service", "analytics.target", "analytics-migrate.service", "analytics-archiver.service",
        "analytics-aggregator.service", "analytics-gateway.service", "analytics-wshub@.service",
    ]
    /// What verify checks: every unit, the template as an instance (its file in the same directory).
    static let verifiedUnits = [
        "analytics.service", "analytics.target", "analytics-migrate.service", "analytics-archiver.service",
        "analytics-aggregator.service", "analytics-gateway.service", "analytics-wshub@8081.service",
    ]
    static let binaries = ["analytics-supervisor", "analytics-gateway", "analytics-aggregator", "analytics-archiver", "analytics-wshub"]
    static let systemdAnalyze = "/usr/bin/systemd-analyze"

    /// The hardening every service carries, with analytics.service's values.
    static let hardening = [
        "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "DevicePolicy", "ProtectKernelTunables",
        "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectProc",
        "ProcSubset", "PrivateUsers", "PrivateMounts", "RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime",
        "RestrictSUIDSGID", "RemoveIPC", "LockPersonality", "MemoryDenyWriteExecute", "SystemCallArchitectures", "SystemCallFilter",
        "SystemCallErrorNumber", "CapabilityBoundingSet", "LimitNOFILE", "User", "Group", "EnvironmentFile", "UMask",
    ]
    /// The highest exposure `systemd-analyze security` may give a service unit (0 to 10, lower is safer).
    static let highestExposure = 2.0

    // MARK: systemd-analyze verify

    @Test func systemdAnalyzeVerifiesEveryUnitWithoutAWarning() throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.systemdAnalyze),
            "systemd-analyze is missing: scripts/install-deps installs Debian's systemd package")
        let directory = TemporaryDirectory("systemd-units")
        let staged = try Self.stageUnits(in: directory)
        for unit in Self.verifiedUnits {
            // --recursive-errors=no: our unit's own problems decide the exit status, not those of the
            // host's units it names (redis-server.service, …). --man=no: no man page lookups.
            let (status, output) = try Self.run(
                Self.systemdAnalyze, ["verify", "--man=no", "--recursive-errors=no", staged.appendingPathComponent(unit).path])
            // systemd-analyze may warn about the host's own units; only lines naming ours count (the
            // staging directory's name does not contain "analytics").
            let ours = output.split(separator: "\n").filter { $0.contains("analytics") || $0.contains(staged.path) }
            #expect(status == 0, "systemd-analyze verify \(unit) exited \(status):\n\(output)")
            #expect(ours.isEmpty, "systemd-analyze verify \(unit):\n\(ours.joined(separator: "\n"))")
        }
    }

    @Test func verifyWouldCatchAMistake() throws {
        // The check above is only worth something if verify fails on a bad line of ours.
        try #require(FileManager.default.isExecutableFile(atPath: Self.systemdAnalyze))
        let directory = TemporaryDirectory("systemd-units")
        let staged = try Self.stageUnits(in: directory)
        let template = staged.appendingPathComponent("analytics-wshub@.service")
        let text = try String(contentsOf: template, encoding: .utf8)
        try text.replacingOccurrences(of: "WatchdogSec=30", with: "WatchdogSecs=30").write(to: template, atomically: true, encoding: .utf8)
        let (status, output) = try Self.run(
            Self.systemdAnalyze,
            ["verify", "--man=no", "--recursive-errors=no", staged.appendingPathComponent("analytics-wshub@8081.service").path])
        #expect(status != 0)
        #expect(output.contains("WatchdogSecs"), "\(output)")
    }

    // MARK: systemd-analyze security

    @Test func everyServiceUnitIsRatedTwoOrLessBySystemdAnalyzeSecurity() throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.systemdAnalyze),
            "systemd-analyze is missing: scripts/install-deps installs Debian's systemd package")
        let directory = TemporaryDirectory("systemd-units")
        let staged = try Self.stageUnits(in: directory)
        for unit in Self.verifiedUnits where unit.hasSuffix(".service") {
            // --offline=true: the file as written, no running systemd needed. --threshold is on the
            // 0-100 scale behind the 0.0-10.0 level: above it, the exit status is not 0.
            let threshold = Int((Self.highestExposure * 10).rounded())
            let (status, output) = try Self.run(
                Self.systemdAnalyze,
                ["security", "--offline=true", "--threshold=\(threshold)", staged.appendingPathComponent(unit).path])
            let level = Self.exposureLevel(in: output)
            let shown = level.map { String($0) } ?? "unknown"
            #expect(status == 0, "systemd-analyze security \(unit) exited \(status), exposure \(shown):\n\(output)")
            #expect(level != nil, "no \"Overall exposure level\" line for \(unit):\n\(output)")
            if let level {
                #expect(level <= Self.highestExposure, "\(unit): exposure \(level), above \(Self.highestExposure):\n\(output)")
            }
        }
    }

    /// The number of systemd-analyze security's last line, `→ Overall exposure level for UNIT: 1.2 OK 🙂`.
    static func exposureLevel(in output: String) -> Double? {
        guard let line = output.split(separator: "\n").last(where: { $0.contains("Overall exposure level for") }),
            let colon = line.lastIndex(of: ":"),
            let number = line[line.index(after: colon)...].split(separator: " ").first
        else { return nil }
        return Double(String(number))
    }

    // MARK: the contract of the units

    @Test func theSupervisorUnitDrainsInOrderAndWatchesItsMainProcess() throws {
        let unit = try Self.parse("analytics.service")
        #expect(unit["Service", "ExecStart"] == ["/usr/local/bin/analytics-supervisor"])
        #expect(unit["Service", "Type"] == ["notify"])
        #expect(unit["Service", "NotifyAccess"] == ["main"])
        #expect(unit["Service", "WatchdogSec"] == ["30"])
        #expect(unit["Service", "Restart"] == ["on-failure"])
        #expect(unit["Service", "RestartSec"] == ["2"])
        #expect(unit["Service", "RestartPreventExitStatus"] == ["78"])
        #expect(unit["Service", "KillMode"] == ["mixed"])
        // Longer than the worst drain: three stages of workers, up to 20 s each.
        #expect(unit["Service", "TimeoutStopSec"].first.flatMap(Int.init).map { $0 > 60 } == true)
        #expect(unit["Service", "TimeoutStartSec"] == ["120"])
        #expect(unit["Service", "RuntimeDirectory"] == ["analytics"])
        #expect(unit["Service", "StateDirectory"].first?.split(separator: " ").first == "analytics")
        #expect(unit["Service", "ReadWritePaths"] == ["/var/lib/analytics/archive"])
        #expect(unit["Service", "CapabilityBoundingSet"] == [""])
        #expect(unit["Service", "LimitNOFILE"] == ["65536"])
        #expect(unit["Service", "MemoryDenyWriteExecute"] == ["yes"])
        #expect(unit["Service", "DynamicUser"].isEmpty)
        #expect(
            unit["Unit", "After"].first?.split(separator: " ").sorted() == [
                "network-online.target", "postgresql.service", "redis-server.service",
            ])
        #expect(unit["Install", "WantedBy"] == ["multi-user.target"])
    }

    @Test func everyProcessUnitIsHardenedLikeTheSupervisorAndWatched() throws {
        let reference = try Self.parse("analytics.service")
        for file in Self.unitFiles where file.hasSuffix(".service") && file != "analytics.service" {
            let unit = try Self.parse(file)
            for key in Self.hardening {
                #expect(unit["Service", key] == reference["Service", key], "\(file): \(key)")
            }
            #expect(unit["Unit", "PartOf"] == ["analytics.target"], "\(file)")
            #expect(unit["Unit", "Conflicts"] == ["analytics.service"], "\(file)")
            #expect(unit["Install", "WantedBy"] == ["analytics.target"], "\(file)")
            #expect(unit["Service", "RestartPreventExitStatus"] == ["78"], "\(file)")
            if file == "analytics-migrate.service" {
                #expect(unit["Service", "Type"] == ["oneshot"])
                #expect(unit["Service", "RemainAfterExit"] == ["yes"])
                #expect(unit["Service", "ExecStart"] == ["/usr/local/bin/analytics-archiver migrate"])
            } else {
                #expect(unit["Service", "Type"] == ["notify"], "\(file)")
                #expect(unit["Service", "WatchdogSec"] == ["30"], "\(file)")
                #expect(unit["Service", "Restart"] == ["on-failure"], "\(file)")
            }
        }
        // Each service has its own bounds (a hub needs more than the gateway).
        for file in Self.unitFiles where file.hasSuffix(".service") {
            let unit = try Self.parse(file)
            #expect(unit["Service", "MemoryMax"].count == 1, "\(file): MemoryMax")
            #expect(unit["Service", "TasksMax"].count == 1, "\(file): TasksMax")
        }
        let archiver = try Self.parse("analytics-archiver.service")
        #expect(archiver["Unit", "Requires"] == ["analytics-migrate.service"])
        #expect(archiver["Unit", "After"].first?.split(separator: " ").contains("analytics-migrate.service") == true)
        #expect(archiver["Service", "ReadWritePaths"] == ["/var/lib/analytics/archive"])
        #expect(archiver["Service", "StateDirectory"] == reference["Service", "StateDirectory"])
        // Stopped first when the target stops: ordered after the consumers.
        let gateway = try Self.parse("analytics-gateway.service")
        let gatewayAfter = gateway["Unit", "After"].first?.split(separator: " ").map(String.init) ?? []
        #expect(gatewayAfter.contains("analytics-aggregator.service") && gatewayAfter.contains("analytics-archiver.service"))
        // The gateway writes its secret to the state directory, and cannot reach the archive in it.
        #expect(gateway["Service", "StateDirectory"] == ["analytics"])
        #expect(gateway["Service", "ReadWritePaths"].isEmpty)
        #expect(gateway["Service", "InaccessiblePaths"] == ["-/var/lib/analytics/archive"])
        for file in ["analytics-wshub@.service", "analytics-aggregator.service", "analytics-migrate.service"] {
            let unit = try Self.parse(file)
            #expect(unit["Service", "StateDirectory"].isEmpty && unit["Service", "ReadWritePaths"].isEmpty, "\(file)")
            #expect(unit["Service", "InaccessiblePaths"] == ["-/var/lib/analytics"], "\(file)")
        }
    }

    @Test func eachUnitGetsTheAdminPortTheSupervisorWouldGiveIt() throws {
        // The same ports under either deployment, so that the Prometheus scrape configuration holds.
        let plan = WorkerPlan.workers(for: AnalyticsConfiguration(), binaryDirectory: "/usr/local/bin")
        var seen: Set<String> = []
        for (file, worker) in [("analytics-archiver.service", "archiver"), ("analytics-aggregator.service", "aggregator")] {
            let unit = try Self.parse(file)
            let expected = try #require(plan.first { $0.name == worker }?.environment["ANALYTICS_ADMIN_PORT"])
            #expect(unit["Service", "Environment"] == ["ANALYTICS_ADMIN_PORT=\(expected)"], "\(file)")
            // The flag twin wins over analytics.env, which overrides Environment=.
            #expect(unit["Service", "ExecStart"] == ["/usr/local/bin/analytics-\(worker) --admin-port \(expected)"], "\(file)")
            #expect(seen.insert(expected).inserted, "\(file): port \(expected) used twice")
        }
        let hub = try Self.parse("analytics-wshub@.service")
        #expect(hub["Service", "Environment"] == ["ANALYTICS_WS_PORT=%i"])
        #expect(hub["Service", "ExecStart"] == ["/usr/local/bin/analytics-wshub --ws-port %i"])
        let target = try Self.parse("analytics.target")
        let wants = Set(target["Unit", "Wants"].flatMap { $0.split(separator: " ").map(String.init) })
        #expect(wants == Set(Self.verifiedUnits.filter { $0 != "analytics.service" && $0 != "analytics.target" }))
        #expect(target["Unit", "Conflicts"] == ["analytics.service"])
    }

    // MARK: the example environment file

    @Test func theExampleEnvironmentDocumentsEveryVariableWithAValidValue() throws {
        let text = try String(contentsOf: Self.unitDirectory.appendingPathComponent("analytics.env.example"), encoding: .utf8)
        var set: [String: String] = [:]
        var documented: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let commented = line.hasPrefix("#")
            let body = commented ? line.dropFirst() : line[...]
            guard body.hasPrefix("ANALYTICS_"), let eq = body.firstIndex(of: "=") else {
                #expect(commented, "not a comment nor an assignment: \(line)")
                continue
            }
            let (name, value) = (String(body[..<eq]), String(body[body.index(after: eq)...]))
            #expect(!value.hasPrefix(" ") && !name.hasSuffix(" "), "\(line)")
            if commented {
                documented[name] = value
            } else {
                #expect(set[name] == nil, "\(name) set twice")
                set[name] = value
            }
        }
        let names = AnalyticsConfiguration.variables.map(\.name)
        for name in names {
            #expect(set[name] != nil || documented[name] != nil, "\(name) is missing from analytics.env.example")
        }
        for name in Array(set.keys) + Array(documented.keys) {
            #expect(names.contains(name), "\(name) is not a configuration variable")
        }
        // The values set are accepted, and so are the commented-out ones.
        #expect(throws: Never.self) { try AnalyticsConfiguration.load(environment: set) }
        #expect(throws: Never.self) { try AnalyticsConfiguration.load(environment: set.merging(documented) { $1 }) }
        #expect(set["ANALYTICS_ARCHIVE_DIR"] == "/var/lib/analytics/archive")
        #expect(set["ANALYTICS_MIGRATIONS_DIR"] == "/usr/local/share/analytics/migrations")
        #expect(set["ANALYTICS_HTTP_HOST"] == "127.0.0.1")
        #expect(set["ANALYTICS_TRUSTED_PROXIES"] == "127.0.0.1/32")
        // The units' StateDirectory=; and no secret shared by every copy of this file.
        #expect(set["ANALYTICS_DATA_DIR"] == "/var/lib/analytics")
        #expect(set["ANALYTICS_SECRET"] == nil)
        // Per-unit settings under analytics.target: an EnvironmentFile= value would override the
        // units' Environment= lines.
        #expect(set["ANALYTICS_ADMIN_PORT"] == nil)
        #expect(set["ANALYTICS_WS_PORT"] == nil)
    }

    // MARK: scripts/install-systemd

    @Test func theInstallerStagesEveryFileWithItsModeAndKeepsAnEditedEnvFile() throws {
        let directory = TemporaryDirectory("systemd-install")
        let root = directory.url.appendingPathComponent("root")
        let bin = BuildProducts.directory.path
        let script = Self.repository.appendingPathComponent("scripts/install-systemd").path
        let first = try Self.run("/bin/bash", [script, "--destdir", root.path, "--skip-build", "--bin-dir", bin])
        #expect(first.status == 0, "\(first.output)")
        // Staging leaves the system alone.
        #expect(first.output.contains("skipped (staging or dry run): systemctl daemon-reload"), "\(first.output)")
        #expect(first.output.contains("systemctl enable --now analytics.service"))

        var expected: [(String, Int)] = Self.binaries.map { ("usr/local/bin/\($0)", 0o755) }
        expected += Self.unitFiles.map { ("etc/systemd/system/\($0)", 0o644) }
        let migrations = try FileManager.default.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("migrations").path)
            .filter { $0.hasSuffix(".sql") }
        #expect(!migrations.isEmpty)
        expected += migrations.map { ("usr/local/share/analytics/migrations/\($0)", 0o644) }
        expected.append(("etc/analytics/analytics.env", 0o640))
        expected += [("var/lib/analytics", 0o750), ("var/lib/analytics/archive", 0o750)]
        for (path, mode) in expected {
            let attributes = try? FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(path).path)
            let actual = (attributes?[.posixPermissions] as? NSNumber)?.intValue
            #expect(actual == mode, "\(path): mode \(actual.map { String($0, radix: 8) } ?? "missing"), expected \(String(mode, radix: 8))")
        }
        for unit in Self.unitFiles {
            #expect(
                FileManager.default.contentsEqual(
                    atPath: root.appendingPathComponent("etc/systemd/system/\(unit)").path,
                    andPath: Self.unitDirectory.appendingPathComponent(unit).path),
                "\(unit)")
        }
        #expect(
            FileManager.default.contentsEqual(
                atPath: root.appendingPathComponent("usr/local/bin/analytics-supervisor").path, andPath: bin + "/analytics-supervisor"))

        // Again, after the operator edited the env file, with a migration that no longer exists.
        let env = root.appendingPathComponent("etc/analytics/analytics.env")
        try "ANALYTICS_LOG_LEVEL=debug\n".write(to: env, atomically: false, encoding: .utf8)
        let stale = root.appendingPathComponent("usr/local/share/analytics/migrations/000999_gone.up.sql")
        try "select 1;\n".write(to: stale, atomically: false, encoding: .utf8)
        let second = try Self.run("/bin/bash", [script, "--destdir", root.path, "--skip-build", "--bin-dir", bin])
        #expect(second.status == 0, "\(second.output)")
        #expect(try String(contentsOf: env, encoding: .utf8) == "ANALYTICS_LOG_LEVEL=debug\n")
        #expect(!FileManager.default.fileExists(atPath: stale.path))
    }

    @Test func theInstallerDryRunChangesNothing() throws {
        let script = Self.repository.appendingPathComponent("scripts/install-systemd").path
        let bin = BuildProducts.directory.path
        let before = Self.systemPaths.map { FileManager.default.fileExists(atPath: $0) }
        let (status, output) = try Self.run("/bin/bash", [script, "--dry-run", "--skip-build", "--bin-dir", bin])
        #expect(status == 0, "\(output)")
        #expect(output.contains("would run: install -m 0755 \(bin)/analytics-supervisor /usr/local/bin/analytics-supervisor"), "\(output)")
        #expect(
            output.contains("would run: install -m 0644 \(Self.unitDirectory.path)/analytics.service /etc/systemd/system/analytics.service")
        )
        #expect(output.contains("Dry run: nothing was changed"))
        #expect(Self.systemPaths.map { FileManager.default.fileExists(atPath: $0) } == before)
    }

    static let systemPaths = [
        "/usr/local/bin/analytics-supervisor", "/etc/systemd/system/analytics.service", "/etc/analytics/analytics.env",
        "/usr/local/share/analytics/migrations",
    ]

    // MARK: helpers

    /// A copy of `systemd/` that verify can check on this machine: `ExecStart=` names the built
    /// executables (verify insists they exist), `EnvironmentFile=` a copy of the example.
    static func stageUnits(in directory: TemporaryDirectory) throws -> URL {
        let staged = directory.url.appendingPathComponent("units")
        try FileManager.default.createDirectory(at: staged, withIntermediateDirectories: true)
        let env = directory.url.appendingPathComponent("analytics.env")
        try FileManager.default.copyItem(at: unitDirectory.appendingPathComponent("analytics.env.example"), to: env)
        let bin = BuildProducts.directory.path
        for file in unitFiles {
            let text = try String(contentsOf: unitDirectory.appendingPathComponent(file), encoding: .utf8)
            let rewritten = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                if line.hasPrefix("ExecStart=/usr/local/bin/") {
                    return "ExecStart=\(bin)/" + line.dropFirst("ExecStart=/usr/local/bin/".count)
                }
                if line.hasPrefix("EnvironmentFile=") { return "EnvironmentFile=\(env.path)" }
                return String(line)
            }.joined(separator: "\n")
            #expect(rewritten != text || file.hasSuffix(".target"), "\(file): nothing rewritten")
            try rewritten.write(to: staged.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        return staged
    }

    /// Runs a command to completion; its exit status and its output (stdout and stderr together).
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ANALYTICS_") }
        environment["DESTDIR"] = nil
        environment["SYSTEMD_PAGER"] = ""
        environment["SYSTEMD_COLORS"] = "0"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// A unit file's settings: section → key → values, in order (comments and blank lines dropped).
    struct UnitFile {
        var entries: [String: [String: [String]]] = [:]
        subscript(section: String, key: String) -> [String] { entries[section]?[key] ?? [] }
    }

    static func parse(_ file: String) throws -> UnitFile {
        let text = try String(contentsOf: unitDirectory.appendingPathComponent(file), encoding: .utf8)
        var unit = UnitFile()
        var section = ""
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                section = String(line.dropFirst().dropLast())
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { continue }
            unit.entries[section, default: [:]][String(line[..<eq]), default: []].append(String(line[line.index(after: eq)...]))
        }
        return unit
    }
}
