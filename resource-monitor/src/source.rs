//! The one interface every reading source implements, so the monitor loop treats the host,
//! the GPUs and the watched process alike, and a source can be left out.

use metrics_schema::MonitorSample;

/// A source of readings: fills its part of each sample.
pub trait Source: std::fmt::Debug + Send {
    /// Short name, for messages (`host`, `gpu`, `process`).
    fn name(&self) -> &'static str;

    /// Reads the counters now and fills this source's fields of `sample`. Returns problems
    /// worth a warning (a GPU lost) without failing the sample.
    fn sample_into(&mut self, sample: &mut MonitorSample) -> Vec<String>;
}

impl Source for crate::host::HostSampler {
    fn name(&self) -> &'static str {
        "host"
    }

    fn sample_into(&mut self, sample: &mut MonitorSample) -> Vec<String> {
        sample.host = self.sample();
        Vec::new()
    }
}

impl Source for crate::gpu::GpuSampler {
    fn name(&self) -> &'static str {
        "gpu"
    }

    fn sample_into(&mut self, sample: &mut MonitorSample) -> Vec<String> {
        let (gpus, lost) = self.sample();
        sample.gpus = gpus;
        lost.into_iter().map(|(index, error)| format!("GPU {index} lost ({error}); sampling the others")).collect()
    }
}

impl Source for crate::process::ProcessSampler {
    fn name(&self) -> &'static str {
        "process"
    }

    fn sample_into(&mut self, sample: &mut MonitorSample) -> Vec<String> {
        let reading = self.sample();
        let warnings = if !reading.alive && sample.i == 0 {
            vec![format!("process {} is not running", reading.pid)]
        } else {
            Vec::new()
        };
        sample.process = Some(reading);
        warnings
    }
}
