import Foundation
import Glibc
import Yams

extension OutboxConfiguration {
    /// Refuses a configuration file that holds `smtp.password` while its group or others may read it.
    ///
    /// install.sh makes `/etc/outbox/outbox.yaml` 0640 root:outbox so that producers (group
    /// `outbox`) can find the spool; a password written there is readable by every producer. The
    /// recommended place is the credential `/etc/outbox/smtp.password` (0600 root), which the unit
    /// hands over through `LoadCredential=` (`$CREDENTIALS_DIRECTORY/smtp.password`); a file only
    /// its owner can read (chmod 600, e.g. outboxd run by hand) is accepted too. A blank
    /// `password: ""` is not a secret and is accepted.
    ///
    /// outboxd calls it at start and on every reload (before any of the file's settings is used);
    /// `outbox check-config` reports it the same way.
    /// - Throws: ``ConfigurationError`` naming the file, `smtp.password`, the mode and the fix.
    public static func requirePrivatePassword(file: String) throws(ConfigurationError) {
        var info = stat()
        guard stat(file, &info) == 0 else { return }  // load() already said what is wrong with the file
        let readableByOthers = info.st_mode & (S_IRGRP | S_IROTH)
        guard readableByOthers != 0 else { return }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8), Self.hasPassword(yaml: text) else {
            return
        }
        let mode = String(info.st_mode & 0o7777, radix: 8)
        throw ConfigurationError(
            source: file, key: "smtp.password",
            problem: "set in a file that \(readableByOthers & S_IROTH != 0 ? "every user" : "its group") can read "
                + "(mode 0\(mode)); move the password into /etc/outbox/smtp.password (chmod 600, owner root; "
                + "the unit loads it as a credential) and delete the line, or chmod 600 \(file)")
    }

    /// True when the YAML document sets a non-blank `smtp.password`.
    static func hasPassword(yaml text: String) -> Bool {
        guard let root = try? Yams.compose(yaml: text), let smtp = root.mapping?["smtp"]?.mapping,
            let password = smtp["password"]?.scalar
        else { return false }
        return !password.string.isEmpty && password.string != "~"
    }
}
