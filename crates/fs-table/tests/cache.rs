//! Threads' caches of their fd tables (`FileTableCache`) against a model of
//! threads: random clone (with and without `CLONE_FILES`, in the same
//! process or a new one) / unshare / execve (whose de-thread drops the other
//! threads' handles at once) / exit / end sequences, with descriptor calls
//! made through the caches. After each step: `is_shared` counts exactly the
//! threads' handles (no cache), a call through a cache reaches its thread's
//! table or is `EBADF` once no handle holds that table, and a file is still
//! referenced exactly while some table a handle holds has it open (a table
//! loses its files when its last handle goes, whatever caches remain).

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use fs_table::{CLOSE_RANGE_CLOEXEC, FileTable, FileTableCache, SharedFileTable};
use linux_abi::Errno;
use proptest::prelude::*;

const NOFILE: u64 = 16;

/// A model table: fd -> (file id, close-on-exec).
type Table = BTreeMap<u32, (u32, bool)>;

struct Thread {
    process: usize,
    /// The record's handle (None once exited or removed by an exec).
    record: Option<SharedFileTable<u32>>,
    cache: FileTableCache<u32>,
    /// The model: the table of the record, the table of the cache.
    table: Option<usize>,
    cached: Option<usize>,
}

#[derive(Clone, Debug)]
enum Op {
    Clone { t: usize, files: bool, thread: bool },
    Unshare { t: usize },
    Exec { t: usize },
    Exit { t: usize },
    End { t: usize },
    Insert { t: usize, cloexec: bool },
    Close { t: usize, fd: u32 },
    CloseRange { t: usize, first: u32, last: u32, cloexec: bool },
    Dup2 { t: usize, old: u32, new: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    let t = any::<usize>();
    let fd = 0u32..10;
    prop_oneof![
        3 => (t, any::<bool>(), any::<bool>()).prop_map(|(t, files, thread)| Op::Clone { t, files, thread }),
        1 => t.prop_map(|t| Op::Unshare { t }),
        1 => t.prop_map(|t| Op::Exec { t }),
        1 => t.prop_map(|t| Op::Exit { t }),
        1 => t.prop_map(|t| Op::End { t }),
        6 => (t, any::<bool>()).prop_map(|(t, cloexec)| Op::Insert { t, cloexec }),
        2 => (t, fd.clone()).prop_map(|(t, fd)| Op::Close { t, fd }),
        1 => (t, fd.clone(), fd.clone(), any::<bool>())
            .prop_map(|(t, first, last, cloexec)| Op::CloseRange { t, first, last, cloexec }),
        1 => (t, fd.clone(), fd).prop_map(|(t, old, new)| Op::Dup2 { t, old, new }),
    ]
}

struct World {
    threads: Vec<Thread>,
    tables: Vec<Table>,
    /// Every file made, to see whether a table still references it.
    files: BTreeMap<u32, Arc<u32>>,
    next_process: usize,
}

impl World {
    fn owners(&self, table: usize) -> usize {
        self.threads.iter().filter(|t| t.table == Some(table)).count()
    }

    /// A thread's record went: a table with no handle left is emptied.
    fn dropped(&mut self, table: Option<usize>) {
        if let Some(i) = table
            && self.owners(i) == 0
        {
            self.tables[i].clear();
        }
    }

    /// The model's answer to a call through thread `t`'s cache.
    fn cached_table(&mut self, t: usize) -> Option<&mut Table> {
        let i = self.threads[t].cached?;
        if self.owners(i) == 0 { None } else { Some(&mut self.tables[i]) }
    }

    fn refresh(&mut self, t: usize) {
        let th = &mut self.threads[t];
        th.cache = th.record.as_ref().map_or_else(FileTableCache::none, SharedFileTable::cache);
        th.cached = th.table;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn caches_follow_their_threads_tables(ops in proptest::collection::vec(op(), 1..100)) {
        let first = SharedFileTable::new(FileTable::new());
        let mut w = World {
            threads: vec![Thread { process: 0, cache: first.cache(), record: Some(first), table: Some(0), cached: Some(0) }],
            tables: vec![Table::new()],
            files: BTreeMap::new(),
            next_process: 1,
        };
        let mut next_id = 0u32;
        for op in ops {
            next_id += 1;
            if w.threads.is_empty() {
                break;
            }
            let n = w.threads.len();
            match op {
                Op::Clone { t, files, thread } => {
                    let t = t % n;
                    let Some(rec) = &w.threads[t].record else { continue };
                    let (record, table) = if files {
                        (rec.share(), w.threads[t].table)
                    } else {
                        let copy = rec.fork().unwrap();
                        w.tables.push(w.tables[w.threads[t].table.unwrap()].clone());
                        (copy, Some(w.tables.len() - 1))
                    };
                    let process = if thread {
                        w.threads[t].process
                    } else {
                        w.next_process += 1;
                        w.next_process
                    };
                    let cache = record.cache();
                    w.threads.push(Thread { process, record: Some(record), cache, table, cached: table });
                }
                Op::Unshare { t } => {
                    let t = t % n;
                    let Some(table) = w.threads[t].table else { continue };
                    let shared = w.owners(table) > 1;
                    w.threads[t].record.as_mut().unwrap().unshare().unwrap();
                    if shared {
                        w.tables.push(w.tables[table].clone());
                        w.threads[t].table = Some(w.tables.len() - 1);
                    }
                    w.refresh(t);
                }
                Op::Exec { t } => {
                    let t = t % n;
                    let Some(_) = w.threads[t].table else { continue };
                    // de_thread: the process's other threads lose their
                    // handles at once (their caches stay until they end)
                    let process = w.threads[t].process;
                    for o in 0..n {
                        if o != t && w.threads[o].process == process && w.threads[o].record.is_some() {
                            w.threads[o].record = None;
                            let old = w.threads[o].table.take();
                            w.dropped(old);
                        }
                    }
                    // unshare_files(), then the close-on-exec sweep
                    let table = w.threads[t].table.unwrap();
                    let shared = w.owners(table) > 1;
                    let rec = w.threads[t].record.as_mut().unwrap();
                    rec.unshare().unwrap();
                    let closed: Vec<u32> = rec.close_on_exec().iter().map(|f| **f).collect();
                    let mut i = table;
                    if shared {
                        w.tables.push(w.tables[table].clone());
                        i = w.tables.len() - 1;
                        w.threads[t].table = Some(i);
                    }
                    let want: Vec<u32> = w.tables[i].values().filter(|e| e.1).map(|e| e.0).collect();
                    w.tables[i].retain(|_, e| !e.1);
                    prop_assert_eq!(closed, want);
                    w.refresh(t);
                }
                Op::Exit { t } => {
                    let t = t % n;
                    w.threads[t].record = None;
                    let old = w.threads[t].table.take();
                    w.dropped(old);
                }
                Op::End { t } => {
                    let t = t % n;
                    let th = w.threads.swap_remove(t);
                    drop(th.record);
                    drop(th.cache);
                    w.dropped(th.table);
                }
                Op::Insert { t, cloexec } => {
                    let t = t % n;
                    let file = Arc::new(next_id);
                    w.files.insert(next_id, file.clone());
                    let got = w.threads[t].cache.lock().and_then(|mut g| g.insert(file, cloexec, NOFILE));
                    let want = match w.cached_table(t) {
                        None => Err(Errno::EBADF),
                        Some(m) => {
                            let fd = (0..NOFILE as u32).find(|fd| !m.contains_key(fd)).ok_or(Errno::EMFILE);
                            if let Ok(fd) = fd {
                                m.insert(fd, (next_id, cloexec));
                            }
                            fd
                        }
                    };
                    prop_assert_eq!(got, want);
                }
                Op::Close { t, fd } => {
                    let t = t % n;
                    let got = w.threads[t].cache.close(fd).map(|f| *f);
                    let want = match w.cached_table(t) {
                        None => Err(Errno::EBADF),
                        Some(m) => m.remove(&fd).map(|e| e.0).ok_or(Errno::EBADF),
                    };
                    prop_assert_eq!(got, want);
                }
                Op::CloseRange { t, first, last, cloexec } => {
                    let t = t % n;
                    let (first, last) = (first.min(last), first.max(last));
                    let flags = if cloexec { CLOSE_RANGE_CLOEXEC } else { 0 };
                    let got = w.threads[t].cache.close_range(first, last, flags).map(|v| {
                        v.iter().map(|f| **f).collect::<Vec<_>>()
                    });
                    let want = match w.cached_table(t) {
                        None => Err(Errno::EBADF),
                        Some(m) => {
                            let fds: Vec<u32> = m.range(first..=last).map(|(fd, _)| *fd).collect();
                            let mut closed = Vec::new();
                            for fd in fds {
                                if cloexec {
                                    m.get_mut(&fd).unwrap().1 = true;
                                } else {
                                    closed.push(m.remove(&fd).unwrap().0);
                                }
                            }
                            Ok(closed)
                        }
                    };
                    prop_assert_eq!(got, want);
                }
                Op::Dup2 { t, old, new } => {
                    let t = t % n;
                    let got = w.threads[t].cache.dup2(old, new, NOFILE).map(|f| f.map(|f| *f));
                    let want = match w.cached_table(t) {
                        None => Err(Errno::EBADF),
                        Some(m) => match m.get(&old).copied() {
                            None => Err(Errno::EBADF),
                            Some(_) if old == new => Ok(None),
                            Some((id, _)) => Ok(m.insert(new, (id, false)).map(|e| e.0)),
                        },
                    };
                    prop_assert_eq!(got, want);
                }
            }
            // is_shared counts the handles only; each cache sees its table
            for (i, th) in w.threads.iter().enumerate() {
                if let (Some(rec), Some(table)) = (&th.record, th.table) {
                    prop_assert_eq!(rec.is_shared(), w.owners(table) > 1, "thread {}", i);
                }
                let got = th.cache.lock().map(|g| {
                    g.iter().map(|(fd, f)| (fd, **f, g.fd_flags(fd) == Ok(fs_table::FD_CLOEXEC))).collect::<Vec<_>>()
                });
                let want = match th.cached {
                    Some(c) if w.owners(c) > 0 => {
                        Ok(w.tables[c].iter().map(|(fd, e)| (*fd, e.0, e.1)).collect::<Vec<_>>())
                    }
                    _ => Err(Errno::EBADF),
                };
                prop_assert_eq!(got, want, "thread {}'s cache", i);
            }
            // a file is referenced exactly while a held table has it open
            for (id, f) in &w.files {
                let open = (0..w.tables.len())
                    .any(|i| w.owners(i) > 0 && w.tables[i].values().any(|e| e.0 == *id));
                prop_assert_eq!(Arc::strong_count(f) > 1, open, "file {}", id);
            }
        }
    }
}

/// A cache is no owner: a thread's own table is not shared because the
/// thread caches it, and it is shared while another handle holds it.
#[test]
fn a_cache_does_not_make_a_table_shared() {
    let mut rec = SharedFileTable::<u32>::new(FileTable::new());
    let cache = rec.cache();
    assert!(!rec.is_shared());
    assert!(cache.is_of(&rec));
    let other = rec.share();
    assert!(rec.is_shared() && other.is_shared());
    drop(other);
    assert!(!rec.is_shared());
    // unshare(2) of a table only the cache also references: no copy
    rec.unshare().unwrap();
    assert!(cache.is_of(&rec));
}

/// The last handle's drop empties the table at once: a file open only there
/// is released although a cache still points at the table, and the cache
/// then gets EBADF for every call (nothing can be installed any more).
#[test]
fn the_last_handle_closes_the_table_under_the_caches() {
    let rec = SharedFileTable::<u32>::new(FileTable::new());
    let cache = rec.cache();
    let file = Arc::new(7);
    assert_eq!(cache.lock().unwrap().insert(file.clone(), false, NOFILE), Ok(0));
    assert_eq!(*cache.get(0).unwrap(), 7);
    assert_eq!(Arc::strong_count(&file), 2);
    drop(rec);
    assert_eq!(Arc::strong_count(&file), 1);
    assert_eq!(cache.get(0).unwrap_err(), Errno::EBADF);
    assert_eq!(cache.lock().err(), Some(Errno::EBADF));
    assert_eq!(cache.close(0).unwrap_err(), Errno::EBADF);
    assert_eq!(cache.dup2(0, 1, NOFILE).unwrap_err(), Errno::EBADF);
    assert_eq!(cache.close_range(0, 5, 0).unwrap_err(), Errno::EBADF);
    // and no handle comes back from it
    assert!(cache.upgrade().is_none());
    assert!(FileTableCache::<u32>::none().lock().is_err());
}

/// An upgrade while a handle lives is an owner like a share.
#[test]
fn a_cache_upgrade_is_an_owner() {
    let rec = SharedFileTable::<u32>::new(FileTable::new());
    let cache = rec.cache();
    let up = cache.upgrade().unwrap();
    assert!(rec.is_shared());
    drop(rec);
    assert!(!up.is_shared());
    assert!(cache.lock().is_ok());
    drop(up);
    assert!(cache.lock().is_err());
}

/// close_range(2)'s CLOSE_RANGE_UNSHARE replaces the thread's handle, which
/// a cache cannot do: EINVAL, after the argument checks of any close_range.
#[test]
fn a_cache_refuses_close_range_unshare() {
    let rec = SharedFileTable::<u32>::new(FileTable::new());
    let cache = rec.cache();
    assert_eq!(cache.close_range(3, 2, 0).unwrap_err(), Errno::EINVAL);
    assert_eq!(cache.close_range(0, 2, fs_table::CLOSE_RANGE_UNSHARE).unwrap_err(), Errno::EINVAL);
    assert_eq!(cache.close_range(0, 2, 0x80).unwrap_err(), Errno::EINVAL);
}
