/* shim-needs-more.c: a program built against libsystemd that uses
 * sd-daemon functions first and another libsystemd function later, to show
 * that sdfd's libsystemd.so.0 shim refuses it at start-up instead of letting
 * it run until that call. Built (tests/c/dropin.sh) with lazy and with
 * immediate binding (-z now):
 *   -DLATE_JOURNAL: sd_journal_print after a sd_listen_fds/sd_notify phase;
 *   -DID128:        sd_id128_get_machine;
 *   -DBUS221:       sd_bus_new, of version node LIBSYSTEMD_221 (one the shim
 *                   defines without any function in it). */
#include <stdio.h>
#include <systemd/sd-daemon.h>
#ifdef LATE_JOURNAL
#include <systemd/sd-journal.h>
#endif
#ifdef ID128
#include <systemd/sd-id128.h>
#endif
#ifdef BUS221
#include <systemd/sd-bus.h>
#endif

int main(void) {
    printf("started: sd_listen_fds=%d sd_notify=%d\n", sd_listen_fds(0), sd_notify(0, "STATUS=x"));
    fflush(stdout);
#ifdef LATE_JOURNAL
    printf("sd_journal_print=%d\n", sd_journal_print(6, "hello from %s", "shim-needs-more"));
#endif
#ifdef ID128
    sd_id128_t id;
    printf("sd_id128_get_machine=%d\n", sd_id128_get_machine(&id));
#endif
#ifdef BUS221
    sd_bus *bus = NULL;
    printf("sd_bus_new=%d\n", sd_bus_new(&bus));
    sd_bus_unref(bus);
#endif
    return 0;
}
