/* CPU contention for bench/launcher.py: a busy loop until killed. */
int main(void) {
    volatile unsigned long x = 0;
    for (;;) x++;
}
