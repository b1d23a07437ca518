#!/usr/bin/python3
"""Parses one RFC 5322/MIME message with Python's email package and prints a JSON summary, so
tests can check a message with a real parser rather than with our own.

Usage: mime-summary.py FILE   (FILE holds the message bytes; '-' for stdin)

Summary: {"headers": {name: [decoded values]}, "defects": [...], "seven_bit": bool,
"max_line": int, "structure": "multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)",
"parts": [{"content_type", "filename", "charset", "cte", "text" | "base64"}]} (leaf parts in order).
"""
import base64
import email
import email.policy
import json
import sys


def structure(part):
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_type(), ",".join(structure(p) for p in part.iter_parts()))
    return part.get_content_type()


def main():
    data = sys.stdin.buffer.read() if sys.argv[1] == "-" else open(sys.argv[1], "rb").read()
    message = email.message_from_bytes(data, policy=email.policy.default)
    defects = [type(d).__name__ for d in message.defects]
    headers = {}
    for name, value in message.items():
        headers.setdefault(name, []).append(str(value))
    parts = []
    for part in message.walk():
        defects += [type(d).__name__ for d in part.defects]
        if part.is_multipart():
            continue
        item = {
            "content_type": part.get_content_type(),
            "filename": part.get_filename(),
            "charset": part.get_content_charset(),
            "cte": part.get("Content-Transfer-Encoding"),
            "disposition": part.get_content_disposition(),
        }
        if part.get_content_maintype() == "text":
            item["text"] = part.get_content().replace("\r\n", "\n")  # canonical CRLF back to the producer's LF
        else:
            item["base64"] = base64.b64encode(part.get_payload(decode=True)).decode("ascii")
        parts.append(item)
    lines = data.split(b"\r\n")
    summary = {
        "headers": headers,
        "defects": defects,
        "seven_bit": all(b < 128 for b in data),
        "bare_lf": b"\n" in data.replace(b"\r\n", b""),
        "max_line": max(len(line) for line in lines),
        "structure": structure(message),
        "parts": parts,
    }
    json.dump(summary, sys.stdout)


if __name__ == "__main__":
    main()
