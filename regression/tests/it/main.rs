//! Integration tests of the regression crate on the tracker fixtures in `testdata/regression`,
//! written by the trackers' own libraries (`tools/make_tracker_fixtures.py`).

#![expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]

mod damage;
mod gate;
mod properties;
mod readers;

use std::path::{Path, PathBuf};

use regression::{ReadOptions, RunMetrics, SourceSpec, sources};

pub(crate) fn fixtures(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/regression").join(relative)
}

/// The SQLite store is committed gzipped; unpacked into `dir`.
pub(crate) fn mlflow_db(dir: &Path) -> PathBuf {
    let path = dir.join("mlflow.db");
    let mut source = flate2::read::GzDecoder::new(std::fs::File::open(fixtures("mlflow-sqlite/mlflow.db.gz")).unwrap());
    let mut target = std::fs::File::create(&path).unwrap();
    std::io::copy(&mut source, &mut target).unwrap();
    path
}

pub(crate) fn load(path: &Path, run: Option<&str>) -> Result<RunMetrics, regression::Error> {
    let spec = SourceSpec { paths: vec![path.to_owned()], run: run.map(str::to_owned), repeats: false };
    sources::load(&spec, &ReadOptions::default()).map(|mut runs| runs.remove(0))
}
