// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "analytics-service",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "analytics-gateway", targets: ["Gateway"]),
        .executable(name: "analytics-aggregator", targets: ["Aggregator"]),
        .executable(name: "analytics-archiver", targets: ["Archiver"]),
        .executable(name: "analytics-wshub", targets: ["WSHub"]),
        .executable(name: "analytics-supervisor", targets: ["Supervisor"]),
        .executable(name: "analytics-bench", targets: ["AnalyticsBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        // hiredis 0.14 from Debian's libhiredis-dev; the only C dependency of the Redis client.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),

        // zlib from Debian's zlib1g-dev: the gzip NDJSON archive files.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // libmaxminddb from Debian's libmaxminddb-dev: the gateway's country lookup (ANALYTICS_GEOIP_DB).
        .systemLibrary(
            name: "CMaxMindDB",
            pkgConfig: "libmaxminddb",
            providers: [.apt(["libmaxminddb-dev"])]
        ),

        // glibc's mallopt, for the allocation pattern of large batch replies (see AllocatorTuning).
        .systemLibrary(name: "CMalloc"),
        .target(name: "CEpoll", path: "bench/Sources/CEpoll"),

        // Pure model of the service: events and their validation, time buckets, the Redis key layout,
        // the consumer groups, configuration and the addresses of Redis and PostgreSQL, backoff. No I/O.
        .target(
            name: "AnalyticsCore",
            swiftSettings: swiftSettings
        ),

        // A pipelining Redis client over hiredis: one connection per thread, owned in one place.
        .target(
            name: "RedisClient",
            dependencies: [
                "AnalyticsCore",
                "CHiredis",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // What every process shares: the bootstrap of the executables (configuration, command line,
        // logging, exit statuses), the Prometheus registry, the admin listener (/metrics, /healthz),
        // the stream consumer loop and the stream health gauges, the PostgreSQL pool settings.
        .target(
            name: "ServiceSupport",
            dependencies: [
                "AnalyticsCore",
                "CMalloc",
                "RedisClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "GatewayKit",
            dependencies: [
                "AnalyticsCore",
                "CMaxMindDB",
                "CZlib",
                "RedisClient",
                "ServiceSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "AggregatorKit",
            dependencies: [
                "AnalyticsCore",
                "RedisClient",
                "ServiceSupport",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // The keeper of history: the `archiver` consumer group into PostgreSQL, migrations, retention
        // with archive files, import and rebuild.
        .target(
            name: "ArchiverKit",
            dependencies: [
                "AnalyticsCore",
                "RedisClient",
                "ServiceSupport",
                "CZlib",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),

        // The live side: Redis pub/sub fanned out to WebSocket dashboards.
        .target(
            name: "WSHubKit",
            dependencies: [
                "AnalyticsCore",
                "RedisClient",
                "ServiceSupport",
                "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),

        // The supervisor: keeps every worker alive and speaks sd_notify to systemd.
        .target(
            name: "SupervisorKit",
            dependencies: [
                "AnalyticsCore",
                "ServiceSupport",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "Gateway",
            dependencies: ["GatewayKit", "ServiceSupport"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Aggregator",
            dependencies: ["AggregatorKit", "ServiceSupport"],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "Archiver",
            dependencies: ["ArchiverKit", "ServiceSupport"],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "WSHub",
            dependencies: ["WSHubKit", "ServiceSupport"],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "Supervisor",
            dependencies: ["SupervisorKit", "ServiceSupport"],
            swiftSettings: swiftSettings
        ),

        // Load generators and measurements used by bench/*.sh.
        .executableTarget(
            name: "AnalyticsBench",
            dependencies: [
                "CEpoll",
                "AnalyticsCore",
                "RedisClient",
                "WSHubKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            path: "bench/Sources/AnalyticsBench",
            // No runtime exclusivity checks in the load clients: they cost ws-load much CPU (the handlers
            // of thousands of connections), and it shares the machine's cores with the hub it measures.
            swiftSettings: swiftSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),

        // Throwaway Redis servers, free ports, child processes and an HTTP client for the tests.
        .target(
            name: "TestSupport",
            dependencies: [
                "AnalyticsCore",
                "RedisClient",
                "ServiceSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSCompression", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "AnalyticsCoreTests",
            dependencies: ["AnalyticsCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayKitTests",
            dependencies: [
                "GatewayKit", "AnalyticsCore", "RedisClient", "ServiceSupport", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AggregatorKitTests",
            dependencies: ["AggregatorKit", "AnalyticsCore", "RedisClient", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ArchiverKitTests",
            dependencies: [
                "ArchiverKit", "AnalyticsCore", "RedisClient", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WSHubKitTests",
            dependencies: [
                "WSHubKit", "AnalyticsCore", "RedisClient", "TestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SupervisorKitTests",
            dependencies: ["SupervisorKit", "AnalyticsCore", "ServiceSupport", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServiceSupportTests",
            dependencies: [
                "ServiceSupport", "AnalyticsCore", "RedisClient", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RedisClientTests",
            dependencies: ["AnalyticsCore", "RedisClient", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["AnalyticsCore", "ArchiverKit", "RedisClient", "TestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
