import Foundation

/// A site CA of our own, made by openssl, and a server certificate it signed: what an
/// institution with its own CA gives its mail relay (or token endpoint). Only `caCertificate`
/// is handed to outbox (`smtp.ca_file`); the system store knows neither.
struct TestCA {
    let caCertificate: String
    let certificate: String
    let key: String

    init(in scratch: Scratch, names: String = "DNS:localhost,IP:127.0.0.1") throws {
        let id = UUID().uuidString
        let caKey = scratch.file("ca-key-\(id).pem")
        caCertificate = scratch.file("ca-\(id).pem")
        certificate = scratch.file("server-\(id).pem")
        key = scratch.file("server-key-\(id).pem")
        let request = scratch.file("server-\(id).csr")
        let extensions = scratch.file("server-\(id).ext")
        FileManager.default.createFile(
            atPath: extensions,
            contents: Data("subjectAltName=\(names)\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n".utf8))
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", caKey,
             "-out", caCertificate, "-days", "2", "-subj", "/CN=outbox test site CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
             "-out", request, "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", request, "-CA", caCertificate, "-CAkey", caKey, "-CAcreateserial",
             "-out", certificate, "-days", "2", "-extfile", extensions],
        ]
        for arguments in steps {
            let result = try run("/usr/bin/openssl", arguments)
            guard result.status == 0 else { throw TestFailure("openssl \(arguments[0]) failed: \(result.stderr)") }
        }
    }

    /// scripts/smtp-server.py's options for STARTTLS with the signed certificate.
    var serverArguments: [String] { ["--tls-cert", certificate, "--tls-key", key] }
}
