

/// One command as binary-safe arguments in a single buffer (one allocation however many arguments).
public struct RedisCommand: Sendable, CustomStringConvertible {
    var storage: [UInt8] = []
    var lengths: [Int] = []

    public init(_ arguments: String...) {
        for a in arguments { append(a) }
    }

    public init(_ arguments: [String]) {
        storage.reserveCapacity(arguments.reduce(0) { $0 + $1.utf8.count })
        lengths.reserveCapacity(arguments.count)
        for a in arguments { append(a) }
    }

    public mutating func append(_ argument: String) {
        storage.append(contentsOf: argument.utf8)
        lengths.append(argument.utf8.count)
    }

    public mutating func append(_ argument: some Collection<UInt8>) {
        storage.append(contentsOf: argument)
        lengths.append(argument.count)
    }

    public mutating func append(_ argument: Int) {
        append(String(argument))
    }

    public mutating func append(contentsOf arguments: [String]) {
        for a in arguments { append(a) }
    }

    public var argumentCount: Int { lengths.count }

    /// The command name, for logs and errors (arguments may hold visitor data: never logged).
    public var name: String {
        guard let first = lengths.first else { return "" }
        return String(decoding: storage[0..<first], as: UTF8.self).uppercased()
    }

    public var description: String { name }
}
