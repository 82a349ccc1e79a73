/* Launcher benchmark responder (bench/launcher.py): the connection is on
 * stdin/stdout (inetd protocol, as tcpserver and `--inetd -a` pass it);
 * write "ok\n" and exit. Built static, so exec costs the same for every
 * launcher. */
#include <unistd.h>

int main(void) { return write(1, "ok\n", 3) == 3 ? 0 : 1; }
