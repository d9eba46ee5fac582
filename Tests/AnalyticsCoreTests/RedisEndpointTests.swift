import AnalyticsCore
import Testing

@Suite("RedisEndpoint")
struct RedisEndpointTests {
    @Test func everyFormOfTheURLIsParsed() throws {
        #expect(RedisEndpoint(url: "redis://localhost") == RedisEndpoint(location: .tcp(host: "localhost", port: 6379)))
        #expect(RedisEndpoint(url: "redis://localhost/") == RedisEndpoint(location: .tcp(host: "localhost", port: 6379)))
        #expect(RedisEndpoint(url: "redis://localhost:6390") == RedisEndpoint(location: .tcp(host: "localhost", port: 6390)))
        #expect(RedisEndpoint(url: "redis://10.1.2.3:6379/15") == RedisEndpoint(location: .tcp(host: "10.1.2.3", port: 6379), database: 15))

        let password = try #require(RedisEndpoint(url: "redis://:s3cret@cache:6380/2"))
        #expect(password.location == .tcp(host: "cache", port: 6380))
        #expect(password.database == 2)
        #expect(password.username == nil)
        #expect(password.password == "s3cret")

        let bare = try #require(RedisEndpoint(url: "redis://s3cret@cache"))
        #expect(bare.username == nil)
        #expect(bare.password == "s3cret")

        let userPassword = try #require(RedisEndpoint(url: "redis://alice:p%40ss%3Aw@cache/1"))
        #expect(userPassword.username == "alice")
        #expect(userPassword.password == "p@ss:w")
        #expect(userPassword.database == 1)
        #expect(userPassword.location == .tcp(host: "cache", port: 6379))

        let at = try #require(RedisEndpoint(url: "redis://:a@b@cache"))
        #expect(at.password == "a@b")
        #expect(at.location == .tcp(host: "cache", port: 6379))

        #expect(RedisEndpoint(url: "redis://[::1]:6380") == RedisEndpoint(location: .tcp(host: "::1", port: 6380)))
        #expect(RedisEndpoint(url: "redis://[::1]") == RedisEndpoint(location: .tcp(host: "::1", port: 6379)))
        #expect(RedisEndpoint(url: "redis://[fd00::5]:7000/4") == RedisEndpoint(location: .tcp(host: "fd00::5", port: 7000), database: 4))

        #expect(RedisEndpoint(url: "unix:///tmp/r.sock?db=2") == RedisEndpoint(location: .unixSocket(path: "/tmp/r.sock"), database: 2))
        #expect(RedisEndpoint(url: "unix:///tmp/r.sock") == RedisEndpoint(location: .unixSocket(path: "/tmp/r.sock"), database: 0))
        #expect(RedisEndpoint(url: "unix:///tmp/r.sock?x=1&db=5") == RedisEndpoint(location: .unixSocket(path: "/tmp/r.sock"), database: 5))
    }

    @Test(arguments: [
        "http://x", "rediss://host", "localhost:6379", "", "redis://host/abc", "redis://host/-1", "redis://host/1.5",
        "redis://host:0", "redis://host:65536", "redis://host:abc", "redis://host:", "redis://:6379",
        "redis://[::1", "redis://[::1]x", "redis://[::1]:0", "redis://[]:6379",
        "redis://::1", "redis://::1:6380", "unix://relative.sock", "unix:///tmp/r.sock?db=x", "unix:///tmp/r.sock?db=-1", "unix://",
    ])
    func malformedURLsAreRefused(text: String) {
        #expect(RedisEndpoint(url: text) == nil)
    }

    @Test func malformedPercentEncodingInThePasswordIsRefused() {
        // "%zz" cannot be decoded; the URL must be refused rather than connect without a password.
        #expect(RedisEndpoint(url: "redis://:%zz@host") == nil)
        #expect(RedisEndpoint(url: "redis://alice:%4@host") == nil)
        #expect(RedisEndpoint(url: "redis://%zz@host") == nil)  // a bare password, without a user
        #expect(RedisEndpoint(url: "redis://alice:ok%@host:6380/1") == nil)
        // A well-formed encoding, and no password at all, are still accepted.
        #expect(RedisEndpoint(url: "redis://alice:%41b@host")?.password == "Ab")
        #expect(RedisEndpoint(url: "redis://al%69ce:pw@host")?.username == "alice")
        #expect(RedisEndpoint(url: "redis://al%zzce:pw@host") == nil)
        #expect(RedisEndpoint(url: "redis://:%25@host")?.password == "%")
        #expect(RedisEndpoint(url: "redis://host")?.password == nil)
    }

    @Test func redactedHidesThePassword() throws {
        let url = try #require(RedisEndpoint(url: "redis://alice:s3cret@cache:6380/2"))
        #expect(url.redacted == "redis://alice:***@cache:6380/2")
        #expect(!url.redacted.contains("s3cret"))
        #expect(try #require(RedisEndpoint(url: "redis://:s3cret@cache")).redacted == "redis://:***@cache:6379/0")
        #expect(try #require(RedisEndpoint(url: "redis://cache")).redacted == "redis://cache:6379/0")
        #expect(try #require(RedisEndpoint(url: "redis://[::1]:6380/1")).redacted == "redis://[::1]:6380/1")
        #expect(try #require(RedisEndpoint(url: "unix:///tmp/r.sock?db=2")).redacted == "unix:///tmp/r.sock?db=2")
    }
}
