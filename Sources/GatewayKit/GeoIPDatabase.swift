import AnalyticsCore
import CMaxMindDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A MaxMind-format GeoIP database (`ANALYTICS_GEOIP_DB`): GeoLite2-Country, GeoIP2-Country, DB-IP's
/// free country database, or a City database of either, which holds the same fields. The gateway looks
/// up the client's address when it accepts an event and keeps only the country code; the address
/// itself is never stored.
///
/// Opened once at start and read by every event loop at once. The file is mapped into memory, so
/// replace it by renaming a new file over it (as `geoipupdate` does), never by writing into it; the
/// gateway reads the new file when it restarts.
public final class GeoIPDatabase: @unchecked Sendable {
    // @unchecked: the MMDB_s is written only by MMDB_open (in init) and MMDB_close (in deinit). In
    // between libmaxminddb only reads it: MMDB_lookup_sockaddr takes a `const MMDB_s *`, the mapped
    // file is read-only, and libmaxminddb(3) documents the library as thread safe (with a thread-safe
    // malloc, which glibc's is). The lookup paths are written once, in init.
    private let handle: UnsafeMutablePointer<MMDB_s>
    private let countryPath: LookupPath
    private let registeredCountryPath: LookupPath

    /// The file the database was opened from.
    public let path: String

    /// Opens (maps) the database.
    /// - Parameter path: the `.mmdb` file.
    /// - Throws: ``GeoIPDatabaseError`` naming the path and libmaxminddb's reason when the file
    ///   cannot be read or is not a MaxMind DB file.
    public init(path: String) throws(GeoIPDatabaseError) {
        let handle = UnsafeMutablePointer<MMDB_s>.allocate(capacity: 1)
        handle.initialize(to: MMDB_s())
        errno = 0
        let status = MMDB_open(path, UInt32(MMDB_MODE_MMAP), handle)
        let systemError = errno
        guard status == MMDB_SUCCESS else {
            // A failed MMDB_open has freed what it allocated: there is nothing to close.
            handle.deinitialize(count: 1)
            handle.deallocate()
            throw GeoIPDatabaseError(path: path, status: status, systemError: systemError)
        }
        self.handle = handle
        self.path = path
        countryPath = LookupPath("country", "iso_code")
        registeredCountryPath = LookupPath("registered_country", "iso_code")
    }

    deinit {
        MMDB_close(handle)
        handle.deinitialize(count: 1)
        handle.deallocate()
    }

    /// The country of an address, as its ISO 3166-1 alpha-2 code in upper case (`FR`).
    ///
    /// The entry's `country` is used, or its `registered_country` when it has none.
    /// - Parameter address: the client's address; an IPv4 address is found in an IPv6 database too.
    /// - Returns: nil when the address is in no network of the database, when its entry has no
    ///   country code, or when the code is not two ASCII letters.
    public func countryCode(of address: IPAddress) -> String? {
        guard var entry = lookUp(address) else { return nil }
        var data = MMDB_entry_data_s()
        // Some networks have only the country where the block is registered (no `country`, where
        // it is used): the registered one is then the best answer there is.
        if MMDB_aget_value(&entry, &data, countryPath.keys) != MMDB_SUCCESS || !data.has_data {
            data = MMDB_entry_data_s()
            guard MMDB_aget_value(&entry, &data, registeredCountryPath.keys) == MMDB_SUCCESS, data.has_data else { return nil }
        }
        return Self.countryCode(in: data)
    }

    /// The entry of the network holding `address`; nil when there is none.
    private func lookUp(_ address: IPAddress) -> MMDB_entry_s? {
        var status = MMDB_SUCCESS
        let result: MMDB_lookup_result_s? = address.bytes.withUnsafeBytes { bytes in
            guard bytes.count == 16 else { return nil }
            // An AF_INET address is looked up where IPv6 databases keep IPv4 (::a.b.c.d); an
            // IPv4-mapped one (::ffff:a.b.c.d) would depend on the database aliasing that range.
            if address.isIPv4 {
                var socket = sockaddr_in()
                socket.sin_family = sa_family_t(AF_INET)
                withUnsafeMutableBytes(of: &socket.sin_addr) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[12..<16])) }
                return withUnsafePointer(to: &socket) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(handle, $0, &status) }
                }
            }
            var socket = sockaddr_in6()
            socket.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &socket.sin6_addr) { $0.copyMemory(from: bytes) }
            return withUnsafePointer(to: &socket) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(handle, $0, &status) }
            }
        }
        // An IPv6 address in an IPv4-only database is an error, not a miss; either way, no country.
        guard let result, status == MMDB_SUCCESS, result.found_entry else { return nil }
        return result.entry
    }

    /// A UTF-8 string of two ASCII letters, upper-cased; nil for anything else.
    private static func countryCode(in data: MMDB_entry_data_s) -> String? {
        guard data.type == UInt32(MMDB_DATA_TYPE_UTF8_STRING), data.data_size == 2, let text = data.utf8_string else { return nil }
        guard let first = upperCaseLetter(text[0]), let second = upperCaseLetter(text[1]) else { return nil }
        // Two bytes fit in a small string: no allocation.
        return String(unsafeUninitializedCapacity: 2) {
            $0[0] = first
            $0[1] = second
            return 2
        }
    }

    private static func upperCaseLetter(_ c: CChar) -> UInt8? {
        let byte = UInt8(bitPattern: c)
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte - 32
        default: return nil
        }
    }
}

/// A NULL-terminated path of map keys for `MMDB_aget_value` (the variadic `MMDB_get_value` cannot
/// be called from Swift), made once so that lookups allocate nothing.
private final class LookupPath {
    let keys: UnsafeMutablePointer<UnsafePointer<CChar>?>
    private let count: Int

    init(_ keys: String...) {
        count = keys.count
        self.keys = .allocate(capacity: keys.count + 1)
        for (i, key) in keys.enumerated() { self.keys[i] = UnsafePointer(strdup(key)) }
        self.keys[keys.count] = nil
    }

    deinit {
        for i in 0..<count { free(UnsafeMutablePointer(mutating: keys[i])) }
        keys.deallocate()
    }
}

/// Why a GeoIP database could not be opened: the process stops at start with this message.
public struct GeoIPDatabaseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file that was to be opened.
    public let path: String
    /// libmaxminddb's reason (`MMDB_strerror`), with the system's when reading the file failed.
    public let reason: String

    init(path: String, status: Int32, systemError: Int32) {
        self.path = path
        var reason = String(cString: MMDB_strerror(status))
        // errno tells why only when the file could not be opened or read (not for a bad format).
        if status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR, systemError != 0 {
            reason += " (\(String(cString: strerror(systemError))))"
        }
        self.reason = reason
    }

    public var description: String { "cannot open the GeoIP database \(path): \(reason)" }
}
