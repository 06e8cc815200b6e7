//! Property tests: cached output equals uncached output bit for bit, and on rotated rectangles
//! the two edge-distance modes agree wherever DB's formula is a true distance.

use polygon_cache::{EdgeDistance, PolygonCache, TargetConfig, TargetGenerator, Targets, TextPolygon};
use proptest::prelude::*;

const SIZE: usize = 128;

fn bits(targets: &Targets) -> Vec<Vec<u32>> {
    targets.maps().iter().map(|(_, map)| map.iter().map(|v| v.to_bits()).collect()).collect()
}

/// Polygons of 3 to 12 vertices anywhere around the image, some ignored, some degenerate.
fn polygons() -> impl Strategy<Value = Vec<TextPolygon>> {
    let point = (-20.0f64..(SIZE as f64 + 20.0), -20.0f64..(SIZE as f64 + 20.0));
    let polygon = (prop::collection::vec(point, 3..12), prop::bool::weighted(0.1)).prop_map(|(points, ignore)| {
        TextPolygon::new(points.into_iter().map(|(x, y)| [x, y]).collect(), ignore).unwrap()
    });
    prop::collection::vec(polygon, 0..6)
}

fn rotated_rectangle() -> impl Strategy<Value = (Vec<[f64; 2]>, f64, f64)> {
    (40.0f64..88.0, 40.0f64..88.0, 12.0f64..70.0, 10.0f64..30.0, -1.5f64..1.5).prop_map(|(cx, cy, w, h, angle)| {
        let (c, s) = (angle.cos(), angle.sin());
        let corners = [[-w, -h], [w, -h], [w, h], [-w, h]]
            .iter()
            .map(|&[x, y]| [x / 2.0 * c - y / 2.0 * s + cx, x / 2.0 * s + y / 2.0 * c + cy])
            .collect();
        (corners, w, h)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn cached_output_is_bit_identical(first in polygons(), second in polygons()) {
        let config = TargetConfig::default();
        let plain = TargetGenerator::new(config);
        let cache = PolygonCache::with_max_bytes(16 << 20);
        let cached = TargetGenerator::with_cache(config, cache.clone());
        // The second image shares polygons with the first, so some lookups hit.
        let shared: Vec<TextPolygon> = second.iter().chain(first.iter().take(2)).cloned().collect();
        for image in [&first, &shared, &first] {
            let expected = plain.generate(SIZE, SIZE, image);
            let cold = cached.generate(SIZE, SIZE, image);
            prop_assert_eq!(expected.is_ok(), cold.is_ok());
            if let (Ok(expected), Ok(cold)) = (expected, cold) {
                prop_assert_eq!(bits(&expected), bits(&cold));
            }
        }
    }

    /// A reused `Targets` only resets what the previous image changed; the maps must still
    /// equal freshly allocated ones, also across a change of size.
    #[test]
    fn reused_targets_equal_fresh_ones(images in prop::collection::vec(polygons(), 1..5), small in prop::bool::ANY) {
        let generator = TargetGenerator::new(TargetConfig::default());
        let mut reused = Targets::default();
        for (index, image) in images.iter().enumerate() {
            let size = if small && index % 2 == 1 { SIZE / 2 } else { SIZE };
            let fresh = generator.generate(size, size, image);
            let again = generator.generate_into(size, size, image, &mut reused);
            prop_assert_eq!(fresh.is_ok(), again.is_ok());
            if let Ok(fresh) = fresh {
                prop_assert_eq!(bits(&fresh), bits(&reused));
            }
        }
    }

    /// DB's formula is the true distance where the pixel sees its edge at an obtuse angle. On a
    /// rectangle that holds for every pixel within D whose nearest boundary point lies in the
    /// middle half of an edge (D ≤ 0.42 × the short side), and far away both are 1. Near the
    /// corners DB's value is larger (it uses the corner distance), so the maps differ there by
    /// up to a few percent: Reference is never above Euclidean.
    #[test]
    fn reference_and_euclidean_agree_on_rectangles((corners, w, h) in rotated_rectangle()) {
        let polygon = vec![TextPolygon::new(corners.clone(), false).unwrap()];
        let config = TargetConfig { is_training: false, ..TargetConfig::default() };
        let reference = TargetGenerator::new(config).generate(SIZE, SIZE, &polygon).unwrap();
        let euclid = TargetGenerator::new(TargetConfig { edge_distance: EdgeDistance::Euclidean, ..config })
            .generate(SIZE, SIZE, &polygon)
            .unwrap();
        let d = w * h * (1.0 - 0.4f64 * 0.4) / (2.0 * (w + h));
        let mut compared = 0;
        for y in 0..SIZE {
            for x in 0..SIZE {
                let (r, e) = (reference.thresh()[y * SIZE + x], euclid.thresh()[y * SIZE + x]);
                prop_assert!(r <= e + 1e-6, "Reference above Euclidean at ({x}, {y}): {r} > {e}");
                let (distance, t) = nearest_on_boundary(&corners, [x as f64, y as f64]);
                if distance >= d * 1.001 || (0.25..=0.75).contains(&t) {
                    compared += 1;
                    prop_assert!((r - e).abs() <= 1e-5, "({x}, {y}): {r} vs {e}, t = {t}, distance {distance}");
                }
            }
        }
        prop_assert!(compared > SIZE * SIZE / 2);
    }
}

/// The distance from `p` to the polygon's boundary and where along the nearest edge it lands.
fn nearest_on_boundary(corners: &[[f64; 2]], p: [f64; 2]) -> (f64, f64) {
    let mut best = (f64::INFINITY, 0.0);
    for i in 0..corners.len() {
        let (a, b) = (corners[i], corners[(i + 1) % corners.len()]);
        let (ex, ey) = (b[0] - a[0], b[1] - a[1]);
        let t = (((p[0] - a[0]) * ex + (p[1] - a[1]) * ey) / (ex * ex + ey * ey)).clamp(0.0, 1.0);
        let distance = (p[0] - a[0] - t * ex).hypot(p[1] - a[1] - t * ey);
        if distance < best.0 {
            best = (distance, t);
        }
    }
    best
}
