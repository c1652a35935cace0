//! The `vm` component crate (placeholder: its own issue fills it).
//!
//! ```
//! assert_eq!(vm::NAME, "vm");
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

/// The crate's name.
pub const NAME: &str = "vm";

#[cfg(test)]
mod tests {
    #[test]
    fn name() {
        assert_eq!(super::NAME, "vm");
    }
}
