import OutboxCore
import Yams

/// The keys outbox knows, and the check that no other key is present.
///
/// swift-configuration answers lookups and ignores keys nobody asks for, so a typo such as
/// `start_tsl` would pass silently; this walks the YAML document itself and refuses anything
/// not listed here, suggesting the nearest known key.
enum ConfigSchema {
    /// What a key holds; ``ConfigSectionReader`` converts and checks each key as declared here.
    enum ValueType: Sendable, Hashable {
        /// Any text.
        case string
        /// Text never logged, also read from `$CREDENTIALS_DIRECTORY/<key>`.
        case secret
        /// A whole number.
        case int
        /// true/false (also yes/no, on/off, 1/0).
        case bool
        /// `30s`, `5m`, `1h`, `5d`, or whole seconds.
        case duration
        /// An absolute path.
        case path
        /// A mail address (blank: none).
        case address
        /// A YAML list, or one string of items separated by spaces or commas.
        case list
    }

    /// The sections and the settings type that declares and reads each one's keys.
    static let sectionKeys: [(section: String, keys: [String: ValueType])] = [
        ("smtp", SMTPSettings.configKeys), ("smtp.oauth2", OAuth2Settings.configKeys),
        ("queue", QueueSettings.configKeys), ("spool", SpoolSettings.configKeys),
        ("delivery", DeliverySettings.configKeys), ("log", LogSettings.configKeys),
        ("listen", ListenSettings.configKeys), ("metrics", MetricsSettings.configKeys),
    ]

    /// Every key outbox knows (`smtp.port`), with its type.
    static let keys: [String: ValueType] = {
        var keys: [String: ValueType] = [:]
        for (section, types) in sectionKeys {
            for (name, type) in types { keys["\(section).\(name)"] = type }
        }
        return keys
    }()

    /// Keys whose values are secrets: never logged, also read from `$CREDENTIALS_DIRECTORY/<key>`.
    static let secretKeys = keys.filter { $0.value == .secret }.map(\.key).sorted()

    /// Keys that hold a mapping of their own keys (`smtp.oauth2:`).
    static var subsections: Set<String> {
        Set(keys.keys.compactMap { key in
            let parts = key.split(separator: ".")
            return parts.count == 3 ? "\(parts[0]).\(parts[1])" : nil
        })
    }

    static var sections: Set<String> { Set(keys.keys.map { String($0.split(separator: ".")[0]) }) }

    /// Checks the document's shape: a mapping of known sections, each a mapping of known scalar keys.
    /// - Returns: false when the document is empty (only comments): every setting is a default.
    @discardableResult
    static func validate(yaml text: String, source: String) throws(ConfigurationError) -> Bool {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            let detail = String("\(error)".firstLine)
            throw ConfigurationError(source: source, key: nil, problem: "not valid YAML: \(detail)")
        }
        guard let root else { return false }  // an empty file: all defaults
        guard let mapping = root.mapping else {
            throw ConfigurationError(source: source, key: nil, problem: "expected sections (smtp:, queue:, spool:, …) at the top level")
        }
        for (sectionNode, value) in mapping {
            let section = sectionNode.string ?? "\(sectionNode)"
            guard sections.contains(section) else {
                throw unknown(section, among: sections, source: source)
            }
            if case .scalar(let scalar) = value, scalar.string.isEmpty || scalar.string == "~" { continue }
            guard let entries = value.mapping else {
                throw ConfigurationError(source: source, key: section, problem: "expected a mapping of settings")
            }
            for (keyNode, leaf) in entries {
                let key = "\(section).\(keyNode.string ?? "\(keyNode)")"
                if subsections.contains(key) {
                    if case .scalar(let scalar) = leaf, scalar.string.isEmpty || scalar.string == "~" { continue }
                    guard let inner = leaf.mapping else {
                        throw ConfigurationError(source: source, key: key, problem: "expected a mapping of settings")
                    }
                    for (innerNode, innerLeaf) in inner {
                        let innerKey = "\(key).\(innerNode.string ?? "\(innerNode)")"
                        guard keys[innerKey] != nil else { throw unknown(innerKey, among: Set(keys.keys), source: source) }
                        guard innerLeaf.scalar != nil else {
                            throw ConfigurationError(source: source, key: innerKey, problem: "expected a single value, not a list or mapping")
                        }
                    }
                    continue
                }
                guard keys[key] != nil else {
                    throw unknown(key, among: Set(keys.keys), source: source)
                }
                if keys[key] == .list, let items = leaf.sequence, items.allSatisfy({ $0.scalar != nil }) { continue }
                guard leaf.scalar != nil else {
                    throw ConfigurationError(source: source, key: key, problem: "expected a single value, not a list or mapping")
                }
            }
        }
        return true
    }

    /// Checks `OUTBOX_<SECTION>_…` environment variables against the known keys.
    static func validate(environment: [String: String]) throws(ConfigurationError) {
        let known = Set(keys.keys.map(environmentName(for:)))
        let sectionPrefixes = sections.map { "OUTBOX_\($0.uppercased())_" }
        for name in environment.keys where sectionPrefixes.contains(where: name.hasPrefix) && !known.contains(name) {
            throw unknown(name, among: known, source: "environment")
        }
    }

    static func environmentName(for key: String) -> String {
        "OUTBOX_" + key.uppercased().replacingDots()
    }

    private static func unknown(_ key: String, among known: Set<String>, source: String) -> ConfigurationError {
        let nearest = known.min { editDistance($0, key) < editDistance($1, key) }
        var problem = "unknown key"
        if let nearest, editDistance(nearest, key) <= max(2, key.count / 4) { problem += " (did you mean \(nearest)?)" }
        // The key is the user's text: control characters shown as "?", at most 80 characters.
        return ConfigurationError(source: source, key: key.printableExcerpt, problem: problem)
    }

    /// Levenshtein distance, for "did you mean".
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension String {
    fileprivate func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}
