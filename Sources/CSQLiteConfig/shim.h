/* sqlite3_db_config is variadic, which Swift cannot call. GRDB's own shim wraps only the DQS options. */
#include <sqlite3.h>

/* "The SQLITE_DBCONFIG_DEFENSIVE option activates or deactivates the 'defensive' flag for a database
 * connection. When the defensive flag is enabled, language features that allow ordinary SQL to deliberately
 * corrupt the database file are disabled." (sqlite.org/c3ref/c_dbconfig_defensive.html)
 * Returns SQLITE_OK, and the flag's new value in *enabled. */
static inline int outbox_sqlite_enable_defensive(sqlite3 *db, int *enabled) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, enabled);
}
