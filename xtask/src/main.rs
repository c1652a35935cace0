//! `cargo xtask`: build, boot and test the kernel.
//!
//! ```text
//! cargo xtask build [--release]
//! cargo xtask qemu  [--release] [--iso] [--gdb] [--smp N] [--timeout SECS] [-- kernel command line]
//!                    (2 CPUs unless --smp: every machine xtask boots for qemu, test and fuzz)
//! cargo xtask qemu  [--forward HOST:GUEST]... | --no-net   (a virtio-net NIC on QEMU's user network by default)
//! cargo xtask qemu  --disk PATH      (a raw image as /dev/vda, virtio-blk; an empty 64 MiB ext2 made when absent)
//! cargo xtask qemu  --debian [--linux]   (Debian's bash and userland; 1G unless --memory)
//! cargo xtask rootfs --debian        (builds target/initramfs-debian.cpio.gz)
//! cargo xtask qemu  --debian-dev [--linux]   (the Debian system plus gcc, make, git, tar, xz, dpkg, ...; 3G)
//! cargo xtask rootfs --debian-dev    (builds target/initramfs-debian-dev.cpio)
//! cargo xtask qemu|rootfs --debian[-dev] --packages P[,P...] [--linux]   (that system plus Debian's packages P and their dependencies)
//! cargo xtask systemd [--linux | --ours] [--smp N] [--memory 1G] [--timeout SECS] [-- words]   (Debian's systemd as PID 1 on both kernels; compares its report; not in CI)
//! cargo xtask devsys [--linux | --ours] [--smp N] [--memory 3G] [--timeout SECS]   (the developer's script on it; compares ours with Linux; not in CI)
//! cargo xtask ns [--linux | --ours] [--smp N] [--memory 1G] [--timeout SECS]   (bwrap, ip netns, unshare/nsenter, mount propagation on both kernels; compares them; not in CI)
//! cargo xtask apt [--linux | --ours] [--smp N] [--memory 2G] [--timeout SECS]   (apt, curl, wget in the Debian system from a local repository on the host; compares ours with Linux; not in CI)
//! cargo xtask test  [--release] [--host-only | --kernel-only | --only host|kernel|boot|disk|interactive|suite|net|debian]
//! cargo xtask test  --linux          (the user suite under Debian's Linux)
//! cargo xtask test  --only suite --tests NAME[,NAME]   (some programs of the suite; also with --linux)
//! cargo xtask test  --only suite --kernel ELF       (boots that kernel instead of building one)
//! cargo xtask test  --only debian --tests NAME[,NAME]  (some checks of the Debian part: strace_f, ...)
//! cargo xtask test  --smp N          (the disk, interactive, suite, net and Debian parts with N CPUs, default 2; also with --linux)
//! cargo xtask smp-matrix [--linux] [--only interactive|suite] [--tests ...]   (those parts with 1 and with 4 CPUs)
//! cargo xtask smp-stress [--linux] [--smp N]   (smp.c with KT_STRESS=1: 1,000,000 futex rounds, 20 s of fork churn)
//! every command that boots: --memory SIZE (QEMU's -m, default 256M)
//! cargo xtask iso   [--release] [-- kernel command line]
//! cargo xtask check-cross
//! cargo xtask publish-check          (cargo doc -D warnings and cargo publish --dry-run of the component crates)
//! cargo xtask bench [--rounds N]     (user/bench on ours and on Linux, side by side)
//! cargo xtask pytest [--linux] [--batch 1|2] [--match PAT]... [--use RES]... [--smp N] [--memory 2G] [--timeout SECS] [MODULE ...] | [--linux] --reparse LOG   (CPython's tests in the Debian system; not in CI)
//! cargo xtask fuzz  --calls N --seed S [--threads T] [--user] [--trace-from K] [--stall SECS] [--smp N] [--linux]
//! ```
//! Every command installs what it needs on a Debian machine (a Rust target
//! with rustup, QEMU and GRUB with apt-get when root), or says exactly what
//! to run.

mod aptsys;
mod bench;
mod bench_scale;
mod cpio;
mod debian;
mod debsys;
mod devsys;
mod disk;
mod disktest;
mod fuzz;
mod interactive;
mod ksyms;
mod linux;
mod net;
mod nssys;
mod profile;
mod publish;
mod pytest;
mod qemu;
mod rootfs;
mod setup;
mod sidebyside;
mod statecheck;
mod systemd;
mod tbprof;
mod tcgstat;
mod user;

use qemu::{EXIT_FAILURE, EXIT_SUCCESS, Qemu};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const KERNEL_TARGET: &str = "x86_64-unknown-none";
/// The prefix of the component crates' package names (crates.io has the
/// plain names): `crates/vm` is the package `kernabi-vm`, library `vm`.
const PACKAGE_PREFIX: &str = "kernabi-";
/// The component crates (their directories under `crates/`) that must stay
/// architecture-neutral; every one of them is published.
const PORTABLE_CRATES: &[&str] = &[
    "linux-abi",
    "process",
    "vm",
    "signal",
    "fs-table",
    "file-lock",
    "evfd",
    "seccomp",
    "aio",
    "uring",
    "notify",
    "tty",
    "ipc",
    "cgroup",
    "vfs",
    "elf-loader",
    "ext2",
    "net",
    "inet",
];
const CROSS_TARGETS: &[&str] = &["aarch64-unknown-none", "riscv64gc-unknown-none-elf"];
const QEMU_TOOLS: &[(&str, &str)] = &[("qemu-system-x86_64", "qemu-system-x86")];
/// What the host tests run besides cargo (mke2fs, e2fsck, debugfs, dumpe2fs).
const HOST_TEST_TOOLS: &[(&str, &str)] =
    &[("mke2fs", "e2fsprogs"), ("e2fsck", "e2fsprogs"), ("debugfs", "e2fsprogs")];
const ISO_TOOLS: &[(&str, &str)] = &[
    ("grub-mkrescue", "grub-common"),
    ("grub-mkrescue", "grub-pc-bin"),
    ("xorriso", "xorriso"),
    ("mformat", "mtools"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}

fn profile(release: bool) -> &'static str {
    if release { "release" } else { "debug" }
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed ({status})")) }
}

/// Builds kernel-bin for bare metal and writes its symbol table in:
/// `target/kernel/<profile>/kernel.elf`.
fn build_kernel(release: bool) -> Result<PathBuf, String> {
    setup::ensure_rust_target(KERNEL_TARGET, None)?;
    let mut c = cargo();
    c.args(["build", "--package", "kernel-bin", "--target", KERNEL_TARGET]);
    if release {
        c.arg("--release");
    }
    run(&mut c)?;
    let built = target_dir().join(KERNEL_TARGET).join(profile(release)).join("kernel-bin");
    let image = std::fs::read(&built).map_err(|e| format!("{}: {e}", built.display()))?;
    let (image, count) = ksyms::embed(image)?;
    let out_dir = target_dir().join("kernel").join(profile(release));
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let out = out_dir.join("kernel.elf");
    std::fs::write(&out, image).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("xtask: kernel {} ({count} symbols)", out.display());
    Ok(out)
}

/// The initramfs: a skeleton root and the files under `user/rootfs/`;
/// `with_suite` adds the user conformance suite (`/init`, `/tests/*`,
/// `/bin/busybox` with its applet links, `dev/console`, `dev/null`) and
/// writes `initramfs-suite.cpio` instead.
fn build_initramfs(with_suite: bool) -> Result<PathBuf, String> {
    let suite = if with_suite { Some(user::build()?) } else { None };
    let mut c = cpio::Cpio::default();
    for d in ["bin", "dev", "etc", "proc", "tmp"] {
        c.dir(d);
    }
    if !with_suite {
        rootfs::add_busybox(&mut c)?;
    }
    let extra = root().join("user/rootfs");
    if extra.is_dir() {
        add_tree(&mut c, &extra, "")?;
    }
    if let Some(b) = &suite {
        user::add_to_initramfs(&mut c, b)?;
    }
    let out = target_dir().join(if with_suite { "initramfs-suite.cpio" } else { "initramfs.cpio" });
    std::fs::create_dir_all(target_dir()).map_err(|e| e.to_string())?;
    std::fs::write(&out, c.finish()).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Appends `--include HOST_PATH[:GUEST_PATH]` files to an initramfs as a
/// second cpio archive (the kernel unpacks concatenated archives, later
/// entries replacing earlier ones). The guest path defaults to
/// `/bin/<file name>`.
fn add_includes(initrd: &Path, specs: &[String]) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let mut c = cpio::Cpio::default();
    for spec in specs {
        let (host, guest) = match spec.split_once(':') {
            Some((h, g)) => (h.to_string(), g.trim_start_matches('/').to_string()),
            None => {
                let name = Path::new(spec).file_name().ok_or(format!("--include {spec}: no file name"))?;
                (spec.clone(), format!("bin/{}", name.to_string_lossy()))
            }
        };
        let data = std::fs::read(&host).map_err(|e| format!("--include {host}: {e}"))?;
        let mode = std::fs::metadata(&host).map(|m| m.permissions().mode()).unwrap_or(0o755);
        let mut dir = String::new();
        for part in
            guest.split('/').collect::<Vec<_>>().split_last().map(|(_, d)| d.to_vec()).unwrap_or_default()
        {
            dir = if dir.is_empty() { part.to_string() } else { format!("{dir}/{part}") };
            c.dir(&dir);
        }
        c.file(&guest, mode, &data);
    }
    let mut image = std::fs::read(initrd).map_err(|e| e.to_string())?;
    image.extend_from_slice(&c.finish());
    let out = target_dir().join("initramfs-include.cpio");
    std::fs::write(&out, image).map_err(|e| e.to_string())?;
    Ok(out)
}

fn add_tree(c: &mut cpio::Cpio, dir: &Path, prefix: &str) -> Result<(), String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        let path = e.path();
        if let Ok(target) = std::fs::read_link(&path) {
            c.symlink(&name, &target.to_string_lossy());
        } else if path.is_dir() {
            c.dir(&name);
            add_tree(c, &path, &format!("{name}/"))?;
        } else {
            use std::os::unix::fs::PermissionsExt;
            let mode = e.metadata().map(|m| m.permissions().mode()).unwrap_or(0o644);
            c.file(&name, mode, &std::fs::read(&path).map_err(|e| e.to_string())?);
        }
    }
    Ok(())
}

/// A GRUB rescue ISO that boots the kernel through Multiboot2.
fn build_iso(kernel: &Path, initrd: &Path, cmdline: &str, release: bool) -> Result<PathBuf, String> {
    setup::ensure_tools(ISO_TOOLS)?;
    let dir = target_dir().join("iso").join(profile(release));
    let boot = dir.join("root/boot");
    std::fs::create_dir_all(boot.join("grub")).map_err(|e| e.to_string())?;
    std::fs::copy(kernel, boot.join("kernel.elf")).map_err(|e| e.to_string())?;
    std::fs::copy(initrd, boot.join("initramfs.cpio")).map_err(|e| e.to_string())?;
    let cfg = format!(
        "set timeout=0\nset default=0\nserial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n\
         menuentry \"kernel\" {{\n  multiboot2 /boot/kernel.elf {cmdline}\n  module2 /boot/initramfs.cpio initramfs\n  boot\n}}\n"
    );
    std::fs::write(boot.join("grub/grub.cfg"), cfg).map_err(|e| e.to_string())?;
    let iso = target_dir().join("kernel").join(profile(release)).join("kernel.iso");
    let out = Command::new("grub-mkrescue")
        .arg("-o")
        .arg(&iso)
        .arg(dir.join("root"))
        .output()
        .map_err(|e| format!("grub-mkrescue: {e}"))?;
    if !out.status.success() {
        return Err(format!("grub-mkrescue failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(iso)
}

/// The guest CPUs of `cargo xtask qemu`, `test` and `fuzz` unless `--smp`
/// says otherwise (CI runs with it; `smp-matrix` runs 1 and 4).
pub const DEFAULT_SMP: u32 = 2;

/// The CPU counts of `cargo xtask smp-matrix`.
const SMP_MATRIX: &[u32] = &[1, 4];

#[derive(Clone)]
struct Args {
    release: bool,
    iso: bool,
    gdb: bool,
    smp: u32,
    timeout: Option<u64>,
    host_only: bool,
    kernel_only: bool,
    linux: bool,
    suite: bool,
    /// `--debian`: the Debian system instead of busybox.
    debian: bool,
    /// `--debian-dev`: the developer's Debian system (gcc, make, git, ...).
    debian_dev: bool,
    /// `--packages a,b`: Debian packages added to the Debian system.
    packages: Vec<String>,
    /// `--only PART`: run one part of the tests.
    only: Option<String>,
    include: Vec<String>,
    cmdline: String,
    /// `--tests a,b`: the suite runs only these programs of /tests.
    tests: Vec<String>,
    /// `--no-net`: `cargo xtask qemu` without the NIC.
    no_net: bool,
    /// `--forward HOST:GUEST`: TCP port forwards to the guest.
    forwards: Vec<(u16, u16)>,
    /// `--disk PATH`: a raw image as a virtio-blk disk.
    disk: Option<PathBuf>,
    /// `--kernel ELF`: `cargo xtask test` boots this kernel instead of
    /// building one (a kernel linked by hand, another branch's).
    kernel: Option<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        release: false,
        iso: false,
        gdb: false,
        smp: DEFAULT_SMP,
        timeout: None,
        host_only: false,
        kernel_only: false,
        linux: false,
        suite: false,
        debian: false,
        debian_dev: false,
        packages: Vec::new(),
        only: None,
        include: Vec::new(),
        cmdline: String::new(),
        tests: Vec::new(),
        no_net: false,
        forwards: Vec::new(),
        disk: None,
        kernel: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--release" => a.release = true,
            "--iso" => a.iso = true,
            "--gdb" => a.gdb = true,
            "--suite" => a.suite = true,
            "--debian" => a.debian = true,
            "--debian-dev" => {
                a.debian = true;
                a.debian_dev = true
            }
            "--packages" => {
                let list = it.next().ok_or("--packages takes NAME[,NAME...] (Debian packages)")?;
                a.packages = list.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect();
                a.debian = true;
            }
            "--include" => a.include.push(it.next().ok_or("--include takes HOST_PATH[:GUEST_PATH]")?.clone()),
            "--host-only" => a.host_only = true,
            "--only" => {
                let part =
                    it.next().ok_or("--only takes host|kernel|boot|disk|interactive|suite|net|debian")?;
                if !TEST_PARTS.contains(&part.as_str()) {
                    return Err(format!("--only {part}: the parts are {}", TEST_PARTS.join("|")));
                }
                a.only = Some(part.clone());
            }
            "--kernel-only" => a.kernel_only = true,
            "--kernel" => a.kernel = Some(PathBuf::from(it.next().ok_or("--kernel takes a kernel ELF")?)),
            "--tests" => {
                let list = it.next().ok_or("--tests takes NAME[,NAME...] (programs of user/tests)")?;
                a.tests = list.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect();
            }
            "--memory" => {
                let size = it.next().ok_or("--memory takes a size, as QEMU's -m (512M, 2G)")?;
                let ok = size.trim_end_matches(['M', 'G', 'm', 'g']).parse::<u64>().is_ok_and(|n| n > 0);
                if !ok {
                    return Err(format!("--memory {size}: a size such as 512M or 2G"));
                }
                let _ = MEMORY.set(size.clone());
            }
            "--linux" => a.linux = true,
            "--no-net" => a.no_net = true,
            "--disk" => a.disk = Some(PathBuf::from(it.next().ok_or("--disk takes an image's PATH")?)),
            "--forward" => {
                let spec = it.next().ok_or("--forward takes HOST_PORT:GUEST_PORT")?;
                let parsed = spec.split_once(':').and_then(|(h, g)| Some((h.parse().ok()?, g.parse().ok()?)));
                match parsed {
                    Some((h, g)) if h != 0 && g != 0 => a.forwards.push((h, g)),
                    _ => return Err(format!("--forward {spec}: HOST_PORT:GUEST_PORT, e.g. 8080:80")),
                }
            }
            "--smp" => {
                a.smp = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n >= 1)
                    .ok_or("--smp takes a number")?
            }
            "--timeout" => {
                a.timeout = Some(it.next().and_then(|n| n.parse().ok()).ok_or("--timeout takes seconds")?)
            }
            "--" => {
                a.cmdline = it.by_ref().cloned().collect::<Vec<_>>().join(" ");
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

/// QEMU's memory size (`-m`) for every machine xtask boots: `--memory`, or 256M.
static MEMORY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn qemu_for(kernel: PathBuf, initrd: Option<PathBuf>, cmdline: &str, smp: u32) -> Qemu {
    let memory = MEMORY.get().cloned().unwrap_or_else(|| "256M".into());
    Qemu::boot(kernel, initrd, cmdline, smp, memory)
}

/// The kernel command line that runs the suite: `base`, then the names of
/// `--tests` as init's arguments (words after ` -- `, on ours and on Linux).
fn suite_cmdline(base: &str, tests: &[String]) -> String {
    if tests.is_empty() { base.to_string() } else { format!("{base} -- {}", tests.join(" ")) }
}

/// Builds `target/initramfs-debian-plus.cpio`: the Debian system (or the
/// developer's with `--debian-dev`) and the packages of `--packages`, the
/// way to try a Debian program on both kernels.
fn debian_plus(a: &Args) -> Result<PathBuf, String> {
    let mut roots: Vec<&str> = if a.debian_dev { devsys::roots() } else { debsys::PACKAGES.to_vec() };
    roots.extend(a.packages.iter().map(String::as_str));
    Ok(debsys::build_image(&roots, &[], "initramfs-debian-plus", false)?.path)
}

fn cmd_qemu(a: &Args) -> Result<(), String> {
    setup::ensure_tools(QEMU_TOOLS)?;
    if a.debian && a.disk.is_some() {
        return qemu_debian_disk(a);
    }
    let kernel = if a.linux && a.debian { linux::vmlinuz()? } else { build_kernel(a.release)? };
    let mut initrd = if !a.packages.is_empty() {
        debian_plus(a)?
    } else if a.debian_dev {
        devsys::build_initramfs()?
    } else if a.debian {
        debsys::build_initramfs()?.path
    } else {
        build_initramfs(a.suite)?
    };
    if a.debian {
        let _ = MEMORY.set(if a.debian_dev { devsys::MEMORY } else { debsys::MEMORY }.into());
    }
    let cmdline = match (a.debian, a.linux, a.cmdline.is_empty()) {
        (true, true, true) => linux::CMDLINE,
        (true, false, true) => debsys::CMDLINE,
        _ => &a.cmdline,
    };
    if !a.include.is_empty() {
        initrd = add_includes(&initrd, &a.include)?;
    }
    let mut q = qemu_for(kernel.clone(), Some(initrd.clone()), cmdline, a.smp);
    if a.iso {
        q.iso = Some(build_iso(&kernel, &initrd, &a.cmdline, a.release)?);
    }
    q.gdb = a.gdb;
    if let Some(disk) = &a.disk {
        if !disk.exists() {
            // an empty ext2 file system, as mke2fs makes it (64 MiB)
            disk::make_image(None, disk, None, 4096)?;
        }
        eprintln!("xtask: {} as /dev/vda (virtio-blk)", disk.display());
        q.disk = Some(disk.clone());
    }
    if a.no_net && !a.forwards.is_empty() {
        return Err("--forward needs the NIC: drop --no-net".into());
    }
    if !a.no_net {
        q.net = Some(a.forwards.clone());
        for (h, g) in &a.forwards {
            eprintln!("xtask: host 127.0.0.1:{h} -> guest port {g} (TCP)");
        }
    }
    if a.gdb {
        eprintln!("xtask: QEMU waits for gdb; in another terminal run:");
        eprintln!("  gdb -ex 'file {}' -ex 'target remote localhost:1234'", kernel.display());
    }
    // Without a terminal (CI, a pipe) nobody can quit QEMU by hand: a
    // timeout applies unless one is given.
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let timeout = a.timeout.or(if interactive || a.gdb { None } else { Some(60) });
    let status = q.run_interactive(timeout.map(Duration::from_secs))?;
    match status {
        Some(0) | Some(EXIT_SUCCESS) => Ok(()),
        Some(EXIT_FAILURE) => Err("the kernel reported a failure".into()),
        Some(s) => Err(format!("QEMU exited with status {s}")),
        None => Err("QEMU was stopped".into()),
    }
}

/// `cargo xtask qemu --debian --disk PATH`: the Debian system booted from
/// the ext2 image PATH (`root=/dev/vda`, no initramfs), which is made from
/// the Debian tree when it does not exist; what the user changes stays on
/// it across boots.
fn qemu_debian_disk(a: &Args) -> Result<(), String> {
    let Some(disk) = &a.disk else { return Err("--disk takes an image's PATH".into()) };
    if a.linux {
        return Err(
            "--debian --disk boots our kernel only (Debian's Linux has virtio_blk and ext4 as modules)"
                .into(),
        );
    }
    if !disk.exists() {
        debsys::make_disk(disk)?;
    }
    let kernel = build_kernel(a.release)?;
    let _ = MEMORY.set(debsys::MEMORY.into());
    let cmdline = if a.cmdline.is_empty() { debsys::DISK_CMDLINE.to_string() } else { a.cmdline.clone() };
    let mut q = qemu_for(kernel, None, &cmdline, a.smp);
    eprintln!("xtask: {} as /dev/vda, the root (virtio-blk)", disk.display());
    q.disk = Some(disk.clone());
    if !a.no_net {
        q.net = Some(a.forwards.clone());
    }
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let timeout = a.timeout.or(if interactive { None } else { Some(120) });
    match q.run_interactive(timeout.map(Duration::from_secs))? {
        Some(0) | Some(EXIT_SUCCESS) => Ok(()),
        Some(EXIT_FAILURE) => Err("the kernel reported a failure".into()),
        Some(s) => Err(format!("QEMU exited with status {s}")),
        None => Err("QEMU was stopped".into()),
    }
}

/// Counts of one part of the test run.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, name: &str, ok: bool, why: &str) {
        if ok {
            self.passed += 1;
            println!("xtask: test {name} ... ok");
        } else {
            self.failed += 1;
            println!("xtask: test {name} ... FAILED: {why}");
            self.failures.push(format!("{name}: {why}"));
        }
    }
}

/// The "state in the records" rule: no global map, set or lock keyed by a
/// pid in kernel-bin (see statecheck.rs and docs/architecture.md).
fn state_check(t: &mut Tally) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bad = statecheck::pid_keyed_globals(&root)?;
    let why = bad
        .iter()
        .map(|g| format!("kernel-bin/src/{}:{}: static {} is keyed by Pid (keep it in proc::ThreadExt/ProcessExt, or allow it with a reason in xtask/src/statecheck.rs)", g.file, g.line, g.name))
        .collect::<Vec<_>>()
        .join("; ");
    t.check("kernel-bin keeps no global keyed by pid", bad.is_empty(), &why);
    Ok(())
}

/// `cargo test` of the host-testable crates, counted from libtest's lines.
fn host_tests(t: &mut Tally) -> Result<(), String> {
    // crates/ext2's tests make and check images with e2fsprogs
    setup::ensure_tools(HOST_TEST_TOOLS)?;
    let mut c = cargo();
    c.args(["test", "--workspace", "--exclude", "kernel-bin", "--all-features"]);
    c.stdout(Stdio::piped());
    let out = c.spawn().map_err(|e| e.to_string())?.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    let mut saw = false;
    for line in text.lines() {
        // "test result: ok. 12 passed; 0 failed; 0 ignored; ..."
        if let Some(rest) = line.strip_prefix("test result: ") {
            saw = true;
            let num = |key: &str| -> usize {
                rest.split(';')
                    .find_map(|p| {
                        p.trim().trim_start_matches("ok. ").trim_start_matches("FAILED. ").strip_suffix(key)
                    })
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or(0)
            };
            t.passed += num(" passed");
            t.failed += num(" failed");
        }
        if let Some(name) = line.strip_prefix("test ").and_then(|l| l.strip_suffix(" ... FAILED")) {
            t.failures.push(format!("host: {name}"));
        }
    }
    if !out.status.success() && (!saw || t.failures.is_empty()) {
        t.failed += 1;
        t.failures.push("host: cargo test did not build or run".into());
    }
    Ok(())
}

/// The in-kernel tests: boots with `ktest`, and again after the next index
/// whenever a test takes the kernel down (panic, fault, hang).
fn kernel_tests(kernel: &Path, initrd: &Path, t: &mut Tally) -> Result<(), String> {
    let stream_port = net::serve_stream()?;
    let mut start = 0usize;
    let mut boots = 0;
    loop {
        boots += 1;
        let cmdline = format!("ktest ktest.start={start} nictest.port={stream_port}");
        let mut q = qemu_for(kernel.into(), Some(initrd.into()), &cmdline, 1);
        // a NIC for the driver's tests (DHCP, a ping and a TCP download from
        // the host's stream server through QEMU's user network)
        q.net = Some(Vec::new());
        // a disk for the virtio-blk tests (an ext2 tree mounted through crates/ext2)
        q.disk = Some(disk::ktest_image()?);
        let o = q.run_captured(Duration::from_secs(120), true)?;
        let mut count = None;
        let mut last_run: Option<(usize, String)> = None;
        let mut done = false;
        for line in o.output.lines() {
            let Some(rest) = line.strip_prefix("ktest: ") else { continue };
            let mut words = rest.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("count"), Some(n), _) => count = n.parse::<usize>().ok(),
                (Some("run"), Some(i), Some(name)) => {
                    last_run = i.parse().ok().map(|i| (i, name.to_string()));
                }
                (Some("ok"), Some(_), Some(name)) => {
                    t.passed += 1;
                    last_run = None;
                    let _ = name;
                }
                (Some("FAILED"), Some(_), Some(rest)) => {
                    t.failed += 1;
                    t.failures.push(format!("kernel: {rest}"));
                    last_run = last_run.map(|(i, _)| (i, String::new()));
                }
                (Some("done"), _, _) => done = true,
                _ => {}
            }
        }
        if done && o.status == Some(EXIT_SUCCESS) {
            return Ok(());
        }
        let Some(count) = count else {
            t.failed += 1;
            t.failures.push(format!("kernel: did not reach the test runner (status {:?})", o.status));
            return Ok(());
        };
        match last_run {
            Some((i, name)) => {
                if !name.is_empty() {
                    // no FAILED line: a hang or a crash before the report
                    t.failed += 1;
                    let why = if o.timed_out { "timed out" } else { "the kernel died without a report" };
                    t.failures.push(format!("kernel: {name}: {why}"));
                }
                start = i + 1;
            }
            None => {
                t.failed += 1;
                t.failures.push(format!("kernel: test run ended early (status {:?})", o.status));
                return Ok(());
            }
        }
        if start >= count || boots > count + 1 {
            return Ok(());
        }
    }
}

/// Boots once and checks the output: the boot paths and the fault report.
fn boot_checks(kernel: &Path, initrd: &Path, release: bool, t: &mut Tally) -> Result<(), String> {
    // `noinit`: the default initramfs starts an interactive shell, which
    // would wait for input; these checks are about the boot itself
    let q = qemu_for(kernel.into(), Some(initrd.into()), "noinit", 1);
    let wall = Instant::now();
    let o = q.run_captured(Duration::from_secs(60), true)?;
    let secs = wall.elapsed().as_secs_f64();
    let banner = o.output.lines().any(|l| l.contains("Pvh boot) up in"));
    t.check(
        "boot::pvh_banner_and_poweroff",
        banner && o.status == Some(0),
        &format!("banner {banner}, status {:?}", o.status),
    );
    t.check(
        "boot::initramfs_module_handed_over",
        o.output.contains("module at "),
        "no module line in the boot log",
    );
    println!("xtask: PVH boot to power-off took {secs:.2} s of wall time");

    // --smp 2: every CPU comes up (and runs the scheduler's idle loop),
    // answers IPIs and TLB shootdowns (a lazily idling one is skipped and
    // flushes when it wakes), and the boot still powers off
    let q = qemu_for(kernel.into(), Some(initrd.into()), "noinit", 2);
    let o = q.run_captured(Duration::from_secs(60), true)?;
    let online = o.output.contains("smp: CPU 1 (APIC 1) online");
    let banner = o.output.lines().any(|l| l.contains("Pvh boot) up in"));
    t.check(
        "boot::smp2_cpus_online_and_poweroff",
        online && banner && o.status == Some(0),
        &format!("CPU 1 online {online}, banner {banner}, status {:?}", o.status),
    );
    let q = qemu_for(kernel.into(), Some(initrd.into()), "ktest ktest.filter=arch_x86_64::smp::", 2);
    let o = q.run_captured(Duration::from_secs(60), true)?;
    let oks = o.output.lines().filter(|l| l.starts_with("ktest: ok ")).count();
    let done = o.output.lines().any(|l| l == "ktest: done");
    let answered = o.output.contains("smp: CPU 1 answered an IPI: APIC id 1");
    t.check(
        "boot::smp2_ipi_and_tlb_shootdown_ktests",
        oks == 3 && done && answered && !o.output.contains("ktest: FAILED"),
        &format!("{oks} of 3 ok, done {done}, CPU 1 answered {answered}"),
    );

    let q = qemu_for(kernel.into(), Some(initrd.into()), "fault=page", 1);
    let o = q.run_captured(Duration::from_secs(60), true)?;
    let want = [
        "EXCEPTION: vector 14 (#PF page fault)",
        "CR2 0xffffc000deadb000",
        "RIP 0xffffffff8",
        "deliberate_page_fault",
        "kernel_main",
    ];
    let missing: Vec<_> = want.iter().filter(|w| !o.output.contains(*w)).collect();
    t.check(
        "boot::kernel_page_fault_report",
        missing.is_empty() && o.status == Some(EXIT_FAILURE),
        &format!("missing {missing:?}, status {:?}", o.status),
    );

    let q = qemu_for(kernel.into(), Some(initrd.into()), "fault=kstack", 1);
    let o = q.run_captured(Duration::from_secs(60), true)?;
    let want = ["kernel stack overflow: 0xffffc9", "is in the guard below the", "deliberate_recursion"];
    let missing: Vec<_> = want.iter().filter(|w| !o.output.contains(*w)).collect();
    t.check(
        "boot::kernel_stack_overflow_report",
        missing.is_empty() && o.status == Some(EXIT_FAILURE),
        &format!("missing {missing:?}, status {:?}", o.status),
    );

    match build_iso(kernel, initrd, "noinit", release) {
        Ok(iso) => {
            let mut q = qemu_for(kernel.into(), None, "", 1);
            q.iso = Some(iso);
            let o = q.run_captured(Duration::from_secs(120), true)?;
            let banner = o.output.contains("Multiboot2 boot) up in");
            t.check(
                "boot::multiboot2_grub_iso",
                banner && o.status == Some(0) && o.output.contains("module at "),
                &format!("banner {banner}, status {:?}", o.status),
            );
        }
        Err(e) => t.check("boot::multiboot2_grub_iso", false, &e),
    }
    Ok(())
}

/// Prints the failures and the closing `N passed, M failed` line.
fn summary(t: &Tally) -> bool {
    println!();
    for f in &t.failures {
        println!("failed: {f}");
    }
    println!("{} passed, {} failed", t.passed, t.failed);
    t.failed == 0
}

/// `cargo xtask test --linux`: the user suite under Debian's Linux kernel in
/// the same QEMU machine, proof that every case encodes Linux's behaviour.
/// `only`: `suite`, `interactive` or `debian` runs one of them.
fn cmd_test_linux(only: Option<&str>, tests: &[String], smp: u32) -> Result<bool, String> {
    setup::ensure_tools(QEMU_TOOLS)?;
    let vmlinuz = linux::vmlinuz()?;
    let mut t = Tally::default();
    if only.is_none_or(|o| o == "suite") {
        // the suite's initramfs plus Debian's virtio_blk and ext4 modules,
        // and the same blank scratch disk as /dev/vda as on ours
        let initrd = linux::with_modules(&build_initramfs(true)?, "initramfs-suite-linux.cpio")?;
        let cmdline = suite_cmdline(linux::CMDLINE, tests);
        let mut q = qemu_for(vmlinuz.clone(), Some(initrd), &cmdline, smp);
        q.disk = Some(disk::scratch_image()?);
        user::run_user_suite(&q, &mut t)?;
    }
    if only.is_none_or(|o| o == "interactive") {
        // the default system's shell session, typed the same way
        // One more boot if a check failed: Linux is the reference here, and
        // one run in ~40 of Debian's kernel on 2 TCG CPUs showed no output
        // at all for 20 s after a command (background_job_jobs_kill, the
        // screen empty after the echo) and passed in the next runs. The
        // first run's failures are printed; the second run's tally counts.
        // Our kernel's interactive run gets no second try.
        let default = build_initramfs(false)?;
        let q = qemu_for(vmlinuz.clone(), Some(default), linux::CMDLINE, smp);
        let mut first = Tally::default();
        interactive::run(&q, &mut first)?;
        if first.failed == 0 {
            t.passed += first.passed;
        } else {
            println!(
                "xtask: {} interactive check(s) failed under Linux; booting Linux once more to tell a stall of the reference from a wrong check: {}",
                first.failed,
                first.failures.join("; ")
            );
            interactive::run(&q, &mut t)?;
        }
    }
    if only == Some("net") {
        println!(
            "xtask: the net part runs on our kernel only: Debian's Linux 6.1 has virtio-net as a module, absent here"
        );
    }
    if only.is_none_or(|o| o == "debian") {
        // the Debian system, the same image and checks as on ours
        debsys::run_tests(vmlinuz, linux::CMDLINE, tests, smp, &mut t)?;
    }
    Ok(summary(&t))
}

/// Suite programs `cargo xtask test` also runs with 1 CPU when it runs
/// with more: the calls whose kernel paths differ with one CPU (the
/// quick getuid family, the scheduler's single-CPU shortcuts, the
/// namespace id translation they must keep).
const UP_SUITE: &[&str] =
    &["ns", "ns_ids", "process_ids", "sched", "signals_basic", "fork_wait", "futex", "pipes"];

/// The parts of `cargo xtask test`, in the order they run.
const TEST_PARTS: &[&str] = &["host", "kernel", "boot", "disk", "interactive", "suite", "net", "debian"];

fn cmd_test(a: &Args) -> Result<bool, String> {
    if a.linux {
        return cmd_test_linux(a.only.as_deref(), &a.tests, a.smp);
    }
    let wanted = |part: &str| match &a.only {
        Some(only) => only == part,
        None => !(a.host_only && part != "host" || a.kernel_only && part == "host"),
    };
    let mut t = Tally::default();
    if wanted("host") {
        host_tests(&mut t)?;
        state_check(&mut t)?;
    }
    if TEST_PARTS[1..].iter().any(|p| wanted(p)) {
        setup::ensure_tools(QEMU_TOOLS)?;
        let kernel = match &a.kernel {
            Some(k) => k.clone(),
            None => build_kernel(a.release)?,
        };
        let initrd = build_initramfs(false)?;
        if wanted("kernel") {
            kernel_tests(&kernel, &initrd, &mut t)?;
        }
        if wanted("boot") {
            boot_checks(&kernel, &initrd, a.release, &mut t)?;
        }
        if wanted("disk") {
            // root=/dev/vda: a tree written and read across power-off, a crash after fsync
            disktest::run(&kernel, a.smp, &mut t)?;
        }
        if wanted("interactive") {
            // the default system, driven through its console
            interactive::run(&qemu_for(kernel.clone(), Some(initrd.clone()), "", a.smp), &mut t)?;
        }
        if wanted("suite") {
            // the user conformance suite, the same initramfs `--linux` boots
            let suite = build_initramfs(true)?;
            let mut q = qemu_for(kernel.clone(), Some(suite.clone()), &suite_cmdline("", &a.tests), a.smp);
            // a blank scratch disk as /dev/vda for blockdev.c
            q.disk = Some(disk::scratch_image()?);
            user::run_user_suite(&q, &mut t)?;
            if a.tests.is_empty() && a.smp != 1 {
                // the kernel's one-CPU paths (uthread's quick system
                // calls, sched's single-CPU shortcuts) run only there
                let up: Vec<String> = UP_SUITE.iter().map(|s| s.to_string()).collect();
                println!("xtask: the suite's {} with 1 CPU (its one-CPU paths)", UP_SUITE.join(", "));
                user::run_user_suite(
                    &qemu_for(kernel.clone(), Some(suite), &suite_cmdline("", &up), 1),
                    &mut t,
                )?;
            }
        }
        if wanted("net") {
            // host to guest and back through the NIC (ours only: Linux has no virtio-net built in)
            net::run(&qemu_for(kernel.clone(), None, "", a.smp), &initrd, &mut t)?;
        }
        if wanted("debian") {
            // the Debian system (user/debian), the same checks `--linux` runs
            debsys::run_tests(kernel, debsys::CMDLINE, &a.tests, a.smp, &mut t)?;
        }
    }
    Ok(summary(&t))
}

/// `cargo xtask smp-matrix`: the interactive checks and the user suite
/// (or the one part of `--only`) with each CPU count of [`SMP_MATRIX`],
/// on ours or with `--linux`; `cargo xtask test` runs them with 2.
fn cmd_smp_matrix(a: &Args) -> Result<bool, String> {
    let parts: Vec<String> = match &a.only {
        Some(p) if p == "interactive" || p == "suite" => vec![p.clone()],
        Some(p) => return Err(format!("smp-matrix --only {p}: the parts are interactive|suite")),
        None => vec!["interactive".into(), "suite".into()],
    };
    let mut results = Vec::new();
    for &n in SMP_MATRIX {
        for part in &parts {
            println!(
                "xtask: smp-matrix: {part} with {n} CPU(s){}",
                if a.linux { " under Linux" } else { "" }
            );
            let b = Args { smp: n, only: Some(part.clone()), ..a.clone() };
            let wall = std::time::Instant::now();
            let ok = cmd_test(&b)?;
            results.push((n, part.clone(), ok, wall.elapsed().as_secs_f64()));
        }
    }
    println!();
    for (n, part, ok, secs) in &results {
        println!(
            "xtask: smp-matrix: {part} with {n} CPU(s): {} ({secs:.0} s)",
            if *ok { "passed" } else { "FAILED" }
        );
    }
    Ok(results.iter().all(|r| r.2))
}

/// `cargo xtask smp-stress`: user/tests/smp.c with `KT_STRESS=1` (futex
/// pairs on two CPUs over 1,000,000 round trips, fork+exit+wait on both
/// CPUs for 20 s) with `--smp` CPUs (2 unless given), on ours or with
/// `--linux`, without the suite's 30 s limit.
fn cmd_smp_stress(a: &Args) -> Result<bool, String> {
    let tests = ["timeout=1800", "KT_STRESS=1", "smp"].map(String::from).to_vec();
    cmd_test(&Args { only: Some("suite".into()), tests, ..a.clone() })
}

/// Builds the component crates for non-x86 bare metal with the nightly
/// toolchain's build-std: proof that no x86 or kernel dependency crept in.
fn cmd_check_cross() -> Result<(), String> {
    let have_src = Command::new("rustup")
        .args(["+nightly", "component", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("rust-src"))
        .map_err(|e| format!("rustup: {e}"))?;
    if !have_src {
        run(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", "nightly"]))?;
    }
    for target in CROSS_TARGETS {
        let mut c = Command::new("cargo");
        c.current_dir(root()).env_remove("RUSTUP_TOOLCHAIN").env_remove("CARGO");
        c.args(["+nightly", "build", "-Zbuild-std=core,alloc", "--target", target]);
        c.env("CARGO_TARGET_DIR", target_dir().join("cross"));
        for p in PORTABLE_CRATES {
            c.args(["--package", &format!("{PACKAGE_PREFIX}{p}")]);
        }
        eprintln!("xtask: building {} for {target}", PORTABLE_CRATES.join(", "));
        run(&mut c)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!(
            "usage: cargo xtask build|qemu|test [--linux]|smp-matrix|smp-stress|iso|check-cross|publish-check|bench [--rounds N]|disk --from DIR PATH [options] [-- kernel command line]"
        );
        return ExitCode::from(2);
    };
    if cmd == "bench" {
        return bench::main(rest);
    }
    if cmd == "disk" {
        return disk::main(rest);
    }
    if cmd == "fuzz" {
        return fuzz::main(rest);
    }
    if cmd == "pytest" {
        return pytest::main(rest);
    }
    if cmd == "devsys" {
        return devsys::main(rest);
    }
    if cmd == "apt" {
        return aptsys::main(rest);
    }
    if cmd == "systemd" {
        return systemd::main(rest);
    }
    if cmd == "ns" {
        return nssys::main(rest);
    }
    let a = match parse_args(rest) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("xtask: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cmd.as_str() {
        "build" => build_kernel(a.release).map(|_| true),
        "qemu" => cmd_qemu(&a).map(|_| true),
        "test" => cmd_test(&a),
        "smp-matrix" => cmd_smp_matrix(&a),
        "smp-stress" => cmd_smp_stress(&a),
        "iso" => build_kernel(a.release).and_then(|k| {
            let initrd = build_initramfs(false)?;
            let iso = build_iso(&k, &initrd, &a.cmdline, a.release)?;
            eprintln!("xtask: {}", iso.display());
            Ok(true)
        }),
        "check-cross" => cmd_check_cross().map(|_| true),
        "publish-check" => publish::main(),
        "rootfs" if !a.packages.is_empty() => debian_plus(&a).map(|p| {
            eprintln!("xtask: {}", p.display());
            true
        }),
        "rootfs" if a.debian_dev => devsys::build_initramfs().map(|p| {
            eprintln!("xtask: {}", p.display());
            true
        }),
        "rootfs" if a.debian => debsys::build_initramfs().map(|img| {
            eprintln!("xtask: {} and {}", img.path.display(), img.gz.display());
            true
        }),
        "rootfs" => build_initramfs(false).map(|p| {
            eprintln!("xtask: {}", p.display());
            true
        }),
        other => Err(format!("unknown command {other:?}")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
