// swift-tools-version:6.1
import Foundation
import PackageDescription

// libFuzzer targets for OutboxRelay, kept out of the main package so `swift build` stays fast.
// Built and run by `make fuzz` (see ../Makefile and README.md, "Fuzzing"):
//   swift build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
// Each executable is one libFuzzer target: its `@main` hands the process to libFuzzer.

// A path dependency's identity is its folder's name, which differs between clones.
let relayRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let relayPackage = relayRoot.lastPathComponent

/// - Parameter cModules: the relay's C module maps an `@testable import` needs to see.
func fuzzer(_ name: String, _ products: [String], cModules: [String] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzerDriver"] + products.map { .product(name: $0, package: relayPackage) },
        path: "Sources/\(name)",
        swiftSettings: cModules.isEmpty
            ? [] : [.unsafeFlags(cModules.flatMap { ["-I", relayRoot.appendingPathComponent("Sources/\($0)").path] })]
    )
}

let package = Package(
    name: "outbox-relay-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzerDriver", dependencies: ["CLibFuzzer"]),
        fuzzer("EnvelopeDecoderFuzzer", ["OutboxRelay"]),
        fuzzer("JSONParserFuzzer", ["OutboxRelay"]),
        fuzzer("PHPDateFormatFuzzer", ["OutboxRelay"]),
        fuzzer("RelayConfigurationFuzzer", ["OutboxRelayCLI"], cModules: ["CSQLite", "CLibPQ", "CRdKafka", "CCurl"]),
        fuzzer("ConnectionStringFuzzer", ["OutboxPostgres", "OutboxHTTP"], cModules: ["CCurl"]),
        fuzzer("EventTypePatternFuzzer", ["OutboxRelay"]),
    ]
)
