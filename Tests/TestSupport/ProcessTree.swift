import Foundation

/// Processes as /proc shows them, to find a supervisor's children in tests.
public enum ProcessTree {
    public struct Entry: Sendable, Equatable {
        public let pid: Int32
        public let parent: Int32
        /// The executable's name (`comm`, at most 15 characters).
        public let name: String
        /// R, S, T (stopped), Z (zombie)…
        public let state: Character
    }

    public static func all() -> [Entry] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { name -> Entry? in
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { return nil }
            let comm = String(stat[stat.index(after: open)..<close])
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 1, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
            return Entry(pid: pid, parent: parent, name: comm, state: state)
        }
    }

    /// Living (not zombie) children of `pid`.
    public static func children(of pid: Int32) -> [Entry] {
        all().filter { $0.parent == pid && $0.state != "Z" }
    }

    /// The living child of `pid` whose executable name starts with `prefix` (e.g. "analytics-gatew").
    public static func child(of pid: Int32, named prefix: String) -> Entry? {
        children(of: pid).first { $0.name.hasPrefix(prefix) }
    }
}
