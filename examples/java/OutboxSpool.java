import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Hands mail to outbox through its spool (docs/spool.md), without touching SMTP: a single class,
 * JDK only, to copy into XNAT-side code.
 *
 * <p>{@link #sendMessage} is shaped like XNAT's {@code MailService.sendHtmlMessage(from, to, cc,
 * bcc, subject, html, text, attachments)}. It writes one {@code .json} spool file with XNAT's
 * {@code MailMessage} field names: into {@code tmp/} (mode 0640), fsync, then an atomic rename
 * into {@code new/}, so outboxd only ever sees complete files. Attachments are copied into the
 * file (base64), because XNAT's attachment files are often temporary.
 *
 * <pre>
 * OutboxSpool spool = new OutboxSpool(Paths.get("/var/spool/outbox"));
 * String id = spool.sendMessage("xnat@example.org", new String[] {"alice@example.org"}, null, null,
 *         "Your data is ready", "&lt;p&gt;Done.&lt;/p&gt;", "Done.", Map.of("report.pdf", new File("/tmp/r.pdf")));
 * </pre>
 */
public final class OutboxSpool {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final Path spool;

    public OutboxSpool(Path spool) {
        this.spool = spool;
    }

    /**
     * Queues one message; returns its spool id (the file name in new/).
     *
     * @param from sender address, or null for outbox's smtp.from
     * @param to, cc, bcc recipients ("addr@example.org" or "Name &lt;addr@example.org&gt;"); null means none
     * @param html HTML body or null; @param text plain-text body or null (both: multipart/alternative)
     * @param attachments file name shown to the recipient → file to copy now; null means none
     * @throws IOException when the spool cannot be written (the caller may retry; nothing was queued)
     */
    public String sendMessage(String from, String[] to, String[] cc, String[] bcc, String subject, String html,
            String text, Map<String, File> attachments) throws IOException {
        StringBuilder json = new StringBuilder(256).append('{');
        field(json, "from", from);
        list(json, "tos", to);
        list(json, "ccs", cc);
        list(json, "bccs", bcc);
        field(json, "subject", subject);
        field(json, "html", html);
        field(json, "text", text);
        if (attachments != null && !attachments.isEmpty()) {
            json.append("\"attachments\":[");
            boolean first = true;
            for (Map.Entry<String, File> entry : attachments.entrySet()) {
                if (!first) json.append(',');
                first = false;
                byte[] content = Files.readAllBytes(entry.getValue().toPath());
                json.append('{');
                field(json, "filename", entry.getKey());
                field(json, "content_type", contentType(entry.getKey()));
                json.append("\"content_base64\":\"").append(Base64.getEncoder().encodeToString(content)).append("\"}");
            }
            json.append("],");
        }
        if (json.charAt(json.length() - 1) == ',') json.setLength(json.length() - 1);
        json.append('}');
        return write(json.toString().getBytes(StandardCharsets.UTF_8), "json");
    }

    /** tmp/NAME (0640) → fsync → rename to new/NAME.ext. */
    private String write(byte[] content, String extension) throws IOException {
        String base = System.currentTimeMillis() + "." + ProcessHandle.current().pid() + "."
                + Long.toUnsignedString(RANDOM.nextLong(), 16);
        Path temporary = spool.resolve("tmp").resolve(base);
        Path target = spool.resolve("new").resolve(base + "." + extension);
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) channel.write(buffer);
            channel.force(true);
        }
        try {
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-r-----"));
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(temporary);
            throw new IOException("tmp/ and new/ must be on one file system", e);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
        return target.getFileName().toString();
    }

    private static String contentType(String filename) {
        String name = filename.toLowerCase(Locale.ROOT);
        String extension = name.substring(name.lastIndexOf('.') + 1);
        switch (extension) {
            case "pdf": return "application/pdf";
            case "txt": case "log": return "text/plain";
            case "csv": return "text/csv";
            case "html": return "text/html";
            case "json": return "application/json";
            case "zip": return "application/zip";
            case "png": return "image/png";
            case "jpg": case "jpeg": return "image/jpeg";
            default: return "application/octet-stream";
        }
    }

    private static void field(StringBuilder json, String name, String value) {
        if (value == null) return;
        json.append('"').append(name).append("\":");
        string(json, value);
        json.append(',');
    }

    private static void list(StringBuilder json, String name, String[] values) {
        if (values == null || values.length == 0) return;
        json.append('"').append(name).append("\":[");
        for (int i = 0; i < values.length; i++) {
            if (i > 0) json.append(',');
            string(json, values[i]);
        }
        json.append("],");
    }

    private static void string(StringBuilder json, String value) {
        json.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"': json.append("\\\""); break;
                case '\\': json.append("\\\\"); break;
                case '\n': json.append("\\n"); break;
                case '\r': json.append("\\r"); break;
                case '\t': json.append("\\t"); break;
                default:
                    if (c < 0x20) json.append(String.format("\\u%04x", (int) c)); else json.append(c);
            }
        }
        json.append('"');
    }

    /**
     * A command-line demo: {@code java OutboxSpool.java --spool DIR --from A --to B [--cc C] [--bcc D]
     * [--subject S] [--text T] [--html H] [--attach FILE]...}; prints the spool id.
     */
    public static void main(String[] args) throws IOException {
        Map<String, String> options = new LinkedHashMap<>();
        Map<String, File> attachments = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (args[i].equals("--attach")) {
                File file = new File(args[i + 1]);
                attachments.put(file.getName(), file);
            } else {
                options.put(args[i].substring(2), args[i + 1]);
            }
        }
        OutboxSpool spool = new OutboxSpool(Paths.get(options.getOrDefault("spool", "/var/spool/outbox")));
        String id = spool.sendMessage(options.get("from"), split(options.get("to")), split(options.get("cc")),
                split(options.get("bcc")), options.get("subject"), options.get("html"), options.get("text"), attachments);
        System.out.println(id);
    }

    private static String[] split(String value) {
        return value == null ? null : value.split(";");
    }
}
