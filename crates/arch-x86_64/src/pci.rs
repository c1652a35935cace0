//! PCI configuration space through the legacy configuration ports
//! (0xCF8 address, 0xCFC data; "configuration mechanism #1"), which QEMU's
//! q35 keeps next to its ECAM window. The ports reach the first 256 bytes of
//! each function's space, which is all a virtio device's capabilities need,
//! and need no ACPI (MCFG) parser. Bus 0 is scanned, and the buses behind
//! PCI-to-PCI bridges that the firmware numbered.

use alloc::vec::Vec;
use virtio_drivers::transport::pci::bus::{
    ConfigurationAccess, DeviceFunction, DeviceFunctionInfo, HeaderType, PciRoot,
};
use x86_64::instructions::port::Port;

const CONFIG_ADDRESS: u16 = 0xcf8;
const CONFIG_DATA: u16 = 0xcfc;

/// Configuration access through the ports 0xCF8/0xCFC.
#[derive(Debug)]
pub struct PortCam;

fn address(df: DeviceFunction, offset: u8) -> u32 {
    0x8000_0000
        | u32::from(df.bus) << 16
        | u32::from(df.device & 0x1f) << 11
        | u32::from(df.function & 7) << 8
        | u32::from(offset & 0xfc)
}

impl ConfigurationAccess for PortCam {
    fn read_word(&self, df: DeviceFunction, offset: u8) -> u32 {
        crate::cpu::without_interrupts(|| {
            // SAFETY: the PCI configuration ports; an address write selects a
            // function's dword and the data read returns it (all ones when no
            // function answers). Interrupts are off so that nothing else
            // selects another address in between (one CPU runs).
            unsafe {
                Port::<u32>::new(CONFIG_ADDRESS).write(address(df, offset));
                Port::<u32>::new(CONFIG_DATA).read()
            }
        })
    }

    fn write_word(&mut self, df: DeviceFunction, offset: u8, data: u32) {
        crate::cpu::without_interrupts(|| {
            // SAFETY: as in read_word; the write goes to the selected dword of
            // a device's configuration space, which only the driver of that
            // device changes.
            unsafe {
                Port::<u32>::new(CONFIG_ADDRESS).write(address(df, offset));
                Port::<u32>::new(CONFIG_DATA).write(data);
            }
        })
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PortCam
    }
}

/// The PCI root over the configuration ports.
pub fn root() -> PciRoot<PortCam> {
    PciRoot::new(PortCam)
}

/// The identity of function `df`, if one answers.
fn function_info(df: DeviceFunction) -> Option<DeviceFunctionInfo> {
    let id = PortCam.read_word(df, 0);
    if id as u16 == 0xffff {
        return None;
    }
    let class = PortCam.read_word(df, 8);
    let header = (PortCam.read_word(df, 0x0c) >> 16) as u8;
    Some(DeviceFunctionInfo {
        vendor_id: id as u16,
        device_id: (id >> 16) as u16,
        class: (class >> 24) as u8,
        subclass: (class >> 16) as u8,
        prog_if: (class >> 8) as u8,
        revision: class as u8,
        header_type: HeaderType::from(header & 0x7f),
    })
}

/// Every function on bus 0 and on the buses behind bridges. Functions 1-7
/// are read only for a multi-function device (bit 7 of function 0's header
/// type): each configuration read is a trap to the emulator, and a full
/// 8 x 32 scan per bus cost milliseconds of boot under TCG.
pub fn enumerate() -> Vec<(DeviceFunction, DeviceFunctionInfo)> {
    let mut found = Vec::new();
    let mut buses = alloc::vec![0u8];
    let mut seen = [false; 256];
    while let Some(bus) = buses.pop() {
        if core::mem::replace(&mut seen[usize::from(bus)], true) {
            continue;
        }
        for device in 0..32 {
            let f0 = DeviceFunction { bus, device, function: 0 };
            let Some(info0) = function_info(f0) else { continue };
            let multi = (PortCam.read_word(f0, 0x0c) >> 16) & 0x80 != 0;
            let mut add = |df: DeviceFunction, info: DeviceFunctionInfo| {
                if info.header_type == HeaderType::PciPciBridge {
                    // secondary bus number: byte 1 of dword 0x18
                    let secondary = (PortCam.read_word(df, 0x18) >> 8) as u8;
                    if secondary != 0 {
                        buses.push(secondary);
                    }
                }
                found.push((df, info));
            };
            add(f0, info0);
            if multi {
                for function in 1..8 {
                    let df = DeviceFunction { bus, device, function };
                    if let Some(info) = function_info(df) {
                        add(df, info);
                    }
                }
            }
        }
    }
    found
}

/// The interrupt pin a function uses (1 = INTA# .. 4 = INTD#, 0 = none).
pub fn interrupt_pin(df: DeviceFunction) -> u8 {
    (PortCam.read_word(df, 0x3c) >> 8) as u8
}

/// The I/O APIC input (GSI) that the INTx pin `pin` (1..=4) of a device on
/// q35's root bus (`pcie.0`) reaches: QEMU's ICH9 LPC routes slot `s`, pin
/// `p` to PIRQ[(s + p - 1) mod 4 + 4] (PIRQE..H; A..D are left to the
/// PCIe root ports) and PIRQ n to GSI 16 + n in APIC mode, as its ACPI
/// tables tell Linux. None for a bridge's secondary bus or slots 25-31,
/// whose routing comes from chipset registers.
pub fn q35_intx_gsi(df: DeviceFunction, pin: u8) -> Option<u8> {
    if df.bus != 0 || !(1..=4).contains(&pin) || df.device >= 25 {
        return None;
    }
    Some(16 + (df.device + pin - 1) % 4 + 4)
}
