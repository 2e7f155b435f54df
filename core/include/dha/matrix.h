// A dense row-major float matrix: how similarity and other 2-D results leave the engine (no torch types).
#pragma once

#include <cstddef>
#include <vector>

namespace dha {

struct Matrix {
    int rows = 0;
    int cols = 0;
    std::vector<float> values;  // rows * cols, row-major

    Matrix() = default;
    Matrix(int rowCount, int colCount, float fill = 0.0f)
        : rows(rowCount), cols(colCount), values(static_cast<size_t>(rowCount) * colCount, fill) {}

    float& at(int row, int col) { return values[static_cast<size_t>(row) * cols + col]; }
    float at(int row, int col) const { return values[static_cast<size_t>(row) * cols + col]; }
};

}  // namespace dha
