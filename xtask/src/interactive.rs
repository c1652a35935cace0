//! The interactive checks: boot the default system (busybox sh on the
//! serial console), type into the console the way a person would, and read
//! the screen. QEMU's serial port is on pipes: what we write is what the
//! UART receives, keystroke by keystroke (Ctrl-C is byte 3, Enter is CR).

use crate::Tally;
use crate::qemu::Qemu;
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The prompt of `/etc/profile` (`\w # `) in `/`.
const PROMPT: &str = "/ # ";
/// How long a command may take to show its output under TCG on a busy machine.
pub(crate) const STEP: Duration = Duration::from_secs(20);

/// A booted machine whose console we type into.
pub(crate) struct Console {
    /// The shell's prompt, which ends each command's output.
    pub(crate) prompt: &'static str,
    child: Child,
    stdin: ChildStdin,
    /// Everything the machine printed so far.
    screen: Arc<Mutex<Vec<u8>>>,
    /// Where the next `expect` starts looking.
    pos: usize,
    /// Print the screen as the checks read it.
    echo: bool,
}

/// Drops terminal escape sequences (ESC [ ... letter, ESC x) and CRs, so
/// that what a program drew can be compared as text.
fn plain(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            0x1b => {
                i += 1;
                if raw.get(i) == Some(&b'[') {
                    i += 1;
                    while i < raw.len() && !(0x40..=0x7e).contains(&raw[i]) {
                        i += 1;
                    }
                }
                i += 1;
            }
            b'\r' => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Console {
    pub(crate) fn boot(q: &Qemu, echo: bool) -> Result<Console, String> {
        let mut child = q
            .command(false)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("qemu-system-x86_64: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut stdout = child.stdout.take().ok_or("no stdout")?;
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.extend_from_slice(&buf[..n]);
                }
            }
        });
        Ok(Console { prompt: PROMPT, child, stdin, screen, pos: 0, echo })
    }

    /// The screen as text (escapes and CRs dropped).
    fn text(&self) -> String {
        self.screen.lock().map(|s| plain(&s)).unwrap_or_default()
    }

    /// Waits until `needle` appears after the last match; returns the text
    /// in between and moves past the needle.
    pub(crate) fn expect(&mut self, needle: &str, timeout: Duration) -> Result<String, String> {
        let start = Instant::now();
        loop {
            let text = self.text();
            let rest = text.get(self.pos..).unwrap_or("");
            if let Some(at) = rest.find(needle) {
                if self.echo {
                    print!("{}", &rest[..at + needle.len()]);
                    let _ = std::io::stdout().flush();
                }
                let before = rest[..at].to_string();
                self.pos += at + needle.len();
                return Ok(before);
            }
            if start.elapsed() > timeout {
                return Err(format!(
                    "no {needle:?} within {timeout:?}; the screen showed: {:?}",
                    tail(rest, 600)
                ));
            }
            if let Ok(Some(s)) = self.child.try_wait() {
                return Err(format!("QEMU exited ({s}) while waiting for {needle:?}: {:?}", tail(rest, 600)));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types `keys` (Enter is `\r`).
    pub(crate) fn type_keys(&mut self, keys: &str) -> Result<(), String> {
        self.stdin.write_all(keys.as_bytes()).and_then(|_| self.stdin.flush()).map_err(|e| e.to_string())
    }

    /// Types a command line, waits for the next prompt and returns what the
    /// command printed (the echoed command line removed).
    pub(crate) fn run(&mut self, cmd: &str) -> Result<String, String> {
        self.type_keys(&format!("{cmd}\r"))?;
        self.expect(&format!("{cmd}\n"), STEP)?;
        self.expect(self.prompt, STEP)
    }

    /// Waits for QEMU to end; its status.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Types `poweroff` at the shell: Ok once QEMU ended with status 0
    /// within `timeout`.
    pub(crate) fn poweroff(&mut self, timeout: Duration) -> Result<(), String> {
        self.type_keys("poweroff\r")?;
        match self.wait_exit(timeout) {
            Some(0) => Ok(()),
            s => Err(format!("QEMU status {s:?}, want 0")),
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

pub(crate) fn lines(s: &str) -> Vec<&str> {
    s.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect()
}

/// Whether `out` is exactly the lines 1 to `n` (what `seq 1 N` prints).
fn seq_lines(out: &str, n: usize) -> Result<(), String> {
    let got = lines(out);
    let want: Vec<String> = (1..=n).map(|k| k.to_string()).collect();
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{} lines, first difference at {:?}",
            got.len(),
            got.iter().zip(&want).position(|(a, b)| a != b)
        ))
    }
}

/// One named check on the console: runs `f`, reports into the tally.
fn step(t: &mut Tally, c: &mut Console, name: &str, f: impl FnOnce(&mut Console) -> Result<(), String>) {
    let r = f(c);
    t.check(&format!("interactive::{name}"), r.is_ok(), r.as_ref().err().map_or("", |e| e.as_str()));
}

/// Boots the default system and drives its shell: pipelines, redirection,
/// ps, CPU times in `time` and `top`, ^C, background jobs, ^Z/fg/bg,
/// SIGTTIN, vi in raw mode, lo (ifconfig, ip addr, httpd and wget, nc both ways,
/// ping), poweroff.
pub fn run(q: &Qemu, t: &mut Tally) -> Result<(), String> {
    let wall = Instant::now();
    let mut c = Console::boot(q, true)?;
    let booted = c.expect("booted in ", Duration::from_secs(60)).and_then(|_| c.expect(PROMPT, STEP));
    let secs = wall.elapsed().as_secs_f64();
    let ok = booted.is_ok();
    t.check("interactive::prompt", ok, booted.as_ref().err().map_or("", |e| e.as_str()));
    if !ok {
        return Ok(());
    }
    println!("\nxtask: the shell prompt came {secs:.2} s (wall) after QEMU started");

    step(t, &mut c, "pipeline", |c| {
        let out = c.run("seq 1 1000 | sort -r | head -3")?;
        let got = lines(&out);
        if got == ["999", "998", "997"] { Ok(()) } else { Err(format!("got {got:?}")) }
    });
    step(t, &mut c, "redirection_tmp", |c| {
        c.run("echo hello world > /tmp/f")?;
        c.run("echo again >> /tmp/f")?;
        let out = c.run("cat /tmp/f; wc -l < /tmp/f")?;
        let got = lines(&out);
        if got == ["hello world", "again", "2"] { Ok(()) } else { Err(format!("got {got:?}")) }
    });
    step(t, &mut c, "ps_lists_the_shell", |c| {
        // busybox runs ps in a fork of the shell: "{ps} /bin/sh -l"
        let out = c.run("ps")?;
        let shell = out.lines().any(|l| l.trim_end().ends_with(" root     /bin/sh -l"));
        let ps = out.lines().any(|l| l.contains(" {ps} ") || l.trim_end().ends_with(" ps"));
        let init = out.lines().any(|l| l.trim_start().starts_with("1 root "));
        if shell && ps && init { Ok(()) } else { Err(format!("no init, shell or ps line in {out:?}")) }
    });
    step(t, &mut c, "proc_tools_show_real_figures", |c| {
        let out = c.run("mount")?;
        let want = [
            "proc on /proc type proc",
            "tmpfs on /tmp type tmpfs",
            "devtmpfs on /dev type devtmpfs",
            "tmpfs on /dev/shm type tmpfs",
        ];
        if !want.iter().all(|w| out.contains(w)) {
            return Err(format!("mount: {out:?}"));
        }
        let out = c.run("df /tmp")?;
        let tmp = out.lines().find(|l| l.starts_with("tmpfs")).unwrap_or("");
        let blocks: u64 = tmp.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
        if blocks == 0 {
            return Err(format!("df /tmp: {out:?}"));
        }
        let out = c.run("free")?;
        let mem = out.lines().find(|l| l.trim_start().starts_with("Mem:")).unwrap_or("");
        let total: u64 = mem.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
        if total < 100_000 {
            return Err(format!("free: {out:?}"));
        }
        let out = c.run("uptime")?;
        if !out.contains("load average:") {
            return Err(format!("uptime: {out:?}"));
        }
        let out = c.run("top -b -n 1")?;
        if !(out.contains("Mem:") && out.contains("PID") && out.contains("/bin/sh -l")) {
            return Err(format!("top: {out:?}"));
        }
        // the states: the shell waits for top (S), top itself runs (R)
        let state = |cmd: &str| {
            let line = out.lines().find(|l| l.trim_end().ends_with(cmd)).unwrap_or("");
            line.split_whitespace().nth(3).unwrap_or("").to_string()
        };
        if state("/bin/sh -l") != "S" || state("top -b -n 1") != "R" {
            return Err(format!("top: process states: {out:?}"));
        }
        let out = c.run("cd /proc && cat self/comm; cd /")?;
        if lines(&out) != ["cat"] {
            return Err(format!("/proc/self through a relative path: {out:?}"));
        }
        Ok(())
    });
    step(t, &mut c, "cpu_times_show", |c| {
        // busybox time: "user\t0m 1.23s" after a shell loop (no fork, all
        // user time); top's CPU line shows the user time of a spinning loop
        let out = c.run("time sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'")?;
        let secs = |name: &str| -> f64 {
            let line = out.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or("");
            let v = line.split_whitespace().last().unwrap_or("").trim_end_matches('s');
            v.parse().unwrap_or(0.0)
        };
        if secs("real") <= 0.0 || secs("user") <= 0.0 {
            return Err(format!("time: no user time in {out:?}"));
        }
        // top samples /proc/stat over a short interval: a loop spins meanwhile
        let out = c.run("sh -c 'while :; do :; done' & top -b -n 1; kill $!; wait")?;
        let cpu = out.lines().find(|l| l.starts_with("CPU:")).unwrap_or("");
        let usr: u64 =
            cpu.split_whitespace().nth(1).and_then(|v| v.trim_end_matches('%').parse().ok()).unwrap_or(0);
        if usr == 0 {
            return Err(format!("top: no user CPU time in {cpu:?}"));
        }
        Ok(())
    });
    step(t, &mut c, "ctrl_c_kills_foreground_job", |c| {
        c.type_keys("sleep 100\r")?;
        c.expect("sleep 100\n", STEP)?;
        std::thread::sleep(Duration::from_millis(300));
        c.type_keys("\x03")?;
        c.expect(PROMPT, STEP)?;
        let out = c.run("echo status $?")?;
        if lines(&out) == ["status 130"] { Ok(()) } else { Err(format!("got {out:?}")) }
    });
    step(t, &mut c, "ctrl_backslash_quits_foreground_job", |c| {
        c.type_keys("sleep 100\r")?;
        c.expect("sleep 100\n", STEP)?;
        std::thread::sleep(Duration::from_millis(300));
        c.type_keys("\x1c")?;
        c.expect(PROMPT, STEP)?;
        let out = c.run("echo status $?")?;
        if lines(&out) == ["status 131"] { Ok(()) } else { Err(format!("got {out:?}")) }
    });
    step(t, &mut c, "canonical_line_editing", |c| {
        // erase (DEL) twice, word erase (^W), then kill line (^U)
        c.type_keys("head -1\r")?;
        c.expect("head -1\n", STEP)?;
        std::thread::sleep(Duration::from_millis(300));
        c.type_keys("abc\x7f\x7fxy foo\x17bar\r")?;
        let out = c.expect(PROMPT, STEP)?;
        if lines(&out).last() != Some(&"axy bar") {
            return Err(format!("erase and word erase: {out:?}"));
        }
        c.type_keys("head -1\r")?;
        c.expect("head -1\n", STEP)?;
        std::thread::sleep(Duration::from_millis(300));
        c.type_keys("junk\x15ok\r")?;
        let out = c.expect(PROMPT, STEP)?;
        if lines(&out).last() != Some(&"ok") {
            return Err(format!("kill line: {out:?}"));
        }
        // ^V takes the next character literally: ^C is data, no SIGINT
        c.type_keys("head -1 | od -c\r")?;
        c.expect("head -1 | od -c\n", STEP)?;
        std::thread::sleep(Duration::from_millis(300));
        c.type_keys("a\x16\x03b\r")?;
        let out = c.expect(PROMPT, STEP)?;
        if !lines(&out).iter().any(|l| l.split_whitespace().skip(1).eq(["a", "003", "b", "\\n"])) {
            return Err(format!("literal next: {out:?}"));
        }
        // ^D hands over a partial line, then on an empty line ends the file
        c.type_keys("cat\r")?;
        c.expect("cat\n", STEP)?;
        std::thread::sleep(Duration::from_millis(300));
        c.type_keys("partial\x04")?;
        c.expect("partialpartial", STEP)?;
        c.type_keys("\x04")?;
        c.expect(PROMPT, STEP)?;
        Ok(())
    });
    step(t, &mut c, "long_output_is_not_lost", |c| {
        let out = c.run("seq 1 3000")?;
        seq_lines(&out, 3000)
    });
    step(t, &mut c, "ctrl_s_stops_output_ctrl_q_restarts", |c| {
        // ^S (IXON): the shell's echo and a command's 8.9 KB of output wait
        // (4 KiB held, the writer blocked beyond) until ^Q, then arrive whole
        c.type_keys("\x13")?;
        c.type_keys("seq 1 2000; echo done$((40+2))\r")?;
        if let Ok(seen) = c.expect("done42", Duration::from_secs(2)) {
            return Err(format!("output ran while stopped: {:?}", tail(&seen, 200)));
        }
        c.type_keys("\x11")?;
        c.expect("seq 1 2000; echo done$((40+2))\n", STEP)?;
        let out = c.expect("done42\n", STEP)?;
        c.expect(PROMPT, STEP)?;
        seq_lines(&out, 2000)
    });
    step(t, &mut c, "background_job_jobs_kill", |c| {
        c.run("sleep 100 &")?;
        let out = c.run("jobs")?;
        if !(out.contains("[1]+") && out.contains("Running") && out.contains("sleep 100")) {
            return Err(format!("jobs: {out:?}"));
        }
        // the shell reports the end of the job before its next prompt or
        // at the next `jobs`, whichever comes first
        let out0 = c.run("kill %1")?;
        let out = c.run("jobs; echo end")?;
        let out2 = c.run("jobs")?;
        if ![&out0, &out, &out2].iter().any(|o| o.contains("Terminated")) {
            return Err(format!("no Terminated report: {out0:?} {out:?} {out2:?}"));
        }
        if !lines(&out2).iter().all(|l| l.contains("Terminated")) {
            return Err(format!("job still listed: {out2:?}"));
        }
        Ok(())
    });
    step(t, &mut c, "ctrl_z_bg_fg", |c| {
        c.type_keys("sleep 100\r")?;
        c.expect("sleep 100\n", STEP)?;
        std::thread::sleep(Duration::from_millis(300));
        c.type_keys("\x1a")?;
        let out = c.expect(PROMPT, STEP)?;
        if !(out.contains("Stopped") && out.contains("sleep 100")) {
            return Err(format!("^Z: {out:?}"));
        }
        let out = c.run("jobs")?;
        if !out.contains("Stopped") {
            return Err(format!("jobs after ^Z: {out:?}"));
        }
        c.run("bg")?;
        let out = c.run("jobs")?;
        if !out.contains("Running") {
            return Err(format!("jobs after bg: {out:?}"));
        }
        c.type_keys("fg\r")?;
        c.expect("fg\n", STEP)?;
        c.expect("sleep 100\n", STEP)?;
        std::thread::sleep(Duration::from_millis(300));
        c.type_keys("\x03")?;
        c.expect(PROMPT, STEP)?;
        let out = c.run("jobs; echo end")?;
        if lines(&out) == ["end"] { Ok(()) } else { Err(format!("jobs after fg + ^C: {out:?}")) }
    });
    step(t, &mut c, "background_read_stops_with_sigttin", |c| {
        c.run("cat &")?;
        std::thread::sleep(Duration::from_millis(500));
        let out = c.run("jobs")?;
        if !(out.contains("Stopped") && out.contains("cat")) {
            return Err(format!("background cat not stopped: {out:?}"));
        }
        c.run("kill -9 %1")?;
        let out = c.run("jobs; echo end")?;
        if out.contains("Killed") || lines(&out) == ["end"] {
            Ok(())
        } else {
            Err(format!("after kill: {out:?}"))
        }
    });
    step(t, &mut c, "vi_raw_mode_edit", |c| {
        c.type_keys("vi /tmp/f\r")?;
        c.expect("vi /tmp/f\n", STEP)?;
        c.expect("again", STEP)?;
        std::thread::sleep(Duration::from_millis(300));
        // append "!" to the first line, leave insert mode, write and quit
        c.type_keys("A!\x1b")?;
        std::thread::sleep(Duration::from_millis(300));
        c.type_keys(":wq\r")?;
        c.expect(PROMPT, STEP)?;
        let out = c.run("cat /tmp/f")?;
        let got = lines(&out);
        if got == ["hello world!", "again"] { Ok(()) } else { Err(format!("got {got:?}")) }
    });
    step(t, &mut c, "ifconfig_lo", |c| {
        let out = c.run("ifconfig lo")?;
        if out.contains("inet addr:127.0.0.1") && out.contains("UP") && out.contains("LOOPBACK") {
            Ok(())
        } else {
            Err(format!("got {:?}", lines(&out)))
        }
    });
    step(t, &mut c, "ip_addr_lo", |c| {
        // busybox ip over NETLINK_ROUTE (link and address dumps)
        let out = c.run("ip link set lo up; echo set $?; ip link; ip addr show lo")?;
        let ok = out.contains("set 0")
            && out.contains("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536")
            && out.contains("inet 127.0.0.1/8 scope host lo")
            && out.contains("inet6 ::1/128 scope host");
        if ok { Ok(()) } else { Err(format!("got {:?}", lines(&out))) }
    });
    step(t, &mut c, "ip_route", |c| {
        // lo's routes are in the local table: the main table is empty
        let out = c.run("ip route; echo rc $?")?;
        let got = lines(&out);
        if got == ["rc 0"] { Ok(()) } else { Err(format!("got {got:?}")) }
    });
    step(t, &mut c, "httpd_wget", |c| {
        // the file of the default initramfs (rootfs.rs)
        c.run("busybox httpd -p 8080 -h /www")?;
        let out = c.run("wget -O - http://127.0.0.1:8080/index.html; echo status $?")?;
        c.run("killall httpd")?;
        let got = lines(&out);
        let page = "<html><body>Hello from the Rust kernel's busybox httpd.</body></html>";
        if got.contains(&page) && got.last() == Some(&"status 0") {
            Ok(())
        } else {
            Err(format!("got {got:?}"))
        }
    });
    step(t, &mut c, "nc_both_ways", |c| {
        c.run("(echo from-server; sleep 2) | nc -l -p 9000 > /tmp/srv &")?;
        let out = c.run("sleep 1; (echo from-client; sleep 2) | nc 127.0.0.1 9000")?;
        let srv = c.run("sleep 1; cat /tmp/srv")?;
        let (got, got_srv) = (lines(&out), lines(&srv));
        if got.contains(&"from-server") && got_srv.contains(&"from-client") {
            Ok(())
        } else {
            Err(format!("client got {got:?}, server got {got_srv:?}"))
        }
    });
    step(t, &mut c, "ping_lo", |c| {
        let out = c.run("ping -c 1 127.0.0.1; echo status $?")?;
        if out.contains("bytes from 127.0.0.1")
            && out.contains("1 packets received")
            && out.contains("status 0")
        {
            Ok(())
        } else {
            Err(format!("got {:?}", lines(&out)))
        }
    });
    step(t, &mut c, "poweroff", |c| c.poweroff(STEP));
    println!();
    Ok(())
}
