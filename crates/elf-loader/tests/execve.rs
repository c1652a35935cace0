//! The kernel's execve loop in miniature, over an in-memory "filesystem":
//! `#!` scripts rewrite argv and chain to their interpreter, at most five
//! deep (ELOOP), and the final ELF is loaded with the rewritten arguments.

use std::collections::HashMap;

use elf_loader::testing::{ElfBuilder, PF_R, PF_X};
use elf_loader::*;
use linux_abi::Errno;
use vm::testing::{TestFrames, TestVmar, test_vmar};

/// What kernel-bin would do: returns the loaded image and the final argv.
fn execve(
    fs: &HashMap<&str, Vec<u8>>,
    vmar: &mut TestVmar,
    path: &str,
    argv: &[&[u8]],
    envp: &[&[u8]],
) -> Result<(LoadedImage, Vec<Vec<u8>>), Errno> {
    check_args(STK_LIM, path.as_bytes(), argv, envp)?;
    let mut file_path = path.as_bytes().to_vec();
    let mut argv: Vec<Vec<u8>> = argv.iter().map(|s| s.to_vec()).collect();
    let mut depth = 0;
    loop {
        check_exec_depth(depth)?;
        let name = std::str::from_utf8(&file_path).map_err(|_| Errno::ENOENT)?;
        let file = fs.get(name).ok_or(Errno::ENOENT)?;
        match parse_shebang(&read_head(&file[..])?)? {
            Some(script) => {
                let refs: Vec<&[u8]> = argv.iter().map(|s| s.as_slice()).collect();
                argv = script.argv(&file_path, &refs);
                file_path = script.interpreter;
                depth += 1;
            }
            None => {
                let image = ElfImage::parse(&file[..])?;
                let refs: Vec<&[u8]> = argv.iter().map(|s| s.as_slice()).collect();
                let mut params = ExecParams::new(&file_path, &refs, envp, [1; 16]);
                params.execfn = path.as_bytes();
                let loaded = image.load(vmar, &file[..], &params)?;
                return Ok((loaded, argv));
            }
        }
    }
}

fn fs() -> HashMap<&'static str, Vec<u8>> {
    let sh = ElfBuilder::exec(0x401000).load(0x401000, PF_R | PF_X, &[0xc3], 1).build();
    let mut fs = HashMap::new();
    fs.insert("/bin/sh", sh);
    fs.insert("/s1", b"#!/bin/sh -e\necho hi\n".to_vec());
    fs.insert("/s2", b"#! /s1 two words \n".to_vec());
    fs.insert("/bad", b"#!\n".to_vec());
    fs.insert("/missing", b"#!/nope\n".to_vec());
    fs.insert("/text", b"hello\n".to_vec());
    // A chain /c0 -> /c1 -> ... -> /c5 -> /bin/sh.
    for i in 0..6 {
        let next = if i == 5 { "/bin/sh".to_string() } else { format!("/c{}", i + 1) };
        let name: &'static str = Box::leak(format!("/c{i}").into_boxed_str());
        fs.insert(name, format!("#!{next}\n").into_bytes());
    }
    fs
}

fn read_argv(vmar: &mut TestVmar, sp: usize) -> Vec<Vec<u8>> {
    let argc = vmar.read_val::<u64>(sp).unwrap() as usize;
    (0..argc)
        .map(|i| {
            let p = vmar.read_val::<u64>(sp + 8 + 8 * i).unwrap() as usize;
            vmar.read_cstr(p, 4096).unwrap()
        })
        .collect()
}

#[test]
fn a_script_runs_its_interpreter_with_the_rewritten_argv() {
    let frames = TestFrames::new();
    let fs = fs();
    let mut vmar = test_vmar(&frames);
    let (image, argv) = execve(&fs, &mut vmar, "/s1", &[b"s1", b"a", b"b"], &[b"X=1"]).unwrap();
    assert_eq!(argv, [&b"/bin/sh"[..], b"-e", b"/s1", b"a", b"b"]);
    assert_eq!(read_argv(&mut vmar, image.stack_pointer), argv);
    // AT_EXECFN is the name execve was given; the mappings carry the
    // interpreter's path.
    assert_eq!(vmar.read_cstr(image.execfn, 4096).unwrap(), b"/s1");
    assert!(vmar.mappings().next().unwrap().to_string().ends_with("/bin/sh"));
    drop(vmar);

    let mut vmar = test_vmar(&frames);
    let (image, argv) = execve(&fs, &mut vmar, "/s2", &[b"s2", b"z"], &[]).unwrap();
    assert_eq!(argv, [&b"/bin/sh"[..], b"-e", b"/s1", b"two words", b"/s2", b"z"]);
    assert_eq!(read_argv(&mut vmar, image.stack_pointer), argv);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn five_scripts_deep_is_the_limit() {
    let frames = TestFrames::new();
    let fs = fs();
    let mut vmar = test_vmar(&frames);
    // /c1 .. /c5 are five scripts, then the binary at depth 5.
    let (_, argv) = execve(&fs, &mut vmar, "/c1", &[b"c1"], &[]).unwrap();
    assert_eq!(argv, [&b"/bin/sh"[..], b"/c5", b"/c4", b"/c3", b"/c2", b"/c1"]);
    drop(vmar);
    // Six scripts: the binary would be at depth 6.
    let mut vmar = test_vmar(&frames);
    assert_eq!(execve(&fs, &mut vmar, "/c0", &[b"c0"], &[]).map(|_| ()), Err(Errno::ELOOP));
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn script_and_format_errors() {
    let frames = TestFrames::new();
    let fs = fs();
    let mut vmar = test_vmar(&frames);
    assert_eq!(execve(&fs, &mut vmar, "/bad", &[b"bad"], &[]).map(|_| ()), Err(Errno::ENOEXEC));
    assert_eq!(execve(&fs, &mut vmar, "/missing", &[b"m"], &[]).map(|_| ()), Err(Errno::ENOENT));
    assert_eq!(execve(&fs, &mut vmar, "/text", &[b"t"], &[]).map(|_| ()), Err(Errno::ENOEXEC));
    let long = vec![b'a'; MAX_ARG_STRLEN];
    assert_eq!(execve(&fs, &mut vmar, "/s1", &[&long], &[]).map(|_| ()), Err(Errno::E2BIG));
    assert_eq!(vmar.mappings().count(), 0);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}
