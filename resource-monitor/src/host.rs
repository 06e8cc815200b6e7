//! Host readings from `/proc`: CPU (total and per core), load, memory, swap, disks, network.
//!
//! Read straight from the kernel's files rather than through sysinfo: one `read` per file per
//! interval is the cheapest way to get them, and the numbers are then exactly the kernel's.

use std::{collections::HashMap, path::Path, time::Instant};

use metrics_schema::{DiskSample, HostSample, NetSample};

use crate::procfs::{self, CpuTimes, DiskCounters, SECTOR_BYTES};

/// Counters of the previous reading, to turn into rates.
#[derive(Debug)]
pub(crate) struct HostSampler {
    last: Option<Previous>,
    /// Whole disks: a name is one if `/sys/block/<name>` exists (partitions do not have one).
    disk_names: Vec<String>,
}

#[derive(Debug)]
struct Previous {
    at: Instant,
    cpu: CpuTimes,
    cores: Vec<CpuTimes>,
    disks: HashMap<String, DiskCounters>,
    net: HashMap<String, (u64, u64)>,
    swap_used: u64,
}

impl HostSampler {
    pub(crate) fn new() -> HostSampler {
        let mut disk_names: Vec<String> = std::fs::read_dir("/sys/block")
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| !(name.starts_with("loop") || name.starts_with("ram") || name.starts_with("zram")))
                    .collect()
            })
            .unwrap_or_default();
        disk_names.sort();
        HostSampler { last: None, disk_names }
    }

    /// Reads the counters now. The first call has no previous reading: its rates are 0.
    pub(crate) fn sample(&mut self) -> HostSample {
        let now = Instant::now();
        let (cpu, cores) = procfs::parse_stat(&read("/proc/stat"));
        let (total, available, swap_total, swap_free) = procfs::parse_meminfo(&read("/proc/meminfo"));
        let disks: HashMap<String, DiskCounters> =
            procfs::parse_diskstats(&read("/proc/diskstats"), |name| self.disk_names.iter().any(|d| d == name))
                .into_iter()
                .collect();
        let net: HashMap<String, (u64, u64)> =
            procfs::parse_net_dev(&read("/proc/net/dev")).into_iter().map(|(name, rx, tx)| (name, (rx, tx))).collect();

        let mut sample = HostSample {
            load: procfs::parse_loadavg(&read("/proc/loadavg")),
            memory_used_bytes: total.saturating_sub(available),
            memory_available_bytes: available,
            memory_total_bytes: total,
            swap_used_bytes: swap_total.saturating_sub(swap_free),
            swap_total_bytes: swap_total,
            ..HostSample::default()
        };
        if let Some(last) = &self.last {
            let seconds = now.duration_since(last.at).as_secs_f64().max(1e-3);
            sample.cpu_percent = round2(cpu.percent_since(last.cpu));
            sample.swap_growth_bytes_per_s = round2((sample.swap_used_bytes as f64 - last.swap_used as f64) / seconds);
            sample.cores_percent =
                cores.iter().zip(&last.cores).map(|(now, then)| round2(now.percent_since(*then))).collect();
            let mut names: Vec<&String> = disks.keys().collect();
            names.sort();
            for name in names {
                let (Some(now), Some(then)) = (disks.get(name), last.disks.get(name)) else { continue };
                let delta = |a: u64, b: u64| a.saturating_sub(b) as f64;
                sample.disks.push(DiskSample {
                    name: name.clone(),
                    read_bytes_per_s: round2(delta(now.sectors_read, then.sectors_read) * SECTOR_BYTES / seconds),
                    write_bytes_per_s: round2(
                        delta(now.sectors_written, then.sectors_written) * SECTOR_BYTES / seconds,
                    ),
                    busy_percent: round2((delta(now.io_ms, then.io_ms) / 10.0 / seconds).min(100.0)),
                });
            }
            let mut interfaces: Vec<&String> = net.keys().collect();
            interfaces.sort();
            for name in interfaces {
                let (Some(&(rx, tx)), Some(&(rx0, tx0))) = (net.get(name), last.net.get(name)) else { continue };
                sample.net.push(NetSample {
                    name: name.clone(),
                    rx_bytes_per_s: round2(rx.saturating_sub(rx0) as f64 / seconds),
                    tx_bytes_per_s: round2(tx.saturating_sub(tx0) as f64 / seconds),
                });
            }
        }
        self.last = Some(Previous { at: now, cpu, cores, disks, net, swap_used: sample.swap_used_bytes });
        sample
    }
}

/// A `/proc` file's text; empty when it cannot be read (not Linux, or a hardened `/proc`), so
/// the readings are zeros rather than a failed run.
pub(crate) fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Two decimals are plenty for percentages and rates, and keep the sample lines short.
pub(crate) fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
