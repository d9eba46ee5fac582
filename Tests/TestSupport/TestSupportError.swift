import AnalyticsCore
import Foundation
import Logging
import RedisClient
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
