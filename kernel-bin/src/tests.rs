//! In-kernel tests of kernel-bin itself.

use arch_x86_64::ktest;

ktest!(
    fn component_crates_link() {
        assert_eq!(linux_abi::Errno::ENOSYS.as_i32(), 38);
        let v: alloc::vec::Vec<u32> = (0..1000).collect();
        assert_eq!(v.iter().sum::<u32>(), 499_500);
    }
);
