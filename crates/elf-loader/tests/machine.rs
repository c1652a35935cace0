//! The machine is the caller's: x86_64 by default, aarch64 and riscv64
//! executables (and interpreters) when the caller says so; hand-made
//! headers, loaded on the host's software MMU.

use elf_loader::testing::{EM_AARCH64, EM_RISCV, EM_X86_64, ElfBuilder, PF_R, PF_W, PF_X};
use elf_loader::{ElfImage, ExecParams, Interp, Machine, load_elf};
use linux_abi::Errno;
use vm::testing::{TestFrames, test_vmar};

fn program(machine: u16) -> Vec<u8> {
    ElfBuilder::exec(0x401000)
        .headers_segment(0x400000, PF_R)
        .load(0x401000, PF_R | PF_X, &[0x13, 0, 0, 0], 4)
        .load(0x402000, PF_R | PF_W, b"data", 0x100)
        .set(|b| b.machine = machine)
        .build()
}

fn interp(machine: u16) -> Vec<u8> {
    ElfBuilder::pie(0x1100)
        .headers_segment(0, PF_R)
        .load(0x1000, PF_R | PF_X, &[0; 0x200], 0x200)
        .set(|b| b.machine = machine)
        .build()
}

#[test]
fn machine_numbers_are_linuxs() {
    assert_eq!(Machine::default(), Machine::X86_64);
    for (m, n) in [(Machine::X86_64, EM_X86_64), (Machine::Aarch64, EM_AARCH64), (Machine::Riscv64, EM_RISCV)]
    {
        assert_eq!(m.e_machine(), n);
        assert_eq!(Machine::from_e_machine(n), Some(m));
    }
    assert_eq!((EM_X86_64, EM_AARCH64, EM_RISCV), (62, 183, 243));
    assert_eq!(Machine::from_e_machine(3), None); // i386
    assert_eq!(Machine::from_e_machine(40), None); // 32-bit ARM
}

#[test]
fn each_machine_loads_only_its_own_executables() {
    let all = [(Machine::X86_64, EM_X86_64), (Machine::Aarch64, EM_AARCH64), (Machine::Riscv64, EM_RISCV)];
    for (machine, _) in all {
        for (_, e_machine) in all {
            let elf = program(e_machine);
            let got = ElfImage::parse_for(&elf[..], machine).map(|_| ());
            let want = if machine.e_machine() == e_machine { Ok(()) } else { Err(Errno::ENOEXEC) };
            assert_eq!(got, want, "{machine:?} kernel, e_machine {e_machine}");
        }
        // i386 and 32-bit ARM are nobody's.
        for other in [3, 40] {
            assert_eq!(ElfImage::parse_for(&program(other)[..], machine).unwrap_err(), Errno::ENOEXEC);
        }
    }
    // The default stays x86_64.
    assert!(ElfImage::parse(&program(EM_X86_64)[..]).is_ok());
    assert_eq!(ElfImage::parse(&program(EM_AARCH64)[..]).unwrap_err(), Errno::ENOEXEC);
    assert_eq!(ElfImage::parse(&program(EM_RISCV)[..]).unwrap_err(), Errno::ENOEXEC);
}

#[test]
fn load_elf_follows_exec_params_machine() {
    for (machine, e_machine, platform) in
        [(Machine::Aarch64, EM_AARCH64, Some(&b"aarch64"[..])), (Machine::Riscv64, EM_RISCV, None)]
    {
        let frames = TestFrames::new();
        let mut vmar = test_vmar(&frames);
        let argv: [&[u8]; 2] = [b"prog", b"x"];
        let mut params = ExecParams::new(b"/bin/prog", &argv, &[], [1; 16]);
        // The default refuses it, as a Linux x86_64 kernel does.
        assert_eq!(load_elf(&mut vmar, &program(e_machine)[..], &params).unwrap_err(), Errno::ENOEXEC);
        params.machine = machine;
        params.platform = platform;
        let image = load_elf(&mut vmar, &program(e_machine)[..], &params).unwrap();
        assert_eq!(image.entry, 0x401000);
        assert_eq!(vmar.read_val::<u64>(image.stack_pointer).unwrap(), 2); // argc
        let mut data = [0u8; 4];
        vmar.read_user(0x402000, &mut data).unwrap();
        assert_eq!(&data, b"data");
        // An x86_64 program on this kernel: ENOEXEC.
        assert_eq!(load_elf(&mut vmar, &program(EM_X86_64)[..], &params).unwrap_err(), Errno::ENOEXEC);
        drop(vmar);
        assert_eq!(frames.allocated(), 0);
    }
}

#[test]
fn interpreter_must_match_the_machine() {
    // An aarch64 interpreter: ELIBBAD for x86_64 (the default), fine for aarch64.
    let ld = interp(EM_AARCH64);
    assert_eq!(ElfImage::parse_interp(&ld[..]).unwrap_err(), Errno::ELIBBAD);
    assert_eq!(ElfImage::parse_interp_for(&ld[..], Machine::Riscv64).unwrap_err(), Errno::ELIBBAD);
    let ld_image = ElfImage::parse_interp_for(&ld[..], Machine::Aarch64).unwrap().unwrap();

    let prog = ElfBuilder::exec(0x401000)
        .headers_segment(0x400000, PF_R)
        .load(0x401000, PF_R | PF_X, &[0; 4], 4)
        .interp(b"/lib/ld-linux-aarch64.so.1\0")
        .set(|b| b.machine = EM_AARCH64)
        .build();
    let image = ElfImage::parse_for(&prog[..], Machine::Aarch64).unwrap();
    let frames = TestFrames::new();
    let mut vmar = test_vmar(&frames);
    let argv: [&[u8]; 1] = [b"prog"];
    let mut params = ExecParams::new(b"/bin/prog", &argv, &[], [1; 16]);
    params.machine = Machine::Aarch64;
    let i = Interp::new(&ld_image, &ld, b"/lib/ld-linux-aarch64.so.1");
    let loaded = image.load_with_interp(&mut vmar, &prog[..], Some(i), &params).unwrap();
    assert_eq!(loaded.program_entry, 0x401000);
    assert_ne!(loaded.interp_base, 0);
    assert_eq!(loaded.entry, loaded.interp_base + 0x1100);
}
