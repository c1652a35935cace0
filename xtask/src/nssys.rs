//! Debian's namespace tools side by side with Linux (not in CI: a boot
//! and the script take minutes under TCG).
//!
//! `cargo xtask ns [--linux | --ours] [--smp N] [--memory SIZE] [--timeout SECS] [--release]`
//! boots the Debian system of [`crate::debsys`] plus [`PACKAGES`]
//! (bubblewrap) on both kernels at once (or on one) with
//! `user/debian/ns/ns.sh` as `/usr/local/lib/autorun.sh`: the script moves
//! a bind of / over the initramfs root and chroots into it (as
//! switch_root does: bwrap's pivot_root needs a root mount with a parent),
//! then runs bwrap (`--ro-bind / / --dev /dev --proc /proc --tmpfs /tmp
//! --unshare-all`: namespaces, mountinfo normalised, hostname, writes to a
//! read-only bind, `--bind`, `--symlink`, `--chdir`, `--uid/--gid` in a
//! user namespace as root and as uid 1000, `--new-session`,
//! `--die-with-parent`, `--info-fd`), `ip netns add/list/exec/identify/
//! pids/delete` (lo only: neither kernel's image has veth), `unshare
//! -Urmpf --mount-proc ps`, `nsenter`, `unshare --propagation
//! slave/private/shared/unchanged` with mounts seen or not on either
//! side, and binds under shared mounts (a private bind, `--rbind`'s
//! submounts and `umount -l` in a peer). The part between the first
//! `=== step` and `=== ns done` is kept in `target/ns/SIDE.out` (the
//! console in `SIDE.log`); with both sides the command prints their
//! `diff -u` (Linux first) and each step's status on both.

use crate::devsys::step_transcript;
use crate::sidebyside::{self, Opts, Report, Sides, Spec};
use std::process::ExitCode;

/// What the image adds to [`crate::debsys::PACKAGES`] (which has
/// util-linux and iproute2).
pub const PACKAGES: &[&str] = &["bubblewrap"];

/// The guest path of the script /init runs (user/debian/init.c).
const AUTORUN: &str = "usr/local/lib/autorun.sh";

/// The options (see the module's text).
const SPEC: Spec = Spec {
    sides: Sides::Both,
    smp: 2,
    memory: crate::debsys::MEMORY,
    timeout: 900,
    min_timeout: 60,
    timeout_is: "seconds",
    words: false,
};

/// The script's output in the console.
const REPORT: Report = Report {
    name: "ns",
    transcript,
    done: "=== ns done",
    end: "the end",
    show_cmdline: false,
    note: |_| String::new(),
};

/// The script's output from its first step to its last line.
fn transcript(log: &str) -> String {
    step_transcript(log, "=== ns done")
}

fn run(o: &Opts) -> Result<bool, String> {
    let script = crate::root().join("user/debian/ns/ns.sh");
    let mut roots: Vec<&str> = crate::debsys::PACKAGES.to_vec();
    roots.extend(PACKAGES);
    sidebyside::run_steps(o, &REPORT, "ns", &roots, AUTORUN, script)
}

/// `cargo xtask ns ...`.
pub fn main(args: &[String]) -> ExitCode {
    sidebyside::exit("ns", Opts::parse(&SPEC, args).and_then(|o| run(&o)))
}

#[cfg(test)]
mod tests {
    use super::transcript;

    #[test]
    fn transcript_from_the_switch_root_step_to_done() {
        let log = "boot\n=== step switch_root\n=== status switch_root 0\n=== step a\nx\n=== ns done\noff\n";
        assert_eq!(
            transcript(log),
            "=== step switch_root\n=== status switch_root 0\n=== step a\nx\n=== ns done\n"
        );
    }
}
