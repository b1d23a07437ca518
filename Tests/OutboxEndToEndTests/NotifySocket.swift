import Foundation
import Glibc
import Synchronization

/// A stand-in for systemd's notification socket: an AF_UNIX datagram socket that collects what a
/// child sends with sd_notify(3) when `NOTIFY_SOCKET` points at it.
///
/// A thread of its own reads the socket all the time, as systemd does. It must: a datagram socket
/// queues only `net.unix.max_dgram_qlen` datagrams (10 by default), and sd_notify blocks its
/// caller once the queue is full — a test that stopped reading would stall the daemon it watches.
final class NotifySocket {
    let path: String
    private let fd: Int32
    private let inbox = Inbox()
    private let reader = DispatchGroup()
    private var drainedCount = 0

    /// What the reader thread shares with the socket's owner.
    private final class Inbox: Sendable {
        let messages = Mutex<[String]>([])
        let stopped = Atomic<Bool>(false)
    }

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw TestFailure("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw TestFailure("bind \(path): \(String(cString: strerror(errno)))")
        }
        // recv wakes at least every 100 ms, so the reader notices deinit.
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let socketFD = fd
        reader.enter()
        Thread.detachNewThread { [inbox, reader] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !inbox.stopped.load(ordering: .acquiring) {
                let n = recv(socketFD, &buffer, buffer.count, 0)
                guard n > 0 else { continue }
                let message = String(decoding: buffer[0..<n], as: UTF8.self)
                inbox.messages.withLock { $0.append(message) }
            }
            reader.leave()
        }
    }

    deinit {
        inbox.stopped.store(true, ordering: .releasing)
        reader.wait()
        close(fd)
        unlink(path)
    }

    /// The datagrams that arrived since the last `drain()`.
    func drain() -> [String] {
        let all = receive()
        defer { drainedCount = all.count }
        return Array(all[drainedCount...])
    }

    /// All messages received so far, oldest first.
    func receive() -> [String] {
        inbox.messages.withLock { $0 }
    }

    var messages: [String] { receive() }
}

extension NotifySocket {
    /// Every `STATUS=` value received so far, oldest first (without the `STATUS=`).
    var statuses: [String] {
        receive().flatMap { $0.split(separator: "\n") }.filter { $0.hasPrefix("STATUS=") }.map { String($0.dropFirst(7)) }
    }
}
