//! Signal actions and the table of dispositions (sigaction(2)).

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use bitflags::bitflags;
use linux_abi::{Errno, Result};

use crate::signum::{NSIG, SIGCHLD, SigNum};
use crate::sigset::SigSet;

bitflags! {
    /// `sa_flags` of sigaction(2), with the x86_64 values. Only the flags
    /// Linux accepts (`UAPI_SA_FLAGS`) exist: unknown bits are dropped when
    /// an action is built, as Linux does, so a program can detect
    /// unsupported flags (such as `SA_UNSUPPORTED`, 0x400) by reading the
    /// action back.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct SaFlags: u64 {
        /// SIGCHLD only: no notification when a child stops or continues.
        const NOCLDSTOP = 0x0000_0001;
        /// SIGCHLD only: children do not become zombies (reaped automatically).
        const NOCLDWAIT = 0x0000_0002;
        /// The handler takes three arguments (`siginfo_t`, `ucontext`).
        const SIGINFO = 0x0000_0004;
        /// Expose the tag bits of `si_addr` (arm64; accepted everywhere).
        const EXPOSE_TAGBITS = 0x0000_0800;
        /// `sa_restorer` holds the return trampoline (x86_64 libc always sets it).
        const RESTORER = 0x0400_0000;
        /// Run the handler on the alternate signal stack (sigaltstack(2)).
        const ONSTACK = 0x0800_0000;
        /// Restart system calls interrupted by the handler (signal(7),
        /// "Interruption of system calls and library functions by signal handlers").
        const RESTART = 0x1000_0000;
        /// Do not add the signal to the mask while its handler runs.
        const NODEFER = 0x4000_0000;
        /// Restore the default action on entry to the handler (also `SA_ONESHOT`).
        const RESETHAND = 0x8000_0000;
    }
}

/// What happens when a signal is delivered: `sa_handler` of sigaction(2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SigHandler {
    /// `SIG_DFL` (0): the signal's default action.
    #[default]
    Default,
    /// `SIG_IGN` (1): discard the signal.
    Ignore,
    /// A user-space handler at this address.
    Handler(u64),
}

/// The raw value of `SIG_DFL`.
pub const SIG_DFL: u64 = 0;
/// The raw value of `SIG_IGN`.
pub const SIG_IGN: u64 = 1;

impl SigHandler {
    /// The handler a raw `sa_handler` value means.
    pub const fn from_raw(raw: u64) -> SigHandler {
        match raw {
            SIG_DFL => SigHandler::Default,
            SIG_IGN => SigHandler::Ignore,
            addr => SigHandler::Handler(addr),
        }
    }

    /// The raw `sa_handler` value.
    pub const fn to_raw(self) -> u64 {
        match self {
            SigHandler::Default => SIG_DFL,
            SigHandler::Ignore => SIG_IGN,
            SigHandler::Handler(addr) => addr,
        }
    }
}

/// One signal's action: Linux's `struct sigaction` (handler, flags, mask,
/// restorer). Made by [`SigAction::DEFAULT`], [`SigAction::IGNORE`],
/// [`SigAction::handler`] (with [`SigAction::with_restorer`]) or
/// [`SigAction::from_raw`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct SigAction {
    /// Default, ignore, or a handler address.
    pub handler: SigHandler,
    /// `sa_flags`.
    pub flags: SaFlags,
    /// `sa_mask`: signals added to the mask while the handler runs.
    pub mask: SigSet,
    /// `sa_restorer`: the address the handler returns to (with `SA_RESTORER`).
    pub restorer: u64,
}

impl SigAction {
    /// `SIG_DFL` with no flags: the action of every signal in a new process.
    pub const DEFAULT: SigAction =
        SigAction { handler: SigHandler::Default, flags: SaFlags::empty(), mask: SigSet::EMPTY, restorer: 0 };
    /// `SIG_IGN` with no flags.
    pub const IGNORE: SigAction = SigAction { handler: SigHandler::Ignore, ..SigAction::DEFAULT };

    /// A handler at `entry` with `flags` and `mask`, no restorer.
    pub const fn handler(entry: u64, flags: SaFlags, mask: SigSet) -> SigAction {
        SigAction { handler: SigHandler::Handler(entry), flags, mask, restorer: 0 }
    }

    /// With `sa_restorer` (meaningful with `SA_RESTORER` in the flags).
    pub const fn with_restorer(mut self, restorer: u64) -> SigAction {
        self.restorer = restorer;
        self
    }

    /// The action a user's `struct sigaction` (the kernel's layout:
    /// handler, flags, restorer, mask) describes. Unknown flag bits are
    /// dropped, as Linux does.
    pub const fn from_raw(handler: u64, flags: u64, restorer: u64, mask: u64) -> SigAction {
        SigAction {
            handler: SigHandler::from_raw(handler),
            flags: SaFlags::from_bits_truncate(flags),
            mask: SigSet::from_bits(mask),
            restorer,
        }
    }

    /// The raw fields `(handler, flags, restorer, mask)` for the user's
    /// `struct sigaction`.
    pub const fn to_raw(&self) -> (u64, u64, u64, u64) {
        (self.handler.to_raw(), self.flags.bits(), self.restorer, self.mask.bits())
    }

    /// Whether a signal with this action is discarded (Linux's
    /// `sig_handler_ignored()`): `SIG_IGN`, or `SIG_DFL` for a signal whose
    /// default action is to ignore it.
    pub const fn ignores(&self, sig: SigNum) -> bool {
        match self.handler {
            SigHandler::Ignore => true,
            SigHandler::Default => sig.default_is_ignore(),
            SigHandler::Handler(_) => false,
        }
    }
}

/// What [`SigHandlers::set`] changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct ActionChange {
    /// The previous action (for the `oldact` argument).
    pub old: SigAction,
    /// The new action ignores the signal: the caller must discard every
    /// pending instance of it, from the process queue and from every
    /// thread's queue ([`crate::PendingQueue::discard`]), blocked or not
    /// (sigaction(2) via POSIX: "Setting a signal action to SIG_IGN for a
    /// signal that is pending shall cause the pending signal to be
    /// discarded, whether or not it is blocked"; the same for SIG_DFL when
    /// the default is to ignore).
    pub discard_pending: bool,
}

/// What a child's exit means for its parent, decided by the parent's
/// SIGCHLD disposition ([`SigHandlers::on_child_exit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildExit {
    /// The child is reaped at once and never becomes a waitable zombie
    /// (wait(2): SIGCHLD set to SIG_IGN or SA_NOCLDWAIT).
    pub autoreap: bool,
    /// The signal to send to the parent, if any.
    pub signal: Option<SigNum>,
}

/// The 64 actions of a table, in their own heap block so that tables
/// share them copy-on-write.
type Actions = [SigAction; NSIG];

/// The heap block of actions an `Arc` shares: a `Box` of its own, so that
/// the 2.5 KB are allocated fallibly ([`try_box_actions`]) and the `Arc`'s
/// own allocation stays small.
#[derive(Debug, PartialEq, Eq)]
struct ActionsBox(Box<Actions>);

impl core::ops::Deref for ActionsBox {
    type Target = Actions;
    fn deref(&self) -> &Actions {
        &self.0
    }
}

/// A heap block of actions, allocated fallibly (stable Rust has no
/// `Box::try_new`: a vector reserved for exactly 64 actions becomes the
/// box without another allocation).
fn try_box_actions(from: &Actions) -> Result<Box<Actions>> {
    let mut v: Vec<SigAction> = Vec::new();
    v.try_reserve_exact(NSIG).map_err(|_| Errno::ENOMEM)?;
    v.extend_from_slice(from);
    v.into_boxed_slice().try_into().map_err(|_| Errno::ENOMEM)
}

/// The action of every signal: Linux's `sighand_struct` without its lock.
///
/// The 64 actions (2.5 KB) are shared copy-on-write: `Clone` (what fork
/// does through [`SharedSigHandlers::for_clone`]) takes another reference,
/// and the first change on either side copies them ([`set`](Self::set)
/// fails with `ENOMEM` if that copy cannot be allocated). Reads and
/// changes that change nothing (an action set to what it is, exec's reset
/// of a table with no caught signal) never copy. A table holding a
/// `SA_RESETHAND` handler is copied at once by
/// [`SharedSigHandlers::for_clone`] instead, so that the reset on
/// delivery ([`take_for_delivery`](Self::take_for_delivery)) never
/// allocates.
#[derive(Clone, Debug)]
pub struct SigHandlers {
    actions: Arc<ActionsBox>,
    /// Signals whose action exec would change: a handler, or any flag,
    /// mask or restorer (bit `n - 1` for signal `n`).
    unreset: u64,
    /// Signals with a handler and `SA_RESETHAND`.
    resethand: u64,
    /// Signals a forced signal set to `SIG_DFL` while the shared actions
    /// could not be copied ([`force_default`](Self::force_default)): they
    /// read as `SIG_DFL`, and the next copy writes them in.
    forced: u64,
}

impl PartialEq for SigHandlers {
    fn eq(&self, other: &SigHandlers) -> bool {
        if self.forced != 0 || other.forced != 0 {
            return (0..NSIG).all(|i| self.at(i) == other.at(i));
        }
        Arc::ptr_eq(&self.actions, &other.actions) || self.actions == other.actions
    }
}

impl Eq for SigHandlers {}

impl Default for SigHandlers {
    fn default() -> SigHandlers {
        SigHandlers::new()
    }
}

impl SigHandlers {
    /// Every signal at `SIG_DFL` (a table of its own: allocates 2.5 KB,
    /// infallibly; init's table and tests).
    pub fn new() -> SigHandlers {
        SigHandlers {
            actions: Arc::new(ActionsBox(Box::new([SigAction::DEFAULT; NSIG]))),
            unreset: 0,
            resethand: 0,
            forced: 0,
        }
    }

    /// The action in slot `i`, a forced `SIG_DFL` included.
    fn at(&self, i: usize) -> SigAction {
        if self.forced & (1 << i) != 0 { SigAction::DEFAULT } else { self.actions[i] }
    }

    fn index(sig: SigNum) -> usize {
        // SigNum is 1..=64 by construction, so this is 0..=63.
        (sig.get() as usize - 1) % NSIG
    }

    /// Whether exec would change `action` (anything but a plain `SIG_DFL`
    /// or `SIG_IGN`).
    fn needs_reset(action: &SigAction) -> bool {
        *action != SigAction::DEFAULT && *action != SigAction::IGNORE
    }

    /// Whether another table shares the actions (the next change copies).
    pub fn is_copy_on_write(&self) -> bool {
        Arc::strong_count(&self.actions) > 1
    }

    /// The actions to change: copied first if another table shares them
    /// (`ENOMEM` if the copy cannot be allocated).
    fn make_mut(&mut self) -> Result<&mut Actions> {
        if Arc::get_mut(&mut self.actions).is_none() {
            self.actions = Arc::new(ActionsBox(try_box_actions(&self.actions)?));
        }
        // Just checked or just made: the only reference.
        let actions = Arc::get_mut(&mut self.actions).map(|b| &mut *b.0).ok_or(Errno::ENOMEM)?;
        let mut forced = core::mem::take(&mut self.forced);
        while forced != 0 {
            actions[forced.trailing_zeros() as usize] = SigAction::DEFAULT;
            forced &= forced - 1;
        }
        Ok(actions)
    }

    /// Writes `action` at `sig`'s slot and keeps the summaries.
    fn store(&mut self, sig: SigNum, action: SigAction) -> Result<SigAction> {
        let i = Self::index(sig);
        let old = self.at(i);
        if old != action {
            self.make_mut()?[i] = action;
            let bit = 1u64 << i;
            self.unreset = (self.unreset & !bit) | if Self::needs_reset(&action) { bit } else { 0 };
            let oneshot =
                matches!(action.handler, SigHandler::Handler(_)) && action.flags.contains(SaFlags::RESETHAND);
            self.resethand = (self.resethand & !bit) | if oneshot { bit } else { 0 };
        }
        Ok(old)
    }

    /// The action of `sig` (the `oldact` of sigaction(2); SIGKILL and
    /// SIGSTOP may be queried).
    pub fn get(&self, sig: SigNum) -> SigAction {
        self.at(Self::index(sig))
    }

    /// sigaction(2) with a new action: `EINVAL` for SIGKILL and SIGSTOP
    /// ("An attempt was made to change the action for SIGKILL or SIGSTOP,
    /// which cannot be caught or ignored"); SIGKILL and SIGSTOP are removed
    /// silently from the action's mask. `ENOMEM` if the table was shared
    /// copy-on-write and its copy cannot be allocated (nothing changed).
    pub fn set(&mut self, sig: SigNum, mut action: SigAction) -> Result<ActionChange> {
        if sig.is_kernel_only() {
            return Err(Errno::EINVAL);
        }
        action.mask = action.mask.blockable();
        let old = self.store(sig, action)?;
        Ok(ActionChange { old, discard_pending: action.ignores(sig) })
    }

    /// Sets `sig` back to `SIG_DFL` for a signal the kernel forces
    /// (Linux's `force_sig_info_to_task()`; SIGKILL and SIGSTOP too). It
    /// cannot fail and does not allocate when it cannot: if the shared
    /// actions cannot be copied, `sig` is marked to read as `SIG_DFL`
    /// until the next change copies them.
    pub fn force_default(&mut self, sig: SigNum) {
        if self.store(sig, SigAction::DEFAULT).is_err() {
            let bit = 1u64 << Self::index(sig);
            self.forced |= bit;
            self.unreset &= !bit;
            self.resethand &= !bit;
        }
    }

    /// Whether `sig` is discarded: `SIG_IGN`, or `SIG_DFL` with a default
    /// action of ignore.
    pub fn is_ignored(&self, sig: SigNum) -> bool {
        self.get(sig).ignores(sig)
    }

    /// The action to run for a signal being delivered. A handler installed
    /// with `SA_RESETHAND` is reset to `SIG_DFL` on the way (sigaction(2):
    /// "Restore the signal action to the default upon entry to the signal
    /// handler"); as in Linux, its flags and mask stay. The returned action
    /// is the one before the reset. A table with such a handler is never
    /// shared copy-on-write by [`SharedSigHandlers`], so the reset does not
    /// allocate.
    pub fn take_for_delivery(&mut self, sig: SigNum) -> SigAction {
        let action = self.get(sig);
        if matches!(action.handler, SigHandler::Handler(_)) && action.flags.contains(SaFlags::RESETHAND) {
            let reset = SigAction { handler: SigHandler::Default, ..action };
            if self.store(sig, reset).is_err() {
                // Only a table the caller cloned itself can be shared here.
                self.actions = Arc::new(ActionsBox(Box::new(**self.actions)));
                let _ = self.store(sig, reset);
            }
        }
        action
    }

    /// What execve(2) and `CLONE_CLEAR_SIGHAND` do (Linux's
    /// `flush_signal_handlers(t, 0)`): every caught signal goes back to
    /// `SIG_DFL`, ignored signals stay ignored, and every flag, mask and
    /// restorer is cleared (execve(2): "the dispositions of any signals that
    /// are being caught are reset to the default"; clone(2):
    /// CLONE_CLEAR_SIGHAND "signals that are set to be ignored are not
    /// reset"). A table with nothing to reset is not touched (no copy);
    /// `ENOMEM` if the copy of a shared table cannot be allocated.
    pub fn reset_handlers(&mut self) -> Result<()> {
        if self.unreset == 0 {
            return Ok(());
        }
        let actions = self.make_mut()?;
        for action in actions.iter_mut() {
            let handler = match action.handler {
                SigHandler::Ignore => SigHandler::Ignore,
                _ => SigHandler::Default,
            };
            *action = SigAction { handler, ..SigAction::DEFAULT };
        }
        self.unreset = 0;
        self.resethand = 0;
        Ok(())
    }

    /// Whether this parent's children are reaped automatically when they
    /// exit: SIGCHLD is `SIG_IGN` or has `SA_NOCLDWAIT` (wait(2), NOTES;
    /// sigaction(2), SA_NOCLDWAIT). wait(2) then blocks until every child
    /// is gone and fails with `ECHILD`.
    pub fn children_autoreap(&self) -> bool {
        let action = self.get(SIGCHLD);
        action.handler == SigHandler::Ignore || action.flags.contains(SaFlags::NOCLDWAIT)
    }

    /// Whether the parent gets SIGCHLD when a child stops or continues
    /// (sigaction(2), SA_NOCLDSTOP).
    pub fn notify_child_stop(&self) -> bool {
        !self.get(SIGCHLD).flags.contains(SaFlags::NOCLDSTOP)
    }

    /// What happens when an untraced child with this `exit_signal` exits
    /// (Linux's `do_notify_parent()`): with SIGCHLD as the exit signal, a
    /// parent that ignores SIGCHLD autoreaps and gets no signal, one with
    /// `SA_NOCLDWAIT` autoreaps and still gets SIGCHLD; any other exit
    /// signal is sent and the child waits as a zombie.
    pub fn on_child_exit(&self, exit_signal: Option<SigNum>) -> ChildExit {
        if exit_signal == Some(SIGCHLD) && self.children_autoreap() {
            let ignored = self.get(SIGCHLD).handler == SigHandler::Ignore;
            ChildExit { autoreap: true, signal: if ignored { None } else { Some(SIGCHLD) } }
        } else {
            ChildExit { autoreap: false, signal: exit_signal }
        }
    }
}

/// A handle to a [`SigHandlers`] table that threads and `CLONE_SIGHAND`
/// children share (Linux's `sighand_struct`): [`share`](Self::share) is
/// another reference to the same table, for good;
/// [`private_copy`](Self::private_copy) a table of its own whose actions
/// are shared copy-on-write (fork without `CLONE_SIGHAND`: a change on
/// either side is not seen by the other, as with Linux's copy in
/// `copy_sighand()`). The lock is a spin lock; take it before any pending
/// queue's lock if both are held (Linux holds `siglock` for both).
#[derive(Debug, Default)]
pub struct SharedSigHandlers(Arc<spin::Mutex<SigHandlers>>);

impl SharedSigHandlers {
    /// A new table with every signal at `SIG_DFL`, shared with nobody.
    pub fn new() -> SharedSigHandlers {
        SharedSigHandlers::from_table(SigHandlers::new())
    }

    /// A handle to a new table holding `table`.
    pub fn from_table(table: SigHandlers) -> SharedSigHandlers {
        SharedSigHandlers(Arc::new(spin::Mutex::new(table)))
    }

    /// Another handle to the same table (`CLONE_SIGHAND`).
    pub fn share(&self) -> SharedSigHandlers {
        SharedSigHandlers(Arc::clone(&self.0))
    }

    /// Whether two handles refer to the same table.
    pub fn ptr_eq(a: &SharedSigHandlers, b: &SharedSigHandlers) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// A handle to a table of its own with the same actions (fork without
    /// `CLONE_SIGHAND`): they are shared copy-on-write, except that a
    /// table holding a `SA_RESETHAND` handler is copied now (`ENOMEM` if
    /// that copy cannot be allocated), so that delivery's reset never has
    /// to allocate.
    pub fn private_copy(&self) -> Result<SharedSigHandlers> {
        let mut table = self.lock().clone();
        if table.resethand != 0 {
            table.actions = Arc::new(ActionsBox(try_box_actions(&table.actions)?));
        }
        Ok(SharedSigHandlers::from_table(table))
    }

    /// The handlers for a child of clone(2)/clone3(2): shared with
    /// `CLONE_SIGHAND`, else a table of its own ([`private_copy`](Self::private_copy)),
    /// and with `CLONE_CLEAR_SIGHAND` reset as by
    /// [`SigHandlers::reset_handlers`]. Both flags together are `EINVAL`
    /// (clone(2): "CLONE_CLEAR_SIGHAND was specified in flags together
    /// with CLONE_SIGHAND"); `ENOMEM` if a copy cannot be allocated.
    pub fn for_clone(&self, clone_sighand: bool, clear_sighand: bool) -> Result<SharedSigHandlers> {
        match (clone_sighand, clear_sighand) {
            (true, true) => Err(Errno::EINVAL),
            (true, false) => Ok(self.share()),
            (false, false) => self.private_copy(),
            (false, true) => {
                let mut table = self.lock().clone();
                table.reset_handlers()?;
                Ok(SharedSigHandlers::from_table(table))
            }
        }
    }

    /// The handlers after execve(2): the process gets a table of its own
    /// (Linux's `unshare_sighand()` in `de_thread()`: a table still shared
    /// with another process through `CLONE_SIGHAND` is not kept) whose
    /// handlers are reset as by [`SigHandlers::reset_handlers`]. Call it
    /// once the other threads of the process have dropped their handles;
    /// `ENOMEM` (nothing changed) if the reset needs a copy that cannot be
    /// allocated.
    pub fn for_exec(&self) -> Result<SharedSigHandlers> {
        if self.is_shared() {
            let mut table = self.lock().clone();
            table.reset_handlers()?;
            Ok(SharedSigHandlers::from_table(table))
        } else {
            self.lock().reset_handlers()?;
            Ok(self.share())
        }
    }

    /// Locks the table.
    pub fn lock(&self) -> spin::MutexGuard<'_, SigHandlers> {
        self.0.lock()
    }

    /// Whether another handle refers to the same table.
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }

    /// Whether both handles refer to the same table.
    pub fn same_table(&self, other: &SharedSigHandlers) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signum::*;

    const H: u64 = 0x40_1000;

    #[test]
    fn sigaction_on_kill_or_stop_is_einval() {
        // sigaction(2) ERRORS: EINVAL "An attempt was made to change the
        // action for SIGKILL or SIGSTOP".
        let mut t = SigHandlers::new();
        assert_eq!(t.set(SIGKILL, SigAction::IGNORE), Err(Errno::EINVAL));
        assert_eq!(
            t.set(SIGSTOP, SigAction::handler(H, SaFlags::empty(), SigSet::EMPTY)),
            Err(Errno::EINVAL)
        );
        assert_eq!(t.set(SIGKILL, SigAction::DEFAULT), Err(Errno::EINVAL));
        // Querying them is allowed (kernel/signal.c do_sigaction: only `act` is refused).
        assert_eq!(t.get(SIGKILL), SigAction::DEFAULT);
    }

    #[test]
    fn handler_mask_loses_kill_and_stop() {
        // kernel/signal.c do_sigaction: sigdelsetmask(&act->sa.sa_mask, sigmask(SIGKILL) | sigmask(SIGSTOP)).
        let mut t = SigHandlers::new();
        let act = SigAction::handler(H, SaFlags::SIGINFO, SigSet::FULL);
        let change = t.set(SIGUSR1, act).unwrap();
        assert_eq!(change.old, SigAction::DEFAULT);
        assert!(!change.discard_pending);
        assert_eq!(t.get(SIGUSR1).mask, SigSet::FULL.blockable());
        assert_eq!(t.get(SIGUSR1).flags, SaFlags::SIGINFO);
    }

    #[test]
    fn unknown_flags_are_dropped() {
        // sigaction(2) NOTES, "Dynamically probing for flag bit support":
        // the kernel clears SA_UNSUPPORTED (0x400) and other unknown bits.
        let act = SigAction::from_raw(H, 0x400 | 0x4 | 0x0400_0000 | (1 << 40), 0x40_2000, 1 << 9);
        assert_eq!(act.flags, SaFlags::SIGINFO | SaFlags::RESTORER);
        assert_eq!(act.to_raw(), (H, 0x0400_0004, 0x40_2000, 1 << 9));
        assert_eq!(SigAction::from_raw(0, 0, 0, 0), SigAction::DEFAULT);
        assert_eq!(SigAction::from_raw(1, 0, 0, 0), SigAction::IGNORE);
    }

    #[test]
    fn flag_values_are_x86_64() {
        // arch/x86/include/uapi/asm/signal.h, include/uapi/asm-generic/signal-defs.h.
        assert_eq!(SaFlags::NOCLDSTOP.bits(), 1);
        assert_eq!(SaFlags::NOCLDWAIT.bits(), 2);
        assert_eq!(SaFlags::SIGINFO.bits(), 4);
        assert_eq!(SaFlags::ONSTACK.bits(), 0x0800_0000);
        assert_eq!(SaFlags::RESTART.bits(), 0x1000_0000);
        assert_eq!(SaFlags::NODEFER.bits(), 0x4000_0000);
        assert_eq!(SaFlags::RESETHAND.bits(), 0x8000_0000);
        assert_eq!(SaFlags::RESTORER.bits(), 0x0400_0000);
    }

    #[test]
    fn ignoring_asks_to_discard_pending() {
        // sigaction(2) / POSIX 3.3.1.3: SIG_IGN discards pending instances;
        // so does SIG_DFL for a signal whose default action is ignore.
        let mut t = SigHandlers::new();
        assert!(t.set(SIGUSR1, SigAction::IGNORE).unwrap().discard_pending);
        assert!(t.set(SIGCHLD, SigAction::DEFAULT).unwrap().discard_pending);
        assert!(t.set(SIGWINCH, SigAction::DEFAULT).unwrap().discard_pending);
        assert!(!t.set(SIGTERM, SigAction::DEFAULT).unwrap().discard_pending);
        assert!(
            !t.set(SIGCHLD, SigAction::handler(H, SaFlags::empty(), SigSet::EMPTY)).unwrap().discard_pending
        );
        assert!(t.is_ignored(SIGUSR1));
        assert!(t.is_ignored(SIGURG));
        assert!(!t.is_ignored(SIGCHLD));
    }

    #[test]
    fn resethand_resets_only_the_handler() {
        // sigaction(2) SA_RESETHAND; kernel/signal.c get_signal(): "if
        // (ka->sa.sa_flags & SA_ONESHOT) ka->sa.sa_handler = SIG_DFL".
        let mut t = SigHandlers::new();
        let act = SigAction::handler(H, SaFlags::RESETHAND | SaFlags::SIGINFO, SigSet::single(SIGINT));
        let _ = t.set(SIGUSR2, act).unwrap();
        assert_eq!(t.take_for_delivery(SIGUSR2), act);
        let after = t.get(SIGUSR2);
        assert_eq!(after.handler, SigHandler::Default);
        assert_eq!(after.flags, act.flags);
        assert_eq!(after.mask, act.mask);
        // Without SA_RESETHAND the handler stays.
        let keep = SigAction::handler(H, SaFlags::empty(), SigSet::EMPTY);
        let _ = t.set(SIGUSR1, keep).unwrap();
        assert_eq!(t.take_for_delivery(SIGUSR1), keep);
        assert_eq!(t.get(SIGUSR1), keep);
    }

    #[test]
    fn exec_resets_handlers_and_keeps_ignored() {
        // execve(2): "The dispositions of any signals that are being caught
        // are reset to the default"; signal(7): "ignored signals remain ignored".
        let shared = SharedSigHandlers::new();
        {
            let mut t = shared.lock();
            let _ = t.set(SIGINT, SigAction::handler(H, SaFlags::RESTART, SigSet::single(SIGQUIT))).unwrap();
            let _ = t.set(SIGPIPE, SigAction { flags: SaFlags::RESTART, ..SigAction::IGNORE }).unwrap();
        }
        let after = shared.for_exec().unwrap();
        assert!(after.same_table(&shared), "an unshared table is reset in place");
        let t = after.lock();
        assert_eq!(t.get(SIGINT), SigAction::DEFAULT);
        assert_eq!(t.get(SIGPIPE), SigAction::IGNORE);
    }

    #[test]
    fn exec_unshares_a_table_shared_with_another_process() {
        // Linux fs/exec.c de_thread(): unshare_sighand() when the count is not 1.
        let a = SharedSigHandlers::new();
        let _ = a.lock().set(SIGINT, SigAction::handler(H, SaFlags::empty(), SigSet::EMPTY)).unwrap();
        let b = a.share();
        let b = b.for_exec().unwrap();
        assert!(!b.same_table(&a));
        assert_eq!(b.lock().get(SIGINT), SigAction::DEFAULT);
        assert_eq!(a.lock().get(SIGINT).handler, SigHandler::Handler(H));
    }

    #[test]
    fn clone_sighand_shares_and_fork_copies() {
        // clone(2) CLONE_SIGHAND: "If the calling process or child process
        // calls sigaction(2) to change the behavior associated with a
        // signal, the behavior is changed in the other process as well."
        let parent = SharedSigHandlers::new();
        let thread = parent.for_clone(true, false).unwrap();
        let forked = parent.for_clone(false, false).unwrap();
        let _ = thread.lock().set(SIGUSR1, SigAction::IGNORE).unwrap();
        assert!(parent.lock().is_ignored(SIGUSR1));
        assert!(!forked.lock().is_ignored(SIGUSR1));
        assert!(parent.is_shared() && !forked.is_shared());
    }

    #[test]
    fn clone_clear_sighand() {
        // clone(2) CLONE_CLEAR_SIGHAND: handlers reset to default, ignored
        // stay ignored; EINVAL together with CLONE_SIGHAND.
        let parent = SharedSigHandlers::new();
        let _ = parent.lock().set(SIGINT, SigAction::handler(H, SaFlags::empty(), SigSet::EMPTY)).unwrap();
        let _ = parent.lock().set(SIGHUP, SigAction::IGNORE).unwrap();
        let child = parent.for_clone(false, true).unwrap();
        assert_eq!(child.lock().get(SIGINT), SigAction::DEFAULT);
        assert_eq!(child.lock().get(SIGHUP), SigAction::IGNORE);
        assert_eq!(parent.lock().get(SIGINT).handler, SigHandler::Handler(H));
        assert!(parent.for_clone(true, true).is_err());
    }

    #[test]
    fn sigchld_disposition_and_reaping() {
        // wait(2) NOTES / sigaction(2) SA_NOCLDWAIT; kernel/signal.c do_notify_parent().
        let mut t = SigHandlers::new();
        assert!(!t.children_autoreap());
        assert_eq!(t.on_child_exit(Some(SIGCHLD)), ChildExit { autoreap: false, signal: Some(SIGCHLD) });
        let _ = t.set(SIGCHLD, SigAction::IGNORE).unwrap();
        assert!(t.children_autoreap());
        assert_eq!(t.on_child_exit(Some(SIGCHLD)), ChildExit { autoreap: true, signal: None });
        // Another exit signal (clone(2)) does not autoreap.
        assert_eq!(t.on_child_exit(Some(SIGUSR1)), ChildExit { autoreap: false, signal: Some(SIGUSR1) });
        assert_eq!(t.on_child_exit(None), ChildExit { autoreap: false, signal: None });
        let act = SigAction::handler(H, SaFlags::NOCLDWAIT, SigSet::EMPTY);
        let _ = t.set(SIGCHLD, act).unwrap();
        assert!(t.children_autoreap());
        assert_eq!(t.on_child_exit(Some(SIGCHLD)), ChildExit { autoreap: true, signal: Some(SIGCHLD) });
        // SIG_DFL with SA_NOCLDWAIT also autoreaps.
        let _ = t.set(SIGCHLD, SigAction { flags: SaFlags::NOCLDWAIT, ..SigAction::DEFAULT }).unwrap();
        assert!(t.children_autoreap());
        assert!(t.notify_child_stop());
        let _ = t.set(SIGCHLD, SigAction { flags: SaFlags::NOCLDSTOP, ..SigAction::DEFAULT }).unwrap();
        assert!(!t.notify_child_stop());
        assert!(!t.children_autoreap());
    }

    #[test]
    fn fork_shares_actions_until_one_side_changes_them() {
        // Linux copies the sighand at fork (copy_sighand()); sharing the
        // actions copy-on-write must look the same: a sigaction in the
        // child is not seen by the parent, nor the parent's by the child.
        let parent = SharedSigHandlers::new();
        let _ = parent.lock().set(SIGINT, SigAction::handler(H, SaFlags::RESTART, SigSet::EMPTY)).unwrap();
        let child = parent.for_clone(false, false).unwrap();
        assert!(!child.same_table(&parent) && !parent.is_shared());
        assert!(parent.lock().is_copy_on_write() && child.lock().is_copy_on_write(), "no copy at fork");
        assert_eq!(*child.lock(), *parent.lock());
        // Setting what is already there copies nothing.
        let same = SigAction::handler(H, SaFlags::RESTART, SigSet::EMPTY);
        assert_eq!(child.lock().set(SIGINT, same).unwrap().old, same);
        assert!(child.lock().is_copy_on_write());
        // The child's change.
        let change = child.lock().set(SIGINT, SigAction::IGNORE).unwrap();
        assert_eq!(change.old, same);
        assert!(!child.lock().is_copy_on_write() && !parent.lock().is_copy_on_write());
        assert_eq!(parent.lock().get(SIGINT), same);
        assert_eq!(child.lock().get(SIGINT), SigAction::IGNORE);
        // A grandchild of the child, then the parent's change.
        let grandchild = child.for_clone(false, false).unwrap();
        let _ = parent.lock().set(SIGTERM, SigAction::IGNORE).unwrap();
        assert_eq!(child.lock().get(SIGTERM), SigAction::DEFAULT);
        assert_eq!(grandchild.lock().get(SIGTERM), SigAction::DEFAULT);
        assert_eq!(grandchild.lock().get(SIGINT), SigAction::IGNORE);
        let _ = grandchild.lock().set(SIGINT, SigAction::DEFAULT).unwrap();
        assert_eq!(child.lock().get(SIGINT), SigAction::IGNORE);
    }

    #[test]
    fn vfork_child_sigaction_before_exec_leaves_the_parent_alone() {
        // vfork(2) shares memory, not the actions: the child's sigaction
        // and its exec's reset change only its own table.
        let parent = SharedSigHandlers::new();
        let act = SigAction::handler(H, SaFlags::SIGINFO, SigSet::single(SIGHUP)).with_restorer(0x40_2000);
        let _ = parent.lock().set(SIGUSR1, act).unwrap();
        let _ = parent.lock().set(SIGPIPE, SigAction::IGNORE).unwrap();
        let child = parent.for_clone(false, false).unwrap();
        let _ = child.lock().set(SIGUSR2, SigAction::IGNORE).unwrap();
        let child = child.for_exec().unwrap();
        assert_eq!(child.lock().get(SIGUSR1), SigAction::DEFAULT);
        assert_eq!(child.lock().get(SIGUSR2), SigAction::IGNORE);
        assert_eq!(child.lock().get(SIGPIPE), SigAction::IGNORE);
        assert_eq!(parent.lock().get(SIGUSR1), act);
        assert_eq!(parent.lock().get(SIGUSR2), SigAction::DEFAULT);
    }

    #[test]
    fn exec_after_fork_resets_only_the_execing_side() {
        let parent = SharedSigHandlers::new();
        let act = SigAction::handler(H, SaFlags::empty(), SigSet::EMPTY);
        let _ = parent.lock().set(SIGCHLD, act).unwrap();
        let _ = parent.lock().set(SIGQUIT, SigAction::IGNORE).unwrap();
        let child = parent.for_clone(false, false).unwrap();
        let child = child.for_exec().unwrap();
        assert_eq!(child.lock().get(SIGCHLD), SigAction::DEFAULT);
        assert_eq!(child.lock().get(SIGQUIT), SigAction::IGNORE);
        assert_eq!(parent.lock().get(SIGCHLD), act);
        // A table with nothing to reset is left shared (no copy).
        let plain = SharedSigHandlers::new();
        let _ = plain.lock().set(SIGQUIT, SigAction::IGNORE).unwrap();
        let forked = plain.for_clone(false, false).unwrap().for_exec().unwrap();
        assert!(forked.lock().is_copy_on_write());
        assert_eq!(forked.lock().get(SIGQUIT), SigAction::IGNORE);
        // SIG_IGN with flags (glibc sets SA_RESTORER) loses them at exec.
        let glibc_ign = SigAction { flags: SaFlags::RESTORER, restorer: 0x40_2000, ..SigAction::IGNORE };
        let _ = plain.lock().set(SIGQUIT, glibc_ign).unwrap();
        let forked = plain.for_clone(false, false).unwrap().for_exec().unwrap();
        assert_eq!(forked.lock().get(SIGQUIT), SigAction::IGNORE);
        assert_eq!(plain.lock().get(SIGQUIT), glibc_ign);
    }

    #[test]
    fn clone_sighand_sharing_is_for_good_and_exec_leaves_it() {
        // CLONE_SIGHAND (with CLONE_VM): a change on either side is seen by
        // the other, then exec in one of them gives it a table of its own
        // (de_thread()'s unshare_sighand()), the other keeps its handlers.
        let a = SharedSigHandlers::new();
        let b = a.for_clone(true, false).unwrap();
        let act = SigAction::handler(H, SaFlags::empty(), SigSet::EMPTY);
        let _ = b.lock().set(SIGUSR1, act).unwrap();
        assert_eq!(a.lock().get(SIGUSR1), act);
        let _ = a.lock().set(SIGUSR2, SigAction::IGNORE).unwrap();
        assert!(b.lock().is_ignored(SIGUSR2));
        let b = b.for_exec().unwrap();
        assert!(!b.same_table(&a));
        assert_eq!(b.lock().get(SIGUSR1), SigAction::DEFAULT);
        assert_eq!(a.lock().get(SIGUSR1), act);
        let _ = b.lock().set(SIGUSR2, SigAction::DEFAULT).unwrap();
        assert!(a.lock().is_ignored(SIGUSR2));
    }

    #[test]
    fn resethand_tables_are_copied_at_fork_and_reset_alone() {
        let parent = SharedSigHandlers::new();
        let act = SigAction::handler(H, SaFlags::RESETHAND, SigSet::EMPTY);
        let _ = parent.lock().set(SIGUSR1, act).unwrap();
        let child = parent.for_clone(false, false).unwrap();
        assert!(!parent.lock().is_copy_on_write() && !child.lock().is_copy_on_write());
        assert_eq!(child.lock().take_for_delivery(SIGUSR1), act);
        assert_eq!(child.lock().get(SIGUSR1).handler, SigHandler::Default);
        assert_eq!(parent.lock().get(SIGUSR1), act);
        // Once the one-shot handler is gone, forks share again.
        let grandchild = child.for_clone(false, false).unwrap();
        assert!(grandchild.lock().is_copy_on_write());
        // A table the caller cloned itself still resets alone.
        let mut mine = parent.lock().clone();
        assert_eq!(mine.take_for_delivery(SIGUSR1), act);
        assert_eq!(parent.lock().get(SIGUSR1), act);
        // force_default on a shared table.
        let mut forced = parent.lock().clone();
        forced.force_default(SIGUSR1);
        assert_eq!(forced.get(SIGUSR1), SigAction::DEFAULT);
        assert_eq!(parent.lock().get(SIGUSR1), act);
    }

    /// What `force_default` leaves when the shared actions cannot be
    /// copied: the forced slot reads as `SIG_DFL` on this side only, and
    /// the next change's copy writes it in.
    #[test]
    fn a_forced_default_without_a_copy_reads_as_default_until_copied() {
        let parent = SharedSigHandlers::new();
        let act = SigAction::handler(H, SaFlags::empty(), SigSet::EMPTY);
        let _ = parent.lock().set(SIGSEGV, act).unwrap();
        let mut child = parent.lock().clone();
        assert!(child.is_copy_on_write());
        // the state force_default leaves after a failed copy
        child.forced |= 1 << SigHandlers::index(SIGSEGV);
        child.unreset &= !(1 << SigHandlers::index(SIGSEGV));
        assert_eq!(child.get(SIGSEGV), SigAction::DEFAULT);
        assert_eq!(parent.lock().get(SIGSEGV), act);
        assert_ne!(child, *parent.lock());
        // a change copies and keeps the forced slot at SIG_DFL
        let _ = child.set(SIGUSR1, SigAction::IGNORE).unwrap();
        assert!(!child.is_copy_on_write());
        assert_eq!(child.forced, 0);
        assert_eq!(child.get(SIGSEGV), SigAction::DEFAULT);
        assert_eq!(child.get(SIGUSR1), SigAction::IGNORE);
        assert_eq!(parent.lock().get(SIGSEGV), act);
        // setting the handler back is a change from SIG_DFL
        assert_eq!(child.set(SIGSEGV, act).unwrap().old, SigAction::DEFAULT);
    }

    #[test]
    fn clone_clear_sighand_copies_only_what_it_resets() {
        let parent = SharedSigHandlers::new();
        let _ = parent.lock().set(SIGHUP, SigAction::IGNORE).unwrap();
        let child = parent.for_clone(false, true).unwrap();
        assert!(child.lock().is_copy_on_write(), "nothing caught: nothing to reset");
        let _ = parent.lock().set(SIGINT, SigAction::handler(H, SaFlags::empty(), SigSet::EMPTY)).unwrap();
        let child = parent.for_clone(false, true).unwrap();
        assert!(!child.lock().is_copy_on_write());
        assert_eq!(child.lock().get(SIGINT), SigAction::DEFAULT);
        assert_eq!(child.lock().get(SIGHUP), SigAction::IGNORE);
    }
}
