//! The developer's Debian system and its campaign (not in CI: long).
//!
//! `cargo xtask rootfs --debian-dev` builds `target/initramfs-debian-dev.cpio`:
//! the Debian system of [`crate::debsys`] plus [`DEV_PACKAGES`] (gcc,
//! libc6-dev, make, binutils, git, tar, xz-utils, bzip2, patch, file,
//! dpkg, the full python3 with venv, pkg-config) and everything they depend
//! on, fetched and resolved the same way (`apt-get download` + `dpkg -x`,
//! cached under `target/debian/`), with the dpkg database dpkg's own
//! installation would leave (`/var/lib/dpkg/status`, `info/*.list`). It is
//! an initramfs (about 700 MiB; QEMU gets [`MEMORY`]), so that Debian's
//! Linux, whose virtio_blk and ext4 are modules, boots it as it is.
//! `cargo xtask qemu --debian-dev [--linux]` boots it with the login shell.
//!
//! `cargo xtask devsys [--linux | --ours] [--smp N] [--memory SIZE] [--timeout SECS]`
//! boots it on both kernels at once (or on one) with `user/debian/devsys/dev.sh` as `/usr/local/lib/autorun.sh`
//! (run by the system's /init instead of the login shell): gcc at -O2,
//! -pthread, a shared library and dlopen, a static binary; a 13-file
//! project built by `make -j2`, cleaned and rebuilt; git
//! init/add/commit/branch/merge/gc/fsck/clone over 300 files; tar
//! czf/cJf/cjf round trips checked by cmp; `dpkg-deb --build` and `dpkg
//! -i`/`-L`/`-r`; diff/patch; compileall and a venv; `file` on binaries.
//! The script prints only deterministic lines; the part between its
//! first `=== step` and `=== devsys done` is kept in
//! `target/devsys/ours.out` or `linux.out` (the whole console in
//! `ours.log`/`linux.log`), and when both sides exist the command prints
//! their `diff -u` (Linux first) and each step's status on both.

use crate::sidebyside::{self, Opts, Report, Sides, Spec};
use std::path::PathBuf;
use std::process::ExitCode;

/// What a developer adds to [`crate::debsys::PACKAGES`]. `zlib1g-dev` gives
/// pkg-config a `.pc` to find and gcc a header beyond libc's.
pub const DEV_PACKAGES: &[&str] = &[
    "gcc",
    "libc6-dev",
    "make",
    "binutils",
    "git",
    "tar",
    "xz-utils",
    "bzip2",
    "patch",
    "file",
    "dpkg",
    "python3",
    "python3-venv",
    "pkg-config",
    "zlib1g-dev",
];

/// QEMU's memory for the developer's system unless `--memory` is given:
/// the initramfs and its unpacked copy take about 1.4 GiB.
pub const MEMORY: &str = "3G";

/// The guest path of the script /init runs (user/debian/init.c).
const AUTORUN: &str = "usr/local/lib/autorun.sh";

/// The packages asked for: the Debian system's and [`DEV_PACKAGES`].
pub fn roots() -> Vec<&'static str> {
    crate::debsys::PACKAGES.iter().chain(DEV_PACKAGES).copied().collect()
}

/// Builds `target/initramfs-debian-dev.cpio`.
pub fn build_initramfs() -> Result<PathBuf, String> {
    Ok(crate::debsys::build_image(&roots(), &[], "initramfs-debian-dev", false)?.path)
}

/// The options (see the module's text).
const SPEC: Spec = Spec {
    sides: Sides::Both,
    smp: 2,
    memory: MEMORY,
    timeout: 3600,
    min_timeout: 60,
    timeout_is: "seconds",
    words: false,
};

/// The script's output in the console.
const REPORT: Report = Report {
    name: "devsys",
    transcript,
    done: "=== devsys done",
    end: "the end",
    show_cmdline: false,
    note: |_| String::new(),
};

/// The script's output: from its first step to its last line (what the
/// console shows before, the boot, differs between the kernels).
fn transcript(log: &str) -> String {
    step_transcript(log, "=== devsys done")
}

/// A step script's output (devsys's, apt's): from its first `=== step `
/// line to the line starting with `done` (included).
pub fn step_transcript(log: &str, done: &str) -> String {
    let mut out = String::new();
    let mut on = false;
    for line in log.lines() {
        if line.starts_with("=== step ") {
            on = true;
        }
        if on {
            out.push_str(line);
            out.push('\n');
        }
        if line.starts_with(done) {
            break;
        }
    }
    out
}

/// `(step, status)` of each `=== status NAME N` line.
pub fn statuses(t: &str) -> Vec<(String, String)> {
    t.lines()
        .filter_map(|l| l.strip_prefix("=== status "))
        .filter_map(|r| r.split_once(' '))
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect()
}

fn run(o: &Opts) -> Result<bool, String> {
    let script = crate::root().join("user/debian/devsys/dev.sh");
    sidebyside::run_steps(o, &REPORT, "devsys", &roots(), AUTORUN, script)
}

/// `cargo xtask devsys ...`.
pub fn main(args: &[String]) -> ExitCode {
    sidebyside::exit("devsys", Opts::parse(&SPEC, args).and_then(|o| run(&o)))
}

#[cfg(test)]
mod tests {
    use super::{statuses, transcript};

    #[test]
    fn transcript_from_first_step_to_done() {
        let log = "boot\nbanner\n=== step a\nx\n=== status a 0\n=== devsys done\npower off\n";
        let t = transcript(log);
        assert_eq!(t, "=== step a\nx\n=== status a 0\n=== devsys done\n");
        assert_eq!(statuses(&t), vec![("a".to_string(), "0".to_string())]);
    }
}
