//! The checker (every shape Linux refuses), the interpreter's operations,
//! the chain's precedence and limit, and random programs.

use linux_abi::Errno;
use proptest::prelude::*;
use seccomp::bpf::*;
use seccomp::*;
use std::sync::Arc;

fn i(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn::new(code, jt, jf, k)
}
fn ret(k: u32) -> Insn {
    i(RET | K, 0, 0, k)
}
fn prepared(p: &[Insn]) -> Result<Vec<Insn>, Errno> {
    let mut v = p.to_vec();
    prepare(&mut v).map(|_| v)
}
fn data(nr: u64) -> Data {
    Data::x86_64(nr, 0x0000_7f00_1234_5678, [1, 2, 3, 0x1_0000_0004, 5, 6])
}
/// Runs `p` (checked) and returns A as left by RET A.
fn eval(p: &[Insn]) -> u32 {
    let v = prepared(p).expect("accepted");
    bpf::run(&v, &data(39).words())
}

#[test]
fn accepts_the_usual_filter() {
    let p = [
        i(LD | W | ABS, 0, 0, 4),
        i(JMP | JEQ | K, 1, 0, AUDIT_ARCH_X86_64),
        ret(RET_KILL_PROCESS),
        i(LD | W | ABS, 0, 0, 0),
        i(JMP | JEQ | K, 0, 1, 39),
        ret(RET_ERRNO | 1),
        ret(RET_ALLOW),
    ];
    let v = prepared(&p).unwrap();
    let f = Filter::attach(None, v, false).unwrap();
    assert_eq!(Action::of(f.run(&data(39)).0), (Action::Errno, 1));
    assert_eq!(f.run(&data(40)).0, RET_ALLOW);
    let mut d = data(39);
    d.arch = 0x4000_0003; // i386
    assert_eq!(f.run(&d).0, RET_KILL_PROCESS);
}

#[test]
fn rejects_every_shape_linux_rejects() {
    let bad: Vec<(&str, Vec<Insn>)> = vec![
        ("empty", vec![]),
        ("too long", vec![ret(0); MAXINSNS + 1]),
        ("no ret last", vec![i(LD | IMM, 0, 0, 0)]),
        ("unknown opcode", vec![i(0xffff, 0, 0, 0), ret(0)]),
        ("ALU|NEG|X", vec![i(ALU | NEG | X, 0, 0, 0), ret(0)]),
        ("JA|X", vec![i(JMP | JA | X, 0, 0, 0), ret(0)]),
        ("div by constant 0", vec![i(ALU | DIV | K, 0, 0, 0), ret(0)]),
        ("lsh by 32", vec![i(ALU | LSH | K, 0, 0, 32), ret(0)]),
        ("rsh by 99", vec![i(ALU | RSH | K, 0, 0, 99), ret(0)]),
        ("ld mem 16", vec![i(ST, 0, 0, 0), i(LD | MEM, 0, 0, 16), ret(0)]),
        ("st 16", vec![i(ST, 0, 0, 16), ret(0)]),
        ("stx 17", vec![i(STX, 0, 0, 17), ret(0)]),
        ("ja out", vec![i(JMP | JA, 0, 0, 1), ret(0)]),
        ("ja huge", vec![i(JMP | JA, 0, 0, u32::MAX), ret(0)]),
        ("jeq jt out", vec![i(JMP | JEQ | K, 1, 0, 0), ret(0)]),
        ("jgt jf out", vec![i(JMP | JGT | X, 0, 1, 0), ret(0)]),
        ("jset out", vec![i(JMP | JSET | K, 5, 5, 0), ret(0)]),
        ("mem read before store", vec![i(LD | MEM, 0, 0, 3), ret(0)]),
        ("ldx mem unset", vec![i(LDX | MEM, 0, 0, 0), ret(0)]),
        (
            "store on one path only",
            vec![i(JMP | JEQ | K, 0, 1, 0), i(ST, 0, 0, 2), i(LD | MEM, 0, 0, 2), ret(0)],
        ),
        ("unaligned load", vec![i(LD | W | ABS, 0, 0, 2), ret(0)]),
        ("load at 64", vec![i(LD | W | ABS, 0, 0, 64), ret(0)]),
        ("ancillary load", vec![i(LD | W | ABS, 0, 0, 0xffff_f000), ret(0)]),
        ("bad ancillary", vec![i(LD | W | ABS, 0, 0, 0xffff_f0f0), ret(0)]),
        ("half load", vec![i(LD | H | ABS, 0, 0, 0), ret(0)]),
        ("byte load", vec![i(LD | B | ABS, 0, 0, 0), ret(0)]),
        ("indirect load", vec![i(LD | W | IND, 0, 0, 0), ret(0)]),
        ("msh", vec![i(LDX | B | MSH, 0, 0, 0), ret(0)]),
        ("mod (not in seccomp)", vec![i(ALU | MOD | K, 0, 0, 3), ret(0)]),
        ("mod x", vec![i(ALU | MOD | X, 0, 0, 0), ret(0)]),
        ("ret x", vec![i(RET | X, 0, 0, 0)]),
    ];
    for (what, p) in bad {
        assert_eq!(prepared(&p), Err(Errno::EINVAL), "{what}");
    }
}

#[test]
fn len_loads_become_64_and_stores_on_all_paths_pass() {
    assert_eq!(eval(&[i(LD | W | LEN, 0, 0, 0), i(RET | A, 0, 0, 0)]), 64);
    assert_eq!(eval(&[i(LDX | W | LEN, 0, 0, 0), i(MISC | TXA, 0, 0, 0), i(RET | A, 0, 0, 0)]), 64);
    // stored on both paths
    let p = [
        i(JMP | JEQ | K, 0, 2, 39),
        i(LD | IMM, 0, 0, 7),
        i(JMP | JA, 0, 0, 1),
        i(LD | IMM, 0, 0, 8),
        i(ST, 0, 0, 5),
        i(LD | MEM, 0, 0, 5),
        i(RET | A, 0, 0, 0),
    ];
    assert_eq!(eval(&p), 8); // A = 0 at the start, not 39
    // the longest program and a full-range forward jump pass
    let mut long = vec![i(LD | IMM, 0, 0, 1); MAXINSNS - 1];
    long[0] = i(JMP | JA, 0, 0, (MAXINSNS - 2) as u32);
    long.push(ret(RET_ALLOW));
    assert!(prepared(&long).is_ok());
}

#[test]
fn loads_read_the_data_words() {
    let d = Data::x86_64(
        0x4000_0027,
        0x1122_3344_5566_7788,
        [0xaaaa_bbbb_cccc_dddd, 0, 0, 0, 0, 0xffff_0000_1111_2222],
    );
    let w = d.words();
    let load = |off: u32| {
        let v = prepared(&[i(LD | W | ABS, 0, 0, off), i(RET | A, 0, 0, 0)]).unwrap();
        bpf::run(&v, &w)
    };
    assert_eq!(load(0), 0x4000_0027);
    assert_eq!(load(4), AUDIT_ARCH_X86_64);
    assert_eq!(load(8), 0x5566_7788);
    assert_eq!(load(12), 0x1122_3344);
    assert_eq!(load(16), 0xcccc_dddd);
    assert_eq!(load(20), 0xaaaa_bbbb);
    assert_eq!(load(56), 0x1111_2222);
    assert_eq!(load(60), 0xffff_0000);
}

#[test]
fn alu_ops_are_32_bit() {
    let op = |a: u32, code: u16, k: u32| eval(&[i(LD | IMM, 0, 0, a), i(code, 0, 0, k), i(RET | A, 0, 0, 0)]);
    let opx = |a: u32, code: u16, x: u32| {
        eval(&[i(LDX | IMM, 0, 0, x), i(LD | IMM, 0, 0, a), i(code | X, 0, 0, 0), i(RET | A, 0, 0, 0)])
    };
    assert_eq!(op(u32::MAX, ALU | ADD | K, 2), 1);
    assert_eq!(op(1, ALU | SUB | K, 2), u32::MAX);
    assert_eq!(op(0x1_0001, ALU | MUL | K, 0x1_0000), 0x1_0000);
    assert_eq!(op(7, ALU | DIV | K, 2), 3);
    assert_eq!(op(0b1100, ALU | AND | K, 0b1010), 0b1000);
    assert_eq!(op(0b1100, ALU | OR | K, 0b1010), 0b1110);
    assert_eq!(op(0b1100, ALU | XOR | K, 0b1010), 0b0110);
    assert_eq!(op(1, ALU | LSH | K, 31), 0x8000_0000);
    assert_eq!(op(0x8000_0000, ALU | RSH | K, 31), 1);
    assert_eq!(op(5, ALU | NEG, 0), 5u32.wrapping_neg());
    assert_eq!(opx(9, ALU | ADD, 1), 10);
    assert_eq!(opx(9, ALU | SUB, 10), u32::MAX);
    assert_eq!(opx(9, ALU | MUL, 3), 27);
    assert_eq!(opx(9, ALU | DIV, 2), 4);
    assert_eq!(opx(9, ALU | AND, 3), 1);
    assert_eq!(opx(9, ALU | OR, 6), 15);
    assert_eq!(opx(9, ALU | XOR, 1), 8);
    // shifts by X are taken modulo 32 (the 32-bit eBPF shift)
    assert_eq!(opx(1, ALU | LSH, 33), 2);
    assert_eq!(opx(4, ALU | RSH, 34), 1);
    // division by an X of zero ends the program with 0 (KILL_THREAD)
    assert_eq!(opx(9, ALU | DIV, 0), 0);
    let p = prepared(&[i(ALU | DIV | X, 0, 0, 0), ret(RET_ALLOW)]).unwrap();
    assert_eq!(bpf::run(&p, &data(0).words()), RET_KILL_THREAD);
}

#[test]
fn jumps_ld_st_misc() {
    let jmp =
        |code: u16, a: u32, k: u32| eval(&[i(LD | IMM, 0, 0, a), i(JMP | code | K, 0, 1, k), ret(1), ret(2)]);
    assert_eq!(jmp(JEQ, 5, 5), 1);
    assert_eq!(jmp(JEQ, 5, 6), 2);
    assert_eq!(jmp(JGT, 6, 5), 1);
    assert_eq!(jmp(JGT, 5, 5), 2);
    assert_eq!(jmp(JGE, 5, 5), 1);
    assert_eq!(jmp(JGE, 4, 5), 2);
    assert_eq!(jmp(JSET, 6, 2), 1);
    assert_eq!(jmp(JSET, 6, 1), 2);
    // unsigned compares
    assert_eq!(jmp(JGT, 0x8000_0000, 1), 1);
    let jx = |code: u16, a: u32, x: u32| {
        eval(&[i(LDX | IMM, 0, 0, x), i(LD | IMM, 0, 0, a), i(JMP | code | X, 1, 0, 0), ret(2), ret(1)])
    };
    assert_eq!(jx(JEQ, 3, 3), 1);
    assert_eq!(jx(JGT, 3, 3), 2);
    assert_eq!(jx(JGE, 3, 3), 1);
    assert_eq!(jx(JSET, 3, 4), 2);
    assert_eq!(eval(&[i(JMP | JA, 0, 0, 1), ret(1), ret(2)]), 2);
    // ST/STX/LD MEM/LDX MEM/TAX/TXA
    let p = [
        i(LD | IMM, 0, 0, 11),
        i(ST, 0, 0, 15),
        i(MISC | TAX, 0, 0, 0),
        i(STX, 0, 0, 0),
        i(LD | IMM, 0, 0, 0),
        i(LDX | MEM, 0, 0, 15),
        i(LD | MEM, 0, 0, 0),
        i(ALU | ADD | X, 0, 0, 0),
        i(MISC | TXA, 0, 0, 0),
        i(ALU | ADD | X, 0, 0, 0),
        i(RET | A, 0, 0, 0),
    ];
    assert_eq!(eval(&p), 22);
}

fn filter_of(prev: Option<&Arc<Filter>>, r: u32) -> Arc<Filter> {
    Filter::attach(prev, prepared(&[ret(r)]).unwrap(), false).unwrap()
}

#[test]
fn precedence_over_a_chain() {
    let order = [
        RET_KILL_PROCESS,
        RET_KILL_THREAD,
        RET_TRAP | 3,
        RET_ERRNO | 4,
        RET_USER_NOTIF,
        RET_TRACE | 5,
        RET_LOG,
        RET_ALLOW,
    ];
    for (hi, &h) in order.iter().enumerate() {
        for &l in &order[hi..] {
            // either order of installation: the higher one wins
            let a = filter_of(Some(&filter_of(None, l)), h);
            let b = filter_of(Some(&filter_of(None, h)), l);
            assert_eq!(a.run(&data(1)).0, h, "{h:#x} over {l:#x}");
            assert_eq!(b.run(&data(1)).0, h, "{h:#x} over {l:#x}");
        }
    }
    // equal actions: the data of the newest filter
    let f = filter_of(Some(&filter_of(None, RET_ERRNO | 1)), RET_ERRNO | 2);
    assert_eq!(f.run(&data(1)).0, RET_ERRNO | 2);
    // an unknown action is killed as KILL_PROCESS and sorts by its value
    assert_eq!(Action::of(0x0001_0000).0, Action::KillProcess);
    assert_eq!(Action::of(RET_KILL_PROCESS | 7), (Action::KillProcess, 7));
    assert_eq!(Action::of(RET_ERRNO | 0xffff), (Action::Errno, 0xffff));
    assert_eq!(f.count(), 2);
    assert!(f.prev().unwrap().is_ancestor_of(&f));
    assert!(!f.is_ancestor_of(f.prev().unwrap()));
}

#[test]
fn action_avail_and_flags() {
    for r in [
        RET_KILL_PROCESS,
        RET_KILL_THREAD,
        RET_TRAP,
        RET_ERRNO,
        RET_USER_NOTIF,
        RET_TRACE,
        RET_LOG,
        RET_ALLOW,
    ] {
        assert_eq!(Action::available(r), Ok(()));
    }
    assert_eq!(Action::available(RET_ERRNO | 1), Err(Errno::EOPNOTSUPP));
    assert_eq!(Action::available(0x0001_0000), Err(Errno::EOPNOTSUPP));
    assert_eq!(check_flags(FLAG_TSYNC | FLAG_LOG | FLAG_SPEC_ALLOW), Ok(()));
    assert_eq!(check_flags(64), Err(Errno::EINVAL));
    assert_eq!(check_flags(FLAG_TSYNC | FLAG_NEW_LISTENER), Err(Errno::EINVAL));
    assert_eq!(check_flags(FLAG_TSYNC | FLAG_NEW_LISTENER | FLAG_TSYNC_ESRCH), Ok(()));
    assert_eq!(check_flags(FLAG_WAIT_KILLABLE_RECV), Err(Errno::EINVAL));
    assert!(strict_allowed(0) && strict_allowed(1) && strict_allowed(60) && strict_allowed(15));
    assert!(!strict_allowed(231) && !strict_allowed(39));
}

#[test]
fn chain_limit_counts_four_per_filter() {
    // Linux counts the eBPF translation: 3 + 2 per RET
    let big = vec![ret(RET_ALLOW); MAXINSNS - 4];
    assert_eq!(linux_len(&big), 3 + 2 * 4092);
    // 4 filters of 8187 + 4 = 32764 of the 32768; a fifth does not fit
    let mut f: Option<Arc<Filter>> = None;
    for _ in 0..4 {
        f = Some(Filter::attach(f.as_ref(), big.clone(), false).unwrap());
    }
    assert_eq!(Filter::attach(f.as_ref(), big.clone(), false).unwrap_err(), Errno::ENOMEM);
    assert_eq!(Filter::attach(f.as_ref(), vec![ret(RET_ALLOW)], false).unwrap_err(), Errno::ENOMEM);
    assert_eq!(f.as_ref().unwrap().count(), 4);
    // the longest chain of one-instruction filters: 5 + 9 (n - 1) <= 32768
    let mut h: Option<Arc<Filter>> = None;
    let mut n = 0;
    while let Ok(x) = Filter::attach(h.as_ref(), vec![ret(RET_ALLOW)], false) {
        h = Some(x);
        n += 1;
    }
    assert_eq!(n, 3641);
    // and it drops without a deep recursion
    drop(h);
    // jumps: fall-through false 1, invertible 1, both taken 2, negative K +1
    assert_eq!(linux_len(&[i(JMP | JEQ | K, 1, 0, 5)]), 4);
    assert_eq!(linux_len(&[i(JMP | JEQ | K, 0, 1, 5)]), 4);
    assert_eq!(linux_len(&[i(JMP | JSET | K, 0, 1, 5)]), 5);
    assert_eq!(linux_len(&[i(JMP | JEQ | K, 1, 2, 5)]), 5);
    assert_eq!(linux_len(&[i(JMP | JEQ | K, 1, 0, 0x8000_0000)]), 5);
    assert_eq!(linux_len(&[i(ALU | DIV | X, 0, 0, 0)]), 8);
}

#[test]
fn state_rules() {
    let s = State::default();
    assert!(s.may_assign(MODE_STRICT) && s.may_assign(MODE_FILTER));
    let strict = State { mode: MODE_STRICT, filter: None };
    assert!(!strict.may_assign(MODE_FILTER) && strict.may_assign(MODE_STRICT));
    let f1 = filter_of(None, RET_ALLOW);
    let f2 = filter_of(Some(&f1), RET_ALLOW);
    let other = filter_of(None, RET_ALLOW);
    let t = State { mode: MODE_FILTER, filter: Some(f1.clone()) };
    assert!(t.can_sync_to(Some(&f2)));
    assert!(!t.can_sync_to(Some(&other)));
    assert!(!strict.can_sync_to(Some(&f2)));
    assert!(s.can_sync_to(Some(&f2)));
    assert_eq!(t.filters(), 1);
    assert!(t.same(&t.clone()));
}

fn any_insn() -> impl Strategy<Value = Insn> {
    let codes: Vec<u16> = vec![
        LD | W | ABS,
        LD | W | LEN,
        LDX | W | LEN,
        LD | IMM,
        LDX | IMM,
        LD | MEM,
        LDX | MEM,
        ST,
        STX,
        ALU | ADD | K,
        ALU | SUB | X,
        ALU | MUL | K,
        ALU | DIV | X,
        ALU | DIV | K,
        ALU | LSH | X,
        ALU | RSH | K,
        ALU | NEG,
        ALU | AND | X,
        JMP | JA,
        JMP | JEQ | K,
        JMP | JGT | X,
        JMP | JGE | K,
        JMP | JSET | X,
        MISC | TAX,
        MISC | TXA,
        RET | K,
        RET | A,
    ];
    (
        prop_oneof![proptest::sample::select(codes), any::<u16>()],
        any::<u8>(),
        any::<u8>(),
        prop_oneof![0u32..80, any::<u32>()],
    )
        .prop_map(|(c, jt, jf, k)| Insn::new(c, jt % 8, jf % 8, k))
}

proptest! {
    #[test]
    fn random_programs(prog in proptest::collection::vec(any_insn(), 0..40), nr in any::<u64>(), args in any::<[u64; 6]>()) {
        let d = Data::x86_64(nr, 0x401000, args);
        // an unchecked program never panics either
        let _ = bpf::run(&prog, &d.words());
        let mut v = prog.clone();
        if prepare(&mut v).is_ok() {
            // a checked program ends with a RET within its length
            prop_assert!(v.last().is_some_and(|l| l.code & 0x07 == RET));
            let f = Filter::attach(None, v, false).unwrap();
            let _ = f.run(&d);
        }
    }
}
