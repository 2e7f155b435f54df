// planted violation for the layering self-test
#include <QString>
