import OutboxRelay

/// The transport types, source kinds and message expanders a relay executable knows.
///
/// The `outbox-relay` executable runs with ``builtIn``. To add your own, write an executable
/// that depends on the `OutboxRelayCLI` product, register what you add on top of ``builtIn``
/// and run the standard command line with it:
///
/// ```swift
/// import OutboxRelayCLI
///
/// @main
/// enum MyRelay {
///     static func main() async {
///         var registry = RelayRegistry.builtIn
///         registry.register(transport: QueueTransportConfig.self)      // `type: queue`
///         registry.register(expander: MyUpcaster(), named: "my-upcaster")  // `source.expander: my-upcaster`
///         await OutboxRelayCommand.main(registry: registry)
///     }
/// }
/// ```
///
/// Every command (`run`, `check`, `status`, …) then reads the YAML configuration through this
/// registry: a `transports.NAME.type:` value picks a registered ``TransportConfigParser``, the
/// scheme of `source.url` picks a ``SourceConfigParser``, and `source.expander:` names a
/// registered ``MessageExpander``.
///
/// ## How the registry reaches the commands
///
/// ArgumentParser constructs the commands itself, so the registry cannot be passed to them.
/// ``OutboxRelayCommand/main(registry:)`` binds it to the task-local ``current`` for the whole
/// run of the command line; commands read ``current`` when they load the configuration. Code
/// that loads a configuration outside of ``OutboxRelayCommand/main(registry:)`` sees
/// ``builtIn``, and tests can bind another registry with `RelayRegistry.$current.withValue(_:operation:)`.
/// There is no process-wide mutable state.
public struct RelayRegistry: Sendable {
    /// The transport types, in registration order (the order error messages list them in).
    public private(set) var transportTypes: [any TransportConfigParser.Type] = []
    /// The source kinds, in registration order; the last one that claims a URL's scheme builds the source.
    public private(set) var sourceKinds: [any SourceConfigParser.Type] = []
    /// The message expanders by the name `source.expander:` selects them with.
    public private(set) var expanders: [String: any MessageExpander] = [:]

    /// An empty registry: no transport type, no source kind, no expander. Start from ``builtIn``
    /// unless you mean to leave the built-in ones out.
    public init() {}

    /// The transports and sources `outbox-relay` ships: transport types `file`, `kafka` and
    /// `http`; sources `sqlite:`, `postgres://` (and libpq `key=value` strings) and `mysql://`/
    /// `mariadb://`. No expanders.
    public static var builtIn: RelayRegistry {
        var registry = RelayRegistry()
        for parser in TransportRegistry.parsers { registry.register(transport: parser) }
        for parser in SourceRegistry.parsers { registry.register(source: parser) }
        return registry
    }

    /// The registry the commands of this process use: the one ``OutboxRelayCommand/main(registry:)``
    /// was given, ``builtIn`` otherwise.
    @TaskLocal public static var current: RelayRegistry = .builtIn

    /// Adds a transport type. A type with the same ``TransportConfigParser/type`` name that was
    /// registered before (a built-in one, too) is replaced, so an executable can swap in its own
    /// `file` or `http` transport.
    public mutating func register(transport parser: any TransportConfigParser.Type) {
        transportTypes.removeAll { $0.type == parser.type }
        transportTypes.append(parser)
    }

    /// Adds a source kind. Schemes it shares with a kind registered before are taken over by
    /// the new kind; the earlier kind keeps its other schemes.
    public mutating func register(source parser: any SourceConfigParser.Type) {
        sourceKinds.append(parser)
    }

    /// Adds a message expander that the configuration selects with `source.expander: NAME`.
    /// An expander registered before under the same name is replaced.
    public mutating func register(expander: any MessageExpander, named name: String) {
        expanders[name] = expander
    }

    /// The transport type for a `type:` value.
    /// - Throws: ``ConfigError`` at `keyPath`, listing the known types, when none is registered.
    func transportParser(for type: String, keyPath: String) throws -> any TransportConfigParser.Type {
        guard let parser = transportTypes.first(where: { $0.type == type }) else {
            let known = transportTypes.map { $0.type }.joined(separator: ", ")
            throw ConfigError(
                keyPath: keyPath,
                problem: "unknown transport type \"\(type)\"",
                fix: "use one of: \(known)"
            )
        }
        return parser
    }

    /// The source kind for a URL, by scheme; libpq key=value strings (`host=… dbname=…`) count
    /// as scheme `postgres`.
    /// - Throws: ``ConfigError`` at `keyPath`, listing the known schemes, when none claims it.
    func sourceParser(for url: String, keyPath: String) throws -> any SourceConfigParser.Type {
        let scheme: String
        if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("="), !url[..<colon].contains(" ") {
            scheme = url[..<colon].lowercased()
        } else if url.contains("=") {
            scheme = "postgres"
        } else {
            scheme = ""
        }
        guard let parser = sourceKinds.last(where: { $0.schemes.contains(scheme) }) else {
            var known: [String] = []
            for kind in sourceKinds {
                for scheme in kind.schemes where !known.contains(scheme) { known.append(scheme) }
            }
            throw ConfigError(
                keyPath: keyPath,
                problem: "cannot tell the database from \"\(scheme.isEmpty ? url : scheme + ":…")\"",
                fix: "start the URL with one of: \(known.map { "\($0):…" }.joined(separator: ", "))"
            )
        }
        return parser
    }

    /// The expander `source.expander` names.
    /// - Throws: ``ConfigError`` at `keyPath`, listing the registered names, when none has that name.
    func expander(named name: String, keyPath: String) throws -> any MessageExpander {
        guard let expander = expanders[name] else {
            let fix =
                expanders.isEmpty
                ? "remove the key: this executable registers no expanders (see the README, \"Extending the relay\")"
                : "use one of: \(expanders.keys.sorted().joined(separator: ", "))"
            throw ConfigError(keyPath: keyPath, problem: "names no registered expander \"\(name)\"", fix: fix)
        }
        return expander
    }
}
