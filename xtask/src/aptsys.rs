//! apt, curl and wget in the Debian system, on both kernels at once, from
//! a local repository on the host (not in CI: several minutes).
//!
//! `cargo xtask apt [--linux | --ours] [--seccomp] [--smp N] [--memory 2G] [--timeout SECS]`
//! builds the Debian system of [`crate::debsys`] plus [`APT_PACKAGES`]
//! (apt, curl, wget, kmod, dpkg with its database) and
//! `user/debian/apt/apt.sh` as `/usr/local/lib/autorun.sh`, with
//! virtio-net's modules for Linux under `/usr/lib/kt-net-modules`
//! ([`crate::linux::net_modules`]). The network rule: the guest reaches
//! nothing but the host's loopback. For each kernel xtask serves a flat
//! apt repository of its own on the host's 127.0.0.1 (QEMU's user network
//! shows it to the guest as 10.0.2.2; the port is given on the kernel
//! command line as `kt.aptport=PORT`): [`REPO_PACKAGES`]' `.deb`s
//! (`hello`, taken from the cache under `target/debian/debs/`) with a
//! `Packages` and an unsigned `Release` made here (the guest's
//! sources.list marks it `[trusted=yes]`), and a file of
//! [`BLOB_SIZE`] pseudo-random bytes for curl and wget. The server
//! ([`serve_dir`]) is a small HTTP/1.1 one in this file: keep-alive and
//! pipelined requests answered in order, GET and HEAD, 404, stopped when
//! the command ends (and after its time limit at the latest); each request
//! is logged to `target/aptsys/SIDE.requests`.
//!
//! The script (on Linux it first loads the modules with insmod and gives
//! eth0 ours' address and route; /etc/resolv.conf names 127.0.0.1, so no
//! name is looked up outside) runs curl and wget (the file's SHA-256
//! against the host's), `apt-get update`, `apt-get install -y hello`,
//! `hello`, `dpkg -l/-L/-s hello`, `apt-get remove` and `purge`, `apt-get
//! download` + `dpkg -i`, a reinstall, and `apt-get install` while another
//! process holds `/var/lib/dpkg/lock-frontend`; six packages at once with
//! dependencies from the repository, a postinst's update-alternatives,
//! autoremove; with `--seccomp`, `apt-get update` under apt's seccomp
//! filter (differs: our kernel has no seccomp(2)). Its output (the port, times
//! and pids normalised) between its first `=== step` and `=== apt done`
//! is kept in `target/aptsys/SIDE.out`, the console in `SIDE.log`; with
//! both sides the command prints each step's status and `diff -u
//! linux.out ours.out`, and fails unless both ran to the end, agree, and
//! saw the file's right hash.

use crate::devsys::statuses;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the apt system adds to [`crate::debsys::PACKAGES`] (`dpkg` for
/// its database, `kmod` for Linux's insmod).
pub const APT_PACKAGES: &[&str] = &["apt", "curl", "wget", "kmod", "dpkg"];

/// The packages of the local repository (not in the image): small ones,
/// jq with its two libraries (dependencies found in the repository),
/// figlet with a postinst (update-alternatives).
pub const REPO_PACKAGES: &[&str] = &["hello", "tree", "figlet", "jq", "libjq1", "libonig5", "pv"];

/// The file curl and wget fetch, and its size.
const BLOB: &str = "blob.bin";
/// Bytes of [`BLOB`].
pub const BLOB_SIZE: usize = 3 << 20;
/// A larger file (curl's and wget's long transfers).
const BIG: &str = "big.bin";
/// Bytes of [`BIG`].
const BIG_SIZE: usize = 24 << 20;

/// QEMU's memory unless `--memory` is given.
pub const MEMORY: &str = "2G";

/// The guest path of the script /init runs (user/debian/init.c).
const AUTORUN: &str = "usr/local/lib/autorun.sh";

/// Where the image carries virtio-net's modules for Linux.
const MODULE_DIR: &str = "usr/lib/kt-net-modules";

/// The packages asked for: the Debian system's and [`APT_PACKAGES`].
pub fn roots() -> Vec<&'static str> {
    crate::debsys::PACKAGES.iter().chain(APT_PACKAGES).copied().collect()
}

/// A request the server answered: `METHOD PATH STATUS`.
type Log = Arc<Mutex<Vec<String>>>;

/// A running [`serve_dir`] server; dropping it stops it accepting.
pub struct Server {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The requests answered so far.
    pub log: Log,
    stop: Arc<AtomicBool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The file under `root` that `target` (a request's path) names: `.` and
/// empty segments dropped, `%XX` decoded, the query left off; None for a
/// `..` segment or a bad escape.
pub fn file_of(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let mut bytes = Vec::new();
    let raw = path.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let hex = std::str::from_utf8(raw.get(i + 1..i + 3)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(bytes).ok()?;
    let mut out = root.to_path_buf();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => return None,
            s if s.contains('\0') => return None,
            s => out.push(s),
        }
    }
    Some(out)
}

/// One request's head: method, target, HTTP/1.1 without `Connection:
/// close` (keep the connection).
fn parse_head(head: &str) -> Option<(String, String, bool)> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target, version) = (first.next()?, first.next()?, first.next()?);
    let mut keep = version == "HTTP/1.1";
    for l in lines {
        if let Some((k, v)) = l.split_once(':')
            && k.trim().eq_ignore_ascii_case("connection")
        {
            let v = v.trim();
            if v.eq_ignore_ascii_case("close") {
                keep = false;
            } else if v.eq_ignore_ascii_case("keep-alive") {
                keep = true;
            }
        }
    }
    Some((method.to_string(), target.to_string(), keep))
}

/// Answers the requests of one connection in order (pipelined ones too)
/// until it closes, asks to close, or is idle for 60 s.
fn connection(mut s: TcpStream, root: &Path, log: &Log) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(300)));
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break Some(at);
            }
            if buf.len() > 65536 {
                break None;
            }
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => break None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let Some(end) = end else { return };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + 4);
        let Some((method, target, keep)) = parse_head(&head) else {
            let _ =
                s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return;
        };
        let file = file_of(root, &target).filter(|p| p.is_file());
        let conn = if keep { "keep-alive" } else { "close" };
        let (status, body) = match (method.as_str(), file) {
            ("GET" | "HEAD", Some(p)) => match std::fs::read(&p) {
                Ok(b) => ("200 OK", b),
                Err(_) => ("404 Not Found", b"not found\n".to_vec()),
            },
            ("GET" | "HEAD", None) => ("404 Not Found", b"not found\n".to_vec()),
            _ => ("405 Method Not Allowed", Vec::new()),
        };
        let type_ = "application/octet-stream";
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {type_}\r\nContent-Length: {}\r\nConnection: {conn}\r\n\r\n",
            body.len()
        );
        if let Ok(mut l) = log.lock() {
            l.push(format!("{method} {target} {}", &status[..3]));
        }
        let sent = s
            .write_all(head.as_bytes())
            .and_then(|_| if method == "HEAD" { Ok(()) } else { s.write_all(&body) });
        if sent.is_err() || !keep {
            return;
        }
    }
}

/// Serves the files under `root` on a free port of 127.0.0.1 (only the
/// host's loopback) over HTTP/1.1, a thread per connection, until the
/// returned [`Server`] is dropped or `limit` has passed.
pub fn serve_dir(root: PathBuf, limit: Duration) -> Result<Server, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    let port = l.local_addr().map_err(|e| e.to_string())?.port();
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let (stop2, log2) = (stop.clone(), log.clone());
    let root = Arc::new(root);
    std::thread::spawn(move || {
        let start = Instant::now();
        while !stop2.load(Ordering::SeqCst) && start.elapsed() < limit {
            match l.accept() {
                Ok((s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let (root, log) = (root.clone(), log2.clone());
                    std::thread::spawn(move || connection(s, &root, &log));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    Ok(Server { port, log, stop })
}

/// The hex digest of `data` by the host's `md5sum` or `sha256sum`.
fn digest(tool: &str, path: &Path) -> Result<String, String> {
    let out = Command::new(tool).arg(path).output().map_err(|e| format!("{tool}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .filter(|h| out.status.success() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
        .ok_or(format!("{tool} {} printed {text:?}", path.display()))
}

/// The cached `.deb` of `pkg` (fetched into `target/debian/debs/` first
/// when missing).
fn deb_of(pkg: &str) -> Result<PathBuf, String> {
    crate::debian::unpacked(pkg)?;
    let debs = crate::target_dir().join("debian").join("debs");
    std::fs::read_dir(&debs)
        .map_err(|e| format!("{}: {e}", debs.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "deb")
                && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("{pkg}_")))
        })
        .ok_or(format!(
            "no .deb of {pkg} in {}; run: cd {} && apt-get download {pkg}",
            debs.display(),
            debs.display()
        ))
}

/// Makes the flat repository in `dir` ([`REPO_PACKAGES`], `Packages`,
/// `Release`, [`BLOB`], [`BIG`]); returns the lines the script prints for
/// the two files when it got them whole (`NAME SHA256 SIZE`).
pub fn build_repo(dir: &Path) -> Result<Vec<String>, String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut packages = String::new();
    for pkg in REPO_PACKAGES {
        let deb = deb_of(pkg)?;
        let name = deb.file_name().ok_or("a .deb without a name")?.to_string_lossy().into_owned();
        let to = dir.join(&name);
        std::fs::copy(&deb, &to).map_err(|e| format!("{}: {e}", to.display()))?;
        let control =
            Command::new("dpkg-deb").arg("-f").arg(&to).output().map_err(|e| format!("dpkg-deb: {e}"))?;
        if !control.status.success() {
            return Err(format!("dpkg-deb -f {} failed", to.display()));
        }
        packages.push_str(String::from_utf8_lossy(&control.stdout).trim_end());
        let size = std::fs::metadata(&to).map_err(|e| e.to_string())?.len();
        packages.push_str(&format!(
            "\nFilename: ./{name}\nSize: {size}\nMD5sum: {}\nSHA256: {}\n\n",
            digest("md5sum", &to)?,
            digest("sha256sum", &to)?
        ));
    }
    let p = dir.join("Packages");
    std::fs::write(&p, &packages).map_err(|e| format!("{}: {e}", p.display()))?;
    let len = packages.len();
    let release = format!(
        "Origin: kt-local\nLabel: kt-local\nSuite: kt-local\nCodename: kt-local\n\
         Date: Sat, 01 Jan 2022 00:00:00 UTC\nArchitectures: amd64\nComponents: \n\
         Description: the local repository of cargo xtask apt\nMD5Sum:\n {} {len} Packages\nSHA256:\n {} {len} Packages\n",
        digest("md5sum", &p)?,
        digest("sha256sum", &p)?
    );
    let r = dir.join("Release");
    std::fs::write(&r, release).map_err(|e| format!("{}: {e}", r.display()))?;
    let mut want = Vec::new();
    for (name, seed, size) in [(BLOB, 40, BLOB_SIZE), (BIG, 41, BIG_SIZE)] {
        let data = crate::net::pattern(seed, size);
        let p = dir.join(name);
        std::fs::write(&p, &data).map_err(|e| format!("{}: {e}", p.display()))?;
        let stem = name.trim_end_matches(".bin");
        want.push(format!("{stem} {} {size}", crate::net::sha256_hex(&data)?));
    }
    Ok(want)
}

struct Opts {
    /// Which kernels: Linux, ours.
    sides: (bool, bool),
    smp: u32,
    memory: String,
    timeout: u64,
    release: bool,
    /// The script's `seccomp` step too (`kt.aptseccomp`).
    seccomp: bool,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        sides: (true, true),
        smp: 2,
        memory: MEMORY.into(),
        timeout: 1800,
        release: false,
        seccomp: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--linux" => o.sides = (true, false),
            "--ours" => o.sides = (false, true),
            "--release" => o.release = true,
            "--seccomp" => o.seccomp = true,
            "--smp" => {
                o.smp = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n >= 1)
                    .ok_or("--smp takes a number")?
            }
            "--memory" => o.memory = it.next().ok_or("--memory takes a size such as 2G")?.clone(),
            "--timeout" => {
                o.timeout = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n >= 60)
                    .ok_or("--timeout takes seconds (at least 60)")?
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// The script's output: from its first step to its last line.
fn transcript(log: &str) -> String {
    crate::devsys::step_transcript(log, "=== apt done")
}

/// Boots `q` with its own repository server; keeps the console, the
/// transcript and the requests under `dir`. True when the script reached
/// its end and printed each line of `sums` (the files' hashes).
fn one_side(
    q: &mut crate::qemu::Qemu,
    side: &str,
    dir: &Path,
    repo: &Path,
    sums: &[String],
    timeout: u64,
) -> Result<bool, String> {
    let server = serve_dir(repo.to_path_buf(), Duration::from_secs(timeout + 60))?;
    q.cmdline = format!("{} kt.aptport={}", q.cmdline, server.port);
    eprintln!(
        "xtask: apt on {side} ({} CPUs, {}), its repository on 127.0.0.1:{}",
        q.smp, q.memory, server.port
    );
    let wall = Instant::now();
    let out = q.run_captured(Duration::from_secs(timeout), false)?;
    let log = dir.join(format!("{side}.log"));
    std::fs::write(&log, &out.output).map_err(|e| format!("{}: {e}", log.display()))?;
    let t = transcript(&out.output);
    let path = dir.join(format!("{side}.out"));
    std::fs::write(&path, &t).map_err(|e| format!("{}: {e}", path.display()))?;
    let requests = server.log.lock().map(|l| l.join("\n") + "\n").unwrap_or_default();
    let rp = dir.join(format!("{side}.requests"));
    std::fs::write(&rp, &requests).map_err(|e| format!("{}: {e}", rp.display()))?;
    let done = t.contains("=== apt done");
    let hash_ok = sums.iter().all(|s| t.lines().any(|l| l == s));
    println!(
        "xtask: apt on {side}: {:.0} s wall, {} ({}), {} requests served, curl's files {}; the console in {}",
        wall.elapsed().as_secs_f64(),
        if done {
            "finished"
        } else if out.timed_out {
            "timed out"
        } else {
            "stopped before the end"
        },
        path.display(),
        requests.lines().count(),
        if hash_ok { "right" } else { "WRONG or missing" },
        log.display()
    );
    Ok(done && hash_ok)
}

fn run(o: &Opts) -> Result<bool, String> {
    crate::setup::ensure_tools(&[("qemu-system-x86_64", "qemu-system-x86")])?;
    let dir = crate::target_dir().join("aptsys");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let repo = dir.join("repo");
    let sums = build_repo(&repo)?;
    let script = crate::root().join("user/debian/apt/apt.sh");
    let added: Vec<(String, crate::debsys::Added)> = crate::linux::net_modules()?
        .into_iter()
        .enumerate()
        .map(|(i, (name, data))| {
            (format!("{MODULE_DIR}/{i:02}-{name}"), crate::debsys::Added::Data(data, 0o644))
        })
        .collect();
    // one image for both kernels, removed once they are done
    let name = format!("initramfs-aptsys-{}", std::process::id());
    let img = crate::debsys::build_image_plus(&roots(), &[(AUTORUN.into(), script)], &added, &name, false)?;
    let mut jobs = Vec::new();
    if o.sides.0 {
        jobs.push(("linux", crate::linux::vmlinuz()?, crate::linux::CMDLINE));
    }
    if o.sides.1 {
        jobs.push(("ours", crate::build_kernel(o.release)?, crate::debsys::CMDLINE));
    }
    let results: Vec<Result<bool, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(side, kernel, cmdline)| {
                let mut q =
                    crate::qemu::Qemu::boot(kernel, Some(img.path.clone()), cmdline, o.smp, o.memory.clone());
                q.net = Some(Vec::new());
                if o.seccomp {
                    q.cmdline.push_str(" kt.aptseccomp");
                }
                let (dir, repo, sums) = (dir.clone(), repo.clone(), sums.clone());
                s.spawn(move || one_side(&mut q, side, &dir, &repo, &sums, o.timeout))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a QEMU thread panicked".into())))
            .collect()
    });
    let _ = std::fs::remove_file(&img.path);
    let mut ok = true;
    for r in results {
        ok &= r?;
    }
    let (l, r) = (dir.join("linux.out"), dir.join("ours.out"));
    if o.sides.0 && o.sides.1 {
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let (lt, ot) = (read(&l), read(&r));
        let (ls, os) = (statuses(&lt), statuses(&ot));
        println!("xtask: apt: step: Linux's status | ours");
        for (n, s) in &ls {
            let ours = os.iter().find(|x| &x.0 == n).map_or("-", |x| x.1.as_str());
            println!("  {n}: {s} | {ours}");
        }
        let d = Command::new("diff").arg("-u").arg(&l).arg(&r).output().map_err(|e| format!("diff: {e}"))?;
        if d.status.success() {
            println!("xtask: apt: the outputs are the same on both kernels");
        } else {
            ok = false;
            println!("xtask: apt: the outputs differ (diff -u linux.out ours.out):");
            print!("{}", String::from_utf8_lossy(&d.stdout));
        }
        let (lq, oq) = (read(&dir.join("linux.requests")), read(&dir.join("ours.requests")));
        if lq != oq {
            println!(
                "xtask: apt: the requests served differ (linux.requests, ours.requests under {})",
                dir.display()
            );
        }
    }
    Ok(ok)
}

/// `cargo xtask apt ...`.
pub fn main(args: &[String]) -> ExitCode {
    match parse(args).and_then(|o| run(&o)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: apt: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{connection, file_of, parse_head, statuses, transcript};
    use std::io::{Read, Write};
    use std::path::Path;

    #[test]
    fn request_paths_stay_under_the_root() {
        let r = Path::new("/srv");
        assert_eq!(file_of(r, "/./Packages"), Some("/srv/Packages".into()));
        assert_eq!(file_of(r, "//a/./b?x=1"), Some("/srv/a/b".into()));
        assert_eq!(file_of(r, "/hello_2.10%2D3.deb"), Some("/srv/hello_2.10-3.deb".into()));
        assert_eq!(file_of(r, "/../etc/passwd"), None);
        assert_eq!(file_of(r, "/a/%2e%2e/b"), None);
        assert_eq!(file_of(r, "/%zz"), None);
    }

    #[test]
    fn keep_alive_by_version_and_header() {
        let h = parse_head;
        assert_eq!(h("GET /a HTTP/1.1\r\nHost: x"), Some(("GET".into(), "/a".into(), true)));
        assert_eq!(h("GET /a HTTP/1.1\r\nConnection: close"), Some(("GET".into(), "/a".into(), false)));
        assert_eq!(h("HEAD /b HTTP/1.0"), Some(("HEAD".into(), "/b".into(), false)));
        assert_eq!(h("GET /b HTTP/1.0\r\nconnection: Keep-Alive"), Some(("GET".into(), "/b".into(), true)));
        assert_eq!(h("GET"), None);
    }

    #[test]
    fn pipelined_requests_answered_in_order() {
        let dir = std::env::temp_dir().join(format!("aptsys-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a"), b"AAA").unwrap();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (d2, log2) = (dir.clone(), log.clone());
        let t = std::thread::spawn(move || connection(l.accept().unwrap().0, &d2, &log2));
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(
            b"GET /a HTTP/1.1\r\n\r\nHEAD /a HTTP/1.1\r\n\r\nGET /zz HTTP/1.1\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        t.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let want = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 3\r\n\
                    Connection: keep-alive\r\n\r\nAAA\
                    HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 3\r\n\
                    Connection: keep-alive\r\n\r\n\
                    HTTP/1.1 404 Not Found\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\n\
                    Connection: close\r\n\r\nnot found\n";
        assert_eq!(got, want);
        assert_eq!(*log.lock().unwrap(), vec!["GET /a 200", "HEAD /a 200", "GET /zz 404"]);
    }

    #[test]
    fn transcript_from_first_step_to_done() {
        let log = "boot\n=== step a\nx\n=== status a 0\n=== apt done\npower off\n";
        let t = transcript(log);
        assert_eq!(t, "=== step a\nx\n=== status a 0\n=== apt done\n");
        assert_eq!(statuses(&t), vec![("a".to_string(), "0".to_string())]);
    }
}
