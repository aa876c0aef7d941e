#include "checks.h"
#include "families.h"

namespace shendu::bind {

void bind_optimizers(py::module_& m) { (void)m; }

}  // namespace shendu::bind
