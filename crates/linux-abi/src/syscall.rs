//! x86_64 system call numbers (Linux's `arch/x86/entry/syscalls/syscall_64.tbl`).

/// The numbers, by name.
pub mod nr {
    /// `read`
    pub const READ: usize = 0;
    /// `write`
    pub const WRITE: usize = 1;
    /// `open`
    pub const OPEN: usize = 2;
    /// `close`
    pub const CLOSE: usize = 3;
    /// `stat`
    pub const STAT: usize = 4;
    /// `fstat`
    pub const FSTAT: usize = 5;
    /// `lstat`
    pub const LSTAT: usize = 6;
    /// `poll`
    pub const POLL: usize = 7;
    /// `lseek`
    pub const LSEEK: usize = 8;
    /// `mmap`
    pub const MMAP: usize = 9;
    /// `mprotect`
    pub const MPROTECT: usize = 10;
    /// `munmap`
    pub const MUNMAP: usize = 11;
    /// `brk`
    pub const BRK: usize = 12;
    /// `rt_sigaction`
    pub const RT_SIGACTION: usize = 13;
    /// `rt_sigprocmask`
    pub const RT_SIGPROCMASK: usize = 14;
    /// `rt_sigreturn`
    pub const RT_SIGRETURN: usize = 15;
    /// `ioctl`
    pub const IOCTL: usize = 16;
    /// `pread64`
    pub const PREAD64: usize = 17;
    /// `pwrite64`
    pub const PWRITE64: usize = 18;
    /// `readv`
    pub const READV: usize = 19;
    /// `writev`
    pub const WRITEV: usize = 20;
    /// `access`
    pub const ACCESS: usize = 21;
    /// `pipe`
    pub const PIPE: usize = 22;
    /// `select`
    pub const SELECT: usize = 23;
    /// `sched_yield`
    pub const SCHED_YIELD: usize = 24;
    /// `mremap`
    pub const MREMAP: usize = 25;
    /// `msync`
    pub const MSYNC: usize = 26;
    /// `mincore`
    pub const MINCORE: usize = 27;
    /// `madvise`
    pub const MADVISE: usize = 28;
    /// `shmget`
    pub const SHMGET: usize = 29;
    /// `shmat`
    pub const SHMAT: usize = 30;
    /// `shmctl`
    pub const SHMCTL: usize = 31;
    /// `dup`
    pub const DUP: usize = 32;
    /// `dup2`
    pub const DUP2: usize = 33;
    /// `pause`
    pub const PAUSE: usize = 34;
    /// `nanosleep`
    pub const NANOSLEEP: usize = 35;
    /// `getitimer`
    pub const GETITIMER: usize = 36;
    /// `alarm`
    pub const ALARM: usize = 37;
    /// `setitimer`
    pub const SETITIMER: usize = 38;
    /// `getpid`
    pub const GETPID: usize = 39;
    /// `sendfile`
    pub const SENDFILE: usize = 40;
    /// `socket`
    pub const SOCKET: usize = 41;
    /// `connect`
    pub const CONNECT: usize = 42;
    /// `accept`
    pub const ACCEPT: usize = 43;
    /// `sendto`
    pub const SENDTO: usize = 44;
    /// `recvfrom`
    pub const RECVFROM: usize = 45;
    /// `sendmsg`
    pub const SENDMSG: usize = 46;
    /// `recvmsg`
    pub const RECVMSG: usize = 47;
    /// `shutdown`
    pub const SHUTDOWN: usize = 48;
    /// `bind`
    pub const BIND: usize = 49;
    /// `listen`
    pub const LISTEN: usize = 50;
    /// `getsockname`
    pub const GETSOCKNAME: usize = 51;
    /// `getpeername`
    pub const GETPEERNAME: usize = 52;
    /// `socketpair`
    pub const SOCKETPAIR: usize = 53;
    /// `setsockopt`
    pub const SETSOCKOPT: usize = 54;
    /// `getsockopt`
    pub const GETSOCKOPT: usize = 55;
    /// `clone`
    pub const CLONE: usize = 56;
    /// `fork`
    pub const FORK: usize = 57;
    /// `vfork`
    pub const VFORK: usize = 58;
    /// `execve`
    pub const EXECVE: usize = 59;
    /// `exit`
    pub const EXIT: usize = 60;
    /// `wait4`
    pub const WAIT4: usize = 61;
    /// `kill`
    pub const KILL: usize = 62;
    /// `uname`
    pub const UNAME: usize = 63;
    /// `semget`
    pub const SEMGET: usize = 64;
    /// `semop`
    pub const SEMOP: usize = 65;
    /// `semctl`
    pub const SEMCTL: usize = 66;
    /// `shmdt`
    pub const SHMDT: usize = 67;
    /// `msgget`
    pub const MSGGET: usize = 68;
    /// `msgsnd`
    pub const MSGSND: usize = 69;
    /// `msgrcv`
    pub const MSGRCV: usize = 70;
    /// `msgctl`
    pub const MSGCTL: usize = 71;
    /// `fcntl`
    pub const FCNTL: usize = 72;
    /// `flock`
    pub const FLOCK: usize = 73;
    /// `fsync`
    pub const FSYNC: usize = 74;
    /// `fdatasync`
    pub const FDATASYNC: usize = 75;
    /// `truncate`
    pub const TRUNCATE: usize = 76;
    /// `ftruncate`
    pub const FTRUNCATE: usize = 77;
    /// `getdents`
    pub const GETDENTS: usize = 78;
    /// `getcwd`
    pub const GETCWD: usize = 79;
    /// `chdir`
    pub const CHDIR: usize = 80;
    /// `fchdir`
    pub const FCHDIR: usize = 81;
    /// `rename`
    pub const RENAME: usize = 82;
    /// `mkdir`
    pub const MKDIR: usize = 83;
    /// `rmdir`
    pub const RMDIR: usize = 84;
    /// `creat`
    pub const CREAT: usize = 85;
    /// `link`
    pub const LINK: usize = 86;
    /// `unlink`
    pub const UNLINK: usize = 87;
    /// `symlink`
    pub const SYMLINK: usize = 88;
    /// `readlink`
    pub const READLINK: usize = 89;
    /// `chmod`
    pub const CHMOD: usize = 90;
    /// `fchmod`
    pub const FCHMOD: usize = 91;
    /// `chown`
    pub const CHOWN: usize = 92;
    /// `fchown`
    pub const FCHOWN: usize = 93;
    /// `lchown`
    pub const LCHOWN: usize = 94;
    /// `umask`
    pub const UMASK: usize = 95;
    /// `gettimeofday`
    pub const GETTIMEOFDAY: usize = 96;
    /// `getrlimit`
    pub const GETRLIMIT: usize = 97;
    /// `getrusage`
    pub const GETRUSAGE: usize = 98;
    /// `sysinfo`
    pub const SYSINFO: usize = 99;
    /// `times`
    pub const TIMES: usize = 100;
    /// `ptrace`
    pub const PTRACE: usize = 101;
    /// `getuid`
    pub const GETUID: usize = 102;
    /// `syslog`
    pub const SYSLOG: usize = 103;
    /// `getgid`
    pub const GETGID: usize = 104;
    /// `setuid`
    pub const SETUID: usize = 105;
    /// `setgid`
    pub const SETGID: usize = 106;
    /// `geteuid`
    pub const GETEUID: usize = 107;
    /// `getegid`
    pub const GETEGID: usize = 108;
    /// `setpgid`
    pub const SETPGID: usize = 109;
    /// `getppid`
    pub const GETPPID: usize = 110;
    /// `getpgrp`
    pub const GETPGRP: usize = 111;
    /// `setsid`
    pub const SETSID: usize = 112;
    /// `setreuid`
    pub const SETREUID: usize = 113;
    /// `setregid`
    pub const SETREGID: usize = 114;
    /// `getgroups`
    pub const GETGROUPS: usize = 115;
    /// `setgroups`
    pub const SETGROUPS: usize = 116;
    /// `setresuid`
    pub const SETRESUID: usize = 117;
    /// `getresuid`
    pub const GETRESUID: usize = 118;
    /// `setresgid`
    pub const SETRESGID: usize = 119;
    /// `getresgid`
    pub const GETRESGID: usize = 120;
    /// `getpgid`
    pub const GETPGID: usize = 121;
    /// `setfsuid`
    pub const SETFSUID: usize = 122;
    /// `setfsgid`
    pub const SETFSGID: usize = 123;
    /// `getsid`
    pub const GETSID: usize = 124;
    /// `capget`
    pub const CAPGET: usize = 125;
    /// `capset`
    pub const CAPSET: usize = 126;
    /// `rt_sigpending`
    pub const RT_SIGPENDING: usize = 127;
    /// `rt_sigtimedwait`
    pub const RT_SIGTIMEDWAIT: usize = 128;
    /// `rt_sigqueueinfo`
    pub const RT_SIGQUEUEINFO: usize = 129;
    /// `rt_sigsuspend`
    pub const RT_SIGSUSPEND: usize = 130;
    /// `sigaltstack`
    pub const SIGALTSTACK: usize = 131;
    /// `utime`
    pub const UTIME: usize = 132;
    /// `mknod`
    pub const MKNOD: usize = 133;
    /// `uselib`
    pub const USELIB: usize = 134;
    /// `personality`
    pub const PERSONALITY: usize = 135;
    /// `ustat`
    pub const USTAT: usize = 136;
    /// `statfs`
    pub const STATFS: usize = 137;
    /// `fstatfs`
    pub const FSTATFS: usize = 138;
    /// `sysfs`
    pub const SYSFS: usize = 139;
    /// `getpriority`
    pub const GETPRIORITY: usize = 140;
    /// `setpriority`
    pub const SETPRIORITY: usize = 141;
    /// `sched_setparam`
    pub const SCHED_SETPARAM: usize = 142;
    /// `sched_getparam`
    pub const SCHED_GETPARAM: usize = 143;
    /// `sched_setscheduler`
    pub const SCHED_SETSCHEDULER: usize = 144;
    /// `sched_getscheduler`
    pub const SCHED_GETSCHEDULER: usize = 145;
    /// `sched_get_priority_max`
    pub const SCHED_GET_PRIORITY_MAX: usize = 146;
    /// `sched_get_priority_min`
    pub const SCHED_GET_PRIORITY_MIN: usize = 147;
    /// `sched_rr_get_interval`
    pub const SCHED_RR_GET_INTERVAL: usize = 148;
    /// `mlock`
    pub const MLOCK: usize = 149;
    /// `munlock`
    pub const MUNLOCK: usize = 150;
    /// `mlockall`
    pub const MLOCKALL: usize = 151;
    /// `munlockall`
    pub const MUNLOCKALL: usize = 152;
    /// `vhangup`
    pub const VHANGUP: usize = 153;
    /// `modify_ldt`
    pub const MODIFY_LDT: usize = 154;
    /// `pivot_root`
    pub const PIVOT_ROOT: usize = 155;
    /// `_sysctl`
    pub const _SYSCTL: usize = 156;
    /// `prctl`
    pub const PRCTL: usize = 157;
    /// `arch_prctl`
    pub const ARCH_PRCTL: usize = 158;
    /// `adjtimex`
    pub const ADJTIMEX: usize = 159;
    /// `setrlimit`
    pub const SETRLIMIT: usize = 160;
    /// `chroot`
    pub const CHROOT: usize = 161;
    /// `sync`
    pub const SYNC: usize = 162;
    /// `acct`
    pub const ACCT: usize = 163;
    /// `settimeofday`
    pub const SETTIMEOFDAY: usize = 164;
    /// `mount`
    pub const MOUNT: usize = 165;
    /// `umount2`
    pub const UMOUNT2: usize = 166;
    /// `swapon`
    pub const SWAPON: usize = 167;
    /// `swapoff`
    pub const SWAPOFF: usize = 168;
    /// `reboot`
    pub const REBOOT: usize = 169;
    /// `sethostname`
    pub const SETHOSTNAME: usize = 170;
    /// `setdomainname`
    pub const SETDOMAINNAME: usize = 171;
    /// `iopl`
    pub const IOPL: usize = 172;
    /// `ioperm`
    pub const IOPERM: usize = 173;
    /// `create_module`
    pub const CREATE_MODULE: usize = 174;
    /// `init_module`
    pub const INIT_MODULE: usize = 175;
    /// `delete_module`
    pub const DELETE_MODULE: usize = 176;
    /// `get_kernel_syms`
    pub const GET_KERNEL_SYMS: usize = 177;
    /// `query_module`
    pub const QUERY_MODULE: usize = 178;
    /// `quotactl`
    pub const QUOTACTL: usize = 179;
    /// `nfsservctl`
    pub const NFSSERVCTL: usize = 180;
    /// `getpmsg`
    pub const GETPMSG: usize = 181;
    /// `putpmsg`
    pub const PUTPMSG: usize = 182;
    /// `afs_syscall`
    pub const AFS_SYSCALL: usize = 183;
    /// `tuxcall`
    pub const TUXCALL: usize = 184;
    /// `security`
    pub const SECURITY: usize = 185;
    /// `gettid`
    pub const GETTID: usize = 186;
    /// `readahead`
    pub const READAHEAD: usize = 187;
    /// `setxattr`
    pub const SETXATTR: usize = 188;
    /// `lsetxattr`
    pub const LSETXATTR: usize = 189;
    /// `fsetxattr`
    pub const FSETXATTR: usize = 190;
    /// `getxattr`
    pub const GETXATTR: usize = 191;
    /// `lgetxattr`
    pub const LGETXATTR: usize = 192;
    /// `fgetxattr`
    pub const FGETXATTR: usize = 193;
    /// `listxattr`
    pub const LISTXATTR: usize = 194;
    /// `llistxattr`
    pub const LLISTXATTR: usize = 195;
    /// `flistxattr`
    pub const FLISTXATTR: usize = 196;
    /// `removexattr`
    pub const REMOVEXATTR: usize = 197;
    /// `lremovexattr`
    pub const LREMOVEXATTR: usize = 198;
    /// `fremovexattr`
    pub const FREMOVEXATTR: usize = 199;
    /// `tkill`
    pub const TKILL: usize = 200;
    /// `time`
    pub const TIME: usize = 201;
    /// `futex`
    pub const FUTEX: usize = 202;
    /// `sched_setaffinity`
    pub const SCHED_SETAFFINITY: usize = 203;
    /// `sched_getaffinity`
    pub const SCHED_GETAFFINITY: usize = 204;
    /// `set_thread_area`
    pub const SET_THREAD_AREA: usize = 205;
    /// `io_setup`
    pub const IO_SETUP: usize = 206;
    /// `io_destroy`
    pub const IO_DESTROY: usize = 207;
    /// `io_getevents`
    pub const IO_GETEVENTS: usize = 208;
    /// `io_submit`
    pub const IO_SUBMIT: usize = 209;
    /// `io_cancel`
    pub const IO_CANCEL: usize = 210;
    /// `get_thread_area`
    pub const GET_THREAD_AREA: usize = 211;
    /// `lookup_dcookie`
    pub const LOOKUP_DCOOKIE: usize = 212;
    /// `epoll_create`
    pub const EPOLL_CREATE: usize = 213;
    /// `epoll_ctl_old`
    pub const EPOLL_CTL_OLD: usize = 214;
    /// `epoll_wait_old`
    pub const EPOLL_WAIT_OLD: usize = 215;
    /// `remap_file_pages`
    pub const REMAP_FILE_PAGES: usize = 216;
    /// `getdents64`
    pub const GETDENTS64: usize = 217;
    /// `set_tid_address`
    pub const SET_TID_ADDRESS: usize = 218;
    /// `restart_syscall`
    pub const RESTART_SYSCALL: usize = 219;
    /// `semtimedop`
    pub const SEMTIMEDOP: usize = 220;
    /// `fadvise64`
    pub const FADVISE64: usize = 221;
    /// `timer_create`
    pub const TIMER_CREATE: usize = 222;
    /// `timer_settime`
    pub const TIMER_SETTIME: usize = 223;
    /// `timer_gettime`
    pub const TIMER_GETTIME: usize = 224;
    /// `timer_getoverrun`
    pub const TIMER_GETOVERRUN: usize = 225;
    /// `timer_delete`
    pub const TIMER_DELETE: usize = 226;
    /// `clock_settime`
    pub const CLOCK_SETTIME: usize = 227;
    /// `clock_gettime`
    pub const CLOCK_GETTIME: usize = 228;
    /// `clock_getres`
    pub const CLOCK_GETRES: usize = 229;
    /// `clock_nanosleep`
    pub const CLOCK_NANOSLEEP: usize = 230;
    /// `exit_group`
    pub const EXIT_GROUP: usize = 231;
    /// `epoll_wait`
    pub const EPOLL_WAIT: usize = 232;
    /// `epoll_ctl`
    pub const EPOLL_CTL: usize = 233;
    /// `tgkill`
    pub const TGKILL: usize = 234;
    /// `utimes`
    pub const UTIMES: usize = 235;
    /// `vserver`
    pub const VSERVER: usize = 236;
    /// `mbind`
    pub const MBIND: usize = 237;
    /// `set_mempolicy`
    pub const SET_MEMPOLICY: usize = 238;
    /// `get_mempolicy`
    pub const GET_MEMPOLICY: usize = 239;
    /// `mq_open`
    pub const MQ_OPEN: usize = 240;
    /// `mq_unlink`
    pub const MQ_UNLINK: usize = 241;
    /// `mq_timedsend`
    pub const MQ_TIMEDSEND: usize = 242;
    /// `mq_timedreceive`
    pub const MQ_TIMEDRECEIVE: usize = 243;
    /// `mq_notify`
    pub const MQ_NOTIFY: usize = 244;
    /// `mq_getsetattr`
    pub const MQ_GETSETATTR: usize = 245;
    /// `kexec_load`
    pub const KEXEC_LOAD: usize = 246;
    /// `waitid`
    pub const WAITID: usize = 247;
    /// `add_key`
    pub const ADD_KEY: usize = 248;
    /// `request_key`
    pub const REQUEST_KEY: usize = 249;
    /// `keyctl`
    pub const KEYCTL: usize = 250;
    /// `ioprio_set`
    pub const IOPRIO_SET: usize = 251;
    /// `ioprio_get`
    pub const IOPRIO_GET: usize = 252;
    /// `inotify_init`
    pub const INOTIFY_INIT: usize = 253;
    /// `inotify_add_watch`
    pub const INOTIFY_ADD_WATCH: usize = 254;
    /// `inotify_rm_watch`
    pub const INOTIFY_RM_WATCH: usize = 255;
    /// `migrate_pages`
    pub const MIGRATE_PAGES: usize = 256;
    /// `openat`
    pub const OPENAT: usize = 257;
    /// `mkdirat`
    pub const MKDIRAT: usize = 258;
    /// `mknodat`
    pub const MKNODAT: usize = 259;
    /// `fchownat`
    pub const FCHOWNAT: usize = 260;
    /// `futimesat`
    pub const FUTIMESAT: usize = 261;
    /// `newfstatat`
    pub const NEWFSTATAT: usize = 262;
    /// `unlinkat`
    pub const UNLINKAT: usize = 263;
    /// `renameat`
    pub const RENAMEAT: usize = 264;
    /// `linkat`
    pub const LINKAT: usize = 265;
    /// `symlinkat`
    pub const SYMLINKAT: usize = 266;
    /// `readlinkat`
    pub const READLINKAT: usize = 267;
    /// `fchmodat`
    pub const FCHMODAT: usize = 268;
    /// `faccessat`
    pub const FACCESSAT: usize = 269;
    /// `pselect6`
    pub const PSELECT6: usize = 270;
    /// `ppoll`
    pub const PPOLL: usize = 271;
    /// `unshare`
    pub const UNSHARE: usize = 272;
    /// `set_robust_list`
    pub const SET_ROBUST_LIST: usize = 273;
    /// `get_robust_list`
    pub const GET_ROBUST_LIST: usize = 274;
    /// `splice`
    pub const SPLICE: usize = 275;
    /// `tee`
    pub const TEE: usize = 276;
    /// `sync_file_range`
    pub const SYNC_FILE_RANGE: usize = 277;
    /// `vmsplice`
    pub const VMSPLICE: usize = 278;
    /// `move_pages`
    pub const MOVE_PAGES: usize = 279;
    /// `utimensat`
    pub const UTIMENSAT: usize = 280;
    /// `epoll_pwait`
    pub const EPOLL_PWAIT: usize = 281;
    /// `signalfd`
    pub const SIGNALFD: usize = 282;
    /// `timerfd_create`
    pub const TIMERFD_CREATE: usize = 283;
    /// `eventfd`
    pub const EVENTFD: usize = 284;
    /// `fallocate`
    pub const FALLOCATE: usize = 285;
    /// `timerfd_settime`
    pub const TIMERFD_SETTIME: usize = 286;
    /// `timerfd_gettime`
    pub const TIMERFD_GETTIME: usize = 287;
    /// `accept4`
    pub const ACCEPT4: usize = 288;
    /// `signalfd4`
    pub const SIGNALFD4: usize = 289;
    /// `eventfd2`
    pub const EVENTFD2: usize = 290;
    /// `epoll_create1`
    pub const EPOLL_CREATE1: usize = 291;
    /// `dup3`
    pub const DUP3: usize = 292;
    /// `pipe2`
    pub const PIPE2: usize = 293;
    /// `inotify_init1`
    pub const INOTIFY_INIT1: usize = 294;
    /// `preadv`
    pub const PREADV: usize = 295;
    /// `pwritev`
    pub const PWRITEV: usize = 296;
    /// `rt_tgsigqueueinfo`
    pub const RT_TGSIGQUEUEINFO: usize = 297;
    /// `perf_event_open`
    pub const PERF_EVENT_OPEN: usize = 298;
    /// `recvmmsg`
    pub const RECVMMSG: usize = 299;
    /// `fanotify_init`
    pub const FANOTIFY_INIT: usize = 300;
    /// `fanotify_mark`
    pub const FANOTIFY_MARK: usize = 301;
    /// `prlimit64`
    pub const PRLIMIT64: usize = 302;
    /// `name_to_handle_at`
    pub const NAME_TO_HANDLE_AT: usize = 303;
    /// `open_by_handle_at`
    pub const OPEN_BY_HANDLE_AT: usize = 304;
    /// `clock_adjtime`
    pub const CLOCK_ADJTIME: usize = 305;
    /// `syncfs`
    pub const SYNCFS: usize = 306;
    /// `sendmmsg`
    pub const SENDMMSG: usize = 307;
    /// `setns`
    pub const SETNS: usize = 308;
    /// `getcpu`
    pub const GETCPU: usize = 309;
    /// `process_vm_readv`
    pub const PROCESS_VM_READV: usize = 310;
    /// `process_vm_writev`
    pub const PROCESS_VM_WRITEV: usize = 311;
    /// `kcmp`
    pub const KCMP: usize = 312;
    /// `finit_module`
    pub const FINIT_MODULE: usize = 313;
    /// `sched_setattr`
    pub const SCHED_SETATTR: usize = 314;
    /// `sched_getattr`
    pub const SCHED_GETATTR: usize = 315;
    /// `renameat2`
    pub const RENAMEAT2: usize = 316;
    /// `seccomp`
    pub const SECCOMP: usize = 317;
    /// `getrandom`
    pub const GETRANDOM: usize = 318;
    /// `memfd_create`
    pub const MEMFD_CREATE: usize = 319;
    /// `kexec_file_load`
    pub const KEXEC_FILE_LOAD: usize = 320;
    /// `bpf`
    pub const BPF: usize = 321;
    /// `execveat`
    pub const EXECVEAT: usize = 322;
    /// `userfaultfd`
    pub const USERFAULTFD: usize = 323;
    /// `membarrier`
    pub const MEMBARRIER: usize = 324;
    /// `mlock2`
    pub const MLOCK2: usize = 325;
    /// `copy_file_range`
    pub const COPY_FILE_RANGE: usize = 326;
    /// `preadv2`
    pub const PREADV2: usize = 327;
    /// `pwritev2`
    pub const PWRITEV2: usize = 328;
    /// `pkey_mprotect`
    pub const PKEY_MPROTECT: usize = 329;
    /// `pkey_alloc`
    pub const PKEY_ALLOC: usize = 330;
    /// `pkey_free`
    pub const PKEY_FREE: usize = 331;
    /// `statx`
    pub const STATX: usize = 332;
    /// `io_pgetevents`
    pub const IO_PGETEVENTS: usize = 333;
    /// `rseq`
    pub const RSEQ: usize = 334;
    /// `pidfd_send_signal`
    pub const PIDFD_SEND_SIGNAL: usize = 424;
    /// `io_uring_setup`
    pub const IO_URING_SETUP: usize = 425;
    /// `io_uring_enter`
    pub const IO_URING_ENTER: usize = 426;
    /// `io_uring_register`
    pub const IO_URING_REGISTER: usize = 427;
    /// `open_tree`
    pub const OPEN_TREE: usize = 428;
    /// `move_mount`
    pub const MOVE_MOUNT: usize = 429;
    /// `fsopen`
    pub const FSOPEN: usize = 430;
    /// `fsconfig`
    pub const FSCONFIG: usize = 431;
    /// `fsmount`
    pub const FSMOUNT: usize = 432;
    /// `fspick`
    pub const FSPICK: usize = 433;
    /// `pidfd_open`
    pub const PIDFD_OPEN: usize = 434;
    /// `clone3`
    pub const CLONE3: usize = 435;
    /// `close_range`
    pub const CLOSE_RANGE: usize = 436;
    /// `openat2`
    pub const OPENAT2: usize = 437;
    /// `pidfd_getfd`
    pub const PIDFD_GETFD: usize = 438;
    /// `faccessat2`
    pub const FACCESSAT2: usize = 439;
    /// `process_madvise`
    pub const PROCESS_MADVISE: usize = 440;
    /// `epoll_pwait2`
    pub const EPOLL_PWAIT2: usize = 441;
    /// `mount_setattr`
    pub const MOUNT_SETATTR: usize = 442;
    /// `quotactl_fd`
    pub const QUOTACTL_FD: usize = 443;
    /// `landlock_create_ruleset`
    pub const LANDLOCK_CREATE_RULESET: usize = 444;
    /// `landlock_add_rule`
    pub const LANDLOCK_ADD_RULE: usize = 445;
    /// `landlock_restrict_self`
    pub const LANDLOCK_RESTRICT_SELF: usize = 446;
    /// `memfd_secret`
    pub const MEMFD_SECRET: usize = 447;
    /// `process_mrelease`
    pub const PROCESS_MRELEASE: usize = 448;
    /// `futex_waitv`
    pub const FUTEX_WAITV: usize = 449;
    /// `set_mempolicy_home_node`
    pub const SET_MEMPOLICY_HOME_NODE: usize = 450;
}

/// The name of syscall `n` (for log lines), or `None` for a number Linux
/// does not define.
pub const fn name(n: usize) -> Option<&'static str> {
    Some(match n {
        0 => "read",
        1 => "write",
        2 => "open",
        3 => "close",
        4 => "stat",
        5 => "fstat",
        6 => "lstat",
        7 => "poll",
        8 => "lseek",
        9 => "mmap",
        10 => "mprotect",
        11 => "munmap",
        12 => "brk",
        13 => "rt_sigaction",
        14 => "rt_sigprocmask",
        15 => "rt_sigreturn",
        16 => "ioctl",
        17 => "pread64",
        18 => "pwrite64",
        19 => "readv",
        20 => "writev",
        21 => "access",
        22 => "pipe",
        23 => "select",
        24 => "sched_yield",
        25 => "mremap",
        26 => "msync",
        27 => "mincore",
        28 => "madvise",
        29 => "shmget",
        30 => "shmat",
        31 => "shmctl",
        32 => "dup",
        33 => "dup2",
        34 => "pause",
        35 => "nanosleep",
        36 => "getitimer",
        37 => "alarm",
        38 => "setitimer",
        39 => "getpid",
        40 => "sendfile",
        41 => "socket",
        42 => "connect",
        43 => "accept",
        44 => "sendto",
        45 => "recvfrom",
        46 => "sendmsg",
        47 => "recvmsg",
        48 => "shutdown",
        49 => "bind",
        50 => "listen",
        51 => "getsockname",
        52 => "getpeername",
        53 => "socketpair",
        54 => "setsockopt",
        55 => "getsockopt",
        56 => "clone",
        57 => "fork",
        58 => "vfork",
        59 => "execve",
        60 => "exit",
        61 => "wait4",
        62 => "kill",
        63 => "uname",
        64 => "semget",
        65 => "semop",
        66 => "semctl",
        67 => "shmdt",
        68 => "msgget",
        69 => "msgsnd",
        70 => "msgrcv",
        71 => "msgctl",
        72 => "fcntl",
        73 => "flock",
        74 => "fsync",
        75 => "fdatasync",
        76 => "truncate",
        77 => "ftruncate",
        78 => "getdents",
        79 => "getcwd",
        80 => "chdir",
        81 => "fchdir",
        82 => "rename",
        83 => "mkdir",
        84 => "rmdir",
        85 => "creat",
        86 => "link",
        87 => "unlink",
        88 => "symlink",
        89 => "readlink",
        90 => "chmod",
        91 => "fchmod",
        92 => "chown",
        93 => "fchown",
        94 => "lchown",
        95 => "umask",
        96 => "gettimeofday",
        97 => "getrlimit",
        98 => "getrusage",
        99 => "sysinfo",
        100 => "times",
        101 => "ptrace",
        102 => "getuid",
        103 => "syslog",
        104 => "getgid",
        105 => "setuid",
        106 => "setgid",
        107 => "geteuid",
        108 => "getegid",
        109 => "setpgid",
        110 => "getppid",
        111 => "getpgrp",
        112 => "setsid",
        113 => "setreuid",
        114 => "setregid",
        115 => "getgroups",
        116 => "setgroups",
        117 => "setresuid",
        118 => "getresuid",
        119 => "setresgid",
        120 => "getresgid",
        121 => "getpgid",
        122 => "setfsuid",
        123 => "setfsgid",
        124 => "getsid",
        125 => "capget",
        126 => "capset",
        127 => "rt_sigpending",
        128 => "rt_sigtimedwait",
        129 => "rt_sigqueueinfo",
        130 => "rt_sigsuspend",
        131 => "sigaltstack",
        132 => "utime",
        133 => "mknod",
        134 => "uselib",
        135 => "personality",
        136 => "ustat",
        137 => "statfs",
        138 => "fstatfs",
        139 => "sysfs",
        140 => "getpriority",
        141 => "setpriority",
        142 => "sched_setparam",
        143 => "sched_getparam",
        144 => "sched_setscheduler",
        145 => "sched_getscheduler",
        146 => "sched_get_priority_max",
        147 => "sched_get_priority_min",
        148 => "sched_rr_get_interval",
        149 => "mlock",
        150 => "munlock",
        151 => "mlockall",
        152 => "munlockall",
        153 => "vhangup",
        154 => "modify_ldt",
        155 => "pivot_root",
        156 => "_sysctl",
        157 => "prctl",
        158 => "arch_prctl",
        159 => "adjtimex",
        160 => "setrlimit",
        161 => "chroot",
        162 => "sync",
        163 => "acct",
        164 => "settimeofday",
        165 => "mount",
        166 => "umount2",
        167 => "swapon",
        168 => "swapoff",
        169 => "reboot",
        170 => "sethostname",
        171 => "setdomainname",
        172 => "iopl",
        173 => "ioperm",
        174 => "create_module",
        175 => "init_module",
        176 => "delete_module",
        177 => "get_kernel_syms",
        178 => "query_module",
        179 => "quotactl",
        180 => "nfsservctl",
        181 => "getpmsg",
        182 => "putpmsg",
        183 => "afs_syscall",
        184 => "tuxcall",
        185 => "security",
        186 => "gettid",
        187 => "readahead",
        188 => "setxattr",
        189 => "lsetxattr",
        190 => "fsetxattr",
        191 => "getxattr",
        192 => "lgetxattr",
        193 => "fgetxattr",
        194 => "listxattr",
        195 => "llistxattr",
        196 => "flistxattr",
        197 => "removexattr",
        198 => "lremovexattr",
        199 => "fremovexattr",
        200 => "tkill",
        201 => "time",
        202 => "futex",
        203 => "sched_setaffinity",
        204 => "sched_getaffinity",
        205 => "set_thread_area",
        206 => "io_setup",
        207 => "io_destroy",
        208 => "io_getevents",
        209 => "io_submit",
        210 => "io_cancel",
        211 => "get_thread_area",
        212 => "lookup_dcookie",
        213 => "epoll_create",
        214 => "epoll_ctl_old",
        215 => "epoll_wait_old",
        216 => "remap_file_pages",
        217 => "getdents64",
        218 => "set_tid_address",
        219 => "restart_syscall",
        220 => "semtimedop",
        221 => "fadvise64",
        222 => "timer_create",
        223 => "timer_settime",
        224 => "timer_gettime",
        225 => "timer_getoverrun",
        226 => "timer_delete",
        227 => "clock_settime",
        228 => "clock_gettime",
        229 => "clock_getres",
        230 => "clock_nanosleep",
        231 => "exit_group",
        232 => "epoll_wait",
        233 => "epoll_ctl",
        234 => "tgkill",
        235 => "utimes",
        236 => "vserver",
        237 => "mbind",
        238 => "set_mempolicy",
        239 => "get_mempolicy",
        240 => "mq_open",
        241 => "mq_unlink",
        242 => "mq_timedsend",
        243 => "mq_timedreceive",
        244 => "mq_notify",
        245 => "mq_getsetattr",
        246 => "kexec_load",
        247 => "waitid",
        248 => "add_key",
        249 => "request_key",
        250 => "keyctl",
        251 => "ioprio_set",
        252 => "ioprio_get",
        253 => "inotify_init",
        254 => "inotify_add_watch",
        255 => "inotify_rm_watch",
        256 => "migrate_pages",
        257 => "openat",
        258 => "mkdirat",
        259 => "mknodat",
        260 => "fchownat",
        261 => "futimesat",
        262 => "newfstatat",
        263 => "unlinkat",
        264 => "renameat",
        265 => "linkat",
        266 => "symlinkat",
        267 => "readlinkat",
        268 => "fchmodat",
        269 => "faccessat",
        270 => "pselect6",
        271 => "ppoll",
        272 => "unshare",
        273 => "set_robust_list",
        274 => "get_robust_list",
        275 => "splice",
        276 => "tee",
        277 => "sync_file_range",
        278 => "vmsplice",
        279 => "move_pages",
        280 => "utimensat",
        281 => "epoll_pwait",
        282 => "signalfd",
        283 => "timerfd_create",
        284 => "eventfd",
        285 => "fallocate",
        286 => "timerfd_settime",
        287 => "timerfd_gettime",
        288 => "accept4",
        289 => "signalfd4",
        290 => "eventfd2",
        291 => "epoll_create1",
        292 => "dup3",
        293 => "pipe2",
        294 => "inotify_init1",
        295 => "preadv",
        296 => "pwritev",
        297 => "rt_tgsigqueueinfo",
        298 => "perf_event_open",
        299 => "recvmmsg",
        300 => "fanotify_init",
        301 => "fanotify_mark",
        302 => "prlimit64",
        303 => "name_to_handle_at",
        304 => "open_by_handle_at",
        305 => "clock_adjtime",
        306 => "syncfs",
        307 => "sendmmsg",
        308 => "setns",
        309 => "getcpu",
        310 => "process_vm_readv",
        311 => "process_vm_writev",
        312 => "kcmp",
        313 => "finit_module",
        314 => "sched_setattr",
        315 => "sched_getattr",
        316 => "renameat2",
        317 => "seccomp",
        318 => "getrandom",
        319 => "memfd_create",
        320 => "kexec_file_load",
        321 => "bpf",
        322 => "execveat",
        323 => "userfaultfd",
        324 => "membarrier",
        325 => "mlock2",
        326 => "copy_file_range",
        327 => "preadv2",
        328 => "pwritev2",
        329 => "pkey_mprotect",
        330 => "pkey_alloc",
        331 => "pkey_free",
        332 => "statx",
        333 => "io_pgetevents",
        334 => "rseq",
        424 => "pidfd_send_signal",
        425 => "io_uring_setup",
        426 => "io_uring_enter",
        427 => "io_uring_register",
        428 => "open_tree",
        429 => "move_mount",
        430 => "fsopen",
        431 => "fsconfig",
        432 => "fsmount",
        433 => "fspick",
        434 => "pidfd_open",
        435 => "clone3",
        436 => "close_range",
        437 => "openat2",
        438 => "pidfd_getfd",
        439 => "faccessat2",
        440 => "process_madvise",
        441 => "epoll_pwait2",
        442 => "mount_setattr",
        443 => "quotactl_fd",
        444 => "landlock_create_ruleset",
        445 => "landlock_add_rule",
        446 => "landlock_restrict_self",
        447 => "memfd_secret",
        448 => "process_mrelease",
        449 => "futex_waitv",
        450 => "set_mempolicy_home_node",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn well_known_numbers() {
        assert_eq!(super::nr::READ, 0);
        assert_eq!(super::nr::CLONE, 56);
        assert_eq!(super::nr::EXIT_GROUP, 231);
        assert_eq!(super::nr::CLONE3, 435);
        assert_eq!(super::name(60), Some("exit"));
        assert_eq!(super::name(335), None);
    }
}
