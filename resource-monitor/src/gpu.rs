//! GPU readings through NVML (`nvml-wrapper`, which loads `libnvidia-ml.so.1` at run time).
//!
//! No library or no device: [`GpuSampler::start`] says why and the monitor samples the host
//! only. A device that fails mid-run is marked lost and skipped from then on. The PCIe counters
//! take NVML about 20 ms each (a sampling window inside the driver), so a helper thread reads
//! them and the sampling thread takes the latest values.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use metrics_schema::{GpuProcess, GpuSample};
use nvml_wrapper::{
    Nvml,
    bitmasks::device::ThrottleReasons,
    enum_wrappers::device::{Clock, PcieUtilCounter, TemperatureSensor},
    enums::device::UsedGpuMemory,
};

/// Latest PCIe (rx, tx) bytes per second per device, from the helper thread.
type PcieReadings = Arc<Mutex<Vec<Option<(f64, f64)>>>>;

#[derive(Debug)]
pub(crate) struct GpuSampler {
    nvml: Arc<Nvml>,
    lost: Vec<bool>,
    pcie: PcieReadings,
    stop: Arc<AtomicBool>,
    pcie_thread: Option<JoinHandle<()>>,
}

impl GpuSampler {
    /// Opens NVML and counts devices; the error says why GPU sampling is off.
    pub(crate) fn start(pcie_every: Duration) -> Result<GpuSampler, String> {
        let nvml = Nvml::init().map_err(|err| format!("NVML unavailable ({err}); sampling the host only"))?;
        let count =
            nvml.device_count().map_err(|err| format!("NVML cannot count devices ({err}); sampling the host only"))?;
        if count == 0 {
            return Err("NVML found no GPU; sampling the host only".to_owned());
        }
        let nvml = Arc::new(nvml);
        let pcie: PcieReadings = Arc::new(Mutex::new(vec![None; count as usize]));
        let stop = Arc::new(AtomicBool::new(false));
        let pcie_thread = {
            let (nvml, pcie, stop) = (Arc::clone(&nvml), Arc::clone(&pcie), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("ocrperf-pcie".to_owned())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        for index in 0..count {
                            let reading = nvml.device_by_index(index).ok().and_then(|device| {
                                let kib = |counter| device.pcie_throughput(counter).ok().map(|v| f64::from(v) * 1024.0);
                                Some((kib(PcieUtilCounter::Receive)?, kib(PcieUtilCounter::Send)?))
                            });
                            if let Ok(mut latest) = pcie.lock() {
                                latest[index as usize] = reading;
                            }
                        }
                        std::thread::park_timeout(pcie_every);
                    }
                })
                .ok()
        };
        Ok(GpuSampler { nvml, lost: vec![false; count as usize], pcie, stop, pcie_thread })
    }

    pub(crate) fn count(&self) -> u32 {
        self.lost.len() as u32
    }

    /// One sweep over the devices. Returns the samples and the indices newly lost.
    pub(crate) fn sample(&mut self) -> (Vec<GpuSample>, Vec<(u32, String)>) {
        let pcie = self.pcie.lock().map(|latest| latest.clone()).unwrap_or_default();
        let mut newly_lost = Vec::new();
        let samples = (0..self.count())
            .map(|index| {
                if self.lost[index as usize] {
                    return GpuSample { index, lost: true, ..GpuSample::default() };
                }
                match self.read(index, pcie.get(index as usize).copied().flatten()) {
                    Ok(sample) => sample,
                    Err(err) => {
                        self.lost[index as usize] = true;
                        newly_lost.push((index, err.to_string()));
                        GpuSample { index, lost: true, ..GpuSample::default() }
                    }
                }
            })
            .collect();
        (samples, newly_lost)
    }

    /// The readings every supported card has fail the device; optional ones are left out.
    fn read(&self, index: u32, pcie: Option<(f64, f64)>) -> Result<GpuSample, nvml_wrapper::error::NvmlError> {
        let device = self.nvml.device_by_index(index)?;
        let utilization = device.utilization_rates()?;
        let memory = device.memory_info()?;
        let processes = device
            .running_compute_processes()
            .unwrap_or_default()
            .into_iter()
            .map(|process| GpuProcess {
                pid: process.pid,
                memory_bytes: match process.used_gpu_memory {
                    UsedGpuMemory::Used(bytes) => Some(bytes),
                    UsedGpuMemory::Unavailable => None,
                },
            })
            .collect();
        Ok(GpuSample {
            index,
            lost: false,
            utilization_percent: Some(f64::from(utilization.gpu)),
            memory_utilization_percent: Some(f64::from(utilization.memory)),
            memory_used_bytes: Some(memory.used),
            memory_total_bytes: Some(memory.total),
            temperature_c: device.temperature(TemperatureSensor::Gpu).ok().map(f64::from),
            power_w: device.power_usage().ok().map(|mw| f64::from(mw) / 1000.0),
            power_limit_w: device.enforced_power_limit().ok().map(|mw| f64::from(mw) / 1000.0),
            sm_clock_mhz: device.clock_info(Clock::SM).ok().map(f64::from),
            memory_clock_mhz: device.clock_info(Clock::Memory).ok().map(f64::from),
            throttle_reasons: device.current_throttle_reasons().map(reason_names).unwrap_or_default(),
            pcie_rx_bytes_per_s: pcie.map(|(rx, _)| rx),
            pcie_tx_bytes_per_s: pcie.map(|(_, tx)| tx),
            processes,
        })
    }
}

impl Drop for GpuSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.pcie_thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// Throttle reasons by name, as written in samples (`gpu_idle` is normal for an idle card).
pub(crate) fn reason_names(reasons: ThrottleReasons) -> Vec<String> {
    let named = [
        (ThrottleReasons::GPU_IDLE, "gpu_idle"),
        (ThrottleReasons::APPLICATIONS_CLOCKS_SETTING, "applications_clocks_setting"),
        (ThrottleReasons::SW_POWER_CAP, "sw_power_cap"),
        (ThrottleReasons::HW_SLOWDOWN, "hw_slowdown"),
        (ThrottleReasons::SYNC_BOOST, "sync_boost"),
        (ThrottleReasons::SW_THERMAL_SLOWDOWN, "sw_thermal_slowdown"),
        (ThrottleReasons::HW_THERMAL_SLOWDOWN, "hw_thermal_slowdown"),
        (ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN, "hw_power_brake_slowdown"),
        (ThrottleReasons::DISPLAY_CLOCK_SETTING, "display_clock_setting"),
    ];
    named.iter().filter(|(flag, _)| reasons.contains(*flag)).map(|(_, name)| (*name).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_reasons_are_named() {
        let reasons = ThrottleReasons::GPU_IDLE | ThrottleReasons::SW_THERMAL_SLOWDOWN;
        assert_eq!(reason_names(reasons), ["gpu_idle", "sw_thermal_slowdown"]);
        assert!(reason_names(ThrottleReasons::NONE).is_empty());
    }

    /// On a machine without NVIDIA's library this is the documented no-GPU path; with one, the
    /// sampler must produce readings. Either way the test checks something.
    #[test]
    #[expect(clippy::print_stderr, reason = "a GPU test that cannot run here says so")]
    fn starts_or_says_why_not() {
        match GpuSampler::start(Duration::from_secs(1)) {
            Ok(mut sampler) => {
                let (samples, lost) = sampler.sample();
                assert_eq!(samples.len() as u32, sampler.count());
                assert!(lost.is_empty(), "{lost:?}");
                assert!(samples.iter().all(|s| s.memory_total_bytes.is_some_and(|t| t > 0)));
            }
            Err(reason) => {
                assert!(reason.contains("NVML") && reason.contains("host"), "{reason}");
                eprintln!("no GPU here: {reason} (GPU readings untested on this machine)");
            }
        }
    }
}
