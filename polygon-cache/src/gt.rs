//! ICDAR 2015 style ground-truth files.
//!
//! One polygon per line, `x1,y1,x2,y2,...,xn,yn,transcription`; `###` as the transcription
//! marks a "do not care" region. Any even number of coordinates is accepted (quads and
//! CTW1500/Total-Text style curved polygons); the transcription may itself contain commas. A
//! UTF-8 BOM is skipped, and a `# size W H` line gives the image size. Other lines starting
//! with `# ` are comments.

use std::path::Path;

use crate::{Error, TextPolygon};

/// The largest image side accepted.
pub const MAX_IMAGE_SIDE: usize = 1 << 15;

/// The polygons of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    /// `(width, height)` from the `# size W H` line, if the file has one.
    pub size: Option<(usize, usize)>,
    /// The polygons in file order.
    pub polygons: Vec<TextPolygon>,
}

/// Parses the text of a ground-truth file.
///
/// # Errors
/// [`Error::Line`] naming the 1-based line for a malformed line, a NaN or infinite coordinate,
/// an odd coordinate count or fewer than three points.
pub fn parse_ground_truth(text: &str) -> Result<GroundTruth, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut size = None;
    let mut polygons = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let fail = |message: String| Error::Line { line, message };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("# size") {
            let this = parse_size_header(rest).map_err(fail)?;
            // A file describes one image: a second, different size is a contradiction that
            // would silently pick one of two canvases.
            if let Some((first, (w, h))) = size.filter(|&(_, first)| first != this) {
                return Err(fail(format!(
                    "a second `# size` ({} {}) contradicts line {first}'s ({w} {h}); a file describes one image",
                    this.0, this.1
                )));
            }
            size = Some((line, this));
            continue;
        }
        if trimmed.starts_with("# ") || trimmed == "#" {
            continue;
        }
        polygons.push(parse_polygon_line(trimmed).map_err(fail)?);
    }
    Ok(GroundTruth { size: size.map(|(_, size)| size), polygons })
}

/// Reads and parses a ground-truth file; errors name the file and the line.
///
/// # Errors
/// [`Error::Io`] when the file can't be read (or is not UTF-8), [`Error::InFile`] around the
/// errors of [`parse_ground_truth`].
pub fn read_ground_truth(path: &Path) -> Result<GroundTruth, Error> {
    let text = metrics_schema::text::read_text(path, metrics_schema::text::MAX_TEXT_FILE).map_err(|err| match err {
        metrics_schema::text::TextError::Io(cause) => Error::Io { path: path.to_owned(), cause },
        metrics_schema::text::TextError::NotUtf8 { line, .. } => {
            Error::Line { line: line as usize, message: "not valid UTF-8".to_owned() }.in_file(path)
        }
        other => Error::Line { line: 1, message: other.to_string() }.in_file(path),
    })?;
    parse_ground_truth(&text).map_err(|err| err.in_file(path))
}

fn parse_size_header(rest: &str) -> Result<(usize, usize), String> {
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let parse = |text: &str| text.parse::<usize>().ok().filter(|&n| (1..=MAX_IMAGE_SIDE).contains(&n));
    match fields.as_slice() {
        [w, h] => match (parse(w), parse(h)) {
            (Some(w), Some(h)) => Ok((w, h)),
            _ => Err(format!("`# size {w} {h}`: width and height must be whole numbers in 1..={MAX_IMAGE_SIDE}")),
        },
        _ => Err("expected `# size W H`".to_owned()),
    }
}

fn parse_polygon_line(line: &str) -> Result<TextPolygon, String> {
    let fields: Vec<&str> = line.split(',').collect();
    let is_number = |field: &&str| field.trim().parse::<f64>().is_ok();
    // Coordinates are the numeric fields before the last one; the transcription is the rest,
    // which may contain commas of its own. A line of an even count of numbers alone has no
    // transcription (`x1,y1,...,x4,y4`): reading its last number as one would leave an odd
    // count ("odd number of coordinates (7)") for a line that is plainly four points. DB's
    // loader takes the first eight numbers of such a line too.
    let numeric = if fields.len().is_multiple_of(2) && fields.iter().all(is_number) {
        fields.len()
    } else {
        fields[..fields.len() - 1].iter().take_while(|field| is_number(field)).count()
    };
    let transcription = fields[numeric..].join(",");
    if numeric == 0 {
        return Err(format!("expected x1,y1,...,xn,yn,transcription; `{}` is not a number", fields[0].trim()));
    }
    if numeric % 2 == 1 {
        return Err(format!("odd number of coordinates ({numeric}): every point needs an x and a y"));
    }
    let coordinates: Vec<f64> =
        fields[..numeric].iter().map(|field| field.trim().parse().unwrap_or(f64::NAN)).collect();
    let ignore = transcription.trim() == "###";
    TextPolygon::from_flat(&coordinates, ignore).map_err(|err| err.to_string())
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;

    #[test]
    fn two_different_sizes_are_a_contradiction() {
        let err = parse_ground_truth("# size 640 480\n0,0,10,0,10,10,t\n# size 320 240\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: a second `# size` (320 240) contradicts line 1's (640 480); a file describes one image"
        );
        assert_eq!(parse_ground_truth("# size 640 480\n# size 640 480\n").unwrap().size, Some((640, 480)));
    }

    #[test]
    fn parses_quads_curves_bom_and_size() {
        let text = "\u{feff}# size 640 480\n377,117,463,117,465,130,378,130,Genaxis Theatre\n\
                    374,155,409,155,409,170,374,170,###\n\n1.5,2,3,4,5,6,7,8,9,10,11,12,Hello, world\n";
        let gt = parse_ground_truth(text).unwrap();
        assert_eq!(gt.size, Some((640, 480)));
        assert_eq!(gt.polygons.len(), 3);
        assert!(!gt.polygons[0].ignore() && gt.polygons[1].ignore());
        assert_eq!(gt.polygons[2].points().len(), 6);
        assert_eq!(gt.polygons[2].points()[0], [1.5, 2.0]);
    }

    #[test]
    fn a_numeric_transcription_is_still_the_transcription() {
        let gt = parse_ground_truth("0,0,10,0,10,10,0,10,42\n").unwrap();
        assert_eq!(gt.polygons[0].points().len(), 4);
        assert_eq!(gt.size, None);
    }

    #[test]
    fn numbers_without_a_transcription_are_all_coordinates() {
        let gt = parse_ground_truth("0,0,10,0,10,10,0,10\n0, 0, 5, 0, 5, 5\n").unwrap();
        assert_eq!(gt.polygons[0].points(), [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]);
        assert_eq!(gt.polygons[1].points().len(), 3);
        assert!(!gt.polygons[0].ignore());
        // Seven numbers are six coordinates and a numeric transcription, as before.
        assert_eq!(parse_ground_truth("0,0,10,0,10,10,7\n").unwrap().polygons[0].points().len(), 3);
    }

    fn error(text: &str) -> String {
        parse_ground_truth(text).unwrap_err().to_string()
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(
            error("0,0,10,0,10,10,0,10,ok\n0,0,1,1,2,x\n"),
            "line 2: odd number of coordinates (5): every point needs an x and a y"
        );
        assert_eq!(error("0,0,10,0,text\n"), "line 1: a polygon needs at least 3 points, found 2");
        assert_eq!(error("0,nan,10,0,10,10,text\n"), "line 1: coordinate 1 is NaN, not a finite number");
        assert_eq!(error("0,0,inf,0,10,10,text\n"), "line 1: coordinate 2 is inf, not a finite number");
        assert_eq!(error("hello\n"), "line 1: expected x1,y1,...,xn,yn,transcription; `hello` is not a number");
        assert_eq!(error("# size 640\n"), "line 1: expected `# size W H`");
        assert_eq!(
            error("\n\n# size 0 10\n"),
            "line 3: `# size 0 10`: width and height must be whole numbers in 1..=32768"
        );
    }

    #[test]
    fn files_are_named_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gt_1.txt");
        std::fs::write(&path, "0,0,10,0,10,10,ok\n1,2,3\n").unwrap();
        let err = read_ground_truth(&path).unwrap_err().to_string();
        assert_eq!(err, format!("{}: line 2: a polygon needs at least 3 points, found 1", path.display()));
        std::fs::write(&path, b"0,0,10,0,10,10,ok\n\xff\n").unwrap();
        assert_eq!(
            read_ground_truth(&path).unwrap_err().to_string(),
            format!("{}: line 2: not valid UTF-8", path.display())
        );
        let missing = read_ground_truth(&dir.path().join("none.txt")).unwrap_err();
        assert!(matches!(missing, Error::Io { .. }));
    }
}
