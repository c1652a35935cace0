//! The vDSO image parses as an ELF shared object and its symbols are found
//! the way glibc and musl find them (DT_HASH, DT_SYMTAB, DT_STRTAB,
//! DT_VERSYM/DT_VERDEF).

use elf_loader::vdso::{BuildError, SONAME, VERSION, build, elf_hash};
use xmas_elf::ElfFile;
use xmas_elf::program::Type as PhType;
use xmas_elf::sections::SectionData;
use xmas_elf::symbol_table::Entry;

const FUNCS: [(&str, usize, usize); 5] = [
    ("clock_gettime", 0, 100),
    ("gettimeofday", 112, 80),
    ("time", 192, 48),
    ("getcpu", 240, 48),
    ("clock_getres", 288, 60),
];

fn image() -> Vec<u8> {
    let code: Vec<u8> = (0..360u32).map(|i| i as u8).collect();
    build(&code, 0x800, &FUNCS).unwrap()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn cstr(b: &[u8], at: usize) -> &[u8] {
    let end = b[at..].iter().position(|&c| c == 0).unwrap();
    &b[at..at + end]
}

/// The dynamic entries as the loaders read them (through PT_DYNAMIC, no
/// section headers).
fn dynamic(img: &[u8]) -> Vec<(u64, u64)> {
    let elf = ElfFile::new(img).unwrap();
    let ph = elf.program_iter().find(|p| p.get_type() == Ok(PhType::Dynamic)).unwrap();
    let mut v = Vec::new();
    let mut at = ph.offset() as usize;
    loop {
        let (tag, val) = (u64_at(img, at), u64_at(img, at + 8));
        v.push((tag, val));
        if tag == 0 {
            return v;
        }
        at += 16;
    }
}

fn dt(d: &[(u64, u64)], tag: u64) -> usize {
    d.iter().find(|e| e.0 == tag).unwrap_or_else(|| panic!("no tag {tag:#x}")).1 as usize
}

/// musl's vdsosym: DT_HASH's bucket chain, then the version by name.
fn lookup(img: &[u8], name: &str, ver: &str) -> Option<(u64, u8)> {
    let d = dynamic(img);
    let (hash, symtab, strtab, versym, verdef) =
        (dt(&d, 4), dt(&d, 6), dt(&d, 5), dt(&d, 0x6fff_fff0), dt(&d, 0x6fff_fffc));
    let nbucket = u32_at(img, hash) as usize;
    let mut i = u32_at(img, hash + 8 + 4 * (elf_hash(name.as_bytes()) as usize % nbucket)) as usize;
    let chain = hash + 8 + 4 * nbucket;
    while i != 0 {
        let s = symtab + 24 * i;
        if cstr(img, strtab + u32_at(img, s) as usize) == name.as_bytes() {
            // the version: walk the verdefs for vd_ndx == versym[i]
            let want = u16_at(img, versym + 2 * i) & 0x7fff;
            let mut vd = verdef;
            loop {
                if u16_at(img, vd + 4) == want {
                    let aux = vd + u32_at(img, vd + 12) as usize;
                    let vname = cstr(img, strtab + u32_at(img, aux) as usize);
                    assert_eq!(u32_at(img, vd + 8), elf_hash(vname));
                    if vname != ver.as_bytes() {
                        return None;
                    }
                    break;
                }
                let next = u32_at(img, vd + 16) as usize;
                if next == 0 {
                    return None;
                }
                vd += next;
            }
            return Some((u64_at(img, s + 8), img[s + 4] >> 4));
        }
        i = u32_at(img, chain + 4 * i) as usize;
    }
    None
}

#[test]
fn the_image_is_an_et_dyn_with_one_load_segment_covering_it() {
    let img = image();
    assert_eq!(img.len(), 4096);
    let elf = ElfFile::new(&img).unwrap();
    assert_eq!(elf.header.pt2.type_().as_type(), xmas_elf::header::Type::SharedObject);
    assert_eq!(elf.header.pt2.machine().as_machine(), xmas_elf::header::Machine::X86_64);
    let loads: Vec<_> = elf.program_iter().filter(|p| p.get_type() == Ok(PhType::Load)).collect();
    assert_eq!(loads.len(), 1);
    assert_eq!((loads[0].offset(), loads[0].virtual_addr()), (0, 0));
    // the section headers are inside the loaded bytes (gdb reads them from memory)
    let shend = elf.header.pt2.sh_offset() + u64::from(elf.header.pt2.sh_count()) * 64;
    assert!(shend <= loads[0].file_size());
    assert_eq!(loads[0].file_size(), loads[0].mem_size());
    assert!(loads[0].flags().is_execute() && loads[0].flags().is_read() && !loads[0].flags().is_write());
    // the code is where the caller put it
    let text = elf.find_section_by_name(".text").unwrap();
    assert_eq!(text.offset(), 0x800);
    assert_eq!(&img[0x800..0x800 + 4], &[0, 1, 2, 3]);
}

#[test]
fn every_symbol_is_found_with_version_linux_2_6_prefixed_global_and_plain_weak() {
    let img = image();
    for (name, off, _) in FUNCS {
        let v = format!("__vdso_{name}");
        assert_eq!(lookup(&img, &v, VERSION), Some((0x800 + off as u64, 1)), "{v}");
        assert_eq!(lookup(&img, name, VERSION), Some((0x800 + off as u64, 2)), "{name}");
        assert_eq!(lookup(&img, name, "LINUX_2.5"), None);
    }
    assert_eq!(lookup(&img, "__vdso_sgx_enter_enclave", VERSION), None);
    assert_eq!(lookup(&img, "", VERSION), None);
}

#[test]
fn the_section_symbol_table_agrees_with_the_dynamic_one() {
    let img = image();
    let elf = ElfFile::new(&img).unwrap();
    let dynsym = elf.find_section_by_name(".dynsym").unwrap();
    let Ok(SectionData::DynSymbolTable64(syms)) = dynsym.get_data(&elf) else { panic!("no dynsym") };
    let names: Vec<String> = syms.iter().skip(1).map(|s| s.get_name(&elf).unwrap().to_string()).collect();
    assert_eq!(names.len(), 10);
    assert!(names.contains(&"__vdso_clock_gettime".to_string()) && names.contains(&"getcpu".to_string()));
    for s in syms.iter().skip(1) {
        assert_eq!(s.get_type(), Ok(xmas_elf::symbol_table::Type::Func));
        assert_eq!(s.shndx(), 7);
    }
    let d = dynamic(&img);
    assert_eq!(cstr(&img, dt(&d, 5) + dt(&d, 14)), SONAME.as_bytes());
    assert_eq!(dt(&d, 0x6fff_fffd), 2);
}

#[test]
fn tables_that_do_not_fit_below_the_code_and_symbols_past_it_are_refused() {
    assert_eq!(build(&[0xc3; 16], 0x100, &[("time", 0, 16)]), Err(BuildError::TablesTooLarge));
    assert_eq!(build(&[0xc3; 16], 0x800, &[("time", 8, 9)]), Err(BuildError::SymbolOutOfRange));
    assert_eq!(build(&[0xc3; 16], 0x800, &[("time", usize::MAX, 2)]), Err(BuildError::SymbolOutOfRange));
}

#[test]
fn elf_hash_matches_the_sysv_definition() {
    assert_eq!(elf_hash(b""), 0);
    assert_eq!(elf_hash(b"LINUX_2.6"), 0x3ae75f6);
    assert_eq!(elf_hash(b"printf"), 0x077905a6);
}
