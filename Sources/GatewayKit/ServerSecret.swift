import AnalyticsCore
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The deployment's secret (`ANALYTICS_SECRET`), from which the gateway derives the key that signs
/// visitor cookies and the key that names clients in the shared rate limit. Every gateway of a
/// deployment must have the same one, or they would refuse each other's cookies.
///
/// When the variable is unset, the secret is read from `<ANALYTICS_DATA_DIR>/secret`, which the
/// first gateway to start creates with 32 random bytes (mode 0600; created exclusively, so that
/// gateways starting together agree, and never through a symbolic link).
public struct ServerSecret: Sendable {
    let material: SymmetricKey

    /// The name of the generated file in the data directory.
    public static let fileName = "secret"

    /// A secret from its text (tests, and `ANALYTICS_SECRET`).
    public init(_ text: String) {
        material = SymmetricKey(data: Array(text.utf8))
    }

    /// The configured secret, or the generated one.
    /// - Throws: ``ConfigurationError`` naming `ANALYTICS_DATA_DIR` when the file can be neither
    ///   read nor created.
    public static func load(_ configuration: AnalyticsConfiguration) throws(ConfigurationError) -> ServerSecret {
        if let secret = configuration.secret { return ServerSecret(secret) }
        let variable = AnalyticsConfiguration.name(of: \.dataDirectory)
        do {
            return ServerSecret(try generatedSecret(in: configuration.dataDirectory))
        } catch {
            throw ConfigurationError(
                variable: variable,
                message:
                    "cannot keep the generated secret in \(configuration.dataDirectory) (\(error)); make the directory writable or set ANALYTICS_SECRET"
            )
        }
    }

    /// Reads `<directory>/secret`, creating the directory and the file first if needed.
    static func generatedSecret(in directory: String) throws -> String {
        let path = directory + "/" + fileName
        if let existing = try readSecret(at: path) { return existing }
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fresh = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        // Written whole under a unique name, then linked into place: link() fails if another
        // gateway won the race, and nobody ever reads a half-written secret.
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { unlink(temporary) }
        let bytes = Array((fresh + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else { throw POSIXError(.EIO) }
        if link(temporary, path) != 0, errno != EEXIST { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard let secret = try readSecret(at: path) else { throw POSIXError(.ENOENT) }
        return secret
    }

    /// The file's secret; nil when there is no file. A symbolic link or a file readable by others
    /// is refused.
    private static func readSecret(at path: String) throws -> String? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        defer { close(fd) }
        // Opened without following a link; its type and mode as the directory lists them.
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        guard attributes[.type] as? FileAttributeType == .typeRegular else { throw POSIXError(.EINVAL) }
        guard (attributes[.posixPermissions] as? Int ?? 0o777) & 0o077 == 0 else { throw SecretFileError.readableByOthers(path) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { throw POSIXError(.EIO) }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.utf8.count >= 32 else { throw SecretFileError.tooShort(path) }
        return text
    }

    /// A key for one purpose: HMAC(secret, purpose), so that no two uses share a key.
    func key(for purpose: String) -> SymmetricKey {
        SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(purpose.utf8), using: material))
    }
}

/// What is wrong with the secret file.
enum SecretFileError: Error, CustomStringConvertible {
    case readableByOthers(String)
    case tooShort(String)

    var description: String {
        switch self {
        case .readableByOthers(let path): "\(path) is readable by other users: chmod 600 it"
        case .tooShort(let path): "\(path) holds fewer than 32 characters"
        }
    }
}
