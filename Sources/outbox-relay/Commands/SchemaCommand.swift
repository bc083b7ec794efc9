import ArgumentParser
import OutboxRelay

/// `outbox-relay schema --flavour dispatcher|outbox --dialect sqlite|postgres|mysql [--table NAME]`.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Prints the outbox table DDL PHP uses, plus the relay's dead-letter table."
    )

    @Option(name: .long, help: "dispatcher (EventSauce 0.x messages_outbox) or outbox (EventSauce 1.x+ outbox_messages).")
    var flavour: OutboxFlavour

    @Option(name: .long, help: "sqlite, postgres or mysql.")
    var dialect: SQLIdentifier.Dialect

    @Option(name: .long, help: "The outbox table name (default: the flavour's PHP default). SCHEMA.NAME is allowed.")
    var table: String?

    @Option(name: .long, help: "The dead-letter table name.")
    var deadLetterTable: String = DeadLetter.defaultTable

    func run() throws {
        let tableName: SQLIdentifier
        let deadLetterName: SQLIdentifier
        do {
            tableName = try SQLIdentifier(table ?? flavour.defaultTable)
            deadLetterName = try SQLIdentifier(deadLetterTable)
        } catch {
            throw ValidationError(error.description)
        }
        print("-- Outbox table (\(flavour) flavour), as the PHP package creates it")
        print(OutboxSchema.outboxTable(flavour: flavour, dialect: dialect, table: tableName))
        print("")
        print("-- Dead letters of outbox-relay: rows and messages it set aside, with the reason")
        print(OutboxSchema.deadLetterTable(dialect: dialect, table: deadLetterName))
    }
}

extension OutboxFlavour: ExpressibleByArgument {}
extension SQLIdentifier.Dialect: ExpressibleByArgument {}
