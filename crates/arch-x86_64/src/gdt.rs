//! The GDT and TSS: kernel and user segments (in the order SYSRET needs) and
//! IST stacks for the double fault, NMI and machine check.

use core::cell::UnsafeCell;
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, DescriptorFlags, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// IST index (1-based in the IDT, 0-based in the TSS array) of the double-fault stack.
pub const IST_DOUBLE_FAULT: u16 = 1;
/// IST index of the NMI stack.
pub const IST_NMI: u16 = 2;
/// IST index of the machine-check stack.
pub const IST_MACHINE_CHECK: u16 = 3;

const IST_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack(UnsafeCell<[u8; IST_SIZE]>);

// SAFETY: the stacks are only used by the CPU when it takes the matching
// exception; Rust code never forms references to their contents.
unsafe impl Sync for Stack {}

static IST_STACKS: [Stack; 3] = [
    Stack(UnsafeCell::new([0; IST_SIZE])),
    Stack(UnsafeCell::new([0; IST_SIZE])),
    Stack(UnsafeCell::new([0; IST_SIZE])),
];

/// The selectors, laid out as Linux lays out its GDT (so user space sees
/// the same `cs`/`ss` values: 0x33 and 0x2b) and as SYSCALL/SYSRET need.
#[derive(Clone, Copy, Debug)]
pub struct Selectors {
    /// Ring-0 code (0x10).
    pub kernel_code: SegmentSelector,
    /// Ring-0 data (0x18).
    pub kernel_data: SegmentSelector,
    /// Ring-3 32-bit code (0x23), unused but where SYSRET expects it.
    pub user_code32: SegmentSelector,
    /// Ring-3 data (0x2b).
    pub user_data: SegmentSelector,
    /// Ring-3 64-bit code (0x33).
    pub user_code: SegmentSelector,
    /// The TSS (0x40).
    pub tss: SegmentSelector,
}

struct TssCell(UnsafeCell<TaskStateSegment>);

// SAFETY: the TSS is filled once in `init` before it is loaded; afterwards
// only its rsp0 slot is written, by the user-entry code of the one CPU,
// with interrupts off.
unsafe impl Sync for TssCell {}

static TSS: TssCell = TssCell(UnsafeCell::new(TaskStateSegment::new()));
static GDT: Once<(GlobalDescriptorTable<16>, Selectors)> = Once::new();

/// Whether `addr` lies in one of the IST stacks.
pub fn on_ist_stack(addr: u64) -> bool {
    IST_STACKS.iter().any(|s| {
        let lo = s.0.get() as u64;
        (lo..lo + IST_SIZE as u64).contains(&addr)
    })
}

/// Loads the GDT and TSS. Runs once on the boot CPU.
pub(crate) fn init() {
    if GDT.is_completed() {
        return;
    }
    // SAFETY: runs once, before the TSS is loaded; nothing else refers to it.
    let tss = unsafe { &mut *TSS.0.get() };
    for (i, s) in IST_STACKS.iter().enumerate() {
        tss.interrupt_stack_table[i] = VirtAddr::new(s.0.get() as u64 + IST_SIZE as u64);
    }
    let (gdt, sel) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::<16>::empty();
        // 0x08: unused (Linux's 32-bit kernel code slot)
        gdt.append(Descriptor::UserSegment(0));
        let kernel_code = gdt.append(Descriptor::kernel_code_segment());
        let kernel_data = gdt.append(Descriptor::kernel_data_segment());
        let user_code32 = gdt.append(Descriptor::UserSegment(DescriptorFlags::USER_CODE32.bits()));
        let user_data = gdt.append(Descriptor::user_data_segment());
        let user_code = gdt.append(Descriptor::user_code_segment());
        // 0x38: unused (Linux's TLS slots start here; the TSS follows)
        gdt.append(Descriptor::UserSegment(0));
        // SAFETY: the TSS is a static that lives forever.
        let tss = gdt.append(unsafe { Descriptor::tss_segment_unchecked(TSS.0.get()) });
        (gdt, Selectors { kernel_code, kernel_data, user_code32, user_data, user_code, tss })
    });
    gdt.load();
    // SAFETY: the selectors index the GDT just loaded, whose descriptors are
    // valid flat ring-0 segments and an available TSS.
    unsafe {
        CS::set_reg(sel.kernel_code);
        SS::set_reg(sel.kernel_data);
        DS::set_reg(sel.kernel_data);
        ES::set_reg(sel.kernel_data);
        load_tss(sel.tss);
    }
}

/// The segment selectors (after [`init`]).
pub fn selectors() -> Option<&'static Selectors> {
    GDT.get().map(|(_, s)| s)
}

/// The address of TSS.rsp0: the stack the CPU switches to on an interrupt
/// from ring 3 (written by the user-entry code before each entry).
pub(crate) fn tss_rsp0_slot() -> u64 {
    // SAFETY: only the address of the field is taken.
    unsafe { &raw mut (*TSS.0.get()).privilege_stack_table[0] as u64 }
}

/// An application processor's own GDT and TSS (with its own IST stacks),
/// the same layout and selectors as the boot CPU's.
pub(crate) struct ApTables {
    gdt: &'static GlobalDescriptorTable<16>,
    tss: SegmentSelector,
    /// The address of its TSS.rsp0.
    pub(crate) rsp0_slot: u64,
}

/// Builds an AP's tables (on the boot CPU, before the AP starts); they live
/// forever. None when the heap is exhausted (the AP then stays offline).
pub(crate) fn build_ap() -> Option<ApTables> {
    use alloc::vec::Vec;
    fn leak<T>(v: T) -> Option<&'static mut T> {
        let mut b = Vec::new();
        b.try_reserve_exact(1).ok()?;
        b.push(v);
        b.leak().first_mut()
    }
    let mut stacks: Vec<u8> = Vec::new();
    stacks.try_reserve_exact(3 * IST_SIZE + 16).ok()?;
    stacks.resize(3 * IST_SIZE + 16, 0);
    let base = (stacks.leak().as_mut_ptr() as u64).next_multiple_of(16);
    let mut tss = TaskStateSegment::new();
    for i in 0..3 {
        tss.interrupt_stack_table[i] = VirtAddr::new(base + (i as u64 + 1) * IST_SIZE as u64);
    }
    let tss: &'static mut TaskStateSegment = leak(tss)?;
    let rsp0_slot = &raw mut tss.privilege_stack_table[0] as u64;
    let mut gdt = GlobalDescriptorTable::<16>::empty();
    gdt.append(Descriptor::UserSegment(0));
    gdt.append(Descriptor::kernel_code_segment());
    gdt.append(Descriptor::kernel_data_segment());
    gdt.append(Descriptor::UserSegment(DescriptorFlags::USER_CODE32.bits()));
    gdt.append(Descriptor::user_data_segment());
    gdt.append(Descriptor::user_code_segment());
    gdt.append(Descriptor::UserSegment(0));
    let tss_sel = gdt.append(Descriptor::tss_segment(tss));
    let gdt: &'static GlobalDescriptorTable<16> = leak(gdt)?;
    Some(ApTables { gdt, tss: tss_sel, rsp0_slot })
}

impl ApTables {
    /// Loads the tables on the AP that owns them (once).
    pub(crate) fn load(&self) {
        let Some(sel) = selectors() else { return };
        self.gdt.load();
        // SAFETY: as in `init`: the selectors index the GDT just loaded,
        // whose layout is the boot CPU's; the TSS is this CPU's own.
        unsafe {
            CS::set_reg(sel.kernel_code);
            SS::set_reg(sel.kernel_data);
            DS::set_reg(sel.kernel_data);
            ES::set_reg(sel.kernel_data);
            load_tss(self.tss);
        }
    }
}
