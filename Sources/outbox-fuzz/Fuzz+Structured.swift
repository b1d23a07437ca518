import Glibc
import Foundation
import OutboxCore

/// `outbox-fuzz --structured COUNT MAX_SIZE [SEED]`: COUNT inputs from ``Generators`` through intake's
/// parser and, when accepted, the send-time rewrite (`SevenBitBody`), each timed and its peak memory
/// measured (CPU time, and the kernel's high-water mark of resident memory, reset before each
/// input). The send-time rewrite is streamed as the daemon streams it to libcurl
/// (``SMTPBodyStream``, 16 KB reads), and the streamed length must equal the announced one
/// (SIZE=). Sizes: most inputs up to 64 KB, one in 200 up to MAX_SIZE (give
/// `spool.max_message_size`). Prints one line per family and the worst inputs by time and by
/// memory; exits 1 when one took over 1 s of CPU or 64 MB beyond the input itself, or when a
/// streamed length differs from the plan's.
extension Fuzz {
    #if DEBUG
    /// An unoptimized build runs the same code about ten times slower (CI's smoke run is a debug
    /// build): its limit is scaled so, and the summary line says which applied.
    static let timeLimit = 10.0
    #else
    static let timeLimit = 1.0
    #endif
    static let memoryLimit = 64 * 1024 * 1024

    struct Worst {
        var seconds = 0.0
        var bytes = 0
        var describe = ""
    }

    static func structured(count: Int, maximumSize: Int, seed: UInt64) -> Int32 {
        var random = SplitMix64(seed: seed)
        let context = IncomingMessage.Context(
            defaultSender: try? EmailAddress("fuzz@example.org"), hostname: "fuzz.example.org",
            now: UnixTime(seconds: 1_795_000_000), uniqueToken: "fuzz")
        var perFamily: [String: (inputs: Int, accepted: Int, seconds: Double, worstSeconds: Double, worstBytes: Int)] = [:]
        var slowest = Worst()
        var largest = Worst()
        var violations = 0
        var lengthMismatches = 0
        let started = Date()
        for index in 0..<count {
            let (family, make) = Generators.all[Int(random.next() % UInt64(Generators.all.count))]
            let large = random.next() % 200 == 0
            let size = logUniform(&random, from: large ? 65_536 : 64, to: large ? maximumSize : 65_536)
            let input = make(&random, size)
            if input.bytes.count >= 65_536 { _ = mallocTrim?(0) }  // small inputs: the trim would cost more than they do
            resetPeakMemory()
            let baseline = memoryKilobytes("VmRSS:")
            let begin = cpuSeconds()
            var accepted = false
            do {
                let message = try IncomingMessage(spoolFileNamed: input.name, content: input.bytes, context: context)
                let wire = SevenBitBody.wire(for: message.content)
                let streamed = stream(wire)
                if streamed != wire.length {
                    lengthMismatches += 1
                    print("fuzz structured: streamed \(streamed) bytes, announced \(wire.length): \(index) \(family)")
                }
                accepted = streamed > 0
            } catch {}
            let seconds = cpuSeconds() - begin
            let used = max(0, memoryKilobytes("VmHWM:") - baseline) * 1024
            var entry = perFamily[family] ?? (0, 0, 0, 0, 0)
            entry.inputs += 1
            entry.accepted += accepted ? 1 : 0
            entry.seconds += seconds
            entry.worstSeconds = max(entry.worstSeconds, seconds)
            entry.worstBytes = max(entry.worstBytes, used)
            perFamily[family] = entry
            let describe = "input \(index) \(family) \(input.bytes.count) bytes (seed \(seed))"
            if seconds > slowest.seconds { slowest = Worst(seconds: seconds, bytes: used, describe: describe) }
            if used > largest.bytes { largest = Worst(seconds: seconds, bytes: used, describe: describe) }
            if (index + 1) % 100_000 == 0 {
                print(
                    "fuzz structured: progress inputs=\(index + 1) over_limits=\(violations) slowest_ms=\(format(slowest.seconds * 1000)) largest_mb=\(format(Double(largest.bytes) / 1_048_576)) seconds=\(format(Date().timeIntervalSince(started)))"
                )
                fflush(nil)  // all streams: `stdout` is a global var Swift 6 refuses to touch
            }
            if seconds > timeLimit || used > memoryLimit {
                violations += 1
                if violations <= 10 {
                    print("fuzz structured: over the limit: \(describe): \(format(seconds)) s, \(used / 1_048_576) MB")
                }
            }
        }
        for (family, entry) in perFamily.sorted(by: { $0.key < $1.key }) {
            print(
                "fuzz structured \(family): inputs=\(entry.inputs) accepted=\(entry.accepted) mean_ms=\(format(entry.seconds / Double(max(entry.inputs, 1)) * 1000)) worst_ms=\(format(entry.worstSeconds * 1000)) worst_mb=\(format(Double(entry.worstBytes) / 1_048_576))"
            )
        }
        print("fuzz structured: slowest \(slowest.describe): \(format(slowest.seconds * 1000)) ms, \(format(Double(slowest.bytes) / 1_048_576)) MB")
        print("fuzz structured: largest \(largest.describe): \(format(largest.seconds * 1000)) ms, \(format(Double(largest.bytes) / 1_048_576)) MB")
        print(
            "fuzz structured: inputs=\(count) max_size=\(maximumSize) over_limits=\(violations) length_mismatches=\(lengthMismatches) (limits \(format(timeLimit)) s CPU, 64 MB) seconds=\(format(Date().timeIntervalSince(started)))"
        )
        return violations == 0 && lengthMismatches == 0 ? 0 : 1
    }

    /// Reads the wire form as libcurl does (CURL_MAX_WRITE_SIZE, 16 KB, at a time) and counts it.
    static func stream(_ wire: SevenBitWire) -> Int {
        let stream = wire.makeStream()
        var total = 0
        withUnsafeTemporaryAllocation(byteCount: 16_384, alignment: 1) { buffer in
            while true {
                let count = stream.read(into: buffer)
                if count == 0 { break }
                total += count
            }
        }
        return total
    }

    /// The CPU time of this thread: what an input costs, whatever else the machine is doing (a
    /// shared build machine stretches wall time several times over).
    static func cpuSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// glibc's malloc_trim (malloc.h, which the Glibc module does not export): gives freed heap
    /// back to the kernel, so the next input's peak is its own.
    static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    static func logUniform(_ random: inout SplitMix64, from low: Int, to high: Int) -> Int {
        guard high > low else { return low }
        let fraction = Double(random.next() >> 11) / Double(1 << 53)
        return Int(exp(log(Double(low)) + fraction * (log(Double(high)) - log(Double(low)))))
    }

    /// proc(5): writing 5 to /proc/self/clear_refs resets VmHWM to the current RSS.
    static func resetPeakMemory() {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return }
        _ = write(fd, "5", 1)
        close(fd)
    }

    static func memoryKilobytes(_ key: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(key) {
            return Int(line.dropFirst(key.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") ?? 0
        }
        return 0
    }
}
