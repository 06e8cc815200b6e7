//! The description of the machine a report was made on.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What a report needs to know about its machine to be compared with another run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    /// The host name.
    pub hostname: String,
    /// The operating system, with its version where known (`Debian GNU/Linux 12`).
    pub os: String,
    /// The kernel version, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// The CPU architecture (`x86_64`, `aarch64`).
    pub arch: String,
    /// The CPU's brand string.
    pub cpu_model: String,
    /// Logical cores (hardware threads) of the machine.
    pub logical_cores: u32,
    /// Physical cores, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_cores: Option<u32>,
    /// Installed memory in bytes.
    pub total_memory_bytes: u64,
    /// The GPUs, when they could be found; empty when none were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<GpuInfo>,
}

/// One GPU as far as it is known without initialising a driver library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// The position in the driver's enumeration order.
    pub index: u32,
    /// The product name (`NVIDIA H100 80GB HBM3`).
    pub name: String,
    /// Total memory in bytes, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_total_bytes: Option<u64>,
    /// The driver's unique id (`GPU-…`), where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// The PCI bus location, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_bus_id: Option<String>,
    /// The kernel driver's version, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_version: Option<String>,
}

impl HostInfo {
    /// Describes this machine. It never fails: a fact that can't be read is left empty or
    /// `unknown`, because a report without a CPU model is still worth writing.
    pub fn detect() -> HostInfo {
        use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        )
        .ok();
        let cpus = system.as_ref().map_or(&[][..], System::cpus);
        let cpu_model =
            cpus.iter().map(|cpu| cpu.brand().trim()).find(|brand| !brand.is_empty()).unwrap_or("unknown").to_owned();
        let logical_cores = match cpus.len() {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        HostInfo {
            hostname: System::host_name().unwrap_or_else(|_| "unknown".to_owned()),
            os: System::long_os_version()
                .or_else(|_| System::name())
                .unwrap_or_else(|_| std::env::consts::OS.to_owned()),
            kernel: System::kernel_version().ok(),
            arch: std::env::consts::ARCH.to_owned(),
            cpu_model,
            logical_cores: u32::try_from(logical_cores).unwrap_or(u32::MAX),
            physical_cores: System::physical_core_count().ok().and_then(|n| u32::try_from(n).ok()),
            total_memory_bytes: system.as_ref().map_or(0, System::total_memory),
            gpus: detect_nvidia_gpus(Path::new("/proc/driver/nvidia")),
        }
    }
}

/// Reads the NVIDIA kernel driver's `/proc` files, which exist whenever the driver is loaded and
/// need no NVML. Other vendors and richer facts (memory) come from the resource monitor.
fn detect_nvidia_gpus(proc_root: &Path) -> Vec<GpuInfo> {
    let Ok(entries) = std::fs::read_dir(proc_root.join("gpus")) else {
        return Vec::new();
    };
    let driver_version =
        std::fs::read_to_string(proc_root.join("version")).ok().and_then(|text| parse_nvidia_driver_version(&text));
    let mut found: Vec<(String, String)> = entries
        .flatten()
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.path().join("information")).ok()?;
            Some((entry.file_name().to_string_lossy().into_owned(), text))
        })
        .collect();
    // The driver enumerates devices in PCI bus order, and so does this list.
    found.sort();
    found
        .iter()
        .zip(0..)
        .filter_map(|((bus, text), index)| {
            let mut gpu = parse_nvidia_information(text, index)?;
            gpu.pci_bus_id.get_or_insert_with(|| bus.clone());
            gpu.driver_version.clone_from(&driver_version);
            Some(gpu)
        })
        .collect()
}

/// Parses one `/proc/driver/nvidia/gpus/<bus>/information` file.
fn parse_nvidia_information(text: &str, index: u32) -> Option<GpuInfo> {
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim() == key).then(|| value.trim().to_owned()).filter(|v| !v.is_empty())
        })
    };
    Some(GpuInfo {
        index,
        name: field("Model")?,
        memory_total_bytes: None,
        uuid: field("GPU UUID"),
        pci_bus_id: field("Bus Location"),
        driver_version: None,
    })
}

/// Picks the version out of `/proc/driver/nvidia/version`'s first line.
fn parse_nvidia_driver_version(text: &str) -> Option<String> {
    let first = text.lines().next()?;
    let after = first.split("Kernel Module").nth(1)?;
    after.split_whitespace().find(|word| word.chars().next().is_some_and(|c| c.is_ascii_digit())).map(str::to_owned)
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;

    const INFORMATION: &str = "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 0\nGPU UUID: \t GPU-5f0c1a2b-3c4d-5e6f-7a8b-9c0d1e2f3a4b\n\
        Video BIOS: \t 96.00.99.00.01\nBus Type: \t PCIe\nDMA Size: \t 52 bits\nBus Location: \t 0000:65:00.0\n";
    const VERSION: &str = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build  (dvs-builder@U16-I3-B03-4-3)  Thu Jan 23 2025\nGCC version:  gcc version 12.2.0\n";

    #[test]
    fn parses_the_driver_files() {
        let gpu = parse_nvidia_information(INFORMATION, 0).unwrap();
        assert_eq!(gpu.name, "NVIDIA H100 80GB HBM3");
        assert_eq!(gpu.uuid.as_deref(), Some("GPU-5f0c1a2b-3c4d-5e6f-7a8b-9c0d1e2f3a4b"));
        assert_eq!(gpu.pci_bus_id.as_deref(), Some("0000:65:00.0"));
        assert_eq!(parse_nvidia_driver_version(VERSION).as_deref(), Some("570.86.15"));
        assert_eq!(parse_nvidia_information("IRQ: 0\n", 0), None);
    }

    #[test]
    fn reads_a_driver_tree() {
        let root = tempfile::tempdir().unwrap();
        for (bus, model) in [("0000:b3:00.0", "NVIDIA A100-SXM4-40GB"), ("0000:65:00.0", "NVIDIA H100 80GB HBM3")] {
            let dir = root.path().join("gpus").join(bus);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("information"), format!("Model: {model}\n")).unwrap();
        }
        std::fs::write(root.path().join("version"), VERSION).unwrap();
        let gpus = detect_nvidia_gpus(root.path());
        assert_eq!(gpus.len(), 2);
        assert_eq!((gpus[0].index, gpus[0].name.as_str()), (0, "NVIDIA H100 80GB HBM3"));
        assert_eq!(gpus[0].pci_bus_id.as_deref(), Some("0000:65:00.0"));
        assert_eq!(gpus[1].driver_version.as_deref(), Some("570.86.15"));
        assert!(detect_nvidia_gpus(&root.path().join("absent")).is_empty());
    }

    #[test]
    fn detects_this_machine() {
        let host = HostInfo::detect();
        assert!(host.logical_cores >= 1);
        assert!(host.total_memory_bytes > 0);
        assert!(!host.hostname.is_empty() && !host.os.is_empty() && !host.arch.is_empty());
    }

    #[test]
    fn json_form() {
        let host = HostInfo {
            hostname: "trainer-01".into(),
            os: "Ubuntu 22.04".into(),
            kernel: None,
            arch: "x86_64".into(),
            cpu_model: "Intel(R) Xeon(R) Platinum 8480+".into(),
            logical_cores: 224,
            physical_cores: Some(112),
            total_memory_bytes: 2_147_483_648_000,
            gpus: vec![parse_nvidia_information(INFORMATION, 0).unwrap()],
        };
        insta::assert_json_snapshot!("host_info", host);
    }
}
