/// A parsed JSON value that remembers where it stands in the input, so that the gateway can check an
/// event body and forward `event_data` byte for byte instead of decoding and re-encoding it.
public struct JSONValue: Sendable {
    /// The JSON type of a value.
    public enum Kind: Sendable, Equatable {
        case object, array, string, number, bool, null
    }

    /// One member of an object: its decoded name and its value.
    public struct Member: Sendable {
        public let key: String
        public let value: JSONValue
    }

    public let kind: Kind
    /// Byte offsets of the value in the parsed input: slicing the input with it gives the value's
    /// text exactly as sent.
    public let span: Range<Int>
    /// 0 for a scalar; 1 + the deepest child for an object or an array.
    public let depth: Int
    /// The members of an object, in input order (empty otherwise).
    public let members: [Member]
    /// The elements of an array, in order (empty otherwise).
    public var elements: [JSONValue] { arrayElements?.values ?? [] }
    /// Boxed: a struct cannot hold an array of itself directly in a stored property of this shape.
    let arrayElements: Elements?
    /// The decoded text of a string (nil otherwise).
    public let string: String?
    /// Whether this value or anything inside it holds a U+0000 (which PostgreSQL's jsonb and text refuse).
    public let containsNUL: Bool

    /// The value of the last member named `key` (JSON allows duplicates; the last one wins, as in jsonb).
    public subscript(key: String) -> JSONValue? {
        members.last { $0.key == key }?.value
    }

    final class Elements: Sendable {
        let values: [JSONValue]
        init(_ values: [JSONValue]) { self.values = values }
    }

    init(kind: Kind, span: Range<Int>, depth: Int, members: [Member], string: String?, containsNUL: Bool, elements: [JSONValue]? = nil) {
        self.kind = kind
        self.span = span
        self.depth = depth
        self.members = members
        self.string = string
        self.containsNUL = containsNUL
        self.arrayElements = elements.map(Elements.init)
    }
}
