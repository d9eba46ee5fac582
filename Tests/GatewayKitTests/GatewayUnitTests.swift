import AnalyticsCore
import Crypto
import Foundation
import GatewayKit
import Testing

/// Pure parts of the gateway: rate limiting, the pageview policy and visitor ids. No I/O, no Redis.
@Suite("Gateway unit tests")
enum GatewayUnitTests {}

extension GatewayUnitTests {
    @Suite("GCRAState and ClientRateLimiter")
    struct RateLimiterTests {
        static let second: Int64 = 1_000_000_000
        static let minute: Int64 = 60 * second
        /// An arbitrary monotonic instant, far from zero.
        static let t0: Int64 = 1_234 * second

        @Test func gcraAllowsABurstOfLimitThenDenies() {
            var state = GCRAState()
            // 3 a window of 30 ns: each event costs 10 ns.
            #expect(state.take(now: 100, interval: 10, window: 30) == .allowed)
            #expect(state.take(now: 100, interval: 10, window: 30) == .allowed)
            #expect(state.take(now: 100, interval: 10, window: 30) == .allowed)
            #expect(state.theoreticalArrival == 130)
            #expect(state.take(now: 100, interval: 10, window: 30) == .denied(retryAfterNanoseconds: 10))
            #expect(state.theoreticalArrival == 130)  // a denial costs nothing
            #expect(state.take(now: 105, interval: 10, window: 30) == .denied(retryAfterNanoseconds: 5))
            #expect(state.take(now: 110, interval: 10, window: 30) == .allowed)
            #expect(state.theoreticalArrival == 140)
            #expect(state.take(now: 110, interval: 10, window: 30) == .denied(retryAfterNanoseconds: 10))
            // After a long idle period the whole burst is back, and no more.
            for _ in 0..<3 { #expect(state.take(now: 1_000, interval: 10, window: 30) == .allowed) }
            #expect(state.take(now: 1_000, interval: 10, window: 30) == .denied(retryAfterNanoseconds: 10))
        }

        @Test func gcraSteadyRateAtTheIntervalIsAlwaysAllowed() {
            var state = GCRAState()
            for i in 0..<1_000 {
                #expect(state.take(now: Int64(i) * 10, interval: 10, window: 30) == .allowed)
            }
        }

        @Test func sixHundredPerMinuteAllowsExactlySixHundredAtOnce() throws {
            let limiter = ClientRateLimiter(limitPerMinute: 600)
            #expect(limiter.isEnabled)
            #expect(limiter.limitPerMinute == 600)
            for i in 0..<600 {
                let denied = limiter.take(client: 42, now: Self.t0)
                #expect(denied == nil, "event \(i + 1) of 600")
                if denied != nil { return }
            }
            let retry = try #require(limiter.take(client: 42, now: Self.t0))
            #expect(retry >= 1)
            #expect(retry == 1)  // one event costs 100 ms: rounded up to a whole second
            #expect(limiter.take(client: 42, now: Self.t0) != nil)
        }

        @Test func allowanceRefillsOverTime() {
            let limiter = ClientRateLimiter(limitPerMinute: 600)
            for _ in 0..<600 { _ = limiter.take(client: 7, now: Self.t0) }
            #expect(limiter.take(client: 7, now: Self.t0) != nil)
            #expect(limiter.take(client: 7, now: Self.t0 + 99_000_000) != nil)
            // 100 ms later exactly one more event is allowed.
            #expect(limiter.take(client: 7, now: Self.t0 + 100_000_000) == nil)
            #expect(limiter.take(client: 7, now: Self.t0 + 100_000_000) != nil)
            // Half a minute later: 300 more.
            let later = Self.t0 + 100_000_000 + 30 * Self.second
            var allowed = 0
            while limiter.take(client: 7, now: later) == nil { allowed += 1 }
            #expect(allowed == 300)
            // A full minute of silence restores the whole allowance.
            let muchLater = later + Self.minute
            allowed = 0
            while limiter.take(client: 7, now: muchLater) == nil, allowed <= 1_000 { allowed += 1 }
            #expect(allowed == 600)
        }

        @Test func retryAfterReflectsTheWait() throws {
            let oneAMinute = ClientRateLimiter(limitPerMinute: 1)
            #expect(oneAMinute.take(client: 1, now: Self.t0) == nil)
            #expect(try #require(oneAMinute.take(client: 1, now: Self.t0)) == 60)
            #expect(try #require(oneAMinute.take(client: 1, now: Self.t0 + 45 * Self.second)) == 15)
            #expect(try #require(oneAMinute.take(client: 1, now: Self.t0 + 59 * Self.second + 1)) == 1)
            #expect(oneAMinute.take(client: 1, now: Self.t0 + Self.minute) == nil)

            let twoAMinute = ClientRateLimiter(limitPerMinute: 2)
            #expect(twoAMinute.take(client: 1, now: Self.t0) == nil)
            #expect(twoAMinute.take(client: 1, now: Self.t0) == nil)
            #expect(try #require(twoAMinute.take(client: 1, now: Self.t0)) == 30)
        }

        @Test func clientsAreIndependent() {
            let limiter = ClientRateLimiter(limitPerMinute: 600, shardCount: 16)
            for _ in 0..<600 { _ = limiter.take(client: 1, now: Self.t0) }
            #expect(limiter.take(client: 1, now: Self.t0) != nil)
            // Another client, in another shard and in the same shard (1 + 16).
            #expect(limiter.take(client: 2, now: Self.t0) == nil)
            #expect(limiter.take(client: 17, now: Self.t0) == nil)
            #expect(limiter.take(client: UInt64.max, now: Self.t0) == nil)
            for _ in 0..<599 { _ = limiter.take(client: 17, now: Self.t0) }
            #expect(limiter.take(client: 17, now: Self.t0) != nil)
            #expect(limiter.take(client: 2, now: Self.t0) == nil)
        }

        @Test func pruningDoesNotForgetALimitedClient() {
            // A shard is pruned every 4,096 operations; a client still over its limit must be kept.
            let limiter = ClientRateLimiter(limitPerMinute: 600, shardCount: 1)
            for _ in 0..<600 { _ = limiter.take(client: 1, now: Self.t0) }
            for client in UInt64(100)..<UInt64(100 + 5_000) { _ = limiter.take(client: client, now: Self.t0) }
            #expect(limiter.take(client: 1, now: Self.t0) != nil)
            // A client whose allowance is back is forgotten and starts afresh.
            let later = Self.t0 + 2 * Self.minute
            for client in UInt64(10_000)..<UInt64(10_000 + 5_000) { _ = limiter.take(client: client, now: later) }
            var allowed = 0
            while limiter.take(client: 1, now: later) == nil, allowed <= 1_000 { allowed += 1 }
            #expect(allowed == 600)
        }

        @Test func limitZeroDisablesTheLimiter() {
            let limiter = ClientRateLimiter(limitPerMinute: 0)
            #expect(!limiter.isEnabled)
            for _ in 0..<10_000 {
                #expect(limiter.take(client: 1, now: Self.t0) == nil)
            }
        }

        @Test func defaultClockIsMonotonicNanoseconds() {
            let a = DispatchTimeNanoseconds.now()
            let b = DispatchTimeNanoseconds.now()
            #expect(b >= a)
            let limiter = ClientRateLimiter(limitPerMinute: 2)
            #expect(limiter.take(client: 9) == nil)
            #expect(limiter.take(client: 9) == nil)
            #expect(limiter.take(client: 9) != nil)
        }
    }
}

extension GatewayUnitTests {
    @Suite("PageviewPolicy")
    struct PageviewPolicyTests {
        @Test(arguments: [
            "/demo", "/cv", "/cv/", "/blog/post", "/blog/post.html", "/about-me", "/v1.2/page", "/apiary",
            "/metrics-dashboard", "/healthzone", "/cv.", "/wsx",
        ])
        func pages(path: String) {
            #expect(PageviewPolicy.mayBePageview(path: path))
        }

        @Test(arguments: [
            "/api/analytics/stats", "/api/analytics/event", "/api", "/api/", "/metrics", "/healthz", "/readyz",
            "/style.css", "/app.JS", "/static/app.min.js", "/favicon.ico", "/robots.txt", "/sitemap.xml",
            "/ws/analytics", "/.well-known/security.txt", "/img/photo.PNG", "/fonts/a.woff2", "/cv.pdf",
            "/manifest.webmanifest", "/data.json", "/bundle.js.map", "/", "/embed/live",
        ])
        func notPages(path: String) {
            #expect(!PageviewPolicy.mayBePageview(path: path))
        }

        @Test func onlySuccessfulHTMLIsAPage() {
            #expect(PageviewPolicy.isPage(status: 200, contentType: "text/html"))
            #expect(PageviewPolicy.isPage(status: 200, contentType: "text/html; charset=utf-8"))
            #expect(PageviewPolicy.isPage(status: 200, contentType: "Text/HTML;charset=UTF-8"))
            #expect(PageviewPolicy.isPage(status: 203, contentType: "text/html"))
            #expect(PageviewPolicy.isPage(status: 299, contentType: "text/html"))
            #expect(!PageviewPolicy.isPage(status: 199, contentType: "text/html"))
            #expect(!PageviewPolicy.isPage(status: 301, contentType: "text/html"))
            #expect(!PageviewPolicy.isPage(status: 304, contentType: "text/html"))
            #expect(!PageviewPolicy.isPage(status: 404, contentType: "text/html; charset=utf-8"))
            #expect(!PageviewPolicy.isPage(status: 500, contentType: "text/html"))
            #expect(!PageviewPolicy.isPage(status: 200, contentType: "application/json"))
            #expect(!PageviewPolicy.isPage(status: 200, contentType: "text/plain"))
            #expect(!PageviewPolicy.isPage(status: 200, contentType: "application/xhtml+xml"))
            #expect(!PageviewPolicy.isPage(status: 200, contentType: nil))
            #expect(!PageviewPolicy.isPage(status: 200, contentType: ""))
        }
    }
}

extension GatewayUnitTests {
    @Suite("VisitorIdentifier")
    struct VisitorIdentifierTests {
        static let id = UUID(uuidString: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")!
        static let salt = SymmetricKey(data: [UInt8](repeating: 7, count: 32))

        static let cookie = VisitorCookie(secret: ServerSecret(String(repeating: "s", count: 32)))

        private func visitorID(_ header: String?) -> UUID? {
            Self.cookie.visitorID(fromValue: VisitorIdentifier.cookieValue(fromCookieHeader: header))
        }

        @Test func aSignedCookieIsReadWhereverItSitsInTheHeader() {
            let value = Self.cookie.value(for: Self.id)
            #expect(visitorID("analytics_vid=\(value)") == Self.id)
            #expect(visitorID("a=1; analytics_vid=\(value); b=2") == Self.id)
            #expect(visitorID("a=1;analytics_vid= \(value) ;b=2") == Self.id)
            #expect(visitorID("session=x=y; analytics_vid=\(value)") == Self.id)
            // The id's letters in upper case: the same id, the same MAC.
            #expect(visitorID("analytics_vid=\(value.prefix(36).uppercased())\(value.dropFirst(36))") == Self.id)
        }

        @Test(
            arguments: [
                nil, "", "a=1; b=2", "analytics_vid=", "analytics_vid=not-a-uuid",
                "analytics_vid=0193a1b2c3d47e5f8a9b0c1d2e3f4a5b",  // no dashes
                "analytics_vid=0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5",  // one digit short
                "analytics_vid=0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5bX",
                "analytics_vid=0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g",
                "xanalytics_vid=0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                "analytics_vidx=0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                "analytics_vid",
                // A well-formed UUID without a MAC: what a script minting visitors would send.
                "analytics_vid=0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            ] as [String?])
        func noVisitorID(header: String?) {
            #expect(visitorID(header) == nil)
        }

        @Test func aForgedOrForeignCookieIsNotBelieved() {
            let genuine = Self.cookie.value(for: Self.id)
            let other = UUID(uuidString: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c")!
            // Another id with this id's MAC.
            #expect(visitorID("analytics_vid=\(other.lowercasedString)\(genuine.dropFirst(36))") == nil)
            // One character of the MAC changed.
            let last = genuine.last == "A" ? "B" : "A"
            #expect(visitorID("analytics_vid=\(genuine.dropLast())\(last)") == nil)
            // Signed by another deployment.
            let foreign = VisitorCookie(secret: ServerSecret(String(repeating: "t", count: 32))).value(for: Self.id)
            #expect(visitorID("analytics_vid=\(foreign)") == nil)
        }

        private func ip(_ text: String) -> IPAddress { IPAddress(text)! }

        private func cookieless(
            _ address: String?, _ userAgent: String = "Mozilla/5.0", salt: SymmetricKey = VisitorIdentifierTests.salt
        ) -> UUID {
            VisitorIdentifier.cookielessID(salt: salt, clientAddress: address.map(ip), userAgent: userAgent)
        }

        @Test func cookielessIDIsStableForTheSameInputs() {
            let a = cookieless("203.0.113.7")
            #expect(a == cookieless("203.0.113.7", salt: SymmetricKey(data: [UInt8](repeating: 7, count: 32))))
            // The same address written as IPv4-mapped IPv6 is the same client.
            #expect(cookieless("::ffff:203.0.113.7") == a)
            #expect(cookieless(nil) == cookieless(nil))
        }

        @Test func cookielessIDDependsOnEveryInput() {
            let all = [
                cookieless("203.0.113.7"),
                cookieless("203.0.113.7", salt: SymmetricKey(data: [UInt8](repeating: 8, count: 32))),
                cookieless("203.0.113.8"),
                cookieless("2001:db8::7"),
                cookieless("203.0.113.7", "Mozilla/5.1"),
                cookieless("203.0.113.7", ""),
                cookieless(nil),
            ]
            #expect(Set(all).count == all.count)
        }

        @Test func cookielessIDIsAVersion8UUIDOfTheDocumentedHMAC() {
            let address = ip("198.51.100.20")
            let id = VisitorIdentifier.cookielessID(salt: Self.salt, clientAddress: address, userAgent: "UA")
            #expect(id.uuid.6 >> 4 == 8)
            #expect(id.uuid.8 >> 6 == 0b10)
            // HMAC-SHA256(salt, address bytes ‖ 0 ‖ user agent), first 16 bytes, version and variant set.
            let message = address.bytes + [0] + Array("UA".utf8)
            var mac = Array(HMAC<SHA256>.authenticationCode(for: message, using: Self.salt)).prefix(16).map { $0 }
            mac[6] = mac[6] & 0x0F | 0x80
            mac[8] = mac[8] & 0x3F | 0x80
            let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            #expect(bytes == mac)
            // The address is not recoverable from the id: none of its bytes run appears in it.
            #expect(!id.lowercasedString.contains("c6336414"))  // 198.51.100.20 in hex
        }

        @Test func setCookieHeaderFormat() throws {
            let value = Self.cookie.value(for: Self.id)
            #expect(value.hasPrefix("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.") && value.count == 36 + 1 + 22)
            let header = VisitorIdentifier.setCookieHeader(value: value, secure: false)
            #expect(header == "analytics_vid=\(value); Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly")
            #expect(VisitorIdentifier.setCookieHeader(value: value, secure: true).hasSuffix("; HttpOnly; Secure"))
            #expect(VisitorIdentifier.cookieName == "analytics_vid")
            #expect(VisitorIdentifier.cookieMaxAge == 365 * 86_400)
            // What we set is what we read back.
            #expect(visitorID(header) == Self.id)
        }
    }
}
