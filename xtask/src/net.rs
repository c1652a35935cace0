//! The `net` part of `cargo xtask test` (our kernel only: Debian's Linux
//! 6.1 has virtio-net and virtio-pci only as modules, which the `--linux`
//! initramfs does not carry, so Linux would see no NIC): host to guest and
//! back over QEMU's user network.
//!
//! The default system boots with a virtio-net NIC and a forward from a free
//! port on the host's 127.0.0.1 to the guest's port 8080. In its shell:
//! `ifconfig eth0` shows 10.0.2.15; `httpd -p 8080 -h /www` serves a 10 MiB
//! file that xtask put in the initramfs, which a plain std TCP client here
//! fetches through the forward (HTTP/1.0), comparing SHA-256 (the host's
//! `sha256sum`); then the guest's busybox `wget` fetches another 10 MiB file
//! from a server xtask runs on the host's 127.0.0.1, which the guest reaches
//! as 10.0.2.2, and busybox `sha256sum` prints its hash for the same
//! comparison. Both transfers are timed (MiB/s in the output).

use crate::Tally;
use crate::interactive::{Console, STEP};
use crate::qemu::Qemu;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes of each transfer.
pub const FILE_SIZE: usize = 10 << 20;
/// The guest's httpd port (forwarded from the host).
const GUEST_HTTP_PORT: u16 = 8080;
/// The file the guest serves, under its `/www`.
const TO_HOST: &str = "to-host.bin";
/// The file the host serves.
const FROM_HOST: &str = "from-host.bin";
/// A transfer's time limit under TCG on a busy machine.
const TRANSFER: Duration = Duration::from_secs(180);

/// `len` pseudo-random bytes from `seed` (xorshift64*): incompressible,
/// reproducible.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The SHA-256 of `data` in hex, from the host's `sha256sum` (coreutils).
pub fn sha256_hex(data: &[u8]) -> Result<String, String> {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("sha256sum: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("sha256sum: no stdin")?;
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().map_err(|e| format!("sha256sum: {e}"))?;
    writer.join().map_err(|_| "sha256sum: writer panicked")?.map_err(|e| format!("sha256sum: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let hex = text.split_whitespace().next().unwrap_or("");
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex.to_string())
    } else {
        Err(format!("sha256sum printed {text:?}"))
    }
}

/// A port on the host's 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A minimal HTTP/1.0 server on the host's 127.0.0.1 that answers
/// `GET /<name>` with `body` (404 otherwise), one connection at a time,
/// in a thread of its own for as long as xtask runs; its port.
pub fn serve(name: &'static str, body: Arc<Vec<u8>>) -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    let port = l.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
            let _ = s.set_write_timeout(Some(TRANSFER));
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16384 {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let want = format!("GET /{name} ");
            if req.starts_with(want.as_bytes()) {
                let head = format!(
                    "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).and_then(|_| s.write_all(&body));
            } else {
                let _ = s.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
            }
        }
    });
    Ok(port)
}

/// The host side of the `tcp_host_to_guest` benchmark: a server on the
/// host's 127.0.0.1 (the guest's 10.0.2.2) that reads a decimal count `N`
/// and a newline, sends `N` MiB (at most 1024) and closes; one connection
/// at a time, in a thread of its own for as long as xtask runs. Its port.
pub fn serve_stream() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    let port = l.local_addr().map_err(|e| e.to_string())?.port();
    let mib = pattern(4, 1 << 20);
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
            let _ = s.set_write_timeout(Some(TRANSFER));
            let mut line = Vec::new();
            let mut b = [0u8; 1];
            while line.len() < 16 && s.read(&mut b).is_ok_and(|n| n == 1) && b[0] != b'\n' {
                line.push(b[0]);
            }
            let n = String::from_utf8_lossy(&line).trim().parse::<usize>().unwrap_or(0).min(1024);
            for _ in 0..n {
                if s.write_all(&mib).is_err() {
                    break;
                }
            }
        }
    });
    Ok(port)
}

/// `GET /path` over HTTP/1.0 from 127.0.0.1:`port` with a plain std TCP
/// client: the body of a 200 answer (its Content-Length checked) and the
/// time from connect to the last byte.
pub fn http_get(port: u16, path: &str, timeout: Duration) -> Result<(Vec<u8>, Duration), String> {
    let t0 = Instant::now();
    let mut s =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))?;
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    s.write_all(format!("GET /{path} HTTP/1.0\r\nHost: guest\r\n\r\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut all = Vec::with_capacity(FILE_SIZE + 4096);
    s.read_to_end(&mut all).map_err(|e| format!("receive (after {} bytes): {e}", all.len()))?;
    let took = t0.elapsed();
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(format!("no HTTP header in {} bytes", all.len()))?;
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let status = head.lines().next().unwrap_or("");
    if !status.contains(" 200") {
        return Err(format!("answer {status:?}"));
    }
    let body = all.split_off(end + 4);
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = length
        && n != body.len()
    {
        return Err(format!("Content-Length {n}, {} bytes came", body.len()));
    }
    Ok((body, took))
}

fn mib_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64().max(1e-9)
}

fn step(t: &mut Tally, c: &mut Console, name: &str, f: impl FnOnce(&mut Console) -> Result<(), String>) {
    let r = f(c);
    t.check(&format!("net::{name}"), r.is_ok(), r.as_ref().err().map_or("", |e| e.as_str()));
}

/// Runs the part on `kernel` with the default initramfs `initrd`.
pub fn run(q: &Qemu, initrd: &std::path::Path, t: &mut Tally) -> Result<(), String> {
    println!(
        "xtask: net part, our kernel only (Debian's Linux 6.1 has virtio-net as a module, absent from the --linux initramfs)"
    );
    let to_host = pattern(1, FILE_SIZE);
    let to_host_sha = sha256_hex(&to_host)?;
    let mut extra = crate::cpio::Cpio::default();
    extra.dir("www");
    extra.file(&format!("www/{TO_HOST}"), 0o644, &to_host);
    let mut image = std::fs::read(initrd).map_err(|e| format!("{}: {e}", initrd.display()))?;
    image.extend_from_slice(&extra.finish());
    let net_initrd = crate::target_dir().join("initramfs-net.cpio");
    std::fs::write(&net_initrd, image).map_err(|e| format!("{}: {e}", net_initrd.display()))?;

    let from_host = Arc::new(pattern(2, FILE_SIZE));
    let from_host_sha = sha256_hex(&from_host)?;
    let server_port = serve(FROM_HOST, from_host)?;
    let fwd = free_port()?;

    let mut q = q.clone();
    q.initrd = Some(net_initrd);
    q.net = Some(vec![(fwd, GUEST_HTTP_PORT)]);
    let mut c = Console::boot(&q, true)?;
    let booted = c.expect("booted in ", Duration::from_secs(60)).and_then(|_| c.expect(c.prompt, STEP));
    t.check("net::prompt", booted.is_ok(), booted.as_ref().err().map_or("", |e| e.as_str()));
    if booted.is_err() {
        return Ok(());
    }
    step(t, &mut c, "eth0_has_10.0.2.15", |c| {
        let out = c.run("ifconfig eth0")?;
        if out.contains("inet addr:10.0.2.15") && out.contains("Mask:255.255.255.0") && out.contains("UP") {
            Ok(())
        } else {
            Err(format!("ifconfig eth0 printed {out:?}"))
        }
    });
    step(t, &mut c, "host_fetches_10MiB_from_guest_httpd", |c| {
        let out = c.run(&format!("httpd -p {GUEST_HTTP_PORT} -h /www; echo status $?"))?;
        if !out.contains("status 0") {
            return Err(format!("httpd: {out:?}"));
        }
        // the forward accepts before the guest does: retry a refused fetch
        let start = Instant::now();
        let (body, took) = loop {
            match http_get(fwd, TO_HOST, TRANSFER) {
                Ok(r) => break r,
                Err(e) if start.elapsed() > Duration::from_secs(20) => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        };
        let sha = sha256_hex(&body)?;
        println!(
            "\nxtask: net: host <- guest httpd: {} bytes in {:.2} s, {:.2} MiB/s",
            body.len(),
            took.as_secs_f64(),
            mib_per_s(body.len(), took)
        );
        if body.len() == FILE_SIZE && sha == to_host_sha {
            Ok(())
        } else {
            Err(format!("got {} bytes, SHA-256 {sha}, want {FILE_SIZE} bytes, {to_host_sha}", body.len()))
        }
    });
    step(t, &mut c, "guest_wget_10MiB_from_host", |c| {
        // short enough not to wrap at 80 columns in the echo
        let cmd = format!("wget -q -O /tmp/h http://10.0.2.2:{server_port}/{FROM_HOST}; echo wget $?");
        let t0 = Instant::now();
        c.type_keys(&format!("{cmd}\r"))?;
        c.expect(&format!("{cmd}\n"), STEP)?;
        let out = c.expect(c.prompt, TRANSFER)?;
        let took = t0.elapsed();
        println!(
            "\nxtask: net: guest wget <- host: {FILE_SIZE} bytes in {:.2} s (typing to prompt), {:.2} MiB/s",
            took.as_secs_f64(),
            mib_per_s(FILE_SIZE, took)
        );
        if !out.contains("wget 0") {
            return Err(format!("wget: {out:?}"));
        }
        let out = c.run("sha256sum /tmp/h")?;
        if out.contains(&from_host_sha) {
            Ok(())
        } else {
            Err(format!("want {from_host_sha}, busybox sha256sum printed {out:?}"))
        }
    });
    let _ = c.type_keys("poweroff\r");
    let status = c.wait_exit(Duration::from_secs(30));
    t.check("net::poweroff", status == Some(0), &format!("QEMU status {status:?}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc").unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn pattern_is_reproducible_and_sized() {
        let a = pattern(7, 1000);
        assert_eq!(a.len(), 1000);
        assert_eq!(a, pattern(7, 1000));
        assert_ne!(a, pattern(8, 1000));
    }

    #[test]
    fn stream_server_sends_the_mebibytes_asked_for() {
        let port = serve_stream().unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"3\n").unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 3 << 20);
        assert_eq!(&all[..1 << 20], &pattern(4, 1 << 20)[..]);
    }

    #[test]
    fn host_server_and_client_move_a_file() {
        let body = Arc::new(pattern(3, 300_000));
        let port = serve("x.bin", body.clone()).unwrap();
        let (got, _) = http_get(port, "x.bin", Duration::from_secs(10)).unwrap();
        assert_eq!(&got, body.as_ref());
        assert!(http_get(port, "other", Duration::from_secs(10)).unwrap_err().contains("404"));
    }
}
