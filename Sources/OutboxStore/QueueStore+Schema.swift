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
        migrator.registerMigration("v5-hostfaults: unclean stops while sending, per message") { db in
            // How many times in a row the message was in flight when its daemon stopped without
            // recording an outcome (killed, crashed, watchdog). Reset by every recorded attempt;
            // at 2 the message is held instead of being claimed again (poison-message containment).
            try db.execute(sql: "ALTER TABLE message ADD COLUMN unclean_stops INTEGER NOT NULL DEFAULT 0")
        }
        return migrator
    }
}
