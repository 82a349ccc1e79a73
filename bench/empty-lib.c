/* Reference only (not part of sdfd): a shared library whose sd_listen_fds
 * does nothing (returns 1, calls nothing). Linked like libsdfd.so, it
 * measures what merely loading one more shared library costs at start-up. */
int sd_listen_fds(int unset_environment) {
    (void)unset_environment;
    return 1;
}
