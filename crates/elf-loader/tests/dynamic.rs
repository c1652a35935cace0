//! Dynamic images (`PT_INTERP`): the interpreter's path, the interpreter's
//! checks with Linux's errors, where the program and the interpreter go,
//! the auxiliary vector, and Debian's ld.so with `ls` when the host has
//! them.

use elf_loader::testing::{ElfBuilder, PF_R, PF_W, PF_X, Phdr};
use elf_loader::*;
use linux_abi::Errno;
use vm::testing::{TestFrames, TestVmar, cpu_fetch, test_vmar};
use vm::{MappingInfo, Prot};

const TOP: usize = 0x7fff_ffff_f000;
const MMAP_BASE: usize = TOP - (128 << 20);
const INTERP: &[u8] = b"/lib64/ld-test.so\0";
const R: Prot = Prot::READ;
const RW: Prot = Prot::READ.union(Prot::WRITE);
const RX: Prot = Prot::READ.union(Prot::EXEC);

/// A PIE (as gcc links one): headers at 0, code at 0x1000, data and bss.
fn pie_program(interp: &[u8]) -> Vec<u8> {
    ElfBuilder::pie(0x1010)
        .headers_segment(0, PF_R)
        .phdr(0x40)
        .interp(interp)
        .load(0x1000, PF_R | PF_X, &[0xc3; 0x40], 0x40)
        .load(0x2e00, PF_R | PF_W, b"program data", 0x1300)
        .build()
}

/// An interpreter (as ld.so is linked): ET_DYN from 0, entry at 0x1100.
fn interp_image() -> Vec<u8> {
    ElfBuilder::pie(0x1100)
        .headers_segment(0, PF_R)
        .load(0x1000, PF_R | PF_X, &[0x90; 0x200], 0x200)
        .load(0x3000, PF_R | PF_W, b"interp data", 0x2000)
        .build()
}

fn maps(vmar: &TestVmar) -> Vec<(usize, usize, Prot, String)> {
    vmar.mappings().map(|MappingInfo { start, end, prot, name, .. }| (start, end, prot, name)).collect()
}

fn get(image: &LoadedImage, key: u64) -> u64 {
    image.auxv.iter().find(|e| e.0 == key).map(|e| e.1).unwrap_or(u64::MAX)
}

const ARGV: [&[u8]; 1] = [b"prog"];

fn load_dynamic(
    frames: &TestFrames,
    program: &[u8],
    interp: &[u8],
) -> (TestVmar, Result<LoadedImage, Errno>) {
    let mut vmar = test_vmar(frames);
    let params = ExecParams::new(b"/bin/prog", &ARGV, &[], [3; 16]);
    let image = ElfImage::parse(program).unwrap();
    let ld = ElfImage::parse_interp(interp).unwrap().unwrap();
    let interp = interp.to_vec();
    let i = Interp::new(&ld, &interp, b"/lib64/ld-test.so");
    let r = image.load_with_interp(&mut vmar, program, Some(i), &params);
    (vmar, r)
}

#[test]
fn a_pie_goes_to_elf_et_dyn_base_and_its_interpreter_below_the_mmap_base() {
    let frames = TestFrames::new();
    let program = pie_program(INTERP);
    let image = ElfImage::parse(&program[..]).unwrap();
    assert_eq!(image.kind(), ImageKind::DynamicPie);
    assert_eq!(image.interp_path(&program[..]), Ok(Some(b"/lib64/ld-test.so".to_vec())));
    let (mut vmar, r) = load_dynamic(&frames, &program, &interp_image());
    let img = r.unwrap();
    let base = 0x5555_5555_4000;
    // The 0x5000 bytes of the interpreter end at the mmap base.
    let ld = MMAP_BASE - 0x5000;
    assert_eq!(img.kind, ImageKind::DynamicPie);
    assert_eq!(img.load_bias, base);
    assert_eq!(img.interp_base, ld);
    assert_eq!(img.entry, ld + 0x1100, "execution starts in the interpreter");
    assert_eq!(img.program_entry, base + 0x1010);
    assert_eq!(img.brk_base, base + 0x5000, "the break follows the program");
    assert_eq!(get(&img, AT_BASE), ld as u64);
    assert_eq!(get(&img, AT_ENTRY), (base + 0x1010) as u64);
    assert_eq!(get(&img, AT_PHDR), (base + 0x40) as u64);
    assert_eq!(get(&img, AT_PHNUM), 5);
    assert_eq!(get(&img, AT_PHENT), 56);
    assert_eq!(get(&img, AT_FLAGS), 0);
    assert_eq!(get(&img, AT_PAGESZ), 4096);
    let prog = "/bin/prog".to_string();
    let ldn = "/lib64/ld-test.so".to_string();
    // (the hole between the interpreter's segments stays unmapped, as
    // Linux's load_elf_interp leaves it; its bss is anonymous)
    assert_eq!(
        maps(&vmar)[..8],
        [
            (base, base + 0x1000, R, prog.clone()),
            (base + 0x1000, base + 0x2000, RX, prog.clone()),
            (base + 0x2000, base + 0x3000, RW, prog.clone()),
            (base + 0x3000, base + 0x5000, RW, "[heap]".to_string()),
            (ld, ld + 0x1000, R, ldn.clone()),
            (ld + 0x1000, ld + 0x2000, RX, ldn.clone()),
            (ld + 0x3000, ld + 0x4000, RW, ldn.clone()),
            (ld + 0x4000, ld + 0x5000, RW, String::new()),
        ]
    );
    let mut buf = [0u8; 11];
    vmar.read_user(ld + 0x3000, &mut buf).unwrap();
    assert_eq!(&buf, b"interp data");
    vmar.read_user(ld, &mut buf[..4]).unwrap();
    assert_eq!(&buf[..4], b"\x7fELF");
    assert_eq!(cpu_fetch(&mut vmar, img.entry), Ok(()));
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn an_et_exec_program_stays_at_its_addresses() {
    let frames = TestFrames::new();
    let program = ElfBuilder::exec(0x401000)
        .headers_segment(0x400000, PF_R)
        .interp(INTERP)
        .load(0x401000, PF_R | PF_X, &[0xc3], 1)
        .build();
    let image = ElfImage::parse(&program[..]).unwrap();
    assert_eq!(image.kind(), ImageKind::Dynamic);
    let (vmar, r) = load_dynamic(&frames, &program, &interp_image());
    let img = r.unwrap();
    assert_eq!(img.load_bias, 0);
    assert_eq!(img.program_entry, 0x401000);
    assert_eq!(img.brk_base, 0x402000);
    assert_eq!(get(&img, AT_PHDR), 0x400040);
    assert_eq!(img.interp_base, MMAP_BASE - 0x5000);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn an_et_exec_interpreter_goes_at_its_addresses_with_at_base_0() {
    let frames = TestFrames::new();
    let ld = ElfBuilder::exec(0x1000_0000).load(0x1000_0000, PF_R | PF_X, &[0x90], 1).build();
    let (vmar, r) = load_dynamic(&frames, &pie_program(INTERP), &ld);
    let img = r.unwrap();
    assert_eq!(img.entry, 0x1000_0000);
    assert_eq!(img.interp_base, 0);
    assert_eq!(get(&img, AT_BASE), 0);
    drop(vmar);
    // One that lands on the program replaces it there (MAP_FIXED).
    let clash = ElfBuilder::exec(0x401000).load(0x401000, PF_R | PF_X, &[0x90], 1).build();
    let program = ElfBuilder::exec(0x401000).interp(INTERP).load(0x401000, PF_R | PF_X, &[0xc3], 1).build();
    let (mut vmar, r) = load_dynamic(&frames, &program, &clash);
    assert_eq!(r.unwrap().entry, 0x401000);
    let mut byte = [0u8];
    vmar.read_user(0x401000, &mut byte).unwrap();
    assert_eq!(byte, [0x90]);
    assert_eq!(vmar.mapping_at(0x401000).unwrap().name, "/lib64/ld-test.so");
    drop(vmar);
    // One below mmap_min_addr: ELIBBAD.
    let low = ElfBuilder::exec(0x1000).load(0x1000, PF_R | PF_X, &[0x90], 1).build();
    let (vmar, r) = load_dynamic(&frames, &program, &low);
    assert_eq!(r.unwrap_err(), Errno::ELIBBAD);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn the_interpreter_path_as_linux_reads_it() {
    let path = |bytes: &[u8]| {
        let elf = ElfBuilder::exec(0x401000).interp(bytes).load(0x401000, PF_R | PF_X, &[0xc3], 1).build();
        ElfImage::parse(&elf[..]).and_then(|i| i.interp_path(&elf[..]))
    };
    assert_eq!(path(b"/l\0"), Ok(Some(b"/l".to_vec())));
    assert_eq!(path(b"/a\0/b\0"), Ok(Some(b"/a".to_vec())), "the path ends at the first NUL");
    assert_eq!(path(b"\0\0"), Ok(Some(vec![])));
    assert_eq!(path(b"\0"), Err(Errno::ENOEXEC), "p_filesz < 2");
    assert_eq!(path(b""), Err(Errno::ENOEXEC));
    assert_eq!(path(b"/lib/ld.so"), Err(Errno::ENOEXEC), "not NUL terminated");
    let mut long = vec![b'/'; 4095];
    long.push(0);
    assert_eq!(path(&long), Ok(Some(vec![b'/'; 4095])), "PATH_MAX bytes with the NUL");
    long.insert(0, b'/');
    assert_eq!(path(&long), Err(Errno::ENOEXEC), "one more");
    // PT_INTERP's bytes past the end of the file: elf_read's EIO.
    let past = ElfBuilder::exec(0x401000)
        .raw(Phdr { p_type: 3, p_offset: 0x10_0000, p_filesz: 16, ..Phdr::default() })
        .load(0x401000, PF_R | PF_X, &[0xc3], 1)
        .build();
    assert_eq!(ElfImage::parse(&past[..]).unwrap().interp_path(&past[..]), Err(Errno::EIO));
    // A static image has none.
    let st = ElfBuilder::exec(0x401000).load(0x401000, PF_R | PF_X, &[0xc3], 1).build();
    assert_eq!(ElfImage::parse(&st[..]).unwrap().interp_path(&st[..]), Ok(None));
}

#[test]
fn every_interpreter_error() {
    let good = interp_image();
    let text = b"#!/bin/sh\necho this is not an ELF file, but it is longer than its header\n".to_vec();
    // Refused before the point of no return: execve's errno.
    let cases: Vec<(&str, Vec<u8>, Errno)> = vec![
        ("empty", vec![], Errno::EIO),
        ("shorter than the ELF header", good[..63].to_vec(), Errno::EIO),
        ("a short text file", b"hello\n".to_vec(), Errno::EIO),
        ("text", text, Errno::ELIBBAD),
        (
            "bad magic",
            {
                let mut e = good.clone();
                e[0] = 0;
                e
            },
            Errno::ELIBBAD,
        ),
        ("i386", ElfBuilder::pie(0).set(|b| b.machine = 3).load(0, PF_R, &[1], 1).build(), Errno::ELIBBAD),
        ("cut in its program headers", good[..100].to_vec(), Errno::ELIBBAD),
        (
            "phentsize",
            ElfBuilder::pie(0).set(|b| b.phentsize = 32).load(0, PF_R, &[1], 1).build(),
            Errno::ELIBBAD,
        ),
        ("no program headers", ElfBuilder::pie(0).build(), Errno::ELIBBAD),
        (
            "more than a page of program headers",
            {
                let mut b = ElfBuilder::pie(0);
                for _ in 0..74 {
                    b = b.raw(Phdr::default());
                }
                b.build()
            },
            Errno::ELIBBAD,
        ),
    ];
    for (name, elf, errno) in &cases {
        assert_eq!(ElfImage::parse_interp(&elf[..]).unwrap_err(), *errno, "{name}");
    }
    // Refused after it (Linux kills the process with SIGSEGV): ELIBBAD.
    let fatal: Vec<(&str, Vec<u8>)> = vec![
        ("cut in its segments", good[..0x1080].to_vec()),
        ("ET_REL", ElfBuilder::pie(0).set(|b| b.e_type = 1).load(0, PF_R, &[1], 1).build()),
        ("32-bit class", ElfBuilder::pie(0).set(|b| b.class = 1).load(0, PF_R, &[1], 1).build()),
        ("no PT_LOAD", ElfBuilder::pie(0).gnu_stack(PF_R | PF_W).build()),
        (
            "filesz > memsz",
            ElfBuilder::pie(0).raw(Phdr { p_type: 1, p_filesz: 2, p_memsz: 1, ..Phdr::default() }).build(),
        ),
    ];
    for (name, elf) in &fatal {
        assert_eq!(ElfImage::parse_interp(&elf[..]).map(|r| r.err()), Ok(Some(Errno::ELIBBAD)), "{name}");
    }
    // An interpreter that names an interpreter itself loads: Linux's
    // load_elf_interp ignores its PT_INTERP.
    let dynamic_ld =
        ElfBuilder::pie(0x1000).interp(b"/nowhere\0").load(0x1000, PF_R | PF_X, &[0x90], 1).build();
    let ld = ElfImage::parse_interp(&dynamic_ld[..]).unwrap().unwrap();
    assert_eq!(ld.kind(), ImageKind::StaticPie);
    let frames = TestFrames::new();
    let (vmar, r) = load_dynamic(&frames, &pie_program(INTERP), &dynamic_ld);
    assert_eq!(r.unwrap().entry, MMAP_BASE - 0x1000);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn an_interpreter_must_match_the_image() {
    let frames = TestFrames::new();
    let params = ExecParams::new(b"/bin/prog", &ARGV, &[], [3; 16]);
    let program = pie_program(INTERP);
    let dynamic = ElfImage::parse(&program[..]).unwrap();
    // A dynamic image without its interpreter.
    let mut vmar = test_vmar(&frames);
    assert_eq!(dynamic.load(&mut vmar, &program[..], &params), Err(Errno::ENOEXEC));
    assert_eq!(load_elf(&mut vmar, &program[..], &params), Err(Errno::ENOEXEC));
    drop(vmar);
    // A static image with one.
    let st = ElfBuilder::exec(0x401000).load(0x401000, PF_R | PF_X, &[0xc3], 1).build();
    let ld_bytes = interp_image();
    let ld = ElfImage::parse_interp(&ld_bytes[..]).unwrap().unwrap();
    let mut vmar = test_vmar(&frames);
    let i = Interp::new(&ld, &ld_bytes, b"/ld");
    let r = ElfImage::parse(&st[..]).unwrap().load_with_interp(&mut vmar, &st[..], Some(i), &params);
    assert_eq!(r, Err(Errno::ENOEXEC));
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn debian_ls_through_debian_ld_so() {
    let (Ok(ls), Ok(ld_bytes)) = (std::fs::read("/usr/bin/ls"), std::fs::read("/lib64/ld-linux-x86-64.so.2"))
    else {
        return;
    };
    let image = ElfImage::parse(&ls[..]).unwrap();
    assert_eq!(image.kind(), ImageKind::DynamicPie);
    assert_eq!(image.interp_path(&ls[..]), Ok(Some(b"/lib64/ld-linux-x86-64.so.2".to_vec())));
    let ld = ElfImage::parse_interp(&ld_bytes[..]).unwrap().unwrap();
    let frames = TestFrames::new();
    let mut vmar = test_vmar(&frames);
    let argv: [&[u8]; 2] = [b"ls", b"-la"];
    let params = ExecParams::new(b"/usr/bin/ls", &argv, &[], [5; 16]);
    let i = Interp::new(&ld, &ld_bytes, b"/lib64/ld-linux-x86-64.so.2");
    let img = image.load_with_interp(&mut vmar, &ls[..], Some(i), &params).unwrap();
    assert_eq!(img.load_bias, 0x5555_5555_4000);
    assert_eq!(img.interp_base % 4096, 0);
    assert!(img.interp_base > img.brk_base && img.interp_base < MMAP_BASE);
    assert_eq!(img.entry as u64, img.interp_base as u64 + ld.entry());
    assert_eq!(get(&img, AT_ENTRY), 0x5555_5555_4000 + image.entry());
    assert_eq!(cpu_fetch(&mut vmar, img.entry), Ok(()));
    assert_eq!(vmar.mapping_at(img.entry).unwrap().name, "/lib64/ld-linux-x86-64.so.2");
    // The program headers in memory are the file's.
    let off = image.phoff() as usize;
    let mut phdrs = vec![0u8; img.phnum * PHDR_SIZE];
    vmar.read_user(img.phdr, &mut phdrs).unwrap();
    assert_eq!(phdrs, ls[off..off + phdrs.len()]);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}
