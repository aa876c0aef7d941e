// The max-pooling line kernel built with avx2 code generation (see pool2d_isa.h).
#include "pool2d_isa.h"

namespace shendu {

MaxPoolLineFn max_pool_line_avx2() { return max_pool_line; }

}  // namespace shendu
