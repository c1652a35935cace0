//! The vDSO: the image (arch-x86_64's code in `elf_loader::vdso`'s ELF
//! container, built once at boot into frames of its own) and the vvar page
//! (arch-x86_64's `vdso::vvar`), mapped into every new address space at
//! exec, at the top of user space with the stack below: `[vvar]` (read-only, private, never writable: mprotect to write
//! is EACCES, as Linux's VM_MAYWRITE-less vvar) then `[vdso]` one page above
//! it (r-x, private: mprotect and ptrace may write, which copies the page,
//! as Linux's). Fork keeps both (the child shares the frames).

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
    log::info!(
        "vdso: {} bytes of code, image {} pages; clocks in user space: {}",
        code.len(),
        image.frames.len(),
        arch_x86_64::vdso::clock_in_user_space()
    );
    Some(Vdso { image, vvar })
}

/// Maps `[vvar]` and `[vdso]` into a fresh address space, ending at `top`
/// (the stack goes below them, as Linux 6.1 puts the vDSO above the
/// stack); returns the vDSO's address (`AT_SYSINFO_EHDR`) and where the
/// pair starts, or `None` without a vDSO.
pub fn map(vm: &mut crate::proc::Vm, top: usize) -> Result<Option<(u64, usize)>, Errno> {
    let Some(Some(v)) = VDSO.get() else { return Ok(None) };
    let pages = v.image.frames.len();
    let at = top.checked_sub((pages + 1) * PAGE_SIZE).ok_or(Errno::ENOMEM)?;
    let vvar = MapFile::new(v.vvar.clone(), "[vvar]").never_writable();
    vm.mmap(at, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED, Some(vvar), 0)?;
    let image = MapFile::new(v.image.clone(), "[vdso]");
    let base = at + PAGE_SIZE;
    vm.mmap(base, pages * PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, Some(image), 0)?;
    Ok(Some((base as u64, at)))
}
