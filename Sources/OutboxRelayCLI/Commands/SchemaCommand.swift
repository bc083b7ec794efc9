import ArgumentParser
import OutboxPostgres
import OutboxRelay

/// `outbox-relay schema --flavour dispatcher|outbox --dialect sqlite|postgres|mysql [--table NAME]`.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Prints the outbox table DDL PHP uses, plus the relay's dead-letter and parked-deliveries tables."
    )

    @Option(
        name: .long,
        help: "dispatcher (EventSauce 0.x messages_outbox) or outbox (EventSauce 1.x+ outbox_messages)."
    )
    var flavour: OutboxFlavour

    @Option(name: .long, help: "sqlite, postgres or mysql.")
    var dialect: SQLIdentifier.Dialect

    @Option(name: .long, help: "The outbox table name (default: the flavour's PHP default). SCHEMA.NAME is allowed.")
    var table: String?

    @Option(name: .long, help: "The dead-letter table name.")
    var deadLetterTable: String = DeadLetter.defaultTable

    @Option(name: .long, help: "The parked-deliveries table name.")
    var parkedDeliveriesTable: String = ParkedDelivery.defaultTable

    @Flag(
        name: .long,
        help: """
            PostgreSQL: also print a trigger that notifies relays on insert \
            (set source.notify_channel to the same channel).
            """
    )
    var notify = false

    @Option(name: .long, help: "The LISTEN/NOTIFY channel for --notify.")
    var channel: String = "outbox_relay"

    func validate() throws {
        if notify && dialect != .postgres {
            throw ValidationError(
                "--notify needs --dialect postgres: only PostgreSQL has LISTEN/NOTIFY; other databases are polled"
            )
        }
    }

    func run() throws {
        let tableName: SQLIdentifier
        let deadLetterName: SQLIdentifier
        let parkedName: SQLIdentifier
        do {
            tableName = try SQLIdentifier(table ?? flavour.defaultTable)
            deadLetterName = try SQLIdentifier(deadLetterTable)
            parkedName = try SQLIdentifier(parkedDeliveriesTable)
        } catch {
            throw ValidationError(error.description)
        }
        print("-- Outbox table (\(flavour) flavour), as the PHP package creates it")
        print(OutboxSchema.outboxTable(flavour: flavour, dialect: dialect, table: tableName))
        print("")
        print("-- Dead letters of outbox-relay: rows and messages it set aside, with the reason")
        print(OutboxSchema.deadLetterTable(dialect: dialect, table: deadLetterName))
        print("")
        print("-- Parked deliveries of outbox-relay: messages a destination has not taken yet, drained per destination")
        print(OutboxSchema.parkedDeliveriesTable(dialect: dialect, table: parkedName))
        if notify {
            print("")
            print("-- Instant wake-ups: relays with source.notify_channel: \(channel) are notified on insert")
            do {
                print(try PostgresSchema.notifyTrigger(table: tableName, channel: channel))
            } catch {
                throw ValidationError("--channel: \(error.description)")
            }
        }
    }
}

extension OutboxFlavour: ExpressibleByArgument {}
extension SQLIdentifier.Dialect: ExpressibleByArgument {}
