//! The one refusal of an output that would be written over an input, for every command of
//! both front ends (`-o`, `--junit`, `--svg`; Python's `json_out`, `markdown_out`).

use std::path::{Path, PathBuf};

/// An output would be written over one of the inputs it is made from.
#[derive(Debug, thiserror::Error)]
#[error(
    "{}: `{option}` would write over an input of this command ({}); give another output path",
    output.display(),
    input.display()
)]
pub struct OverwritesInput {
    /// The option that names the output, as the user gave it (`-o`, `json_out`).
    pub option: String,
    /// The output.
    pub output: PathBuf,
    /// The input it would write over (the file, or the directory that holds it).
    pub input: PathBuf,
}

/// Refuses, before any work, an output that would be written over one of the inputs: the same
/// file or directory as an input (through links too), or a file inside an input directory that
/// `is_read` says the command would read there. The input is left as it was.
///
/// `outputs` are (option, path) pairs as the user gave them (`-o`, `--junit`); `-` and paths
/// that do not exist yet are never inputs.
///
/// # Errors
/// [`OverwritesInput`], naming the output, its option and the input.
pub fn refuse_overwriting_inputs(
    outputs: &[(&str, &Path)],
    inputs: &[PathBuf],
    is_read: impl Fn(&Path) -> bool,
) -> Result<(), OverwritesInput> {
    for &(option, output) in outputs {
        // A path that does not exist yet cannot be an input; `-` is standard output.
        let Ok(written) = std::fs::metadata(output) else { continue };
        for input in inputs.iter().filter(|input| input.as_os_str() != "-") {
            let Ok(read) = std::fs::metadata(input) else { continue };
            let clash = same_file(&written, &read)
                || (read.is_dir() && written.is_file() && is_inside(output, input) && is_read(output));
            if clash {
                return Err(OverwritesInput {
                    option: option.to_owned(),
                    output: output.to_owned(),
                    input: input.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Whether two files' metadata are of one file (device and inode on Unix).
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// Whether `path` lies under the directory `dir` (both resolved).
fn is_inside(path: &Path, dir: &Path) -> bool {
    match (std::fs::canonicalize(path), std::fs::canonicalize(dir)) {
        (Ok(path), Ok(dir)) => path.starts_with(dir),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
    fn an_output_over_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("events.jsonl");
        std::fs::write(&input, "x").unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let other = dir.path().join("other.json");
        std::fs::write(&other, "y").unwrap();
        let never = |_: &Path| false;
        let inputs = [input.clone()];
        let err = refuse_overwriting_inputs(&[("-o", &link)], &inputs, never).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: `-o` would write over an input of this command ({}); give another output path",
                link.display(),
                input.display()
            )
        );
        assert_eq!((err.option.as_str(), &err.output, &err.input), ("-o", &link, &input));
        refuse_overwriting_inputs(&[("-o", &other), ("--junit", &dir.path().join("new.xml"))], &inputs, never).unwrap();
        refuse_overwriting_inputs(&[("-o", Path::new("-"))], &inputs, never).unwrap();
        // Inside an input directory: only what would be read there.
        let dirs = [dir.path().to_owned()];
        refuse_overwriting_inputs(&[("-o", &other)], &dirs, |path| path.ends_with("events.jsonl")).unwrap();
        assert!(refuse_overwriting_inputs(&[("-o", &input)], &dirs, |path| path.ends_with("events.jsonl")).is_err());
        assert_eq!(std::fs::read_to_string(&input).unwrap(), "x");
    }
}
