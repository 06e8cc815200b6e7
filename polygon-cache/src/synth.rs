//! The built-in data set: seeded, ICDAR-style ground truth for benchmarks that need no files.
//!
//! It follows the reference generator's recipe (jittered rotated quads and CTW1500/Total-Text
//! style curved bands, some `###`, polygons that cross the image border) with its own small
//! PRNG, so it needs no Python and is the same on every machine.

use crate::{Image, TextPolygon, geom::Point};

/// `images` synthetic 640×640 images from `seed`; the same arguments give the same data.
pub fn synthetic_dataset(images: usize, seed: u64) -> Vec<Image> {
    let mut rng = SplitMix64(seed ^ 0x6f63_7270_6572_6621);
    (0..images)
        .map(|index| {
            let size = 640.0;
            let count = 3 + rng.below(37);
            let polygons = (0..count)
                .map(|_| {
                    let points = if rng.uniform(0.0, 1.0) < 0.7 { quad(&mut rng, size) } else { curve(&mut rng, size) };
                    let ignore = rng.uniform(0.0, 1.0) < 0.08;
                    // Coordinates are written with two decimals in real files; keep that grid.
                    let points = points
                        .into_iter()
                        .map(|[x, y]| [(x * 100.0).round() / 100.0, (y * 100.0).round() / 100.0])
                        .collect();
                    TextPolygon::new(points, ignore).expect("synthetic polygons are finite and have 4+ points")
                })
                .collect();
            Image { name: format!("synthetic_{index:04}.txt"), height: 640, width: 640, polygons }
        })
        .collect()
}

fn quad(rng: &mut SplitMix64, size: f64) -> Vec<Point> {
    let (cx, cy) = (rng.uniform(-20.0, size + 20.0), rng.uniform(-20.0, size + 20.0));
    let (w, h) = (rng.uniform(4.0, 220.0), rng.uniform(3.0, 60.0));
    let angle = rng.uniform(-0.8, 0.8);
    let (c, s) = (angle.cos(), angle.sin());
    [[-w, -h], [w, -h], [w, h], [-w, h]]
        .into_iter()
        .map(|[x, y]| {
            let (x, y) = (x / 2.0, y / 2.0);
            [x * c - y * s + cx + rng.normal() * 1.2, x * s + y * c + cy + rng.normal() * 1.2]
        })
        .collect()
}

fn curve(rng: &mut SplitMix64, size: f64) -> Vec<Point> {
    let (cx, cy) = (rng.uniform(40.0, size - 40.0), rng.uniform(40.0, size - 40.0));
    let (length, thick) = (rng.uniform(60.0, 300.0), rng.uniform(10.0, 50.0));
    let (bend, angle) = (rng.uniform(-0.9, 0.9), rng.uniform(-0.5, 0.5));
    let per_side = 4 + rng.below(5);
    let (c, s) = (angle.cos(), angle.sin());
    let side = |t: f64, sign: f64| {
        let (mx, my) = (t * length, bend * length * (t * t - 0.25));
        let (tx, ty) = (length, 2.0 * bend * length * t);
        let norm = (tx * tx + ty * ty).sqrt();
        let (nx, ny) = (-ty / norm, tx / norm);
        let (x, y) = (mx + sign * nx * thick / 2.0, my + sign * ny * thick / 2.0);
        [x * c - y * s + cx, x * s + y * c + cy]
    };
    let ts: Vec<f64> = (0..per_side).map(|i| -0.5 + i as f64 / (per_side - 1) as f64).collect();
    ts.iter().map(|&t| side(t, 1.0)).chain(ts.iter().rev().map(|&t| side(t, -1.0))).collect()
}

/// SplitMix64: tiny, fast and good enough for test data.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn normal(&mut self) -> f64 {
        let u1 = self.uniform(f64::MIN_POSITIVE, 1.0);
        let u2 = self.uniform(0.0, 1.0);
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_varied() {
        let a = synthetic_dataset(20, 7);
        let b = synthetic_dataset(20, 7);
        assert_eq!(a.len(), 20);
        assert!(a.iter().zip(&b).all(|(x, y)| x.polygons == y.polygons));
        assert_ne!(a[0].polygons, synthetic_dataset(1, 8)[0].polygons);
        let polygons: Vec<_> = a.iter().flat_map(|image| &image.polygons).collect();
        assert!(polygons.iter().any(|p| p.ignore()) && polygons.iter().any(|p| !p.ignore()));
        assert!(polygons.iter().any(|p| p.points().len() > 4), "curved polygons too");
        assert!(
            polygons
                .iter()
                .any(|p| { p.points().iter().any(|&[x, y]| !(0.0..640.0).contains(&x) || !(0.0..640.0).contains(&y)) })
        );
    }
}
