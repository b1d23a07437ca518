/// The one place outbox's version is written: `outbox --version`, `outboxd --version`, the
/// daemon's start-up log line, `outbox_build_info` and the Debian package (scripts/build-deb.sh
/// reads it from this file) all take it from here.
public enum OutboxVersion {
    public static let current = "0.9.0"
}
