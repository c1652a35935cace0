//! Malformed input of every shape gives an error, never a panic, and never
//! leaks a frame.

use elf_loader::testing::{ElfBuilder, PF_R, PF_W, PF_X, PT_LOAD, Phdr};
use elf_loader::{ElfImage, ExecParams, load_elf, parse_shebang};
use proptest::prelude::*;
use vm::testing::{TestFrames, test_vmar};

fn valid() -> Vec<u8> {
    ElfBuilder::exec(0x401000)
        .headers_segment(0x400000, PF_R)
        .phdr(0x400040)
        .load(0x401000, PF_R | PF_X, &[0x90; 0x1234], 0x1234)
        .load(0x403100, PF_R | PF_W, &[7; 0x300], 0x5000)
        .gnu_stack(PF_R | PF_W)
        .build()
}

/// Loads `elf` into a fresh address space; checks nothing leaks.
fn try_load(elf: &[u8]) -> bool {
    let frames = TestFrames::new();
    let argv: [&[u8]; 1] = [b"x"];
    let params = ExecParams::new(b"/x", &argv, &[], [0; 16]);
    let mut vmar = test_vmar(&frames);
    let ok = load_elf(&mut vmar, elf, &params).is_ok();
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
    ok
}

#[test]
fn every_truncation_is_refused() {
    let elf = valid();
    assert!(try_load(&elf));
    for len in 0..elf.len() {
        assert!(ElfImage::parse(&elf[..len]).is_err(), "length {len}");
    }
    // Only the headers are needed to parse; loading reads the rest.
    for len in (0..elf.len()).step_by(97) {
        assert!(!try_load(&elf[..len]), "length {len}");
    }
}

#[test]
fn garbage_after_a_good_identification() {
    // A deterministic generator: many headers that pass the magic check.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..3000 {
        let len = (next() % 700) as usize;
        let mut elf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if elf.len() >= 6 {
            elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        }
        if elf.len() >= 20 && next() % 2 == 0 {
            elf[16] = 2 + (next() % 2) as u8; // ET_EXEC or ET_DYN
            elf[17] = 0;
            elf[18] = 62; // x86_64
            elf[19] = 0;
        }
        if elf.len() >= 58 && next() % 2 == 0 {
            elf[32..40].copy_from_slice(&64u64.to_le_bytes());
            elf[54] = 56;
            elf[55] = 0;
            elf[56] = (next() % 8) as u8;
            elf[57] = 0;
        }
        let _ = try_load(&elf);
    }
}

fn arb_phdr() -> impl Strategy<Value = Phdr> {
    let small = prop_oneof![0u64..0x10000, Just(0), Just(u64::MAX), any::<u64>(), 0x40_0000u64..0x41_0000];
    (
        prop_oneof![Just(PT_LOAD), Just(PT_LOAD), 0u32..8, any::<u32>()],
        0u32..8,
        small.clone(),
        small.clone(),
        small.clone(),
        small.clone(),
        prop_oneof![Just(0u64), Just(1), Just(4096), Just(0x20_0000), any::<u64>()],
    )
        .prop_map(|(p_type, p_flags, p_offset, p_vaddr, p_filesz, p_memsz, p_align)| Phdr {
            p_type,
            p_flags,
            p_offset,
            p_vaddr,
            p_filesz,
            p_memsz,
            p_align,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let r = ElfImage::parse(&bytes[..]);
        if bytes.len() < 4 || bytes[..4] != *b"\x7fELF" {
            prop_assert!(r.is_err());
        }
        let _ = try_load(&bytes);
        let _ = parse_shebang(&bytes);
    }

    #[test]
    fn mutated_valid_images_never_panic(
        edits in proptest::collection::vec((0usize..64 + 5 * 56, any::<u8>()), 1..6),
    ) {
        let mut elf = valid();
        for (at, byte) in edits {
            elf[at] = byte;
        }
        let _ = try_load(&elf);
    }

    #[test]
    fn random_program_headers_never_panic(
        phdrs in proptest::collection::vec(arb_phdr(), 1..6),
        pie in any::<bool>(),
        entry in prop_oneof![Just(0x401000u64), any::<u64>()],
        tail in 0usize..0x3000,
    ) {
        let mut b = if pie { ElfBuilder::pie(entry) } else { ElfBuilder::exec(entry) };
        for ph in phdrs {
            b = b.raw(ph);
        }
        let mut elf = b.build();
        elf.resize(elf.len() + tail, 0xcc);
        let _ = try_load(&elf);
    }

    #[test]
    fn shebang_parsing_never_panics(head in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut script = b"#!".to_vec();
        script.extend_from_slice(&head);
        if let Ok(Some(s)) = parse_shebang(&script) {
            prop_assert!(!s.interpreter.iter().any(|&c| c == b' ' || c == b'\t' || c == 0));
            prop_assert!(s.interpreter.len() < 256);
            if let Some(arg) = s.arg {
                prop_assert!(!arg.contains(&0));
                // Trailing blanks go when the line ends before any NUL (a
                // NUL cuts the argument after the trimming, as in Linux).
                if script.iter().take_while(|&&c| c != 0).any(|&c| c == b'\n') {
                    prop_assert!(arg.last().is_none_or(|&c| c != b' ' && c != b'\t'));
                }
            }
        }
    }
}

/// A dynamic program and an interpreter, as gcc and ld.so are linked.
fn dynamic_pair() -> (Vec<u8>, Vec<u8>) {
    let program = ElfBuilder::pie(0x1010)
        .headers_segment(0, PF_R)
        .phdr(0x40)
        .interp(b"/lib/ld.so\0")
        .load(0x1000, PF_R | PF_X, &[0xc3; 0x40], 0x40)
        .load(0x2e00, PF_R | PF_W, &[5; 0x100], 0x1300)
        .build();
    let interp = ElfBuilder::pie(0x1100)
        .headers_segment(0, PF_R)
        .load(0x1000, PF_R | PF_X, &[0x90; 0x200], 0x200)
        .load(0x3000, PF_R | PF_W, &[6; 0x20], 0x2000)
        .build();
    (program, interp)
}

/// Loads `program` through `interp` (both steps of the interpreter's
/// checks); checks nothing leaks. `Err` carries where it stopped.
fn try_load_dynamic(program: &[u8], interp: &[u8]) -> Result<(), &'static str> {
    let frames = TestFrames::new();
    let argv: [&[u8]; 1] = [b"x"];
    let params = ExecParams::new(b"/x", &argv, &[], [0; 16]);
    let r = (|| {
        let image = ElfImage::parse(program).map_err(|_| "parse")?;
        image.interp_path(program).map_err(|_| "interp_path")?;
        let ld = ElfImage::parse_interp(interp).map_err(|_| "parse_interp")?.map_err(|_| "fatal")?;
        let ld_file = interp.to_vec();
        let mut vmar = test_vmar(&frames);
        let i = elf_loader::Interp::new(&ld, &ld_file, b"/lib/ld.so");
        let r = image.load_with_interp(&mut vmar, program, Some(i), &params).map(|_| ()).map_err(|_| "load");
        drop(vmar);
        r
    })();
    assert_eq!(frames.allocated(), 0);
    r
}

#[test]
fn every_truncation_of_an_interpreter_is_refused() {
    let (program, interp) = dynamic_pair();
    assert_eq!(try_load_dynamic(&program, &interp), Ok(()));
    for len in 0..interp.len() {
        assert!(try_load_dynamic(&program, &interp[..len]).is_err(), "length {len}");
    }
}

proptest! {
    #[test]
    fn corrupted_interpreters_never_panic(flips in proptest::collection::vec((0usize..0x1300, any::<u8>()), 1..24)) {
        let (program, mut interp) = dynamic_pair();
        for (at, byte) in flips {
            let at = at % interp.len();
            interp[at] = byte;
        }
        let _ = try_load_dynamic(&program, &interp);
    }

    #[test]
    fn corrupted_dynamic_programs_never_panic(flips in proptest::collection::vec((0usize..0x400, any::<u8>()), 1..24)) {
        let (mut program, interp) = dynamic_pair();
        for (at, byte) in flips {
            let at = at % program.len();
            program[at] = byte;
        }
        let _ = try_load_dynamic(&program, &interp);
    }
}
