//! `xtask load` (hidden): a CPU and disk load for the monitor's demo to watch. It is test
//! support, not something users run, so it lives here rather than in the `ocrperf` binary; the
//! demo runs this very executable with `load` under `ocrperf monitor -- ...`.

use std::{io::Write as _, path::Path, time::Instant};

use anyhow::Context as _;
use metrics_schema::HumanDuration;

/// The longest load: the demo needs seconds, and an unbounded busy loop is never wanted.
const MAX_SECONDS: u64 = 3600;

/// Burns `threads` cores and writes (with fsync) 8 MiB at a time to a scratch file in `dir`
/// until the time is up, so a monitor has CPU, memory and disk activity to see.
pub(crate) fn run(duration: HumanDuration, threads: usize, dir: &Path) -> anyhow::Result<bool> {
    anyhow::ensure!(
        duration.get() <= std::time::Duration::from_secs(MAX_SECONDS),
        "--duration {duration} is over an hour"
    );
    let until = Instant::now() + duration.get();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut x = 1u64;
                while Instant::now() < until {
                    for _ in 0..100_000 {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    }
                }
                x
            })
        })
        .collect();
    let scratch = tempfile::NamedTempFile::new_in(dir).context("creating the scratch file")?;
    let block = vec![0x5au8; 8 << 20];
    while Instant::now() < until {
        let mut file = scratch.as_file();
        file.write_all(&block).and_then(|()| file.sync_data()).context("writing the scratch file")?;
        if file.metadata().map(|m| m.len()).unwrap_or(0) > 256 << 20 {
            file.set_len(0).context("truncating the scratch file")?;
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
    Ok(true)
}
