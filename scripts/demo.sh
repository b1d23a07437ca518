#!/usr/bin/env bash
# The demo: outboxd end to end on this machine, nothing installed system-wide.
#
# Builds outbox, starts a local SMTP server on 127.0.0.1 that prints what it receives, runs
# outboxd on a demo configuration with its state under ./demo/, drops an XNAT-style
# password-reset mail into the spool the way a producer does (write tmp/, rename into new/),
# and shows the delivery: the daemon's log, the server's copy (Subject with the Email Prefix),
# and `outbox list`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
demo=$root/demo

bash scripts/setup-debian.sh
echo "demo: building (the first build takes a few minutes)"
swift build -c debug 2>&1 | tail -n 1
bin=$(swift build --show-bin-path)

rm -rf "$demo"
mkdir -p "$demo/spool/tmp" "$demo/spool/new" "$demo/spool/failed"

cleanup() {
    [[ -n "${daemon_pid:-}" ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
    [[ -n "${server_pid:-}" ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT

/usr/bin/python3 scripts/smtp-server.py --port-file "$demo/smtp.port" --out "$demo/received" &
server_pid=$!
for _ in $(seq 100); do [[ -s $demo/smtp.port ]] && break; sleep 0.1; done
[[ -s $demo/smtp.port ]] || { echo "demo: the SMTP server did not start" >&2; exit 1; }
port=$(cat "$demo/smtp.port")

cat > "$demo/outbox.yaml" <<YAML
smtp:
  enabled: true
  host: 127.0.0.1
  port: $port
  protocol: smtp
  email_prefix: XNAT
  from: admin@xnat.example.org
queue:
  database: $demo/queue.sqlite3
spool:
  directory: $demo/spool
YAML

echo "demo: starting outboxd --config $demo/outbox.yaml"
"$bin/outboxd" --config "$demo/outbox.yaml" &
daemon_pid=$!
sleep 1

# A producer's hand-over: write into tmp/, then rename into new/ (only complete files appear there).
name="$(date +%s).$$.password-reset.eml"
cat > "$demo/spool/tmp/$name" <<'MAIL'
From: XNAT <admin@xnat.example.org>
To: Alice Example <alice@example.org>
Subject: Password reset request
Content-Type: text/plain; charset=us-ascii

Dear Alice,

Someone (hopefully you) asked to reset the password of your XNAT account "alice".
Follow this link within 24 hours to choose a new one:

  https://xnat.example.org/app/template/ChangePassword.vm?token=3f9c2a

If you did not ask for this, ignore this message.

-- The XNAT team
MAIL
mv "$demo/spool/tmp/$name" "$demo/spool/new/$name"
echo "demo: dropped $name into the spool"

for _ in $(seq 150); do [[ -e $demo/received/000001.json ]] && break; sleep 0.2; done
[[ -e $demo/received/000001.json ]] || { echo "demo: nothing was delivered within 30 s" >&2; exit 1; }
sleep 0.5

echo
echo "demo: what the SMTP server received:"
/usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print("  MAIL FROM:<%s>  RCPT TO:%s" % (m["mail_from"], m["rcpt_tos"])); print("".join("  | " + l + "\n" for l in m["data"].splitlines()), end="")' "$demo/received/000001.json"
echo
echo "demo: outbox list"
"$bin/outbox" list --config "$demo/outbox.yaml"
