import Glibc
import OutboxCore
import OutboxSystem
import Testing

@Suite("DurableFile and the system-call wrappers, on real files")
struct DurableFileTests {
    /// A fresh directory under /tmp, removed by the test.
    static func directory() -> String {
        var template = Array("/tmp/outbox-durable-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        return path
    }

    static func remove(_ directory: String) {
        for name in (try? names(in: directory)) ?? [] { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    static func names(in directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func contents(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        return String(decoding: try FileDescriptorIO.readAll(fd, upTo: 1 << 20, path: path), as: UTF8.self)
    }

    @Test("A committed file has its content and exactly its mode whatever the umask; the temporary name is gone")
    func commit() throws {
        let directory = Self.directory()
        defer { Self.remove(directory) }
        let old = umask(0o077)
        defer { umask(old) }
        try DurableFile.write(Array("hello\n".utf8), to: directory + "/final", through: directory + "/.tmp",
                              permissions: .exactly(0o640))
        #expect(try Self.contents(directory + "/final") == "hello\n")
        var info = stat()
        #expect(stat(directory + "/final", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o640)
        #expect(try Self.names(in: directory) == ["final"])
    }

    @Test("lessUmask leaves the umask its say")
    func lessUmask() throws {
        let directory = Self.directory()
        defer { Self.remove(directory) }
        let old = umask(0o027)
        defer { umask(old) }
        try DurableFile.write(Array("x".utf8), to: directory + "/final", through: directory + "/.tmp",
                              permissions: .lessUmask(0o666))
        var info = stat()
        #expect(stat(directory + "/final", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o640)
    }

    @Test("A file dropped without a commit leaves nothing behind, and the old file stays")
    func dropped() throws {
        let directory = Self.directory()
        defer { Self.remove(directory) }
        try DurableFile.write(Array("old".utf8), to: directory + "/final", through: directory + "/.tmp",
                              permissions: .exactly(0o600))
        do {
            let file = try DurableFile(temporaryPath: directory + "/.tmp", permissions: .exactly(0o600))
            try file.write(Array("half of the new".utf8))
        }
        #expect(try Self.names(in: directory) == ["final"])
        #expect(try Self.contents(directory + "/final") == "old")
    }

    @Test("A rename that fails removes the temporary file and names both paths")
    func failedRename() throws {
        let directory = Self.directory()
        defer { Self.remove(directory) }
        let error = #expect(throws: SystemCallError.self) {
            try DurableFile.write(Array("x".utf8), to: directory + "/missing/final", through: directory + "/.tmp",
                                  permissions: .exactly(0o600))
        }
        #expect(error?.code == ENOENT)
        #expect(error?.description.hasPrefix("cannot rename \(directory)/.tmp to \(directory)/missing/final: ") == true)
        #expect(try Self.names(in: directory) == [])
    }

    @Test("exclusive refuses a temporary name that exists")
    func exclusive() throws {
        let directory = Self.directory()
        defer { Self.remove(directory) }
        let other = try DurableFile(temporaryPath: directory + "/.tmp", permissions: .exactly(0o600))
        let error = #expect(throws: SystemCallError.self) {
            _ = try DurableFile(temporaryPath: directory + "/.tmp", permissions: .exactly(0o600), exclusive: true)
        }
        #expect(error?.code == EEXIST)
        try other.commit(as: directory + "/final")
        #expect(try Self.names(in: directory) == ["final"])
    }

    @Test("EINTR is retried, any other errno is thrown with the action")
    func retrying() throws {
        var calls = 0
        let result = try SystemCall.retryingOnEINTR("cannot try") { () -> Int in
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == 7 && calls == 3)
        let error = #expect(throws: SystemCallError.self) {
            try SystemCall.retryingOnEINTR("cannot open /x") { () -> Int32 in
                errno = EACCES
                return -1
            }
        }
        #expect(error?.description == "cannot open /x: Permission denied")
    }

    @Test("readAll stops at its limit, or at the end of the file")
    func readAll() throws {
        let directory = Self.directory()
        defer { Self.remove(directory) }
        try DurableFile.write(Array(repeating: UInt8(ascii: "a"), count: 100_000), to: directory + "/big",
                              through: directory + "/.tmp", permissions: .exactly(0o600))
        let fd = open(directory + "/big", O_RDONLY)
        defer { close(fd) }
        #expect(try FileDescriptorIO.readAll(fd, upTo: 70_000, path: "big").count == 70_000)
        #expect(try FileDescriptorIO.readAll(fd, upTo: 70_000, path: "big").count == 30_000)
    }
}
