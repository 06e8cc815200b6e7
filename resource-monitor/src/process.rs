//! The watched process and its descendants: CPU, resident memory, threads, storage I/O and the
//! number of children (data-loader workers show up here).

use std::{collections::HashMap, time::Instant};

use metrics_schema::ProcessSample;

use crate::{
    host::{read, round2},
    procfs::{self, USER_HZ},
};

/// Bytes per page for `/proc/<pid>/stat`'s RSS (4 KiB on x86-64 and most arm64 kernels).
const PAGE_BYTES: u64 = 4096;

#[derive(Debug)]
pub(crate) struct ProcessSampler {
    root: u32,
    /// Per pid: (cpu jiffies, read bytes, write bytes) at the last reading, so processes that
    /// come and go between readings are counted from when they were first seen.
    last: HashMap<u32, (u64, u64, u64)>,
    last_at: Option<Instant>,
}

impl ProcessSampler {
    pub(crate) fn new(root: u32) -> ProcessSampler {
        ProcessSampler { root, last: HashMap::new(), last_at: None }
    }

    pub(crate) fn sample(&mut self) -> ProcessSample {
        let now = Instant::now();
        let seconds = self.last_at.map_or(0.0, |at| now.duration_since(at).as_secs_f64());
        let tree = descendants(self.root);
        let mut sample = ProcessSample {
            pid: self.root,
            alive: tree.first() == Some(&self.root),
            cpu_percent: 0.0,
            rss_bytes: 0,
            threads: 0,
            read_bytes_per_s: 0.0,
            write_bytes_per_s: 0.0,
            children: tree.len().saturating_sub(1) as u64,
        };
        let mut current = HashMap::new();
        let (mut cpu, mut read_bytes, mut written) = (0u64, 0u64, 0u64);
        for pid in tree {
            let Some(stat) = procfs::parse_pid_stat(&read(format!("/proc/{pid}/stat"))) else { continue };
            let (reads, writes) = procfs::parse_pid_io(&read(format!("/proc/{pid}/io")));
            sample.rss_bytes += stat.rss_pages * PAGE_BYTES;
            sample.threads += stat.threads;
            let (cpu0, read0, write0) = self.last.get(&pid).copied().unwrap_or((stat.cpu_jiffies, reads, writes));
            cpu += stat.cpu_jiffies.saturating_sub(cpu0);
            read_bytes += reads.saturating_sub(read0);
            written += writes.saturating_sub(write0);
            current.insert(pid, (stat.cpu_jiffies, reads, writes));
        }
        if seconds > 0.0 {
            sample.cpu_percent = round2(100.0 * cpu as f64 / USER_HZ / seconds);
            sample.read_bytes_per_s = round2(read_bytes as f64 / seconds);
            sample.write_bytes_per_s = round2(written as f64 / seconds);
        }
        self.last = current;
        self.last_at = Some(now);
        sample
    }
}

/// `root` (if alive) and all its descendants, found through each task's `children` file
/// (no scan of every process on the machine).
fn descendants(root: u32) -> Vec<u32> {
    let mut found = Vec::new();
    if !std::path::Path::new(&format!("/proc/{root}")).exists() {
        return found;
    }
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        found.push(pid);
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { continue };
        for task in tasks.filter_map(Result::ok) {
            let children = read(task.path().join("children"));
            queue.extend(children.split_ascii_whitespace().filter_map(|child| child.parse::<u32>().ok()));
        }
    }
    found
}
