// A C entry point to Clipper 6.4.2's ClipperOffset, called exactly as pyclipper calls it:
// ClipperOffset(2.0, 0.25), AddPath(path, jtRound, etClosedPolygon), Execute(Paths&, delta).
// The Clipper code itself is the one clipper-sys compiles; this file only sees its header.
#include "clipper.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" {

struct OcrperfOffsetResult {
    int64_t* points;  // x0, y0, x1, y1, ... of all paths, one after the other
    size_t* lengths;  // number of points of each path
    size_t paths;
};

// Returns 0 on success and 1 when Clipper threw (coordinates out of range, out of memory).
int ocrperf_clipper_offset(const int64_t* xy, size_t points, double delta, OcrperfOffsetResult* out) {
    out->points = nullptr;
    out->lengths = nullptr;
    out->paths = 0;
    try {
        ClipperLib::Path path;
        path.reserve(points);
        for (size_t i = 0; i < points; ++i) {
            path.push_back(ClipperLib::IntPoint(xy[2 * i], xy[2 * i + 1]));
        }
        ClipperLib::ClipperOffset offset(2.0, 0.25);
        offset.AddPath(path, ClipperLib::jtRound, ClipperLib::etClosedPolygon);
        ClipperLib::Paths solution;
        offset.Execute(solution, delta);
        size_t total = 0;
        for (const ClipperLib::Path& p : solution) total += p.size();
        if (solution.empty()) return 0;
        out->points = static_cast<int64_t*>(std::malloc(sizeof(int64_t) * 2 * (total ? total : 1)));
        out->lengths = static_cast<size_t*>(std::malloc(sizeof(size_t) * solution.size()));
        if (!out->points || !out->lengths) {
            std::free(out->points);
            std::free(out->lengths);
            out->points = nullptr;
            out->lengths = nullptr;
            return 1;
        }
        size_t k = 0;
        for (size_t i = 0; i < solution.size(); ++i) {
            out->lengths[i] = solution[i].size();
            for (const ClipperLib::IntPoint& point : solution[i]) {
                out->points[k++] = point.X;
                out->points[k++] = point.Y;
            }
        }
        out->paths = solution.size();
        return 0;
    } catch (...) {
        return 1;
    }
}

void ocrperf_clipper_free(OcrperfOffsetResult* result) {
    std::free(result->points);
    std::free(result->lengths);
    result->points = nullptr;
    result->lengths = nullptr;
    result->paths = 0;
}

}  // extern "C"
