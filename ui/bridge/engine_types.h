// Qt metatype declarations for the engine's plain structs, so they travel through queued signals between the
// engine thread and the GUI thread. Call registerEngineTypes() once before the first queued connection.
#pragma once

#include <QMetaType>
#include <QString>
#include <QVector>

#include "dha/conversion.h"
#include "dha/export.h"
#include "dha/job.h"
#include "dha/model_info.h"
#include "dha/plan.h"
#include "dha/similarity.h"

namespace dha::ui {

void registerEngineTypes();

// Which engine job an EngineSession signal is about.
enum class JobKind { Inspect, Analyse, Convert, Export };
QString jobKindName(JobKind kind);  // "inspect", "analyse", "convert", "export"

// "path: message" plus the hint on its own line, for dialogs and the log view.
QString describeError(const Error& error);

}  // namespace dha::ui

Q_DECLARE_METATYPE(dha::ui::JobKind)
Q_DECLARE_METATYPE(dha::JobStatus)
Q_DECLARE_METATYPE(dha::Error)
Q_DECLARE_METATYPE(dha::ProgressEvent)
Q_DECLARE_METATYPE(dha::LogEvent)
Q_DECLARE_METATYPE(dha::LossEvent)
Q_DECLARE_METATYPE(dha::ValidationEvent)
Q_DECLARE_METATYPE(dha::CheckpointEvent)
Q_DECLARE_METATYPE(dha::KvSavingsEvent)
Q_DECLARE_METATYPE(dha::SimilarityEvent)
Q_DECLARE_METATYPE(dha::SimilarityReport)
Q_DECLARE_METATYPE(dha::Plan)
Q_DECLARE_METATYPE(dha::ModelInfo)
Q_DECLARE_METATYPE(dha::ConvertReport)
Q_DECLARE_METATYPE(dha::ExportReport)
Q_DECLARE_METATYPE(QVector<dha::LossEvent>)
Q_DECLARE_METATYPE(QVector<dha::ValidationEvent>)
Q_DECLARE_METATYPE(QVector<dha::SimilarityEvent>)
