extension IncomingMessage {
    /// Builds the message a `.json` spool file describes (see ``SpoolJSONMessage``).
    ///
    /// The envelope sender is `from` (else `smtp.from`); the recipients are tos, ccs and bccs
    /// as given, without duplicates. The content is 7-bit MIME: `text` and `html` become
    /// multipart/alternative, attachments make it multipart/mixed; `Sender:` comes from
    /// `onBehalfOf`; `Bcc:` is never written; `Date:` and `Message-ID:` are added unless
    /// `headers` gives them.
    public init(json input: some Collection<UInt8>, context: Context) throws(Rejection) {
        let spec = try SpoolJSONMessage(json: input)
        let from: SpoolJSONMessage.Mailbox
        if let given = spec.from {
            from = given
        } else if let fallback = context.defaultSender {
            from = .init(displayName: nil, address: fallback)
        } else {
            throw Rejection("no sender: \"from\" is missing and smtp.from is not set")
        }

        var recipients: [EmailAddress] = []
        var seen = Set<String>()
        for mailbox in spec.to + spec.cc + spec.bcc where seen.insert(mailbox.address.value.lowercased()).inserted {
            recipients.append(mailbox.address)
            if recipients.count > Self.maximumRecipients { throw Self.tooManyRecipients("tos, ccs and bccs") }
        }
        guard !recipients.isEmpty else {
            throw Rejection("no recipients: \"tos\", \"ccs\" and \"bccs\" are empty or missing")
        }

        var fields: [MIMEPart.Field] = []
        func addresses(_ name: String, _ list: [SpoolJSONMessage.Mailbox]) -> MIMEPart.Field {
            MIMEPart.Field(
                name, RFC2047.fold(words: list.map(\.headerText), separator: ", ", firstLineUsed: name.count + 2))
        }
        fields.append(addresses("From", [from]))
        if let onBehalfOf = spec.onBehalfOf { fields.append(addresses("Sender", [onBehalfOf])) }
        if !spec.to.isEmpty { fields.append(addresses("To", spec.to)) }
        if !spec.cc.isEmpty { fields.append(addresses("Cc", spec.cc)) }
        if spec.to.isEmpty && spec.cc.isEmpty { fields.append(.init("To", "undisclosed-recipients:;")) }
        if let subject = spec.subject {
            fields.append(.init("Subject", RFC2047.encodeUnstructured(subject, nameLength: 9)))
        }
        let given = Set(spec.headers.map { $0.name.lowercased() })
        if !given.contains("date") { fields.append(.init("Date", RFC5322Date.format(context.now))) }
        if !given.contains("message-id") {
            fields.append(.init("Message-ID", "<\(context.uniqueToken)@\(context.hostname)>"))
        }
        for header in spec.headers {
            fields.append(
                .init(header.name, RFC2047.encodeUnstructured(header.value, nameLength: header.name.utf8.count + 2)))
        }
        fields.append(.init("MIME-Version", "1.0"))

        var body: MIMEPart
        switch (spec.text, spec.html) {
        case (let text?, let html?):
            body = MIMEPart(
                fields: [],
                body: .multipart(
                    subtype: "alternative", parts: [.text(text, subtype: "plain"), .text(html, subtype: "html")]))
        case (nil, let html?): body = .text(html, subtype: "html")
        case (let text, nil): body = .text(text ?? "", subtype: "plain")
        }
        if !spec.attachments.isEmpty {
            let attachments = spec.attachments.map {
                MIMEPart.attachment($0.content, filename: $0.filename, contentType: $0.contentType)
            }
            body = MIMEPart(fields: [], body: .multipart(subtype: "mixed", parts: [body] + attachments))
        }
        body.fields = fields + body.fields
        let bytes = body.serialized(boundaryBase: "=_outbox_\(context.uniqueToken)")
        self.envelope = Envelope(sender: from.address, recipients: recipients)
        self.content = RawMessage(normalizedBytes: bytes)
    }

    /// Parses spool content by its file name's extension: `.json` or `.eml`.
    public init(spoolFileNamed name: String, content: some Collection<UInt8>, context: Context) throws(Rejection) {
        try self.init(spoolFileNamed: name, bytes: Array(content), context: context)
    }

    /// The parsers called with a concrete array, so that the optimizer specializes them for it: called
    /// from another module (the daemon's intake) they ran unspecialized, every byte through witness
    /// tables, which was a third of the intake's CPU time (perf, bench/intake.sh).
    private init(spoolFileNamed name: String, bytes content: [UInt8], context: Context) throws(Rejection) {
        if name.hasSuffix(".json") {
            try self.init(json: content, context: context)
        } else if name.hasSuffix(".eml") {
            try self.init(spoolEML: content, context: context)
        } else {
            throw Rejection("unsupported spool file type: the name must end in .json or .eml")
        }
    }
}
