/* fs_ops.c's cases on ext2: a directory of the ext2 on /dev/vda (see
 * fs_ops.c's head comment for what differs from tmpfs). Under
 * --linux, Debian's ext4 module serves the ext2 mount. */
#define FSOPS_EXT2 1
#include "fs_ops.c"
