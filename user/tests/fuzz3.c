/* The third part of the syscall fuzzer: fuzz.c with FUZZ_PART 2 (another
 * seed, another FUZZ_CALLS calls), a program of its own so that each part
 * stays within the runner's per-program timeout. */
#define FUZZ_PART 2
#include "fuzz.c"
