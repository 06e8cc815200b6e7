//! Output files that are either complete or absent.

use std::{
    ffi::OsString,
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use crate::Error;

/// Writes a file atomically: the bytes go to a temporary file in the same directory, which is
/// flushed, synced and then renamed over `path`.
///
/// A reader never sees a half-written file, and a failure (a full disk, a crash, Ctrl-C) leaves
/// any previous `path` untouched and removes the temporary file.
///
/// # Errors
/// [`Error::Io`] naming `path`, with the cause (for example "No space left on device").
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    let fail = |cause: io::Error| Error::Io { path: path.to_owned(), cause };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file_name = path.file_name().ok_or_else(|| fail(io::Error::other("not a file name")))?;
    let (file, temp) = create_temp_beside(dir, file_name).map_err(fail)?;
    {
        let mut out = BufWriter::new(&file);
        write(&mut out).map_err(fail)?;
        out.flush().map_err(fail)?;
    }
    file.sync_all().map_err(fail)?;
    drop(file);
    std::fs::rename(&temp.0, path).map_err(fail)?;
    std::mem::forget(temp);
    // Make the rename itself durable where the platform allows it; failure here loses nothing.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Removes the temporary file unless the rename consumed it.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Creates `.<name>.<pid>.<n>.tmp` next to the target; in the same directory, so the rename
/// never crosses file systems.
fn create_temp_beside(dir: &Path, file_name: &std::ffi::OsStr) -> io::Result<(File, RemoveOnDrop)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let mut name = OsString::from(".");
        name.push(file_name);
        name.push(format!(".{}.{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
        let temp = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((file, RemoveOnDrop(temp))),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomic(&path, |w| w.write_all(b"first")).unwrap();
        write_atomic(&path, |w| w.write_all(b"second")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        assert_eq!(entries(dir.path()), ["out.json"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old").unwrap();
        let err = write_atomic(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::new(io::ErrorKind::StorageFull, "No space left on device"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), format!("{}: No space left on device", path.display()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(entries(dir.path()), ["out.json"]);
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.json");
        let err = write_atomic(&path, |w| w.write_all(b"x")).unwrap_err();
        assert_eq!(err.to_string(), format!("{}: No such file or directory (os error 2)", path.display()));
    }

    #[test]
    fn a_directory_in_the_way_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("taken")).unwrap();
        let err = write_atomic(&dir.path().join("taken"), |w| w.write_all(b"x")).unwrap_err();
        assert!(err.to_string().starts_with(&dir.path().join("taken").display().to_string()), "{err}");
        assert_eq!(entries(dir.path()), ["taken"]);
    }
}
