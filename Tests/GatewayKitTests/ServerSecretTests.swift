import AnalyticsCore
import Foundation
import GatewayKit
import TestSupport
import Testing

@Suite("ServerSecret and ClientKey")
struct ServerSecretTests {
    @Test func theSecretIsGeneratedOnceIntoTheDataDirectoryReadableOnlyByItsOwner() throws {
        let directory = TemporaryDirectory("secret")
        var configuration = AnalyticsConfiguration()
        configuration.dataDirectory = directory.path + "/state"
        let first = try ServerSecret.load(configuration)
        let path = configuration.dataDirectory + "/secret"
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(text.count == 64)
        // Loaded again (another gateway, a restart): the same secret, so the same cookies.
        let again = try ServerSecret.load(configuration)
        let id = UUID()
        #expect(VisitorCookie(secret: first).value(for: id) == VisitorCookie(secret: again).value(for: id))
        // A configured secret wins, and differs.
        configuration.secret = String(repeating: "z", count: 40)
        #expect(VisitorCookie(secret: try ServerSecret.load(configuration)).value(for: id) != VisitorCookie(secret: first).value(for: id))
    }

    @Test func aSecretFileThatOthersMayReadOrThatIsALinkIsRefused() throws {
        let directory = TemporaryDirectory("secret")
        var configuration = AnalyticsConfiguration()
        configuration.dataDirectory = directory.path
        let path = directory.path + "/secret"
        try String(repeating: "a", count: 64).write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: ConfigurationError.self) { try ServerSecret.load(configuration) }
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/etc/hostname")
        #expect(throws: ConfigurationError.self) { try ServerSecret.load(configuration) }
    }

    @Test func base64URLIsFoundationsBase64WithTheURLAlphabetAndNoPadding() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 251) }
            let expected = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(VisitorCookie.base64URL(bytes) == expected, "\(length) bytes")
        }
    }

    @Test func clientsAreNamedByAKeyedHashOfTheirBlockNeverByTheirAddress() {
        let keys = ClientKey(secret: ServerSecret(String(repeating: "k", count: 32)))
        let a = keys.name(of: IPAddress("2001:db8:5:6::1"))
        #expect(a == keys.name(of: IPAddress("2001:db8:5:6:ffff::9")))
        #expect(a != keys.name(of: IPAddress("2001:db8:5:7::1")))
        #expect(a.count == 20 && !a.contains("2001"))
        #expect(keys.name(of: nil) == "unknown")
        // Another deployment names the same client otherwise.
        #expect(ClientKey(secret: ServerSecret(String(repeating: "j", count: 32))).name(of: IPAddress("2001:db8:5:6::1")) != a)
    }
}
