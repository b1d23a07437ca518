#!/usr/bin/python3
"""An OAuth2 token endpoint on loopback for the tests (HTTPS only, standard library).

Answers POSTs with the client_credentials and refresh_token grants (RFC 6749 §4.4, §6) the way
Microsoft's and Google's endpoints do, including their error JSON. What it accepts is read from
--control FILE (JSON) at every request, so a test can revoke a secret while outboxd runs:

  {"clients": {"CLIENT_ID": "SECRET"},      client ids and their secrets
   "refresh_tokens": ["RT"],                 refresh tokens accepted (besides rotated ones)
   "scope": "…", "path": "/…",               when set, the scope / URL path a request must use
   "expires_in": 3600, "rotate": false,      token lifetime; issue a new refresh token each time
   "style": "microsoft" | "google",          the shape of error answers
   "expired_secret": false}                  a wrong secret is reported as expired (AADSTS7000222)

Every access token issued is added to --tokens FILE ({"TOKEN": {"expires_at": epoch, "client_id":
…}}), which scripts/smtp-server.py --xoauth2-tokens reads to accept only live tokens. --log FILE
gets one line per request: "GRANT CLIENT_ID -> ok|ERROR" (never a secret or token).
"""
import argparse
import json
import os
import secrets
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
rotated = set()    # refresh tokens issued by rotation, still valid
revoked = set()    # refresh tokens replaced by rotation
counter = [0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host != "::1":
        sys.exit("oauth2-token-server: refusing to listen on a non-loopback address")

    def write_json(path, value):
        with open(path + ".tmp", "w") as f:
            json.dump(value, f)
        os.rename(path + ".tmp", path)

    def log(line):
        with open(args.log, "a") as f:
            f.write(line + "\n")

    def error_body(style, code, aadsts, text):
        if style == "google":
            return {"error": code, "error_description": text}
        return {"error": code,
                "error_description": "AADSTS%d: %s\r\nTrace ID: 0000 Correlation ID: 0000 Timestamp: 2026-12-01 00:00:00Z" % (aadsts, text),
                "error_codes": [aadsts], "timestamp": "2026-12-01 00:00:00Z", "trace_id": "0000", "correlation_id": "0000"}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
            with open(args.control) as f:
                control = json.load(f)
            style = control.get("style", "microsoft")
            grant = form.get("grant_type", "")
            client_id = form.get("client_id", "")
            with lock:
                status, body, result = self.decide(control, style, form, grant, client_id)
                log("%s %s -> %s" % (grant or "-", client_id or "-", result))
            self.answer(status, body)

        def decide(self, control, style, form, grant, client_id):
            if control.get("path") and self.path != control["path"]:
                return 404, error_body(style, "invalid_request", 90002, "Tenant not found (path %s)." % self.path), "invalid_request"
            clients = control.get("clients", {})
            if client_id not in clients:
                return 400, error_body(style, "unauthorized_client", 700016, "Application was not found in the directory."), "unauthorized_client"
            secret = form.get("client_secret")
            if grant == "client_credentials" or style == "google" or secret is not None:
                if secret != clients[client_id]:
                    if control.get("expired_secret"):
                        return 401, error_body(style, "invalid_client", 7000222, "The provided client secret keys for app '%s' are expired." % client_id), "invalid_client"
                    return 401, error_body(style, "invalid_client", 7000215, "Invalid client secret provided."), "invalid_client"
            if control.get("scope") and form.get("scope") != control["scope"]:
                return 400, error_body(style, "invalid_scope", 70011, "The provided value for scope is not valid."), "invalid_scope"
            refresh = None
            if grant == "refresh_token":
                given = form.get("refresh_token", "")
                if given in revoked or not (given in control.get("refresh_tokens", []) or given in rotated):
                    return 400, error_body(style, "invalid_grant", 70008, "Token has been expired or revoked."), "invalid_grant"
                if control.get("rotate"):
                    revoked.add(given)
                    rotated.discard(given)
                    refresh = "rt-rotated-%s" % secrets.token_hex(12)
                    rotated.add(refresh)
            elif grant != "client_credentials":
                return 400, error_body(style, "unsupported_grant_type", 70003, "The grant type is not supported."), "unsupported_grant_type"
            counter[0] += 1
            token = "at-%d-%s" % (counter[0], secrets.token_hex(16))
            expires_in = int(control.get("expires_in", 3600))
            try:
                with open(args.tokens) as f:
                    tokens = json.load(f)
            except FileNotFoundError:
                tokens = {}
            tokens[token] = {"expires_at": time.time() + expires_in, "client_id": client_id}
            write_json(args.tokens, tokens)
            body = {"token_type": "Bearer", "expires_in": expires_in, "access_token": token,
                    "scope": form.get("scope", "")}
            if refresh:
                body["refresh_token"] = refresh
            return 200, body, "ok" + (" rotated" if refresh else "")

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


if __name__ == "__main__":
    main()
