//! Plain values copied to and from user memory byte for byte: integers,
//! byte arrays and the `#[repr(C)]` ABI structs of [`crate::abi`].
//!
//! ```
//! use linux_abi::abi::Timespec;
//! use linux_abi::pod::Pod;
//! let ts = Timespec { tv_sec: 3, tv_nsec: 7 };
//! let mut b = [0u8; 16];
//! ts.to_bytes(&mut b);
//! assert_eq!(b[0], 3);
//! assert_eq!(b[8], 7);
//! assert_eq!(Timespec::from_bytes(&b), ts);
//! ```

/// A plain value that can be copied to and from user memory byte for byte.
/// Bytes are in the machine's native order; a struct is its fields one after
/// the other (the ABI structs have no padding: [`abi_struct!`](crate::abi_struct) checks it).
pub trait Pod: Copy {
    /// The size in bytes.
    const SIZE: usize;
    /// The value from the first `SIZE` bytes of `bytes` (which has at least
    /// that many).
    fn from_bytes(bytes: &[u8]) -> Self;
    /// Writes the value into the first `SIZE` bytes of `out`.
    fn to_bytes(&self, out: &mut [u8]);
}

macro_rules! pod_int {
    ($($t:ty),*) => {$(
        impl Pod for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            fn from_bytes(bytes: &[u8]) -> Self {
                let mut raw = [0u8; core::mem::size_of::<$t>()];
                raw.copy_from_slice(&bytes[..Self::SIZE]);
                <$t>::from_ne_bytes(raw)
            }
            fn to_bytes(&self, out: &mut [u8]) {
                out[..Self::SIZE].copy_from_slice(&self.to_ne_bytes());
            }
        }
    )*};
}

pod_int!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

impl<T: Pod, const N: usize> Pod for [T; N] {
    const SIZE: usize = N * T::SIZE;
    fn from_bytes(bytes: &[u8]) -> Self {
        core::array::from_fn(|i| T::from_bytes(&bytes[i * T::SIZE..]))
    }
    fn to_bytes(&self, out: &mut [u8]) {
        for (i, v) in self.iter().enumerate() {
            v.to_bytes(&mut out[i * T::SIZE..]);
        }
    }
}

/// Declares a `#[repr(C)]` ABI struct whose fields are [`Pod`] and
/// implements [`Pod`] for it field by field; a compile-time check refuses a
/// struct with padding (its bytes would not be the fields').
#[macro_export]
macro_rules! abi_struct {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident: $t:ty,)* }) => {
        $(#[$m])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name { $($(#[$fm])* pub $f: $t,)* }

        impl $crate::pod::Pod for $name {
            const SIZE: usize = core::mem::size_of::<$name>();
            fn from_bytes(bytes: &[u8]) -> Self {
                let mut at = 0;
                $(
                    let $f = <$t as $crate::pod::Pod>::from_bytes(&bytes[at..]);
                    at += <$t as $crate::pod::Pod>::SIZE;
                )*
                let _ = at;
                Self { $($f,)* }
            }
            fn to_bytes(&self, out: &mut [u8]) {
                let mut at = 0;
                $(
                    // a copy: a packed struct's field has no reference
                    let $f = self.$f;
                    <$t as $crate::pod::Pod>::to_bytes(&$f, &mut out[at..]);
                    at += <$t as $crate::pod::Pod>::SIZE;
                )*
                let _ = at;
            }
        }

        const _: () = assert!(
            0 $(+ <$t as $crate::pod::Pod>::SIZE)* == core::mem::size_of::<$name>(),
            "an ABI struct has no padding"
        );
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_round_trip_in_native_order() {
        let mut b = [0u8; 8];
        0x0102_0304_0506_0708u64.to_bytes(&mut b);
        assert_eq!(b, 0x0102_0304_0506_0708u64.to_ne_bytes());
        assert_eq!(u64::from_bytes(&b), 0x0102_0304_0506_0708);
        (-2i32).to_bytes(&mut b);
        assert_eq!(i32::from_bytes(&b), -2);
        assert_eq!(u32::from_bytes(&b), 0xffff_fffe);
    }

    #[test]
    fn arrays_round_trip() {
        let a = [1u8, 2, 3];
        let mut b = [9u8; 5];
        a.to_bytes(&mut b);
        assert_eq!(b, [1, 2, 3, 9, 9]);
        assert_eq!(<[u8; 3]>::from_bytes(&b), a);
        // pipe(2)'s int[2]
        let fds = [3i32, -1];
        let mut b = [0u8; 8];
        fds.to_bytes(&mut b);
        assert_eq!(b[..4], 3i32.to_ne_bytes());
        assert_eq!(b[4..], (-1i32).to_ne_bytes());
        assert_eq!(<[i32; 2]>::from_bytes(&b), fds);
        assert_eq!(<[i32; 2]>::SIZE, 8);
    }
}
