use elf_loader::*;
use vm::testing::{TestFrames, test_vmar};

#[test]
fn real_binaries() {
    for path in ["/tmp/elft/t_static", "/tmp/elft/t_glibc", "/sbin/ldconfig", "/tmp/elft/t_pie"] {
        let Ok(elf) = std::fs::read(path) else { continue };
        let frames = TestFrames::new();
        let mut vmar = test_vmar(&frames);
        let argv: [&[u8]; 1] = [b"x"];
        let p = ExecParams::new(path.as_bytes(), &argv, &[], [0; 16]);
        let r = load_elf(&mut vmar, &elf, &p);
        println!("{path}: {:?}", r.as_ref().map(|i| (i.entry, i.phdr, i.brk_base)));
        if let Ok(img) = r {
            for m in vmar.mappings() { println!("  {m}"); }
            let image = ElfImage::parse(&elf).unwrap();
            let off = image.phoff() as usize;
            let mut buf = vec![0u8; img.phnum * 56];
            vmar.read_user(img.phdr, &mut buf).unwrap();
            assert_eq!(buf, elf[off..off + buf.len()]);
        }
        drop(vmar);
        assert_eq!(frames.allocated(), 0);
    }
}
