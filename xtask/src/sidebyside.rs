//! What the commands that boot a Debian image on ours and on Debian's
//! Linux share: their options (`--linux | --ours`, `--smp`, `--memory`,
//! `--timeout`, `--release`, words after `--`), both boots at once (or
//! one), the report cut out of each console into `target/CMD/SIDE.out`
//! (the console in `SIDE.log`), and the `diff -u` of the two reports.
//! `cargo xtask devsys` and `cargo xtask systemd` use all of it,
//! `cargo xtask pytest` its options and exit status.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// Which kernels a command boots.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sides {
    /// Debian's Linux and ours, at once.
    Both,
    /// `--linux`: Debian's Linux only.
    Linux,
    /// `--ours`: ours only.
    Ours,
}

impl Sides {
    /// Whether Debian's Linux boots.
    pub fn linux(self) -> bool {
        self != Sides::Ours
    }

    /// Whether ours boots.
    pub fn ours(self) -> bool {
        self != Sides::Linux
    }

    /// The name of a one-kernel run's side (`ours` for [`Sides::Both`]).
    pub fn name(self) -> &'static str {
        if self == Sides::Linux { "linux" } else { "ours" }
    }
}

/// A command's defaults and the options it takes.
pub struct Spec {
    /// Without `--linux`/`--ours`. [`Sides::Both`] takes both flags; a
    /// one-kernel command ([`Sides::Ours`]) takes only `--linux`.
    pub sides: Sides,
    /// CPUs without `--smp`.
    pub smp: u32,
    /// QEMU's memory without `--memory` (also the example in its message).
    pub memory: &'static str,
    /// Seconds without `--timeout`.
    pub timeout: u64,
    /// The least `--timeout`.
    pub min_timeout: u64,
    /// What `--timeout` counts: "seconds", "seconds per module".
    pub timeout_is: &'static str,
    /// Whether the words after `--` are taken (for the kernel command line).
    pub words: bool,
}

/// The options of [`Spec`] as the command line set them.
#[derive(Debug, PartialEq, Eq)]
pub struct Opts {
    /// Which kernels.
    pub sides: Sides,
    /// QEMU's CPUs.
    pub smp: u32,
    /// QEMU's memory (`-m`).
    pub memory: String,
    /// Seconds.
    pub timeout: u64,
    /// `--release`: our kernel built with `--release`.
    pub release: bool,
    /// The words after `--`, joined by spaces.
    pub words: String,
}

impl Opts {
    /// The defaults of `spec`.
    pub fn new(spec: &Spec) -> Opts {
        Opts {
            sides: spec.sides,
            smp: spec.smp,
            memory: spec.memory.into(),
            timeout: spec.timeout,
            release: false,
            words: String::new(),
        }
    }

    /// Takes `a` (and its value from `it`) when it is one of `spec`'s
    /// options: true when it was, false when the command should look at it.
    pub fn take(&mut self, spec: &Spec, a: &str, it: &mut std::slice::Iter<String>) -> Result<bool, String> {
        match a {
            "--linux" => self.sides = Sides::Linux,
            "--ours" if spec.sides == Sides::Both => self.sides = Sides::Ours,
            "--release" => self.release = true,
            "--smp" => {
                self.smp = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n >= 1)
                    .ok_or("--smp takes a number")?
            }
            "--memory" => {
                self.memory =
                    it.next().ok_or_else(|| format!("--memory takes a size such as {}", spec.memory))?.clone()
            }
            "--timeout" => {
                self.timeout =
                    it.next().and_then(|n| n.parse().ok()).filter(|&n| n >= spec.min_timeout).ok_or_else(
                        || format!("--timeout takes {} (at least {})", spec.timeout_is, spec.min_timeout),
                    )?
            }
            "--" if spec.words => self.words = it.by_ref().cloned().collect::<Vec<_>>().join(" "),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The options of a command that has none of its own.
    pub fn parse(spec: &Spec, args: &[String]) -> Result<Opts, String> {
        let mut o = Opts::new(spec);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if !o.take(spec, a, &mut it)? {
                return Err(format!("unknown argument {a:?}"));
            }
        }
        Ok(o)
    }
}

/// How a command finds its report in a console.
pub struct Report {
    /// The command's name: `xtask: NAME on SIDE ...`, `target/NAME/`.
    pub name: &'static str,
    /// The report cut out of the console (what `SIDE.out` keeps).
    pub transcript: fn(&str) -> String,
    /// What the report contains once it reached its end.
    pub done: &'static str,
    /// "the end", "the report's end": in "stopped before ...".
    pub end: &'static str,
    /// Whether the first line shows the kernel command line.
    pub show_cmdline: bool,
    /// More words for the last line from the console (", the report at
    /// ... of uptime"), or nothing.
    pub note: fn(&str) -> String,
}

/// `target/NAME`, made when missing.
pub fn dir(name: &str) -> Result<PathBuf, String> {
    let dir = crate::target_dir().join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Boots `q` and keeps its console (`SIDE.log`) and the report
/// (`SIDE.out`) under `dir`; true when the report reached its end.
fn one_side(r: &Report, q: &crate::qemu::Qemu, side: &str, dir: &Path, timeout: u64) -> Result<bool, String> {
    if r.show_cmdline {
        eprintln!("xtask: {} on {side} ({} CPUs, {}): {}", r.name, q.smp, q.memory, q.cmdline);
    } else {
        eprintln!("xtask: {} on {side} ({} CPUs, {})", r.name, q.smp, q.memory);
    }
    let wall = std::time::Instant::now();
    let out = q.run_captured(Duration::from_secs(timeout), false)?;
    let log = dir.join(format!("{side}.log"));
    std::fs::write(&log, &out.output).map_err(|e| format!("{}: {e}", log.display()))?;
    let t = (r.transcript)(&out.output);
    let path = dir.join(format!("{side}.out"));
    std::fs::write(&path, &t).map_err(|e| format!("{}: {e}", path.display()))?;
    let done = t.contains(r.done);
    let end = format!("stopped before {}", r.end);
    println!(
        "xtask: {} on {side}: {:.0} s wall{}, {} ({}); the console in {}",
        r.name,
        wall.elapsed().as_secs_f64(),
        (r.note)(&out.output),
        if done {
            "finished"
        } else if out.timed_out {
            "timed out"
        } else {
            end.as_str()
        },
        path.display(),
        log.display()
    );
    Ok(done)
}

/// A script of steps (`=== status NAME CODE` lines,
/// [`crate::devsys::statuses`]) run as `autorun` in one Debian image of
/// `roots` on the kernels of `o.sides`, the reports compared with the
/// step table printed before the diff (devsys's and ns's run); the image
/// goes once both are done. True when both reached their end, equal.
pub fn run_steps(
    o: &Opts,
    r: &Report,
    name: &str,
    roots: &[&str],
    autorun: &str,
    script: PathBuf,
) -> Result<bool, String> {
    crate::setup::ensure_tools(&[("qemu-system-x86_64", "qemu-system-x86")])?;
    let dir = dir(name)?;
    let img_name = format!("initramfs-{name}-{}", std::process::id());
    let img = crate::debsys::build_image(roots, &[(autorun.into(), script)], &img_name, false)?;
    let done = boot(o, r, &dir, &img.path, crate::linux::CMDLINE, crate::debsys::CMDLINE);
    let _ = std::fs::remove_file(&img.path);
    let done = done?;
    let same = compare(r, "outputs", &dir, |lt, ot| {
        let (ls, os) = (crate::devsys::statuses(lt), crate::devsys::statuses(ot));
        println!("xtask: {name}: step: Linux's status | ours");
        for (n, s) in &ls {
            let ours = os.iter().find(|x| &x.0 == n).map_or("-", |x| x.1.as_str());
            println!("  {n}: {s} | {ours}");
        }
    })?;
    Ok(done && same)
}

/// Boots `image` on the kernels of `o.sides` at once (Debian's Linux with
/// `linux_cmdline`, ours with `ours_cmdline`), each side's report into
/// `dir`; true when every side's report reached its end.
pub fn boot(
    o: &Opts,
    r: &Report,
    dir: &Path,
    image: &Path,
    linux_cmdline: &str,
    ours_cmdline: &str,
) -> Result<bool, String> {
    boot_each(o, image, linux_cmdline, ours_cmdline, |side, q| one_side(r, &q, side, dir, o.timeout))
}

/// The machines of [`boot`], each given to `run` on a thread of its own
/// (`"linux"` or `"ours"` and the machine, which `run` may change before
/// it boots it); true when `run` said true for every side.
pub fn boot_each(
    o: &Opts,
    image: &Path,
    linux_cmdline: &str,
    ours_cmdline: &str,
    run: impl Fn(&'static str, crate::qemu::Qemu) -> Result<bool, String> + Sync,
) -> Result<bool, String> {
    let mut jobs = Vec::new();
    if o.sides.linux() {
        jobs.push(("linux", crate::linux::vmlinuz()?, linux_cmdline));
    }
    if o.sides.ours() {
        jobs.push(("ours", crate::build_kernel(o.release)?, ours_cmdline));
    }
    let run = &run;
    let results: Vec<Result<bool, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(side, kernel, cmdline)| {
                let q = crate::qemu::Qemu::boot(
                    kernel,
                    Some(image.to_path_buf()),
                    cmdline,
                    o.smp,
                    o.memory.clone(),
                );
                s.spawn(move || run(side, q))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a QEMU thread panicked".into())))
            .collect()
    });
    let mut done = true;
    for side in results {
        done &= side?;
    }
    Ok(done)
}

/// `diff -u linux ours`: `None` when the files are the same, else the
/// diff's text.
fn diff(linux: &Path, ours: &Path) -> Result<Option<String>, String> {
    let d = Command::new("diff").arg("-u").arg(linux).arg(ours).output().map_err(|e| format!("diff: {e}"))?;
    Ok((!d.status.success()).then(|| String::from_utf8_lossy(&d.stdout).into_owned()))
}

/// When `dir` has both sides' reports (`linux.out`, `ours.out`: of this
/// run or an earlier one): `before(linux's, ours)`, then whether they are
/// the same, else their `diff -u` (Linux first). True when they are the
/// same or one is missing. `what`: "outputs", "reports".
pub fn compare(r: &Report, what: &str, dir: &Path, before: impl FnOnce(&str, &str)) -> Result<bool, String> {
    let (l, o) = (dir.join("linux.out"), dir.join("ours.out"));
    if !(l.exists() && o.exists()) {
        return Ok(true);
    }
    let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    before(&read(&l), &read(&o));
    let name = r.name;
    match diff(&l, &o)? {
        None => {
            println!("xtask: {name}: the {what} are the same on both kernels");
            Ok(true)
        }
        Some(d) => {
            println!("xtask: {name}: the {what} differ (diff -u linux.out ours.out):");
            print!("{d}");
            Ok(false)
        }
    }
}

/// A command's exit status: 0 when `r` is true, 1 when false, 2 on an
/// error (said as `xtask: NAME: ...`).
pub fn exit(name: &str, r: Result<bool, String>) -> ExitCode {
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: {name}: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Opts, Report, Sides, Spec, compare, diff};

    const BOTH: Spec = Spec {
        sides: Sides::Both,
        smp: 2,
        memory: "3G",
        timeout: 3600,
        min_timeout: 60,
        timeout_is: "seconds",
        words: true,
    };
    const ONE: Spec = Spec {
        sides: Sides::Ours,
        smp: 1,
        memory: "2G",
        timeout: 1200,
        min_timeout: 10,
        timeout_is: "seconds per module",
        words: false,
    };

    fn parse(spec: &Spec, args: &str) -> Result<Opts, String> {
        let args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
        Opts::parse(spec, &args)
    }

    #[test]
    fn defaults_and_values() {
        let o = parse(&BOTH, "").unwrap();
        assert_eq!(
            o,
            Opts {
                sides: Sides::Both,
                smp: 2,
                memory: "3G".into(),
                timeout: 3600,
                release: false,
                words: String::new()
            }
        );
        let o = parse(&BOTH, "--ours --smp 4 --memory 5G --timeout 60 --release").unwrap();
        assert_eq!(
            (o.sides, o.smp, o.memory.as_str(), o.timeout, o.release),
            (Sides::Ours, 4, "5G", 60, true)
        );
        // the last of --linux/--ours wins
        assert_eq!(parse(&BOTH, "--ours --linux").unwrap().sides, Sides::Linux);
        assert_eq!(parse(&BOTH, "--linux --ours").unwrap().sides, Sides::Ours);
        assert_eq!(parse(&ONE, "").unwrap().sides, Sides::Ours);
        assert_eq!(parse(&ONE, "--linux").unwrap().sides, Sides::Linux);
    }

    #[test]
    fn words_after_the_double_dash() {
        let o = parse(&BOTH, "--ours -- systemd.unit=rescue.target --x --smp 1").unwrap();
        assert_eq!(o.words, "systemd.unit=rescue.target --x --smp 1");
        assert_eq!(o.smp, 2);
        assert_eq!(parse(&BOTH, "--").unwrap().words, "");
        // a command without words: `--` is not its
        assert_eq!(parse(&ONE, "-- a").unwrap_err(), "unknown argument \"--\"");
    }

    #[test]
    fn errors_name_the_option() {
        let err = |spec: &Spec, a: &str| parse(spec, a).unwrap_err();
        assert_eq!(err(&BOTH, "--bogus"), "unknown argument \"--bogus\"");
        assert_eq!(err(&BOTH, "--smp"), "--smp takes a number");
        assert_eq!(err(&BOTH, "--smp 0"), "--smp takes a number");
        assert_eq!(err(&BOTH, "--memory"), "--memory takes a size such as 3G");
        assert_eq!(err(&ONE, "--memory"), "--memory takes a size such as 2G");
        assert_eq!(err(&BOTH, "--timeout 59"), "--timeout takes seconds (at least 60)");
        assert_eq!(err(&BOTH, "--timeout x"), "--timeout takes seconds (at least 60)");
        assert_eq!(err(&ONE, "--timeout 9"), "--timeout takes seconds per module (at least 10)");
        assert_eq!(parse(&ONE, "--timeout 10").unwrap().timeout, 10);
        // a one-kernel command has no --ours
        assert_eq!(err(&ONE, "--ours"), "unknown argument \"--ours\"");
    }

    #[test]
    fn take_leaves_the_commands_own() {
        let args: Vec<String> = ["--batch", "2", "--smp", "3"].iter().map(|s| s.to_string()).collect();
        let mut o = Opts::new(&ONE);
        let mut it = args.iter();
        let a = it.next().unwrap();
        assert_eq!(o.take(&ONE, a, &mut it), Ok(false));
        // its value is left for the command
        assert_eq!(it.next().map(String::as_str), Some("2"));
        let a = it.next().unwrap();
        assert_eq!(o.take(&ONE, a, &mut it), Ok(true));
        assert_eq!((o.smp, it.next()), (3, None));
    }

    #[test]
    fn diff_of_the_reports() {
        let dir = std::env::temp_dir().join(format!("xtask-sidebyside-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (l, o) = (dir.join("linux.out"), dir.join("ours.out"));
        std::fs::write(&l, "=== a\n=== b 0\n").unwrap();
        std::fs::write(&o, "=== a\n=== b 0\n").unwrap();
        assert_eq!(diff(&l, &o), Ok(None));
        std::fs::write(&o, "=== a\n=== b 1\n").unwrap();
        let d = diff(&l, &o).unwrap().expect("a diff");
        let body: Vec<&str> = d.lines().skip(2).collect();
        assert_eq!(body, ["@@ -1,2 +1,2 @@", " === a", "-=== b 0", "+=== b 1"]);
        assert!(d.starts_with(&format!("--- {}", l.display())), "{d}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn compare_needs_both_reports() {
        let r = Report {
            name: "t",
            transcript: str::to_string,
            done: "=== done",
            end: "the end",
            show_cmdline: false,
            note: |_| String::new(),
        };
        let dir = std::env::temp_dir().join(format!("xtask-sidebyside-cmp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut seen = Vec::new();
        std::fs::write(dir.join("ours.out"), "x\n").unwrap();
        assert_eq!(compare(&r, "reports", &dir, |l, o| seen.push((l.to_string(), o.to_string()))), Ok(true));
        assert!(seen.is_empty());
        std::fs::write(dir.join("linux.out"), "x\n").unwrap();
        assert_eq!(compare(&r, "reports", &dir, |l, o| seen.push((l.to_string(), o.to_string()))), Ok(true));
        std::fs::write(dir.join("linux.out"), "y\n").unwrap();
        assert_eq!(compare(&r, "reports", &dir, |l, o| seen.push((l.to_string(), o.to_string()))), Ok(false));
        assert_eq!(seen, [("x\n".to_string(), "x\n".to_string()), ("y\n".to_string(), "x\n".to_string())]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
