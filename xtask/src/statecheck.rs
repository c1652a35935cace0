//! The "state in the records" rule (docs/architecture.md, "Where state
//! lives"): kernel-bin keeps no global map, set or locked value keyed by a
//! pid or tid. Per-thread and per-process state lives in the process
//! table's records (`proc::ThreadExt`, `proc::ProcessExt`), so that it is
//! made, copied and dropped with them. `cargo xtask test` runs this check
//! with the host tests.
//!
//! The check reads each `static` item of kernel-bin/src (its type, up to
//! the `=`, over several lines if need be) and fails on one whose type
//! holds a collection or a lock (`BTreeMap`, `BTreeSet`, `HashMap`, `Vec`,
//! `VecDeque`, `Mutex`, `RwLock`, `lockorder::Ranked`) and names `Pid`.
//! [`ALLOWED`] lists the exceptions, each with its reason.

use std::path::Path;

/// `(file under kernel-bin/src, static's name, why it may stay)`.
/// Empty: every per-task fact lives in the records.
pub const ALLOWED: &[(&str, &str, &str)] = &[];

const CONTAINERS: &[&str] =
    &["BTreeMap<", "BTreeSet<", "HashMap<", "Vec<", "VecDeque<", "Mutex<", "RwLock<", "Ranked<"];

/// One global found: file, line (1-based), name.
#[derive(Debug, PartialEq, Eq)]
pub struct Found {
    pub file: String,
    pub line: usize,
    pub name: String,
}

fn has_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// The statics of one source text whose type is a collection or lock
/// keyed by (or holding) `Pid`.
pub fn scan_source(file: &str, text: &str) -> Vec<Found> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.split("//").next().unwrap_or("").trim_start();
        let rest = ["pub static ", "pub(crate) static ", "pub(super) static ", "static "]
            .iter()
            .find_map(|p| code.strip_prefix(p));
        let Some(rest) = rest else { continue };
        let rest = rest.strip_prefix("mut ").unwrap_or(rest);
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        // the type: from this line to the `=` (at most 8 lines on)
        let mut ty = String::new();
        for l in lines.iter().skip(i).take(8) {
            let l = l.split("//").next().unwrap_or("");
            match l.find('=') {
                Some(at) => {
                    ty.push_str(&l[..at]);
                    break;
                }
                None => ty.push_str(l),
            }
        }
        if CONTAINERS.iter().any(|c| ty.contains(c)) && has_word(&ty, "Pid") {
            found.push(Found { file: file.to_string(), line: i + 1, name });
        }
    }
    found
}

/// The globals of kernel-bin/src under `root` that break the rule and
/// are not in [`ALLOWED`].
pub fn pid_keyed_globals(root: &Path) -> Result<Vec<Found>, String> {
    let src = root.join("kernel-bin/src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let p = e.map_err(|e| e.to_string())?.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut bad = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let rel = f.strip_prefix(&src).unwrap_or(&f).to_string_lossy().into_owned();
        for g in scan_source(&rel, &text) {
            if !ALLOWED.iter().any(|(file, name, _)| *file == g.file && *name == g.name) {
                bad.push(g);
            }
        }
    }
    Ok(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        scan_source("x.rs", text).into_iter().map(|f| f.name).collect()
    }

    #[test]
    fn finds_maps_and_sets_keyed_by_pid() {
        let src = "static TASKS: Mutex<BTreeMap<Pid, Arc<Task>>> = Mutex::new(BTreeMap::new());\n\
                   pub static DONE: spin::Mutex<BTreeSet<Pid>> = spin::Mutex::new(BTreeSet::new());\n\
                   pub(crate) static CPU: Mutex<BTreeMap<(Pid, u64), T>> = Mutex::new(BTreeMap::new());\n";
        assert_eq!(names(src), ["TASKS", "DONE", "CPU"]);
    }

    #[test]
    fn follows_a_type_over_several_lines() {
        let src = "static INFO: Mutex<\n    BTreeMap<\n        Pid,\n        Info,\n    >,\n> = Mutex::new(BTreeMap::new());\n";
        assert_eq!(names(src), ["INFO"]);
        let found = scan_source("procfs.rs", src);
        assert_eq!(found[0].line, 1);
    }

    #[test]
    fn finds_a_vec_or_a_lock_holding_pids() {
        assert_eq!(names("static WAITERS: Mutex<Vec<(Pid, u64)>> = Mutex::new(Vec::new());"), ["WAITERS"]);
        assert_eq!(names("static LAST: RwLock<Option<Pid>> = RwLock::new(None);"), ["LAST"]);
        assert_eq!(names("static R: Ranked<Option<Pid>> = Ranked::new(Class::X, None);"), ["R"]);
    }

    #[test]
    fn leaves_other_globals_alone() {
        let src = "static TABLE: Once<ProcessTable<Kernel>> = Once::new();\n\
                   static QUEUES: Mutex<BTreeMap<Key, Vec<Waiter>>> = Mutex::new(BTreeMap::new());\n\
                   static NEXT_PID_HINT: AtomicU32 = AtomicU32::new(0);\n\
                   static ARMED: Mutex<BTreeMap<(u64, u64), Weak<TimerFd>>> = Mutex::new(BTreeMap::new());\n\
                   // static OLD: Mutex<BTreeMap<Pid, X>> = ...\n\
                   let x: Mutex<BTreeMap<Pid, u8>> = Mutex::new(BTreeMap::new());\n\
                   static PIDS_SEEN: Mutex<BTreeMap<Pidfd, u8>> = Mutex::new(BTreeMap::new());\n";
        assert!(names(src).is_empty(), "{:?}", names(src));
    }

    #[test]
    fn kernel_bin_keeps_no_pid_keyed_global() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let bad = pid_keyed_globals(&root).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
    }
}
