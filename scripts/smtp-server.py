#!/usr/bin/python3
"""A small SMTP server on loopback for the demo and the tests, on Debian's python3-aiosmtpd.

Every accepted message is written to OUT/NNNNNN.json as
{"mail_from": ..., "rcpt_tos": [...], "data": "<message as received, latin-1>", "peer": ...}
(written to a temporary name and renamed, so a reader never sees half a file), and a summary is
printed on stdout. With --port 0 the kernel picks a free port; --port-file receives it once the
server listens.

Options for the delivery tests: --tls-cert/--tls-key enable STARTTLS (or implicit TLS with
--implicit-tls); --auth-user/--auth-password require AUTH PLAIN/LOGIN with those credentials.
--xoauth2-tokens FILE offers AUTH XOAUTH2 only and accepts only a live token from the token
endpoint's file (scripts/oauth2-token-server.py) for --auth-user; the session log then gets
"XOAUTH2 ok" or "XOAUTH2 expired-token" etc. (--xoauth2-style google answers a refusal the way
Gmail does: 334 + base64 JSON, then 535).
--require-from ADDR refuses, like Exchange Online, a message not from ADDR (header From and MAIL
FROM) with "550 5.7.60 … Client does not have permissions to send as this sender".
--session-log FILE appends one line per connection and per EHLO/STARTTLS/AUTH command
("connect", "EHLO name", "STARTTLS", "AUTH PLAIN" — the mechanism only, never credentials; and
"concurrent N" when a connection opens while N - 1 others are open), so a test can tell what a
client said. --reject-rcpt ADDR=CODE (repeatable) answers RCPT TO:<ADDR>
with CODE; --fail-data CODE answers the end of every message with CODE; --idle-timeout SECONDS
closes a connection that has been quiet that long; --close-after N answers the MAIL FROM after N
messages on one connection with "421" and closes it (a server that limits messages per connection);
--stall-data takes every message and never answers the final dot; --data-delay SECONDS holds each
reply to the final dot that long (a send stays in flight, for shutdown tests); --mail-delay SECONDS
holds each reply to MAIL FROM that long (slows a drain without widening the window between the
server's acceptance and the client's 250, for the kill -9 fault run).
"""
import argparse
import asyncio
import base64
import binascii
import email
import email.utils
import json
import os
import signal
import ssl
import sys
import time

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword


class SessionLog:
    """Appends what clients said (verbs and mechanisms only) to a file, one line each."""

    def __init__(self, path):
        self.path = path

    def write(self, line):
        if self.path:
            with open(self.path, "a") as f:
                f.write(line + "\n")


xoauth2_tokens = None   # path of the token endpoint's --tokens file
xoauth2_user = None
xoauth2_style = "microsoft"


def xoauth2_check(response):
    """ok, or why the XOAUTH2 initial response is refused (never the token itself)."""
    parts = response.split(b"\x01")
    if len(parts) != 4 or not parts[0].startswith(b"user=") or not parts[1].startswith(b"auth=Bearer ") or parts[2:] != [b"", b""]:
        return "malformed"
    user = parts[0][5:].decode(errors="replace")
    token = parts[1][len(b"auth=Bearer "):].decode(errors="replace")
    try:
        with open(xoauth2_tokens) as f:
            tokens = json.load(f)
    except (OSError, ValueError):
        tokens = {}
    if token not in tokens:
        return "unknown-token"
    if tokens[token]["expires_at"] <= time.time():
        return "expired-token"
    if user != xoauth2_user:
        return "wrong-user"
    return "ok"


def recording_smtp(log, close_after=None, mail_delay=0.0):
    class RecordingSMTP(SMTP):
        messages_on_connection = 0

        async def smtp_MAIL(self, arg):
            if mail_delay:
                await asyncio.sleep(mail_delay)
            if close_after is not None and self.messages_on_connection >= close_after:
                log.write("421")
                await self.push("421 4.7.0 smtp-server.test Too many messages on this connection, closing")
                self.transport.close()
                return
            self.messages_on_connection += 1
            await super().smtp_MAIL(arg)

        open_sessions = 0  # connections open right now, across all sessions of this server

        def connection_made(self, transport):
            if self.transport is None:  # not the STARTTLS re-entry
                log.write("connect")
                RecordingSMTP.open_sessions += 1
                if RecordingSMTP.open_sessions > 1:
                    log.write("concurrent %d" % RecordingSMTP.open_sessions)
            super().connection_made(transport)

        def connection_lost(self, error):
            RecordingSMTP.open_sessions -= 1
            super().connection_lost(error)

        async def smtp_EHLO(self, hostname):
            log.write("EHLO %s" % hostname)
            await super().smtp_EHLO(hostname)

        async def smtp_HELO(self, hostname):
            log.write("HELO %s" % hostname)
            await super().smtp_HELO(hostname)

        async def smtp_STARTTLS(self, arg):
            log.write("STARTTLS")
            await super().smtp_STARTTLS(arg)

        async def smtp_AUTH(self, arg):
            log.write("AUTH %s" % (arg or "").split(" ")[0].upper())
            await super().smtp_AUTH(arg)

        async def auth_XOAUTH2(self, _, args):
            """SASL XOAUTH2: base64("user=" USER "\\x01auth=Bearer " TOKEN "\\x01\\x01"), accepted only
            when TOKEN is live in the --xoauth2-tokens file and USER is --auth-user. A refusal is
            Microsoft's direct 535, or Google's 334 + base64 JSON, empty line, then 535."""
            if len(args) > 1:
                blob = args[1].encode()
                try:
                    response = base64.b64decode(blob, validate=True)
                except binascii.Error:
                    return AuthResult(success=False, handled=False)
            else:
                response = await self.challenge_auth("")
                if response is MISSING:
                    return AuthResult(success=False, handled=True)
            verdict = xoauth2_check(response)
            log.write("XOAUTH2 %s" % verdict)
            if verdict == "ok":
                return AuthResult(success=True, handled=False)
            if xoauth2_style == "google":
                error = json.dumps({"status": "401", "schemes": "Bearer", "scope": "https://mail.google.com/"})
                await self.challenge_auth(error)
                return AuthResult(success=False, handled=False,
                                  message="535 5.7.8 Username and Password not accepted. (test)")
            return AuthResult(success=False, handled=False,
                              message="535 5.7.3 Authentication unsuccessful (test)")

    return RecordingSMTP


class Recorder:
    def __init__(self, out, quiet, reject_rcpt=None, fail_data=None, stall_data=False, data_delay=0.0, require_from=None):
        self.out = out
        self.require_from = require_from.lower() if require_from else None
        self.data_delay = data_delay
        self.quiet = quiet
        self.reject_rcpt = reject_rcpt or {}
        self.fail_data = fail_data
        self.stall_data = stall_data
        os.makedirs(out, exist_ok=True)
        # Restarted on the same folder: carry on numbering, never overwrite what was received.
        self.count = len([name for name in os.listdir(out) if name.endswith(".json")])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.reject_rcpt.get(address.lower())
        if code is not None:
            return "%d %s.1.1 <%s>: Recipient address rejected (test)" % (code, str(code)[0], address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.stall_data:
            await asyncio.sleep(3600)
        if self.fail_data is not None:
            return "%d %s.3.0 Message refused (test)" % (self.fail_data, str(self.fail_data)[0])
        if self.require_from:
            # Like Exchange Online: the login may send only as its mailbox (header From and MAIL FROM).
            message = email.message_from_bytes(envelope.original_content)
            senders = [a.lower() for _, a in email.utils.getaddresses(message.get_all("From", []))]
            if senders != [self.require_from] or (envelope.mail_from or "").lower() != self.require_from:
                return "550 5.7.60 SMTP; Client does not have permissions to send as this sender (test)"
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,  # SIZE=… as the client announced it
            "data": envelope.original_content.decode("latin-1"),
            "peer": str(session.peer),
            "authenticated": bool(session.authenticated),
            # session.ssl is set by STARTTLS; implicit TLS shows on the transport.
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
        }
        name = os.path.join(self.out, "%06d.json" % self.count)
        with open(name + ".tmp", "w") as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(name + ".tmp", name)
        if not self.quiet:
            subject = next((line for line in record["data"].splitlines() if line.lower().startswith("subject:")), "Subject: (none)")
            print("smtp-server: received message %d from <%s> to %s" % (self.count, envelope.mail_from, ", ".join("<%s>" % r for r in envelope.rcpt_tos)), flush=True)
            print("smtp-server:   " + subject, flush=True)
        return "250 2.0.0 Ok: queued as %06d" % self.count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--out", required=True)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--data-delay", type=float, default=0.0,
                        help="seconds to wait before answering the final dot (a send stays in flight)")
    parser.add_argument("--mail-delay", type=float, default=0.0,
                        help="seconds to wait before answering MAIL FROM (slows a drain before anything is accepted)")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--auth-user")
    parser.add_argument("--auth-password")
    parser.add_argument("--session-log")
    parser.add_argument("--reject-rcpt", action="append", default=[], metavar="ADDR=CODE")
    parser.add_argument("--fail-data", type=int, metavar="CODE")
    parser.add_argument("--idle-timeout", type=float, default=300)
    parser.add_argument("--close-after", type=int, metavar="N")
    parser.add_argument("--stall-data", action="store_true")
    parser.add_argument("--xoauth2-tokens", metavar="FILE",
                        help="offer AUTH XOAUTH2 only, for --auth-user, accepting live tokens from this file")
    parser.add_argument("--require-from", metavar="ADDR",
                        help="refuse (550 5.7.60) a message whose header From or MAIL FROM is not ADDR")
    parser.add_argument("--xoauth2-style", choices=["microsoft", "google"], default="microsoft")
    args = parser.parse_args()
    global xoauth2_tokens, xoauth2_user, xoauth2_style
    xoauth2_tokens, xoauth2_user, xoauth2_style = args.xoauth2_tokens, args.auth_user, args.xoauth2_style

    if not args.host.startswith("127.") and args.host not in ("::1", "localhost"):
        sys.exit("smtp-server: refusing to listen on a non-loopback address")

    reject = {}
    for item in args.reject_rcpt:
        address, _, code = item.rpartition("=")
        reject[address.lower()] = int(code)
    handler = Recorder(args.out, args.quiet, reject, args.fail_data, args.stall_data, args.data_delay, args.require_from)
    smtp_class = recording_smtp(SessionLog(args.session_log), args.close_after, args.mail_delay)
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.auth_user \
            and auth_data.password.decode() == args.auth_password
        # handled=False: aiosmtpd then answers a refusal with 535 itself (otherwise it says nothing).
        return AuthResult(success=ok, handled=False)

    def factory():
        kwargs = {"timeout": args.idle_timeout}
        if context is not None and not args.implicit_tls:
            kwargs["tls_context"] = context
        if args.xoauth2_tokens is not None:
            kwargs.update(auth_required=True, auth_require_tls=False, auth_exclude_mechanism=["LOGIN", "PLAIN"])
        elif args.auth_user is not None:
            kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=False,
                          auth_exclude_mechanism=["XOAUTH2"])
        return smtp_class(handler, hostname="smtp-server.test", **kwargs)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, host=args.host, port=args.port,
                                          ssl=context if args.implicit_tls else None)
        port = server.sockets[0].getsockname()[1]
        if args.port_file:
            with open(args.port_file + ".tmp", "w") as f:
                f.write("%d\n" % port)
            os.rename(args.port_file + ".tmp", args.port_file)
        if not args.quiet:
            print("smtp-server: listening on %s:%d, writing messages to %s" % (args.host, port, args.out), flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
