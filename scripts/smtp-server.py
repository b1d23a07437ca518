#!/usr/bin/python3
"""A small SMTP server on loopback for the demo and the tests, on Debian's python3-aiosmtpd.

Every accepted message is written to OUT/NNNNNN.json as
{"mail_from": ..., "rcpt_tos": [...], "data": "<message as received, latin-1>", "peer": ...}
(written to a temporary name and renamed, so a reader never sees half a file), and a summary is
printed on stdout. With --port 0 the kernel picks a free port; --port-file receives it once the
server listens.

Options for the delivery tests: --tls-cert/--tls-key enable STARTTLS (or implicit TLS with
--implicit-tls); --auth-user/--auth-password require AUTH PLAIN/LOGIN with those credentials.
--delay-data SECONDS waits that long after the final dot before recording and answering (a slow
server, so a message stays in flight); --reject-recipient ADDRESS (repeatable) answers RCPT TO
for that address with 550.
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, out, quiet, delay_data=0.0, reject=()):
        self.out = out
        self.quiet = quiet
        self.delay_data = delay_data
        self.reject = {address.lower() for address in reject}
        self.count = 0
        os.makedirs(out, exist_ok=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay_data > 0:
            await asyncio.sleep(self.delay_data)
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("latin-1"),
            "peer": str(session.peer),
            "authenticated": bool(session.authenticated),
            "tls": session.ssl is not None,
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
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--auth-user")
    parser.add_argument("--auth-password")
    parser.add_argument("--delay-data", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--reject-recipient", action="append", default=[], metavar="ADDRESS")
    args = parser.parse_args()

    if not args.host.startswith("127.") and args.host not in ("::1", "localhost"):
        sys.exit("smtp-server: refusing to listen on a non-loopback address")

    handler = Recorder(args.out, args.quiet, args.delay_data, args.reject_recipient)
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.auth_user \
            and auth_data.password.decode() == args.auth_password
        return AuthResult(success=ok)

    def factory():
        kwargs = {}
        if context is not None and not args.implicit_tls:
            kwargs["tls_context"] = context
        if args.auth_user is not None:
            kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
        return SMTP(handler, hostname="smtp-server.test", **kwargs)

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
