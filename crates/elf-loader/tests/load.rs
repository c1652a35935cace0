//! Loading built ELF images into a software address space: mappings,
//! bytes, the break, the exact initial stack, static PIE, and every error.

use elf_loader::testing::{ElfBuilder, PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD, Phdr, phdr_offset};
use elf_loader::*;
use linux_abi::Errno;
use vm::testing::{TestFrames, TestVmar, cpu_fetch, cpu_load, cpu_store, test_vmar};
use vm::{FaultOutcome, MappingInfo, Prot, SegvCode};

const TOP: usize = 0x7fff_ffff_f000;

fn code() -> Vec<u8> {
    (0..0x1800u32).map(|i| (i % 251) as u8).collect()
}

fn data() -> Vec<u8> {
    (0..0x200u32).map(|i| (i % 13 + 1) as u8).collect()
}

/// Headers page at 0x400000 (with PT_PHDR), code at 0x401000 (1.5 pages),
/// data at 0x403100 (0x200 bytes) with bss to 0x405100.
fn static_exec() -> Vec<u8> {
    ElfBuilder::exec(0x401000)
        .headers_segment(0x400000, PF_R)
        .phdr(0x400040)
        .load(0x401000, PF_R | PF_X, &code(), 0x1800)
        .load(0x403100, PF_R | PF_W, &data(), 0x2000)
        .gnu_stack(PF_R | PF_W)
        .build()
}

const ARGV: [&[u8]; 2] = [b"prog", b"x"];
const ENVP: [&[u8]; 2] = [b"A=1", b"HOME=/"];

fn params<'a>(argv: &'a [&'a [u8]], envp: &'a [&'a [u8]]) -> ExecParams<'a> {
    let mut p = ExecParams::new(b"/bin/prog", argv, envp, *b"0123456789abcdef");
    p.creds = Credentials::new(1000, 1001, 100, 101);
    p.hwcap = 0x178bfbff;
    p
}

fn load(frames: &TestFrames, elf: &[u8], p: &ExecParams<'_>) -> (TestVmar, Result<LoadedImage, Errno>) {
    let mut vmar = test_vmar(frames);
    let r = load_elf(&mut vmar, elf, p);
    (vmar, r)
}

fn maps(vmar: &TestVmar) -> Vec<(usize, usize, Prot, String)> {
    vmar.mappings().map(|MappingInfo { start, end, prot, name, .. }| (start, end, prot, name)).collect()
}

fn read(vmar: &mut TestVmar, addr: usize, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    vmar.read_user(addr, &mut buf).unwrap();
    buf
}

fn word(vmar: &mut TestVmar, addr: usize) -> u64 {
    vmar.read_val::<u64>(addr).unwrap()
}

const R: Prot = Prot::READ;
const RW: Prot = Prot::READ.union(Prot::WRITE);
const RX: Prot = Prot::READ.union(Prot::EXEC);

#[test]
fn static_executable_mappings_bytes_and_break() {
    let frames = TestFrames::new();
    let elf = static_exec();
    let p = params(&ARGV, &ENVP);
    let (mut vmar, r) = load(&frames, &elf, &p);
    let image = r.unwrap();
    let path = "/bin/prog".to_string();
    assert_eq!(
        maps(&vmar),
        [
            (0x400000, 0x401000, R, path.clone()),
            (0x401000, 0x403000, RX, path.clone()),
            (0x403000, 0x404000, RW, path.clone()),
            (0x404000, 0x406000, RW, "[heap]".to_string()),
            (TOP - (8 << 20), TOP, RW, "[stack]".to_string()),
        ]
    );
    assert_eq!(image.entry, 0x401000);
    assert_eq!(image.load_bias, 0);
    assert_eq!(image.kind, ImageKind::Static);
    assert_eq!(image.brk_base, 0x406000);
    assert_eq!((vmar.brk_start(), vmar.current_brk()), (0x406000, 0x406000));
    assert_eq!(image.phdr, 0x400040);
    assert_eq!(image.phnum, 5);
    assert_eq!((image.start_code, image.end_code), (0x401000, 0x402800));
    assert_eq!((image.start_data, image.end_data), (0x403100, 0x403300));
    assert_eq!((image.stack_bottom, image.stack_top), (TOP - (8 << 20), TOP));

    // The headers, the code, the data, and zeroes everywhere else.
    assert_eq!(read(&mut vmar, 0x400000, 344), elf[..344]);
    assert!(read(&mut vmar, 0x400000 + 344, 0x1000 - 344).iter().all(|&b| b == 0));
    assert_eq!(read(&mut vmar, 0x401000, 0x1800), code());
    assert!(read(&mut vmar, 0x402800, 0x800).iter().all(|&b| b == 0));
    assert!(read(&mut vmar, 0x403000, 0x100).iter().all(|&b| b == 0));
    assert_eq!(read(&mut vmar, 0x403100, 0x200), data());
    assert!(read(&mut vmar, 0x403300, 0x406000 - 0x403300).iter().all(|&b| b == 0), "bss is zero");

    // Permissions as the CPU sees them.
    assert_eq!(
        cpu_store(&mut vmar, 0x401000, &[1]),
        Err(FaultOutcome::Segv { addr: 0x401000, code: SegvCode::AccErr })
    );
    assert_eq!(
        cpu_store(&mut vmar, 0x400000, &[1]),
        Err(FaultOutcome::Segv { addr: 0x400000, code: SegvCode::AccErr })
    );
    assert_eq!(cpu_fetch(&mut vmar, 0x401000), Ok(()));
    assert!(cpu_fetch(&mut vmar, 0x403100).is_err());
    assert_eq!(cpu_store(&mut vmar, 0x405000, &[1]), Ok(()));
    let mut b = [0u8; 1];
    assert_eq!(cpu_load(&mut vmar, 0x400000, &mut b), Ok(()));
    assert_eq!(b[0], 0x7f);

    // The heap grows from the break and joins the bss mapping.
    assert_eq!(vmar.brk(0x408000), 0x408000);
    assert!(maps(&vmar).contains(&(0x404000, 0x408000, RW, "[heap]".to_string())));

    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn the_initial_stack_is_exactly_linuxs() {
    let frames = TestFrames::new();
    let elf = static_exec();
    let p = params(&ARGV, &ENVP);
    let (mut vmar, r) = load(&frames, &elf, &p);
    let image = r.unwrap();

    // Strings from the top: a zero word, "/bin/prog", envp, argv.
    assert_eq!(word(&mut vmar, TOP - 8), 0);
    let execfn = TOP - 8 - 10;
    assert_eq!(read(&mut vmar, execfn, 10), b"/bin/prog\0");
    let (env1, env0) = (execfn - 7, execfn - 7 - 4);
    let (arg1, arg0) = (env0 - 2, env0 - 2 - 5);
    assert_eq!(read(&mut vmar, arg0, execfn - arg0), b"prog\0x\0A=1\0HOME=/\0");
    assert_eq!(
        (arg0, arg1, env0, env1),
        (0x7fff_ffff_efdc, 0x7fff_ffff_efe1, 0x7fff_ffff_efe3, 0x7fff_ffff_efe7)
    );
    // Aligned down to 16, then "x86_64" and the random bytes.
    let platform = 0x7fff_ffff_efd0 - 7;
    assert_eq!(read(&mut vmar, platform, 7), b"x86_64\0");
    let random = platform - 16;
    assert_eq!(read(&mut vmar, random, 16), b"0123456789abcdef");
    // 17 auxv entries + AT_NULL = 36 words, then 7 words of argc/argv/envp.
    let sp = (random - 36 * 8 - 7 * 8) & !15;
    assert_eq!(sp, 0x7fff_ffff_ee60);
    assert_eq!(image.stack_pointer, sp);
    assert_eq!(sp % 16, 0);

    let table: Vec<u64> = (0..7 + 36).map(|i| word(&mut vmar, sp + 8 * i)).collect();
    assert_eq!(table[..7], [2, arg0 as u64, arg1 as u64, 0, env0 as u64, env1 as u64, 0]);
    let auxv: Vec<(u64, u64)> = table[7..].chunks(2).map(|c| (c[0], c[1])).collect();
    let expected = vec![
        (AT_HWCAP, 0x178bfbff),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, 100),
        (AT_PHDR, 0x400040),
        (AT_PHENT, 56),
        (AT_PHNUM, 5),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, 0x401000),
        (AT_UID, 1000),
        (AT_EUID, 1001),
        (AT_GID, 100),
        (AT_EGID, 101),
        (AT_SECURE, 0),
        (AT_RANDOM, random as u64),
        (AT_EXECFN, execfn as u64),
        (AT_PLATFORM, platform as u64),
        (AT_NULL, 0),
    ];
    assert_eq!(auxv, expected);
    assert_eq!(image.auxv, expected);
    // The padding between the auxv and the random bytes is zero.
    let aux_end = sp + 43 * 8;
    assert_eq!(aux_end, 0x7fff_ffff_efb8);
    assert_eq!(read(&mut vmar, aux_end, random - aux_end), [0]);

    assert_eq!((image.arg_start, image.arg_end), (arg0, env0));
    assert_eq!((image.env_start, image.env_end), (env0, execfn));
    assert_eq!((image.execfn, image.random), (execfn, random));
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn optional_auxv_entries_and_their_order() {
    let frames = TestFrames::new();
    let elf = static_exec();
    let mut p = params(&ARGV, &ENVP);
    p.sysinfo_ehdr = Some(0x7fff_f7ff_0000);
    p.minsigstksz = Some(3632);
    p.hwcap2 = Some(2);
    p.secure = true;
    p.platform = None;
    p.execfn = b"./prog";
    let (mut vmar, r) = load(&frames, &elf, &p);
    let image = r.unwrap();
    let keys: Vec<u64> = image.auxv.iter().map(|&(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            AT_SYSINFO_EHDR,
            AT_MINSIGSTKSZ,
            AT_HWCAP,
            AT_PAGESZ,
            AT_CLKTCK,
            AT_PHDR,
            AT_PHENT,
            AT_PHNUM,
            AT_BASE,
            AT_FLAGS,
            AT_ENTRY,
            AT_UID,
            AT_EUID,
            AT_GID,
            AT_EGID,
            AT_SECURE,
            AT_RANDOM,
            AT_HWCAP2,
            AT_EXECFN,
            AT_NULL
        ]
    );
    let get = |k| image.auxv.iter().find(|e| e.0 == k).unwrap().1;
    assert_eq!(get(AT_SECURE), 1);
    assert_eq!(get(AT_MINSIGSTKSZ), 3632);
    assert_eq!(vmar.read_cstr(get(AT_EXECFN) as usize, 4096).unwrap(), b"./prog");
    // Without a platform string the random bytes sit right below the
    // aligned strings.
    assert_eq!(image.random, ((TOP - 8 - 7 - 11 - 7) & !15) - 16);
    // The auxv on the stack is the same as the saved one.
    let at = image.stack_pointer + 8 * (1 + 3 + 3);
    for (i, &(k, v)) in image.auxv.iter().enumerate() {
        assert_eq!((word(&mut vmar, at + 16 * i), word(&mut vmar, at + 16 * i + 8)), (k, v));
    }
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn stack_pointer_is_aligned_for_every_shape() {
    let frames = TestFrames::new();
    let elf = static_exec();
    let strings: Vec<Vec<u8>> = (0..9).map(|i| vec![b'a' + i as u8; i * 3 + 1]).collect();
    for argc in 0..6 {
        for envc in 0..4 {
            for execfn_len in 1..4 {
                let argv: Vec<&[u8]> = strings[..argc].iter().map(|s| s.as_slice()).collect();
                let envp: Vec<&[u8]> = strings[argc..argc + envc].iter().map(|s| s.as_slice()).collect();
                let execfn = vec![b'/'; execfn_len];
                let mut p = params(&argv, &envp);
                p.execfn = &execfn;
                let (mut vmar, r) = load(&frames, &elf, &p);
                let image = r.unwrap();
                let sp = image.stack_pointer;
                assert_eq!(sp % 16, 0);
                let real_argc = argc.max(1);
                assert_eq!(word(&mut vmar, sp), real_argc as u64);
                let empty: [&[u8]; 1] = [b""];
                let want = if argc == 0 { &empty[..] } else { &argv[..] };
                for (i, want) in want.iter().enumerate() {
                    let a = word(&mut vmar, sp + 8 + 8 * i) as usize;
                    assert_eq!(&vmar.read_cstr(a, 4096).unwrap(), want);
                }
                assert_eq!(word(&mut vmar, sp + 8 + 8 * real_argc), 0);
                let envp_at = sp + 16 + 8 * real_argc;
                for (i, e) in envp.iter().enumerate() {
                    let a = word(&mut vmar, envp_at + 8 * i) as usize;
                    let s = vmar.read_cstr(a, 4096).unwrap();
                    assert_eq!(&s, e);
                }
                assert_eq!(word(&mut vmar, envp_at + 8 * envp.len()), 0);
                assert_eq!(word(&mut vmar, envp_at + 8 * envp.len() + 8), AT_HWCAP);
            }
        }
    }
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn empty_argv_becomes_one_empty_string() {
    let frames = TestFrames::new();
    let (mut vmar, r) = load(&frames, &static_exec(), &params(&[], &[]));
    let image = r.unwrap();
    let sp = image.stack_pointer;
    assert_eq!(word(&mut vmar, sp), 1);
    let arg0 = word(&mut vmar, sp + 8) as usize;
    assert_eq!(read(&mut vmar, arg0, 1), [0]);
    assert_eq!(arg0, TOP - 8 - 10 - 1);
    assert_eq!(word(&mut vmar, sp + 16), 0);
    assert_eq!(word(&mut vmar, sp + 24), 0, "no environment");
}

#[test]
fn static_pie_goes_where_mmap_puts_it() {
    let frames = TestFrames::new();
    let elf = ElfBuilder::pie(0x1010)
        .headers_segment(0, PF_R)
        .phdr(0x40)
        .load(0x1000, PF_R | PF_X, &[0xc3; 0x20], 0x20)
        .load(0x2e00, PF_R | PF_W, b"pie data", 0x1300)
        .build();
    // Linux 6.1 without randomisation: the 0x5000-byte image ends at the
    // mmap base (TASK_SIZE - 128 MiB) and the heap starts there.
    let mmap_base = TOP - (128 << 20);
    let base = mmap_base - 0x5000;
    let (mut vmar, r) = load(&frames, &elf, &params(&ARGV, &ENVP));
    let image = r.unwrap();
    assert_eq!(image.kind, ImageKind::StaticPie);
    assert_eq!(image.load_bias, base);
    assert_eq!(image.entry, base + 0x1010);
    assert_eq!(image.phdr, base + 0x40);
    assert_eq!(image.brk_base, mmap_base);
    let m = maps(&vmar);
    assert_eq!(m[0], (base, base + 0x1000, R, "/bin/prog".into()));
    assert_eq!(m[1], (base + 0x1000, base + 0x2000, RX, "/bin/prog".into()));
    assert_eq!(m[2], (base + 0x2000, base + 0x3000, RW, "/bin/prog".into()));
    assert_eq!(m[3], (base + 0x3000, base + 0x5000, RW, "[heap]".into()));
    assert_eq!(read(&mut vmar, base + 0x2e00, 8), b"pie data");
    assert_eq!(read(&mut vmar, base, 4), b"\x7fELF");
    let get = |k| image.auxv.iter().find(|e| e.0 == k).unwrap().1;
    assert_eq!(get(AT_ENTRY), (base + 0x1010) as u64);
    assert_eq!(get(AT_PHDR), (base + 0x40) as u64);
    assert_eq!(get(AT_BASE), 0);
    // The heap can grow from the mmap base towards the stack.
    assert_eq!(vmar.brk(mmap_base + 0x10_0000), mmap_base + 0x10_0000);
    // Later mmaps go below the image.
    assert_eq!(vmar.mmap(0, 0x1000, 3, 0x22, None, 0), Ok(base - 0x1000));
    drop(vmar);

    // A PIE whose segments start above 0 is placed the same way.
    let high = ElfBuilder::pie(0x10_1000).load(0x10_1000, PF_R | PF_X, &[1], 1).build();
    let (vmar, r) = load(&frames, &high, &params(&ARGV, &ENVP));
    let image = r.unwrap();
    assert_eq!(image.entry, mmap_base - 0x1000);
    assert_eq!(image.load_bias, mmap_base - 0x1000 - 0x10_1000);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn static_pie_at_a_chosen_base() {
    let frames = TestFrames::new();
    let elf = ElfBuilder::pie(0x1010)
        .headers_segment(0, PF_R)
        .load(0x1000, PF_R | PF_X, &[0xc3; 0x20], 0x20)
        .build();
    let mut p = params(&ARGV, &ENVP);
    p.layout.pie = PiePlacement::At(ELF_ET_DYN_BASE);
    let (mut vmar, r) = load(&frames, &elf, &p);
    let image = r.unwrap();
    assert_eq!(image.load_bias, 0x5555_5555_4000);
    assert_eq!(image.entry, 0x5555_5555_5010);
    assert_eq!(image.brk_base, 0x5555_5555_6000);
    assert_eq!(read(&mut vmar, 0x5555_5555_4000, 4), b"\x7fELF");
    drop(vmar);

    p.layout.pie = PiePlacement::At(0x1234_5678_9000);
    let (vmar, r) = load(&frames, &elf, &p);
    assert_eq!(r.unwrap().load_bias, 0x1234_5678_9000);
    drop(vmar);
    // Rounded down to the largest alignment.
    let big_align = ElfBuilder::pie(0x10)
        .raw(Phdr {
            p_type: PT_LOAD,
            p_flags: PF_R | PF_X,
            p_offset: 0,
            p_vaddr: 0,
            p_filesz: 0x100,
            p_memsz: 0x100,
            p_align: 0x20_0000,
        })
        .build();
    let (vmar, r) = load(&frames, &big_align, &p);
    assert_eq!(r.unwrap().load_bias, 0x1234_5660_0000);
    drop(vmar);
    // A base that puts the image out of user space.
    p.layout.pie = PiePlacement::At(0x7fff_ffff_f000);
    assert_eq!(load(&frames, &elf, &p).1, Err(Errno::ENOEXEC));
    p.layout.pie = PiePlacement::At(0);
    assert_eq!(load(&frames, &elf, &p).1, Err(Errno::ENOEXEC));
    // The base does not matter for ET_EXEC.
    let (vmar, r) = load(&frames, &static_exec(), &p);
    assert_eq!(r.unwrap().load_bias, 0);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn segments_sharing_a_page_get_both_permissions() {
    let frames = TestFrames::new();
    // Code ends at 0x401800; data starts in the same page at 0x401900.
    let elf = ElfBuilder::exec(0x401000)
        .load(0x401000, PF_R | PF_X, &[0xaa; 0x800], 0x800)
        .load(0x401900, PF_R | PF_W, &[0xbb; 0x100], 0x1800)
        .build();
    let (mut vmar, r) = load(&frames, &elf, &params(&ARGV, &ENVP));
    let image = r.unwrap();
    let m = maps(&vmar);
    assert_eq!(m[0], (0x401000, 0x402000, Prot::all(), "/bin/prog".into()));
    assert_eq!(m[1], (0x402000, 0x404000, RW, "[heap]".into()));
    assert_eq!(read(&mut vmar, 0x401000, 0x800), [0xaa; 0x800]);
    assert_eq!(read(&mut vmar, 0x401800, 0x100), [0; 0x100]);
    assert_eq!(read(&mut vmar, 0x401900, 0x100), [0xbb; 0x100]);
    assert_eq!(image.brk_base, 0x404000);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn gnu_stack_decides_whether_the_stack_is_executable() {
    let frames = TestFrames::new();
    let exec_stack =
        ElfBuilder::exec(0x401000).load(0x401000, PF_R | PF_X, &[0xc3], 1).gnu_stack(PF_R | PF_W | PF_X);
    let (vmar, r) = load(&frames, &exec_stack.build(), &params(&ARGV, &ENVP));
    r.unwrap();
    assert_eq!(maps(&vmar).last().unwrap().2, Prot::all());
    drop(vmar);
    let no_header = ElfBuilder::exec(0x401000).load(0x401000, PF_R | PF_X, &[0xc3], 1);
    let (vmar, r) = load(&frames, &no_header.build(), &params(&ARGV, &ENVP));
    let image = r.unwrap();
    assert_eq!(maps(&vmar).last().unwrap().2, RW);
    // No PT_PHDR and no segment holding the headers: AT_PHDR is the bias.
    assert_eq!(image.phdr, 0);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn layout_options() {
    let frames = TestFrames::new();
    let elf = static_exec();
    let mut p = params(&ARGV, &ENVP);
    p.layout.stack_top = 0x7000_0000_0000;
    p.layout.stack_size = 0x10000;
    let (mut vmar, r) = load(&frames, &elf, &p);
    let image = r.unwrap();
    // At least the used part plus 128 KiB of room.
    assert_eq!((image.stack_bottom, image.stack_top), (0x7000_0000_0000 - 0x21000, 0x7000_0000_0000));
    assert_eq!(word(&mut vmar, image.stack_pointer), 2);
    drop(vmar);
    p.layout.stack_top = 0x7000_0000_0001;
    assert_eq!(load(&frames, &elf, &p).1, Err(Errno::EINVAL));
    p.layout.stack_top = TOP + 0x1000;
    assert_eq!(load(&frames, &elf, &p).1, Err(Errno::EINVAL));
    // The stack over the image.
    p.layout.stack_top = 0x402000;
    assert_eq!(load(&frames, &elf, &p).1, Err(Errno::EEXIST));
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn nul_inside_a_string_is_einval() {
    let frames = TestFrames::new();
    let elf = static_exec();
    let bad: [&[u8]; 1] = [b"a\0b"];
    assert_eq!(load(&frames, &elf, &params(&bad, &ENVP)).1, Err(Errno::EINVAL));
    assert_eq!(load(&frames, &elf, &params(&ARGV, &bad)).1, Err(Errno::EINVAL));
    let mut p = params(&ARGV, &ENVP);
    p.execfn = b"x\0";
    assert_eq!(load(&frames, &elf, &p).1, Err(Errno::EINVAL));
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn e2big_before_anything_is_mapped() {
    let frames = TestFrames::new();
    let elf = static_exec();
    let big = vec![b'e'; 110_000];
    let envp: Vec<&[u8]> = vec![&big[..]; 20];
    // 8 MiB stack limit: 2 MiB of strings; 20 * 110 KB is more.
    let (vmar, r) = load(&frames, &elf, &params(&ARGV, &envp));
    assert_eq!(r, Err(Errno::E2BIG));
    assert_eq!(vmar.mappings().count(), 0);
    drop(vmar);
    // A 64 MiB limit allows 6 MiB; the stack mapping grows to hold them.
    let mut p = params(&ARGV, &envp);
    p.stack_rlimit = 64 << 20;
    let (mut vmar, r) = load(&frames, &elf, &p);
    let image = r.unwrap();
    assert!(image.env_end - image.env_start == 20 * 110_001);
    let env19 = word(&mut vmar, image.stack_pointer + 8 * (1 + 3 + 19)) as usize;
    assert_eq!(vmar.read_cstr(env19, 200_000).unwrap().len(), 110_000);
    drop(vmar);
    // Small limits still allow ARG_MAX (128 KiB).
    p.stack_rlimit = 4096;
    let envp: Vec<&[u8]> = vec![&big[..100_000]];
    let mut p2 = p;
    p2.envp = &envp;
    let (vmar, r) = load(&frames, &elf, &p2);
    r.unwrap();
    drop(vmar);
    // One string too long.
    let long = vec![b'a'; MAX_ARG_STRLEN];
    let argv: [&[u8]; 1] = [&long];
    assert_eq!(load(&frames, &elf, &params(&argv, &[])).1, Err(Errno::E2BIG));
    let argv: [&[u8]; 1] = [&long[1..]];
    let (vmar, r) = load(&frames, &elf, &params(&argv, &[]));
    r.unwrap();
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn out_of_memory_is_enomem_and_leaks_nothing() {
    let elf = static_exec();
    // The image needs 5 frames: headers, 2 of code, data, top of stack.
    for limit in 0..5 {
        let frames = TestFrames::with_limit(limit);
        let (vmar, r) = load(&frames, &elf, &params(&ARGV, &ENVP));
        assert_eq!(r, Err(Errno::ENOMEM), "limit {limit}");
        drop(vmar);
        assert_eq!(frames.allocated(), 0);
    }
    let frames = TestFrames::with_limit(5);
    let (vmar, r) = load(&frames, &elf, &params(&ARGV, &ENVP));
    assert!(r.is_ok());
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

/// Every rule that refuses a file with ENOEXEC, each on a small change to a
/// valid image.
#[test]
fn every_enoexec_rule() {
    let frames = TestFrames::new();
    let good = || ElfBuilder::exec(0x401000).load(0x401000, PF_R | PF_X, &[0xc3; 16], 16);
    let seg = |vaddr: u64, offset: u64, filesz: u64, memsz: u64, align: u64| Phdr {
        p_type: PT_LOAD,
        p_flags: PF_R,
        p_offset: offset,
        p_vaddr: vaddr,
        p_filesz: filesz,
        p_memsz: memsz,
        p_align: align,
    };
    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut elf = good().build();
        f(&mut elf);
        elf
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty file", vec![]),
        ("shorter than the header", good().build()[..63].to_vec()),
        ("bad magic", patched(&|e| e[1] = b'e')),
        ("32-bit class", good().set(|b| b.class = 1).build()),
        ("no class", good().set(|b| b.class = 0).build()),
        ("big endian", good().set(|b| b.data = 2).build()),
        ("ET_REL", good().set(|b| b.e_type = 1).build()),
        ("ET_CORE", good().set(|b| b.e_type = 4).build()),
        ("i386", good().set(|b| b.machine = 3).build()),
        ("aarch64", good().set(|b| b.machine = 183).build()),
        ("phentsize", good().set(|b| b.phentsize = 32).build()),
        ("no program headers", ElfBuilder::exec(0x401000).build()),
        ("more than a page of program headers", {
            let mut b = good();
            for _ in 0..73 {
                b = b.raw(Phdr::default());
            }
            b.build()
        }),
        (
            "program headers past the end",
            patched(&|e| {
                let len = e.len() as u64;
                e[32..40].copy_from_slice(&len.to_le_bytes())
            }),
        ),
        ("e_phoff overflows", patched(&|e| e[32..40].copy_from_slice(&u64::MAX.to_le_bytes()))),
        (
            "dynamic (PT_INTERP) through load_elf, without its interpreter",
            good().raw(Phdr { p_type: PT_INTERP, p_filesz: 8, ..Phdr::default() }).build(),
        ),
        ("no PT_LOAD", ElfBuilder::exec(0x401000).phdr(0x400040).build()),
        ("only empty PT_LOADs", ElfBuilder::exec(0x401000).raw(seg(0x401000, 0, 0, 0, 4096)).build()),
        ("filesz > memsz", ElfBuilder::exec(0x401000).raw(seg(0x401000, 0, 0x100, 0x80, 4096)).build()),
        (
            "file bytes past the end",
            ElfBuilder::exec(0x401000).raw(seg(0x401000, 0, 0x2000, 0x2000, 4096)).build(),
        ),
        (
            "offset + filesz overflows",
            ElfBuilder::exec(0x401000).raw(seg(0x401000, u64::MAX, 2, 2, 0)).build(),
        ),
        ("misaligned", ElfBuilder::exec(0x401000).raw(seg(0x401010, 0x20, 0x10, 0x10, 4096)).build()),
        (
            "misaligned to 2 MiB",
            ElfBuilder::exec(0x401000).raw(seg(0x401000, 0x1000, 0x10, 0x10, 0x20_0000)).build(),
        ),
        (
            "align not a power of two",
            ElfBuilder::exec(0x401000).raw(seg(0x401000, 0, 0x10, 0x10, 0x3000)).build(),
        ),
        (
            "overlapping",
            ElfBuilder::exec(0x401000)
                .raw(seg(0x401000, 0, 0x100, 0x1000, 4096))
                .raw(seg(0x401f00, 0xf00, 0x10, 0x10, 4096))
                .build(),
        ),
        (
            "overlapping, out of order",
            ElfBuilder::exec(0x401000)
                .raw(seg(0x402000, 0, 0x10, 0x10, 4096))
                .raw(seg(0x401000, 0, 0x10, 0x2000, 4096))
                .build(),
        ),
        (
            "in the kernel half",
            ElfBuilder::exec(0x401000).raw(seg(0xffff_8000_0000_0000, 0, 0x10, 0x10, 4096)).build(),
        ),
        (
            "ending past TASK_SIZE",
            ElfBuilder::exec(0x401000).raw(seg(0x7fff_ffff_e000, 0, 0x10, 0x2000, 4096)).build(),
        ),
        (
            "vaddr + memsz overflows",
            ElfBuilder::exec(0x401000).raw(seg(0x401000, 0, 0x10, u64::MAX, 4096)).build(),
        ),
        ("entry in the kernel half", good().set(|b| b.entry = 0xffff_ffff_8000_0000).build()),
        ("below mmap_min_addr", ElfBuilder::exec(0x1000).load(0x1000, PF_R | PF_X, &[0xc3], 1).build()),
        ("at address 0", ElfBuilder::exec(0).load(0, PF_R | PF_X, &[0xc3], 1).build()),
        (
            "PIE entry past the end after the bias",
            ElfBuilder::pie(0).set(|b| b.entry = 0x7000_0000_0000).load(0x1000, PF_R, &[1], 1).build(),
        ),
    ];
    let p = params(&ARGV, &ENVP);
    for (name, elf) in &cases {
        let (vmar, r) = load(&frames, elf, &p);
        assert_eq!(r, Err(Errno::ENOEXEC), "{name}");
        drop(vmar);
        assert_eq!(frames.allocated(), 0, "{name}");
    }
    // And the unchanged image loads.
    let (vmar, r) = load(&frames, &good().build(), &p);
    assert!(r.is_ok());
    drop(vmar);
    // Unknown program header types and p_align 0/1 are fine.
    let odd = good()
        .raw(Phdr { p_type: 0x1234_5678, ..Phdr::default() })
        .raw(seg(0x500123, 0x77, 0x10, 0x10, 1))
        .raw(seg(0x600123, 0x1, 0x10, 0x10, 0))
        .build();
    let (vmar, r) = load(&frames, &odd, &p);
    assert!(r.is_ok(), "{r:?}");
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn parse_reports_the_image() {
    let elf = static_exec();
    let image = ElfImage::parse(&elf[..]).unwrap();
    assert_eq!(image.kind(), ImageKind::Static);
    assert_eq!(image.entry(), 0x401000);
    assert_eq!(image.phoff(), 64);
    assert_eq!(image.phnum(), 5);
    assert_eq!(image.phdr_vaddr(), Some(0x400040));
    assert!(!image.exec_stack());
    assert_eq!(image.max_align(), 4096);
    let vaddrs: Vec<u64> = image.segments().iter().map(|s| s.vaddr).collect();
    assert_eq!(vaddrs, [0x400000, 0x401000, 0x403100]);
    assert_eq!(image.segments()[2].end(), 0x405100);
    // The Vec<u8> implementation reads the same.
    assert_eq!(ElfImage::parse(&elf).unwrap().segments(), image.segments());
    // A PT_PHDR outside every PT_LOAD is the fallback for AT_PHDR.
    let elf = ElfBuilder::exec(0x401000).phdr(0x400040).load(0x401000, PF_R, &[1], 1).build();
    assert_eq!(ElfImage::parse(&elf[..]).unwrap().phdr_vaddr(), Some(0x400040));
}

#[test]
fn program_headers_at_an_odd_offset() {
    // xmas-elf needs aligned input; the loader copies, so an e_phoff that
    // is not a multiple of 8 still works.
    let frames = TestFrames::new();
    let mut elf = static_exec();
    let n = 5 * 56;
    let phdrs = elf[64..64 + n].to_vec();
    elf[0x203..0x203 + n].copy_from_slice(&phdrs);
    elf[32..40].copy_from_slice(&0x203u64.to_le_bytes());
    elf[64..64 + n].fill(0);
    let (vmar, r) = load(&frames, &elf, &params(&ARGV, &ENVP));
    let image = r.unwrap();
    // e_phoff 0x203 is past the headers segment's file bytes (344): no
    // PT_LOAD holds it, so PT_PHDR's address is used.
    assert_eq!(image.phdr, 0x400040);
    assert_eq!(phdr_offset(1), 120);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn bss_of_a_middle_segment_is_anonymous_and_three_segments_can_share_a_page() {
    let frames = TestFrames::new();
    let elf = ElfBuilder::exec(0x401000)
        .load(0x401000, PF_R | PF_X, &[1; 0x10], 0x10)
        .load(0x401100, PF_R, &[2; 0x10], 0x10)
        .load(0x401200, PF_R | PF_W, &[3; 0x10], 0x2000) // bss to 0x403200
        .load(0x405000, PF_R, &[4; 0x10], 0x10)
        .build();
    let (mut vmar, r) = load(&frames, &elf, &params(&ARGV, &ENVP));
    let image = r.unwrap();
    let m = maps(&vmar);
    assert_eq!(m[0], (0x401000, 0x402000, Prot::all(), "/bin/prog".into()));
    assert_eq!(m[1], (0x402000, 0x404000, RW, String::new()), "not at the break: no name");
    assert_eq!(m[2], (0x405000, 0x406000, R, "/bin/prog".into()));
    assert_eq!(image.brk_base, 0x406000);
    assert_eq!(read(&mut vmar, 0x401000, 0x10), [1; 0x10]);
    assert_eq!(read(&mut vmar, 0x401100, 0x10), [2; 0x10]);
    assert_eq!(read(&mut vmar, 0x401200, 0x10), [3; 0x10]);
    assert!(read(&mut vmar, 0x401210, 0x403200 - 0x401210).iter().all(|&b| b == 0));
    assert_eq!(read(&mut vmar, 0x405000, 0x10), [4; 0x10]);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

/// The layout Linux 6.18 gave `/tmp/dump x` run as
/// `env -i A=1 HOME=/ setarch -R /tmp/elft/dump x` on the machine these
/// tests were written on (a musl static binary printing its stack): every
/// address below matches what it printed.
#[test]
fn same_addresses_as_a_real_linux_run() {
    let frames = TestFrames::new();
    let argv: [&[u8]; 2] = [b"/tmp/elft/dump", b"x"];
    let mut p = params(&argv, &ENVP);
    p.execfn = b"/tmp/elft/dump";
    p.sysinfo_ehdr = Some(0x7fff_f7ff_d000);
    p.minsigstksz = Some(0x6f0);
    p.hwcap2 = Some(2);
    p.extra_auxv = &[(AT_RSEQ_FEATURE_SIZE, 0x1c), (AT_RSEQ_ALIGN, 0x20)];
    let (mut vmar, r) = load(&frames, &static_exec(), &p);
    let image = r.unwrap();
    assert_eq!(image.stack_pointer, 0x7fff_ffff_ee00);
    let ptrs: Vec<u64> = (1..7).map(|i| word(&mut vmar, 0x7fff_ffff_ee00 + 8 * i)).collect();
    assert_eq!(ptrs, [0x7fff_ffff_efcd, 0x7fff_ffff_efdc, 0, 0x7fff_ffff_efde, 0x7fff_ffff_efe2, 0]);
    let get = |k| image.auxv.iter().find(|e| e.0 == k).unwrap().1;
    assert_eq!(get(AT_EXECFN), 0x7fff_ffff_efe9);
    assert_eq!(get(AT_PLATFORM), 0x7fff_ffff_efb9);
    assert_eq!(get(AT_RANDOM), 0x7fff_ffff_efa9);
    let keys: Vec<u64> = image.auxv.iter().map(|e| e.0).collect();
    assert_eq!(keys, [33, 51, 16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 26, 31, 15, 27, 28, 0]);
    // The auxv ends one byte below the random bytes, as it did there.
    assert_eq!(0x7fff_ffff_ee00 + 8 * (7 + 2 * keys.len()), 0x7fff_ffff_efa8);
    drop(vmar);
    let mut p = params(&ARGV, &ENVP);
    p.extra_auxv = &[(AT_RANDOM, 1)];
    let (vmar, r) = load(&frames, &static_exec(), &p);
    assert_eq!(r, Err(Errno::EINVAL));
    assert_eq!(vmar.mappings().count(), 0);
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}

/// An executable whose file has a page cache (as the kernel's files do).
struct Cached {
    bytes: Vec<u8>,
    source: std::sync::Arc<vm::testing::TestFile>,
}

impl ExecFile for Cached {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.bytes.as_slice().read_at(offset, buf)
    }
    fn page_source(&self) -> Option<std::sync::Arc<dyn vm::PageSource>> {
        Some(self.source.clone())
    }
}

#[test]
fn segments_map_the_page_cache_when_the_file_has_one() {
    use vm::{FrameRefs, PageTable};
    let frames = TestFrames::new();
    let elf = static_exec();
    let file = Cached { bytes: elf.clone(), source: vm::testing::TestFile::new(&frames, &elf) };
    let p = params(&ARGV, &ENVP);
    let mut direct = test_vmar(&frames);
    let img = load_elf(&mut direct, &file, &p).unwrap();
    let (mut copied, r) = load(&frames, &elf, &p);
    assert_eq!(r.unwrap(), img, "the same image either way");
    assert_eq!(maps(&direct), maps(&copied), "the same mappings and names");
    // the same bytes: code, data, bss (zero, also in the data page's tail)
    for (addr, len) in [(0x401000, 0x1800), (0x403100, 0x200), (0x403300, 0x1e00)] {
        assert_eq!(read(&mut direct, addr, len), read(&mut copied, addr, len), "{addr:#x}");
    }
    assert!(read(&mut direct, 0x403300, 0xd00).iter().all(|&b| b == 0));
    // the code page is the file's page, not a copy
    assert!(file.source.cached_pages() > 0);
    let (code_frame, _) = direct.page_table().query(0x401000).unwrap();
    assert!(frames.ref_count(code_frame) >= 2, "shared with the page cache");
    // writing the data stays private to this address space
    cpu_store(&mut direct, 0x403100, &[0xee; 8]).unwrap();
    let mut again = test_vmar(&frames);
    load_elf(&mut again, &file, &p).unwrap();
    assert_eq!(read(&mut again, 0x403100, 0x200), data());
    // writing code is refused as before
    assert_eq!(
        cpu_store(&mut direct, 0x401000, &[1]),
        Err(FaultOutcome::Segv { addr: 0x401000, code: SegvCode::AccErr })
    );
    drop((direct, copied, again, file));
    assert_eq!(frames.allocated(), 0, "every frame released");
}
