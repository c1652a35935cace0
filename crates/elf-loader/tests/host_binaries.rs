//! Real executables made by real linkers, when the host has them: Debian's
//! `/sbin/ldconfig` is a glibc static PIE. Skipped where it is missing.

use elf_loader::*;
use vm::Prot;
use vm::testing::{TestFrames, cpu_fetch, test_vmar};

#[test]
fn debian_ldconfig_static_pie_loads() {
    let Ok(elf) = std::fs::read("/sbin/ldconfig") else { return };
    let Ok(image) = ElfImage::parse(&elf[..]) else { return }; // not a static PIE here
    let frames = TestFrames::new();
    let mut vmar = test_vmar(&frames);
    let argv: [&[u8]; 2] = [b"ldconfig", b"-p"];
    let params = ExecParams::new(b"/sbin/ldconfig", &argv, &[], [9; 16]);
    let loaded = image.load(&mut vmar, &elf[..], &params).unwrap();
    // The program headers in memory are the file's.
    let off = image.phoff() as usize;
    let mut phdrs = vec![0u8; loaded.phnum * PHDR_SIZE];
    vmar.read_user(loaded.phdr, &mut phdrs).unwrap();
    assert_eq!(phdrs, elf[off..off + phdrs.len()]);
    // The entry point is in an executable mapping named by the path.
    let m = vmar.mapping_at(loaded.entry).unwrap();
    assert!(m.prot.contains(Prot::EXEC));
    assert_eq!(m.name, "/sbin/ldconfig");
    assert_eq!(cpu_fetch(&mut vmar, loaded.entry), Ok(()));
    // The image ends at the mmap base, where the heap starts.
    assert_eq!(loaded.brk_base, vm::abi::TASK_SIZE - (128 << 20));
    drop(vmar);
    assert_eq!(frames.allocated(), 0);
}
