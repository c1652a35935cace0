/* /bin/tiny: the program fork_exec_wait executes; it exits 0 at once. */
int main(void) {
    return 0;
}
