//! The `process` component crate (placeholder: its own issue fills it).
//!
//! ```
//! assert_eq!(process::NAME, "process");
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

/// The crate's name.
pub const NAME: &str = "process";

#[cfg(test)]
mod tests {
    #[test]
    fn name() {
        assert_eq!(super::NAME, "process");
    }
}
