import CSystemd

/// The sockets systemd passed for socket activation (`outboxd.socket`), through `sd_listen_fds(3)`.
public enum ListenFDs {
    /// The passed descriptors (3, 4, …), or none when the daemon was not socket-activated.
    ///
    /// "If the unset_environment parameter is non-zero, sd_listen_fds() will unset the
    /// $LISTEN_FDS, $LISTEN_PID and $LISTEN_FDNAMES environment variables before returning" — so
    /// children never believe the sockets are theirs. Call it once, at startup.
    public static func take() -> [Int32] {
        let count = sd_listen_fds(1)
        guard count > 0 else { return [] }
        return (0..<count).map { SD_LISTEN_FDS_START + $0 }
    }
}
