/// Which setting a configuration problem is about, for `outbox_configuration_problem{setting}`.
public enum ConfigurationProblem {
    /// The first `smtp.…` key the reason names (`authentication failed (…) — check smtp.username /
    /// smtp.password` → `smtp.username`); `smtp.host` when it names none: the server itself
    /// refused us before any mail (greeting, EHLO), so the destination is what to check.
    public static func setting(in reason: String) -> String {
        let scalars = Array(reason.unicodeScalars)
        let prefix = Array("smtp.".unicodeScalars)
        var index = 0
        while index + prefix.count < scalars.count {
            let atWordStart = index == 0 || !isKeyCharacter(scalars[index - 1])
            if atWordStart && Array(scalars[index..<index + prefix.count]) == prefix {
                var end = index + prefix.count
                while end < scalars.count && isKeyCharacter(scalars[end]) { end += 1 }
                if end > index + prefix.count {
                    return String(String.UnicodeScalarView(scalars[index..<end]))
                }
            }
            index += 1
        }
        return "smtp.host"
    }

    private static func isKeyCharacter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || scalar == "_"
    }
}
