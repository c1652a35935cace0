//! The fsnotify hooks: which events reach the marks of a watched
//! directory and of a watched file, in Linux's order, with names and move
//! cookies; nothing when no mark exists.

extern crate std;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::Mutex;

use crate::*;

/// Marks that record what they are told, as "tag MASK name".
struct Rec {
    tag: &'static str,
    log: Arc<Mutex<Vec<String>>>,
}

impl NotifyMarks for Rec {
    fn event(&self, mask: u32, cookie: u32, name: Option<&[u8]>, unlinked: bool) {
        let n = name.map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let c = if cookie != 0 { " cookie" } else { "" };
        let u = if unlinked { " unlinked" } else { "" };
        self.log.lock().push(alloc::format!("{} {:#x} {}{}{}", self.tag, mask, n, c, u).trim_end().into());
    }
    fn gone(&self) {
        self.log.lock().push(alloc::format!("{} gone", self.tag));
    }
    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

fn setup() -> (Arc<Inode>, Arc<Mutex<Vec<String>>>) {
    let root = new_ramfs(makedev(0, 9), Arc::new(FixedClock(Timespec::new(1_700_000_000, 0))), None);
    (root, Arc::new(Mutex::new(Vec::new())))
}

fn take(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    core::mem::take(&mut *log.lock())
}

#[test]
fn directory_and_file_events_in_linux_order() {
    let (root, log) = setup();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let d = ctx.mkdir(&root, b"/d", 0o755).unwrap();
    let Opened::File(early) = ctx.open(&root, b"/d/early", O_CREAT | O_RDWR, 0o644).unwrap() else {
        panic!()
    };
    d.set_notify_marks(Some(Arc::new(Rec { tag: "d", log: log.clone() })));
    // a file opened before the watch reports through its directory
    assert_eq!(early.write(b"x").unwrap(), 1);
    assert_eq!(take(&log), ["d 0x2 early"]);
    drop(early);
    assert_eq!(take(&log), ["d 0x8 early"]);
    let Opened::File(f) = ctx.open(&root, b"/d/a", O_CREAT | O_WRONLY, 0o644).unwrap() else { panic!() };
    let a = f.inode().unwrap().clone();
    a.set_notify_marks(Some(Arc::new(Rec { tag: "a", log: log.clone() })));
    f.write(b"hi").unwrap();
    drop(f);
    assert_eq!(take(&log), ["d 0x100 a", "d 0x20 a", "d 0x2 a", "a 0x2", "d 0x8 a", "a 0x8"]);
    ctx.rename(&root, b"/d/a", &root, b"/d/b", 0).unwrap();
    assert_eq!(take(&log), ["d 0x40 a cookie", "d 0x80 b cookie", "a 0x800"]);
    ctx.mkdir(&root, b"/d/s", 0o755).unwrap();
    ctx.rmdir(&root, b"/d/s").unwrap();
    assert_eq!(take(&log), ["d 0x40000100 s", "d 0x40000200 s"]);
    ctx.unlink(&root, b"/d/b").unwrap();
    assert_eq!(take(&log), ["a 0x4", "a 0x400", "a gone", "d 0x200 b"]);
    assert!(!a.is_watched());
}

#[test]
fn unlinked_open_file_and_no_marks() {
    let (root, log) = setup();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let d = ctx.mkdir(&root, b"/d", 0o755).unwrap();
    // nothing watched: nothing told, nothing kept
    let Opened::File(f) = ctx.open(&root, b"/d/f", O_CREAT | O_RDWR, 0o644).unwrap() else { panic!() };
    f.write(b"x").unwrap();
    assert!(!d.is_watched() && !f.inode().unwrap().is_watched());
    d.set_notify_marks(Some(Arc::new(Rec { tag: "d", log: log.clone() })));
    ctx.unlink(&root, b"/d/f").unwrap();
    f.write(b"y").unwrap();
    assert_eq!(take(&log), ["d 0x200 f", "d 0x2 f unlinked"]);
}

/// Every entry of a big directory learns its watched parent (the hints
/// are set a batch at a time); marks cleared when their last watch goes
/// (`clear_notify_marks_if`) give the fast path back to the directory
/// and, at their next event, to its entries (the stale hint goes).
#[test]
fn big_directory_hinted_in_batches_and_flags_cleared_after_the_last_watch() {
    use core::sync::atomic::Ordering;
    let (root, log) = setup();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let d = ctx.mkdir(&root, b"/d", 0o755).unwrap();
    let mut files = Vec::new();
    for i in 0..200 {
        let p = alloc::format!("/d/f{i}");
        let Opened::File(f) = ctx.open(&root, p.as_bytes(), O_CREAT | O_RDWR, 0o644).unwrap() else {
            panic!()
        };
        files.push(f);
    }
    let marks: Arc<dyn NotifyMarks> = Arc::new(Rec { tag: "d", log: log.clone() });
    let m = d.notify_marks_or_insert(|| marks.clone(), |_| true);
    assert!(Arc::ptr_eq(&m, &marks));
    files[0].write(b"x").unwrap();
    files[199].write(b"x").unwrap();
    assert_eq!(take(&log), ["d 0x2 f0", "d 0x2 f199"]);
    // marks not accepted as live are replaced
    let other: Arc<dyn NotifyMarks> = Arc::new(Rec { tag: "e", log: log.clone() });
    let m2 = d.notify_marks_or_insert(|| other.clone(), |_| false);
    assert!(Arc::ptr_eq(&m2, &other));
    // clearing the old ones is a no-op; the current ones, cleared
    assert!(d.clear_notify_marks_if(&marks).is_none());
    assert!(d.is_watched());
    assert!(d.clear_notify_marks_if(&other).is_some());
    assert!(!d.is_watched());
    assert_eq!(d.notify_word.load(Ordering::Relaxed), 0);
    let a = files[7].inode().unwrap().clone();
    assert_ne!(a.notify_word.load(Ordering::Relaxed), 0, "the hint is still there");
    files[7].write(b"y").unwrap();
    assert!(take(&log).is_empty());
    assert_eq!(a.notify_word.load(Ordering::Relaxed), 0, "the stale hint went");
    // watched again: hinted again
    d.set_notify_marks(Some(marks.clone()));
    files[7].write(b"z").unwrap();
    assert_eq!(take(&log), ["d 0x2 f7"]);
}
