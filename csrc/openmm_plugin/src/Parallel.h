#ifndef ELYTE_PARALLEL_H_
#define ELYTE_PARALLEL_H_

#include <functional>

namespace elyte {

/** Runs task(thread, count) on every thread of a pool. */
using Parallel = std::function<void(const std::function<void(int, int)>&)>;

}  // namespace elyte

#endif
