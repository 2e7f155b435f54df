// What the CLI test suites share: running the real `dha` binary and reading its JSON output.
#pragma once

#include <QJsonObject>
#include <QString>
#include <QStringList>

const QString kDha = QStringLiteral(DHA_CLI_EXECUTABLE);
const QString kTokenizer = QStringLiteral(DHA_TEST_DATA_DIR "/tokenizers/unigram_nfkc.model");
const QString kText = QStringLiteral(DHA_TEST_DATA_DIR "/text/sample.txt");

struct Run {
    int exitCode = -1;  // -1 timed out, -2 crashed
    QString out;
    QString err;
};

Run runDha(const QStringList& arguments, int timeoutMs = 120000);
// The top-level object of `text`; warns (and returns an empty object) when it is not JSON.
QJsonObject parseJson(const QString& text);
