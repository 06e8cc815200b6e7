//! Output files that are either complete or absent: one file ([`write_atomic`]) or a set of
//! files in one directory ([`write_set_atomic`]).

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
/// Only a regular file or a missing path is replaced. A symbolic link is followed first, so the
/// file it names is replaced and the link stays. A device node, FIFO or socket (`/dev/null`, a
/// named pipe that a reader is waiting on) is written into directly: renaming over it would
/// put a regular file where the device was, and the reader would get nothing.
///
/// # Errors
/// [`Error::Io`] naming `path`, with the cause (for example "No space left on device", or "is a
/// directory").
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    let fail = |cause: io::Error| Error::Io { path: path.to_owned(), cause };
    let path = &match resolve_target(path).map_err(fail)? {
        Target::Replace(path) => path,
        Target::Stream(path) => return write_into(&path, write).map_err(fail),
    };
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

/// Creates `dir` (and its parents) for output files; a path that exists as something other
/// than a directory is refused.
///
/// # Errors
/// [`Error::Io`] naming `dir`.
pub fn create_output_dir(dir: &Path) -> Result<(), Error> {
    let fail = |cause: io::Error| Error::Io { path: dir.to_owned(), cause };
    if dir.exists() && !dir.is_dir() {
        return Err(fail(io::Error::other(
            "exists and is not a directory; give a directory (it is created if missing)",
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|cause| fail(io::Error::new(cause.kind(), format!("cannot create this directory: {cause}"))))
}

/// Writes `files` (name, bytes) into `dir` as one set, creating `dir` if needed: each file
/// goes to a staging directory inside `dir` first, and all are renamed into place only once
/// every one is written and synced (renames need no space), in the order given, so put the
/// file that readers look for first (`baseline.json`) last. A failure (a full disk) leaves the
/// previous set, or nothing, and no staging directory.
///
/// # Errors
/// [`Error::Io`] naming the file that could not be written (its final path), or `dir`.
pub fn write_set_atomic(dir: &Path, files: &[(&str, &[u8])]) -> Result<(), Error> {
    create_output_dir(dir)?;
    let staging = create_staging_dir(dir).map_err(|cause| Error::Io { path: dir.to_owned(), cause })?;
    for (name, bytes) in files {
        let write = || -> io::Result<()> {
            let mut file = OpenOptions::new().write(true).create_new(true).open(staging.0.join(name))?;
            file.write_all(bytes)?;
            file.sync_all()
        };
        write().map_err(|cause| Error::Io { path: dir.join(name), cause })?;
    }
    for (name, _) in files {
        std::fs::rename(staging.0.join(name), dir.join(name))
            .map_err(|cause| Error::Io { path: dir.join(name), cause })?;
    }
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Removes a staging directory and what is left in it, unless everything was renamed out.
struct RemoveDirOnDrop(PathBuf);

impl Drop for RemoveDirOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Creates `.staging.<pid>.<n>` inside `dir`: in the same file system as the targets, so the
/// renames out of it never copy.
fn create_staging_dir(dir: &Path) -> io::Result<RemoveDirOnDrop> {
    loop {
        let name = format!(".staging.{}.{}", std::process::id(), TEMP_COUNTER.fetch_add(1, Ordering::Relaxed));
        let path = dir.join(name);
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(RemoveDirOnDrop(path)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
}

/// Numbers temporary files and staging directories apart within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What to do with an output path.
enum Target {
    /// A regular file or a missing path (symbolic links resolved): temp file, then rename.
    Replace(PathBuf),
    /// A device, FIFO or socket: opened and written in place.
    Stream(PathBuf),
}

/// Follows symbolic links (relative ones from the link's directory) to the path that is really
/// written, and says how to write it.
fn resolve_target(path: &Path) -> io::Result<Target> {
    // Linux's own limit on links followed in one lookup.
    const MAX_LINKS: usize = 40;
    let mut current = path.to_owned();
    for _ in 0..=MAX_LINKS {
        let meta = match std::fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Target::Replace(current)),
            Err(err) => return Err(err),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let link = std::fs::read_link(&current)?;
            current = match current.parent() {
                Some(parent) if link.is_relative() => parent.join(link),
                _ => link,
            };
        } else if kind.is_file() {
            return Ok(Target::Replace(current));
        } else if kind.is_dir() {
            return Err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory, not a file"));
        } else {
            return Ok(Target::Stream(current));
        }
    }
    Err(io::Error::other(format!("more than {MAX_LINKS} symbolic links to follow")))
}

/// Writes into an existing device, FIFO or socket without replacing it.
fn write_into(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    let mut out = BufWriter::new(file);
    write(&mut out)?;
    out.flush()
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
    loop {
        let mut name = OsString::from(".");
        name.push(file_name);
        name.push(format!(".{}.{}.tmp", std::process::id(), TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)));
        let temp = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((file, RemoveOnDrop(temp))),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_set_replaces_the_old_set_and_leaves_no_staging() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new/baseline");
        write_set_atomic(&out, &[("a.svg", b"a1"), ("baseline.json", b"j1")]).unwrap();
        write_set_atomic(&out, &[("a.svg", b"a2"), ("baseline.json", b"j2")]).unwrap();
        assert_eq!(entries(&out), ["a.svg", "baseline.json"]);
        assert_eq!(std::fs::read_to_string(out.join("baseline.json")).unwrap(), "j2");
    }

    #[test]
    fn a_set_that_cannot_be_written_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        write_set_atomic(dir.path(), &[("a.svg", b"old"), ("baseline.json", b"old")]).unwrap();
        // A name that cannot be a file in the staging directory fails the second file.
        let err = write_set_atomic(dir.path(), &[("a.svg", b"new"), ("no/such/b.md", b"new")]).unwrap_err();
        assert!(err.to_string().starts_with(&dir.path().join("no/such/b.md").display().to_string()), "{err}");
        assert_eq!(entries(dir.path()), ["a.svg", "baseline.json"]);
        assert_eq!(std::fs::read_to_string(dir.path().join("a.svg")).unwrap(), "old");
    }

    #[test]
    fn an_output_directory_that_is_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("taken");
        std::fs::write(&file, "x").unwrap();
        let err = create_output_dir(&file).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: exists and is not a directory; give a directory (it is created if missing)", file.display())
        );
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

    #[test]
    fn a_symlink_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::fs::write(dir.path().join("real/out.json"), "old").unwrap();
        std::os::unix::fs::symlink("real/out.json", dir.path().join("link.json")).unwrap();
        write_atomic(&dir.path().join("link.json"), |w| w.write_all(b"new")).unwrap();
        assert!(std::fs::symlink_metadata(dir.path().join("link.json")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(dir.path().join("real/out.json")).unwrap(), "new");
        assert_eq!(entries(&dir.path().join("real")), ["out.json"]);
    }

    #[test]
    fn a_dangling_symlink_creates_its_target() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("made.json", dir.path().join("link.json")).unwrap();
        write_atomic(&dir.path().join("link.json"), |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("made.json")).unwrap(), "new");
        assert!(std::fs::symlink_metadata(dir.path().join("link.json")).unwrap().file_type().is_symlink());
    }

    #[test]
    fn a_symlink_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("b", dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        let err = write_atomic(&dir.path().join("a"), |w| w.write_all(b"x")).unwrap_err();
        assert!(err.to_string().contains("symbolic links"), "{err}");
    }

    #[test]
    fn a_device_is_written_into_not_replaced() {
        let null = Path::new("/dev/null");
        let before = std::fs::metadata(null).unwrap();
        write_atomic(null, |w| w.write_all(b"discarded")).unwrap();
        let after = std::fs::metadata(null).unwrap();
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        assert!(after.file_type().is_char_device());
        assert_eq!(before.ino(), after.ino());
    }

    #[test]
    fn a_fifo_reader_gets_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        mkfifo(&fifo);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        write_atomic(&fifo, |w| w.write_all(b"through the pipe")).unwrap();
        assert_eq!(reader.join().unwrap(), "through the pipe");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }

    /// `mkfifo(1)`, so the library needs no FFI crate for a test.
    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
        assert!(status.success());
    }
}
