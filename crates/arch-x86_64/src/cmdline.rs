//! The kernel command line: space-separated `key` or `key=value` words.

/// A parsed view of the kernel command line.
///
/// ```
/// use arch_x86_64::cmdline::Cmdline;
/// let c = Cmdline::new("log=debug ktest ktest.start=3");
/// assert_eq!(c.get("log"), Some("debug"));
/// assert!(c.has("ktest"));
/// assert_eq!(c.get_u64("ktest.start"), Some(3));
/// assert_eq!(c.get("missing"), None);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Cmdline<'a> {
    text: &'a str,
}

impl<'a> Cmdline<'a> {
    /// Wraps the raw command line.
    pub const fn new(text: &'a str) -> Self {
        Cmdline { text }
    }

    /// The raw text.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// Every `(key, value)` pair in order; a bare word has the value `""`.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.text.split_ascii_whitespace().map(|w| w.split_once('=').unwrap_or((w, "")))
    }

    /// The value of the last `key=value` for `key` (a later word wins), or
    /// `""` for a bare `key`.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.iter().filter(|(k, _)| *k == key).map(|(_, v)| v).last()
    }

    /// Whether `key` appears, bare or with a value.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value of `key` as a decimal (or `0x` hexadecimal) number.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        let v = self.get(key)?;
        match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => v.parse().ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cmdline;

    #[test]
    fn later_words_win_and_values_parse() {
        let c = Cmdline::new("  log=info  log=trace n=0x10 bad=12x flag ");
        assert_eq!(c.get("log"), Some("trace"));
        assert_eq!(c.get_u64("n"), Some(16));
        assert_eq!(c.get_u64("bad"), None);
        assert_eq!(c.get("flag"), Some(""));
        assert_eq!(c.iter().count(), 5);
    }
}
