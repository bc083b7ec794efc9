import Foundation
import PackagePlugin

/// `swift package outbox-migration --flavour outbox --dialect postgres [--table NAME]
/// [--notify [--channel NAME]] [--output PATH]`
///
/// Writes the outbox table DDL PHP uses plus the relay's dead-letter table into the package
/// (default `Migrations/<flavour>-<dialect>.sql`), by running `outbox-relay schema`.
@main
struct OutboxMigrationPlugin: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var extractor = ArgumentExtractor(arguments)
        let flavour = extractor.extractOption(named: "flavour").last ?? "outbox"
        let dialect = extractor.extractOption(named: "dialect").last ?? "postgres"
        let table = extractor.extractOption(named: "table").last
        let notify = extractor.extractFlag(named: "notify") > 0
        let channel = extractor.extractOption(named: "channel").last
        let output = extractor.extractOption(named: "output").last ?? "Migrations/\(flavour)-\(dialect).sql"
        if !extractor.remainingArguments.isEmpty {
            throw PluginError(
                "unknown arguments: \(extractor.remainingArguments.joined(separator: " ")); "
                    + "expected --flavour dispatcher|outbox --dialect sqlite|postgres|mysql "
                    + "[--table NAME] [--notify [--channel NAME]] [--output PATH]"
            )
        }

        var schemaArguments = ["schema", "--flavour", flavour, "--dialect", dialect]
        if let table { schemaArguments += ["--table", table] }
        if notify { schemaArguments.append("--notify") }
        if let channel { schemaArguments += ["--channel", channel] }

        let tool = try context.tool(named: "outbox-relay")
        let process = Process()
        process.executableURL = tool.url
        process.arguments = schemaArguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PluginError("outbox-relay schema failed (exit \(process.terminationStatus)); see its message above")
        }

        let destination = context.package.directoryURL.appending(path: output)
        try FileManager.default.createDirectory(
            at: destination.deletingLastPathComponent(),
            withIntermediateDirectories: true
        )
        try data.write(to: destination)
        print("wrote \(output) (\(flavour) flavour, \(dialect))")
    }
}

struct PluginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
