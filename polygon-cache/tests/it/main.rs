//! Integration tests of `polygon-cache`: parity with the reference on the repository's
//! fixtures, cached against uncached output, and the two edge-distance modes.

mod parity;
mod properties;

use std::path::{Path, PathBuf};

pub(crate) fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/dbnet")
}
