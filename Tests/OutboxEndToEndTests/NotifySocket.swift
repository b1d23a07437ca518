import Foundation
import Glibc

/// A stand-in for systemd's notification socket: an AF_UNIX datagram socket that collects what a
/// child sends with sd_notify(3) when `NOTIFY_SOCKET` points at it.
final class NotifySocket {
    let path: String
    private let fd: Int32
    private(set) var messages: [String] = []
    private var drainedCount = 0

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
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
        guard result == 0 else { throw TestFailure("bind \(path): \(String(cString: strerror(errno)))") }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The datagrams that arrived since the last `drain()`, without blocking.
    func drain() -> [String] {
        let all = receive()
        defer { drainedCount = all.count }
        return Array(all[drainedCount...])
    }

    /// Reads whatever datagrams arrived (non-blocking) and returns all messages so far.
    func receive() -> [String] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            messages.append(String(decoding: buffer[0..<n], as: UTF8.self))
        }
        return messages
    }
}

extension NotifySocket {
    /// Every `STATUS=` value received so far, oldest first (without the `STATUS=`).
    var statuses: [String] {
        receive().flatMap { $0.split(separator: "\n") }.filter { $0.hasPrefix("STATUS=") }.map { String($0.dropFirst(7)) }
    }
}
