/* The fourth part of the syscall fuzzer: fuzz.c with FUZZ_PART 3 (another
 * seed, another FUZZ_CALLS calls), a program of its own so that each part
 * stays within the runner's per-program timeout. */
#define FUZZ_PART 3
#include "fuzz.c"
