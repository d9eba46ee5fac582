/// What a user agent says about a visitor's software and hardware, as the breakdowns show it:
/// the browser's name and major version, the operating system, and the kind of device. Derived once,
/// when an event is accepted (``UserAgentClassifier``); the user agent itself is not kept.
public struct UserAgentDimensions: Sendable, Hashable {
    /// The kind of device an event came from.
    public enum Device: String, Sendable, Hashable, CaseIterable {
        case desktop
        case mobile
        case tablet
        /// A crawler or other automated client (only seen when the bot filter is off).
        case bot
    }

    /// The browser or app, by its common name (`Chrome`, `Safari`, `Samsung Internet`, `Instagram`,
    /// `Android WebView`, …); empty when not recognised.
    public var browser: String
    /// The browser's major version (`135`); empty when it has none or is not recognised.
    public var browserMajor: String
    /// The operating system (`Windows`, `macOS`, `iOS`, `Android`, `Linux`, `ChromeOS`, …); empty
    /// when not recognised. iPadOS counts as iOS.
    public var os: String
    public var device: Device

    /// - Parameters:
    ///   - browser: the browser's name.
    ///   - browserMajor: its major version.
    ///   - os: the operating system.
    ///   - device: the kind of device.
    public init(browser: String = "", browserMajor: String = "", os: String = "", device: Device = .desktop) {
        self.browser = browser
        self.browserMajor = browserMajor
        self.os = os
        self.device = device
    }

    /// The browser with its major version (`Chrome 135`), or its name alone when it has none.
    public var browserVersion: String {
        browserMajor.isEmpty ? browser : "\(browser) \(browserMajor)"
    }
}
