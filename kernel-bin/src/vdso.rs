//! The vDSO: the image (arch-x86_64's code in `elf_loader::vdso`'s ELF
//! container, built once at boot into frames of its own) and the vvar page
//! (arch-x86_64's `vdso::vvar`), mapped into every new address space at
//! exec, at the top of user space with the stack below: `[vvar]` (read-only, private, never writable: mprotect to write
//! is EACCES, as Linux's VM_MAYWRITE-less vvar) then `[vdso]` one page above
//! it (r-x, private: mprotect and ptrace may write, which copies the page,
//! as Linux's). Fork keeps both (the child shares the frames).
//!
//! A process in a time namespace (other than the initial one) gets a
//! zeroed `[vvar]` instead ([`join_timens`], at exec, at its first thread
//! start after a fork into the namespace, at setns(2)): its flags say the
//! clocks are not computable in user space, so the vDSO makes the system
//! call, which applies the namespace's offsets. The fast path of every
//! other process is unchanged (Linux gives such a process a vvar page
//! whose sequence word sends the vDSO to the offsets instead).

use alloc::sync::Arc;
use alloc::vec::Vec;
use arch_x86_64::mem::vmimpl::KernelFrames;
use linux_abi::Errno;
use spin::Once;
use vm::abi::{MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ};
use vm::{FrameAllocator, FrameRefs, MapFile, PAGE_SIZE};

use crate::exec::ImagePages as Pages;

struct Vdso {
    image: Arc<Pages>,
    vvar: Arc<Pages>,
    /// The `[vvar]` of a process in a time namespace: all zero.
    timens_vvar: Arc<Pages>,
}

static VDSO: Once<Option<Vdso>> = Once::new();

/// Builds the image and the vvar page (after the APs are up and the wall
/// clock read); without memory, processes get no vDSO (the C libraries
/// make the system calls).
pub fn init() {
    VDSO.call_once(|| {
        let r = build();
        if r.is_none() {
            log::warn!("vdso: not built: processes run without one");
        }
        r
    });
}

fn build() -> Option<Vdso> {
    let code = arch_x86_64::vdso::code();
    let syms = arch_x86_64::vdso::symbols();
    let mut list: Vec<(&str, usize, usize)> = Vec::new();
    for (i, &(name, off)) in syms.iter().enumerate() {
        let end = syms.get(i + 1).map_or(code.len(), |s| s.1);
        list.push((name, off, end.saturating_sub(off)));
    }
    let img = match elf_loader::vdso::build(code, arch_x86_64::vdso::TEXT_OFFSET, &list) {
        Ok(img) => img,
        Err(e) => {
            log::error!("vdso: image: {e:?}");
            return None;
        }
    };
    let mut frames = Vec::new();
    for chunk in img.chunks(PAGE_SIZE) {
        let f = KernelFrames.alloc_zeroed().ok()?;
        KernelFrames.write(f, 0, chunk);
        frames.push(f);
    }
    let image = Arc::new(Pages { frames });
    let vvar_frame = arch_x86_64::vdso::vvar()?.frame();
    // the vvar frame is never freed: the reference taken here is never
    // dropped either (VDSO lives for ever)
    KernelFrames.add_ref(vvar_frame);
    let vvar = Arc::new(Pages { frames: alloc::vec![vvar_frame] });
    let timens_vvar = Arc::new(Pages { frames: alloc::vec![KernelFrames.alloc_zeroed().ok()?] });
    log::info!(
        "vdso: {} bytes of code, image {} pages; clocks in user space: {}",
        code.len(),
        image.frames.len(),
        arch_x86_64::vdso::clock_in_user_space()
    );
    Some(Vdso { image, vvar, timens_vvar })
}

/// Maps `[vvar]` and `[vdso]` into a fresh address space, ending at `top`
/// (the stack goes below them, as Linux 6.1 puts the vDSO above the
/// stack); returns the vDSO's address (`AT_SYSINFO_EHDR`) and where the
/// pair starts, or `None` without a vDSO.
/// `timens`: the process is in a time namespace (the zeroed `[vvar]`).
pub fn map(vm: &mut crate::proc::Vm, top: usize, timens: bool) -> Result<Option<(u64, usize)>, Errno> {
    let Some(Some(v)) = VDSO.get() else { return Ok(None) };
    let pages = v.image.frames.len();
    let at = top.checked_sub((pages + 1) * PAGE_SIZE).ok_or(Errno::ENOMEM)?;
    let page = if timens { &v.timens_vvar } else { &v.vvar };
    let vvar = MapFile::new(page.clone(), "[vvar]").never_writable();
    vm.mmap(at, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED, Some(vvar), 0)?;
    let image = MapFile::new(v.image.clone(), "[vdso]");
    let base = at + PAGE_SIZE;
    vm.mmap(base, pages * PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, Some(image), 0)?;
    Ok(Some((base as u64, at)))
}

/// `vdso_join_timens`: gives address space `vm` the `[vvar]` of a process
/// in a time namespace (`timens`) or the live one, where it has a `[vvar]`
/// with the other page (nothing when it was unmapped or is the right one
/// already). A failure to map leaves the old page (the zeroed one is
/// always correct; the live one is, for a process entering the initial
/// namespace, only slower to miss: logged).
pub fn join_timens(vm: &process::seams::SharedVm<crate::proc::Kernel>, timens: bool) {
    let Some(Some(v)) = VDSO.get() else { return };
    let (want, other) = if timens { (&v.timens_vvar, &v.vvar) } else { (&v.vvar, &v.timens_vvar) };
    let mut vm = vm.lock();
    let Some(at) = vm.mappings().find(|m| m.name == "[vvar]").map(|m| m.start) else { return };
    let Some((source, _)) = vm.source_at(at) else { return };
    // (the data pointers: a vtable pointer may differ between units)
    if Arc::as_ptr(&source) as *const u8 != Arc::as_ptr(other) as *const u8 {
        return;
    }
    drop(source);
    let vvar = MapFile::new(want.clone(), "[vvar]").never_writable();
    if let Err(e) = vm.mmap(at, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED, Some(vvar), 0) {
        log::warn!("vdso: [vvar] not replaced for a time namespace: {e:?}");
    }
}
