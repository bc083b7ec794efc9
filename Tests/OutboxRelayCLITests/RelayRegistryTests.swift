import OutboxRelay
import Testing

@testable import OutboxRelayCLI

/// The registry in process: what it holds, how the configuration loader uses it, and how it
/// reaches code that loads a configuration.
@Suite("RelayRegistry")
struct RelayRegistryTests {
    /// A source kind for `memory:NAME` URLs (no I/O; only configuration is tested here).
    struct MemorySource: OutboxSource {
        var name: String
        var flavour: OutboxFlavour
        var table: String
        func open() async throws {}
        func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] { [] }
        func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws {}
        func close() async {}
    }

    enum MemorySourceConfig: SourceConfigParser {
        static let schemes = ["memory"]
        static let keys: Set<String> = ["capacity"]
        static func makeSource(url: String, node: ConfigNode, common: SourceSettings) throws -> any OutboxSource {
            _ = try node.int("capacity")
            return MemorySource(
                name: String(url.dropFirst(7)),
                flavour: common.flavour,
                table: common.table.description
            )
        }
    }

    /// Replaces the built-in `file` type: proves a registration can take over a name.
    enum NullFileConfig: TransportConfigParser {
        static let type = "file"
        static let keys: Set<String> = ["sink"]
        static func makeTransport(name: String, node: ConfigNode) throws -> any Transport {
            SynchronousDispatcher(name: name, consumers: [])
        }
    }

    static let yaml = """
        source: {url: "memory:orders", capacity: 10}
        transports:
          out: {type: file, sink: x}
        routes: [{events: "*", to: [out]}]
        """

    @Test("builtIn holds exactly what outbox-relay ships, through the same register calls")
    func builtIn() {
        let registry = RelayRegistry.builtIn
        #expect(registry.transportTypes.map { $0.type } == ["file", "kafka", "http"])
        let schemes = registry.sourceKinds.flatMap { $0.schemes }
        #expect(schemes == ["sqlite", "postgres", "postgresql", "mysql", "mariadb"])
        #expect(registry.expanders.isEmpty)
        #expect(RelayRegistry().transportTypes.isEmpty)
    }

    @Test("a registered source scheme and a replacing transport type are used by the loader")
    func pluginsAreUsed() throws {
        var registry = RelayRegistry.builtIn
        registry.register(source: MemorySourceConfig.self)
        registry.register(transport: NullFileConfig.self)
        #expect(registry.transportTypes.map { $0.type } == ["kafka", "http", "file"])
        let configuration = try RelayConfiguration.parse(yaml: Self.yaml, registry: registry)
        #expect((configuration.source as? MemorySource)?.name == "orders")
        #expect(configuration.transports.first is SynchronousDispatcher)

        // The built-in registry knows neither: the error lists what it does know.
        #expect {
            try RelayConfiguration.parse(yaml: Self.yaml, registry: .builtIn)
        } throws: { error in
            (error as? ConfigError)?.description
                == #"config key "source.url": cannot tell the database from "memory:…". "#
                + #"Fix: start the URL with one of: sqlite:…, postgres:…, postgresql:…, mysql:…, mariadb:…"#
        }
    }

    @Test("RelayRegistry.current is task-local, and the loader reads it by default")
    func currentIsTaskLocal() async throws {
        var registry = RelayRegistry.builtIn
        registry.register(source: MemorySourceConfig.self)
        registry.register(transport: NullFileConfig.self)
        #expect(throws: ConfigError.self) { try RelayConfiguration.parse(yaml: Self.yaml) }
        let source = try RelayRegistry.$current.withValue(registry) {
            try RelayConfiguration.parse(yaml: Self.yaml).source
        }
        #expect(source is MemorySource)

        // A plugin source's own keys get the built-in checks.
        let misspelt = Self.yaml.replacingOccurrences(of: "capacity: 10", with: "capacty: 10")
        let error: ConfigError? = RelayRegistry.$current.withValue(registry) {
            do {
                _ = try RelayConfiguration.parse(yaml: misspelt)
                return nil
            } catch {
                return error as? ConfigError
            }
        }
        #expect(error?.description == #"config key "source.capacty": unknown key. Fix: did you mean "capacity"?"#)
    }
}
