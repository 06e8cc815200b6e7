//! Digest parity with the reference (`dbnet_reference.py targets`) on `testdata/dbnet`.

use std::{collections::BTreeMap, path::Path};

use polygon_cache::{
    MapDigests, PolygonCache, TargetConfig, TargetGenerator, Targets, digest_targets, read_ground_truth,
};
use serde::Deserialize;

use crate::testdata;

#[derive(Deserialize)]
struct Expected {
    files: BTreeMap<String, MapDigests>,
}

fn expected_in(set: &Path) -> Expected {
    let text = std::fs::read_to_string(set.join("expected/digests.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn expected() -> Expected {
    expected_in(&testdata())
}

fn generate(generator: &TargetGenerator, name: &str) -> Targets {
    generate_in(&testdata(), generator, name)
}

fn generate_in(set: &Path, generator: &TargetGenerator, name: &str) -> Targets {
    let gt = read_ground_truth(&set.join("gt").join(name)).unwrap();
    let (width, height) = gt.size.unwrap();
    generator.generate(height, width, &gt.polygons).unwrap()
}

#[test]
fn every_fixture_matches_the_reference_digests() {
    assert_matches_reference(&testdata(), 60);
}

/// Collinear and repeated vertices, concave notches that split on shrinking, bow-ties.
#[test]
fn awkward_polygons_match_the_reference_digests() {
    assert_matches_reference(&testdata().join("../dbnet-hard"), 30);
}

fn assert_matches_reference(set: &Path, files: usize) {
    let expected = expected_in(set);
    assert_eq!(expected.files.len(), files);
    let generator = TargetGenerator::new(TargetConfig::default());
    let mut mismatches = Vec::new();
    for (name, digests) in &expected.files {
        let targets = generate_in(set, &generator, name);
        let ours = digest_targets(&targets);
        for ((map, a), b) in ["gt", "mask", "thresh", "thresh_mask"]
            .iter()
            .zip([&ours.gt, &ours.mask, &ours.thresh, &ours.thresh_mask])
            .zip([&digests.gt, &digests.mask, &digests.thresh, &digests.thresh_mask])
        {
            if a != b {
                mismatches.push(format!("{name}:{map}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{} maps differ: {mismatches:?}", mismatches.len());
}

#[test]
fn cached_targets_are_bit_identical_and_hit() {
    let expected = expected();
    let cache = PolygonCache::with_max_bytes(256 << 20);
    let cached = TargetGenerator::with_cache(TargetConfig::default(), cache.clone());
    let names: Vec<&String> = expected.files.keys().take(12).collect();
    for _epoch in 0..2 {
        for name in &names {
            assert_eq!(digest_targets(&generate(&cached, name)), expected.files[*name], "{name}");
        }
    }
    let stats = cache.stats();
    assert!(stats.hits > 0 && stats.hits == stats.misses, "{stats:?}");
    assert!(stats.entries > 0 && stats.bytes > 0);
}
