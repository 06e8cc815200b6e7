//! A generic instrumented loader: PyTorch's `DataLoader(num_workers, prefetch_factor)` for Rust
//! datasets. Batches come out in order; a worker's error or panic comes out as an error in its
//! place (never a hang); dropping the iterator stops and joins the workers.

use std::{
    collections::BTreeMap,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Condvar, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// Why one item could not be produced.
pub type ItemError = Box<dyn std::error::Error + Send + Sync>;

/// A map-style dataset: items by index.
pub trait Dataset: Send + Sync + 'static {
    /// One item (an image and its targets, ...).
    type Item: Send + 'static;
    /// How many items.
    fn len(&self) -> usize;
    /// True when there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Produces item `index`.
    fn get(&self, index: usize) -> Result<Self::Item, ItemError>;
}

/// How batches are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoaderOptions {
    /// Items per batch (the last batch may be smaller).
    pub batch_size: usize,
    /// Worker threads; 0 makes batches in the caller's thread, as `num_workers=0` does.
    pub workers: usize,
    /// Batches each worker may have ready ahead of the consumer.
    pub prefetch_factor: usize,
}

impl Default for LoaderOptions {
    fn default() -> Self {
        LoaderOptions { batch_size: 8, workers: 2, prefetch_factor: 2 }
    }
}

/// A loader error: the batch it concerns, and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoaderError {
    /// The dataset failed on an item.
    #[error("item {index} (batch {batch}): {message}")]
    Item {
        /// The batch.
        batch: usize,
        /// The item.
        index: usize,
        /// The dataset's error.
        message: String,
    },
    /// A worker thread could not be started (too many threads, no memory).
    #[error("could not start loader worker {worker}: {message}")]
    Spawn {
        /// The worker.
        worker: usize,
        /// The operating system's reason.
        message: String,
    },
    /// A worker panicked while making a batch.
    #[error("worker {worker} panicked on batch {batch}: {message}")]
    WorkerPanic {
        /// The worker.
        worker: usize,
        /// The batch.
        batch: usize,
        /// The panic message.
        message: String,
    },
}

/// One batch, with where and when it was made.
#[derive(Debug)]
pub struct Batch<T> {
    /// Position in the epoch.
    pub index: usize,
    /// The items.
    pub items: Vec<T>,
    /// The worker that made it (0 without workers).
    pub worker: usize,
    /// When making it started and ended.
    pub made: (Instant, Instant),
    /// How long the consumer waited for it.
    pub wait: Duration,
}

/// A loader over a dataset.
#[derive(Debug)]
pub struct Loader<D> {
    dataset: Arc<D>,
    options: LoaderOptions,
}

impl<D: Dataset> Loader<D> {
    /// A loader; `batch_size` and `prefetch_factor` of 0 are taken as 1.
    pub fn new(dataset: Arc<D>, options: LoaderOptions) -> Loader<D> {
        let options = LoaderOptions {
            batch_size: options.batch_size.max(1),
            prefetch_factor: options.prefetch_factor.max(1),
            ..options
        };
        Loader { dataset, options }
    }

    /// One pass over the items in `order` (item indices), in batches.
    pub fn epoch(&self, order: Vec<usize>) -> Epoch<D> {
        let batches: Vec<Vec<usize>> = order.chunks(self.options.batch_size).map(<[usize]>::to_vec).collect();
        let batches = Arc::new(batches);
        let mut epoch = Epoch {
            dataset: Arc::clone(&self.dataset),
            batches: Arc::clone(&batches),
            next: 0,
            ready: None,
            shared: Arc::new(Shared::default()),
            workers: Vec::new(),
            failed: false,
            spawn_error: None,
        };
        if self.options.workers > 0 {
            let capacity = self.options.workers * self.options.prefetch_factor;
            let ready =
                Arc::new(Ready { made: Mutex::new((BTreeMap::new(), self.options.workers)), arrived: Condvar::new() });
            for worker in 0..self.options.workers {
                let (dataset, batches, shared, ready) =
                    (Arc::clone(&self.dataset), Arc::clone(&batches), Arc::clone(&epoch.shared), Arc::clone(&ready));
                let spawned = std::thread::Builder::new().name(format!("loader-{worker}")).spawn(move || {
                    work(worker, &*dataset, &batches, &shared, capacity, &ready);
                    // The last worker out wakes a consumer that waits for a batch nobody will make.
                    if let Ok(mut made) = ready.made.lock() {
                        made.1 -= 1;
                    }
                    ready.arrived.notify_all();
                });
                match spawned {
                    Ok(handle) => epoch.workers.push(handle),
                    Err(err) => {
                        // The first batch is this error; the workers already running stop.
                        epoch.spawn_error = Some(LoaderError::Spawn { worker, message: err.to_string() });
                        epoch.stop();
                        break;
                    }
                }
            }
            epoch.ready = Some(ready);
        }
        epoch
    }
}

#[derive(Debug, Default)]
struct Shared {
    /// Next batch to hand out (under the lock, so batches are handed out in order).
    next: Mutex<usize>,
    /// Batches the consumer has taken: read without the lock on the fast path.
    consumed: AtomicUsize,
    /// Workers blocked on a full prefetch window; the consumer only notifies when there are.
    waiting: AtomicUsize,
    changed: Condvar,
    stop: AtomicBool,
}

type Made<T> = (usize, usize, Result<Vec<T>, LoaderError>, (Instant, Instant));

/// Finished batches by index (so the consumer takes them in order without a second buffer),
/// and how many workers are still running (so it never waits for a batch nobody will make).
#[derive(Debug)]
struct Ready<T> {
    made: Mutex<(BTreeMap<usize, Made<T>>, usize)>,
    arrived: Condvar,
}

fn work<D: Dataset>(
    worker: usize,
    dataset: &D,
    batches: &[Vec<usize>],
    shared: &Shared,
    capacity: usize,
    ready: &Ready<D::Item>,
) {
    loop {
        let batch = {
            let Ok(mut next) = shared.next.lock() else { return };
            // Stay at most `capacity` batches ahead of the consumer.
            while *next >= shared.consumed.load(Ordering::SeqCst) + capacity && !shared.stop.load(Ordering::SeqCst) {
                shared.waiting.fetch_add(1, Ordering::SeqCst);
                let woken = shared.changed.wait_timeout(next, Duration::from_millis(50));
                shared.waiting.fetch_sub(1, Ordering::SeqCst);
                next = match woken {
                    Ok((next, _)) => next,
                    Err(_) => return,
                };
            }
            if shared.stop.load(Ordering::SeqCst) || *next >= batches.len() {
                return;
            }
            *next += 1;
            *next - 1
        };
        let started = Instant::now();
        let result = make_batch(dataset, batch, &batches[batch])
            .unwrap_or_else(|message| Err(LoaderError::WorkerPanic { worker, batch, message }));
        let Ok(mut made) = ready.made.lock() else { return };
        made.0.insert(batch, (batch, worker, result, (started, Instant::now())));
        drop(made);
        ready.arrived.notify_all();
    }
}

/// The batch, or the dataset's error; `Err` from the outer result is a panic's message.
fn make_batch<D: Dataset>(
    dataset: &D,
    batch: usize,
    indices: &[usize],
) -> Result<Result<Vec<D::Item>, LoaderError>, String> {
    catch_unwind(AssertUnwindSafe(|| {
        indices
            .iter()
            .map(|&index| {
                dataset.get(index).map_err(|err| LoaderError::Item { batch, index, message: err.to_string() })
            })
            .collect()
    }))
    .map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic".to_owned())
    })
}

/// One epoch's batches, in order.
#[derive(Debug)]
pub struct Epoch<D: Dataset> {
    dataset: Arc<D>,
    batches: Arc<Vec<Vec<usize>>>,
    next: usize,
    ready: Option<Arc<Ready<D::Item>>>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    failed: bool,
    spawn_error: Option<LoaderError>,
}

impl<D: Dataset> Iterator for Epoch<D> {
    type Item = Result<Batch<D::Item>, LoaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(err) = self.spawn_error.take() {
            self.failed = true;
            return Some(Err(err));
        }
        if self.failed || self.next >= self.batches.len() {
            return None;
        }
        let waiting = Instant::now();
        let (batch, worker, result, made) = match &self.ready {
            None => {
                let started = Instant::now();
                let result = make_batch(&*self.dataset, self.next, &self.batches[self.next])
                    .unwrap_or_else(|message| Err(LoaderError::WorkerPanic { worker: 0, batch: self.next, message }));
                (self.next, 0, result, (started, Instant::now()))
            }
            Some(ready) => {
                let Ok(mut made) = ready.made.lock() else { return None };
                loop {
                    if let Some(batch) = made.0.remove(&self.next) {
                        break batch;
                    }
                    // Every worker is gone without making this batch: only after a stop.
                    if made.1 == 0 {
                        return None;
                    }
                    made = match ready.arrived.wait(made) {
                        Ok(made) => made,
                        Err(_) => return None,
                    };
                }
            }
        };
        let wait = waiting.elapsed();
        self.next += 1;
        self.shared.consumed.store(self.next, Ordering::SeqCst);
        if self.shared.waiting.load(Ordering::SeqCst) > 0 {
            // Taking the lock orders this notify after a worker's check-then-wait.
            drop(self.shared.next.lock());
            self.shared.changed.notify_all();
        }
        Some(match result {
            Ok(items) => Ok(Batch { index: batch, items, worker, made, wait }),
            Err(err) => {
                self.failed = true;
                self.stop();
                Err(err)
            }
        })
    }
}

impl<D: Dataset> Epoch<D> {
    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
    }
}

impl<D: Dataset> Drop for Epoch<D> {
    fn drop(&mut self) {
        self.stop();
        // Workers finish the batch in hand, then see the stop.
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items are their index; item `fail` errors, item `panic` panics; each takes `delay`.
    struct Numbers {
        len: usize,
        fail: Option<usize>,
        panic: Option<usize>,
        delay: Duration,
    }

    impl Dataset for Numbers {
        type Item = usize;
        fn len(&self) -> usize {
            self.len
        }
        fn get(&self, index: usize) -> Result<usize, ItemError> {
            std::thread::sleep(self.delay);
            if Some(index) == self.panic {
                panic!("item {index} exploded");
            }
            if Some(index) == self.fail {
                return Err(format!("cannot decode item {index}").into());
            }
            Ok(index)
        }
    }

    fn loader(workers: usize, data: Numbers) -> Loader<Numbers> {
        Loader::new(Arc::new(data), LoaderOptions { batch_size: 4, workers, prefetch_factor: 2 })
    }

    fn numbers(len: usize) -> Numbers {
        Numbers { len, fail: None, panic: None, delay: Duration::ZERO }
    }

    #[test]
    fn batches_come_in_order_with_any_worker_count() {
        let order: Vec<usize> = (0..50).rev().collect();
        for workers in [0, 1, 2, 5] {
            let batches: Vec<Batch<usize>> =
                loader(workers, numbers(50)).epoch(order.clone()).map(Result::unwrap).collect();
            assert_eq!(batches.len(), 13, "{workers} workers");
            assert_eq!(batches.iter().map(|b| b.index).collect::<Vec<_>>(), (0..13).collect::<Vec<_>>());
            let items: Vec<usize> = batches.into_iter().flat_map(|b| b.items).collect();
            assert_eq!(items, order, "{workers} workers");
        }
    }

    #[test]
    fn errors_and_panics_come_out_in_place_without_hanging() {
        for workers in [0, 3] {
            let data = Numbers { fail: Some(9), ..numbers(40) };
            let results: Vec<_> = loader(workers, data).epoch((0..40).collect()).collect();
            assert_eq!(results.len(), 3, "two good batches, then the error, then nothing");
            let err = results[2].as_ref().unwrap_err().to_string();
            assert_eq!(err, "item 9 (batch 2): cannot decode item 9");

            let data = Numbers { panic: Some(21), ..numbers(40) };
            let results: Vec<_> = loader(workers, data).epoch((0..40).collect()).collect();
            let err = results.last().unwrap().as_ref().unwrap_err().to_string();
            assert!(err.contains("panicked on batch 5: item 21 exploded"), "{err}");
        }
    }

    #[test]
    fn two_workers_overlap_and_drop_stops_them() {
        // How much faster two workers are is measured in `cargo bench -p throughput`; here,
        // that both work and that their batches are made at the same time.
        let slow = || Numbers { delay: Duration::from_millis(5), ..numbers(40) };
        let batches: Vec<_> = loader(2, slow()).epoch((0..40).collect()).map(Result::unwrap).collect();
        assert_eq!(batches.len(), 10);
        let by = |worker| batches.iter().filter(|b| b.worker == worker).map(|b| b.made).collect::<Vec<_>>();
        let (first, second) = (by(0), by(1));
        assert!(!first.is_empty() && !second.is_empty(), "both workers make batches");
        let overlapping = first.iter().any(|a| second.iter().any(|b| a.0 < b.1 && b.0 < a.1));
        assert!(overlapping, "the two workers' batches are made at the same time");
        // Dropping mid-epoch returns promptly with workers joined.
        let started = Instant::now();
        let mut epoch = loader(2, slow()).epoch((0..40).collect());
        epoch.next();
        drop(epoch);
        assert!(started.elapsed() < Duration::from_millis(200));
    }
}
