//! `signal`'s part: deliver the next signal of a thread by running its
//! handler (the toy "signal frame" is the saved registers it returns to).

use process::table::ProcessTable;
use signal::{Delivery, SigNum};

use crate::process_glue::Toy;

/// What delivering did.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Nothing to deliver.
    Nothing,
    /// The handler runs: the signal and the registers to restore.
    Handler(SigNum, crate::process_glue::Regs),
    /// The default action ends the process (the caller exits the group).
    Fatal(SigNum),
}

/// Takes thread `tid`'s next signal and acts on it.
pub fn deliver(table: &ProcessTable<Toy>, tid: u32) -> Delivered {
    let Some(info) = table.dequeue_signal(tid) else { return Delivered::Nothing };
    let pid = table.tgid(tid).unwrap_or(tid);
    let Some(handlers) = table.with_process(pid, |p| p.handlers().share()) else { return Delivered::Nothing };
    let delivery = signal::delivery_action(info.signo, &mut handlers.lock(), false, false);
    match delivery {
        Delivery::Handler(action) => {
            let signal::SigHandler::Handler(entry) = action.handler else { return Delivered::Nothing };
            let run = |t: &mut process::table::Thread<Toy>| {
                let saved = t.context.clone();
                t.signals.enter_handler(info.signo, &action);
                t.context.ip = entry as usize;
                Delivered::Handler(info.signo, saved)
            };
            table.with_thread(tid, run).unwrap_or(Delivered::Nothing)
        }
        Delivery::Terminate { .. } => Delivered::Fatal(info.signo),
        _ => Delivered::Nothing,
    }
}
