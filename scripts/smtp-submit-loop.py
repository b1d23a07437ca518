#!/usr/bin/python3
"""Submits numbered messages over SMTP, one connection per message as XNAT does, and records what happened.

For scripts/systemd-test.sh (restarts under socket activation) and bench/faults.sh (kill -9 while submitting):
every message that got its 250 must be delivered. A message answered 4xx or cut off is sent again (as a real
client would), so the run ends with COUNT acknowledged messages unless it times out.

  smtp-submit-loop.py --port 25 --count 5000 --acked FILE [--tag TAG] [--deadline SECONDS] [--stop-file PATH]

Writes one line per acknowledged message to FILE: "<token> <queue id>", and a summary on stdout:
  acked=N refused=N tempfail=N cutoff=N elapsed=S
refused = connections refused (nothing listening): the number socket activation must keep at zero.
"""
import argparse, os, socket, sys, time

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--count", type=int, required=True)
p.add_argument("--acked", required=True)
p.add_argument("--tag", default="loop")
p.add_argument("--deadline", type=float, default=600)
p.add_argument("--stop-file")
a = p.parse_args()

refused = tempfail = cutoff = 0
start = time.monotonic()

def exchange(sock, f, line):
    if line is not None:
        sock.sendall(line)
    lines = []
    while True:
        l = f.readline()
        if not l:
            raise ConnectionResetError("closed")
        lines.append(l.decode("latin-1").rstrip("\r\n"))
        if l[3:4] != b"-":
            return lines[-1]

def submit(i):
    token = "%s-%06d" % (a.tag, i)
    sock = socket.create_connection((a.host, a.port), timeout=30)
    try:
        f = sock.makefile("rb")
        r = exchange(sock, f, None)
        if not r.startswith("220"): return ("temp", r)
        for cmd in (b"EHLO loop.test\r\n", b"MAIL FROM:<loop@example.org>\r\n", b"RCPT TO:<sink@example.org>\r\n"):
            r = exchange(sock, f, cmd)
            if not r.startswith("250"): return ("temp", r)
        r = exchange(sock, f, b"DATA\r\n")
        if not r.startswith("354"): return ("temp", r)
        body = ("From: loop@example.org\r\nTo: sink@example.org\r\nSubject: %s\r\n\r\nmessage %s\r\n.\r\n" % (token, token)).encode()
        r = exchange(sock, f, body)
        if not r.startswith("250"): return ("temp", r)
        try:
            exchange(sock, f, b"QUIT\r\n")
        except OSError:
            pass
        return ("ok", token + " " + r.split()[-1])
    finally:
        sock.close()

with open(a.acked, "a") as out:
    i = 0
    while i < a.count:
        if time.monotonic() - start > a.deadline or (a.stop_file and os.path.exists(a.stop_file)):
            break
        try:
            kind, what = submit(i)
        except ConnectionRefusedError:
            refused += 1
            time.sleep(0.05)
            continue
        except (ConnectionResetError, BrokenPipeError, socket.timeout, OSError):
            cutoff += 1
            time.sleep(0.05)
            continue
        if kind == "ok":
            out.write(what + "\n")
            out.flush()
            i += 1
        else:
            tempfail += 1
            time.sleep(0.05)

print("acked=%d refused=%d tempfail=%d cutoff=%d elapsed=%.1f" % (i, refused, tempfail, cutoff, time.monotonic() - start))
