/* fs_ops.c's cases on ext2: a directory of the ext2 on /dev/vda (see
 * fs_ops.c's head comment for what differs from tmpfs). SKIP under
 * --linux, where Debian's 6.1 has virtio_blk and ext2 only as modules. */
#define FSOPS_EXT2 1
#include "fs_ops.c"
