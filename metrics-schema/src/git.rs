//! The git commit of a working directory.

use std::{path::Path, process::Command};

use serde::{Deserialize, Serialize};

/// Which commit a report was made at, so two reports can be tied to the code they measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// The full commit hash of `HEAD`.
    pub commit: String,
    /// Whether tracked files had uncommitted changes.
    pub dirty: bool,
}

impl GitInfo {
    /// Asks `git` about `dir`. `None` when `dir` is not inside a git checkout, when the checkout
    /// has no commit yet, or when git is not installed: a report without `git` is still valid.
    pub fn detect(dir: &Path) -> Option<GitInfo> {
        let run = |args: &[&str]| {
            let output = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
            output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        };
        let commit = run(&["rev-parse", "--verify", "--quiet", "HEAD"])?;
        if commit.is_empty() {
            return None;
        }
        let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|status| !status.is_empty());
        Some(GitInfo { commit, dirty })
    }
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;

    #[test]
    fn outside_a_checkout_there_is_no_commit() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(GitInfo::detect(dir.path()), None);
    }

    #[test]
    fn inside_a_checkout_the_commit_and_dirtiness_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"])
                .args(args)
                .output();
            status.is_ok_and(|out| out.status.success())
        };
        if !git(&["init", "-q"]) {
            return; // no git on this machine: nothing to compare against
        }
        assert_eq!(GitInfo::detect(dir.path()), None, "no commit yet");
        std::fs::write(dir.path().join("a.txt"), "1").unwrap();
        assert!(git(&["add", "a.txt"]) && git(&["commit", "-q", "-m", "one"]));
        let clean = GitInfo::detect(dir.path()).unwrap();
        assert_eq!(clean.commit.len(), 40);
        assert!(!clean.dirty);
        std::fs::write(dir.path().join("a.txt"), "2").unwrap();
        assert!(GitInfo::detect(dir.path()).unwrap().dirty);
    }
}
