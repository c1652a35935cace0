/* disk_ext2.c's disk_tar_x_tree row, a program of its own. */
#define DISK_PART 3
#include "disk_ext2.c"
