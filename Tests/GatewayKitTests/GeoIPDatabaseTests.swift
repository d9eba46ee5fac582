import AnalyticsCore
import Foundation
import GatewayKit
import Logging
import TestSupport
import Testing

/// Lookups in the fixture database written by `Tests/Fixtures/geoip/build-fixture.pl` (its header
/// lists the networks), built afresh for each test.
@Suite("GeoIPDatabase")
struct GeoIPDatabaseTests {
    private func fixture(in directory: TemporaryDirectory) async throws -> GeoIPDatabase {
        try GeoIPDatabase(path: try await GeoIPFixture.build(in: directory))
    }

    private func country(_ database: GeoIPDatabase, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String? {
        database.countryCode(of: try #require(IPAddress(text), sourceLocation: sourceLocation))
    }

    // MARK: lookups

    @Test func everyAddressOfAFixtureNetworkHasItsCountry() async throws {
        let directory = TemporaryDirectory("geoip")
        let database = try await fixture(in: directory)
        let expected = [
            ("192.0.2.0", "FR"), ("192.0.2.1", "FR"), ("192.0.2.255", "FR"),
            ("198.51.100.0", "DE"), ("198.51.100.77", "DE"), ("198.51.100.255", "DE"),
            ("2001:db8:1::", "US"), ("2001:db8:1::1", "US"), ("2001:db8:1:ffff:ffff:ffff:ffff:ffff", "US"),
        ]
        for (address, code) in expected {
            #expect(try country(database, address) == code, "\(address)")
        }
    }

    @Test func anAddressInNoNetworkHasNoCountry() async throws {
        let directory = TemporaryDirectory("geoip")
        let database = try await fixture(in: directory)
        for address in [
            "8.8.8.8", "192.0.1.255", "192.0.3.0", "198.51.101.1", "203.0.112.255", "0.0.0.0", "255.255.255.255",
            "2001:db8::1", "2001:db8:5::1", "2001:db9::1", "::1", "::",
        ] {
            #expect(try country(database, address) == nil, "\(address)")
        }
    }

    @Test func anIPv4AddressIsFoundWhetherWrittenAsIPv4OrIPv4MappedIPv6() async throws {
        let directory = TemporaryDirectory("geoip")
        let database = try await fixture(in: directory)
        #expect(try country(database, "192.0.2.1") == "FR")
        #expect(try country(database, "::ffff:192.0.2.1") == "FR")
        #expect(try country(database, "[::ffff:198.51.100.7]") == "DE")
        #expect(try country(database, "::ffff:c633:6407") == "DE")
        #expect(try country(database, " 198.51.100.7 ") == "DE")
    }

    @Test func anEntryWithoutCountryFallsBackToItsRegisteredCountry() async throws {
        let directory = TemporaryDirectory("geoip")
        let database = try await fixture(in: directory)
        #expect(try country(database, "203.0.113.9") == "JP")
        #expect(try country(database, "::ffff:203.0.113.200") == "JP")
    }

    @Test func anEntryWithoutISOCodeHasNoCountry() async throws {
        let directory = TemporaryDirectory("geoip")
        let database = try await fixture(in: directory)
        #expect(try country(database, "2001:db8:2::1") == nil)
    }

    @Test func codesAreGivenInUpperCaseAndAnythingButTwoLettersIsNoCountry() async throws {
        let directory = TemporaryDirectory("geoip")
        let database = try await fixture(in: directory)
        #expect(try country(database, "2001:db8:3::1") == "CH")
        #expect(try country(database, "2001:db8:4::1") == nil)
    }

    @Test func lookupsFromManyTasksAtOnceAgree() async throws {
        let directory = TemporaryDirectory("geoip")
        let database = try await fixture(in: directory)
        let addresses = ["192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8:1::1", "2001:db8:2::1", "8.8.8.8"].map { IPAddress($0)! }
        let expected: [String?] = ["FR", "DE", "JP", "US", nil, nil]
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var mismatches = 0
                    for _ in 0..<2000 {
                        for (address, code) in zip(addresses, expected) where database.countryCode(of: address) != code {
                            mismatches += 1
                        }
                    }
                    return mismatches
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    // MARK: files that cannot be used

    @Test func aMissingFileIsRefusedWithItsPath() {
        let directory = TemporaryDirectory("geoip")
        let path = directory.path + "/absent.mmdb"
        do {
            _ = try GeoIPDatabase(path: path)
            Issue.record("opened \(path)")
        } catch {
            #expect(error.path == path)
            #expect(error.description.contains(path))
            #expect(error.description.contains("No such file or directory"), "\(error)")
        }
    }

    @Test func aFileThatIsNotAMaxMindDatabaseIsRefusedWithItsPath() throws {
        let directory = TemporaryDirectory("geoip")
        for (name, contents) in [("country.txt", "192.0.2.0/24 FR\n"), ("empty.mmdb", "")] {
            let path = directory.path + "/" + name
            try contents.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try GeoIPDatabase(path: path)
                Issue.record("opened \(path)")
            } catch {
                #expect(error.path == path)
                #expect(error.description.hasPrefix("cannot open the GeoIP database \(path): "), "\(error)")
                #expect(!error.reason.isEmpty)
            }
        }
    }

    @Test func theGatewayDoesNotStartWithADatabaseItCannotOpen() {
        let directory = TemporaryDirectory("geoip")
        var configuration = AnalyticsConfiguration()
        configuration.secret = "test-secret-of-at-least-32-characters"
        configuration.geoIPDatabasePath = directory.path + "/absent.mmdb"
        do {
            _ = try GatewayApplication(configuration: configuration, logger: Logger(label: "geoip-test"))
            Issue.record("the gateway started without its GeoIP database")
        } catch let error as ConfigurationError {
            // A configuration error: the process exits 78 with this message.
            #expect(error.variable == "ANALYTICS_GEOIP_DB")
            #expect(error.message.contains(directory.path + "/absent.mmdb"), "\(error)")
        } catch {
            Issue.record("not a configuration error: \(error)")
        }
    }
}
