//! Sequences of create/write/truncate/unlink/rename/link/mkdir/rmdir against
//! a simple in-memory model; every image after a sequence passes
//! `e2fsck -fn` and, where the host allows loop mounts, reads the same
//! through Linux's own driver.

mod common;

use common::*;
use ext2::testing::MemDisk;
use ext2::{BlockDevice, CachedDisk};
use ext2::{Errno, Ext2};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::OnceLock;

#[derive(Clone, Debug)]
enum Op {
    Create(usize, usize),
    Mkdir(usize, usize),
    Write(usize, u32, u16, u8),
    Truncate(usize, u32),
    Unlink(usize),
    Rmdir(usize),
    Rename(usize, usize, usize),
    Link(usize, usize, usize),
    Remount,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..8usize, 0..6usize).prop_map(|(d, n)| Op::Create(d, n)),
        (0..8usize, 0..6usize).prop_map(|(d, n)| Op::Mkdir(d, n)),
        (0..16usize, 0..400_000u32, 0..9000u16, any::<u8>()).prop_map(|(f, o, l, b)| Op::Write(f, o, l, b)),
        (0..16usize, 0..400_000u32).prop_map(|(f, s)| Op::Truncate(f, s)),
        (0..16usize).prop_map(Op::Unlink),
        (0..8usize).prop_map(Op::Rmdir),
        (0..32usize, 0..8usize, 0..6usize).prop_map(|(s, d, n)| Op::Rename(s, d, n)),
        (0..16usize, 0..8usize, 0..6usize).prop_map(|(s, d, n)| Op::Link(s, d, n)),
        Just(Op::Remount),
    ]
}

/// The model: paths to nodes; files by id so hard links share data.
#[derive(Default)]
struct Model {
    names: BTreeMap<String, Node>,
    data: BTreeMap<u32, Vec<u8>>,
    next: u32,
}

#[derive(Clone, Copy, PartialEq)]
enum Node {
    Dir,
    File(u32),
}

const NAMES: [&str; 6] = ["a", "bb", "ccc", "a-much-longer-name-to-fill-directory-blocks", "e", "f"];

impl Model {
    fn dirs(&self) -> Vec<String> {
        let mut v = vec![String::new()];
        v.extend(self.names.iter().filter(|(_, n)| **n == Node::Dir).map(|(p, _)| p.clone()));
        v
    }
    fn files(&self) -> Vec<String> {
        self.names.iter().filter(|(_, n)| matches!(n, Node::File(_))).map(|(p, _)| p.clone()).collect()
    }
    fn children(&self, dir: &str) -> Vec<String> {
        let pre = format!("{dir}/");
        self.names.keys().filter(|p| p.starts_with(&pre) && !p[pre.len()..].contains('/')).cloned().collect()
    }
}

fn split(p: &str) -> (&str, &str) {
    let i = p.rfind('/').unwrap();
    (&p[..i], &p[i + 1..])
}

fn base() -> &'static Vec<u8> {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| mke2fs(1024, 6 * 1024, &["-N", "256"]))
}

/// The disk under the file system: the image itself, or a small
/// write-back cache over it (a few blocks: evictions all the time, blocks
/// changed in place).
enum Dev {
    Plain(MemDisk),
    Cached(CachedDisk<MemDisk>),
}

impl Dev {
    fn new(img: Vec<u8>, cached: bool) -> Dev {
        if cached {
            Dev::Cached(CachedDisk::new(MemDisk::new(img), 1024, 6))
        } else {
            Dev::Plain(MemDisk::new(img))
        }
    }
    fn cached(&self) -> bool {
        matches!(self, Dev::Cached(_))
    }
    fn into_image(self) -> Vec<u8> {
        match self {
            Dev::Plain(d) => d.data,
            Dev::Cached(c) => c.into_inner().unwrap().data,
        }
    }
}

impl BlockDevice for Dev {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> ext2::Result<()> {
        match self {
            Dev::Plain(d) => d.read(sector, buf),
            Dev::Cached(c) => c.read(sector, buf),
        }
    }
    fn write(&mut self, sector: u64, buf: &[u8]) -> ext2::Result<()> {
        match self {
            Dev::Plain(d) => d.write(sector, buf),
            Dev::Cached(c) => c.write(sector, buf),
        }
    }
    fn update(&mut self, sector: u64, len: usize, f: &mut dyn FnMut(&mut [u8]) -> bool) -> ext2::Result<()> {
        match self {
            Dev::Plain(d) => d.update(sector, len, f),
            Dev::Cached(c) => c.update(sector, len, f),
        }
    }
    fn read_ahead(&mut self, sector: u64, len: usize) -> ext2::Result<usize> {
        match self {
            Dev::Plain(d) => d.read_ahead(sector, len),
            Dev::Cached(c) => c.read_ahead(sector, len),
        }
    }
    fn flush(&mut self) -> ext2::Result<()> {
        match self {
            Dev::Plain(d) => d.flush(),
            Dev::Cached(c) => c.flush(),
        }
    }
    fn sectors(&self) -> u64 {
        match self {
            Dev::Plain(d) => d.sectors(),
            Dev::Cached(c) => c.sectors(),
        }
    }
    fn read_only(&self) -> bool {
        match self {
            Dev::Plain(d) => d.read_only(),
            Dev::Cached(c) => c.read_only(),
        }
    }
}

type Fs = Ext2<Dev>;

fn mount_dev(img: Vec<u8>, cached: bool) -> Fs {
    Ext2::mount(Dev::new(img, cached), opts()).unwrap()
}

fn run(ops: Vec<Op>, cached: bool) {
    let mut fs = mount_dev(base().clone(), cached);
    let mut m = Model::default();
    for op in ops {
        step(&mut fs, &mut m, op);
    }
    check(&mut fs, &m);
    let img = fs.unmount().unwrap().into_image();
    let (clean, out) = e2fsck(&img);
    assert!(clean, "{out}");
    linux_view(&img, &m);
}

/// Where the host allows loop mounts: Linux's driver sees the model too
/// (what it shows is gathered, the image unmounted, then compared).
fn linux_view(img: &[u8], m: &Model) {
    let (d, path) = to_file(img);
    let mnt = d.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "ext2", "-o", "loop,ro"])
        .arg(&path)
        .arg(&mnt)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let _ = std::fs::remove_dir_all(&d);
        return;
    }
    let mut seen: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    let mut stack = vec![mnt.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = format!("/{}", p.strip_prefix(&mnt).unwrap().to_str().unwrap());
            if rel == "/lost+found" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
                seen.insert(rel, None);
            } else {
                seen.insert(rel, Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    let _ = std::fs::remove_dir_all(&d);
    let want: BTreeMap<String, Option<Vec<u8>>> = m
        .names
        .iter()
        .map(|(p, n)| {
            (
                p.clone(),
                match n {
                    Node::Dir => None,
                    Node::File(id) => Some(m.data[id].clone()),
                },
            )
        })
        .collect();
    assert!(seen == want, "Linux sees another tree: {:?} vs {:?}", seen.keys(), want.keys());
}

fn step(fs: &mut Fs, m: &mut Model, op: Op) {
    match op {
        Op::Create(d, n) | Op::Mkdir(d, n) => {
            let dirs = m.dirs();
            let dir = &dirs[d % dirs.len()];
            let p = format!("{dir}/{}", NAMES[n]);
            let di = resolve(fs, dir).unwrap();
            let is_dir = matches!(op, Op::Mkdir(..));
            let r = if is_dir {
                fs.mkdir(di, NAMES[n].as_bytes(), 0o755, 0, 0)
            } else {
                fs.create(di, NAMES[n].as_bytes(), 0o100644, 0, 0, None)
            };
            if m.names.contains_key(&p) {
                assert_eq!(r, Err(Errno::EEXIST));
            } else {
                r.unwrap();
                let node = if is_dir {
                    Node::Dir
                } else {
                    m.next += 1;
                    m.data.insert(m.next, Vec::new());
                    Node::File(m.next)
                };
                m.names.insert(p, node);
            }
        }
        Op::Write(f, off, len, b) => {
            let files = m.files();
            if files.is_empty() {
                return;
            }
            let p = &files[f % files.len()];
            let Node::File(id) = m.names[p] else { unreachable!() };
            let ino = resolve(fs, p).unwrap();
            let data: Vec<u8> = (0..len).map(|i| b.wrapping_add(i as u8)).collect();
            assert_eq!(fs.write(ino, off as u64, &data).unwrap(), data.len());
            if !data.is_empty() {
                let v = m.data.get_mut(&id).unwrap();
                let end = off as usize + data.len();
                if v.len() < end {
                    v.resize(end, 0);
                }
                v[off as usize..end].copy_from_slice(&data);
            }
        }
        Op::Truncate(f, size) => {
            let files = m.files();
            if files.is_empty() {
                return;
            }
            let p = &files[f % files.len()];
            let Node::File(id) = m.names[p] else { unreachable!() };
            let ino = resolve(fs, p).unwrap();
            fs.truncate(ino, size as u64).unwrap();
            m.data.get_mut(&id).unwrap().resize(size as usize, 0);
        }
        Op::Unlink(f) => {
            let files = m.files();
            if files.is_empty() {
                return;
            }
            let p = files[f % files.len()].clone();
            let (dir, name) = split(&p);
            let di = resolve(fs, dir).unwrap();
            fs.unlink(di, name.as_bytes()).unwrap();
            m.names.remove(&p);
        }
        Op::Rmdir(d) => {
            let dirs = m.dirs();
            if dirs.len() < 2 {
                return;
            }
            let p = dirs[1 + d % (dirs.len() - 1)].clone();
            let (dir, name) = split(&p);
            let di = resolve(fs, dir).unwrap();
            let r = fs.rmdir(di, name.as_bytes());
            if m.children(&p).is_empty() {
                r.unwrap();
                m.names.remove(&p);
            } else {
                assert_eq!(r, Err(Errno::ENOTEMPTY));
            }
        }
        Op::Rename(s, d, n) => {
            let all: Vec<String> = m.names.keys().cloned().collect();
            if all.is_empty() {
                return;
            }
            let src = all[s % all.len()].clone();
            let dirs = m.dirs();
            let ddir = dirs[d % dirs.len()].clone();
            let dst = format!("{ddir}/{}", NAMES[n]);
            let (sd, sn) = split(&src);
            let sdi = resolve(fs, sd).unwrap();
            let ddi = resolve(fs, &ddir).unwrap();
            let r = fs.rename(sdi, sn.as_bytes(), ddi, NAMES[n].as_bytes());
            let snode = m.names[&src];
            let dnode = m.names.get(&dst).copied();
            let expect = if snode == Node::Dir && (ddir == src || ddir.starts_with(&format!("{src}/"))) {
                Err(Errno::EINVAL)
            } else if src == dst {
                Ok(())
            } else if dnode == Some(Node::Dir) && sd.starts_with(&format!("{dst}/")) || sd == dst {
                Err(Errno::ENOTEMPTY)
            } else {
                match (snode, m.names.get(&dst).copied()) {
                    (_, None) => Ok(()),
                    (Node::File(a), Some(Node::File(b))) if a == b => Ok(()),
                    (Node::File(_), Some(Node::File(_))) => Ok(()),
                    (Node::File(_), Some(Node::Dir)) => Err(Errno::EISDIR),
                    (Node::Dir, Some(Node::File(_))) => Err(Errno::ENOTDIR),
                    (Node::Dir, Some(Node::Dir)) => {
                        if m.children(&dst).is_empty() {
                            Ok(())
                        } else {
                            Err(Errno::ENOTEMPTY)
                        }
                    }
                }
            };
            assert_eq!(r, expect, "rename {src} -> {dst}");
            let same_inode =
                matches!((snode, m.names.get(&dst)), (Node::File(a), Some(Node::File(b))) if a == *b);
            if r.is_ok() && src != dst && !same_inode {
                // move src and everything under it
                let moved: Vec<(String, Node)> = m
                    .names
                    .iter()
                    .filter(|(p, _)| **p == src || p.starts_with(&format!("{src}/")))
                    .map(|(p, n)| (p.clone(), *n))
                    .collect();
                m.names.remove(&dst);
                for (p, node) in moved {
                    m.names.remove(&p);
                    m.names.insert(format!("{dst}{}", &p[src.len()..]), node);
                }
            }
        }
        Op::Link(s, d, n) => {
            let files = m.files();
            if files.is_empty() {
                return;
            }
            let src = files[s % files.len()].clone();
            let dirs = m.dirs();
            let ddir = dirs[d % dirs.len()].clone();
            let dst = format!("{ddir}/{}", NAMES[n]);
            let ino = resolve(fs, &src).unwrap();
            let ddi = resolve(fs, &ddir).unwrap();
            let r = fs.link(ino, ddi, NAMES[n].as_bytes());
            if m.names.contains_key(&dst) {
                assert_eq!(r, Err(Errno::EEXIST));
            } else {
                r.unwrap();
                let node = m.names[&src];
                m.names.insert(dst, node);
            }
        }
        Op::Remount => {
            let cached = fs.device().cached();
            let img =
                std::mem::replace(fs, mount_dev(base().clone(), cached)).unmount().unwrap().into_image();
            *fs = mount_dev(img, cached);
        }
    }
}

fn check(fs: &mut Fs, m: &Model) {
    // every model path resolves to the right contents and link count
    let mut links: BTreeMap<u32, u16> = BTreeMap::new();
    for node in m.names.values() {
        if let Node::File(id) = node {
            *links.entry(*id).or_default() += 1;
        }
    }
    for (p, node) in &m.names {
        let ino = resolve(fs, p).unwrap();
        let st = fs.stat(ino).unwrap();
        match node {
            Node::File(id) => {
                assert_eq!(&read_all(fs, ino), &m.data[id], "{p}");
                assert_eq!(st.nlink, links[id], "{p}");
            }
            Node::Dir => {
                let subdirs = m.children(p).iter().filter(|c| m.names[*c] == Node::Dir).count();
                assert_eq!(st.nlink as usize, 2 + subdirs, "{p}");
            }
        }
    }
    // and nothing else is there
    for dir in m.dirs() {
        let di = resolve(fs, &dir).unwrap();
        let mut got: Vec<String> = fs
            .list(di)
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e.name).unwrap())
            .filter(|n| n != "." && n != ".." && !(dir.is_empty() && n == "lost+found"))
            .map(|n| format!("{dir}/{n}"))
            .collect();
        got.sort();
        assert_eq!(got, m.children(&dir));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn sequences_match_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops, false);
    }

    /// The same through a six-block write-back cache: blocks borrowed and
    /// changed in place, evicted and read again between the calls.
    #[test]
    fn sequences_through_a_small_cache_match_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops, true);
    }
}
