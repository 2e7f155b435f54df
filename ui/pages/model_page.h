// The Model page: what a checkpoint is (architecture, heads per layer, parameters, dtype, KV cache per token)
// and where to open another one (button, recent models; the main window also accepts drag and drop).
#pragma once

#include <QWidget>

#include <optional>

#include "dha/model_info.h"

class QLabel;
class QListWidget;
class QListWidgetItem;
class QPushButton;
class QStackedWidget;
class QTableWidget;

namespace dha::ui {

class ModelPage : public QWidget {
    Q_OBJECT
public:
    explicit ModelPage(QWidget* parent = nullptr);

    void clear();                          // no model: the placeholder with the open actions
    void setLoading(const QString& directory);
    void setModel(const ModelInfo& info);
    void setRecentModels(const QStringList& directories);
    const std::optional<ModelInfo>& model() const { return m_model; }

    // Read by tests: the summary's value for a row label such as "Layers", empty when absent.
    QString summaryValue(const QString& label) const;
    QTableWidget* layerTable() const { return m_layers; }

Q_SIGNALS:
    void openRequested();                       // "Open model..." (the window shows the file dialog)
    void openEmbeddedRequested();               // "Open the embedded teacher"
    void openDirectoryRequested(const QString& directory);  // a recent model

private:
    void addSummaryRow(const QString& label, const QString& value);

    QStackedWidget* m_stack = nullptr;
    QLabel* m_placeholder = nullptr;
    QLabel* m_title = nullptr;
    QWidget* m_summary = nullptr;
    QTableWidget* m_layers = nullptr;
    QListWidget* m_recent = nullptr;
    std::optional<ModelInfo> m_model;
    QList<QPair<QString, QString>> m_summaryRows;
};

}  // namespace dha::ui
