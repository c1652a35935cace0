//! The CPU list from ACPI's MADT, parsed by hand: the RSDP (from the boot
//! loader or the BIOS area scan), the RSDT/XSDT, the "APIC" table and its
//! Processor Local APIC (type 0) and Processor Local x2APIC (type 9)
//! entries. Only these few fixed layouts are read (ACPI 6.5 §5.2.5, §5.2.7,
//! §5.2.8, §5.2.12), so no AML and no crate mapping handler are needed.
//!
//! Every read goes through a `read(paddr, len)` closure, so the parser runs
//! on the host against byte arrays:
//!
//! ```
//! use arch_x86_64::acpi::local_apics;
//! let mem = [0u8; 64];
//! let read = |p: u64, n: usize| mem.get(p as usize..p as usize + n);
//! assert!(local_apics(0, read).is_err());
//! ```

use alloc::vec::Vec;

/// One processor the MADT lists as usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalApic {
    /// The ACPI processor UID.
    pub processor_uid: u32,
    /// Its local APIC id (the INIT/SIPI destination).
    pub apic_id: u32,
}

/// Why the CPU list could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcpiError {
    /// No RSDP signature or a bad checksum.
    BadRsdp,
    /// An RSDT/XSDT or MADT that cannot be read or fails its checksum.
    BadTable(&'static str),
    /// No MADT among the root table's entries.
    NoMadt,
}

/// At most this many root-table entries are looked at.
const MAX_ROOT_ENTRIES: usize = 256;

fn checksum_ok(b: &[u8]) -> bool {
    b.iter().fold(0u8, |a, &x| a.wrapping_add(x)) == 0
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// Whether `paddr` holds a valid RSDP ("RSD PTR ", ACPI 1.0 checksum over
/// 20 bytes, the extended one over `length` when revision >= 2).
pub fn rsdp_valid<'m>(paddr: u64, read: &impl Fn(u64, usize) -> Option<&'m [u8]>) -> bool {
    let Some(b) = read(paddr, 20) else { return false };
    if &b[..8] != b"RSD PTR " || !checksum_ok(b) {
        return false;
    }
    if b[15] >= 2 {
        let Some(ext) = read(paddr, 36) else { return false };
        let len = u32_at(ext, 20).unwrap_or(0) as usize;
        if len < 36 {
            return false;
        }
        return read(paddr, len).is_some_and(checksum_ok);
    }
    true
}

/// Looks for the RSDP where BIOS machines keep it: the first KiB of the
/// EBDA (segment at 0x40e) and 0xe0000..0x100000, on 16-byte boundaries.
pub fn scan_bios_rsdp<'m>(read: impl Fn(u64, usize) -> Option<&'m [u8]>) -> Option<u64> {
    let ebda = read(0x40e, 2).map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])) << 4);
    let mut ranges = [(0u64, 0u64); 2];
    if let Some(e) = ebda.filter(|&e| (0x8_0000..0xa_0000).contains(&e)) {
        ranges[0] = (e, e + 1024);
    }
    ranges[1] = (0xe_0000, 0x10_0000);
    ranges.into_iter().flat_map(|(s, e)| (s..e).step_by(16)).find(|&p| rsdp_valid(p, &read))
}

/// Reads a whole system description table at `paddr` with its checksum checked.
fn table<'m>(
    paddr: u64,
    read: &impl Fn(u64, usize) -> Option<&'m [u8]>,
    what: &'static str,
) -> Result<(&'m [u8; 4], &'m [u8]), AcpiError> {
    let head = read(paddr, 36).ok_or(AcpiError::BadTable(what))?;
    let len = u32_at(head, 4).ok_or(AcpiError::BadTable(what))? as usize;
    if len < 36 {
        return Err(AcpiError::BadTable(what));
    }
    let t = read(paddr, len).ok_or(AcpiError::BadTable(what))?;
    if !checksum_ok(t) {
        return Err(AcpiError::BadTable(what));
    }
    let sig: &[u8; 4] = t[..4].try_into().map_err(|_| AcpiError::BadTable(what))?;
    Ok((sig, t))
}

/// The processors the MADT lists as enabled or online-capable, in table
/// order (the boot CPU is usually first, but callers compare APIC ids).
pub fn local_apics<'m>(
    rsdp: u64,
    read: impl Fn(u64, usize) -> Option<&'m [u8]>,
) -> Result<Vec<LocalApic>, AcpiError> {
    if !rsdp_valid(rsdp, &read) {
        return Err(AcpiError::BadRsdp);
    }
    let r = read(rsdp, 20).ok_or(AcpiError::BadRsdp)?;
    let xsdt = if r[15] >= 2 { read(rsdp, 36).and_then(|b| u64_at(b, 24)).unwrap_or(0) } else { 0 };
    let (root, entry_size) = if xsdt != 0 { (xsdt, 8) } else { (u64::from(u32_at(r, 16).unwrap_or(0)), 4) };
    let (_, root_t) = table(root, &read, "RSDT/XSDT")?;
    let entries = &root_t[36..];
    let mut madt = None;
    for e in entries.chunks_exact(entry_size).take(MAX_ROOT_ENTRIES) {
        let p = if entry_size == 8 { u64_at(e, 0) } else { u32_at(e, 0).map(u64::from) };
        let Some(p) = p else { continue };
        if let Ok((b"APIC", t)) = table(p, &read, "MADT") {
            madt = Some(t);
            break;
        }
    }
    let madt = madt.ok_or(AcpiError::NoMadt)?;
    let mut out = Vec::new();
    // header (36) + local APIC address (4) + flags (4), then the entries
    let mut off = 44;
    while off + 2 <= madt.len() {
        let (ty, len) = (madt[off], usize::from(madt[off + 1]));
        if len < 2 || off + len > madt.len() {
            return Err(AcpiError::BadTable("MADT entry"));
        }
        let e = &madt[off..off + len];
        let cpu = match ty {
            0 if len >= 8 => Some((u32::from(e[2]), u32::from(e[3]), u32_at(e, 4).unwrap_or(0))),
            9 if len >= 16 => {
                Some((u32_at(e, 12).unwrap_or(0), u32_at(e, 4).unwrap_or(0), u32_at(e, 8).unwrap_or(0)))
            }
            _ => None,
        };
        // flags bit 0: enabled; bit 1: online capable (may be enabled later)
        if let Some((uid, id, flags)) = cpu
            && flags & 1 != 0
            && !out.iter().any(|c: &LocalApic| c.apic_id == id)
        {
            out.try_reserve(1).map_err(|_| AcpiError::BadTable("MADT too large"))?;
            out.push(LocalApic { processor_uid: uid, apic_id: id });
        }
        off += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn put(mem: &mut [u8], off: usize, bytes: &[u8]) {
        mem[off..off + bytes.len()].copy_from_slice(bytes);
    }

    fn fix_checksum(mem: &mut [u8], start: usize, len: usize, at: usize) {
        mem[at] = 0;
        let s = mem[start..start + len].iter().fold(0u8, |a, &x| a.wrapping_add(x));
        mem[at] = 0u8.wrapping_sub(s);
    }

    fn sdt(mem: &mut [u8], at: usize, sig: &[u8; 4], body: &[u8]) {
        let len = 36 + body.len();
        put(mem, at, sig);
        put(mem, at + 4, &(len as u32).to_le_bytes());
        mem[at + 8] = 1;
        put(mem, at + 36, body);
        fix_checksum(mem, at, len, at + 9);
    }

    /// A machine image: RSDP at 0xe0010 (revision `rev`), root table at
    /// 0x1000, a FACP at 0x1800 and the MADT at 0x2000.
    fn machine(rev: u8, madt_entries: &[u8]) -> Vec<u8> {
        let mut mem = vec![0u8; 0x10_0000];
        sdt(&mut mem, 0x1800, b"FACP", &[0; 8]);
        let mut madt = vec![0u8; 8];
        madt[..4].copy_from_slice(&0xfee0_0000u32.to_le_bytes());
        madt.extend_from_slice(madt_entries);
        sdt(&mut mem, 0x2000, b"APIC", &madt);
        let r = 0xe_0010;
        put(&mut mem, r, b"RSD PTR ");
        mem[r + 15] = rev;
        if rev >= 2 {
            let mut body = vec![];
            body.extend_from_slice(&0x1800u64.to_le_bytes());
            body.extend_from_slice(&0x2000u64.to_le_bytes());
            sdt(&mut mem, 0x1000, b"XSDT", &body);
            put(&mut mem, r + 20, &36u32.to_le_bytes());
            put(&mut mem, r + 24, &0x1000u64.to_le_bytes());
            fix_checksum(&mut mem, r, 20, r + 8);
            fix_checksum(&mut mem, r, 36, r + 32);
        } else {
            let mut body = vec![];
            body.extend_from_slice(&0x1800u32.to_le_bytes());
            body.extend_from_slice(&0x2000u32.to_le_bytes());
            sdt(&mut mem, 0x1000, b"RSDT", &body);
            put(&mut mem, r + 16, &0x1000u32.to_le_bytes());
        }
        fix_checksum(&mut mem, r, 20, r + 8);
        mem
    }

    fn reader<'m>(mem: &'m [u8]) -> impl Fn(u64, usize) -> Option<&'m [u8]> + 'm {
        move |p, n| mem.get(p as usize..(p as usize).checked_add(n)?)
    }

    const LAPIC0: [u8; 8] = [0, 8, 0, 0, 1, 0, 0, 0];
    const LAPIC1: [u8; 8] = [0, 8, 1, 1, 1, 0, 0, 0];
    const LAPIC_OFF: [u8; 8] = [0, 8, 2, 5, 0, 0, 0, 0];
    const IOAPIC: [u8; 12] = [1, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0];

    #[test]
    fn rsdt_lists_enabled_cpus_only() {
        let mut e = vec![];
        for x in [&LAPIC0[..], &IOAPIC, &LAPIC1, &LAPIC_OFF] {
            e.extend_from_slice(x);
        }
        let mem = machine(0, &e);
        let cpus = local_apics(0xe_0010, reader(&mem)).unwrap();
        assert_eq!(
            cpus,
            vec![LocalApic { processor_uid: 0, apic_id: 0 }, LocalApic { processor_uid: 1, apic_id: 1 }]
        );
        assert_eq!(scan_bios_rsdp(reader(&mem)), Some(0xe_0010));
    }

    #[test]
    fn xsdt_and_x2apic_entries() {
        let mut e = LAPIC0.to_vec();
        // x2APIC: type 9, len 16, reserved 2, id 300, flags 1, uid 7
        let mut x2 = vec![9u8, 16, 0, 0];
        x2.extend_from_slice(&300u32.to_le_bytes());
        x2.extend_from_slice(&1u32.to_le_bytes());
        x2.extend_from_slice(&7u32.to_le_bytes());
        e.extend_from_slice(&x2);
        let mem = machine(2, &e);
        let cpus = local_apics(0xe_0010, reader(&mem)).unwrap();
        assert_eq!(cpus[1], LocalApic { processor_uid: 7, apic_id: 300 });
        assert_eq!(cpus.len(), 2);
    }

    #[test]
    fn bad_checksums_and_entries_are_errors() {
        let mut mem = machine(0, &LAPIC0);
        mem[0x2000 + 40] ^= 1; // MADT body changed, checksum not
        assert_eq!(local_apics(0xe_0010, reader(&mem)), Err(AcpiError::NoMadt));
        let mut mem = machine(0, &LAPIC0);
        mem[0xe_0010 + 9] ^= 1;
        assert_eq!(local_apics(0xe_0010, reader(&mem)), Err(AcpiError::BadRsdp));
        assert_eq!(scan_bios_rsdp(reader(&mem)), None);
        // an entry of length 0 would loop forever
        let mem = machine(0, &[0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(local_apics(0xe_0010, reader(&mem)), Err(AcpiError::BadTable("MADT entry")));
    }
}
