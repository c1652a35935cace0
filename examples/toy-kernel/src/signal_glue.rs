//! `signal`'s part (kernabi-signal on its own, the toy's feature
//! `signal`): deliver the next signal of a thread by running its handler
//! (the toy "signal frame" is the saved registers it returns to).

use signal::{Delivery, PendingQueue, SharedSigHandlers, SigNum, ThreadSignals};

use crate::process_glue::Regs;

/// What delivering did.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Nothing to deliver.
    Nothing,
    /// The handler runs: the signal and the registers to restore.
    Handler(SigNum, Regs),
    /// The default action ends the process (the caller exits the group).
    Fatal(SigNum),
}

/// Takes the thread's next signal (its own queue first, then its
/// process's) and acts on it: `regs` go to the handler.
pub fn deliver(
    t: &mut ThreadSignals,
    process: &mut PendingQueue,
    h: &SharedSigHandlers,
    regs: &mut Regs,
) -> Delivered {
    let Some(info) = t.dequeue(process) else { return Delivered::Nothing };
    match signal::delivery_action(info.signo, &mut h.lock(), false, false) {
        Delivery::Handler(action) => {
            let signal::SigHandler::Handler(entry) = action.handler else { return Delivered::Nothing };
            let saved = regs.clone();
            t.enter_handler(info.signo, &action);
            regs.ip = entry as usize;
            Delivered::Handler(info.signo, saved)
        }
        Delivery::Terminate { .. } => Delivered::Fatal(info.signo),
        _ => Delivered::Nothing,
    }
}
