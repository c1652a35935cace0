//! The text of /proc's process and system files as Linux 6.1 prints them
//! (fs/proc/array.c, meminfo.c, uptime.c, loadavg.c, stat.c): pure
//! formatting of values the kernel gathers. Fields this kernel does not
//! track are printed as Linux prints them for an idle, swapless machine.

use crate::cred::Credentials;
use crate::pid::Pid;
use crate::table::ProcState;
use alloc::format;
use alloc::string::String;

/// `/proc/<pid>/stat`'s state letter and `status`'s `State:` text; a
/// running process whose every thread sleeps shows `S`.
pub fn state(state: ProcState, all_sleeping: bool) -> (char, &'static str) {
    match state {
        ProcState::Running if all_sleeping => ('S', "S (sleeping)"),
        ProcState::Running => ('R', "R (running)"),
        ProcState::Stopped(_) => ('T', "T (stopped)"),
        ProcState::Zombie => ('Z', "Z (zombie)"),
    }
}

/// The fields of `/proc/<pid>/stat` this kernel fills (times in clock
/// ticks of USER_HZ 100, sizes in bytes and pages).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct StatFields<'a> {
    /// The thread (or process) id shown first.
    pub tid: Pid,
    /// `comm`, shown in parentheses as it is (spaces and `)` included).
    pub comm: &'a str,
    /// The state letter.
    pub state: char,
    /// Parent, process group and session.
    pub ppid: Pid,
    /// Process group.
    pub pgid: Pid,
    /// Session.
    pub sid: Pid,
    /// Controlling terminal (`new_encode_dev`) and its foreground group.
    pub tty_nr: u32,
    /// Foreground group of the terminal, -1 without one.
    pub tpgid: i64,
    /// Minor faults, own and of reaped children.
    pub minflt: u64,
    /// Minor faults of reaped children.
    pub cminflt: u64,
    /// User and system time, own and of reaped children.
    pub utime: u64,
    /// System time.
    pub stime: u64,
    /// Children's user time.
    pub cutime: u64,
    /// Children's system time.
    pub cstime: u64,
    /// Threads in the process.
    pub threads: usize,
    /// Start time in ticks since boot.
    pub start_ticks: u64,
    /// Virtual size in bytes.
    pub vsize: u64,
    /// Resident pages.
    pub rss: u64,
    /// The scheduling policy (SCHED_OTHER 0, FIFO 1, RR 2, BATCH 3, IDLE 5).
    pub policy: u32,
    /// The real-time priority (1..=99 for FIFO and RR, else 0).
    pub rt_priority: u32,
    /// The nice value (-20..=19).
    pub nice: i32,
    /// The CPU the thread last ran on.
    pub processor: usize,
    /// The address space's layout (`None` without one: a kernel thread, a
    /// process whose leader exited).
    pub mm: Option<StatMm>,
    /// Whether the reader may see the addresses (Linux's
    /// `ptrace_may_access(PTRACE_MODE_READ_FSCREDS)`): if not, start and
    /// end of code read 1 and the other addresses 0.
    pub mm_permitted: bool,
}

/// The addresses of an address space in `/proc/<pid>/stat` (the
/// `mm_struct` fields of the same names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatMm {
    /// `startcode` (field 26).
    pub start_code: u64,
    /// `endcode` (27).
    pub end_code: u64,
    /// `startstack` (28).
    pub start_stack: u64,
    /// `start_data` (45).
    pub start_data: u64,
    /// `end_data` (46).
    pub end_data: u64,
    /// `start_brk` (47).
    pub start_brk: u64,
    /// `arg_start` (48).
    pub arg_start: u64,
    /// `arg_end` (49).
    pub arg_end: u64,
    /// `env_start` (50).
    pub env_start: u64,
    /// `env_end` (51).
    pub env_end: u64,
}

impl<'a> StatFields<'a> {
    /// The line of thread `tid` named `comm` in state `state`, every other field 0.
    pub fn new(tid: Pid, comm: &'a str, state: char) -> Self {
        StatFields { tid, comm, state, ..Default::default() }
    }
    /// With [`StatFields::ppid`].
    pub fn with_ppid(mut self, ppid: Pid) -> Self {
        self.ppid = ppid;
        self
    }
    /// With [`StatFields::pgid`].
    pub fn with_pgid(mut self, pgid: Pid) -> Self {
        self.pgid = pgid;
        self
    }
    /// With [`StatFields::sid`].
    pub fn with_sid(mut self, sid: Pid) -> Self {
        self.sid = sid;
        self
    }
    /// With [`StatFields::tty_nr`].
    pub fn with_tty_nr(mut self, tty_nr: u32) -> Self {
        self.tty_nr = tty_nr;
        self
    }
    /// With [`StatFields::tpgid`].
    pub fn with_tpgid(mut self, tpgid: i64) -> Self {
        self.tpgid = tpgid;
        self
    }
    /// With [`StatFields::minflt`].
    pub fn with_minflt(mut self, minflt: u64) -> Self {
        self.minflt = minflt;
        self
    }
    /// With [`StatFields::cminflt`].
    pub fn with_cminflt(mut self, cminflt: u64) -> Self {
        self.cminflt = cminflt;
        self
    }
    /// With [`StatFields::utime`].
    pub fn with_utime(mut self, utime: u64) -> Self {
        self.utime = utime;
        self
    }
    /// With [`StatFields::stime`].
    pub fn with_stime(mut self, stime: u64) -> Self {
        self.stime = stime;
        self
    }
    /// With [`StatFields::cutime`].
    pub fn with_cutime(mut self, cutime: u64) -> Self {
        self.cutime = cutime;
        self
    }
    /// With [`StatFields::cstime`].
    pub fn with_cstime(mut self, cstime: u64) -> Self {
        self.cstime = cstime;
        self
    }
    /// With [`StatFields::threads`].
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
    /// With [`StatFields::start_ticks`].
    pub fn with_start_ticks(mut self, start_ticks: u64) -> Self {
        self.start_ticks = start_ticks;
        self
    }
    /// With [`StatFields::vsize`].
    pub fn with_vsize(mut self, vsize: u64) -> Self {
        self.vsize = vsize;
        self
    }
    /// With [`StatFields::rss`].
    pub fn with_rss(mut self, rss: u64) -> Self {
        self.rss = rss;
        self
    }
    /// With [`StatFields::policy`].
    pub fn with_policy(mut self, policy: u32) -> Self {
        self.policy = policy;
        self
    }
    /// With [`StatFields::rt_priority`].
    pub fn with_rt_priority(mut self, rt_priority: u32) -> Self {
        self.rt_priority = rt_priority;
        self
    }
    /// With [`StatFields::nice`].
    pub fn with_nice(mut self, nice: i32) -> Self {
        self.nice = nice;
        self
    }
    /// With [`StatFields::processor`].
    pub fn with_processor(mut self, processor: usize) -> Self {
        self.processor = processor;
        self
    }
    /// With [`StatFields::mm`] and [`StatFields::mm_permitted`].
    pub fn with_mm(mut self, mm: Option<StatMm>, permitted: bool) -> Self {
        self.mm = mm;
        self.mm_permitted = permitted;
        self
    }
}

impl StatFields<'_> {
    /// The `priority` field as Linux's `task_prio()`: `20 + nice` for the
    /// fair policies, `-1 - rt_priority` for FIFO and RR.
    pub fn priority(&self) -> i64 {
        if self.policy == 1 || self.policy == 2 {
            -1 - i64::from(self.rt_priority)
        } else {
            20 + i64::from(self.nice)
        }
    }
}

/// `/proc/<pid>/stat`: 52 fields, flags 4194560 (PF_RANDOMIZE|...),
/// priority and nice as Linux (see [`StatFields::priority`]), rsslim
/// RLIM_INFINITY, the layout's addresses as `do_task_stat` shows them
/// (see [`StatFields::mm_permitted`]), exit signal 17, processor,
/// rt_priority and policy.
pub fn stat(f: &StatFields<'_>) -> String {
    let shown = f.mm.filter(|_| f.mm_permitted).unwrap_or_default();
    let code = match f.mm {
        Some(m) if f.mm_permitted => (m.start_code, m.end_code),
        Some(_) => (1, 1),
        None => (0, 0),
    };
    format!(
        "{} ({}) {} {} {} {} {} {} 4194560 {} {} 0 0 {} {} {} {} {} {} {} 0 {} {} {} 18446744073709551615 \
         {} {} {} 0 0 0 0 0 0 0 0 0 17 {} {} {} 0 0 0 {} {} {} {} {} {} {} 0\n",
        f.tid,
        f.comm,
        f.state,
        f.ppid,
        f.pgid,
        f.sid,
        f.tty_nr,
        f.tpgid,
        f.minflt,
        f.cminflt,
        f.utime,
        f.stime,
        f.cutime,
        f.cstime,
        f.priority(),
        f.nice,
        f.threads,
        f.start_ticks,
        f.vsize,
        f.rss,
        code.0,
        code.1,
        shown.start_stack,
        f.processor,
        f.rt_priority,
        f.policy,
        shown.start_data,
        shown.end_data,
        shown.start_brk,
        shown.arg_start,
        shown.arg_end,
        shown.env_start,
        shown.env_end,
    )
}

/// `/proc/<pid>/statm`: size and resident in pages, the rest 0.
pub fn statm(vsize: u64, rss: u64) -> String {
    format!("{} {rss} 0 0 0 0 0\n", vsize / 4096)
}

/// The fields of `/proc/<pid>/status` this kernel fills.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StatusFields<'a> {
    /// `Name:`.
    pub name: &'a str,
    /// `State:` text.
    pub state: &'a str,
    /// `Tgid:`.
    pub tgid: Pid,
    /// `Pid:` (the thread).
    pub pid: Pid,
    /// `PPid:`.
    pub ppid: Pid,
    /// `TracerPid:`.
    pub tracer: Pid,
    /// The four uids and gids.
    pub creds: &'a Credentials,
    /// `VmSize:` bytes.
    pub vsize: u64,
    /// `VmLck:` bytes.
    pub locked: u64,
    /// `VmHWM:` pages (the most `VmRSS` has been).
    pub hwm: u64,
    /// `VmRSS:` pages.
    pub rss: u64,
    /// `Threads:`.
    pub threads: usize,
    /// `Umask:`.
    pub umask: u32,
    /// `NSpgid:` and `NSsid:` (one pid namespace: the process group and session).
    pub pgid: Pid,
    /// `NSsid:`.
    pub sid: Pid,
    /// `VmData:`, `VmStk:`, `VmExe:`, `VmLib:` bytes.
    pub vm_kinds: VmKinds,
    /// `SigQ:`, `SigPnd:`, `ShdPnd:`, `SigBlk:`, `SigIgn:`, `SigCgt:`.
    pub signals: StatusSignals,
    /// `CapBnd:` (the other sets come from `creds`).
    pub cap_bounding: u64,
    /// `NoNewPrivs:`.
    pub no_new_privs: bool,
    /// `Seccomp:` (0 disabled, 1 strict, 2 filter) and `Seccomp_filters:`
    /// (the filters in the thread's chain).
    pub seccomp: (u8, u32),
    /// `Cpus_allowed:` as a mask, and the number of CPU ids it is printed for.
    pub cpus_allowed: (u64, usize),
    /// `voluntary_ctxt_switches:` and `nonvoluntary_ctxt_switches:`.
    pub switches: (u64, u64),
    /// `NStgid:`, `NSpid:`, `NSpgid:`, `NSsid:` over several PID
    /// namespaces; `None`: one namespace, the lines show `tgid`, `pid`,
    /// `pgid` and `sid`.
    pub ns_pids: Option<NsPids<'a>>,
}

/// The numbers of `/proc/<pid>/status`'s `NS*` lines: each list from the
/// reader's PID namespace (the procfs mount's) down to the process's own
/// (Linux's `task_state` over `pid->numbers[ns->level..=pid->level]`); an
/// empty list (not in that namespace) shows as `0`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NsPids<'a> {
    /// `NStgid:`.
    pub tgid: &'a [Pid],
    /// `NSpid:` (the thread).
    pub pid: &'a [Pid],
    /// `NSpgid:`.
    pub pgid: &'a [Pid],
    /// `NSsid:`.
    pub sid: &'a [Pid],
}

impl<'a> NsPids<'a> {
    /// The lists of the thread group, the thread, its process group and session.
    pub fn new(tgid: &'a [Pid], pid: &'a [Pid], pgid: &'a [Pid], sid: &'a [Pid]) -> Self {
        NsPids { tgid, pid, pgid, sid }
    }
}

/// A `NS*` line's value: the numbers tab-separated, `0` for none.
fn ns_list(v: &[Pid]) -> String {
    if v.is_empty() {
        return String::from("0");
    }
    let mut out = String::new();
    for (i, n) in v.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        out.push_str(&format!("{n}"));
    }
    out
}

/// The sizes of a process's mappings by kind, as Linux's `task_mem`
/// counts them (bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VmKinds {
    /// Private writable mappings other than the stack (`data_vm`).
    pub data: u64,
    /// The stack (`stack_vm`).
    pub stack: u64,
    /// The executable's own code (`end_code - start_code`).
    pub exe: u64,
    /// The other executable, non-writable mappings (`exec_vm - VmExe`).
    pub lib: u64,
}

impl VmKinds {
    /// Sizes in bytes: data, stack, the executable's code, other code.
    pub fn new(data: u64, stack: u64, exe: u64, lib: u64) -> VmKinds {
        VmKinds { data, stack, exe, lib }
    }
}

/// The signal lines of `/proc/<pid>/status` (sets as bit masks, bit
/// `n - 1` for signal `n`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusSignals {
    /// Signals queued to the user (`SigQ:` first number).
    pub queued: u64,
    /// RLIMIT_SIGPENDING's soft limit (`SigQ:` second number).
    pub limit: u64,
    /// Pending for the thread (`SigPnd:`).
    pub pending: u64,
    /// Pending for the process (`ShdPnd:`).
    pub shared: u64,
    /// The thread's mask (`SigBlk:`).
    pub blocked: u64,
    /// Set to `SIG_IGN` (`SigIgn:`).
    pub ignored: u64,
    /// With a handler (`SigCgt:`).
    pub caught: u64,
}

impl StatusSignals {
    /// `queued` of `limit`, and the five sets.
    pub fn new(
        queued: u64,
        limit: u64,
        pending: u64,
        shared: u64,
        blocked: u64,
        ignored: u64,
        caught: u64,
    ) -> Self {
        StatusSignals { queued, limit, pending, shared, blocked, ignored, caught }
    }
}

/// `%*pb` of a CPU mask over `n` CPU ids: hex digits, a comma between
/// 32-bit groups, as wide as `n` needs (`3` for CPUs 0-1 of 2).
fn cpumask_hex(mask: u64, n: usize) -> String {
    let n = n.clamp(1, 64);
    let digits = n.div_ceil(4);
    let m = if n == 64 { mask } else { mask & ((1u64 << n) - 1) };
    let hex = format!("{m:0digits$x}");
    let mut out = String::new();
    for (i, ch) in hex.chars().enumerate() {
        if i > 0 && (digits - i).is_multiple_of(8) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `%*pbl` of a CPU mask: ranges, `0-1` or `0,2-3`.
fn cpumask_list(mask: u64) -> String {
    let mut out = String::new();
    let mut cpu = 0u32;
    while cpu < 64 {
        if mask >> cpu & 1 == 0 {
            cpu += 1;
            continue;
        }
        let start = cpu;
        while cpu < 64 && mask >> cpu & 1 == 1 {
            cpu += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if cpu - 1 == start {
            out.push_str(&format!("{start}"));
        } else {
            out.push_str(&format!("{start}-{}", cpu - 1));
        }
    }
    out
}

impl<'a> StatusFields<'a> {
    /// The lines of thread `pid` of process `tgid`, named `name`, in state `state`, with `creds`; every other field 0.
    pub fn new(name: &'a str, state: &'a str, tgid: Pid, pid: Pid, creds: &'a Credentials) -> Self {
        StatusFields {
            name,
            state,
            tgid,
            pid,
            ppid: 0,
            tracer: 0,
            creds,
            vsize: 0,
            locked: 0,
            hwm: 0,
            rss: 0,
            threads: 0,
            umask: 0o022,
            pgid: tgid,
            sid: tgid,
            vm_kinds: VmKinds::default(),
            signals: StatusSignals::default(),
            cap_bounding: 0,
            no_new_privs: false,
            seccomp: (0, 0),
            cpus_allowed: (1, 1),
            switches: (0, 0),
            ns_pids: None,
        }
    }
    /// With [`StatusFields::umask`].
    pub fn with_umask(mut self, umask: u32) -> Self {
        self.umask = umask;
        self
    }
    /// With the process group and session ([`StatusFields::pgid`], [`StatusFields::sid`]).
    pub fn with_group(mut self, pgid: Pid, sid: Pid) -> Self {
        self.pgid = pgid;
        self.sid = sid;
        self
    }
    /// With [`StatusFields::vm_kinds`].
    pub fn with_vm_kinds(mut self, kinds: VmKinds) -> Self {
        self.vm_kinds = kinds;
        self
    }
    /// With [`StatusFields::signals`].
    pub fn with_signals(mut self, signals: StatusSignals) -> Self {
        self.signals = signals;
        self
    }
    /// With [`StatusFields::cap_bounding`].
    pub fn with_cap_bounding(mut self, set: u64) -> Self {
        self.cap_bounding = set;
        self
    }
    /// With [`StatusFields::no_new_privs`].
    pub fn with_no_new_privs(mut self, on: bool) -> Self {
        self.no_new_privs = on;
        self
    }
    /// With [`StatusFields::seccomp`].
    pub fn with_seccomp(mut self, mode: u8, filters: u32) -> Self {
        self.seccomp = (mode, filters);
        self
    }
    /// With [`StatusFields::cpus_allowed`]: `mask` over `ncpus` CPU ids.
    pub fn with_cpus_allowed(mut self, mask: u64, ncpus: usize) -> Self {
        self.cpus_allowed = (mask, ncpus);
        self
    }
    /// With [`StatusFields::switches`].
    pub fn with_switches(mut self, voluntary: u64, involuntary: u64) -> Self {
        self.switches = (voluntary, involuntary);
        self
    }
    /// With [`StatusFields::ppid`].
    pub fn with_ppid(mut self, ppid: Pid) -> Self {
        self.ppid = ppid;
        self
    }
    /// With [`StatusFields::tracer`].
    pub fn with_tracer(mut self, tracer: Pid) -> Self {
        self.tracer = tracer;
        self
    }
    /// With [`StatusFields::vsize`].
    pub fn with_vsize(mut self, vsize: u64) -> Self {
        self.vsize = vsize;
        self
    }
    /// With [`StatusFields::locked`].
    pub fn with_locked(mut self, locked: u64) -> Self {
        self.locked = locked;
        self
    }
    /// With [`StatusFields::rss`].
    pub fn with_rss(mut self, rss: u64) -> Self {
        self.rss = rss;
        self
    }
    /// With [`StatusFields::hwm`].
    pub fn with_hwm(mut self, hwm: u64) -> Self {
        self.hwm = hwm;
        self
    }
    /// With [`StatusFields::threads`].
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
    /// With [`StatusFields::ns_pids`]: the `NS*` lines over several PID
    /// namespaces (`tgid`, `pid`, `ppid` and `tracer` then are numbers
    /// of the reader's namespace, 0 outside it).
    pub fn with_ns_pids(mut self, lists: NsPids<'a>) -> Self {
        self.ns_pids = Some(lists);
        self
    }
}

/// `/proc/<pid>/status`: Linux 6.1's lines in its order, less those this
/// kernel keeps no count for (VmPeak, VmPin, RssAnon/RssFile/RssShmem,
/// VmPTE, the speculation lines); sizes in kB right-aligned in 8 columns
/// as `seq_put_decimal_ull_width`, sets in 16 hex digits.
pub fn status(s: &StatusFields<'_>) -> String {
    let c = s.creds;
    // space-separated, then one trailing space (Linux's task_state)
    let mut groups = String::new();
    for (i, g) in c.groups.iter().enumerate() {
        groups.push_str(&format!("{}{g}", if i > 0 { " " } else { "" }));
    }
    groups.push(' ');
    let kb = |b: u64| b / 1024;
    let q = &s.signals;
    // Mems_allowed: one memory node of Debian's MAX_NUMNODES (1024)
    let mut mems = "00000000,".repeat(31);
    mems.push_str("00000001");
    let (ns_tgid, ns_pid, ns_pgid, ns_sid) = match &s.ns_pids {
        Some(l) => (ns_list(l.tgid), ns_list(l.pid), ns_list(l.pgid), ns_list(l.sid)),
        None => (format!("{}", s.tgid), format!("{}", s.pid), format!("{}", s.pgid), format!("{}", s.sid)),
    };
    format!(
        "Name:\t{}\nUmask:\t{:04o}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\n\
         TracerPid:\t{}\nUid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t64\nGroups:\t{}\n\
         NStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{}\nNSsid:\t{}\nVmSize:\t{:8} kB\n\
         VmLck:\t{:8} kB\nVmHWM:\t{:8} kB\nVmRSS:\t{:8} kB\nVmData:\t{:8} kB\nVmStk:\t{:8} kB\n\
         VmExe:\t{:8} kB\nVmLib:\t{:8} kB\nVmSwap:\t{:8} kB\nHugetlbPages:\t{:8} kB\n\
         CoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t{}\nSigQ:\t{}/{}\nSigPnd:\t{:016x}\n\
         ShdPnd:\t{:016x}\nSigBlk:\t{:016x}\nSigIgn:\t{:016x}\nSigCgt:\t{:016x}\nCapInh:\t{:016x}\n\
         CapPrm:\t{:016x}\nCapEff:\t{:016x}\nCapBnd:\t{:016x}\nCapAmb:\t{:016x}\nNoNewPrivs:\t{}\n\
         Seccomp:\t{}\nSeccomp_filters:\t{}\nCpus_allowed:\t{}\nCpus_allowed_list:\t{}\n\
         Mems_allowed:\t{}\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t{}\n\
         nonvoluntary_ctxt_switches:\t{}\n",
        s.name,
        s.umask & 0o777,
        s.state,
        s.tgid,
        s.pid,
        s.ppid,
        s.tracer,
        c.uid,
        c.euid,
        c.suid,
        c.fsuid,
        c.gid,
        c.egid,
        c.sgid,
        c.fsgid,
        groups,
        ns_tgid,
        ns_pid,
        ns_pgid,
        ns_sid,
        kb(s.vsize),
        kb(s.locked),
        s.hwm.max(s.rss) * 4,
        s.rss * 4,
        kb(s.vm_kinds.data),
        kb(s.vm_kinds.stack),
        kb(s.vm_kinds.exe),
        kb(s.vm_kinds.lib),
        0,
        0,
        s.threads,
        q.queued,
        q.limit,
        q.pending,
        q.shared,
        q.blocked,
        q.ignored,
        q.caught,
        c.cap_inheritable,
        c.cap_permitted,
        c.cap_effective,
        s.cap_bounding,
        c.cap_ambient,
        u8::from(s.no_new_privs),
        s.seccomp.0,
        s.seccomp.1,
        cpumask_hex(s.cpus_allowed.0, s.cpus_allowed.1),
        cpumask_list(s.cpus_allowed.0),
        mems,
        s.switches.0,
        s.switches.1,
    )
}

/// `/proc/uptime` from ticks of 10 ms: uptime and idle time (the one CPU
/// counts as idle all along here).
pub fn uptime(ticks: u64) -> String {
    uptime_idle(ticks, ticks)
}

/// `/proc/uptime` with an idle time of its own (`ticks` shifted by a time
/// namespace's boottime offset, `idle` not).
pub fn uptime_idle(ticks: u64, idle: u64) -> String {
    let (s, cs) = (ticks / 100, ticks % 100);
    let (i, ics) = (idle / 100, idle % 100);
    format!("{s}.{cs:02} {i}.{ics:02}\n")
}

/// `/proc/loadavg`: the three means (`crate::loadavg` fixed point), the
/// tasks running of `threads`, and the last pid handed out.
pub fn loadavg(loads: [u64; 3], running: usize, threads: usize, last_pid: Pid) -> String {
    use crate::loadavg::LoadAvg;
    format!(
        "{} {} {} {running}/{threads} {last_pid}\n",
        LoadAvg::text(loads[0]),
        LoadAvg::text(loads[1]),
        LoadAvg::text(loads[2])
    )
}

/// `/proc/meminfo`'s first lines from frame counts (4 KiB frames; kB
/// right-aligned in 8 columns) and the bytes the kernel's slab holds.
pub fn meminfo(usable_frames: u64, free_frames: u64, slab_bytes: u64) -> String {
    let kb = |frames: u64| frames * 4;
    format!(
        "MemTotal:       {:8} kB\nMemFree:        {:8} kB\nMemAvailable:   {:8} kB\nBuffers:               0 kB\n\
         Cached:                0 kB\nSwapCached:            0 kB\nActive:                0 kB\nInactive:              0 kB\n\
         SwapTotal:             0 kB\nSwapFree:              0 kB\nShmem:                 0 kB\nSlab:           {:8} kB\n",
        kb(usable_frames),
        kb(free_frames),
        kb(free_frames),
        slab_bytes / 1024
    )
}

/// `/proc/meminfo`'s overcommit lines, which follow [`meminfo`]'s in
/// Linux's order: the commit limit (`vm.overcommit_*`) and the memory
/// committed by private writable mappings, in kB.
pub fn meminfo_commit(limit_kb: u64, committed_kb: u64) -> String {
    format!("CommitLimit:    {limit_kb:8} kB\nCommitted_AS:   {committed_kb:8} kB\n")
}

/// The names `/proc/vmstat` lists, in Linux 6.1's order (`vmstat_text`
/// with an x86_64 distribution configuration: NUMA, swap, THP,
/// compaction, CMA, KSM, zswap and balloon counters included).
pub const VMSTAT_NAMES: &[&str] = &[
    "nr_free_pages",
    "nr_zone_inactive_anon",
    "nr_zone_active_anon",
    "nr_zone_inactive_file",
    "nr_zone_active_file",
    "nr_zone_unevictable",
    "nr_zone_write_pending",
    "nr_mlock",
    "nr_bounce",
    "nr_zspages",
    "nr_free_cma",
    "numa_hit",
    "numa_miss",
    "numa_foreign",
    "numa_interleave",
    "numa_local",
    "numa_other",
    "nr_inactive_anon",
    "nr_active_anon",
    "nr_inactive_file",
    "nr_active_file",
    "nr_unevictable",
    "nr_slab_reclaimable",
    "nr_slab_unreclaimable",
    "nr_isolated_anon",
    "nr_isolated_file",
    "workingset_nodes",
    "workingset_refault_anon",
    "workingset_refault_file",
    "workingset_activate_anon",
    "workingset_activate_file",
    "workingset_restore_anon",
    "workingset_restore_file",
    "workingset_nodereclaim",
    "nr_anon_pages",
    "nr_mapped",
    "nr_file_pages",
    "nr_dirty",
    "nr_writeback",
    "nr_writeback_temp",
    "nr_shmem",
    "nr_shmem_hugepages",
    "nr_shmem_pmdmapped",
    "nr_file_hugepages",
    "nr_file_pmdmapped",
    "nr_anon_transparent_hugepages",
    "nr_vmscan_write",
    "nr_vmscan_immediate_reclaim",
    "nr_dirtied",
    "nr_written",
    "nr_throttled_written",
    "nr_kernel_misc_reclaimable",
    "nr_foll_pin_acquired",
    "nr_foll_pin_released",
    "nr_kernel_stack",
    "nr_page_table_pages",
    "nr_swapcached",
    "pgpromote_success",
    "nr_dirty_threshold",
    "nr_dirty_background_threshold",
    "pgpgin",
    "pgpgout",
    "pswpin",
    "pswpout",
    "pgalloc_dma",
    "pgalloc_dma32",
    "pgalloc_normal",
    "pgalloc_movable",
    "allocstall_dma",
    "allocstall_dma32",
    "allocstall_normal",
    "allocstall_movable",
    "pgskip_dma",
    "pgskip_dma32",
    "pgskip_normal",
    "pgskip_movable",
    "pgfree",
    "pgactivate",
    "pgdeactivate",
    "pglazyfree",
    "pgfault",
    "pgmajfault",
    "pglazyfreed",
    "pgrefill",
    "pgreuse",
    "pgsteal_kswapd",
    "pgsteal_direct",
    "pgdemote_kswapd",
    "pgdemote_direct",
    "pgscan_kswapd",
    "pgscan_direct",
    "pgscan_direct_throttle",
    "pgscan_anon",
    "pgscan_file",
    "pgsteal_anon",
    "pgsteal_file",
    "zone_reclaim_failed",
    "pginodesteal",
    "slabs_scanned",
    "kswapd_inodesteal",
    "kswapd_low_wmark_hit_quickly",
    "kswapd_high_wmark_hit_quickly",
    "pageoutrun",
    "pgrotated",
    "drop_pagecache",
    "drop_slab",
    "oom_kill",
    "numa_pte_updates",
    "numa_huge_pte_updates",
    "numa_hint_faults",
    "numa_hint_faults_local",
    "numa_pages_migrated",
    "pgmigrate_success",
    "pgmigrate_fail",
    "thp_migration_success",
    "thp_migration_fail",
    "thp_migration_split",
    "compact_migrate_scanned",
    "compact_free_scanned",
    "compact_isolated",
    "compact_stall",
    "compact_fail",
    "compact_success",
    "compact_daemon_wake",
    "compact_daemon_migrate_scanned",
    "compact_daemon_free_scanned",
    "htlb_buddy_alloc_success",
    "htlb_buddy_alloc_fail",
    "cma_alloc_success",
    "cma_alloc_fail",
    "unevictable_pgs_culled",
    "unevictable_pgs_scanned",
    "unevictable_pgs_rescued",
    "unevictable_pgs_mlocked",
    "unevictable_pgs_munlocked",
    "unevictable_pgs_cleared",
    "unevictable_pgs_stranded",
    "thp_fault_alloc",
    "thp_fault_fallback",
    "thp_fault_fallback_charge",
    "thp_collapse_alloc",
    "thp_collapse_alloc_failed",
    "thp_file_alloc",
    "thp_file_fallback",
    "thp_file_fallback_charge",
    "thp_file_mapped",
    "thp_split_page",
    "thp_split_page_failed",
    "thp_deferred_split_page",
    "thp_split_pmd",
    "thp_scan_exceed_none_pte",
    "thp_scan_exceed_swap_pte",
    "thp_scan_exceed_share_pte",
    "thp_split_pud",
    "thp_zero_page_alloc",
    "thp_zero_page_alloc_failed",
    "thp_swpout",
    "thp_swpout_fallback",
    "balloon_inflate",
    "balloon_deflate",
    "balloon_migrate",
    "swap_ra",
    "swap_ra_hit",
    "ksm_swpin_copy",
    "cow_ksm",
    "zswpin",
    "zswpout",
    "direct_map_level2_splits",
    "direct_map_level3_splits",
];

/// `/proc/vmstat`: a `name value` line for each of [`VMSTAT_NAMES`]; the
/// value from `values` when it names it, 0 for what is not kept.
pub fn vmstat(values: &[(&str, u64)]) -> String {
    let mut out = String::new();
    for name in VMSTAT_NAMES {
        let v = values.iter().find(|(n, _)| n == name).map_or(0, |(_, v)| *v);
        out.push_str(&format!("{name} {v}\n"));
    }
    out
}

/// `/proc/stat`: per CPU `(user, system, idle)` ticks (the `cpu` line is
/// their sum, then one `cpuN` line each), interrupts and context switches
/// since boot (`intr`'s total, `ctxt`), boot time in seconds since the
/// epoch, processes made so far, tasks running.
pub fn cpu_stat(
    cpus: &[(u64, u64, u64)],
    (intr, ctxt): (u64, u64),
    btime: u64,
    processes: Pid,
    running: usize,
) -> String {
    let line = |(u, s, i): (u64, u64, u64)| format!("{u} 0 {s} {i} 0 0 0 0 0 0");
    let total = cpus.iter().fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    let mut out = format!("cpu  {}\n", line(total));
    for (n, &c) in cpus.iter().enumerate() {
        out.push_str(&format!("cpu{n} {}\n", line(c)));
    }
    out.push_str(&format!(
        "intr {intr}\nctxt {ctxt}\nbtime {btime}\nprocesses {processes}\nprocs_running {running}\nprocs_blocked 0\n"
    ));
    out
}

/// The common head of `/proc/<pid>/fdinfo/<fd>` (fs/proc/fd.c
/// `seq_show`): the file offset, the status flags in octal (`O_CLOEXEC`
/// added when the descriptor has it, as Linux shows it), the mount's id
/// and the inode number. The file kind's own lines follow.
pub fn fdinfo_head(pos: u64, flags: u32, mnt_id: u32, ino: u64) -> String {
    format!("pos:\t{}\nflags:\t0{flags:o}\nmnt_id:\t{mnt_id}\nino:\t{ino}\n", pos as i64)
}

/// An eventfd's fdinfo lines (`eventfd_show_fdinfo`): the count in hex
/// right-aligned in 16 columns and the instance's id.
pub fn fdinfo_eventfd(count: u64, id: u32) -> String {
    format!("eventfd-count: {count:16x}\neventfd-id: {id}\n")
}

/// A timerfd's fdinfo lines (`timerfd_show`): the clock id, expirations
/// not read, the flags of the last timerfd_settime(2), the time left and
/// the interval (nanoseconds, shown as `(seconds, nanoseconds)`).
pub fn fdinfo_timerfd(
    clockid: i32,
    ticks: u64,
    settime_flags: u32,
    value_ns: u64,
    interval_ns: u64,
) -> String {
    const NS: u64 = 1_000_000_000;
    format!(
        "clockid: {clockid}\nticks: {ticks}\nsettime flags: 0{settime_flags:o}\nit_value: ({}, {})\nit_interval: ({}, {})\n",
        value_ns / NS,
        value_ns % NS,
        interval_ns / NS,
        interval_ns % NS
    )
}

/// A signalfd's fdinfo line (`signalfd_show_fdinfo`, `render_sigset_t`):
/// the signals it reads, 16 hex digits.
pub fn fdinfo_signalfd(mask: u64) -> String {
    format!("sigmask:\t{mask:016x}\n")
}

/// One `tfd:` line of an epoll instance's fdinfo (`ep_show_fdinfo`): the
/// watched fd, its events (`EPOLLERR | EPOLLHUP` included) and data, the
/// watched file's offset, inode number and device (the kernel's `dev_t`,
/// major << 20 | minor).
pub fn fdinfo_epoll_item(fd: u32, events: u32, data: u64, pos: u64, ino: u64, sdev: u32) -> String {
    format!(
        "tfd: {fd:8} events: {events:8x} data: {data:16x}  pos:{} ino:{ino:x} sdev:{sdev:x}\n",
        pos as i64
    )
}

/// A pidfd's fdinfo lines (`pidfd_show_fdinfo`): the pid, -1 once the
/// process was reaped, and the same in `NSpid` (one pid namespace).
pub fn fdinfo_pidfd(pid: Option<Pid>) -> String {
    let n = pid.map_or(-1, i64::from);
    format!("Pid:\t{n}\nNSpid:\t{n}\n")
}

/// The names of `/proc/<pid>/ns`, in Linux 6.1's order (`ns_entries`).
pub const NS_NAMES: &[&str] =
    &["net", "uts", "ipc", "pid", "pid_for_children", "user", "mnt", "cgroup", "time", "time_for_children"];

/// The inode number of the initial namespace behind `/proc/<pid>/ns/<name>`
/// (the `PROC_*_INIT_INO` constants; the mount and network namespaces
/// get the first two dynamic numbers at boot, as on Linux).
pub fn ns_ino(name: &str) -> Option<u64> {
    Some(match name {
        "ipc" => 0xEFFF_FFFF,
        "uts" => 0xEFFF_FFFE,
        "user" => 0xEFFF_FFFD,
        "pid" | "pid_for_children" => 0xEFFF_FFFC,
        "cgroup" => 0xEFFF_FFFB,
        "time" | "time_for_children" => 0xEFFF_FFFA,
        "net" => 0xF000_0000,
        "mnt" => 0xF000_0001,
        _ => return None,
    })
}

/// The target of the link `/proc/<pid>/ns/<name>` (`ns_get_name`):
/// `pid:[4026531836]`; the `_for_children` links name their kind.
pub fn ns_link(name: &str) -> Option<String> {
    let ino = ns_ino(name)?;
    let kind = name.strip_suffix("_for_children").unwrap_or(name);
    Some(format!("{kind}:[{ino}]"))
}

/// `/proc/<pid>/limits` (`proc_pid_limits`): a header and one line per
/// resource, `(soft, hard)` in `RLIMIT_*` order, `u64::MAX` as
/// `unlimited`.
pub fn limits(rlimits: &[(u64, u64)]) -> String {
    const NAMES: [(&str, &str); 16] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let mut out = format!("{:<25} {:<20} {:<20} {:<10}\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    let num = |v: u64| if v == u64::MAX { String::from("unlimited") } else { format!("{v}") };
    for ((name, unit), (soft, hard)) in NAMES.iter().zip(rlimits) {
        out.push_str(&format!("{name:<25} {:<20} {:<20} ", num(*soft), num(*hard)));
        if !unit.is_empty() {
            out.push_str(&format!("{unit:<10}"));
        }
        out.push('\n');
    }
    out
}

/// `/proc/<pid>/io` (`do_io_accounting`): characters read and written
/// through read/write-like calls, the number of such calls, and the
/// storage bytes (0 here: no block accounting).
pub fn io(rchar: u64, wchar: u64, syscr: u64, syscw: u64) -> String {
    format!(
        "rchar: {rchar}\nwchar: {wchar}\nsyscr: {syscr}\nsyscw: {syscw}\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn fdinfo_lines_as_linux() {
        assert_eq!(
            fdinfo_head(5, 0o2100002, 21, 1234),
            "pos:\t5\nflags:\t02100002\nmnt_id:\t21\nino:\t1234\n"
        );
        assert_eq!(fdinfo_head(0, 0, 14, 7), "pos:\t0\nflags:\t00\nmnt_id:\t14\nino:\t7\n");
        assert_eq!(fdinfo_eventfd(0x2a, 3), "eventfd-count:               2a\neventfd-id: 3\n");
        assert_eq!(
            fdinfo_timerfd(1, 0, 1, 1_500_000_000, 250_000_000),
            "clockid: 1\nticks: 0\nsettime flags: 01\nit_value: (1, 500000000)\nit_interval: (0, 250000000)\n"
        );
        assert_eq!(fdinfo_signalfd(1 << 9), "sigmask:\t0000000000000200\n");
        assert_eq!(
            fdinfo_epoll_item(4, 0x19, 0x1234, 0, 0x56, 0xd),
            "tfd:        4 events:       19 data:             1234  pos:0 ino:56 sdev:d\n"
        );
        assert_eq!(fdinfo_pidfd(Some(42)), "Pid:\t42\nNSpid:\t42\n");
        assert_eq!(fdinfo_pidfd(None), "Pid:\t-1\nNSpid:\t-1\n");
    }

    #[test]
    fn ns_links_name_the_initial_namespaces() {
        assert_eq!(ns_link("pid").as_deref(), Some("pid:[4026531836]"));
        assert_eq!(ns_link("pid_for_children").as_deref(), Some("pid:[4026531836]"));
        assert_eq!(ns_link("time_for_children").as_deref(), Some("time:[4026531834]"));
        assert_eq!(ns_link("ipc").as_deref(), Some("ipc:[4026531839]"));
        assert_eq!(ns_link("bogus"), None);
        assert!(NS_NAMES.iter().all(|n| ns_ino(n).is_some()));
    }

    #[test]
    fn limits_table_as_linux() {
        let mut l = [(u64::MAX, u64::MAX); 16];
        l[7] = (1024, 4096);
        l[13] = (0, 0);
        let text = limits(&l);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 17);
        assert_eq!(
            lines[0],
            "Limit                     Soft Limit           Hard Limit           Units     "
        );
        assert_eq!(
            lines[1],
            "Max cpu time              unlimited            unlimited            seconds   "
        );
        assert_eq!(
            lines[8],
            "Max open files            1024                 4096                 files     "
        );
        assert_eq!(lines[14], "Max nice priority         0                    0                    ");
    }

    #[test]
    fn meminfo_commit_lines() {
        assert_eq!(meminfo_commit(65536, 1234), "CommitLimit:       65536 kB\nCommitted_AS:       1234 kB\n");
    }

    #[test]
    fn io_lines() {
        assert_eq!(
            io(10, 20, 1, 2),
            "rchar: 10\nwchar: 20\nsyscr: 1\nsyscw: 2\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n"
        );
    }

    fn fields() -> StatFields<'static> {
        StatFields {
            tid: 42,
            comm: "sh",
            state: 'S',
            ppid: 1,
            pgid: 42,
            sid: 42,
            tty_nr: 4 << 8 | 64,
            tpgid: 42,
            minflt: 100,
            cminflt: 7,
            utime: 3,
            stime: 5,
            cutime: 11,
            cstime: 13,
            threads: 1,
            start_ticks: 250,
            vsize: 8 << 20,
            rss: 2048,
            policy: 0,
            rt_priority: 0,
            nice: 0,
            processor: 0,
            mm: None,
            mm_permitted: false,
        }
    }

    #[test]
    fn stat_shows_the_layout_as_do_task_stat() {
        let mm = StatMm {
            start_code: 0x40_0000,
            end_code: 0x40_1000,
            start_stack: 0x7fff_0000,
            start_data: 0x60_0000,
            end_data: 0x60_2000,
            start_brk: 0x70_0000,
            arg_start: 0x7fff_0100,
            arg_end: 0x7fff_0200,
            env_start: 0x7fff_0200,
            env_end: 0x7fff_0300,
        };
        let f = fields().with_mm(Some(mm), true);
        let s = stat(&f);
        let v: Vec<&str> = s.trim_end().split(' ').collect();
        assert_eq!(v.len(), 52);
        assert_eq!(&v[25..30], ["4194304", "4198400", "2147418112", "0", "0"], "code, stack, esp, eip");
        assert_eq!(
            &v[44..52],
            ["6291456", "6299648", "7340032", "2147418368", "2147418624", "2147418624", "2147418880", "0"],
            "data, brk, arg, env, exit_code"
        );
        // another user's process: code 1 1, the rest 0
        let s = stat(&fields().with_mm(Some(mm), false));
        let v: Vec<&str> = s.trim_end().split(' ').collect();
        assert_eq!(&v[25..28], ["1", "1", "0"]);
        assert!(v[44..52].iter().all(|x| *x == "0"));
        // no address space: all 0
        let s = stat(&fields().with_mm(None, true));
        let v: Vec<&str> = s.trim_end().split(' ').collect();
        assert_eq!(&v[25..28], ["0", "0", "0"]);
        assert_eq!(v.len(), 52);
    }

    #[test]
    fn stat_has_52_fields_in_linux_order() {
        let s = stat(&fields());
        assert!(s.ends_with('\n'));
        let f: Vec<&str> = s.trim_end().split(' ').collect();
        assert_eq!(f.len(), 52);
        assert_eq!(&f[..9], ["42", "(sh)", "S", "1", "42", "42", "1088", "42", "4194560"]);
        assert_eq!(f[9], "100", "minflt");
        assert_eq!(f[10], "7", "cminflt");
        assert_eq!(&f[13..17], ["3", "5", "11", "13"], "utime stime cutime cstime");
        assert_eq!(&f[17..19], ["20", "0"], "priority nice");
        assert_eq!(f[19], "1", "num_threads");
        assert_eq!(f[21], "250", "starttime");
        assert_eq!(f[22], "8388608", "vsize");
        assert_eq!(f[23], "2048", "rss");
        assert_eq!(f[24], "18446744073709551615", "rsslim");
        assert_eq!(f[37], "17", "exit_signal");
        assert_eq!(&f[38..41], ["0", "0", "0"], "processor rt_priority policy");
    }

    #[test]
    fn stat_priority_follows_nice_and_real_time_priority() {
        let mut f = fields();
        f.nice = -5;
        f.processor = 1;
        let s = stat(&f);
        let v: Vec<&str> = s.trim_end().split(' ').collect();
        assert_eq!(&v[17..19], ["15", "-5"], "priority nice");
        assert_eq!(&v[38..41], ["1", "0", "0"], "processor rt_priority policy");
        f.nice = 19;
        f.policy = 5;
        let s = stat(&f);
        let v: Vec<&str> = s.trim_end().split(' ').collect();
        assert_eq!(&v[17..19], ["39", "19"], "SCHED_IDLE keeps 20 + nice");
        assert_eq!(v[40], "5", "policy");
        // SCHED_FIFO 10: prio 99 - 10 = 89, task_prio 89 - 100 = -11;
        // nice stays what setpriority left
        f.policy = 1;
        f.rt_priority = 10;
        f.nice = 0;
        let s = stat(&f);
        let v: Vec<&str> = s.trim_end().split(' ').collect();
        assert_eq!(&v[17..19], ["-11", "0"], "priority nice");
        assert_eq!(&v[39..41], ["10", "1"], "rt_priority policy");
        f.policy = 2;
        f.rt_priority = 99;
        assert_eq!(stat(&f).trim_end().split(' ').nth(17), Some("-100"));
    }

    #[test]
    fn stat_comm_keeps_spaces_and_parens() {
        let mut f = fields();
        f.comm = "a b) c";
        assert!(stat(&f).starts_with("42 (a b) c) S 1 "));
    }

    #[test]
    fn stat_without_terminal() {
        let mut f = fields();
        f.tty_nr = 0;
        f.tpgid = -1;
        let s = stat(&f);
        let v: Vec<&str> = s.split(' ').collect();
        assert_eq!((v[6], v[7]), ("0", "-1"));
    }

    #[test]
    fn states() {
        assert_eq!(state(ProcState::Running, false), ('R', "R (running)"));
        assert_eq!(state(ProcState::Running, true), ('S', "S (sleeping)"));
        assert_eq!(state(ProcState::Stopped(19), true), ('T', "T (stopped)"));
        assert_eq!(state(ProcState::Zombie, false), ('Z', "Z (zombie)"));
    }

    #[test]
    fn statm_is_pages() {
        assert_eq!(statm(8 << 20, 300), "2048 300 0 0 0 0 0\n");
        assert_eq!(statm(0, 0), "0 0 0 0 0 0 0\n");
    }

    #[test]
    fn status_lines() {
        let mut c = Credentials::root();
        c.uid = 1000;
        c.euid = 1001;
        c.suid = 1002;
        c.fsuid = 1003;
        c.gid = 100;
        c.egid = 101;
        c.sgid = 102;
        c.fsgid = 103;
        c.groups = alloc::vec![4, 24];
        c.cap_effective = 0x1ff_ffff_ffff;
        let s = status(
            &StatusFields::new("cat", "R (running)", 7, 8, &c)
                .with_ppid(1)
                .with_vsize(4 << 20)
                .with_locked(8192)
                .with_hwm(12)
                .with_rss(10)
                .with_threads(2)
                .with_umask(0o027)
                .with_group(7, 3)
                .with_vm_kinds(VmKinds::new(360 << 10, 132 << 10, 20 << 10, 1528 << 10))
                .with_signals(StatusSignals::new(1, 3178, 0, 1 << 9, 1 << 1, 1 << 2, (1 << 16) | 1))
                .with_cap_bounding(0x1ff_ffff_ffff)
                .with_cpus_allowed(3, 2)
                .with_switches(5, 6),
        );
        let lines: Vec<&str> = s.lines().collect();
        let want = [
            "Name:\tcat",
            "Umask:\t0027",
            "State:\tR (running)",
            "Tgid:\t7",
            "Ngid:\t0",
            "Pid:\t8",
            "PPid:\t1",
            "TracerPid:\t0",
            "Uid:\t1000\t1001\t1002\t1003",
            "Gid:\t100\t101\t102\t103",
            "FDSize:\t64",
            "Groups:\t4 24 ",
            "NStgid:\t7",
            "NSpid:\t8",
            "NSpgid:\t7",
            "NSsid:\t3",
            "VmSize:\t    4096 kB",
            "VmLck:\t       8 kB",
            "VmHWM:\t      48 kB",
            "VmRSS:\t      40 kB",
            "VmData:\t     360 kB",
            "VmStk:\t     132 kB",
            "VmExe:\t      20 kB",
            "VmLib:\t    1528 kB",
            "VmSwap:\t       0 kB",
            "HugetlbPages:\t       0 kB",
            "CoreDumping:\t0",
            "THP_enabled:\t1",
            "Threads:\t2",
            "SigQ:\t1/3178",
            "SigPnd:\t0000000000000000",
            "ShdPnd:\t0000000000000200",
            "SigBlk:\t0000000000000002",
            "SigIgn:\t0000000000000004",
            "SigCgt:\t0000000000010001",
            "CapInh:\t0000000000000000",
            "CapPrm:\t000001ffffffffff",
            "CapEff:\t000001ffffffffff",
            "CapBnd:\t000001ffffffffff",
            "CapAmb:\t0000000000000000",
            "NoNewPrivs:\t0",
            "Seccomp:\t0",
            "Seccomp_filters:\t0",
            "Cpus_allowed:\t3",
            "Cpus_allowed_list:\t0-1",
        ];
        assert_eq!(lines[..want.len()], want);
        assert!(lines[want.len()].starts_with("Mems_allowed:\t00000000,"));
        assert!(lines[want.len()].ends_with(",00000001"));
        assert_eq!(lines[want.len()].len(), "Mems_allowed:\t".len() + 32 * 9 - 1);
        assert_eq!(
            lines[want.len() + 1..],
            ["Mems_allowed_list:\t0", "voluntary_ctxt_switches:\t5", "nonvoluntary_ctxt_switches:\t6"]
        );
    }

    /// The pid lines of a status read through a procfs mount of a child
    /// PID namespace: Tgid/Pid/PPid/TracerPid as given (the namespace's
    /// numbers), the NS* lines the lists tab-separated, `0` for an empty
    /// one, every other line as with one namespace.
    #[test]
    fn status_ns_pid_lines() {
        let c = Credentials::root();
        let one =
            StatusFields::new("sh", "S (sleeping)", 2, 3, &c).with_ppid(1).with_tracer(1).with_group(2, 1);
        let (tgid, pid, pgid, sid) = ([2, 1], [3, 2], [2, 1], []);
        let s = status(&one.clone().with_ns_pids(NsPids::new(&tgid, &pid, &pgid, &sid)));
        let plain = status(&one);
        let pick = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| {
                    let key = l.split('\t').next().unwrap_or("");
                    ["Tgid:", "Pid:", "PPid:", "TracerPid:", "NStgid:", "NSpid:", "NSpgid:", "NSsid:"]
                        .contains(&key)
                })
                .map(String::from)
                .collect()
        };
        assert_eq!(
            pick(&s),
            [
                "Tgid:\t2",
                "Pid:\t3",
                "PPid:\t1",
                "TracerPid:\t1",
                "NStgid:\t2\t1",
                "NSpid:\t3\t2",
                "NSpgid:\t2\t1",
                "NSsid:\t0"
            ]
        );
        assert_eq!(
            pick(&plain),
            [
                "Tgid:\t2",
                "Pid:\t3",
                "PPid:\t1",
                "TracerPid:\t1",
                "NStgid:\t2",
                "NSpid:\t3",
                "NSpgid:\t2",
                "NSsid:\t1"
            ]
        );
        // the rest line for line the same
        let rest = |text: &str| -> Vec<String> {
            text.lines().filter(|l| !l.starts_with("NS")).map(String::from).collect()
        };
        assert_eq!(rest(&s), rest(&plain));
        assert_eq!(s.lines().count(), plain.lines().count());
        // one level: the single number, as without lists
        let s1 = status(&one.with_ns_pids(NsPids::new(&[2], &[3], &[2], &[1])));
        assert_eq!(s1, plain);
        assert_eq!(ns_list(&[7, 3, 1]), "7\t3\t1");
    }

    #[test]
    fn cpu_masks() {
        assert_eq!(cpumask_hex(3, 2), "3");
        assert_eq!(cpumask_hex(1, 4), "1");
        assert_eq!(cpumask_hex(1, 8), "01");
        assert_eq!(cpumask_hex(0x1_0000_0001, 40), "01,00000001");
        assert_eq!(cpumask_hex(u64::MAX, 64), "ffffffff,ffffffff");
        assert_eq!(cpumask_list(3), "0-1");
        assert_eq!(cpumask_list(1), "0");
        assert_eq!(cpumask_list(0b1101), "0,2-3");
        assert_eq!(cpumask_list(0), "");
        assert_eq!(cpumask_list(1 << 63), "63");
    }

    #[test]
    fn uptime_has_two_decimals() {
        assert_eq!(uptime(0), "0.00 0.00\n");
        assert_eq!(uptime(1234), "12.34 12.34\n");
        assert_eq!(uptime(105), "1.05 1.05\n");
        assert_eq!(uptime_idle(1000105, 105), "10001.05 1.05\n");
    }

    #[test]
    fn loadavg_format() {
        assert_eq!(loadavg([0; 3], 1, 5, 123), "0.00 0.00 0.00 1/5 123\n");
        assert_eq!(loadavg([2048, 1024, 20], 2, 5, 123), "1.00 0.50 0.01 2/5 123\n");
    }

    #[test]
    fn meminfo_kb_columns() {
        let m = meminfo(65536, 1000, 3 << 20);
        let lines: Vec<&str> = m.lines().collect();
        assert_eq!(lines[0], "MemTotal:         262144 kB");
        assert_eq!(lines[1], "MemFree:            4000 kB");
        assert_eq!(lines[2], "MemAvailable:       4000 kB");
        assert_eq!(lines[11], "Slab:               3072 kB");
        assert_eq!(lines.len(), 12);
        assert!(lines.iter().all(|l| l.ends_with(" kB") && l.len() == 27), "{lines:?}");
    }

    #[test]
    fn cpu_stat_lines() {
        let s = cpu_stat(&[(10, 20, 300)], (5, 7), 1_700_000_000, 42, 1);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[2], "intr 5");
        assert_eq!(lines[3], "ctxt 7");
        assert_eq!(lines[0], "cpu  10 0 20 300 0 0 0 0 0 0");
        assert_eq!(lines[1], "cpu0 10 0 20 300 0 0 0 0 0 0");
        assert_eq!(lines[4], "btime 1700000000");
        assert_eq!(lines[5], "processes 42");
        assert_eq!(lines.len(), 8);
        let s = cpu_stat(&[(10, 20, 300), (1, 2, 3)], (0, 0), 1_700_000_000, 42, 2);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "cpu  11 0 22 303 0 0 0 0 0 0");
        assert_eq!(lines[2], "cpu1 1 0 2 3 0 0 0 0 0 0");
        assert_eq!(lines[7], "procs_running 2");
        assert_eq!(lines.len(), 9);
    }
    #[test]
    fn vmstat_lists_every_name_once_with_its_value() {
        let text = vmstat(&[("nr_free_pages", 1234), ("pgfault", 77)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), VMSTAT_NAMES.len());
        assert_eq!(lines[0], "nr_free_pages 1234");
        assert!(lines.contains(&"pgfault 77"));
        assert!(lines.contains(&"pgpgin 0"));
        for (i, n) in VMSTAT_NAMES.iter().enumerate() {
            assert!(!VMSTAT_NAMES[..i].contains(n), "{n} twice");
        }
    }
}
