//! Property test: random create/write/truncate/rename/link/unlink/mkdir/rmdir sequences
//! against a simple model (names → shared contents), checked after each step.

use std::collections::BTreeMap;
use std::sync::Arc;

use linux_abi::Errno;
use proptest::prelude::*;
use vfs::*;

const NAMES: [&str; 5] = ["/a", "/b", "/c", "/sub/a", "/sub/b"];

#[derive(Clone, Debug)]
enum Op {
    Create(usize),
    Write { name: usize, off: u64, len: usize, byte: u8 },
    Truncate(usize, u64),
    Rename(usize, usize),
    Link(usize, usize),
    Unlink(usize),
    Mkdir,
    Rmdir,
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..NAMES.len();
    prop_oneof![
        n.clone().prop_map(Op::Create),
        (n.clone(), 0..12_000u64, 0..5_000usize, any::<u8>()).prop_map(|(name, off, len, byte)| Op::Write {
            name,
            off,
            len,
            byte
        }),
        (n.clone(), 0..12_000u64).prop_map(|(a, l)| Op::Truncate(a, l)),
        (n.clone(), n.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        (n.clone(), n.clone()).prop_map(|(a, b)| Op::Link(a, b)),
        n.prop_map(Op::Unlink),
        Just(Op::Mkdir),
        Just(Op::Rmdir),
    ]
}

struct Model {
    names: BTreeMap<usize, usize>,
    contents: Vec<Vec<u8>>,
    sub: bool,
}

fn in_sub(i: usize) -> bool {
    NAMES[i].starts_with("/sub/")
}

impl Model {
    fn apply(&mut self, op: &Op) -> Result<(), Errno> {
        let reachable = |i: usize| self.sub || !in_sub(i);
        match *op {
            Op::Mkdir if self.sub => return Err(Errno::EEXIST),
            Op::Mkdir => {
                self.sub = true;
                return Ok(());
            }
            Op::Rmdir if !self.sub => return Err(Errno::ENOENT),
            Op::Rmdir if self.names.keys().any(|&i| in_sub(i)) => return Err(Errno::ENOTEMPTY),
            Op::Rmdir => {
                self.sub = false;
                return Ok(());
            }
            Op::Create(n) | Op::Write { name: n, .. } | Op::Truncate(n, _) | Op::Unlink(n)
                if !reachable(n) =>
            {
                return Err(Errno::ENOENT);
            }
            Op::Rename(a, b) | Op::Link(a, b) if !reachable(a) || !reachable(b) => return Err(Errno::ENOENT),
            _ => {}
        }
        match *op {
            Op::Mkdir | Op::Rmdir => Ok(()),
            Op::Create(n) => {
                if !self.names.contains_key(&n) {
                    self.contents.push(Vec::new());
                    self.names.insert(n, self.contents.len() - 1);
                }
                Ok(())
            }
            Op::Write { name, off, len, byte } => {
                let id = *self.names.get(&name).ok_or(Errno::ENOENT)?;
                let c = &mut self.contents[id];
                let end = off as usize + len;
                if len == 0 {
                    return Ok(());
                }
                if c.len() < end {
                    c.resize(end, 0);
                }
                c[off as usize..off as usize + len].fill(byte);
                Ok(())
            }
            Op::Truncate(n, l) => {
                let id = *self.names.get(&n).ok_or(Errno::ENOENT)?;
                self.contents[id].resize(l as usize, 0);
                Ok(())
            }
            Op::Rename(a, b) => {
                let ia = *self.names.get(&a).ok_or(Errno::ENOENT)?;
                if self.names.get(&b) == Some(&ia) {
                    return Ok(());
                }
                self.names.remove(&a);
                self.names.insert(b, ia);
                Ok(())
            }
            Op::Link(a, b) => {
                let ia = *self.names.get(&a).ok_or(Errno::ENOENT)?;
                if self.names.contains_key(&b) {
                    return Err(Errno::EEXIST);
                }
                self.names.insert(b, ia);
                Ok(())
            }
            Op::Unlink(n) => self.names.remove(&n).map(|_| ()).ok_or(Errno::ENOENT),
        }
    }
}

fn real(ctx: &Ctx, root: &Arc<Inode>, op: &Op) -> Result<(), Errno> {
    let p = |i: usize| NAMES[i].as_bytes();
    let open = |i: usize, flags: u32| match ctx.open(root, p(i), flags, 0o644)? {
        Opened::File(f) => Ok(f),
        _ => Err(Errno::EINVAL),
    };
    match *op {
        Op::Create(n) => open(n, O_CREAT | O_WRONLY).map(|_| ()),
        Op::Write { name, off, len, byte } => {
            let f = open(name, O_WRONLY)?;
            assert_eq!(f.lseek(off as i64, SEEK_SET), Ok(off));
            let n = f.write(&vec![byte; len])?;
            assert_eq!(n, len);
            Ok(())
        }
        Op::Truncate(n, l) => ctx.truncate(root, p(n), l as i64),
        Op::Rename(a, b) => ctx.rename(root, p(a), root, p(b), 0),
        Op::Link(a, b) => ctx.link(root, p(a), root, p(b), 0),
        Op::Unlink(n) => ctx.unlink(root, p(n)),
        Op::Mkdir => ctx.mkdir(root, b"/sub", 0o755).map(|_| ()),
        Op::Rmdir => ctx.rmdir(root, b"/sub"),
    }
}

fn check(ctx: &Ctx, root: &Arc<Inode>, model: &Model) {
    for (i, name) in NAMES.iter().enumerate() {
        match model.names.get(&i) {
            None => assert_eq!(ctx.stat(root, name.as_bytes(), 0).unwrap_err(), Errno::ENOENT, "{name}"),
            Some(&id) => {
                let want = &model.contents[id];
                let st = ctx.stat(root, name.as_bytes(), 0).unwrap();
                assert_eq!(st.size as usize, want.len(), "{name}");
                let links = model.names.values().filter(|&&j| j == id).count();
                assert_eq!(st.nlink as usize, links, "{name}");
                let Ok(Opened::File(f)) = ctx.open(root, name.as_bytes(), O_RDONLY, 0) else { panic!() };
                let mut got = vec![0u8; want.len() + 10];
                let mut n = 0;
                loop {
                    let k = f.read(&mut got[n..]).unwrap();
                    if k == 0 {
                        break;
                    }
                    n += k;
                }
                assert_eq!(n, want.len(), "{name}");
                assert!(got[..n] == want[..], "{name}: content differs");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn ramfs_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let root = new_ramfs(1, Arc::new(FixedClock(Timespec::new(1, 0))), None);
        let cred = Cred::root();
        let ctx = Ctx::new(root.clone(), &cred);
        ctx.mkdir(&root, b"/sub", 0o755).unwrap();
        let mut model = Model { names: BTreeMap::new(), contents: Vec::new(), sub: true };
        for op in &ops {
            let want = model.apply(op);
            let got = real(&ctx, &root, op);
            prop_assert_eq!(got, want, "{:?}", op);
            check(&ctx, &root, &model);
        }
    }
}
