import Foundation

/// The rules an event must pass to be accepted (the README's "Event rules"). A body either passes
/// all of them or is refused whole, with an ``EventRejection`` naming the rule.
public enum EventRules {
    /// A larger body is refused with 413 before it is parsed.
    public static let maximumBodyBytes = 16 * 1024
    /// In bytes: an event type is ASCII.
    public static let maximumEventTypeLength = 50
    /// Members of the `event_data` object itself; those of nested objects are not counted.
    public static let maximumEventDataKeys = 32
    /// Nesting levels of `event_data`, the object itself being level 1.
    public static let maximumEventDataDepth = 3
    /// Bytes of `event_data` as sent, whitespace included.
    public static let maximumEventDataBytes = 8 * 1024
    /// Characters (Unicode scalars) of `page_url` and `referrer`.
    public static let maximumURLLength = 2048
    /// Characters (Unicode scalars) of a `cv_theme_view`'s theme.
    public static let maximumThemeLength = 64

    /// Every rule name, so that the rejection counter has a bounded, pre-declared label set.
    public static let ruleNames = [
        "body.size", "body.json", "body.object", "event_type.required", "event_type.format",
        "event_data.object", "event_data.keys", "event_data.depth", "event_data.size", "event_data.nul",
        "event_data.theme", "event_data.letter_type", "page_url.format", "referrer.format", "id.format",
    ]

    /// Whether `type` is a valid event type: `[a-z0-9_.:-]{1,50}`. The consumers apply it again to
    /// what they read from the stream.
    public static func isValidEventType(_ type: String) -> Bool {
        let utf8 = type.utf8
        guard !utf8.isEmpty, utf8.count <= maximumEventTypeLength else { return false }
        return utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: ":") || b == UInt8(ascii: "-")
        }
    }

    /// A theme is 1–64 characters without control, bidirectional-formatting or invisible
    /// characters: it becomes a sorted-set member and a label, and dashboards show it to people, who
    /// must see what it says (no reordered or hidden text).
    public static func isValidTheme(_ theme: String) -> Bool {
        let scalars = theme.unicodeScalars
        return !scalars.isEmpty && scalars.count <= maximumThemeLength && !scalars.contains(where: isHiddenOrControl)
    }

    /// C0 and C1 controls, DEL, the bidirectional formatting characters (embeddings, overrides,
    /// isolates, marks), zero-width and invisible characters, line and paragraph separators, and the
    /// byte-order mark.
    public static func isHiddenOrControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E: true
        case 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0x3164, 0xFE00...0xFE0F, 0xFEFF, 0xFFA0, 0xFFF9...0xFFFB: true
        case 0xE0000...0xE007F: true
        default: false
        }
    }

    /// A URL-like field: at most 2,048 characters, no NUL (PostgreSQL text refuses it).
    public static func isValidURLField(_ value: String) -> Bool {
        value.unicodeScalars.count <= maximumURLLength && !value.unicodeScalars.contains("\u{0}")
    }

    /// Checks a `POST /api/analytics/event` body against every rule.
    /// - Parameters:
    ///   - body: the request body, as received.
    ///   - refererHeader: the request's `Referer`, which becomes `page_url` when the body has none
    ///     (ignored if it breaks the URL rule).
    /// - Returns: the fields to publish, with `event_data` kept byte for byte; or the first rule broken.
    public static func validate(body: [UInt8], refererHeader: String?) -> Result<ValidatedEventBody, EventRejection> {
        guard body.count <= maximumBodyBytes else {
            return .failure(.init("body.size", "body: at most \(maximumBodyBytes) bytes", status: 413))
        }
        let root: JSONValue
        do {
            root = try JSONScanner.parse(body)
        } catch {
            return .failure(.init("body.json", "body: not valid JSON (\(error))"))
        }
        guard root.kind == .object else {
            return .failure(.init("body.object", "body: must be a JSON object"))
        }
        guard let typeValue = root["event_type"], typeValue.kind != .null else {
            return .failure(.init("event_type.required", "event_type: required"))
        }
        guard let eventType = typeValue.string, isValidEventType(eventType) else {
            return .failure(.init("event_type.format", "event_type: must be 1 to 50 characters of [a-z0-9_.:-]"))
        }

        var eventData = "{}"
        var data: JSONValue?
        if let value = root["event_data"], value.kind != .null {
            guard value.kind == .object else {
                return .failure(.init("event_data.object", "event_data: must be a JSON object"))
            }
            guard value.members.count <= maximumEventDataKeys else {
                return .failure(.init("event_data.keys", "event_data: at most \(maximumEventDataKeys) keys"))
            }
            guard value.depth <= maximumEventDataDepth else {
                return .failure(.init("event_data.depth", "event_data: nested at most \(maximumEventDataDepth) levels deep"))
            }
            guard value.span.count <= maximumEventDataBytes else {
                // Too large, like a body over its limit: 413.
                return .failure(.init("event_data.size", "event_data: at most \(maximumEventDataBytes) bytes", status: 413))
            }
            guard !value.containsNUL else {
                return .failure(.init("event_data.nul", "event_data: the character U+0000 is not allowed"))
            }
            eventData = String(decoding: body[value.span], as: UTF8.self)
            data = value
        }

        switch eventType {
        case DomainEvent.themeView:
            guard let theme = data?["theme"]?.string, isValidTheme(theme) else {
                return .failure(
                    .init(
                        "event_data.theme",
                        "event_data.theme: cv_theme_view needs a theme of 1 to \(maximumThemeLength) characters"))
            }
        case DomainEvent.letterGenerated:
            guard let type = data?["type"]?.string, DomainEvent.letterTypes.contains(type) else {
                return .failure(
                    .init(
                        "event_data.letter_type",
                        "event_data.type: letter_generated needs type motivation or anti_motivation"))
            }
        default:
            break
        }

        var pageURL = refererHeader.flatMap { isValidURLField($0) && !$0.isEmpty ? $0 : nil }
        if let value = root["page_url"], value.kind != .null {
            guard let url = value.string, isValidURLField(url) else {
                return .failure(.init("page_url.format", "page_url: must be a string of at most \(maximumURLLength) characters"))
            }
            pageURL = url
        }
        var referrer: String?
        if let value = root["referrer"], value.kind != .null {
            guard let ref = value.string, isValidURLField(ref) else {
                return .failure(.init("referrer.format", "referrer: must be a string of at most \(maximumURLLength) characters"))
            }
            referrer = ref
        }
        var clientID: UUID?
        if let value = root["id"], value.kind != .null {
            guard let text = value.string, let id = UUID(canonical: text) else {
                return .failure(.init("id.format", "id: must be a UUID in its 36-character form (a version 7 UUID is best)"))
            }
            clientID = id
        }
        return .success(
            ValidatedEventBody(eventType: eventType, eventData: eventData, pageURL: pageURL, referrer: referrer, clientID: clientID))
    }
}
