// ExportPage: a small form over dha::runExportJob (through the EngineSession) and a result panel.
#include "pages/export_page.h"

#include <QButtonGroup>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QVBoxLayout>

#include "support/format_units.h"

namespace dha::ui {
namespace {

QWidget* withBrowseButton(QLineEdit* edit, QPushButton* browse) {
    auto* row = new QWidget;
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    return row;
}

}  // namespace

ExportPage::ExportPage(EngineSession* session, QWidget* parent) : QWidget(parent), m_session(session) {
    auto* outer = new QVBoxLayout(this);
    auto* intro = new QLabel(
        tr("Export a finished conversion run (its run directory) or a DHA model. A DHA export keeps each layer's "
           "own key and value heads; a GQA export loads in any Llama runtime but needs the same key groups and "
           "value groups, of equal size, in every layer. Every export is reloaded and its logits compared "
           "before it is published."),
        this);
    intro->setWordWrap(true);
    outer->addWidget(intro);

    auto* form = new QFormLayout;
    m_input = new QLineEdit(this);
    m_input->setPlaceholderText(tr("run directory or DHA model directory"));
    auto* browseInput = new QPushButton(tr("Browse..."), this);
    form->addRow(tr("Run or model:"), withBrowseButton(m_input, browseInput));

    auto* formats = new QWidget(this);
    auto* formatsLayout = new QHBoxLayout(formats);
    formatsLayout->setContentsMargins(0, 0, 0, 0);
    m_format = new QButtonGroup(this);
    auto* dha = new QRadioButton(tr("DHA (per-layer key and value heads)"), formats);
    auto* gqa = new QRadioButton(tr("GQA-compatible Hugging Face checkpoint"), formats);
    dha->setChecked(true);
    m_format->addButton(dha, static_cast<int>(ExportFormat::Dha));
    m_format->addButton(gqa, static_cast<int>(ExportFormat::Gqa));
    formatsLayout->addWidget(dha);
    formatsLayout->addWidget(gqa);
    formatsLayout->addStretch(1);
    form->addRow(tr("Format:"), formats);

    m_output = new QLineEdit(this);
    m_output->setPlaceholderText(tr("a new or empty directory"));
    auto* browseOutput = new QPushButton(tr("Browse..."), this);
    form->addRow(tr("Export to:"), withBrowseButton(m_output, browseOutput));
    outer->addLayout(form);

    auto* buttons = new QHBoxLayout;
    m_export = new QPushButton(tr("Export"), this);
    m_cancel = new QPushButton(tr("Cancel"), this);
    buttons->addWidget(m_export);
    buttons->addWidget(m_cancel);
    buttons->addStretch(1);
    outer->addLayout(buttons);

    m_result = new QLabel(this);
    m_result->setWordWrap(true);
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_result->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_result->setFrameShape(QFrame::StyledPanel);
    m_result->setMargin(8);
    outer->addWidget(m_result, 1);
    m_result->setText(tr("Nothing exported yet. A finished conversion, or a run selected on the Training page, is "
                         "proposed here; the export is written to a new directory and published only after its "
                         "reload check passes."));

    connect(browseInput, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Run or DHA model directory"), m_input->text());
        if (!dir.isEmpty()) setInput(dir);
    });
    connect(browseOutput, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Export directory"), m_output->text());
        if (!dir.isEmpty()) setOutput(dir);
    });
    connect(m_output, &QLineEdit::textEdited, this, [this] { m_outputEdited = true; });
    connect(m_format, &QButtonGroup::idClicked, this, [this] { proposeOutput(); });
    connect(m_export, &QPushButton::clicked, this, [this] { startExport(); });
    connect(m_cancel, &QPushButton::clicked, this, [this] { m_session->cancel(); });
    connect(m_session, &EngineSession::jobStarted, this, &ExportPage::updateButtons);
    connect(m_session, &EngineSession::jobFinished, this, &ExportPage::onFinished);
    connect(m_session, &EngineSession::exportFinished, this, [this](const ExportReport& report) {
        QStringList lines;
        lines << tr("<b>Published</b> %1 (%2)").arg(QString::fromStdString(report.directory.string()).toHtmlEscaped(),
                                                   report.format == ExportFormat::Gqa
                                                       ? tr("GQA, %1 key/value heads per layer").arg(report.gqaGroups)
                                                       : tr("DHA"));
        lines << tr("Kept %1 of %2 key and value heads; KV cache %3 / token against %4 (fp32): %5 saved.")
                     .arg(report.keptKvHeads)
                     .arg(report.sourceKvHeads)
                     .arg(formatBytes(static_cast<double>(report.kvBytesPerToken)),
                          formatBytes(static_cast<double>(report.sourceKvBytesPerToken)),
                          formatPercent(report.savedFraction()));
        lines << tr("Reload check passed: largest logit difference %1 (allowed %2).")
                     .arg(report.reloadMaxAbsDifference, 0, 'g', 3)
                     .arg(report.reloadTolerance, 0, 'g', 3);
        QStringList files;
        for (const std::string& file : report.files) files << QString::fromStdString(file).toHtmlEscaped();
        lines << tr("Files: %1").arg(files.join(QStringLiteral(", ")));
        m_result->setText(lines.join(QStringLiteral("<br>")));
    });
    updateButtons();
}

void ExportPage::setInput(const QString& runOrModelDir) {
    m_input->setText(runOrModelDir);
    proposeOutput();
}

void ExportPage::setOutput(const QString& directory) {
    m_output->setText(directory);
    m_outputEdited = true;
}

void ExportPage::setFormat(ExportFormat format) {
    m_format->button(static_cast<int>(format))->setChecked(true);
    proposeOutput();
}

void ExportPage::proposeOutput() {
    if (m_outputEdited || m_input->text().isEmpty()) return;
    const QFileInfo input(m_input->text());
    const QString suffix = m_format->checkedId() == static_cast<int>(ExportFormat::Gqa) ? QStringLiteral("gqa")
                                                                                        : QStringLiteral("dha");
    m_output->setText(QDir(input.absolutePath()).filePath(input.fileName() + QStringLiteral("-") + suffix));
}

ExportSpec ExportPage::specFromForm() const {
    ExportSpec spec;
    spec.input = m_input->text().trimmed().toStdString();
    spec.outDir = m_output->text().trimmed().toStdString();
    spec.format = static_cast<ExportFormat>(m_format->checkedId());
    return spec;
}

bool ExportPage::startExport() {
    const ExportSpec spec = specFromForm();
    if (spec.input.empty() || spec.outDir.empty()) {
        m_result->setText(tr("Choose the run or model to export and a directory to export to."));
        return false;
    }
    if (!m_session->exportModel(spec)) {
        m_result->setText(tr("The engine is busy with another job: export when it has finished."));
        return false;
    }
    m_result->setText(tr("Exporting and reloading ..."));
    return true;
}

void ExportPage::onFinished(JobKind kind, JobStatus status, const Error& error) {
    updateButtons();
    if (kind != JobKind::Export) return;
    if (status == JobStatus::Cancelled) m_result->setText(tr("Export cancelled: nothing was published."));
    if (status == JobStatus::Failed)
        m_result->setText(QStringLiteral("<b>%1</b><br>%2")
                              .arg(tr("Export failed"), describeError(error).toHtmlEscaped().replace(
                                                            QLatin1Char('\n'), QStringLiteral("<br>"))));
}

QString ExportPage::resultText() const { return m_result->text(); }

void ExportPage::updateButtons() {
    const bool exporting = m_session->isBusy() && m_session->currentJob() == JobKind::Export;
    m_export->setEnabled(!m_session->isBusy());
    m_cancel->setEnabled(exporting);
}

}  // namespace dha::ui
