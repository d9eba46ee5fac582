import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A headless Chromium driven over the W3C WebDriver protocol (JSON over HTTP) by a chromedriver
/// child process, Debian's `chromium` and `chromium-driver` (`scripts/install-deps`).
///
/// chromedriver runs in a session and process group of its own, Chromium and its helpers under it;
/// ``close()`` ends the session and kills the group, and so does the release of the value or the
/// death of the test runner (``ProcessGroupWatchdog``). The profile is a temporary directory.
/// Every wait is asynchronous: no thread of the cooperative pool is blocked.
public final class WebDriverSession: Sendable {
    public static let chromium = "/usr/bin/chromium"
    public static let chromedriver = "/usr/bin/chromedriver"
    /// What headless Chromium needs as root and on small machines.
    public static let headlessArguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]

    public let sessionID: String
    /// `http://127.0.0.1:<chromedriver port>`.
    public let driverURL: String
    // The watchdog first: released first, it kills the group while chromedriver, its leader, is
    // not reaped yet.
    private let watchdog: ProcessGroupWatchdog
    private let driver: ChildProcess
    /// chromedriver's log and the browser profile.
    private let directory: TemporaryDirectory
    private let closed = Mutex(false)

    private init(sessionID: String, driverURL: String, driver: ChildProcess, watchdog: ProcessGroupWatchdog, directory: TemporaryDirectory)
    {
        self.sessionID = sessionID
        self.driverURL = driverURL
        self.driver = driver
        self.watchdog = watchdog
        self.directory = directory
    }

    /// Starts chromedriver on a free port and opens a session with a new headless Chromium.
    /// - Parameters:
    ///   - userAgent: the browser's `User-Agent` (and `navigator.userAgent`); nil: Chromium's own,
    ///     which says `HeadlessChrome`.
    ///   - arguments: more Chromium switches, after ``headlessArguments``.
    public static func start(userAgent: String? = nil, arguments: [String] = []) async throws -> WebDriverSession {
        for path in [chromium, chromedriver, setsid] where !FileManager.default.isExecutableFile(atPath: path) {
            throw TestSupportError("\(path) is missing: scripts/install-deps installs chromium and chromium-driver")
        }
        var attempt = 0
        while true {
            attempt += 1
            let directory = TemporaryDirectory("webdriver")
            let port = FreePort.next()
            // setsid execs chromedriver in place: the pid is chromedriver's, and the id of its group.
            let driver = try ChildProcess(
                executable: URL(fileURLWithPath: setsid), arguments: [chromedriver, "--port=\(port)"], logDirectory: directory.url,
                name: "chromedriver")
            let watchdog = try ProcessGroupWatchdog(processGroup: driver.pid)
            let driverURL = "http://127.0.0.1:\(port)"
            let ready = await eventually(timeout: .seconds(30), interval: .milliseconds(50)) {
                guard driver.isRunning else { return true }
                let status = try? await send("GET", driverURL + "/status", body: nil, timeout: .seconds(5))
                return ((status as? [String: Any])?["ready"] as? Bool) == true
            }
            guard ready, driver.isRunning else {
                await watchdog.killGroup()
                _ = await driver.terminate(timeout: .seconds(10))
                // The port was taken between choosing and binding it: another one.
                if attempt < 3 { continue }
                throw TestSupportError("chromedriver did not start on port \(port):\n\(driver.output)")
            }
            do {
                let sessionID = try await newSession(
                    driverURL: driverURL, profile: directory.url.appendingPathComponent("profile").path, userAgent: userAgent,
                    arguments: arguments)
                return WebDriverSession(
                    sessionID: sessionID, driverURL: driverURL, driver: driver, watchdog: watchdog, directory: directory)
            } catch let error as WebDriverError where attempt < 3 && error.error == "session not created" {
                // Chromium failed to start (a busy machine): once more, from scratch.
                await watchdog.killGroup()
                _ = await driver.terminate(timeout: .seconds(10))
                continue
            } catch {
                await watchdog.killGroup()
                _ = await driver.terminate(timeout: .seconds(10))
                throw error
            }
        }
    }

    static let setsid = "/usr/bin/setsid"

    private static func newSession(driverURL: String, profile: String, userAgent: String?, arguments: [String]) async throws -> String {
        var switches = headlessArguments + ["--user-data-dir=\(profile)", "--no-first-run", "--window-size=1280,800"]
        if let userAgent { switches.append("--user-agent=\(userAgent)") }
        switches += arguments
        let capabilities: [String: Any] = [
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": ["pageLoad": 60_000, "script": 30_000, "implicit": 0],
            "goog:chromeOptions": ["binary": chromium, "args": switches],
            "goog:loggingPrefs": ["browser": "ALL"],
        ]
        let value = try await send(
            "POST", driverURL + "/session", body: json(["capabilities": ["alwaysMatch": capabilities]]), timeout: .seconds(120))
        guard let id = (value as? [String: Any])?["sessionId"] as? String else {
            throw WebDriverError(command: "POST /session", status: nil, error: "unknown error", message: "no sessionId in the answer")
        }
        return id
    }

    // MARK: - Commands

    /// Loads `url` and waits for its `load` event.
    public func navigate(to url: String) async throws {
        try await command("POST", "/url", body: ["url": url])
    }

    /// Reloads the page and waits for its `load` event.
    public func refresh() async throws {
        try await command("POST", "/refresh", body: [:])
    }

    public func currentURL() async throws -> String {
        let value = try await command("GET", "/url")
        return try decode(value, as: String.self)
    }

    /// Runs `script` as the body of a function in the page (`arguments` are its `arguments`); its
    /// result is dropped.
    public func execute(_ script: String, arguments: [String] = []) async throws {
        try await command("POST", "/execute/sync", body: ["script": script, "args": arguments])
    }

    /// Runs `script` as the body of a function in the page and decodes what it returns.
    public func evaluate<T: Decodable>(_ script: String, arguments: [String] = [], as type: T.Type = T.self) async throws -> T {
        let value = try await command("POST", "/execute/sync", body: ["script": script, "args": arguments])
        return try decode(value, as: type)
    }

    /// Clicks, with the mouse, the first element that matches a CSS selector (scrolled into view).
    public func click(_ cssSelector: String) async throws {
        let found = try await command("POST", "/element", body: ["using": "css selector", "value": cssSelector])
        guard let element = (found as? [String: Any])?[Self.elementKey] as? String else {
            throw WebDriverError(
                command: "POST /element", status: nil, error: "unknown error", message: "no element reference for \(cssSelector)")
        }
        try await command("POST", "/element/\(element)/click", body: [:])
    }

    /// Resizes the browser's window (the page's viewport follows).
    public func setWindowSize(width: Int, height: Int) async throws {
        try await command("POST", "/window/rect", body: ["width": width, "height": height])
    }

    /// The WebDriver key code of Tab.
    public static let tabKey = "\u{E004}"

    /// Presses and releases one key (a character, or a WebDriver key code such as ``tabKey``) in the
    /// focused element, as the keyboard would.
    public func press(_ key: String) async throws {
        let actions: [[String: Any]] = [["type": "keyDown", "value": key], ["type": "keyUp", "value": key]]
        try await command("POST", "/actions", body: ["actions": [["type": "key", "id": "keyboard", "actions": actions]]])
    }

    /// Sends a command of Chromium's DevTools protocol (`Emulation.setEmulatedMedia`, say).
    public func devTools(_ method: String, _ parameters: [String: Any]) async throws {
        try await command("POST", "/goog/cdp/execute", body: ["cmd": method, "params": parameters])
    }

    /// The browser's console and errors so far (and since the last call), one entry a line.
    public func browserLog() async throws -> String {
        let entries = try await command("POST", "/se/log", body: ["type": "browser"]) as? [[String: Any]] ?? []
        return entries.map { "\($0["level"] ?? "") \($0["message"] ?? "")" }.joined(separator: "\n")
    }

    /// chromedriver's own log.
    public var driverLog: String { driver.output }

    /// Ends the session (Chromium quits), then kills chromedriver and whatever is left of its
    /// process group. Safe to call twice.
    public func close() async {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        _ = try? await Self.send("DELETE", driverURL + "/session/\(sessionID)", body: nil, timeout: .seconds(30))
        await watchdog.killGroup()
        _ = await driver.terminate(timeout: .seconds(10))
    }

    // MARK: - Protocol

    static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    @discardableResult
    private func command(_ method: String, _ path: String, body: [String: Any]? = nil) async throws -> Any? {
        try await Self.send(method, driverURL + "/session/\(sessionID)" + path, body: body.map(Self.json), timeout: .seconds(120))
    }

    private func decode<T: Decodable>(_ value: Any?, as type: T.Type) throws -> T {
        let data = try JSONSerialization.data(withJSONObject: value ?? NSNull(), options: [.fragmentsAllowed])
        return try JSONDecoder().decode(T.self, from: data)
    }

    private static func json(_ object: [String: Any]) -> Data {
        // Only strings, numbers, arrays and dictionaries are ever passed: serialization cannot fail.
        (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
    }

    /// One command: its answer's `value` (nil for `null`), or the `WebDriverError` it carries.
    private static func send(_ method: String, _ url: String, body: Data?, timeout: Duration) async throws -> Any? {
        let name = "\(method) \(URL(string: url)?.path ?? url)"
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        let status = Int(response.status.code)
        let answer =
            (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView), options: [.fragmentsAllowed])) as? [String: Any]
        guard let answer else {
            throw WebDriverError(
                command: name, status: status, error: "unknown error", message: "not a JSON answer: \(String(buffer: bytes))")
        }
        let value = answer["value"]
        if status >= 400 || ((value as? [String: Any])?["error"] as? String) != nil {
            let failure = value as? [String: Any] ?? [:]
            throw WebDriverError(
                command: name, status: status, error: failure["error"] as? String ?? "unknown error",
                message: failure["message"] as? String ?? String(buffer: bytes))
        }
        return value is NSNull ? nil : value
    }
}
