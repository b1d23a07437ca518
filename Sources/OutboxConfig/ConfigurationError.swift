/// A configuration the daemon refuses, as one line naming the file and the key.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var key: String?
    public var problem: String

    public init(source: String, key: String?, problem: String) {
        self.source = source
        self.key = key
        self.problem = problem
    }

    /// `/etc/outbox/outbox.yaml: smtp.port: must be a whole number from 1 to 65535, got "70000"`
    public var description: String {
        if let key { return "\(source): \(key): \(problem)" }
        return "\(source): \(problem)"
    }
}
