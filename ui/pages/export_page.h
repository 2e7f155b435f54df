// The Export page: write a conversion run (or a DHA model) as a DHA checkpoint or, where its plan allows, a
// stock GQA checkpoint, and show the reload check that has to pass before the export is published.
#pragma once

#include <QWidget>

#include "bridge/engine_session.h"

class QButtonGroup;
class QLabel;
class QLineEdit;
class QPushButton;

namespace dha::ui {

class ExportPage : public QWidget {
    Q_OBJECT
public:
    explicit ExportPage(EngineSession* session, QWidget* parent = nullptr);

    void setInput(const QString& runOrModelDir);  // also proposes an output directory next to it
    void setOutput(const QString& directory);
    void setFormat(ExportFormat format);
    ExportSpec specFromForm() const;
    bool startExport();            // false (with the reason shown) when the form is incomplete or busy
    QString resultText() const;    // what the result panel says (tests read it)

private:
    void proposeOutput();
    void onFinished(JobKind kind, JobStatus status, const Error& error);
    void updateButtons();

    EngineSession* m_session = nullptr;
    QLineEdit* m_input = nullptr;
    QLineEdit* m_output = nullptr;
    QButtonGroup* m_format = nullptr;
    QPushButton* m_export = nullptr;
    QPushButton* m_cancel = nullptr;
    QLabel* m_result = nullptr;
    bool m_outputEdited = false;
};

}  // namespace dha::ui
