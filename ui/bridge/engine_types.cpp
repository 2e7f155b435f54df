// Registers the engine's structs with Qt's type system (queued signals copy them between threads).
#include "bridge/engine_types.h"

namespace dha::ui {

void registerEngineTypes() {
    static const bool registered = [] {
        qRegisterMetaType<JobKind>();
        qRegisterMetaType<JobStatus>();
        qRegisterMetaType<Error>();
        qRegisterMetaType<ProgressEvent>();
        qRegisterMetaType<LogEvent>();
        qRegisterMetaType<LossEvent>();
        qRegisterMetaType<ValidationEvent>();
        qRegisterMetaType<CheckpointEvent>();
        qRegisterMetaType<KvSavingsEvent>();
        qRegisterMetaType<SimilarityEvent>();
        qRegisterMetaType<SimilarityReport>();
        qRegisterMetaType<Plan>();
        qRegisterMetaType<ModelInfo>();
        qRegisterMetaType<ConvertReport>();
        qRegisterMetaType<ExportReport>();
        qRegisterMetaType<QVector<LossEvent>>();
        qRegisterMetaType<QVector<ValidationEvent>>();
        qRegisterMetaType<QVector<SimilarityEvent>>();
        return true;
    }();
    (void)registered;
}

QString jobKindName(JobKind kind) {
    switch (kind) {
    case JobKind::Inspect: return QStringLiteral("inspect");
    case JobKind::Analyse: return QStringLiteral("analyse");
    case JobKind::Convert: return QStringLiteral("convert");
    case JobKind::Export: return QStringLiteral("export");
    }
    return QStringLiteral("job");
}

QString describeError(const Error& error) {
    QString text = QString::fromStdString(error.describe());
    if (!error.hint.empty()) text += QStringLiteral("\n") + QString::fromStdString(error.hint);
    return text;
}

}  // namespace dha::ui
