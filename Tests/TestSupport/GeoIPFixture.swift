import Foundation

/// The small MaxMind-format country database of the GeoIP tests, written at run time by
/// `Tests/Fixtures/geoip/build-fixture.pl` (which lists its networks), so that it always matches the
/// script. Needs Perl and Debian's libmaxmind-db-writer-perl (`scripts/install-deps`).
public enum GeoIPFixture {
    /// The script that writes the database.
    public static let script =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/geoip/build-fixture.pl")

    /// Writes the database into `directory`.
    /// - Returns: the path of the `.mmdb` file, removed with the directory.
    /// - Throws: `TestSupportError` with the script's output when it fails.
    public static func build(in directory: TemporaryDirectory) async throws -> String {
        let output = directory.url.appendingPathComponent("test-country.mmdb").path
        let perl = try ChildProcess(
            executable: URL(fileURLWithPath: "/usr/bin/perl"), arguments: [script.path, output], logDirectory: directory.url,
            name: "build-fixture")
        let status = await perl.waitForExit(timeout: .seconds(60))
        guard status == 0, FileManager.default.fileExists(atPath: output) else {
            throw TestSupportError("\(script.path) failed (status \(status.map(String.init) ?? "none")): \(perl.output)")
        }
        return output
    }
}
