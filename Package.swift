// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "outbox-relay",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "OutboxRelay", targets: ["OutboxRelay"]),
        .library(name: "OutboxSQLite", targets: ["OutboxSQLite"]),
        .library(name: "OutboxPostgres", targets: ["OutboxPostgres"]),
        .library(name: "OutboxMySQL", targets: ["OutboxMySQL"]),
        .library(name: "OutboxKafka", targets: ["OutboxKafka"]),
        .library(name: "OutboxHTTP", targets: ["OutboxHTTP"]),
        .library(name: "OutboxRelayCLI", targets: ["OutboxRelayCLI"]),
        .executable(name: "outbox-relay", targets: ["outbox-relay"]),
        .executable(name: "custom-relay-example", targets: ["custom-relay-example"]),
        .plugin(name: "OutboxMigrationPlugin", targets: ["OutboxMigrationPlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swhitty/FlyingFox.git", from: "0.27.1"),
    ],
    targets: [
        // MARK: Core (no C, no I/O)
        .target(
            name: "OutboxRelay",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),

        // MARK: C libraries (Debian packages, found with pkg-config)
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CMariaDB",
            pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]
        ),
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        // MARK: Sources and transports, one C library each
        .target(name: "OutboxSQLite", dependencies: ["OutboxRelay", "CSQLite"]),
        .target(
            name: "OutboxPostgres",
            dependencies: ["OutboxRelay", "CLibPQ", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "OutboxMySQL",
            dependencies: ["OutboxRelay", "CMariaDB", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "OutboxKafka",
            dependencies: [
                "OutboxRelay", "CRdKafka", .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "OutboxHTTP",
            dependencies: [
                "OutboxRelay", "CCurl", .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),

        // MARK: The daemon: its command line as a library, and a thin executable over it
        .target(
            name: "OutboxRelayCLI",
            dependencies: [
                "OutboxRelay", "OutboxSQLite", "OutboxPostgres", "OutboxMySQL", "OutboxKafka", "OutboxHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "FlyingFox", package: "FlyingFox"),
            ]
        ),
        .executableTarget(name: "outbox-relay", dependencies: ["OutboxRelayCLI"]),

        // MARK: Plugins
        .plugin(
            name: "OutboxMigrationPlugin",
            capability: .command(
                intent: .custom(
                    verb: "outbox-migration",
                    description: "Writes the outbox and dead-letter DDL for a flavour and SQL dialect into this package"
                ),
                permissions: [.writeToPackageDirectory(reason: "Writes the generated SQL migration file")]
            ),
            dependencies: ["outbox-relay"],
            path: "Plugins/OutboxMigrationPlugin"
        ),

        // MARK: Examples (built by every `swift build`, so they cannot rot)
        .executableTarget(
            name: "InProcessConsumerExample",
            dependencies: ["OutboxRelay", "OutboxSQLite"],
            path: "Examples/InProcessConsumer"
        ),
        .executableTarget(
            name: "custom-relay-example",
            dependencies: ["OutboxRelayCLI", "OutboxRelay"],
            path: "Examples/CustomRelay"
        ),

        // MARK: Tests
        .testTarget(
            name: "OutboxRelayTests",
            dependencies: [
                "OutboxRelay", .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "OutboxSQLiteTests",
            dependencies: [
                "OutboxRelay", "OutboxSQLite", "SourceTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        // What the database sources' tests share: relay processes, a switchable destination, the
        // parking scenario.
        .target(name: "SourceTestSupport", dependencies: ["OutboxRelay"], path: "Tests/SourceTestSupport"),
        .testTarget(
            name: "OutboxPostgresTests",
            dependencies: ["OutboxRelay", "OutboxPostgres", "SourceTestSupport"]
        ),
        .testTarget(
            name: "OutboxMySQLTests",
            dependencies: ["OutboxRelay", "OutboxMySQL", "SourceTestSupport"]
        ),
        .testTarget(
            name: "OutboxKafkaTests",
            dependencies: [
                "OutboxRelay", "OutboxKafka", "CRdKafka", "OutboxPostgres",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "OutboxHTTPTests",
            dependencies: [
                "OutboxRelay", "OutboxHTTP", "CCurl", "OutboxPostgres",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "OutboxRelayCLITests",
            dependencies: ["outbox-relay", "custom-relay-example", "OutboxRelayCLI", "OutboxRelay"]
        ),
    ]
)
