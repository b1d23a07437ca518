#!/usr/bin/python3
"""bench/intake-latency.py SPOOL PORT_FILE DROPS [WARMUP [PAUSE_MIN PAUSE_MAX]] — spool-to-SMTP latency, one clock.

Runs a minimal SMTP server on 127.0.0.1 in this process (a thread per connection) and writes its
port to PORT_FILE; the caller starts outboxd delivering to it. Then, DROPS times (after WARMUP
drops that are not counted), with the daemon idle (a random pause of PAUSE_MIN..PAUSE_MAX seconds,
default 0.1..0.3, before each drop): writes a ~2 KB .eml into SPOOL/tmp, fsyncs it,
takes time.monotonic(), renames it into SPOOL/new, and waits for that message at the server. The
latency is from the rename to the first byte of the message's SMTP transaction: on a new connection
its EHLO, on a reused one its first command (MAIL FROM). The same clock stamps both ends.

Prints one line: drops, median/p90/max in ms, how many were on a new connection, how many missed
(not delivered within 10 s; each miss counts as 10 s). Exit status 1 when any missed.
"""
import os
import random
import re
import socket
import statistics
import sys
import threading
import time


class Server:
    """Answers SMTP just enough for libcurl; records when each transaction's first byte arrived."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.arrivals = {}  # drop number -> (first byte of its transaction, on a new connection?)
        self.changed = threading.Condition()

    def serve(self):
        while True:
            connection, _ = self.listener.accept()
            threading.Thread(target=self.session, args=(connection,), daemon=True).start()

    def session(self, connection):
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.sendall(b"220 latency.test ESMTP\r\n")
        pending = b""
        started = None  # when the first byte of the current transaction arrived
        first_on_connection = True
        in_data = False
        data = []
        while True:
            if b"\n" not in pending:
                chunk = connection.recv(65536)
                arrived = time.monotonic()
                if not chunk:
                    break
                if started is None and not in_data:
                    started = arrived
                pending += chunk
                continue
            line, pending = pending.split(b"\n", 1)
            if in_data:
                if line.rstrip(b"\r") == b".":
                    in_data = False
                    match = re.search(rb"Subject: latency (\d+)", b"\n".join(data))
                    if match:
                        with self.changed:
                            self.arrivals[int(match.group(1))] = (started, first_on_connection)
                            self.changed.notify_all()
                    data = []
                    first_on_connection = False
                    started = None
                    connection.sendall(b"250 2.0.0 queued\r\n")
                else:
                    data.append(line)
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                connection.sendall(b"250-latency.test\r\n250 8BITMIME\r\n")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                connection.sendall(b"250 2.0.0 ok\r\n")
            elif verb == b"DATA":
                in_data = True
                connection.sendall(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                connection.sendall(b"221 2.0.0 bye\r\n")
                break
            else:
                connection.sendall(b"502 5.5.2 not implemented\r\n")
        connection.close()

    def wait_for(self, number, timeout):
        deadline = time.monotonic() + timeout
        with self.changed:
            while number not in self.arrivals:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.changed.wait(left)
            return self.arrivals[number]


def drop(spool, number):
    """Writes and fsyncs the message in tmp/, renames it into new/; returns the instant of the rename."""
    name = "latency.%d.%d.eml" % (os.getpid(), number)
    body = ("From: bench@latency.test\r\nTo: rcpt@example.com\r\nSubject: latency %d\r\n"
            "Message-ID: <%d.%d@latency.test>\r\n\r\n" % (number, os.getpid(), number)) + ("x" * 78 + "\r\n") * 24
    temporary = os.path.join(spool, "tmp", name)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.write(fd, body.encode())
    os.fsync(fd)
    os.close(fd)
    renamed = time.monotonic()
    os.rename(temporary, os.path.join(spool, "new", name))
    return renamed


def main():
    spool, port_file, drops = sys.argv[1], sys.argv[2], int(sys.argv[3])
    warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    pause = (float(sys.argv[5]), float(sys.argv[6])) if len(sys.argv) > 6 else (0.1, 0.3)
    server = Server()
    threading.Thread(target=server.serve, daemon=True).start()
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.port)
    os.rename(port_file + ".tmp", port_file)

    deadline = time.monotonic() + 60
    while not os.path.isdir(os.path.join(spool, "new")):
        if time.monotonic() > deadline:
            sys.exit("latency: the spool never appeared")
        time.sleep(0.05)

    latencies, new_connections, missed = [], 0, 0
    for number in range(warmup + drops):
        time.sleep(random.uniform(*pause))  # the daemon is idle: the last outcome is recorded
        renamed = drop(spool, number)
        arrival = server.wait_for(number, 30 if number < warmup else 10)
        if number < warmup:
            if arrival is None:
                sys.exit("latency: warm-up message %d never arrived (is outboxd delivering here?)" % number)
            continue
        if arrival is None:
            missed += 1
            latencies.append(10.0)
            continue
        started, fresh = arrival
        latencies.append(started - renamed)
        new_connections += fresh

    latencies.sort()
    ms = lambda seconds: "%.1f" % (seconds * 1000)
    p90 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.9))]
    print("latency: drops=%d median_ms=%s p90_ms=%s max_ms=%s min_ms=%s new_connections=%d missed=%d" % (
        len(latencies), ms(statistics.median(latencies)), ms(p90), ms(latencies[-1]), ms(latencies[0]),
        new_connections, missed))
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
