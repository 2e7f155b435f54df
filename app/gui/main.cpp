// Entry point of the `dha-studio` desktop application (the full window arrives with the GUI issue).
#include <QApplication>
#include <QMainWindow>

#include "views/heatmap_view.h"
#include "dha/runtime.h"

int main(int argc, char** argv) {
    dha::initRuntime();
    QApplication app(argc, argv);
    QApplication::setApplicationName("DHA Studio");
    QMainWindow window;
    auto* heatmap = new dha::ui::HeatmapView(&window);
    heatmap->setTitle("key head similarity (no model opened)");
    heatmap->setMatrix(dha::Matrix(8, 8, 0.0f));
    window.setCentralWidget(heatmap);
    window.resize(640, 560);
    window.show();
    return QApplication::exec();
}
