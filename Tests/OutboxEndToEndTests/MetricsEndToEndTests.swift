import Foundation
import Glibc
import Testing

/// The value of one series (`name{labels}` as the text format writes it), or nil.
func sample(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        if line[..<space] == series { return Double(line[line.index(after: space)...]) }
    }
    return nil
}

/// GET with Debian's curl; the body, or nil with any HTTP error.
func httpGet(_ url: String) throws -> (status: Int32, body: String) {
    let result = try run("/usr/bin/curl", ["-sS", "--fail", "--max-time", "10", url])
    return (result.status, result.stdout)
}

@Suite("Prometheus metrics end to end", .serialized, .timeLimit(.minutes(3)))
struct MetricsEndToEndTests {
    /// Three messages delivered, then the server stops and two more are deferred.
    func daemonWithKnownQueue(metricsPort: Int) async throws -> (DaemonUnderTest, SMTPTestServer) {
        let server = try SMTPTestServer()
        let daemon = DaemonUnderTest()
        daemon.configure(smtp: ["host: 127.0.0.1", "port: \(server.port)"],
                         extra: "delivery:\n  first_retry: 1h\nmetrics:\n  listen: 127.0.0.1:\(metricsPort)\n")
        try await daemon.start()
        for index in 0..<3 { try daemon.drop("\(index).eml", "From: a@example.org\nTo: b\(index)@example.org\nSubject: s\n\nbody\n") }
        #expect(await eventually { server.received().count == 3 }, "\(daemon.logText)")
        #expect(await eventually { (try? daemon.list().filter { $0["state"] as? String == "sent" }.count) == 3 })
        server.stop()
        for index in 3..<5 { try daemon.drop("\(index).eml", "From: a@example.org\nTo: b\(index)@example.org\nSubject: s\n\nbody\n") }
        #expect(await eventually { (try? daemon.list().filter { $0["state"] as? String == "deferred" }.count) == 2 }, "\(daemon.logText)")
        return (daemon, server)
    }

    /// `promtool check metrics` (Debian's prometheus package) on `text`: its status and complaints.
    func promtool(_ text: String) throws -> (status: Int32, output: String) {
        let result = try run("/usr/bin/promtool", ["check", "metrics"], stdin: text)
        return (result.status, result.stdout + result.stderr)
    }

    @Test("outboxd serves /metrics with the queue's values, promtool accepts it, and outbox stats --prometheus writes the same")
    func servedAndWritten() async throws {
        let port = try freeLoopbackPort()
        let (daemon, _) = try await daemonWithKnownQueue(metricsPort: port)
        defer { daemon.terminate() }
        #expect(daemon.logText.contains("Serving metrics"), "\(daemon.logText)")

        let (status, served) = try httpGet("http://127.0.0.1:\(port)/metrics")
        try #require(status == 0, "\(daemon.logText)")
        let check = try promtool(served)
        #expect(check.status == 0, "promtool: \(check.output)\n\(served)")
        #expect(sample(served, #"outbox_queue_messages{state="sent"}"#) == 3)
        #expect(sample(served, #"outbox_queue_messages{state="deferred"}"#) == 2)
        #expect(sample(served, #"outbox_queue_messages{state="queued"}"#) == 0)
        #expect(sample(served, #"outbox_delivery_attempts_total{result="delivered"}"#) == 3)
        #expect(sample(served, #"outbox_delivery_attempts_total{result="temporary"}"#) == 2)
        #expect(sample(served, #"outbox_smtp_replies_total{class="2xx"}"#) == 3)
        #expect(sample(served, #"outbox_smtp_replies_total{class="none"}"#) == 2, "connection refused: no reply")
        #expect(sample(served, #"outbox_intake_files_total{result="queued"}"#) == 5)
        #expect((sample(served, "outbox_oldest_waiting_seconds") ?? -1) >= 0)
        #expect((sample(served, "outbox_last_delivery_timestamp_seconds") ?? 0) > Date().timeIntervalSince1970 - 300)
        #expect(sample(served, "outbox_smtp_disabled") == 0)

        // The example alert rules use only series outboxd serves.
        let rules = try String(contentsOfFile: Paths.packageRoot.appendingPathComponent("examples/prometheus/outbox-alerts.yml").path, encoding: .utf8)
        let used = Set(rules.matches(of: /outbox_[a-z_]+/).map { String($0.output) })
        #expect(used.count >= 5)
        for name in used { #expect(served.contains("\n\(name)"), "\(name) is in the alert rules but not served") }

        // Anything but /metrics is not found.
        #expect(try httpGet("http://127.0.0.1:\(port)/").status != 0)

        let scratch = Scratch()
        let output = scratch.file("textfile/outbox.prom")
        try FileManager.default.createDirectory(atPath: scratch.file("textfile"), withIntermediateDirectories: true)
        let written = try run(Paths.outbox, ["stats", "--prometheus", "--output", output, "--config", daemon.configPath])
        #expect(written.status == 0, "\(written.stderr)")
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let fileCheck = try promtool(text)
        #expect(fileCheck.status == 0, "promtool: \(fileCheck.output)\n\(text)")
        for series in [#"outbox_queue_messages{state="sent"}"#, #"outbox_queue_messages{state="deferred"}"#,
                       #"outbox_delivery_attempts_total{result="delivered"}"#, #"outbox_smtp_replies_total{class="none"}"#,
                       "outbox_last_delivery_timestamp_seconds", "outbox_smtp_disabled"] {
            #expect(sample(text, series) != nil && sample(text, series) == sample(served, series), "\(series)")
        }
        let mode = try FileManager.default.attributesOfItem(atPath: output)[.posixPermissions] as? Int
        #expect(mode == 0o644, "node_exporter must be able to read it")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("textfile")) == ["outbox.prom"], "no temporary file left")

        // Standard output, and the flags' rules.
        let printed = try run(Paths.outbox, ["stats", "--prometheus", "--config", daemon.configPath])
        #expect(printed.status == 0 && sample(printed.stdout, #"outbox_queue_messages{state="sent"}"#) == 3)
        #expect(try run(Paths.outbox, ["stats", "--output", output, "--config", daemon.configPath]).status == 64)
    }

    @Test("A real Prometheus scrapes outboxd and its query API returns outbox_queue_messages by state")
    func scrapedByPrometheus() async throws {
        let port = try freeLoopbackPort()
        let (daemon, _) = try await daemonWithKnownQueue(metricsPort: port)
        defer { daemon.terminate() }

        let scratch = Scratch()
        let prometheusPort = try freeLoopbackPort()
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: outbox
                static_configs:
                  - targets: ["127.0.0.1:\(port)"]
            """
        FileManager.default.createFile(atPath: scratch.file("prometheus.yml"), contents: Data(config.utf8))
        let prometheus = try ChildProcess(
            "/usr/bin/prometheus",
            ["--config.file=\(scratch.file("prometheus.yml"))", "--storage.tsdb.path=\(scratch.file("data"))",
             "--web.listen-address=127.0.0.1:\(prometheusPort)", "--log.level=warn"],
            outputPath: scratch.file("prometheus.log"))
        defer {
            prometheus.signal(SIGTERM)
            prometheus.wait()
        }

        /// `{state: value}` of outbox_queue_messages as Prometheus answers the query now.
        func queried() -> [String: String] {
            guard let answer = try? httpGet("http://127.0.0.1:\(prometheusPort)/api/v1/query?query=outbox_queue_messages"),
                  answer.status == 0,
                  let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
                  let data = object["data"] as? [String: Any], let results = data["result"] as? [[String: Any]]
            else { return [:] }
            var values: [String: String] = [:]
            for result in results {
                guard let metric = result["metric"] as? [String: String], let value = result["value"] as? [Any],
                      let state = metric["state"], value.count == 2, let number = value[1] as? String
                else { continue }
                #expect(metric["job"] == "outbox" && metric["instance"] == "127.0.0.1:\(port)")
                values[state] = number
            }
            return values
        }
        let expected = ["queued": "0", "deferred": "2", "held": "0", "sent": "3", "failed": "0"]
        let log = { (try? String(contentsOfFile: scratch.file("prometheus.log"), encoding: .utf8)) ?? "" }
        #expect(await eventually(timeout: .seconds(60)) { queried() == expected }, "got \(queried()); prometheus: \(log().suffix(800))")
    }

    @Test("The README's example alert rules are valid and fire when they should (promtool check rules, promtool test rules)")
    func alertRules() throws {
        let directory = Paths.packageRoot.appendingPathComponent("examples/prometheus").path
        let check = try run("/usr/bin/promtool", ["check", "rules", directory + "/outbox-alerts.yml"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("3 rules found"), "\(check.stdout)")
        let test = try run("/usr/bin/promtool", ["test", "rules", directory + "/outbox-alerts.test.yml"])
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
    }
}
