/// A mistake in the configuration file: which key, what is wrong, and how to fix it.
struct ConfigError: Error, CustomStringConvertible {
    /// The dotted key path, e.g. `transports.orders.type`.
    var keyPath: String
    /// What is wrong.
    var problem: String
    /// How to fix it, when there is an obvious fix.
    var fix: String?

    init(keyPath: String, problem: String, fix: String? = nil) {
        self.keyPath = keyPath
        self.problem = problem
        self.fix = fix
    }

    var description: String {
        let location = keyPath.isEmpty ? "config" : "config key \"\(keyPath)\""
        if let fix { return "\(location): \(problem). Fix: \(fix)" }
        return "\(location): \(problem)"
    }
}
