//! The `fs-table` component crate (placeholder: its own issue fills it).
//!
//! ```
//! assert_eq!(fs_table::NAME, "fs-table");
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

/// The crate's name.
pub const NAME: &str = "fs-table";

#[cfg(test)]
mod tests {
    #[test]
    fn name() {
        assert_eq!(super::NAME, "fs-table");
    }
}
