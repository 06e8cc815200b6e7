//! The monitor's readings against the kernel's own counters, under a load the test creates.

#![expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]

use std::{
    io::Write,
    time::{Duration, Instant},
};

use metrics_schema::HostInfo;
use resource_monitor::{Monitor, MonitorConfig};

/// These tests compare the monitor with the kernel's counters under a load each creates; run
/// together, one test's load would show up in another's figures. Each holds an exclusive lock
/// on one file while it runs: a file lock serialises them both as threads of one test binary
/// (`cargo test`) and as processes of their own (`cargo nextest`), with no runner settings.
fn serial() -> std::fs::File {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-agreement.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    file.lock().unwrap_or_else(|err| panic!("locking {}: {err}", path.display()));
    file
}

fn monitor(pid: Option<u32>) -> Monitor {
    let config = MonitorConfig {
        interval: Duration::from_secs(1),
        out: None,
        rules: Vec::new(),
        prometheus: None,
        pid,
        watched: None,
        gpu: false,
    };
    Monitor::start(config, HostInfo::detect(), 0).unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// (busy, total) jiffies of the aggregate `cpu` line.
fn cpu_jiffies() -> (u64, u64) {
    let stat = read("/proc/stat");
    let values: Vec<u64> =
        stat.lines().next().unwrap().split_ascii_whitespace().skip(1).take(8).map(|v| v.parse().unwrap()).collect();
    let total: u64 = values.iter().sum();
    (total - values[3] - values[4], total)
}

/// utime + stime of this process, in jiffies (`/proc/self/stat` fields 14 and 15).
fn own_jiffies() -> u64 {
    let stat = read("/proc/self/stat");
    // The command name may hold spaces; the fields after it start past the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split_ascii_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn spin_for(duration: Duration) {
    let until = Instant::now() + duration;
    let mut x = 0u64;
    while Instant::now() < until {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
    }
}

#[test]
fn cpu_agrees_with_proc_stat_under_load() {
    let _serial = serial();
    let mut monitor = monitor(Some(std::process::id()));
    let before = cpu_jiffies();
    let (own_before, started) = (own_jiffies(), Instant::now());
    monitor.tick(0).unwrap();
    spin_for(Duration::from_millis(1500));
    let after = cpu_jiffies();
    let (own_after, elapsed) = (own_jiffies(), started.elapsed());
    let tick = monitor.tick(1500).unwrap();
    let kernel = 100.0 * (after.0 - before.0) as f64 / (after.1 - before.1) as f64;
    let ours = tick.sample.host.cpu_percent;
    assert!((ours - kernel).abs() < 5.0, "monitor {ours}% vs /proc/stat {kernel}%");
    let cores = tick.sample.host.cores_percent.len();
    assert!(ours >= 100.0 / cores as f64 * 0.8, "one spinning thread of {cores} cores: {ours}%");
    // The test process spun one thread for the whole interval; on a busy machine it gets
    // less than a core, so its own counters are the oracle (100 jiffies per second).
    let process = tick.sample.process.unwrap();
    let own = (own_after - own_before) as f64 / elapsed.as_secs_f64();
    assert!((process.cpu_percent - own).abs() < 15.0, "process {}% vs /proc/self/stat {own}%", process.cpu_percent);
    assert!(process.cpu_percent > 20.0, "process {}%", process.cpu_percent);
    assert!(process.alive && process.threads >= 1);
}

#[test]
fn memory_agrees_with_proc_meminfo() {
    let _serial = serial();
    let mut monitor = monitor(None);
    let tick = monitor.tick(0).unwrap();
    let meminfo = read("/proc/meminfo");
    let field = |name: &str| -> f64 {
        let line = meminfo.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_ascii_whitespace().nth(1).unwrap().parse::<f64>().unwrap() * 1024.0
    };
    let host = &tick.sample.host;
    assert_eq!(host.memory_total_bytes as f64, field("MemTotal:"));
    let available = field("MemAvailable:");
    assert!(
        (host.memory_available_bytes as f64 - available).abs() < 0.02 * field("MemTotal:"),
        "{} vs {available}",
        host.memory_available_bytes
    );
}

#[test]
fn disk_writes_agree_with_proc_diskstats() {
    let _serial = serial();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let sectors_written = || -> u64 {
        read("/proc/diskstats")
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_ascii_whitespace().collect();
                std::path::Path::new(&format!("/sys/block/{}", fields[2]))
                    .exists()
                    .then(|| fields[9].parse::<u64>().unwrap())
            })
            .sum()
    };
    let mut monitor = monitor(None);
    let before = sectors_written();
    let started = Instant::now();
    monitor.tick(0).unwrap();
    let mut file = std::fs::File::create(dir.path().join("load")).unwrap();
    for _ in 0..8 {
        file.write_all(&vec![7u8; 8 << 20]).unwrap();
        file.sync_all().unwrap();
    }
    let tick = monitor.tick(1).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let kernel_bytes = (sectors_written() - before) as f64 * 512.0;
    let ours: f64 = tick.sample.host.disks.iter().map(|d| d.write_bytes_per_s).sum::<f64>() * seconds;
    assert!(kernel_bytes >= 60e6, "the 64 MiB written should show in /proc/diskstats: {kernel_bytes}");
    assert!((ours - kernel_bytes).abs() <= 0.15 * kernel_bytes, "monitor {ours} bytes vs kernel {kernel_bytes}");
    assert!(tick.sample.host.disks.iter().any(|d| d.busy_percent > 0.0));
}
