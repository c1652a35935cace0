//! Robustness: random operations on random paths (from a small alphabet, so
//! they collide) with random flags, offsets and buffer sizes never panic,
//! and leave the tree consistent: a directory's link count is 2 plus its
//! subdirectories, a file's is the number of names it has.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use vfs::*;

fn path() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'/'), Just(b'.'), Just(b'l')], 0..10)
}

#[derive(Clone, Debug)]
enum Op {
    Open(Vec<u8>, u32, u32),
    Mkdir(Vec<u8>, u32),
    Rmdir(Vec<u8>),
    Unlink(Vec<u8>),
    Rename(Vec<u8>, Vec<u8>, u32),
    Link(Vec<u8>, Vec<u8>, u32),
    Symlink(Vec<u8>, Vec<u8>),
    Readlink(Vec<u8>),
    Stat(Vec<u8>, u32),
    Truncate(Vec<u8>, i64),
    Io(Vec<u8>, i64, u32, usize),
    Chdir(Vec<u8>),
    Getcwd,
}

fn op() -> impl Strategy<Value = Op> {
    let flags = prop_oneof![
        Just(O_RDONLY),
        Just(O_RDWR | O_CREAT),
        Just(O_WRONLY | O_CREAT | O_EXCL),
        Just(O_RDWR | O_TRUNC),
        Just(O_RDONLY | O_DIRECTORY),
        Just(O_RDONLY | O_NOFOLLOW),
        Just(O_PATH | O_NOFOLLOW),
        Just(O_WRONLY | O_APPEND),
        any::<u32>(),
    ];
    prop_oneof![
        (path(), flags, any::<u32>()).prop_map(|(p, f, m)| Op::Open(p, f, m)),
        (path(), any::<u32>()).prop_map(|(p, m)| Op::Mkdir(p, m)),
        path().prop_map(Op::Rmdir),
        path().prop_map(Op::Unlink),
        (path(), path(), 0..8u32).prop_map(|(a, b, f)| Op::Rename(a, b, f)),
        (path(), path(), prop_oneof![Just(0), Just(AT_SYMLINK_FOLLOW), any::<u32>()])
            .prop_map(|(a, b, f)| Op::Link(a, b, f)),
        (path(), path()).prop_map(|(a, b)| Op::Symlink(a, b)),
        path().prop_map(Op::Readlink),
        (path(), prop_oneof![Just(0), Just(AT_SYMLINK_NOFOLLOW), Just(AT_EMPTY_PATH)])
            .prop_map(|(p, f)| Op::Stat(p, f)),
        (path(), any::<i64>()).prop_map(|(p, l)| Op::Truncate(p, l % 100_000)),
        (path(), prop_oneof![0..10_000i64, any::<i64>()], 0..6u32, 0..300usize)
            .prop_map(|(p, o, w, n)| Op::Io(p, o, w, n)),
        path().prop_map(Op::Chdir),
        Just(Op::Getcwd),
    ]
}

/// Walks the tree from `dir` with getdents64 and checks link counts.
fn check(ctx: &Ctx, dir: &Arc<Inode>, names: &mut BTreeMap<u64, u64>, depth: u32) {
    assert!(depth < 64, "a directory cycle");
    let Ok(Opened::File(f)) = ctx.open(dir, b".", O_RDONLY | O_DIRECTORY, 0) else { panic!("open dir") };
    let mut subdirs = 0;
    let mut buf = [0u8; 100];
    loop {
        let n = f.getdents64(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        let mut off = 0;
        while off < n {
            let ino = u64::from_le_bytes(buf[off..off + 8].try_into().unwrap());
            let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
            assert_eq!(reclen % 8, 0);
            let d_type = buf[off + 18];
            let name_field = &buf[off + 19..off + reclen];
            let name = &name_field[..name_field.iter().position(|&c| c == 0).unwrap()];
            off += reclen;
            if name == b"." || name == b".." {
                continue;
            }
            let child = ctx.lookup(dir, name, false).unwrap();
            assert_eq!(child.ino(), ino);
            assert_eq!(child.file_type().dirent_type(), d_type);
            if child.is_dir() {
                subdirs += 1;
                assert_eq!(ctx.lookup(&child, b"..", false).unwrap().ino(), dir.ino());
                check(ctx, &child, names, depth + 1);
            } else {
                *names.entry(ino).or_default() += 1;
                names.insert(ino | 1 << 63, child.stat().nlink);
            }
        }
    }
    assert_eq!(dir.stat().nlink, 2 + subdirs, "directory link count");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_operations_never_panic_and_keep_the_tree_consistent(ops in proptest::collection::vec(op(), 1..60)) {
        let root = new_ramfs(1, Arc::new(FixedClock(Timespec::new(1, 0))), Some(64));
        let cred = Cred::root();
        let ctx = Ctx::new(root.clone(), &cred).with_umask(0o022);
        let mut cwd = root.clone();
        let mut files: Vec<Arc<dyn File>> = Vec::new();
        for op in ops {
            match op {
                Op::Open(p, f, m) => {
                    if let Ok(Opened::File(file)) = ctx.open(&cwd, &p, f, m) {
                        files.push(file);
                    }
                }
                Op::Mkdir(p, m) => { let _ = ctx.mkdir(&cwd, &p, m); }
                Op::Rmdir(p) => { let _ = ctx.rmdir(&cwd, &p); }
                Op::Unlink(p) => { let _ = ctx.unlink(&cwd, &p); }
                Op::Rename(a, b, f) => { let _ = ctx.rename(&cwd, &a, &cwd, &b, f); }
                Op::Link(a, b, f) => { let _ = ctx.link(&cwd, &a, &cwd, &b, f); }
                Op::Symlink(a, b) => { let _ = ctx.symlink(&a, &cwd, &b); }
                Op::Readlink(p) => { let _ = ctx.readlink(&cwd, &p); }
                Op::Stat(p, f) => { let _ = ctx.stat(&cwd, &p, f); }
                Op::Truncate(p, l) => { let _ = ctx.truncate(&cwd, &p, l); }
                Op::Io(p, off, whence, n) => {
                    if let Ok(Opened::File(f)) = ctx.open(&cwd, &p, O_RDWR, 0).or_else(|_| ctx.open(&cwd, &p, O_RDONLY, 0)) {
                        let _ = f.lseek(off, whence);
                        let mut buf = vec![0u8; n];
                        let _ = f.read(&mut buf);
                        let _ = f.write(&buf);
                        let _ = f.getdents64(&mut buf);
                        let _ = f.pread(&mut buf, off as u64);
                        let _ = f.pwrite(&buf, off as u64);
                        let _ = f.truncate(off as u64);
                    }
                    for f in &files {
                        let _ = f.getdents64(&mut vec![0u8; n]);
                        let _ = f.lseek(off, whence);
                    }
                }
                Op::Chdir(p) => {
                    if let Ok(d) = ctx.chdir(&cwd, &p) {
                        cwd = d;
                    }
                }
                Op::Getcwd => { let _ = ctx.getcwd(&cwd); }
            }
        }
        let mut names = BTreeMap::new();
        check(&ctx, &root, &mut names, 0);
        for (&ino, &count) in names.range(..1 << 63) {
            prop_assert_eq!(names.get(&(ino | 1 << 63)).copied(), Some(count), "file link count");
        }
    }
}
