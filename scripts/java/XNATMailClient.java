// XNAT's way of sending mail, for the listener tests and bench/listener.sh: Spring's
// JavaMailSenderImpl (Debian's libspring-context-support-java) over javax.mail (libmail-java),
// configured exactly from XNAT's Mail Server Settings: host, port, protocol smtp, SMTP Auth off,
// Start TLS off. Not part of the Swift build: the tests compile it with javac.
//
// Usage: java XNATMailClient HOST PORT (text | html | bcc | bench N)
import java.util.Properties;
import javax.mail.internet.MimeMessage;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.mail.SimpleMailMessage;
import org.springframework.mail.javamail.JavaMailSenderImpl;
import org.springframework.mail.javamail.MimeMessageHelper;

public class XNATMailClient {
    public static void main(String[] args) throws Exception {
        JavaMailSenderImpl sender = new JavaMailSenderImpl();
        sender.setHost(args[0]);
        sender.setPort(Integer.parseInt(args[1]));
        sender.setProtocol("smtp");
        Properties properties = new Properties();
        properties.setProperty("mail.smtp.auth", "false");
        properties.setProperty("mail.smtp.starttls.enable", "false");
        sender.setJavaMailProperties(properties);
        String from = "administrator@xnat.org";
        switch (args[2]) {
            case "text": {
                SimpleMailMessage message = new SimpleMailMessage();
                message.setFrom(from);
                message.setTo("user@example.org");
                message.setSubject("Password reset");
                message.setText("Follow this link to reset your password.");
                sender.send(message);
                break;
            }
            case "html": {
                MimeMessage message = sender.createMimeMessage();
                MimeMessageHelper helper = new MimeMessageHelper(message, true, "UTF-8");
                helper.setFrom(from);
                helper.setTo("user@example.org");
                helper.setSubject("Pipeline report");
                helper.setText("<html><body><p>Your pipeline <b>finished</b>.</p></body></html>", true);
                helper.addAttachment("report.csv", new ByteArrayResource("subject,status\nS01,ok\n".getBytes("UTF-8")));
                sender.send(message);
                break;
            }
            case "bcc": {
                SimpleMailMessage message = new SimpleMailMessage();
                message.setFrom(from);
                message.setTo("to@example.org");
                message.setCc("cc@example.org");
                message.setBcc("hidden@example.org");
                message.setSubject("Project access request");
                message.setText("A user asked for access to your project.");
                sender.send(message);
                break;
            }
            case "bench": {
                // One new connection per send(), as XNAT does; prints each send()'s duration in µs.
                int count = Integer.parseInt(args[3]);
                for (int i = 0; i < count; i++) {
                    SimpleMailMessage message = new SimpleMailMessage();
                    message.setFrom(from);
                    message.setTo("user@example.org");
                    message.setSubject("Benchmark " + i);
                    message.setText("A notification as XNAT sends them.");
                    long start = System.nanoTime();
                    sender.send(message);
                    System.out.println((System.nanoTime() - start) / 1000);
                }
                break;
            }
            default:
                throw new IllegalArgumentException("unknown mode " + args[2]);
        }
    }
}
