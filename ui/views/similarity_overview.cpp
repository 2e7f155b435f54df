// SimilarityOverview: one QImage per matrix (one pixel per head pair), scaled up without smoothing so cells
// stay crisp; 32 layers x 2 matrices repaint in well under a frame. Layers are laid out in bands (a row of
// key tiles over a row of value tiles), as many bands as make the tiles largest for the widget's shape.
#include "views/similarity_overview.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <cmath>

#include "models/similarity_model.h"
#include "support/plot_export.h"
#include "support/qcustomplot_include.h"
#include "support/palette.h"

namespace dha::ui {

namespace {

const QColor kKeyColor = palette::key();
const QColor kValueColor = palette::valueText();
constexpr int kGapX = 6;              // between layer columns
constexpr int kGapKv = 3;             // between a layer's key and value tile
constexpr int kBandGap = 8;           // between bands
constexpr int kBarWidth = 10;         // colour bar
constexpr int kMaxTile = 140;

}  // namespace

SimilarityOverview::SimilarityOverview(QWidget* parent) : QWidget(parent) {
    setMouseTracking(false);
    setCursor(Qt::PointingHandCursor);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    installSavePlotMenu(
        this, [this](const QString& path, QString* error) { return savePlot(path, error); },
        QStringLiteral("similarity-overview"));
}

bool SimilarityOverview::savePlot(const QString& path, QString* error) {
    return saveWidget(this, path, error);
}

void SimilarityOverview::clear() {
    m_layers.clear();
    m_numLayers = 0;
    m_selectedLayer = -1;
    update();
}

void SimilarityOverview::beginAnalysis(SimilarityMetric metric, int numLayers) {
    m_layers.clear();
    m_metric = metric;
    m_numLayers = std::max(0, numLayers);
    update();
}

void SimilarityOverview::addLayer(const LayerSimilarity& layer) {
    Tiles& tiles = m_layers[layer.layer];
    tiles.similarity = layer;
    renderImages(tiles);
    update();
}

void SimilarityOverview::setReport(const SimilarityReport& report) {
    m_layers.clear();
    m_metric = report.metric;
    m_numLayers = static_cast<int>(report.layers.size());
    for (const LayerSimilarity& layer : report.layers) {
        Tiles& tiles = m_layers[layer.layer];
        tiles.similarity = layer;
        renderImages(tiles);
    }
    update();
}

void SimilarityOverview::setSelectedLayer(int layer) {
    m_selectedLayer = layer;
    update();
}

void SimilarityOverview::setPlan(const Plan& plan) {
    m_plan = plan;
    renderAll();
}

void SimilarityOverview::setShowGroups(bool show) {
    m_showGroups = show;
    renderAll();
}

int SimilarityOverview::layerSlots() const {
    return std::max(m_numLayers, m_layers.empty() ? 0 : m_layers.rbegin()->first + 1);
}

std::vector<int> SimilarityOverview::orderFor(int layer, HeadKind heads, int size) const {
    std::vector<int> order;
    if (m_showGroups && layer >= 0 && layer < m_plan.numLayers()) {
        const LayerPlan& plan = m_plan.layers[static_cast<size_t>(layer)];
        order = groupOrder(heads == HeadKind::Key ? plan.keyGroups : plan.valueGroups, size);
    }
    if (order.empty()) {
        order.resize(static_cast<size_t>(std::max(0, size)));
        for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    }
    return order;
}

void SimilarityOverview::renderImages(Tiles& tiles) const {
    const auto [minimum, maximum] = similarityRange(m_metric);
    QCPColorGradient gradient = similarityGradient(minimum, maximum);
    const auto render = [&](const Matrix& matrix, HeadKind heads) {
        if (matrix.rows <= 0 || matrix.rows != matrix.cols ||
            matrix.values.size() != static_cast<size_t>(matrix.rows) * matrix.cols)
            return QImage();
        const std::vector<int> order = orderFor(tiles.similarity.layer, heads, matrix.rows);
        QImage image(matrix.cols, matrix.rows, QImage::Format_ARGB32_Premultiplied);
        std::vector<double> line(static_cast<size_t>(matrix.cols));
        for (int row = 0; row < matrix.rows; ++row) {
            for (int col = 0; col < matrix.cols; ++col)
                line[static_cast<size_t>(col)] =
                    matrix.at(order[static_cast<size_t>(row)], order[static_cast<size_t>(col)]);
            gradient.colorize(line.data(), QCPRange(minimum, maximum),
                              reinterpret_cast<QRgb*>(image.scanLine(row)), matrix.cols);
        }
        return image;
    };
    tiles.key = render(tiles.similarity.key, HeadKind::Key);
    tiles.value = render(tiles.similarity.value, HeadKind::Value);
}

void SimilarityOverview::renderAll() {
    for (auto& [layer, tiles] : m_layers) renderImages(tiles);
    update();
}

SimilarityOverview::Geometry SimilarityOverview::geometry() const {
    Geometry best;
    const QFontMetrics metrics(font());
    best.left = metrics.horizontalAdvance(QStringLiteral("values")) + 8;
    const int right = kBarWidth + 8 + metrics.horizontalAdvance(QStringLiteral("-1.0")) + 4;
    const int slots = layerSlots();
    if (slots == 0) return best;
    const int labelHeight = metrics.height();
    const int availableWidth = width() - best.left - right;
    const int availableHeight = height() - 2;
    for (int bands = 1; bands <= slots; ++bands) {
        const int columns = (slots + bands - 1) / bands;
        const int byWidth = availableWidth / columns - kGapX;
        const int byHeight = (availableHeight - bands * (labelHeight + kGapKv + kBandGap)) / (2 * bands);
        const int tile = std::min({byWidth, byHeight, kMaxTile});
        if (tile > best.tile) {
            best.tile = tile;
            best.bands = bands;
            best.columns = columns;
        }
    }
    // Cells of equal size: a whole number of pixels per head when that costs at most a third of the tile (at
    // 1-2 pixels per head, larger tiles with nearest-neighbour cells read better than smaller even ones).
    int heads = 0;
    for (const auto& [layer, tiles] : m_layers)
        heads = std::max({heads, tiles.key.width(), tiles.value.width()});
    if (heads > 0 && best.tile >= 2 * heads) best.tile = best.tile / heads * heads;
    const int used = best.columns * (best.tile + kGapX) - kGapX;
    best.left += std::max(0, (availableWidth - used) / 2);
    return best;
}

QRect SimilarityOverview::tileRect(int layer, HeadKind heads) const {
    const Geometry g = geometry();
    if (layer < 0 || layer >= layerSlots() || g.tile <= 0) return {};
    const int labelHeight = QFontMetrics(font()).height();
    const int band = layer / g.columns;
    const int column = layer % g.columns;
    const int bandHeight = labelHeight + 2 * g.tile + kGapKv + kBandGap;
    const int x = g.left + column * (g.tile + kGapX);
    const int y = 1 + band * bandHeight + labelHeight + (heads == HeadKind::Value ? g.tile + kGapKv : 0);
    return QRect(x, y, g.tile, g.tile);
}

int SimilarityOverview::layerAt(const QPoint& pos) const {
    for (int layer = 0; layer < layerSlots(); ++layer) {
        const QRect slot = tileRect(layer, HeadKind::Key)
                               .united(tileRect(layer, HeadKind::Value))
                               .adjusted(-kGapX / 2, -QFontMetrics(font()).height(), kGapX / 2, 0);
        if (slot.contains(pos)) return hasLayer(layer) ? layer : -1;
    }
    return -1;
}

QColor SimilarityOverview::cellColor(int layer, HeadKind heads, int row, int col) const {
    const auto found = m_layers.find(layer);
    if (found == m_layers.end()) return {};
    const QImage& image = heads == HeadKind::Key ? found->second.key : found->second.value;
    if (!image.valid(col, row)) return {};
    return QColor(image.pixel(col, row));
}

QSize SimilarityOverview::sizeHint() const { return QSize(640, 220); }
QSize SimilarityOverview::minimumSizeHint() const { return QSize(200, 90); }

void SimilarityOverview::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.fillRect(rect(), palette().base());
    const int slots = layerSlots();
    const QFontMetrics metrics(font());
    if (slots == 0) {
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(rect(), Qt::AlignCenter, tr("No layers analysed yet"));
        return;
    }
    const Geometry g = geometry();
    if (g.tile <= 0) return;
    // Row labels of each band, in the key and value colours.
    for (int band = 0; band < g.bands; ++band) {
        const QRect keyTile = tileRect(band * g.columns, HeadKind::Key);
        const QRect valueTile = tileRect(band * g.columns, HeadKind::Value);
        if (keyTile.isEmpty()) continue;
        painter.setPen(kKeyColor);
        painter.drawText(QRect(0, keyTile.top(), g.left - 6, keyTile.height()),
                         Qt::AlignRight | Qt::AlignVCenter, tr("keys"));
        painter.setPen(kValueColor);
        painter.drawText(QRect(0, valueTile.top(), g.left - 6, valueTile.height()),
                         Qt::AlignRight | Qt::AlignVCenter, tr("values"));
    }
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);  // nearest neighbour: crisp cells
    for (int layer = 0; layer < slots; ++layer) {
        const QRect keyRect = tileRect(layer, HeadKind::Key);
        const QRect valueRect = tileRect(layer, HeadKind::Value);
        painter.setPen(layer == m_selectedLayer ? palette().color(QPalette::Text)
                                                : palette().color(QPalette::PlaceholderText));
        QFont labelFont = font();
        labelFont.setBold(layer == m_selectedLayer);
        painter.setFont(labelFont);
        painter.drawText(QRect(keyRect.left() - kGapX / 2, keyRect.top() - metrics.height(),
                               keyRect.width() + kGapX, metrics.height()),
                         Qt::AlignHCenter | Qt::AlignBottom, QString::number(layer));
        painter.setFont(font());
        const auto found = m_layers.find(layer);
        for (const auto& [tileRectangle, image] :
             {std::make_pair(keyRect, found == m_layers.end() ? QImage() : found->second.key),
              std::make_pair(valueRect, found == m_layers.end() ? QImage() : found->second.value)}) {
            if (image.isNull()) {
                painter.fillRect(tileRectangle, QColor(236, 236, 236));  // announced, not analysed yet
            } else {
                painter.drawImage(tileRectangle, image);
            }
        }
        if (layer == m_selectedLayer) {
            painter.setPen(QPen(palette().color(QPalette::Text), 2));
            painter.setBrush(Qt::NoBrush);
            painter.drawRect(keyRect.united(valueRect).adjusted(-2, -2, 2, 2));
        }
    }
    // The shared colour scale, to the right of the last column.
    const auto [minimum, maximum] = similarityRange(m_metric);
    QCPColorGradient gradient = similarityGradient(minimum, maximum);
    const QRect top = tileRect(0, HeadKind::Key);
    const QRect bottom = tileRect(std::min(slots - 1, g.columns - 1), HeadKind::Value);
    const int barLeft = tileRect(std::min(slots - 1, g.columns - 1), HeadKind::Key).right() + 10;
    const QRect bar(barLeft, top.top(), kBarWidth, bottom.bottom() - top.top() + 1);
    for (int y = 0; y < bar.height(); ++y) {
        const double value = maximum - (maximum - minimum) * y / std::max(1, bar.height() - 1);
        painter.setPen(QColor(gradient.color(value, QCPRange(minimum, maximum))));
        painter.drawLine(bar.left(), bar.top() + y, bar.right(), bar.top() + y);
    }
    painter.setPen(palette().color(QPalette::Text));
    painter.drawText(QPoint(bar.right() + 4, bar.top() + metrics.ascent() - 2),
                     QString::number(maximum, 'f', 0));
    painter.drawText(QPoint(bar.right() + 4, bar.bottom() + 1), QString::number(minimum, 'f', 0));
}

void SimilarityOverview::mousePressEvent(QMouseEvent* event) {
    const int layer = event->button() == Qt::LeftButton ? layerAt(event->position().toPoint()) : -1;
    if (layer >= 0) Q_EMIT layerClicked(layer);
    QWidget::mousePressEvent(event);
}

bool SimilarityOverview::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const int layer = layerAt(help->pos());
        if (layer < 0) {
            QToolTip::hideText();
        } else {
            const LayerSimilarity& similarity = m_layers.at(layer).similarity;
            QToolTip::showText(
                help->globalPos(),
                tr("layer %1: mean similarity of key heads %2, of value heads %3\nclick to show "
                   "its heatmaps")
                    .arg(layer)
                    .arg(similarity.keySummary.meanOffDiagonal, 0, 'f', 2)
                    .arg(similarity.valueSummary.meanOffDiagonal, 0, 'f', 2),
                this);
        }
        return true;
    }
    return QWidget::event(event);
}

}  // namespace dha::ui
