//! `#!` scripts (`fs/binfmt_script.c`) and the interpreter nesting limit.

use alloc::vec::Vec;

use linux_abi::{Errno, Result};

/// How many bytes of the file the kernel looks at to recognise its format
/// and parse a `#!` line (`BINPRM_BUF_SIZE`).
pub const BINPRM_BUF_SIZE: usize = 256;

/// The deepest file in a chain of interpreters: the file execve names is
/// depth 0, each `#!` rewrite adds one, and loading a file at a depth
/// above this fails with `ELOOP` (`exec_binprm`'s `depth > 5`; so at most
/// five scripts in a row, the sixth file must be a binary).
pub const MAX_EXEC_DEPTH: usize = 5;

/// `ELOOP` when the file at `depth` (0 for the file execve names) is too
/// deep in a chain of `#!` interpreters; call it before loading each file.
pub fn check_exec_depth(depth: usize) -> Result<()> {
    if depth > MAX_EXEC_DEPTH { Err(Errno::ELOOP) } else { Ok(()) }
}

/// A parsed `#!interpreter [argument]` line.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Shebang {
    /// The interpreter's path (never containing a space, tab or NUL; empty
    /// only when a NUL follows `#!` at once, as in a file of just `#!`:
    /// Linux then fails to open "" (6.18 reports `EACCES`); the kernel's
    /// lookup decides).
    pub interpreter: Vec<u8>,
    /// The optional argument: the rest of the line after the interpreter
    /// and its separating blanks, trailing blanks removed (inner blanks
    /// kept: it is one argument), cut at a NUL (a NUL cuts after the
    /// trimming, so blanks before it stay, as in Linux).
    pub arg: Option<Vec<u8>>,
}

impl Shebang {
    /// The interpreter's argv: the interpreter path, the optional argument,
    /// the script's path (the name execve used, which the interpreter
    /// opens), then the original arguments after `argv[0]`.
    pub fn argv(&self, script_path: &[u8], argv: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(argv.len() + 2);
        out.push(self.interpreter.clone());
        if let Some(arg) = &self.arg {
            out.push(arg.clone());
        }
        out.push(script_path.to_vec());
        out.extend(argv.iter().skip(1).map(|s| s.to_vec()));
        out
    }
}

fn spacetab(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// The first index in `first..=last` that is not a blank.
fn next_non_spacetab(buf: &[u8], first: usize, last: usize) -> Option<usize> {
    (first..=last).find(|&i| !spacetab(buf[i]))
}

/// The first index in `first..=last` that is a blank or a NUL.
fn next_terminator(buf: &[u8], first: usize, last: usize) -> Option<usize> {
    (first..=last).find(|&i| spacetab(buf[i]) || buf[i] == 0)
}

fn cstr(bytes: &[u8]) -> Vec<u8> {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes[..len].to_vec()
}

/// Recognises a `#!` script from the first bytes of a file, exactly as
/// `load_script()` parses them: only the first [`BINPRM_BUF_SIZE`] bytes
/// count (a shorter `head` is zero-padded, as the kernel's buffer is).
///
/// `Ok(None)` if the file does not start with `#!` (try another format).
/// `ENOEXEC` when there is no interpreter name (`"#!\n"`, only blanks) or
/// when the line has no newline within the buffer and the interpreter name
/// runs to its end (it may be truncated). Without a newline the line ends
/// at byte 255; an argument cut there is fine (the interpreter re-reads the
/// script). A newline is only seen before the first NUL.
///
/// ```
/// use elf_loader::parse_shebang;
/// let s = parse_shebang(b"#! /bin/sh  -e -x \nexit 0\n").unwrap().unwrap();
/// assert_eq!((&s.interpreter[..], s.arg.as_deref()), (&b"/bin/sh"[..], Some(&b"-e -x"[..])));
/// let argv = s.argv(b"./run.sh", &[b"run.sh", b"one"]);
/// assert_eq!(argv, [&b"/bin/sh"[..], b"-e -x", b"./run.sh", b"one"]);
/// assert_eq!(parse_shebang(b"\x7fELF"), Ok(None));
/// assert_eq!(parse_shebang(b"#!\n"), Err(linux_abi::Errno::ENOEXEC));
/// ```
pub fn parse_shebang(head: &[u8]) -> Result<Option<Shebang>> {
    let mut buf = [0u8; BINPRM_BUF_SIZE];
    let n = head.len().min(BINPRM_BUF_SIZE);
    buf[..n].copy_from_slice(&head[..n]);
    if buf[0] != b'#' || buf[1] != b'!' {
        return Ok(None);
    }
    let buf_end = BINPRM_BUF_SIZE - 1;
    // strnchr: the newline, looking no further than the first NUL.
    let newline = buf.iter().take_while(|&&c| c != 0).position(|&c| c == b'\n');
    let mut i_end = match newline {
        Some(i) => i,
        None => {
            let Some(first) = next_non_spacetab(&buf, 2, buf_end) else {
                return Err(Errno::ENOEXEC); // only blanks
            };
            // No blank or NUL after the name: it may be truncated.
            if next_terminator(&buf, first, buf_end).is_none() {
                return Err(Errno::ENOEXEC);
            }
            buf_end
        }
    };
    // Trailing blanks (buf[1] is '!', so this stops by index 2).
    while spacetab(buf[i_end - 1]) {
        i_end -= 1;
    }
    let i_name = match next_non_spacetab(&buf, 2, i_end) {
        Some(i) if i != i_end => i,
        _ => return Err(Errno::ENOEXEC),
    };
    let i_sep = next_terminator(&buf, i_name, i_end);
    let i_arg = match i_sep {
        Some(sep) if buf[sep] != 0 => next_non_spacetab(&buf, sep, i_end),
        _ => None,
    };
    buf[i_end] = 0;
    if let (Some(_), Some(sep)) = (i_arg, i_sep) {
        buf[sep] = 0;
    }
    Ok(Some(Shebang { interpreter: cstr(&buf[i_name..]), arg: i_arg.map(|a| cstr(&buf[a..])) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    type Parsed = Result<Option<(Vec<u8>, Option<Vec<u8>>)>>;

    fn parse(s: &[u8]) -> Parsed {
        parse_shebang(s).map(|o| o.map(|s| (s.interpreter, s.arg)))
    }

    fn ok(name: &str, arg: Option<&str>) -> Parsed {
        Ok(Some((name.as_bytes().to_vec(), arg.map(|a| a.as_bytes().to_vec()))))
    }

    #[test]
    fn not_a_script() {
        assert_eq!(parse(b""), Ok(None));
        assert_eq!(parse(b"#"), Ok(None));
        assert_eq!(parse(b"# !/bin/sh\n"), Ok(None));
        assert_eq!(parse(b"!#/bin/sh\n"), Ok(None));
        assert_eq!(parse(b"\x7fELF\x02\x01\x01"), Ok(None));
    }

    #[test]
    fn interpreter_and_optional_argument() {
        assert_eq!(parse(b"#!/bin/sh\n"), ok("/bin/sh", None));
        assert_eq!(parse(b"#!/bin/sh"), ok("/bin/sh", None), "end of file: NUL padding ends the name");
        assert_eq!(parse(b"#! \t/bin/sh\t \n"), ok("/bin/sh", None));
        assert_eq!(parse(b"#!/bin/sh -e\n"), ok("/bin/sh", Some("-e")));
        assert_eq!(parse(b"#!/usr/bin/env  python3 -u  \nprint()\n"), ok("/usr/bin/env", Some("python3 -u")));
        assert_eq!(parse(b"#!/bin/sh\t-x\tmore\n"), ok("/bin/sh", Some("-x\tmore")));
        assert_eq!(parse(b"#!/bin/sh -e\r\n"), ok("/bin/sh", Some("-e\r")), "CR is not a blank");
        assert_eq!(parse(b"#!/bin/sh\r\n"), ok("/bin/sh\r", None));
        assert_eq!(parse(b"#!/bin/sh\0-e\n"), ok("/bin/sh", None), "a NUL ends the name and hides the rest");
        assert_eq!(parse(b"#!/bin/sh -a\0b\n"), ok("/bin/sh", Some("-a")), "the argument stops at a NUL");
        assert_eq!(parse(b"#!/bin/sh \0"), ok("/bin/sh", Some("")), "blank then NUL: an empty argument");
    }

    #[test]
    fn empty_interpreter_is_enoexec() {
        assert_eq!(parse(b"#!\n"), Err(Errno::ENOEXEC));
        assert_eq!(parse(b"#!   \t \n/bin/sh\n"), Err(Errno::ENOEXEC));
        let blanks = [b"#!".as_slice(), &[b' '; 254]].concat();
        assert_eq!(parse(&blanks), Err(Errno::ENOEXEC), "a buffer of blanks");
        // Linux passes "" to open_exec here (6.18: EACCES from the open).
        assert_eq!(parse(b"#!"), ok("", None));
        assert_eq!(parse(b"#!\0/bin/sh\n"), ok("", None));
    }

    #[test]
    fn the_buffer_is_256_bytes() {
        // A name that fills the buffer without a newline may be truncated.
        let mut long = b"#!/".to_vec();
        long.extend(vec![b'a'; 300]);
        assert_eq!(parse(&long), Err(Errno::ENOEXEC));
        // A name ending exactly at the last byte: still no terminator.
        let mut exact = b"#!/".to_vec();
        exact.extend(vec![b'a'; 253]);
        assert_eq!(exact.len(), 256);
        assert_eq!(parse(&exact), Err(Errno::ENOEXEC));
        // One byte shorter: the zero padding terminates it.
        exact.pop();
        assert_eq!(parse(&exact), ok(core::str::from_utf8(&exact[2..]).unwrap(), None));
        // A long argument is cut at byte 255 (the last byte is dropped).
        let mut arg = b"#!/bin/sh ".to_vec();
        arg.extend(vec![b'x'; 400]);
        let (name, a) = parse(&arg).unwrap().unwrap();
        assert_eq!(name, b"/bin/sh");
        assert_eq!(a.unwrap().len(), 255 - 10);
        // A newline past the buffer is not seen.
        let mut far = b"#!/bin/sh ".to_vec();
        far.extend(vec![b'y'; 250]);
        far.extend(b"\n");
        assert_eq!(parse(&far).unwrap().unwrap().1.unwrap().len(), 245);
    }

    #[test]
    fn argv_rewrite() {
        let s = Shebang { interpreter: b"/bin/sh".to_vec(), arg: None };
        assert_eq!(s.argv(b"/s", &[b"s", b"a", b"b"]), [&b"/bin/sh"[..], b"/s", b"a", b"b"]);
        assert_eq!(s.argv(b"/s", &[]), [&b"/bin/sh"[..], b"/s"]);
        let s = Shebang { interpreter: b"/bin/awk".to_vec(), arg: Some(b"-f".to_vec()) };
        assert_eq!(s.argv(b"x.awk", &[b"ignored"]), [&b"/bin/awk"[..], b"-f", b"x.awk"]);
    }

    #[test]
    fn depth_limit() {
        for depth in 0..=MAX_EXEC_DEPTH {
            assert_eq!(check_exec_depth(depth), Ok(()));
        }
        assert_eq!(check_exec_depth(6), Err(Errno::ELOOP));
    }
}
