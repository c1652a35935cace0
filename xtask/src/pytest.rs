//! `cargo xtask pytest [--linux] [--batch 1|2|3|4] [--match PATTERN]... [--use RESOURCE]... [--smp N] [--memory SIZE] [--timeout SECS] [MODULE ...]`
//! or `cargo xtask pytest [--linux] --reparse LOG` (a console capture parsed again):
//! CPython's own regression tests as a reproducer (not in CI: long).
//!
//! The Debian system of `cargo xtask qemu --debian` ([`crate::debsys`])
//! carries python3.11 and `test.support`/`test.libregrtest` (in
//! libpython3.11-stdlib); this command adds Debian's
//! libpython3.11-testsuite (fetched as the system's packages are:
//! `apt-get download` + `dpkg -x`, cached under `target/debian/`) — only
//! the test modules asked for, the helper files at the top of `Lib/test`
//! and `subprocessdata/` — and `/usr/local/lib/autorun.sh`, which the
//! system's /init (user/debian/init.c) runs instead of the login shell:
//! `python3 -m test -v --timeout T MODULE` per module, one process each,
//! stdin from /dev/null, then power-off.
//!
//! Each test's result (`ok`, `FAIL`, `ERROR`, `skipped`, ...) is parsed from
//! unittest's verbose lines and kept in `target/pytest/ours.tsv` or
//! `linux.tsv` (the raw console in `ours.log`/`linux.log`; a run replaces
//! the rows of the modules it ran). When both sides have a module, the
//! command prints per module Linux's and our counts and every test case
//! whose result differs.

use crate::sidebyside::{self, Sides, Spec};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The OS-facing modules run when none is named (test_termios is not in
/// 3.11's suite).
pub const DEFAULT_MODULES: &[&str] = &[
    "test_os",
    "test_posix",
    "test_signal",
    "test_subprocess",
    "test_select",
    "test_selectors",
    "test_fcntl",
    "test_mmap",
    "test_time",
    "test_socket",
    "test_pty",
    "test_resource",
    "test_threading",
    "test_tempfile",
    "test_shutil",
    "test_stat",
    "test_file",
    "test_fileio",
    "test_io",
    "test_epoll",
    "test_poll",
    "test_eintr",
    "test_pathlib",
    "test_glob",
];

/// `--batch 2`: the second batch of OS-facing modules (pytest31).
/// test_sqlite3 is not in Debian's libpython3.11-testsuite and test_tty
/// not in 3.11's suite.
pub const BATCH2_MODULES: &[&str] = &[
    "test_wait3",
    "test_wait4",
    "test_fork1",
    "test_threadsignals",
    "test_thread",
    "test_mailbox",
    "test_largefile",
    "test_tarfile",
    "test_zipfile",
    "test_logging",
    "test_ioctl",
    "test_openpty",
    "test_getpass",
    "test_httpservers",
    "test_urllib2_localnet",
    "test_socketserver",
    "test_faulthandler",
    "test_sched",
    "test_timeout",
    "test_cmd_line",
    "test_sys",
    "test_platform",
    "test_pwd",
    "test_grp",
    "test_uuid",
    "test_dbm",
    "test_concurrent_futures",
    "test_asyncio",
    "test_multiprocessing_fork",
];

/// `--batch 3`: the third batch (pytest32): file, import, compression,
/// hashing and numeric modules of the standard library that reach the
/// kernel through files, processes, mmap and clocks. test_kqueue and
/// test_devpoll skip on Linux (BSD and Solaris interfaces); test_venv is
/// left out (Debian ships `ensurepip`, which it imports, in python3.11-venv).
pub const BATCH3_MODULES: &[&str] = &[
    "test_posixpath",
    "test_genericpath",
    "test_fileinput",
    "test_filecmp",
    "test_popen",
    "test_pipes",
    "test_file_eintr",
    "test_threadedtempfile",
    "test_threading_local",
    "test_zipimport",
    "test_zipimport_support",
    "test_compileall",
    "test_py_compile",
    "test_importlib",
    "test_xml_etree",
    "test_gzip",
    "test_bz2",
    "test_lzma",
    "test_zlib",
    "test_hashlib",
    "test_random",
    "test_math",
    "test_kqueue",
    "test_devpoll",
    "test_syslog",
    "test_crypt",
    "test_spwd",
    "test_tracemalloc",
    "test_memoryio",
    "test_bufio",
    "test_univnewlines",
    "test_unicode_file",
    "test_unicode_file_functions",
    "test_site",
    "test_sysconfig",
    "test_shelve",
    "test_dbm_dumb",
    "test_runpy",
    "test_pkgutil",
    "test_cmd_line_script",
    "test_atexit",
    "test_gc",
    "test_locale",
    "test_strftime",
    "test_utf8_mode",
    "test_zipapp",
    "test_tabnanny",
];

/// `--batch 4`: the fourth batch (pytest33): local servers (ftp, smtp,
/// imap, pop, telnet, http, xmlrpc, wsgi, TLS), multiprocessing's other
/// start methods (a subset, [`MODULE_ARGS`]), dbm back ends, unittest's and
/// doctest's own tests, ctypes, profilers, debuggers, imports and the
/// interpreter's start-up and terminal paths. test_capi and test_sqlite3
/// are not in Debian's libpython3.11-testsuite; test_embed needs
/// `Programs/_testembed`, which Debian does not ship.
pub const BATCH4_MODULES: &[&str] = &[
    "test_multiprocessing_main_handling",
    "test_multiprocessing_forkserver",
    "test_multiprocessing_spawn",
    "test_ftplib",
    "test_smtplib",
    "test_smtpd",
    "test_imaplib",
    "test_poplib",
    "test_asyncore",
    "test_asynchat",
    "test_telnetlib",
    "test_xmlrpc",
    "test_docxmlrpc",
    "test_wsgiref",
    "test_httplib",
    "test_urllib2",
    "test_urllib",
    "test_ssl",
    "test_dbm_gnu",
    "test_dbm_ndbm",
    "test_unittest",
    "test_doctest",
    "test_doctest2",
    "test_queue",
    "test_ctypes",
    "test_cprofile",
    "test_profile",
    "test_trace",
    "test_pdb",
    "test_readline",
    "test_builtin",
    "test_pydoc",
    "test_mimetypes",
    "test_netrc",
    "test_import",
    "test_imp",
    "test_pkg",
    "test_linecache",
    "test_c_locale_coercion",
    "test_audit",
    "test_fileutils",
    "test_getpath",
    "test_weakref",
    "test_warnings",
    "test_exceptions",
    "test_zoneinfo",
];

/// regrtest arguments of a module when the command line gives no
/// `--match`: multiprocessing's spawn and forkserver runs take a python3
/// start per worker (tens of minutes under TCG), so only their process,
/// queue, connection, lock and event classes run.
const MODULE_ARGS: &[(&str, &str)] = &[
    (
        "test_multiprocessing_forkserver",
        "-m WithProcessesTestProcess -m WithProcessesTestQueue -m WithProcessesTestConnection \
         -m WithProcessesTestLock -m WithProcessesTestEvent",
    ),
    (
        "test_multiprocessing_spawn",
        "-m WithProcessesTestProcess -m WithProcessesTestQueue -m WithProcessesTestConnection \
         -m WithProcessesTestLock -m WithProcessesTestEvent",
    ),
];

/// Debian's package of `Lib/test` (without `support`, which is in
/// libpython3.11-stdlib).
const PACKAGE: &str = "libpython3.11-testsuite";
/// Where the package has the tests, and where the guest gets them.
const TEST_DIR: &str = "usr/lib/python3.11/test";
/// Data directories of `Lib/test` the default modules read.
const DATA_DIRS: &[&str] = &["subprocessdata", "ziptestdata", "xmltestdata", "capath"];
/// Test modules a module runs as data (test_cmd_line's
/// test_relativedir_bug46421 runs `-m unittest test/test_longexp.py`).
/// test_zipimport_support imports test_doctest, test_shelve test_dbm;
/// batch 4's modules import the modules listed with them.
const MODULE_EXTRAS: &[(&str, &[&str])] = &[
    ("test_cmd_line", &["test_longexp.py"]),
    ("test_zipimport_support", &["test_doctest.py"]),
    ("test_shelve", &["test_dbm.py"]),
    ("test_doctest", &["test_doctest.txt", "test_doctest2.txt", "test_doctest3.txt", "test_doctest4.txt"]),
    ("test_poplib", &["test_ftplib.py"]),
    ("test_wsgiref", &["test_httpservers.py"]),
    ("test_urllib2", &["test_urllib.py", "test_http_cookiejar.py"]),
    ("test_cprofile", &["test_profile.py"]),
    ("test_pdb", &["test_doctest.py"]),
    ("test_import", &["test_importlib"]),
    ("test_fileutils", &["test_posixpath.py", "test_genericpath.py"]),
    ("test_imp", &["encoded_modules"]),
    ("test_trace", &["tracedmodules", "test_pprint.py", "test_set.py"]),
];
/// Test packages a module loads from outside `Lib/test` (paths in the
/// package): test_unittest runs `unittest.test`, test_ctypes `ctypes.test`.
const PACKAGE_EXTRAS: &[(&str, &str)] = &[
    ("test_unittest", "usr/lib/python3.11/unittest/test"),
    ("test_ctypes", "usr/lib/python3.11/ctypes/test"),
];
/// The guest path of the script /init runs (user/debian/init.c).
const AUTORUN: &str = "usr/local/lib/autorun.sh";
/// Marks in the console output the script prints around each module.
const BEGIN: &str = "=== pytest begin ";
const END: &str = "=== pytest end ";

/// The options shared with the side-by-side commands: one kernel (ours,
/// or `--linux`), timeouts per module.
const SPEC: Spec = Spec {
    sides: Sides::Ours,
    smp: 1,
    memory: "2G",
    timeout: 1200,
    min_timeout: 10,
    timeout_is: "seconds per module",
    words: false,
};

struct Opts {
    /// The kernel, CPUs, memory, seconds per module, `--release`.
    boot: sidebyside::Opts,
    modules: Vec<String>,
    batch: u32,
    matches: Vec<String>,
    uses: Vec<String>,
    reparse: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        boot: sidebyside::Opts::new(&SPEC),
        modules: Vec::new(),
        batch: 1,
        matches: Vec::new(),
        uses: Vec::new(),
        reparse: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if o.boot.take(&SPEC, a, &mut it)? {
            continue;
        }
        match a.as_str() {
            "--batch" => {
                o.batch = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| (1..=4).contains(&n))
                    .ok_or("--batch takes 1 (the default modules), 2, 3 or 4")?
            }
            "--match" => {
                let p = it.next().ok_or("--match takes a regrtest -m pattern")?;
                if p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || "_.*?[]-".contains(c)) {
                    return Err(format!("--match {p:?}: only letters, digits and _.*?[]- please"));
                }
                o.matches.push(p.clone())
            }
            "--use" => {
                let r = it.next().ok_or("--use takes a regrtest resource such as network")?;
                if r.is_empty() || !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ',') {
                    return Err(format!("--use {r:?}: a resource name such as network"));
                }
                o.uses.push(r.clone())
            }
            "--reparse" => o.reparse = Some(PathBuf::from(it.next().ok_or("--reparse takes a console log")?)),
            m if m.starts_with("test_") && m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                o.modules.push(m.to_string())
            }
            other => return Err(format!("unknown argument {other:?} (modules are named test_*)")),
        }
    }
    if o.modules.is_empty() {
        let list = match o.batch {
            2 => BATCH2_MODULES,
            3 => BATCH3_MODULES,
            4 => BATCH4_MODULES,
            _ => DEFAULT_MODULES,
        };
        o.modules = list.iter().map(|s| s.to_string()).collect();
    }
    Ok(o)
}

/// The script /init runs: each module in its own `python3 -m test`.
fn script(modules: &[String], timeout: u64, matches: &[String], uses: &[String]) -> String {
    let mut s =
        String::from("# cargo xtask pytest (xtask/src/pytest.rs)\ncd /tmp\nexport PYTHONHASHSEED=0\n");
    // lo up, as a Debian system's ifupdown has it (Linux's is down at
    // boot, ours up): SIOCGIFFLAGS, | IFF_UP, SIOCSIFFLAGS
    s.push_str(
        "python3 - <<'EOF' || echo 'pytest: lo not up'\nimport fcntl, socket, struct\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         r = fcntl.ioctl(s, 0x8913, struct.pack('16sh22x', b'lo', 0))\n\
         f = struct.unpack('16sh22x', r)[1]\n\
         fcntl.ioctl(s, 0x8914, struct.pack('16sh22x', b'lo', f | 1))\nEOF\n",
    );
    let mut filter: String = uses.iter().map(|r| format!(" -u {r}")).collect();
    filter.extend(matches.iter().map(|p| format!(" -m '{p}'")));
    for m in modules {
        let own = MODULE_ARGS.iter().find(|(x, _)| x == m).filter(|_| matches.is_empty());
        let filter = own.map_or(filter.clone(), |(_, a)| format!("{filter} {a}"));
        // regrtest's --timeout dumps the tracebacks of a hung module and
        // exits; timeout(1) is the backstop
        s.push_str(&format!(
            "echo '{BEGIN}{m}'\ntimeout -s KILL {} python3 -m test -v --timeout {timeout}{filter} {m} </dev/null 2>&1\necho \"{END}{m} status $?\"\n",
            timeout + 60
        ));
    }
    s
}

/// The files under `start` (a file or a directory), with their paths in
/// the package `pkg`.
fn walk(pkg: &Path, start: PathBuf, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let mut stack = vec![start];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).map_err(|e| format!("{}: {e}", p.display()))?.flatten() {
                stack.push(e.path());
            }
        } else if p.is_file() {
            let rel = p.strip_prefix(pkg).map_err(|e| e.to_string())?;
            out.push((rel.to_string_lossy().into_owned(), p.clone()));
        }
    }
    Ok(())
}

/// The guest files: the package's helpers, data directories and the
/// modules asked for (a module is `test_x.py` or the package `test_x/`).
fn test_files(modules: &[String]) -> Result<Vec<(String, PathBuf)>, String> {
    let pkg = crate::debian::unpacked(PACKAGE)?;
    let dir = pkg.join(TEST_DIR);
    let mut out = Vec::new();
    let add_tree = |rel: &str, out: &mut Vec<(String, PathBuf)>| walk(&pkg, dir.join(rel), out);
    for e in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_file() && !name.starts_with("test_") {
            add_tree(&name, &mut out)?;
        }
    }
    for d in DATA_DIRS {
        add_tree(d, &mut out)?;
    }
    for (m, files) in MODULE_EXTRAS {
        if modules.iter().any(|x| x == m) {
            for f in *files {
                add_tree(f, &mut out)?;
            }
        }
    }
    for (m, path) in PACKAGE_EXTRAS {
        if modules.iter().any(|x| x == m) {
            walk(&pkg, pkg.join(path), &mut out)?;
        }
    }
    for m in modules {
        let file = format!("{m}.py");
        if dir.join(&file).is_file() {
            add_tree(&file, &mut out)?;
        } else if dir.join(m).is_dir() {
            add_tree(m, &mut out)?;
        } else {
            return Err(format!(
                "Debian's {PACKAGE} has no module {m} (no {file} nor {m}/ in {})",
                dir.display()
            ));
        }
    }
    Ok(out)
}

/// One test case's outcome.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Outcome {
    /// `ok`, `expected failure`.
    Pass,
    /// `skipped ...`.
    Skip,
    /// `FAIL`, `unexpected success`.
    Fail,
    /// `ERROR`.
    Error,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Skip => "SKIP",
            Outcome::Fail => "FAIL",
            Outcome::Error => "ERROR",
        }
    }

    fn from_word(w: &str) -> Option<Outcome> {
        [Outcome::Pass, Outcome::Skip, Outcome::Fail, Outcome::Error].into_iter().find(|o| o.word() == w)
    }

    /// unittest's verbose result word at the start of `s`.
    fn from_unittest(s: &str) -> Option<Outcome> {
        // regrtest puts the time of a slow test first: `1.25s ok`
        let s = skip_time(s.trim());
        if s == "ok" || s == "expected failure" {
            Some(Outcome::Pass)
        } else if s.starts_with("skipped") {
            Some(Outcome::Skip)
        } else if s == "FAIL" || s == "unexpected success" {
            Some(Outcome::Fail)
        } else if s == "ERROR" {
            Some(Outcome::Error)
        } else {
            None
        }
    }
}

/// `s` without a leading `1.25s ` (regrtest's time of a slow test, also
/// left at the start of the next line when the test wrote no newline).
fn skip_time(s: &str) -> &str {
    match s.split_once("s ") {
        Some((t, rest)) if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.') => {
            rest.trim_start()
        }
        _ => s,
    }
}

/// The test id of a verbose line `name (test.test_x.Class.name) ...`:
/// `Class.name` (`setUpClass (test.test_x.Class)` gives
/// `Class.setUpClass`; a test of another module of `test` keeps its
/// full path).
fn test_id(line: &str, module: &str) -> Option<String> {
    let (name, rest) = line.split_once(" (")?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let (path, _) = rest.split_once(')')?;
    let prefix = format!("test.{module}.");
    // a base class of another module (test.fork_wait.ForkWait in
    // test_wait3) keeps its full path
    let inner = path
        .strip_prefix(&prefix)
        .or_else(|| path.strip_prefix(&format!("{module}.")))
        .or_else(|| path.starts_with("test.").then_some(path))
        .or_else(|| from_package_extra(path).then_some(path))?;
    if inner.ends_with(&format!(".{name}")) {
        Some(inner.to_string())
    } else {
        Some(format!("{inner}.{name}"))
    }
}

/// Whether a test path is in one of [`PACKAGE_EXTRAS`]'s packages
/// (`unittest.test.test_case.Test_TestCase.test_eq` of test_unittest).
fn from_package_extra(path: &str) -> bool {
    PACKAGE_EXTRAS.iter().any(|(_, dir)| {
        dir.strip_prefix("usr/lib/python3.11/")
            .is_some_and(|pkg| path.strip_prefix(&pkg.replace('/', ".")).is_some_and(|r| r.starts_with('.')))
    })
}

/// The results of one module's verbose output; a worse result of the same
/// id (a failing subtest) wins.
pub fn parse_module(module: &str, text: &str) -> BTreeMap<String, Outcome> {
    let mut out: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut pending: Option<String> = None;
    let record = |id: &str, o: Outcome, out: &mut BTreeMap<String, Outcome>| {
        let e = out.entry(id.to_string()).or_insert(o);
        if o > *e {
            *e = o;
        }
    };
    for line in text.lines() {
        let line = skip_time(line.trim_start());
        if let Some(id) = test_id(line, module) {
            let tail = line.rsplit_once(" ... ").map(|(_, t)| t);
            match tail.and_then(Outcome::from_unittest) {
                Some(o) => {
                    record(&id, o, &mut out);
                    pending = None;
                }
                None => pending = Some(id),
            }
            continue;
        }
        if let Some(id) = &pending {
            let tail = line.rsplit_once(" ... ").map_or(line, |(_, t)| t);
            if let Some(o) = Outcome::from_unittest(tail) {
                record(id, o, &mut out);
                pending = None;
            }
        }
    }
    out
}

/// One side's results: module → (status line, test → outcome).
type Side = BTreeMap<String, (String, BTreeMap<String, Outcome>)>;

fn load(path: &Path) -> Side {
    let mut side = Side::new();
    let Ok(text) = std::fs::read_to_string(path) else { return side };
    for l in text.lines() {
        let f: Vec<&str> = l.splitn(3, '\t').collect();
        if f.len() != 3 {
            continue;
        }
        let e = side.entry(f[0].to_string()).or_default();
        if f[1] == "-" {
            e.0 = f[2].to_string();
        } else if let Some(o) = Outcome::from_word(f[2]) {
            e.1.insert(f[1].to_string(), o);
        }
    }
    side
}

fn save(path: &Path, side: &Side) -> Result<(), String> {
    let mut s = String::new();
    for (m, (status, tests)) in side {
        s.push_str(&format!("{m}\t-\t{status}\n"));
        for (id, o) in tests {
            s.push_str(&format!("{m}\t{id}\t{}\n", o.word()));
        }
    }
    std::fs::write(path, s).map_err(|e| format!("{}: {e}", path.display()))
}

/// The module outputs between the script's marks, with the end status
/// (`killed`: no end mark, the machine stopped inside the module).
fn split_modules(log: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(String, String)> = None;
    for line in log.lines() {
        if let Some(m) = line.strip_prefix(BEGIN) {
            if let Some((m0, t)) = cur.take() {
                out.push((m0, t, "no end".into()));
            }
            cur = Some((m.trim().to_string(), String::new()));
        } else if let Some(rest) = line.strip_prefix(END) {
            let status = rest.split_once(" status ").map_or("?", |(_, s)| s.trim()).to_string();
            if let Some((m, t)) = cur.take() {
                let status = match status.as_str() {
                    "0" => "passed".to_string(),
                    "137" => "killed by timeout(1)".to_string(),
                    s => format!("status {s}"),
                };
                out.push((m, t, status));
            }
        } else if let Some((_, t)) = cur.as_mut() {
            t.push_str(line);
            t.push('\n');
        }
    }
    if let Some((m, t)) = cur {
        out.push((m, t, "killed (the machine stopped inside it)".into()));
    }
    out
}

fn counts(tests: &BTreeMap<String, Outcome>) -> String {
    let n = |o: Outcome| tests.values().filter(|&&x| x == o).count();
    format!("{}/{}/{}/{}", n(Outcome::Pass), n(Outcome::Fail), n(Outcome::Error), n(Outcome::Skip))
}

/// Prints per module both sides' counts and the cases that differ.
fn compare(linux: &Side, ours: &Side) {
    println!(
        "\nxtask: pytest: module: Linux pass/fail/error/skip | ours pass/fail/error/skip (module status)"
    );
    for (m, (ls, lt)) in linux {
        let Some((os, ot)) = ours.get(m) else { continue };
        println!("  {m}: {} ({ls}) | {} ({os})", counts(lt), counts(ot));
    }
    for (m, (_, lt)) in linux {
        let Some((_, ot)) = ours.get(m) else { continue };
        let mut ids: Vec<&String> = lt.keys().chain(ot.keys()).collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            let (l, o) = (lt.get(id), ot.get(id));
            if l != o {
                let w = |x: Option<&Outcome>| x.map_or("-", |o| o.word());
                println!("  differs: {m} {id}: Linux {} ours {}", w(l), w(o));
            }
        }
    }
}

fn run(o: &Opts) -> Result<bool, String> {
    crate::setup::ensure_tools(&[("qemu-system-x86_64", "qemu-system-x86")])?;
    let dir = sidebyside::dir("pytest")?;
    let b = &o.boot;
    let side_name = b.sides.name();
    let script_path = dir.join(format!("autorun-{side_name}-{}.sh", std::process::id()));
    std::fs::write(&script_path, script(&o.modules, b.timeout, &o.matches, &o.uses))
        .map_err(|e| format!("{}: {e}", script_path.display()))?;
    let mut extra = test_files(&o.modules)?;
    extra.push((AUTORUN.into(), script_path));
    let img = crate::debsys::build_named(
        &extra,
        &format!("initramfs-pytest-{side_name}-{}", std::process::id()),
        false,
    )?;
    // one image per run (runs may overlap), removed once QEMU is done
    let image = img.path.clone();
    let (kernel, cmdline) = if b.sides.linux() {
        (crate::linux::vmlinuz()?, crate::linux::CMDLINE)
    } else {
        (crate::build_kernel(b.release)?, crate::debsys::CMDLINE)
    };
    let q = crate::qemu::Qemu::boot(kernel, Some(img.path), cmdline, b.smp, b.memory.clone());
    let total = Duration::from_secs((b.timeout + 90) * o.modules.len() as u64 + 300);
    eprintln!("xtask: pytest on {side_name}: {} ({} CPUs, {})", o.modules.join(" "), b.smp, b.memory);
    let wall = std::time::Instant::now();
    let out = q.run_captured(total, true);
    let _ = std::fs::remove_file(&image);
    let out = out?;
    let log = dir.join(format!("{side_name}.log"));
    std::fs::write(&log, &out.output).map_err(|e| format!("{}: {e}", log.display()))?;
    record(&dir, b.sides.linux(), &out.output, &o.modules)?;
    println!(
        "xtask: pytest on {side_name}: {:.0} s wall; the console in {}",
        wall.elapsed().as_secs_f64(),
        log.display()
    );
    Ok(!out.timed_out)
}

/// Parses a console capture into the side's .tsv (modules asked for but
/// not in `output` become `not reached`) and compares with the other side.
fn record(dir: &Path, linux: bool, output: &str, asked: &[String]) -> Result<(), String> {
    let side_name = if linux { "linux" } else { "ours" };
    let tsv = dir.join(format!("{side_name}.tsv"));
    let mut side = load(&tsv);
    let mut done = Vec::new();
    for (m, text, status) in split_modules(output) {
        let tests = parse_module(&m, &text);
        println!("xtask: pytest {side_name} {m}: {} pass/fail/error/skip, {status}", counts(&tests));
        side.insert(m.clone(), (status, tests));
        done.push(m);
    }
    for m in asked.iter().filter(|m| !done.contains(m)) {
        println!("xtask: pytest {side_name} {m}: not reached");
        side.insert(m.clone(), ("not reached".into(), BTreeMap::new()));
    }
    save(&tsv, &side)?;
    println!("xtask: pytest {side_name}: results in {}", tsv.display());
    let (linux, ours) =
        if linux { (side, load(&dir.join("ours.tsv"))) } else { (load(&dir.join("linux.tsv")), side) };
    compare(&linux, &ours);
    Ok(())
}

/// `--reparse LOG`: a console capture (`target/pytest/ours.log`, or
/// xtask's own output of a run) parsed again into the side's .tsv.
fn reparse(o: &Opts, log: &Path) -> Result<bool, String> {
    let text = std::fs::read(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let dir = sidebyside::dir("pytest")?;
    record(&dir, o.boot.sides.linux(), &String::from_utf8_lossy(&text), &[])?;
    Ok(true)
}

/// `cargo xtask pytest ...`.
pub fn main(args: &[String]) -> ExitCode {
    let r = parse(args).and_then(|o| match &o.reparse {
        Some(log) => reparse(&o, log),
        None => run(&o),
    });
    sidebyside::exit("pytest", r)
}

#[cfg(test)]
mod tests {
    use super::{Outcome, parse_module, script, split_modules};

    #[test]
    fn module_args() {
        let mods = vec!["test_multiprocessing_spawn".to_string(), "test_os".to_string()];
        let s = script(&mods, 100, &[], &[]);
        let line = |m: &str| {
            s.lines()
                .find(|l| l.contains("python3 -m test") && l.ends_with(&format!(" {m} </dev/null 2>&1")))
                .map(str::to_string)
        };
        let spawn = line("test_multiprocessing_spawn").expect("spawn line");
        assert!(
            spawn.contains("--timeout 100 -m WithProcessesTestProcess -m WithProcessesTestQueue"),
            "{spawn}"
        );
        assert!(!line("test_os").expect("os line").contains("WithProcesses"));
        // a --match of the command line replaces the module's own
        let s = script(&mods, 100, &["X.test_y".to_string()], &[]);
        let spawn = s.lines().find(|l| l.contains(" test_multiprocessing_spawn <")).expect("spawn line");
        assert!(spawn.contains("-m 'X.test_y'") && !spawn.contains("WithProcesses"), "{spawn}");
    }

    #[test]
    fn verbose_lines() {
        let text = "test_a (test.test_os.X.test_a) ... ok\n\
                    test_b (test.test_os.X.test_b)\nDoc line ... FAIL\n\
                    test_c (test.test_os.X.test_c) ... child output\nERROR\n\
                    test_d (test.test_os.Y.test_d) ... skipped 'no'\n\
                    setUpClass (test.test_os.Z) ... ERROR\n\
                    test_e (test.test_os.X.test_e) ... expected failure\n\
                    test_wait (test.fork_wait.ForkWait.test_wait) ... ok\n\
                    test_f (os.X.test_f) ... ok\n\
                    test_g (test.test_os.X.test_g) ... 0.71s ok\n\
                    test_h (test.test_os.X.test_h) ... 12.5s ERROR\n\
                    0.82s test_i (test.test_os.X.test_i) ... 14.84s ok\n\
                    test_j (unittest.test.test_case.T.test_j) ... ok\n\
                    test_k (unittestx.T.test_k) ... ok\n";
        let r = parse_module("test_os", text);
        let get = |k: &str| r.get(k).copied();
        assert_eq!(get("X.test_a"), Some(Outcome::Pass));
        assert_eq!(get("X.test_b"), Some(Outcome::Fail));
        assert_eq!(get("X.test_c"), Some(Outcome::Error));
        assert_eq!(get("Y.test_d"), Some(Outcome::Skip));
        assert_eq!(get("Z.setUpClass"), Some(Outcome::Error));
        assert_eq!(get("X.test_e"), Some(Outcome::Pass));
        assert_eq!(get("test.fork_wait.ForkWait.test_wait"), Some(Outcome::Pass));
        assert_eq!(get("X.test_g"), Some(Outcome::Pass));
        assert_eq!(get("X.test_h"), Some(Outcome::Error));
        assert_eq!(get("X.test_i"), Some(Outcome::Pass));
        assert_eq!(get("unittest.test.test_case.T.test_j"), Some(Outcome::Pass));
        assert_eq!(r.len(), 11);
    }

    #[test]
    fn module_marks() {
        let log =
            "boot\n=== pytest begin test_a\nx\n=== pytest end test_a status 0\n=== pytest begin test_b\ny\n";
        let m = split_modules(log);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].0.as_str(), m[0].1.as_str(), m[0].2.as_str()), ("test_a", "x\n", "passed"));
        assert_eq!(m[1].0, "test_b");
        assert!(m[1].2.starts_with("killed"));
    }
}
