//! Errors of this crate.

use std::path::PathBuf;

/// Why a polygon, a ground-truth file or a target computation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A polygon has fewer than three vertices.
    #[error("a polygon needs at least 3 points, found {0}")]
    TooFewPoints(usize),
    /// A coordinate is NaN or infinite.
    #[error("coordinate {index} is {value}, not a finite number")]
    NonFiniteCoordinate {
        /// 0-based position in the flat `x1,y1,x2,...` list.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// A coordinate is too large for the integer geometry (pyclipper would overflow).
    #[error(
        "coordinate {index} is {}, outside ±{}",
        metrics_schema::format_number(*value),
        metrics_schema::format_number(*limit)
    )]
    CoordinateOutOfRange {
        /// 0-based position in the flat `x1,y1,x2,...` list.
        index: usize,
        /// The value found.
        value: f64,
        /// The largest magnitude accepted.
        limit: f64,
    },
    /// A line of a ground-truth file is malformed.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A ground-truth file has no `# size W H` header and no size was given.
    #[error("no image size: add a `# size W H` line or pass a size (--size WxH)")]
    MissingSize,
    /// The image size is zero or too large.
    #[error("image size {width}x{height} is not usable (each side 1..={max})")]
    BadSize {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// The largest side accepted.
        max: usize,
    },
    /// The four maps of the image would take more memory than
    /// [`TargetConfig::max_map_bytes`](crate::TargetConfig::max_map_bytes) allows.
    #[error(
        "image size {width}x{height} needs {} for its four maps, over the limit of {} \
         (raise it with --max-map-mb)",
        metrics_schema::format_bytes(*needed),
        metrics_schema::format_bytes(*limit)
    )]
    MapsTooLarge {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Bytes the maps would take.
        needed: u64,
        /// The limit.
        limit: u64,
    },
    /// The dilated polygon came back empty; the reference fails on such a polygon too
    /// (`IndexError` in `draw_border_map`).
    #[error("polygon {polygon}: its dilation by D = {distance} is empty")]
    EmptyDilation {
        /// 0-based index of the polygon in the image.
        polygon: usize,
        /// The offset distance used.
        distance: f64,
    },
    /// The border patch does not fit the canvas slice the reference would write it to (the
    /// reference raises a broadcasting error there).
    #[error("polygon {polygon}: its border patch lies outside the image")]
    PatchOutsideImage {
        /// 0-based index of the polygon in the image.
        polygon: usize,
    },
    /// A setting lies outside its range ([`TargetConfig::validate`](crate::TargetConfig::validate)).
    #[error("{name} must be a finite number in {range}, not {}", metrics_schema::format_number(*value))]
    Setting {
        /// The setting's name, as [`TargetConfig`](crate::TargetConfig) spells it
        /// (`shrink_ratio`).
        name: &'static str,
        /// The value given.
        value: f64,
        /// The accepted range, in interval notation (`(0, 1)`).
        range: &'static str,
    },
    /// A ground-truth directory holds no `.txt` file.
    #[error("{}: no ground-truth files (*.txt) in this directory", dir.display())]
    EmptyDataset {
        /// The directory.
        dir: PathBuf,
    },
    /// A reference digests file is not one: the wrong kind of report, a bad entry, or no files.
    #[error("{}: {message}", path.display())]
    BadDigests {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// An output file or directory could not be written (a full disk).
    #[error(transparent)]
    Output(#[from] metrics_schema::Error),
    /// Something is wrong inside a named file; the inner error says what and where.
    #[error("{}: {cause}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line where there is one.
        cause: Box<Error>,
    },
}

impl Error {
    pub(crate) fn in_file(self, path: &std::path::Path) -> Error {
        Error::InFile { path: path.to_owned(), cause: Box::new(self) }
    }
}
