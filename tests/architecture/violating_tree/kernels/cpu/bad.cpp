// planted violation
#  include "QtCore/qobject.h"
