// swift-tools-version:6.1
// Benchmarks live in their own package so that `swift build` of the main package does not
// build them. Run them with `make bench` (all) or `make bench-postgres|bench-kafka|bench-http`.
import PackageDescription

let package = Package(
    name: "outbox-relay-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "outbox-relay", path: ".."),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // What the drain benchmarks share: measurements, the C reference runner, output.
        .target(
            name: "DrainBenchmarkSupport",
            dependencies: [.product(name: "OutboxRelay", package: "outbox-relay")],
            path: "Sources/DrainBenchmarkSupport"
        ),
        .executableTarget(
            name: "PostgresDrainBenchmark",
            dependencies: [
                "DrainBenchmarkSupport",
                .product(name: "OutboxRelay", package: "outbox-relay"),
                .product(name: "OutboxPostgres", package: "outbox-relay"),
            ],
            path: "Sources/PostgresDrainBenchmark"
        ),
        .executableTarget(
            name: "MySQLDrainBenchmark",
            dependencies: [
                "DrainBenchmarkSupport",
                .product(name: "OutboxRelay", package: "outbox-relay"),
                .product(name: "OutboxMySQL", package: "outbox-relay"),
            ],
            path: "Sources/MySQLDrainBenchmark"
        ),
        .executableTarget(
            name: "KafkaBenchmark",
            dependencies: [
                .product(name: "OutboxRelay", package: "outbox-relay"),
                .product(name: "OutboxPostgres", package: "outbox-relay"),
                .product(name: "OutboxKafka", package: "outbox-relay"),
            ],
            path: "Sources/KafkaBenchmark"
        ),
        .executableTarget(
            name: "WebhookBenchmark",
            dependencies: [
                .product(name: "OutboxRelay", package: "outbox-relay"),
                .product(name: "OutboxPostgres", package: "outbox-relay"),
                .product(name: "OutboxHTTP", package: "outbox-relay"),
            ],
            path: "Sources/WebhookBenchmark"
        ),
        .executableTarget(
            name: "SQLiteDrainBenchmark",
            dependencies: [
                .product(name: "OutboxRelay", package: "outbox-relay"),
                .product(name: "OutboxSQLite", package: "outbox-relay"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/SQLiteDrainBenchmark"
        ),
    ]
)
