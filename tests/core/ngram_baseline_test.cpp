// Unigram (add-1) and bigram (interpolated Kneser-Ney) baselines: exact values on a hand-computed example,
// normalisation and argmax on the fixture text, and the job end to end.
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "dha/error.h"
#include "dha/ngram_baseline.h"
#include "io/atomic_file.h"
#include "model/ngram_model.h"
#include "test_registry.h"
#include "tokenizer/tokenizer.h"

namespace {

const std::filesystem::path kTokenizer =
    std::filesystem::path(DHA_TEST_DATA_DIR) / "tokenizers" / "unigram_nfkc.model";
const std::filesystem::path kText = std::filesystem::path(DHA_TEST_DATA_DIR) / "text" / "sample.txt";

std::vector<int32_t> fixtureTokens(int* vocabSize) {
    const auto tokenizer = dha::tok::loadSentencePieceModel(kTokenizer);
    *vocabSize = tokenizer->vocabSize();
    return tokenizer->encode(dha::io::readSmallFile(kText));
}

// Train [0 1 0 2 0 1], V = 4, held-out [0 1 3 0 2] (predicted: 1|0, 3|1, 0|3, 2|0).
const std::vector<int32_t> kTrain{0, 1, 0, 2, 0, 1};
const std::vector<int32_t> kHeldOut{0, 1, 3, 0, 2};

}  // namespace

class NgramBaselineTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void unigramMatchesHandComputation() {
        // Counts 3, 2, 1, 0 of N = 6; add-1 over V = 4: P = (c + 1) / 10 = 0.4, 0.3, 0.2, 0.1.
        const dha::model::UnigramModel unigram(kTrain, 4);
        QCOMPARE(unigram.probability(0), 0.4);
        QCOMPARE(unigram.probability(3), 0.1);
        QCOMPARE(unigram.argmax(), 0);
        // Targets 1, 3, 0, 2: loss = -(ln .3 + ln .1 + ln .4 + ln .2) / 4 = ln(10^4 / 24) / 4; argmax 0 hits
        // once.
        const dha::model::NgramScore score = unigram.score(kHeldOut);
        QCOMPARE(score.predictedTokens, int64_t{4});
        QVERIFY(std::abs(score.meanLoss() - std::log(1e4 / 24.0) / 4) < 1e-12);
        QVERIFY(std::abs(score.meanLoss() - 1.5080716354070594) < 1e-12);
        QCOMPARE(score.accuracy(), 0.25);
    }

    void bigramMatchesHandComputation() {
        // Pairs (0,1) x2, (1,0), (0,2), (2,0): N1+(..) = 4 types. Predecessor types N1+(.w): 0 -> 2, 1 -> 1,
        // 2 -> 1, 3 -> 0, so 3 continued types. D = 0.75:
        //   Pkn(w) = max(N1+(.w) - D, 0) / 4 + D * 3/4 * 1/4:  Pkn(0) = 29/64, Pkn(1) = Pkn(2) = 13/64,
        //   Pkn(3) = 9/64.
        // Context 0: c = 3, two follower types, weight D*2/3 = 1/2:
        //   P(1|0) = 1.25/3 + 13/128 = 199/384, P(2|0) = 0.25/3 + 13/128 = 71/384, P(0|0) = 29/128.
        // Context 1: c = 1, one follower type (0), weight 3/4: P(3|1) = 3/4 * 9/64 = 27/256.
        // Context 3: never seen, so P(w|3) = Pkn(w): P(0|3) = 29/64.
        const dha::model::BigramModel bigram(kTrain, 4);
        QVERIFY(std::abs(bigram.continuationProbability(0) - 29.0 / 64) < 1e-15);
        QVERIFY(std::abs(bigram.continuationProbability(3) - 9.0 / 64) < 1e-15);
        QVERIFY(std::abs(bigram.probability(0, 1) - 199.0 / 384) < 1e-15);
        QVERIFY(std::abs(bigram.probability(0, 2) - 71.0 / 384) < 1e-15);
        QVERIFY(std::abs(bigram.probability(0, 0) - 29.0 / 128) < 1e-15);
        QVERIFY(std::abs(bigram.probability(1, 3) - 27.0 / 256) < 1e-15);
        QVERIFY(std::abs(bigram.probability(3, 0) - 29.0 / 64) < 1e-15);
        // Argmax: after 0 -> 1 (199/384), after 1 -> 0, after the unseen 3 -> 0 (best continuation).
        QCOMPARE(bigram.argmax(0), 1);
        QCOMPARE(bigram.argmax(1), 0);
        QCOMPARE(bigram.argmax(3), 0);
        // Loss = -(ln 199/384 + ln 27/256 + ln 29/64 + ln 71/384) / 4; hits: 1|0 and 0|3 of four.
        const dha::model::NgramScore score = bigram.score(kHeldOut);
        const double expected =
            -(std::log(199.0 / 384) + std::log(27.0 / 256) + std::log(29.0 / 64) + std::log(71.0 / 384)) / 4;
        QVERIFY(std::abs(score.meanLoss() - expected) < 1e-12);
        QVERIFY(std::abs(score.meanLoss() - 1.3465570588145193) < 1e-12);
        QCOMPARE(score.accuracy(), 0.5);
    }

    void bigramIsNormalisedAndArgmaxIsExactOnFixture() {
        int vocab = 0;
        const std::vector<int32_t> tokens = fixtureTokens(&vocab);
        QVERIFY(tokens.size() > 100);
        const dha::model::BigramModel bigram(tokens, vocab);
        // Every context, seen or not: the distribution sums to 1, has no zero, and argmax is the brute-force
        // one.
        for (int32_t v = 0; v < vocab; ++v) {
            double sum = 0;
            double best = -1;
            int32_t bestId = -1;
            for (int32_t w = 0; w < vocab; ++w) {
                const double p = bigram.probability(v, w);
                QVERIFY(p > 0);
                sum += p;
                if (p > best) {
                    best = p;
                    bestId = w;
                }
            }
            QVERIFY2(std::abs(sum - 1.0) < 1e-9,
                     qPrintable(QString("context %1 sums to %2").arg(v).arg(sum, 0, 'g', 17)));
            QCOMPARE(bigram.argmax(v), bestId);
        }
        const dha::model::UnigramModel unigram(tokens, vocab);
        double sum = 0;
        for (int32_t w = 0; w < vocab; ++w) sum += unigram.probability(w);
        QVERIFY(std::abs(sum - 1.0) < 1e-9);
    }

    void rejectsIdsOutsideVocabulary() {
        QVERIFY_THROWS_EXCEPTION(dha::Exception, dha::model::UnigramModel({0, 4}, 4));
        QVERIFY_THROWS_EXCEPTION(dha::Exception, dha::model::BigramModel({-1, 0}, 4));
        const dha::model::BigramModel bigram(kTrain, 4);
        QVERIFY_THROWS_EXCEPTION(dha::Exception, bigram.score({0, 7}));
    }

    void jobScoresFixtureText() {
        dha::JobSink sink;
        dha::CancelToken cancel;
        const dha::NgramBaselineSpec spec{kText, kText, kTokenizer};
        const auto result = dha::runNgramBaselineJob(spec, sink, cancel);
        QVERIFY2(result.ok(), result.error.message.c_str());
        const dha::NgramBaselineReport& report = *result.value;
        int vocab = 0;
        const std::vector<int32_t> tokens = fixtureTokens(&vocab);
        QCOMPARE(report.vocabSize, vocab);
        QCOMPARE(report.trainTokens, static_cast<int64_t>(tokens.size()));
        QCOMPARE(report.predictedTokens, static_cast<int64_t>(tokens.size()) - 1);
        // Scored on its own training text, the bigram beats the unigram, which beats the uniform ln V.
        QVERIFY(report.bigram.meanLoss < report.unigram.meanLoss);
        QVERIFY(report.unigram.meanLoss < std::log(static_cast<double>(vocab)));
        QVERIFY(report.bigram.accuracy > report.unigram.accuracy);
        QVERIFY(std::abs(report.bigram.perplexity - std::exp(report.bigram.meanLoss)) <
                1e-9 * report.bigram.perplexity);
        // The same figures as the model classes give directly.
        const dha::model::BigramModel bigram(tokens, vocab);
        QVERIFY(std::abs(report.bigram.meanLoss - bigram.score(tokens).meanLoss()) < 1e-12);
    }

    void missingTrainFileIsNamed() {
        QTemporaryDir dir;
        const std::filesystem::path missing = std::filesystem::path(dir.path().toStdString()) / "absent.txt";
        dha::JobSink sink;
        dha::CancelToken cancel;
        const auto result = dha::runNgramBaselineJob({missing, kText, kTokenizer}, sink, cancel);
        QVERIFY(!result.ok());
        QVERIFY2(result.error.path.find("absent.txt") != std::string::npos ||
                     result.error.message.find("absent.txt") != std::string::npos,
                 result.error.message.c_str());
    }
};

DHA_TEST_SUITE(NgramBaselineTest)
#include "ngram_baseline_test.moc"
