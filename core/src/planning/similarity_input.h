// What the planners read from a SimilarityReport: checked matrices, turned into symmetric head distances.
#pragma once

#include <vector>

#include "dha/similarity.h"

namespace dha::planning {

// Checks that the report has layers 0..L-1 in order, each with H x H key and value matrices of one H (an MHA
// source: one key and one value head per query head) and finite values; returns H. Errors name "similarity".
int checkSimilarityReport(const SimilarityReport& report);

// Row-major n x n similarity, symmetrised ((s_ij + s_ji) / 2) so a slightly asymmetric matrix gives one
// answer whichever triangle is read; with `other`, the mean of both matrices (keys and values together).
std::vector<double> symmetricSimilarity(const Matrix& similarity, const Matrix* other = nullptr);

// Distances 1 - similarity of symmetricSimilarity, 0 on the diagonal.
std::vector<double> headDistances(const Matrix& similarity, const Matrix* other = nullptr);

}  // namespace dha::planning
