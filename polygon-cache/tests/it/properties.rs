//! Property tests: cached equals uncached, and `Reference` equals `Euclidean` on rectangles.
