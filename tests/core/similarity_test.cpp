// Head similarity kernels (dha-method.md section 2): range, unit diagonal and symmetry (P4, P5), CKA's
// rotation and scale invariance (P6) against cosine, a double-precision reference, bf16 vs fp32, zero heads
// and the redundancy summary.
#include <QTest>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "analysis/head_similarity.h"
#include "dha/error.h"
#include "dha/similarity.h"
#include "test_registry.h"

using namespace dha;

namespace {

enum class Kernel { Cka, Cosine };

Matrix similarity(Kernel kernel, const at::Tensor& rows, int64_t heads) {
    return kernel == Kernel::Cka ? analysis::linearCka(rows, heads) : analysis::flatCosine(rows, heads);
}

// [heads * headDim, samples] where heads share structure (each is a mix of a few common sources plus its
// own noise), so similarities spread over the range instead of all sitting near 0.
at::Tensor structuredRows(int64_t heads, int64_t headDim, int64_t samples, uint64_t seed) {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const at::Tensor sources = at::randn({3 * headDim, samples}, generator, at::kFloat);
    std::vector<at::Tensor> blocks;
    for (int64_t h = 0; h < heads; ++h) {
        const at::Tensor mix = at::randn({headDim, 3 * headDim}, generator, at::kFloat) * (0.2 * (h % 3));
        blocks.push_back(at::mm(mix, sources) + at::randn({headDim, samples}, generator, at::kFloat) +
                         0.3 * static_cast<double>(h));  // a row offset, so centring matters
    }
    return at::cat(blocks, 0);
}

at::Tensor randomOrthogonal(int64_t size, uint64_t seed) {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    return std::get<0>(at::linalg_qr(at::randn({size, size}, generator, at::kDouble))).to(at::kFloat);
}

// Direct formula in double precision, one pair at a time: X_h centred over its columns,
// CKA = ||X_h X_g^T||^2 / (||X_h X_h^T|| ||X_g X_g^T||).
std::vector<double> referenceCka(const at::Tensor& rows, int64_t heads) {
    const at::Tensor data = rows.to(at::kDouble).contiguous();
    const int64_t headDim = data.size(0) / heads;
    const int64_t samples = data.size(1);
    std::vector<std::vector<double>> centred(static_cast<size_t>(data.size(0)));
    const double* values = data.data_ptr<double>();
    for (int64_t r = 0; r < data.size(0); ++r) {
        double mean = 0;
        for (int64_t s = 0; s < samples; ++s) mean += values[r * samples + s];
        mean /= static_cast<double>(samples);
        for (int64_t s = 0; s < samples; ++s)
            centred[static_cast<size_t>(r)].push_back(values[r * samples + s] - mean);
    }
    const auto crossSquares = [&](int64_t h, int64_t g) {
        double total = 0;
        for (int64_t i = 0; i < headDim; ++i) {
            for (int64_t j = 0; j < headDim; ++j) {
                double dot = 0;
                for (int64_t s = 0; s < samples; ++s) {
                    dot += centred[static_cast<size_t>(h * headDim + i)][static_cast<size_t>(s)] *
                           centred[static_cast<size_t>(g * headDim + j)][static_cast<size_t>(s)];
                }
                total += dot * dot;
            }
        }
        return total;
    };
    std::vector<double> result(static_cast<size_t>(heads * heads));
    for (int64_t h = 0; h < heads; ++h) {
        for (int64_t g = 0; g < heads; ++g) {
            result[static_cast<size_t>(h * heads + g)] =
                crossSquares(h, g) / std::sqrt(crossSquares(h, h) * crossSquares(g, g));
        }
    }
    return result;
}

std::vector<double> referenceCosine(const at::Tensor& rows, int64_t heads) {
    const at::Tensor flat = rows.to(at::kDouble).contiguous().view({heads, -1});
    const int64_t length = flat.size(1);
    const double* values = flat.data_ptr<double>();
    const auto dot = [&](int64_t a, int64_t b) {
        double total = 0;
        for (int64_t i = 0; i < length; ++i) total += values[a * length + i] * values[b * length + i];
        return total;
    };
    std::vector<double> result(static_cast<size_t>(heads * heads));
    for (int64_t h = 0; h < heads; ++h) {
        for (int64_t g = 0; g < heads; ++g) {
            result[static_cast<size_t>(h * heads + g)] = dot(h, g) / std::sqrt(dot(h, h) * dot(g, g));
        }
    }
    return result;
}

double maxDifference(const Matrix& a, const Matrix& b) {
    double worst = 0;
    for (size_t i = 0; i < a.values.size(); ++i)
        worst = std::max(worst, std::abs(double(a.values[i]) - b.values[i]));
    return worst;
}

void checkProperties(const Matrix& matrix, int heads, float low) {
    QCOMPARE(matrix.rows, heads);
    QCOMPARE(matrix.cols, heads);
    for (int i = 0; i < heads; ++i) {
        QCOMPARE(matrix.at(i, i), 1.0f);  // exactly, P4
        for (int j = 0; j < heads; ++j) {
            QVERIFY2(std::isfinite(matrix.at(i, j)), "similarity is not finite");
            QVERIFY2(matrix.at(i, j) >= low && matrix.at(i, j) <= 1.0f, "similarity out of range");
            QCOMPARE(matrix.at(i, j), matrix.at(j, i));  // exactly, P5
        }
    }
}

Matrix fromRows(const std::vector<std::vector<float>>& rows) {
    Matrix matrix(static_cast<int>(rows.size()), static_cast<int>(rows.size()));
    for (size_t i = 0; i < rows.size(); ++i) {
        for (size_t j = 0; j < rows.size(); ++j) matrix.at(int(i), int(j)) = rows[i][j];
    }
    return matrix;
}

}  // namespace

Q_DECLARE_METATYPE(Kernel)
Q_DECLARE_METATYPE(dha::Matrix)
Q_DECLARE_METATYPE(c10::ScalarType)

class HeadSimilarityTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rangeDiagonalSymmetry_data();
    void rangeDiagonalSymmetry();
    void ckaIgnoresRotationAndScaleCosineDoesNot();
    void matchesDoubleReference_data();
    void matchesDoubleReference();
    void bf16AgreesWithFp32();
    void zeroAndConstantHeadsAreDefined();
    void summary_data();
    void summary();
    void summaryRejectsMalformedMatrix();
    void metricNamesRoundTrip();
};

void HeadSimilarityTest::rangeDiagonalSymmetry_data() {
    QTest::addColumn<Kernel>("kernel");
    QTest::addColumn<c10::ScalarType>("dtype");
    QTest::newRow("cka fp32") << Kernel::Cka << at::kFloat;
    QTest::newRow("cka bf16") << Kernel::Cka << at::kBFloat16;
    QTest::newRow("cka fp16") << Kernel::Cka << at::kHalf;
    QTest::newRow("cosine fp32") << Kernel::Cosine << at::kFloat;
    QTest::newRow("cosine bf16") << Kernel::Cosine << at::kBFloat16;
}

void HeadSimilarityTest::rangeDiagonalSymmetry() {
    QFETCH(Kernel, kernel);
    QFETCH(c10::ScalarType, dtype);
    // 40 heads of width 8: more heads than one Gram panel (256 rows = 32 heads), so panels meet.
    const at::Tensor rows = structuredRows(40, 8, 48, 7).to(dtype);
    const Matrix matrix = similarity(kernel, rows, 40);
    checkProperties(matrix, 40, kernel == Kernel::Cka ? 0.0f : -1.0f);
    // The matrix is not trivially all zeros or all ones.
    const auto [low, high] = std::minmax_element(matrix.values.begin(), matrix.values.end());
    QVERIFY(*low < 0.5f);
    QVERIFY(*high == 1.0f);
    if (kernel == Kernel::Cosine) QVERIFY2(*low < 0.0f, "cosine should see some opposed heads");
}

void HeadSimilarityTest::ckaIgnoresRotationAndScaleCosineDoesNot() {
    const int64_t heads = 5;
    const int64_t headDim = 6;
    at::Tensor rows = structuredRows(heads, headDim, 30, 11);
    rows.narrow(0, 3 * headDim, headDim).copy_(rows.narrow(0, 1 * headDim, headDim));  // head 3 = head 1
    const Matrix ckaBefore = analysis::linearCka(rows, heads);
    const Matrix cosineBefore = analysis::flatCosine(rows, heads);
    QVERIFY(std::abs(ckaBefore.at(1, 3) - 1.0f) < 1e-6f);
    QVERIFY(std::abs(cosineBefore.at(1, 3) - 1.0f) < 1e-6f);

    // Rotate and scale head 3's outputs (rows): W_3 -> 2.5 Q W_3.
    at::Tensor changed = rows.clone();
    const at::Tensor head3 = rows.narrow(0, 3 * headDim, headDim);
    changed.narrow(0, 3 * headDim, headDim).copy_(2.5 * at::mm(randomOrthogonal(headDim, 5), head3));
    const Matrix ckaAfter = analysis::linearCka(changed, heads);
    const Matrix cosineAfter = analysis::flatCosine(changed, heads);
    QVERIFY2(maxDifference(ckaBefore, ckaAfter) < 1e-5, "CKA changed under rotation and scaling");
    QVERIFY(std::abs(ckaAfter.at(1, 3) - 1.0f) < 1e-5f);
    // Cosine sees a different head: the duplicate is no longer recognised, and other pairs move too.
    QVERIFY2(cosineAfter.at(1, 3) < 0.9f, qPrintable(QString::number(cosineAfter.at(1, 3))));
    QVERIFY(maxDifference(cosineBefore, cosineAfter) > 0.1);
}

void HeadSimilarityTest::matchesDoubleReference_data() {
    QTest::addColumn<int>("heads");
    QTest::addColumn<int>("headDim");
    QTest::addColumn<int>("samples");
    QTest::addColumn<int>("seed");
    QTest::newRow("3 heads x 2, 5 samples") << 3 << 2 << 5 << 1;
    QTest::newRow("4 heads x 8, 32 samples") << 4 << 8 << 32 << 2;
    QTest::newRow("5 heads x 3, 17 samples") << 5 << 3 << 17 << 3;
    QTest::newRow("2 heads x 16, 9 samples (fewer samples than features)") << 2 << 16 << 9 << 4;
    QTest::newRow("36 heads x 8, 20 samples (two panels)") << 36 << 8 << 20 << 5;
}

void HeadSimilarityTest::matchesDoubleReference() {
    QFETCH(int, heads);
    QFETCH(int, headDim);
    QFETCH(int, samples);
    QFETCH(int, seed);
    const at::Tensor rows = structuredRows(heads, headDim, samples, static_cast<uint64_t>(seed));
    const std::vector<double> cka = referenceCka(rows, heads);
    const std::vector<double> cosine = referenceCosine(rows, heads);
    const Matrix gotCka = analysis::linearCka(rows, heads);
    const Matrix gotCosine = analysis::flatCosine(rows, heads);
    for (size_t i = 0; i < cka.size(); ++i) {
        QVERIFY2(std::abs(gotCka.values[i] - cka[i]) < 1e-5,
                 qPrintable(QString("CKA %1 vs reference %2").arg(gotCka.values[i]).arg(cka[i])));
        QVERIFY2(std::abs(gotCosine.values[i] - cosine[i]) < 1e-5,
                 qPrintable(QString("cosine %1 vs reference %2").arg(gotCosine.values[i]).arg(cosine[i])));
    }
}

void HeadSimilarityTest::bf16AgreesWithFp32() {
    // The 7B path: bf16 weights, Gram in bf16 with fp32 accumulation. Same values (rounded to bf16 once),
    // computed both ways; the bf16 path may differ by its output rounding (8-bit mantissa) only: 5e-3.
    const at::Tensor weights = structuredRows(32, 16, 256, 13).to(at::kBFloat16);
    const Matrix fast = analysis::linearCka(weights, 32);
    const Matrix exact = analysis::linearCka(weights.to(at::kFloat), 32);
    const double difference = maxDifference(fast, exact);
    QVERIFY2(difference < 5e-3, qPrintable(QString::number(difference)));
    const Matrix fastCosine = analysis::flatCosine(weights, 32);
    const Matrix exactCosine = analysis::flatCosine(weights.to(at::kFloat), 32);
    QVERIFY(maxDifference(fastCosine, exactCosine) < 1e-5);  // cosine always runs in fp32
}

void HeadSimilarityTest::zeroAndConstantHeadsAreDefined() {
    at::Tensor rows = structuredRows(4, 4, 12, 17);
    rows.narrow(0, 1 * 4, 4).zero_();     // head 1: all-zero weights
    rows.narrow(0, 2 * 4, 4).fill_(3.0);  // head 2: constant rows, which centre to zero
    for (const Kernel kernel : {Kernel::Cka, Kernel::Cosine}) {
        const Matrix matrix = similarity(kernel, rows, 4);
        checkProperties(matrix, 4, kernel == Kernel::Cka ? 0.0f : -1.0f);
        for (int other = 0; other < 4; ++other) {
            if (other != 1) QCOMPARE(matrix.at(1, other), 0.0f);
        }
        if (kernel == Kernel::Cka) QCOMPARE(matrix.at(2, 0), 0.0f);
    }
    const Matrix allZero = analysis::linearCka(at::zeros({8, 5}), 2);
    QCOMPARE(allZero.values, (std::vector<float>{1, 0, 0, 1}));
}

void HeadSimilarityTest::summary_data() {
    QTest::addColumn<Matrix>("matrix");
    QTest::addColumn<double>("mean");
    QTest::addColumn<double>("max");
    QTest::addColumn<int>("headsFor90");
    QTest::newRow("identical heads") << Matrix(4, 4, 1.0f) << 1.0 << 1.0 << 1;
    Matrix identity(10, 10);
    for (int i = 0; i < 10; ++i) identity.at(i, i) = 1;
    QTest::newRow("all different") << identity << 0.0 << 0.0 << 9;
    QTest::newRow("two groups of two")
        << fromRows({{1, 1, 0, 0}, {1, 1, 0, 0}, {0, 0, 1, 1}, {0, 0, 1, 1}}) << 4.0 / 12 << 1.0 << 2;
    // Eigenvalues 1.5 and 0.5: the larger holds 75% of the trace, below 90%.
    QTest::newRow("opposed pair") << fromRows({{1, -0.5f}, {-0.5f, 1}}) << -0.5 << -0.5 << 2;
    QTest::newRow("one head") << Matrix(1, 1, 1.0f) << 0.0 << 0.0 << 1;
}

void HeadSimilarityTest::summary() {
    QFETCH(Matrix, matrix);
    QFETCH(double, mean);
    QFETCH(double, max);
    QFETCH(int, headsFor90);
    const RedundancySummary summary = summariseRedundancy(matrix);
    QVERIFY(std::abs(summary.meanOffDiagonal - mean) < 1e-9);
    QVERIFY(std::abs(summary.maxOffDiagonal - max) < 1e-9);
    QCOMPARE(summary.headsFor90Percent, headsFor90);
}

void HeadSimilarityTest::summaryRejectsMalformedMatrix() {
    for (const Matrix& bad : {Matrix(2, 3), Matrix(), fromRows({{1, NAN}, {NAN, 1}})}) {
        try {
            summariseRedundancy(bad);
            QFAIL("a malformed matrix was summarised");
        } catch (const Exception& error) {
            QCOMPARE(error.error().code, ErrorCode::Usage);
        }
    }
}

void HeadSimilarityTest::metricNamesRoundTrip() {
    for (const SimilarityMetric metric :
         {SimilarityMetric::WeightCka, SimilarityMetric::WeightCosine, SimilarityMetric::ActivationCka,
          SimilarityMetric::ActivationCosine}) {
        QCOMPARE(similarityMetricFromName(similarityMetricName(metric)),
                 std::optional<SimilarityMetric>(metric));
    }
    QCOMPARE(std::string(similarityMetricName(SimilarityMetric::ActivationCka)), std::string("act-cka"));
    QVERIFY(!similarityMetricFromName("CKA"));
    QVERIFY(!similarityMetricFromName(""));
    QVERIFY(isActivationMetric(SimilarityMetric::ActivationCosine));
    QVERIFY(!isActivationMetric(SimilarityMetric::WeightCka));
}

DHA_TEST_SUITE(HeadSimilarityTest)
#include "similarity_test.moc"
