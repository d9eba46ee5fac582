/// One command as binary-safe arguments in a single buffer (one allocation however many arguments).
/// Its name is its first argument.
public struct RedisCommand: Sendable, CustomStringConvertible {
    var storage: [UInt8] = []
    var lengths: [Int] = []

    /// A command from its words, name first: `RedisCommand("XACK", stream, group, id)`.
    public init(_ arguments: String...) {
        for a in arguments { append(a) }
    }

    /// A command from its words, name first.
    public init(_ arguments: [String]) {
        storage.reserveCapacity(arguments.reduce(0) { $0 + $1.utf8.count })
        lengths.reserveCapacity(arguments.count)
        for a in arguments { append(a) }
    }

    /// Adds one argument, as its UTF-8 bytes.
    public mutating func append(_ argument: String) {
        storage.append(contentsOf: argument.utf8)
        lengths.append(argument.utf8.count)
    }

    /// Adds one binary argument (a salt, a HyperLogLog's bytes).
    public mutating func append(_ argument: some Collection<UInt8>) {
        storage.append(contentsOf: argument)
        lengths.append(argument.count)
    }

    /// Adds one integer argument, in decimal.
    public mutating func append(_ argument: Int) {
        append(String(argument))
    }

    /// Adds each string as one argument.
    public mutating func append(contentsOf arguments: [String]) {
        for a in arguments { append(a) }
    }

    /// The number of words, the command's name included.
    public var argumentCount: Int { lengths.count }

    /// The command name, for logs and errors (arguments may hold visitor data: never logged).
    public var name: String {
        guard let first = lengths.first else { return "" }
        return String(decoding: storage[0..<first], as: UTF8.self).uppercased()
    }

    /// The name only, so that logging a command never writes its arguments.
    public var description: String { name }
}
