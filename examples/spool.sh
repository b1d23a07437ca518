#!/bin/sh
# Hands one message to outbox through its spool (docs/spool.md) with nothing but POSIX sh:
# write tmp/NAME (0640), sync, rename into new/NAME.json. The caller must be in the spool's group.
#
#   examples/spool.sh [SPOOL_DIR] < message.json
#   printf '%s' '{"from":"xnat@example.org","tos":["alice@example.org"],"subject":"Hi","text":"Hello"}' \
#       | examples/spool.sh /var/spool/outbox
#
# (`outbox enqueue` does the same and also validates; use this where outbox is not installed.)
set -eu
spool=${1:-/var/spool/outbox}
name="$(date +%s).$$.$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
umask 027
trap 'rm -f "$spool/tmp/$name"' EXIT
cat > "$spool/tmp/$name"
chmod 0640 "$spool/tmp/$name"
sync "$spool/tmp/$name" 2>/dev/null || sync   # coreutils ≥ 8.24 syncs just the file
mv "$spool/tmp/$name" "$spool/new/$name.json"
trap - EXIT
echo "$name.json"
