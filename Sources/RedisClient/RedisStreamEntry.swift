/// One entry of a Redis stream as `XREADGROUP`, `XRANGE` and `XAUTOCLAIM` answer it. Field names
/// and values are read as UTF-8 text.
public struct RedisStreamEntry: Sendable, Equatable {
    /// The entry id (`ms-seq`, see ``StreamID``); not the event's id.
    public let id: String
    /// Field/value pairs; nil when the entry was trimmed away while pending (its data is gone).
    public let fields: [(String, String)]?

    public init(id: String, fields: [(String, String)]?) {
        self.id = id
        self.fields = fields
    }

    /// Same id and same fields in the same order.
    public static func == (a: RedisStreamEntry, b: RedisStreamEntry) -> Bool {
        a.id == b.id && a.fields?.map(\.0) == b.fields?.map(\.0) && a.fields?.map(\.1) == b.fields?.map(\.1)
    }

    /// Parses `[[id, [f, v, …]], …]`: the reply of `XRANGE`, or the entries element of
    /// `XAUTOCLAIM`'s. A null reply is no entries.
    /// - Throws: ``RedisError/unexpectedReply(_:)`` when the reply has another shape.
    public static func list(from value: RedisValue) throws(RedisError) -> [RedisStreamEntry] {
        guard case .array(let items) = value else {
            if value.isNull { return [] }
            throw .unexpectedReply("stream entry list")
        }
        var entries: [RedisStreamEntry] = []
        entries.reserveCapacity(items.count)
        for item in items {
            guard case .array(let parts) = item, parts.count == 2, let id = parts[0].string else {
                throw .unexpectedReply("stream entry")
            }
            switch parts[1] {
            case .null:
                entries.append(RedisStreamEntry(id: id, fields: nil))
            case .array(let flat):
                var fields: [(String, String)] = []
                fields.reserveCapacity(flat.count / 2)
                var i = 0
                while i + 1 < flat.count {
                    fields.append((flat[i].string ?? "", flat[i + 1].string ?? ""))
                    i += 2
                }
                entries.append(RedisStreamEntry(id: id, fields: fields))
            default:
                throw .unexpectedReply("stream entry fields")
            }
        }
        return entries
    }

    /// Parses the answer of `XREADGROUP`/`XREAD` for one stream: `[[stream, [entries]]]`, or null on timeout.
    /// - Returns: the entries of every stream in the reply, in order; none on timeout.
    /// - Throws: ``RedisError/unexpectedReply(_:)`` when the reply has another shape.
    public static func fromRead(_ value: RedisValue) throws(RedisError) -> [RedisStreamEntry] {
        if value.isNull { return [] }
        guard case .array(let streams) = value else { throw .unexpectedReply("XREADGROUP") }
        var all: [RedisStreamEntry] = []
        for stream in streams {
            guard case .array(let pair) = stream, pair.count == 2 else { throw .unexpectedReply("XREADGROUP stream") }
            all += try list(from: pair[1])
        }
        return all
    }
}
