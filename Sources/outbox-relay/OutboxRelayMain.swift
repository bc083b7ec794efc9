import OutboxRelayCLI

/// The `outbox-relay` executable: the standard command line with the built-in transports and sources.
@main
enum OutboxRelayMain {
    static func main() async {
        await OutboxRelayCommand.main(registry: .builtIn)
    }
}
