/* libsystemd's non-variadic entry points are callable from Swift as they are: sd_notify,
 * sd_watchdog_enabled, sd_journal_sendv. This header only gathers them. */
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
