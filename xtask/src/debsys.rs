//! The Debian system of `cargo xtask qemu --debian`: a root filesystem
//! made of Debian 12's packages ([`PACKAGES`] and everything they depend
//! on, resolved by [`debian::resolve_depends`] from apt's metadata),
//! fetched and unpacked with `dpkg -x` by [`crate::debian`] (cached under
//! `target/debian/`, reused without the network), merged into one /usr
//! (`/bin`, `/sbin`, `/lib`, `/lib64` are links into `/usr`, as Debian 12
//! has them) and packed as a cpio initramfs, `target/initramfs-debian.cpio`
//! (which QEMU boots: 118 MiB with gdb; at 85 MiB it unpacked in 0.2 s of
//! emulated time) and its gzip copy `target/initramfs-debian.cpio.gz` (48
//! MiB; at 33 MiB inflating it under TCG took 3.6 s on ours and longer on
//! Linux). No maintainer script runs: the
//! files they would have made (`/etc/passwd`, `/etc/group`,
//! `/etc/hostname`, the empty directories) are written here, and `/init` is
//! `user/debian/init.c` (static, musl), which starts Debian's `bash -l` on
//! the serial console and powers off when it exits.

use crate::Tally;
use crate::cpio::Cpio;
use crate::debian;
use crate::interactive::{Console, STEP, lines};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The packages asked for; their dependencies come along. `libc-bin` (the
/// C.UTF-8 locale, ldconfig) and `ncurses-base` (terminfo) are Essential, so
/// nothing names them; `usr-is-merged` stands for the merge done here (else
/// init-system-helpers' `usrmerge | usr-is-merged` brings the full perl).
pub const PACKAGES: &[&str] = &[
    "libc6",
    "libc-bin",
    "base-files",
    "usr-is-merged",
    "ncurses-base",
    "bash",
    "coreutils",
    "grep",
    "sed",
    "findutils",
    "procps",
    "python3-minimal",
    "libpython3.11-stdlib",
    "perl-base",
    "sqlite3",
    "less",
    "vim-tiny",
    "gzip",
    "diffutils",
    "util-linux",
    // script(1), renice, logger
    "bsdutils",
    "strace",
    "gdb",
    // gdb's libsource-highlight needs it through the virtual
    // libboost-regex1.74.0-icu72, which the resolver does not follow
    "libboost-regex1.74.0",
    // what a shell user reaches for first: mount/umount, hostname, awk
    "mount",
    "hostname",
    "mawk",
    // lsof -p, fuser, killall, pstree: readers of /proc/PID/fd and fdinfo
    "lsof",
    "psmisc",
    // netstat, route, arp, ifconfig (/proc/net/*) and ss, ip (sock_diag,
    // rtnetlink; /proc/net/* when sock_diag is missing)
    "net-tools",
    "iproute2",
    // ping (raw ICMP in a network namespace of one's own)
    "iputils-ping",
];

/// Paths of the packages left out of the image: documentation and
/// translations (Debian's minimal images drop them with dpkg's
/// path-exclude as well).
const EXCLUDE: &[&str] =
    &["usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian"];

/// Directories a system needs that no package ships.
const DIRS: &[&str] = &[
    "dev",
    "proc",
    "sys",
    "tmp",
    "run",
    "root",
    "home",
    "mnt",
    "media",
    "opt",
    "srv",
    "var",
    "var/tmp",
    "var/log",
    "var/cache",
    "var/lib",
    "usr/local",
    "usr/local/bin",
    "usr/local/sbin",
    "usr/local/lib",
];

/// /etc files the maintainer scripts (base-passwd, base-files) would make.
const ETC: &[(&str, &str)] = &[
    (
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    ),
    ("etc/group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"),
    ("etc/shadow", "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n"),
    ("etc/hostname", "debian\n"),
    ("etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
    ("etc/fstab", "# the initramfs is the root; /init mounts the rest\n"),
    ("etc/shells", "/bin/sh\n/bin/bash\n/usr/bin/bash\n"),
];

/// One entry of the image.
enum Node {
    Dir,
    File(PathBuf, u32),
    /// Contents made here (the dpkg database).
    Data(Vec<u8>, u32),
    Link(String),
}

/// Moves a package path into the merged /usr: `bin/x` -> `usr/bin/x`.
fn merged(rel: &str) -> String {
    for top in ["bin", "sbin", "lib", "lib64", "lib32", "libx32"] {
        if rel == top {
            return format!("usr/{top}");
        }
        if let Some(rest) = rel.strip_prefix(top).and_then(|r| r.strip_prefix('/')) {
            return format!("usr/{top}/{rest}");
        }
    }
    rel.to_string()
}

fn walk(root: &Path, dir: &Path, nodes: &mut BTreeMap<String, Node>) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries.flatten() {
        let path = e.path();
        let Ok(rel) = path.strip_prefix(root) else { continue };
        let rel = rel.to_string_lossy().into_owned();
        if rel == ".unpacked" || EXCLUDE.iter().any(|x| rel == *x || rel.starts_with(&format!("{x}/"))) {
            continue;
        }
        let guest = merged(&rel);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            nodes.insert(guest, Node::Link(target.to_string_lossy().into_owned()));
        } else if meta.is_dir() {
            nodes.entry(guest).or_insert(Node::Dir);
            walk(root, &path, nodes)?;
        } else if meta.is_file() {
            nodes.insert(guest, Node::File(path.clone(), meta.permissions().mode() & 0o7777));
        }
    }
    Ok(())
}

/// Compiles `user/debian/init.c` (static, musl) unless the binary is newer.
fn build_init() -> Result<PathBuf, String> {
    crate::setup::ensure_tools(&[("musl-gcc", "musl-tools")])?;
    let src = crate::root().join("user/debian/init.c");
    let out_dir = crate::target_dir().join("user/debian");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let out = out_dir.join("init");
    let time = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if time(&out).is_some() && time(&out) >= time(&src) {
        return Ok(out);
    }
    crate::run(Command::new("musl-gcc").args(["-static", "-O2", "-Wall", "-o"]).arg(&out).arg(&src))?;
    Ok(out)
}

/// Builds `checks/NAME.c` (gdbprog, threadprog) with the host's gcc
/// (Debian 12's, for the same glibc): `-g -O0`, a PIE, its source named
/// as the guest has it.
fn build_check_prog(name: &str) -> Result<PathBuf, String> {
    let dir = crate::root().join("user/debian/checks");
    let src = dir.join(format!("{name}.c"));
    let out_dir = crate::target_dir().join("user/debian");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let out = out_dir.join(name);
    let time = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if time(&out).is_some() && time(&out) >= time(&src) {
        return Ok(out);
    }
    let map = format!("-fdebug-prefix-map={}=/{CHECKS}", dir.display());
    crate::run(Command::new("gcc").args(["-g", "-O0", "-Wall", "-pthread", &map, "-o"]).arg(&out).arg(&src))?;
    Ok(out)
}

/// Resolves, fetches and unpacks `roots` and their dependencies; returns
/// their directories.
pub fn packages_of(roots: &[&str]) -> Result<Vec<(String, PathBuf)>, String> {
    // the resolution (hundreds of apt-cache calls, minutes on a loaded
    // host) is kept per list of roots, next to the unpacked packages
    let key = roots.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, r| {
        r.bytes().chain([b' ']).fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
    });
    let cache = crate::target_dir().join("debian").join(format!("resolved-{key:016x}.txt"));
    let cached: Option<Vec<String>> = std::fs::read_to_string(&cache)
        .ok()
        .map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| !l.is_empty());
    let all = match cached {
        Some(all) => all,
        None => {
            let all = debian::resolve_depends(roots)?;
            let _ = std::fs::write(&cache, all.join("\n") + "\n");
            all
        }
    };
    debian::download_missing(&all)?;
    let mut out = Vec::new();
    for p in all {
        let d = debian::unpacked(&p)?;
        out.push((p, d));
    }
    Ok(out)
}

/// The packed image and what the checks expect of it, counted from the
/// entries packed.
pub struct Image {
    /// `target/initramfs-debian.cpio`, what QEMU boots: unpacking it takes
    /// 0.2 s of emulated time, inflating the gzip copy 3.6 s (ours; TCG).
    pub path: PathBuf,
    /// `target/initramfs-debian.cpio.gz`, the same archive compressed.
    pub gz: PathBuf,
    /// Regular files, symlinks and directories under /usr (as `find /usr
    /// -type f|l|d` counts them).
    pub usr: (usize, usize, usize),
    /// Entries of /usr/bin (as `ls /usr/bin` lists them).
    pub usr_bin: usize,
    /// Lines `import threading` in /usr/lib/python3.11 (`grep -rx`).
    pub grep_lines: usize,
}

/// Where the check scripts (`user/debian/checks/*.sh`) go in the image.
const CHECKS: &str = "usr/local/lib/checks";

/// Builds `target/initramfs-debian.cpio` and its gzip copy.
pub fn build_initramfs() -> Result<Image, String> {
    build_named(&[], "initramfs-debian", true)
}

/// Builds `target/NAME.cpio` (and `NAME.cpio.gz` when `gzip`): the Debian
/// system with `extra` `(guest path, host file)` programs added last, so
/// that they replace what is there (the bench's /init).
pub fn build_named(extra: &[(String, PathBuf)], name: &str, gzip: bool) -> Result<Image, String> {
    build_image(PACKAGES, extra, name, gzip)
}

/// [`build_named`] of the packages `roots` (and their dependencies)
/// instead of [`PACKAGES`] (the developer's system of
/// [`crate::devsys`]).
pub fn build_image(
    roots: &[&str],
    extra: &[(String, PathBuf)],
    name: &str,
    gzip: bool,
) -> Result<Image, String> {
    build_image_plus(roots, extra, &[], name, gzip)
}

/// What [`build_image_plus`] adds last, at a guest path.
pub enum Added {
    /// A file made here, with its mode.
    Data(Vec<u8>, u32),
    /// A symbolic link to the target.
    Link(String),
}

/// [`build_image`] with `added` entries put in last (over what is there:
/// the unit files and links of the systemd image, [`crate::systemd`]).
pub fn build_image_plus(
    roots: &[&str],
    extra: &[(String, PathBuf)],
    added: &[(String, Added)],
    name: &str,
    gzip: bool,
) -> Result<Image, String> {
    let pkgs = packages_of(roots)?;
    let init = build_init()?;
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    for (_, d) in &pkgs {
        walk(d, d, &mut nodes)?;
    }
    // base-files' postinst copies these into place
    if let Some((_, d)) = pkgs.iter().find(|p| p.0 == "base-files") {
        let b = d.join("usr/share/base-files");
        for (guest, file, mode) in [
            ("etc/profile", "profile", 0o644),
            ("root/.bashrc", "dot.bashrc", 0o644),
            ("root/.profile", "dot.profile", 0o644),
            ("etc/motd", "motd", 0o644),
        ] {
            nodes.insert(guest.into(), Node::File(b.join(file), mode));
        }
    }
    nodes.insert("usr/local/lib".into(), Node::Dir);
    nodes.insert(CHECKS.into(), Node::Dir);
    let checks = crate::root().join("user/debian/checks");
    for e in std::fs::read_dir(&checks).map_err(|e| format!("{}: {e}", checks.display()))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        nodes.insert(format!("{CHECKS}/{name}"), Node::File(e.path(), 0o644));
    }
    for prog in ["gdbprog", "threadprog"] {
        nodes.insert(format!("{CHECKS}/{prog}"), Node::File(build_check_prog(prog)?, 0o755));
    }
    for d in DIRS {
        nodes.entry(d.to_string()).or_insert(Node::Dir);
    }
    for top in ["bin", "sbin", "lib", "lib64"] {
        nodes.insert(top.into(), Node::Link(format!("usr/{top}")));
        nodes.entry(format!("usr/{top}")).or_insert(Node::Dir);
    }
    nodes.insert("init".into(), Node::File(init.clone(), 0o755));
    for cmd in ["poweroff", "reboot", "halt"] {
        nodes.insert(format!("usr/sbin/{cmd}"), Node::Link("/init".into()));
    }
    // what the maintainer scripts would have made: sh is dash's, here bash
    nodes.entry("usr/bin/sh".into()).or_insert(Node::Link("bash".into()));
    nodes.entry("usr/bin/vi".into()).or_insert(Node::Link("/usr/bin/vim.tiny".into()));
    nodes.entry("usr/bin/python3".into()).or_insert(Node::Link("python3.11".into()));
    nodes.entry("usr/bin/pager".into()).or_insert(Node::Link("/usr/bin/less".into()));
    // update-alternatives' awk, and the mtab systemd or initscripts would
    // link (df, mount and findmnt read it)
    nodes.entry("usr/bin/awk".into()).or_insert(Node::Link("mawk".into()));
    nodes.entry("etc/mtab".into()).or_insert(Node::Link("../proc/self/mounts".into()));
    if pkgs.iter().any(|p| p.0 == "dpkg") {
        dpkg_database(&pkgs, &mut nodes)?;
    }
    if pkgs.iter().any(|p| p.0 == "gcc") {
        // update-alternatives' cc and c++ (gcc's and g++'s postinst)
        nodes.entry("usr/bin/cc".into()).or_insert(Node::Link("gcc".into()));
    }
    for (guest, host) in extra {
        let mut d = String::new();
        let parts: Vec<&str> = guest.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            d = if d.is_empty() { part.to_string() } else { format!("{d}/{part}") };
            nodes.entry(merged(&d)).or_insert(Node::Dir);
        }
        nodes.insert(merged(guest), Node::File(host.clone(), 0o755));
    }
    for (guest, what) in added {
        let mut d = String::new();
        let parts: Vec<&str> = guest.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            d = if d.is_empty() { part.to_string() } else { format!("{d}/{part}") };
            nodes.entry(merged(&d)).or_insert(Node::Dir);
        }
        let node = match what {
            Added::Data(data, mode) => Node::Data(data.clone(), *mode),
            Added::Link(target) => Node::Link(target.clone()),
        };
        nodes.insert(merged(guest), node);
    }
    let mut c = Cpio::default();
    let mut etc_done = false;
    for (path, node) in &nodes {
        match node {
            Node::Dir => c.dir(path),
            Node::Link(t) => c.symlink(path, t),
            Node::Data(data, mode) => c.file(path, *mode, data),
            Node::File(host, mode) => {
                if ETC.iter().any(|(p, _)| p == path) {
                    continue;
                }
                let data = std::fs::read(host).map_err(|e| format!("{}: {e}", host.display()))?;
                c.file(path, *mode, &data);
            }
        }
        if path == "etc" && !etc_done {
            etc_done = true;
            for (p, text) in ETC {
                let mode = if *p == "etc/shadow" { 0o640 } else { 0o644 };
                c.file(p, mode, text.as_bytes());
            }
        }
    }
    crate::rootfs::add_dev_nodes(&mut c);
    let under_usr = |p: &String| p == "usr" || p.starts_with("usr/");
    let count = |f: &dyn Fn(&Node) -> bool| nodes.iter().filter(|(p, n)| under_usr(p) && f(n)).count();
    let usr = (
        count(&|n| matches!(n, Node::File(..))),
        count(&|n| matches!(n, Node::Link(..))),
        count(&|n| matches!(n, Node::Dir)),
    );
    let usr_bin = nodes
        .keys()
        .filter_map(|p| p.strip_prefix("usr/bin/"))
        .filter(|rest| !rest.contains('/') && !rest.starts_with('.'))
        .count();
    let mut grep_lines = 0;
    for (p, n) in &nodes {
        if let (true, Node::File(host, _)) = (p.starts_with("usr/lib/python3.11/"), n) {
            let data = std::fs::read(host).map_err(|e| format!("{}: {e}", host.display()))?;
            grep_lines += data.split(|&b| b == b'\n').filter(|l| *l == b"import threading").count();
        }
    }
    let cpio = crate::target_dir().join(format!("{name}.cpio"));
    std::fs::write(&cpio, c.finish()).map_err(|e| format!("{}: {e}", cpio.display()))?;
    let gz = crate::target_dir().join(format!("{name}.cpio.gz"));
    let _ = std::fs::remove_file(&gz);
    if gzip {
        crate::run(Command::new("gzip").args(["-1", "-f", "-k"]).arg(&cpio))?;
    }
    let size = std::fs::metadata(&gz).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "xtask: Debian system: {} packages, {} entries, {} ({} MiB; gzip: {} MiB)",
        pkgs.len(),
        nodes.len(),
        cpio.display(),
        std::fs::metadata(&cpio).map(|m| m.len()).unwrap_or(0) >> 20,
        size >> 20
    );
    Ok(Image { path: cpio, gz, usr, usr_bin, grep_lines })
}

/// The dpkg database dpkg's own installation would have left:
/// `/var/lib/dpkg/status` with every package's control fields marked
/// `install ok installed`, and `info/PKG.list` with the paths it shipped
/// (as in the package, before the /usr merge, as dpkg records them on a
/// merged-/usr Debian 12), so that `dpkg -l`, `dpkg -L` and `dpkg -i`
/// work without warnings, and `info/PKG.md5sums` (`dpkg --audit`, `dpkg -V`).
fn dpkg_database(pkgs: &[(String, PathBuf)], nodes: &mut BTreeMap<String, Node>) -> Result<(), String> {
    let debs = crate::target_dir().join("debian").join("debs");
    let have: Vec<PathBuf> = std::fs::read_dir(&debs)
        .map_err(|e| format!("{}: {e}", debs.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    for d in [
        "var/lib/dpkg",
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
        "var/lib/dpkg/alternatives",
        "var/lib/dpkg/parts",
        "var/cache/apt",
        "var/lib/apt",
    ] {
        nodes.insert(d.into(), Node::Dir);
    }
    let mut status = String::new();
    for (name, dir) in pkgs {
        let deb = have.iter().find(|p| {
            p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("{name}_")))
                && p.extension().is_some_and(|x| x == "deb")
        });
        let Some(deb) = deb else { return Err(format!("no .deb of {name} in {}", debs.display())) };
        let out =
            Command::new("dpkg-deb").arg("-f").arg(deb).output().map_err(|e| format!("dpkg-deb: {e}"))?;
        let control = String::from_utf8_lossy(&out.stdout);
        let mut rec = String::new();
        for line in control.lines() {
            rec.push_str(line);
            rec.push('\n');
            if line.starts_with("Package: ") {
                rec.push_str("Status: install ok installed\n");
            }
        }
        status.push_str(&rec);
        status.push('\n');
        // the package's md5sums control file (`dpkg --audit`, `dpkg -V`)
        let sums = Command::new("dpkg-deb").arg("-I").arg(deb).arg("md5sums").output();
        let sums = sums.ok().filter(|o| o.status.success()).map(|o| o.stdout);
        let arch = control.lines().find_map(|l| l.strip_prefix("Architecture: ")).unwrap_or("all").trim();
        let mut paths = vec!["/.".to_string()];
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
                .map_err(|e| format!("{}: {e}", d.display()))?
                .flatten()
                .map(|e| e.path())
                .collect();
            entries.sort();
            for p in entries {
                let Ok(rel) = p.strip_prefix(dir) else { continue };
                let rel = rel.to_string_lossy().into_owned();
                if rel == ".unpacked" {
                    continue;
                }
                paths.push(format!("/{rel}"));
                if p.is_dir() && !p.is_symlink() {
                    stack.push(p);
                }
            }
        }
        paths.sort();
        // a Multi-Arch: same package's files are `PKG:ARCH.list`
        let same = control.lines().any(|l| l.trim() == "Multi-Arch: same");
        let list_name = if same { format!("{name}:{arch}") } else { name.clone() };
        nodes.insert(
            format!("var/lib/dpkg/info/{list_name}.list"),
            Node::Data((paths.join("\n") + "\n").into_bytes(), 0o644),
        );
        if let Some(sums) = sums {
            nodes.insert(format!("var/lib/dpkg/info/{list_name}.md5sums"), Node::Data(sums, 0o644));
        }
    }
    nodes.insert("var/lib/dpkg/status".into(), Node::Data(status.into_bytes(), 0o644));
    nodes.insert("var/lib/dpkg/available".into(), Node::Data(Vec::new(), 0o644));
    nodes.insert("var/lib/dpkg/diversions".into(), Node::Data(Vec::new(), 0o644));
    nodes.insert("var/lib/dpkg/statoverride".into(), Node::Data(Vec::new(), 0o644));
    Ok(())
}

/// QEMU's memory for the Debian system unless `--memory` is given.
pub const MEMORY: &str = "1G";

/// Our kernel's command line for the Debian system: warnings only on the
/// console (Linux has `quiet`), so that the kernel's one-line notes about
/// unsupported calls do not mix with what the programs print.
pub const CMDLINE: &str = "log=warn";

/// Debian's bash prompt for root in its home (PS1 of /etc/bash.bashrc).
const PROMPT: &str = "root@debian:~# ";

/// Runs `sh -c cmd` on the host (the expected output of a pipeline that
/// Debian's tools run the same way in the guest).
fn host_sh(cmd: &str) -> Result<String, String> {
    let o =
        Command::new("sh").args(["-c", cmd]).env("LC_ALL", "C.UTF-8").output().map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Types `cmd`, waits up to `secs` for the prompt; the output's lines.
fn run_long(c: &mut Console, cmd: &str, secs: u64) -> Result<Vec<String>, String> {
    c.type_keys(&format!("{cmd}\r"))?;
    c.expect(&format!("{cmd}\n"), STEP)?;
    let out = c.expect(PROMPT, std::time::Duration::from_secs(secs))?;
    Ok(lines(&out).into_iter().map(str::to_string).collect())
}

fn want(got: &[String], want: &[&str]) -> Result<(), String> {
    if got == want { Ok(()) } else { Err(format!("got {got:?}, want {want:?}")) }
}

/// Runs check `name` unless `only` names others (`--tests`; poweroff always runs).
fn check(
    t: &mut Tally,
    c: &mut Console,
    only: &[String],
    name: &str,
    f: impl FnOnce(&mut Console) -> Result<(), String>,
) {
    if !only.is_empty() && name != "poweroff" && !only.iter().any(|o| o == name) {
        return;
    }
    let r = f(c);
    t.check(&format!("debian::{name}"), r.is_ok(), r.as_ref().err().map_or("", |e| e.as_str()));
}

/// The Debian part of `cargo xtask test` (ours or Linux, the same image and
/// the same expectations): boots `kernel` with the Debian system, reports
/// the time to the prompt, types the interactive commands and runs the
/// check scripts (only those named in `only`, when it is not empty), then
/// `poweroff`.
/// `smp`: its guest CPUs.
pub fn run_tests(
    kernel: PathBuf,
    cmdline: &str,
    only: &[String],
    smp: u32,
    t: &mut Tally,
) -> Result<(), String> {
    let img = build_initramfs()?;
    let memory = crate::MEMORY.get().cloned().unwrap_or_else(|| MEMORY.into());
    let q = crate::qemu::Qemu::boot(kernel, Some(img.path.clone()), cmdline, smp, memory);
    let wall = std::time::Instant::now();
    let mut c = Console::boot(&q, true)?;
    c.prompt = PROMPT;
    let booted =
        c.expect("booted in ", std::time::Duration::from_secs(120)).and_then(|_| c.expect(" s;", STEP));
    let up = booted.as_ref().map(|s| s.trim().to_string()).unwrap_or_default();
    let prompt = booted.and_then(|_| c.expect(PROMPT, STEP));
    t.check("debian::prompt", prompt.is_ok(), prompt.as_ref().err().map_or("", |e| e.as_str()));
    if prompt.is_err() {
        return Ok(());
    }
    println!(
        "\nxtask: Debian's bash prompt: booted in {up} s of emulated time (/proc/uptime at /init), {:.2} s wall",
        wall.elapsed().as_secs_f64()
    );
    // before python3 writes its __pycache__ directories under /usr
    let script = |name: &str| format!("bash /{CHECKS}/{name}.sh");
    check(t, &mut c, only, "find_grep_usr", |c| {
        let got = run_long(c, &script("usr"), 120)?;
        let (f, l, d) = img.usr;
        want(
            &got,
            &[
                &format!("files {f}"),
                &format!("links {l}"),
                &format!("dirs {d}"),
                &format!("grep {}", img.grep_lines),
            ],
        )
    });
    check(t, &mut c, only, "ls_usr_bin_wc", |c| {
        let got = run_long(c, "ls --color=never /usr/bin | wc -l", 60)?;
        want(&got, &[&img.usr_bin.to_string()])
    });
    check(t, &mut c, only, "python3_print", |c| want(&run_long(c, "python3 -c 'print(6*7)'", 60)?, &["42"]));
    check(t, &mut c, only, "ps_aux", |c| {
        let got = run_long(c, "ps aux", 60)?;
        let head = got.first().map(|l| l.split_whitespace().collect::<Vec<_>>()).unwrap_or_default();
        let cols = ["USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START", "TIME", "COMMAND"];
        let has = |pid: &str, tty: &str, cmd: &str| {
            got.iter().any(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.len() >= 11
                    && w[0] == "root"
                    && (pid.is_empty() || w[1] == pid)
                    && w[6] == tty
                    && w[10..].join(" ") == cmd
            })
        };
        if head == cols && has("1", "?", "/init") && has("", "ttyS0", "bash -l") && has("", "ttyS0", "ps aux")
        {
            Ok(())
        } else {
            Err(format!("ps aux: {got:?}"))
        }
    });
    check(t, &mut c, only, "ls_la_root", |c| {
        let got = run_long(c, "ls -la /", 60)?;
        let entry = |name: &str| {
            got.iter().find(|l| l.split_whitespace().nth(8).is_some_and(|n| n == name)).map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                format!("{} {} {}", w[0], w[2], w[8..].join(" "))
            })
        };
        let expect = [
            ("bin", "lrwxrwxrwx root bin -> usr/bin"),
            ("lib", "lrwxrwxrwx root lib -> usr/lib"),
            ("lib64", "lrwxrwxrwx root lib64 -> usr/lib64"),
            ("sbin", "lrwxrwxrwx root sbin -> usr/sbin"),
            ("usr", "drwxr-xr-x root usr"),
            ("etc", "drwxr-xr-x root etc"),
            ("proc", "dr-xr-xr-x root proc"),
            ("tmp", "drwxrwxrwt root tmp"),
            ("init", "-rwxr-xr-x root init"),
        ];
        let bad: Vec<String> = expect
            .iter()
            .filter(|(n, w)| entry(n).as_deref() != Some(*w))
            .map(|(n, w)| format!("{n}: {:?} (want {w:?})", entry(n)))
            .collect();
        if got.first().is_some_and(|l| l.starts_with("total ")) && bad.is_empty() {
            Ok(())
        } else {
            Err(format!("{bad:?} in {got:?}"))
        }
    });
    check(t, &mut c, only, "python3_json_re_threading_subprocess_fork", |c| {
        let got = run_long(c, &script("python"), 120)?;
        want(&got, &["py [1, 2, 3] x ['1', '22', '333'] [0, 1, 4, 9, 16, 25, 36, 49] hi 7"])
    });
    check(t, &mut c, only, "perl_e", |c| {
        let got = run_long(c, &script("perl"), 60)?;
        want(&got, &["0=142,1=143,2=143,3=143,4=143,5=143,6=143", "6f 6b", "from child", "status 0"])
    });
    check(t, &mut c, only, "sqlite3_100k_rows_locked", |c| {
        let got = run_long(c, &script("sqlite"), 240)?;
        let mode = |m: &'static str| {
            [
                m,
                "holding",
                "Error: stepping, database is locked (5)",
                "writer 5",
                "100000|5000050000|3939393939",
                "100001",
                "ok",
            ]
        };
        let all: Vec<&str> = mode("delete").into_iter().chain(mode("wal")).collect();
        want(&got, &all)
    });
    check(t, &mut c, only, "sort_md5sum", |c| {
        let got = run_long(c, &script("sort"), 120)?;
        let host = host_sh(
            "seq 200000 -3 1 | sed 's/$/ line/' > /tmp/xtask-gen.$$; sort /tmp/xtask-gen.$$ | md5sum; \
             sort -n /tmp/xtask-gen.$$ | md5sum; rm /tmp/xtask-gen.$$",
        )?;
        let host: Vec<&str> = lines(&host);
        want(&got, &host)
    });
    check(t, &mut c, only, "ps_top_cpu_times", |c| {
        let got = run_long(c, &script("cpu"), 120)?;
        want(&got, &["PID S+   00:00:01 perl", "Tasks:", "%Cpu(s):", "MiB Mem", "S 0:01. perl", "status 143"])
    });
    check(t, &mut c, only, "bash_process_substitution", |c| {
        want(&run_long(c, &script("procsub"), 60)?, &["same", "a", "b", "42", "got 1", "got 2"])
    });
    check(t, &mut c, only, "ipc_namespaces", |c| {
        // util-linux in IPC namespaces: each starts empty, ids from 0;
        // semaphore sets and message queues too
        want(
            &run_long(c, &script("ipcns"), 60)?,
            &[
                "outer 1",
                "inner 0",
                "inner 0 8192",
                "user 0 0",
                "user 0 12288",
                "outer 1",
                "removed",
                "sem 644 3",
                "msg 644 0 0",
                "inner sq 0",
                "inner 0 0",
                "inner 0 2",
                "removed sq 0",
            ],
        )
    });
    check(t, &mut c, only, "sysvipc_posixmq_python", |c| {
        // SysV semaphores/message queues and POSIX message queues from
        // python3's ctypes: values and errno as Linux; a queue's file in a
        // mqueue mount (size 80, as Linux's FILENT_SIZE)
        want(
            &run_long(c, &script("sysvipc"), 120)?,
            &[
                "semget True",
                "setval 0 7",
                "setall 0 [1, 2, 3]",
                "semop 0 0 8 True",
                "eagain EAGAIN",
                "efbig EFBIG",
                "erange 0 ERANGE ERANGE",
                "semctl bad EINVAL EINVAL EINVAL",
                "sem_info True (1024000000, 32000, 1024000000, 1024000000) (1, 32767, 3)",
                "ipc_info True (1024000000, 32000, 1024000000, 1024000000, 32000, 500, 500, 20, 32767, 32767)",
                "undo 2",
                "ncnt 1 0",
                "rmid 0",
                "waiter EIDRM",
                "after EINVAL",
                "semget errs EINVAL EINVAL ENOENT",
                "excl EEXIST EINVAL True",
                "snd 0 0 0 EINVAL EINVAL",
                "rcv (2, b'two') (1, b'one') ENOMSG E2BIG (3, b'th') ENOMSG",
                "except 0 0 (5, b'b') (4, b'a')",
                "copy 0 0 (8, b'c1') ENOMSG EINVAL",
                "stat 0 (4, 2, 16384)",
                "msginfo True (512000, 16384, 8192, 16384, 32000, 16, 16384, 65535)",
                "msg_info True (16384, 32000, 16)",
                "msgctl bad EINVAL EINVAL",
                "fill [0, 'EAGAIN', 'EAGAIN']",
                "rm 0 EINVAL EINVAL",
                "open True EEXIST",
                "send 0 send 0 send 0 send 0",
                "attr 0 4 64 4",
                "setattr 0",
                "full EAGAIN EMSGSIZE",
                "small EMSGSIZE",
                "recv [(4, 9, b'high'), (5, 9, b'high2'), (3, 5, b'mid'), (3, 1, b'low'), ('EAGAIN', 1, b'')]",
                "errs EACCES ENOENT ENOENT EINVAL EINVAL",
                "unlink 0 ENOENT",
                "close 0 EBADF",
                "close 0 EBADF",
                "-rw-r----- 80 /tmp/mqfs/deb37",
                "QSIZE:4          NOTIFY:0     SIGNO:0     NOTIFY_PID:0",
                "0",
            ],
        )
    });
    check(t, &mut c, only, "util_linux_sandbox_tools", |c| {
        // util-linux's namespace and process tools as sandbox scripts use
        // them (deb38): proc mounted by a user namespace's root in its
        // own PID namespace (refused without one), choom's oom_score,
        // prlimit, setpriv, taskset, chrt, ionice, flock, nsenter, a
        // netlink socket's port numbered in its PID namespace
        want(
            &run_long(c, &script("sandbox"), 120)?,
            &[
                "0 1 ps sh",
                "noproc 32",
                "proc 0 1",
                "pid N's current OOM score: S",
                "pid N's current OOM score adjust value: 300",
                "score 1",
                "100 200",
                "prlimit: the soft limit NPROC cannot exceed the hard limit",
                "1",
                "NoNewPrivs:\t1",
                "CapBnd:\t000001ffffffdfff",
                "Cpus_allowed_list:\t1",
                "taskset: failed to set pid N's affinity: Invalid argument",
                "pid N's current scheduling policy: SCHED_FIFO",
                "pid N's current scheduling priority: 10",
                "best-effort: prio 3",
                "flock 1",
                "nsx",
                "nl 1 1",
            ],
        )
    });
    check(t, &mut c, only, "pty_python_and_script", |c| {
        want(
            &run_long(c, &script("pty"), 60)?,
            &["/dev/pts/0|0 0|pty-ok| 0", "/dev/pts/0", "script-ok", "b'\\x00x'", "b'\\x01'", "b'y\\n'"],
        )
    });
    check(t, &mut c, only, "startup_times", |c| {
        let got = run_long(c, &script("startup"), 120)?;
        let ok = got.len() == 2
            && got[0].starts_with("python3 -c pass: ")
            && got[1].starts_with("bash -c true: ")
            && got.iter().all(|l| l.ends_with(" ms"));
        for l in &got {
            println!("\nxtask: start-up: {l}");
        }
        if ok { Ok(()) } else { Err(format!("got {got:?}")) }
    });
    check(t, &mut c, only, "glibc_hwcaps", |c| {
        // ld.so picks glibc-hwcaps/x86-64-v3 as on Linux under -cpu max
        // (AVX2 usable once the kernel enables XSAVE/AVX)
        let got = run_long(c, &script("hwcaps"), 60)?;
        want(&got, &["x86-64-v4", "x86-64-v3 (supported, searched)", "x86-64-v2 (supported, searched)"])
    });
    check(t, &mut c, only, "strace_ff", |c| {
        // strace -ff: every process traced from its first call (the first
        // one SEIZEd while stopped), the same lines as on Linux
        let mut got = run_long(c, &script("strace"), 300)?;
        got.sort();
        let mut want: Vec<String> = [
            "P0 execve(\"/usr/bin/sh\", [\"sh\", \"-c\", \"ls / | wc -l\"], 0xX /* 11 vars */) = 0",
            "P0 pipe2([3, 4], 0) = 0",
            "P0 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0xX) = P1",
            "P0 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0xX) = P2",
            "P0 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = P1",
            "P0 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = P2",
            "P0 wait4(-1, 0xX, WNOHANG, NULL) = -1 ECHILD (No child processes)",
            "P0 exit_group(0) = ?",
            "P0 +++ exited with 0 +++",
            "P1 dup2(4, 1) = 1",
            "P1 execve(\"/usr/bin/ls\", [\"ls\", \"/\"], 0xX /* 11 vars */) = 0",
            "P1 exit_group(0) = ?",
            "P1 +++ exited with 0 +++",
            "P2 dup2(3, 0) = 0",
            "P2 execve(\"/usr/bin/wc\", [\"wc\", \"-l\"], 0xX /* 11 vars */) = 0",
            "P2 exit_group(0) = ?",
            "P2 +++ exited with 0 +++",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        want.sort();
        if got == want { Ok(()) } else { Err(format!("got {got:?}, want {want:?}")) }
    });
    check(t, &mut c, only, "strace_threads", |c| {
        // strace -ff of a threaded program: each thread traced from its
        // clone3 (PTRACE_O_TRACECLONE), its calls (rseq among them) and its exit in its own
        // file, the same lines as strace 6.1 prints on Linux
        // no argument (the script's default, /{CHECKS}/threadprog): with it
        // the line passes 80 columns after the prompt and bash's wrap puts
        // a space into the echo the check waits for
        let got = run_long(c, &script("strace_threads"), 300)?;
        let clone = |p: &str| {
            format!(
                "P0 clone3({{flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|\
                 CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0xX, parent_tid=0xX, \
                 exit_signal=0, stack=0xX, stack_size=0xX, tls=0xX}} => {{parent_tid=[{p}]}}, 88) = {p}"
            )
        };
        let (c1, c2) = (clone("P1"), clone("P2"));
        // glibc registers rseq(2) in every thread at its start (rseq37:
        // it was ENOSYS here)
        want(
            &got,
            &[
                "P0 rseq(0xX, 0xX, 0, 0xX) = 0",
                c1.as_str(),
                c2.as_str(),
                "P0 exit_group(0) = ?",
                "P0 +++ exited with 0 +++",
                "P1 rseq(0xX, 0xX, 0, 0xX) = 0",
                "P1 getppid() = N",
                "P1 exit(0) = ?",
                "P1 +++ exited with 0 +++",
                "P2 rseq(0xX, 0xX, 0, 0xX) = 0",
                "P2 getppid() = N",
                "P2 exit(0) = ?",
                "P2 +++ exited with 0 +++",
            ],
        )
    });
    check(t, &mut c, only, "gdb_break_main", |c| {
        // gdb -batch: a breakpoint at main, the backtrace, rip, and the run
        // to the exit (addresses and the pid normalised), as on Linux
        let got = run_long(c, &script("gdb"), 300)?;
        want(
            &got,
            &[
                "Breakpoint 1 at 0xX: file /usr/local/lib/checks/gdbprog.c, line 12.",
                "[Thread debugging using libthread_db enabled]",
                "Using host libthread_db library \"/lib/x86_64-linux-gnu/libthread_db.so.1\".",
                "Breakpoint 1, main () at /usr/local/lib/checks/gdbprog.c:12",
                "12 int v = twice(21);",
                "#0 main () at /usr/local/lib/checks/gdbprog.c:12",
                "rip 0xX 0xX <main+8>",
                "gdbprog 42",
                "[Inferior 1 (process N) exited with code 03]",
            ],
        )
    });
    check(t, &mut c, only, "unshare_net", |c| {
        // unshare -rn: lo down and without addresses, brought up by ip,
        // pinged; a Python server and client inside (bind before lo is up
        // works, connect is ENETUNREACH, as Linux)
        want(
            &run_long(c, &script("netns"), 120)?,
            &[
                "1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN group default qlen 1000",
                "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
                "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000",
                "    inet 127.0.0.1/8 scope host lo",
                "       valid_lft forever preferred_lft forever",
                "ping 0",
                "lo down 101",
                "HELLO NS",
                "3 tcp rows",
                "ns differ",
            ],
        )
    });
    check(t, &mut c, only, "ip_addr_route_changes", |c| {
        // iproute2's ip addr/route add/del/replace and ip monitor in
        // `unshare -rn` (user/debian/checks/ipchange.sh)
        want(&run_long(c, &script("ipchange"), 120)?, IPCHANGE)
    });
    check(t, &mut c, only, "poweroff", |c| c.poweroff(STEP));
    println!();
    Ok(())
}

/// What user/debian/checks/ipchange.sh prints (Linux 6.1 and ours).
const IPCHANGE: &[&str] = &[
    "addr add 0",
    "addr again 2",
    "lo 127.0.0.1/8 scope host",
    "lo 10.9.9.9/24 scope global",
    "route add 0",
    "route again 2",
    "unreachable gw 2",
    "route replace 0",
    "192.168.5.0/24 dev lo scope link",
    "route del 0",
    "route del again 2",
    "addr del 0",
    "addr del again 2",
    "addr6 add 0",
    "route6 add 0",
    "2001:db8:5::/64 dev lo metric 1024 pref medium",
    "route6 del 0",
    // lo down: the local table's two host routes of 127.0.0.1/8 stay
    "2",
    // ip monitor, sorted (the replace of an identical route tells nobody)
    "       valid_lft forever preferred_lft forever",
    "       valid_lft forever preferred_lft forever",
    "       valid_lft forever preferred_lft forever",
    "192.168.5.0/24 dev lo scope link",
    "1: lo    inet 10.9.9.9/24 scope global lo",
    "1: lo    inet6 2001:db8::1/64 scope global",
    "2001:db8:5::/64 dev lo metric 1024 pref medium",
    "2001:db8::/64 dev lo proto kernel metric 256 pref medium",
    "Deleted 192.168.5.0/24 dev lo scope link",
    "Deleted 1: lo    inet 10.9.9.9/24 scope global lo",
    "Deleted 2001:db8:5::/64 dev lo metric 1024 pref medium",
];

/// Unpacks a newc cpio archive (the one [`build_initramfs`] writes) into
/// `dir`: directories, regular files with their modes, symlinks; device
/// nodes are left out (the system's /init mounts devtmpfs on /dev).
fn unpack_cpio(data: &[u8], dir: &Path) -> Result<usize, String> {
    use std::os::unix::fs::PermissionsExt;
    let hex = |b: &[u8]| -> Result<usize, String> {
        let s = std::str::from_utf8(b).map_err(|_| "cpio: a bad header field".to_string())?;
        usize::from_str_radix(s, 16).map_err(|_| format!("cpio: a bad header field {s:?}"))
    };
    let pad = |n: usize| n.div_ceil(4) * 4;
    let (mut at, mut count) = (0, 0);
    loop {
        let h = data.get(at..at + 110).ok_or("cpio: the archive ends inside a header")?;
        if &h[..6] != b"070701" {
            return Err(format!("cpio: no newc header at byte {at}"));
        }
        let field = |i: usize| hex(&h[6 + i * 8..14 + i * 8]);
        let (mode, size, namesize) = (field(1)?, field(6)?, field(11)?);
        let name_end = at + 110 + namesize;
        let name = data.get(at + 110..name_end - 1).ok_or("cpio: the archive ends inside a name")?;
        let name = String::from_utf8_lossy(name).into_owned();
        let data_at = pad(name_end);
        let body = data.get(data_at..data_at + size).ok_or("cpio: the archive ends inside a file")?;
        at = pad(data_at + size);
        if name == "TRAILER!!!" {
            return Ok(count);
        }
        let path = dir.join(name.trim_start_matches('/'));
        if name.contains("..") {
            return Err(format!("cpio: a name that leaves the tree: {name}"));
        }
        let err = |e: std::io::Error| format!("{}: {e}", path.display());
        match mode & 0o170000 {
            0o040000 => std::fs::create_dir_all(&path).map_err(err)?,
            0o100000 => {
                std::fs::write(&path, body).map_err(err)?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode as u32 & 0o7777))
                    .map_err(err)?;
            }
            0o120000 => {
                let target = String::from_utf8_lossy(body).into_owned();
                std::os::unix::fs::symlink(target, &path).map_err(err)?;
            }
            _ => continue,
        }
        count += 1;
    }
}

/// `cargo xtask qemu --debian --disk PATH` with no PATH yet: the Debian
/// system installed on an ext2 image (its tree, as the initramfs has it,
/// through `mke2fs -d`, with 512 MiB free for what the user adds).
pub fn make_disk(path: &Path) -> Result<(), String> {
    let img = build_initramfs()?;
    let data = std::fs::read(&img.path).map_err(|e| format!("{}: {e}", img.path.display()))?;
    let dir = crate::target_dir().join("debian-disk-root");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let n = unpack_cpio(&data, &dir)?;
    // the mount points an initramfs root gets from the kernel
    for d in ["dev", "proc", "sys", "tmp", "run", "mnt"] {
        let _ = std::fs::create_dir_all(dir.join(d));
    }
    let size = data.len() as u64 * 5 / 4 + (512 << 20);
    let made = crate::disk::make_image(Some(&dir), path, Some(size), 4096);
    let _ = std::fs::remove_dir_all(&dir);
    made?;
    eprintln!("xtask: {}: the Debian system ({n} entries) on ext2, {} MiB", path.display(), size >> 20);
    Ok(())
}

/// The kernel command line that boots the Debian system from /dev/vda.
pub const DISK_CMDLINE: &str = "log=warn root=/dev/vda rw init=/init";

#[cfg(test)]
mod tests {
    use super::merged;

    #[test]
    fn paths_move_into_usr() {
        assert_eq!(merged("bin/bash"), "usr/bin/bash");
        assert_eq!(merged("bin"), "usr/bin");
        assert_eq!(merged("lib/x86_64-linux-gnu/libc.so.6"), "usr/lib/x86_64-linux-gnu/libc.so.6");
        assert_eq!(merged("lib64/ld-linux-x86-64.so.2"), "usr/lib64/ld-linux-x86-64.so.2");
        assert_eq!(merged("sbin/ldconfig"), "usr/sbin/ldconfig");
        assert_eq!(merged("usr/bin/python3"), "usr/bin/python3");
        assert_eq!(merged("binx/y"), "binx/y");
        assert_eq!(merged("etc/profile"), "etc/profile");
    }
}
