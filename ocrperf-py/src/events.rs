//! `BatchEventWriter`: the batch-event file of the Lightning `Throughput` callback, written by
//! the one writer and checked by the one validation (`metrics_schema::batch_events`,
//! `BatchEvent::validate`), so that Python keeps no copy of the format or its rules.

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, Write as _},
    path::PathBuf,
    sync::Mutex,
};

use metrics_schema::{
    BatchEvent,
    batch_events::{write_batch_event, write_batch_events_header},
};
use pyo3::{exceptions::PyValueError, prelude::*};

/// Appends batch events to a JSONL file, one whole line per event.
#[pyclass(module = "ocrperf._native")]
pub(crate) struct BatchEventWriter {
    path: PathBuf,
    out: Mutex<Option<BufWriter<File>>>,
    flush_every: u32,
    pending: Mutex<u32>,
}

/// An I/O error as `OSError` naming the file (a full disk).
fn io_error(path: &std::path::Path, cause: &std::io::Error) -> PyErr {
    pyo3::exceptions::PyOSError::new_err(format!("{}: {cause}", path.display()))
}

#[pymethods]
impl BatchEventWriter {
    /// Opens `path` for appending. A new (or empty) file gets the schema header line first; an
    /// existing one is continued as it is.
    #[new]
    #[pyo3(signature = (path, *, flush_every = 1))]
    fn new(path: PathBuf, flush_every: u32) -> PyResult<BatchEventWriter> {
        if flush_every == 0 {
            return Err(PyValueError::new_err("flush_every must be at least 1"));
        }
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(|err| io_error(&path, &err))?;
        let empty = file.metadata().map(|meta| meta.len() == 0).map_err(|err| io_error(&path, &err))?;
        let mut out = BufWriter::new(file);
        if empty {
            write_batch_events_header(&mut out).and_then(|()| out.flush()).map_err(|err| io_error(&path, &err))?;
        }
        Ok(BatchEventWriter { path, out: Mutex::new(Some(out)), flush_every, pending: Mutex::new(0) })
    }

    /// Writes one batch's event. Raises `ValueError` (and writes nothing) when the event is not
    /// one a reader would accept: the writer's check is the readers' own.
    #[pyo3(signature = (*, step, batch_size, data_wait_s, compute_s, t_start = None, gpu_mem_bytes = None))]
    fn write(
        &self,
        step: u64,
        batch_size: u64,
        data_wait_s: f64,
        compute_s: f64,
        t_start: Option<f64>,
        gpu_mem_bytes: Option<u64>,
    ) -> PyResult<()> {
        let event = BatchEvent { step, batch_size, data_wait_s, compute_s, t_start, gpu_mem_bytes };
        let mut out = self.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(out) = out.as_mut() else {
            return Err(PyValueError::new_err(format!("{}: the writer is closed", self.path.display())));
        };
        // The writer checks the event first (`BatchEvent::validate`) and writes nothing when it
        // would be refused by a reader: that is bad input, not a failed write.
        write_batch_event(out, &event).map_err(|err| match err.kind() {
            std::io::ErrorKind::InvalidInput => PyValueError::new_err(err.to_string()),
            _ => io_error(&self.path, &err),
        })?;
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *pending += 1;
        if *pending >= self.flush_every {
            *pending = 0;
            out.flush().map_err(|err| io_error(&self.path, &err))?;
        }
        Ok(())
    }

    /// Flushes what is written so far.
    fn flush(&self) -> PyResult<()> {
        let mut out = self.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match out.as_mut() {
            Some(out) => out.flush().map_err(|err| io_error(&self.path, &err)),
            None => Ok(()),
        }
    }

    /// Flushes and closes the file (idempotent).
    fn close(&self) -> PyResult<()> {
        let taken = self.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        match taken {
            Some(mut out) => out.flush().map_err(|err| io_error(&self.path, &err)),
            None => Ok(()),
        }
    }

    /// The file written.
    #[getter]
    fn path(&self) -> String {
        self.path.display().to_string()
    }
}
