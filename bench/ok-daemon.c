/* Launcher benchmark daemon for first-connection latency (normal mode):
 * accept one connection on the passed listening socket (fd 3), write
 * "ok\n", exit. */
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    int c = accept(3, 0, 0);
    if (c < 0) return 1;
    return write(c, "ok\n", 3) == 3 ? 0 : 1;
}
