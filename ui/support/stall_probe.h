// Measures how long the GUI event loop goes without running a timer: a 5 ms timer records the largest gap
// between its ticks beyond its interval. The worst stall is what a user feels as a frozen window.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

namespace dha::ui {

class StallProbe : public QObject {
    Q_OBJECT
public:
    explicit StallProbe(QObject* parent = nullptr, int intervalMs = 5);
    void start();   // resets the figures
    void stop();
    void resume();  // after stop(): probes again, keeping the worst stall so far (the pause is not counted)
    double worstStallMs() const { return m_worstMs; }  // largest tick gap minus the interval
    qint64 ticks() const { return m_ticks; }

private:
    void tick();

    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_lastNs = -1;
    qint64 m_ticks = 0;
    double m_worstMs = 0;
};

}  // namespace dha::ui
