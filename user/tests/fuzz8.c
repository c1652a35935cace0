/* Part 7 of the syscall fuzzer: fuzz.c with FUZZ_PART 7 (its seed, its
 * FUZZ_CALLS calls; parts 4-5 and 8-9 with three threads, 6-9 as uid
 * 65534), a program of its own so that each part stays within the
 * runner's per-program timeout. */
#define FUZZ_PART 7
#include "fuzz.c"
