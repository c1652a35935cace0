//! Threads' caches of their fs contexts (`FsContextCache`) against a model
//! of threads: random clone (with and without `CLONE_FS`, in the same
//! process or a new one) / unshare(`CLONE_FS`) / setns(`CLONE_NEWNS`) /
//! execve (whose de-thread drops the other threads' handles at once, and
//! which keeps the fs context, as Linux's) / exit / end sequences, with
//! chdir, chroot and umask made through the caches. After each step:
//! `is_shared` counts exactly the threads' handles (no cache), a live
//! thread's cache is of its record's context, and every cache sees its
//! context as the model has it: a change through one cache is seen at once
//! through every cache and handle of the same context (`CLONE_FS`), and
//! never through another.

#![forbid(unsafe_code)]

use fs_table::{DEFAULT_UMASK, FsContext, FsContextCache, SharedFsContext};
use proptest::prelude::*;

/// A model context: (root, cwd, umask), directories named by numbers.
type Ctx = (u32, u32, u32);

struct Thread {
    process: usize,
    /// The record's handle (None once exited or removed by an exec).
    record: Option<SharedFsContext<u32>>,
    cache: FsContextCache<u32>,
    /// The model: the context of the record, the context of the cache.
    ctx: Option<usize>,
    cached: Option<usize>,
}

#[derive(Clone, Debug)]
enum Op {
    Clone { t: usize, fs: bool, thread: bool },
    Unshare { t: usize },
    Setns { t: usize, root: u32 },
    Exec { t: usize },
    Exit { t: usize },
    End { t: usize },
    Chdir { t: usize, dir: u32 },
    Chroot { t: usize, dir: u32 },
    Umask { t: usize, mask: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    let t = any::<usize>();
    let dir = 0u32..8;
    prop_oneof![
        3 => (t, any::<bool>(), any::<bool>()).prop_map(|(t, fs, thread)| Op::Clone { t, fs, thread }),
        1 => t.prop_map(|t| Op::Unshare { t }),
        1 => (t, dir.clone()).prop_map(|(t, root)| Op::Setns { t, root }),
        1 => t.prop_map(|t| Op::Exec { t }),
        1 => t.prop_map(|t| Op::Exit { t }),
        1 => t.prop_map(|t| Op::End { t }),
        4 => (t, dir.clone()).prop_map(|(t, dir)| Op::Chdir { t, dir }),
        1 => (t, dir).prop_map(|(t, dir)| Op::Chroot { t, dir }),
        2 => (t, 0u32..0o2000).prop_map(|(t, mask)| Op::Umask { t, mask }),
    ]
}

struct World {
    threads: Vec<Thread>,
    ctxs: Vec<Ctx>,
    next_process: usize,
}

impl World {
    fn owners(&self, ctx: usize) -> usize {
        self.threads.iter().filter(|t| t.ctx == Some(ctx)).count()
    }

    fn refresh(&mut self, t: usize) {
        let th = &mut self.threads[t];
        th.cache = th.record.as_ref().map_or_else(FsContextCache::none, SharedFsContext::cache);
        th.cached = th.ctx;
    }

    /// The model context thread `t`'s cache reaches.
    fn cached(&mut self, t: usize) -> Option<&mut Ctx> {
        let i = self.threads[t].cached?;
        Some(&mut self.ctxs[i])
    }
}

fn view(fs: &FsContext<u32>) -> Ctx {
    (*fs.root(), *fs.cwd(), fs.umask())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn caches_follow_their_threads_contexts(ops in proptest::collection::vec(op(), 1..100)) {
        let first = SharedFsContext::new(FsContext::new(0, 0));
        let mut w = World {
            threads: vec![Thread { process: 0, cache: first.cache(), record: Some(first), ctx: Some(0), cached: Some(0) }],
            ctxs: vec![(0, 0, DEFAULT_UMASK)],
            next_process: 1,
        };
        for op in ops {
            if w.threads.is_empty() {
                break;
            }
            let n = w.threads.len();
            match op {
                Op::Clone { t, fs, thread } => {
                    let t = t % n;
                    let Some(rec) = &w.threads[t].record else { continue };
                    let (record, ctx) = if fs {
                        (rec.share(), w.threads[t].ctx)
                    } else {
                        let copy = rec.fork();
                        w.ctxs.push(w.ctxs[w.threads[t].ctx.unwrap()]);
                        (copy, Some(w.ctxs.len() - 1))
                    };
                    let process = if thread {
                        w.threads[t].process
                    } else {
                        w.next_process += 1;
                        w.next_process
                    };
                    let cache = record.cache();
                    w.threads.push(Thread { process, record: Some(record), cache, ctx, cached: ctx });
                }
                Op::Unshare { t } => {
                    let t = t % n;
                    let Some(ctx) = w.threads[t].ctx else { continue };
                    let shared = w.owners(ctx) > 1;
                    w.threads[t].record.as_mut().unwrap().unshare();
                    if shared {
                        w.ctxs.push(w.ctxs[ctx]);
                        w.threads[t].ctx = Some(w.ctxs.len() - 1);
                    }
                    w.refresh(t);
                }
                Op::Setns { t, root } => {
                    // mntns_install(): EINVAL unless the context is the
                    // caller's alone; else root and cwd both move, in place
                    let t = t % n;
                    let Some(ctx) = w.threads[t].ctx else { continue };
                    let rec = w.threads[t].record.as_ref().unwrap();
                    if rec.is_shared() {
                        prop_assert!(w.owners(ctx) > 1);
                        continue;
                    }
                    prop_assert_eq!(w.owners(ctx), 1);
                    let (old_root, old_cwd) = {
                        let mut g = w.threads[t].cache.lock().unwrap();
                        (g.set_root(root), g.set_cwd(root))
                    };
                    let m = &mut w.ctxs[ctx];
                    prop_assert_eq!((old_root, old_cwd), (m.0, m.1));
                    (m.0, m.1) = (root, root);
                }
                Op::Exec { t } => {
                    let t = t % n;
                    let Some(_) = w.threads[t].ctx else { continue };
                    // de_thread: the process's other threads lose their
                    // handles at once (their caches stay until they end);
                    // the fs context is kept (shared or not)
                    let process = w.threads[t].process;
                    for o in 0..n {
                        if o != t && w.threads[o].process == process && w.threads[o].record.is_some() {
                            w.threads[o].record = None;
                            w.threads[o].ctx = None;
                        }
                    }
                    w.refresh(t);
                }
                Op::Exit { t } => {
                    let t = t % n;
                    w.threads[t].record = None;
                    w.threads[t].ctx = None;
                }
                Op::End { t } => {
                    let t = t % n;
                    let th = w.threads.swap_remove(t);
                    drop(th.record);
                    drop(th.cache);
                }
                Op::Chdir { t, dir } => {
                    let t = t % n;
                    let got = w.threads[t].cache.lock().map(|mut g| g.set_cwd(dir));
                    let want = w.cached(t).map(|m| core::mem::replace(&mut m.1, dir));
                    prop_assert_eq!(got, want);
                }
                Op::Chroot { t, dir } => {
                    let t = t % n;
                    let got = w.threads[t].cache.lock().map(|mut g| g.set_root(dir));
                    let want = w.cached(t).map(|m| core::mem::replace(&mut m.0, dir));
                    prop_assert_eq!(got, want);
                }
                Op::Umask { t, mask } => {
                    let t = t % n;
                    let got = w.threads[t].cache.lock().map(|mut g| g.set_umask(mask));
                    let want = w.cached(t).map(|m| core::mem::replace(&mut m.2, mask & 0o777));
                    prop_assert_eq!(got, want);
                }
            }
            // is_shared counts the handles only; a live thread's cache is
            // of its record's context; each cache and handle sees its
            // context as the model has it
            for (i, th) in w.threads.iter().enumerate() {
                if let (Some(rec), Some(ctx)) = (&th.record, th.ctx) {
                    prop_assert_eq!(rec.is_shared(), w.owners(ctx) > 1, "thread {}", i);
                    prop_assert!(th.cache.is_of(rec), "thread {}'s cache is stale", i);
                    prop_assert_eq!(view(&rec.lock()), w.ctxs[ctx], "thread {}'s record", i);
                }
                let got = th.cache.lock().map(|g| view(&g));
                let want = th.cached.map(|c| w.ctxs[c]);
                prop_assert_eq!(got, want, "thread {}'s cache", i);
                // an owner comes back from a cache only while a record
                // holds the context
                let owned = th.cached.is_some_and(|c| w.owners(c) > 0);
                prop_assert_eq!(th.cache.upgrade().is_some(), owned, "thread {}'s upgrade", i);
            }
        }
    }
}

/// A cache is no owner: a thread's own context is not shared because the
/// thread caches it, and unshare(CLONE_FS) of it makes no copy.
#[test]
fn a_cache_does_not_make_a_context_shared() {
    let mut rec = SharedFsContext::new(FsContext::new("/", "/home"));
    let cache = rec.cache();
    assert!(!rec.is_shared());
    assert!(cache.is_of(&rec));
    let other = rec.share();
    assert!(rec.is_shared() && other.is_shared());
    drop(other);
    assert!(!rec.is_shared());
    rec.unshare();
    assert!(cache.is_of(&rec));
    assert!(format!("{rec:?}").contains("owners: 1"));
}

/// chdir through one CLONE_FS sharer's cache is seen at once by the other's;
/// after unshare(CLONE_FS) (and the refresh) it is not.
#[test]
fn a_chdir_is_seen_by_sharers_until_unshare() {
    let a = SharedFsContext::new(FsContext::new("/", "/"));
    let mut b = a.share();
    let (ca, mut cb) = (a.cache(), b.cache());
    ca.lock().unwrap().set_cwd("/tmp");
    assert_eq!(*cb.lock().unwrap().cwd(), "/tmp");
    cb.lock().unwrap().set_umask(0o77);
    assert_eq!(ca.lock().unwrap().umask(), 0o77);
    b.unshare();
    // the stale cache still reaches the old context: refreshed, it follows b
    assert!(!cb.is_of(&b));
    cb = b.cache();
    ca.lock().unwrap().set_cwd("/home");
    assert_eq!(*cb.lock().unwrap().cwd(), "/tmp");
    assert!(!a.is_shared() && !b.is_shared());
}

/// The last handle's drop leaves the context to its caches (nothing in it
/// needs closing), but no owner comes back from them.
#[test]
fn a_cache_outlives_the_handles_without_owning() {
    let rec = SharedFsContext::new(FsContext::new("/", "/home"));
    let cache = rec.cache();
    let up = cache.upgrade().unwrap();
    assert!(rec.is_shared());
    drop(rec);
    assert!(!up.is_shared());
    drop(up);
    assert!(cache.upgrade().is_none());
    assert_eq!(*cache.lock().unwrap().cwd(), "/home");
    let weak = {
        let r = SharedFsContext::new(FsContext::new("/", "/"));
        r.downgrade()
    };
    assert!(weak.upgrade().is_none());
    assert!(FsContextCache::<&str>::none().lock().is_none());
    assert!(FsContextCache::<&str>::default().upgrade().is_none());
}
