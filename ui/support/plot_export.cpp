// plot_export: PNG/SVG/PDF rendering of QCustomPlots and self-painting widgets, written through a temporary
// file renamed into place (QSaveFile cannot serve QCustomPlot::savePdf, which wants a file name).
#include "support/plot_export.h"

#include <QAction>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QImage>
#include <QLayout>
#include <QMessageBox>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QRegularExpression>
#include <QSettings>
#include <QSvgGenerator>
#include <QTemporaryFile>
#include <QWidget>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "support/qcustomplot_include.h"

#ifdef Q_OS_UNIX
#include <fcntl.h>
#include <unistd.h>
#endif

namespace dha::ui {
namespace {

const char kActionName[] = "dhaSavePlotAction";
const char kLastFolderKey[] = "plots/lastExportFolder";
const char kCreator[] = "DHA Studio";

bool fail(QString* error, const QString& path, const QString& why) {
    if (error) *error = path + QStringLiteral(": ") + why;
    return false;
}

bool unknownFormat(QString* error, const QString& path) {
    const QString suffix = QFileInfo(path).suffix();
    return fail(error, path,
                suffix.isEmpty()
                    ? QObject::tr("no file type given; save plots as .png, .svg or .pdf")
                    : QObject::tr("cannot save a plot as .%1; save plots as .png, .svg or .pdf").arg(suffix));
}

// Flushes a file (or directory) to disk; a plot is small, and a renamed but unsynced file can come back empty
// after a crash.
void syncToDisk(const QString& path, bool directory) {
#ifdef Q_OS_UNIX
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | (directory ? O_DIRECTORY : 0));
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
#else
    Q_UNUSED(path);
    Q_UNUSED(directory);
#endif
}

// A plot hidden since creation has its layout pending: its QCustomPlot still has the default child size.
QSize plotSize(QCustomPlot* plot, QSize requested) {
    if (requested.isValid() && !requested.isEmpty()) return requested;
    if (!plot->isVisible()) {
        plot->window()->ensurePolished();  // the style's fonts and margins, as on screen
        for (QWidget* widget = plot->parentWidget(); widget; widget = widget->parentWidget())
            if (widget->layout()) widget->layout()->activate();
    }
    const QSize own = plot->size();
    return own.isEmpty() ? QSize(960, 600) : own;
}

QString titleOf(const QString& path) { return QFileInfo(path).completeBaseName(); }

}  // namespace

std::optional<PlotFormat> plotFormatOf(const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("png")) return PlotFormat::Png;
    if (suffix == QLatin1String("svg")) return PlotFormat::Svg;
    if (suffix == QLatin1String("pdf")) return PlotFormat::Pdf;
    return std::nullopt;
}

QStringList plotFileFilters() {
    return {QObject::tr("PNG image (*.png)"), QObject::tr("SVG vector image (*.svg)"),
            QObject::tr("PDF document (*.pdf)")};
}

bool saveAtomically(const QString& path, QString* error, const std::function<bool(const QString&)>& write) {
    const QFileInfo target(path);
    if (target.fileName().isEmpty()) return fail(error, path, QObject::tr("no file name given"));
    if (target.isDir()) return fail(error, path, QObject::tr("this is a folder, not a file"));
    const QDir folder = target.absoluteDir();
    if (!folder.exists())
        return fail(error, path, QObject::tr("the folder %1 does not exist").arg(folder.path()));
    QTemporaryFile temporary(folder.filePath(QStringLiteral(".%1.XXXXXX").arg(target.fileName())));
    if (!temporary.open())
        return fail(error, path,
                    QObject::tr("cannot write in this folder (%1)").arg(temporary.errorString()));
    temporary.close();  // the writers below open it by name; the object still removes it unless renamed
    const QString temporaryPath = temporary.fileName();
    if (!write(temporaryPath) || QFileInfo(temporaryPath).size() <= 0)
        return fail(error, path, QObject::tr("the plot could not be rendered to this file"));
    // QTemporaryFile is private to its owner (0600); a saved figure is shared like any document.
    const QFileDevice::Permissions permissions =
        target.exists() ? QFile::permissions(path)
                        : QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadUser |
                              QFileDevice::WriteUser | QFileDevice::ReadGroup | QFileDevice::ReadOther;
    QFile::setPermissions(temporaryPath, permissions);
    syncToDisk(temporaryPath, false);
    // std::rename replaces an existing file atomically (POSIX); QFile::rename refuses to.
    if (std::rename(QFile::encodeName(temporaryPath).constData(), QFile::encodeName(path).constData()) != 0) {
        const QString reason = QString::fromLocal8Bit(std::strerror(errno));
        return fail(error, path, QObject::tr("cannot replace the file (%1)").arg(reason));
    }
    temporary.setAutoRemove(false);  // renamed away
    syncToDisk(folder.absolutePath(), true);
    return true;
}

bool savePlot(QCustomPlot* plot, const QString& path, QString* error, QSize size) {
    const std::optional<PlotFormat> format = plotFormatOf(path);
    if (!format) return unknownFormat(error, path);
    return savePlotAs(plot, *format, path, error, size);
}

bool savePlotAs(QCustomPlot* plot, PlotFormat format, const QString& path, QString* error, QSize size) {
    if (!plot) return fail(error, path, QObject::tr("there is no plot to save"));
    const QSize points = plotSize(plot, size);
    // Pending queued replots first, so what is saved is what is on screen. An unsized plot cannot replot (its
    // paint buffer is empty); rendering lays it out at the export size anyway.
    if (!plot->size().isEmpty()) plot->replot(QCustomPlot::rpImmediateRefresh);
    const QString title = titleOf(path);
    return saveAtomically(path, error, [&](const QString& file) {
        switch (format) {
            case PlotFormat::Png:
                return plot->savePng(file, points.width(), points.height(), kPngScale);
            case PlotFormat::Pdf:
                return plot->savePdf(file, points.width(), points.height(), QCP::epNoCosmetic, kCreator,
                                     title);
            case PlotFormat::Svg: {
                QSvgGenerator generator;
                generator.setFileName(file);
                generator.setSize(points);
                generator.setViewBox(QRect(QPoint(0, 0), points));
                generator.setTitle(title);
                generator.setDescription(kCreator);
                QCPPainter painter;
                if (!painter.begin(&generator)) return false;
                painter.setMode(QCPPainter::pmVectorized);
                painter.setMode(QCPPainter::pmNoCaching);
                plot->toPainter(&painter, points.width(), points.height());
                return painter.end();
            }
        }
        return false;
    });
}

bool saveWidget(QWidget* widget, const QString& path, QString* error) {
    const std::optional<PlotFormat> format = plotFormatOf(path);
    if (!format) return unknownFormat(error, path);
    if (!widget) return fail(error, path, QObject::tr("there is no plot to save"));
    if (!widget->isVisible()) {
        widget->window()->ensurePolished();
        if (QLayout* layout = widget->layout()) layout->activate();
    }
    const QSize size = widget->size();
    if (size.isEmpty()) return fail(error, path, QObject::tr("the plot has no size yet"));
    const QString title = titleOf(path);
    return saveAtomically(path, error, [&](const QString& file) {
        switch (*format) {
            case PlotFormat::Png: {
                QImage image(size * kPngScale, QImage::Format_ARGB32_Premultiplied);
                image.setDevicePixelRatio(kPngScale);
                image.fill(Qt::white);
                widget->render(&image);
                return image.save(file, "PNG");
            }
            case PlotFormat::Svg: {
                QSvgGenerator generator;
                generator.setFileName(file);
                generator.setSize(size);
                generator.setViewBox(QRect(QPoint(0, 0), size));
                generator.setTitle(title);
                generator.setDescription(kCreator);
                QPainter painter;
                if (!painter.begin(&generator)) return false;
                widget->render(&painter);
                return painter.end();
            }
            case PlotFormat::Pdf: {
                QPdfWriter writer(file);
                writer.setCreator(kCreator);
                writer.setTitle(title);
                writer.setResolution(72);  // one widget pixel per point: the page is the widget's size
                writer.setPageMargins(QMarginsF(0, 0, 0, 0));
                if (!writer.setPageSize(
                        QPageSize(QSizeF(size), QPageSize::Point, QString(), QPageSize::ExactMatch)))
                    return false;
                QPainter painter;
                if (!painter.begin(&writer)) return false;
                widget->render(&painter);
                return painter.end();
            }
        }
        return false;
    });
}

namespace {

// The file dialog of the context menu; kept out of savePlot()/saveWidget() so tests never open it.
QString askPlotFile(QWidget* parent, const QString& suggestedName) {
    QSettings settings;
    const QString folder = settings.value(kLastFolderKey, QDir::homePath()).toString();
    QFileDialog dialog(parent, QObject::tr("Save plot as"));
    dialog.setAcceptMode(QFileDialog::AcceptSave);
    dialog.setFileMode(QFileDialog::AnyFile);
    dialog.setNameFilters(plotFileFilters());
    dialog.setDefaultSuffix(QStringLiteral("png"));
    dialog.setDirectory(folder);
    // Run and layer names become a file name: nothing that would start a folder or trouble a shell.
    QString name = suggestedName;
    name.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._-]+")), QStringLiteral("-"));
    if (name.isEmpty() || name.startsWith(QLatin1Char('.'))) name.prepend(QStringLiteral("plot"));
    dialog.selectFile(name + QStringLiteral(".png"));
    // The chosen type sets the suffix added to a bare name, so "Save as PDF" with "plot" gives plot.pdf.
    QObject::connect(&dialog, &QFileDialog::filterSelected, &dialog, [&dialog](const QString& filter) {
        const int star = filter.indexOf(QStringLiteral("*."));
        if (star >= 0) dialog.setDefaultSuffix(filter.mid(star + 2).chopped(1));
    });
    if (dialog.exec() != QDialog::Accepted || dialog.selectedFiles().isEmpty()) return {};
    const QString path = dialog.selectedFiles().constFirst();
    settings.setValue(kLastFolderKey, QFileInfo(path).absolutePath());
    return path;
}

}  // namespace

void installSavePlotMenu(QWidget* target, PlotSaver save, std::function<QString()> suggestedName) {
    if (!target) return;
    delete savePlotAction(target);  // installing twice replaces the entry
    auto* action = new QAction(QObject::tr("Save plot as…"), target);
    action->setObjectName(QLatin1String(kActionName));
    action->setToolTip(QObject::tr("Save this plot as a PNG image, or as SVG or PDF vector graphics"));
    target->addAction(action);
    target->setContextMenuPolicy(Qt::ActionsContextMenu);
    QObject::connect(action, &QAction::triggered, target,
                     [target, save = std::move(save), suggestedName = std::move(suggestedName)] {
                         const QString path = askPlotFile(target->window(), suggestedName());
                         if (path.isEmpty()) return;
                         QString error;
                         if (!save(path, &error))
                             QMessageBox::warning(target->window(), QObject::tr("Plot not saved"),
                                                  QObject::tr("The plot was not saved.\n\n%1").arg(error));
                     });
}

void installSavePlotMenu(QWidget* target, PlotSaver save, QString suggestedName) {
    installSavePlotMenu(target, std::move(save), [name = std::move(suggestedName)] { return name; });
}

QAction* savePlotAction(const QWidget* target) {
    if (!target) return nullptr;
    for (QAction* action : target->actions())
        if (action->objectName() == QLatin1String(kActionName)) return action;
    return nullptr;
}

}  // namespace dha::ui
