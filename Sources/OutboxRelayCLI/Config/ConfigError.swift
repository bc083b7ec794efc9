/// A mistake in the configuration file: which key, what is wrong, and how to fix it.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// The dotted key path, e.g. `transports.orders.type`.
    public var keyPath: String
    /// What is wrong.
    public var problem: String
    /// How to fix it, when there is an obvious fix.
    public var fix: String?

    /// A mistake at `keyPath` (use ``ConfigNode/keyPath(_:)``); `fix` says what to write instead.
    public init(keyPath: String, problem: String, fix: String? = nil) {
        self.keyPath = keyPath
        self.problem = problem
        self.fix = fix
    }

    /// `config key "KEY": PROBLEM. Fix: FIX`, as every command prints it.
    public var description: String {
        let location = keyPath.isEmpty ? "config" : "config key \"\(keyPath)\""
        if let fix { return "\(location): \(problem). Fix: \(fix)" }
        return "\(location): \(problem)"
    }
}
