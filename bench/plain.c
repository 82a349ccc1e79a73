/* The baseline: the same kind of program with no library at all. */
int main(void) { return 0; }
