/* Size benchmark: a program that references every sd-daemon function, so
 * that a static link pulls in all of libsdfd (start.c pulls what
 * sd_listen_fds needs). Not run. */
#include <stdio.h>
#include <systemd/sd-daemon.h>

int main(int argc, char **argv) {
    char **names = NULL;
    uint64_t usec = 0;
    (void)argv;
    if (argc > 5) {
        printf("%d %d %d %d %d %d %d\n", sd_listen_fds(0), sd_listen_fds_with_names(0, &names), sd_is_fifo(3, NULL),
               sd_is_special(3, NULL), sd_is_socket(3, 0, 0, -1), sd_is_socket_inet(3, 0, 0, -1, 0),
               sd_is_socket_unix(3, 0, -1, NULL, 0));
        printf("%d %d %d %d %d %d\n", sd_is_socket_sockaddr(3, 0, NULL, 0, -1), sd_is_mq(3, NULL),
               sd_notify(0, "READY=1"), sd_notifyf(0, "STATUS=%d", argc), sd_pid_notify(0, 0, "X=1"),
               sd_pid_notifyf(0, 0, "X=%d", argc));
        printf("%d %d %d %d\n", sd_pid_notify_with_fds(0, 0, "X=1", NULL, 0), sd_notify_barrier(0, 1000), sd_booted(),
               sd_watchdog_enabled(0, &usec));
    }
    return 0;
}
