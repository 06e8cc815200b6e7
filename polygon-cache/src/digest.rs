//! Map digests (the reference's `digests.json`) and `.npy` output.

use std::{
    collections::BTreeMap,
    io::{self, Write},
    path::Path,
};

use metrics_schema::FileDigest;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Image, TargetGenerator, Targets};

/// The SHA-256 of each map's little-endian `f32` bytes, hex, as in the reference's
/// `digests.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapDigests {
    /// Shrink map.
    pub gt: String,
    /// Shrink mask.
    pub mask: String,
    /// Threshold map.
    pub thresh: String,
    /// Threshold mask.
    pub thresh_mask: String,
}

impl From<MapDigests> for metrics_schema::FileDigest {
    fn from(maps: MapDigests) -> Self {
        metrics_schema::FileDigest::Maps {
            gt: maps.gt,
            mask: maps.mask,
            thresh: maps.thresh,
            thresh_mask: maps.thresh_mask,
        }
    }
}

/// The hex SHA-256 of a map's little-endian `f32` bytes.
pub fn digest_map(map: &[f32]) -> String {
    let mut hasher = Sha256::new();
    let mut buffer = [0u8; 4096];
    for chunk in map.chunks(buffer.len() / 4) {
        for (bytes, value) in buffer.chunks_exact_mut(4).zip(chunk) {
            bytes.copy_from_slice(&value.to_le_bytes());
        }
        hasher.update(&buffer[..chunk.len() * 4]);
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The digests of all four maps.
pub fn digest_targets(targets: &Targets) -> MapDigests {
    MapDigests {
        gt: digest_map(targets.gt()),
        mask: digest_map(targets.mask()),
        thresh: digest_map(targets.thresh()),
        thresh_mask: digest_map(targets.thresh_mask()),
    }
}

/// Writes `map` (`height × width`) as a NumPy `.npy` file (format 1.0, `<f4`, C order), the
/// same bytes `numpy.save` writes.
///
/// # Errors
/// Whatever `out` returns.
pub fn write_npy(out: &mut dyn Write, map: &[f32], height: usize, width: usize) -> io::Result<()> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({height}, {width}), }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    out.write_all(b"\x93NUMPY\x01\x00")?;
    let length = u16::try_from(header.len()).map_err(io::Error::other)?;
    out.write_all(&length.to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    let mut buffer = Vec::with_capacity(map.len().min(1 << 16) * 4);
    for chunk in map.chunks(1 << 16) {
        buffer.clear();
        for value in chunk {
            buffer.extend_from_slice(&value.to_le_bytes());
        }
        out.write_all(&buffer)?;
    }
    Ok(())
}

/// Makes every image's four maps and writes them into `dir` (created if missing) as
/// `<stem>.<map>.npy` (`gt`, `mask`, `thresh`, `thresh_mask`), each file atomically, for a
/// Python job to load. Returns each image's digests, or its error where the reference fails too
/// (an image that fails gets no files). `on_image` is called after each image; `should_stop` is
/// polled before each, and the images done so far are returned when it says stop.
///
/// # Errors
/// [`Error::Output`] when `dir` or a file cannot be written (a full disk).
pub fn write_dataset_npy(
    images: &[Image],
    generator: &TargetGenerator,
    dir: &Path,
    on_image: &dyn Fn(),
    should_stop: &dyn Fn() -> bool,
) -> Result<BTreeMap<String, FileDigest>, Error> {
    metrics_schema::create_output_dir(dir)?;
    let mut targets = Targets::default();
    let mut files = BTreeMap::new();
    for image in images {
        if should_stop() {
            break;
        }
        let digest = match generator.generate_into(image.height, image.width, &image.polygons, &mut targets) {
            Ok(()) => {
                let name = Path::new(&image.name);
                let stem = name.file_stem().map_or_else(|| image.name.clone(), |s| s.to_string_lossy().into_owned());
                for (map, values) in targets.maps() {
                    let path = dir.join(format!("{stem}.{map}.npy"));
                    metrics_schema::write_atomic(&path, |out| {
                        write_npy(out, values, targets.height(), targets.width())
                    })?;
                }
                digest_targets(&targets).into()
            }
            Err(err) => FileDigest::Error { error: err.to_string() },
        };
        files.insert(image.name.clone(), digest);
        on_image();
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_of_le_bytes() {
        // hashlib.sha256(np.zeros(3, '<f4').tobytes()).hexdigest()
        assert_eq!(digest_map(&[0.0; 3]), "15ec7bf0b50732b49f8228e07d24365338f9e3ab994b00af08e5a3bffe55fd8b");
        assert_eq!(digest_map(&[]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let long: Vec<f32> = (0..5000).map(|i| i as f32).collect();
        assert_eq!(digest_map(&long).len(), 64);
    }

    #[test]
    fn npy_header_is_numpys() {
        let mut bytes = Vec::new();
        write_npy(&mut bytes, &[1.0, 2.0], 1, 2).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert_eq!(header.trim_end(), "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }");
        assert_eq!(&bytes[10 + header_len..], [1.0f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat());
    }
}
