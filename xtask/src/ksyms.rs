//! Writes the kernel's function symbols into its `.ksyms` section, so that
//! fault reports and panics print symbolized backtraces.

use xmas_elf::ElfFile;
use xmas_elf::sections::SectionData;
use xmas_elf::symbol_table::{Entry, Type};

/// Returns the ELF image with the symbol table written in; the symbol count.
pub fn embed(mut image: Vec<u8>) -> Result<(Vec<u8>, usize), String> {
    let (offset, capacity, table, count) = {
        let elf = ElfFile::new(&image).map_err(|e| format!("kernel ELF: {e}"))?;
        let ksyms = elf.find_section_by_name(".ksyms").ok_or("kernel ELF has no .ksyms section")?;
        let symtab = elf.find_section_by_name(".symtab").ok_or("kernel ELF has no .symtab")?;
        let SectionData::SymbolTable64(entries) = symtab.get_data(&elf).map_err(|e| e.to_string())? else {
            return Err("unexpected .symtab format".into());
        };
        let mut names = Vec::new();
        for e in entries {
            if e.get_type() == Ok(Type::Func) && e.value() >= 0xffff_8000_0000_0000 {
                let raw = e.get_name(&elf).unwrap_or("?");
                let name = format!("{:#}", rustc_demangle::demangle(raw));
                names.push((e.value(), e.size().min(u64::from(u32::MAX)) as u32, name));
            }
        }
        names.sort();
        names.dedup_by_key(|s| s.0);
        let refs: Vec<(u64, u32, &str)> = names.iter().map(|(a, s, n)| (*a, *s, n.as_str())).collect();
        let table = arch_x86_64::ksyms::encode(&refs);
        (ksyms.offset() as usize, ksyms.size() as usize, table, refs.len())
    };
    if table.len() > capacity {
        return Err(format!(
            "symbol table needs {} bytes, .ksyms holds {capacity}: raise KSYMS_CAPACITY in crates/arch-x86_64/src/backtrace.rs",
            table.len()
        ));
    }
    image[offset..offset + table.len()].copy_from_slice(&table);
    Ok((image, count))
}
