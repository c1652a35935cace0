/* disk_ext2.c's disk_create_unlink_10k row, a program of its own. */
#define DISK_PART 2
#include "disk_ext2.c"
