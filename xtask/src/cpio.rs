//! A cpio "newc" archive writer, for the initramfs.

/// Builds archives in memory.
#[derive(Default)]
pub struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn header(&mut self, name: &str, mode: u32, size: usize, rdev: (u32, u32)) {
        self.ino += 1;
        let (major, minor) = rdev;
        let fields = [self.ino, mode, 0, 0, 1, 0, size as u32, 0, 0, major, minor, name.len() as u32 + 1, 0];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    /// Adds a directory.
    pub fn dir(&mut self, name: &str) {
        self.header(name, 0o040755, 0, (0, 0));
    }

    /// Adds a regular file with `mode` permission bits.
    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.header(name, 0o100000 | (mode & 0o7777), data.len(), (0, 0));
        self.out.extend_from_slice(data);
        self.pad();
    }

    /// Adds a character device node (e.g. `dev/console`, major 5, minor 1).
    pub fn char_dev(&mut self, name: &str, mode: u32, major: u32, minor: u32) {
        self.header(name, 0o020000 | (mode & 0o7777), 0, (major, minor));
    }

    /// Adds a symbolic link `name` -> `target`.
    pub fn symlink(&mut self, name: &str, target: &str) {
        self.header(name, 0o120777, target.len(), (0, 0));
        self.out.extend_from_slice(target.as_bytes());
        self.pad();
    }

    /// The finished archive (with its trailer).
    pub fn finish(mut self) -> Vec<u8> {
        self.header("TRAILER!!!", 0, 0, (0, 0));
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::Cpio;

    #[test]
    fn newc_layout() {
        let mut c = Cpio::default();
        c.file("a", 0o644, b"xyz");
        let out = c.finish();
        assert_eq!(&out[..6], b"070701");
        // header is 110 bytes, then "a\0" padded to 112, then data padded
        assert_eq!(&out[110..112], b"a\0");
        assert_eq!(&out[112..115], b"xyz");
        assert_eq!(&out[6 + 6 * 8..6 + 7 * 8], b"00000003", "file size field");
        assert!(out.windows(10).any(|w| w == b"TRAILER!!!"));
        assert_eq!(out.len() % 4, 0);
    }

    #[test]
    fn char_device_node() {
        let mut c = Cpio::default();
        c.char_dev("dev/console", 0o600, 5, 1);
        let out = c.finish();
        let field = |i: usize| &out[6 + i * 8..6 + (i + 1) * 8];
        assert_eq!(field(1), b"00002180", "mode: S_IFCHR | 0600");
        assert_eq!(field(6), b"00000000", "no data");
        assert_eq!(field(9), b"00000005", "rdevmajor");
        assert_eq!(field(10), b"00000001", "rdevminor");
        assert_eq!(&out[110..122], b"dev/console\0");
    }
}
