//! A message queue against a plain model: which message msgrcv takes for
//! each type selection, which waiting receiver a send goes to (E2BIG to
//! those with too small a buffer on the way), and the byte and message
//! counts that msg_qbytes bounds.

use ipc::msg::{MSG_EXCEPT, Message, MsgQueue, convert_mode};
use ipc::sysv::Perm;
use linux_abi::Errno;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Send(i64, usize),
    Receive(i64, bool, usize),
    Wait(i64, bool, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1i64..5, 0usize..12).prop_map(|(t, n)| Op::Send(t, n)),
        2 => (-5i64..5, any::<bool>(), 0usize..12).prop_map(|(t, e, b)| Op::Receive(t, e, b)),
        1 => (-5i64..5, any::<bool>(), 0usize..12).prop_map(|(t, e, b)| Op::Wait(t, e, b)),
    ]
}

/// The model's choice among `msgs` (type, id) for msgtyp `t`.
fn pick(msgs: &[(i64, usize, u32)], t: i64, except: bool) -> Option<usize> {
    if t == 0 {
        return if msgs.is_empty() { None } else { Some(0) };
    }
    if t < 0 {
        let low = msgs.iter().map(|m| m.0).filter(|&ty| ty <= -t).min()?;
        return msgs.iter().position(|m| m.0 == low);
    }
    msgs.iter().position(|m| if except { m.0 != t } else { m.0 == t })
}

fn matches(ty: i64, t: i64, except: bool) -> bool {
    match t {
        0 => true,
        t if t < 0 => ty <= -t,
        t => (ty != t) == except,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn queue_against_model(ops in prop::collection::vec(op(), 1..80)) {
        const QBYTES: u64 = 40;
        let mut q: MsgQueue<(), u32> = MsgQueue::new(Perm::new(1, 0, 0, 0o600, 0), QBYTES, 0);
        // messages as (type, length, serial); receivers as (token, type, except, bufsz)
        let mut msgs: Vec<(i64, usize, u32)> = Vec::new();
        let mut waiting: Vec<(u32, i64, bool, usize)> = Vec::new();
        let mut serial = 0u32;
        let mut token = 0u32;
        let text = |len: usize, s: u32| {
            let mut v = s.to_le_bytes().repeat(3);
            v.truncate(len);
            v.resize(len, 0);
            v
        };
        for o in ops {
            match o {
                Op::Send(t, n) => {
                    if !q.fits(n) {
                        let bytes: usize = msgs.iter().map(|m| m.1).sum();
                        prop_assert!(bytes + n > QBYTES as usize || msgs.len() as u64 >= QBYTES);
                        continue;
                    }
                    serial += 1;
                    let mut got = Vec::new();
                    q.send(Message { mtype: t, text: text(n, serial) }, 1, 1, &mut got).unwrap();
                    // the model: receivers in order; too small ones fail
                    let mut want = Vec::new();
                    let mut delivered = false;
                    let mut i = 0;
                    while i < waiting.len() {
                        let (tok, wt, ex, buf) = waiting[i];
                        if !matches(t, wt, ex) {
                            i += 1;
                            continue;
                        }
                        waiting.remove(i);
                        if buf < n {
                            want.push((tok, Err(Errno::E2BIG)));
                            continue;
                        }
                        want.push((tok, Ok(serial)));
                        delivered = true;
                        break;
                    }
                    if !delivered {
                        msgs.push((t, n, serial));
                    }
                    let got: Vec<(u32, Result<u32, Errno>)> = got
                        .into_iter()
                        .map(|(tok, r)| (tok, r.map(|m| {
                            let mut b = [0u8; 4];
                            let k = m.text.len().min(4);
                            b[..k].copy_from_slice(&m.text[..k]);
                            if m.text.len() >= 4 { u32::from_le_bytes(b) } else { serial }
                        })))
                        .collect();
                    prop_assert_eq!(got, want);
                }
                Op::Receive(t, ex, buf) | Op::Wait(t, ex, buf) => {
                    let flags = if ex { MSG_EXCEPT } else { 0 };
                    let (typ, mode) = convert_mode(t, flags);
                    let except = ex && t > 0;
                    let mut senders = Vec::new();
                    let r = q.receive(typ, mode, buf, false, 2, 2, &mut senders);
                    match pick(&msgs, t, except) {
                        None => {
                            prop_assert_eq!(r.err(), Some(Errno::ENOMSG));
                            if let Op::Wait(..) = o {
                                token += 1;
                                q.add_receiver(token, typ, mode, buf, 9).unwrap();
                                waiting.push((token, t, except, buf));
                            }
                        }
                        Some(i) if msgs[i].1 > buf => prop_assert_eq!(r.err(), Some(Errno::E2BIG)),
                        Some(i) => {
                            let (ty, n, s) = msgs.remove(i);
                            let m = r.unwrap();
                            prop_assert_eq!((m.mtype, m.text), (ty, text(n, s)));
                        }
                    }
                }
            }
            prop_assert_eq!(q.qnum(), msgs.len());
            prop_assert_eq!(q.cbytes(), msgs.iter().map(|m| m.1).sum::<usize>());
            prop_assert_eq!(q.waiting().0, waiting.len());
        }
    }
}
