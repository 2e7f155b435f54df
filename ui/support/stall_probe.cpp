// StallProbe: a precise timer on the GUI thread whose late ticks reveal event-loop stalls.
#include "support/stall_probe.h"

#include <algorithm>

namespace dha::ui {

StallProbe::StallProbe(QObject* parent, int intervalMs) : QObject(parent) {
    m_timer.setTimerType(Qt::PreciseTimer);
    m_timer.setInterval(intervalMs);
    connect(&m_timer, &QTimer::timeout, this, &StallProbe::tick);
}

void StallProbe::start() {
    m_worstMs = 0;
    m_ticks = 0;
    m_lastNs = -1;
    m_clock.start();
    m_timer.start();
}

void StallProbe::stop() { m_timer.stop(); }

void StallProbe::resume() {
    m_lastNs = -1;
    m_timer.start();
}

void StallProbe::tick() {
    const qint64 now = m_clock.nsecsElapsed();
    if (m_lastNs >= 0) {
        const double gapMs = static_cast<double>(now - m_lastNs) / 1e6;
        m_worstMs = std::max(m_worstMs, gapMs - m_timer.interval());
    }
    m_lastNs = now;
    ++m_ticks;
}

}  // namespace dha::ui
