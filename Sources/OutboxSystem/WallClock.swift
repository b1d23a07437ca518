public import OutboxCore

#if canImport(Glibc)
import Glibc
#endif

extension UnixTime {
    /// The wall clock now (`CLOCK_REALTIME`): the one place outbox reads it. Services receive
    /// this as their `now` function, pure code receives its value as an argument.
    public static var current: UnixTime {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UnixTime(milliseconds: Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
    }
}
