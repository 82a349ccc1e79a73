/* The start-up benchmark program: what an inetd-style (Accept=yes) daemon
 * does first on every connection. Exits 0 only if it really was activated
 * with one fd (so a broken setup cannot look fast). */
#include <systemd/sd-daemon.h>

int main(void) { return sd_listen_fds(1) == 1 ? 0 : 1; }
