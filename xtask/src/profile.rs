//! `cargo xtask bench --profile`: where a boot of our kernel spends its
//! time, by sampling the guest's instruction pointer through QEMU's monitor
//! (`info registers` over a unix socket, about once a millisecond of host
//! time) and naming each sample by the kernel ELF's function symbols.
//!
//! Under TCG the registers QEMU reports are those of the last translation
//! block boundary, so a sample names the function a block of it ran in;
//! a vCPU waiting in `hlt` is reported as idle, an address below the
//! kernel half as user code. The profile covers the whole boot: with
//! `--only ROW` one benchmark is most of it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One CPU's sample: its instruction pointer, whether it halted, and for
/// a sample in a leaf routine (memcpy, memset, memmove: no frame of their
/// own, the return address at the stack pointer) the caller's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    ip: u64,
    halted: bool,
    caller: Option<u64>,
}

/// One sample: a [`Hit`] per CPU.
type Sample = Vec<Hit>;

/// A sampling thread attached to a QEMU monitor socket.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Sample>>,
}

impl Sampler {
    /// Starts sampling the monitor at `socket` (QEMU creates it shortly
    /// after it starts: the thread waits up to 10 s for it) every
    /// `interval` until [`Sampler::finish`].
    /// Samples in the address ranges `leaves` also get their caller (the
    /// return address at the stack pointer, one more monitor read).
    pub fn start(socket: PathBuf, interval: Duration, leaves: Vec<(u64, u64)>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || sample_loop(&socket, interval, &flag, &leaves));
        Sampler { stop, thread }
    }

    /// Stops sampling and returns the samples.
    pub fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_default()
    }
}

fn connect(socket: &Path, stop: &AtomicBool) -> Option<UnixStream> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) && !stop.load(Ordering::SeqCst) {
        if let Ok(s) = UnixStream::connect(socket) {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// Reads monitor output up to the next `(qemu) ` prompt.
fn read_to_prompt(r: &mut BufReader<UnixStream>, out: &mut String) -> bool {
    out.clear();
    let mut buf = Vec::new();
    loop {
        match r.read_until(b' ', &mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {
                if buf.ends_with(b"(qemu) ") {
                    out.push_str(&String::from_utf8_lossy(&buf));
                    return true;
                }
            }
        }
    }
}

fn sample_loop(socket: &Path, interval: Duration, stop: &AtomicBool, leaves: &[(u64, u64)]) -> Vec<Sample> {
    let mut samples = Vec::new();
    let Some(stream) = connect(socket, stop) else { return samples };
    let Ok(mut w) = stream.try_clone() else { return samples };
    let mut r = BufReader::new(stream);
    let mut text = String::new();
    if !read_to_prompt(&mut r, &mut text) {
        return samples;
    }
    while !stop.load(Ordering::SeqCst) {
        // the vCPUs stop at a translation-block boundary, so the registers
        // are current (a running vCPU's are only as of its last exit to
        // QEMU's loop, which favours code that runs long without one)
        if w.write_all(b"stop\ninfo registers -a\n").is_err()
            || !read_to_prompt(&mut r, &mut text)
            || !read_to_prompt(&mut r, &mut text)
        {
            break;
        }
        let mut s = parse_registers(&text);
        for (cpu, h) in s.iter_mut().enumerate() {
            let Some(rsp) = h.caller.take() else { continue };
            if h.halted || !leaves.iter().any(|&(lo, hi)| (lo..hi).contains(&h.ip)) {
                continue;
            }
            // `x` reads through the monitor's current CPU's page tables
            let cmd = format!("cpu {cpu}\nx /1gx {rsp:#x}\n");
            if w.write_all(cmd.as_bytes()).is_err()
                || !read_to_prompt(&mut r, &mut text)
                || !read_to_prompt(&mut r, &mut text)
            {
                break;
            }
            h.caller = parse_word(&text);
        }
        if w.write_all(b"cont\n").is_err() || !read_to_prompt(&mut r, &mut text) {
            break;
        }
        if !s.is_empty() {
            samples.push(s);
        }
        std::thread::sleep(interval);
    }
    samples
}

/// The `RIP=`, `RSP=` and `HLT=` fields of `info registers -a`, one
/// [`Hit`] per CPU (its `caller` holding RSP until the caller is read).
fn parse_registers(text: &str) -> Sample {
    let mut cpus = Vec::new();
    let (mut rip, mut rsp) = (None, None);
    for word in text.split_whitespace() {
        if let Some(v) = word.strip_prefix("RSP=") {
            rsp = u64::from_str_radix(v, 16).ok();
        } else if let Some(v) = word.strip_prefix("RIP=") {
            rip = u64::from_str_radix(v, 16).ok();
        } else if let Some(v) = word.strip_prefix("HLT=")
            && let Some(ip) = rip.take()
        {
            cpus.push(Hit { ip, halted: v == "1", caller: rsp.take() });
        }
    }
    cpus
}

/// The word `x /1gx ADDR` printed (`ADDR: 0xVALUE`).
fn parse_word(text: &str) -> Option<u64> {
    let (_, rest) = text.split_once(": ")?;
    let v = rest.split_whitespace().next()?;
    u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()
}

/// The kernel's function symbols (and its data objects with `objects`)
/// in the higher half, demangled: (start, size, name), sorted by start.
pub fn elf_symbols(kernel: &Path, objects: bool) -> Result<Vec<(u64, u64, String)>, String> {
    use xmas_elf::ElfFile;
    use xmas_elf::sections::SectionData;
    use xmas_elf::symbol_table::{Entry, Type};
    let image = std::fs::read(kernel).map_err(|e| format!("{}: {e}", kernel.display()))?;
    let elf = ElfFile::new(&image).map_err(|e| format!("kernel ELF: {e}"))?;
    let symtab = elf.find_section_by_name(".symtab").ok_or("kernel ELF has no .symtab")?;
    let SectionData::SymbolTable64(entries) = symtab.get_data(&elf).map_err(|e| e.to_string())? else {
        return Err("unexpected .symtab format".into());
    };
    let mut syms: Vec<(u64, u64, String)> = entries
        .iter()
        .filter(|e| {
            let t = e.get_type();
            (t == Ok(Type::Func) || objects && t == Ok(Type::Object)) && e.value() >= 0xffff_8000_0000_0000
        })
        .map(|e| {
            (e.value(), e.size(), format!("{:#}", rustc_demangle::demangle(e.get_name(&elf).unwrap_or("?"))))
        })
        .collect();
    syms.sort();
    Ok(syms)
}

/// The kernel's function symbols: (start, size, name), sorted by start.
pub fn symbols(kernel: &Path) -> Result<Vec<(u64, u64, String)>, String> {
    let mut syms = elf_symbols(kernel, false)?;
    syms.dedup_by_key(|s| s.0);
    // a name several functions share (closures' `call_once` shims, generic
    // instances) gets its start address, for addr2line
    let mut seen: HashMap<String, usize> = HashMap::new();
    for s in &syms {
        *seen.entry(s.2.clone()).or_default() += 1;
    }
    for s in &mut syms {
        if seen.get(&s.2).is_some_and(|&n| n > 1) {
            s.2 = format!("{} @{:#x}", s.2, s.0);
        }
    }
    Ok(syms)
}

/// The address ranges of the leaf copy routines (memcpy, memset,
/// memmove, memcmp/bcmp) whose samples are named by their callers too.
pub fn leaves(syms: &[(u64, u64, String)]) -> Vec<(u64, u64)> {
    syms.iter()
        .filter(|s| matches!(s.2.as_str(), "memcpy" | "memset" | "memmove" | "memcmp" | "bcmp"))
        .map(|s| (s.0, s.0 + s.1))
        .collect()
}

/// Runs one boot of QEMU `q` under the sampler (a monitor socket `sock`,
/// made here and removed after), writes the profile beside `log` as
/// `*.profile` and prints its head; returns what `run` returned.
pub fn sampled<T>(
    q: &crate::qemu::Qemu,
    sock: PathBuf,
    log: &Path,
    syms: &[(u64, u64, String)],
    leaves: &[(u64, u64)],
    run: impl FnOnce(&crate::qemu::Qemu) -> Result<T, String>,
) -> Result<T, String> {
    let _ = std::fs::remove_file(&sock);
    let q = crate::qemu::Qemu { monitor: Some(sock.clone()), ..q.clone() };
    let sampler = Sampler::start(sock.clone(), Duration::from_millis(1), leaves.to_vec());
    let out = run(&q);
    let samples = sampler.finish();
    let _ = std::fs::remove_file(&sock);
    let text = report(&samples, syms, 10_000);
    let path = log.with_extension("profile");
    std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    let head: Vec<&str> = text.lines().take(31).collect();
    eprintln!("{}\nxtask: the whole profile is in {}", head.join("\n"), path.display());
    out
}

/// The name a sample gets: idle, user, or the kernel function holding it.
fn name_of(syms: &[(u64, u64, String)], ip: u64, halted: bool) -> String {
    if halted {
        return "[idle: hlt]".into();
    }
    if ip < 0xffff_8000_0000_0000 {
        return "[user]".into();
    }
    let i = syms.partition_point(|s| s.0 <= ip);
    match i.checked_sub(1).map(|i| &syms[i]) {
        Some((start, size, name)) if ip < start + (*size).max(1) => name.clone(),
        _ => format!("[kernel {ip:#x}]"),
    }
}

/// The profile as text: samples per function, most first (the top `top`).
pub fn report(samples: &[Sample], syms: &[(u64, u64, String)], top: usize) -> String {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut total = 0usize;
    for s in samples {
        for h in s {
            let mut name = name_of(syms, h.ip, h.halted);
            if let Some(c) = h.caller {
                name = format!("{name} <- {}", name_of(syms, c, false));
            }
            *counts.entry(name).or_default() += 1;
            total += 1;
        }
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    let mut by_ip: HashMap<u64, usize> = HashMap::new();
    for s in samples {
        for h in s {
            if !h.halted && h.ip >= 0xffff_8000_0000_0000 {
                *by_ip.entry(h.ip).or_default() += 1;
            }
        }
    }
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out = format!("profile: {total} samples ({} monitor reads)\n", samples.len());
    for (name, n) in v.into_iter().take(top) {
        out.push_str(&format!("{:6.2}% {:6}  {name}\n", n as f64 * 100.0 / total.max(1) as f64, n));
    }
    // the kernel addresses themselves (`addr2line -f -i -C -e kernel.elf
    // ADDR` names the inlined code a shared symbol hides)
    let mut ips: Vec<(u64, usize)> = by_ip.into_iter().collect();
    ips.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if !ips.is_empty() {
        out.push_str("by kernel address:\n");
    }
    for (ip, n) in ips.into_iter().take(top) {
        out.push_str(&format!("{:6.2}% {:6}  {ip:#x}\n", n as f64 * 100.0 / total.max(1) as f64, n));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_of_two_cpus() {
        let text = "CPU#0\nRAX=0 RBX=1\nRIP=ffffffff80001234 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0\n\
                    CPU#1\nRIP=0000000000401000 RFL=00000202 [-------] CPL=3 II=0 A20=1 SMM=0 HLT=1\n(qemu) ";
        let text = text.replace("RAX=0", "RSP=ffffc90000001f00 RAX=0");
        assert_eq!(
            parse_registers(&text),
            vec![
                Hit { ip: 0xffff_ffff_8000_1234, halted: false, caller: Some(0xffff_c900_0000_1f00) },
                Hit { ip: 0x40_1000, halted: true, caller: None }
            ]
        );
        assert_eq!(
            parse_word("x /1gx 0xffffc90000001f00\r\nffffc90000001f00: 0xffffffff80143105\r\n(qemu) "),
            Some(0xffff_ffff_8014_3105)
        );
    }

    #[test]
    fn names_by_symbol_range() {
        let syms =
            vec![(0xffff_ffff_8000_1000, 0x100, "a".to_string()), (0xffff_ffff_8000_2000, 0x10, "b".into())];
        assert_eq!(name_of(&syms, 0xffff_ffff_8000_10ff, false), "a");
        assert_eq!(name_of(&syms, 0xffff_ffff_8000_1100, false), "[kernel 0xffffffff80001100]");
        assert_eq!(name_of(&syms, 0xffff_ffff_8000_2004, false), "b");
        assert_eq!(name_of(&syms, 0x40_1000, false), "[user]");
        assert_eq!(name_of(&syms, 0xffff_ffff_8000_2004, true), "[idle: hlt]");
        let hit = |ip, caller| Hit { ip, halted: false, caller };
        let r = report(&[vec![hit(0xffff_ffff_8000_2004, Some(0xffff_ffff_8000_1004))]], &syms, 1);
        assert!(r.contains("100.00%      1  b <- a\n"), "{r}");
        let r = report(
            &[vec![hit(0xffff_ffff_8000_1010, None)], vec![hit(0xffff_ffff_8000_1020, None), hit(1, None)]],
            &syms,
            5,
        );
        assert_eq!(
            r,
            "profile: 3 samples (2 monitor reads)\n 66.67%      2  a\n 33.33%      1  [user]\nby kernel address:\n \
             33.33%      1  0xffffffff80001010\n 33.33%      1  0xffffffff80001020\n"
        );
    }
}
