extension StringProtocol {
    /// `%XX` escapes decoded; nil when an escape is malformed or the bytes are not UTF-8.
    var percentDecoded: String? {
        var out: [UInt8] = []
        var it = utf8.makeIterator()
        while let b = it.next() {
            if b == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16)
                else { return nil }
                out.append(v)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
