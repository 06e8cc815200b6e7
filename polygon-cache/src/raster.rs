//! `cv2.fillPoly(img, [pts], value)` for one polygon on a single-channel `f32` image, pixel for
//! pixel: 8-connected outlines plus OpenCV's fixed-point scanline fill (`shift = 0`,
//! `LINE_8`), including its clipping of edges that leave the image.

const XY_SHIFT: u32 = 16;
const XY_ONE: i64 = 1 << XY_SHIFT;

/// A row-major single-channel image that records, per row, which columns were written.
pub(crate) struct Canvas<'a> {
    pub(crate) data: &'a mut [f32],
    /// Per row, the columns `start..end` written so far (extended, never shrunk).
    pub(crate) dirty: &'a mut [(usize, usize)],
    pub(crate) width: usize,
    pub(crate) height: usize,
}

impl Canvas<'_> {
    #[inline]
    fn put(&mut self, x: i64, y: i64, value: f32) {
        let (x, y) = (x as usize, y as usize);
        self.data[y * self.width + x] = value;
        let span = &mut self.dirty[y];
        *span = (span.0.min(x), span.1.max(x + 1));
    }

    fn hline(&mut self, y: i64, x1: i64, x2: i64, value: f32) {
        let (y, x1, x2) = (y as usize, x1 as usize, x2 as usize);
        let row = y * self.width;
        self.data[row + x1..=row + x2].fill(value);
        let span = &mut self.dirty[y];
        *span = (span.0.min(x1), span.1.max(x2 + 1));
    }
}

/// Fills the polygon `points` (OpenCV `Point`s, i.e. already truncated to integers) with
/// `value`, exactly as `cv2.fillPoly` does.
pub(crate) fn fill_poly(canvas: &mut Canvas<'_>, points: &[[i32; 2]], value: f32) {
    if points.is_empty() {
        return;
    }
    let mut edges = Vec::with_capacity(points.len() + 2);
    collect_poly_edges(canvas, points, value, &mut edges);
    fill_edge_collection(canvas, edges, value);
}

#[derive(Debug, Clone, Copy)]
struct PolyEdge {
    y0: i64,
    y1: i64,
    x: i64,
    dx: i64,
    /// The next edge in the active list (`NONE` at its end).
    next: usize,
}

fn collect_poly_edges(canvas: &mut Canvas<'_>, points: &[[i32; 2]], value: f32, edges: &mut Vec<PolyEdge>) {
    let fixed = |p: [i32; 2]| (i64::from(p[0]) << XY_SHIFT, i64::from(p[1]));
    let (mut pt0x, mut pt0y) = fixed(points[points.len() - 1]);
    for &point in points {
        let (pt1x, pt1y) = fixed(point);
        let mut t0 = [(pt0x + (XY_ONE >> 1)) >> XY_SHIFT, pt0y];
        let mut t1 = [(pt1x + (XY_ONE >> 1)) >> XY_SHIFT, pt1y];
        draw_line(canvas, t0, t1, value);

        let (mut pt0cy, mut pt1cy) = (pt0y, pt1y);
        let outside = |t: [i64; 2]| t[0] < 0 || t[0] >= canvas.width as i64 || t[1] < 0 || t[1] >= canvas.height as i64;
        if outside(t0) || outside(t1) {
            clip_line(canvas.width as i64, canvas.height as i64, &mut t0, &mut t1);
            if t0[1] != t1[1] {
                pt0cy = t0[1];
                pt1cy = t1[1];
            }
        }
        let pt0cx = t0[0] << XY_SHIFT;
        let pt1cx = t1[0] << XY_SHIFT;

        if pt0y != pt1y {
            let dx = (pt1cx - pt0cx) / (pt1cy - pt0cy);
            let edge = if pt0y < pt1y {
                PolyEdge { y0: pt0y, y1: pt1y, x: pt0cx + (pt0y - pt0cy) * dx, dx, next: NONE }
            } else {
                PolyEdge { y0: pt1y, y1: pt0y, x: pt1cx + (pt1y - pt1cy) * dx, dx, next: NONE }
            };
            edges.push(edge);
        }
        (pt0x, pt0y) = (pt1x, pt1y);
    }
}

/// OpenCV's `clipLine(Size2l, Point2l&, Point2l&)` (Cohen–Sutherland with its own rounding).
/// Returns whether any part of the line is inside.
fn clip_line(width: i64, height: i64, p1: &mut [i64; 2], p2: &mut [i64; 2]) -> bool {
    if width <= 0 || height <= 0 {
        return false;
    }
    let (right, bottom) = (width - 1, height - 1);
    let code = |p: &[i64; 2]| {
        i32::from(p[0] < 0) + i32::from(p[0] > right) * 2 + i32::from(p[1] < 0) * 4 + i32::from(p[1] > bottom) * 8
    };
    let (mut c1, mut c2) = (code(p1), code(p2));
    if (c1 & c2) == 0 && (c1 | c2) != 0 {
        if c1 & 12 != 0 {
            let a = if c1 < 8 { 0 } else { bottom };
            p1[0] += ((a - p1[1]) as f64 * (p2[0] - p1[0]) as f64 / (p2[1] - p1[1]) as f64) as i64;
            p1[1] = a;
            c1 = i32::from(p1[0] < 0) + i32::from(p1[0] > right) * 2;
        }
        if c2 & 12 != 0 {
            let a = if c2 < 8 { 0 } else { bottom };
            p2[0] += ((a - p2[1]) as f64 * (p2[0] - p1[0]) as f64 / (p2[1] - p1[1]) as f64) as i64;
            p2[1] = a;
            c2 = i32::from(p2[0] < 0) + i32::from(p2[0] > right) * 2;
        }
        if (c1 & c2) == 0 && (c1 | c2) != 0 {
            if c1 != 0 {
                let a = if c1 == 1 { 0 } else { right };
                p1[1] += ((a - p1[0]) as f64 * (p2[1] - p1[1]) as f64 / (p2[0] - p1[0]) as f64) as i64;
                p1[0] = a;
                c1 = 0;
            }
            if c2 != 0 {
                let a = if c2 == 1 { 0 } else { right };
                p2[1] += ((a - p2[0]) as f64 * (p2[1] - p1[1]) as f64 / (p2[0] - p1[0]) as f64) as i64;
                p2[0] = a;
                c2 = 0;
            }
        }
    }
    (c1 | c2) == 0
}

/// `cv::Line` with 8-connectivity: OpenCV's `LineIterator` (left to right), clipped to the image.
fn draw_line(canvas: &mut Canvas<'_>, pt1: [i64; 2], pt2: [i64; 2], value: f32) {
    // `Line` takes `cv::Point`, so the coordinates pass through `int`.
    let (mut pt1, mut pt2) =
        ([pt1[0] as i32 as i64, pt1[1] as i32 as i64], [pt2[0] as i32 as i64, pt2[1] as i32 as i64]);
    let (width, height) = (canvas.width as i64, canvas.height as i64);
    let inside = |p: [i64; 2]| p[0] >= 0 && p[0] < width && p[1] >= 0 && p[1] < height;
    if (!inside(pt1) || !inside(pt2)) && !clip_line(width, height, &mut pt1, &mut pt2) {
        return;
    }
    let (mut dx, mut dy) = (pt2[0] - pt1[0], pt2[1] - pt1[1]);
    let (mut delta_x, mut delta_y) = (1, 1);
    if dx < 0 {
        dx = -dx;
        dy = -dy;
        pt1 = pt2;
    }
    if dy < 0 {
        dy = -dy;
        delta_y = -1;
    }
    let vertical = dy > dx;
    if vertical {
        std::mem::swap(&mut dx, &mut dy);
        std::mem::swap(&mut delta_x, &mut delta_y);
    }
    let mut err = dx - (dy + dy);
    let (plus_delta, minus_delta) = (dx + dx, -(dy + dy));
    // Each step moves one pixel along the major axis, and along the minor one when err < 0.
    let (major, minor) = if vertical { ([0, delta_x], [delta_y, 0]) } else { ([delta_x, 0], [0, delta_y]) };
    let mut p = pt1;
    for _ in 0..=dx {
        canvas.put(p[0], p[1], value);
        let step_minor = err < 0;
        err += minus_delta + if step_minor { plus_delta } else { 0 };
        p[0] += major[0] + if step_minor { minor[0] } else { 0 };
        p[1] += major[1] + if step_minor { minor[1] } else { 0 };
    }
}

const NONE: usize = usize::MAX;

/// OpenCV's `FillEdgeCollection`: an active edge list kept in x order by a bubble sort, spans
/// drawn between pairs, edge x in 16.16 fixed point.
fn fill_edge_collection(canvas: &mut Canvas<'_>, mut edges: Vec<PolyEdge>, value: f32) {
    let total = edges.len();
    if total < 2 {
        return;
    }
    let (width, height) = (canvas.width as i64, canvas.height as i64);
    let (mut y_min, mut y_max) = (i64::from(i32::MAX), i64::from(i32::MIN));
    let (mut x_min, mut x_max) = (i64::MAX, -1i64);
    for e in &edges {
        let x1 = e.x + (e.y1 - e.y0) * e.dx;
        y_min = y_min.min(e.y0);
        y_max = y_max.max(e.y1);
        x_min = x_min.min(e.x).min(x1);
        x_max = x_max.max(e.x).max(x1);
    }
    if y_max < 0 || y_min >= height || x_max < 0 || x_min >= (width << XY_SHIFT) {
        return;
    }
    edges.sort_unstable_by_key(|e| (e.y0, e.x, e.dx));
    // Index `total` is the sentinel (y0 = INT_MAX) and `head` the list head `tmp`.
    let head = total + 1;
    let sentinel = PolyEdge { y0: i64::from(i32::MAX), y1: 0, x: 0, dx: 0, next: NONE };
    edges.extend([sentinel, sentinel]);
    let n = &mut edges;

    let mut i = 0;
    let mut e = 0;
    let y_max = y_max.min(height);
    let mut y = n[e].y0;
    while y < y_max {
        let mut draw = false;
        let clipline = y < 0;
        let mut prelast = head;
        let mut last = n[head].next;
        while last != NONE || n[e].y0 == y {
            if last != NONE && n[last].y1 == y {
                n[prelast].next = n[last].next;
                last = n[last].next;
                continue;
            }
            let keep_prelast = prelast;
            if last != NONE && (n[e].y0 > y || n[last].x < n[e].x) {
                prelast = last;
                last = n[last].next;
            } else if i < total {
                n[prelast].next = e;
                n[e].next = last;
                prelast = e;
                i += 1;
                e = i;
            } else {
                break;
            }
            if draw {
                if !clipline {
                    let (left, right) = if n[keep_prelast].x > n[prelast].x {
                        (prelast, keep_prelast)
                    } else {
                        (keep_prelast, prelast)
                    };
                    let mut x1 = (n[left].x + XY_ONE - 1) >> XY_SHIFT;
                    let mut x2 = n[right].x >> XY_SHIFT;
                    if x1 < width && x2 >= 0 {
                        x1 = x1.max(0);
                        x2 = x2.min(width - 1);
                        if x1 <= x2 {
                            canvas.hline(y, x1, x2, value);
                        }
                    }
                }
                n[keep_prelast].x += n[keep_prelast].dx;
                n[prelast].x += n[prelast].dx;
            }
            draw = !draw;
        }

        // Bubble sort of the active list by x.
        let mut keep_prelast = NONE;
        loop {
            let mut prelast = head;
            let mut last = n[head].next;
            let mut last_exchange = NONE;
            while last != keep_prelast && last != NONE && n[last].next != NONE {
                let te = n[last].next;
                if n[last].x > n[te].x {
                    n[prelast].next = te;
                    n[last].next = n[te].next;
                    n[te].next = last;
                    prelast = te;
                    last_exchange = prelast;
                } else {
                    prelast = last;
                    last = te;
                }
            }
            if last_exchange == NONE {
                break;
            }
            keep_prelast = last_exchange;
            if keep_prelast == n[head].next || keep_prelast == head {
                break;
            }
        }
        y += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(width: usize, height: usize, points: &[[i32; 2]]) -> Vec<String> {
        let mut data = vec![0.0; width * height];
        let mut dirty = vec![(usize::MAX, 0); height];
        fill_poly(&mut Canvas { data: &mut data, dirty: &mut dirty, width, height }, points, 1.0);
        for (row, &(start, end)) in dirty.iter().enumerate() {
            let written: Vec<usize> = (0..width).filter(|&x| data[row * width + x] == 1.0).collect();
            assert_eq!(
                written.first().zip(written.last()).map(|(&a, &b)| (a, b + 1)).unwrap_or((usize::MAX, 0)),
                (start, end)
            );
        }
        data.chunks(width).map(|row| row.iter().map(|&v| if v == 1.0 { '#' } else { '.' }).collect()).collect()
    }

    #[test]
    fn fills_a_rectangle_including_its_border() {
        assert_eq!(render(6, 5, &[[1, 1], [4, 1], [4, 3], [1, 3]]), ["......", ".####.", ".####.", ".####.", "......"]);
    }

    #[test]
    fn fills_a_triangle_like_opencv() {
        // cv2.fillPoly(np.zeros((6, 8), np.float32), [np.array([[0,0],[7,2],[2,5]], np.int32)], 1)
        assert_eq!(
            render(8, 6, &[[0, 0], [7, 2], [2, 5]]),
            ["##......", "######..", ".#######", ".######.", "..###...", "..#....."]
        );
    }

    #[test]
    fn clips_polygons_that_leave_the_image() {
        assert_eq!(render(4, 3, &[[-5, -5], [10, -5], [10, 10], [-5, 10]]), ["####", "####", "####"]);
        assert_eq!(render(4, 3, &[[10, 10], [20, 10], [20, 20]]), ["....", "....", "...."]);
    }

    #[test]
    fn degenerate_polygons_draw_their_outline() {
        assert_eq!(render(5, 3, &[[0, 1], [4, 1]]), [".....", "#####", "....."]);
        assert_eq!(render(3, 3, &[[1, 1]]), ["...", ".#.", "..."]);
    }
}
