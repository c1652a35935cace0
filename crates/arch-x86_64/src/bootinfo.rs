//! What the boot loader tells the kernel, from either boot protocol.
//!
//! QEMU's `-kernel` enters through the PVH note with a `hvm_start_info`; GRUB
//! enters through the Multiboot2 header with a Multiboot2 information block.
//! Both parsers here fill the same [`BootInfo`]: the memory map, the command
//! line and the modules (the initramfs). They read physical memory through a
//! closure, so they run on the host in tests and before the heap exists in
//! the kernel (fixed-size arrays, no allocation).

/// The boot protocol the kernel came in through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Xen/QEMU PVH direct boot (`qemu -kernel`).
    Pvh,
    /// Multiboot2 (GRUB).
    Multiboot2,
}

/// `eax` at a Multiboot2 entry.
pub const MULTIBOOT2_BOOTLOADER_MAGIC: u32 = 0x36d7_6289;
/// `hvm_start_info.magic`.
pub const PVH_START_MAGIC: u32 = 0x336e_c578;

/// A range of physical memory and whether it is usable RAM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryRegion {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// Usable RAM (type 1 in both protocols' maps).
    pub usable: bool,
}

/// A boot module (the initramfs) in physical memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Module {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// Most memory-map entries kept.
pub const MAX_REGIONS: usize = 64;
/// Most modules kept.
pub const MAX_MODULES: usize = 4;
/// Longest command line kept (longer ones are cut).
pub const MAX_CMDLINE: usize = 1024;

/// Errors from the boot-information parsers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    /// The entry magic is neither protocol's.
    UnknownMagic(u32),
    /// A structure lies outside readable memory or is malformed.
    Malformed(&'static str),
}

/// Everything the kernel needs from the boot loader.
#[derive(Clone, Debug)]
pub struct BootInfo {
    /// How we were booted.
    pub protocol: Protocol,
    regions: [MemoryRegion; MAX_REGIONS],
    n_regions: usize,
    modules: [Module; MAX_MODULES],
    n_modules: usize,
    cmdline: [u8; MAX_CMDLINE],
    cmdline_len: usize,
    /// Physical range of the boot information itself (reserved).
    pub info_range: (u64, u64),
    /// Physical address of the ACPI RSDP when the boot loader gave one
    /// (PVH's `rsdp_paddr`, Multiboot2's copy in tag 14 or 15), else 0.
    pub rsdp: u64,
}

impl BootInfo {
    fn empty(protocol: Protocol) -> Self {
        BootInfo {
            protocol,
            regions: [MemoryRegion::default(); MAX_REGIONS],
            n_regions: 0,
            modules: [Module::default(); MAX_MODULES],
            n_modules: 0,
            cmdline: [0; MAX_CMDLINE],
            cmdline_len: 0,
            info_range: (0, 0),
            rsdp: 0,
        }
    }

    /// The memory map as the boot loader gave it.
    pub fn regions(&self) -> &[MemoryRegion] {
        &self.regions[..self.n_regions]
    }

    /// The modules (the first one is the initramfs).
    pub fn modules(&self) -> &[Module] {
        &self.modules[..self.n_modules]
    }

    /// The kernel command line (invalid UTF-8 gives an empty line).
    pub fn cmdline(&self) -> &str {
        core::str::from_utf8(&self.cmdline[..self.cmdline_len]).unwrap_or("")
    }

    fn push_region(&mut self, start: u64, len: u64, usable: bool) {
        if self.n_regions < MAX_REGIONS && len > 0 {
            let end = start.saturating_add(len);
            self.regions[self.n_regions] = MemoryRegion { start, end, usable };
            self.n_regions += 1;
        }
    }

    fn push_module(&mut self, start: u64, end: u64) {
        if self.n_modules < MAX_MODULES && end > start {
            self.modules[self.n_modules] = Module { start, end };
            self.n_modules += 1;
        }
    }

    fn set_cmdline(&mut self, bytes: &[u8]) {
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len()).min(MAX_CMDLINE);
        self.cmdline[..len].copy_from_slice(&bytes[..len]);
        self.cmdline_len = len;
    }

    /// Parses the boot information for the entry `magic` at physical
    /// address `info`, reading memory through `read(paddr, len)`.
    pub fn parse<'m>(
        magic: u32,
        info: u64,
        read: impl Fn(u64, usize) -> Option<&'m [u8]>,
    ) -> Result<BootInfo, BootInfoError> {
        match magic {
            MULTIBOOT2_BOOTLOADER_MAGIC => parse_multiboot2(info, read),
            PVH_START_MAGIC => parse_pvh(info, read),
            other => Err(BootInfoError::UnknownMagic(other)),
        }
    }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

fn c_string<'m>(read: &impl Fn(u64, usize) -> Option<&'m [u8]>, paddr: u64) -> &'m [u8] {
    // Read up to MAX_CMDLINE bytes, fewer when the string sits near the end
    // of readable memory.
    let mut len = MAX_CMDLINE;
    while len > 0 {
        if let Some(b) = read(paddr, len) {
            let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            return &b[..n];
        }
        len /= 2;
    }
    &[]
}

const BAD: BootInfoError = BootInfoError::Malformed("multiboot2 information");

/// Multiboot2: a `total_size`, then 8-byte-aligned tags up to an end tag.
fn parse_multiboot2<'m>(
    info: u64,
    read: impl Fn(u64, usize) -> Option<&'m [u8]>,
) -> Result<BootInfo, BootInfoError> {
    let head = read(info, 8).ok_or(BAD)?;
    let total = u32_at(head, 0).ok_or(BAD)? as usize;
    let mbi = read(info, total).ok_or(BAD)?;
    let mut bi = BootInfo::empty(Protocol::Multiboot2);
    bi.info_range = (info, info + total as u64);
    let mut off = 8usize;
    while off + 8 <= total {
        let ty = u32_at(mbi, off).ok_or(BAD)?;
        let size = u32_at(mbi, off + 4).ok_or(BAD)? as usize;
        if size < 8 || off + size > total {
            return Err(BAD);
        }
        let tag = &mbi[off..off + size];
        match ty {
            0 => break,
            1 => bi.set_cmdline(&tag[8..]),
            3 => {
                let start = u32_at(tag, 8).ok_or(BAD)?;
                let end = u32_at(tag, 12).ok_or(BAD)?;
                bi.push_module(start.into(), end.into());
            }
            6 => {
                let entry_size = u32_at(tag, 8).ok_or(BAD)? as usize;
                if entry_size < 24 {
                    return Err(BAD);
                }
                let mut e = 16;
                while e + entry_size <= size {
                    let base = u64_at(tag, e).ok_or(BAD)?;
                    let len = u64_at(tag, e + 8).ok_or(BAD)?;
                    let kind = u32_at(tag, e + 16).ok_or(BAD)?;
                    bi.push_region(base, len, kind == 1);
                    e += entry_size;
                }
            }
            14 | 15 if size >= 8 + 20 && (bi.rsdp == 0 || ty == 15) => bi.rsdp = info + off as u64 + 8,
            _ => {}
        }
        off += (size + 7) & !7;
    }
    Ok(bi)
}

const BAD_PVH: BootInfoError = BootInfoError::Malformed("hvm_start_info");

/// PVH: `struct hvm_start_info` (xen/include/public/arch-x86/hvm/start_info.h).
fn parse_pvh<'m>(
    info: u64,
    read: impl Fn(u64, usize) -> Option<&'m [u8]>,
) -> Result<BootInfo, BootInfoError> {
    let si = read(info, 56).ok_or(BAD_PVH)?;
    if u32_at(si, 0) != Some(PVH_START_MAGIC) {
        return Err(BAD_PVH);
    }
    let version = u32_at(si, 4).ok_or(BAD_PVH)?;
    let nr_modules = u32_at(si, 12).ok_or(BAD_PVH)? as usize;
    let modlist = u64_at(si, 16).ok_or(BAD_PVH)?;
    let cmdline = u64_at(si, 24).ok_or(BAD_PVH)?;
    let mut bi = BootInfo::empty(Protocol::Pvh);
    bi.info_range = (info, info + 56);
    bi.rsdp = u64_at(si, 32).ok_or(BAD_PVH)?;
    if cmdline != 0 {
        bi.set_cmdline(c_string(&read, cmdline));
    }
    for i in 0..nr_modules.min(MAX_MODULES) {
        let m = read(modlist + 32 * i as u64, 32).ok_or(BAD_PVH)?;
        let start = u64_at(m, 0).ok_or(BAD_PVH)?;
        let size = u64_at(m, 8).ok_or(BAD_PVH)?;
        bi.push_module(start, start.saturating_add(size));
    }
    if version < 1 {
        return Err(BootInfoError::Malformed("hvm_start_info version 0 has no memory map"));
    }
    let memmap = u64_at(si, 40).ok_or(BAD_PVH)?;
    let entries = u32_at(si, 48).ok_or(BAD_PVH)? as usize;
    for i in 0..entries.min(MAX_REGIONS) {
        let e = read(memmap + 24 * i as u64, 24).ok_or(BAD_PVH)?;
        let addr = u64_at(e, 0).ok_or(BAD_PVH)?;
        let size = u64_at(e, 8).ok_or(BAD_PVH)?;
        let kind = u32_at(e, 16).ok_or(BAD_PVH)?;
        bi.push_region(addr, size, kind == 1);
    }
    Ok(bi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn reader<'m>(mem: &'m [u8]) -> impl Fn(u64, usize) -> Option<&'m [u8]> + 'm {
        move |p, l| mem.get(p as usize..(p as usize).checked_add(l)?)
    }

    fn put(mem: &mut [u8], off: usize, bytes: &[u8]) {
        mem[off..off + bytes.len()].copy_from_slice(bytes);
    }

    #[test]
    fn multiboot2_tags() {
        let mut tags: Vec<u8> = Vec::new();
        // cmdline tag
        let cmd = b"log=debug ktest\0";
        tags.extend(1u32.to_le_bytes());
        tags.extend(((8 + cmd.len()) as u32).to_le_bytes());
        tags.extend(cmd);
        while !tags.len().is_multiple_of(8) {
            tags.push(0);
        }
        // module tag
        tags.extend(3u32.to_le_bytes());
        tags.extend(17u32.to_le_bytes());
        tags.extend(0x20_0000u32.to_le_bytes());
        tags.extend(0x20_1000u32.to_le_bytes());
        tags.push(0);
        while !tags.len().is_multiple_of(8) {
            tags.push(0);
        }
        // memory map: 2 entries
        tags.extend(6u32.to_le_bytes());
        tags.extend((16 + 2 * 24u32).to_le_bytes());
        tags.extend(24u32.to_le_bytes());
        tags.extend(0u32.to_le_bytes());
        for (base, len, ty) in [(0u64, 0x9fc00u64, 1u32), (0x10_0000, 0x7ee_0000, 1)] {
            tags.extend(base.to_le_bytes());
            tags.extend(len.to_le_bytes());
            tags.extend(ty.to_le_bytes());
            tags.extend(0u32.to_le_bytes());
        }
        tags.extend(0u32.to_le_bytes());
        tags.extend(8u32.to_le_bytes());
        let mut mbi = Vec::new();
        mbi.extend(((8 + tags.len()) as u32).to_le_bytes());
        mbi.extend(0u32.to_le_bytes());
        mbi.extend(tags);
        let mut mem = vec![0u8; 0x1000];
        put(&mut mem, 0x100, &mbi);

        let bi = BootInfo::parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0x100, reader(&mem)).unwrap();
        assert_eq!(bi.protocol, Protocol::Multiboot2);
        assert_eq!(bi.cmdline(), "log=debug ktest");
        assert_eq!(bi.modules(), &[Module { start: 0x20_0000, end: 0x20_1000 }]);
        assert_eq!(bi.regions().len(), 2);
        assert_eq!(bi.regions()[1], MemoryRegion { start: 0x10_0000, end: 0x7fe_0000, usable: true });
        assert_eq!(bi.info_range, (0x100, 0x100 + mbi.len() as u64));
    }

    #[test]
    fn multiboot2_rejects_overlong_tag() {
        let mut mem = vec![0u8; 64];
        put(&mut mem, 0, &32u32.to_le_bytes());
        put(&mut mem, 8, &1u32.to_le_bytes());
        put(&mut mem, 12, &100u32.to_le_bytes());
        assert!(matches!(
            BootInfo::parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0, reader(&mem)),
            Err(BootInfoError::Malformed(_))
        ));
    }

    #[test]
    fn pvh_start_info() {
        let mut mem = vec![0u8; 0x2000];
        let si = 0x100;
        put(&mut mem, si, &PVH_START_MAGIC.to_le_bytes());
        put(&mut mem, si + 4, &1u32.to_le_bytes());
        put(&mut mem, si + 12, &1u32.to_le_bytes());
        put(&mut mem, si + 16, &0x400u64.to_le_bytes());
        put(&mut mem, si + 24, &0x500u64.to_le_bytes());
        put(&mut mem, si + 32, &0xf_5a40u64.to_le_bytes());
        put(&mut mem, si + 40, &0x600u64.to_le_bytes());
        put(&mut mem, si + 48, &2u32.to_le_bytes());
        put(&mut mem, 0x400, &0x30_0000u64.to_le_bytes());
        put(&mut mem, 0x408, &0x1234u64.to_le_bytes());
        put(&mut mem, 0x500, b"console=ttyS0\0");
        put(&mut mem, 0x600, &0u64.to_le_bytes());
        put(&mut mem, 0x608, &0x9fc00u64.to_le_bytes());
        put(&mut mem, 0x610, &1u32.to_le_bytes());
        put(&mut mem, 0x618, &0xf0000u64.to_le_bytes());
        put(&mut mem, 0x620, &0x10000u64.to_le_bytes());
        put(&mut mem, 0x628, &2u32.to_le_bytes());
        let bi = BootInfo::parse(PVH_START_MAGIC, si as u64, reader(&mem)).unwrap();
        assert_eq!(bi.protocol, Protocol::Pvh);
        assert_eq!(bi.cmdline(), "console=ttyS0");
        assert_eq!(bi.rsdp, 0xf_5a40);
        assert_eq!(bi.modules(), &[Module { start: 0x30_0000, end: 0x30_1234 }]);
        assert_eq!(
            bi.regions(),
            &[
                MemoryRegion { start: 0, end: 0x9fc00, usable: true },
                MemoryRegion { start: 0xf0000, end: 0x100000, usable: false }
            ]
        );
    }

    #[test]
    fn unknown_magic() {
        let mem = [0u8; 8];
        assert_eq!(BootInfo::parse(0x1234, 0, reader(&mem)).err(), Some(BootInfoError::UnknownMagic(0x1234)));
    }
}
