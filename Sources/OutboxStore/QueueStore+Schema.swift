import GRDB

extension QueueStore {
    /// Schema migrations, from the first version on: never edit a registered migration, add one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: messages, recipients, attempts") { db in
            try db.execute(sql: """
                CREATE TABLE message (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    spool_name TEXT UNIQUE,            -- the spool file it came from: intake is idempotent
                    sender TEXT NOT NULL,
                    content BLOB NOT NULL,             -- RFC 5322, CRLF, Bcc removed; prefix added at send time
                    size INTEGER NOT NULL,
                    state TEXT NOT NULL,               -- QueueState
                    attempts INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL,       -- Unix milliseconds
                    updated_at INTEGER NOT NULL,
                    next_attempt_at INTEGER NOT NULL,
                    last_error TEXT,
                    lease_owner TEXT,                  -- the daemon instance sending it now
                    lease_expires_at INTEGER
                );
                CREATE INDEX message_due ON message(next_attempt_at) WHERE state IN ('queued', 'deferred');
                CREATE INDEX message_state ON message(state);
                CREATE INDEX message_leased ON message(lease_owner) WHERE lease_owner IS NOT NULL;
                CREATE TABLE recipient (
                    message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    address TEXT NOT NULL,
                    state TEXT NOT NULL DEFAULT 'queued',
                    last_reply TEXT,
                    PRIMARY KEY (message_id, position)
                ) WITHOUT ROWID;
                CREATE TABLE attempt (
                    id INTEGER PRIMARY KEY,
                    message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                    started_at INTEGER NOT NULL,
                    duration_ms INTEGER NOT NULL,
                    server TEXT NOT NULL,
                    outcome TEXT NOT NULL,             -- DeliveryOutcome.Kind
                    reply TEXT NOT NULL
                );
                CREATE INDEX attempt_message ON attempt(message_id);
                """)
        }
        migrator.registerMigration("v2-delivery: per-recipient results in the attempt history") { db in
            // One line per recipient decided by the attempt: "<address> sent|failed|queued: reply".
            try db.execute(sql: "ALTER TABLE attempt ADD COLUMN recipients TEXT")
        }
        migrator.registerMigration("v3-content-apart: message content in its own table") { db in
            // A delivery rewrites its message row twice (lease, outcome). With the ~2 KB content
            // inline that was a page of WAL per message per commit; apart, the rows are small and
            // a group commit's messages share their pages.
            try db.execute(sql: """
                CREATE TABLE message_content (
                    message_id INTEGER PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
                    content BLOB NOT NULL             -- RFC 5322, CRLF, Bcc removed; prefix added at send time
                );
                INSERT INTO message_content (message_id, content) SELECT id, content FROM message;
                ALTER TABLE message DROP COLUMN content;
                """)
        }
        migrator.registerMigration("v4-scale: message counts per state kept by triggers") { db in
            // STATUS (once a second while mail moves) and `outbox stats` read these instead of
            // counting message_state, which takes ~40 ms per million messages. Counting once here
            // is the only scan; afterwards every insert, delete and state change adjusts one row.
            try db.execute(sql: """
                CREATE TABLE message_count (state TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO message_count (state, n) SELECT state, count(*) FROM message GROUP BY state;
                CREATE TRIGGER message_count_insert AFTER INSERT ON message BEGIN
                    INSERT INTO message_count (state, n) VALUES (new.state, 1)
                        ON CONFLICT (state) DO UPDATE SET n = n + 1;
                END;
                CREATE TRIGGER message_count_delete AFTER DELETE ON message BEGIN
                    UPDATE message_count SET n = n - 1 WHERE state = old.state;
                END;
                CREATE TRIGGER message_count_update AFTER UPDATE OF state ON message
                WHEN old.state IS NOT new.state BEGIN
                    UPDATE message_count SET n = n - 1 WHERE state = old.state;
                    INSERT INTO message_count (state, n) VALUES (new.state, 1)
                        ON CONFLICT (state) DO UPDATE SET n = n + 1;
                END;
                """)
        }
        migrator.registerMigration("v5-listener: where a message came from") { db in
            // "smtp 127.0.0.1" for the SMTP listener; NULL for spool files (spool_name says which).
            try db.execute(sql: "ALTER TABLE message ADD COLUMN source TEXT")
        }
        migrator.registerMigration("v5-deb-metrics: attempt counts by outcome and reply class, kept by a trigger") { db in
            // Prometheus counters that survive restarts and purges, and read the same from the daemon
            // and from `outbox stats --prometheus`. Only an insert trigger: deleting a message (purge)
            // deletes its attempts but never lowers a counter. The reply class is the first digit of
            // the reply when it starts with a three-digit SMTP code ("250 OK", "451 …"), else none.
            try db.execute(sql: """
                CREATE TABLE attempt_count (
                    outcome TEXT NOT NULL, reply_class TEXT NOT NULL, n INTEGER NOT NULL,
                    last_at INTEGER NOT NULL,          -- started_at of the newest such attempt, Unix ms
                    PRIMARY KEY (outcome, reply_class)
                ) WITHOUT ROWID;
                CREATE VIEW attempt_reply_class AS SELECT id, outcome, started_at,
                    CASE WHEN reply GLOB '[2-5][0-9][0-9]' OR reply GLOB '[2-5][0-9][0-9] *' OR reply GLOB '[2-5][0-9][0-9]-*'
                         THEN substr(reply, 1, 1) || 'xx' ELSE 'none' END AS reply_class
                    FROM attempt;
                INSERT INTO attempt_count (outcome, reply_class, n, last_at)
                    SELECT outcome, reply_class, count(*), max(started_at) FROM attempt_reply_class
                    GROUP BY outcome, reply_class;
                CREATE TRIGGER attempt_count_insert AFTER INSERT ON attempt BEGIN
                    INSERT INTO attempt_count (outcome, reply_class, n, last_at)
                        SELECT outcome, reply_class, 1, started_at FROM attempt_reply_class WHERE id = new.id
                        ON CONFLICT (outcome, reply_class) DO UPDATE SET n = n + 1, last_at = max(last_at, excluded.last_at);
                END;
                """)
        }
        migrator.registerMigration("v5-retention: sent content dropped, finished messages purged by age") { db in
            // message_finished finds what queue.keep_sent / keep_failed expire without a scan (its
            // condition is spelled out in every query: a bound state would not match it). dropped_at
            // is when a sent message's body was removed (nil: the content is whole). Mail sent
            // before this version loses its body now: the new default applies to the whole file.
            try db.execute(sql: """
                CREATE INDEX message_finished ON message(state, updated_at) WHERE state IN ('sent', 'failed');
                ALTER TABLE message_content ADD COLUMN dropped_at INTEGER;
                UPDATE message_content SET content = CASE WHEN instr(content, X'0D0A0D0A') > 0
                        THEN substr(content, 1, instr(content, X'0D0A0D0A') + 1) ELSE content END,
                    dropped_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
                WHERE message_id IN (SELECT id FROM message WHERE state = 'sent');
                """)
        }
        migrator.registerMigration("v5-hostfaults: unclean stops while sending, per message") { db in
            // How many times in a row the message was in flight when its daemon stopped without
            // recording an outcome (killed, crashed, watchdog). Reset by every recorded attempt;
            // at 2 the message is held instead of being claimed again (poison-message containment).
            try db.execute(sql: "ALTER TABLE message ADD COLUMN unclean_stops INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v6-spoolkeep: spool files taken but not removable") { db in
            // A spool file whose message is committed (or whose copy is in failed/) but which could not
            // be removed from new/ (new/ read-only to the daemon, an immutable file). The row reserves
            // the name for that file (device and inode) beyond the message's own life, so a purge of
            // the sent message cannot let the file be queued again. No foreign key: the row outlives
            // the message on purpose. Dropped once the file is gone.
            try db.execute(sql: """
                CREATE TABLE spool_kept (
                    spool_name BLOB PRIMARY KEY,       -- the name's bytes (a rejected file's need not be UTF-8)
                    device INTEGER NOT NULL,           -- st_dev and st_ino of the file, as signed 64-bit
                    inode INTEGER NOT NULL,
                    message_id INTEGER,                -- the message it was queued as; NULL: rejected to failed/
                    first_seen_at INTEGER NOT NULL     -- Unix milliseconds
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }
}
