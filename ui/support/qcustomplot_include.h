// Include QCustomPlot through this header only: Debian's qcustomplot.h uses the bare `signals` and
// `foreach` keywords that QT_NO_KEYWORDS (needed next to ATen) removes.
#pragma once

#include <QtGlobal>

#ifdef QT_NO_KEYWORDS
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef foreach
#undef slots
#undef signals
#else
#include <qcustomplot.h>
#endif
