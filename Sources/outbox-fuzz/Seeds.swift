/// Valid inputs the mutations start from: the spool formats as the tests and docs/spool.md use
/// them, and configurations like etc/outbox/outbox.yaml.
enum Seeds {
    static let spool: [(String, String)] = [
        ("a.json", #"{"from":"x@example.org","tos":["a@example.org"],"ccs":"c@example.org","bccs":["b@example.org"],"text":"t"}"#),
        ("b.json", #"{"from":"x@example.org","onBehalfOf":"Site Admin <admin@example.org>","tos":"a@example.org","subject":"Überprüfung","text":"t"}"#),
        ("c.json", #"{"tos":"a@example.org","text":"t","headers":{"Date":"Mon, 1 Jan 2024 00:00:00 +0000","X-Tag":["1","2"]}}"#),
        ("d.json", #"{"from":"\"Doe, J\" <j@example.org>","to":["a@example.org","B <b@example.org>"],"subject":"s","text":"plain\nline","html":"<p>x</p>","attachments":[{"filename":"r.txt","content_type":"text/plain","content_base64":"aGVsbG8gd29ybGQ="}]}"#),
        ("e.json", #"{"from":null,"tos":"a@example.org","subject":null,"text":"\u00e9\ud83d\ude00 1.5e3 \\ \" \/","html":null}"#),
        ("f.eml", "From: s@example.org\nTo: r@example.com, Other <o@example.com>\nCc: c@example.com\nBcc: hidden@example.com\nSubject: hello\nMessage-ID: <1@example.org>\n\nbody line\n.\n"),
        ("g.eml", "From: \"Name, Q\" <s@example.org>\r\nTo: r@example.com\r\nSubject: =?utf-8?B?w5xiZXI=?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÜber\r\n"),
        ("h.eml", "X-Outbox-Envelope-From: bounce@example.org\nX-Outbox-Envelope-To: a@example.com, b@example.com\nFrom: s@example.org\nTo: list@example.com\nSubject: folded\n continued\n\n" + String(repeating: "x", count: 1200) + "\n"),
        ("i.eml", "Sender: s@example.org\nFrom: a@example.org, b@example.org\nTo: group: r@example.com, q@example.com;\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nbody\n"),
    ]

    static let config: [String] = [
        """
        smtp:
          enabled: true
          host: smtp.example.org
          port: 587
          username: "user"
          password: "secret"
          protocol: smtp
          auth: true
          start_tls: true
          ssl_trust: ""
          email_prefix: "XNAT"
          from: admin@example.org
        queue:
          database: /var/lib/outbox/queue.sqlite3
        spool:
          directory: /var/spool/outbox
        delivery:
          workers: 4
          first_retry: 5m
          max_retry_delay: 1h
        log:
          level: info
        """,
        """
        smtp: {enabled: false, host: 127.0.0.1, port: 2525}
        delivery: {workers: 1, first_retry: 1s, max_retry_delay: 3s}
        """,
        "log:\n  level: warning\n",
        "",
    ]
}
