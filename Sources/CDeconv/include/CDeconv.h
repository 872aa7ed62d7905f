/* SwiftPM's view of the one public header; the library's only header is include/deconv.h. */
#include "../../../include/deconv.h"
