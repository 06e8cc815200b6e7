//! Parsers for the kernel's `/proc` counters. Pure functions over the files' text, so tests can
//! feed them fixed content; reading is the caller's business.

/// Jiffies per second of `/proc/stat` and `/proc/<pid>/stat` times (`USER_HZ`). It is 100 on
/// every mainstream Linux architecture, whatever the kernel's internal `HZ`.
pub(crate) const USER_HZ: f64 = 100.0;

/// Sector size of `/proc/diskstats` counts: always 512 bytes, whatever the device's.
pub(crate) const SECTOR_BYTES: f64 = 512.0;

/// One CPU line of `/proc/stat`: busy and total jiffies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CpuTimes {
    pub(crate) busy: u64,
    pub(crate) total: u64,
}

impl CpuTimes {
    /// Busy share between two readings, in percent.
    pub(crate) fn percent_since(self, earlier: CpuTimes) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 { 0.0 } else { 100.0 * self.busy.saturating_sub(earlier.busy) as f64 / total as f64 }
    }
}

/// `/proc/stat`: the aggregate `cpu` line, then `cpu0`, `cpu1`, ...
pub(crate) fn parse_stat(text: &str) -> (CpuTimes, Vec<CpuTimes>) {
    let mut all = CpuTimes::default();
    let mut cores = Vec::new();
    for line in text.lines().filter(|line| line.starts_with("cpu")) {
        let mut fields = line.split_ascii_whitespace();
        let name = fields.next().unwrap_or("");
        // user nice system idle iowait irq softirq steal (guest time is already in user).
        let values: Vec<u64> = fields.take(8).map(|v| v.parse().unwrap_or(0)).collect();
        let total: u64 = values.iter().sum();
        let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
        let times = CpuTimes { busy: total.saturating_sub(idle), total };
        if name == "cpu" {
            all = times;
        } else {
            cores.push(times);
        }
    }
    (all, cores)
}

/// `/proc/meminfo` in bytes: (total, available, swap total, swap free).
pub(crate) fn parse_meminfo(text: &str) -> (u64, u64, u64, u64) {
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|rest| rest.split_ascii_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("MemTotal"), field("MemAvailable"), field("SwapTotal"), field("SwapFree"))
}

/// `/proc/loadavg`: the three load averages.
pub(crate) fn parse_loadavg(text: &str) -> [f64; 3] {
    let mut fields = text.split_ascii_whitespace().map(|v| v.parse().unwrap_or(0.0));
    [fields.next().unwrap_or(0.0), fields.next().unwrap_or(0.0), fields.next().unwrap_or(0.0)]
}

/// One `/proc/diskstats` line's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DiskCounters {
    pub(crate) sectors_read: u64,
    pub(crate) sectors_written: u64,
    /// Milliseconds with I/O in flight (field 10 of the statistics).
    pub(crate) io_ms: u64,
}

/// `/proc/diskstats`: (name, counters) for the devices `keep` accepts.
pub(crate) fn parse_diskstats(text: &str, keep: impl Fn(&str) -> bool) -> Vec<(String, DiskCounters)> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            let name = *fields.get(2)?;
            if !keep(name) {
                return None;
            }
            let number = |index: usize| fields.get(index).and_then(|v| v.parse().ok()).unwrap_or(0);
            Some((
                name.to_owned(),
                DiskCounters { sectors_read: number(5), sectors_written: number(9), io_ms: number(12) },
            ))
        })
        .collect()
}

/// `/proc/net/dev`: (interface, received bytes, sent bytes), loopback excluded.
pub(crate) fn parse_net_dev(text: &str) -> Vec<(String, u64, u64)> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, counters) = line.split_once(':')?;
            let name = name.trim();
            if name == "lo" {
                return None;
            }
            let fields: Vec<u64> = counters.split_ascii_whitespace().map(|v| v.parse().unwrap_or(0)).collect();
            Some((name.to_owned(), *fields.first()?, *fields.get(8)?))
        })
        .collect()
}

/// The fields of `/proc/<pid>/stat` the process sampler needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ProcStat {
    /// User plus system time, in jiffies.
    pub(crate) cpu_jiffies: u64,
    pub(crate) threads: u64,
    /// Resident pages.
    pub(crate) rss_pages: u64,
    pub(crate) parent: u32,
}

/// `/proc/<pid>/stat`. The command name is in parentheses and may hold spaces or parentheses,
/// so fields are counted from the last `)`.
pub(crate) fn parse_pid_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the name: state(0) ppid(1) ... utime(11) stime(12) ... num_threads(17) ... rss(21).
    let number = |index: usize| fields.get(index).and_then(|v| v.parse::<u64>().ok());
    Some(ProcStat {
        cpu_jiffies: number(11)? + number(12)?,
        threads: number(17)?,
        rss_pages: number(21)?,
        parent: number(1)? as u32,
    })
}

/// `/proc/<pid>/io`: (read_bytes, write_bytes), the storage traffic.
pub(crate) fn parse_pid_io(text: &str) -> (u64, u64) {
    let field =
        |name: &str| text.lines().find_map(|line| line.strip_prefix(name)?.trim().parse::<u64>().ok()).unwrap_or(0);
    (field("read_bytes:"), field("write_bytes:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_shapes() {
        let stat =
            "cpu  100 5 50 800 20 1 2 3 0 0\ncpu0 60 5 30 400 10 1 1 2 0 0\ncpu1 40 0 20 400 10 0 1 1 0 0\nintr 1\n";
        let (all, cores) = parse_stat(stat);
        assert_eq!(all, CpuTimes { busy: 161, total: 981 });
        assert_eq!(cores.len(), 2);
        let later = CpuTimes { busy: 261, total: 1181 };
        assert_eq!(later.percent_since(all), 50.0);

        let meminfo = "MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    4000000 kB\nSwapTotal: 2048 kB\nSwapFree: 1024 kB\n";
        assert_eq!(parse_meminfo(meminfo), (16_384_000_000, 4_096_000_000, 2_097_152, 1_048_576));
        assert_eq!(parse_loadavg("0.52 0.58 0.59 1/467 12345\n"), [0.52, 0.58, 0.59]);

        let disks =
            "   8       0 sda 100 0 2000 50 200 0 4000 80 0 120 130 0 0 0 0\n   8       1 sda1 1 0 8 0 0 0 0 0 0 0 0\n";
        let parsed = parse_diskstats(disks, |name| name == "sda");
        assert_eq!(
            parsed,
            vec![("sda".to_owned(), DiskCounters { sectors_read: 2000, sectors_written: 4000, io_ms: 120 })]
        );

        let net = "Inter-|   Receive\n face |bytes packets\n    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(net), vec![("eth0".to_owned(), 1000, 2000)]);

        let pid = "4242 (py (worker) 1) S 4000 4242 4000 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 9 0 1234 1000000 2500 18446744073709551615";
        assert_eq!(parse_pid_stat(pid), Some(ProcStat { cpu_jiffies: 300, threads: 9, rss_pages: 2500, parent: 4000 }));
        assert_eq!(parse_pid_stat("garbage"), None);
        assert_eq!(parse_pid_io("rchar: 5\nread_bytes: 4096\nwrite_bytes: 8192\n"), (4096, 8192));
    }
}
