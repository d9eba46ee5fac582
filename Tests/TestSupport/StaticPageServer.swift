import Foundation
import Hummingbird
import Logging
import NIOCore

/// HTML pages for a browser, served in process on 127.0.0.1 at a port the kernel picks, and reached
/// as `http://localhost:<port>` (``origin``): another origin, and another site, than a server
/// reached as `http://127.0.0.1:<port>`. Any other path answers 404. Stopped by ``stop()`` or
/// when released.
public final class StaticPageServer: Sendable {
    public let port: Int
    private let pages: Locked<[String: String]>
    private let requests: Locked<[String]>
    private let task: Task<Void, Never>

    public init() async throws {
        let pages = Locked<[String: String]>([:])
        let requests = Locked<[String]>([])
        let router = Router()
        router.get("**") { request, _ -> Response in
            let path = request.uri.path
            requests.withLock { $0.append(path) }
            guard let html = pages.value[path] else { return Response(status: .notFound) }
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
        }
        let bound = Locked<Int?>(nil)
        let failure = Locked<String?>(nil)
        var logger = Logger(label: "static-pages")
        // Quiet: stopping is a cancellation, which Hummingbird logs as an error.
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in bound.withLock { $0 = channel.localAddress?.port ?? -1 } }, logger: logger)
        let task = Task {
            do {
                try await app.run()
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
        }
        guard await eventually(timeout: .seconds(30), { bound.value != nil || failure.value != nil }), let port = bound.value, port > 0
        else {
            task.cancel()
            throw TestSupportError("the page server did not start: \(failure.value ?? "no port")")
        }
        self.port = port
        self.pages = pages
        self.requests = requests
        self.task = task
    }

    /// `http://localhost:<port>`.
    public var origin: String { "http://localhost:\(port)" }

    /// Serves `html` at `path` (`/shop/index.html`; any query string is ignored).
    public func serve(_ path: String, html: String) {
        pages.withLock { $0[path] = html }
    }

    /// The paths requested so far, in order, whether served or not.
    public var requestedPaths: [String] { requests.value }

    public func stop() async {
        task.cancel()
        await task.value
    }

    deinit {
        task.cancel()
    }
}
