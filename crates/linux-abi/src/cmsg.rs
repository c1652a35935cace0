//! One control message of recvmsg(2) as the kernel's protocol layers hand
//! it to the socket layer: `cmsg_level`, `cmsg_type` and the data, before
//! `put_cmsg` writes it (header, data, padding) into the user's buffer.
//!
//! ```
//! use linux_abi::cmsg::Cmsg;
//! let c = Cmsg::new(0, 2, &64i32.to_ne_bytes());
//! assert_eq!((c.level, c.ty, c.data()), (0, 2, &64i32.to_ne_bytes()[..]));
//! assert_eq!(Cmsg::new(41, 74, &[7; 40]).data().len(), Cmsg::MAX);
//! ```

/// `sizeof(struct cmsghdr)` on x86_64: `cmsg_len` (8 bytes), `cmsg_level`
/// and `cmsg_type` (4 each).
pub const CMSG_HDR: usize = 16;

/// One received control message: level, type and up to [`Cmsg::MAX`]
/// bytes of data, held by value (no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cmsg {
    /// cmsg_level.
    pub level: i32,
    /// cmsg_type.
    pub ty: i32,
    len: usize,
    bytes: [u8; Cmsg::MAX],
}

impl Cmsg {
    /// The most data a message holds: 28 bytes, the largest the kernel
    /// hands back (`IPV6_ORIGDSTADDR`'s `struct sockaddr_in6`).
    pub const MAX: usize = 28;

    /// A message with `data` (cut at [`Cmsg::MAX`] bytes).
    pub fn new(level: i32, ty: i32, data: &[u8]) -> Cmsg {
        let mut bytes = [0; Cmsg::MAX];
        let len = data.len().min(Cmsg::MAX);
        bytes[..len].copy_from_slice(&data[..len]);
        Cmsg { level, ty, len, bytes }
    }

    /// The message's data (without its header).
    pub fn data(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}
