// The max-pooling line kernel built with avx512 code generation (see pool2d_isa.h).
#include "pool2d_isa.h"

namespace shendu {

MaxPoolLineFn max_pool_line_avx512() { return max_pool_line; }

}  // namespace shendu
