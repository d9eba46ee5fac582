import AnalyticsCore
import Crypto
import Foundation
import RedisClient
import Synchronization

/// Who sent a request, as ``VisitorIdentifier`` decides it: the visitor id of a valid first-party
/// cookie, or the cookieless id — a keyed hash of the day's random salt, the client address and the
/// user agent — which stays stable for a visitor within a UTC day and cannot be traced back to the
/// address.
public struct VisitorIdentity: Sendable, Equatable {
    /// The id the event is stored and counted under.
    public let visitorID: UUID
    /// The cookie to set: the request had no valid cookie and cookies are on.
    public let setCookie: Bool
}
