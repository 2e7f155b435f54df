// Line charts: tick values and labels, series colours at their data points, clipping to the plot area,
// input validation naming the series, and a PNG that decodes to the rendered pixels.
#include <QTemporaryDir>
#include <QTest>

#include <zlib.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "dha/error.h"
#include "dha/line_chart.h"
#include "render/chart_ticks.h"
#include "render/line_chart.h"
#include "test_registry.h"

namespace {

using dha::ChartSeries;
using dha::LineChart;
using dha::io::Rgb;
using dha::io::RgbImage;

uint32_t bigEndian32(const std::string& bytes, size_t at) {
    uint32_t value = 0;
    for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[at + i]);
    return value;
}

// Decodes what encodePng writes (8-bit RGB, filter 0 rows), checking the signature, IHDR and every CRC.
RgbImage decodePng(const std::string& png) {
    if (png.size() < 8 || png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) != 0)
        throw std::runtime_error("bad signature");
    RgbImage image;
    std::string idat;
    bool sawHeader = false, sawEnd = false;
    for (size_t at = 8; at + 12 <= png.size();) {
        const uint32_t length = bigEndian32(png, at);
        if (at + 12 + length > png.size()) throw std::runtime_error("truncated chunk");
        const std::string typed = png.substr(at + 4, 4 + length);
        const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(typed.data()),
                                static_cast<uInt>(typed.size()));
        if (bigEndian32(png, at + 8 + length) != crc) throw std::runtime_error("bad CRC");
        const std::string type = typed.substr(0, 4), data = typed.substr(4);
        if (type == "IHDR") {
            if (at != 8 || length != 13) throw std::runtime_error("IHDR is not first or has the wrong size");
            image.width = static_cast<int>(bigEndian32(data, 0));
            image.height = static_cast<int>(bigEndian32(data, 4));
            if (data.substr(8) != std::string{'\x08', '\x02', '\0', '\0', '\0'})
                throw std::runtime_error("IHDR");
            sawHeader = true;
        } else if (type == "IDAT") {
            idat += data;
        } else if (type == "IEND") {
            sawEnd = at + 12 == png.size();
        }
        at += 12 + length;
    }
    if (!sawHeader || !sawEnd) throw std::runtime_error("missing IHDR or IEND");
    const size_t rowBytes = static_cast<size_t>(image.width) * 3;
    std::string raw((rowBytes + 1) * image.height, '\0');
    uLongf rawSize = static_cast<uLongf>(raw.size());
    if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &rawSize,
                   reinterpret_cast<const Bytef*>(idat.data()), static_cast<uLong>(idat.size())) != Z_OK ||
        rawSize != raw.size())
        throw std::runtime_error("inflate");
    for (int y = 0; y < image.height; ++y) {
        if (raw[y * (rowBytes + 1)] != '\0') throw std::runtime_error("filter byte");
        image.pixels.insert(image.pixels.end(), raw.begin() + y * (rowBytes + 1) + 1,
                            raw.begin() + (y + 1) * (rowBytes + 1));
    }
    return image;
}

bool same(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

QString describe(Rgb c) { return QStringLiteral("(%1, %2, %3)").arg(c.r).arg(c.g).arg(c.b); }

ChartSeries series(const std::string& label, std::vector<double> x, std::vector<double> y) {
    ChartSeries s;
    s.label = label;
    s.x = std::move(x);
    s.y = std::move(y);
    return s;
}

// Three well separated curves on a log x axis: loss against training tokens.
LineChart lossChart() {
    LineChart chart;
    chart.title = "Tokens to loss";
    chart.xLabel = "Tokens";
    chart.yLabel = "Loss";
    chart.logX = true;
    chart.series.push_back(series("DHA", {1e6, 1e7, 1e8}, {5.0, 4.0, 3.5}));
    chart.series.push_back(series("GQA", {1e6, 1e7, 1e8}, {7.0, 6.0, 5.5}));
    chart.series.push_back(series("MHA", {1e6, 1e7, 1e8}, {3.0, 2.6, 2.4}));
    chart.series[2].dashed = true;
    chart.series[1].markers = false;
    chart.horizontalLines.push_back({2.0, "Teacher"});
    return chart;
}

QStringList toList(const std::vector<std::string>& labels) {
    QStringList out;
    for (const std::string& label : labels) out << QString::fromStdString(label);
    return out;
}

void compareValues(const std::vector<double>& actual, const QList<double>& expected) {
    QCOMPARE(static_cast<qsizetype>(actual.size()), expected.size());
    for (qsizetype i = 0; i < expected.size(); ++i)
        QVERIFY2(std::abs(actual[i] - expected[i]) <= 1e-9 * std::max(1.0, std::abs(expected[i])),
                 qPrintable(QStringLiteral("tick %1: %2 != %3").arg(i).arg(actual[i]).arg(expected[i])));
}

}  // namespace

Q_DECLARE_METATYPE(dha::LineChart)

class LineChartTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void linearTicks_data();
    void linearTicks();
    void logTicks_data();
    void logTicks();
    void writesDecodablePngOfRequestedSize();
    void seriesColoursAppearAtDataPoints();
    void outOfRangePointsStayInsidePlot();
    void emptyChartRendersAxes();
    void invalidInputThrowsNamingTheSeries_data();
    void invalidInputThrowsNamingTheSeries();
};

void LineChartTest::linearTicks_data() {
    QTest::addColumn<double>("low");
    QTest::addColumn<double>("high");
    QTest::addColumn<int>("target");
    QTest::addColumn<QList<double>>("values");
    QTest::addColumn<QStringList>("labels");
    QTest::newRow("unit") << 0.0 << 1.0 << 5 << QList<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0}
                          << QStringList{"0", "0.2", "0.4", "0.6", "0.8", "1.0"};
    QTest::newRow("offset") << 2.3 << 4.1 << 5 << QList<double>{2.5, 3.0, 3.5, 4.0}
                            << QStringList{"2.5", "3.0", "3.5", "4.0"};
    QTest::newRow("negative") << -7.0 << 13.0 << 4 << QList<double>{-5, 0, 5, 10}
                              << QStringList{"-5", "0", "5", "10"};
    QTest::newRow("tokens") << 0.0 << 1e9 << 5 << QList<double>{0, 2e8, 4e8, 6e8, 8e8, 1e9}
                            << QStringList{"0", "200M", "400M", "600M", "800M", "1B"};
    QTest::newRow("thousands") << 0.0 << 20000.0 << 4 << QList<double>{0, 5000, 10000, 15000, 20000}
                               << QStringList{"0", "5K", "10K", "15K", "20K"};
    QTest::newRow("narrow") << 2.9 << 3.05 << 5 << QList<double>{2.9, 2.95, 3.0, 3.05}
                            << QStringList{"2.90", "2.95", "3.00", "3.05"};
    QTest::newRow("tiny") << 0.0 << 1e-5 << 5 << QList<double>{0, 2e-6, 4e-6, 6e-6, 8e-6, 1e-5}
                          << QStringList{"0", "2E-6", "4E-6", "6E-6", "8E-6", "1E-5"};
}

void LineChartTest::linearTicks() {
    QFETCH(double, low);
    QFETCH(double, high);
    QFETCH(int, target);
    QFETCH(QList<double>, values);
    QFETCH(QStringList, labels);
    const dha::render::TickSet ticks = dha::render::linearTicks(low, high, target);
    compareValues(ticks.values, values);
    QCOMPARE(toList(ticks.labels), labels);
}

void LineChartTest::logTicks_data() {
    QTest::addColumn<double>("low");
    QTest::addColumn<double>("high");
    QTest::addColumn<int>("target");
    QTest::addColumn<QList<double>>("values");
    QTest::addColumn<QStringList>("labels");
    QTest::newRow("1-2-5") << 1e3 << 1e6 << 12
                           << QList<double>{1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6}
                           << QStringList{"1K",  "2K",   "5K",   "10K",  "20K",
                                          "50K", "100K", "200K", "500K", "1M"};
    QTest::newRow("decades") << 1e3 << 1e6 << 5 << QList<double>{1e3, 1e4, 1e5, 1e6}
                             << QStringList{"1K", "10K", "100K", "1M"};
    QTest::newRow("every other decade") << 1.0 << 1e9 << 6 << QList<double>{1, 1e2, 1e4, 1e6, 1e8}
                                        << QStringList{"1", "100", "10K", "1M", "100M"};
    QTest::newRow("below one") << 0.5 << 50.0 << 8 << QList<double>{0.5, 1, 2, 5, 10, 20, 50}
                               << QStringList{"0.5", "1", "2", "5", "10", "20", "50"};
    QTest::newRow("small") << 1e-6 << 1e-4 << 4 << QList<double>{1e-6, 1e-5, 1e-4}
                           << QStringList{"1E-6", "1E-5", "1E-4"};
    // Inside one decade only 5 is a 1/2/5 tick, so evenly spaced ticks take over.
    QTest::newRow("within a decade") << 3.0 << 7.0 << 5 << QList<double>{3, 4, 5, 6, 7}
                                     << QStringList{"3", "4", "5", "6", "7"};
}

void LineChartTest::logTicks() {
    QFETCH(double, low);
    QFETCH(double, high);
    QFETCH(int, target);
    QFETCH(QList<double>, values);
    QFETCH(QStringList, labels);
    const dha::render::TickSet ticks = dha::render::logTicks(low, high, target);
    compareValues(ticks.values, values);
    QCOMPARE(toList(ticks.labels), labels);
}

void LineChartTest::writesDecodablePngOfRequestedSize() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path path = std::filesystem::path(dir.path().toStdString()) / "chart.png";
    dha::writeLineChartPng(lossChart(), path, 640, 400);
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    const RgbImage decoded = decodePng(bytes.str());
    QCOMPARE(decoded.width, 640);
    QCOMPARE(decoded.height, 400);
    QVERIFY(decoded.pixels == dha::render::renderLineChart(lossChart(), 640, 400).image.pixels);
}

void LineChartTest::seriesColoursAppearAtDataPoints() {
    const LineChart chart = lossChart();
    const dha::render::RenderedChart rendered = dha::render::renderLineChart(chart, 960, 600);
    QCOMPARE(rendered.image.width, 960);
    QCOMPARE(rendered.image.height, 600);
    for (size_t s = 0; s < chart.series.size(); ++s) {
        const Rgb colour = dha::render::seriesColour(static_cast<int>(s));
        for (size_t i = 0; i < chart.series[s].x.size(); ++i) {
            const dha::render::PixelPoint p =
                rendered.geometry.toPixel(chart.series[s].x[i], chart.series[s].y[i]);
            const int x = static_cast<int>(std::lround(static_cast<double>(p.x)));
            const int y = static_cast<int>(std::lround(static_cast<double>(p.y)));
            QVERIFY(rendered.geometry.plot.contains(x, y));
            const Rgb actual = rendered.image.get(x, y);
            QVERIFY2(same(actual, colour), qPrintable(QStringLiteral("series %1 point %2 at (%3, %4) is %5")
                                                          .arg(s)
                                                          .arg(i)
                                                          .arg(x)
                                                          .arg(y)
                                                          .arg(describe(actual))));
        }
    }
    // The palette gives every series its own colour.
    for (int a = 0; a < dha::kMaxChartSeries; ++a)
        for (int b = a + 1; b < dha::kMaxChartSeries; ++b)
            QVERIFY(!same(dha::render::seriesColour(a), dha::render::seriesColour(b)));
}

void LineChartTest::outOfRangePointsStayInsidePlot() {
    LineChart inRange;
    inRange.yMin = 0.0;
    inRange.yMax = 10.0;
    inRange.series.push_back(series("curve", {0, 1, 2, 3, 4}, {5, 5, 5, 5, 5}));
    LineChart outOfRange = inRange;
    // Far above, far below, and beyond what a double pixel coordinate could hold; a reference line off the
    // axis.
    outOfRange.series[0].y = {5, 40, -30, 1e300, -1e300};
    outOfRange.horizontalLines.push_back({50.0, "off the chart"});

    const dha::render::RenderedChart a = dha::render::renderLineChart(inRange, 480, 320);
    const dha::render::RenderedChart b = dha::render::renderLineChart(outOfRange, 480, 320);
    const dha::render::ClipRect plot = b.geometry.plot;
    QCOMPARE(a.geometry.plot.left, plot.left);
    QCOMPARE(a.geometry.plot.bottom, plot.bottom);
    int differentInside = 0;
    for (int y = 0; y < b.image.height; ++y)
        for (int x = 0; x < b.image.width; ++x) {
            const bool differs = !same(a.image.get(x, y), b.image.get(x, y));
            if (plot.contains(x, y)) {
                differentInside += differs;
            } else {
                QVERIFY2(
                    !differs,
                    qPrintable(QStringLiteral("pixel (%1, %2) outside the plot area changed").arg(x).arg(y)));
            }
        }
    QVERIFY(differentInside > 0);  // the steep segments were drawn, up to the plot's edge
    const Rgb colour = dha::render::seriesColour(0);
    bool reachesTop = false, reachesBottom = false;
    for (int x = plot.left; x <= plot.right; ++x) {
        reachesTop = reachesTop || same(b.image.get(x, plot.top), colour);
        reachesBottom = reachesBottom || same(b.image.get(x, plot.bottom), colour);
    }
    QVERIFY(reachesTop);
    QVERIFY(reachesBottom);
}

void LineChartTest::emptyChartRendersAxes() {
    for (const bool log : {false, true}) {
        LineChart chart;
        chart.logX = chart.logY = log;
        const dha::render::RenderedChart rendered = dha::render::renderLineChart(chart, 400, 300);
        const dha::render::ClipRect plot = rendered.geometry.plot;
        QVERIFY(plot.left > 0 && plot.right < 399 && plot.top > 0 && plot.bottom < 299);
        QVERIFY(plot.right - plot.left > 200 && plot.bottom - plot.top > 150);
        const Rgb frame = rendered.image.get(plot.left - 1, (plot.top + plot.bottom) / 2);
        QVERIFY2(frame.r < 128 && frame.r == frame.g && frame.g == frame.b, qPrintable(describe(frame)));
        QVERIFY(same(rendered.image.get(plot.left - 1, plot.top - 1),
                     rendered.image.get(plot.right + 1, plot.bottom + 1)));
        // Tick labels left of the plot: some dark pixels there.
        int ink = 0;
        for (int y = plot.top; y <= plot.bottom; ++y)
            for (int x = 0; x < plot.left - 8; ++x) ink += rendered.image.get(x, y).r < 100;
        QVERIFY(ink > 20);
    }
}

void LineChartTest::invalidInputThrowsNamingTheSeries_data() {
    QTest::addColumn<LineChart>("chart");
    QTest::addColumn<QString>("expected");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    LineChart chart;
    chart.series.push_back(series("teacher", {1, 2}, {1, 2}));

    LineChart c = chart;
    c.series.push_back(series("student loss", {1, 2, 3}, {1, 2}));
    QTest::newRow("length mismatch") << c << "series \"student loss\": 3 x values but 2 y values";
    c = chart;
    c.series.push_back(series("student loss", {1, 2}, {1, nan}));
    QTest::newRow("NaN") << c << "series \"student loss\": y value 2 is not finite";
    c = chart;
    c.series.push_back(series("student loss", {inf, 2}, {1, 2}));
    QTest::newRow("infinity") << c << "series \"student loss\": x value 1 is not finite";
    c = chart;
    c.series.push_back(series("", {1, 2}, {1, nan}));
    QTest::newRow("unlabelled") << c << "series 2: y value 2 is not finite";
    c = chart;
    c.logX = true;
    c.series.push_back(series("student loss", {0, 2}, {1, 2}));
    QTest::newRow("zero on log x")
        << c << "series \"student loss\": x value 1 is 0, but the x axis is logarithmic";
    c = chart;
    c.logY = true;
    c.series.push_back(series("student loss", {1, 2}, {1, -2}));
    QTest::newRow("negative on log y") << c << "series \"student loss\": y value 2 is -2, but the y axis";
    c = chart;
    c.yMin = 3.0;
    c.yMax = 3.0;
    QTest::newRow("empty y range") << c << "yMin (3) must be below yMax (3)";
    c = chart;
    c.horizontalLines.push_back({nan, "teacher loss"});
    QTest::newRow("reference NaN") << c << "reference line \"teacher loss\": value is not finite";
    c = chart;
    for (int i = 0; i < dha::kMaxChartSeries; ++i) c.series.push_back(series("s", {1}, {1}));
    QTest::newRow("too many series") << c << "at most 8 series";
    c = chart;
    c.title = "Title";
    c.xLabel = "Tokens";
    for (int i = 1; i < dha::kMaxChartSeries; ++i)
        c.series.push_back(series("a label long enough to take a legend row of its own", {1}, {1}));
    QTest::newRow("no room for the plot") << c << "480 x 320 chart leaves no height for the plot";
}

void LineChartTest::invalidInputThrowsNamingTheSeries() {
    QFETCH(LineChart, chart);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const std::filesystem::path path = std::filesystem::path(dir.path().toStdString()) / "bad.png";
    try {
        dha::writeLineChartPng(chart, path, 480, 320);
        QFAIL("no exception");
    } catch (const dha::Exception& e) {
        QCOMPARE(e.error().code, dha::ErrorCode::Usage);
        QVERIFY2(QString::fromStdString(e.what()).contains(expected), e.what());
    }
    QVERIFY(!std::filesystem::exists(path));
}

DHA_TEST_SUITE(LineChartTest)
#include "line_chart_test.moc"
