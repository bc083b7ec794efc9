import OutboxRelayCLI

/// `custom-relay-example`: the standard `outbox-relay` command line (`run`, `check`, `status`,
/// `schema`, …) with one transport type and one expander added — how a team extends the
/// daemon without forking it.
///
/// ```yaml
/// source:
///   url: "postgres://relay@db/shop"
///   flavour: dispatcher
///   expander: split-upcaster          # one order_line_added per imported line
/// transports:
///   lines:
///     type: datagram                  # each message's envelope as one datagram
///     path: /run/shop/events.sock
/// routes:
///   - {events: "*", to: [lines]}
/// ```
@main
enum CustomRelayMain {
    static func main() async {
        var registry = RelayRegistry.builtIn
        registry.register(transport: DatagramTransportConfig.self)
        registry.register(expander: SplitUpcasterExpander(), named: "split-upcaster")
        await OutboxRelayCommand.main(registry: registry)
    }
}
