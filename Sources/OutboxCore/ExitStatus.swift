/// The exit statuses of `outbox` and `outboxd`, from sysexits.h, so scripts and systemd can tell
/// "retry later" from "fix your input" (the unit's `RestartPreventExitStatus=` names 65 and 78).
public enum ExitStatus: Int32, Sendable {
    case usage = 64         // EX_USAGE
    case dataError = 65     // EX_DATAERR: malformed input, unknown id, a damaged queue file
    case noInput = 66       // EX_NOINPUT: no queue database
    case unavailable = 69   // EX_UNAVAILABLE: the server refused the mail for good
    case software = 70      // EX_SOFTWARE: a bug
    case cantCreate = 73    // EX_CANTCREAT: an output file cannot be written
    case tempFail = 75      // EX_TEMPFAIL: busy, try again (systemd's Restart=on-failure does)
    case noPermission = 77  // EX_NOPERM
    case config = 78        // EX_CONFIG
}
